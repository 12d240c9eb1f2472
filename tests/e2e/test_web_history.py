"""tests/e2e/test_web_history.py — clockwerk-web's history (docs/web.md, "History") with a real storer on SQLite,
PostgreSQL and MariaDB, seen from outside through /healthz's body ("history: N endpoints, read T s ago"):

- the web starts before the storer has made its database: no history yet, not fatal, /healthz 200 in the grace;
- once the storer has stored the endpoints the next refresh reads them (web.history_refresh = 5 s), and the
  refreshes go on (the age stays below a period or two);
- the statement of the detail's last checks (storer/reader.c store_read_sql_last_checks) reads the index
  checks_endpoint_time backwards on PostgreSQL and MariaDB (SQLite: the unit test);
- PostgreSQL stopped: the web keeps serving `/`, /healthz says why the read failed and turns 503 once the
  history is older than 3 periods; PostgreSQL back: 200 again with a fresh read.

The snapshot's figures and the endpoint detail are checked by tests/unit/test_web_history.c (the API that shows
them comes with the pages)."""

import re
import time

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, check, deadline, endpoint, free_port, tempdir, wait_for
from targets import Targets
from test_web import get, web_config

REFRESH = 5  # web.history_refresh, its minimum
HISTORY = re.compile(r"history: (\d+) endpoints?, read (\d+) s ago")


def healthz(port):
    """(status, body text), (None, "") while the web does not answer."""
    try:
        st, _, body = get(port, "/healthz")
        return st, body.decode()
    except OSError:
        return None, ""


def history_of(port):
    """(endpoints, age in s) from /healthz, or None while the history was not read."""
    st, body = healthz(port)
    m = HISTORY.search(body)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _db_group(server):
    return {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1", "db_port": server.port,
            "db_name": server.dbname, "db_user": server.user, "db_password": server.password}


def _start(d, t, server):
    port = free_port()
    eps = [endpoint(t.url("/ok"), name="Alpha"), endpoint(t.url("/status/500"), name="Beta")]
    cfg = web_config(eps, port, web={"history_refresh": REFRESH})
    if server is not None:
        cfg["database"] = _db_group(server)
    return port, Clockwerk(cfg, d)


def _check_reads(port, cw):
    """The history of both endpoints is read, then read again every period."""
    st, body = healthz(port)
    check(st in (200, None) or "history" in body, "/healthz at start: %s %r" % (st, body))
    wait_for(lambda: (history_of(port) or (0, 0))[0] == 2, deadline(60),
             lambda: "/healthz naming 2 endpoints of history: %r" % (healthz(port),))
    first = time.monotonic()
    # a later read: the age drops back below the period after having grown (or stays fresh)
    wait_for(lambda: time.monotonic() - first > 2 * REFRESH and history_of(port) and history_of(port)[1] <= REFRESH + 2,
             deadline(60), lambda: "a refreshed history: %r" % (healthz(port),))
    st, body = healthz(port)
    check(st == 200 and body.startswith("ok\n"), "/healthz with the history read: %s %r" % (st, body))
    harness.note("history read: %s" % body.strip().replace("\n", " | "))


# storer/reader.c store_read_sql_last_checks, with the server's checked_at expression
LAST_CHECKS = ("SELECT %s, ok, status_code, latency_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, error FROM checks"
               " WHERE endpoint_id = 1 ORDER BY checked_at DESC LIMIT 20")


def _check_last_checks_plan(server):
    """The last checks come from the index, never a scan and a sort of the endpoint's rows (PostgreSQL: with a
    handful of rows the planner would rather sort them; with scans and sorts priced out it shows the plan it has
    for a large table: the index backwards, no sort. MariaDB: likewise FORCE INDEX, and then no filesort — the
    index gives the order)."""
    if server.kind == "postgresql":
        rows = server.query("SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off; EXPLAIN "
                            + LAST_CHECKS
                            % "round(extract(epoch FROM checked_at) * 1000)::bigint")
        plan = " | ".join(r[0] for r in rows)
        check("Index Scan Backward using checks_endpoint_time" in plan and "Sort" not in plan,
              "PostgreSQL plan of the last checks: %s" % plan)
    else:
        sql = LAST_CHECKS % "CAST(ROUND(UNIX_TIMESTAMP(checked_at) * 1000) AS SIGNED)"
        rows = server.query("EXPLAIN " + sql.replace("FROM checks", "FROM checks FORCE INDEX (checks_endpoint_time)"))
        plan = " | ".join("\t".join(v or "" for v in r) for r in rows)
        check("checks_endpoint_time" in plan and "filesort" not in plan and "\tALL\t" not in plan,
              "MariaDB plan of the last checks: %s" % plan)
    harness.note("%s: the last checks read checks_endpoint_time: %s" % (server.kind, plan[:200]))


# storer/reader.c store_read_sql_alerts with a lower bound (the web's refresh), MariaDB's forms
BOUNDED_ALERTS = (
    "SELECT endpoint_id, kind, CAST(ROUND(UNIX_TIMESTAMP(raised_at) * 1000) AS SIGNED), message FROM (SELECT a.id,"
    " a.endpoint_id, a.kind, a.raised_at, a.message FROM alerts a JOIN (SELECT n.id FROM endpoints e JOIN alerts n"
    " ON n.endpoint_id = e.id AND n.kind IN ('down', 'up') AND n.raised_at >= '2026-01-01 00:00:00.000'"
    " AND n.raised_at < '2027-01-01 00:00:00.000' WHERE e.id BETWEEN 0 AND 1000 UNION ALL SELECT (SELECT b.id"
    " FROM alerts b WHERE b.endpoint_id = e.id AND b.kind IN ('down', 'up') AND b.raised_at <"
    " '2026-01-01 00:00:00.000' ORDER BY b.raised_at DESC, b.id DESC LIMIT 1) FROM endpoints e WHERE e.id"
    " BETWEEN 0 AND 1000) k ON a.id = k.id) s ORDER BY endpoint_id, raised_at, id")


def _check_bounded_alerts_plan(server):
    """MariaDB plans `id IN (SELECT ... UNION ALL SELECT ...)` as a dependent subquery run for every alert row
    (an alerts table of 40,000 rows and 200 endpoints took 3 minutes a chunk): the statement must join its ids as a
    derived table instead — no DEPENDENT UNION in its plan."""
    if server.kind == "postgresql":
        return
    rows = server.query("EXPLAIN " + BOUNDED_ALERTS)
    plan = " | ".join("\t".join(v or "" for v in r) for r in rows)
    check("DEPENDENT UNION" not in plan, "MariaDB plan of the bounded alerts: %s" % plan)
    harness.note("mysql: the bounded alerts' plan: %s" % plan[:300])


def _run(server_cls):
    with tempdir() as d, Targets() as t:
        if server_cls is None:
            port, cw = _start(d, t, None)
            with cw:
                _check_reads(port, cw)
            return
        with server_cls() as server:
            port, cw = _start(d, t, server)
            with cw:
                _check_reads(port, cw)
                _check_last_checks_plan(server)
                _check_bounded_alerts_plan(server)
                if server.kind == "postgresql":
                    _check_outage(port, cw, server)


def _check_outage(port, cw, server):
    server.stop()
    t0 = time.monotonic()
    wait_for(lambda: "the last read failed" in healthz(port)[1], deadline(4 * REFRESH),
             lambda: "/healthz naming the failed read: %r" % (healthz(port),))
    st, body = healthz(port)
    check(st == 200, "/healthz within 3 periods of the last read: %s %r" % (st, body))
    wait_for(lambda: healthz(port)[0] == 503, deadline(6 * REFRESH),
             lambda: "/healthz 503 with a history older than 3 periods: %r" % (healthz(port),))
    waited = time.monotonic() - t0
    check(waited >= 2 * REFRESH, "503 only after the grace (%.1f s)" % waited)
    st, _, page = get(port, "/")
    check(st == 200 and b"Alpha" in page, "the page while the database is down: %s" % st)
    harness.note("PostgreSQL down: /healthz 503 after %.1f s: %r" % (waited, healthz(port)[1].strip()))
    server.start()
    wait_for(lambda: healthz(port)[0] == 200 and "the last read failed" not in healthz(port)[1],
             deadline(6 * REFRESH), lambda: "/healthz 200 again: %r" % (healthz(port),))
    cw.wait_log(r"history: read again \(2 endpoints in", timeout=10)


@harness.timeout(240)
def test_web_history_sqlite():
    _run(None)


@harness.timeout(300)
def test_web_history_postgresql():
    _run(PostgresServer)


@harness.timeout(300)
def test_web_history_mysql():
    _run(MariaDBServer)
