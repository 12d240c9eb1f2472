"""tests/e2e/test_alerter_journal.py — the alerter's state as a base and a journal (docs/alerts.md "The state
file", issue 18) end to end: real supervisor, workers, storer and alerter, a real SMTP server, endpoints the test
switches.

What is checked: the alerter killed (-9) again and again while its state file is being compacted (a compaction
whenever the journal outgrows the base: CLOCKWERK_STATE_COMPACT_MIN=0) restores every endpoint that is down, sends
no second DOWN and one UP each at recovery; a line torn by a kill in the middle of a save is left out and cut off;
a state file of before the journal (no journal_from) is read, then written whole once with its journal after it.
Every state the test reads goes through tests/e2e/alerter_state.py, which follows the documented format only.
"""

import json
import os
import re
import signal

import harness
from alerter_state import read_state
from harness import Clockwerk, check, deadline, endpoint, tempdir, wait_for
from smtp_server import SmtpServer
from test_alerter import ALERTER, alert_config, distinct_ids, recover_once, start
from webhook_receiver import Switchboard

COMPACT_ALWAYS = {"CLOCKWERK_STATE_COMPACT_MIN": "0"}


def kill_alerter(cw):
    """SIGKILL to the alerter; returns the new one's pid once the supervisor restarted it."""
    old = cw.child(ALERTER)
    os.kill(old, signal.SIGKILL)
    return cw.wait_new_child(ALERTER, old, timeout=30)


def down_urls(cw):
    state = read_state(cw.run_dir) or {}
    return sorted(e["url"] for e in state.get("endpoints", []) if e["avail"] == 2)


@harness.timeout(240)
def test_kill9_during_compactions_loses_nothing():
    """Twelve endpoints down of twenty: the alerter is killed three times, each right after a compaction began,
    and comes back with the twelve down; no DOWN is sent twice and each recovery sends one UP."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        names = ["e%d" % i for i in range(20)]
        bad = names[:12]
        for n in names:
            sw.set(n, 200)
        eps = [endpoint(sw.url(n), alert_threshold=2, timeout=0.8) for n in names]
        with Clockwerk(alert_config(eps, smtp, group_threshold=1000), d, env=COMPACT_ALWAYS) as cw:
            start(cw)
            wait_for(lambda: all(sw.hits(n) >= 2 for n in names), deadline(30), "first checks")
            for n in bad:
                sw.set(n, 500)
            smtp.wait_messages(12, "DOWN", timeout=60)
            want = sorted(sw.url(n) for n in bad)
            wait_for(lambda: down_urls(cw) == want, deadline(30), lambda: "the twelve down in the state file: %s"
                     % down_urls(cw))
            for round_ in range(3):
                mark = cw.log_mark()
                cw.wait_log(r"\[alerter\].*compacting the state file", since=mark, timeout=60)
                kill_alerter(cw)
                cw.wait_log(r"state restored from .* and \d+ journal lines?.*: \d+ endpoints? \(12 down\)",
                            since=mark, timeout=30)
            check(re.search(r"state file compacted: base \d+ bytes, journal \d+ bytes", cw.log_text()),
                  "no compaction ended in all that time")
            hits = sw.hits(bad[0])
            wait_for(lambda: sw.hits(bad[0]) >= hits + 3, deadline(30), "three more failed checks")
            check(len(distinct_ids(smtp.messages("DOWN"))) == 12, "a DOWN sent twice: %s" % smtp.subjects())
            check(down_urls(cw) == want, "the state file after the kills: %s" % down_urls(cw))
            recover_once(sw, smtp, bad, 12)
            cw.stop()


@harness.timeout(180)
def test_torn_line_left_out_and_old_file_read():
    """A half-written last line (a kill in the middle of a save) is left out and cut off before the next line; a
    state file of before the journal is read, then written whole once, its journal following it."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("api", 200)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8)], smtp)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            wait_for(lambda: sw.hits("api") >= 2, deadline(20), "first checks")
            sw.set("api", 500)
            smtp.wait_messages(1, "DOWN", timeout=30)
            wait_for(lambda: down_urls(cw) == [sw.url("api")], deadline(20), "the endpoint down in the state file")
            base = os.path.join(cw.run_dir, "alerter.state")
            journal = base + ".journal"
            # a torn line: the alerter stopped, half a line appended, then killed
            alerter = cw.child(ALERTER)
            os.kill(alerter, signal.SIGSTOP)
            with open(journal, "a") as f:
                f.write('{"journal":1,"seq":999999,"saved_at":"2026-')
            mark = cw.log_mark()
            kill_alerter(cw)
            cw.wait_log(r"state restored from .*\(a torn last line left out: its results were not acked\).*\(1 down\)",
                        since=mark, timeout=30)
            wait_for(lambda: os.path.getsize(journal) > 0 and open(journal).read().endswith("}\n")
                     and "999999" not in open(journal).read(), deadline(20), "the torn line cut off, lines after it")
            for line in open(journal).read().splitlines():
                json.loads(line)  # every line whole
            # a file of before the journal: the merged state written back without journal_from, no journal
            alerter = cw.child(ALERTER)
            os.kill(alerter, signal.SIGSTOP)
            doc = read_state(cw.run_dir)
            for k in ("journal_from", "journal_lines"):
                doc.pop(k, None)
            with open(base + ".test", "w") as f:
                json.dump(doc, f)
            os.replace(base + ".test", base)
            os.unlink(journal)
            mark = cw.log_mark()
            kill_alerter(cw)
            cw.wait_log(r"state restored from .* and 0 journal lines: 1 endpoint \(1 down\)", since=mark, timeout=30)
            wait_for(lambda: "journal_from" in json.load(open(base)) and os.path.exists(journal), deadline(20),
                     "the base written whole with journal_from, and a journal after it")
            hits = sw.hits("api")
            wait_for(lambda: sw.hits("api") >= hits + 3, deadline(30), "three more failed checks")
            check(len(distinct_ids(smtp.messages("DOWN"))) == 1, "a second DOWN: %s" % smtp.subjects())
            check(down_urls(cw) == [sw.url("api")], "the state after the restarts: %s" % read_state(cw.run_dir))
            recover_once(sw, smtp, ["api"], 1)
            check("malformed" not in cw.log_text(), "a state file was found malformed")
            cw.stop()
