#!/usr/bin/python3
"""bench/store_bench.py — rows per second of each storer backend on this machine.

Starts a private PostgreSQL and MariaDB server (tests/e2e/dbservers.py: temporary directories, 127.0.0.1,
free ports, stopped afterwards) and runs bench/store_bench (which calls backend->write_batch in a loop
with batches of synthetic rows) against them and against a SQLite file in a temporary directory.

    /usr/bin/python3 bench/store_bench.py [--rows N] [--batch B] [--runs R] [--bin PATH] [--json]
    /usr/bin/python3 bench/store_bench.py --rollup-cost [--rows N] [--runs R] [--bin PATH] [--json]

Prints one line per backend: median and best rows/s over R runs (each run writes N fresh rows, into a
table that grows from run to run, as a real one does). Durability settings are the servers' defaults
(fsync on every commit: PostgreSQL synchronous_commit=on, InnoDB flush_log_at_trx_commit=1; SQLite WAL
with synchronous=NORMAL).

--rollup-cost: the storer's CPU per check with roll-ups on against off (docs/schema.md, "Roll-ups", the
issue's bar: at most +10%), for each backend in the same run: R rounds of one run with CLOCKWERK_ROLLUPS=off
and one with roll-ups on (N rows, default 300,000, over 5,000 endpoints round robin, batches of 500, a fold
every 3.3 s, the final fold at close included), CPU = user + system time of the store_bench process, the order
of the two alternating from round to round. Before a run with roll-ups an untimed `open` folds what a run
without them left, so that the timed run starts from an up-to-date watermark as a running storer does; SQLite
writes the two modes to two files. Prints the median of the rounds' on/off ratios.
"""

import argparse
import json
import os
import resource
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


def cpu_of(binary, args, env):
    """User + system CPU seconds of one store_bench run (its exit checked)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([binary] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=900)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError("store_bench %s failed (%d): %s %s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def rollup_cost(binary, targets, rows, rounds, urls=5000, every_ms=3300):
    """{backend: {"ratio": median on/off, "rounds": [(off s, on s), ...]}}, rounds interleaved over the backends
    (a burst of load elsewhere hits all of them) and the order of off and on alternating from round to round (a
    table that grows makes later runs dearer). SQLite writes the two modes to two files."""
    out = {}
    for i in range(rounds):
        for name, args, pw in targets:
            base = dict(os.environ, CLOCKWERK_DB_PASSWORD=pw or "", CLOCKWERK_ROLLUP_EVERY_MS=str(every_ms))
            base.pop("CLOCKWERK_ROLLUPS", None)
            cpu = {}
            for mode in (("off", "on") if i % 2 == 0 else ("on", "off")):
                where = args if name != "sqlite" else [a + "." + mode if a.endswith(".db") else a for a in args]
                if mode == "on":   # folds what a run without roll-ups left (untimed), as a running storer has
                    cpu_of(binary, where + ["open"], base)
                env = dict(base, CLOCKWERK_ROLLUPS="off") if mode == "off" else base
                bench = ["--rows", str(rows), "--urls", str(urls), "--batch", "500", "bench"]
                cpu[mode] = cpu_of(binary, where + bench, env)
            out.setdefault(name, {"rounds": []})["rounds"].append((round(cpu["off"], 3), round(cpu["on"], 3)))
    for v in out.values():
        v["ratio"] = round(statistics.median(on / off for off, on in v["rounds"]), 3)
    return out


def server_targets(tmp, pg, my):
    return [
        ("sqlite", ["--driver", "sqlite", "--db", os.path.join(tmp, "bench.db")], None),
        ("postgresql", ["--driver", "postgresql", "--host", "127.0.0.1", "--port", str(pg.port),
                        "--db", pg.dbname, "--user", pg.user], pg.password),
        ("mysql", ["--driver", "mysql", "--host", "127.0.0.1", "--port", str(my.port),
                   "--db", my.dbname, "--user", my.user], my.password),
    ]


def rollup_cost_line(cost):
    """One line: each backend's median ratio as +x%, and its rounds."""
    return "; ".join("%s %+.1f%% (%s)" % (n, 100 * (v["ratio"] - 1),
                                          ", ".join("%.2f/%.2f s" % r for r in v["rounds"]))
                     for n, v in cost.items())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--rollup-cost", action="store_true")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "default", "bench", "store_bench"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit("%s is not built: make bench-programs" % a.bin)
    if a.rollup_cost:
        tmp = tempfile.mkdtemp(prefix="cw-rollup-cost-")
        try:
            with PostgresServer() as pg, MariaDBServer() as my:
                cost = rollup_cost(a.bin, server_targets(tmp, pg, my), a.rows or 300000, a.runs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(json.dumps(cost) if a.json else "roll-up cost, CPU on/off (off/on per round): " + rollup_cost_line(cost))
        return
    a.rows = a.rows or 100000

    results = {}
    tmp = tempfile.mkdtemp(prefix="cw-store-bench-")
    try:
        with PostgresServer() as pg, MariaDBServer() as my:
            targets = server_targets(tmp, pg, my)
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
