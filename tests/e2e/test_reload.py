"""tests/e2e/test_reload.py — reloads that come faster than children stop, and a run_dir that disappears.

The supervisor keeps one process per role and worker slot at every moment: a replacement starts only after
the process it replaces has exited, and a further SIGHUP while the old one is still stopping changes what will
start, never adds another. Processes are counted by their titles in /proc (as harness.Clockwerk.children does),
sampled all along by a thread, and the database is checked for endpoints checked under two boot ids at once.
The slow-stopping cases use stand-ins (harness.private_bin) that take seconds to stop and log when they start
and end, so that overlaps are seen exactly, not only by sampling.
"""

import errno
import os
import re
import shutil
import signal
import threading
import time

import harness
from harness import (Clockwerk, base_config, check, deadline, endpoint, free_port, shard_of, tempdir, utc_now_iso,
                     wait_for)
from targets import Targets

STORER = "clockwerk: storer"
ALERTER = "clockwerk: alerter"
RELAY = "clockwerk: relay"


def worker_title(i, n):
    return "clockwerk: worker %d/%d" % (i, n)


class TitleSampler:
    """Samples the supervisor's children every 20 ms in a thread; remembers every moment a title was held
    by more than one process (zombies are not counted: a reaped-late child is not running)."""

    def __init__(self, cw):
        self.cw = cw
        self.samples = 0
        self.doubles = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="title-sampler", daemon=True)

    def _run(self):
        while not self._stop.is_set():
            kids = self.cw.children()
            by_title = {}
            for pid, title in kids.items():
                by_title.setdefault(title, []).append(pid)
            self.samples += 1
            for title, pids in by_title.items():
                if title.startswith("clockwerk: ") and title != "clockwerk: supervisor" and len(pids) > 1:
                    self.doubles.append((time.monotonic(), title, sorted(pids)))
            # Workers of two counts at once share endpoints (the shard is the hash modulo the count).
            counts = {m.group(1) for m in (re.match(r"clockwerk: worker \d+/(\d+)$", x) for x in by_title) if m}
            if len(counts) > 1:
                self.doubles.append((time.monotonic(), "workers of counts %s" % sorted(counts),
                                     sorted(p for x, ps in by_title.items() if x.startswith("clockwerk: worker")
                                            for p in ps)))
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False

    def check_none(self, what):
        firsts = {}
        for _, title, pids in self.doubles:
            firsts.setdefault(title, pids)
        check(not self.doubles, "%s: %d of %d samples saw a title held by two processes or more, first: %s"
              % (what, len(self.doubles), self.samples, firsts))


def wait_settled(cw, titles, quiet=3.0, timeout=60.0):
    """Waits until the children are exactly `titles` (one process each, nothing else) and no pid changed
    for `quiet` seconds; returns {title: pid}."""
    state = {"pids": None, "since": None}

    def settled():
        check(cw.running(), "the supervisor exited (%s)" % harness.describe_exit(cw.returncode))
        kids = cw.children()
        if sorted(kids.values()) != sorted(titles):
            state["pids"] = None
            return None
        pids = {t: p for p, t in kids.items()}
        if pids != state["pids"]:
            state["pids"], state["since"] = pids, time.monotonic()
            return None
        return pids if time.monotonic() - state["since"] >= quiet else None
    return wait_for(settled, deadline(timeout), lambda: "children settled as %s (have: %s)" % (
        sorted(titles), cw.describe_children()), interval=0.1)


def mail_group(port, to):
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_tls": "none", "email_from": "monitor@example.test",
            "email_to": [to]}


def urls_in_shards(t, slots, per_shard, tag):
    """per_shard URLs of the target for each shard of `slots`, found by the workers' own hash."""
    out, i = {s: [] for s in range(slots)}, 0
    while any(len(v) < per_shard for v in out.values()):
        u = t.url("/ok?%s=%d" % (tag, i))
        s = shard_of(u, slots)
        if len(out[s]) < per_shard:
            out[s].append(u)
        i += 1
    return [u for s in range(slots) for u in out[s]]


def test_sighup_burst_never_doubles_a_child():
    """50 SIGHUPs in about a second, alternating between two files that differ in every worker's shard and in
    the alerter's settings (so storer, alerter and both workers restart on each): at every sample, and at the
    end, one process per title; afterwards every endpoint is checked by one worker process (one boot id) at
    its interval; no worker warns that its predecessor 'ended without a clean stop'."""
    with tempdir() as d, Targets() as t:
        base = urls_in_shards(t, 2, 2, "base")
        extra = urls_in_shards(t, 2, 1, "extra")
        port = free_port()  # no SMTP server: every endpoint stays UP, nothing is mailed
        cfg_a = base_config([endpoint(u, timeout=1) for u in base], workers=2,
                            extra={"email": mail_group(port, "a@example.test")})
        cfg_b = base_config([endpoint(u, timeout=1) for u in base + extra], workers=2,
                            extra={"email": mail_group(port, "b@example.test")})
        titles = [RELAY, STORER, ALERTER, worker_title(0, 2), worker_title(1, 2)]
        with Clockwerk(cfg_a, d) as cw:
            cw.wait_ready(titles=titles)
            for u in base:
                cw.wait_count(u, 1, timeout=30)
            with TitleSampler(cw) as sampler:
                for i in range(50):
                    cw.reload(cfg_b if i % 2 == 0 else cfg_a)  # the last one (i = 49) is cfg_a
                    time.sleep(0.02)  # pacing of the burst, not a synchronisation
                wait_settled(cw, titles)
                settled_at = utc_now_iso()
                for u in base:
                    cw.wait_count(u, 4, timeout=30, after=settled_at)
            sampler.check_none("during and after 50 SIGHUPs")
            # Rows made after the children settled: one (worker, boot id) per endpoint, and at most one check
            # per interval (the window is a few seconds of check_interval = 1).
            rows = cw.db().query(
                "SELECT e.url, count(DISTINCT c.worker || ':' || c.boot_id), count(*), min(c.checked_at), "
                "max(c.checked_at) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                "WHERE c.checked_at > ? GROUP BY e.url", (settled_at,))
            by_url = {r[0]: r for r in rows}
            for u in base:
                url, runs, n, lo, hi = by_url[u]
                span = harness.parse_iso_ms(hi) - harness.parse_iso_ms(lo)
                check(runs == 1, "%s was checked under %d (worker, boot id) pairs after the reloads settled"
                      % (u, runs))
                check(n <= span + 2, "%s: %d checks in %.1f s at a 1 s interval" % (u, n, span))
            clean = re.findall(r".*ended without a clean stop.*", cw.log_text())
            check(not clean, "a worker stopped by a reload was taken for a crash: %s" % clean[:2])
            harness.note("50 SIGHUPs: %d samples of the children, none doubled; %d reloads logged"
                         % (sampler.samples, len(re.findall(r"reload: \d+ endpoints", cw.log_text()))))
            cw.stop()


def test_sighup_burst_changing_worker_count():
    """20 SIGHUPs alternating between 2 and 3 workers: never a worker of each count at once, never two
    processes of one title; afterwards each endpoint is checked under one boot id."""
    with tempdir() as d, Targets() as t:
        urls = [t.url("/ok?n=%d" % i) for i in range(6)]
        cfgs = [base_config([endpoint(u, timeout=1) for u in urls], workers=n) for n in (2, 3)]
        titles2 = [RELAY, STORER, ALERTER, worker_title(0, 2), worker_title(1, 2)]  # the alerter always runs
        with Clockwerk(cfgs[0], d) as cw:
            cw.wait_ready(titles=titles2)
            with TitleSampler(cw) as sampler:
                for i in range(20):
                    cw.reload(cfgs[(i + 1) % 2])  # 3, 2, 3, ... the last one (i = 19) is 2 workers
                    time.sleep(0.05)  # pacing of the burst, not a synchronisation
                wait_settled(cw, titles2)
                settled_at = utc_now_iso()
                for u in urls:
                    cw.wait_count(u, 3, timeout=30, after=settled_at)
            sampler.check_none("during and after 20 SIGHUPs changing the worker count")
            rows = cw.db().query(
                "SELECT e.url, count(DISTINCT c.worker || ':' || c.boot_id) FROM checks c "
                "JOIN endpoints e ON e.id = c.endpoint_id WHERE c.checked_at > ? GROUP BY e.url", (settled_at,))
            check(all(r[1] == 1 for r in rows) and len(rows) == len(urls),
                  "(url, worker runs) after the reloads settled: %s" % rows)
            cw.stop()


# A stand-in for a child that takes STOP_S seconds to stop after SIGTERM. It re-executes itself under the
# title the supervisor gave (argv[0] of a script is lost to the interpreter), then logs its start with its
# snapshot and its end, with times, to EVENTS.
SLOW_STOPPER = r"""#!/bin/bash
if [ -z "$CW_STANDIN_TITLED" ]; then
    if [ -n "$CLOCKWERK_SLOTS" ]; then title="clockwerk: %(kind)s $CLOCKWERK_SLOT/$CLOCKWERK_SLOTS"
    else title="clockwerk: %(kind)s"; fi
    CW_STANDIN_TITLED="$title" exec -a "$title" /bin/bash "$0"
fi
events=%(events)s
echo "start $$ $(date +%%s.%%N) $CW_STANDIN_TITLED|$CLOCKWERK_SNAPSHOT" >> "$events"
trap 'sleep %(stop_s)s; echo "end $$ $(date +%%s.%%N) $CW_STANDIN_TITLED|" >> "$events"; exit 0' TERM
while :; do sleep 0.05; done
"""


def standin_runs(events_path):
    """{title: [(pid, start, end or None, snapshot)]} from a stand-in's event log."""
    runs, by_pid = {}, {}
    with open(events_path) as f:
        for line in f:
            what, pid, at, rest = line.rstrip("\n").split(" ", 3)
            title, snap = rest.split("|", 1)
            if what == "start":
                run = [int(pid), float(at), None, snap]
                runs.setdefault(title, []).append(run)
                by_pid[int(pid)] = run
            elif int(pid) in by_pid:
                by_pid[int(pid)][2] = float(at)
    return runs


def test_reloads_while_slow_children_stop():
    """A worker and an alerter that each take 3 s to stop, and two reloads 0.3 s apart that each restart
    both: never two processes of one title; exactly one replacement each, started after the old one ended,
    with the snapshot of the last reload."""
    with tempdir() as d, Targets() as t:
        events = os.path.join(d, "events")
        stand = {name: SLOW_STOPPER % {"kind": kind, "events": events, "stop_s": 3}
                 for name, kind in (("clockwerk-worker", "worker"), ("clockwerk-alerter", "alerter"))}
        bindir = harness.private_bin(d, replace=stand)
        port = free_port()
        ok, other = t.url("/ok?one"), t.url("/ok?two")
        cfg_a = base_config([endpoint(ok, timeout=1)], workers=1, db=False,
                            extra={"email": mail_group(port, "a@example.test")})
        cfg_b = base_config([endpoint(ok, timeout=1), endpoint(other, timeout=1)], workers=1, db=False,
                            extra={"email": mail_group(port, "b@example.test")})
        titles = [RELAY, ALERTER, worker_title(0, 1)]
        with Clockwerk(cfg_a, d, bin_dir=bindir) as cw:
            first = wait_settled(cw, titles, quiet=0.5)
            with TitleSampler(cw) as sampler:
                cw.reload(cfg_b)
                cw.wait_log(r"reload: .*generation 2", timeout=10)
                time.sleep(0.3)  # the second reload arrives while both are still stopping
                cw.reload(cfg_a)
                cw.wait_log(r"reload: .*generation 3", timeout=10)
                for title in (ALERTER, worker_title(0, 1)):
                    cw.wait_new_child(title, first[title], timeout=20)
                settled = wait_settled(cw, titles, quiet=1.0)
            sampler.check_none("two reloads while slow children stop")
            for title in (ALERTER, worker_title(0, 1)):
                check(settled[title] != first[title], "%s was not replaced" % title)
            runs = standin_runs(events)
            for title in (ALERTER, worker_title(0, 1)):
                r = runs.get(title, [])
                check(len(r) == 2, "%s started %d times, expected the first start and one replacement: %s"
                      % (title, len(r), r))
                check(r[0][2] is not None and r[1][1] >= r[0][2],
                      "%s: the replacement started at %.2f, before the old one ended (%s)" % (title, r[1][1], r[0][2]))
                check(r[1][3].endswith("/config.3.snap"), "%s: the replacement runs %s, not the last reload's "
                      "snapshot (config.3.snap)" % (title, r[1][3]))
            cw.stop(timeout=20)


# ------------------------------------------------------------------------------------ run_dir deleted

def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _alerting_config(t, urls, port):
    return base_config([endpoint(u, timeout=1) for u in urls], workers=1,
                       extra={"email": mail_group(port, "a@example.test")})


def test_run_dir_deleted_is_recreated():
    """rm -rf run_dir under a running supervisor: it recreates the directory (0700) with its pid file and
    lock, logs one warning, and restarts the children whose sockets and files lived there; then a second
    supervisor on the same run_dir is refused, a killed worker comes back, a SIGHUP works, rows keep coming
    and no child complains about the directory."""
    with tempdir() as d, Targets() as t:
        url, url2 = t.url("/ok?one"), t.url("/ok?two")
        port = free_port()
        titles = [RELAY, STORER, ALERTER, worker_title(0, 1)]
        with Clockwerk(_alerting_config(t, [url], port), d) as cw:
            cw.wait_ready(titles=titles)
            cw.wait_count(url, 2, timeout=30)
            pidfile = os.path.join(cw.run_dir, "clockwerk.pid")
            mark = cw.log_mark()
            shutil.rmtree(cw.run_dir)
            wait_for(lambda: _read(pidfile) == "%d\n" % cw.pid, deadline(10),
                     lambda: "run_dir recreated with the supervisor's pid file (%s: %r)" % (pidfile, _read(pidfile)))
            check(os.stat(cw.run_dir).st_mode & 0o777 == 0o700, "run_dir recreated with mode %o"
                  % (os.stat(cw.run_dir).st_mode & 0o777))
            cw.wait_log(r"warn: run_dir .* disappeared", timeout=10, since=mark)

            with Clockwerk(_alerting_config(t, [url], port), d, name="second") as second:
                code = second.wait_exit(deadline(10))
                check(code == 1 and "another supervisor (pid %d)" % cw.pid in second.log_text(),
                      "a second supervisor on the recreated run_dir: %s, log: %s"
                      % (harness.describe_exit(code), harness.tail(second.log_text(), 5)))
            check(_read(pidfile) == "%d\n" % cw.pid, "the refused supervisor touched the pid file: %r"
                  % _read(pidfile))

            pids = wait_settled(cw, titles, quiet=2.0)
            settled = cw.log_mark()
            after = utc_now_iso()
            cw.wait_count(url, 2, timeout=30, after=after)
            os.kill(pids[worker_title(0, 1)], signal.SIGKILL)
            cw.wait_new_child(worker_title(0, 1), pids[worker_title(0, 1)], timeout=20)
            after = utc_now_iso()
            cw.wait_count(url, 2, timeout=30, after=after)

            cw.reload(_alerting_config(t, [url, url2], port))
            cw.wait_log(r"reload: 2 endpoints", timeout=10, since=settled)
            cw.wait_count(url2, 2, timeout=30)
            complaints = [ln for ln in cw.log_since(settled).splitlines()
                          if re.search(r"\] \d+ (warn|error): .*(No such file|cannot|run_dir)", ln)]
            check(not complaints, "complaints after run_dir was recreated: %s" % complaints[:3])
            n_warn = len(re.findall(r"warn: run_dir .* disappeared", cw.log_text()))
            check(n_warn == 1, "%d warnings about the lost run_dir, expected one" % n_warn)
            cw.stop()


def _remove_tree_while_written(path, timeout):
    """shutil.rmtree of a directory the running children still write into (the paused supervisor's run_dir: the
    alerter's state file, a worker's spool): a file made between the listing and the rmdir makes it "not empty"
    (seen under ASan in make test); again until it is gone, within timeout."""
    end = time.monotonic() + timeout
    while True:
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.ENOTEMPTY or time.monotonic() > end:
                raise


def test_run_dir_taken_by_another_supervisor_stops_the_first():
    """The supervisor is paused (SIGSTOP) while its run_dir is deleted and a second supervisor starts there
    and takes the lock: once resumed, the first notices it cannot retake the lock, says so, ends its children
    and exits 1; the second runs on, untouched."""
    with tempdir() as d, Targets() as t:
        url = t.url("/ok")
        port = free_port()
        titles = [RELAY, STORER, ALERTER, worker_title(0, 1)]
        with Clockwerk(_alerting_config(t, [url], port), d) as cw:
            cw.wait_ready(titles=titles)
            cw.record_descendants()
            cw.signal(signal.SIGSTOP)
            try:
                _remove_tree_while_written(cw.run_dir, deadline(10))
                with Clockwerk(_alerting_config(t, [url], port), d, name="second") as second:
                    theirs = second.wait_ready(titles=titles)
                    cw.signal(signal.SIGCONT)
                    code = cw.wait_exit(deadline(15))
                    check(code == 1, "the first supervisor %s after losing its run_dir (expected exit 1)"
                          % harness.describe_exit(code))
                    check(re.search(r"error: .*another supervisor \(pid %d\)" % second.pid, cw.log_text()),
                          "the first supervisor did not say who took its run_dir: %s" % harness.tail(cw.log_text(), 8))
                    cw.wait_no_descendants(timeout=deadline(10), what="children of the first supervisor")
                    pidfile = os.path.join(second.run_dir, "clockwerk.pid")
                    check(_read(pidfile) == "%d\n" % second.pid, "the second's pid file holds %r" % _read(pidfile))
                    check(second.running() and second.wait_ready(titles=titles) == theirs,
                          "the second supervisor's children changed: %s" % second.describe_children())
                    after = utc_now_iso()
                    second.wait_count(url, 2, timeout=30, after=after)
                    second.stop()
            finally:
                if cw.running():
                    os.kill(cw.pid, signal.SIGCONT)
