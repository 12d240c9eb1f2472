"""tests/e2e/test_backpressure.py — a receiver that falls behind, and one message it cannot read
(docs/protocol.md section 7 "Resends", docs/operations.md section 10):
  - the storer stopped (SIGSTOP) for many resend periods: the worker's resends stay bounded (results_resent),
    its memory stays within the outbox bound (RSS from /proc), and after SIGCONT every result is stored
    exactly once while the storer sees a bounded number of duplicates;
  - a poison record in a worker's spool (a valid record whose payload has an unknown version): the storer
    refuses it, the worker sets it aside in `<spool>.refused` (0600), counts it, logs it once, and the results
    behind it are stored.
"""

import os
import signal
import sqlite3
import struct
import time

import harness
import zmq
from test_storer import stats_of
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, tempdir, wait_for

RESEND_MS = 400            # CLOCKWERK_RESEND_MS: the first resend timeout (5 s in production)
OUTBOX = 1 << 20           # CLOCKWERK_OUTBOX_MAX_BYTES: the memory bound per destination
STALL_S = 20               # 50 resend periods


def rows_by_boot(db_path):
    """{(worker, boot_id): (rows, distinct seqs, max seq)} from the checks table."""
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=5)
    try:
        got = con.execute("SELECT worker, boot_id, count(*), count(DISTINCT seq), max(seq) FROM checks "
                          "GROUP BY worker, boot_id").fetchall()
        return {(w, b): (n, d, m) for w, b, n, d, m in got}
    finally:
        con.close()


def stored_upto(db_path, key, upto):
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=5)
    try:
        return con.execute("SELECT count(*), count(DISTINCT seq) FROM checks WHERE worker = ? AND boot_id = ? "
                           "AND seq <= ?", (key[0], key[1], upto)).fetchone()
    finally:
        con.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class StatsFeed:
    """The last stats of each role seen on the tap address ("worker", "storer")."""

    def __init__(self, run_dir):
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"stats")
        self.sub.connect("ipc://" + os.path.join(run_dir, "tap.sock"))
        self.last = {}

    def poll(self, ms=0):
        while self.sub.poll(ms):
            _topic, payload = self.sub.recv_multipart()
            role, items = stats_of(payload)
            self.last[role] = items  # one worker in these tests
            ms = 0
        return self.last

    def wait(self, who, pred, timeout, what):
        def ok():
            items = self.poll(100).get(who)
            return items if items is not None and pred(items) else None
        return wait_for(ok, timeout, what)

    def close(self):
        self.sub.close()
        self.ctx.term()


@harness.alone
@harness.timeout(150)
def test_stopped_storer_bounded_resends_and_memory():
    """SIGSTOP the storer for 50 resend periods under ~600 results/s: before the fix the worker sent its
    whole window again every period into ZeroMQ (no bound), its RSS grew by tens of MiB and the storer
    processed every copy after SIGCONT."""
    eps = [endpoint(closed_port_url("/bp%d" % i), timeout=1) for i in range(600)]
    env = {"CLOCKWERK_RESEND_MS": str(RESEND_MS), "CLOCKWERK_OUTBOX_MAX_BYTES": str(OUTBOX)}
    if "asan" in harness.bin_dir():
        # ASan keeps freed blocks in a quarantine (256 MiB by default) that RSS would count as ours
        env["ASAN_OPTIONS"] = harness.child_env()["ASAN_OPTIONS"] + ":quarantine_size_mb=1"
    with tempdir() as d:
        cfg = base_config(eps, workers=1)
        with Clockwerk(cfg, d, env=env) as cw:
            cw.wait_ready()
            cw.wait_log(r"storer.*storing to sqlite", timeout=deadline(20))
            feed = StatsFeed(cw.run_dir)
            try:
                wait_for(lambda: sum(v[0] for v in rows_by_boot(cw.db_path).values()) >= 1200, deadline(40),
                         "two passes stored", ignore=(sqlite3.OperationalError,))
                worker = cw.child("clockwerk: worker 0/1")
                storer = cw.child("clockwerk: storer")
                check(worker and storer, "no worker or storer: %s" % cw.describe_children())
                before = feed.wait("worker", lambda s: s.get("results_acked", 0) > 0, deadline(10),
                                   "worker stats")
                storer_before = feed.wait("storer", lambda s: True, deadline(10), "storer stats")
                rss_before = rss_kib(worker)
                os.kill(storer, signal.SIGSTOP)
                peak = rss_before
                try:
                    until = time.monotonic() + STALL_S
                    while time.monotonic() < until:
                        feed.poll(200)
                        peak = max(peak, rss_kib(worker))
                finally:
                    os.kill(storer, signal.SIGCONT)
                during = feed.poll(1500)["worker"]
                produced = during["checks"] - before["checks"]
                resent = during["results_resent"] - before["results_resent"]
                # what the worker has produced by now must all be stored, once
                time.sleep(1.0)
                mark = {k: v[2] for k, v in rows_by_boot(cw.db_path).items()}
                worker_keys = [k for k in mark if k[0] == 0]
                check(len(worker_keys) == 1, "expected one worker boot: %s" % mark)
                key = worker_keys[0]
                top = feed.poll(200)["worker"]["checks"]
                wait_for(lambda: stored_upto(cw.db_path, key, top) == (top, top), deadline(90),
                         lambda: "seq 1..%d stored once (have %s)" % (top, stored_upto(cw.db_path, key, top)),
                         ignore=(sqlite3.OperationalError,), interval=0.5)
                n, distinct, _ = rows_by_boot(cw.db_path)[key]
                check(n == distinct, "%d rows for %d distinct seqs" % (n, distinct))
                after = feed.wait("storer", lambda s: s.get("received", 0) > storer_before["received"],
                                  deadline(20), "storer stats after SIGCONT")
                dups = after["duplicates"] - storer_before["duplicates"]
                growth_mib = (peak - rss_before) / 1024.0
                harness.note("storer stopped %d s (resend period %d ms): %d results produced, %d resent, worker "
                             "RSS %.1f -> %.1f MiB peak (+%.1f), storer duplicates %d, %d stored once"
                             % (STALL_S, RESEND_MS, produced, resent, rss_before / 1024.0, peak / 1024.0,
                                growth_mib, dups, top))
                check(produced > 5000, "too little load to judge: %d results in the stall" % produced)
                # (a) at most one copy per result produced over 50 resend periods
                check(resent <= produced, "%d results resent for %d produced during the stall" % (resent, produced))
                # (b) the outbox bound, twice (ring buffers keep their capacity), plus ZeroMQ's 64 batches and
                # the allocator's slack
                limit_mib = 2 * OUTBOX / 1048576.0 + 6
                check(growth_mib <= limit_mib, "worker RSS grew %.1f MiB, bound %.1f MiB" % (growth_mib, limit_mib))
                # (c) the storer processed a bounded number of duplicates
                check(dups <= produced, "storer saw %d duplicates for %d results produced" % (dups, produced))
            finally:
                feed.close()
            cw.stop(timeout=deadline(20))


def plant_poison(path, boot):
    """A worker spool with one record whose header and meta are valid but whose payload is of version 9."""
    payload = bytes([9, 1]) + struct.pack("<H", 1) + b"\x00" * 96
    with open(path, "wb") as f:
        f.write(struct.pack("<IIQQQI", len(payload), 0, boot, 1, 1, 1) + payload)
    os.chmod(path, 0o600)
    return struct.pack("<IIQQQI", len(payload), 0, boot, 1, 1, 1) + payload


@harness.timeout(120)
def test_poison_record_refused_and_set_aside():
    """Before the fix the storer dropped the record as malformed, the worker resent it forever, and with a
    small outbox every later result went to the spool: rows stopped."""
    eps = [endpoint(closed_port_url("/poison%d" % i), timeout=1) for i in range(50)]
    env = {"CLOCKWERK_RESEND_MS": "300", "CLOCKWERK_OUTBOX_MAX_BYTES": "16384"}
    with tempdir() as d:
        cfg = base_config(eps, workers=1)
        cw = Clockwerk(cfg, d, env=env)
        os.makedirs(cw.run_dir, mode=0o700, exist_ok=True)
        spool = os.path.join(cw.run_dir, "worker-0-storer.spool")
        record = plant_poison(spool, 0x9015011)
        with cw:
            cw.wait_ready()
            cw.wait_log(r"storer.*storing to sqlite", timeout=deadline(20))

            def current_rows():
                got = rows_by_boot(cw.db_path)
                return max((v[0] for k, v in got.items() if k[0] == 0), default=0)
            # 50 results/s: 16 KiB of outbox is full within seconds once the head of the ring is stuck
            wait_for(lambda: current_rows() >= 750, deadline(60),
                     lambda: "750 rows of the worker's boot stored (have %d)" % current_rows(),
                     ignore=(sqlite3.OperationalError,), interval=0.5)
            refused = spool + ".refused"
            wait_for(lambda: os.path.exists(refused), deadline(10), "the refused record set aside")
            st = os.stat(refused)
            check(st.st_mode & 0o777 == 0o600, "mode of %s is %o" % (refused, st.st_mode & 0o777))
            with open(refused, "rb") as f:
                check(f.read() == record, "the refused file holds exactly the poison record")
            wait_for(lambda: not os.path.exists(spool), deadline(20), "the spool removed once drained")
            cw.wait_log(r"the storer refused a batch of 1 results, malformed or of a location its key may not send for "
                        r"\(worker 0 boot 0000000009015011 "
                        r"seq 1\.\.1\): set aside in .*worker-0-storer\.spool\.refused", timeout=deadline(10))
            check(len(__import__("re").findall(r"refused a batch", cw.log_text())) == 1, "logged once")
            cw.stop(timeout=deadline(20))
            final = harness.final_counters(cw.log_text())
            check(final.get("worker 0", {}).get("results_refused") == 1, "worker counters: %s" % final.get("worker 0"))
            check(final.get("storer", {}).get("refused", 0) >= 1, "storer counters: %s" % final.get("storer"))
