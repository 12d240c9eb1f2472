"""tests/e2e/test_pipeline.py — the end-to-end scenarios of the data path: workers check real HTTP servers on
127.0.0.1 with check_interval = 1, the storer writes every result, with the options of an endpoint, the schedule,
malformed messages on the bus and odd names. The process lifecycle is in test_lifecycle.py, the tap in test_tap.py.

Every test has its own directory, its own ports, and stops every process and server on every path.
Conditions are polled with generous deadlines (harness.wait_for); none of them is a speed claim.
"""

import os
import re
import time

import harness
from harness import (Clockwerk, base_config, check, closed_port_url, deadline, endpoint, shard_of, tempdir, utc_now_iso, wait_for)
from targets import KEYWORD, Targets
from pipeline_util import STORER, ROWS_SQL, problems_fail, start_and_wait_rows


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
            problems_fail(problems, "%d rows checked" % len(rows))
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
            problems_fail(problems, "endpoint options")
            cw.stop()


# ------------------------------------------------------------------------------------------- 2. tap


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
        cw, url = start_and_wait_rows(d, t, workers=1)
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
                problems_fail(problems, "the storer's counters (%s)" % counters)


# ------------------------------------------------------------------------------- 9. more of the pipeline


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
            problems_fail(problems, "schedule")
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
                problems_fail(problems, "https")
                cw.stop()


# ------------------------------------------------------------------------- 10. supervisor robustness


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
