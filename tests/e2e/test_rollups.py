"""tests/e2e/test_rollups.py — the storer's hourly and daily roll-ups (docs/schema.md, "Roll-ups"), on real
SQLite, PostgreSQL and MariaDB.

  test_rollups_match_raw_rows    one scenario stored by sqlite, postgresql and mysql at once, roll-ups folded
                                 every 300 ms while it runs: per endpoint and hour (and day) the roll-up's
                                 checks/ok/failures equal the raw rows' counts, every histogram blob decodes
                                 (by the byte layout of docs/schema.md, in Python) and the latency histogram's
                                 total equals the checks; the watermark moved while the storer ran
  test_rollups_after_storer_kills  the storer is killed with -9 six times under load (roll-ups folded every
                                 100 ms, so kills land in and around folds): the roll-up totals still equal the
                                 raw row counts — nothing lost, nothing counted twice
  test_migration_sqlite          a schema-2 SQLite database holding 250,000 rows over three days is migrated by
                                 the storer's migrate: the roll-ups are built in chunks with progress in the
                                 log and are EXACT — every bucket of every histogram equals what Python computes
                                 from the raw values
  test_migration_servers         the same for PostgreSQL and MariaDB with 30,000 rows (counts and histogram totals)
"""

import math
import os
import random
import sqlite3
import subprocess
import time

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, tempdir, wait_for
from targets import Targets

STORER = "clockwerk: storer"
HISTS = ("latency_hist", "dns_hist", "connect_hist", "tls_hist", "ttfb_hist")
PHASES = ("latency_ms", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms")

# ---------------------------------------------------------------------------- the blob, from the document


def bucket_of(us):
    """docs/schema.md: 0..15 µs a bucket each; then 16 per power of two; from 2^27 µs the overflow (384)."""
    v = max(int(us), 0)
    if v < 16:
        return v
    msb = v.bit_length() - 1
    if msb >= 27:
        return 384
    return ((msb - 3) << 4) + ((v >> (msb - 4)) & 15)


def decode_hist(blob):
    """{bucket: count} of a histogram blob; raises ValueError when it breaks the documented layout."""
    if len(blob) < 3 or blob[0] != 1:
        raise ValueError("bad header %r" % blob[:3])
    n = int.from_bytes(blob[1:3], "little")
    if len(blob) != 3 + 6 * n:
        raise ValueError("length %d for %d entries" % (len(blob), n))
    out, prev = {}, -1
    for i in range(n):
        b = int.from_bytes(blob[3 + 6 * i:5 + 6 * i], "little")
        c = int.from_bytes(blob[5 + 6 * i:9 + 6 * i], "little")
        if b <= prev or b > 384 or c == 0:
            raise ValueError("entry %d: bucket %d count %d" % (i, b, c))
        out[b] = c
        prev = b
    return out


def ms_to_us(ms):
    return int(math.floor(float(ms) * 1000.0 + 0.5))


# ---------------------------------------------------------------------------------- queries per database

# The hour and day of a time as text, 'YYYY-MM-DD HH' / 'YYYY-MM-DD', in UTC, per database.
KEY = {
    "sqlite": (lambda col: "replace(substr(%s, 1, 13), 'T', ' ')" % col, lambda col: "substr(%s, 1, 10)" % col),
    "postgresql": (lambda col: "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')" % col,
                   lambda col: "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD')" % col),
    "mysql": (lambda col: "DATE_FORMAT(%s, '%%Y-%%m-%%d %%H')" % col, lambda col: "DATE_FORMAT(%s, '%%Y-%%m-%%d')" % col),
}
HEX = {"sqlite": "hex(%s)", "postgresql": "encode(%s, 'hex')", "mysql": "HEX(%s)"}


def _run(kind, server, sqlite_path, sql):
    if kind == "sqlite":
        return [list(r) for r in harness.Sqlite(sqlite_path).query(sql)]
    return server.query(sql)


def raw_counts(kind, server, sqlite_path, daily=False):
    """{(url, period key): (checks, ok)} from the raw rows."""
    key = KEY[kind][1 if daily else 0]("c.checked_at")
    sql = ("SELECT e.url, %s, COUNT(*), SUM(CASE WHEN c.ok THEN 1 ELSE 0 END), COUNT(c.latency_ms) "
           "FROM checks c JOIN endpoints e ON e.id = c.endpoint_id GROUP BY e.url, %s" % (key, key))
    return {(r[0], str(r[1])): (int(r[2]), int(r[3]), int(r[4])) for r in _run(kind, server, sqlite_path, sql)}


def rollups(kind, server, sqlite_path, daily=False):
    """{(url, period key): (checks, ok, failures, [hist dicts])} from checks_hourly / checks_daily."""
    table = "checks_daily" if daily else "checks_hourly"
    key = KEY[kind][1 if daily else 0]("r.period_start")
    hexes = ", ".join(HEX[kind] % ("r." + h) for h in HISTS)
    sql = ("SELECT e.url, %s, r.checks, r.ok, r.failures, %s FROM %s r JOIN endpoints e ON e.id = r.endpoint_id"
           % (key, hexes, table))
    out = {}
    for r in _run(kind, server, sqlite_path, sql):
        k = (r[0], str(r[1]))
        check(k not in out, "%s %s: two rows for %r" % (kind, table, k))
        out[k] = (int(r[2]), int(r[3]), int(r[4]), [decode_hist(bytes.fromhex(h)) for h in r[5:]])
    return out


def watermark(kind, server, sqlite_path):
    """The watermark, or None while the storer has not created the table yet (a busy machine)."""
    sql = "SELECT last_check_id FROM rollup_state"
    rows = harness.Sqlite(sqlite_path).try_query(sql) if kind == "sqlite" else _run(kind, server, sqlite_path, sql)
    return int(rows[0][0]) if rows else None


def compare(kind, server, sqlite_path, what):
    """Roll-ups (hourly and daily) against the raw rows; returns the number of checks covered."""
    total = 0
    for daily in (False, True):
        raw = raw_counts(kind, server, sqlite_path, daily)
        got = rollups(kind, server, sqlite_path, daily)
        name = "daily" if daily else "hourly"
        check(set(raw) == set(got), "%s %s (%s): periods differ: raw only %r, roll-up only %r"
              % (kind, name, what, sorted(set(raw) - set(got))[:5], sorted(set(got) - set(raw))[:5]))
        for k, (checks, ok, with_latency) in raw.items():
            c, o, f, hists = got[k]
            check((c, o, f) == (checks, ok, checks - ok), "%s %s (%s) %r: roll-up checks/ok/failures %r, raw rows %r"
                  % (kind, name, what, k, (c, o, f), (checks, ok, checks - ok)))
            check(sum(hists[0].values()) == with_latency,
                  "%s %s (%s) %r: latency histogram holds %d values for %d checks with a latency"
                  % (kind, name, what, k, sum(hists[0].values()), with_latency))
            if not daily:
                total += checks
    return total


# ------------------------------------------------------------------------------------ 1. after a run

def _db_group(server):
    return {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1", "db_port": server.port,
            "db_name": server.dbname, "db_user": server.user, "db_password": server.password}


@harness.timeout(300)
def test_rollups_match_raw_rows():
    with tempdir() as d, Targets() as t, PostgresServer() as pg, MariaDBServer() as my:
        eps = [endpoint(t.url("/ok"), timeout=1), endpoint(t.url("/fail"), timeout=1),
               endpoint(t.url("/status/404"), timeout=1), endpoint(closed_port_url("/closed"), timeout=1)]
        env = {"CLOCKWERK_ROLLUP_EVERY_MS": "300"}
        servers = {"sqlite": None, "postgresql": pg, "mysql": my}
        cws = {}
        try:
            for name, server in servers.items():
                wd = os.path.join(d, name)
                os.makedirs(wd)
                cfg = base_config(eps, workers=2)
                if server is not None:
                    cfg["database"] = _db_group(server)
                cws[name] = Clockwerk(cfg, wd, name=name, env=env).start()
            for cw in cws.values():
                cw.wait_ready()
            paths = {name: os.path.join(d, name, "clockwerk.db") for name in servers}

            def folded(name):
                try:
                    w = watermark(name, servers[name], paths[name])
                except Exception:
                    return None
                return w is not None and w >= 10 * len(eps)
            for name in servers:   # folds inside the batches' transactions, while running
                wait_for(lambda: folded(name), deadline(60), "%s: the watermark moving while the storer runs" % name)
            for cw in cws.values():
                cw.stop()
            for name, server in servers.items():
                n = compare(name, server, paths[name], "after a run")
                check(watermark(name, server, paths[name]) > 0, "%s: watermark did not move" % name)
                harness.note("%s: roll-ups equal the raw rows over %d checks" % (name, n))
        finally:
            for cw in cws.values():
                cw.cleanup()


# ------------------------------------------------------------------------------- 2. storer kill -9

@harness.timeout(400)
def test_rollups_after_storer_kills():
    rng = random.Random(1212)
    with tempdir() as d, Targets() as t:
        eps = [endpoint(t.url("/ok?n=%d" % i), timeout=1) for i in range(40)]
        eps += [endpoint(t.url("/fail?n=%d" % i), timeout=1) for i in range(10)]
        cw = Clockwerk(base_config(eps, workers=2), d, env={"CLOCKWERK_ROLLUP_EVERY_MS": "100"})
        with cw:
            cw.wait_ready()
            path = cw.db_path
            wait_for(lambda: (watermark("sqlite", None, path) or 0) > 100, deadline(60), "a first fold")
            for i in range(6):
                pid = wait_for(lambda: cw.child(STORER), deadline(60), "a running storer")
                time.sleep(rng.uniform(0.3, 2.5))
                pid = cw.child(STORER) or pid
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
                cw.wait_new_child(STORER, pid, timeout=60)
            wait_for(lambda: cw.child(STORER), deadline(60), "the storer back")
            before = watermark("sqlite", None, path)
            wait_for(lambda: watermark("sqlite", None, path) > before, deadline(60), "folds after the kills")
            cw.stop(timeout=30)
        n = compare("sqlite", None, path, "after 6 kills")
        dup = harness.Sqlite(path).query("SELECT COUNT(*) - COUNT(DISTINCT worker || '/' || boot_id || '/' || seq) "
                                         "FROM checks")[0][0]
        check(dup == 0, "%d duplicated raw rows" % dup)
        harness.note("6 storer kills: roll-ups equal the %d raw rows" % n)


# ------------------------------------------------------------------------------------ 3. migration

def _bench(args, server=None):
    """bench/store_bench (its `open` migrates), with its log at debug level (STORE_BENCH_DEBUG) on stderr."""
    from test_databases import _store_bench
    env = harness.child_env({"CLOCKWERK_DB_PASSWORD": server.password if server else "", "STORE_BENCH_DEBUG": "1"})
    r = subprocess.run([_store_bench()] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                       timeout=300)
    harness.ARTIFACTS["store_bench %s" % " ".join(args)] = r.stdout + r.stderr[-4000:]
    return r


def _exact(path):
    """{(url, hour key): [bucket dicts]} computed in Python from the raw rows of a SQLite file."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    out = {}
    for row in con.execute("SELECT e.url, replace(substr(c.checked_at, 1, 13), 'T', ' '), %s FROM checks c "
                           "JOIN endpoints e ON e.id = c.endpoint_id" % ", ".join("c." + p for p in PHASES)):
        hs = out.setdefault((row[0], row[1]), [{} for _ in HISTS])
        for i, v in enumerate(row[2:]):
            if v is not None:
                b = bucket_of(ms_to_us(v))
                hs[i][b] = hs[i].get(b, 0) + 1
    con.close()
    return out


def _make_v2(kind, server, path):
    """A fresh schema, then turned back into schema 2 (roll-up tables, schema 4's columns, versions 3 and 4
    removed)."""
    args = ["--driver", "sqlite", "--db", path] if kind == "sqlite" else \
        ["--driver", server.kind, "--host", "127.0.0.1", "--port", str(server.port), "--db", server.dbname,
         "--user", server.user]
    r = _bench(args + ["open"], server)
    check(r.returncode == 0, "%s: first open exited %d: %s %s" % (kind, r.returncode, r.stdout, r.stderr))
    for sql in ("DROP TABLE checks_hourly", "DROP TABLE checks_daily", "DROP TABLE rollup_state",
                "ALTER TABLE checks DROP COLUMN details", "ALTER TABLE endpoints DROP COLUMN type",
                "DELETE FROM schema_version WHERE version >= 3"):
        if kind == "sqlite":
            con = sqlite3.connect(path)
            con.execute(sql)
            con.commit()
            con.close()
        else:
            server.query(sql)
    return args


@harness.timeout(600)
def test_migration_sqlite():
    with tempdir() as d:
        path = os.path.join(d, "v2.db")
        args = _make_v2("sqlite", None, path)
        rng = random.Random(7)
        con = sqlite3.connect(path)
        con.executemany("INSERT INTO endpoints (url) VALUES (?)", [("http://e%d.example/" % i,) for i in range(3)])
        t0 = 1796342400  # 2026-12-04T00:00:00Z
        rows = []
        for i in range(250000):
            at = t0 + i  # ~69 hours: three days, many hours
            lat = rng.lognormvariate(3.0, 1.2)
            rows.append((1 + i % 3, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + ".%03dZ" % (i % 1000),
                         200 if i % 7 else 500, lat, 0 if i % 7 == 0 else 1, None if i % 7 else "HTTP 500",
                         None if i % 11 == 0 else lat / 10, lat / 5, None if i % 2 else lat / 3, lat / 2,
                         i % 4, 42, i))
        con.executemany("INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, error, dns_ms, "
                        "connect_ms, tls_ms, ttfb_ms, worker, boot_id, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        con.commit()
        con.close()
        t = time.monotonic()
        r = _bench(args + ["open"])
        took = time.monotonic() - t
        check(r.returncode == 0, "migration exited %d: %s %s" % (r.returncode, r.stdout, r.stderr))
        check("building roll-ups from the raw rows" in r.stderr and "roll-ups built from 250000 raw rows" in r.stderr,
              "no progress in the log: %s" % r.stderr[-2000:])
        check("schema upgraded from version 2 to 6" in r.stderr, "no upgrade line: %s" % r.stderr[-2000:])
        n = compare("sqlite", None, path, "after the migration")
        check(n == 250000, "roll-ups cover %d of 250000 rows" % n)
        exact = _exact(path)
        got = rollups("sqlite", None, path)
        for k, hs in exact.items():
            for i, h in enumerate(HISTS):
                check(got[k][3][i] == hs[i], "%r %s: buckets differ from the raw values" % (k, h))
        check(watermark("sqlite", None, path) == 250000, "watermark %r" % watermark("sqlite", None, path))
        harness.note("schema 2 -> 3 over 250,000 SQLite rows in %.1f s (open + migrate + build), exact buckets" % took)


@harness.timeout(600)
def test_migration_servers():
    with tempdir() as d, PostgresServer() as pg, MariaDBServer() as my:
        for kind, server in (("postgresql", pg), ("mysql", my)):
            args = _make_v2(kind, server, None)
            server.query("INSERT INTO endpoints (url) VALUES ('http://a.example/'), ('http://b.example/')")
            if kind == "postgresql":
                server.query("INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, worker, "
                             "boot_id, seq) SELECT (SELECT min(id) FROM endpoints) + n % 2, "
                             "timestamptz '2026-12-03 00:00:00+00' + n * interval '7 seconds', 200, "
                             "(n % 997) * 1.5, n % 5 <> 0, 0, 9, n FROM generate_series(1, 30000) AS n")
            else:
                server.query("INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, worker, "
                             "boot_id, seq) SELECT (SELECT MIN(id) FROM endpoints) + n % 2, "
                             "TIMESTAMP('2026-12-03 00:00:00') + INTERVAL (n * 7) SECOND, 200, (n % 997) * 1.5, "
                             "n % 5 <> 0, 0, 9, n FROM (SELECT seq AS n FROM seq_1_to_30000) AS s")  # MariaDB's Sequence engine
            r = _bench(args + ["open"], server)
            check(r.returncode == 0, "%s: migration exited %d: %s %s" % (kind, r.returncode, r.stdout, r.stderr))
            n = compare(kind, server, None, "after the migration")
            check(n == 30000, "%s: roll-ups cover %d of 30000 rows" % (kind, n))
            versions = sorted(int(v[0]) for v in server.query("SELECT version FROM schema_version"))
            check(versions == [1, 2, 3, 4, 5, 6], "%s: schema_version %r" % (kind, versions))
            harness.note("%s: schema 2 -> 3 over 30,000 rows, roll-ups equal the raw rows" % kind)
