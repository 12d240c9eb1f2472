#!/usr/bin/python3
"""bench/scale_bench.py — half a million endpoints on one small machine (issue 18), in `make bench` (full) and
`make bench-smoke` (--smoke: a tiny run that keeps the harness working).

For each size (--sizes, default 10k, 50k, 100k, 250k, 500k endpoints at a 60 s interval, 2 workers, SQLite storer
with roll-ups, alerter, web on loopback) against nginx on loopback (endpoints spread over --addresses loopback
addresses: more 4-tuples for the ephemeral ports), after the floor (bench/floor.c) of the same moment:
`clockwerk -t`, start-up, then after one interval of warm-up a window: checks on schedule, lateness, CPU and
context switches per check per process and the pipeline's ratio to the floor, nginx's own CPU, RSS, database
growth, the web's / and /metrics; syscalls per check of a worker (perf stat); after a clean stop the lossless
count. At the largest size also: two SIGHUPs (nothing changed, one URL changed) and a perf profile of the
hottest process. With database.raw in the binary, the raw modes' storage per endpoint per day.
docs/performance.md, "Half a million endpoints (issue 18)", says what every figure means.

Nothing is asserted; every loop is bounded in count and time; every process is stopped on every path."""
import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, Nginx, Procs, descendants, free_port, run_floor, wait_for  # noqa: E402
from scale_run import ScaleRun, config_text, label, validate, write_atomic  # noqa: E402

OUT = os.path.join(ROOT, "build", "bench")


def parse_args(argv):
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--sizes", default="10000,50000,100000,250000,500000", help="endpoint counts, comma-separated")
    a.add_argument("--interval", type=float, default=60.0, help="every endpoint's check interval, seconds")
    a.add_argument("--workers", type=int, default=2)
    a.add_argument("--window", type=float, default=0, help="measuring window, s (0: 180 at 500k and more, else 90)")
    a.add_argument("--warmup", type=float, default=-1, help="warm-up after start-up, s (default: one interval)")
    a.add_argument("--addresses", type=int, default=8, help="loopback addresses 127.0.0.1..N nginx listens on")
    a.add_argument("--floor-checks", type=int, default=30000)
    a.add_argument("--syscall-seconds", type=float, default=5)
    a.add_argument("--profile-seconds", type=float, default=10)
    a.add_argument("--raw-window", type=float, default=60, help="window of each database.raw mode's run, s")
    a.add_argument("--no-sighup", action="store_true")
    a.add_argument("--no-profile", action="store_true")
    a.add_argument("--smoke", action="store_true", help="tiny and fast: 1,000 and 2,000 endpoints, short windows")
    args = a.parse_args(argv)
    if args.smoke:
        args.sizes, args.interval, args.window, args.warmup = "1000,2000", 3.0, 4.0, 3.0
        args.floor_checks, args.syscall_seconds, args.profile_seconds, args.raw_window = 1000, 2, 1, 4
        args.addresses = 2
    args.sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    if args.warmup < 0:
        args.warmup = args.interval
    return args


def loadavg():
    return "load %.2f %.2f %.2f" % os.getloadavg()


def raise_nofile():
    """Every check opens a socket: the hard limit of 20,000 here is raised (root) for nginx and the workers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 262144
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().split()
    except OSError:
        return ["?"]


def network_line(addresses):
    lo, hi = (int(x) for x in sysctl("net.ipv4.ip_local_port_range")[:2])
    return (f"network: ephemeral ports {lo}-{hi} ({hi - lo + 1}), tcp_tw_reuse {sysctl('net.ipv4.tcp_tw_reuse')[0]} "
            f"(2: loopback only), tcp_max_tw_buckets {sysctl('net.ipv4.tcp_max_tw_buckets')[0]}; "
            f"endpoints over {addresses} loopback address(es) x 1 port = {addresses * (hi - lo + 1)} 4-tuples")


def raw_available(tmp):
    """database.raw known to this binary? (`clockwerk -t` on a file using it)"""
    d = os.path.join(tmp, "rawprobe")
    os.makedirs(d)
    conf = os.path.join(d, "c.conf")
    write_atomic(conf, config_text(["127.0.0.1"], 9, 1, 60, 1, free_port(), raw="failures"))
    return validate(conf, 60)[1]


def run_size(procs, nginx, tmp, args, n, window, raw=None, extras=False):
    """One size: the figures of scale_run plus the floor of the moment; extras (the largest size): SIGHUPs and
    the profile while it runs."""
    d = os.path.join(tmp, f"n{n}-{raw or 'default'}")
    os.makedirs(d)
    conf = os.path.join(d, "clockwerk.conf")
    web_port = free_port()
    text = config_text(nginx.addresses, nginx.port, n, args.interval, args.workers, web_port, raw)
    write_atomic(conf, text)
    load0 = loadavg()
    floor = run_floor(nginx.url, args.floor_checks)
    t_validate, ok, summary = validate(conf)
    run = ScaleRun(procs, d, conf, n, args.interval, args.workers, web_port, nginx)
    try:
        run.start(args.warmup)
        run.window(window)
        run.r["syscalls"] = run.syscalls(args.syscall_seconds)
        if extras and not args.no_profile:
            try:
                run.r["profile"] = profile(run, args.profile_seconds)
            except (OSError, subprocess.SubprocessError) as e:
                run.r["profile"] = dict(process="?", lines=[f"not measured: {e}"])
    finally:
        run.stop()
    r = run.count()
    if extras and not args.no_sighup:
        try:
            r["sighup"], r["sighup_lost"] = sighup_run(procs, nginx, d, text, args, n)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:  # a figure of the run, not a crash
            r["sighup_lost"] = f"not measured: {e}"
    r.update(floor_us=floor["cpu"] * 1e6 / max(1, floor["checks"]), floor_rate=floor["checks"] / floor["seconds"],
             validate=t_validate, validate_ok=ok, validate_line=summary, load0=load0, load1=loadavg(), raw=raw,
             conf_mb=len(text) / 1e6)
    return r


def sighup_run(procs, nginx, d, text, args, n):
    """The two SIGHUPs on a run of their own (its lost checks apart from the window's): the same file and
    endpoints, started and checking for 5 s (smoke: its warm-up), then SIGHUP unchanged and SIGHUP with one URL changed."""
    d = os.path.join(d, "sighup")
    os.makedirs(d)
    conf = os.path.join(d, "clockwerk.conf")
    web_port = free_port()
    text = text.replace(re.search(r'listen = "[^"]*"', text).group(0), f'listen = "127.0.0.1:{web_port}"')
    write_atomic(conf, text)
    run = ScaleRun(procs, d, conf, n, args.interval, args.workers, web_port, nginx)
    try:
        run.start(min(5.0, args.warmup))
        out = [sighup(run, text, None), sighup(run, text, (endpoint0(text), endpoint0(text) + "x"))]
    finally:
        run.stop()
    r = run.count()
    return out, r["served_total"] - r["rollup_checks"] - r["unfolded"]


def endpoint0(text):
    return re.search(r'url = "([^"]*/e/0)"', text).group(1)


# A child's own line once it has reloaded in place (the storer's and web's "reloaded:", the alerter's
# "configuration reloaded", a worker's "reloaded in place:").
IN_PLACE_LINE = {"storer": r"\[storer\] \d+ info: reloaded:", "alerter": r"\[alerter\] \d+ info: configuration reloaded",
                 "web": r"\[web\] \d+ info: reloaded:"}


def log_seconds(line):
    """The time of day of a log line, in seconds (its ISO time stamp)."""
    m = re.match(r"\S+T(\d+):(\d+):(\d+\.\d+)Z", line)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None


def in_place_times(text, line, who):
    """Seconds from the supervisor's "SIGHUP" line to each in-place child's own reload line (None: not yet)."""
    start = next((log_seconds(m) for m in text.splitlines() if "SIGHUP: reloading" in m), None)
    out = {}
    for w in who:
        rx = IN_PLACE_LINE.get(w) or r"\[%s\] \d+ info: reloaded in place:" % re.escape(w)
        hit = next((m for m in text.splitlines() if re.search(rx, m)), None)
        out[w] = log_seconds(hit) - start if hit and start is not None else None
    return out


def sighup(run, text, change):
    """Rewrites the config (unchanged, or with one URL replaced) and sends SIGHUP: seconds until the
    supervisor logs the reload, what it did, which children restarted, for a restarted worker the seconds
    until it checks again, and for each child reloaded in place the seconds from the supervisor's SIGHUP line
    to the child's own reload line (log time stamps: the stats come once a second, too coarse for this)."""
    before = {label(t): p for p, t in run.pids().items()}
    run.listener.samples.clear()
    run.listener.poll(1.5)  # every worker's boot id before the reload (stats once a second)
    old_boots = {s["id"]: s["boot"] for s in run.listener.samples if s["role"] == "worker"}
    write_atomic(run.conf, text.replace(f'"{change[0]}"', f'"{change[1]}"', 1) if change else text)
    seen = []
    with open(run.log_path) as f:
        f.seek(0, 2)
        t0 = time.monotonic()
        run.sup.send_signal(signal.SIGHUP)

        def reload_line():
            seen.append(f.read())
            return next((m for m in "".join(seen).splitlines() if re.search(r"\breload(:| failed)", m)), None)
        line = wait_for(reload_line, 60, "the reload's log line")
        applied = time.monotonic() - t0
        who = [w for w in ("storer", "alerter", "web") if "reloading %s in place" % w in line]
        who += ["worker " + w.strip() for m in re.finditer(r"reloading worker ([\d/, ]+) in place", line)
                for w in m.group(1).split(",") if w.strip()]
        run.listener.samples.clear()
        expect = reload_restarts(line, before)
        boots, restarted, ids, back_all, placed = {}, [], [], None, {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # every child the log names restarted and back, its workers checking
            run.listener.poll(0.2)
            seen.append(f.read())
            placed = in_place_times("".join(seen), line, who)
            for s in run.listener.samples:
                if s["role"] == "worker" and s["items"].get("checks", 0) > 0 and s["boot"] != old_boots.get(s["id"]):
                    boots.setdefault(s["id"], s["t"] - t0)
            now = {label(t): p for p, t in run.pids().items()}
            restarted = sorted(k for k in before if now.get(k) != before[k])
            ids = [int(k.split()[1].split("/")[0]) for k in restarted if k.startswith("worker")]
            if (set(now) >= set(before) and all(now.get(k) not in (None, before[k]) for k in expect)
                    and all(i in boots for i in ids) and all(placed.get(w) is not None for w in who)):
                back_all = max([b for b in boots.values()] + [v for v in placed.values()] + [applied])
                break
    back = [boots.get(i) for i in ids]
    return dict(what="one URL changed" if change else "nothing changed", applied=applied,
                line=line.split("reload", 1)[-1][:240], restarted=restarted, worker_back=back, back_all=back_all,
                worker_in_place=[placed.get(w) for w in who if w.startswith("worker")],
                in_place=placed)


def reload_restarts(line, before):
    """The children a reload's log line says it restarts ("restarting worker 0/2, 1/2; restarting storer")."""
    out = set()
    for m in re.finditer(r"restarting (all workers|worker [\d/, ]+|storer|alerter|web|relay)", line):
        what = m.group(1)
        if what == "all workers":
            out.update(k for k in before if k.startswith("worker"))
        elif what.startswith("worker"):
            out.update("worker " + w.strip() for w in what[len("worker "):].split(",") if w.strip())
        else:
            out.add(what)
    return out


def profile(run, seconds):
    """perf record (cpu-clock) of the process that used the most CPU in the window: the top 10 symbols."""
    hot = max(run.r["cpu"], key=run.r["cpu"].get)
    pid = next((p for p, t in run.pids().items() if label(t) == hot), None)
    if pid is None or not shutil.which("perf"):
        return dict(process=hot, lines=["not measured: " + ("no perf (apt-get install linux-perf)" if pid else
                                                              "process gone")])
    os.makedirs(OUT, exist_ok=True)
    data = os.path.join(OUT, "scale-perf.data")
    rec = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-o", data, "-p", str(pid), "--", "sleep",
                          str(seconds)], capture_output=True, text=True, timeout=seconds + 120)
    if rec.returncode != 0:
        return dict(process=hot, lines=["not measured: " + (rec.stderr.strip().splitlines() or ["perf failed"])[-1]])
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,symbol"],
                         capture_output=True, text=True, timeout=300)
    path = os.path.join(OUT, "scale-profile.txt")
    with open(path, "w") as f:
        f.write(rep.stdout)
    flat = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--sort",
                           "dso,symbol"], capture_output=True, text=True, timeout=300).stdout
    top = [re.sub(r"(\s+-)+\s*$", "", ln.strip()) for ln in flat.splitlines() if re.match(r"\s+\d+\.\d+%", ln)][:10]
    return dict(process=hot, pid=pid, lines=top or ["no samples"], path=path)


def size_lines(r):
    """The lines of one size after the table: processes, lossless, storage, web, SIGHUP, profile."""
    n, pc = r["n"], r["per_check"]
    out = [f"  {n}: CPU us per check by process: " + ", ".join(
        f"{k} {v * 1e6 / pc:.1f}" for k, v in sorted(r["cpu"].items(), key=lambda kv: -kv[1])) +
        f" (floor {r['floor_us']:.1f}, {r['floor_rate']:.0f} checks/s)"]
    out.append(f"  {n}: context switches per check: " + ", ".join(
        f"{k} {v / pc:.2f}" for k, v in sorted(r["ctx"].items(), key=lambda kv: -kv[1])) +
        f"; worker syscalls: {r['syscalls']}")
    out.append(f"  {n}: RSS MB: " + ", ".join(f"{k} {v / 1024:.1f}" for k, v in sorted(r["rss"].items())))
    counted = r["rollup_checks"] + r["unfolded"]
    out.append(f"  {n}: lossless: {r['rows']} raw rows, {r['rollup_checks']} checks in the hourly roll-ups "
               f"(+{r['unfolded']} raw rows not yet folded; daily {r['rollup_daily_checks']}) for {r['served_total']}"
               f" requests nginx served while Clockwerk ran (difference {r['served_total'] - counted}: checks "
               f"abandoned at the stop or a restart); checks failed in the window {r['w_failed']}, missed "
               f"{r['w_missed']}, TIME_WAIT sockets at its end {r['tw']}")
    for k in ("web_index", "web_metrics"):
        s, b, st = r[k]
        out.append(f"  {n}: web {'/' if k == 'web_index' else '/metrics'}: {s * 1000:.0f} ms, {b / 1024:.0f} KiB, {st}")
    out.append(f"  {n}: {r['load0']} at the start, {r['load1']} at the end; config {r['conf_mb']:.1f} MB; "
               f"first check {r['first_check']:.2f}s; 90% of the schedule's rate after "
               + (f"{r['rate90']:.1f}s" if r["rate90"] is not None else "not within the warm-up"))
    for h in r.get("sighup", []):
        out.append(f"  {n}: SIGHUP, {h['what']}: applied (logged) after {h['applied'] * 1000:.0f} ms: reload"
                   f"{h['line']}; restarted: {', '.join(h['restarted']) or 'nothing'}"
                   + (f"; restarted worker checking again after {', '.join('%.2fs' % b if b else 'not seen' for b in h['worker_back'])}"
                      if h["worker_back"] else "")
                   + (f"; worker reloaded in place after {', '.join('%.2fs' % b if b else 'not seen' for b in h['worker_in_place'])}"
                      if h.get("worker_in_place") else "")
                   + ("; in place after " + ", ".join("%s %s" % (w, "%.2fs" % t if t is not None else "not seen")
                                                      for w, t in h.get("in_place", {}).items())
                      if h.get("in_place") else "")
                   + (f"; every child back after {h['back_all']:.2f}s" if h["back_all"] else "; not all back within 30 s"))
    if "sighup_lost" in r:
        out.append(f"  {n}: the SIGHUP run (its own start, 5 s of checks, both reloads, a clean stop): "
                   f"{r['sighup_lost']} checks served and not stored (in flight or unsent at a restart)")
    if "profile" in r:
        p = r["profile"]
        out.append(f"  {n}: profile of the hottest process ({p['process']}, perf record -e cpu-clock -g, "
                   f"full report {p.get('path', '-')}):")
        out.extend("      " + ln for ln in p["lines"])
    return out


def storage_line(r, interval):
    """Bytes per endpoint per day: the file's growth over the window scaled to a day, and the model from the
    tables' sizes (dbstat): raw rows kept per check x bytes per raw row x checks a day + 24 hourly + 1 daily cells."""
    tb = r["table_bytes"]
    raw_b = sum(v for k, v in tb.items() if k == "checks" or k.startswith(("idx_checks", "sqlite_autoindex_checks_")))
    hourly_b = sum(v for k, v in tb.items() if "checks_hourly" in k)
    daily_b = sum(v for k, v in tb.items() if "checks_daily" in k)
    per_row = raw_b / r["rows"] if r["rows"] else 0
    per_h = hourly_b / r["hourly_cells"] if r["hourly_cells"] else 0
    per_d = daily_b / r["daily_cells"] if r["daily_cells"] else 0
    day_checks = 86400 / interval
    kept = r["rows"] / max(1, r["served_total"])
    model = kept * day_checks * per_row + 24 * per_h + per_d
    growth = r["db_growth"] / r["el"] * 86400 / r["n"]
    return (f"storage, database.raw {r['raw'] or 'not set (all)'}, {r['n']} endpoints: {model / 1024:.1f} KiB per "
            f"endpoint per day (raw rows kept per check {kept:.3f} x {per_row:.0f} B x {day_checks:.0f} checks + 24 "
            f"hourly cells x {per_h:.0f} B + 1 daily x {per_d:.0f} B); file growth over the window scaled to a day "
            f"{growth / 1024:.1f} KiB per endpoint; file {r['db_bytes'] / 1e6:.1f} MB")


def print_report(args, rows, raws, raw_ok, net):
    print()
    print(f"Clockwerk at scale (issue 18), {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} cores, "
          f"interval {args.interval:g}s, {args.workers} workers, SQLite + roll-ups, alerter, web; nginx on loopback")
    print(net)
    print(f"{'endpoints':>9} {'-t s':>5} {'start s':>7} {'sched %':>7} {'late50':>7} {'p99 med':>7} {'p99 max':>7} "
          f"{'us/chk':>7} {'x floor':>7} {'nginx%':>6} {'RSS MB':>7} {'KB/ep':>6} {'ctx/chk':>7} {'lost':>6}")
    for r in rows:
        cpu = sum(r["cpu"].values()) * 1e6 / r["per_check"]
        rss = sum(r["rss"].values())
        lost = r["served_total"] - r["rollup_checks"] - r["unfolded"]
        print(f"{r['n']:9d} {r['validate']:5.2f} {r['startup']:7.2f} {100 * r['served'] / r['scheduled']:7.1f} "
              f"{r['late50']:7.1f} {r['late99_median']:7.1f} {r['late99_worst']:7.1f} {cpu:7.1f} "
              f"{cpu / r['floor_us']:7.2f} {r['nginx_cpu_pct']:6.1f} {rss / 1024:7.1f} {rss / r['n']:6.2f} "
              f"{sum(r['ctx'].values()) / r['per_check']:7.2f} {lost:6d}"
              + ("" if r["validate_ok"] else f"  -t FAILED: {r['validate_line']}"))
    print("(sched %: checks nginx served in the window / endpoints x window / interval; late: ms, the workers' "
          "per-second histograms, p99 med/max the median and worst second; us/chk: CPU of every Clockwerk process "
          "per check; lost: requests served - roll-up counts - raw rows not yet folded, after a clean stop)")
    for r in rows:
        for line in size_lines(r):
            print(line)
    for r in rows + raws:
        print(storage_line(r, args.interval))
    if not raw_ok:
        print("storage modes: database.raw is not available in this binary (raw modes not measured)")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not shutil.which("nginx"):
        print("scale bench: nginx is not installed (sh tools/install-deps.sh bench): not run")
        return 0 if args.smoke else 1  # make bench-smoke needs no extra package; make bench installs it
    nofile = raise_nofile()
    tmp = tempfile.mkdtemp(prefix="cw-scale-")
    procs = Procs()
    rows, raws = [], []
    net = network_line(args.addresses) + f"; RLIMIT_NOFILE {nofile}"
    try:
        nginx = Nginx(procs, tmp, addresses=[f"127.0.0.{i + 1}" for i in range(args.addresses)], nofile=min(65536, nofile - 1024))
        for i, n in enumerate(args.sizes):
            window = args.window or (180 if n >= 500000 else 90)
            rows.append(run_size(procs, nginx, tmp, args, n, window, extras=i == len(args.sizes) - 1))
            print(f"[scale_bench] {n} endpoints done ({rows[-1]['load1']})", file=sys.stderr, flush=True)
        raw_ok = raw_available(tmp)
        if raw_ok:
            for mode in ("failures",) if args.smoke else ("all", "failures"):  # smoke: the path, under a minute
                raws.append(run_size(procs, nginx, tmp, args, args.sizes[0], args.raw_window, raw=mode))
    finally:
        procs.stop_all()
        for p in descendants(os.getpid()):  # anything left of ours (bounded: one pass)
            if p != os.getpid():
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
    print_report(args, rows, raws, raw_ok, net)
    return 0


if __name__ == "__main__":
    sys.exit(main())
