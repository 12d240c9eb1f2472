#!/usr/bin/python3
"""bench/report_bench.py — `clockwerk report --since 90d` over many endpoints with 90 days of roll-ups, on SQLite,
PostgreSQL and MariaDB (issue 12's figure: 10,000 endpoints under 1 s on SQLite, under 2 s on the servers).

    /usr/bin/python3 bench/report_bench.py [--endpoints N] [--days D] [--runs R] [--drivers sqlite,postgresql,mysql]

For each database (PostgreSQL and MariaDB as private servers, tests/e2e/dbservers.py; SQLite in a temporary
directory) it creates the schema (bench/store_bench open) and generates the roll-ups directly, on the server
(INSERT ... SELECT from 64 histogram variants with 8-15 latency buckets each, as a day of a real endpoint has):
per endpoint one checks_daily cell for each of the last D+1 days, checks_hourly cells for every hour of the
first of those days and of the last HOURLY_DAYS days (the ragged ends and some of the hourly retention around
them), and one raw row above the watermark. Older hourly cells are left out: the report reads checks_hourly
through one primary-key range per endpoint (endpoints are the outer loop: CROSS JOIN in SQLite, STRAIGHT_JOIN
in MariaDB, a nested loop PostgreSQL picks with the table analysed), so the hours outside the window are never
visited and the 400 days of a real retention would not change the plan. The config holds the N endpoints.

Then it runs `clockwerk report -c FILE --since 90d --json` R times and prints the median wall-clock time of the
whole command (configuration parsed twice included) against the target. The private MariaDB server starts with
a 64 MB buffer pool (tests/e2e/dbservers.py), smaller than the 245 MB of checks_daily here: the bench raises it
to 1 GB (SET GLOBAL, as a server holding this database would be configured), else every report reads the table
from disk into a pool that cannot hold it (5 s instead of under 2).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

from dbservers import MariaDBServer, PostgresServer  # noqa: E402

HOURLY_DAYS = 2
TARGET_S = {"sqlite": 1.0, "postgresql": 2.0, "mysql": 2.0}
DAY = 86400


def blob(values_ms):
    from test_report import encode  # the documented blob layout, written once (tests/e2e/test_report.py)
    return encode(values_ms)


def variants():
    """64 (latency, dns, connect, tls, ttfb) blob sets: a day of 1440 checks each."""
    out = []
    for k in range(64):
        base = 40.0 + 5 * k
        lat = [base * (1 + 0.3 * ((i * 37 + k) % 97) / 97.0) for i in range(1440)]
        out.append((blob(lat), blob([1.0 + (i % 3) * 0.1 for i in range(1440)]), blob([2.0] * 1440),
                    blob([8.0 + (i % 5) for i in range(1440)]), blob([base * 0.8] * 1440)))
    return out


def hexlit(kind, b):
    return "'\\x%s'::bytea" % b.hex() if kind == "postgresql" else "X'%s'" % b.hex()


def alert_statements(kind, days, now, incidents, add_s, seq):
    """Down/up alerts: `incidents` pairs spread over the days for every tenth endpoint, an open `down` for every
    hundredth (raised an hour ago). alert_id: the endpoint id * 64 + the alert's number."""
    if not incidents:
        return []
    first = now // DAY * DAY - days * DAY
    cols = "INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state) "
    down_at = "(p.x * %d + e.id %% 7) * 86400 + (e.id %% 24) * 3600" % max(1, days // incidents)
    return [cols + "SELECT e.id * 64 + 2 * p.x + %d, e.id, %s, '%s', 'bench incident: connection refused', "
            "'none', 'none' FROM endpoints e CROSS JOIN %s AS p WHERE e.id %% 10 = 0"
            % (up, add_s(first, down_at + (" + 1200" if up else "")), "up" if up else "down", seq(incidents))
            for up in (0, 1)] + [
        cols + "SELECT e.id * 64 + 63, e.id, %s, 'down', 'bench incident: timed out', 'none', 'none' "
        "FROM endpoints e WHERE e.id %% 100 = 0" % add_s(now - 3600, "0")]


def statements(kind, n, days, now, url=("http://bench-", ".example/"), raw_rows=1, incidents=0):
    """The SQL that fills a fresh schema: endpoints, blob variants, daily and hourly cells, raw rows. Shared with
    bench/web_bench.py, which passes the rest: url, the (prefix, suffix) of endpoint x's URL; raw_rows, the raw
    checks per endpoint above the watermark (one a minute back from now - 30 s; the web's last checks);
    incidents, a down/up pair of alerts (20 minutes DOWN) that many times over the days for every tenth
    endpoint, and a `down` still open for every hundredth (the web's incidents and states)."""
    today = now // DAY * DAY
    first = today - days * DAY
    seq = {  # integers 0..count-1 as a table expression
        "sqlite": lambda count: "(WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < %d) "
                                "SELECT x FROM s)" % (count - 1),
        "postgresql": lambda count: "(SELECT generate_series(0, %d) AS x)" % (count - 1),
        "mysql": lambda count: "(SELECT seq AS x FROM seq_0_to_%d)" % (count - 1),
    }[kind]
    add_s = {
        "sqlite": lambda base, expr: "strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000Z', %d + %s, 'unixepoch')" % (base, expr),
        "postgresql": lambda base, expr: "to_timestamp(%d + %s)" % (base, expr),
        "mysql": lambda base, expr: "FROM_UNIXTIME(%d + %s)" % (base, expr),
    }[kind]
    out = ["CREATE TABLE bench_blobs (k INTEGER PRIMARY KEY, lat %s, dns %s, con %s, tls %s, ttfb %s)"
           % tuple(["BYTEA" if kind == "postgresql" else "BLOB"] * 5)]
    for k, bl in enumerate(variants()):
        out.append("INSERT INTO bench_blobs VALUES (%d, %s)" % (k, ", ".join(hexlit(kind, b) for b in bl)))
    out.append("INSERT INTO endpoints (url, name) SELECT %s, NULL FROM %s AS s"
               % (("'%s' || x || '%s'" if kind != "mysql" else "CONCAT('%s', x, '%s')") % url, seq(n)))
    cell = ("INSERT INTO %s (endpoint_id, period_start, checks, ok, failures, latency_hist, dns_hist, connect_hist, "
            "tls_hist, ttfb_hist) SELECT e.id, %s, %d, %d, %d, b.lat, b.dns, b.con, b.tls, b.ttfb "
            "FROM endpoints e CROSS JOIN %s AS p JOIN bench_blobs b ON b.k = (e.id * 7 + p.x) %% 64")
    out.append(cell % ("checks_daily", add_s(first, "p.x * 86400"), 1440, 1438, 2, seq(days + 1)))
    # hourly: the first day's 24 hours, and the last HOURLY_DAYS days up to now
    out.append(cell % ("checks_hourly", add_s(first, "p.x * 3600"), 60, 60, 0, seq(24)))
    recent = (now - (today - (HOURLY_DAYS - 1) * DAY)) // 3600 + 1
    out.append(cell % ("checks_hourly", add_s(today - (HOURLY_DAYS - 1) * DAY, "p.x * 3600"), 60, 60, 0, seq(recent)))
    okv = "true" if kind == "postgresql" else "1"
    out.append("INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, error, dns_ms, connect_ms, "
               "tls_ms, ttfb_ms, worker, boot_id, seq) SELECT e.id, %s, 200, 55.5, %s, NULL, 1.0, 2.0, 8.0, 40.0, 0, "
               "1, e.id * %d + p.x FROM endpoints e CROSS JOIN %s AS p"
               % (add_s(now - 30 - 60 * (raw_rows - 1), "60 * p.x"), okv, raw_rows, seq(raw_rows)))
    out.extend(alert_statements(kind, days, now, incidents, add_s, seq))
    out.append("UPDATE rollup_state SET last_check_id = 0")
    out.append("DROP TABLE bench_blobs")
    if kind == "postgresql":
        out.append("ANALYZE")
    elif kind == "mysql":
        out.append("ANALYZE TABLE endpoints, checks_daily, checks_hourly, checks")
    return out


def store_bench(args, password):
    exe = os.environ.get("CLOCKWERK_BENCH_BIN", os.path.join(REPO, "build", "default", "bench"))
    env = dict(os.environ, CLOCKWERK_DB_PASSWORD=password or "")
    r = subprocess.run([os.path.join(exe, "store_bench")] + args + ["open"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("store_bench open: %s %s" % (r.stdout, r.stderr))


def fill(kind, server, path, n, days, now, **shape):
    """A fresh schema filled by statements(); shape: its url, raw_rows and incidents."""
    import sqlite3
    if kind == "sqlite":
        store_bench(["--driver", "sqlite", "--db", path], None)
        con = sqlite3.connect(path)
        for st in statements(kind, n, days, now, **shape):
            con.execute(st)
        con.commit()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        return
    if kind == "mysql":
        server.sql_root("SET GLOBAL innodb_buffer_pool_size = %d" % (1 << 30))
        deadline = time.monotonic() + 60
        while int(server.sql_root("SELECT @@innodb_buffer_pool_size").strip()) < (1 << 30):
            if time.monotonic() > deadline:
                raise RuntimeError("MariaDB did not grow its buffer pool to 1 GB")
            time.sleep(0.2)
    store_bench(["--driver", kind, "--host", "127.0.0.1", "--port", str(server.port), "--db", server.dbname,
                 "--user", server.user], server.password)
    for st in statements(kind, n, days, now, **shape):
        server.query(st)


def write_config(tmp, kind, server, path, n):
    if kind == "sqlite":
        db = 'database = { db_activation = true; db_driver = "sqlite"; db_name = "%s"; };' % path
    else:
        db = server.config()
    eps = ",\n".join('  { url = "http://bench-%d.example/"; }' % i for i in range(n))
    conf = os.path.join(tmp, "%s.conf" % kind)
    with open(conf, "w") as f:
        f.write('supervisor = { workers = 1; run_dir = "run"; };\n%s\nmonitor = { endpoints = (\n%s\n); };\n'
                % (db, eps))
    os.chmod(conf, 0o600)
    return conf


def time_report(conf, runs):
    binary = os.path.join(os.environ.get("CLOCKWERK_BIN", os.path.join(REPO, "bin")), "clockwerk")
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        r = subprocess.run([binary, "report", "-c", conf, "--since", "90d", "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        times.append(time.monotonic() - t0)
        if r.returncode != 0:
            raise RuntimeError("clockwerk report failed (%d): %s" % (r.returncode, r.stderr))
    return statistics.median(times), r.stdout


def bench_one(kind, server, tmp, n, days, runs):
    import json
    path = os.path.join(tmp, "report.db")
    now = int(time.time())
    t0 = time.monotonic()
    fill(kind, server, path, n, days, now)
    gen = time.monotonic() - t0
    conf = write_config(tmp, kind, server, path, n)
    median, out = time_report(conf, runs)
    eps = json.loads(out)["endpoints"]
    checks = eps[0]["checks"] if eps else 0
    line = ("report --since 90d, %d endpoints, %d days of roll-ups, %-10s %6.2f s (target < %.0f s: %s); "
            "%d checks per endpoint; data generated in %.0f s"
            % (n, days, kind + ":", median, TARGET_S[kind], "met" if median < TARGET_S[kind] else "MISSED",
               checks, gen))
    print(line, flush=True)
    return line


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoints", type=int, default=10000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--drivers", default="sqlite,postgresql,mysql")
    a = ap.parse_args(argv)
    lines = []
    for kind in a.drivers.split(","):
        tmp = tempfile.mkdtemp(prefix="cw-report-bench-")
        try:
            if kind == "sqlite":
                lines.append(bench_one(kind, None, tmp, a.endpoints, a.days, a.runs))
            else:
                with (PostgresServer() if kind == "postgresql" else MariaDBServer()) as server:
                    lines.append(bench_one(kind, server, tmp, a.endpoints, a.days, a.runs))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return lines


if __name__ == "__main__":
    main()
