#!/usr/bin/python3
"""bench/tcp_bench.py — the tcp checks' figure of issue 14 in one run: the worker's CPU per tcp check against the
floor (bench/floor_tcp.c: K non-blocking connects in flight, SO_ERROR, a reset) in the same run. Target: 1.3x.

    /usr/bin/python3 bench/tcp_bench.py [--ports P] [--interval S] [--seconds S] [--floor-checks N]

What it sets up (everything on 127.0.0.1, every process stopped on every path):
  - a listener process (this script, --serve): P listening ports, each connection accepted and closed; the floor
    and the worker connect to the same ports, so the kernel work on the far side is the same for both;
  - the floor: bench/floor_tcp, N connects, 32 in flight, going round the same ports;
  - the whole pipeline (supervisor, relay, one worker, storer on SQLite) with P tcp endpoints (one per port: a tcp
    check's key is tcp://host:port) at `--interval` seconds, i.e. P / interval checks a second (5,000 by default).
What it measures, after one interval of warm-up: the worker's CPU (utime + stime from /proc) over S seconds, the
checks it made (its stats: the `checks` counter's growth), failed checks, and its lateness p99; CPU per check and
the ratio to the floor's. Nothing is asserted: the figure is printed against its target (docs/performance.md).
"""

import argparse
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import shutil
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the benchmark's helpers: processes, /proc CPU, the stats listener)


def serve(ports_file, n):
    """The listener: n ports on 127.0.0.1, each connection accepted and closed; writes the ports, then runs until
    stdin closes (its parent stops it)."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(4096)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    with open(ports_file + ".tmp", "w") as f:
        f.write("\n".join(str(s.getsockname()[1]) for s in socks))
    os.rename(ports_file + ".tmp", ports_file)
    sel.register(sys.stdin, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select(1.0):
            if key.fileobj is sys.stdin:
                return 0
            s = key.fileobj
            for _ in range(64):
                try:
                    c, _ = s.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                c.close()


def start_listener(procs, tmp, n):
    ports_file = os.path.join(tmp, "ports")
    p = procs.start([sys.executable, os.path.abspath(__file__), "--serve", ports_file, "--ports", str(n)],
                    stdin=subprocess.PIPE)
    bench.wait_for(lambda: os.path.exists(ports_file), 30, "the listener's ports")
    with open(ports_file) as f:
        return p, ports_file, [int(x) for x in f.read().split()]


def run_floor(ports_file, checks):
    out = subprocess.run([os.path.join(bench.BENCH_BIN, "floor_tcp"), "127.0.0.1", "@" + ports_file, "--inflight", "32",
                          "--checks", str(checks), "--seconds", "30"], capture_output=True, text=True, timeout=120)
    kv = bench.parse_kv(out.stdout.strip().splitlines()[-1])
    return kv["checks"], kv["cpu_user"] + kv["cpu_sys"], kv["errors"]


def run_worker(procs, tmp, ports, interval, seconds):
    eps = ",\n".join('    { type = "tcp"; name = "t%d"; host = "127.0.0.1"; port = %d; timeout = %g; }'
                     % (i, p, min(1.0, interval)) for i, p in enumerate(ports))
    d, conf = bench.write_config(tmp, "tcp", eps, interval, 1)
    log = open(os.path.join(d, "clockwerk.log"), "w")
    sup = procs.start([os.path.join(bench.BIN, "clockwerk"), "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        bench.wait_for(lambda: any("worker" in t for t in bench.descendants(sup.pid).values()), 30,
                       "the worker to start")
        listener = bench.StatsListener(f"ipc://{d}/run/tap.sock")
        listener.poll(interval + 1.0)
        workers = [p for p, t in bench.descendants(sup.pid).items() if "worker" in t]
        before = {p: bench.cpu_seconds(p) for p in workers}
        listener.samples.clear()
        t0 = time.monotonic()
        listener.poll(seconds)
        el = time.monotonic() - t0
        cpu = sum(bench.cpu_seconds(p) - before[p] for p in workers)
        stats = [s["items"] for s in listener.samples if s["role"] == "worker"]
        listener.close()
    finally:
        procs.stop(sup, timeout=20)
        log.close()
    if len(stats) < 2:
        raise RuntimeError("fewer than two stats messages of the worker in the window")
    checks = stats[-1]["checks"] - stats[0]["checks"]
    failed = stats[-1]["checks_failed"] - stats[0]["checks_failed"]
    late99 = max(s.get("lateness_p99_us", 0) for s in stats) / 1000
    span = el * (len(stats) - 1) / max(1, len(stats))  # the counters' growth covers the stats periods between them
    return dict(checks=checks, failed=failed, cpu=cpu * checks / max(1, checks), el=el, span=span, late99=late99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", type=int, default=500)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--floor-checks", type=int, default=60000)
    ap.add_argument("--serve")
    a = ap.parse_args()
    if a.serve:
        return serve(a.serve, a.ports)
    tmp = tempfile.mkdtemp(prefix="cw-tcp-bench-")
    procs = bench.Procs()
    try:
        listener, ports_file, ports = start_listener(procs, tmp, a.ports)
        floor_checks, floor_cpu, floor_errors = run_floor(ports_file, a.floor_checks)
        w = run_worker(procs, tmp, ports, a.interval, a.seconds)
        listener.stdin.close()
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    floor_us = floor_cpu * 1e6 / max(1, floor_checks)
    # CPU over the whole window, checks counted over the stats periods inside it: per check over the same span
    worker_us = w["cpu"] / max(1e-9, w["el"]) * w["span"] * 1e6 / max(1, w["checks"])
    print(f"tcp checks: floor_tcp (K=32) {floor_us:.1f} us CPU per connect ({floor_checks:.0f} connects, "
          f"{floor_errors:.0f} errors); worker {worker_us:.1f} us per tcp check ({w['checks']} checks, "
          f"{w['checks'] / max(1e-9, w['span']):.0f}/s, {w['failed']} failed, lateness p99 {w['late99']:.1f} ms): "
          f"{worker_us / max(1e-9, floor_us):.2f}x the floor (target 1.3x at 5,000 checks/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
