"""tests/chaos/chaos.py — the scenarios of Clockwerk's chaos suite, shared by the full suite
(tests/chaos/run.py, `make chaos`) and its bounded version inside `make e2e` (tests/e2e/test_chaos.py).

Each scenario starts a real supervisor under a steady load (N endpoints at a 1 s interval against local
HTTP targets), does violence to one process (kill -9, SIGSTOP, a binary that exits at once, ...), measures,
and returns a Figures object: one line of figures (`storer-kill: 20 kills, 36012 sent, ...`) and the list
of failed expectations. Nothing is loosened to make a scenario pass: a loss is reported as a loss.

How losses are counted (scenarios 1, 3, 4): a TapRecorder (pyzmq SUB on the tap address, RCVHWM
unlimited, attached for the whole run) decodes every `result` batch the workers publish and records each
(worker, boot_id, seq). Since each worker numbers its results 1, 2, 3 ... per boot, the results a worker
produced are 1..max(seq) per (worker, boot_id) — including numbers the tap itself missed (counted and
reported as "tap gaps": the tap is best effort, the seq numbers are not). Those are compared with the
(worker, boot_id, seq) rows of the storer's SQLite `checks` table. Only results produced before a cut-off
(a few seconds before the end) are counted, and the storer is given time to drain first.

Every process started is stopped on every path (context managers of the e2e harness); all servers listen
on 127.0.0.1; every loop is bounded by a deadline.
"""

import contextlib
import os
import random
import re
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(os.path.dirname(HERE), "e2e")
if E2E not in sys.path:
    sys.path.insert(0, E2E)

import harness  # noqa: E402
from harness import (Clockwerk, Tap, base_config, deadline, endpoint, tempdir,  # noqa: E402
                     wait_for)
from dbservers import MariaDBServer, PostgresServer  # noqa: E402
from smtp_server import SmtpServer  # noqa: E402
from targets import Targets  # noqa: E402
from webhook_receiver import Switchboard  # noqa: E402
from chaos_support import (BOUNDED, FULL, Figures, Profile, TapRecorder, chaos_config,  # noqa: E402,F401 (re-exported)
                           documented_outbox_bound_mib, kill_child_and_wait, load_endpoints, rollup_mismatches,
                           rss_kib, settle_and_count, tap_address)

STORER = "clockwerk: storer"
ALERTER = "clockwerk: alerter"


# ------------------------------------------------------------------------------------------ 1. storer

def _db_server(db):
    """A private server for the storer-kill variants on PostgreSQL and MariaDB (a null context for SQLite)."""
    if db == "postgresql":
        return PostgresServer()
    if db == "mysql":
        return MariaDBServer()
    return contextlib.nullcontext()


def storer_kill(profile, seed, db="sqlite"):
    """kill -9 of the storer, again and again, on db (sqlite, postgresql or mysql): nothing lost, nothing stored
    twice, and after a clean stop the roll-ups hold exactly the raw rows (folds every 0.5 s, so kills land
    before, inside and after folds: a replayed batch must never be folded twice)."""
    fig = Figures({"sqlite": "storer-kill", "postgresql": "storer-kill-postgresql", "mysql": "storer-kill-mariadb"}[db])
    rng = random.Random(seed)
    with tempdir("cw-chaos-") as d, Targets() as t, _db_server(db) as server:
        cfg = chaos_config(t, profile)
        if server is not None:
            cfg["database"] = {"db_activation": True, "db_driver": db, "db_host": "127.0.0.1", "db_port": server.port,
                               "db_name": server.dbname, "db_user": server.user, "db_password": server.password}
        with Clockwerk(cfg, d, env={"CLOCKWERK_ROLLUP_EVERY_MS": "500"}) as cw:
            cw.wait_ready()
            with TapRecorder(tap_address(cw)) as rec:
                rec.wait_flowing()
                t0 = time.monotonic()
                downs = []
                for _ in range(profile.storer_kills):
                    downs.append(kill_child_and_wait(cw, STORER, rng, 0.2, 3.0, fig, "storer"))
                wait_for(lambda: cw.child(STORER), deadline(60), "the storer back")
                time.sleep(2)
                took = time.monotonic() - t0
                cutoff = time.monotonic() - 1.0
                acc = settle_and_count(cw, rec, cutoff, profile.drain, server=server)
            cw.stop(timeout=30)
            query = server.query if server is not None else harness.Sqlite(cw.db_path).query
            rollups = rollup_mismatches(db, query)
        fig.line = ("%s: %d kills in %.0f s (storer away %.0f s in all), %s (source: tap, %d results "
                    "seen, %d tap gaps, %d malformed); roll-ups %s" % (fig.name, profile.storer_kills, took, sum(downs),
                                                                     acc.figures(), acc.tap_seen, acc.tap_gaps,
                                                                     rec.malformed,
                                                                     "equal the raw rows" if not rollups
                                                                     else "DIFFER"))
        fig.expect(acc.lost == 0, "%d results lost (e.g. %s)" % (acc.lost, acc.lost_examples))
        fig.expect(acc.duplicated == 0, "%d rows duplicated" % acc.duplicated)
        fig.expect(acc.sent > 0, "no results produced")
        fig.expect(not rollups, "roll-ups differ from the raw rows: %s" % "; ".join(rollups[:5]))
    return fig


def storer_kill_postgresql(profile, seed):
    return storer_kill(profile, seed, "postgresql")


def storer_kill_mariadb(profile, seed):
    return storer_kill(profile, seed, "mysql")


# ----------------------------------------------------------------------------------------- 2. alerter

SUBJECT = re.compile(r"\[clockwerk\] (DOWN|UP): (\S+)")


def alerter_kill(profile, seed):
    fig = Figures("alerter-kill")
    rng = random.Random(seed + 1)
    with tempdir("cw-chaos-") as d, Targets() as t, Switchboard() as sw, SmtpServer() as smtp:
        names = ["flip%d" % i for i in range(profile.alert_endpoints)]
        for n in names:
            sw.set(n, 200)
        eps = load_endpoints(t, profile.endpoints) + [endpoint(sw.url(n), alert_threshold=2, timeout=0.8)
                                                      for n in names]
        email = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "email_from": "monitor@example.test",
                 "email_to": ["ops@example.test"], "smtp_tls": "none"}
        cfg = base_config(eps, workers=profile.workers,
                          extra={"email": email, "alerts": {"group_threshold": 1000, "renotify": 0}})
        expected = {}        # (url, kind) -> flips made
        state = {n: 200 for n in names}
        stop = threading.Event()

        def flipper():
            last = {n: time.monotonic() for n in names}
            while not stop.is_set():
                now = time.monotonic()
                ready = [n for n in names if now - last[n] >= 6.0]   # 2 failures needed: hold each state 6 s
                if ready:
                    n = rng.choice(ready)
                    state[n] = 500 if state[n] == 200 else 200
                    sw.set(n, state[n])
                    kind = "DOWN" if state[n] == 500 else "UP"
                    expected[(sw.url(n), kind)] = expected.get((sw.url(n), kind), 0) + 1
                    last[n] = now
                stop.wait(1.5)

        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
            wait_for(lambda: all(sw.hits(n) >= 2 for n in names), deadline(20), "first checks of the flippers")
            th = threading.Thread(target=flipper, daemon=True)
            th.start()
            t0 = time.monotonic()
            try:
                for _ in range(profile.alerter_kills):
                    kill_child_and_wait(cw, ALERTER, rng, 1.0, 5.0, fig, "alerter")
                wait_for(lambda: cw.child(ALERTER), deadline(60), "the alerter back")
                time.sleep(7)       # last flips take effect
            finally:
                stop.set()
                th.join(timeout=5)
            # let the last flip of each endpoint reach its threshold, then wait for the mails it implies
            time.sleep(6)
            want = sum(expected.values())

            def distinct():
                return {m["message_id"] for m in smtp.messages()}
            try:
                wait_for(lambda: len(distinct()) >= want, deadline(profile.drain + 30), "%d distinct mails" % want)
            except harness.WaitTimeout:
                pass
            time.sleep(2)           # an extra mail would show up now
            took = time.monotonic() - t0
            cw.stop(timeout=30)
        msgs = smtp.messages()
        by_id = {}
        for m in msgs:
            by_id.setdefault(m["message_id"], m)
        got = {}
        unparsed = 0
        flip_urls = {sw.url(n) for n in names}
        load_alerts = {}     # alerts of the steady load endpoints: real failures (a check that timed out on a
        for m in by_id.values():   # loaded machine), judged by their stored checks below, not by the flips
            sm = SUBJECT.search(m["subject"])
            if not sm:
                unparsed += 1
                continue
            key = (sm.group(2), sm.group(1))
            if key[0] in flip_urls:
                got[key] = got.get(key, 0) + 1
            else:
                load_alerts[key] = load_alerts.get(key, 0) + 1
        # A DOWN of a load endpoint is due when its stored checks hold a run of >= 3 failures (its
        # alert_threshold, the default) per DOWN mailed; an UP needs a DOWN before it.
        spurious = []
        if load_alerts:
            db = harness.Sqlite(cw.db_path)
            for (url, kind), n in sorted(load_alerts.items()):
                oks = [r[0] for r in db.query("SELECT c.ok FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                                              "WHERE e.url = ? ORDER BY c.checked_at", (url,))]
                runs, run = 0, 0
                for ok in oks:
                    run = 0 if ok else run + 1
                    if run == 3:
                        runs += 1
                if kind == "DOWN" and n > runs:
                    spurious.append("%s %s: %d mails, %d runs of 3 failed checks" % (kind, url, n, runs))
                if kind == "UP" and n > load_alerts.get((url, "DOWN"), 0):
                    spurious.append("%s %s: %d mails after %d DOWN" % (kind, url, n, load_alerts.get((url, "DOWN"), 0)))
        lost = sum(max(0, n - got.get(k, 0)) for k, n in expected.items())
        twice = sum(max(0, n - expected.get(k, 0)) for k, n in got.items())
        resent = len(msgs) - len(by_id)
        fig.line = ("alerter-kill: %d kills in %.0f s, %d alerts due (%d flips), %d mails, %d distinct Message-IDs, "
                    "%d lost, %d sent twice, %d resent with the same Message-ID%s%s"
                    % (profile.alerter_kills, took, want, want, len(msgs), len(by_id), lost, twice, resent,
                       ", %d other mails" % unparsed if unparsed else "",
                       "; %d alerts of load endpoints whose checks really failed%s" % (
                           sum(load_alerts.values()), " (%d not backed by failed checks)" % len(spurious)
                           if spurious else "") if load_alerts else ""))
        fig.expect(lost == 0, "%d alerts lost (due %s, mailed %s)" % (lost, sorted(expected.items()),
                                                                     sorted(got.items())))
        fig.expect(twice == 0, "%d alerts sent twice under different Message-IDs (e.g. %s)" % (twice, [
            "%s %s: %d mails for %d flips" % (k[1], k[0], n, expected.get(k, 0)) for k, n in sorted(got.items())
            if n > expected.get(k, 0)][:3]))
        fig.expect(unparsed == 0, "%d mails that are not single DOWN/UP alerts: %s" % (
            unparsed, [m["subject"] for m in by_id.values() if not SUBJECT.search(m["subject"])][:3]))
        fig.expect(not spurious, "alerts of load endpoints without the failed checks behind them: %s" % spurious[:3])
        fig.expect(want > 0, "no flips made")
    return fig


# ------------------------------------------------------------------------------------------ 3. worker

def worker_kill(profile, seed):
    fig = Figures("worker-kill")
    with tempdir("cw-chaos-") as d, Targets() as t:
        cfg = chaos_config(t, profile)
        slots = profile.workers
        victim = 1 % slots
        title = "clockwerk: worker %d/%d" % (victim, slots)
        owned = {e["url"] for e in cfg["monitor"]["endpoints"] if harness.shard_of(e["url"], slots) == victim}
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            with TapRecorder(tap_address(cw)) as rec:
                rec.wait_flowing()
                time.sleep(3)
                old_boots = {k for k in rec.snapshot() if k[0] == victim}
                pid = cw.child(title)
                mark = cw.log_mark()
                killed_at = harness.boot_time_now()
                k0 = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                new = cw.wait_new_child(title, pid, timeout=30)
                back = harness.proc_start_seconds(new) - killed_at

                def resumed():
                    with rec.lock:
                        fresh = [u for k, urls in rec.urls.items() if k[0] == victim and k not in old_boots
                                 for u in urls]
                    return owned <= set(fresh)
                try:
                    wait_for(resumed, deadline(20), "every endpoint of worker %d checked by its new process" % victim)
                    resume = time.monotonic() - k0
                except harness.WaitTimeout:
                    resume = None
                time.sleep(2)
                cutoff = time.monotonic() - 1.0
                acc = settle_and_count(cw, rec, cutoff, profile.drain, boots=old_boots)
                log = cw.log_since(mark)
            cw.stop(timeout=30)
        crash = re.search(r"worker %d/%d \(pid %d\) killed by signal 9" % (victim, slots, pid), log)
        missed = [ln for ln in log.split("\n") if re.search(r"(?i)\bmissed\b", ln) and not
                  re.search(r"\b0 missed\b|missed=0\b", ln)]
        fig.line = ("worker-kill: back after %.2f s, %d/%d owned endpoints resumed%s, crash logged: %s, missed "
                    "checks logged: %s; results the dead worker had published: %d, %d stored, %d lost"
                    % (back, len(owned) if resume is not None else 0, len(owned),
                       " within %.1f s of the kill" % resume if resume is not None else "",
                       "yes" if crash else "no", "yes" if missed else "no", acc.sent, acc.stored, acc.lost))
        fig.expect(back >= 0.95, "restarted %.2f s after the kill: below the 1 s backoff floor" % back)
        fig.expect(back <= 3.0, "restarted %.2f s after the kill (more than 3 s)" % back)
        fig.expect(resume is not None, "not every endpoint of the killed worker was checked again within 20 s")
        fig.expect(bool(crash), "the supervisor log has no line about worker %d being killed" % victim)
        fig.expect(bool(missed), "no log line reports the checks missed while the worker was away")
        fig.expect(acc.lost == 0, "%d results the killed worker had published were not stored" % acc.lost)
    return fig


# ------------------------------------------------------------------------------------ 4. storer stop

# The workers' in-memory outbox bound during storer-stop: small, so that a stopped storer makes them spool to
# disk (docs/operations.md section 10) within seconds, and the spool path is proven with real processes.
STOP_OUTBOX_BYTES = 16 * 1024


def storer_stop(profile, seed):
    fig = Figures("storer-stop")
    with tempdir("cw-chaos-") as d, Targets() as t:
        with Clockwerk(chaos_config(t, profile), d, env={"CLOCKWERK_OUTBOX_MAX_BYTES": str(STOP_OUTBOX_BYTES)}) as cw:
            kids = cw.wait_ready()
            workers = [kids[w] for w in cw.worker_titles()]
            with TapRecorder(tap_address(cw)) as rec:
                rec.wait_flowing()
                time.sleep(3)
                base = max(rss_kib(p) or 0 for p in workers)
                storer = cw.child(STORER)
                peak = base
                os.kill(storer, signal.SIGSTOP)
                try:
                    end = time.monotonic() + profile.stop_seconds
                    while time.monotonic() < end:
                        peak = max([peak] + [rss_kib(p) or 0 for p in workers])
                        time.sleep(0.25)
                finally:
                    os.kill(storer, signal.SIGCONT)
                time.sleep(3)
                cutoff = time.monotonic() - 1.0
                acc = settle_and_count(cw, rec, cutoff, profile.drain + profile.stop_seconds)
                same = cw.child(STORER) == storer
            cw.stop(timeout=30)
            log = cw.log_text()
        spooled = sum(c.get("results_spooled", 0) for k, c in harness.final_counters(log).items()
                      if k.startswith("worker"))
        spool_logged = "spooling to" in log
        bound = documented_outbox_bound_mib()
        fig.line = ("storer-stop: stopped %d s, %s (source: tap, %d tap gaps); worker RSS %.1f MiB before, "
                    "%.1f MiB peak; documented outbox bound: %s per destination; outbox set to %d KiB: %d results "
                    "spooled to disk (logged: %s); storer %s"
                    % (profile.stop_seconds, acc.figures(), acc.tap_gaps, base / 1024, peak / 1024,
                       "%.1f MiB" % bound if bound is not None else "none", STOP_OUTBOX_BYTES // 1024, spooled,
                       "yes" if spool_logged else "no", "kept" if same else "restarted"))
        fig.expect(spooled > 0 and spool_logged, "the workers did not spool beyond their %d KiB outbox (%d spooled, "
                   "logged: %s)" % (STOP_OUTBOX_BYTES // 1024, spooled, spool_logged))
        fig.expect(acc.lost == 0, "%d results lost (e.g. %s)" % (acc.lost, acc.lost_examples))
        fig.expect(acc.duplicated == 0, "%d rows duplicated" % acc.duplicated)
        fig.expect(bound is not None, "docs/operations.md states no memory bound for the worker outbox")
        if bound is not None:
            # docs: the bound is per destination, "count ~2x" for the ring's kept capacity (one destination here)
            fig.expect(peak / 1024 <= 2 * bound + base / 1024, "worker RSS %.1f MiB exceeds the baseline + twice "
                       "the outbox bound, %.1f MiB" % (peak / 1024, 2 * bound + base / 1024))
    return fig


# --------------------------------------------------------------------------------------- 5. tap stop

def _rate(cw, seconds):
    """rows/s committed over `seconds`, a least-squares slope over samples every 0.25 s."""
    pts = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rows = cw.db().try_query("SELECT count(*) FROM checks")
        if rows:
            pts.append((time.monotonic(), rows[0][0]))
        time.sleep(0.25)
    if len(pts) < 3:
        return 0.0
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    var = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / var if var else 0.0


def tap_stop(profile, seed):
    fig = Figures("tap-stop")
    with tempdir("cw-chaos-") as d, Targets() as t:
        with Clockwerk(chaos_config(t, profile), d) as cw:
            cw.wait_ready()
            with Tap(cw.conf_path, args=("--json",)) as tap:
                wait_for(lambda: len(tap.snapshot()) > 10, deadline(20), "lines from clockwerk-tap")
                cw.wait_rows("SELECT count(*) FROM checks", predicate=lambda r: r[0][0] > 0)
                time.sleep(2)
                before = _rate(cw, profile.tap_window)
                tap.pause()
                try:
                    during = _rate(cw, profile.tap_window)
                finally:
                    tap.resume()
                after = _rate(cw, min(5, profile.tap_window))
                alive = tap.proc.poll() is None
            cw.stop(timeout=30)
        ratio = during / before if before else 0.0
        fig.line = ("tap-stop: storer %.1f rows/s before, %.1f rows/s while the tap was stopped %d s (ratio %.2f), "
                    "%.1f rows/s after; tap %s" % (before, during, profile.tap_window, ratio, after,
                                                   "alive" if alive else "gone"))
        fig.expect(before > 0.5 * profile.endpoints, "storer rate %.1f rows/s before the stop: the load did not "
                   "run (%d endpoints at 1 s)" % (before, profile.endpoints))
        fig.expect(0.85 <= ratio <= 1.15, "the storer's rate changed by more than 15%% while the tap was stopped "
                   "(%.1f -> %.1f rows/s)" % (before, during))
    return fig


# -------------------------------------------------------------------------------------- 6. crash loop

START = re.compile(r"^(\S+Z) .*started alerter \(pid (\d+)\)", re.M)
EXIT = re.compile(r"alerter \(pid \d+\) exited with code 1 after [\d.]+ s; restarting in (\d+) s")


def _iso(ts):
    return harness.parse_iso_ms(ts)


def crash_loop(profile, seed):
    fig = Figures("crash-loop")
    n = profile.crash_restarts
    with tempdir("cw-chaos-") as d, Targets() as t, SmtpServer() as smtp:
        bindir = harness.private_bin(d, replace={"clockwerk-alerter": "#!/bin/sh\n# stands in for the alerter: "
                                                 "dies at once\nexit 1\n"})
        email = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "email_from": "monitor@example.test",
                 "email_to": ["ops@example.test"], "smtp_tls": "none"}
        cfg = chaos_config(t, profile, extra={"email": email})
        with Clockwerk(cfg, d, bin_dir=bindir) as cw:
            kids = cw.wait_ready()
            cw.wait_rows("SELECT count(*) FROM checks", predicate=lambda r: r[0][0] > 0)
            rows0, t_rows0 = cw.count_rows(), time.monotonic()
            total = sum(2 ** i for i in range(n)) + 5
            cw.wait_log(r"(?s)(started alerter .*){%d}" % (n + 1), timeout=total + 10)
            rows1, t_rows1 = cw.count_rows(), time.monotonic()
            kids_now = cw.wait_ready()
            log = cw.log_text()
            cw.stop(timeout=30)
        starts = [_iso(m.group(1)) for m in START.finditer(log)][:n + 1]
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        logged = [int(x) for x in EXIT.findall(log)][:n]
        want = [min(2 ** i, 30) for i in range(n)]
        unchanged = all(kids_now[k] == kids[k] for k in kids)
        fig.line = ("crash-loop: %d restarts of an alerter that exits 1, delays between starts %s s (logged %s), "
                    "storer +%d rows meanwhile, workers and storer %s"
                    % (len(gaps), " ".join("%.2f" % g for g in gaps), " ".join(map(str, logged)), rows1 - rows0,
                       "unchanged" if unchanged else "RESTARTED"))
        fig.expect(logged == want, "logged delays %s, expected %s" % (logged, want))
        fig.expect(len(gaps) == n and all(w - 0.05 <= g <= w + 1.0 for g, w in zip(gaps, want)),
                   "measured delays %s, expected about %s" % (["%.2f" % g for g in gaps], want))
        fig.expect(unchanged, "other children were restarted: %s -> %s" % (kids, kids_now))
        # Half the load's rate over the time the rows were counted in (not over `total`, the wait's bound: the
        # first rows may come late on a busy machine, and the window between the counts is then shorter).
        counted = t_rows1 - t_rows0
        fig.expect(rows1 - rows0 >= profile.endpoints * counted * 0.5, "the storer stored only %d rows in %.1f s "
                   "(%d endpoints at 1 s)" % (rows1 - rows0, counted, profile.endpoints))
    return fig


# -------------------------------------------------------------------------------- 7. supervisor kill

def supervisor_kill(profile, seed):
    fig = Figures("supervisor-kill")
    with tempdir("cw-chaos-") as d, Targets() as t:
        cfg = chaos_config(t, profile)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_rows("SELECT count(*) FROM checks", predicate=lambda r: r[0][0] > 0)
            time.sleep(1)
            kids = cw.recorded()
            t0 = time.monotonic()
            cw.kill9()
            try:
                cw.wait_no_descendants(timeout=5)
                gone = time.monotonic() - t0
            except harness.WaitTimeout:
                gone = None
            orphans = cw.left_alive()
            rows0 = cw.count_rows()
            with Clockwerk(cfg, d, name="second") as cw2:
                t1 = time.monotonic()
                cw2.wait_ready()
                ready = time.monotonic() - t1
                cw2.wait_rows("SELECT count(*) FROM checks", predicate=lambda r: r[0][0] > rows0 + profile.endpoints,
                              timeout=20)
                time.sleep(1)
                log2 = cw2.log_text()
                took = cw2.stop(timeout=30)
        bad = [ln for ln in log2.split("\n") if re.search(r"\] \d+ (error|fatal):|already in use", ln)]
        fig.line = ("supervisor-kill: %d children, all gone %s after SIGKILL of the supervisor, %d orphans; a new "
                    "supervisor on the same run_dir ready in %.2f s, storing again, %d error lines, stopped in %.1f s"
                    % (len(kids), "%.2f s" % gone if gone is not None else "NOT within 5 s", len(orphans), ready,
                       len(bad), took))
        fig.expect(gone is not None and gone <= 2.0, "children still alive 2 s after the supervisor's death: %s"
                   % orphans)
        fig.expect(not bad, "the new supervisor's log has errors: %s" % bad[:3])
    return fig


SCENARIOS = [("storer-kill", storer_kill), ("storer-kill-postgresql", storer_kill_postgresql),
             ("storer-kill-mariadb", storer_kill_mariadb), ("alerter-kill", alerter_kill), ("worker-kill", worker_kill),
             ("storer-stop", storer_stop), ("tap-stop", tap_stop), ("crash-loop", crash_loop),
             ("supervisor-kill", supervisor_kill)]
