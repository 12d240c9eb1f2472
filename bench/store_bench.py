#!/usr/bin/python3
"""bench/store_bench.py — rows per second of each storer backend on this machine.

Starts a private PostgreSQL and MariaDB server (tests/e2e/dbservers.py: temporary directories, 127.0.0.1,
free ports, stopped afterwards) and runs bench/store_bench (which calls backend->write_batch in a loop
with batches of synthetic rows) against them and against a SQLite file in a temporary directory.

    /usr/bin/python3 bench/store_bench.py [--rows N] [--batch B] [--runs R] [--bin PATH] [--json]

Prints one line per backend: median and best rows/s over R runs (each run writes N fresh rows, into a
table that grows from run to run, as a real one does). Durability settings are the servers' defaults
(fsync on every commit: PostgreSQL synchronous_commit=on, InnoDB flush_log_at_trx_commit=1; SQLite WAL
with synchronous=NORMAL).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

from dbservers import MariaDBServer, PostgresServer  # noqa: E402


def run_once(binary, args, password, rows, batch):
    env = dict(os.environ, CLOCKWERK_DB_PASSWORD=password or "")
    r = subprocess.run([binary] + args + ["--rows", str(rows), "--batch", str(batch), "bench"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("store_bench %s failed (%d): %s %s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    fields = dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)
    return float(fields["rows_per_s"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "default", "bench", "store_bench"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit("%s is not built: make bench-programs" % a.bin)

    results = {}
    tmp = tempfile.mkdtemp(prefix="cw-store-bench-")
    try:
        with PostgresServer() as pg, MariaDBServer() as my:
            targets = [
                ("sqlite", ["--driver", "sqlite", "--db", os.path.join(tmp, "bench.db")], None),
                ("postgresql", ["--driver", "postgresql", "--host", "127.0.0.1", "--port", str(pg.port),
                                "--db", pg.dbname, "--user", pg.user], pg.password),
                ("mysql", ["--driver", "mysql", "--host", "127.0.0.1", "--port", str(my.port),
                           "--db", my.dbname, "--user", my.user], my.password),
            ]
            for _ in range(a.runs):   # interleaved, so that a burst of load elsewhere hits every backend
                for name, args, pw in targets:
                    results.setdefault(name, []).append(run_once(a.bin, args, pw, a.rows, a.batch))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    summary = {n: {"median_rows_per_s": round(statistics.median(v)), "best_rows_per_s": round(max(v)),
                   "runs": [round(x) for x in v]} for n, v in results.items()}
    if a.json:
        print(json.dumps({"rows": a.rows, "batch": a.batch, "backends": summary}))
    else:
        for n, s in summary.items():
            print("%-10s batch %d: median %7d rows/s, best %7d rows/s (runs: %s)"
                  % (n, a.batch, s["median_rows_per_s"], s["best_rows_per_s"],
                     " ".join(str(x) for x in s["runs"])))


if __name__ == "__main__":
    main()
