"""tests/e2e/test_storer.py — the storer under a real supervisor, fed by a raw ZeroMQ PUSH peer that speaks the
wire format (docs/protocol.md) with its own boot id, so every result it sends can be counted by seq.

  - an SQLite outage (another connection holds the write lock): results keep arriving, are held in memory,
    then spooled beyond the memory bound (100,000 rows), and are all written exactly once when the lock goes;
  - a stop during an outage: the storer spools what it holds and exits 0; the next start replays the spool;
  - malformed messages and seq gaps are counted (stats on the tap address) and logged, never a crash.
"""

import os
import sqlite3
import struct
import time

import zmq

import harness
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, tempdir, wait_for

BOOT = 0x5EED0000C0FFEE  # our fake worker's boot id (< 2^63: stored as the same positive integer)
WORKER = 7


def result_payload(first_seq, n, url="http://127.0.0.1:9/fake"):
    out = bytearray(struct.pack("<BBH", 1, 1, n))
    for seq in range(first_seq, first_seq + n):
        ok = seq % 5 != 0
        out += struct.pack("<IQQqqqqqqqHBB", WORKER, BOOT, seq, 1795579506123456 + seq * 1000, 5, 12345, 100, 200,
                           -1, 5000, 200 if ok else 500, 1 if ok else 0, 0)
        for s in (url, "" if ok else "unexpected status 500"):
            b = s.encode()
            out += struct.pack("<H", len(b)) + b + b"\0"
    return bytes(out)


class Feeder:
    """A PUSH socket to the storer, sending batches of 500 results with consecutive seqs."""

    def __init__(self, run_dir):
        self.ctx = zmq.Context()
        self.push = self.ctx.socket(zmq.DEALER)
        self.push.setsockopt(zmq.LINGER, 5000)
        self.push.connect("ipc://" + os.path.join(run_dir, "store.sock"))
        self.seq = 0

    def send(self, n, skip=0):
        self.seq += skip
        while n > 0:
            k = min(n, 500)
            self.push.send_multipart([b"result", result_payload(self.seq + 1, k)])
            self.seq += k
            n -= k

    def raw(self, *frames):
        self.push.send_multipart(list(frames))

    def close(self):
        self.push.close()
        self.ctx.term()


def ours(db_path):
    """(rows, distinct seqs) stored for our boot id, or None while the database is not readable."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=1)
        try:
            return con.execute("SELECT count(*), count(DISTINCT seq) FROM checks WHERE boot_id = ? AND worker = ?",
                               (BOOT, WORKER)).fetchone()
        finally:
            con.close()
    except sqlite3.OperationalError:
        return None


def wait_rows(db_path, n, timeout):
    def done():
        r = ours(db_path)
        return r is not None and r[0] >= n
    wait_for(done, deadline(timeout), lambda: "%d rows of the feeder stored (have %s)" % (n, ours(db_path)))
    rows, distinct = ours(db_path)
    check(rows == n and distinct == n, "expected %d rows stored once each, have %d rows, %d distinct" % (n, rows, distinct))


class Lock:
    """Holds SQLite's write lock from another connection: the storer's writes get "database is locked"."""

    def __init__(self, db_path):
        self.con = sqlite3.connect(db_path, timeout=10, isolation_level=None)
        self.con.execute("BEGIN EXCLUSIVE")

    def release(self):
        if self.con is not None:
            self.con.execute("ROLLBACK")
            self.con.close()
            self.con = None


def config(d):
    return base_config([endpoint(closed_port_url(), timeout=1)], workers=1)


@harness.timeout(180)
def test_outage_holds_spools_and_writes_once():
    with tempdir() as d:
        cfg = config(d)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_log(r"storer.*storing to sqlite", timeout=deadline(20))
            feed = Feeder(cw.run_dir)
            try:
                feed.send(2000)
                wait_rows(cw.db_path, 2000, 30)

                # outage 1: held in memory, then spooled past 100,000 rows
                mark = cw.log_mark()
                lock = Lock(cw.db_path)
                try:
                    feed.send(120000)
                    cw.wait_log(r"database unavailable", since=mark, timeout=deadline(20))
                    spool = os.path.join(cw.run_dir, "storer.spool")
                    wait_for(lambda: os.path.exists(spool), deadline(30), "the spool file beyond the memory bound")
                    check(ours(cw.db_path)[0] == 2000, "rows were written while the database was locked")
                finally:
                    lock.release()
                wait_rows(cw.db_path, 122000, 60)
                wait_for(lambda: not os.path.exists(spool), deadline(30), "the spool deleted after its replay")

                # outage 2: stop while the database is away -> spooled, exit 0; the next start replays
                mark = cw.log_mark()
                lock = Lock(cw.db_path)
                try:
                    feed.send(3000)
                    cw.wait_log(r"database unavailable", since=mark, timeout=deadline(20))
                    cw.stop(timeout=deadline(10))
                    check(os.path.exists(spool), "no spool left after a stop during an outage")
                finally:
                    lock.release()
            finally:
                feed.close()
        with Clockwerk(cfg, d, name="second") as cw2:
            cw2.wait_ready()
            wait_rows(cw2.db_path, 125000, 60)
            wait_for(lambda: not os.path.exists(spool), deadline(30), "the spool deleted after its replay")
            cw2.stop(timeout=deadline(10))


def stats_of(payload):
    """Decodes a stats payload into (role, {name: value})."""
    off = 4
    (n,) = struct.unpack_from("<H", payload, 2)

    def string():
        nonlocal off
        (ln,) = struct.unpack_from("<H", payload, off)
        s = payload[off + 2: off + 2 + ln].decode()
        off += 3 + ln
        return s
    role = string()
    off += 4 + 8 + 8
    items = {}
    for _ in range(n):
        k = string()
        (v,) = struct.unpack_from("<q", payload, off)
        off += 8
        items[k] = v
    return role, items


@harness.timeout(120)
def test_malformed_and_gaps_counted():
    with tempdir() as d:
        with Clockwerk(config(d), d) as cw:
            cw.wait_ready()
            cw.wait_log(r"storer.*storing to sqlite", timeout=deadline(20))
            ctx = zmq.Context()
            sub = ctx.socket(zmq.SUB)
            sub.setsockopt(zmq.LINGER, 0)
            sub.setsockopt(zmq.SUBSCRIBE, b"stats")
            sub.connect("ipc://" + os.path.join(cw.run_dir, "tap.sock"))
            feed = Feeder(cw.run_dir)
            try:
                feed.send(100)
                feed.send(100, skip=5)                 # seq 101..105 missing
                feed.raw(b"result", b"\x01\x01\x05")   # truncated
                feed.raw(b"result", b"\x09\x01\x00\x00")  # unknown version
                feed.raw(b"nonsense", b"x")            # unknown topic
                feed.raw(b"result")                    # one frame only
                feed.raw(b"stats", b"\x01\x02\x00\x00")  # a type the storer does not take
                feed.send(50)
                wait_rows(cw.db_path, 250, 30)
                cw.wait_log(r"worker 7 boot 005eed0000c0ffee: 5 results missing \(seq 101\.\.105\)", timeout=20)

                def storer_stats():
                    if not sub.poll(200):
                        return None
                    _topic, payload = sub.recv_multipart()
                    role, items = stats_of(payload)
                    if role == "storer" and items.get("malformed", 0) >= 5 and items.get("gaps", 0) >= 1:
                        return items
                    return None
                items = wait_for(storer_stats, deadline(20), "storer stats with 5 malformed and a gap")
                check(items["missing"] == 5, "missing = %s, expected 5" % items["missing"])
                check(items["received"] >= 250, "received = %s" % items["received"])
                for key in ("stored", "batches", "duplicates", "held", "spooled", "write_errors", "last_batch_ms"):
                    check(key in items, "stats lack %r: %s" % (key, items))
            finally:
                feed.close()
                sub.close()
                ctx.term()
            cw.stop()
