"""tests/chaos/chaos_support.py — what the chaos scenarios (chaos.py) stand on: the profiles (FULL for `make chaos`,
BOUNDED inside `make e2e`), the figures a scenario reports, the TapRecorder that sees every result the workers
publish, the accounting of produced against stored results (chaos.py's docstring says how losses are counted), and
small helpers (the test load, a child killed at a seeded random moment, RSS, the documented outbox bound)."""

import os
import re
import signal
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(os.path.dirname(HERE), "e2e")
if E2E not in sys.path:
    sys.path.insert(0, E2E)

import harness  # noqa: E402
from harness import base_config, deadline, endpoint, wait_for  # noqa: E402

STORER = "clockwerk: storer"


# ------------------------------------------------------------------------------------------ profiles

class Profile:
    """How hard and how long. FULL is `make chaos`; BOUNDED runs inside `make e2e` (whole file < 3 min)."""

    def __init__(self, name, endpoints, workers, storer_kills, alerter_kills, alert_endpoints, stop_seconds,
                 tap_window, crash_restarts, drain):
        self.name = name
        self.endpoints = endpoints
        self.workers = workers
        self.storer_kills = storer_kills
        self.alerter_kills = alerter_kills
        self.alert_endpoints = alert_endpoints
        self.stop_seconds = stop_seconds
        self.tap_window = tap_window
        self.crash_restarts = crash_restarts
        self.drain = drain          # seconds the storer gets to catch up before counting


FULL = Profile("full", endpoints=300, workers=2, storer_kills=20, alerter_kills=20, alert_endpoints=8,
               stop_seconds=30, tap_window=30, crash_restarts=5, drain=30)
BOUNDED = Profile("bounded", endpoints=60, workers=2, storer_kills=3, alerter_kills=2, alert_endpoints=4,
                  stop_seconds=8, tap_window=6, crash_restarts=3, drain=8)


class Figures:
    """One scenario's outcome: `line` (printed) and `failures` (each a sentence saying what went wrong)."""

    def __init__(self, name):
        self.name = name
        self.line = name + ": (did not finish)"
        self.failures = []

    def expect(self, cond, message):
        if not cond:
            self.failures.append(message)

    @property
    def ok(self):
        return not self.failures

    def report(self):
        return self.line + ("" if self.ok else "  FAILED: " + "; ".join(self.failures))


# ---------------------------------------------------------------------------------- the tap recorder

def _u64_to_i64(v):
    return v - (1 << 64) if v >= (1 << 63) else v


def decode_results(payload):
    """[(worker, boot_id (u64), seq, url)] of a `result` payload (docs/protocol.md 2.3); None if malformed."""
    try:
        version, mtype, count = struct.unpack_from("<BBH", payload, 0)
        if version not in (1, 2, 3) or mtype != 1:
            return None
        off, out = 4, []
        for _ in range(count):
            worker, boot_id, seq = struct.unpack_from("<IQQ", payload, off)
            flags = payload[off + 78]
            off += 80
            (n,) = struct.unpack_from("<H", payload, off)
            url = payload[off + 2:off + 2 + n].decode("utf-8", "replace")
            off += 2 + n + 1
            (n,) = struct.unpack_from("<H", payload, off)
            off += 2 + n + 1
            off += 8 if flags & 2 else 0          # the certificate's expiry
            for bit in (4, 8):                    # figures (version 2), location (version 3)
                if flags & bit:
                    (n,) = struct.unpack_from("<H", payload, off)
                    off += 2 + n + 1
            out.append((worker, boot_id, seq, url))
        return out if off == len(payload) else None
    except struct.error:
        return None


class TapRecorder:
    """A SUB on the tap address, attached for the whole run, recording every result it sees:
    seen[(worker, boot_id_i64)] = {seq: arrival (monotonic)}, urls per (worker, boot) and malformed count."""

    def __init__(self, address):
        import zmq
        self._zmq = zmq
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"result")
        self.sub.connect(address)
        self.lock = threading.Lock()
        self.seen = {}
        self.urls = {}
        self.malformed = 0
        self.messages = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._t.start()
        return self

    def _run(self):
        zmq = self._zmq
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(100):
                continue
            while True:
                try:
                    frames = self.sub.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                now = time.monotonic()
                recs = decode_results(frames[1]) if len(frames) == 2 and frames[0] == b"result" else None
                with self.lock:
                    self.messages += 1
                    if recs is None:
                        self.malformed += 1
                        continue
                    for worker, boot, seq, url in recs:
                        key = (worker, _u64_to_i64(boot))
                        self.seen.setdefault(key, {}).setdefault(seq, now)
                        self.urls.setdefault(key, {}).setdefault(url, now)

    def stop(self):
        self._stop.set()
        self._t.join(timeout=5)
        self.sub.close(0)
        self.ctx.term()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def snapshot(self):
        with self.lock:
            return {k: dict(v) for k, v in self.seen.items()}

    def total(self):
        with self.lock:
            return sum(len(v) for v in self.seen.values())

    def wait_flowing(self, timeout=20):
        n0 = self.total()
        wait_for(lambda: self.total() > n0 + 10, deadline(timeout), "results on the tap")


def stored_triples(cw, server=None):
    """(set of (worker, boot_id, seq) in the checks table, number of rows); server: a PostgreSQL or MariaDB
    server of tests/e2e/dbservers.py instead of the supervisor's SQLite file."""
    if server is None:
        rows = cw.db().try_query("SELECT worker, boot_id, seq FROM checks") or []
    else:
        try:
            rows = [tuple(int(v) for v in r) for r in server.query("SELECT worker, boot_id, seq FROM checks")]
        except RuntimeError:   # the tables are not there yet
            rows = []
    return set(rows), len(rows)


_HEX = {"sqlite": "hex(%s)", "postgresql": "encode(%s, 'hex')", "mysql": "HEX(%s)"}
_PHASES = ("latency_ms", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms")
_HISTS = ("latency_hist", "dns_hist", "connect_hist", "tls_hist", "ttfb_hist")


def _hist_total(hexblob):
    """Values in a histogram blob (docs/schema.md, "Histogram blobs")."""
    blob = bytes.fromhex(hexblob)
    version, n = struct.unpack_from("<BH", blob, 0)
    if version != 1 or len(blob) != 3 + 6 * n:
        raise ValueError("not a version-1 histogram: %s" % hexblob)
    return sum(struct.unpack_from("<I", blob, 5 + 6 * i)[0] for i in range(n))


def rollup_mismatches(kind, query):
    """After a clean stop (which folds what is pending): what differs, per endpoint, between the raw rows and
    checks_hourly / checks_daily (checks, ok, and each histogram's values = the non-NULL values of its
    column), and whether the watermark covers every raw row. query(sql) -> rows of values. Empty: equal."""
    problems = []
    mark = query("SELECT last_check_id FROM rollup_state")
    top = query("SELECT COALESCE(MAX(id), 0) FROM checks")
    if not mark or int(mark[0][0]) != int(top[0][0]):
        problems.append("watermark %s, highest raw id %s: not everything folded at the stop" % (mark, top))
    raw = {}
    for r in query("SELECT endpoint_id, COUNT(*), SUM(CASE WHEN ok THEN 1 ELSE 0 END), %s FROM checks "
                   "GROUP BY endpoint_id" % ", ".join("COUNT(%s)" % c for c in _PHASES)):
        raw[int(r[0])] = tuple(int(v) for v in r[1:])
    for table in ("checks_hourly", "checks_daily"):
        got = {}
        for r in query("SELECT endpoint_id, checks, ok, failures, %s FROM %s"
                       % (", ".join(_HEX[kind] % h for h in _HISTS), table)):
            ep, checks, ok, failures = (int(v) for v in r[:4])
            if failures != checks - ok:
                problems.append("%s endpoint %d: failures %d != checks %d - ok %d" % (table, ep, failures, checks,
                                                                                    ok))
            tot = (checks, ok) + tuple(_hist_total(h) for h in r[4:])
            got[ep] = tuple(a + b for a, b in zip(got.get(ep, (0,) * 7), tot))
        for ep in sorted(set(raw) | set(got)):
            if raw.get(ep, (0,) * 7) != got.get(ep, (0,) * 7):
                problems.append("%s endpoint %d: roll-ups (checks, ok, hist values) %s, raw rows %s"
                                % (table, ep, got.get(ep), raw.get(ep)))
    return problems


class Account:
    """Results produced (1..max seq per worker boot, up to a cut-off) against results stored."""

    def __init__(self, tap_seen, stored, rows, cutoff, boots=None):
        self.expected = set()
        self.tap_seen = 0
        self.tap_gaps = 0
        for key, seqs in tap_seen.items():
            if boots is not None and key not in boots:
                continue
            top = max((s for s, at in seqs.items() if at <= cutoff), default=0)
            for s in range(1, top + 1):
                self.expected.add((key[0], key[1], s))
                if s in seqs:
                    self.tap_seen += 1
                else:
                    self.tap_gaps += 1
        self.stored = len(self.expected & stored)
        self.lost = len(self.expected) - self.stored
        self.duplicated = rows - len(stored)
        self.sent = len(self.expected)
        self.lost_examples = sorted(self.expected - stored)[:5]

    def figures(self):
        return "%d sent, %d stored, %d lost, %d duplicated" % (self.sent, self.stored, self.lost, self.duplicated)


def settle_and_count(cw, rec, cutoff, drain, boots=None, server=None):
    """Gives the storer up to `drain` s (while it still makes progress) to store everything produced
    before `cutoff`; returns the Account."""
    end = time.monotonic() + deadline(drain)
    best, since = -1, time.monotonic()
    while True:
        stored, rows = stored_triples(cw, server)
        acc = Account(rec.snapshot(), stored, rows, cutoff, boots)
        if acc.lost == 0 or time.monotonic() >= end:
            return acc
        if acc.stored > best:
            best, since = acc.stored, time.monotonic()
        elif time.monotonic() - since > min(5.0, drain):
            return acc
        time.sleep(0.5)


# ------------------------------------------------------------------------------------------ helpers

def load_endpoints(targets, n):
    return [endpoint(targets.url("/ok?e=%d" % i), timeout=0.9) for i in range(n)]


def tap_address(cw):
    return "ipc://" + os.path.join(cw.run_dir, "tap.sock")


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        return None
    return None


def documented_outbox_bound_mib():
    """The worker memory bound docs/operations.md states for the outbox: the figure (MiB/MB/KiB/GiB) of the
    worker's row in the table of section 10 ("| worker, per reliable destination ..."), or None when the
    documentation states none. (Not any paragraph that mentions the outbox: the chaos figures quoted in
    section 9 hold other MiB figures.)"""
    path = os.path.join(harness.REPO, "docs", "operations.md")
    try:
        text = open(path).read()
    except OSError:
        return None
    for line in text.splitlines():
        if not line.startswith("| worker, per reliable destination"):
            continue
        m = re.search(r"(\d+(?:\.\d+)?)\s*(MiB|MB|KiB|GiB)\b", line)
        if m:
            v = float(m.group(1))
            return {"KiB": v / 1024, "MiB": v, "MB": v, "GiB": v * 1024}[m.group(2)]
    return None


def kill_child_and_wait(cw, title, rng, min_wait, max_wait, fig, what):
    """Waits a seeded random moment while `title` runs, kill -9 it, waits for its successor. Returns the
    time the kill took to be answered by a new process (s)."""
    pid = wait_for(lambda: cw.child(title), deadline(60), "a running %s" % what)
    time.sleep(rng.uniform(min_wait, max_wait))   # the random moment (the observation, not a synchronisation)
    pid = cw.child(title) or pid
    t0 = time.monotonic()
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    cw.wait_new_child(title, pid, timeout=60)   # backoff tops at 30 s
    return time.monotonic() - t0


def chaos_config(targets, profile, extra=None, **kw):
    return base_config(load_endpoints(targets, profile.endpoints), workers=profile.workers, extra=extra, **kw)
