"""tests/e2e/hbase.py — the base of the e2e harness (harness.py re-exports all of it): where the binaries are,
failures and deadlines, artifacts and notes, records of the processes a test starts (by pid and start time), free
ports, polling, private directories, the environment of a child and running a program to completion."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def bin_dir():
    """The directory of the binaries under test: $CLOCKWERK_BIN, else <repo>/bin."""
    return os.path.abspath(os.environ.get("CLOCKWERK_BIN") or os.path.join(REPO, "bin"))


def binary(name):
    return os.path.join(bin_dir(), name)


def sanitizer_bins():
    """True when the binaries under test are a sanitizer build (build/asan/bin: the second pass of `make test`)."""
    return "asan" in bin_dir()


# --------------------------------------------------------------------------------------------- failures

class TestFailure(AssertionError):
    """A failed expectation; the message is what the runner prints after FAIL."""


def check(cond, message):
    """assert that survives python -O and carries a readable message."""
    if not cond:
        raise TestFailure(message)


def timeout(seconds):
    """Decorator: the runner's timeout for this test (before the sanitizer slow factor)."""
    def deco(f):
        f.e2e_timeout = seconds
        return f
    return deco


def alone(f):
    """Decorator: with `run.py -j N` this test runs while no other test runs (a figure it checks would be
    disturbed by a neighbour: a bound on memory or CPU, a count of scheduled checks)."""
    f.e2e_alone = True
    return f


def plain_only(reason):
    """Decorator: this test runs in the plain pass only; with sanitizer binaries (sanitizer_bins()) the runner
    prints `SKIP name: reason` instead of running it. For a test that does not use the binaries under test (it
    builds its own: a package, a root filesystem), so a second pass would repeat the same test."""
    def deco(f):
        f.e2e_plain_only = reason
        return f
    return deco


# ----------------------------------------------------------------------------------- artifacts, notes

# Captured per test process (the runner runs each test in its own process): name -> text.
ARTIFACTS = {}
NOTES = []
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                      "WARNING: ThreadSanitizer", "ERROR: UndefinedBehaviorSanitizer")


def note(message):
    """Records a remark (a soft finding) that the runner prints even when the test passes."""
    NOTES.append(message)
    print("NOTE: " + message, flush=True)


def capture_artifact(name, path):
    """Copies a log file's text into ARTIFACTS (before its directory goes away). Missing file: ignored."""
    try:
        with open(path, "r", errors="replace") as f:
            ARTIFACTS[name] = f.read()
    except OSError:
        pass


def sanitizer_reports():
    """[(artifact name, excerpt)] for every captured log containing a sanitizer report."""
    found = []
    for name, text in ARTIFACTS.items():
        for pat in SANITIZER_PATTERNS:
            i = text.find(pat)
            if i >= 0:
                start = text.rfind("\n", 0, max(0, i - 200)) + 1
                found.append((name, text[start:i + 1500]))
                break
    return found


def tail(text, lines=40):
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


# ------------------------------------------------------------------------------------ process records

def _proc_stat(pid):
    """(ppid, state, starttime, pgrp) from /proc/PID/stat, or None when the process is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the LAST ')'.
    rest = data[data.rfind(")") + 2:].split()
    # rest[0]=state rest[1]=ppid rest[2]=pgrp ... rest[19]=starttime
    return int(rest[1]), rest[0], int(rest[19]), int(rest[2])


def proc_starttime(pid):
    st = _proc_stat(pid)
    return st[2] if st else None


def proc_cmdline(pid):
    """argv of a process as a list of str, or None when gone."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    parts = raw.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p.decode("utf-8", "replace") for p in parts]


def proc_title(pid):
    """What ps shows for a process: argv[0] (a title like 'clockwerk: worker 0/2'), or None when gone."""
    argv = proc_cmdline(pid)
    if argv is None:
        return None
    return argv[0] if argv else ""


def proc_alive(pid, starttime=None):
    """True when pid runs (a zombie counts as dead) and, when given, started at starttime."""
    st = _proc_stat(pid)
    if st is None or st[1] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


def clock_ticks_per_second():
    return os.sysconf("SC_CLK_TCK")


def proc_start_seconds(pid):
    """Start time of a process in seconds since boot (resolution 1/CLK_TCK), or None."""
    st = _proc_stat(pid)
    return st[2] / clock_ticks_per_second() if st else None


def boot_time_now():
    """Now, in the time base of proc_start_seconds (seconds since boot)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def list_children(ppid):
    """[(pid, title)] of the processes whose parent is ppid (zombies excluded)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        st = _proc_stat(pid)
        if st is None or st[0] != ppid or st[1] in ("Z", "X"):
            continue
        title = proc_title(pid)
        if title is not None:
            out.append((pid, title))
    return out


def list_descendants(root):
    """[(pid, starttime)] of every live process below root, found by the parent links in /proc."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _proc_stat(int(name))
            if st is not None and st[1] not in ("Z", "X"):
                parents[int(name)] = (st[0], st[2])
    found, frontier = [], {root}
    while frontier:
        nxt = set()
        for pid, (ppid, start) in parents.items():
            if ppid in frontier:
                found.append((pid, start))
                nxt.add(pid)
        frontier = nxt
    return found


class ProcessRecord:
    """Every process this test process started or saw below a supervisor, as (pid, starttime).
    Also appended to $CLOCKWERK_E2E_PIDFILE so the runner can kill leftovers after a hung test."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen = set()

    def add(self, pid, starttime=None):
        if starttime is None:
            starttime = proc_starttime(pid)
        if starttime is None:
            return
        with self._lock:
            if (pid, starttime) in self._seen:
                return
            self._seen.add((pid, starttime))
        path = os.environ.get("CLOCKWERK_E2E_PIDFILE")
        if path:
            try:
                with open(path, "a") as f:
                    f.write("%d %d\n" % (pid, starttime))
            except OSError:
                pass

    def alive(self):
        with self._lock:
            seen = list(self._seen)
        return [(p, s) for p, s in seen if proc_alive(p, s)]


PROCESSES = ProcessRecord()


def kill_recorded(records, sig=signal.SIGKILL):
    """Sends sig to each (pid, starttime) still alive with that same start time. Returns how many."""
    n = 0
    for pid, start in records:
        if proc_alive(pid, start):
            try:
                os.kill(pid, sig)
                n += 1
            except ProcessLookupError:
                pass
    return n


# ----------------------------------------------------------------------------------------- basics

_ports_given = set()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released), and not one this
    process was given before: the kernel may hand a released port out again at once, and a test that asks for
    several ports (bus addresses) got the same one twice."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port
    raise RuntimeError("no TCP port on 127.0.0.1 that was not given out before")


def closed_port_url(path="/"):
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    return "http://127.0.0.1:%d%s" % (free_port(), path)


class WaitTimeout(TestFailure):
    pass


def wait_for(predicate, timeout=30.0, what="condition", interval=0.05, ignore=()):
    """Polls predicate() until it returns a truthy value, which is returned. Exceptions of the types in
    `ignore` count as "not yet". After `timeout` seconds raises WaitTimeout naming `what` (a string, or
    a callable giving one, evaluated then so it can describe the last state seen)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except ignore as e:  # noqa: B030 - a tuple of exception types
            last_exc = e
        if time.monotonic() >= deadline:
            desc = what() if callable(what) else what
            extra = " (last error: %r)" % (last_exc,) if last_exc is not None else ""
            raise WaitTimeout("timed out after %.0f s waiting for %s%s" % (timeout, desc, extra))
        time.sleep(interval)


def slow_factor():
    """Deadlines grow under sanitizers (CLOCKWERK_E2E_SLOW multiplies them, default 1; 2 for asan bins)."""
    v = os.environ.get("CLOCKWERK_E2E_SLOW")
    if v:
        return float(v)
    return 2.0 if sanitizer_bins() else 1.0


def deadline(seconds):
    return seconds * slow_factor()


@contextlib.contextmanager
def tempdir(prefix="cw-e2e-"):
    """A fresh directory under /tmp (short: ipc socket paths must stay under 108 bytes), removed on exit
    unless CLOCKWERK_E2E_KEEP is set. Logs in it are captured as artifacts first."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    try:
        yield d
    finally:
        for root, _dirs, files in os.walk(d):
            for fn in files:
                if fn.endswith(".log"):
                    p = os.path.join(root, fn)
                    capture_artifact(os.path.relpath(p, d), p)
        if os.environ.get("CLOCKWERK_E2E_KEEP"):
            print("kept " + d, flush=True)
        else:
            shutil.rmtree(d, ignore_errors=True)


def child_env(extra=None):
    """Environment for processes under test: sanitizer options that report (and exit non-zero) on the
    first error, leak checking on, and no inherited CLOCKWERK_* secrets."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLOCKWERK_") or k in ("CLOCKWERK_BIN",)}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1:"
                                   "detect_stack_use_after_return=1:strict_string_checks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.setdefault("LSAN_OPTIONS", "report_objects=1")
    if extra:
        env.update(extra)
    return env


# ---------------------------------------------------------------------------------------- the CLI

class CliResult:
    def __init__(self, argv, code, out, err):
        self.argv, self.code, self.out, self.err = argv, code, out, err

    @property
    def text(self):
        return self.out + self.err

    def __repr__(self):
        return "exit %s from %s\n--- stdout\n%s--- stderr\n%s" % (self.code, " ".join(self.argv), self.out, self.err)


def run_cli(args, timeout=20, program="clockwerk", env=None, cwd=None):
    """Runs `$CLOCKWERK_BIN/program ARGS` to completion; returns CliResult (code, out, err, text).
    The output is recorded as an artifact (and scanned for sanitizer reports)."""
    argv = [binary(program)] + list(args)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(env), cwd=cwd,
                         start_new_session=True)
    PROCESSES.add(p.pid)
    try:
        out, err = p.communicate(timeout=deadline(timeout))
    except subprocess.TimeoutExpired:
        _kill_group(p.pid)
        p.kill()
        out, err = p.communicate()
        ARTIFACTS["%s %s (timed out)" % (program, " ".join(args))] = (out + err).decode("utf-8", "replace")
        raise TestFailure("%s did not finish within %s s" % (" ".join(argv), timeout))
    res = CliResult(argv, p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    ARTIFACTS["%s %s" % (program, " ".join(args))] = res.out + res.err
    return res


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
