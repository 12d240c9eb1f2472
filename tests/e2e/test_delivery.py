"""tests/e2e/test_delivery.py — acknowledged delivery (issue 6, docs/protocol.md "Acknowledged delivery"):
kill -9 the storer several times while two workers send ~300 results/s; afterwards every seq each worker
boot sent up to a moment after the last kill is stored, exactly once (no gap, no duplicate), and the
workers report resends. The full chaos suite is tests/e2e/test_chaos.py; this checks the mechanism.
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
