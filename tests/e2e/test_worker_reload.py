"""tests/e2e/test_worker_reload.py — a SIGHUP that changes a worker's shard reloads that worker in place (issue 18,
docs/operations.md section 4, worker/reload.c): the worker keeps its process; a changed endpoint is checked under its
new definition from its next check on, while the check in flight at the reload finishes (and is stored) under the old
one; the unchanged endpoints go on at their interval, without a gap or a burst (seen from the target's request log); a
removed endpoint is no longer checked (its check in flight at the reload is still stored), an added one is; and nothing is lost or doubled: the storer has one row per
request the target received. On the base (a restarted worker) the pid check fails."""

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, free_port, tempdir, wait_for
from targets import Targets

WORKER = "clockwerk: worker 0/1"
STEADY = ["/ok?steady=%d" % i for i in range(4)]
INFLIGHT = "/slow/1.5?inflight"


def config(t, new, slow=True):
    """The first configuration (new False) or the second: /ok?edited's header changes, /ok?gone goes, /ok?added
    comes, the slow endpoint's accepted status becomes 500 (its checks against a 200 then fail); slow False: the
    second without the slow endpoint."""
    eps = [endpoint(t.url(p), timeout=1) for p in STEADY]
    eps.append(endpoint(t.url("/ok?edited"), timeout=1, headers=["X-Def: %s" % ("new" if new else "old")]))
    eps.append(endpoint(t.url("/ok?added" if new else "/ok?gone"), timeout=1))
    if slow:
        eps.append(endpoint(t.url(INFLIGHT), timeout=2.5, check_interval=3, expect_status=[500 if new else 200]))
    return base_config(eps, workers=1)


def inflight_rows(cw, url):
    return cw.db().query("SELECT c.checked_at, c.ok FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                         "WHERE e.url = ? ORDER BY c.checked_at", (url,))


@harness.timeout(120)
def test_worker_reloads_its_shard_in_place():
    with tempdir() as d, Targets() as t:
        with Clockwerk(config(t, False), d) as cw:
            pid = cw.wait_ready()[WORKER]
            for p in STEADY + ["/ok?edited", "/ok?gone"]:
                cw.wait_count(t.url(p), 3, timeout=30)
            # reload while the slow endpoint's check is in flight (it takes 1.5 s; the reload a few ms)
            cw.wait_count(t.url(INFLIGHT), 1, timeout=30)
            n = t.count(INFLIGHT)
            wait_for(lambda: t.count(INFLIGHT) > n, deadline(10), "a slow check to start")
            inflight_at = time.time()
            mark = cw.log_mark()
            cw.reload(config(t, True))
            line = cw.wait_log(r"reload: [^\n]*generation 2[^\n]*", since=mark).group(0)
            done = r"worker 0/1\] \d+ info: reloaded in place: [^\n]*"
            wait_for(lambda: cw.child(WORKER) != pid or re.search(done, cw.log_since(mark)), deadline(20),
                     "the worker's reload in place, or its restart")
            applied = time.time()
            check(cw.child(WORKER) == pid, "the worker was restarted (pid %d -> %s)" % (pid, cw.child(WORKER)))
            check("reloading worker 0/1 in place" in line and "restarting" not in line, "the reload: %r" % line)
            m = re.search(r"(\d+) checks? in flight", re.search(done, cw.log_since(mark)).group(0))
            check(m and int(m.group(1)) >= 1, "the slow check was not in flight at the reload: %r" % m.string)
            gone_then = t.count("/ok?gone")
            time.sleep(5)
            check(cw.child(WORKER) == pid, "the worker was restarted (pid %d -> %s)" % (pid, cw.child(WORKER)))

            # the changed endpoint: the old header before the SIGHUP, the new one once the reload is applied
            for r in t.requests("/ok?edited"):
                if r["at"] < inflight_at:
                    check(r["headers"].get("X-Def") == "old", "a check before the reload had %r" % r["headers"])
                elif r["at"] > applied:
                    check(r["headers"].get("X-Def") == "new", "a check after the reload had %r" % r["headers"])
            check(sum(r["at"] > applied for r in t.requests("/ok?edited")) >= 3, "the changed endpoint is checked")
            # removed: not checked after the reload; added: checked
            check(t.count("/ok?gone") <= gone_then, "the removed endpoint was checked after the reload")
            cw.wait_count(t.url("/ok?added"), 3, timeout=10)

            # the unchanged ones: every interval across the reload within [0.7, 1.3] s of the 1 s interval
            for p in STEADY:
                times = [r["at"] for r in t.requests(p) if inflight_at - 4 < r["at"] < applied + 4]
                gaps = [b - a for a, b in zip(times, times[1:])]
                check(len(times) >= 6 and all(0.7 <= g <= 1.3 for g in gaps),
                      "%s across the reload: %d checks, intervals %s" % (p, len(times), ["%.2f" % g for g in gaps]))

            # the check in flight at the reload is stored under the old definition (ok: 200 was expected), every
            # later one under the new (failed: 500 is expected now)
            url = t.url(INFLIGHT)
            wait_for(lambda: cw.count_rows(url) == t.count(INFLIGHT), deadline(10), "the slow checks stored")
            rows = inflight_rows(cw, url)
            check(len(rows) >= 3, "slow endpoint rows: %r" % rows)
            verdicts = [ok for _, ok in rows]
            first_new = verdicts.index(0) if 0 in verdicts else len(verdicts)
            check(first_new >= 2 and all(v == 1 for v in verdicts[:first_new]) and
                  all(v == 0 for v in verdicts[first_new:]) and first_new < len(verdicts),
                  "the slow endpoint's verdicts: %r (the one in flight at the reload must be ok, the later ones not)"
                  % rows)
            # the slow endpoint removed while its check is in flight: that check is still stored, no other is made
            n = t.count(INFLIGHT)
            wait_for(lambda: t.count(INFLIGHT) > n, deadline(10), "a slow check to start")
            mark = cw.log_mark()
            cw.reload(config(t, True, slow=False))
            line = cw.wait_log(r"worker 0/1\] \d+ info: reloaded in place: [^\n]*", since=mark, timeout=20).group(0)
            m = re.search(r"(\d+) checks? in flight", line)
            check("1 removed" in line and m and int(m.group(1)) >= 1, "the second reload: %r" % line)
            removed_at = t.count(INFLIGHT)
            wait_for(lambda: cw.count_rows(url) == removed_at, deadline(10),
                     lambda: "the removed endpoint's check in flight stored (%d rows, %d requests)"
                     % (cw.count_rows(url), removed_at))
            time.sleep(3.5)
            check(t.count(INFLIGHT) == removed_at, "the removed slow endpoint was checked after its removal")
            check(cw.child(WORKER) == pid, "the worker was restarted (pid %d -> %s)" % (pid, cw.child(WORKER)))
            # nothing lost, nothing doubled: one row per request
            for p in STEADY + ["/ok?edited", "/ok?gone", "/ok?added"]:
                wait_for(lambda: cw.count_rows(t.url(p)) == t.count(p), deadline(10),
                         lambda: "%s: %d rows, %d requests" % (p, cw.count_rows(t.url(p)), t.count(p)))
            cw.stop()


@harness.timeout(120)
def test_a_shard_gaining_its_first_push_endpoint_restarts_its_worker():
    """The socket push calls come on is opened at a worker's start only when its shard has a push endpoint: a reload
    that brings the shard its first one restarts the worker (the supervisor's choice, supervisor/apply.c), and the
    restarted worker takes the calls."""
    token = "Reload-Token_0123456789abcdef"
    with tempdir() as d, Targets() as t:
        port = free_port()
        cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=1)
        cfg["web"] = {"listen": "127.0.0.1:%d" % port}
        with Clockwerk(cfg, d) as cw:
            pid = cw.wait_ready(titles=cw.expected_titles() + ["clockwerk: web"])[WORKER]
            mark = cw.log_mark()
            cfg["monitor"]["endpoints"].append({"type": "push", "name": "nightly", "token": token,
                                                "check_interval": 30, "grace": 1.0})
            cw.reload(cfg)
            line = cw.wait_log(r"reload: [^\n]*generation 2[^\n]*", since=mark).group(0)
            check("restarting worker 0/1" in line and "reloading worker" not in line, "the reload: %r" % line)
            cw.wait_new_child(WORKER, pid, timeout=20)

            def call():
                try:
                    return urllib.request.urlopen("http://127.0.0.1:%d/push/%s" % (port, token), timeout=5).status
                except (urllib.error.URLError, OSError):
                    return None
            wait_for(lambda: call() == 200, deadline(20), "a push call accepted after the restart")
            cw.wait_count("push://nightly", 1, timeout=20)
            cw.stop()


def spoil_link_and_continue(cw, pid, how):
    """The supervisor's SIGHUP reaches the worker (stopped) after the supervisor moved to generation 2; then
    run_dir/config.snap is spoiled before the worker reads it: how "dangling" points it at a generation file that does
    not exist, "removed" takes it away (the worker's start file, generation 1, is still there)."""
    link = os.path.join(cw.run_dir, "config.snap")
    if how == "dangling":
        tmp = link + ".test"
        os.symlink("config.99.snap", tmp)
        os.rename(tmp, link)
    else:
        os.unlink(link)
    os.kill(pid, signal.SIGCONT)


def check_reload_failure_restarts(how):
    with tempdir() as d, Targets() as t:
        def cfg(new):
            return base_config([endpoint(t.url("/ok?kept"), timeout=1),
                                endpoint(t.url("/ok?new" if new else "/ok?old"), timeout=1)], workers=1)
        with Clockwerk(cfg(False), d) as cw:
            pid = cw.wait_ready()[WORKER]
            cw.wait_count(t.url("/ok?old"), 2, timeout=30)
            os.kill(pid, signal.SIGSTOP)
            try:
                mark = cw.log_mark()
                cw.reload(cfg(True))
                line = cw.wait_log(r"reload: [^\n]*generation 2[^\n]*", since=mark).group(0)
                check("reloading worker 0/1 in place" in line, "the reload: %r" % line)
                time.sleep(0.3)  # the supervisor's SIGHUP is pending in the stopped worker
            finally:
                spoil_link_and_continue(cw, pid, how)
            cw.wait_new_child(WORKER, pid, timeout=20)
            old = t.count("/ok?old")
            cw.wait_count(t.url("/ok?new"), 2, timeout=20)
            time.sleep(2)
            check(t.count("/ok?old") == old, "the removed endpoint is still checked after the restart")
            why = cw.wait_log(r"worker 0/1\] \d+ error: reload: [^\n]*stopping, to be started again[^\n]*",
                              since=mark).group(0)
            check("config.snap" in why or "config.99.snap" in why, "the reason: %r" % why)
            cw.stop()


@harness.timeout(90)
def test_a_worker_that_cannot_read_the_new_generation_is_restarted_on_it():
    """A worker whose reload in place fails (here: the current generation's link names a file that is not there) no
    longer stays on the old shard the supervisor thinks it left: it says why, exits 1, and the supervisor starts it
    again from its current snapshot, which checks the new definitions (review finding 2; on the base it logs
    "keeping the previous configuration" and is never restarted)."""
    check_reload_failure_restarts("dangling")


@harness.timeout(90)
def test_a_worker_without_the_link_does_not_fall_back_to_its_start_file():
    """Without run_dir/config.snap a worker's reload no longer reads the file it was started with (an older
    generation, "reloaded" as a success on the base): it exits 1 and is started again on the current one."""
    check_reload_failure_restarts("removed")


def worker_counter(tap, name):
    for ln in reversed(tap.snapshot()):
        o = json.loads(ln)
        if o.get("type") == "stats" and o.get("role") == "worker" and name in o.get("counters", {}):
            return o["counters"][name]
    return None


@harness.timeout(120)
def test_each_retired_shard_is_freed_by_its_own_last_check():
    """Review finding 1: a check that hangs (started under generation 1) no longer keeps every later shard. Three
    reloads while it runs, with quick checks under generations 2, 3 and 4: each of those is freed once its own
    checks are collected, so the worker holds one retired shard (1's) until the hanging check ends, then none; on
    the base every shard since 1 was kept until no check of before the latest reload was left (there, with reloads
    coming faster than a slow check, never)."""
    hang = "/slow/12?hang"
    with tempdir() as d, Targets() as t:
        def cfg(gen):
            return base_config([endpoint(t.url("/ok?quick"), timeout=1, headers=["X-Gen: %d" % gen]),
                                endpoint(t.url(hang), timeout=15, check_interval=20)], workers=1)
        with Clockwerk(cfg(1), d) as cw, harness.Tap(cw.conf_path, ("--json", "--stats")) as tap:
            pid = cw.wait_ready()[WORKER]
            wait_for(lambda: t.count(hang) >= 1, deadline(30), "the hanging check to start")
            started = time.time()
            kept = []
            for gen in (2, 3, 4):
                cw.wait_count(t.url("/ok?quick"), 1, timeout=10)
                mark = cw.log_mark()
                cw.reload(cfg(gen))
                line = cw.wait_log(r"worker 0/1\] \d+ info: reloaded in place: [^\n]*", since=mark).group(0)
                m = re.search(r"(\d+) previous shards? kept", line)
                check(m, "the reload line: %r" % line)
                kept.append(int(m.group(1)))
                time.sleep(1.5)  # generation gen-1's quick checks end; gen's start
            check(all(k <= 2 for k in kept), "previous shards kept at each reload: %s" % kept)
            check(time.time() - started < 10, "the hanging check ended before the last reload: the test is too slow")
            wait_for(lambda: worker_counter(tap, "retired_shards") == 1, deadline(5),
                     lambda: "one retired shard while the hanging check runs (retired_shards %s)"
                     % worker_counter(tap, "retired_shards"))
            wait_for(lambda: worker_counter(tap, "retired_shards") == 0, deadline(20),
                     lambda: "no retired shard once it ended (retired_shards %s)"
                     % worker_counter(tap, "retired_shards"))
            check(cw.child(WORKER) == pid, "the worker was restarted")
            cw.stop()
