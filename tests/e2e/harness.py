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
The library is in three files: hbase.py (failures, processes, polling, directories, the CLI), this file
(configuration and the Clockwerk system) and hdata.py (seq accounting, SQLite, the tap, the wire format); tests
import everything from here.
"""

import os
import re
import shutil
import signal
import subprocess
import threading
import time

from hbase import (ARTIFACTS, CliResult, HERE, NOTES, PROCESSES, ProcessRecord, REPO, SANITIZER_PATTERNS, TestFailure,
                   WaitTimeout, bin_dir, binary, boot_time_now, capture_artifact, check, child_env,
                   clock_ticks_per_second, closed_port_url, deadline, free_port, kill_recorded, list_children,
                   list_descendants, note, proc_alive, proc_cmdline, proc_start_seconds, proc_starttime, proc_title,
                   run_cli, sanitizer_reports, slow_factor, tail, tempdir, timeout, wait_for, _kill_group, alone,
                   plain_only, sanitizer_bins)
from hdata import (ISO_MS_UTC, SEQ_GROUPS_SQL, Sqlite, TAP_RESULT_KEYS, TRANSIENT_DB_ERRORS, Tap, WORKER_STARTED,
                   WORKER_STOPPED, WorkerRun, encode_results, keygen, parse_iso_ms, run_tap, signed64, stored_seq_problems,
                   utc_now_iso, worker_runs, _short)

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
    """common/base/util.c's cw_hash64 (FNV-1a 64) over the UTF-8 bytes of s (or over s, bytes: cw_hash64_mem)."""
    h = 14695981039346656037
    for b in s.encode("utf-8") if isinstance(s, str) else s:
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
