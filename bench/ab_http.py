#!/usr/bin/python3
"""bench/ab_http.py — did a change make HTTP checks dearer? Runs the whole pipeline of two builds in turns
(old, new, old, new, ...) in one run against the same nginx on 127.0.0.1, as bench/run.py runs Clockwerk
(5,000 endpoints at 1 s, 20 s windows after a warm-up), and prints each build's CPU per check, by process
and in all, with the floor (bench/floor.c) measured in the same run. Alternating cancels the drift of a shared
machine better than two separate runs.

    /usr/bin/python3 bench/ab_http.py --old /path/to/old/bin --new bin [--rounds 2] [--endpoints 5000]

Build the old binaries in a worktree of the commit to compare with (git worktree add /tmp/old COMMIT &&
make -C /tmp/old all). Nothing is asserted; every process started is stopped on every path."""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: the pipeline runner, nginx, the floor)


def one(procs, tmp, url, counter, binary, n, seconds, tag):
    run.BIN = binary
    r = run.run_clockwerk(procs, tmp, url, n, 1, seconds, 1, tag, counter)
    checks = r["served"] or 1
    by = {t.replace("clockwerk: ", ""): c * 1e6 / checks for t, c in r["cpu_by_title"].items()}
    return r["cpu"] * 1e6 / checks, by, r["late99"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="directory of the old build's binaries")
    ap.add_argument("--new", default=os.path.join(run.ROOT, "bin"), help="directory of the new build's binaries")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--endpoints", type=int, default=5000)
    ap.add_argument("--seconds", type=int, default=20)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cw-ab-")
    procs = run.Procs()
    got = {"old": [], "new": []}
    try:
        nginx = run.Nginx(procs, tmp)
        floor = run.run_floor(nginx.url, 60000)
        floor_us = floor["cpu"] * 1e6 / max(1, floor["checks"])
        for i in range(a.rounds):
            for tag, binary in (("old", a.old), ("new", a.new)):
                got[tag].append(one(procs, tmp, nginx.url, nginx.requests, binary, a.endpoints, a.seconds,
                                    "%s%d" % (tag, i)))
    finally:
        procs.stop_all()
    print("HTTP A/B, %d endpoints @1s against nginx, %d rounds of %d s each, floor %.1f us per check" %
          (a.endpoints, a.rounds, a.seconds, floor_us))
    for tag in ("old", "new"):
        totals = [t for t, _, _ in got[tag]]
        parts = {}
        for _, by, _ in got[tag]:
            for k, v in by.items():
                parts.setdefault(k, []).append(v)
        by_process = ", ".join("%s %.1f" % (k, statistics.median(v))
                               for k, v in sorted(parts.items(), key=lambda kv: -max(kv[1])))
        print("  %s: %s us per check (median %.1f, %.2fx the floor); by process (median): %s; lateness p99 %s ms" % (
            tag, " ".join("%.1f" % t for t in totals), statistics.median(totals),
            statistics.median(totals) / floor_us, by_process, " ".join("%.1f" % x for _, _, x in got[tag])))
    old, new = (statistics.median(t for t, _, _ in got[k]) for k in ("old", "new"))
    print("  new/old: %.3f" % (new / old))
    return 0


if __name__ == "__main__":
    sys.exit(main())
