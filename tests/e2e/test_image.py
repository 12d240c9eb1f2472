"""tests/e2e/test_image.py — the container image (Dockerfile, compose.yaml; docs/install.md, "Container").

No container runtime runs on the build machine, so the image itself is never built here. What is proven
instead (tests/e2e/imagefs.py says how):

  test_image_files_agree        the Dockerfile's runtime stage is one imagefs.py reproduces in full (an
                                instruction it does not know fails here), and the Dockerfile, compose.yaml and
                                etc/container/clockwerk.conf agree: the package list etc/container/runtime-packages
                                is what the runtime stage's apt line installs, the config's path is where compose
                                mounts it and what CMD reads, the database password file is compose's secret (the
                                one PostgreSQL reads too), the HEALTHCHECK asks the web's /healthz on its port, the
                                volume is /var/lib/clockwerk and run_dir (silences, incidents, spools) is in it,
                                the user clockwerk with its ids pinned (999:999) before the .deb is installed
  test_image_rootfs_runs        `make deb`, then the SAME root filesystem as the runtime stage (mmdebstrap bookworm
                                minbase + slim exclusions, then the stage's COPY and RUN steps: apt installs the
                                .deb and the listed packages), cached under build/image/ by its inputs; Clockwerk
                                runs in it from ENTRYPOINT + CMD as USER, PID 1 of its own PID namespace, under
                                chroot, with the compose configuration (PostgreSQL on 127.0.0.1 instead of the
                                "postgres" service, the web on a free port, a loopback target added) and the
                                password as a 0444 file at /run/secrets/db_password, the volume a host directory.
                                /healthz answers from outside, the Dockerfile's HEALTHCHECK command succeeds inside,
                                the target's checks are stored in PostgreSQL, logs come on stderr without the
                                password, and SIGTERM stops it all with status 0.

test_image_rootfs_runs is @harness.alone (mmdebstrap and apt use the CPU and the network for a minute when the
cache is cold) and @harness.plain_only: it builds its own binaries (the .deb) and never uses those under test, so
the sanitizer pass would repeat it unchanged. It leaves nothing on the machine but its cache under build/image/:
the PostgreSQL server and the target are its own, every mount lives in the container's private mount namespace
(gone with its last process), every process is killed on every path, and the unpacked tree is removed.
"""

import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import harness
import imagefs
from dbservers import PostgresServer
from harness import REPO, check, deadline, free_port, note, tempdir, wait_for
from targets import Targets

DOCKERFILE = os.path.join(REPO, "Dockerfile")
COMPOSE = os.path.join(REPO, "compose.yaml")
CONTAINER_CONF = os.path.join(REPO, "etc/container/clockwerk.conf")
PACKAGES = "etc/container/runtime-packages"
CLOCKWERK_UID = CLOCKWERK_GID = 999        # the image's clockwerk user and group (docs/install.md "Container")
DEB_FROM_BUILD = "build:/clockwerk.deb"     # `COPY --from=build /clockwerk.deb ...`: the .deb of `make deb`


def _conf_value(text, key):
    """The value of `key = VALUE;` in a libconfig text (quotes removed); exactly one occurrence."""
    found = re.findall(r"(?m)^\s*%s\s*=\s*\"?([^\";]*)\"?\s*;" % re.escape(key), text)
    check(len(found) == 1, "%s: expected one `%s = ...;`, found %d" % (CONTAINER_CONF, key, len(found)))
    return found[0]


def _packages():
    with open(os.path.join(REPO, PACKAGES)) as f:
        return [w for line in f for w in line.split("#")[0].split()]


def test_image_files_agree():
    import yaml  # python3-yaml (tools/install-deps.sh test)

    plan = imagefs.runtime_plan(DOCKERFILE)     # raises for anything the rootfs test would not reproduce
    check(plan.base == "debian:12-slim", "the runtime stage is FROM %s, not debian:12-slim" % plan.base)
    check(re.search(r"(?m)^FROM debian:12 AS build$", plan.build_stage_text),
          "the build stage is not `FROM debian:12 AS build`")
    check("make deb" in plan.build_stage_text and "/clockwerk.deb" in plan.build_stage_text,
          "the build stage does not make /clockwerk.deb with `make deb`")
    copies = {("%s:%s" % (s[1], s[2]) if s[1] else s[2]): s[3] for s in plan.steps if s[0] == "copy"}
    check(set(copies) == {PACKAGES, DEB_FROM_BUILD}, "the runtime stage copies %s, expected the package list "
          "and the build stage's .deb" % sorted(copies))
    runs = [s[1] for s in plan.steps if s[0] == "run"]
    check(len(runs) == 1, "the runtime stage has %d RUN instructions, expected one" % len(runs))
    check(re.search(r"%s \| xargs apt-get install [^;]*%s" % (re.escape(copies[PACKAGES]),
                                                               re.escape(copies[DEB_FROM_BUILD])), runs[0]),
          "the RUN does not install the .deb together with the packages listed in %s" % PACKAGES)
    pkgs = _packages()
    check(pkgs and all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", p) for p in pkgs), "bad package list: %r" % pkgs)
    check("curl" in pkgs and plan.healthcheck[0] == "curl", "the HEALTHCHECK's client is not in the package list")

    check(plan.user == "clockwerk", "USER %s, expected clockwerk" % plan.user)
    # the ids are pinned before the .deb's postinst would pick free ones (a rebuild must not change the owner of
    # the volume or a bind mount), and docs/install.md "Container" gives the same ones
    made = re.search(r"groupadd --system --gid %d clockwerk;.*useradd --system --uid %d --gid %d [^;]*clockwerk;"
                     % (CLOCKWERK_GID, CLOCKWERK_UID, CLOCKWERK_GID), runs[0], re.S)
    check(made and made.end() < runs[0].index("apt-get install"),
          "the RUN does not make the clockwerk group and user with ids %d:%d before installing the .deb"
          % (CLOCKWERK_UID, CLOCKWERK_GID))
    with open(os.path.join(REPO, "docs", "install.md")) as f:
        install_md = f.read()
    check("chown %d:%d" % (CLOCKWERK_UID, CLOCKWERK_GID) in install_md.split("## Container", 1)[-1],
          "docs/install.md 'Container' does not say to chown a bind mount to %d:%d" % (CLOCKWERK_UID, CLOCKWERK_GID))
    check(plan.volumes == ["/var/lib/clockwerk"], "VOLUME %s" % plan.volumes)
    conf_path = "/etc/clockwerk/clockwerk.conf"
    check(plan.argv() == ["clockwerk", "-c", conf_path], "ENTRYPOINT + CMD is %s" % plan.argv())
    with open(CONTAINER_CONF) as f:
        conf = f.read()
    run_dir = _conf_value(conf, "run_dir")
    check(any(run_dir.startswith(v.rstrip("/") + "/") for v in plan.volumes),
          "run_dir %s is not in a VOLUME %s: the silences, open incidents and spools it holds would be lost with "
          "the container's writable layer at every update" % (run_dir, plan.volumes))
    port = int(_conf_value(conf, "listen").rsplit(":", 1)[1])
    check(plan.healthcheck[-1] == "http://127.0.0.1:%d/healthz" % port,
          "HEALTHCHECK %s does not ask /healthz on the web's port %d" % (plan.healthcheck, port))
    check(port in plan.expose, "EXPOSE %s lacks the web's port %d" % (plan.expose, port))

    with open(COMPOSE) as f:
        compose = yaml.safe_load(f)
    svc, pg = compose["services"]["clockwerk"], compose["services"]["postgres"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
    check(mounts.get(conf_path) == "./etc/container/clockwerk.conf",
          "compose does not mount etc/container/clockwerk.conf at %s: %s" % (conf_path, mounts))
    check("/var/lib/clockwerk" in mounts, "compose gives /var/lib/clockwerk no volume")
    check(any(p.endswith(":%d" % port) for p in svc["ports"]),
          "compose publishes %s, not the web's port" % svc["ports"])
    check(svc["depends_on"]["postgres"]["condition"] == "service_healthy" and pg.get("healthcheck"),
          "clockwerk does not wait for a healthy postgres")
    secret_path = _conf_value(conf, "db_password_file")
    check(secret_path == "/run/secrets/db_password" and "db_password" in svc["secrets"]
          and "db_password" in pg["secrets"] and "file" in compose["secrets"]["db_password"],
          "the database password is not the compose secret db_password in both services")
    env = pg["environment"]
    check(env.get("POSTGRES_PASSWORD_FILE") == secret_path and "POSTGRES_PASSWORD" not in env,
          "postgres does not read its password from the secret file")
    check(env.get("POSTGRES_USER") == _conf_value(conf, "db_user") and env.get("POSTGRES_DB") == _conf_value(
        conf, "db_name") and _conf_value(conf, "db_host") == "postgres", "compose's database and the config differ")
    check(not re.search(r"(?m)^[^#]*\b[a-z_]*password\s*=", conf),
          "etc/container/clockwerk.conf holds a password (it belongs in the secret file)")


def _make_deb():
    """The .deb of this tree, through `make deb` (it rebuilds only when a source changed). nocheck, as the
    Dockerfile's build stage and test_package.py build it (one build serves all three; `make test` runs the unit
    tests itself)."""
    p = subprocess.run(["make", "-s", "deb"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=deadline(900), env=dict(os.environ, DEB_BUILD_OPTIONS="nocheck"))
    check(p.returncode == 0, "make deb failed:\n%s" % harness.tail(p.stdout, 40))
    debs = [f for f in os.listdir(os.path.join(REPO, "build/deb")) if re.fullmatch(r"clockwerk_[^_]+_[^_]+\.deb", f)]
    check(len(debs) == 1, "make deb left %s in build/deb" % debs)
    return os.path.join(REPO, "build/deb", debs[0])


def _container_conf(web_port, pg_port, target_url):
    """etc/container/clockwerk.conf as compose mounts it, with what differs here: PostgreSQL on 127.0.0.1 (not the
    service "postgres"), the web on 127.0.0.1 and a free port (the host's network: no fixed port, no other
    address), checks every 5 s, and a loopback target whose checks the test finds stored."""
    with open(CONTAINER_CONF) as f:
        text = f.read()
    edits = [('db_host = "postgres";', 'db_host = "127.0.0.1";'), ("db_port = 5432;", "db_port = %d;" % pg_port),
             ('listen = "*:8080";', 'listen = "127.0.0.1:%d";' % web_port),
             ("http://127.0.0.1:8080/healthz", "http://127.0.0.1:%d/healthz" % web_port),
             ("check_interval = 60;", "check_interval = 5;"),
             ("endpoints = (",
              'endpoints = (\n    { url = "%s"; name = "loopback target"; timeout = 5; },' % target_url)]
    for old, new in edits:
        check(text.count(old) == 1, "%s: expected `%s` once" % (CONTAINER_CONF, old))
        text = text.replace(old, new)
    return text


def _http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def _proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _check_processes(init_pid, uid):
    """PID 1 of the container is the supervisor, and it and every child run as the image's user."""
    st = _proc_status(init_pid)
    check(st["NSpid"].split()[-1] == "1", "the supervisor is not PID 1 of its namespace: NSpid %s" % st["NSpid"])
    procs = [init_pid] + [p for p, _ in harness.list_descendants(init_pid)]
    check(len(procs) >= 4, "only %d processes in the container" % len(procs))
    for pid in procs:
        ids = _proc_status(pid)["Uid"].split()
        check(set(ids) == {str(uid)}, "%s runs as uids %s, not the clockwerk user (%d)" % (
            harness.proc_title(pid), ids, uid))


def run_image(tarball, plan):
    """Runs the root filesystem like compose runs the image, against a PostgreSQL and a target of the test's own."""
    with tempdir("cw-img-") as d, PostgresServer() as pg, Targets() as t:
        web_port = free_port()
        conf = os.path.join(d, "clockwerk.conf")
        with open(conf, "w") as f:
            f.write(_container_conf(web_port, pg.port, t.url("/ok")))
        os.chmod(conf, 0o644)                         # a file in the operator's checkout, as compose mounts it
        secret = os.path.join(d, "secrets", "db_password")
        os.makedirs(os.path.dirname(secret), mode=0o700)
        with open(secret, "w") as f:
            f.write(pg.password + "\n")
        os.chmod(secret, 0o444)                       # compose's file secrets keep the host file's mode
        volume = os.path.join(d, "volume")
        os.mkdir(volume, 0o750)
        c = imagefs.Container(tarball, plan, d, [(conf, "/etc/clockwerk/clockwerk.conf", True),
                                                 (secret, "/run/secrets/db_password", True),
                                                 (volume, "/var/lib/clockwerk", False)])
        try:
            c.unpack()
            uid, gid = c.user[0], c.user[1]
            check((uid, gid) == (CLOCKWERK_UID, CLOCKWERK_GID), "the image's clockwerk user is %d:%d, not the pinned "
                  "%d:%d" % (uid, gid, CLOCKWERK_UID, CLOCKWERK_GID))
            os.chown(volume, uid, gid)                # a bind-mounted volume belongs to the image's user
            init = c.start()
            healthz = "http://127.0.0.1:%d/healthz" % web_port
            wait_for(lambda: _http_status(healthz) == 200, deadline(120),
                     lambda: "/healthz 200 from outside (last: %s); container output:\n%s"
                     % (_http_status(healthz), harness.tail(c.output(), 30)))
            probe = [a.replace("127.0.0.1:8080/", "127.0.0.1:%d/" % web_port) for a in plan.healthcheck]
            code, out = c.exec(probe)
            check(code == 0, "the HEALTHCHECK command %s failed in the container (%d): %s" % (probe, code, out))
            sql = ("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = '%s' "
                   "AND c.ok AND c.status_code = 200" % t.url("/ok"))
            wait_for(lambda: int(pg.query(sql)[0][0]) >= 2, deadline(90), "2 checks of the target stored",
                     ignore=(RuntimeError,))
            _check_processes(init, uid)
            check(t.count("/ok") >= 2, "the target saw %d requests" % t.count("/ok"))
            rc = c.stop(timeout=deadline(30))
            out = c.output()
            check(rc == 0, "the container exited with %s after SIGTERM:\n%s" % (rc, harness.tail(out, 30)))
            check("storer" in out and "web" in out,
                  "no log lines of the children on stderr:\n%s" % harness.tail(out, 30))
            check(c.output("stdout") == "", "the container wrote on stdout: %r" % c.output("stdout")[:300])
            check(pg.password not in out, "the database password is in the container's log")
        finally:
            c.cleanup()


@harness.alone
@harness.plain_only("builds its own .deb (make deb) and root filesystem; the binaries under test are not used")
@harness.timeout(1200)
def test_image_rootfs_runs():
    deb = _make_deb()
    plan = imagefs.runtime_plan(DOCKERFILE)
    t0 = time.monotonic()
    tarball, built = imagefs.build_rootfs(plan, {DEB_FROM_BUILD: deb})
    note("root filesystem %s: %s in %.0f s" % (os.path.basename(tarball),
                                               "built " + " and ".join(built) if built else "from the cache",
                                               time.monotonic() - t0))
    run_image(tarball, plan)
