#!/usr/bin/python3
"""bench/web_bench.py — the figures of clockwerk-web (issue 13) in one run: 10,000 endpoints with 90 days of history.

    /usr/bin/python3 bench/web_bench.py [--endpoints N] [--days D] [--rate CHECKS_PER_S] [--seconds S]
                                        [--requests R] [--connections C]

What it sets up (everything on 127.0.0.1, every process stopped on every path):
  - a target: nginx answering 200 (as bench/run.py's throughput run), or bench/delay_server at 0 ms without nginx;
  - a SQLite database filled by bench/report_bench.py's generator (the one generator of history): per endpoint
    a daily roll-up cell for each of the last D+1 days, the hourly cells of the ragged ends, 20 raw rows (one a
    minute, the last checks an endpoint page shows), and down/up alerts (3 incidents over the days for every
    tenth endpoint, a `down` still open for every hundredth);
  - the whole pipeline (supervisor, relay, one worker, storer on that database, alerter) with the web on: the N
    endpoints, named and in groups of 100, all checked against the target at an interval of N / RATE seconds, so
    the worker checks RATE endpoints a second (3,000 by default) and every endpoint on the page has a live state
    AND its history. The checks are real: the page is measured while its model changes, as it would be.

What it measures, after one interval of warm-up:
  - `/`: R requests one after another on fresh connections, p99 (nearest rank) of the time to the last byte, and
    the size of the page (budgets 100 ms, 300 KB);
  - `/metrics` (300 ms) and `/api/v1/endpoints` (100 ms: its first page of 1000), then `/?q=…` (a search),
    `/?page=LAST`, `/?state=down` and `/groups` (100 ms, issue 18): 10 requests each, the slowest and the median; a
    path that answers 404 (its part not merged yet) is printed as "not available" and the run goes on; above
    10,000 endpoints /metrics has the aggregates by group only (web.metrics_per_endpoint = "auto");
  - the history's first read, from the web's log (`history: read (N endpoints in T s)`);
  - the web's RSS from /proc (VmRSS now, VmHWM the peak since it started; budget 60 MB), before and after the load;
  - lateness: the p99 of every check's lateness (start minus due time, from the results on the tap address,
    docs/protocol.md 2.3; the worker's per-second p99 from its stats beside it, as bench/run.py prints) over S seconds
    with no web traffic, then over S seconds while wrk (Debian's `wrk`, C clients on 2 threads) hammers `/` with C
    connections (200), then S seconds without again; budget 20 ms, and the ratio to the reference (the mean of the
    two quiet windows: on a shared machine the drift between them says how far the ratio can be trusted). wrk runs
    under `nice 19` (--clients-nice): it stands for clients on other machines, and served from the cache it takes
    half a core of its own, which at nice 0 the worker would have to share as an equal (the budget is about what
    the web's load does to the checks). The web's CPU and wrk's are printed.
Every loop is bounded in count and time. Nothing is asserted: the figures are printed against the budgets
(docs/performance.md, "Web"). web.max_connections_per_ip defaults to 256, so C = 200 from one address is served.
"""

import argparse
import http.client
import math
import os
import re
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import report_bench  # noqa: E402  the history generator (bench/report_bench.py statements)


def _bench_run():
    """bench/run.py as a module (by its path: tests/e2e, which report_bench puts first on sys.path, has a run.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(HERE, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _bench_run()  # processes, targets, the workers' stats, /proc readers

BUDGET = dict(index_ms=100.0, index_kb=300.0, metrics_ms=300.0, api_ms=100.0, rss_mb=60.0, late_ms=20.0)
GROUP_SIZE = 100
RAW_ROWS = 20
INCIDENTS = 3
REQUEST_TIMEOUT_S = 30.0
CLIENTS_NICE = 19  # wrk's niceness: see the docstring (lateness)


def write_config(tmp, target_url, n, interval, port, db_path):
    """N named endpoints in groups, all at `interval` against the target, the web on `port`, the database."""
    eps = ",\n".join('    { url = "%s?e=%d"; name = "Service %05d"; group = "Group %03d"; timeout = %.4f; }'
                     % (target_url, i, i, i // GROUP_SIZE, min(2.0, interval)) for i in range(n))
    conf = os.path.join(tmp, "clockwerk.conf")
    with open(conf, "w") as f:
        f.write('supervisor = { workers = 1; run_dir = "%s/run"; log_level = "info"; };\n'
                'monitor = { check_interval = %.4f; latency_threshold = 5.0;\n  endpoints = (\n%s\n  );\n};\n'
                'database = { db_activation = true; db_driver = "sqlite"; db_name = "%s"; };\n'
                'web = { listen = "127.0.0.1:%d"; title = "Bench status"; };\n' % (tmp, interval, eps, db_path, port))
    os.chmod(conf, 0o600)
    return conf


def request(port, path):
    """(status, body bytes, seconds to the last byte) over a fresh connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        t0 = time.monotonic()
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        return r.status, body, time.monotonic() - t0
    finally:
        c.close()


def nearest_rank(values, q):
    values = sorted(values)
    return values[max(0, math.ceil(q * len(values)) - 1)]


def measure_path(port, path, count, deadline_s=120.0):
    """count GETs of path one after another (at most deadline_s): its figures, or why there are none."""
    times, size, end = [], 0, time.monotonic() + deadline_s
    for _ in range(count):
        if time.monotonic() > end:
            break
        try:
            status, body, took = request(port, path)
        except OSError as e:
            return dict(path=path, note="failed: %s" % e)
        if status == 404:
            return dict(path=path, note="not available (404: not merged yet)")
        if status != 200:
            return dict(path=path, note="answered %d: %r" % (status, body[:80]))
        times.append(took * 1000)
        size = len(body)
    return dict(path=path, n=len(times), p99=nearest_rank(times, 0.99), median=statistics.median(times),
                slowest=max(times), size=size)


def web_pid(sup_pid):
    for pid, title in harness.descendants(sup_pid).items():
        if title == "clockwerk: web":
            return pid
    return None


def memory_mb(pid):
    """(VmRSS, VmHWM) in MB from /proc/PID/status; (0, 0) when it is gone."""
    got = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    got[line.split(":")[0]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return got.get("VmRSS", 0.0), got.get("VmHWM", 0.0)


def result_lateness(p):
    """The lateness_us of every record of a `result` payload (docs/protocol.md 2.3); [] when malformed."""
    try:
        version, typ, count = struct.unpack_from("<BBH", p, 0)
        if version not in (1, 2, 3) or typ != 1:
            return []
        out, off = [], 4
        for _ in range(count):
            (late,) = struct.unpack_from("<q", p, off + 28)
            flags = p[off + 78]
            off += 80
            for _string in ("url", "error"):
                (n,) = struct.unpack_from("<H", p, off)
                off += 3 + n
            off += 8 if flags & 2 else 0
            for bit in (4, 8):  # figures (version 2), location (version 3)
                if flags & bit:
                    (n,) = struct.unpack_from("<H", p, off)
                    off += 3 + n
            out.append(late)
        return out
    except (struct.error, IndexError):
        return []


class Listener(harness.StatsListener):
    """bench/run.py's listener of the workers' stats, also subscribed to the results on the tap address: the
    lateness of every check, for the exact p99 of a window (the stats give one p99 per second)."""

    def __init__(self, tap_address):
        super().__init__(tap_address)
        self.sock.setsockopt(self.zmq.SUBSCRIBE, b"result")
        self.lateness_us = []

    def poll(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000) + 1):
                return
            frames = self.sock.recv_multipart()
            if len(frames) != 2:
                continue
            if frames[0] == b"result":
                self.lateness_us.extend(result_lateness(frames[1]))
            elif (s := harness.decode_stats(frames[1])) is not None:
                self.samples.append(s)


def lateness_window(listener, seconds, during=None):
    """The checks' lateness over `seconds` (while `during`, a started process, runs): the p99 over every result,
    the workers' per-second p99s, checks per second."""
    listener.samples.clear()
    listener.lateness_us.clear()
    listener.poll(seconds)
    if during is not None:
        try:
            during.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            during.kill()
            during.wait()
    ws = [s["items"] for s in listener.samples if s["role"] == "worker"]
    p99s = [s.get("lateness_p99_us", 0) / 1000 for s in ws]
    checks = (ws[-1].get("checks", 0) - ws[0].get("checks", 0)) / max(1, len(ws) - 1) if len(ws) > 1 else 0
    late = listener.lateness_us
    return dict(p99=nearest_rank(late, 0.99) / 1000 if late else float("nan"), results=len(late),
                worst=max(p99s, default=float("nan")), seconds=len(ws), checks_per_s=checks)


class Prober:
    """GET /healthz every 0.25 s on a thread, for `seconds` (at most 4 a second, each bounded by its timeout): is
    the web's loop still answering a cheap request while clients hammer `/`?"""

    def __init__(self, port, seconds):
        self.times, self.failed = [], 0
        self.thread = threading.Thread(target=self._run, args=(port, time.monotonic() + seconds), daemon=True)
        self.thread.start()

    def _run(self, port, until):
        for _ in range(10000):
            if time.monotonic() >= until:
                return
            try:
                status, _body, took = request(port, "/healthz")
                self.times.append(took * 1000)
                self.failed += status != 200
            except OSError:
                self.failed += 1
            time.sleep(0.25)

    def line(self):
        self.thread.join(REQUEST_TIMEOUT_S + 5)
        if not self.times:
            return "/healthz during the load: no answer (%d failed)" % self.failed
        return ("/healthz during the load: median %.1f ms, slowest %.1f ms over %d requests, %d failed"
                % (statistics.median(self.times), max(self.times), len(self.times), self.failed))


def start_wrk(procs, port, connections, seconds, niceness):
    exe = shutil.which("wrk")
    if not exe:
        return None
    return procs.start(["nice", "-n", str(niceness), exe, "-t2", "-c%d" % connections, "-d%ds" % seconds,
                        "--timeout", "10s", "--latency",
                        "http://127.0.0.1:%d/" % port], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_figures(out):
    """Requests/s, latency p50/p99 and errors from wrk's report."""
    def unit_ms(v):
        m = re.match(r"([\d.]+)(us|ms|s|m)", v)
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)] if m else None
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return dict(rate=float(rate.group(1)) if rate else None, p50=unit_ms(p50.group(1)) if p50 else None,
                p99=unit_ms(p99.group(1)) if p99 else None,
                errors=sum(int(x) for x in errors.groups()) if errors else 0,
                error_kinds=", ".join("%s %s" % kv for kv in zip(("connect", "read", "write", "timeout"),
                                                                 errors.groups()) if kv[1] != "0") if errors else "",
                non2xx=int(non2xx.group(1)) if non2xx else 0)


def budget_note(value, budget):
    return "%.2fx, %s" % (value / budget, "met" if value < budget else "MISSED")


def path_line(m, budget_ms, what):
    if "note" in m:
        return "%-18s %s" % (m["path"], m["note"])
    took = m["p99"] if what == "p99" else m["slowest"]
    return ("%-18s %s %.1f ms (budget %.0f ms: %s), median %.1f ms, over %d requests; %d bytes"
            % (m["path"], what, took, budget_ms, budget_note(took, budget_ms), m["median"], m["n"], m["size"]))


def load_lines(refs, load, wrk, cpu, connections, seconds, niceness):
    """refs: the lateness windows without web load, before and after the loaded one (the machine's drift shows)."""
    out = []
    if wrk is None:
        out.append("load: not measured (wrk is not installed: sh tools/install-deps.sh bench)")
    else:
        out.append("load: wrk -t2 -c%d -d%ds on /%s: %s requests/s, latency p50 %s p99 %s, %d socket errors%s, %d "
                   "non-2xx; CPU: the web %.0f%% of a core, wrk %.0f%%"
                   % (connections, seconds, " (under nice %d)" % niceness if niceness else "",
                      "%.0f" % wrk["rate"] if wrk["rate"] else "?",
                      "%.0f ms" % wrk["p50"] if wrk["p50"] is not None else "?",
                      "%.0f ms" % wrk["p99"] if wrk["p99"] is not None else "?", wrk["errors"],
                      " (%s)" % wrk["error_kinds"] if wrk["error_kinds"] else "", wrk["non2xx"],
                      100 * cpu[0] / seconds, 100 * cpu[1] / seconds))
    for what, ref in zip(("before", "after"), refs):
        out.append("checks' lateness, no web load %s: p99 %.1f ms over %d results (worst second's p99 %.1f ms), "
                   "%.0f checks/s" % (what, ref["p99"], ref["results"], ref["worst"], ref["checks_per_s"]))
    if load is not None:
        reference = statistics.mean(r["p99"] for r in refs)
        out.append("checks' lateness, %d clients on /: p99 %.1f ms over %d results (worst second's p99 %.1f ms), "
                   "%.0f checks/s (budget 20 ms: %s; %.2fx the no-load reference, the mean of both)"
                   % (connections, load["p99"], load["results"], load["worst"], load["checks_per_s"],
                      budget_note(load["p99"], BUDGET["late_ms"]), load["p99"] / reference if reference > 0 else 0))
    return out


def measure(procs, a, tmp, target_url):
    path = os.path.join(tmp, "web.db")
    t0 = time.monotonic()
    report_bench.fill("sqlite", None, path, a.endpoints, a.days, int(time.time()), url=(target_url + "?e=", ""),
                      raw_rows=RAW_ROWS, incidents=INCIDENTS)
    generated = time.monotonic() - t0
    interval = round(a.endpoints / a.rate, 4)
    port = harness.free_port()
    conf = write_config(tmp, target_url, a.endpoints, interval, port, path)
    log = open(os.path.join(tmp, "clockwerk.log"), "w")
    sup = procs.start([os.path.join(harness.BIN, "clockwerk"), "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        def started():
            if sup.poll() is not None:
                with open(os.path.join(tmp, "clockwerk.log")) as f:
                    raise RuntimeError("clockwerk exited (%s): %s" % (sup.returncode, f.read()[-600:].strip()))
            return web_pid(sup.pid)
        pid = harness.wait_for(started, 60, "clockwerk: web to start")
        harness.wait_for(lambda: harness.port_open(port), 60, "the web to listen")
        listener = Listener("ipc://%s/run/tap.sock" % tmp)
        try:
            listener.poll(interval + 2.0)  # warm-up: every endpoint checked once, the history read
            index = measure_path(port, "/", a.requests)
            metrics = measure_path(port, "/metrics", 10)
            api = measure_path(port, "/api/v1/endpoints", 10)
            last = "/?page=%d" % ((a.endpoints + 39) // 40)
            extra = [measure_path(port, path, 10) for path in
                     ("/?q=service%%20%05d" % (a.endpoints // 2), last, "/?state=down", "/groups")]
            rss_before = memory_mb(pid)
            ref = lateness_window(listener, a.seconds)
            cpu0 = harness.cpu_seconds(pid)
            children0 = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child reaped meanwhile
            wrk_proc = start_wrk(procs, port, a.connections, a.seconds, a.clients_nice)
            prober = Prober(port, a.seconds) if wrk_proc else None
            load = lateness_window(listener, a.seconds, wrk_proc) if wrk_proc else None
            healthz = prober.line() if prober else None
            web_cpu = harness.cpu_seconds(pid) - cpu0
            children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            wrk_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
            wrk = wrk_figures(wrk_proc.stdout.read()) if wrk_proc else None
            rss_after = memory_mb(pid)
            refs = [ref, lateness_window(listener, a.seconds)] if wrk_proc else [ref]
            restarted = web_pid(sup.pid) != pid
        finally:
            listener.close()
    finally:
        procs.stop(sup, timeout=20)
        log.close()
    lines = ["web: %d endpoints, %d days of history (SQLite, generated in %.0f s), %d checks/s (interval %.2f s); "
             "load average %.1f at the end" % (a.endpoints, a.days, generated, a.rate, interval, os.getloadavg()[0])]
    lines.append(path_line(index, BUDGET["index_ms"], "p99"))
    if "size" in index:
        lines.append("%-18s size %d bytes = %.0f KB (budget 300 KB: %s)"
                     % ("/", index["size"], index["size"] / 1024,
                        budget_note(index["size"] / 1024, BUDGET["index_kb"])))
    lines.append(path_line(metrics, BUDGET["metrics_ms"], "slowest"))
    lines.append(path_line(api, BUDGET["api_ms"], "slowest"))
    for m in extra:  # issue 18: a search, the last page, a state, the groups (budget as `/`'s)
        lines.append(path_line(m, BUDGET["index_ms"], "slowest"))
    with open(os.path.join(tmp, "clockwerk.log")) as f:
        reads = re.findall(r"history: read(?: again)? \((\d+) endpoints in ([0-9.]+) s\)", f.read())
    if reads:
        lines.append("history read: %s endpoints in %s s (the web's log, first read)" % reads[0])
    lines.append("web RSS %.1f MB, peak %.1f MB before the load (budget 60 MB: %s); after it %.1f MB, peak %.1f MB (%s)"
                 % (rss_before[0], rss_before[1], budget_note(rss_before[1], BUDGET["rss_mb"]), rss_after[0],
                    rss_after[1], budget_note(rss_after[1], BUDGET["rss_mb"])))
    lines.extend(load_lines(refs, load, wrk, (web_cpu, wrk_cpu), a.connections, a.seconds, a.clients_nice))
    if healthz:
        lines.insert(-len(refs) - 1, healthz)
    if restarted:
        lines.append("the web process was RESTARTED during the run (see %s)" % os.path.join(tmp, "clockwerk.log"))
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoints", type=int, default=10000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--rate", type=int, default=3000, help="checks per second (the endpoints' interval: N / RATE)")
    ap.add_argument("--seconds", type=int, default=15, help="each lateness window: without and with the load")
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--clients-nice", type=int, default=CLIENTS_NICE,
                    help="run wrk under nice N (default %d: it stands for clients on other machines; 0: it competes "
                    "with the pipeline for the CPU as an equal)" % CLIENTS_NICE)
    a = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="cw-web-bench-")
    procs = harness.Procs()
    try:
        if shutil.which("nginx"):
            target = harness.Nginx(procs, tmp).url
        else:
            target = harness.DelayServer(procs, 0).url
        lines = measure(procs, a, tmp, target)
    except Exception as e:  # noqa: B902 - a failed web bench is a line in the report, not a crash of `make bench`
        import traceback
        traceback.print_exc()
        lines = ["web: not measured: %s" % e]
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    for line in lines:
        print(line, flush=True)
    return lines


if __name__ == "__main__":
    sys.exit(1 if main()[0].startswith("web: not measured") else 0)  # a broken harness fails bench-smoke
