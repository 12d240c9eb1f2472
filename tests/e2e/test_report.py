"""tests/e2e/test_report.py — `clockwerk report` (docs/report.md) against real SQLite, PostgreSQL and MariaDB.

  test_report_sqlite / _postgresql / _mysql
        a KNOWN synthetic history written by SQL (endpoints, hourly cells over six days, daily cells that are
        the sum of their hours — as the storer keeps them —, raw rows below and above the watermark, down/up/
        reminder alerts): the report over a window with ragged ends gives exactly the checks and ok of the
        hours that overlap the window (whole days from checks_daily, the ragged hours from checks_hourly, the
        raw rows above the watermark, nothing twice), exact downtime and incidents (an outage across the
        window's start counts from since, one still open at until counts to until, a message without its time
        falls back to raised_at, reminders are ignored), percentiles within the histograms' accuracy, the
        slowest phase, the state, masked credentials; --json, --csv (RFC 4180) and the text table parse;
        --endpoint by name and by URL; bad inputs give one clear line and a non-zero exit
  test_report_pipeline
        a history written by the real pipeline (storer folding every 300 ms, an endpoint that is down): the
        report's checks and ok equal the raw rows, the down endpoint's state is down with its downtime running
  test_report_docs_query_sqlite
        docs/schema.md's "uptime and p95 of X last week" SQLite query (text-time-trap free) selects exactly
        the week, where the trap bound (datetime('now', ...)) selects more
"""

import csv
import io
import json
import os
import re
import sqlite3
import time
import unicodedata

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, closed_port_url, endpoint, run_cli, tempdir, wait_for
from targets import Targets
from test_rollups import _bench, bucket_of

HOUR = 3600
DAY = 86400
T0 = 1790812800  # 2026-10-01T00:00:00Z
SINCE, UNTIL = "2026-10-02T06:30:00Z", "2026-10-05T18:00:00Z"
SINCE_S, UNTIL_S = T0 + DAY + 6 * HOUR + 1800, T0 + 4 * DAY + 18 * HOUR
H0, H1 = T0 + DAY + 6 * HOUR, T0 + 4 * DAY + 18 * HOUR  # the whole hours the checks come from
URL_A, URL_B, URL_C = "http://user:secret@a.example/", "http://b.example/", "http://c.example/"
PHASE_MS = {"A": (1.0, 2.0, 5.0, 40.0), "B": (300.0, 2.0, 5.0, 40.0)}  # dns, connect, tls, ttfb

# ------------------------------------------------------------------------------------------- the history


def encode(values_ms):
    """A version-1 histogram blob (docs/schema.md) of durations in ms."""
    counts = {}
    for v in values_ms:
        b = bucket_of(int(v * 1000 + 0.5))
        counts[b] = counts.get(b, 0) + 1
    out = bytes([1]) + len(counts).to_bytes(2, "little")
    for b in sorted(counts):
        out += b.to_bytes(2, "little") + counts[b].to_bytes(4, "little")
    return out


def hour_cell(ep, start):
    """(checks, ok, latencies, phases) of one endpoint's synthetic hour."""
    h = (start - T0) // HOUR
    lat = [20.0 + ((h * 7 + i * 13) % 200) * (1.0 if ep == "A" else 3.0) for i in range(60)]
    ok = 60 - (h % 5 if ep == "A" else h % 3)
    return 60, ok, lat, PHASE_MS[ep]


def history():
    """The cells: {"hourly": [(ep, start, cell)], "daily": [(ep, start, (checks, ok, lat, phases))]}."""
    hourly, daily = [], []
    for ep in ("A", "B"):
        for d in range(6):
            day_lat, checks, ok = [], 0, 0
            for h in range(24):
                start = T0 + d * DAY + h * HOUR
                c = hour_cell(ep, start)
                hourly.append((ep, start, c))
                checks, ok = checks + c[0], ok + c[1]
                day_lat += c[2]
            daily.append((ep, T0 + d * DAY, (checks, ok, day_lat, PHASE_MS[ep])))
    return hourly, daily


def iso(t, ms=0):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % ms


# raw rows: (ep, time, ok, latency); the first two are below the watermark (already "folded": never counted),
# the rest above it; the last one lies after the window
RAW_BELOW = [("A", UNTIL_S - 50 * 60, 1, 10.0), ("A", UNTIL_S - 49 * 60, 1, 10.0)]
RAW_ABOVE = [("A", UNTIL_S - 30 * 60, 1, 123.4), ("A", UNTIL_S - 29 * 60, 0, 5000.0), ("B", UNTIL_S - 20 * 60, 1, 77.0),
             ("A", UNTIL_S + 30 * 60, 1, 1.0)]


WHAT = {"alpha": "alpha (http://***@a.example/)", "beta": "beta (%s)" % URL_B}  # alerter/alert.c's prefix


def msg(name, down, since_t, since_ms=0):
    name = WHAT.get(name, name)
    if down:
        return "%s is DOWN since %s: 3 checks failed, last: HTTP 500" % (name, iso(since_t, since_ms))
    return "%s is UP again since %s after 5m 00s down (3 checks failed)" % (name, iso(since_t, since_ms))


# alerts: (ep, kind, raised_at, message)
ALERTS = [
    # A: down across the window's start (since 05:40 on day 2, up at 07:00): 30 min inside the window
    ("A", "down", T0 + DAY + 5 * HOUR + 50 * 60, msg("alpha", True, T0 + DAY + 5 * HOUR + 40 * 60)),
    ("A", "reminder", T0 + DAY + 6 * HOUR + 50 * 60, "alpha is still DOWN since whenever"),
    ("A", "up", T0 + DAY + 7 * HOUR + 60, msg("alpha", False, T0 + DAY + 7 * HOUR)),
    # A: 15 min 30.5 s on day 3
    ("A", "down", T0 + 2 * DAY + 12 * HOUR + 120, msg("alpha", True, T0 + 2 * DAY + 12 * HOUR)),
    ("A", "up", T0 + 2 * DAY + 12 * HOUR + 16 * 60, msg("alpha", False, T0 + 2 * DAY + 12 * HOUR + 15 * 60 + 30, 500)),
    # A: still down at until (since 17:00 on day 5): 1 h
    ("A", "down", T0 + 4 * DAY + 17 * HOUR + 180, msg("alpha", True, T0 + 4 * DAY + 17 * HOUR)),
    # B: an outage before the window (none of it counts)
    ("B", "down", T0 + 10 * HOUR + 60, msg("beta", True, T0 + 10 * HOUR)),
    ("B", "up", T0 + 11 * HOUR + 60, msg("beta", False, T0 + 11 * HOUR)),
    # B: a down whose message has no time (raised_at counts), up since 00:05: 5 min
    ("B", "down", T0 + 3 * DAY, "beta went down"),
    ("B", "up", T0 + 3 * DAY + 10 * 60, msg("beta", False, T0 + 3 * DAY + 5 * 60)),
    # B: after the window (raised after until): not counted, the state at until stays up
    ("B", "down", T0 + 5 * DAY, msg("beta", True, T0 + 5 * DAY - 60)),
]
EXPECT_DOWN = {"A": (1800 + 930.5 + 3600, 3, "down"), "B": (300.0, 1, "up")}


def expected():
    """{ep: (checks, ok, latencies)} over the whole hours [H0, H1) plus the raw rows above the watermark."""
    hourly, _ = history()
    out = {"A": [0, 0, []], "B": [0, 0, []]}
    for ep, start, (checks, ok, lat, _) in hourly:
        if H0 <= start < H1:
            out[ep][0] += checks
            out[ep][1] += ok
            out[ep][2] += lat
    for ep, t, ok, lat in RAW_ABOVE:
        if H0 <= t < H1:
            out[ep][0] += 1
            out[ep][1] += ok
            out[ep][2].append(lat)
    return out


def nearest_rank(values, p):
    v = sorted(values)
    k = max(1, -(-len(v) * p // 100))
    return v[k - 1]


# --------------------------------------------------------------------------------- writing it by SQL


def _time(kind, t, ms=0):
    if kind == "sqlite":
        return "'%s'" % iso(t, ms)
    s = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + ".%03d" % ms
    return "'%s+00'" % s if kind == "postgresql" else "'%s'" % s


def _blob(kind, b):
    return "'\\x%s'::bytea" % b.hex() if kind == "postgresql" else "X'%s'" % b.hex()


def _statements(kind, ids):
    """The INSERTs of the whole history, for ids {ep: endpoints.id}."""
    hourly, daily = history()
    out = []
    for table, cells in (("checks_hourly", hourly), ("checks_daily", daily)):
        rows = []
        for ep, start, (checks, ok, lat, phases) in cells:
            blobs = [encode(lat)] + [encode([p] * checks) for p in phases]
            rows.append("(%d, %s, %d, %d, %d, %s)" % (ids[ep], _time(kind, start), checks, ok, checks - ok,
                                                      ", ".join(_blob(kind, b) for b in blobs)))
        for i in range(0, len(rows), 16):  # statements short enough for one argument of psql/mariadb
            out.append("INSERT INTO %s (endpoint_id, period_start, checks, ok, failures, latency_hist, dns_hist, "
                       "connect_hist, tls_hist, ttfb_hist) VALUES %s" % (table, ", ".join(rows[i:i + 16])))
    okv = (lambda v: "true" if v else "false") if kind == "postgresql" else str
    for seq, (ep, t, ok, lat) in enumerate(RAW_BELOW + RAW_ABOVE, 1):
        out.append("INSERT INTO checks (id, endpoint_id, checked_at, status_code, latency_ms, ok, error, dns_ms, "
                   "connect_ms, tls_ms, ttfb_ms, worker, boot_id, seq) VALUES (%d, %d, %s, 200, %r, %s, NULL, 1.0, "
                   "2.0, NULL, 3.0, 0, 7, %d)" % (1000 + seq, ids[ep], _time(kind, t), lat, okv(ok), seq))
    out.append("UPDATE rollup_state SET last_check_id = %d" % (1000 + len(RAW_BELOW)))
    for n, (ep, kind_, raised, message) in enumerate(ALERTS, 1):
        out.append("INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state) "
                   "VALUES (%d, %d, %s, '%s', '%s', 'none', 'none')"
                   % (n, ids[ep], _time(kind, raised), kind_, message.replace("'", "''")))
    return out


def write_history(kind, server, path):
    """A fresh schema (store_bench open) filled with the history; the endpoints' ids."""
    args = ["--driver", "sqlite", "--db", path] if kind == "sqlite" else \
        ["--driver", server.kind, "--host", "127.0.0.1", "--port", str(server.port), "--db", server.dbname,
         "--user", server.user]
    r = _bench(args + ["open"], server)
    check(r.returncode == 0, "%s: store_bench open exited %d: %s %s" % (kind, r.returncode, r.stdout, r.stderr))
    ins = "INSERT INTO endpoints (url, name) VALUES ('%s', 'alpha'), ('%s', 'beta'), ('http://old.example/', NULL)" % (
        URL_A, URL_B)
    sel = "SELECT url, id FROM endpoints"
    if kind == "sqlite":
        con = sqlite3.connect(path)
        con.execute(ins)
        ids = dict(con.execute(sel).fetchall())
        for st in _statements(kind, {"A": ids[URL_A], "B": ids[URL_B]}):
            con.execute(st)
        con.commit()
        con.close()
    else:
        server.query(ins)
        ids = {u: int(i) for u, i in server.query(sel)}
        for st in _statements(kind, {"A": ids[URL_A], "B": ids[URL_B]}):
            server.query(st)
    return ids


# --------------------------------------------------------------------------------------- checking it


def _config(d, server):
    eps = [endpoint(URL_A, name="alpha"), endpoint(URL_B, name="beta"), endpoint(URL_C)]
    cfg = base_config(eps, db_name=os.path.join(d, "history.db"))
    if server is not None:
        cfg["database"] = {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1",
                           "db_port": server.port, "db_name": server.dbname, "db_user": server.user,
                           "db_password": server.password}
    path = os.path.join(d, "clockwerk.conf")
    harness.write_config(path, cfg)
    return path


def report(conf, *args, code=0):
    r = run_cli(["report", "-c", conf] + list(args), timeout=60)
    check(r.code == code, "clockwerk report %s: expected exit %d: %r" % (" ".join(args), code, r))
    return r


def check_endpoint(kind, got, ep, exp):
    checks, ok, lat = exp[ep]
    what = "%s %s" % (kind, ep)
    check(got["checks"] == checks and got["ok"] == ok,
          "%s: checks/ok %s/%s, expected %d/%d" % (what, got["checks"], got["ok"], checks, ok))
    exact = 100.0 * ok / checks  # printed truncated to six decimals
    check(-1e-9 <= exact - got["uptime_pct"] < 1.0001e-6, "%s: uptime %r, exact %r" % (what, got["uptime_pct"], exact))
    down, incidents, state = EXPECT_DOWN[ep]
    check(abs(got["downtime_s"] - down) < 1e-6 and got["incidents"] == incidents and got["state"] == state,
          "%s: downtime %r incidents %r state %r, expected %r %r %r"
          % (what, got["downtime_s"], got["incidents"], got["state"], down, incidents, state))
    for p in (50, 95, 99):
        exact, value = nearest_rank(lat, p), got["p%d_ms" % p]
        check(abs(value - exact) <= exact * 0.033 + 0.001, "%s: p%d %r, exact %r" % (what, p, value, exact))
    check(got["slowest_phase"] == ("ttfb" if ep == "A" else "dns"), "%s: slowest phase %r" % (what, got["slowest_phase"]))


def check_report(kind, conf):
    exp = expected()
    j = json.loads(report(conf, "--since", SINCE, "--until", UNTIL, "--json").out)
    check(j["since"] == "2026-10-02T06:30:00.000Z" and j["until"] == "2026-10-05T18:00:00.000Z", "window %r" % j)
    by = {e["url"]: e for e in j["endpoints"]}
    check(sorted(by) == sorted(["http://***@a.example/", URL_B, URL_C]), "%s: endpoints %r" % (kind, sorted(by)))
    check("secret" not in json.dumps(j), "%s: the password shows in the report" % kind)
    check_endpoint(kind, by["http://***@a.example/"], "A", exp)
    check_endpoint(kind, by[URL_B], "B", exp)
    c = by[URL_C]
    check(c["checks"] == 0 and c["uptime_pct"] is None and c["p50_ms"] is None and c["state"] == "unknown",
          "%s: the endpoint without history: %r" % (kind, c))

    rows = list(csv.DictReader(io.StringIO(report(conf, "--since", SINCE, "--until", UNTIL, "--csv").out)))
    check([r["name"] for r in rows] == ["alpha", "beta", ""], "%s: csv rows %r" % (kind, rows))
    check(int(rows[0]["checks"]) == exp["A"][0] and float(rows[0]["downtime_s"]) == EXPECT_DOWN["A"][0],
          "%s: csv row %r" % (kind, rows[0]))

    text = report(conf, "--since", SINCE, "--until", UNTIL).out.splitlines()
    check(text[1].startswith("ENDPOINT") and len(text) == 5, "%s: text %r" % (kind, text))
    starts = {ln.index(ln.split()[1], len(ln.split()[0])) + len(ln.split()[1]) for ln in text[2:4]}
    check(len(starts) == 1 and "%d" % exp["A"][0] in text[2], "%s: columns not aligned: %r" % (kind, text))

    for key in ("beta", URL_B, "http://***@a.example/"):
        j = json.loads(report(conf, "--since", SINCE, "--until", UNTIL, "--endpoint", key, "--json").out)
        ep = "A" if "a.example" in key else "B"
        check([e["name"] for e in j["endpoints"]] == [{"A": "alpha", "B": "beta"}[ep]],
              "%s: --endpoint %s: %r" % (kind, key, j))
        check_endpoint(kind, j["endpoints"][0], ep, exp)
    j = json.loads(report(conf, "--since", SINCE, "--until", UNTIL, "--endpoint", URL_A, "--json").out)
    check_endpoint(kind, j["endpoints"][0], "A", exp)


def check_bad_inputs(conf):
    for args, pattern in ((["--since", "yesterday"], r"--since 'yesterday'"),
                          (["--until", "2026-13-01"], r"--until '2026-13-01'"),
                          (["--since", UNTIL, "--until", SINCE], r"window is empty"),
                          (["--endpoint", "nope"], r"no endpoint named or with the URL 'nope'"),
                          (["--json", "--csv"], r"exclude each other"),
                          (["--since", "100000d"], r"--since '100000d': a duration is 1s to 100 years"),
                          (["--since", "1969-12-31"], r"a date is 1970-01-01 or later"),
                          (["--endpoint", "http://user:hunter2@a.example/"], r"no endpoint .*'http://\*\*\*@a\.example/'")):
        r = report(conf, *args, code=2)
        check(re.search(pattern, r.err) and r.out == "" and "hunter2" not in r.err, "%r: %r" % (args, r))


def check_unreachable(d, server):
    """A closed port: exit 1, one line on stderr naming host:port and database, never the password."""
    from dbservers import free_port
    port = free_port()
    real = server.port
    server.port = port
    try:
        conf = _config(d, server)
    finally:
        server.port = real
    r = report(conf, code=1)
    lines = r.err.strip().splitlines()
    check(len(lines) == 1 and "127.0.0.1:%d" % port in lines[0] and server.password not in r.err and r.out == "",
          "%s unreachable: %r" % (server.kind, r))
    harness.note("%s unreachable: %s" % (server.kind, lines[0][:200]))


def _run(kind, server_cls):
    with tempdir() as d:
        if server_cls is None:
            write_history("sqlite", None, os.path.join(d, "history.db"))
            conf = _config(d, None)
            check_report(kind, conf)
        else:
            with server_cls() as server:
                write_history(kind, server, None)
                conf = _config(d, server)
                check_report(kind, conf)
                check_bad_inputs(conf)
                check_unreachable(d, server)
        harness.note("%s: the report of the synthetic history is exact" % kind)


@harness.timeout(300)
def test_report_sqlite():
    _run("sqlite", None)
    with tempdir() as d:
        conf = _config(d, None)
        check_bad_inputs(conf)
        r = report(conf, code=1)  # the database file does not exist: read-only never creates it
        check(re.search(r"history\.db: does not exist \(has clockwerk stored anything yet\?\)", r.err)
              and not os.path.exists(os.path.join(d, "history.db")), "missing database: %r" % r)
        os.mkdir(os.path.join(d, "history.db"))
        r = report(conf, code=1)
        check(re.search(r"history\.db: is not a regular file", r.err), "a directory as the database: %r" % r)


@harness.timeout(600)
def test_report_postgresql():
    _run("postgresql", PostgresServer)


@harness.timeout(600)
def test_report_mysql():
    _run("mysql", MariaDBServer)


@harness.timeout(300)
def test_report_pipeline():
    """The real storer's history: checks and ok equal the raw rows; the down endpoint is down with downtime."""
    with tempdir() as d, Targets() as t:
        up, down = t.url("/ok"), closed_port_url()
        cfg = base_config([endpoint(up, name="up", timeout=1), endpoint(down, name="down", timeout=1, alert_threshold=2)],
                          extra={"alerts": {"webhooks": [{"url": t.url("/ok")}]}})  # a webhook: the alerter runs
        with Clockwerk(cfg, d, env={"CLOCKWERK_ROLLUP_EVERY_MS": "300"}) as cw:
            cw.wait_ready()
            db = os.path.join(d, "clockwerk.db")

            def alerted():  # False while the storer has not created the file or the table yet
                try:
                    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
                except sqlite3.Error:
                    return False
                try:
                    return con.execute("SELECT count(*) FROM alerts WHERE kind = 'down'").fetchone()[0] > 0
                except sqlite3.Error:
                    return False
                finally:
                    con.close()
            wait_for(alerted, 60, "a down alert stored")
            cw.wait_count(up, 6, timeout=60)
            j = json.loads(report(cw.conf_path, "--since", "1h", "--json").out)  # while the storer writes
            cw.stop()
        con = sqlite3.connect(db)
        raw = dict((u, (n, k)) for u, n, k in con.execute(
            "SELECT e.url, count(*), sum(c.ok) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id GROUP BY e.url"))
        wm = con.execute("SELECT last_check_id FROM rollup_state").fetchone()[0]
        con.close()
        by = {e["name"]: e for e in j["endpoints"]}
        # the storer went on after the report: the report's counts are at most the final ones, and near them
        for name, url in (("up", up), ("down", down)):
            n, k = raw[url]
            check(0 < by[name]["checks"] <= n and by[name]["ok"] <= k, "%s: report %r, raw %r" % (name, by[name], raw))
        check(by["up"]["ok"] == by["up"]["checks"] and by["up"]["state"] == "up", "up: %r" % by["up"])
        check(by["down"]["ok"] == 0 and by["down"]["state"] == "down" and by["down"]["incidents"] == 1
              and by["down"]["downtime_s"] > 0, "down: %r" % by["down"])
        j2 = json.loads(report(cw.conf_path, "--since", "1h", "--json").out)
        by2 = {e["name"]: e for e in j2["endpoints"]}
        for name, url in (("up", up), ("down", down)):
            check(by2[name]["checks"] == raw[url][0] and by2[name]["ok"] == raw[url][1],
                  "%s after the stop: report %r, raw rows %r (watermark %d)" % (name, by2[name], raw[url], wm))
        harness.note("pipeline: report = raw rows (%r)" % raw)


DOCS_QUERY_HEAD = "-- uptime and p95 of one endpoint over the last 7 days, SQLite:\n"


@harness.timeout(120)
def test_report_docs_query_sqlite():
    """docs/schema.md's SQLite "uptime and p95 of X last week" query reads exactly the hourly cells of the last
    7 days (and the current hour); the same query with the trap bound datetime('now', '-7 days') reads the
    earlier hours of that day too."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "schema.md")) as f:
        doc = f.read()
    m = re.search(re.escape(DOCS_QUERY_HEAD) + r"(.*?);", doc, re.S)
    check(m is not None, "docs/schema.md has no SQLite 'uptime and p95 ... last 7 days' query")
    sql = m.group(1)
    with tempdir() as d:
        path = os.path.join(d, "docs.db")
        write_history("sqlite", None, path)
        con = sqlite3.connect(path)
        con.execute("DELETE FROM checks_hourly")
        aid = con.execute("SELECT id FROM endpoints WHERE name = 'alpha'").fetchone()[0]
        now = int(time.time())
        hour = now // HOUR * HOUR
        for k in range(9 * 24):  # the last 9 days, hour by hour; hour k back has 10 checks, 10 - k % 3 ok
            con.execute("INSERT INTO checks_hourly (endpoint_id, period_start, checks, ok, failures, latency_hist,"
                        " dns_hist, connect_hist, tls_hist, ttfb_hist) VALUES (?, ?, 10, ?, ?, ?, X'010000',"
                        " X'010000', X'010000', X'010000')",
                        (aid, iso(hour - k * HOUR), 10 - k % 3, k % 3, encode([1.0 + k] * 10)))
        con.commit()
        got = con.execute(sql, {"url": URL_A}).fetchone()
        lo = (now - 7 * DAY) // HOUR * HOUR  # the bound: the hour of now - 7 days
        ks = [k for k in range(9 * 24) if hour - k * HOUR >= lo]
        exp_checks, exp_ok = 10 * len(ks), sum(10 - k % 3 for k in ks)
        check(got[0] == exp_checks and abs(got[1] - 100.0 * exp_ok / exp_checks) < 1e-9,
              "docs query: %r, expected %d checks, %d ok" % (got, exp_checks, exp_ok))
        total = sum(sum(c for c in _decode_hex(h).values()) for h in got[2].split(","))
        check(total == exp_checks, "docs query: the histograms hold %d values, expected %d" % (total, exp_checks))
        trap = sql.replace("strftime('%Y-%m-%dT%H:00:00.000Z', 'now', '-7 days')", "datetime('now', '-7 days')")
        check(trap != sql, "the docs query has no strftime bound")
        bad = con.execute(trap, {"url": URL_A}).fetchone()
        early = time.gmtime(now - 7 * DAY).tm_hour  # the hours of that day before the bound
        check(bad[0] == exp_checks + 10 * early, "the trap bound read %r checks, expected %d"
              % (bad[0], exp_checks + 10 * early))
        con.close()
        harness.note("docs query: %d checks in the week; the trap bound reads %d" % (got[0], bad[0]))


def _decode_hex(h):
    from test_rollups import decode_hist
    return decode_hist(bytes.fromhex(h))


# ------------------------------------------------------------------------ review 25 (report's findings)

TRAP = "trap is DOWN since 2026-10-01T00:00:00.000Z: x"  # a name that holds the alerter's words and a time
REVIEW_EPS = [("never", "http://never.example/"), (TRAP, "http://trap.example/"), ("late", "http://late.example/"),
              ("stopped", "http://stopped.example/"), ("onefail", "http://onefail.example/"),
              ("caf\u00e9-\u670d\u52d9", "http://utf8.example/"), ("steady", "http://steady.example/")]


def _review_history(path, hb):
    """A fresh schema with the review's endpoints; hb: a whole hour at least 3 hours ago."""
    r = _bench(["--driver", "sqlite", "--db", path, "open"], None)
    check(r.returncode == 0, "store_bench open: %s %s" % (r.stdout, r.stderr))
    con = sqlite3.connect(path)
    ids = {}
    for name, url in REVIEW_EPS:
        ids[name] = con.execute("INSERT INTO endpoints (url, name) VALUES (?, ?)", (url, name)).lastrowid
    empty = encode([])

    days = {}  # (endpoint id, UTC day) -> [checks, ok, latencies, dns]: a day's row is the sum of its hours

    def cell(name, start, checks, ok):
        lat, dns = [5.0] * min(checks, 1000), [0.028] * 10
        for table, period, row in (("checks_hourly", start, [checks, ok, lat, dns]),
                                   ("checks_daily", start - start % DAY, None)):
            if row is None:  # the day's row: written again whole with the sums so far
                row = days.setdefault((ids[name], period), [0, 0, [], []])
                row[0] += checks
                row[1] += ok
                row[2] += lat
                row[3] += dns
            con.execute("INSERT OR REPLACE INTO %s (endpoint_id, period_start, checks, ok, failures, latency_hist, "
                        "dns_hist, connect_hist, tls_hist, ttfb_hist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" % table,
                        (ids[name], iso(period), row[0], row[1], row[0] - row[1], encode(row[2]), encode(row[3]),
                         empty, empty, empty))

    def alert(n, name, kind, raised, message):
        con.execute("INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state) "
                    "VALUES (?, ?, ?, ?, ?, 'none', 'none')", (n, ids[name], iso(raised), kind, message))
    cell("never", hb, 10, 0)                      # never succeeded, no alert (threshold not reached)
    cell(TRAP, hb, 60, 59)
    what = "%s (http://trap.example/)" % TRAP    # down 6 s, 10 minutes into hb
    alert(1, TRAP, "down", hb + 600, "%s is DOWN since %s: 1 checks failed, last: HTTP 500" % (what, iso(hb + 594)))
    alert(2, TRAP, "up", hb + 610, "%s is UP again since %s after 6.0s down (1 checks failed)" % (what, iso(hb + 600)))
    cell("late", hb + 2 * HOUR, 60, 60)           # first checked in the third hour
    cell("steady", hb + HOUR, 60, 60)             # checked in the second hour and the third
    cell("steady", hb + 2 * HOUR, 60, 60)
    cell("stopped", hb, 60, 20)                   # checked for one hour, then Clockwerk stopped; down since hb+20m
    alert(3, "stopped", "down", hb + 1230, "stopped (http://stopped.example/) is DOWN since %s: 3 checks failed, "
          "last: HTTP 500" % iso(hb + 1200))
    cell("onefail", hb, 300279, 300278)
    cell("caf\u00e9-\u670d\u52d9", hb, 60, 60)
    con.execute("UPDATE rollup_state SET last_check_id = 0")
    con.commit()
    con.close()


@harness.timeout(120)
def test_report_review():
    """Review 25: never-succeeded is unknown; a window ending before the first check counts none of the checks
    after it; a name holding "is DOWN since <time>" cannot fool the downtime; downtime open at until stops at the
    last check (never into the future); uptime never rounds up to 100%; UTF-8 names and long values keep the
    columns; storage off, an unreadable config and a control character in a name give one clear line."""
    with tempdir() as d:
        hb = int(time.time()) // HOUR * HOUR - 3 * HOUR
        db = os.path.join(d, "review.db")
        _review_history(db, hb)
        conf = os.path.join(d, "clockwerk.conf")
        harness.write_config(conf, base_config([endpoint(u, name=n) for n, u in REVIEW_EPS], db_name=db))
        j = json.loads(report(conf, "--since", iso(hb), "--until", iso(hb + 2 * HOUR), "--json").out)
        by = {e["name"]: e for e in j["endpoints"]}
        check(by["never"]["checks"] == 10 and by["never"]["state"] == "unknown", "never: %r" % by["never"])
        check(by[TRAP]["downtime_s"] == 6.0 and by[TRAP]["incidents"] == 1 and by[TRAP]["state"] == "up",
              "the trap name: %r" % by[TRAP])
        check(by["onefail"]["uptime_pct"] < 100.0, "onefail: %r" % by["onefail"])
        # a window that ends before the endpoint's first check: none of the hour's checks, state unknown
        late = json.loads(report(conf, "--since", iso(hb + 2 * HOUR), "--until", iso(hb + 2 * HOUR + 600),
                                 "--endpoint", "late", "--json").out)["endpoints"][0]
        check(late["checks"] == 0 and late["state"] == "unknown", "late: %r" % late)
        # the same short window of an endpoint checked before it (the hour before): its hour counts whole
        steady = json.loads(report(conf, "--since", iso(hb + 2 * HOUR + 60), "--until", iso(hb + 2 * HOUR + 600),
                                   "--endpoint", "steady", "--json").out)["endpoints"][0]
        check(steady["checks"] == 60 and steady["state"] == "up", "steady: %r" % steady)
        # down since hb+20m, last check in the hour hb: 40 min, whether until is now or 2030, and whether hb's
        # day is read from its hours (a ragged end) or whole from checks_daily (its last hour then comes from the
        # hourly cells of that one day, not the end of the day)
        for since in (hb, hb - hb % DAY):
            for until in ("now", "2030-01-01"):
                st = json.loads(report(conf, "--since", iso(since), "--until", until, "--endpoint", "stopped",
                                       "--json").out)["endpoints"][0]
                check(st["downtime_s"] == 2400.0 and st["state"] == "down",
                      "stopped --since %s --until %s: %r" % (iso(since), until, st))
        text = report(conf, "--since", iso(hb), "--until", "2030-01-01").out.splitlines()
        check(any(ln.startswith("onefail") and " 99.999% " in ln for ln in text), "text uptime: %r" % text)
        check(any(ln.startswith("never") and "dns 0.028" in ln for ln in text), "small means: %r" % text)
        # every column ends (right-aligned numbers) or starts (STATE) at the same display column on every line
        def width(t):
            return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in t)
        state_at = {width(ln[:ln.rstrip().rindex(" ")]) for ln in text[1:]}
        uptime_end = {width(ln[:ln.index("%") + 1]) for ln in text[2:] if "%" in ln}
        check(len(state_at) == 1 and len(uptime_end) == 1, "columns not aligned: %s" % "\n".join(text))
        # storage off, an unreadable config, a control character in a name
        harness.write_config(conf, base_config([endpoint("http://a.example/", name="a")], db=False, db_name=db))
        r = report(conf, code=1)
        check(r.err.strip() == "clockwerk report: storage is off in %s (database.db_activation = false): nothing "
              "to report" % conf, "storage off: %r" % r)
        r = report(os.path.join(d, "nonexistent.conf"), code=2)
        check(r.err.startswith("clockwerk report: cannot read %s: " % os.path.join(d, "nonexistent.conf"))
              and len(r.err.strip().splitlines()) == 1, "missing config: %r" % r)
        harness.write_config(conf, base_config([endpoint("http://a.example/", name="line1\nline2\x1b[31mred")],
                                               db_name=db))
        r = report(conf, code=2)
        check(re.search(r"clockwerk\.conf:\d+: .*name: contains a control character", r.err) and "\x1b" not in r.err,
              "control character: %r" % r)
        harness.note("review 25: state, trap name, downtime after stop, uptime, alignment, storage off: ok")
