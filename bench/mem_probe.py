#!/usr/bin/python3
"""bench/mem_probe.py — memory per process of the whole pipeline (issue 18): N endpoints (60 s interval, 2 workers,
SQLite + roll-ups, alerter, web) against nginx on loopback, as bench/scale_bench.py runs them; after start-up and a
settle time, VmRSS and VmHWM (the peak, start-up included) of every process, in MB and in bytes per endpoint.

    /usr/bin/python3 bench/mem_probe.py --sizes 100000,500000 [--settle 70]

A short probe, not a performance target: the targets are in bench/scale_bench.py (`make bench`)."""
import argparse
import os
import re
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Nginx, Procs, free_port  # noqa: E402
from scale_run import ScaleRun, config_text, write_atomic  # noqa: E402


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def pss_kb(pid):
    """Proportional set size (shared pages divided among their users): what the processes hold together."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def role(pid, title):
    """supervisor, worker N, storer, ...: from the program's file name (and the worker's slot in its arguments)."""
    try:
        exe = os.path.basename(os.readlink(f"/proc/{pid}/exe")).replace(" (deleted)", "")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode(errors="replace").split("\0")
    except OSError:
        return title
    name = "supervisor" if exe == "clockwerk" else exe.replace("clockwerk-", "")
    if name == "worker":
        slot = next((a for a in args[1:] if a.isdigit()), "")
        return f"worker {slot}".strip()
    return name


def probe(procs, tmp, nginx, n, workers, settle):
    d = os.path.join(tmp, f"n{n}")
    os.makedirs(d)
    conf = os.path.join(d, "clockwerk.conf")
    web_port = free_port()
    write_atomic(conf, config_text(nginx.addresses, nginx.port, n, 60, workers, web_port))
    run = ScaleRun(procs, d, conf, n, 60, workers, web_port, nginx)
    try:
        run.start(settle)
        rows = []
        for pid, title in sorted(run.pids().items()):
            rows.append((role(pid, title), status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM"),
                         status_kb(pid, "RssAnon"), status_kb(pid, "RssFile"), pss_kb(pid)))
        rows.sort()
        print(f"N={n} startup={run.r['startup']:.1f}s load={os.getloadavg()[0]:.2f}")
        print(f"  {'process':12} {'RSS MB':>8} {'HWM MB':>8} {'RSS B/ep':>9} {'HWM B/ep':>9} {'anon MB':>8} "
              f"{'file MB':>8} {'PSS MB':>8}")
        total = ("TOTAL",) + tuple(sum(x[i] for x in rows) for i in range(1, 6))
        for r, rss, hwm, anon, file_, pss in rows + [total]:
            print(f"  {r:12} {rss / 1024:8.1f} {hwm / 1024:8.1f} {rss * 1024 / n:9.0f} {hwm * 1024 / n:9.0f} "
                  f"{anon / 1024:8.1f} {file_ / 1024:8.1f} {pss / 1024:8.1f}")
        sys.stdout.flush()
    finally:
        run.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--settle", type=float, default=70, help="seconds after start-up before reading")
    ap.add_argument("--addresses", type=int, default=8)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    procs = Procs()
    with tempfile.TemporaryDirectory(prefix="cw-mem-") as tmp:
        try:
            nginx = Nginx(procs, tmp, addresses=[f"127.0.0.{i + 1}" for i in range(args.addresses)],
                          nofile=min(65536, hard - 1024))
            for n in (int(s) for s in args.sizes.split(",")):
                probe(procs, tmp, nginx, n, args.workers, args.settle)
        finally:
            procs.stop_all()


if __name__ == "__main__":
    main()
