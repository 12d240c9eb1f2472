"""tests/e2e/test_tap.py — clockwerk-tap attached to a running pipeline: it sees the results (JSON lines and the
human format), and a tap that stops reading never slows the pipeline.

Every test has its own directory, its own ports, and stops every process and server on every path.
Conditions are polled with generous deadlines (harness.wait_for); none of them is a speed claim.
"""

import re
import time

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, shard_of, tempdir, wait_for
from targets import Targets
from pipeline_util import problems_fail


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
            problems_fail(problems, "tap --json")

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
            problems_fail(problems, "tap lines")
            cw.stop()


# ------------------------------------------------------------------------------------ 3. signals


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
