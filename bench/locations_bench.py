#!/usr/bin/python3
"""bench/locations_bench.py — issue 16's figure: three probe hosts x N checks a second into one central storer and
alerter, against one host checking the same N a second, in the same run (docs/performance.md "Locations").

    /usr/bin/python3 bench/locations_bench.py [--endpoints N] [--seconds S]      (3,000 and 60: `make bench`)

Two runs, one after the other, on 127.0.0.1 against the same target (nginx with stub_status when installed, else
bench/delay_server with 0 ms):
  - single host: one supervisor (one worker, storer on SQLite, alerter, relay) with N endpoints at 1 s;
  - locations: a central host (workers = 0, storer on SQLite, alerter, relay; `locations` fra, nyc, sgp; the bus on
    tcp://127.0.0.1 with CURVE) and three probe-host supervisors (one worker each, their own key pairs and
    run_dirs) that fetch the same N endpoints from it: 3 x N results a second into the central.
Each run: one interval and a half of warm-up, then S seconds measured: the storer's and the alerter's CPU (utime +
stime from /proc) and the rows whose checked_at falls in the window (after every process stopped cleanly). Figures:
on schedule (rows in the window / scheduled checks), lost (requests the target served while Clockwerk ran minus
rows stored; nginx only: the delay server counts nothing), the central's storer + alerter CPU per result, and the
ratio of the locations run's to the single host's (target: within 10 %, issue 16). Every wait is bounded, every
process stopped on every path; nothing is asserted. A build whose probe hosts never receive a configuration (no
probe-host mode) prints "not measured" with the reason.
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
sys.path.insert(0, HERE)
from dns_bench import B  # noqa: E402  bench/run.py as a module (its helpers: processes, /proc CPU, nginx)

LOCATIONS = ("fra", "nyc", "sgp")
CENTRAL_ROLES = ("clockwerk: storer", "clockwerk: alerter")


class NotMeasured(Exception):
    pass


def keygen(d, name):
    path = os.path.join(d, name + ".key")
    out = subprocess.run([os.path.join(B.BIN, "clockwerk"), "keygen", path], capture_output=True, text=True,
                         timeout=30)
    if out.returncode != 0:
        raise RuntimeError("clockwerk keygen: " + (out.stdout + out.stderr).strip())
    return out.stdout.strip()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def monitor_group(url, n):
    return "monitor = { check_interval = 1; latency_threshold = 5.0;\n  endpoints = (\n%s\n  );\n};\n" % (
        B.endpoints_conf(url, n, 1, 1))


def single_host(d, url, n):
    os.makedirs(d)
    write(os.path.join(d, "clockwerk.conf"),
          'supervisor = { workers = 1; run_dir = "run"; };\n' + monitor_group(url, n) +
          'database = { db_activation = true; db_driver = "sqlite"; db_name = "bench.db"; };\n')
    return [("clockwerk", d)]


def locations_site(d, url, n):
    """The central's and the probes' directories and files; returns [(name, dir)], the central first."""
    os.makedirs(d)
    keys = {name: keygen(d, name) for name in ("central",) + LOCATIONS}
    ports = [B.free_port() for _ in range(4)]
    config_address = "tcp://127.0.0.1:%d" % ports[0]
    central = os.path.join(d, "central")
    os.makedirs(central)
    shutil.copy2(os.path.join(d, "central.key"), central)
    locs = ",\n".join('  { name = "%s"; key = "%s"; }' % (loc, keys[loc]) for loc in LOCATIONS)
    write(os.path.join(central, "clockwerk.conf"),
          'supervisor = { location = "central"; workers = 0; run_dir = "run"; };\n'
          'locations = (\n%s\n);\n' % locs +
          'bus = { config_address = "%s"; store_address = "tcp://127.0.0.1:%d"; alert_address = "tcp://127.0.0.1:%d";'
          ' publish_address = "tcp://127.0.0.1:%d"; curve_key_file = "central.key"; };\n' % (
              config_address, ports[1], ports[2], ports[3]) +
          monitor_group(url, n) +
          'database = { db_activation = true; db_driver = "sqlite"; db_name = "bench.db"; };\n')
    hosts = [("central", central)]
    for loc in LOCATIONS:
        p = os.path.join(d, loc)
        os.makedirs(p)
        shutil.copy2(os.path.join(d, loc + ".key"), p)
        write(os.path.join(p, "clockwerk.conf"),
              'supervisor = { location = "%s"; workers = 1; run_dir = "run"; };\n' % loc +
              'bus = { central_address = "%s"; curve_key_file = "%s.key"; curve_server_key = "%s"; };\n' % (
                  config_address, loc, keys["central"]))
        hosts.append((loc, p))
    return hosts


def start(procs, hosts):
    sups = []
    for name, d in hosts:
        log = open(os.path.join(d, "clockwerk.log"), "w")
        sups.append((name, d, log, procs.start([os.path.join(B.BIN, "clockwerk"), "-c",
                                                os.path.join(d, "clockwerk.conf")],
                                               stdout=log, stderr=subprocess.STDOUT)))
    return sups


def titles(sup):
    return list(B.descendants(sup.pid).values())


def wait_up(sups, workers_expected, timeout):
    """Every supervisor up; every worker of the run started and checking (its first stats are not waited for)."""
    central = sups[0][3]
    B.wait_for(lambda: all(r in titles(central) for r in CENTRAL_ROLES), timeout, "the storer and the alerter")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        have = sum(1 for _, _, _, s in sups for t in titles(s) if "worker" in t)
        if have >= workers_expected:
            return
        dead = [name for name, _, _, s in sups if s.poll() is not None]
        if dead:
            raise RuntimeError("supervisor(s) %s exited" % ", ".join(dead))
        time.sleep(0.1)
    raise NotMeasured("%d of %d workers started within %d s (do the probe hosts get their configuration?)" % (
        have, workers_expected, timeout))


def measure(procs, hosts, n, seconds, counter, workers):
    served0 = counter() if counter else None
    sups = start(procs, hosts)
    try:
        wait_up(sups, workers, 30)
        time.sleep(1.5)  # warm-up: each endpoint's first check, the first batches stored (a bench: a fixed window)
        central = sups[0][3]
        pids = {p: t for p, t in B.descendants(central.pid).items() if t in CENTRAL_ROLES}
        before = {p: B.cpu_seconds(p) for p in pids}
        t0 = time.time()
        time.sleep(seconds)
        t1 = time.time()
        cpu = sum(B.cpu_seconds(p) - before[p] for p in pids)
    finally:
        for _, _, _, s in reversed(sups):   # probes first: their last results reach the central before it stops
            procs.stop(s, timeout=30)
        for _, _, log, _ in sups:
            log.close()
    served = counter() - served0 if counter else None
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(hosts[0][1], "bench.db"), uri=True)
    try:
        iso = [time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000) for t in (t0, t1)]
        in_window = db.execute("SELECT count(*) FROM checks WHERE checked_at >= ? AND checked_at < ?", iso).fetchone()[0]
        rows = db.execute("SELECT count(*) FROM checks").fetchone()[0]
    finally:
        db.close()
    scheduled = n * (t1 - t0) * workers  # each worker (one per host that checks) checks all n
    return dict(cpu=cpu, in_window=in_window, scheduled=scheduled, rows=rows, served=served, seconds=t1 - t0)


def line(name, r):
    per = r["cpu"] * 1e6 / max(1, r["in_window"])
    lost = "-" if r["served"] is None else str(r["served"] - r["rows"])
    return per, (f"{name:34} {r['in_window'] / r['seconds']:8.0f}/s  on schedule "
                 f"{100 * r['in_window'] / max(1, r['scheduled']):5.1f}%  lost {lost:>5} "
                 f"(rows {r['rows']}, served {r['served'] if r['served'] is not None else '-'})  "
                 f"storer+alerter {per:6.1f} us/result")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoints", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="cw-locbench-")
    procs = B.Procs()
    many, why = None, None
    try:
        if shutil.which("nginx"):
            target = B.Nginx(procs, tmp)
            url, counter, what = target.url, target.requests, "nginx"
        else:
            target = B.DelayServer(procs, 0)
            url, counter, what = target.url, None, "delay_server 0 ms"
        one = measure(procs, single_host(os.path.join(tmp, "single"), url, a.endpoints), a.endpoints, a.seconds,
                      counter, 1)
        try:
            many = measure(procs, locations_site(os.path.join(tmp, "loc"), url, a.endpoints), a.endpoints,
                           a.seconds, counter, len(LOCATIONS))
        except NotMeasured as e:
            why = str(e)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"locations bench: {a.endpoints} endpoints @1s, {a.seconds:g} s measured, target {what} on 127.0.0.1")
    per_one, text_one = line("single host (1 x %d/s)" % a.endpoints, one)
    print(text_one)
    name = "central + %d probe hosts (%d x %d/s)" % (len(LOCATIONS), len(LOCATIONS), a.endpoints)
    if many is None:
        print(f"{name:34} not measured: {why}")
        return 0
    per_many, text_many = line(name, many)
    print(text_many)
    print(f"central storer+alerter CPU per result, locations / single host: {per_many / max(1e-9, per_one):.2f} "
          f"(target <= 1.10; on schedule >= 99 %, 0 lost)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
