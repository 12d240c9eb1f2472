#!/usr/bin/python3
"""tests/e2e/run.py — the runner of Clockwerk's end-to-end tests (`make e2e`).

    CLOCKWERK_BIN=$PWD/bin /usr/bin/python3 tests/e2e/run.py [options] [FILTER ...]

Discovers tests/e2e/test_*.py and runs every function named test_* in it, each in its own Python process
(isolation: a test that hangs or crashes cannot take the others with it) with a per-test timeout. Prints
`PASS name (1.2s)` or `FAIL name: reason` (then the test's output: traceback, tails of the Clockwerk logs)
per test, and at the end exactly one line `e2e: N passed, N failed` (`, N skipped` added when a test marked
@harness.plain_only was skipped because the binaries are a sanitizer build). Exit code 1 when any test failed.

FILTER: a module (test_pipeline or test_pipeline.py), a test (test_ps_titles), or module::test.
Options:
  -k TEXT        only tests whose "module::name" contains TEXT (may be repeated: any of them)
  -t SECONDS     per-test timeout (default 240; a test may set its own with @harness.timeout)
  -j N           run N tests at once (default 1; `make e2e` runs 2). A test marked @harness.alone runs while
                 no other test runs: it checks a figure that a neighbour would disturb
  --list         print the tests that would run, and exit
  --keep         keep every test's directory (CLOCKWERK_E2E_KEEP=1) and print where it is
  -v             print the output of passing tests too

A test fails when it raises, when it exceeds its timeout, or when a log of a process it started holds a
sanitizer report ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", UBSan's "runtime error:"). After each
test the runner kills any process the test recorded that is still alive (by pid and start time, never by
name), so a hung test leaves nothing behind.
"""

import argparse
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TIMEOUT = 240.0


class TestTimeout(Exception):
    pass


# ------------------------------------------------------------------------------------ child side

def _on_sigterm(signum, frame):
    raise TestTimeout("the test exceeded its timeout")


def run_child(module_name, func_name, result_path):
    """Runs one test in this process and writes {"ok", "reason"} to result_path."""
    sys.path.insert(0, HERE)
    signal.signal(signal.SIGTERM, _on_sigterm)
    import harness  # noqa: E402 (after the path is set)
    ok, reason = True, ""
    try:
        mod = importlib.import_module(module_name)
        func = getattr(mod, func_name)
        func()
    except BaseException as e:  # noqa: B902 - every failure is reported, KeyboardInterrupt too
        ok = False
        first = (str(e).strip().split("\n") or [""])[0]
        reason = first if isinstance(e, AssertionError) and first else "%s: %s" % (type(e).__name__, first)
        traceback.print_exc(file=sys.stdout)
    reports = harness.sanitizer_reports()
    if reports:
        ok = False
        names = ", ".join(sorted({n for n, _ in reports}))
        reason = (reason + "; " if reason else "") + "sanitizer report in " + names
        for name, excerpt in reports:
            print("---- sanitizer report in %s:\n%s" % (name, excerpt))
    if not ok:
        for name, text in sorted(harness.ARTIFACTS.items()):
            if text.strip():
                print("---- tail of %s:\n%s" % (name, harness.tail(text, 40)))
    sys.stdout.flush()
    with open(result_path, "w") as f:
        json.dump({"ok": ok, "reason": reason, "notes": harness.NOTES}, f)
    return 0


# ----------------------------------------------------------------------------------- parent side

def discover():
    """[(module, name, timeout, alone)] in file order."""
    sys.path.insert(0, HERE)
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        modname = fn[:-3]
        mod = importlib.import_module(modname)
        funcs = [(getattr(mod, n).__code__.co_firstlineno, n) for n in dir(mod)
                 if n.startswith("test_") and callable(getattr(mod, n))
                 and getattr(getattr(mod, n), "__module__", None) == modname]
        for _line, n in sorted(funcs):
            f = getattr(mod, n)
            tests.append((modname, n, getattr(f, "e2e_timeout", None), getattr(f, "e2e_alone", False)))
    return tests


def selected(tests, filters, keywords):
    out = []
    for mod, name, tmo, alone in tests:
        full = "%s::%s" % (mod, name)
        if filters and not any(f in (mod, mod + ".py", name, full) for f in filters):
            continue
        if keywords and not any(k in full for k in keywords):
            continue
        out.append((mod, name, tmo, alone))
    return out


def _starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    if rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def kill_leftovers(pidfile):
    """Kills the processes a test recorded that still run (same pid AND start time). Returns their count."""
    n = 0
    try:
        with open(pidfile) as f:
            recs = [tuple(int(x) for x in ln.split()) for ln in f if ln.strip()]
    except OSError:
        return 0
    for pid, start in recs:
        if _starttime(pid) == start:
            try:
                os.kill(pid, signal.SIGKILL)
                n += 1
            except ProcessLookupError:
                pass
    return n


def run_one(mod, name, timeout, args):
    """Runs one test in a child process; returns (ok, reason, seconds, output)."""
    fd, pidfile = tempfile.mkstemp(prefix="cw-e2e-pids-")
    os.close(fd)
    fd, resfile = tempfile.mkstemp(prefix="cw-e2e-result-")
    os.close(fd)
    env = dict(os.environ)
    env["CLOCKWERK_E2E_PIDFILE"] = pidfile
    if args.keep:
        env["CLOCKWERK_E2E_KEEP"] = "1"
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", mod, name, resfile],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    timed_out = False
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        p.send_signal(signal.SIGTERM)          # the test's cleanups run (TestTimeout raised in it)
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, _ = p.communicate()
    took = time.monotonic() - t0
    leftovers = kill_leftovers(pidfile)
    output = out.decode("utf-8", "replace")
    try:
        with open(resfile) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = {"ok": False, "reason": "the test process died (%s)" % p.returncode, "notes": []}
    for path in (pidfile, resfile):
        try:
            os.unlink(path)
        except OSError:
            pass
    ok, reason = res["ok"], res["reason"]
    if timed_out:
        ok, reason = False, "timed out after %.0f s (%s)" % (timeout, reason or "no reason given")
    if leftovers:
        output += "\n(runner: killed %d leftover process(es) of this test)\n" % leftovers
    return ok, reason, took, output, res.get("notes", [])


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        return run_child(sys.argv[2], sys.argv[3], sys.argv[4])
    ap = argparse.ArgumentParser(description="Clockwerk end-to-end tests")
    ap.add_argument("filters", nargs="*")
    ap.add_argument("-k", dest="keywords", action="append", default=[])
    ap.add_argument("-t", dest="timeout", type=float, default=None)
    ap.add_argument("-j", dest="jobs", type=int, default=1)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-v", dest="verbose", action="store_true")
    args = ap.parse_args()

    import harness
    bindir = harness.bin_dir()
    tests = selected(discover(), args.filters, args.keywords)
    if args.list:
        for mod, name, _, _ in tests:
            print("%s::%s" % (mod, name))
        return 0
    if not os.path.exists(os.path.join(bindir, "clockwerk")):
        print("e2e: no %s/clockwerk (set CLOCKWERK_BIN or run `make`)" % bindir, file=sys.stderr)
    print("e2e: %d tests, binaries from %s" % (len(tests), bindir), flush=True)

    lock = threading.Condition()
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failed_names = []
    queue = list(tests)
    running = {"n": 0, "alone": False}

    def take():
        """The next test for a worker thread (None when none is left): a test marked alone waits until nothing
        runs, and nothing starts beside it."""
        with lock:
            while True:
                if not queue:
                    return None
                alone = queue[0][3]
                if not running["alone"] and (running["n"] == 0 or not alone):
                    running["n"] += 1
                    running["alone"] = alone
                    return queue.pop(0)
                lock.wait()

    def done():
        with lock:
            running["n"] -= 1
            running["alone"] = False
            lock.notify_all()

    def worker():
        while True:
            test = take()
            if test is None:
                return
            try:
                run_and_print(*test[:3])
            finally:
                done()

    def run_and_print(mod, name, tmo):
        skip = getattr(getattr(sys.modules[mod], name), "e2e_plain_only", None) if harness.sanitizer_bins() else None
        if skip:
            with lock:
                counts["skipped"] += 1
                print("SKIP %s::%s: %s" % (mod, name, skip), flush=True)
            return
        timeout = args.timeout or tmo or DEFAULT_TIMEOUT
        timeout *= harness.slow_factor()
        ok, reason, took, output, notes = run_one(mod, name, timeout, args)
        with lock:
            label = "%s::%s" % (mod, name)
            if ok:
                counts["passed"] += 1
                print("PASS %s (%.1fs)" % (label, took))
                for n in notes:
                    print("  NOTE: " + n)
                if args.verbose and output.strip():
                    print("  | " + output.rstrip().replace("\n", "\n  | "))
            else:
                counts["failed"] += 1
                failed_names.append(label)
                print("FAIL %s: %s (%.1fs)" % (label, reason, took))
                if output.strip():
                    print("  | " + output.rstrip().replace("\n", "\n  | "))
            sys.stdout.flush()

    threads = [threading.Thread(target=worker) for _ in range(max(1, args.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed_names:
        print("failed: " + " ".join(failed_names))
    skipped = ", %d skipped" % counts["skipped"] if counts["skipped"] else ""
    print("e2e: %d passed, %d failed%s" % (counts["passed"], counts["failed"], skipped))
    sys.stdout.flush()
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
