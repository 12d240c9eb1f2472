"""tests/e2e/test_robustness.py — behaviour under hostile conditions and input (issue 11, items 9, 14, 15):

  - a database that opens but cannot be written (SQLite on a full tmpfs): the storer backs off across
    reopens and logs "database unavailable" / "database is back" once per state change, not every 0.5 s;
    once space returns everything sent meanwhile is stored exactly once;
  - crafted results on the bus (timestamps of year 294247 or 1970, boot id 0, a seq jump of 2^63): refused
    as malformed or counted sanely, nothing absurd stored, the counters in the stats never wrap;
  - sustained overload of a worker (a low in-flight cap, slow targets): a warning says how many checks were
    missed and why.

Needs root for the tmpfs (mount -t tmpfs in the test's own directory, unmounted on every path).
"""

import contextlib
import errno
import json
import os
import re
import sqlite3
import subprocess
import time

import zmq

import harness
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, tempdir, wait_for
from test_storer import Feeder, ours, wait_rows

STATE_LINES = r"database is back|database unavailable"


@contextlib.contextmanager
def tmpfs(path, size):
    """A tmpfs of `size` mounted on path (created), unmounted (lazily if busy) on every path."""
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path], check=True)
    try:
        yield path
    finally:
        if subprocess.run(["umount", path]).returncode != 0:
            subprocess.run(["umount", "-l", path])


def fill(directory):
    """Fills the file system of directory with one file until ENOSPC; returns its path."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return path


@harness.timeout(240)
def test_full_disk_backs_off_and_loses_nothing():
    """Before the fix: "database is back"/"database unavailable" alternated every ~0.5 s (dozens of lines in
    20 s), because an open that succeeded reset the backoff and counted as "back"."""
    with tempdir() as d, tmpfs(os.path.join(d, "dbfs"), "16m") as dbfs:
        cfg = base_config([endpoint(closed_port_url(), timeout=1)], workers=1,
                          db_name=os.path.join(dbfs, "clockwerk.db"))
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            feed = Feeder(cw.run_dir)
            try:
                feed.send(1000)  # stored before the disk is full
                wait_rows(cw.db_path, 1000, 30)
                mark = cw.log_mark()
                filler = fill(dbfs)
                # 20 s of results against a database that opens but cannot be written
                end = time.monotonic() + 20
                while time.monotonic() < end:
                    feed.send(100)
                    time.sleep(0.2)
                cw.wait_log(r"database unavailable", since=mark, timeout=deadline(20))
                lines = re.findall(STATE_LINES, cw.log_since(mark))
                harness.note("%d database state lines in 20 s of a full disk" % len(lines))
                check(len(lines) <= 3, "%d 'database is back/unavailable' lines in 20 s of a full disk (want one "
                      "per state change): %s" % (len(lines), lines[:10]))
                check(ours(cw.db_path)[0] == 1000, "rows were written on a full disk?")

                back = cw.log_mark()
                os.unlink(filler)
                feed.send(500)
                wait_rows(cw.db_path, feed.seq, 60)
                cw.wait_log(r"database is back", since=back, timeout=deadline(30))
                cw.stop(timeout=deadline(15))
            finally:
                feed.close()


def storer_counters(tap, **at_least):
    """The storer's last counters printed by `clockwerk-tap --json --stats` once each named one reaches its
    value, else None."""
    stats = [o for o in map(json_or_none, tap.snapshot()) if o and o.get("type") == "stats"]
    last = [o.get("counters", {}) for o in stats if o.get("role") == "storer"][-1:]
    return last[0] if last and all(last[0].get(k, 0) >= v for k, v in at_least.items()) else None


def json_or_none(line):
    try:
        return json.loads(line)
    except ValueError:
        return None


@harness.timeout(120)
def test_absurd_results_refused_and_counters_sane():
    """Before the fix: a result of year 294247, one of 1970 and one with boot id 0 were stored, and a seq jump of
    2^63 made the storer's `missing` counter wrap to a negative number."""
    boot = 0x0BAD0000C0FFEE
    now_us = int(time.time() * 1e6)
    url = "http://127.0.0.1:9/crafted"
    good = {"worker": 9, "boot_id": boot, "seq": 1, "checked_at_us": now_us, "latency_us": 1000, "dns_us": 1,
            "connect_us": 1, "tls_us": -1, "ttfb_us": 1, "status_code": 500, "ok": False, "url": url,
            "error": "crafted"}
    refused = [
        dict(good, seq=2, checked_at_us=9223371974400000000),  # year 294247
        dict(good, seq=3, checked_at_us=0),                    # 1970
        dict(good, seq=4, checked_at_us=now_us + 200 * 365 * 86400 * 10**6),  # 2226
        dict(good, seq=5, boot_id=0),                          # boot id 0 means "empty slot"
    ]
    with tempdir() as d:
        cfg = base_config([endpoint(closed_port_url(), timeout=1)], workers=1)
        with Clockwerk(cfg, d) as cw, harness.Tap(cw.conf_path, args=("--json", "--stats")) as tap:
            cw.wait_ready()
            cw.wait_log(r"storer.*storing to sqlite", timeout=deadline(20))
            ctx = zmq.Context()
            push = ctx.socket(zmq.DEALER)
            push.setsockopt(zmq.LINGER, 5000)
            push.connect("ipc://" + os.path.join(cw.run_dir, "store.sock"))
            try:
                push.send_multipart([b"result", harness.encode_results([good])])
                for r in refused:
                    push.send_multipart([b"result", harness.encode_results([r])])
                # a jump of 2^63, then the sender's next real result
                push.send_multipart([b"result", harness.encode_results([dict(good, seq=1 + 2**63)])])
                push.send_multipart([b"result", harness.encode_results([dict(good, seq=2)])])
                items = wait_for(lambda: storer_counters(tap, received=3, malformed=4), deadline(30),
                                 "storer stats with 3 results and 4 malformed")
                negative = {k: v for k, v in items.items() if v < 0}
                check(not negative, "negative storer counters: %s" % negative)
                check(items["malformed"] == 4, "malformed = %s, expected 4" % items["malformed"])
                check(items["missing"] == 0 and items["gaps"] == 0,
                      "a jump of 2^63 counted as gaps=%s missing=%s" % (items["gaps"], items["missing"]))
                check(items.get("seq_jumps") == 1, "seq_jumps = %s, expected 1" % items.get("seq_jumps"))
                for why in ("check time out of range", "zero boot id"):
                    check(re.search(r"storer.*dropped a malformed result message.*" + why, cw.log_text()),
                          "no log line for a result refused as '%s'" % why)
                cw.wait_log(r"storer.*seq jumped from 1 to %d: not believed" % (1 + 2**63), timeout=deadline(10))
            finally:
                push.close()
                ctx.term()

            def stored():
                try:
                    con = sqlite3.connect("file:%s?mode=ro" % cw.db_path, uri=True, timeout=1)
                    try:
                        return con.execute("SELECT checked_at, boot_id FROM checks WHERE worker = 9").fetchall()
                    finally:
                        con.close()
                except sqlite3.OperationalError:
                    return None
            rows = wait_for(lambda: (lambda r: r if r and len(r) >= 3 else None)(stored()), deadline(30),
                            "the 3 acceptable results stored")
            check(len(rows) == 3, "stored %d rows, expected 3: %s" % (len(rows), rows))
            bad = [r for r in rows if not ("2000" <= r[0] < "2100") or r[1] == 0]
            check(not bad, "absurd rows stored: %s" % bad)
            cw.stop(timeout=deadline(15))


@harness.timeout(120)
def test_overload_warns_missed_checks_with_reason():
    """Before the fix: a worker missing most of its checks (in-flight cap reached) said nothing above debug."""
    from targets import Targets
    with tempdir() as d, Targets(slow_delay=0.8) as t:
        # 48 endpoints due once a second, each taking 0.8 s, at most 16 at once: about 20 checks/s can run
        cfg = base_config([endpoint(t.url("/slow?e=%d" % i), timeout=1) for i in range(48)], workers=1, db=False)
        with Clockwerk(cfg, d, env={"CLOCKWERK_MAX_IN_FLIGHT": "16"}) as cw:
            cw.wait_ready()
            m = cw.wait_log(r"worker 0/1\]\s+\d+ warn: missed (\d+) of (\d+) checks due in the last [0-9.]+ s "
                            r"\(\d+%\): (\d+) waited for the in-flight cap \(16\)", timeout=deadline(40))
            missed, due, cap = int(m.group(1)), int(m.group(2)), int(m.group(3))
            harness.note(m.group(0))
            check(0 < missed <= due and 0 < cap <= missed, "missed %d of %d, %d for the cap" % (missed, due, cap))
            # at most once a minute: 10 s later there is still one such line
            mark = time.monotonic()
            wait_for(lambda: time.monotonic() - mark >= 10 or None, deadline(20), "10 s", interval=0.5)
            lines = re.findall(r"warn: missed \d+ of \d+ checks", cw.log_text())
            check(len(lines) == 1, "%d 'missed' warnings within a minute: %s" % (len(lines), lines))
            cw.stop(timeout=deadline(15))
