#!/usr/bin/python3
"""bench/run.py — the benchmark behind `make bench` (mode "full") and `make bench-smoke` (mode "smoke").

Starts targets on 127.0.0.1 only (nginx with stub_status for speed, bench/delay_server for latency
accuracy), then runs one after another in the same run: the floor (bench/floor.c, a minimal libcurl multi
loop), Clockwerk (whole pipeline: supervisor, workers, relay, storer on SQLite), and the anchors (an
asyncio+aiohttp checker, the Prometheus blackbox exporter), and prints one table. Figures are ratios to
the floor measured in the same run: these machines are shared and noisy, absolute numbers wander. Last, the
roll-ups' cost: the storer's CPU with roll-ups on against off on SQLite and private PostgreSQL and MariaDB
servers (bench/store_bench.py --rollup-cost; docs/schema.md, "Roll-ups").

Every loop here is bounded in count and time, and every process started is stopped on every path.
Nothing is asserted: targets are reported (docs/performance.md says what they are)."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the shared helpers, also used as run.X by bench/tcp_bench.py and bench/web_bench.py
from benchlib import (BENCH_BIN, BIN, ROOT, DelayServer, Nginx, Procs, StatsListener,  # noqa: E402,F401
                      cpu_seconds, decode_stats, descendants, free_port, parse_kv, percentile, port_open, rss_kb,
                      run_floor, wait_for)

PROFILES = {
    # floor/anchor checks, clockwerk endpoints@1s and seconds, latency endpoints@10s and seconds, scale
    # rollup_rows/rollup_rounds: the roll-ups' CPU on/off on the three databases (bench/store_bench.py)
    "full": dict(floor_checks=60000, anchor_checks=20000, cw_endpoints=5000, cw_seconds=20,
                 lat_endpoints=20000, lat_seconds=25, scale_endpoints=100000, use_nginx=True,
                 report_endpoints=10000, report_drivers="sqlite,postgresql,mysql",
                 rollup_rows=300000, rollup_rounds=3),
    "smoke": dict(floor_checks=2000, anchor_checks=0, cw_endpoints=200, cw_seconds=3,
                  lat_endpoints=200, lat_seconds=3, scale_endpoints=10000, use_nginx=False,
                 report_endpoints=500, report_drivers="sqlite",
                 rollup_rows=30000, rollup_rounds=1),
}


def run_aiohttp(url, checks):
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "aiohttp_checker.py"), url,
                          "--inflight", "32", "--checks", str(checks), "--seconds", "30"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        return dict(name="asyncio+aiohttp", note="failed: " + out.stderr.strip().splitlines()[-1][:60])
    kv = parse_kv(out.stdout.strip().splitlines()[-1])
    return dict(name="asyncio+aiohttp (K=32)", checks=kv["checks"], seconds=kv["seconds"],
                cpu=kv["cpu_user"] + kv["cpu_sys"])


def run_blackbox(procs, tmp, nginx, checks):
    exe = shutil.which("prometheus-blackbox-exporter")
    if not exe:
        return dict(name="blackbox exporter", note="not installed")
    port = free_port()
    conf = os.path.join(tmp, "blackbox.yml")
    with open(conf, "w") as f:
        f.write("modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n")
    p = procs.start([exe, f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: port_open(port), 20, "blackbox exporter to listen")
    probe = f"http://127.0.0.1:{port}/probe?module=http_2xx&target={nginx.url}"
    before_req, before_cpu = nginx.requests(), cpu_seconds(p.pid)
    t0 = time.monotonic()
    subprocess.run([os.path.join(BENCH_BIN, "floor"), probe, "--inflight", "32", "--checks", str(checks),
                    "--seconds", "30"], capture_output=True, text=True, timeout=120)
    el = time.monotonic() - t0
    done = nginx.requests() - before_req - 1
    cpu = cpu_seconds(p.pid) - before_cpu
    procs.stop(p)
    return dict(name="blackbox exporter /probe (K=32)", checks=done, seconds=el, cpu=cpu)


def endpoints_conf(base_url, n, interval, timeout):
    lines = [f'    {{ url = "{base_url}?e={i}"; timeout = {timeout}; }}' for i in range(n)]
    return ",\n".join(lines)


def write_config(tmp, name, endpoints, interval, workers, db=True):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    conf = os.path.join(d, "clockwerk.conf")
    with open(conf, "w") as f:
        f.write(f"""supervisor = {{ workers = {workers}; run_dir = "run"; log_level = "info"; }};
monitor = {{ check_interval = {interval}; latency_threshold = 5.0;
  endpoints = (
{endpoints}
  );
}};
database = {{ db_activation = {"true" if db else "false"}; db_driver = "sqlite"; db_name = "bench.db"; }};
""")
    return d, conf


def run_clockwerk(procs, tmp, url, n, interval, seconds, workers, name, target_requests=None):
    """Runs the whole pipeline; returns figures over a measuring window after one interval of warm-up."""
    d, conf = write_config(tmp, name, endpoints_conf(url, n, interval, min(5, interval)), interval, workers)
    log = open(os.path.join(d, "clockwerk.log"), "w")
    t_start = time.monotonic()
    served_before = target_requests() if target_requests else None
    sup = procs.start([os.path.join(BIN, "clockwerk"), "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        tap_address = f"ipc://{d}/run/tap.sock"
        want = 2 + workers  # supervisor's children: relay, storer, workers
        wait_for(lambda: len(descendants(sup.pid)) >= want + 1, 30, "clockwerk's children to start")
        listener = StatsListener(tap_address)
        listener.poll(interval + 1.0)  # warm-up: every endpoint has had its first check
        pids = descendants(sup.pid)
        cpu_before = {p: cpu_seconds(p) for p in pids}
        req0 = target_requests() if target_requests else 0
        t0 = time.monotonic()
        listener.samples.clear()
        listener.poll(seconds)
        el = time.monotonic() - t0
        pids.update(descendants(sup.pid))
        cpu_by_title = {}
        for p, title in pids.items():
            cpu_by_title[title] = cpu_by_title.get(title, 0.0) + cpu_seconds(p) - cpu_before.get(p, 0.0)
        cpu = sum(cpu_by_title.values())
        served = (target_requests() - req0) if target_requests else None
        rss = {title: rss_kb(p) for p, title in pids.items()}
        workers_stats = [s["items"] for s in listener.samples if s["role"] == "worker"]
        listener.close()
        checks_window = sum(s.get("checks", 0) for s in workers_stats)  # stats carry totals; use deltas below
    finally:
        procs.stop(sup, timeout=20)
        log.close()
    # every request the target served while Clockwerk ran, against the rows stored after its clean stop
    served_total = target_requests() - served_before if target_requests else None
    db = sqlite3.connect(f"file:{d}/bench.db?mode=ro", uri=True)
    rows = db.execute("select count(*) from checks").fetchone()[0]
    lat = [r[0] for r in db.execute("select latency_ms from checks where ok = 1")]
    failed = db.execute("select count(*) from checks where ok = 0").fetchone()[0]
    db.close()
    by_worker = {}
    for s in workers_stats:
        by_worker.setdefault(len(by_worker), s)
    late50 = max((s.get("lateness_p50_us", 0) for s in workers_stats), default=0) / 1000
    late99 = max((s.get("lateness_p99_us", 0) for s in workers_stats), default=0) / 1000
    in_flight_max = max((s.get("max_in_flight", 0) for s in workers_stats), default=0)
    checks_per_s = served / el if served is not None else None
    del checks_window
    return dict(el=el, cpu=cpu, cpu_by_title=cpu_by_title, served=served, rows=rows, failed=failed, lat=lat,
                late50=late50, late99=late99, rss=rss, checks_per_s=checks_per_s, startup=None, d=d,
                t_start=t_start, served_total=served_total, in_flight_max=in_flight_max)


def run_scale(tmp, url, n):
    """100,000 endpoints: validation time, start-up time and memory of every process."""
    d, conf = write_config(tmp, "scale", endpoints_conf(url, n, 3600, 5), 3600, 2, db=True)
    t0 = time.monotonic()
    out = subprocess.run([os.path.join(BIN, "clockwerk"), "-t", "-c", conf], capture_output=True, text=True,
                         timeout=120)
    validate = time.monotonic() - t0
    log = open(os.path.join(d, "clockwerk.log"), "w")
    t0 = time.monotonic()
    sup = subprocess.Popen([os.path.join(BIN, "clockwerk"), "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        listener = None
        wait_for(lambda: len(descendants(sup.pid)) >= 5, 60, "children to start")
        listener = StatsListener(f"ipc://{d}/run/tap.sock")
        seen = set()
        deadline = time.monotonic() + 60
        while len(seen) < 2 and time.monotonic() < deadline:
            listener.poll(0.2)
            seen.update(s["id"] for s in listener.samples if s["role"] == "worker" and s["items"].get("endpoints"))
        startup = time.monotonic() - t0
        rss = {t: rss_kb(p) for p, t in descendants(sup.pid).items()}
        listener.close()
    finally:
        if sup.poll() is None:
            sup.terminate()
            try:
                sup.wait(20)
            except subprocess.TimeoutExpired:
                sup.kill()
                sup.wait()
        log.close()
    return dict(validate=validate, validate_ok=out.returncode == 0, startup=startup, rss=rss,
                summary=out.stdout.strip())


def store_rate():
    exe = os.path.join(BENCH_BIN, "store_bench")
    if not os.path.exists(exe):
        return None
    tmp = tempfile.mkdtemp(prefix="cw-store-")
    try:
        out = subprocess.run([exe, "--driver", "sqlite", "--db", os.path.join(tmp, "s.db"), "--rows", "200000",
                              "bench"], capture_output=True, text=True, timeout=120)
        return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rollup_cost(prof):
    """The roll-ups' storer CPU on/off, same run, on SQLite and private PostgreSQL and MariaDB servers: a line,
    or why it was not measured."""
    exe = os.path.join(BENCH_BIN, "store_bench")
    if not os.path.exists(exe):
        return "not measured: %s is not built" % exe
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    import store_bench
    from dbservers import MariaDBServer, PostgresServer
    tmp = tempfile.mkdtemp(prefix="cw-rollup-cost-")
    try:
        with PostgresServer() as pg, MariaDBServer() as my:
            cost = store_bench.rollup_cost(exe, store_bench.server_targets(tmp, pg, my), prof["rollup_rows"],
                                           prof["rollup_rounds"])
        return store_bench.rollup_cost_line(cost)
    except Exception as e:  # noqa: B902 - a missing server package is a line in the report, not a crash
        return "not measured: %s" % e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "smoke"
    prof = PROFILES[mode]
    tmp = tempfile.mkdtemp(prefix="cw-bench-")
    procs = Procs()
    rows = []
    try:
        if prof["use_nginx"]:
            nginx = Nginx(procs, tmp)
            url, counter = nginx.url, nginx.requests
        else:
            fast = DelayServer(procs, 0)
            url, counter, nginx = fast.url, None, None
        floor = run_floor(url, prof["floor_checks"])
        rows.append(floor)
        floor_us = floor["cpu"] * 1e6 / max(1, floor["checks"])

        cw = run_clockwerk(procs, tmp, url, prof["cw_endpoints"], 1, prof["cw_seconds"], 1, "throughput",
                           counter)
        window_checks = cw["served"] if cw["served"] is not None else prof["cw_endpoints"] * cw["el"]
        rows.append(dict(name=f"clockwerk, {prof['cw_endpoints']} endpoints @1s", checks=window_checks,
                         seconds=cw["el"], cpu=cw["cpu"], late50=cw["late50"], late99=cw["late99"]))
        if prof["anchor_checks"]:
            rows.append(run_aiohttp(url, prof["anchor_checks"]))
            rows.append(run_blackbox(procs, tmp, nginx, prof["anchor_checks"]))

        delay = DelayServer(procs, 100)
        lat = run_clockwerk(procs, tmp, delay.url, prof["lat_endpoints"], 10, prof["lat_seconds"], 1, "latency")
        errs = [abs(x - 100.0) for x in lat["lat"]]
        scale = run_scale(tmp, url, prof["scale_endpoints"])
        storage = store_rate()
        import report_bench  # `clockwerk report --since 90d` (bench/report_bench.py): smoke on SQLite only
        reports = report_bench.main(["--endpoints", str(prof["report_endpoints"]), "--drivers", prof["report_drivers"]])
        rollups = rollup_cost(prof)
    finally:
        procs.stop_all()

    print()
    print(f"Clockwerk benchmark ({mode}), {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, target "
          f"{'nginx' if prof['use_nginx'] else 'delay_server 0 ms'} on 127.0.0.1")
    print(f"{'prober':44} {'checks/s':>9} {'CPU s/1000':>10} {'x floor':>8} {'late p50':>9} {'late p99':>9}")
    for r in rows:
        if "note" in r:
            print(f"{r['name']:44} {r['note']}")
            continue
        per = r["cpu"] * 1000 / max(1, r["checks"])
        ratio = (r["cpu"] * 1e6 / max(1, r["checks"])) / floor_us
        l50 = f"{r['late50']:.1f}ms" if "late50" in r else "-"
        l99 = f"{r['late99']:.1f}ms" if "late99" in r else "-"
        print(f"{r['name']:44} {r['checks'] / r['seconds']:9.0f} {per:10.3f} {ratio:8.2f} {l50:>9} {l99:>9}")
    cwr = rows[1]
    cw_per = cwr["cpu"] / max(1, cwr["checks"])
    parts = ", ".join(f"{t.replace('clockwerk: ', '')} {c * 1e6 / max(1, cwr['checks']):.1f}"
                      for t, c in sorted(cw["cpu_by_title"].items(), key=lambda tc: -tc[1]))
    print(f"clockwerk CPU us per check by process: {parts} (floor {floor_us:.1f})")
    for r in rows[2:]:
        if "note" not in r:
            print(f"checks per CPU-second, clockwerk vs {r['name']}: "
                  f"{(r['cpu'] / max(1, r['checks'])) / cw_per:.2f}x")
    expected = prof["cw_endpoints"] * cw["el"]
    print(f"on schedule: {cwr['checks']:.0f} checks in the window against {expected:.0f} scheduled "
          f"({100 * cwr['checks'] / max(1, expected):.1f}%); checks in flight at most {cw['in_flight_max']} "
          f"(workers' stats)")
    if cw["served_total"] is not None:
        print(f"lossless: {cw['rows']} rows stored for {cw['served_total']} requests the target served while "
              f"Clockwerk ran (difference {cw['served_total'] - cw['rows']}: checks abandoned at the stop)")
    if errs:
        print(f"latency accuracy ({prof['lat_endpoints']} endpoints @10s, 100 ms target): error p50 "
              f"{percentile(errs, 0.5):.2f} ms, p99 {percentile(errs, 0.99):.2f} ms over {len(errs)} checks, "
              f"{lat['failed']} failed")
    print(f"scale ({prof['scale_endpoints']} endpoints): validate {scale['validate']:.2f}s "
          f"({'ok' if scale['validate_ok'] else 'FAILED'}), start-up until every worker reports "
          f"{scale['startup']:.2f}s, RSS total {sum(scale['rss'].values()) / 1024:.1f} MB")
    for t, kb in sorted(scale["rss"].items()):
        print(f"    {t:32} {kb / 1024:7.1f} MB")
    if storage:
        print(f"storage (bench/store_bench, batches of 500): {storage}"
              " — PostgreSQL and MariaDB: /usr/bin/python3 bench/store_bench.py (private servers)")
    print(f"roll-up cost, storer CPU per check on/off, same run ({prof['rollup_rows']} rows over 5,000 endpoints, "
          f"a fold every 3.3 s, median of {prof['rollup_rounds']}; off/on CPU per round): {rollups}")
    for line in reports:
        print(line)
    if mode == "full":  # retention: size per endpoint per day, pruning under a batch writer (~3 minutes)
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "retention_bench.py"),
                        "--bin", os.path.join(BENCH_BIN, "retention_bench")], check=False)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
