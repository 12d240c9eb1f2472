#!/usr/bin/python3
"""bench/reload_bench.py BIN_DIR N PORT [STEPS]: times SIGHUPs at N endpoints (issue 18): the reload line after the
SIGHUP and which children changed pid, for STEPS (base,url,add,global: configs from reload_gen.py, kept in /tmp/rl);
for each child reloaded in place (the storer, alerter, web, and a worker whose shard changed) when its own "reloaded"
line came, and for `url` when the changed endpoint (/e/7x) was first checked (its first row in the storer's sqlite;
the URL's phase in its 60 s interval decides it, whatever the worker does, once the worker is scheduling again).
Not part of make bench; by hand: mkdir -p /tmp/rl && python3 bench/reload_bench.py $PWD/bin 500000 28787
Also the supervisor's RSS after each reload and its peak during it (VmHWM, reset before the SIGHUP).
PERF=1 in the environment: `perf record` of the supervisor, storer, alerter, web and relay during each SIGHUP (perf.STEP.data
in the run's folder; `perf report --sort comm,sym`)."""
import os, re, shutil, signal, subprocess, sys, time
bindir, n, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
steps = sys.argv[4].split(",") if len(sys.argv) > 4 else ["base", "url", "base", "add", "base", "global", "base"]
work = "/tmp/rl/run-%s-%d" % (os.path.basename(os.path.dirname(os.path.abspath(bindir))), n)
shutil.rmtree(work, ignore_errors=True); os.makedirs(work)
def conf(v):
    src = "/tmp/rl/c%dk.%s.conf" % (n // 1000, v)
    if not os.path.exists(src):
        subprocess.check_call(["python3", "" + os.path.join(os.path.dirname(os.path.abspath(__file__)), "reload_gen.py") + "", str(n), src, v, port])
    shutil.copy(src, work + "/cw.conf.tmp"); os.replace(work + "/cw.conf.tmp", work + "/cw.conf")
conf("base")
log = open(work + "/log", "wb")
p = subprocess.Popen([bindir + "/clockwerk", "-c", "cw.conf"], cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
def text(): return open(work + "/log", errors="replace").read()
def wait(pat, since, timeout=300):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        t = text()[since:]
        m = re.search(pat, t, re.M)
        if m: return m
        time.sleep(0.02)
    raise SystemExit("timeout waiting for %r; tail: %s" % (pat, text()[-3000:]))
def ts(line):  # log timestamp in s
    m = re.match(r"\S+T(\d+):(\d+):(\d+\.\d+)Z", line); return int(m.group(1))*3600+int(m.group(2))*60+float(m.group(3))
t0 = time.monotonic()
for who in ["storer", "alerter", "web", "worker 0/2", "worker 1/2"]:
    wait(r"%s \(pid \d+\) is ready" % re.escape(who), 0)
print("start: all ready after %.1f s" % (time.monotonic() - t0), flush=True)
def cpu(pid):  # user+system CPU seconds of pid
    try: f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError: return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def kids():
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(p.pid)], capture_output=True, text=True).stdout
    return {l.split(None, 1)[1]: int(l.split()[0]) for l in out.splitlines() if l.strip()}
for v in steps:
    time.sleep(2)
    before = kids(); mark = len(text()); conf(v)
    cpu0 = {k: cpu(q) for k, q in list(before.items()) + [("supervisor", p.pid)]}
    perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-o", work + "/perf.%s.data" % v, "-p",
        ",".join(str(q) for q in [p.pid] + [q for k, q in before.items() if "worker" not in k])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if os.environ.get("PERF") else None
    if perf: time.sleep(1)
    try:  # the supervisor's peak from here: VmHWM reset to its RSS (proc(5), clear_refs 5)
        with open("/proc/%d/clear_refs" % p.pid, "w") as f: f.write("5")
    except OSError: pass
    t = time.monotonic(); os.kill(p.pid, signal.SIGHUP)
    m = wait(r"^.*(reload: .*|reload failed.*)$", mark)
    line = m.group(0); tr = time.monotonic() - t
    sup_cpu = cpu(p.pid) - cpu0["supervisor"]
    if perf: perf.send_signal(signal.SIGINT); perf.wait()
    hup = wait(r"^.*SIGHUP: reloading.*$", mark).group(0)
    restarted = re.findall(r"restarting (storer|alerter|web|relay|worker [\d/, ]+|all workers)", line)
    names = []
    for r in restarted:
        if r.startswith("worker"):
            names += ["worker " + x.strip() for x in r[len("worker "):].split(",")]
        elif r == "all workers": names += ["worker 0/2", "worker 1/2"]
        else: names.append(r)
    after_line = mark + text()[mark:].find(line) + len(line)
    last = ts(line)
    for who in names:
        rl = wait(r"^.*%s \(pid \d+\) is ready after.*$" % re.escape(who), after_line).group(0); last = max(last, ts(rl))
    inplace = []
    workers_in_place = ["worker " + x.strip() for r in re.findall(r"reloading worker ([\d/, ]+) in place", line)
                        for x in r.split(",")]
    for who in ["storer", "alerter", "web"] + workers_in_place:  # the in-place reloads' own lines
        if who.startswith("worker") or "reloading %s in place" % who in line:
            rl = wait(r"^.*\[%s\].*(reloaded|configuration reloaded).*$" % re.escape(who), after_line).group(0)
            inplace.append("%s %.2f" % (who, ts(rl) - ts(hup)))
    if v == "url":  # the changed endpoint's first check (a row in the storer's database)
        import sqlite3
        end, first = time.monotonic() + 90, None
        while first is None and time.monotonic() < end:
            try:
                db = sqlite3.connect("file:%s/cw.db?mode=ro" % work, uri=True, timeout=5)
                first = db.execute("SELECT min(c.checked_at) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                                   "WHERE e.url LIKE '%/e/7x'").fetchone()[0]
                db.close()
            except sqlite3.Error: pass
            if first is None: time.sleep(0.5)
        if first: inplace.append("/e/7x first checked %.2f" % (ts(first) - ts(hup)))
    time.sleep(1.5); after = kids()
    spent = {k.replace("clockwerk: ", ""): cpu(before[k]) - cpu0[k] for k in before if after.get(k) == before[k]}
    changed = sorted(k.replace("clockwerk: ", "") for k in before if after.get(k) != before[k])
    print("%-7s reload line %.2f s after SIGHUP (log: %.2f s), all restarted up %.2f s after; pid changed: %s\n        %s" % (
        v, tr, ts(line) - ts(hup), last - ts(hup), changed or "none", line[line.find("reload"):][:300]), flush=True)
    if inplace: print("        reloaded in place after (s from the SIGHUP): " + ", ".join(inplace))
    mem = {k: 0 for k in ("VmRSS", "VmHWM")}
    for l in open("/proc/%d/status" % p.pid):
        if l.split(":")[0] in mem: mem[l.split(":")[0]] = int(l.split()[1]) // 1024
    print("        supervisor MB: RSS %d after, peak %d during the reload" % (mem["VmRSS"], mem["VmHWM"]))
    print("        CPU s: supervisor to the reload line %.2f; from the SIGHUP to 1.5 s after the last reload: %s; load %s" % (
        sup_cpu, ", ".join("%s %.2f" % kv for kv in sorted(spent.items())), open("/proc/loadavg").read().split()[0]), flush=True)
p.send_signal(signal.SIGTERM); p.wait(60)
