#!/bin/sh
# tools/run-demo.sh BIN_DIR — what `make run` runs after building: starts the demo target
# (tools/demo-target.py on 127.0.0.1:8089; 127.0.0.1:8090 stays closed), then the supervisor with
# etc/clockwerk.conf and a tap that prints every check, until Ctrl-C (or SIGTERM). Stops what it started
# on every path. Exits with the supervisor's status; 1 when the demo target cannot start.
set -u

BIN=${1:-bin}
CONF=etc/clockwerk.conf
PORT=8089
CLOSED=8090
PY=/usr/bin/python3

if [ ! -x "$BIN/clockwerk" ]; then
    echo "run-demo: $BIN/clockwerk is missing: run make first" >&2
    exit 1
fi

target="" sv="" tap="" prefixer="" tmp=""
cleanup() {
    # Only the processes this script started, by pid.
    [ -n "$tap" ] && kill -TERM "$tap" 2>/dev/null
    [ -n "$sv" ] && kill -TERM "$sv" 2>/dev/null && wait "$sv" 2>/dev/null
    [ -n "$target" ] && kill -TERM "$target" 2>/dev/null
    [ -n "$tap" ] && wait "$tap" 2>/dev/null
    [ -n "$prefixer" ] && wait "$prefixer" 2>/dev/null
    [ -n "$target" ] && wait "$target" 2>/dev/null
    [ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
# Ctrl-C reaches every process of the terminal: the supervisor stops in order by itself. A TERM sent to
# this script alone is passed on. Either way the loop below waits for the supervisor to finish.
trap 'interrupted=1' INT
trap 'interrupted=1; [ -n "$sv" ] && kill -TERM "$sv" 2>/dev/null' TERM
interrupted=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clockwerk-demo.XXXXXX") || exit 1
ready="$tmp/ready"
"$PY" tools/demo-target.py --port "$PORT" --closed "$CLOSED" --ready "$ready" &
target=$!
# Wait (up to 10 s) until it listens, or until it gave up.
i=0
while [ ! -s "$ready" ]; do
    if ! kill -0 "$target" 2>/dev/null; then
        wait "$target" 2>/dev/null
        target=""
        echo "run-demo: the demo target could not start on 127.0.0.1:$PORT (see above); not starting clockwerk" >&2
        exit 1
    fi
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then
        echo "run-demo: the demo target did not come up on 127.0.0.1:$PORT within 10 s" >&2
        exit 1
    fi
    sleep 0.1
done

cat <<HINT
run-demo: demo target on http://127.0.0.1:$PORT/ (/ 200, /health 200 "healthy", /broken 500, /slow 1.5 s);
run-demo: nothing listens on 127.0.0.1:$CLOSED (a down endpoint). Checks every 5 s, results in etc/clockwerk.db.
run-demo: the lines "clockwerk-tap | ..." below are the live checks, as shown by the tap. In another terminal:
run-demo:   $BIN/clockwerk-tap -c $CONF                 every check, live (--json, --filter TEXT)
run-demo:   sqlite3 etc/clockwerk.db 'SELECT e.url, c.status_code, c.ok, c.latency_ms FROM checks c
run-demo:        JOIN endpoints e ON e.id = c.endpoint_id ORDER BY c.id DESC LIMIT 10'
run-demo:   kill -HUP \$(cat etc/run/clockwerk.pid)      reload etc/clockwerk.conf after editing it
run-demo: Ctrl-C stops everything.
HINT

"$BIN/clockwerk" -c "$CONF" &
sv=$!
if [ -x "$BIN/clockwerk-tap" ]; then
    # The tap attaches at any time; its lines get a prefix (through a fifo, so that both pids are known).
    mkfifo "$tmp/tap" && {
        sed -u 's/^/clockwerk-tap | /' < "$tmp/tap" &
        prefixer=$!
        "$BIN/clockwerk-tap" -c "$CONF" > "$tmp/tap" 2>&1 &
        tap=$!
    }
fi

rc=0
while :; do
    wait "$sv"
    rc=$?
    kill -0 "$sv" 2>/dev/null || break
done
sv=""
[ "$interrupted" = 1 ] && [ "$rc" -gt 128 ] && rc=0
exit "$rc"
