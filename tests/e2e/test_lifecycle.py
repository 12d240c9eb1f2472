"""tests/e2e/test_lifecycle.py — the supervisor's side of the pipeline as real processes: clean exits on
SIGTERM/SIGINT/Ctrl-C, process titles, kills and restarts with their backoff, crash loops, a second supervisor,
and SIGHUP reloads (endpoints added and removed, worker count, database toggled, broken files kept out).

Every test has its own directory, its own ports, and stops every process and server on every path.
Conditions are polled with generous deadlines (harness.wait_for); none of them is a speed claim.
"""

import os
import re
import signal
import time

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, shard_of, tempdir, utc_now_iso, wait_for
from targets import KEYWORD, Targets
from pipeline_util import WORKER, STORER, problems_fail, split_endpoints, start_and_wait_rows


def test_sigterm_clean_exit():
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t, n=3)
        with cw:
            kids = cw.children()
            check(len(kids) >= 3, "expected at least 2 workers and a storer, have %s" % kids)
            before = cw.count_rows()
            took = cw.stop(timeout=10, expect=0)
            left = [(p, s) for p, s in cw.recorded() if harness.proc_alive(p, s)]
            check(not left, "processes left after SIGTERM: %s" % left)
            after = harness.Sqlite(cw.db_path).query("SELECT count(*) FROM checks")[0][0]
            check(after >= before, "rows after exit %d < rows seen before SIGTERM %d" % (after, before))
            harness.note("SIGTERM to exit: %.2f s; %d rows before, %d after" % (took, before, after))


def test_sigint_clean_exit():
    """SIGINT to the supervisor alone: same as SIGTERM."""
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t)
        with cw:
            cw.stop(timeout=10, expect=0, sig=signal.SIGINT)


def test_ctrl_c_process_group():
    """Ctrl-C in a terminal: SIGINT reaches every process of the group; children leave it to the
    supervisor, which stops them in order; exit 0, nothing left, rows committed."""
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t)
        with cw:
            before = cw.count_rows()
            cw.record_descendants()
            cw.signal_group(signal.SIGINT)
            code = cw.wait_exit(10)
            check(code == 0, "supervisor %s after Ctrl-C (SIGINT to the group)" % harness.describe_exit(code))
            cw.wait_no_descendants(timeout=deadline(5))
            after = harness.Sqlite(cw.db_path).query("SELECT count(*) FROM checks")[0][0]
            check(after >= before, "rows after exit %d < rows seen before %d" % (after, before))


# ---------------------------------------------------------------------------------------- 4. titles


def test_ps_titles():
    with tempdir() as d, Targets() as t:
        cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=2)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=[WORKER % (0, 2), WORKER % (1, 2), STORER])
            kids = cw.children()
            titles = sorted(kids.values())
            for title in (WORKER % (0, 2), WORKER % (1, 2), STORER):
                n = titles.count(title)
                check(n == 1, "%d children titled %r (children: %s)" % (n, title, titles))
            strange = [x for x in titles if not x.startswith("clockwerk: ")]
            check(not strange, "children with titles not starting 'clockwerk: ': %s" % strange)
            extra_workers = [x for x in titles if x.startswith("clockwerk: worker") and
                             x not in (WORKER % (0, 2), WORKER % (1, 2))]
            check(not extra_workers, "unexpected workers: %s" % extra_workers)
            cw.stop()


def test_ps_supervisor_title():
    """The issue: `ps` shows `clockwerk: supervisor`."""
    with tempdir() as d, Targets() as t:
        cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=1)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            argv = harness.proc_cmdline(cw.pid) or []
            shown = " ".join(argv)
            check("clockwerk: supervisor" in shown,
                  "ps shows the supervisor as %r, expected 'clockwerk: supervisor'" % shown)
            cw.stop()


# ------------------------------------------------------------------------------------ 5. restarts


def test_worker_kill_restart():
    with tempdir() as d, Targets() as t:
        urls = split_endpoints(t, 2)
        cfg = base_config([endpoint(u, timeout=1) for u in urls], workers=2)
        with Clockwerk(cfg, d) as cw:
            pids = cw.wait_ready()
            for u in urls:
                cw.wait_count(u, 1, timeout=30)
            w0, w1 = pids[WORKER % (0, 2)], pids[WORKER % (1, 2)]
            old_boots = {b for (b,) in cw.db().query("SELECT DISTINCT boot_id FROM checks WHERE worker = 0")}
            mark = cw.log_mark()
            kill_at = utc_now_iso()
            os.kill(w0, signal.SIGKILL)
            new0 = cw.wait_new_child(WORKER % (0, 2), w0, timeout=20)
            cw.wait_log(r"(?i)worker 0/2.*(signal 9|SIGKILL|killed)|(signal 9|SIGKILL|killed).*worker 0/2",
                        timeout=10, since=mark)
            # Rows keep arriving from the new worker 0 (a new boot id), for every URL it owns.
            mine = [u for u in urls if shard_of(u, 2) == 0]
            for u in mine:
                cw.wait_rows("SELECT c.boot_id FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                             "WHERE e.url = ? AND c.checked_at > ? AND c.worker = 0", (u, kill_at),
                             lambda rows: any(b not in old_boots for (b,) in rows), timeout=30,
                             what="rows from the restarted worker 0 for %s" % u)
            check(cw.child(WORKER % (1, 2)) == w1, "worker 1 was restarted too (pid %d -> %s)"
                  % (w1, cw.child(WORKER % (1, 2))))
            # Backoff: a second kill right away; the next start comes >= 1 s after the previous start.
            start1 = harness.proc_start_seconds(new0)
            check(start1 is not None, "the restarted worker %d is already gone" % new0)
            os.kill(new0, signal.SIGKILL)
            new1 = cw.wait_new_child(WORKER % (0, 2), new0, timeout=30)
            start2 = harness.proc_start_seconds(new1)
            check(start2 is not None, "the second restarted worker %d is already gone" % new1)
            gap = start2 - start1
            check(gap >= 0.95, "two starts of worker slot 0 only %.2f s apart (backoff floor is 1 s)" % gap)
            harness.note("worker 0 restarts: starts %.2f s apart after a quick second kill" % gap)
            cw.stop()


def test_storer_kill_restart():
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t)
        with cw:
            pids = cw.wait_ready()
            storer = pids[STORER]
            workers = {x: pids[x] for x in cw.worker_titles()}
            mark = cw.log_mark()
            kill_at = utc_now_iso()
            os.kill(storer, signal.SIGKILL)
            cw.wait_new_child(STORER, storer, timeout=20)
            cw.wait_log(r"(?i)storer.*(signal 9|SIGKILL|killed)|(signal 9|SIGKILL|killed).*storer",
                        timeout=10, since=mark)
            cw.wait_count(url, 2, timeout=30, after=kill_at)
            now = {x: cw.child(x) for x in workers}
            check(now == workers, "workers restarted when only the storer died: %s -> %s" % (workers, now))
            cw.stop()


def test_supervisor_kill9_no_orphans():
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t)
        with cw:
            kids = cw.children()
            check(kids, "no children before the kill")
            cw.kill9()
            cw.wait_no_descendants(timeout=deadline(10), what="children after kill -9 of the supervisor")
        # A new supervisor on the same run_dir (and database) starts cleanly.
        restart_at = utc_now_iso()
        with Clockwerk(cw.config, d, name="again") as cw2:
            check(cw2.run_dir == cw.run_dir, "test bug: not the same run_dir")
            cw2.wait_ready()
            cw2.wait_count(url, 2, timeout=30, after=restart_at)
            cw2.stop()


def test_second_supervisor_refused():
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t)
        with cw:
            before = cw.children()
            with Clockwerk(cw.config, d, name="second") as cw2:
                code = cw2.wait_exit(deadline(10))
                check(code is not None and code > 0, "a second supervisor on the same run_dir: %s (expected "
                      "a refusal, exit > 0)" % harness.describe_exit(code))
                text = cw2.log_text()
                check(re.search(r"(?i)lock|pid|already running", text),
                      "the second supervisor's refusal does not mention the lock/pid file: %r" % text[-500:])
                check(not cw2.left_alive(), "the refused supervisor left processes: %s" % cw2.left_alive())
            after_refusal = utc_now_iso()
            check(cw.running(), "the first supervisor died when a second one was started")
            now = cw.children()
            check(now == before, "the first supervisor's children changed: %s -> %s" % (before, now))
            cw.wait_count(url, 2, timeout=30, after=after_refusal)
            cw.stop()


# -------------------------------------------------------------------------------------- 6. SIGHUP


def test_sighup_adds_endpoint():
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t)
        with cw:
            new_url = t.url("/keyword")
            cfg = base_config([endpoint(url, timeout=1), endpoint(new_url, timeout=1, keyword=KEYWORD)], workers=2)
            reload_at = utc_now_iso()
            cw.reload(cfg)
            cw.wait_count(new_url, 2, timeout=30)
            cw.wait_count(url, 2, timeout=30, after=reload_at)
            ok = cw.db().query("SELECT c.ok FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ?",
                               (new_url,))
            check(all(o == 1 for (o,) in ok), "the added endpoint's checks: ok = %s" % ok)
            check(cw.running(), "the supervisor stopped after SIGHUP")
            cw.stop()


BROKEN_TYPE = """supervisor = { workers = 2; run_dir = "run"; log_level = "info"; };
monitor = {
  check_interval = 1;
  endpoints = (
    { url = "%(url)s"; timeout = 1; },
    { url = "%(url2)s"; timeout = "soon"; }
  );
};
database = { db_activation = true; db_driver = "sqlite"; db_name = "clockwerk.db"; };
"""  # line 6: timeout is a string


BROKEN_SYNTAX = """supervisor = { workers = 2; run_dir = "run"; log_level = "info"; };
monitor = {
  check_interval = 1;
  endpoints = (
    { url = "%(url)s"; timeout = 1; }
    { url = "%(url2)s"; timeout = 1; }
  );
};
"""  # line 6: a missing comma between the two groups


def test_sighup_broken_config_keeps_running():
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t)
        with cw:
            kids = cw.children()
            conf = re.escape(os.path.basename(cw.conf_path))
            for name, text, line in (("wrong type", BROKEN_TYPE, 6), ("syntax error", BROKEN_SYNTAX, 6)):
                mark = cw.log_mark()
                hup_at = utc_now_iso()
                cw.reload(text % {"url": url, "url2": t.url("/keyword")})
                m = cw.wait_log(r"%s:(\d+):" % conf, timeout=15, since=mark)
                check(int(m.group(1)) == line, "%s on line %d reported at line %s: %r"
                      % (name, line, m.group(1), cw.log_since(mark)[-400:]))
                cw.wait_count(url, 2, timeout=30, after=hup_at)
                check(cw.running(), "the supervisor exited after a SIGHUP with a broken file (%s)" % name)
                now = cw.children()
                check(now == kids, "children restarted after a rejected reload (%s): %s -> %s"
                      % (name, kids, now))
                check(cw.count_rows(t.url("/keyword")) == 0, "the broken file's endpoint was checked (%s)" % name)
            # A later valid reload works.
            new_url = t.url("/keyword")
            cw.reload(base_config([endpoint(url, timeout=1), endpoint(new_url, timeout=1, keyword=KEYWORD)],
                                  workers=2))
            cw.wait_count(new_url, 2, timeout=30)
            cw.stop()


# ----------------------------------------------------------------------------------- 7. no database

@harness.alone
@harness.timeout(300)
def test_sigterm_under_load():
    """200 endpoints at 1 s: SIGTERM stops everything within 10 s, and every check a worker made is in the
    database (no hole in any worker's sequence; as many rows as the workers say they made checks)."""
    with tempdir() as d, Targets() as t:
        urls = [t.url("/ok?e=%d" % i) for i in range(200)]
        with Clockwerk(base_config([endpoint(u, timeout=1) for u in urls], workers=2), d) as cw:
            cw.wait_ready()
            cw.wait_rows("SELECT count(*) FROM checks", (), lambda r: r[0][0] >= 600, timeout=60,
                         what="600 rows")
            took = cw.stop(timeout=10)
            db = harness.Sqlite(cw.db_path)
            total = db.query("SELECT count(*) FROM checks")[0][0]
            log = cw.log_text()
            # Each worker logs how many checks it made when it stops: every one of them is stored, once.
            problems, runs = harness.stored_seq_problems(
                log, db.query(harness.SEQ_GROUPS_SQL), workers=2,
                seqs_of=lambda w, b: [r[0] for r in db.query("SELECT seq FROM checks WHERE worker = ? AND "
                                                             "boot_id = ?", (w, b))])
            sent = [r.checks for r in runs]
            counters = harness.final_counters(log)
            st = counters.get("storer", {})
            if "received" in st and "stored" in st and st["received"] != st["stored"]:
                problems.append("the storer received %d results and stored %d" % (st["received"], st["stored"]))
            problems_fail(problems, "shutdown under load")
            harness.note("SIGTERM under load: exit in %.2f s, %d rows, workers made %s checks" % (took, total, sent))


def test_sighup_changes_worker_count():
    """SIGHUP with workers 2 -> 3: three workers titled x/3, none x/2 left, each URL checked by its new shard."""
    with tempdir() as d, Targets() as t:
        urls = split_endpoints(t, 3, per_slot=1)
        cfg = base_config([endpoint(u, timeout=1) for u in urls], workers=2)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            for u in urls:
                cw.wait_count(u, 1, timeout=30)
            reload_at = utc_now_iso()
            cw.reload(base_config([endpoint(u, timeout=1) for u in urls], workers=3))
            cw.wait_ready(titles=cw.worker_titles(3) + [STORER])
            wait_for(lambda: not [x for x in cw.children().values() if x.endswith("/2")], deadline(15),
                     lambda: "the x/2 workers to go (children: %s)" % cw.describe_children())
            for u in urls:
                cw.wait_rows("SELECT c.worker FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                             "WHERE e.url = ? AND c.checked_at > ?", (u, reload_at),
                             lambda r: any(w == shard_of(u, 3) for (w,) in r), timeout=30,
                             what="rows for %s from worker %d/3" % (u, shard_of(u, 3)))
            cw.stop()


def test_storer_crash_loop_backs_off():
    """A storer that cannot open its database: the rest keeps running, restarts (if any) come >= 1 s apart
    (no respawn storm), and SIGTERM still stops everything."""
    with tempdir() as d, Targets() as t:
        with open(os.path.join(d, "afile"), "w") as f:
            f.write("not a directory\n")
        url = t.url("/ok")
        cfg = base_config([endpoint(url, timeout=1)], workers=1, db_name="afile/clockwerk.db")
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.worker_titles())
            n0 = t.count("/ok")
            wait_for(lambda: t.count("/ok") >= n0 + 6, deadline(20), "six more checks while the storer fails")
            check(cw.running(), "the supervisor exited when its storer could not open the database")
            starts = [harness.parse_iso_ms(m.group(1)) for m in
                      re.finditer(r"^(\S+Z) .*started storer", cw.log_text(), re.M)]
            gaps = [b - a for a, b in zip(starts, starts[1:])]
            check(all(g >= 0.95 for g in gaps), "storer restarts %s s apart (floor 1 s)" % ["%.3f" % g for g in gaps])
            harness.note("storer on an unusable path: %d start(s) in %.1f s" % (
                len(starts), (starts[-1] - starts[0]) if starts else 0))
            cw.stop(timeout=10)


RELAY = "clockwerk: relay"


def test_relay_kill_restart():
    """kill -9 of the relay: a new relay, the other children untouched, a tap that was attached keeps
    receiving after the restart, and a new tap works."""
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t, workers=1)
        with cw:
            kids = cw.children()
            relay = cw.child(RELAY)
            check(relay is not None, "no child titled %r: %s" % (RELAY, kids))
            with harness.Tap(cw.conf_path, ("--json",)) as tap:
                wait_for(lambda: any('"result"' in ln for ln in tap.snapshot()), deadline(20),
                         "a result on the streaming tap")
                os.kill(relay, signal.SIGKILL)
                new_relay = cw.wait_new_child(RELAY, relay, timeout=20)
                seen = len(tap.snapshot())
                wait_for(lambda: any('"result"' in ln for ln in tap.snapshot()[seen:]), deadline(20),
                         "a result on the tap attached before the relay restarted")
            others = {p: x for p, x in kids.items() if x != RELAY}
            now = {p: x for p, x in cw.children().items() if x != RELAY}
            check(now == others, "children other than the relay changed: %s -> %s" % (others, now))
            code, lines, err = harness.run_tap(cw.conf_path, 2, timeout=30)
            check(code == 0 and any(x.get("type") == "result" for x in lines),
                  "a new tap after the relay restart: exit %s, lines %s, %s" % (code, lines, err[-300:]))
            check(cw.child(RELAY) == new_relay, "the relay restarted again")
            cw.stop()


def test_sigterm_with_slow_check_in_flight():
    """A check with a 10 s timeout is in flight (the target never answers in time): SIGTERM still stops
    everything, exit 0, within 10 s."""
    with tempdir() as d, Targets(slow_delay=60) as t:
        url = t.url("/slow")
        cfg = base_config([endpoint(url, timeout=10, check_interval=10), endpoint(t.url("/ok"), timeout=1)],
                          workers=1)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            wait_for(lambda: t.count("/slow") >= 1, deadline(25), "the slow check to start")
            took = cw.stop(timeout=10)
            harness.note("SIGTERM with a 10 s check in flight: exit in %.2f s" % took)


def test_sighup_removes_endpoint():
    with tempdir() as d, Targets() as t:
        keep, gone = t.url("/ok?keep"), t.url("/ok?gone")
        with Clockwerk(base_config([endpoint(keep, timeout=1), endpoint(gone, timeout=1)], workers=2), d) as cw:
            cw.wait_ready()
            cw.wait_count(keep, 1, timeout=30)
            cw.wait_count(gone, 1, timeout=30)
            slot = shard_of(gone, 2)
            owner = cw.child(WORKER % (slot, 2))
            mark = cw.log_mark()
            cw.reload(base_config([endpoint(keep, timeout=1)], workers=2))
            # The worker that owned the removed endpoint reloads its shard in place: count from then on (on a busy
            # machine the supervisor may take longer than a check interval to get there).
            cw.wait_log(r"worker %d/2\] \d+ info: reloaded in place" % slot, since=mark, timeout=20)
            check(cw.child(WORKER % (slot, 2)) == owner, "the worker that checked %s was restarted" % gone)
            n_gone, n_keep = t.count("/ok?gone"), t.count("/ok?keep")
            wait_for(lambda: t.count("/ok?keep") >= n_keep + 4, deadline(20), "four more checks of the kept URL")
            check(t.count("/ok?gone") <= n_gone + 1, "the removed endpoint was checked %d times after the "
                  "reload" % (t.count("/ok?gone") - n_gone))
            cw.stop()


def _kill_and_time_restart(cw, title, pid):
    """kill -9 pid; returns (new pid, seconds from the kill to the new process's start)."""
    killed_at = harness.boot_time_now()
    os.kill(pid, signal.SIGKILL)
    new = cw.wait_new_child(title, pid, timeout=60)
    started = harness.proc_start_seconds(new)
    check(started is not None, "the restarted %r (pid %d) is already gone" % (title, new))
    return new, started - killed_at

@harness.timeout(300)
def test_worker_crash_loop_backoff_doubles():
    """A worker killed again as soon as it is back: restarts come >= 1 s apart and the delay doubles;
    the other worker is untouched; SIGTERM during a backoff wait still exits 0 at once."""
    with tempdir() as d, Targets() as t:
        urls = split_endpoints(t, 2, per_slot=1)
        with Clockwerk(base_config([endpoint(u, timeout=1) for u in urls], workers=2), d) as cw:
            pids = cw.wait_ready()
            title = WORKER % (0, 2)
            pid, w1 = pids[title], pids[WORKER % (1, 2)]
            delays = []
            for _ in range(4):
                pid, delay = _kill_and_time_restart(cw, title, pid)
                delays.append(delay)
            shown = ["%.2f" % x for x in delays]
            # Each measured delay is the backoff plus the supervisor's reaction, which a busy machine stretches:
            # so each is held to its own floor (1, 2, 4, 8 s: the doubling), never to a ratio of the one before.
            for k, x in enumerate(delays):
                check(x >= 2 ** k - 0.05, "restart %d came %.2f s after the kill: below the doubled backoff floor "
                      "of %d s (delays: %s s)" % (k + 1, x, 2 ** k, shown))
            check(cw.child(WORKER % (1, 2)) == w1, "worker 1 was restarted too")
            harness.note("worker 0 restart delays after successive kills: %s s" % shown)
            # Kill once more: the slot now waits ~16 s; SIGTERM during that wait exits at once.
            cw.record_descendants()
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: cw.child(title) is None, deadline(10), "worker 0 to be gone")
            took = cw.stop(timeout=10)
            check(took < 5, "SIGTERM while a slot waits to restart took %.1f s" % took)

@harness.timeout(400)
def test_backoff_resets_after_a_healthy_minute():
    with tempdir() as d, Targets() as t:
        with Clockwerk(base_config([endpoint(t.url("/ok"), timeout=1)], workers=1), d) as cw:
            title = WORKER % (0, 1)
            pid = cw.wait_ready()[title]
            delays = []
            for _ in range(3):
                pid, delay = _kill_and_time_restart(cw, title, pid)
                delays.append(delay)
            # The slot's backoff is now ~8 s. After more than a minute of health it is 1 s again.
            healthy_since = time.monotonic()
            wait_for(lambda: time.monotonic() - healthy_since > 65 and cw.child(title) == pid, 120,
                     "65 s of health")
            pid, delay = _kill_and_time_restart(cw, title, pid)
            check(delay < 2.5, "after a healthy minute the restart took %.2f s (delays before: %s)"
                  % (delay, ["%.2f" % x for x in delays]))
            cw.stop()


def test_sighup_storm():
    """Twenty SIGHUPs in a row with a valid file: one child per title afterwards, rows keep arriving."""
    with tempdir() as d, Targets() as t:
        cw, url = start_and_wait_rows(d, t)
        with cw:
            for _ in range(20):
                cw.signal(signal.SIGHUP)
            after = utc_now_iso()
            cw.wait_count(url, 2, timeout=30, after=after)

            def settled():
                titles = sorted(cw.children().values())
                return len(titles) == len(set(titles)) and all(x in titles for x in cw.expected_titles())
            wait_for(settled, deadline(20), lambda: "one child per title (have: %s)" % cw.describe_children())
            check(cw.running(), "the supervisor died of SIGHUPs")
            cw.stop()


def test_sigterm_during_startup():
    """SIGTERM right after start (children not all up yet): exit 0, nothing left."""
    with tempdir() as d, Targets() as t:
        cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=2)
        for i, wait_first_child in enumerate((False, True)):
            with Clockwerk(cfg, d, name="start%d" % i) as cw:
                if wait_first_child:
                    wait_for(lambda: cw.children(), deadline(10), "a first child")
                else:
                    # As soon as the supervisor has set up its signal handling: it must not die of SIGTERM's
                    # default action later than its first line of log. Poll for any output first.
                    wait_for(lambda: cw.log_text().strip(), deadline(10), "the supervisor's first log line")
                cw.stop(timeout=10)


def test_relative_config_path_and_reload():
    """`clockwerk -c clockwerk.conf` from the config's directory: run_dir and the database land there,
    and a SIGHUP still finds the file (the supervisor may have changed its working directory)."""
    with tempdir() as d, Targets() as t:
        url, new_url = t.url("/ok"), t.url("/keyword")
        with Clockwerk(base_config([endpoint(url, timeout=1)], workers=1), d, relative=True) as cw:
            cw.wait_ready()
            cw.wait_count(url, 2, timeout=30)
            check(os.path.exists(os.path.join(d, "clockwerk.db")), "no database in the config's directory")
            cw.reload(base_config([endpoint(url, timeout=1), endpoint(new_url, timeout=1)], workers=1))
            cw.wait_count(new_url, 2, timeout=30)
            cw.stop()


def test_sighup_toggles_database():
    """SIGHUP with db_activation false stops the storer (workers keep checking); true starts it again."""
    with tempdir() as d, Targets() as t:
        url = t.url("/ok")
        with Clockwerk(base_config([endpoint(url, timeout=1)], workers=1), d) as cw:
            cw.wait_ready()
            cw.wait_count(url, 2, timeout=30)
            cw.reload(base_config([endpoint(url, timeout=1)], workers=1, db=False))
            wait_for(lambda: cw.child(STORER) is None, deadline(15),
                     lambda: "the storer to stop after db_activation = false (%s)" % cw.describe_children())
            n = t.count("/ok")
            wait_for(lambda: t.count("/ok") >= n + 2, deadline(15), "checks without a storer")
            check(cw.running(), "the supervisor exited")
            back_at = utc_now_iso()
            cw.reload(base_config([endpoint(url, timeout=1)], workers=1, db=True))
            cw.wait_ready()
            cw.wait_count(url, 2, timeout=30, after=back_at)
            cw.stop()


def _starts(cw, who):
    """Wall-clock times of the supervisor's `started WHO` log lines."""
    return [harness.parse_iso_ms(m.group(1)) for m in
            re.finditer(r"^(\S+Z) .*started %s\b" % re.escape(who), cw.log_text(), re.M)]


def test_fatal_exit_2_not_restarted():
    """A worker that exits 2 (fatal configuration) is reported and not restarted; the rest runs on."""
    with tempdir() as d, Targets() as t:
        fake = "#!/bin/sh\necho 'fake worker: fatal configuration' >&2\nexit 2\n"
        bindir = harness.private_bin(d, replace={"clockwerk-worker": fake})
        with Clockwerk(base_config([endpoint(t.url("/ok"), timeout=1)], workers=1), d, bin_dir=bindir) as cw:
            storer = cw.wait_ready(titles=[STORER])[STORER]
            cw.wait_log(r"fake worker: fatal configuration", timeout=15)
            cw.wait_log(r"(?i)worker 0/1.*(code 2|exit(ed)? 2|status 2|fatal)", timeout=15)
            first = time.monotonic()
            wait_for(lambda: time.monotonic() - first > 5 or len(_starts(cw, "worker 0/1")) > 1, 10,
                     "five seconds")
            n = len(_starts(cw, "worker 0/1"))
            check(n == 1, "a worker that exited 2 was started %d times" % n)
            check(cw.running(), "the supervisor exited (%s) when a worker exited 2" % harness.describe_exit(cw.returncode))
            check(cw.child(STORER) == storer, "the storer was restarted")
            cw.signal(signal.SIGTERM)
            code = cw.wait_exit(10)
            check(code is not None and code >= 0, "the supervisor %s on SIGTERM" % harness.describe_exit(code))
            cw.wait_no_descendants(timeout=deadline(5))
            harness.note("supervisor exit code after SIGTERM with a fatally failed worker: %d" % code)


def test_missing_worker_binary_no_storm():
    """The worker binary is missing: exec fails, restarts back off (no storm), the rest keeps running,
    SIGTERM exits 0."""
    with tempdir() as d, Targets() as t:
        bindir = harness.private_bin(d, omit=("clockwerk-worker",))
        with Clockwerk(base_config([endpoint(t.url("/ok"), timeout=1)], workers=1), d, bin_dir=bindir) as cw:
            storer = cw.wait_ready(titles=[STORER])[STORER]
            cw.wait_log(r"(?i)cannot exec|no such file", timeout=15)
            first = time.monotonic()
            wait_for(lambda: time.monotonic() - first > 6, 10, "six seconds")
            starts = _starts(cw, "worker 0/1")
            gaps = [b - a for a, b in zip(starts, starts[1:])]
            check(len(starts) <= 5 and all(g >= 0.95 for g in gaps),
                  "%d starts of the missing worker, %s s apart" % (len(starts), ["%.2f" % g for g in gaps]))
            check(cw.child(STORER) == storer, "the storer was restarted")
            cw.stop(timeout=10)
            harness.note("missing worker binary: %d start attempts, %s s apart" % (len(starts), ["%.1f" % g for g in gaps]))
