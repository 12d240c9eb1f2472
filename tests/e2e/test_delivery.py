"""tests/e2e/test_delivery.py — acknowledged delivery (docs/protocol.md "Acknowledged delivery"):
kill -9 the storer several times while two workers send ~300 results/s; afterwards every seq each worker
boot sent up to a moment after the last kill is stored, exactly once (no gap, no duplicate), and the
workers report resends. Then the same for alert records (alerter -> storer, acked by alert id and
delivery-state version), and a spool of a worker slot that no longer exists adopted by worker 0. The full
chaos suite is tests/e2e/test_chaos.py; this checks the mechanism.
"""

import os
import random
import signal
import sqlite3
import time

import harness
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, tempdir, wait_for

ENDPOINTS = 300
KILLS = 4


def per_boot(db_path, upto=None):
    """{(worker, boot_id): (rows, distinct seqs, max seq)}; with upto, only seqs <= upto[(worker, boot)]."""
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=5)
    try:
        rows = con.execute("SELECT worker, boot_id, count(*), count(DISTINCT seq), max(seq) FROM checks "
                           "GROUP BY worker, boot_id").fetchall()
        out = {(w, b): (n, d, m) for w, b, n, d, m in rows}
        if upto:
            for key, limit in upto.items():
                n, d = con.execute("SELECT count(*), count(DISTINCT seq) FROM checks WHERE worker = ? AND boot_id = ? "
                                   "AND seq <= ?", (key[0], key[1], limit)).fetchone()
                out[key] = (n, d, limit)
        return out
    finally:
        con.close()


@harness.timeout(240)
def test_storer_kill9_loses_nothing():
    eps = [endpoint(closed_port_url("/d%d" % i), timeout=1) for i in range(ENDPOINTS)]
    with tempdir() as d:
        cfg = base_config(eps, workers=2)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_log(r"storer.*storing to sqlite", timeout=deadline(20))
            wait_for(lambda: sum(v[0] for v in per_boot(cw.db_path).values()) >= ENDPOINTS, deadline(30),
                     "the first pass stored", ignore=(sqlite3.OperationalError,))
            rng = random.Random(6)
            for _ in range(KILLS):
                pid = cw.child("clockwerk: storer")
                check(pid is not None, "no storer running")
                time.sleep(rng.uniform(0.3, 1.5))
                os.kill(pid, signal.SIGKILL)
                cw.wait_new_child("clockwerk: storer", pid, timeout=60)
            time.sleep(1.0)
            # what the workers had produced by now: every seq up to the max stored now must end up stored
            mark = {k: v[2] for k, v in per_boot(cw.db_path).items()}
            check(len(mark) == 2, "expected the rows of 2 worker boots, have %s" % sorted(mark))

            def complete():
                got = per_boot(cw.db_path, upto=mark)
                return all(got[k][0] == mark[k] for k in mark)
            wait_for(complete, deadline(60), lambda: "every seq up to %s stored (have %s)" % (
                mark, per_boot(cw.db_path, upto=mark)), ignore=(sqlite3.OperationalError,), interval=0.5)
            final = per_boot(cw.db_path)
            for k, (n, distinct, top) in final.items():
                check(n == distinct, "worker %s boot %x: %d rows for %d distinct seqs" % (k[0], k[1], n, distinct))
            sent = sum(mark.values())
            harness.note("storer-kill: %d kills, %d sent, %d stored, 0 lost, 0 duplicated"
                         % (KILLS, sent, sum(v[0] for v in per_boot(cw.db_path, upto=mark).values())))
            cw.stop(timeout=deadline(20))


def _signed64(v):
    return v - (1 << 64) if v >= (1 << 63) else v


@harness.timeout(300)
def test_storer_kill9_while_alerts_are_raised():
    """Alert records (alerter -> storer) are acknowledged too: kill -9 the storer 5 times (each time after
    freezing it for 1.5-3 s with SIGSTOP, so that records sent meanwhile die with it) while 12 endpoints
    flip between 200 and 500 every 2 s (alerts raised, then their webhook delivery recorded as a second record
    of the same alert id). Afterwards the alerts table holds every alert the webhook received, exactly once,
    each with its final delivery state (sent): no record and no state change lost."""
    from webhook_receiver import Switchboard, WebhookReceiver
    import threading
    names = ["f%d" % i for i in range(12)]
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        for n in names:
            sw.set(n, 200)
        eps = [endpoint(sw.url(n), alert_threshold=1, recovery_threshold=1, timeout=0.8) for n in names]
        cfg = base_config(eps, workers=2, extra={"alerts": {"group_threshold": 1000, "renotify": 0,
                                                            # the flips are the point: no flap detection
                                                            "flap_window": 0,
                                                            "webhooks": [{"url": hook.url}]}})
        stop = threading.Event()
        flips = [0]

        def flipper():
            status = 500
            while not stop.wait(2.0):
                for n in names:
                    sw.set(n, status)
                flips[0] += 1
                status = 200 if status == 500 else 500
            for n in names:
                sw.set(n, 200)

        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + ["clockwerk: alerter"])
            cw.wait_log(r"storer.*storing to sqlite", timeout=deadline(20))
            wait_for(lambda: all(sw.hits(n) >= 2 for n in names), deadline(20), "first checks")
            t = threading.Thread(target=flipper, daemon=True)
            t.start()
            try:
                rng = random.Random(61)
                for _ in range(5):
                    pid = cw.child("clockwerk: storer")
                    check(pid is not None, "no storer running")
                    time.sleep(rng.uniform(0.3, 1.5))
                    # frozen first, so that alert records pile up in its socket and kernel buffers (still
                    # connected: the alerter's sends succeed), then killed with them
                    os.kill(pid, signal.SIGSTOP)
                    time.sleep(rng.uniform(1.5, 3.0))
                    os.kill(pid, signal.SIGKILL)
                    cw.wait_new_child("clockwerk: storer", pid, timeout=60)
                time.sleep(2.0)
            finally:
                stop.set()
                t.join(10)
            check(flips[0] >= 4, "only %d flips" % flips[0])

            def hook_ids():
                return {c["alert_id"] for c in hook.calls() if "alert_id" in c}
            # the last alerts (UP) are delivered: the webhook's set stops growing
            last = [None, 0.0]

            def settled():
                ids = hook_ids()
                if ids != last[0]:
                    last[0], last[1] = ids, time.time()
                    return False
                return time.time() - last[1] >= 3.0
            wait_for(settled, deadline(60), "webhook calls settle", interval=0.5)

            def delivered():
                return {_signed64(int(h, 16)) for h in hook_ids()}

            def table():
                con = sqlite3.connect("file:%s?mode=ro" % cw.db_path, uri=True, timeout=5)
                try:
                    return con.execute("SELECT alert_id, webhook_state FROM alerts").fetchall()
                finally:
                    con.close()

            # The table and the webhook's set are compared as one snapshot, taken again until they agree: on a
            # busy machine a last delivery may still come after the 3 quiet seconds above, and its record after
            # the call. A row that is never delivered, or a delivered alert never stored as sent, times out.
            snap = {}

            def complete():
                snap["expect"], snap["rows"] = delivered(), table()
                ids = {a for a, _ in snap["rows"]}
                return ids == snap["expect"] and all(s == "sent" for _, s in snap["rows"])
            wait_for(complete, deadline(60), lambda: "every delivered alert stored with state sent, and no other "
                     "(%d delivered, table %d rows, %d not sent, %d stored but not delivered)" % (
                         len(snap.get("expect", ())), len(snap.get("rows", ())),
                         sum(1 for _, s in snap.get("rows", ()) if s != "sent"),
                         len({a for a, _ in snap.get("rows", ())} - snap.get("expect", set()))),
                     ignore=(sqlite3.OperationalError,), interval=0.5)
            expect, rows = snap["expect"], snap["rows"]
            check(len(expect) >= 12 * 2, "only %d alerts delivered" % len(expect))
            ids = [a for a, _ in rows]
            check(len(ids) == len(set(ids)), "an alert id stored twice")
            check(set(ids) == expect, "alerts stored but never delivered: %s" % sorted(set(ids) - expect)[:5])
            con = sqlite3.connect("file:%s?mode=ro" % cw.db_path, uri=True, timeout=5)
            try:
                dup = con.execute("SELECT count(*) FROM (SELECT endpoint_id, kind, raised_at FROM alerts "
                                  "GROUP BY 1, 2, 3 HAVING count(*) > 1)").fetchone()[0]
            finally:
                con.close()
            check(dup == 0, "%d state changes stored as more than one alert" % dup)
            harness.note("storer-kill-alerts: 5 kills, %d flips, %d alerts delivered, %d stored, 0 lost, "
                         "0 duplicated" % (flips[0], len(expect), len(ids)))
            cw.stop(timeout=deadline(20))


@harness.timeout(120)
def test_orphan_spool_of_a_removed_slot_is_adopted():
    """Fewer workers after a reload: the spool of slot 5 (no such slot with 2 workers) left in run_dir is
    adopted by worker 0 at its start and replayed to the storer with its original (worker, boot_id, seq)."""
    import struct
    boot = 0x5eed0000abc
    with tempdir() as d:
        url = closed_port_url("/orphan")
        cfg = base_config([endpoint(url, timeout=1)], workers=2)
        cw = Clockwerk(cfg, d)
        os.makedirs(cw.run_dir, mode=0o700, exist_ok=True)
        orphan = os.path.join(cw.run_dir, "worker-5-storer.spool")
        with open(orphan, "wb") as f:
            for first in (1, 11):
                rs = [{"worker": 5, "boot_id": boot, "seq": s, "checked_at_us": int(time.time() * 1e6),
                       "latency_us": 5, "url": url, "error": "refused"} for s in range(first, first + 10)]
                payload = harness.encode_results(rs)
                f.write(struct.pack("<IIQQQI", len(payload), 5, boot, first, first + 9, 10) + payload)
            f.write(b"\x10\x00\x00")  # a torn record at the end: ignored
        with cw:
            cw.wait_ready()
            cw.wait_log(r"adopted 2 batches for the storer from .*worker-5-storer\.spool", timeout=deadline(20))

            def stored():
                con = sqlite3.connect("file:%s?mode=ro" % cw.db_path, uri=True, timeout=5)
                try:
                    return con.execute("SELECT count(*), count(DISTINCT seq) FROM checks WHERE worker = 5 AND "
                                       "boot_id = ?", (boot - (1 << 64) if boot >= 1 << 63 else boot,)).fetchone()
                finally:
                    con.close()
            wait_for(lambda: stored() == (20, 20), deadline(30), lambda: "20 adopted rows stored (have %s)" % (stored(),),
                     ignore=(sqlite3.OperationalError,), interval=0.3)
            # The rows are stored before the storer's acknowledgement reaches worker 0, which removes the
            # spool only then: wait for the file to go.
            wait_for(lambda: not os.path.exists(orphan), deadline(30), "the orphan spool removed after its replay")
            cw.stop(timeout=deadline(20))
