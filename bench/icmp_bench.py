#!/usr/bin/python3
"""bench/icmp_bench.py — the icmp check's figure of issue 14: N hosts in 127/8 (every address there answers on
the loopback) at a 10 s interval with count 3 (10,000 hosts: 1,000 checks and 3,000 echo requests a second), the
worker's lateness p99 (budget 20 ms).

    /usr/bin/python3 bench/icmp_bench.py [--endpoints N] [--seconds S] [--interval I]

The pipeline is bench/dns_bench.py's run_checks (supervisor, relay, one worker, storer on SQLite, alerter);
the first line of `clockwerk -t` about icmp says which sockets the worker uses (as root with ping_group_range
"1 0": raw sockets opened by the supervisor). Figures after one interval of warm-up, over S seconds: checks a
second, lateness p50/p99, worker CPU per check (3 echo requests and replies), failed checks. Bounded in count
and time; every process stopped on every path; nothing asserted.
"""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dns_bench  # noqa: E402  run_checks, report


def main(argv=None):
    a = dns_bench.parse_args(argv, 10000, 10.0)
    if a.endpoints > 250 * 256 * 250:
        raise SystemExit("at most %d hosts in 127/8" % (250 * 256 * 250))
    hosts = ["127.%d.%d.%d" % (1 + i // 64000, (i // 250) % 256, 1 + i % 250) for i in range(a.endpoints)]
    eps = [dict(type="icmp", name="p%d" % i, host=h, count=3, packet_interval=0.2, timeout=min(2.0, a.interval))
           for i, h in enumerate(hosts)]
    tmp = tempfile.mkdtemp(prefix="cw-icmpbench-")
    try:
        r = dns_bench.run_checks(tmp, "icmp", eps, a.interval, a.seconds)
        dns_bench.report(f"icmp ({a.endpoints} hosts in 127/8 @{a.interval:g}s, count 3; {r['method']})", r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
