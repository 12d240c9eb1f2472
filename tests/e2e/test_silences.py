"""tests/e2e/test_silences.py — silences and acknowledgement through `clockwerk silence` / `clockwerk ack` against a
real running pipeline (supervisor, workers, alerter; endpoints on a local switchboard; a local webhook receiver as
the alerter's channel). docs/operations.md "Silences and acknowledgement", docs/alerts.md "Silences",
docs/protocol.md "The alerter's control socket".

What is checked: add (by endpoint name, by URL, by group, all) / list (text and --json) / remove through the CLI,
each change logged with its author; the file RUN_DIR/silences.json and the socket RUN_DIR/alerter.ctl are mode 0600;
silences are kept across a restart of the alerter; a silence ends by itself (a log line, gone from the list); bad
inputs get clear errors and exit codes (unknown endpoint/group, bad durations, no reason, unknown id, no alerter
running); a malformed silences file is moved aside at start.
"""

import json
import os
import re
import signal
import stat

import harness
from harness import Clockwerk, base_config, check, endpoint, tempdir
from webhook_receiver import Switchboard, WebhookReceiver

ALERTER = "clockwerk: alerter"


def silence_config(sw, hook, **kw):
    return base_config([endpoint(sw.url("api"), name="api", group="payments", alert_threshold=2, timeout=0.8),
                        endpoint(sw.url("shop"), alert_threshold=2, timeout=0.8)],
                       db=False, extra={"alerts": {"webhooks": [{"url": hook.url}]}}, **kw)


def start(cw):
    cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
    cw.wait_log(r"alerter running")


def cli(cw, *args, env=None):
    """`clockwerk -c CONF ARGS`; CliResult (code, out, err, text)."""
    return harness.run_cli(["-c", cw.conf_path] + list(args), timeout=30, env=env)


def added_id(res):
    check(res.code == 0, "silence add failed: %r" % res.text)
    m = re.search(r"added silence ([0-9a-f]{16})\b", res.out)
    check(m, "no id in %r" % res.out)
    return m.group(1)


def listed(cw):
    res = cli(cw, "silence", "list", "--json")
    check(res.code == 0, "silence list --json failed: %r" % res.text)
    return json.loads(res.out)


@harness.timeout(180)
def test_silence_add_list_remove_and_restart():
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("api")
        sw.set("shop")
        with Clockwerk(silence_config(sw, hook), d) as cw:
            start(cw)
            ctl = os.path.join(cw.run_dir, "alerter.ctl")
            mode = os.stat(ctl).st_mode
            check(stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, "alerter.ctl mode %o" % mode)

            by_name = added_id(cli(cw, "silence", "add", "api", "--for", "2h", "--reason", "db upgrade",
                                   "--by", "alice"))
            by_url = added_id(cli(cw, "silence", "add", sw.url("shop"), "--for", "1h30m", "--reason", "new build"))
            by_group = added_id(cli(cw, "silence", "add", "--group", "payments", "--for", "1d",
                                    "--reason", "vendor outage"))
            every = added_id(cli(cw, "silence", "add", "--all", "--for", "3h", "--reason", "network work"))
            cw.wait_log(r"silence %s of endpoint api added by alice \(uid \S+\) until \S+ \(reason: db upgrade\)"
                        % by_name)
            path = os.path.join(cw.run_dir, "silences.json")
            check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "silences.json mode %o" % os.stat(path).st_mode)

            text = cli(cw, "silence", "list")
            check(text.code == 0, "silence list: %r" % text.text)
            for sid in (by_name, by_url, by_group, every):
                check(sid in text.out, "%s not in the list %r" % (sid, text.out))
            check(re.search(r"%s\s+endpoint api\s+until \S+\s+by alice \(uid \S+\): db upgrade" % by_name, text.out),
                  "the list line of the endpoint silence: %r" % text.out)
            docs = {s["id"]: s for s in listed(cw)}
            check(set(docs) == {by_name, by_url, by_group, every}, "list --json: %s" % docs)
            check(docs[by_url]["endpoint"] == sw.url("shop") and docs[by_group]["group"] == "payments"
                  and docs[every]["all"] is True, "list --json scopes: %s" % docs)
            check(docs[by_name]["end_us"] - docs[by_name]["start_us"] == 7200 * 10**6, "2h: %s" % docs[by_name])
            check(docs[by_url]["end_us"] - docs[by_url]["start_us"] == 5400 * 10**6, "1h30m: %s" % docs[by_url])

            # kept across a restart of the alerter
            old = cw.child(ALERTER)
            mark = cw.log_mark()
            os.kill(old, signal.SIGKILL)
            cw.wait_new_child(ALERTER, old, timeout=30)
            cw.wait_log(r"4 silences restored from ", since=mark)
            kept = harness.wait_for(lambda: (lambda r: r if r.code == 0 else None)(cli(cw, "silence", "list",
                                                                                       "--json")),
                                    harness.deadline(30), "the restarted alerter answering")
            check({s["id"] for s in json.loads(kept.out)} == {by_name, by_url, by_group, every},
                  "after the restart: %s" % kept.out)

            res = cli(cw, "silence", "remove", by_name, "--by", "bob")
            check(res.code == 0 and ("removed silence %s" % by_name) in res.out, "remove: %r" % res.text)
            cw.wait_log(r"silence %s of endpoint api removed by bob \(uid \S+\) \(reason was: db upgrade; "
                        r"added by alice" % by_name)
            check(by_name not in {s["id"] for s in listed(cw)}, "removed silence still listed")
            for sid in (by_url, by_group, every):
                check(cli(cw, "silence", "remove", sid).code == 0, "remove %s" % sid)
            res = cli(cw, "silence", "list")
            check(res.code == 0 and res.out.strip() == "no silences", "empty list: %r" % res.text)
            cw.stop()


@harness.timeout(120)
def test_silence_ends_by_itself():
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("api")
        sw.set("shop")
        with Clockwerk(silence_config(sw, hook), d) as cw:
            start(cw)
            sid = added_id(cli(cw, "silence", "add", "api", "--for", "3s", "--reason", "quick restart"))
            check(sid in cli(cw, "silence", "list").out, "not listed")
            cw.wait_log(r"silence %s of endpoint api ended at \S+ \(reason: quick restart; by " % sid, timeout=30)
            check(listed(cw) == [], "an ended silence is still listed")
            cw.stop()


def expect_refused(res, code, part):
    check(res.code == code and part in res.err, "wanted exit %d and %r, got %d: %r" % (code, part, res.code,
                                                                                        res.text))


@harness.timeout(150)
def test_silence_bad_inputs():
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("api")
        sw.set("shop")
        cfg = silence_config(sw, hook)
        with Clockwerk(cfg, d) as cw:
            # nothing running yet: a clear line, exit 1
            res = cli(cw, "silence", "list")
            expect_refused(res, 1, "no alerter is listening on %s: is clockwerk running?"
                           % os.path.join(cw.run_dir, "alerter.ctl"))
            # a malformed file is moved aside at start
            os.makedirs(cw.run_dir, mode=0o700, exist_ok=True)
            with open(os.path.join(cw.run_dir, "silences.json"), "w") as f:
                f.write("{not json")
            start(cw)
            cw.wait_log(r"malformed silences file: not one JSON document; moved aside to \S+silences\.json\.bad")
            check(os.path.exists(os.path.join(cw.run_dir, "silences.json.bad")), "no silences.json.bad")

            expect_refused(cli(cw, "silence", "add", "nope", "--for", "1h", "--reason", "x"), 1,
                           "unknown endpoint 'nope': no endpoint has this name or URL")
            expect_refused(cli(cw, "silence", "add", "--group", "nogroup", "--for", "1h", "--reason", "x"), 1,
                           "unknown group 'nogroup'")
            for bad in ("0s", "1h1h", "30m1h", "366d", "5", "1.5h", "-5m", "2 h", ""):
                expect_refused(cli(cw, "silence", "add", "api", "--for", bad, "--reason", "x"), 2, "duration")
            expect_refused(cli(cw, "silence", "add", "api", "--for", "1h"), 2, "--reason TEXT is required")
            expect_refused(cli(cw, "silence", "add", "api", "--reason", "x"), 2, "--for DURATION is required")
            expect_refused(cli(cw, "silence", "add", "api", "--all", "--for", "1h", "--reason", "x"), 2, "one of them")
            expect_refused(cli(cw, "silence", "add", "--for", "1h", "--reason", "x"), 2, "say what to silence")
            expect_refused(cli(cw, "silence", "frobnicate"), 2, "say add, list or remove")
            expect_refused(cli(cw, "silence", "remove"), 2, "which silence")
            expect_refused(cli(cw, "silence", "remove", "0123456789abcdef"), 1, "no silence has id '0123456789abcdef'")
            expect_refused(cli(cw, "silence", "add", "api", "--for", "1h", "--reason", "x", "--by", "a\tb"), 1,
                           "by must be")
            expect_refused(cli(cw, "ack"), 2, "which alert")
            expect_refused(cli(cw, "ack", "not-hex"), 2, "hex digits")
            expect_refused(cli(cw, "ack", "AB"), 1, "no open incident has alert id 00000000000000ab")
            for args in (["silence", "--help"], ["silence", "add", "--help"], ["ack", "--help"]):
                res = cli(cw, *args)
                check(res.code == 0 and "clockwerk -c FILE silence add" in res.out, "%s: %r" % (args, res.text))
            res = harness.run_cli(["silence", "list"])
            expect_refused(res, 2, "no configuration file given (-c FILE)")
            check(listed(cw) == [], "a refused request left a silence")
            cw.stop()
