"""tests/e2e/hdata.py — what a test reads back (harness.py re-exports all of it): the results each worker made,
by seq, against the stored rows; ISO times; read-only SQLite; clockwerk-tap (bounded or streaming); and results
encoded in the wire format for tests that speak to the bus."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time

from hbase import ARTIFACTS, PROCESSES, TestFailure, _kill_group, binary, check, child_env, run_cli


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


def keygen(path):
    """`clockwerk keygen PATH`: {"public": Z85, "secret": Z85} as the file holds them (the public one checked against
    what the command printed)."""
    r = run_cli(["keygen", path])
    check(r.code == 0, "clockwerk keygen %s: %s" % (path, r.text))
    keys = {}
    with open(path) as f:
        for line in f:
            m = re.match(r'\s*(public|secret)\s*=\s*"([^"]+)"', line)
            if m:
                keys[m.group(1)] = m.group(2)
    check(keys.get("public") == r.out.strip() and "secret" in keys, "keygen's file and output disagree: %r" % r.text)
    return keys


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
