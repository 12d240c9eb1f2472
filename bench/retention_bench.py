#!/usr/bin/python3
"""bench/retention_bench.py — the retention figures (issue 12; docs/performance.md "Retention"), sizes and ratios
from one run, never timed pass/fail:

  size    100 endpoints checked every 60 s for 30 days, written by the storer's own backend code
          (bench/retention_bench history: write_batch with roll-ups folding, then a pruning pass with the default
          retention 30/400/0): bytes per endpoint per day of history, split by table, and what the defaults keep
          in the steady state.
  prune   N raw rows older than raw_days (default 10,000,000; prefilled by SQL, at or below the watermark) are
          pruned while a writer commits a batch of 500 rows every 200 ms (bench/retention_bench prune): the worst
          and p99 delay of a batch (due -> committed) while pruning vs. the same writer without pruning, and the
          time until the database is under its bound.

    /usr/bin/python3 bench/retention_bench.py [--rows N] [--endpoints E] [--days D] [--servers] [--only size|prune]
                                              [--bin PATH]

SQLite always; --servers adds PostgreSQL and MariaDB (private servers, tests/e2e/dbservers.py) with N / 10 rows.
"""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

from dbservers import MariaDBServer, PostgresServer  # noqa: E402
from test_retention import Db  # noqa: E402

DAY = 86400


class Target(Db):
    """One database (tests/e2e/test_retention.py's Db: SQL access, times written as UTC seconds) and the bench
    program's options for it."""

    def __init__(self, kind, path=None, server=None):
        Db.__init__(self, kind, server, path)

    def args(self):
        if self.kind == "sqlite":
            return ["--driver", "sqlite", "--db", self.path]
        s = self.server
        return ["--driver", s.kind, "--host", "127.0.0.1", "--port", str(s.port), "--db", s.dbname, "--user", s.user]

    def sizes(self):
        """{table: bytes including its indexes}."""
        if self.kind == "sqlite":
            con = sqlite3.connect(self.path)
            owner = dict(con.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
            out = {}
            for name, size in con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                t = owner.get(name, name)
                out[t] = out.get(t, 0) + size
            con.close()
            return out
        if self.kind == "postgresql":
            rows = self.run("SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' "
                              "AND relnamespace = 'public'::regnamespace")
            return {r[0]: int(r[1]) for r in rows}
        self.run("ANALYZE TABLE checks, checks_hourly, checks_daily, endpoints")
        rows = self.run("SELECT table_name, data_length + index_length FROM information_schema.tables "
                          "WHERE table_schema = DATABASE()")
        return {r[0]: int(r[1]) for r in rows}


def run(binary, target, args, password=None):
    env = dict(os.environ, CLOCKWERK_DB_PASSWORD=password or "")
    r = subprocess.run([binary] + target.args() + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError("retention_bench %s failed (%d): %s %s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)


def size_figure(binary, target, endpoints, days, password=None):
    t0 = time.monotonic()
    out = run(binary, target, ["--endpoints", str(endpoints), "--days", str(days), "history"], password)
    sizes = target.sizes()
    total = sum(sizes.values())
    per = lambda t: sizes.get(t, 0) / (endpoints * days)  # noqa: E731
    raw, hourly, daily = per("checks"), per("checks_hourly"), per("checks_daily")
    steady = raw * 30 + hourly * 400
    print("%-10s size after %d days of %d endpoints @60s (%s rows, written in %s s, %.0f s in all): %.1f MB, "
          "%.0f bytes per endpoint per day (raw %.0f, hourly %.0f, daily %.0f, the rest %.0f)"
          % (target.kind, days, endpoints, out["rows"], out["seconds"], time.monotonic() - t0, total / 1e6,
             total / (endpoints * days), raw, hourly, daily, total / (endpoints * days) - raw - hourly - daily))
    print("%-10s   with the default retention (raw 30 d, hourly 400 d, daily forever) an endpoint at 60 s holds "
          "%.1f MB in the steady state, plus %.0f bytes a day kept forever (the daily cells)"
          % (target.kind, steady / 1e6, daily))


def prefill(target, rows, endpoints):
    """rows raw rows 0.25 s apart ending two days ago, all at or below the watermark."""
    have = int(target.run("SELECT COUNT(*) FROM endpoints")[0][0])
    if have < endpoints:
        values = ", ".join("('http://127.0.0.1:9/site/%d')" % i for i in range(have, endpoints))
        target.execute("INSERT INTO endpoints (url) VALUES %s" % values)
    ep = int(target.run("SELECT MIN(id) FROM endpoints")[0][0])
    end = int(time.time()) - 2 * DAY
    chunk = 1000000
    for start in range(0, rows, chunk):  # chunks: one transaction of 10 million rows needs a large log
        n = min(chunk, rows - start)
        target.execute("INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, dns_ms, "
                       "connect_ms, ttfb_ms, worker, boot_id, seq) SELECT %d + n %% %d, %s, 200, 12.5 + n %% 700, "
                       "TRUE, 0.3, 1.1, 6.2, 98, 7, %d + n FROM %s"
                       % (ep, endpoints, target.time("%d + (%d + n) / 4.0" % (end - rows // 4, start)), start,
                          target.series(n)))
    target.execute("UPDATE rollup_state SET last_check_id = (SELECT MAX(id) FROM checks) WHERE id = 1"
                   if target.kind != "mysql" else
                   "UPDATE rollup_state SET last_check_id = (SELECT m FROM (SELECT MAX(id) AS m FROM checks) s) "
                   "WHERE id = 1")


def prune_figure(binary, target, rows, endpoints, password=None):
    run(binary, target, ["--endpoints", str(endpoints), "--baseline", "0", "prune"], password)  # the schema, no rows
    t0 = time.monotonic()
    prefill(target, rows, endpoints)
    filled = time.monotonic() - t0
    out = run(binary, target, ["--endpoints", str(endpoints), "--raw-days", "1", "--baseline", "15", "prune"],
              password)
    worst0, worst1 = float(out["baseline_worst_ms"]), float(out["pruning_worst_ms"])
    p990, p991 = float(out["baseline_p99_ms"]), float(out["pruning_p99_ms"])
    print("%-10s pruning %s rows (prefilled in %.0f s) while a batch of 500 is due every 200 ms: under the bound "
          "in %s s (%s steps, the longest %s ms); a batch's delay due -> committed: worst %.1f ms pruning vs "
          "%.1f ms without (%.2fx), p99 %.1f vs %.1f ms (%.2fx), %s / %s batches"
          % (target.kind, out["pruned_raw"], filled, out["pass_s"], out["steps"], out["longest_step_ms"], worst1,
             worst0, worst1 / max(worst0, 0.1), p991, p990, p991 / max(p990, 0.1), out["pruning_batches"],
             out["baseline_batches"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10000000)
    ap.add_argument("--endpoints", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--servers", action="store_true")
    ap.add_argument("--only", choices=("size", "prune"), help="one of the two figures")
    ap.add_argument("--servers-only", action="store_true", help="PostgreSQL and MariaDB, not SQLite")
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "default", "bench", "retention_bench"))
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit("%s is not built: make bench-programs" % a.bin)
    tmp = tempfile.mkdtemp(prefix="cw-retention-bench-")
    try:
        if a.only != "prune" and not a.servers_only:
            size_figure(a.bin, Target("sqlite", os.path.join(tmp, "size.db")), a.endpoints, a.days)
        if a.only != "size" and not a.servers_only:
            prune_figure(a.bin, Target("sqlite", os.path.join(tmp, "prune.db")), a.rows, a.endpoints)
        for cls in (PostgresServer, MariaDBServer) if a.servers or a.servers_only else ():
            if a.only != "prune":
                with cls() as s:
                    size_figure(a.bin, Target(s.kind, server=s), a.endpoints, a.days, s.password)
            if a.only != "size":
                with cls() as s:
                    prune_figure(a.bin, Target(s.kind, server=s), a.rows // 10, a.endpoints, s.password)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
