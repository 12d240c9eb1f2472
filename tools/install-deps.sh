#!/bin/sh
# tools/install-deps.sh — installs the Debian packages Clockwerk needs, only those missing.
#   sh tools/install-deps.sh run    what `make run` needs: compiler and libraries
#   sh tools/install-deps.sh test   also what `make test` needs: cmocka, real servers for the tests
#   sh tools/install-deps.sh bench  also what `make bench` needs: nginx, the anchors, wrk (the web's load), perf
# As root it runs apt-get (update once, then install); otherwise it prints the exact command to run.
set -eu

BUILD_PKGS="build-essential pkg-config libcurl4-openssl-dev libzmq3-dev libsqlite3-dev libpq-dev libmariadb-dev
libconfig-dev libjson-c-dev uthash-dev libmicrohttpd-dev libmicrohttpd12 libc-ares-dev libssl-dev libpcre2-dev libsystemd-dev
python3 ca-certificates"
TEST_PKGS="libcmocka-dev sqlite3 curl openssl systemd python3-zmq python3-aiosmtpd postgresql mariadb-server
clang libclang-rt-14-dev procps psmisc stress-ng prometheus gdb
chromium python3-websocket python3-jsonschema python3-yaml unbound nftables iproute2 exim4-daemon-light"
TEST_PKGS="$TEST_PKGS bash-completion" # issue 17: tests/e2e/test_install.py loads the completion as bash does
TEST_PKGS="$TEST_PKGS mandoc" # issue 17: the man pages' lint (tests/e2e/test_manpages.py)
TEST_PKGS="$TEST_PKGS debhelper lintian fakeroot dpkg-dev" # issue 17: make deb, tests/e2e/test_package.py
TEST_PKGS="$TEST_PKGS mmdebstrap" # issue 17: tests/e2e/test_image.py builds the container image's root filesystem
BENCH_PKGS="nginx-light python3-aiohttp prometheus-blackbox-exporter valgrind hyperfine wrk"
BENCH_PKGS="$BENCH_PKGS linux-perf" # issue 18: bench/scale_bench.py (perf stat syscalls, perf record profile)

case "${1:-run}" in
    run)   want="$BUILD_PKGS" ;;
    test)  want="$BUILD_PKGS $TEST_PKGS" ;;
    bench) want="$BUILD_PKGS $TEST_PKGS $BENCH_PKGS" ;;
    *)     echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "Missing packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/clockwerk-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ]; then
    apt-get update -qq
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
# Servers installed for tests must not start system-wide instances: the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
# exim4 (tests/e2e/mta.py runs its own daemon on 127.0.0.1): the system service stays off at boot too.
case " $missing " in *" exim4-daemon-light "*) update-rc.d exim4 disable >/dev/null 2>&1 || true ;; esac
