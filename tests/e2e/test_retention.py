"""tests/e2e/test_retention.py — retention (database.retention, docs/schema.md "Retention"): the storer prunes
old raw rows and roll-up cells in small steps while the pipeline keeps storing, on real SQLite, PostgreSQL and
MariaDB.

  test_retention_under_load   per database: a history written by SQL before the start — 600,000 raw rows older
                              than raw_days = 1 and 20,000 younger ones (all at or below the roll-ups' watermark),
                              1,000 old rows ABOVE the watermark, hourly cells over 10 days and daily cells over
                              20 days — then clockwerk runs with retention { raw_days = 1; hourly_days = 3;
                              daily_days = 7; } and 20 loopback endpoints checked every 0.2 s. Asserted: every old
                              row at or below the watermark goes; NOTHING inside the retention is lost (exact counts
                              of the young rows, of the cells inside their bounds, of the rows above the watermark);
                              the pipeline's rows kept arriving while the pruning ran, with no seq gap; the log says
                              what was removed. Folding is off (CLOCKWERK_ROLLUPS=off) so the watermark stays where
                              the test put it: that is what makes "never above the watermark" observable here
                              (tests/unit/test_prune_sqlite.c covers pruning with folds).
  test_retention_reload       SQLite, retention "forever" (all three 0): old rows and cells stay while the storer
                              runs; a reload (SIGHUP) with raw_days = 1 and hourly_days = 3 removes them, and the
                              young ones stay.
"""

import os
import time

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from targets import Targets

OLD, YOUNG, ABOVE = 600000, 20000, 1000
DAY, HOUR = 86400, 3600
EMPTY_HIST = "010000"  # version 1, no buckets (docs/schema.md)


def _store_bench_open(kind, server, path):
    """The schema of this build, made by bench/store_bench's `open` (the storer's own migrate)."""
    from test_rollups import _bench
    args = ["--driver", "sqlite", "--db", path] if kind == "sqlite" else \
        ["--driver", server.kind, "--host", "127.0.0.1", "--port", str(server.port), "--db", server.dbname,
         "--user", server.user]
    r = _bench(args + ["open"], server)
    check(r.returncode == 0, "%s: open exited %d: %s %s" % (kind, r.returncode, r.stdout, r.stderr))


class Db:
    """Queries on one database, the same SQL shapes in all three (times as UTC seconds)."""

    def __init__(self, kind, server, path):
        self.kind, self.server, self.path = kind, server, path

    def run(self, sql):
        if self.kind == "sqlite":
            return [list(r) for r in harness.Sqlite(self.path).query(sql)]
        return self.server.query(sql)

    def execute(self, sql):
        if self.kind == "sqlite":
            import sqlite3
            con = sqlite3.connect(self.path, timeout=30)
            con.execute(sql)
            con.commit()
            con.close()
        else:
            self.server.query(sql)

    def one(self, sql):
        rows = self.run(sql)
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def time(self, expr):
        """A stored time from UTC seconds (a SQL expression)."""
        if self.kind == "sqlite":
            return "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', %s, 'unixepoch')" % expr
        if self.kind == "postgresql":
            return "to_timestamp(%s)" % expr
        return "(TIMESTAMP('1970-01-01 00:00:00') + INTERVAL (%s) SECOND)" % expr

    def series(self, n):
        """A FROM clause giving n rows numbered 1..n in column n."""
        if self.kind == "sqlite":
            return "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %d) SELECT n FROM s) q" % n
        if self.kind == "postgresql":
            return "generate_series(1, %d) AS q(n)" % n
        return "(SELECT seq AS n FROM seq_1_to_%d) q" % n  # MariaDB's Sequence engine

    def blob(self, hexed):
        return {"sqlite": "X'%s'", "postgresql": "'\\x%s'::bytea", "mysql": "X'%s'"}[self.kind] % hexed


def prefill(db, now, old=OLD, young=YOUNG, above=ABOVE):
    """The history of the docstring; returns what must stay ({name: count}), what must go and the watermark."""
    db.execute("INSERT INTO endpoints (url) VALUES ('http://old-a.example/'), ('http://old-b.example/')")
    ep = db.one("SELECT MIN(id) FROM endpoints")
    cols = "endpoint_id, checked_at, status_code, latency_ms, ok, worker, boot_id, seq"
    old_end = now - DAY - 2 * HOUR  # the youngest old row: two hours past the bound
    db.execute("INSERT INTO checks (%s) SELECT %d + n %% 2, %s, 200, 12.5, TRUE, 99, 1, n FROM %s"
               % (cols, ep, db.time("%d + n" % (old_end - old)), db.series(old)))
    young_start = now - DAY + 2 * HOUR  # the oldest young row: two hours inside the bound
    db.execute("INSERT INTO checks (%s) SELECT %d + n %% 2, %s, 200, 12.5, TRUE, 99, 2, n FROM %s"
               % (cols, ep, db.time("%d + 3 * n" % young_start), db.series(young)))
    mark = db.one("SELECT MAX(id) FROM checks")
    db.execute("UPDATE rollup_state SET last_check_id = %d WHERE id = 1" % mark)
    db.execute("INSERT INTO checks (%s) SELECT %d, %s, 200, 12.5, TRUE, 99, 3, n FROM %s"
               % (cols, ep, db.time("%d + n" % (now - 5 * DAY)), db.series(above)))
    # cells: hour k (days j) before the current one; the bound's own period is left out (it moves with the clock)
    h0, d0 = now // HOUR * HOUR, now // DAY * DAY
    hours = [k for k in range(1, 240) if k != 72]
    days = [j for j in range(1, 20) if j != 7]
    cells = "endpoint_id, period_start, checks, ok, failures, latency_hist, dns_hist, connect_hist, tls_hist, ttfb_hist"
    b = db.blob(EMPTY_HIST)
    for table, starts in (("checks_hourly", [h0 - k * HOUR for k in hours]), ("checks_daily", [d0 - j * DAY for j in days])):
        for e in (ep, ep + 1):
            values = ", ".join("(%d, %s, 1, 1, 0, %s, %s, %s, %s, %s)" % (e, db.time(str(s)), b, b, b, b, b)
                               for s in starts)
            db.execute("INSERT INTO %s (%s) VALUES %s" % (table, cells, values))
    keep = {"young": young, "above": above, "hourly": 2 * sum(1 for k in hours if k < 72),
            "daily": 2 * sum(1 for j in days if j < 7)}
    gone = {"hourly": 2 * sum(1 for k in hours if k > 72), "daily": 2 * sum(1 for j in days if j > 7)}
    return keep, gone, mark


def counts(db, mark, hb, dbound):
    """What is in the database now, by the groups of the docstring (hb, dbound: the cell bounds as times)."""
    return {
        "old": db.one("SELECT COUNT(*) FROM checks WHERE boot_id = 1 AND worker = 99"),
        "young": db.one("SELECT COUNT(*) FROM checks WHERE boot_id = 2 AND worker = 99"),
        "above": db.one("SELECT COUNT(*) FROM checks WHERE boot_id = 3 AND worker = 99"),
        "hourly": db.one("SELECT COUNT(*) FROM checks_hourly WHERE period_start >= %s" % db.time(str(hb))),
        "hourly_old": db.one("SELECT COUNT(*) FROM checks_hourly WHERE period_start < %s" % db.time(str(hb))),
        "daily": db.one("SELECT COUNT(*) FROM checks_daily WHERE period_start >= %s" % db.time(str(dbound))),
        "daily_old": db.one("SELECT COUNT(*) FROM checks_daily WHERE period_start < %s" % db.time(str(dbound))),
        "pipeline": db.one("SELECT COUNT(*) FROM checks WHERE worker <> 99"),
    }


def seq_gaps(db):
    rows = db.run("SELECT worker, boot_id, MAX(seq) - MIN(seq) + 1 - COUNT(*) FROM checks WHERE worker <> 99 "
                  "GROUP BY worker, boot_id")
    return sum(int(r[2]) for r in rows)


def _db_group(server):
    return {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1", "db_port": server.port,
            "db_name": server.dbname, "db_user": server.user, "db_password": server.password}


def run_one(kind, server, d, t):
    path = os.path.join(d, kind, "clockwerk.db")
    os.makedirs(os.path.dirname(path))
    _store_bench_open(kind, server, path)
    db = Db(kind, server, path)
    now = int(time.time())
    t0 = time.monotonic()
    keep, gone, mark = prefill(db, now)
    hb, dbound = (now - 3 * DAY) // HOUR * HOUR, (now - 7 * DAY) // DAY * DAY
    before = counts(db, mark, hb, dbound)
    check(before["old"] == OLD and before["young"] == YOUNG and before["above"] == ABOVE,
          "%s: prefill %r" % (kind, before))
    check(before["hourly_old"] == gone["hourly"] and before["daily_old"] == gone["daily"],
          "%s: prefill cells %r, expected %r" % (kind, before, gone))
    harness.note("%s: %d rows prefilled in %.1f s" % (kind, OLD + YOUNG + ABOVE, time.monotonic() - t0))

    eps = [endpoint(t.url("/ok?r=%d" % i), timeout=0.2) for i in range(20)]
    cfg = base_config(eps, workers=2, check_interval=0.2)
    cfg["database"] = _db_group(server) if server else {"db_activation": True, "db_driver": "sqlite",
                                                        "db_name": "clockwerk.db"}
    cfg["database"]["retention"] = {"raw_days": 1, "hourly_days": 3, "daily_days": 7}
    cw = Clockwerk(cfg, os.path.dirname(path), name=kind,
                   env={"CLOCKWERK_ROLLUPS": "off", "CLOCKWERK_PRUNE_EVERY_MS": "500"})
    with cw:
        cw.wait_ready()
        samples = []  # (lowest id, highest id): the old rows are ids 1..OLD, the pipeline's the highest

        def old_gone():  # cheap queries (the primary key's ends), so that the samples are dense
            lo, hi = db.one("SELECT MIN(id) FROM checks"), db.one("SELECT MAX(id) FROM checks")
            samples.append((lo, hi))
            return lo > OLD
        wait_for(old_gone, deadline(300), "%s: the old rows pruned" % kind, interval=0.02)
        wait_for(lambda: (lambda c: c["hourly_old"] == 0 and c["daily_old"] == 0)(counts(db, mark, hb, dbound)),
                 deadline(120), "%s: the old cells pruned" % kind)
        cw.wait_log(r"retention: removed \d+ raw rows", timeout=30)
        after_prune = counts(db, mark, hb, dbound)["pipeline"]
        wait_for(lambda: counts(db, mark, hb, dbound)["pipeline"] > after_prune + 100, deadline(60),
                 "%s: storing after the pruning" % kind)
        cw.stop(timeout=30)
        for line in cw.log_text().splitlines():
            if "retention:" in line:
                harness.note("%s: %s" % (kind, line[line.index("retention:"):]))
    after = counts(db, mark, hb, dbound)
    for k, v in keep.items():
        check(after[k] == v, "%s: %s: %d rows/cells kept, expected exactly %d (all inside the retention)"
              % (kind, k, after[k], v))
    check(after["old"] == 0 and after["hourly_old"] == 0 and after["daily_old"] == 0, "%s: left %r" % (kind, after))
    during = [hi for lo, hi in samples if 1 < lo <= OLD]  # pruning under way
    check(len(during) >= 2 and during[-1] > during[0],
          "%s: the pipeline did not visibly store while the pruning ran (samples %r)" % (kind, samples[:5] + samples[-5:]))
    check(seq_gaps(db) == 0, "%s: results missing from the pipeline's rows" % kind)
    harness.note("%s: %d old rows pruned under load (%d samples while pruning, %d rows stored meanwhile)"
                 % (kind, OLD, len(during), during[-1] - during[0]))


@harness.timeout(900)
def test_retention_under_load():
    with tempdir() as d, Targets() as t, PostgresServer() as pg, MariaDBServer() as my:
        for kind, server in (("sqlite", None), ("postgresql", pg), ("mysql", my)):
            run_one(kind, server, d, t)


@harness.timeout(300)
def test_retention_reload():
    with tempdir() as d, Targets() as t:
        path = os.path.join(d, "clockwerk.db")
        _store_bench_open("sqlite", None, path)
        db = Db("sqlite", None, path)
        now = int(time.time())
        keep, gone, mark = prefill(db, now, old=20000, young=2000, above=100)
        hb, dbound = (now - 3 * DAY) // HOUR * HOUR, (now - 7 * DAY) // DAY * DAY
        eps = [endpoint(t.url("/ok?r=%d" % i), timeout=0.2) for i in range(5)]
        cfg = base_config(eps, workers=1, check_interval=0.2)
        cfg["database"]["retention"] = {"raw_days": 0, "hourly_days": 0, "daily_days": 0}
        cw = Clockwerk(cfg, d, env={"CLOCKWERK_ROLLUPS": "off", "CLOCKWERK_PRUNE_EVERY_MS": "200"})
        with cw:
            cw.wait_ready()
            wait_for(lambda: counts(db, mark, hb, dbound)["pipeline"] > 200, deadline(60), "rows stored")
            c = counts(db, mark, hb, dbound)
            check(c["old"] == 20000 and c["hourly_old"] == gone["hourly"] and c["daily_old"] == gone["daily"],
                  "pruned while the retention was 'forever': %r" % c)
            cfg["database"]["retention"] = {"raw_days": 1, "hourly_days": 3}
            cw.reload(cfg)
            wait_for(lambda: counts(db, mark, hb, dbound)["old"] == 0, deadline(60), "old rows pruned after the reload")
            wait_for(lambda: counts(db, mark, hb, dbound)["hourly_old"] == 0, deadline(60), "old hourly cells pruned")
            cw.stop(timeout=30)
        c = counts(db, mark, hb, dbound)
        check(c["young"] == keep["young"] and c["above"] == keep["above"] and c["hourly"] == keep["hourly"],
              "after the reload: %r, expected %r" % (c, keep))
        check(c["daily_old"] == gone["daily"], "daily cells pruned with daily_days = 0 (forever): %r" % c)
