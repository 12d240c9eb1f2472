"""bench/scale_run.py — one size of bench/scale_bench.py (issue 18): N endpoints spread over nginx's loopback
addresses, the whole pipeline on (2 workers, SQLite storer with roll-ups, alerter, web), a warm-up of one
interval, then a measuring window: schedule, lateness, CPU and context switches per check per process, RSS,
database growth, the web's / and /metrics timed, nginx's own CPU. The run stays up for the caller's extras
(syscalls, profile, SIGHUP) until stop(); then the database is read for the lossless count.

Every wait is bounded in time; the supervisor runs in its own process group, killed on every path."""
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.request

from benchlib import BIN, StatsListener, cpu_seconds, descendants, rss_kb

CONFIG = """supervisor = {{ workers = {workers}; run_dir = "run"; log_level = "info"; }};
monitor = {{ check_interval = {interval}; latency_threshold = 5.0;
  endpoints = (
{endpoints}
  );
}};
database = {{ db_activation = true; db_driver = "sqlite"; db_name = "bench.db";{raw} }};
web = {{ listen = "127.0.0.1:{web_port}"; }};
"""


def endpoint_url(addresses, port, i):
    return f"http://{addresses[i % len(addresses)]}:{port}/e/{i}"


def config_text(addresses, port, n, interval, workers, web_port, raw=None):
    timeout = min(5, interval)
    eps = ",\n".join(f'    {{ url = "{endpoint_url(addresses, port, i)}"; timeout = {timeout}; }}' for i in range(n))
    return CONFIG.format(workers=workers, interval=interval, endpoints=eps, web_port=web_port,
                         raw=f' raw = "{raw}";' if raw else "")


def write_atomic(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def validate(conf, timeout=600):
    """`clockwerk -t`: (seconds, ok, last line of its output); a run past timeout is killed and not ok."""
    t0 = time.monotonic()
    try:
        out = subprocess.run([os.path.join(BIN, "clockwerk"), "-t", "-c", conf], capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.monotonic() - t0, False, f"timed out after {timeout} s"
    lines = (out.stdout + out.stderr).strip().splitlines()
    return time.monotonic() - t0, out.returncode == 0, lines[-1] if lines else ""


def ctx_switches(pid):
    """voluntary + nonvoluntary context switches of one process, 0 when it is gone."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return total


def time_wait_sockets():
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    t = line.split()
                    return int(t[t.index("tw") + 1])
    except (OSError, ValueError):
        pass
    return -1


def label(title):
    return title[len("clockwerk: "):] if title.startswith("clockwerk: ") else "supervisor"


def fetch(url, timeout=120):
    """GET url: (seconds, bytes, status or error text)."""
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read()
            return time.monotonic() - t0, len(body), r.status
    except Exception as e:  # noqa: B902 - a failed page is a figure of the run, not a crash
        return time.monotonic() - t0, 0, str(e)[:60]


def db_files_size(path):
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


class ScaleRun:
    """One supervisor with n endpoints; start(), window(), then stop() (always, from a finally)."""

    def __init__(self, procs, d, conf, n, interval, workers, web_port, nginx):
        self.procs, self.d, self.conf, self.n = procs, d, conf, n
        self.interval, self.workers, self.web_port, self.nginx = interval, workers, web_port, nginx
        self.sup = self.listener = self.log = None
        self.log_path = os.path.join(d, "clockwerk.log")
        self.db_path = os.path.join(d, "bench.db")
        self.r = dict(n=n)

    # ---- start-up
    def start(self, warmup):
        """Starts the supervisor; start-up = until every worker's stats count checks; then the warm-up."""
        self.served0 = self.nginx.served()
        self.log = open(self.log_path, "w")
        t0 = time.monotonic()
        self.sup = self.procs.start([os.path.join(BIN, "clockwerk"), "-c", self.conf], stdout=self.log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.listener = StatsListener(f"ipc://{self.d}/run/tap.sock")
        checking = {}
        deadline = t0 + 120 + self.n / 2000  # the config load itself grows with n
        while len(checking) < self.workers and time.monotonic() < deadline:
            if self.sup.poll() is not None:
                raise RuntimeError(f"clockwerk exited ({self.sup.returncode}): see {self.log_path}")
            self.listener.poll(0.1)
            for s in self.listener.samples:
                if s["role"] == "worker" and s["items"].get("checks", 0) > 0:
                    checking.setdefault(s["id"], time.monotonic() - t0)
        if len(checking) < self.workers:
            raise RuntimeError(f"not every worker checked within {deadline - t0:.0f}s: see {self.log_path}")
        self.r["startup"] = max(checking.values())
        self.r["first_check"] = min(checking.values())
        self.listener.poll(max(0.0, t0 + self.r["startup"] + warmup - time.monotonic()))
        self.r["rate90"] = self._rate_reached(t0, 0.9)

    def _rate_reached(self, t0, share):
        """Seconds from the start until the workers' checks per second (over 5 s) first reach share of the
        schedule, from the stats samples of the start-up and warm-up; None when not reached."""
        want = share * self.n / self.interval
        last, points = {}, []
        for s in self.listener.samples:
            if s["role"] == "worker":
                last[s["id"]] = s["items"].get("checks", 0)
                points.append((s["t"], sum(last.values())))
        for i, (t, c) in enumerate(points):
            for t_prev, c_prev in points[:i]:
                if 4.5 <= t - t_prev <= 6 and (c - c_prev) / (t - t_prev) >= want:
                    return t - t0
        return None

    def pids(self):
        return {p: t for p, t in descendants(self.sup.pid).items()}

    # ---- the window
    def _snapshot(self):
        pids = self.pids()
        return dict(t=time.monotonic(), pids=pids, cpu={p: cpu_seconds(p) for p in pids},
                    ctx={p: ctx_switches(p) for p in pids}, served=self.nginx.served(),
                    nginx_cpu=sum(cpu_seconds(p) for p in descendants(self.nginx.proc.pid)),
                    db=db_files_size(self.db_path))

    def window(self, seconds):
        a = self._snapshot()
        self.listener.samples.clear()
        self.listener.poll(seconds / 2)
        self.r["web_index"] = fetch(f"http://127.0.0.1:{self.web_port}/")
        self.r["web_metrics"] = fetch(f"http://127.0.0.1:{self.web_port}/metrics")
        self.listener.poll(max(0.0, a["t"] + seconds - time.monotonic()))
        b = self._snapshot()
        self.r["tw"] = time_wait_sockets()
        self._figures(a, b)

    def _figures(self, a, b):
        r = self.r
        el = r["el"] = b["t"] - a["t"]
        served = r["served"] = b["served"] - a["served"]
        r["scheduled"] = self.n * el / self.interval
        cpu, ctx = {}, {}
        for p, t in {**a["pids"], **b["pids"]}.items():
            k = label(t)
            cpu[k] = cpu.get(k, 0.0) + cpu_seconds(p) - a["cpu"].get(p, 0.0)
            ctx[k] = ctx.get(k, 0) + ctx_switches(p) - a["ctx"].get(p, 0)
        r["cpu"], r["ctx"] = cpu, ctx
        r["rss"] = {label(t): rss_kb(p) for p, t in b["pids"].items()}
        r["nginx_cpu_pct"] = 100 * (b["nginx_cpu"] - a["nginx_cpu"]) / el
        r["db_growth"] = b["db"] - a["db"]
        ws = [s for s in self.listener.samples if s["role"] == "worker"]
        per_worker = {}
        for s in ws:
            per_worker.setdefault(s["id"], []).append(s["items"])
        delta = lambda k: sum(v[-1].get(k, 0) - v[0].get(k, 0) for v in per_worker.values())  # noqa: E731
        r["w_checks"], r["w_failed"], r["w_missed"] = delta("checks"), delta("checks_failed"), delta("missed")
        p50s = sorted(s["items"].get("lateness_p50_us", 0) / 1000 for s in ws if s["items"].get("lateness_samples"))
        p99s = sorted(s["items"].get("lateness_p99_us", 0) / 1000 for s in ws if s["items"].get("lateness_samples"))
        r["late50"] = p50s[len(p50s) // 2] if p50s else float("nan")
        r["late99_median"] = p99s[len(p99s) // 2] if p99s else float("nan")
        r["late99_worst"] = p99s[-1] if p99s else float("nan")
        r["per_check"] = served if served > 0 else max(1, r["w_checks"])

    # ---- extras while it runs
    def worker_pids(self):
        return sorted(p for p, t in self.pids().items() if label(t).startswith("worker"))

    def syscalls(self, seconds):
        """perf stat on worker 0: syscalls and context switches per check (its checks from its stats)."""
        pids = self.worker_pids()
        if not pids:
            return "not measured: no worker"
        self.listener.samples.clear()
        try:
            perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter,context-switches",
                                     "-p", str(pids[0]), "--", "sleep", str(seconds)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except OSError as e:
            return f"not measured: {e}"
        self.listener.poll(seconds + 1.2)  # stats once a second: at least two samples of the worker
        try:
            err = perf.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            perf.kill()
            return "not measured: perf stat hung"
        counts = {}
        for line in err.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].replace(".", "").isdigit():
                counts[f[2]] = float(f[0])
        mine = [(s["t"], s["items"].get("checks", 0)) for s in self.listener.samples
                if s["role"] == "worker" and s.get("boot") is not None and s["id"] == self._worker_id(pids[0])]
        if "raw_syscalls:sys_enter" not in counts:
            return "not measured: " + (err.strip().splitlines() or ["no perf output"])[-1][:80]
        if len(mine) < 2 or mine[-1][1] == mine[0][1]:
            return f"not measured: {len(mine)} stats samples of worker pid {pids[0]} during perf stat"
        rate = (mine[-1][1] - mine[0][1]) / (mine[-1][0] - mine[0][0])
        checks = rate * seconds
        return (f"{counts['raw_syscalls:sys_enter'] / checks:.1f} syscalls and "
                f"{counts.get('context-switches', 0) / checks:.2f} context switches per check "
                f"(perf stat, worker pid {pids[0]}, {seconds:.0f} s, {rate:.0f} checks/s)")

    def _worker_id(self, pid):
        m = re.search(r"worker (\d+)", self.pids().get(pid, ""))
        return int(m.group(1)) if m else 0

    # ---- stop and count
    def stop(self):
        """Clean stop (SIGTERM, bounded), then the process group killed if anything is left."""
        if self.listener:
            self.listener.close()
            self.listener = None
        if self.sup and self.sup.poll() is None:
            self.sup.terminate()
            try:
                self.sup.wait(60 + self.n / 10000)
            except subprocess.TimeoutExpired:
                pass
        if self.sup:
            try:
                os.killpg(self.sup.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.sup.wait()
        if self.log:
            self.log.close()
            self.log = None

    def count(self):
        """After stop(): rows and roll-up counts against every request nginx served since the start."""
        r = self.r
        r["served_total"] = self.nginx.served() - self.served0
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            q = lambda sql: db.execute(sql).fetchone()[0] or 0  # noqa: E731
            r["rows"] = q("select count(*) from checks")
            r["rollup_checks"] = q("select sum(checks) from checks_hourly")
            r["rollup_daily_checks"] = q("select sum(checks) from checks_daily")
            r["unfolded"] = q("select count(*) from checks where id > (select coalesce(max(last_check_id), 0) "
                              "from rollup_state)")
            r["hourly_cells"] = q("select count(*) from checks_hourly")
            r["daily_cells"] = q("select count(*) from checks_daily")
            r["table_bytes"] = dict(db.execute("select name, sum(pgsize) from dbstat group by name").fetchall())
        finally:
            db.close()
        r["db_bytes"] = db_files_size(self.db_path)
        return r
