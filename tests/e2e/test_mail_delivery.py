"""tests/e2e/test_mail_delivery.py — how the alerter's mail meets a real MTA's answers (issue 11): a recipient
refused at RCPT (550: dropped for that mail, the others get it; 450: retried for that address alone; all
refused: the mail fails for good), `--test-alert` naming refused addresses, a bounded number of messages per
SMTP connection and no idle connection left open, a prompt stop while the SMTP server hangs (the mail stays
in the state file and goes out after the restart), and a resent mail whose To: follows the current list.

Real supervisor, workers and alerter; the SMTP server is tests/e2e/smtp_server.py with its refuse / hang /
max_per_connection modes; endpoints on a local Switchboard (tests/e2e/webhook_receiver.py).
"""

import os
import re
import signal
import time

import harness
from alerter_state import read_state
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from smtp_server import SmtpServer
from webhook_receiver import Switchboard, WebhookReceiver

ALERTER = "clockwerk: alerter"


def mail_config(endpoints, smtp, to, group_threshold=5, db=True):
    email = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "email_from": "monitor@example.test",
             "email_to": to, "smtp_tls": "none"}
    alerts = {"group_threshold": group_threshold, "renotify": 0}
    return base_config(endpoints, workers=2, db=db, extra={"email": email, "alerts": alerts})


def start(cw):
    return cw.wait_ready(titles=cw.expected_titles() + [ALERTER])


def hold(seconds):
    """Lets the system run so that a wrong extra mail or retry would show up (an observation, not a sync)."""
    time.sleep(seconds)


def state_jobs(cw):
    try:
        state = read_state(cw.run_dir)
    except ValueError:
        return None
    return state.get("jobs", []) if state else None


def email_states(cw):
    rows = cw.db().try_query("SELECT kind, email_state FROM alerts ORDER BY id")
    return rows or []


@harness.timeout(120)
def test_refused_recipient_others_get_the_mail():
    """550 for one address: the others get the mail at once, the refused one is named in the log, and the
    mail is not retried (the alert counts as sent)."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        smtp.refuse = {"bad@example.test": "550 5.1.1 <bad@example.test>: no such user"}
        sw.set("api", 500)
        to = ["ops@example.test", "bad@example.test", "oncall@example.test"]
        cfg = mail_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name="api")], smtp, to)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            down = smtp.wait_messages(1, "DOWN", timeout=20)[0]
            check(sorted(down["to"]) == ["oncall@example.test", "ops@example.test"], "envelope %s" % down["to"])
            wait_for(lambda: re.search(r"bad@example\.test.*550|550.*bad@example\.test", cw.log_text()),
                     deadline(10), lambda: "a log line naming the refused address: %s" % harness.tail(cw.log_text()))
            wait_for(lambda: ("down", "sent") in email_states(cw) or None, deadline(20),
                     lambda: "the DOWN alert recorded as sent: %s" % email_states(cw))
            wait_for(lambda: state_jobs(cw) == [] or None, deadline(10),
                     lambda: "no job left in the state file: %s" % state_jobs(cw))
            tries = len([a for a, _ in smtp.rcpt_log if a == "bad@example.test"])
            hold(4)
            check(len([a for a, _ in smtp.rcpt_log if a == "bad@example.test"]) == tries,
                  "the refused address was tried again: %s" % smtp.rcpt_log)
            check(len(smtp.messages()) == 1, "one mail expected, got %s" % smtp.subjects())
            cw.stop()


@harness.timeout(150)
def test_temporarily_refused_recipient_retried_alone():
    """450 for one address: the others get the mail at once; the retry goes to that address only, as the
    same message, and its To: names the whole list like the first one."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        smtp.refuse = {"busy@example.test": "450 4.2.1 <busy@example.test>: mailbox busy, try later"}
        sw.set("api", 500)
        to = ["ops@example.test", "busy@example.test"]
        cfg = mail_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name="api")], smtp, to)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            first = smtp.wait_messages(1, "DOWN", timeout=20)[0]
            check(first["to"] == ["ops@example.test"], "first envelope %s" % first["to"])
            wait_for(lambda: len([a for a, r in smtp.rcpt_log if a == "busy@example.test"]) >= 2 or None,
                     deadline(20), lambda: "a retry for the busy address: %s" % smtp.rcpt_log)
            check(len(smtp.messages()) == 1, "the retry must not resend to the accepted address: %s"
                  % [m["to"] for m in smtp.messages()])
            check(re.search(r"busy@example\.test.*450", cw.log_text()), harness.tail(cw.log_text()))
            smtp.refuse = {}
            second = smtp.wait_messages(2, "DOWN", timeout=30)[1]
            check(second["to"] == ["busy@example.test"], "retry envelope %s" % second["to"])
            check(second["message_id"] == first["message_id"], "the retry is another message")
            check(second["msg"]["To"] == first["msg"]["To"], "To: %r vs %r" % (second["msg"]["To"], first["msg"]["To"]))
            wait_for(lambda: ("down", "sent") in email_states(cw) or None, deadline(20),
                     lambda: "the DOWN alert recorded as sent: %s" % email_states(cw))
            hold(3)
            check(len(smtp.messages()) == 2, "extra mails: %s" % [m["to"] for m in smtp.messages()])
            cw.stop()


@harness.timeout(120)
def test_all_recipients_refused_fails_for_good():
    """Every recipient refused with 5xx: the mail fails permanently (recorded as failed), no endless retry."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        smtp.refuse = {"bad@example.test": "550 5.1.1 no such user", "worse@example.test": "553 5.1.3 bad address"}
        sw.set("api", 500)
        cfg = mail_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name="api")], smtp,
                          ["bad@example.test", "worse@example.test"])
        with Clockwerk(cfg, d) as cw:
            start(cw)
            wait_for(lambda: ("down", "failed") in email_states(cw) or None, deadline(30),
                     lambda: "the DOWN alert recorded as failed: %s; log %s" % (email_states(cw),
                                                                             harness.tail(cw.log_text())))
            wait_for(lambda: state_jobs(cw) == [] or None, deadline(10),
                     lambda: "no job left in the state file: %s" % state_jobs(cw))
            tries = len(smtp.rcpt_log)
            hold(4)
            check(len(smtp.rcpt_log) == tries, "retried after a permanent refusal: %s" % smtp.rcpt_log)
            text = cw.log_text()
            check("bad@example.test" in text and "worse@example.test" in text, harness.tail(text))
            cw.stop()


@harness.timeout(120)
def test_test_alert_names_refused_address():
    with tempdir() as d, SmtpServer() as smtp:
        smtp.refuse = {"bad@example.test": "550 5.1.1 no such user"}
        cfg = mail_config([endpoint("http://127.0.0.1:9/")], smtp, ["ops@example.test", "bad@example.test"], db=False)
        conf = os.path.join(d, "clockwerk.conf")
        harness.write_config(conf, cfg)
        res = harness.run_cli(["-c", conf, "--test-alert"], timeout=60, cwd=d)
        check(res.code == 1, "--test-alert must fail when a recipient is refused: %r" % res)
        check(re.search(r"FAILED.*bad@example\.test.*550", res.out), res.out)
        test = smtp.wait_messages(1, "test alert", timeout=20)[0]
        check(test["to"] == ["ops@example.test"], "the accepted recipient gets the test mail: %s" % test["to"])


@harness.timeout(180)
def test_messages_per_connection_bounded_and_idle_closed():
    """25 mails at once: no connection carries more than 10 (the server refuses the 11th, like exim queues
    it), every mail arrives once, and no connection stays open once nothing is left to send."""
    n = 25
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        smtp.max_per_connection = 10
        names = ["e%02d" % i for i in range(n)]
        for name in names:
            sw.set(name, 200)
        eps = [endpoint(sw.url(name), alert_threshold=2, timeout=0.8, name=name) for name in names]
        cfg = mail_config(eps, smtp, ["ops@example.test"], group_threshold=1000)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            wait_for(lambda: all(sw.hits(x) >= 2 for x in names) or None, deadline(30), "first checks")
            for name in names:
                sw.set(name, 500)
            smtp.wait_messages(n, "DOWN", timeout=60)
            per_conn = max(m["conn_index"] for m in smtp.messages())
            check(smtp.refused_per_connection == 0, "%d message(s) refused for the per-connection limit"
                  % smtp.refused_per_connection)
            check(per_conn <= 10, "a connection carried %d messages" % per_conn)
            wait_for(lambda: smtp.open_connections() == 0 or None, deadline(15),
                     lambda: "the idle SMTP connection closed (%d open)" % smtp.open_connections())
            hold(2)
            check(len(smtp.messages()) == n, "expected %d mails, got %d" % (n, len(smtp.messages())))
            cw.stop()


@harness.timeout(150)
def test_stop_promptly_with_hung_smtp_server():
    """The SMTP server stops answering mid-conversation: SIGTERM still ends the alerter within 2 s, and
    the undelivered mail goes out after the restart."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        smtp.hang = True
        sw.set("api", 500)
        cfg = mail_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name="api")], smtp,
                          ["ops@example.test"])
        with Clockwerk(cfg, d) as cw:
            kids = start(cw)
            wait_for(lambda: smtp.hung >= 1 or None, deadline(30), "the alerter's mail hanging at RCPT")
            pid = kids[ALERTER]
            t0 = time.monotonic()
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not harness.proc_alive(pid) or None, deadline(10), "the alerter to exit")
            took = time.monotonic() - t0
            check(took < 2.0 * harness.slow_factor(), "the alerter took %.1f s to stop" % took)
            check(smtp.messages() == [], "no mail expected yet")
            smtp.hang = False
            cw.wait_new_child(ALERTER, pid, timeout=30)
            down = smtp.wait_messages(1, "DOWN", timeout=30)
            check(len(down) == 1, smtp.subjects())
            cw.stop()


@harness.timeout(150)
def test_resent_mail_to_header_follows_current_list():
    """A mail queued while the server is away, then the list changes: the mail that goes out has the new
    list both in the envelope and in To:."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        smtp.stop()
        sw.set("api", 500)
        eps = [endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name="api")]
        cfg = mail_config(eps, smtp, ["old@example.test"])
        with Clockwerk(cfg, d) as cw:
            kids = start(cw)
            wait_for(lambda: state_jobs(cw) or None, deadline(30), "a mail job in the state file")
            cw.reload(mail_config(eps, smtp, ["new@example.test", "other@example.test"]))
            cw.wait_new_child(ALERTER, kids[ALERTER], timeout=30)
            smtp.start()
            down = smtp.wait_messages(1, "DOWN", timeout=40)[0]
            check(sorted(down["to"]) == ["new@example.test", "other@example.test"], "envelope %s" % down["to"])
            to_header = " ".join(down["msg"]["To"].split())
            check(to_header == "new@example.test, other@example.test", "To: %r" % to_header)
            cw.stop()


def hook_config(endpoints, urls):
    alerts = {"group_threshold": 5, "renotify": 0, "webhooks": [{"url": u} for u in urls]}
    return base_config(endpoints, workers=2, db=True, extra={"alerts": alerts})


@harness.timeout(150)
def test_two_webhooks_on_one_host_named_apart_and_removal_logged():
    """Two webhooks on one host and port: the logs tell them apart (by number) without their secret paths;
    the failing one taken out of the configuration: its queued call is dropped with a counted log line."""
    with tempdir() as d, Switchboard() as sw, WebhookReceiver(token="first-s3cret") as hook:
        hook.token_status["second-s3cret"] = 500
        sw.set("api", 500)
        eps = [endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name="api")]
        with Clockwerk(hook_config(eps, [hook.url, hook.url_for("second-s3cret")]), d) as cw:
            kids = start(cw)
            wait_for(lambda: hook.calls() or None, deadline(30), "the first webhook's call")
            wait_for(lambda: hook.attempts_by_token.get("second-s3cret", 0) >= 2 or None, deadline(30),
                     "retries of the failing second webhook")
            text = cw.log_text()
            failed = [l for l in text.splitlines() if "failed (attempt" in l and "webhook" in l]
            check(failed and all("channel webhook-2 " in l for l in failed), "failures not named webhook-2: %s" % failed)
            delivered = [l for l in text.splitlines() if "delivered" in l and "webhook" in l]
            check(delivered and all("channel webhook-1 " in l for l in delivered), "delivery lines: %s" % delivered)
            check("s3cret" not in text, "a webhook's secret path is in the log")
            cw.reload(hook_config(eps, [hook.url]))
            cw.wait_new_child(ALERTER, kids[ALERTER], timeout=30)
            wait_for(lambda: re.search(r"1 queued message\(s\) dropped: their channel was removed", cw.log_text()),
                     deadline(20),
                     lambda: "a log line counting the dropped call: %s" % harness.tail(cw.log_text()))
            cw.stop()
