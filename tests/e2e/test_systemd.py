"""tests/e2e/test_systemd.py — Clockwerk as a systemd service (issue 17, docs/operations.md "systemd").

The notify protocol is tested against a socket the test listens on, as systemd would: an AF_UNIX datagram socket
named by NOTIFY_SOCKET (and WATCHDOG_USEC for the watchdog) in the supervisor's environment, each message recorded
with the moment it came and how long the supervisor's log was then.

  - READY=1 comes once every essential child (workers, storer, alerter, relay) is up: the log holds each one's
    own start line and the supervisor's "is ready" line before READY=1 arrives; a web that cannot listen (its port
    held by the test) holds back neither READY=1 nor the watchdog, STATUS= names it; 48 workers starting at once
    are all counted; a SIGHUP while starting does not make READY=1 come before a child held down is up;
  - the web keeps an ambient CAP_NET_BIND_SERVICE a drop-in gives the service, no other child holds one;
  - clockwerk(8) ENVIRONMENT names the variables the supervisor sets for its children and systemd's;
  - WATCHDOG=1 comes while healthy, stops while a child is kept down longer than the watchdog interval, and comes
    again once it is up;
  - RELOADING=1 then READY=1 around a SIGHUP, READY=1 only once the restarted workers are up again; a refused
    reload gets READY=1 at once and a STATUS= that says so; STOPPING=1 on SIGTERM;
  - the children's environment has no NOTIFY_SOCKET, WATCHDOG_USEC or WATCHDOG_PID (only the supervisor talks to
    systemd), but the readiness socket's path;
  - a probe host waiting for its central host's configuration is READY=1 at once and says so in STATUS=;
  - run as the unit runs it (a system user with an ambient CAP_NET_RAW, through setpriv), the supervisor opens raw
    ICMP sockets for its worker (the icmp checks pass with method raw) and no child holds a capability;
  - the unit file, with its paths substituted, passes `systemd-analyze verify` and scores "OK" or better in
    `systemd-analyze security --offline=yes` (systemd 252 is installed here but is not PID 1: both verbs work on a
    unit file given by path without a running manager).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import harness
from harness import (Clockwerk, REPO, base_config, bin_dir, check, deadline, endpoint, free_port, list_children,
                     note, tempdir, timeout, wait_for)
from targets import Targets

ROLES_ALL = ("relay", "storer", "alerter", "web")
READY_LINE = r"clockwerk\[supervisor\] \d+ info: %s \(pid (\d+)\) is ready after"
# each child's own line once it is up (what it logs just before it says so)
OWN_LINES = {
    "relay": r"clockwerk\[relay\] \d+ info: relaying ",
    "storer": r"clockwerk\[storer\] \d+ info: storing to",
    "alerter": r"clockwerk\[alerter\] \d+ info: alerter running",
    "web": r"clockwerk\[web\] \d+ info: serving ",
    "worker": r"clockwerk\[%s\] \d+ info: checking \d+ endpoint",
}


class NotifyListener:
    """systemd's end of NOTIFY_SOCKET: every datagram as (monotonic time, [(key, value)], log size then)."""

    def __init__(self, d):
        self.path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.messages = []
        self.cw = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notify-listener", daemon=True)
        self._thread.start()

    def env(self, watchdog_usec=None):
        e = {"NOTIFY_SOCKET": self.path}
        if watchdog_usec:
            e["WATCHDOG_USEC"] = str(watchdog_usec)
        return e

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            items = [tuple(line.split("=", 1)) for line in data.decode("utf-8", "replace").split("\n") if "=" in line]
            size = os.path.getsize(self.cw.log_path) if self.cw and os.path.exists(self.cw.log_path) else 0
            kids = dict(list_children(self.cw.pid)) if self.cw and self.cw.pid else {}
            with self._lock:
                self.messages.append({"t": time.monotonic(), "items": items, "log_size": size, "children": kids})

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def find(self, key, value=None, after=0):
        """Index of the first message from index `after` carrying key (=value), or None."""
        for i, m in enumerate(self.snapshot()):
            if i >= after and any(k == key and (value is None or v == value) for k, v in m["items"]):
                return i
        return None

    def wait(self, key, value="1", after=0, timeout=30.0):
        """Waits for find(key, value, after); returns the index."""
        found = wait_for(lambda: (self.find(key, value, after),) if self.find(key, value, after) is not None else None,
                         deadline(timeout),
                         lambda: "%s=%s from message %d (got: %s)" % (key, value, after, self.describe(after)))
        return found[0]

    def count(self, key, value="1", start=0, end=None):
        return sum(1 for m in self.snapshot()[start:end] if (key, value) in m["items"])

    @staticmethod
    def value(message, key):
        for k, v in message["items"]:
            if k == key:
                return v
        return None

    def describe(self, after=0):
        return "; ".join("|".join("%s=%s" % kv for kv in m["items"]) for m in self.snapshot()[after:][-12:])


def _environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)


def _hold_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def _ready_lines_before(cw, size, names):
    """Checks that the log's first `size` bytes hold, for each child name, its own start line and the
    supervisor's "NAME (pid N) is ready" line."""
    with open(cw.log_path, "rb") as f:
        text = f.read(size).decode("utf-8", "replace")
    for name in names:
        check(re.search(READY_LINE % re.escape(name), text), "READY=1 came before the supervisor logged %s ready" % name)
        own = OWN_LINES["worker"] % re.escape(name) if name.startswith("worker") else OWN_LINES[name]
        check(re.search(own, text), "READY=1 came before %s logged that it is up (/%s/)" % (name, own))


@timeout(150)
def test_web_that_cannot_listen_holds_back_neither_ready_nor_watchdog():
    """The status page is not the monitoring: a web whose port the test holds is restarted with backoff, while
    READY=1 comes once the workers, storer, alerter and relay are up and WATCHDOG=1 keeps coming; STATUS= names the
    web (fails before: READY=1 waited for the web, and the watchdog was withheld once it was down for longer than
    the interval — "watchdog: not telling systemd we are alive: web down for ...")."""
    with tempdir() as d, Targets() as t, NotifyListener(d) as n:
        held, port = _hold_port()
        try:
            cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=2)
            cfg["web"] = {"listen": "127.0.0.1:%d" % port}
            cw = Clockwerk(cfg, d, env=n.env(watchdog_usec=2000000))
            n.cw = cw
            with cw:
                essential = ["relay", "storer", "alerter", "worker 0/2", "worker 1/2"]
                i = n.wait("READY", timeout=60)
                ready = n.snapshot()[i]
                _ready_lines_before(cw, ready["log_size"], essential)
                status = n.value(ready, "STATUS") or ""
                check(re.search(r"5 of 6 children up: .*web", status), "STATUS= with READY=1: %r" % status)
                # a window of more than two intervals with the web down: pings go on (every 1 s)
                cw.wait_log(r"web \(pid \d+\) exited with code 1", timeout=20)
                mark, t_mark, log_mark = len(n.snapshot()), time.monotonic(), cw.log_mark()
                wait_for(lambda: time.monotonic() - t_mark > 4.5 and
                         re.search(r"web \(pid \d+\) exited with code 1", cw.log_since(log_mark)),
                         deadline(60), "another failed start of the web")
                check(n.count("WATCHDOG", start=mark) >= 3,
                      "WATCHDOG=1 withheld while only the web was down: %s" % n.describe(mark))
                check("watchdog: not telling systemd" not in cw.log_since(0),
                      "the watchdog was withheld for the web: %s" % cw.log_since(0)[-600:])
                statuses = [n.value(m, "STATUS") for m in n.snapshot() if n.value(m, "STATUS")]
                check(any(re.search(r"5 of 6 children up: .*web", x) for x in statuses[-3:]),
                      "STATUS= does not name the web as down: %s" % statuses[-3:])

                held.close()  # the web can listen now
                wait_for(lambda: any("all 6 children up" in (n.value(m, "STATUS") or "") for m in n.snapshot()),
                         deadline(60), lambda: "STATUS= with all 6 children up (got: %s)" % n.describe())
                check(n.count("READY") == 1, "READY=1 sent again without a reload: %s" % n.describe())
                note("READY=1 and the watchdog went on while the web could not listen")

                j = len(n.snapshot())
                cw.stop()
                k = n.wait("STOPPING", after=j, timeout=5)
                check((n.value(n.snapshot()[k], "STATUS") or "").startswith("stopping"),
                      "STATUS= with STOPPING=1: %s" % n.describe(k))
        finally:
            held.close()


GATE = """#!/bin/sh
# the storer held down until the test creates %s
while [ ! -e '%s' ]; do sleep 0.05; done
exec "$(dirname "$0")/clockwerk-storer.bin" "$@"
"""


@timeout(120)
def test_sighup_while_starting_does_not_make_ready():
    """A SIGHUP before the first READY=1 — here a refused one — does not turn READY=1 into a timer or send it at
    once: READY=1 still waits until the storer, held down by the test, is up (fails before: a refused reload during
    the start sent READY=1 on the next tick, with the storer still down)."""
    with tempdir() as d, Targets() as t, NotifyListener(d) as n:
        gate = os.path.join(d, "storer-may-start")
        out = harness.private_bin(d, replace={"clockwerk-storer": GATE % (gate, gate)})
        shutil.copy2(harness.binary("clockwerk-storer"), os.path.join(out, "clockwerk-storer.bin"))
        cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=1)
        cw = Clockwerk(cfg, d, env=n.env(), bin_dir=out)
        n.cw = cw
        with cw:
            cw.wait_log(READY_LINE % re.escape("worker 0/1"), timeout=30)
            check(n.find("READY") is None, "READY=1 with the storer held down: %s" % n.describe())
            mark = cw.log_mark()
            cw.rewrite("supervisor = { workers = \"many\"; };\n")
            cw.signal(signal.SIGHUP)
            cw.wait_log(r"reload failed", since=mark, timeout=10)
            # the refusal shows in STATUS= in the same turn of the loop; READY=1 would have come with it
            wait_for(lambda: any("the last reload was refused" in (n.value(m, "STATUS") or "") for m in n.snapshot()),
                     deadline(10), lambda: "a STATUS= saying the reload was refused (got: %s)" % n.describe())
            t0 = time.monotonic()
            wait_for(lambda: time.monotonic() - t0 > 2 or n.find("READY") is not None, deadline(10), "a moment")
            check(n.find("READY") is None, "READY=1 after a SIGHUP while the storer was down: %s" % n.describe())
            check(n.find("RELOADING") is None, "RELOADING=1 before the first READY=1: %s" % n.describe())
            with open(gate, "w"):
                pass
            i = n.wait("READY", timeout=30)
            ready = n.snapshot()[i]
            _ready_lines_before(cw, ready["log_size"], ["storer"])
            status = n.value(ready, "STATUS") or ""
            check("all 4 children up" in status, "STATUS= with READY=1: %r" % status)
            before = len(n.snapshot())
            cw.stop()
            n.wait("STOPPING", after=before, timeout=5)


@timeout(120)
def test_reload_refused_reload_stop_and_environ():
    with tempdir() as d, Targets() as t, NotifyListener(d) as n:
        eps = [endpoint(t.url("/ok"), timeout=1)]
        cw = Clockwerk(base_config(eps, workers=1), d, env=n.env(watchdog_usec=60000000))
        n.cw = cw
        with cw:
            i = n.wait("READY", timeout=30)
            check("all 4 children up" in (n.value(n.snapshot()[i], "STATUS") or ""), "first READY=1: %s" % n.describe())
            kids = cw.wait_ready(titles=["clockwerk: relay", "clockwerk: storer", "clockwerk: alerter",
                                         "clockwerk: worker 0/1"])
            # only the supervisor talks to systemd
            own = _environ(cw.pid)
            check(own.get(b"NOTIFY_SOCKET") == n.path.encode() and b"WATCHDOG_USEC" in own,
                  "the test did not give the supervisor NOTIFY_SOCKET and WATCHDOG_USEC")
            for title, pid in kids.items():
                env = _environ(pid)
                leaked = [k for k in (b"NOTIFY_SOCKET", b"WATCHDOG_USEC", b"WATCHDOG_PID") if k in env]
                check(not leaked, "%s (pid %d) inherited %s" % (title, pid, leaked))
                check(env.get(b"CLOCKWERK_READY_SOCKET") == os.path.join(cw.run_dir, "ready.sock").encode(),
                      "%s has no CLOCKWERK_READY_SOCKET: %s" % (title, env.get(b"CLOCKWERK_READY_SOCKET")))

            # a reload that restarts the workers: READY=1 once both new workers are up
            old_worker = kids["clockwerk: worker 0/1"]
            mark, before = cw.log_mark(), len(n.snapshot())
            cw.reload(base_config(eps, workers=2))
            r = n.wait("RELOADING", after=before, timeout=10)
            check(n.value(n.snapshot()[r], "MONOTONIC_USEC") is not None, "RELOADING=1 without MONOTONIC_USEC")
            j = n.wait("READY", after=r, timeout=30)
            ready = n.snapshot()[j]
            text = cw.log_since(mark)[:max(0, ready["log_size"] - mark)]
            for name in ("worker 0/2", "worker 1/2"):
                m = re.search(READY_LINE % re.escape(name), text)
                check(m and int(m.group(1)) != old_worker,
                      "READY=1 after the reload came before the new %s was ready" % name)
            check("all 5 children up" in (n.value(ready, "STATUS") or ""), "READY=1 after reload: %s" % n.describe(r))

            # a refused reload: READY=1 at once, STATUS= says so, nothing restarted
            workers = {x: cw.child(x) for x in ("clockwerk: worker 0/2", "clockwerk: worker 1/2")}
            before = len(n.snapshot())
            cw.rewrite("supervisor = { workers = \"many\"; };\n")
            cw.signal(signal.SIGHUP)
            r = n.wait("RELOADING", after=before, timeout=10)
            j = n.wait("READY", after=r, timeout=5)
            status = n.value(n.snapshot()[j], "STATUS") or ""
            check("the last reload was refused" in status and "all 5 children up" in status,
                  "STATUS= after a refused reload: %r" % status)
            check({x: cw.child(x) for x in workers} == workers, "a refused reload restarted a worker")

            before = len(n.snapshot())
            cw.stop()
            n.wait("STOPPING", after=before, timeout=5)


@timeout(90)
def test_probe_host_is_ready_while_it_waits_for_its_central():
    with tempdir() as d, NotifyListener(d) as n:
        central = harness.keygen(os.path.join(d, "central.key"))
        harness.keygen(os.path.join(d, "fra.key"))
        cfg = {"supervisor": {"location": "fra", "workers": 1, "run_dir": "run", "log_level": "info"},
               "bus": {"central_address": "tcp://127.0.0.1:%d" % free_port(), "curve_key_file": "fra.key",
                       "curve_server_key": central["public"]}}
        env = dict(n.env(), CLOCKWERK_CONFIG_POLL_MS="200")
        cw = Clockwerk(cfg, d, env=env)
        n.cw = cw
        with cw:
            i = n.wait("READY", timeout=20)
            status = n.value(n.snapshot()[i], "STATUS") or ""
            check(status.startswith("probe host fra: waiting for its configuration from the central host"),
                  "a waiting probe host's STATUS=: %r" % status)
            check(not cw.children(), "a probe host without its configuration runs children: %s" % cw.children())
            before = len(n.snapshot())
            cw.stop()
            n.wait("STOPPING", after=before, timeout=5)


def _staged_unit(d):
    """The unit with its paths substituted as `make install` does: programs from the binaries under test, the
    configuration in d/etc/clockwerk/clockwerk.conf."""
    etc = os.path.join(d, "etc")
    os.makedirs(os.path.join(etc, "clockwerk"))
    sample = os.path.join(REPO, "etc", "clockwerk.dist.conf")
    shutil.copy(sample if os.path.exists(sample) else os.path.join(REPO, "etc", "clockwerk.conf"),
                os.path.join(etc, "clockwerk", "clockwerk.conf"))
    with open(os.path.join(REPO, "etc", "systemd", "clockwerk.service.in")) as f:
        text = f.read()
    libexec = os.path.join(os.path.dirname(bin_dir()), "libexec", "clockwerk")
    text = text.replace("@BINDIR@", bin_dir()).replace("@SYSCONFDIR@", etc).replace("@LIBEXECDIR@", libexec)
    check(not re.search(r"@[A-Z]+@", text), "a placeholder left in the unit: %s" % re.findall(r"@[A-Z]+@", text))
    path = os.path.join(d, "clockwerk.service")
    with open(path, "w") as f:
        f.write(text)
    return path, text


@timeout(60)
def test_unit_verifies_and_scores_ok():
    check(shutil.which("systemd-analyze"), "systemd-analyze is not installed (apt-get install systemd)")
    with tempdir() as d:
        path, text = _staged_unit(d)
        for line in ("Type=notify", "NotifyAccess=main", "WatchdogSec=", "WatchdogSignal=SIGTERM", "KillMode=mixed",
                     "User=clockwerk",
                     "StateDirectory=clockwerk", "AmbientCapabilities=CAP_NET_RAW",
                     "CapabilityBoundingSet=CAP_NET_RAW", "ProtectSystem=strict", "NoNewPrivileges=yes"):
            check(re.search(r"(?m)^" + re.escape(line), text), "the unit has no %s" % line)
        # run_dir holds state that must outlive a stop (silences, incidents, spools): systemd empties a
        # RuntimeDirectory= when the service stops, so the sample keeps it under the StateDirectory=
        check(not re.search(r"(?m)^RuntimeDirectory", text), "the unit has a RuntimeDirectory=, emptied at stop")
        with open(os.path.join(REPO, "etc", "clockwerk.dist.conf")) as f:
            run_dir = re.search(r'(?m)^\s*run_dir = "([^"]*)"', f.read()).group(1)
        check(run_dir.startswith("/var/lib/clockwerk/"),
              "the sample's run_dir %s is not in the unit's StateDirectory=clockwerk (/var/lib/clockwerk)" % run_dir)
        reload_cmds = re.findall(r"(?m)^ExecReload=(.*)$", text)
        check(len(reload_cmds) == 2 and " -t -c " in reload_cmds[0] and "kill -HUP $MAINPID" in reload_cmds[1],
              "ExecReload: `clockwerk -t`, then SIGHUP: %s" % reload_cmds)
        # the reload's check runs as written (on the staged configuration)
        argv = reload_cmds[0].split()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=harness.child_env())
        check(r.returncode == 0, "%s: exit %d: %s" % (reload_cmds[0], r.returncode, r.stderr[-500:]))

        # --man=no: the man pages are checked where they are installed (the package's test), not here
        v = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True, text=True, timeout=60)
        complaints = [x for x in (v.stdout + v.stderr).splitlines() if "clockwerk" in x]
        check(v.returncode == 0 and not complaints, "systemd-analyze verify: exit %d: %s" % (v.returncode, complaints))

        # --threshold is in tenths: an exposure above 4.9 ("MEDIUM" and worse) fails
        s = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=49", path],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for clockwerk\.service: ([0-9.]+) (\w+)", s.stdout + s.stderr)
        check(m, "no overall exposure level in: %s" % (s.stdout + s.stderr)[-800:])
        check(s.returncode == 0 and m.group(2) in ("OK", "SAFE", "PERFECT"),
              "systemd-analyze security: exit %d, %s %s" % (s.returncode, m.group(1), m.group(2)))
        note("systemd-analyze security --offline=yes: exposure %s %s" % (m.group(1), m.group(2)))


WRAPPER = """#!/bin/sh
# what the unit's User= and AmbientCapabilities=CAP_NET_RAW do, for the test
exec setpriv --reuid=%d --regid=%d --clear-groups --inh-caps=+net_raw --ambient-caps=+net_raw -- \\
    "$(dirname "$0")/clockwerk.bin" "$@"
"""


def _caps(pid):
    with open("/proc/%d/status" % pid) as f:
        status = f.read()
    return {k: int(re.search(r"^%s:\s+([0-9a-f]+)" % k, status, re.M).group(1), 16)
            for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")}


@timeout(150)
def test_cap_net_raw_serves_icmp_and_reaches_no_child():
    """The supervisor run as the unit runs it — a system user whose one capability is an ambient CAP_NET_RAW —
    opens the raw ICMP sockets for its workers, and no child keeps a capability (fails before: every child
    inherited the ambient CAP_NET_RAW)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        note("not root or no setpriv: the capability cannot be given; nothing checked")
        return
    import test_check_icmp
    import test_security
    from check_rows import rows_by_name
    pw = test_security.ensure_user()
    with open("/proc/sys/net/ipv4/ping_group_range") as f:
        lo, hi = (int(x) for x in f.read().split())
    if lo <= pw.pw_gid <= hi:
        note("ping_group_range %d %d allows gid %d: datagram sockets, no raw ones to test" % (lo, hi, pw.pw_gid))
        return
    with tempdir() as d:
        test_security.traversable(d)
        out = harness.private_bin(d, replace={"clockwerk": WRAPPER % (pw.pw_uid, pw.pw_gid)})
        shutil.copy2(harness.binary("clockwerk"), os.path.join(out, "clockwerk.bin"))
        for sub in ("run", "db"):  # owned by the unit's user, as StateDirectory= and run_dir inside it are
            os.mkdir(os.path.join(d, sub), 0o700)
            os.chown(os.path.join(d, sub), pw.pw_uid, pw.pw_gid)
        cfg = base_config(test_check_icmp.LOOPBACK, workers=1, db_name="db/clockwerk.db")
        cw = Clockwerk(cfg, d, bin_dir=out)
        os.chown(cw.conf_path, pw.pw_uid, pw.pw_gid)
        with cw:
            kids = cw.wait_ready(titles=["clockwerk: relay", "clockwerk: storer", "clockwerk: alerter",
                                         "clockwerk: worker 0/1"])
            rows = rows_by_name(cw, ["v4", "v6", "name"], n=2)
            check(_caps(cw.pid)["CapAmb"] == 1 << 13, "the supervisor's capabilities: %s" % _caps(cw.pid))
            for title, pid in kids.items():  # (the inheritable set grants nothing without file capabilities)
                caps = _caps(pid)
                check(caps["CapPrm"] == caps["CapEff"] == caps["CapAmb"] == 0,
                      "%s (pid %d) holds capabilities: %s" % (title, pid, caps))
            cw.wait_log(r"icmp: raw sockets opened by the supervisor for the workers", timeout=5)
            cw.stop()
        test_check_icmp.check_loopback_rows(rows, "raw")


@timeout(150)
def test_many_workers_all_report_ready():
    """48 workers start in a burst: every child's readiness datagram reaches the supervisor and READY=1 comes
    (fails before: proc_ready sent with MSG_DONTWAIT and gave up on EAGAIN once net.unix.max_dgram_qlen datagrams
    were queued — "cannot tell the supervisor we are ready ... Resource temporarily unavailable", no READY=1)."""
    workers = 48
    with tempdir() as d, Targets() as t, NotifyListener(d) as n:
        cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=workers, log_level="debug")
        cw = Clockwerk(cfg, d, env=n.env())
        n.cw = cw
        with cw:
            i = n.wait("READY", timeout=90)
            status = n.value(n.snapshot()[i], "STATUS") or ""
            total = workers + 3
            check("all %d children up" % total in status, "STATUS= with READY=1: %r" % status)
            text = cw.log_since(0)
            check("cannot tell the supervisor we are ready" not in text,
                  "a child failed to report: %s" % re.findall(r".*cannot tell the supervisor.*", text)[:3])
            ready = set(re.findall(r"clockwerk\[supervisor\] \d+ info: (.+?) \(pid \d+\) is ready after", text))
            check(len(ready) == total, "%d of %d children counted ready" % (len(ready), total))
            before = len(n.snapshot())
            cw.stop()
            n.wait("STOPPING", after=before, timeout=10)


WRAPPER_BIND = """#!/bin/sh
# a drop-in's AmbientCapabilities=CAP_NET_RAW CAP_NET_BIND_SERVICE with the unit's User=, for the test
exec setpriv --reuid=%d --regid=%d --clear-groups --inh-caps=+net_raw,+net_bind_service \\
    --ambient-caps=+net_raw,+net_bind_service -- "$(dirname "$0")/clockwerk.bin" "$@"
"""


def _free_low_port():
    for port in range(900, 1000):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    return None


@timeout(120)
def test_web_keeps_an_ambient_cap_net_bind_service():
    """A drop-in that gives the service CAP_NET_BIND_SERVICE (docs/operations.md section 15) lets the web listen on
    a port < 1024: the supervisor passes that one ambient capability to the web alone, every other child holds
    none (fails before: the supervisor cleared every ambient capability in every child, so the web could not bind
    and was never ready)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        note("not root or no setpriv: the capability cannot be given; nothing checked")
        return
    import test_security
    port = _free_low_port()
    check(port, "no free port in 900..999")
    pw = test_security.ensure_user()
    with tempdir() as d:
        test_security.traversable(d)
        out = harness.private_bin(d, replace={"clockwerk": WRAPPER_BIND % (pw.pw_uid, pw.pw_gid)})
        shutil.copy2(harness.binary("clockwerk"), os.path.join(out, "clockwerk.bin"))
        for sub in ("run", "db"):
            os.mkdir(os.path.join(d, sub), 0o700)
            os.chown(os.path.join(d, sub), pw.pw_uid, pw.pw_gid)
        cfg = base_config([endpoint("http://127.0.0.1:%d/healthz" % port, timeout=1)], workers=1,
                          db_name="db/clockwerk.db")
        cfg["web"] = {"listen": "127.0.0.1:%d" % port}
        cw = Clockwerk(cfg, d, bin_dir=out)
        os.chown(cw.conf_path, pw.pw_uid, pw.pw_gid)
        with cw:
            cw.wait_log(READY_LINE % "web", timeout=30)
            kids = cw.wait_ready(titles=["clockwerk: relay", "clockwerk: storer", "clockwerk: alerter",
                                         "clockwerk: worker 0/1", "clockwerk: web"])
            bind_service = 1 << 10
            for title, pid in kids.items():
                caps = _caps(pid)
                want = bind_service if title == "clockwerk: web" else 0
                check(caps["CapPrm"] == caps["CapEff"] == caps["CapAmb"] == want,
                      "%s (pid %d) capabilities: %s (want %#x)" % (title, pid, caps, want))
            cw.stop()


@timeout(30)
def test_manpage_names_the_environment():
    """clockwerk(8) ENVIRONMENT names every variable the supervisor passes its children (the `*_ENV "NAME"` macros
    of common/ and worker/) and every one of systemd's it reads or removes (fails before: CLOCKWERK_READY_SOCKET,
    CLOCKWERK_ICMP_FDS and WATCHDOG_PID were missing)."""
    with open(os.path.join(REPO, "man", "clockwerk.8")) as f:
        page = f.read()
    m = re.search(r"(?ms)^\.Sh ENVIRONMENT\n(.*?)^\.Sh ", page)
    check(m, "clockwerk(8) has no ENVIRONMENT section")
    named = set(re.findall(r"\bEv ([A-Z_<>]+)", m.group(1)))
    wanted = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"}
    for sub in ("common", "worker", "supervisor"):
        for root, _, files in os.walk(os.path.join(REPO, sub)):
            for name in files:
                if name.endswith(".h"):
                    with open(os.path.join(root, name)) as f:
                        wanted |= set(re.findall(r'#define \w+_ENV "(CLOCKWERK_[A-Z_]+)"', f.read()))
    check("CLOCKWERK_READY_SOCKET" in wanted and "CLOCKWERK_ICMP_FDS" in wanted,
          "the extraction found no CLOCKWERK_READY_SOCKET or CLOCKWERK_ICMP_FDS: %s" % sorted(wanted))
    missing = sorted(wanted - named)
    check(not missing, "clockwerk(8) ENVIRONMENT does not name %s" % missing)
