"""tests/e2e/test_pipeline.py — the end-to-end scenarios of the pipeline: the supervisor, its workers and storer,
and the tap, as real processes against real HTTP servers on 127.0.0.1, with check_interval = 1.

Every test has its own directory, its own ports, and stops every process and server on every path.
Conditions are polled with generous deadlines (harness.wait_for); none of them is a speed claim.
"""

import os
import re
import signal
import time

import harness
from harness import (Clockwerk, base_config, check, closed_port_url, deadline, endpoint, shard_of, tempdir,
                     utc_now_iso, wait_for)
from targets import KEYWORD, Targets

WORKER = "clockwerk: worker %d/%d"
STORER = "clockwerk: storer"

ROWS_SQL = ("SELECT c.id, e.url, e.name, c.checked_at, c.status_code, c.latency_ms, c.ok, c.error, c.dns_ms, "
            "c.connect_ms, c.tls_ms, c.ttfb_ms, c.worker, c.boot_id, c.seq "
            "FROM checks c JOIN endpoints e ON e.id = c.endpoint_id")


def _problems_fail(problems, what):
    if problems:
        shown = problems[:12]
        more = " (and %d more)" % (len(problems) - len(shown)) if len(problems) > len(shown) else ""
        raise harness.TestFailure("%s: %d problem(s): %s%s" % (what, len(problems), "; ".join(shown), more))


def _split_endpoints(t, slots, per_slot=2, path="/ok"):
    """URLs on the target such that every worker slot owns at least per_slot of them (by the shard hash)."""
    urls, owned = [], {s: 0 for s in range(slots)}
    i = 0
    while min(owned.values()) < per_slot:
        u = t.url("%s?e=%d" % (path, i))
        s = shard_of(u, slots)
        if owned[s] < per_slot:
            urls.append(u)
            owned[s] += 1
        i += 1
    return urls


def _rows_since(cw, url, after_iso):
    rows = cw.db().try_query("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                             "WHERE e.url = ? AND c.checked_at > ?", (url, after_iso))
    return rows[0][0] if rows else 0


# ------------------------------------------------------------------------------------------ 1. rows

def test_rows_for_every_endpoint():
    with tempdir() as d, Targets(slow_delay=3.0) as t:
        closed = closed_port_url("/closed")
        eps = {
            "ok": endpoint(t.url("/ok"), timeout=1, name="the ok target"),
            "fail": endpoint(t.url("/fail"), timeout=1),
            "slow": endpoint(t.url("/slow"), timeout=0.5),
            "keyword": endpoint(t.url("/keyword"), timeout=1, keyword=KEYWORD),
            "nokeyword": endpoint(t.url("/nokeyword"), timeout=1, keyword=KEYWORD),
            "closed": endpoint(closed, timeout=1),
        }
        # kind -> (status_code, ok)
        expect = {"ok": (200, 1), "fail": (500, 0), "slow": (0, 0), "keyword": (200, 1),
                  "nokeyword": (200, 0), "closed": (0, 0)}
        kind_of = {e["url"]: k for k, e in eps.items()}
        started_at = time.time()
        with Clockwerk(base_config(eps.values(), workers=2), d) as cw:
            cw.wait_ready()
            for e in eps.values():
                cw.wait_count(e["url"], 2, timeout=30)
            db = cw.db()
            rows = db.query_dicts(ROWS_SQL)
            problems = []
            for r in rows:
                kind = kind_of.get(r["url"])
                if kind is None:
                    problems.append("row for an URL that is not configured: %r" % r["url"])
                    continue
                where = "%s row %d" % (kind, r["id"])
                status, ok = expect[kind]
                if r["status_code"] != status:
                    problems.append("%s: status_code %r, expected %d" % (where, r["status_code"], status))
                if r["ok"] != ok:
                    problems.append("%s: ok %r, expected %d" % (where, r["ok"], ok))
                if ok and r["error"] is not None:
                    problems.append("%s: ok row with error %r (expected NULL)" % (where, r["error"]))
                if not ok and not r["error"]:
                    problems.append("%s: failed row without an error text (%r)" % (where, r["error"]))
                if not isinstance(r["latency_ms"], (int, float)) or r["latency_ms"] <= 0:
                    problems.append("%s: latency_ms %r, expected > 0" % (where, r["latency_ms"]))
                if not isinstance(r["checked_at"], str) or not harness.ISO_MS_UTC.match(r["checked_at"]):
                    problems.append("%s: checked_at %r is not ISO-8601 UTC with ms" % (where, r["checked_at"]))
                else:
                    at = harness.parse_iso_ms(r["checked_at"])
                    if not (started_at - 5 <= at <= time.time() + 5):
                        problems.append("%s: checked_at %s is not the time of the check (now %s)"
                                        % (where, r["checked_at"], utc_now_iso()))
                if r["worker"] not in (0, 1):
                    problems.append("%s: worker %r not in 0..1" % (where, r["worker"]))
                elif r["worker"] != shard_of(r["url"], 2):
                    problems.append("%s: checked by worker %d, but the URL's shard is %d"
                                    % (where, r["worker"], shard_of(r["url"], 2)))
                if not r["boot_id"]:
                    problems.append("%s: boot_id %r" % (where, r["boot_id"]))
                if not isinstance(r["seq"], int) or r["seq"] < 1:
                    problems.append("%s: seq %r, expected >= 1" % (where, r["seq"]))
                # Phases: milliseconds, NULL when not reached; no TLS on http.
                if kind in ("ok", "fail", "keyword", "nokeyword"):
                    for col in ("dns_ms", "connect_ms", "ttfb_ms"):
                        if not isinstance(r[col], (int, float)) or r[col] < 0:
                            problems.append("%s: %s %r, expected a duration >= 0" % (where, col, r[col]))
                    if r["tls_ms"] is not None:
                        problems.append("%s: tls_ms %r on plain http (expected NULL)" % (where, r["tls_ms"]))
                    phases = sum(r[c] for c in ("dns_ms", "connect_ms", "ttfb_ms")
                                 if isinstance(r[c], (int, float)) and r[c] > 0)
                    if isinstance(r["latency_ms"], (int, float)) and phases > r["latency_ms"] + 1.0:
                        problems.append("%s: dns+connect+ttfb = %.3f ms exceeds latency_ms %.3f"
                                        % (where, phases, r["latency_ms"]))
                if kind == "slow" and isinstance(r["latency_ms"], (int, float)):
                    if not (350 <= r["latency_ms"] <= 2500):
                        problems.append("%s: latency_ms %.1f, expected about the 500 ms timeout (the target "
                                        "answers after 3 s)" % (where, r["latency_ms"]))
                    if r["error"] and not re.search(r"time", r["error"], re.I):
                        problems.append("%s: error %r does not say it timed out" % (where, r["error"]))
                if kind == "closed" and r["error"] and not re.search(r"connect|refused", r["error"], re.I):
                    problems.append("%s: error %r does not say the connection failed" % (where, r["error"]))
            # (worker, boot_id, seq) unique, and every sequence without holes (nothing lost).
            seqs = {}
            for r in rows:
                seqs.setdefault((r["worker"], r["boot_id"]), []).append(r["seq"])
            for key, ss in seqs.items():
                if len(ss) != len(set(ss)):
                    problems.append("duplicate seq for worker/boot %s" % (key,))
                if isinstance(max(ss), int) and sorted(set(ss)) != list(range(1, max(ss) + 1)):
                    missing = sorted(set(range(1, max(ss) + 1)) - set(ss))
                    problems.append("worker/boot %s: seq has holes %s" % (key, missing[:10]))
            dups = db.query("SELECT worker, boot_id, seq, count(*) FROM checks GROUP BY worker, boot_id, seq "
                            "HAVING count(*) > 1")
            if dups:
                problems.append("duplicate (worker, boot_id, seq): %s" % dups[:5])
            # endpoints: every configured url, with its name.
            ep_rows = {u: n for u, n in db.query("SELECT url, name FROM endpoints")}
            for e in eps.values():
                if e["url"] not in ep_rows:
                    problems.append("endpoints has no row for %s" % e["url"])
            if ep_rows.get(eps["ok"]["url"]) != "the ok target":
                problems.append("endpoints.name of the named endpoint is %r" % ep_rows.get(eps["ok"]["url"]))
            # schema version.
            tables = db.tables()
            if "schema_version" not in tables:
                problems.append("no schema_version table (tables: %s)" % tables)
            else:
                v = db.query("SELECT version FROM schema_version")
                if not v or not isinstance(v[0][0], int) or v[0][0] < 1:
                    problems.append("schema_version holds %r" % v)
            check(os.path.exists(os.path.join(d, "clockwerk.db")),
                  "the database is not at the config's directory (db_name relative to the config file)")
            journal = db.query("PRAGMA journal_mode")[0][0]
            if journal.lower() != "wal":
                problems.append("journal_mode is %r, expected wal" % journal)
            _problems_fail(problems, "%d rows checked" % len(rows))
            cw.stop()


def test_handle_reuse_keeps_no_options():
    """One worker reuses a few curl handles for all its checks (a plain check of the same kind keeps the
    handle's options; anything else resets it): checks of different kinds in turn must each be sent as
    configured — a plain GET after a POST, a HEAD or a check with extra headers carries none of theirs."""
    with tempdir() as d, Targets() as t:
        kinds = {
            "plain": endpoint(t.url("/echo?plain"), timeout=1),
            "post": endpoint(t.url("/echo?post"), timeout=1, method="POST", body="b=1"),
            "head": endpoint(t.url("/echo?head"), timeout=1, method="HEAD"),
            "hdr": endpoint(t.url("/echo?hdr"), timeout=1, headers=["X-Custom: 1"]),
            "follow": endpoint(t.url("/redirect?reuse"), timeout=1, follow_redirects=True),
            "plain2": endpoint(t.url("/echo?plain2"), timeout=1),
        }
        with Clockwerk(base_config(list(kinds.values()), workers=1), d) as cw:
            cw.wait_ready()
            wait_for(lambda: all(t.count(u) >= 4 for u in ("/echo?plain", "/echo?post", "/echo?head", "/echo?hdr",
                                                           "/echo?plain2", "/redirect?reuse")),
                     deadline(30), "four checks of every kind")
        problems = []
        for name in ("plain", "plain2"):
            for q in t.requests("/echo?" + name):
                if q["method"] != "GET" or q["body"] or "X-Custom" in q["headers"] or "Content-Length" in q["headers"]:
                    problems.append("%s: %s %r body %r" % (name, q["method"], q["headers"], q["body"]))
        for q in t.requests("/echo?post"):
            if q["method"] != "POST" or q["body"] != b"b=1":
                problems.append("post: %s body %r" % (q["method"], q["body"]))
        for q in t.requests("/echo?head"):
            if q["method"] != "HEAD":
                problems.append("head: %s" % q["method"])
        for q in t.requests("/echo?hdr"):
            if q["method"] != "GET" or q["headers"].get("X-Custom") != "1":
                problems.append("hdr: %s %r" % (q["method"], q["headers"]))
        check(not problems, "checks sent with another kind's options: %s" % problems[:4])


def test_endpoint_options():
    """204, a redirect not followed (302 is in 200..399), a redirect followed, expect_status, HEAD,
    extra headers, and a 404."""
    with tempdir() as d, Targets() as t:
        eps = {
            "empty": (endpoint(t.url("/empty"), timeout=1), 204, 1),
            "redirect": (endpoint(t.url("/redirect"), timeout=1), 302, 1),
            "followed": (endpoint(t.url("/redirect?follow"), timeout=1, follow_redirects=True), 200, 1),
            "expect500": (endpoint(t.url("/fail?expected"), timeout=1, expect_status=[500, 503]), 500, 1),
            "expect204": (endpoint(t.url("/ok?expect204"), timeout=1, expect_status=[204]), 200, 0),
            "head": (endpoint(t.url("/ok?head"), timeout=1, method="HEAD"), 200, 1),
            "headers": (endpoint(t.url("/echo"), timeout=1, headers=["X-Clockwerk-Test: yes", "X-Two: 2"]),
                        200, 1),
            "notfound": (endpoint(t.url("/status/404"), timeout=1), 404, 0),
            "garbage": (endpoint(t.url("/garbage"), timeout=1), 0, 0),
            "hangup": (endpoint(t.url("/hangup"), timeout=1), 0, 0),
            "localhost": (endpoint(t.url("/ok?localhost").replace("127.0.0.1", "localhost"), timeout=1), 200, 1),
        }
        with Clockwerk(base_config([e for e, _, _ in eps.values()], workers=2), d) as cw:
            cw.wait_ready()
            for e, _, _ in eps.values():
                cw.wait_count(e["url"], 1, timeout=30)
            rows = cw.db().query_dicts(ROWS_SQL)
            problems = []
            for kind, (e, status, ok) in eps.items():
                mine = [r for r in rows if r["url"] == e["url"]]
                for r in mine:
                    if (r["status_code"], r["ok"]) != (status, ok):
                        problems.append("%s: status %r ok %r, expected %d %d (error %r)"
                                        % (kind, r["status_code"], r["ok"], status, ok, r["error"]))
                    if not ok and not r["error"]:
                        problems.append("%s: a failed check without an error text" % kind)
            heads = t.requests("/ok?head")
            if not heads or any(q["method"] != "HEAD" for q in heads):
                problems.append("method HEAD: the target saw %s" % [q["method"] for q in heads])
            echo = t.requests("/echo")
            if not echo or not all(q["headers"].get("X-Clockwerk-Test") == "yes" and
                                   q["headers"].get("X-Two") == "2" for q in echo):
                problems.append("headers: the target saw %s" % [q["headers"] for q in echo][:2])
            if t.count("/ok?follow") == 0 and t.count("/ok") == 0:
                problems.append("follow_redirects: the redirect target /ok was never requested")
            _problems_fail(problems, "endpoint options")
            cw.stop()


# ------------------------------------------------------------------------------------------- 2. tap

def test_tap_sees_results():
    with tempdir() as d, Targets() as t:
        ok_url, fail_url = t.url("/ok"), t.url("/fail")
        cfg = base_config([endpoint(ok_url, timeout=1), endpoint(fail_url, timeout=1)], workers=2)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            # The system has been running a while before the tap attaches.
            wait_for(lambda: t.count("/ok") >= 2 and t.count("/fail") >= 2, deadline(20),
                     "two checks of each endpoint before starting the tap")
            code, lines, err = harness.run_tap(cw.conf_path, 6, json_output=True, timeout=30)
            check(code == 0, "clockwerk-tap --json --count 6 exited %s: %s" % (code, err.strip()[-500:]))
            results = [x for x in lines if isinstance(x, dict) and x.get("type") == "result"]
            check(len(results) >= 6 or (len(results) >= 3 and len(lines) >= 6),
                  "tap printed %d lines, %d of them results: %s" % (len(lines), len(results), lines[:3]))
            problems = []
            for x in lines:
                if not isinstance(x, dict) or "type" not in x:
                    problems.append("line without a type: %r" % (x,))
            for x in results:
                missing = [k for k in harness.TAP_RESULT_KEYS if k not in x]
                if missing:
                    problems.append("result without %s: %r" % (missing, x))
                    continue
                if x["url"] not in (ok_url, fail_url):
                    problems.append("unknown url %r" % x["url"])
                if not harness.ISO_MS_UTC.match(str(x["checked_at"])):
                    problems.append("checked_at %r" % x["checked_at"])
                if not isinstance(x["latency_ms"], (int, float)) or x["latency_ms"] <= 0:
                    problems.append("latency_ms %r" % x["latency_ms"])
                if x["url"] == ok_url and (x["status_code"] != 200 or x["ok"] not in (True, 1)
                                           or x["error"] not in (None, "")):
                    problems.append("ok endpoint: status %r ok %r error %r" % (x["status_code"], x["ok"],
                                                                                x["error"]))
                if x["url"] == fail_url and (x["status_code"] != 500 or x["ok"] not in (False, 0)
                                             or not x["error"]):
                    problems.append("failing endpoint: status %r ok %r error %r" % (x["status_code"], x["ok"],
                                                                                     x["error"]))
                if x["worker"] != shard_of(x["url"], 2):
                    problems.append("worker %r for %s" % (x["worker"], x["url"]))
            _problems_fail(problems, "tap --json")

            # --filter TEXT: only URLs containing TEXT.
            code, lines, err = harness.run_tap(cw.conf_path, 3, json_output=True, filter_text="/fail", timeout=30)
            check(code == 0, "clockwerk-tap --filter exited %s: %s" % (code, err.strip()[-500:]))
            results = [x for x in lines if x.get("type") == "result"]
            check(len(results) >= 1, "tap --filter /fail printed no result: %s" % lines)
            wrong = [x["url"] for x in results if "/fail" not in x.get("url", "")]
            check(not wrong, "tap --filter /fail printed results for %s" % wrong)
            cw.stop()


def test_tap_human_format():
    """Without --json: `2026-11-25T04:05:06.123Z http://... 200 12.3ms OK` (and the error on failures).
    Also: the tap works when no storer runs (db_activation = false)."""
    with tempdir() as d, Targets() as t:
        ok_url, fail_url = t.url("/ok"), t.url("/fail")
        cfg = base_config([endpoint(ok_url, timeout=1), endpoint(fail_url, timeout=1)], workers=1, db=False)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            code, lines, err = harness.run_tap(cw.conf_path, 4, json_output=False, timeout=30)
            check(code == 0, "clockwerk-tap --count 4 exited %s: %s" % (code, err.strip()[-500:]))
            rx = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\d+) (\d+(?:\.\d+)?)ms (\S+)(?: (.*))?$")
            problems, seen = [], 0
            for ln in lines:
                m = rx.match(ln)
                if not m:
                    problems.append("line not in the documented format: %r" % ln)
                    continue
                seen += 1
                url, status, word, rest = m.group(2), int(m.group(3)), m.group(5), m.group(6)
                if url == ok_url and (status != 200 or word != "OK"):
                    problems.append("ok endpoint shown as %r" % ln)
                if url == fail_url and (status != 500 or word == "OK" or not rest):
                    problems.append("failing endpoint shown without FAIL word and error: %r" % ln)
            check(seen >= 1, "tap printed no result line: %r" % lines)
            _problems_fail(problems, "tap lines")
            cw.stop()


# ------------------------------------------------------------------------------------ 3. signals

def _start_and_wait_rows(d, t, workers=2, n=2, extra_eps=()):
    url = t.url("/ok")
    cfg = base_config([endpoint(url, timeout=1)] + list(extra_eps), workers=workers)
    cw = Clockwerk(cfg, d).start()
    try:
        cw.wait_ready()
        cw.wait_count(url, n, timeout=30)
    except BaseException:
        cw.cleanup()
        raise
    return cw, url


def test_sigterm_clean_exit():
    with tempdir() as d, Targets() as t:
        cw, url = _start_and_wait_rows(d, t, n=3)
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
        cw, url = _start_and_wait_rows(d, t)
        with cw:
            cw.stop(timeout=10, expect=0, sig=signal.SIGINT)


def test_ctrl_c_process_group():
    """Ctrl-C in a terminal: SIGINT reaches every process of the group; children leave it to the
    supervisor, which stops them in order; exit 0, nothing left, rows committed."""
    with tempdir() as d, Targets() as t:
        cw, url = _start_and_wait_rows(d, t)
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
        urls = _split_endpoints(t, 2)
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
        cw, url = _start_and_wait_rows(d, t)
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
        cw, url = _start_and_wait_rows(d, t)
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
        cw, url = _start_and_wait_rows(d, t)
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
        cw, url = _start_and_wait_rows(d, t)
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
        cw, url = _start_and_wait_rows(d, t)
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

def test_db_activation_false():
    with tempdir() as d, Targets() as t:
        cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=2, db=False)
        seen = set()
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.worker_titles())

            def checked_thrice():
                seen.update(cw.children().values())
                return t.count("/ok") >= 3
            wait_for(checked_thrice, deadline(20), "three checks of /ok")
            check(STORER not in seen, "a storer ran with db_activation = false (children: %s)" % sorted(seen))
            cw.stop()
        dbs = [f for root in (d, os.path.join(d, "cwd-clockwerk")) if os.path.isdir(root)
               for f in os.listdir(root) if f.startswith("clockwerk.db")]
        check(not dbs, "database files created with db_activation = false: %s" % dbs)


# ------------------------------------------------------------------------------- 8. hostile input

def test_malformed_messages():
    import random
    import zmq
    with tempdir() as d, Targets() as t:
        cw, url = _start_and_wait_rows(d, t, workers=1)
        with cw:
            storer = cw.child(STORER)
            sock_path = os.path.join(cw.run_dir, "store.sock")
            wait_for(lambda: os.path.exists(sock_path), deadline(10), "the storer's socket %s" % sock_path)
            now_us = int(time.time() * 1e6)
            good = {"worker": 0, "boot_id": 0x1234, "seq": 1, "checked_at_us": now_us, "latency_us": 1000,
                    "dns_us": 1, "connect_us": 2, "tls_us": -1, "ttfb_us": 3, "status_code": 200, "ok": True,
                    "url": "http://127.0.0.1:9/x"}
            payload = harness.encode_results([good])
            rnd = random.Random(2)
            bad = [
                [b"garbage"],                                       # one frame
                [b"result", payload, b"extra"],                     # three frames
                [b"nonsense", payload],                             # unknown topic
                [b"result", payload[:-5]],                          # truncated
                [b"result", payload[:10]],
                [b"result", bytes([99]) + payload[1:]],             # unknown version
                [b"result", bytes([1, 2]) + payload[2:]],           # type does not match topic
                [b"result", b""],                                   # empty payload
                [b"", b""],                                         # empty topic
                [b"result", payload[:2] + (500).to_bytes(2, "little") + payload[4:]],   # count lies
                [b"result", payload + b"\0\0"],                     # trailing bytes
                [b"result", harness.encode_results([dict(good, seq=0)])],               # seq 0
                [b"result", harness.encode_results([dict(good, url="")])],              # empty url
                [b"result", payload[:84] + b"\xff\xff" + payload[86:]],                 # url length lies
                [b"stats", b"\x01\x02\xff\xff"],
                [b"alert", b"\x01\x03\x01\x00" + bytes(40)],
                [b"result", bytes(rnd.getrandbits(8) for _ in range(100000))],          # 100 kB of noise
            ]
            bad += [[b"result", bytes([1, 1]) + bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(2, 300)))]
                    for _ in range(200)]
            injected_url = "http://127.0.0.1:9/e2e-injected"
            inj = {"worker": 77, "boot_id": rnd.getrandbits(63) | 1, "seq": 1, "checked_at_us": now_us,
                   "latency_us": 1500, "dns_us": 10, "connect_us": 20, "tls_us": -1, "ttfb_us": -1,
                   "status_code": 0, "ok": False, "url": injected_url, "error": "injected by the e2e test"}
            valid = harness.encode_results([inj])
            # Then: the same result again (a duplicate), and worker 78 sending seq 1 then 5 (a gap of 3).
            gap_url = "http://127.0.0.1:9/e2e-gap"
            g = dict(inj, worker=78, boot_id=rnd.getrandbits(63) | 1, url=gap_url)
            after = [harness.encode_results([inj]), harness.encode_results([dict(g, seq=1)]),
                     harness.encode_results([dict(g, seq=5)])]
            mark = cw.log_mark()
            sent_at = utc_now_iso()
            ctx = zmq.Context()
            try:
                s = ctx.socket(zmq.DEALER)
                s.setsockopt(zmq.LINGER, 5000)
                s.setsockopt(zmq.SNDTIMEO, 5000)
                s.connect("ipc://" + sock_path)
                for frames in bad:
                    s.send_multipart(frames)
                s.send_multipart([b"result", valid])
                for p in after:
                    s.send_multipart([b"result", p])
                s.close()
            finally:
                ctx.term()
            # The hand-made valid message (written from the documented format) is stored...
            rows = cw.wait_rows("SELECT c.status_code, c.ok, c.error, c.latency_ms, c.worker, c.seq, c.tls_ms "
                                "FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ?",
                                (injected_url,), timeout=20, what="the valid message sent after the garbage")
            check(rows[0][:6] == (0, 0, "injected by the e2e test", 1.5, 77, 1) and rows[0][6] is None,
                  "the injected result was stored as %r" % (rows[0],))
            gap_rows = cw.wait_rows("SELECT c.seq FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                                    "WHERE e.url = ? ORDER BY c.seq", (gap_url,), lambda r: len(r) >= 2,
                                    timeout=20, what="worker 78's two results")
            check([x for (x,) in gap_rows] == [1, 5], "worker 78's results stored as seq %s" % gap_rows)
            n = cw.db().query("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                              "WHERE e.url = ?", (injected_url,))[0][0]
            check(n == 1, "a result sent twice is stored %d times (writes must be idempotent)" % n)
            # ... the storer is the same process, and the workers' rows keep arriving.
            check(cw.child(STORER) == storer, "the storer was replaced (pid %d -> %s): it crashed on malformed "
                  "input" % (storer, cw.child(STORER)))
            cw.wait_count(url, 2, timeout=30, after=sent_at)
            check(cw.child(STORER) == storer, "the storer died after the malformed input")
            logged = cw.log_since(mark)
            if re.search(r"(?i)malformed|invalid|reject|dropp", logged):
                harness.note("the storer reports malformed input: %s" % [
                    ln for ln in logged.split("\n") if re.search(r"(?i)malformed|invalid|reject|dropp", ln)][:2])
            else:
                harness.note("the storer's log says nothing about the %d malformed messages" % len(bad))
            cw.stop()
            counters = harness.final_counters(cw.log_text()).get("storer")
            if counters is None:
                harness.note("no final counters of the storer in the log: malformed/gap counts not checked")
            else:
                problems = []
                # Every one of them is malformed (the stats one might be ignored rather than counted).
                if counters.get("malformed", -1) < len(bad) - 1:
                    problems.append("malformed=%s after %d malformed messages" % (counters.get("malformed"),
                                                                               len(bad)))
                if counters.get("gaps", -1) < 1 or counters.get("missing", 3) < 3:
                    problems.append("gaps=%s missing=%s after seq 1 then 5" % (counters.get("gaps"),
                                                                               counters.get("missing")))
                if counters.get("duplicates", -1) < 1:
                    problems.append("duplicates=%s after a result sent twice" % counters.get("duplicates"))
                _problems_fail(problems, "the storer's counters (%s)" % counters)


# ------------------------------------------------------------------------------- 9. more of the pipeline

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
            _problems_fail(problems, "shutdown under load")
            harness.note("SIGTERM under load: exit in %.2f s, %d rows, workers made %s checks" % (took, total, sent))


def test_schedule_no_drift_and_spread():
    """Due times are previous due time + interval: a check that takes 300 ms does not push the next ones
    later; a per-endpoint check_interval overrides the monitor's; first checks are spread over the interval."""
    with tempdir() as d, Targets() as t:
        slow = endpoint(t.url("/slow/0.3"), timeout=1)
        two = endpoint(t.url("/ok?two"), timeout=1, check_interval=2)
        spread = [endpoint(t.url("/ok?s=%d" % i), timeout=1) for i in range(10)]
        with Clockwerk(base_config([slow, two] + spread, workers=1), d) as cw:
            cw.wait_ready()
            cw.wait_count(slow["url"], 7, timeout=40)
            cw.wait_count(two["url"], 4, timeout=40)
            db = cw.db()

            def times(url):
                return [harness.parse_iso_ms(x) for (x,) in db.query(
                    "SELECT c.checked_at FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ? "
                    "ORDER BY c.seq", (url,))]
            problems = []
            ts = times(slow["url"])
            offs = [ts[k] - ts[0] - k * 1.0 for k in range(len(ts))]
            if max(abs(o) for o in offs) > 0.25:
                problems.append("the 300 ms endpoint drifts: check k starts at first + k s %+.3f s (offsets %s)"
                                % (max(offs, key=abs), ["%+.3f" % o for o in offs]))
            ts = times(two["url"])
            diffs = [b - a for a, b in zip(ts, ts[1:])]
            if any(abs(x - 2.0) > 0.25 for x in diffs):
                problems.append("check_interval = 2 on the endpoint: checks %s s apart" % ["%.3f" % x for x in diffs])
            firsts = []
            for e in spread:
                ts = times(e["url"])
                if ts:
                    firsts.append(ts[0])
            if len(firsts) == len(spread):
                width = max(firsts) - min(firsts)
                if width < 0.3 or width > 1.25:
                    problems.append("first checks of 10 endpoints at a 1 s interval span %.3f s (expected spread "
                                    "over the interval)" % width)
            _problems_fail(problems, "schedule")
            cw.stop()


def test_timeout_defaults_to_interval():
    """No timeout set: 10 s, but never more than the interval (1 s here): a 4 s answer fails at ~1 s."""
    with tempdir() as d, Targets() as t:
        url = t.url("/slow/4")
        with Clockwerk(base_config([endpoint(url)], workers=1), d) as cw:
            cw.wait_ready()
            cw.wait_count(url, 2, timeout=30)
            rows = cw.db().query("SELECT status_code, ok, latency_ms, error FROM checks")
            for status, ok, lat, err in rows:
                check(status == 0 and ok == 0 and 700 <= lat <= 1600,
                      "a 4 s answer with the default timeout at a 1 s interval: status %s ok %s latency %.1f ms "
                      "(%s)" % (status, ok, lat, err))
            cw.stop()


def test_sighup_changes_worker_count():
    """SIGHUP with workers 2 -> 3: three workers titled x/3, none x/2 left, each URL checked by its new shard."""
    with tempdir() as d, Targets() as t:
        urls = _split_endpoints(t, 3, per_slot=1)
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


def test_passwords_never_logged():
    """A database password (file and environment) and URL credentials appear in no log line, no tap
    output and no child's environment; the URL's credentials are still used (HTTP basic auth reaches
    the target)."""
    import base64
    with tempdir() as d, Targets() as t:
        url = t.url("/echo").replace("http://", "http://alice:e2e-pw-url@")
        cfg = base_config([endpoint(url, timeout=1)], workers=1, log_level="debug",
                          extra={"database": {"db_password": "e2e-pw-file"}})
        with Clockwerk(cfg, d, env={"CLOCKWERK_DB_PASSWORD": "e2e-pw-env"}) as cw:
            cw.wait_ready()
            cw.wait_count(url, 2, timeout=30)
            outputs = {"log": cw.log_text()}
            for pid, title in cw.children().items():
                try:
                    with open("/proc/%d/environ" % pid, "rb") as f:
                        outputs["environment of %s" % title] = f.read().decode("utf-8", "replace")
                except OSError:
                    pass
            _code, lines, err = harness.run_tap(cw.conf_path, 2, json_output=False, timeout=30)
            outputs["tap"] = "\n".join(lines) + err
            _code, lines, err = harness.run_tap(cw.conf_path, 2, json_output=True, timeout=30)
            outputs["tap --json"] = repr(lines) + err
            cw.stop()
            outputs["log"] = cw.log_text()
        for where, text in outputs.items():
            for secret in ("e2e-pw-url", "e2e-pw-file", "e2e-pw-env"):
                check(secret not in text, "a password (%s) appears in the %s: %r" % (
                    secret, where, [ln for ln in text.split("\n") if secret in ln][:2]))
        auth = [q["headers"].get("Authorization") for q in t.requests("/echo")]
        want = "Basic " + base64.b64encode(b"alice:e2e-pw-url").decode()
        check(auth and all(a == want for a in auth), "the URL's credentials did not reach the target: %s" % auth)


RELAY = "clockwerk: relay"


def test_relay_kill_restart():
    """kill -9 of the relay: a new relay, the other children untouched, a tap that was attached keeps
    receiving after the restart, and a new tap works."""
    with tempdir() as d, Targets() as t:
        cw, url = _start_and_wait_rows(d, t, workers=1)
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


def test_concurrent_checks_in_one_worker():
    """One worker, ten endpoints that each answer after 0.8 s at a 1 s interval: only concurrent checks
    (the curl multi interface) keep every endpoint on schedule."""
    with tempdir() as d, Targets() as t:
        urls = [t.url("/slow/0.8?c=%d" % i) for i in range(10)]
        with Clockwerk(base_config([endpoint(u, timeout=1) for u in urls], workers=1), d) as cw:
            cw.wait_ready()
            for u in urls:
                cw.wait_count(u, 3, timeout=30)
            bad = cw.db().query("SELECT e.url, c.status_code, c.latency_ms, c.error FROM checks c "
                                "JOIN endpoints e ON e.id = c.endpoint_id WHERE c.ok = 0")
            check(not bad, "checks of a 0.8 s target with a 1 s timeout failed: %s" % bad[:3])
            check(t.max_in_flight >= 4, "at most %d requests at once reached the target" % t.max_in_flight)
            harness.note("one worker: up to %d checks in flight at once" % t.max_in_flight)
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
            owner = cw.child(WORKER % (shard_of(gone, 2), 2))
            owner_start = harness.proc_starttime(owner)
            cw.reload(base_config([endpoint(keep, timeout=1)], workers=2))
            # The reload restarts the worker that owned the removed endpoint: count from its end on (on a busy
            # machine the supervisor may take longer than a check interval to get there).
            wait_for(lambda: not harness.proc_alive(owner, owner_start), deadline(20),
                     "the worker that checked %s (pid %d) to stop after the reload" % (gone, owner))
            n_gone, n_keep = t.count("/ok?gone"), t.count("/ok?keep")
            wait_for(lambda: t.count("/ok?keep") >= n_keep + 4, deadline(20), "four more checks of the kept URL")
            check(t.count("/ok?gone") <= n_gone + 1, "the removed endpoint was checked %d times after the "
                  "reload" % (t.count("/ok?gone") - n_gone))
            cw.stop()


def test_https_checks():
    """https: a self-signed certificate fails by default (the error says why) and passes with
    verify_tls = false; the TLS phase is recorded (tls_ms) for https and only there."""
    from targets import make_self_signed_cert
    with tempdir() as d:
        cert = make_self_signed_cert(d)
        with Targets(tls_cert=cert) as ts:
            insecure, strict = ts.url("/ok?insecure"), ts.url("/ok?strict")
            cfg = base_config([endpoint(insecure, timeout=1, verify_tls=False), endpoint(strict, timeout=1)],
                              workers=1)
            with Clockwerk(cfg, d) as cw:
                cw.wait_ready()
                cw.wait_count(insecure, 2, timeout=30)
                cw.wait_count(strict, 2, timeout=30)
                db = cw.db()
                sql = ("SELECT c.status_code, c.ok, c.error, c.tls_ms, c.connect_ms, c.latency_ms FROM checks c "
                       "JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ?")
                problems = []
                for status, ok, err, tls, conn, lat in db.query(sql, (insecure,)):
                    if (status, ok) != (200, 1):
                        problems.append("verify_tls = false: status %s ok %s (%s)" % (status, ok, err))
                    if not isinstance(tls, (int, float)) or tls <= 0 or (lat is not None and tls > lat):
                        problems.append("https check: tls_ms %r (latency %r)" % (tls, lat))
                for status, ok, err, tls, conn, lat in db.query(sql, (strict,)):
                    if ok != 0 or status != 0:
                        problems.append("a self-signed certificate passed verification: status %s ok %s" % (status, ok))
                    if not err or not re.search(r"(?i)certificate|ssl|verify|self.signed", err):
                        problems.append("the error does not say it is the certificate: %r" % err)
                _problems_fail(problems, "https")
                cw.stop()


# ------------------------------------------------------------------------- 10. supervisor robustness

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
        urls = _split_endpoints(t, 2, per_slot=1)
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
        cw, url = _start_and_wait_rows(d, t)
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


def test_more_workers_than_endpoints():
    """workers = 3 with one endpoint: the idle workers do not crash-loop; the one that owns it checks it."""
    with tempdir() as d, Targets() as t:
        url = t.url("/ok")
        with Clockwerk(base_config([endpoint(url, timeout=1)], workers=3), d) as cw:
            pids = cw.wait_ready()
            cw.wait_count(url, 3, timeout=30)
            now = cw.wait_ready()
            check(now == pids, "children restarted: %s -> %s" % (pids, now))
            check(not re.search(r"(?i)exited with code [^0]|killed by", cw.log_text()),
                  "a child exited: %s" % [ln for ln in cw.log_text().split("\n") if "exited" in ln][:3])
            cw.stop()


def test_odd_names_and_urls_stored_as_text():
    """Quotes, SQL, non-ASCII in a name, and a query string in the URL are stored as they are."""
    with tempdir() as d, Targets() as t:
        url = t.url("/ok?a=1&b=x%20y&c='q'")
        long_url = t.url("/ok?long=" + "x" * 3000)
        name = "Bücher ✓ \"quoted\" x'); DROP TABLE checks; --"
        cfg = base_config([endpoint(url, timeout=1, name=name), endpoint(long_url, timeout=1)], workers=1)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_count(url, 2, timeout=30)
            cw.wait_count(long_url, 2, timeout=30)
            rows = cw.db().query("SELECT url, name FROM endpoints")
            check((url, name) in rows, "endpoints holds %r" % rows)
            code, lines, err = harness.run_tap(cw.conf_path, 4, timeout=30)
            check(code == 0 and {x.get("url") for x in lines} <= {url, long_url},
                  "the tap shows %s" % [x.get("url", "")[:80] for x in lines])
            cw.stop()


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


def test_fresh_connection_per_check():
    """Connect time is measured honestly: every check opens its own connection, even when the target
    offers to keep one open."""
    with tempdir() as d, Targets() as t:
        url = t.url("/keepalive")
        with Clockwerk(base_config([endpoint(url, timeout=1)], workers=1), d) as cw:
            cw.wait_ready()
            cw.wait_count(url, 4, timeout=30)
            reqs = t.requests("/keepalive")
            ports = [q["client_port"] for q in reqs]
            check(len(set(ports)) == len(ports), "%d checks over %d connections (client ports %s)"
                  % (len(ports), len(set(ports)), ports))
            cw.stop()


def test_paused_tap_does_not_block():
    """A tap stopped with SIGSTOP while 200 endpoints are checked every second: the rows keep coming at
    the full rate, and the tap, once resumed, carries on."""
    with tempdir() as d, Targets() as t:
        urls = [t.url("/ok?p=%d" % i) for i in range(200)]
        with Clockwerk(base_config([endpoint(u, timeout=1) for u in urls], workers=2), d) as cw:
            cw.wait_ready()
            cw.wait_rows("SELECT count(*) FROM checks", (), lambda r: r[0][0] >= 400, timeout=30, what="400 rows")
            with harness.Tap(cw.conf_path, ("--json",)) as tap:
                wait_for(lambda: len(tap.snapshot()) >= 10, deadline(20), "the tap to print results")
                tap.pause()
                paused_at = time.time()
                frm = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(paused_at + 1)) + ".000Z"
                to = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(paused_at + 6)) + ".000Z"
                # Rows are counted by checked_at (when the worker made the check: a blocked worker makes none),
                # so waiting longer does not help a blocked pipeline; it only lets a storer that lags on a busy
                # machine commit the window. The tap stays paused all the while.
                window = "SELECT count(*) FROM checks WHERE checked_at >= ? AND checked_at < ?"
                counted = {"n": 0}

                def window_full():
                    rows = cw.db().try_query(window, (frm, to))
                    counted["n"] = rows[0][0] if rows else 0
                    return time.time() - paused_at > 7 and counted["n"] >= 0.9 * 200 * 5
                try:
                    wait_for(window_full, deadline(30), "rows of the 5 s window")
                except harness.WaitTimeout:
                    pass
                n = counted["n"]
                check(n >= 0.9 * 200 * 5, "%d rows in 5 s with the tap paused, expected about %d" % (n, 200 * 5))
                seen = len(tap.snapshot())
                tap.resume()
                wait_for(lambda: len(tap.snapshot()) > seen, deadline(20), "the resumed tap to print again")
                harness.note("tap paused: %d rows in 5 s (200 endpoints at 1 s)" % n)
            cw.stop()
