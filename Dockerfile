# Dockerfile — Clockwerk's container image (docs/install.md, "Container"):
#
#   docker build -t clockwerk .          (or: podman build -t clockwerk .)
#   docker compose up -d                 (compose.yaml: Clockwerk with PostgreSQL)
#
# Stage "build": Debian 12 with the package's build dependencies (debian/control) runs `make deb`.
# The runtime stage: Debian 12 slim with the `clockwerk` group and system user made first with fixed ids
# (999:999: a rebuild keeps the owner of the volume and of a bind mount; the package's postinst keeps an existing
# user), then that .deb installed by apt (it brings the programs, /etc/clockwerk and /var/lib/clockwerk) and the
# packages of etc/container/runtime-packages, nothing else. It runs `clockwerk -c /etc/clockwerk/clockwerk.conf`
# in the foreground as the clockwerk user, logging to stderr; mount your configuration there and give passwords
# as files (db_password_file, ...).
#
# No container runtime runs on the project's build machine: tests/e2e/test_image.py builds the SAME root
# filesystem as the runtime stage below instead — it reads this file, starts from mmdebstrap's bookworm minbase
# with the slim image's dpkg exclusions (what debian:12-slim is), puts each COPY source at its destination, runs
# each RUN in a chroot, then runs ENTRYPOINT + CMD as USER with a configuration and a secret mounted like
# compose.yaml mounts them, and the HEALTHCHECK's command. It knows only the instructions used in the runtime
# stage below (FROM debian:12-slim, COPY, RUN, USER, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD, LABEL):
# another one fails that test until the test learns it.

FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
# The unit tests run in `make test`; `--build-arg DEB_BUILD_OPTIONS=` runs them in the package build too.
ARG DEB_BUILD_OPTIONS=nocheck
WORKDIR /src
# The build dependencies first (their layer is cached while debian/control does not change), then the tree.
COPY debian/control debian/control
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential dpkg-dev \
 && apt-get build-dep -y ./ \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make deb \
 && cp build/deb/clockwerk_*.deb /clockwerk.deb

FROM debian:12-slim
LABEL org.opencontainers.image.title="Clockwerk" \
      org.opencontainers.image.description="Uptime monitor: HTTP, TCP, DNS, TLS, ICMP and push checks with alerts"
COPY etc/container/runtime-packages /tmp/clockwerk-image/runtime-packages
COPY --from=build /clockwerk.deb /tmp/clockwerk-image/clockwerk.deb
# apt installs the .deb with its dependencies and the listed packages. /var/lib/clockwerk (the volume) is the
# clockwerk user's: the database, and run_dir /var/lib/clockwerk/run of the sample and of compose's configuration
# (the supervisor makes it: pid file, sockets, and the silences, open incidents and spools an update must keep).
RUN set -eu; \
    export DEBIAN_FRONTEND=noninteractive; \
    groupadd --system --gid 999 clockwerk; \
    useradd --system --uid 999 --gid 999 --home-dir /var/lib/clockwerk --no-create-home \
        --shell /usr/sbin/nologin --comment "Clockwerk uptime monitor" clockwerk; \
    apt-get update; \
    sed 's/#.*//' /tmp/clockwerk-image/runtime-packages \
        | xargs apt-get install -y --no-install-recommends /tmp/clockwerk-image/clockwerk.deb; \
    install -d -o clockwerk -g clockwerk -m 0750 /var/lib/clockwerk; \
    rm -rf /var/lib/apt/lists/* /tmp/clockwerk-image; \
    clockwerk --version
USER clockwerk
VOLUME ["/var/lib/clockwerk"]
EXPOSE 8080
# /healthz answers 200 while the web hears the workers and reads the history (docs/web.md); 8080 is the port of
# the sample configuration and of compose's: a configuration with another web.listen needs its own HEALTHCHECK.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
# The supervisor is PID 1: it reaps every child (waitpid(-1)) and stops them in order on SIGTERM within 9.5 s
# (compose.yaml gives it 15 s before SIGKILL; `docker stop -t 15` by hand).
ENTRYPOINT ["clockwerk"]
CMD ["-c", "/etc/clockwerk/clockwerk.conf"]
