#!/usr/bin/python3
"""bench/dns_bench.py — the dns check's figure of issue 14: N dns endpoints at a 1 s interval (5,000 queries a
second by default) against a local unbound, the worker's lateness p99 (budget 20 ms).

    /usr/bin/python3 bench/dns_bench.py [--endpoints N] [--seconds S] [--interval I]

unbound (tests/e2e/test_check_dns.py's, in the foreground, as nobody, one thread) serves `bench.test` as a
redirect zone: every name below it answers A 192.0.2.10, so N endpoints are N distinct checks
(h<i>.bench.test, expect_answers 192.0.2.10). The whole pipeline runs (supervisor, relay, one worker, storer on
SQLite, alerter); after one interval of warm-up the workers' stats are read for S seconds (bench/run.py's
StatsListener): checks a second, lateness p50/p99 (the worst second), failed checks, and CPU per check of the
worker and of unbound. run_checks() is shared with bench/icmp_bench.py. Every loop is bounded in count and
time, every process stopped on every path; nothing is asserted (docs/performance.md states the budget).
"""

import argparse
import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ.get("CLOCKWERK_BIN", os.path.join(ROOT, "bin"))
LATE_BUDGET_MS = 20.0


def _bench_run():
    """bench/run.py as a module, by its path (tests/e2e has a run.py too)."""
    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(HERE, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


B = _bench_run()


def render_endpoints(endpoints):
    """libconfig text of a list of dicts (strings, numbers, lists of strings)."""
    def value(v):
        if isinstance(v, str):
            return '"%s"' % v
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)
    return ",\n".join("    { %s }" % " ".join("%s = %s;" % (k, value(v)) for k, v in e.items()) for e in endpoints)


def run_checks(tmp, name, endpoints, interval, seconds, user=None, pids_of=()):
    """The pipeline on `endpoints` (dicts) at `interval`; figures over `seconds` after one interval of warm-up.
    pids_of: more processes whose CPU is measured over the same window (name -> pid)."""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    conf = os.path.join(d, "clockwerk.conf")
    sup_user = 'user = "%s"; ' % user if user else ""
    with open(conf, "w") as f:
        f.write(f"""supervisor = {{ workers = 1; run_dir = "run"; log_level = "info"; {sup_user}}};
monitor = {{ check_interval = {interval}; latency_threshold = 5.0;
  endpoints = (
{render_endpoints(endpoints)}
  );
}};
database = {{ db_activation = true; db_driver = "sqlite"; db_name = "bench.db"; }};
""")
    check = subprocess.run([os.path.join(BIN, "clockwerk"), "-t", "-c", conf], capture_output=True, text=True,
                           timeout=120)
    if check.returncode != 0:
        raise RuntimeError("clockwerk -t: " + (check.stdout + check.stderr).strip()[-500:])
    procs = B.Procs()
    log = open(os.path.join(d, "clockwerk.log"), "w")
    try:
        sup = procs.start([os.path.join(BIN, "clockwerk"), "-c", conf], stdout=log, stderr=subprocess.STDOUT)
        B.wait_for(lambda: len(B.descendants(sup.pid)) >= 5, 60, "clockwerk's children to start")
        listener = B.StatsListener(f"ipc://{d}/run/tap.sock")
        listener.poll(interval + 1.0)  # warm-up: every endpoint has had its first check
        pids = B.descendants(sup.pid)
        extra = dict(pids_of)
        before = {p: B.cpu_seconds(p) for p in list(pids) + list(extra.values())}
        listener.samples.clear()
        t0 = time.monotonic()
        listener.poll(seconds)
        el = time.monotonic() - t0
        cpu = {title: B.cpu_seconds(p) - before.get(p, 0.0) for p, title in pids.items()}
        cpu.update({nm: B.cpu_seconds(p) - before.get(p, 0.0) for nm, p in extra.items()})
        stats = [s["items"] for s in listener.samples if s["role"] == "worker"]
        listener.close()
    finally:
        procs.stop_all()
        log.close()
    # the stats carry totals, one sample a second: the rate between the first and the last sample
    totals = [s.get("checks", 0) for s in stats]
    rate = (max(totals) - min(totals)) / (len(totals) - 1) if len(totals) > 1 else 0.0
    checks = rate * el
    db = sqlite3.connect(f"file:{d}/bench.db?mode=ro", uri=True)
    rows, failed = db.execute("select count(*), coalesce(sum(ok = 0), 0) from checks").fetchone()
    errors = db.execute("select error, count(*) from checks where ok = 0 group by error order by 2 desc limit 3"
                        ).fetchall()
    db.close()
    worker_cpu = sum(c for t, c in cpu.items() if "worker" in t)
    return dict(el=el, checks=checks, rows=rows, failed=failed, errors=errors, cpu=cpu, worker_cpu=worker_cpu,
                late50=max((s.get("lateness_p50_us", 0) for s in stats), default=0) / 1000,
                late99=max((s.get("lateness_p99_us", 0) for s in stats), default=0) / 1000,
                method=check.stdout.strip().splitlines()[-1])


def report(label, r, other=None):
    per_check = r["worker_cpu"] * 1e6 / max(1, r["checks"])
    verdict = "ok" if r["late99"] < LATE_BUDGET_MS else "OVER BUDGET"
    print(f"{label}: {r['checks'] / max(r['el'], 1e-9):.0f} checks/s over {r['el']:.1f} s, worker lateness p50 "
          f"{r['late50']:.1f} ms p99 {r['late99']:.1f} ms (budget {LATE_BUDGET_MS:.0f} ms: {verdict}), worker CPU "
          f"{per_check:.1f} us/check{other or ''}, {r['failed']} of {r['rows']} stored checks failed"
          + (f" (most: {r['errors'][0][0]!r} x{r['errors'][0][1]})" if r["errors"] else ""))


def parse_args(argv, endpoints, interval):
    """--endpoints, --seconds (the window, 20 by default), --interval: the options of both benches."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoints", type=int, default=endpoints)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--interval", type=float, default=interval)
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv, 5000, 1.0)
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    from test_check_dns import Unbound
    tmp = tempfile.mkdtemp(prefix="cw-dnsbench-")
    try:
        with Unbound(extra=['local-zone: "bench.test." redirect', "local-data: 'bench.test. A 192.0.2.10'"]) as ub:
            server = "127.0.0.1:%d" % ub.port
            eps = [dict(type="dns", name="d%d" % i, host="h%d.bench.test" % i, dns_server=server,
                        expect_answers=["192.0.2.10"], timeout=min(2.0, a.interval)) for i in range(a.endpoints)]
            r = run_checks(tmp, "dns", eps, a.interval, a.seconds, pids_of={"unbound": ub.proc.pid})
            ub_cpu = r["cpu"].get("unbound", 0.0) * 1e6 / max(1, r["checks"])
            report(f"dns ({a.endpoints} endpoints @{a.interval:g}s, local unbound)", r,
                   f", unbound CPU {ub_cpu:.1f} us/query")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
