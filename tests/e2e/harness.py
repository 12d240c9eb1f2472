"""tests/e2e/harness.py — the shared library of Clockwerk's end-to-end tests.

Everything a test needs to drive real Clockwerk processes against real servers on 127.0.0.1:

  tempdir()                 a private directory per test, removed afterwards (kept with CLOCKWERK_E2E_KEEP=1)
  free_port()               a TCP port on 127.0.0.1 that nobody listens on right now
  wait_for(pred, ...)       polls a condition until a generous deadline; raises with what it waited for
  render_config(dict)       a libconfig file from a Python dict (write_config writes it atomically)
  base_config(...)          the dict of a typical test configuration
  Clockwerk(config, dir)    one supervisor and its children: start, titles of children via /proc,
                            signals, stop, and a cleanup that kills the whole tree on every path
  Sqlite(path)              read-only queries that tolerate "not there yet" and "database is locked"
  run_tap(...) / Tap        clockwerk-tap, bounded (--count) or streaming
  run_cli(...)              runs `clockwerk ARGS` to completion (config checks, --version)
  note(msg)                 a remark the runner prints even when the test passes
  stored_seq_problems(...)  every result the workers logged making is stored exactly once, by seq

DESIGN
Synchronisation is always by polling a condition (wait_for), never by a fixed sleep: deadlines are
generous correctness bounds, so a slow machine (or an ASan build) only makes a test slower, not flaky.
Every process a test starts is recorded as (pid, start time) — in this module and, when the runner
gives one, in a pid file — so that a cleanup (or the runner, after a test that timed out) kills exactly
those processes and never another test's, even when the supervisor died and its children were reparented.
Logs of processes are captured into ARTIFACTS before a test's directory is removed: the runner prints
their tails when a test fails and fails a test whose logs contain a sanitizer report.

Only the Python standard library (and Debian's python3-zmq in the tests that speak to the bus).
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
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

def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    return 2.0 if "asan" in bin_dir() else 1.0


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


# ---------------------------------------------------------------------------------- configuration

def _render_value(v, indent):
    pad = "  " * indent
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r) else r + ".0"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, dict):
        inner = "".join("%s  %s = %s;\n" % (pad, k, _render_value(x, indent + 1)) for k, x in v.items())
        return "{\n" + inner + pad + "}"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) for x in v):      # a list of groups: ( {...}, {...} )
            inner = ",\n".join(pad + "  " + _render_value(x, indent + 1) for x in v)
            return "(\n" + inner + "\n" + pad + ")"
        return "[" + ", ".join(_render_value(x, indent + 1) for x in v) + "]"
    raise TypeError("cannot render %r in a libconfig file" % (v,))


class Raw:
    """Text inserted verbatim into a rendered config (to write deliberately broken values)."""

    def __init__(self, text):
        self.text = text


def render_config(cfg):
    """libconfig text for a dict: top-level keys become `key = value;`, dicts groups, lists of dicts
    lists `( {..}, {..} )`, other lists arrays `[..]`."""
    if isinstance(cfg, str):
        return cfg
    return "".join("%s = %s;\n" % (k, _render_value(v, 0)) for k, v in cfg.items())


def write_config(path, cfg):
    """Writes a config (dict or text) atomically: a reader never sees half a file."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # private: it may hold a password
    with os.fdopen(fd, "w") as f:
        f.write(render_config(cfg))
    os.replace(tmp, path)


def endpoint(url, **kw):
    """An endpoint dict: endpoint(t.url('/ok'), timeout=1, keyword='x')."""
    e = {"url": url}
    e.update(kw)
    return e


def base_config(endpoints, workers=2, db=True, check_interval=1, log_level="info", db_name="clockwerk.db",
                run_dir="run", extra=None):
    """A typical test configuration: check_interval 1 s, SQLite in the config's directory when db."""
    cfg = {
        "supervisor": {"workers": workers, "run_dir": run_dir, "log_level": log_level},
        "monitor": {"check_interval": check_interval, "latency_threshold": 1.0, "endpoints": list(endpoints)},
        "database": {"db_activation": bool(db), "db_driver": "sqlite", "db_name": db_name},
    }
    if extra:
        for k, v in extra.items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
    return cfg


def fnv1a64(s):
    """common/base/util.c's cw_hash64 (FNV-1a 64) over the UTF-8 bytes of s."""
    h = 14695981039346656037
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def shard_of(url, slots):
    """Which worker slot owns url: common/base/util.c's cw_shard_of."""
    return 0 if slots <= 1 else fnv1a64(url) % slots


def private_bin(directory, replace=None, omit=()):
    """A copy of the binaries under test in directory/bin (copies, not links: the supervisor finds its
    children next to /proc/self/exe), where `replace` maps a program name to the text of a script that
    stands in for it and `omit` lists programs left out. Returns the directory."""
    out = os.path.join(directory, "bin")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(bin_dir()):
        if name in omit or (replace and name in replace):
            continue
        shutil.copy2(os.path.join(bin_dir(), name), os.path.join(out, name))
    for name, text in (replace or {}).items():
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    return out


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


# ------------------------------------------------------------------------------------- the system

SIGNAMES = {getattr(signal, n): n for n in dir(signal) if n.startswith("SIG") and not n.startswith("SIG_")}


def describe_exit(code):
    if code is None:
        return "still running"
    if code < 0:
        return "killed by %s" % SIGNAMES.get(-code, -code)
    return "exit %d" % code


class Clockwerk:
    """One Clockwerk supervisor started from a config, with everything below it.

        with Clockwerk(base_config([...]), d) as cw:     # starts; cleanup kills the tree on any path
            cw.wait_ready()
            ...
            cw.stop()                                     # SIGTERM, expects exit 0 within 10 s

    The config (dict or libconfig text) is written to DIR/NAME.conf; the supervisor runs with its
    output (and that of its children, which inherit it) in DIR/NAME.log, from a working directory
    DIR/cwd-NAME, so that relative paths must be resolved against the config's directory to work.
    relative=True starts it as `clockwerk -c NAME.conf` from DIR instead.
    """

    def __init__(self, config, workdir, name="clockwerk", env=None, args=(), relative=False, bin_dir=None):
        self.workdir = workdir
        self.name = name
        self.config = config
        self.conf_path = os.path.join(workdir, name + ".conf")
        self.log_path = os.path.join(workdir, name + ".log")
        self.cwd = os.path.join(workdir, "cwd-" + name)
        self.env = env
        self.args = list(args)
        self.relative = relative  # start as `clockwerk -c NAME.conf` from the config's own directory
        self.bin_dir = bin_dir    # another directory of binaries (see private_bin), else bin_dir()
        self.proc = None
        self.pid = None
        self._pgid = None
        self._watch_stop = threading.Event()
        self._watcher = None
        self._log_file = None
        self._descendants = set()
        self._lock = threading.Lock()
        write_config(self.conf_path, config)

    # ---- configuration as the tests see it
    def _cfg_get(self, group, key, default=None):
        if isinstance(self.config, dict):
            return self.config.get(group, {}).get(key, default)
        return default

    @property
    def workers(self):
        return self._cfg_get("supervisor", "workers")

    @property
    def db_active(self):
        return bool(self._cfg_get("database", "db_activation", False))

    @property
    def db_path(self):
        name = self._cfg_get("database", "db_name", "clockwerk.db")
        return name if os.path.isabs(name) else os.path.join(self.workdir, name)

    @property
    def run_dir(self):
        rd = self._cfg_get("supervisor", "run_dir", "run")
        return rd if os.path.isabs(rd) else os.path.join(self.workdir, rd)

    def db(self):
        return Sqlite(self.db_path)

    def rewrite(self, config):
        """Replaces the config file atomically (then send SIGHUP: reload())."""
        self.config = config
        write_config(self.conf_path, config)

    def reload(self, config):
        """rewrite(config), then SIGHUP."""
        self.rewrite(config)
        self.signal(signal.SIGHUP)

    # ---- life cycle
    def start(self):
        os.makedirs(self.cwd, exist_ok=True)
        self._log_file = open(self.log_path, "ab")
        conf = os.path.basename(self.conf_path) if self.relative else self.conf_path
        exe = os.path.join(self.bin_dir, "clockwerk") if self.bin_dir else binary("clockwerk")
        argv = [exe, "-c", conf] + self.args
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, cwd=self.workdir if self.relative else self.cwd,
                                     env=child_env(self.env),
                                     start_new_session=True)
        self.pid = self._pgid = self.proc.pid
        PROCESSES.add(self.pid)
        self._watcher = threading.Thread(target=self._watch, name="watch-%s" % self.name, daemon=True)
        self._watcher.start()
        return self

    def _watch(self):
        """Records every descendant (pid, start time) while the supervisor lives, for the cleanup."""
        while not self._watch_stop.is_set():
            self.record_descendants()
            if self.proc.poll() is not None:
                break
            self._watch_stop.wait(0.1)

    def record_descendants(self):
        found = list_descendants(self.pid)
        with self._lock:
            for rec in found:
                if rec not in self._descendants:
                    self._descendants.add(rec)
                    PROCESSES.add(*rec)
        return found

    def recorded(self):
        """Every (pid, starttime) seen below this supervisor so far."""
        with self._lock:
            return set(self._descendants)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self):
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig):
        check(self.running(), "cannot send %s: the supervisor is not running (%s)"
              % (SIGNAMES.get(sig, sig), describe_exit(self.returncode)))
        os.kill(self.pid, sig)

    def signal_group(self, sig):
        """sig to the supervisor's whole process group, as Ctrl-C in a terminal does."""
        os.killpg(self._pgid, sig)

    def kill9(self):
        self.record_descendants()
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def wait_exit(self, timeout=10.0):
        """Waits for the supervisor to exit; returns its exit code (negative: signal). Fails on timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("supervisor %d did not exit within %.0f s" % (self.pid, timeout))

    def stop(self, timeout=10.0, expect=0, sig=None):
        """SIGTERM (or sig), wait up to `timeout` s, check the exit code and that no child is left.
        Returns the seconds it took."""
        sig = signal.SIGTERM if sig is None else sig
        self.record_descendants()
        t0 = time.monotonic()
        self.signal(sig)
        code = self.wait_exit(timeout)
        took = time.monotonic() - t0
        check(code == expect, "supervisor %s after %s (expected exit %s)" % (describe_exit(code),
                                                                            SIGNAMES.get(sig, sig), expect))
        self.wait_no_descendants(timeout=deadline(5), what="children after the supervisor exited")
        return took

    def left_alive(self):
        """Recorded descendants still alive."""
        return [(p, s) for p, s in self.recorded() if proc_alive(p, s)]

    def wait_no_descendants(self, timeout=10.0, what="children"):
        def none_left():
            return not self.left_alive()
        wait_for(none_left, timeout, lambda: "no %s left alive; still alive: %s" % (
            what, ", ".join("%d (%s)" % (p, proc_title(p)) for p, _ in self.left_alive())))

    def cleanup(self):
        """Kills everything this supervisor started, on every path; captures the log. Idempotent."""
        self._watch_stop.set()
        if self.proc is not None:
            was_running = self.proc.poll() is None
            if was_running:
                self.record_descendants()
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            # The group is ours while the supervisor is unreaped or one of its children lives; after that
            # its id may be reused by a stranger's group, so it is not signalled blindly.
            if was_running or self.left_alive():
                _kill_group(self._pgid)
            kill_recorded(self.recorded())
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        capture_artifact(self.name + ".log", self.log_path)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # ---- children
    def children(self):
        """{pid: title} of the supervisor's live children."""
        if not self.running():
            return {}
        kids = dict(list_children(self.pid))
        self.record_descendants()
        return kids

    def child_pids(self, title):
        return sorted(p for p, t in self.children().items() if t == title)

    def child(self, title):
        """The pid of the child with this exact title, or None (fails if there are two)."""
        pids = self.child_pids(title)
        check(len(pids) <= 1, "two children titled %r: %s" % (title, pids))
        return pids[0] if pids else None

    def worker_titles(self, n=None):
        n = self.workers if n is None else n
        return ["clockwerk: worker %d/%d" % (i, n) for i in range(n)]

    def expected_titles(self):
        titles = self.worker_titles()
        if self.db_active:
            titles.append("clockwerk: storer")
        return titles

    def describe_children(self):
        kids = self.children()
        if not self.running():
            return "supervisor not running (%s)" % describe_exit(self.returncode)
        return ", ".join("%d=%r" % kv for kv in sorted(kids.items())) or "no children"

    def wait_ready(self, timeout=20.0, titles=None):
        """Waits until a child with each expected title runs; returns {title: pid}."""
        titles = list(titles or self.expected_titles())

        def ready():
            check(self.running(), "supervisor exited (%s) before its children were up"
                  % describe_exit(self.returncode))
            kids = self.children()
            by_title = {}
            for pid, t in kids.items():
                by_title.setdefault(t, pid)
            if all(t in by_title for t in titles):
                return {t: by_title[t] for t in titles}
            return None
        return wait_for(ready, deadline(timeout), lambda: "children %s (have: %s)" % (
            titles, self.describe_children()))

    def wait_new_child(self, title, old_pid, timeout=20.0):
        """Waits for a child titled `title` whose pid is not old_pid; returns its pid."""
        def new():
            check(self.running(), "supervisor exited (%s)" % describe_exit(self.returncode))
            for pid in self.child_pids(title):
                if pid != old_pid:
                    return pid
            return None
        return wait_for(new, deadline(timeout), lambda: "a new %r (old pid %d; have: %s)" % (
            title, old_pid, self.describe_children()), interval=0.02)

    # ---- the log
    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_mark(self):
        """An offset into the log: pass it to wait_log(since=) to look only at what comes after."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, mark):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=20.0, since=0, flags=0):
        """Waits until the log (after `since`) matches the regex; returns the match."""
        rx = re.compile(pattern, flags)
        return wait_for(lambda: rx.search(self.log_since(since)), deadline(timeout),
                        "log line matching /%s/" % pattern)

    # ---- rows
    def wait_rows(self, sql, params=(), predicate=None, timeout=30.0, what=None):
        """Waits until the query returns rows satisfying predicate(rows) (default: at least one)."""
        db = self.db()
        pred = predicate or (lambda rows: len(rows) > 0)
        last = {"rows": None}

        def ok():
            rows = db.try_query(sql, params)
            if rows is None:
                return None
            last["rows"] = rows
            return rows if pred(rows) else None
        return wait_for(ok, deadline(timeout), lambda: "%s (last result: %s)" % (
            what or sql, _short(last["rows"])))

    def count_rows(self, url=None):
        db = self.db()
        if url is None:
            rows = db.try_query("SELECT count(*) FROM checks")
        else:
            rows = db.try_query("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                                "WHERE e.url = ?", (url,))
        return rows[0][0] if rows else 0

    def wait_count(self, url, n, timeout=30.0, after=None):
        """Waits until there are >= n rows for url (with checked_at > after, an ISO string, if given)."""
        sql = ("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ?")
        params = [url]
        if after is not None:
            sql += " AND c.checked_at > ?"
            params.append(after)
        return self.wait_rows(sql, tuple(params), lambda r: r[0][0] >= n, timeout,
                              "%d rows for %s%s" % (n, url, " after " + after if after else ""))[0][0]


FINAL_COUNTERS = re.compile(r"final counters of (\w+)(?: (\d+))?: (.*)$", re.M)


def final_counters(log_text):
    """The counters the supervisor logs at shutdown (`final counters of worker 0: checks=6 ...`), as
    {"worker 0": {"checks": 6, ...}, "storer": {...}}; the last line of each process wins."""
    out = {}
    for m in FINAL_COUNTERS.finditer(log_text):
        key = m.group(1) + (" " + m.group(2) if m.group(2) is not None else "")
        vals = {}
        for kv in m.group(3).split():
            k, _, v = kv.partition("=")
            try:
                vals[k] = int(v)
            except ValueError:
                pass
        out[key] = vals
    return out


# ------------------------------------------------------------------ what the workers made, by seq

# worker/main.c logs, per worker process, "checking N endpoints (...), boot id HEX" when it starts and
# "stopped after N checks (...)" when it stops cleanly; its results carry seq 1..N under that boot id.
WORKER_STARTED = re.compile(r"clockwerk\[worker (\d+)/(\d+)\] (\d+) \w+: checking \d+ endpoints?\b.*"
                            r"boot id ([0-9a-fA-F]{16})", re.M)
WORKER_STOPPED = re.compile(r"clockwerk\[worker (\d+)/(\d+)\] (\d+) \w+: stopped after (\d+) checks", re.M)
# The rows that stored_seq_problems() needs; the same SQL on SQLite, PostgreSQL and MariaDB.
SEQ_GROUPS_SQL = ("SELECT worker, boot_id, count(*), count(DISTINCT seq), min(seq), max(seq) FROM checks "
                  "GROUP BY worker, boot_id")


class WorkerRun:
    """One worker process seen in a log: slot (of slots), pid, boot_id as the databases store it (the u64
    as its signed 64-bit pattern), checks = N of its "stopped after N checks" line (None without one)."""

    def __init__(self, slot, slots, pid, boot_id):
        self.slot, self.slots, self.pid, self.boot_id = slot, slots, pid, boot_id
        self.checks = None

    def __repr__(self):
        return "worker %d/%d pid %d boot %d: %s checks" % (self.slot, self.slots, self.pid, self.boot_id,
                                                           self.checks)


def signed64(v):
    v = int(v) & (2 ** 64 - 1)
    return v - 2 ** 64 if v >= 2 ** 63 else v


def worker_runs(log_text):
    """Every worker process of a supervisor's log, in start order, as WorkerRun. A stop line belongs to the
    latest started run of the same pid and slot."""
    events = [(m.start(), "start", m) for m in WORKER_STARTED.finditer(log_text)]
    events += [(m.start(), "stop", m) for m in WORKER_STOPPED.finditer(log_text)]
    runs, by_pid = [], {}
    for _, kind, m in sorted(events, key=lambda e: e[0]):
        slot, slots, pid = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if kind == "start":
            run = WorkerRun(slot, slots, pid, signed64(int(m.group(4), 16)))
            runs.append(run)
            by_pid[pid] = run
        else:
            run = by_pid.get(pid)
            if run is None or run.slot != slot:
                run = WorkerRun(slot, slots, pid, None)   # a stop without a start line: reported below
                runs.append(run)
            run.checks = int(m.group(4))
    return runs


def _ranges(nums):
    """[1, 2, 3, 7] -> '1..3, 7'"""
    out, nums = [], sorted(nums)
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else "%d..%d" % (nums[i], nums[j]))
        i = j + 1
    return ", ".join(out[:10]) + (" ..." if len(out) > 10 else "")


def stored_seq_problems(log_text, groups, workers=None, seqs_of=None):
    """Whether every result the workers of a cleanly stopped run made is stored exactly once, counted by
    seq: for each worker process of the log (worker_runs), the rows of its (worker, boot_id) are exactly
    seq 1..N, each once, N from its "stopped after N checks" line; no row is from a process the log does
    not show. groups: the rows of SEQ_GROUPS_SQL (any backend; values may be text). workers: the number
    of slots that must each have logged a run. seqs_of(worker, boot_id): optional, that group's seqs
    (with repeats), to name the missing and repeated ones. Returns a list of problems (empty: all good)
    and the runs."""
    problems = []
    runs = worker_runs(log_text)
    stored = {}
    for worker, boot, n, distinct, lo, hi in groups:
        stored[(int(worker), int(boot))] = (int(n), int(distinct), int(lo), int(hi))
    if workers is not None:
        missing = sorted(set(range(workers)) - {r.slot for r in runs})
        if missing:
            problems.append("no worker run of slot(s) %s in the log" % missing)
    for r in runs:
        if r.boot_id is None:
            problems.append("worker %d pid %d: 'stopped after %s checks' without its 'checking ... boot id' "
                            "line" % (r.slot, r.pid, r.checks))
            continue
        got = stored.pop((r.slot, r.boot_id), None)
        if r.checks is None:
            problems.append("worker %d pid %d boot %d logged no 'stopped after N checks' line (%s rows stored): "
                            "what it made is unknown" % (r.slot, r.pid, r.boot_id, got[0] if got else 0))
            continue
        n = r.checks
        if got is None:
            if n:
                problems.append("worker %d boot %d made %d checks, none is stored" % (r.slot, r.boot_id, n))
            continue
        rows, distinct, lo, hi = got
        if (rows, distinct, lo, hi) == (n, n, 1, n):
            continue   # n distinct integers within 1..n: exactly 1..n; and as many rows: each once
        what = "worker %d boot %d made %d checks (seq 1..%d) but %d rows are stored, %d distinct seqs in %d..%d" % (
            r.slot, r.boot_id, n, n, rows, distinct, lo, hi)
        if seqs_of is not None:
            seqs = [int(s) for s in seqs_of(r.slot, r.boot_id)]
            counts = {}
            for s in seqs:
                counts[s] = counts.get(s, 0) + 1
            lost = [s for s in range(1, n + 1) if s not in counts]
            twice = [s for s, k in counts.items() if k > 1]
            beyond = [s for s in counts if not 1 <= s <= n]
            what += ": %d lost (%s), %d stored more than once (%s), %d outside 1..%d (%s)" % (
                len(lost), _ranges(lost) or "-", len(twice), _ranges(twice) or "-", len(beyond), n,
                _ranges(beyond) or "-")
        problems.append(what)
    for (worker, boot), (rows, _, lo, hi) in sorted(stored.items()):
        problems.append("%d rows (seq %d..%d) of worker %d boot %d, a process the log does not show" % (
            rows, lo, hi, worker, boot))
    return problems, runs


def _short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


def utc_now_iso():
    """The current UTC time in the format of checks.checked_at: 2026-11-25T04:05:06.123Z."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


ISO_MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def parse_iso_ms(s):
    """Seconds since the epoch of '2026-11-25T04:05:06.123Z'."""
    import calendar
    base = calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
    return base + int(s[20:23]) / 1000.0


# ------------------------------------------------------------------------------------------ SQLite

TRANSIENT_DB_ERRORS = ("locked", "busy", "no such table", "unable to open", "disk i/o error",
                       "malformed", "not a database")


class Sqlite:
    """Read-only access to a SQLite file written by the storer. Every query opens its own connection
    (file:PATH?mode=ro), so a test never holds a lock the storer waits for."""

    def __init__(self, path):
        self.path = path

    def exists(self):
        return os.path.exists(self.path)

    def query(self, sql, params=()):
        """Rows as a list of tuples; raises sqlite3 errors."""
        con = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True, timeout=5)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def query_dicts(self, sql, params=()):
        con = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True, timeout=5)
        try:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(sql, params).fetchall()]
        finally:
            con.close()

    def try_query(self, sql, params=()):
        """query(), or None while the file is not there yet or the database is locked or not yet
        created (errors that waiting cures). Other errors (a wrong column name...) raise."""
        if not self.exists():
            return None
        try:
            return self.query(sql, params)
        except sqlite3.OperationalError as e:
            if any(w in str(e).lower() for w in TRANSIENT_DB_ERRORS):
                return None
            raise
        except sqlite3.DatabaseError as e:
            if any(w in str(e).lower() for w in TRANSIENT_DB_ERRORS):
                return None
            raise

    def columns(self, table):
        return [r[1] for r in self.query("PRAGMA table_info(%s)" % table)]

    def tables(self):
        return [r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")]


# --------------------------------------------------------------------------------------------- tap

TAP_RESULT_KEYS = ("checked_at", "status_code", "latency_ms", "ok", "error", "dns_ms", "connect_ms",
                   "tls_ms", "ttfb_ms", "worker", "boot_id", "seq", "tls_expires_at", "url", "type")


def run_tap(conf_path, count, json_output=True, filter_text=None, extra=(), timeout=30.0):
    """Runs clockwerk-tap -c FILE [--json] --count N [--filter TEXT]; returns (exit code, lines, stderr).
    With json_output the lines are parsed (a line that is not JSON fails the test)."""
    args = ["-c", conf_path, "--count", str(count)]
    if json_output:
        args.append("--json")
    if filter_text is not None:
        args += ["--filter", filter_text]
    args += list(extra)
    res = run_cli(args, timeout=timeout, program="clockwerk-tap")
    lines = [ln for ln in res.out.split("\n") if ln.strip()]
    if json_output:
        parsed = []
        for ln in lines:
            try:
                parsed.append(json.loads(ln))
            except ValueError:
                raise TestFailure("clockwerk-tap --json printed a line that is not JSON: %r" % ln)
        lines = parsed
    return res.code, lines, res.err


class Tap:
    """A streaming clockwerk-tap: lines are collected by a thread; stop() on every path (a context
    manager). pause()/resume() send SIGSTOP/SIGCONT."""

    def __init__(self, conf_path, args=("--json",)):
        self.argv = [binary("clockwerk-tap"), "-c", conf_path] + list(args)
        self.lines = []
        self._lock = threading.Lock()
        self.proc = None
        self._err = b""

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=child_env(), start_new_session=True)
        PROCESSES.add(self.proc.pid)
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()
        self._te = threading.Thread(target=self._read_err, daemon=True)
        self._te.start()
        return self

    def _read(self):
        for raw in self.proc.stdout:
            with self._lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def _read_err(self):
        self._err = self.proc.stderr.read()

    def snapshot(self):
        with self._lock:
            return list(self.lines)

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
                self.proc.terminate()
                self.proc.wait(timeout=5)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                _kill_group(self.proc.pid)
                self.proc.wait(timeout=5)
        self._t.join(timeout=5)
        self._te.join(timeout=5)
        ARTIFACTS["clockwerk-tap %d" % self.proc.pid] = "\n".join(self.snapshot()[-50:]) + "\n" + \
            self._err.decode("utf-8", "replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# --------------------------------------------------------------------------------- wire protocol

def _u16(v):
    return int(v).to_bytes(2, "little")


def _u32(v):
    return int(v).to_bytes(4, "little")


def _u64(v):
    return (int(v) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def _str(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return _u16(len(b)) + b + b"\0"


def encode_results(results, version=1):
    """A CW_MSG_RESULT payload (common/wire/protocol.h) for a list of dicts with keys worker, boot_id, seq,
    checked_at_us, lateness_us, latency_us, dns_us, connect_us, tls_us, ttfb_us, status_code, ok, url,
    error. Written from the format's description, as any outside consumer would."""
    out = bytes([version, 1]) + _u16(len(results))
    for r in results:
        out += _u32(r.get("worker", 0)) + _u64(r["boot_id"]) + _u64(r["seq"])
        for k in ("checked_at_us", "lateness_us", "latency_us", "dns_us", "connect_us", "tls_us", "ttfb_us"):
            out += _u64(r.get(k, -1 if k in ("tls_us",) else 0))
        out += _u16(r.get("status_code", 0)) + bytes([1 if r.get("ok") else 0, 0])
        out += _str(r["url"]) + _str("" if r.get("ok") else r.get("error", ""))
    return out
