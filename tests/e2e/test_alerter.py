"""tests/e2e/test_alerter.py — the alerter end to end: real supervisor, workers, storer and alerter, a real
SMTP server (aiosmtpd, tests/e2e/smtp_server.py) and a local webhook receiver, endpoints on 127.0.0.1 whose
answers the test switches (tests/e2e/webhook_receiver.py).

What is checked: one DOWN mail after alert_threshold failed checks and never one per check; one UP
mail on recovery and none at start; one SLOW mail; twenty endpoints failing together -> one summary mail;
an SMTP outage while an alert is due -> the alert arrives once when the server is back; the alerter killed
(-9) and restarted while an endpoint is down -> no second DOWN; STARTTLS + AUTH; `--test-alert`; every
alert in the `alerts` table with its delivery state; no password in any log.
"""

import os
import re
import signal
import time

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from smtp_server import SmtpServer
from webhook_receiver import Switchboard, WebhookReceiver

ALERTER = "clockwerk: alerter"


def alert_config(endpoints, smtp, hook=None, group_threshold=5, renotify=0, tls="none", user=None, password=None,
                 db=True, **kw):
    email = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "email_from": "monitor@example.test",
             "email_to": ["ops@example.test", "oncall@example.test"], "smtp_tls": tls}
    if smtp.ca_file:
        email["smtp_ca_file"] = smtp.ca_file
    if user:
        email["smtp_user"] = user
        email["smtp_password"] = password
    alerts = {"group_threshold": group_threshold, "renotify": renotify}
    if hook is not None:
        alerts["webhooks"] = [{"url": hook.url}]
    return base_config(endpoints, workers=2, db=db, extra={"email": email, "alerts": alerts}, **kw)


def start(cw):
    titles = cw.expected_titles() + [ALERTER]
    return cw.wait_ready(titles=titles)


def hold(seconds):
    """Lets the system run for a while so that a wrong extra mail would have time to show up. This is not
    a synchronisation (those all use wait_for): it is the length of the observation."""
    time.sleep(seconds)


def recover_once(sw, smtp, names, n):
    """Sets the endpoints back to 200: n UP mails come, and no DOWN or UP was sent twice (n of each)."""
    for name in names:
        sw.set(name, 200)
    smtp.wait_messages(n, "UP", timeout=60)
    hold(2)
    check(len(distinct_ids(smtp.messages("DOWN"))) == n and len(distinct_ids(smtp.messages("UP"))) == n,
          "expected %d DOWN and %d UP, got %s" % (n, n, smtp.subjects()))


def signed64(hex_id):
    v = int(hex_id, 16)
    return v - (1 << 64) if v >= (1 << 63) else v


def distinct_ids(msgs):
    """The distinct Message-IDs of mails (a resend after a kill carries the same one)."""
    return {m["message_id"].strip() for m in msgs}


def message_id_hex(msg):
    m = re.fullmatch(r"<([0-9a-f]{16})@[A-Za-z0-9.-]+>", msg["message_id"].strip())  # @HOST (issue 15)
    check(m, "Message-ID %r is not <16 hex digits@HOST>" % msg["message_id"])
    return m.group(1)


def alerts_rows(cw):
    rows = cw.db().try_query("SELECT a.alert_id, a.kind, a.email_state, a.webhook_state, e.url, a.message "
                             "FROM alerts a JOIN endpoints e ON e.id = a.endpoint_id ORDER BY a.id")
    return rows or []


def wait_alert_row(cw, hex_id, kind, email_state="sent", webhook_state=None, timeout=30):
    want = signed64(hex_id)

    def ok():
        for r in alerts_rows(cw):
            if r[0] == want and r[1] == kind and r[2] == email_state and (webhook_state is None or r[3] == webhook_state):
                return r
        return None
    return wait_for(ok, deadline(timeout), lambda: "alerts row %s %s email=%s webhook=%s; rows: %s" % (
        hex_id, kind, email_state, webhook_state, alerts_rows(cw)))


def check_no_password(cw, password):
    check(password not in cw.log_text(), "the SMTP password appears in the log")


@harness.timeout(120)
def test_down_once_then_up_once():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp, WebhookReceiver() as hook:
        sw.set("api", 200)
        sw.set("steady", 200)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=3, timeout=0.8, name="api"),
                            endpoint(sw.url("steady"), timeout=0.8)], smtp, hook)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            wait_for(lambda: sw.hits("api") >= 3 and sw.hits("steady") >= 3, deadline(20), "first checks")
            hold(2)
            check(smtp.messages() == [], "mail at start (no UP mail expected): %s" % smtp.subjects())

            hits_at_failure = sw.set("api", 500)   # the count at the switch: a hit between the two is a failure
            down = smtp.wait_messages(1, "DOWN", timeout=30)[0]
            failed_checks = sw.hits("api") - hits_at_failure
            check(failed_checks >= 3, "DOWN mail after only %d failed checks (alert_threshold 3)" % failed_checks)
            check(down["subject"].startswith("[clockwerk] DOWN: api (http://127.0.0.1:"), down["subject"])
            check(sorted(down["to"]) == ["oncall@example.test", "ops@example.test"], "recipients %s" % down["to"])
            check(down["from"] == "monitor@example.test", "MAIL FROM %s" % down["from"])
            for h in ("Date", "Message-ID", "From", "To", "Subject"):
                check(down["msg"].get(h), "DOWN mail without %s header" % h)
            check("Failed checks: 3" in down["body"] and "HTTP 500" in down["body"], down["body"])
            down_id = message_id_hex(down)
            hold(4)  # several more failed checks: still exactly one mail
            check(len(smtp.messages()) == 1, "expected exactly one mail while down, got %s" % smtp.subjects())
            calls = wait_for(lambda: hook.calls() or None, deadline(20), "a webhook call")
            check(len(calls) == 1 and calls[0]["kind"] == "down" and calls[0]["alert_id"] == down_id,
                  "webhook calls %s" % calls)
            check("text" in calls[0] and "DOWN" in calls[0]["text"], calls[0])
            check(hook.token not in cw.log_text(), "the webhook URL's token appears in the log")

            sw.set("api", 200)
            up = smtp.wait_messages(1, "UP", timeout=30)[0]
            check("Downtime:" in up["body"], up["body"])
            hold(3)
            check(len(smtp.messages("UP")) == 1 and len(smtp.messages("DOWN")) == 1,
                  "expected one DOWN and one UP mail, got %s" % smtp.subjects())
            up_id = message_id_hex(up)
            wait_for(lambda: len(hook.calls()) == 2 or None, deadline(20), "the UP webhook call")
            check([c["kind"] for c in hook.calls()] == ["down", "up"], hook.calls())
            # both alerts recorded by the storer, delivered on both channels
            wait_alert_row(cw, down_id, "down", "sent", "sent")
            wait_alert_row(cw, up_id, "up", "sent", "sent")
            check(len(alerts_rows(cw)) == 2, "alerts table: %s" % alerts_rows(cw))
            cw.stop()


@harness.timeout(120)
def test_slow_endpoint_one_slow_mail():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("slow", 200, delay=0.6)
        cfg = alert_config([endpoint(sw.url("slow"), alert_threshold=2, timeout=1, latency_threshold=0.3)], smtp)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            slow = smtp.wait_messages(1, "SLOW", timeout=30)[0]
            check("threshold 300.0 ms" in slow["body"], slow["body"])
            hold(4)
            check(smtp.subjects() == [slow["subject"]], "expected one SLOW mail, got %s" % smtp.subjects())
            sw.set("slow", 200, delay=0)
            smtp.wait_messages(1, "FAST", timeout=30)
            hold(2)
            check(len(smtp.messages()) == 2, "expected SLOW then FAST, got %s" % smtp.subjects())
            wait_for(lambda: len(alerts_rows(cw)) == 2 or None, deadline(20), "two alert rows")
            check(sorted(r[1] for r in alerts_rows(cw)) == ["fast", "slow"], alerts_rows(cw))
            cw.stop()


@harness.timeout(150)
def test_twenty_down_together_one_summary():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp, WebhookReceiver() as hook:
        names = ["ep%02d" % i for i in range(20)]
        for n in names:
            sw.set(n, 200)
        cfg = alert_config([endpoint(sw.url(n), alert_threshold=2, timeout=0.8) for n in names], smtp, hook,
                           group_threshold=5)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            wait_for(lambda: all(sw.hits(n) >= 2 for n in names), deadline(20), "every endpoint checked twice")
            for n in names:
                sw.set(n, 500)
            summary = smtp.wait_messages(1, timeout=40)[0]
            hold(5)
            subjects = smtp.subjects()
            check(len(subjects) == 1, "expected one summary mail, got %d: %s" % (len(subjects), subjects))
            check("20 endpoints changed state: 20 DOWN" in summary["subject"], summary["subject"])
            for n in names:
                check(sw.url(n) in summary["body"], "summary does not list %s" % n)
            calls = hook.calls()
            check(len(calls) == 1 and calls[0]["kind"] == "summary" and len(calls[0]["alerts"]) == 20,
                  "webhook calls: %s" % [c.get("kind") for c in calls])
            wait_for(lambda: sum(1 for r in alerts_rows(cw) if r[1] == "down" and r[2] == "sent") == 20 or None,
                     deadline(30), lambda: "20 down alerts recorded as sent: %s" % alerts_rows(cw))
            cw.stop()


@harness.timeout(150)
def test_smtp_outage_alert_arrives_once():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("api", 200)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8)], smtp)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            wait_for(lambda: sw.hits("api") >= 2, deadline(20), "first checks")
            smtp.stop()
            mark = cw.log_mark()
            sw.set("api", 500)
            cw.wait_log(r"mail [0-9a-f]{16} via smtp://127\.0\.0\.1:%d failed \(attempt 2" % smtp.port, timeout=40,
                        since=mark)
            # The log line is the alerter's; the row is the storer's, written when the alert record reaches
            # it (on a busy machine possibly after the line): wait for the row. It cannot turn "sent" before
            # the SMTP server is back, below.
            if cw.db_active:
                wait_for(lambda: any(r[1] == "down" and r[2] == "pending" for r in alerts_rows(cw)), deadline(30),
                         lambda: "the DOWN alert recorded as pending while the server is away: %s" % alerts_rows(cw))
            smtp.start()
            down = smtp.wait_messages(1, "DOWN", timeout=60)[0]
            hold(5)
            check(len(smtp.messages()) == 1, "expected the DOWN mail exactly once, got %s" % smtp.subjects())
            wait_alert_row(cw, message_id_hex(down), "down", "sent")
            cw.stop()


@harness.timeout(150)
def test_alerter_killed_while_down_no_second_down():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("api", 200)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8)], smtp)
        with Clockwerk(cfg, d) as cw:
            kids = start(cw)
            wait_for(lambda: sw.hits("api") >= 2, deadline(20), "first checks")
            sw.set("api", 500)
            smtp.wait_messages(1, "DOWN", timeout=30)
            old = kids[ALERTER]
            os.kill(old, signal.SIGKILL)
            new = cw.wait_new_child(ALERTER, old, timeout=30)
            cw.wait_log(r"state restored from .*1 down", timeout=20)
            hits = sw.hits("api")
            wait_for(lambda: sw.hits("api") >= hits + 5, deadline(30), "five more failed checks")
            # A kill between the SMTP server's acceptance and the alerter's save may send that mail again, as the
            # same message (same Message-ID: docs/alerts.md): what must never happen is a second DOWN alert.
            check(len(distinct_ids(smtp.messages())) == 1, "a second DOWN after the restart: %s" % smtp.subjects())
            check(new != old, "alerter not restarted")
            recover_once(sw, smtp, ["api"], 1)
            cw.stop()


@harness.timeout(120)
def test_starttls_and_auth():
    password = "pw-" + os.urandom(6).hex()
    with tempdir() as d, Switchboard() as sw, SmtpServer(starttls=True, auth=("alerts", password)) as smtp:
        sw.set("api", 200)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8)], smtp, tls="starttls",
                           user="alerts", password=password)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            wait_for(lambda: sw.hits("api") >= 2, deadline(20), "first checks")
            sw.set("api", 500)
            down = smtp.wait_messages(1, "DOWN", timeout=30)[0]
            check(down["tls"], "the mail did not come over TLS")
            check(down["authenticated"], "the mail was not sent after AUTH")
            check(smtp.auth_failures == 0, "AUTH failed %d time(s)" % smtp.auth_failures)
            check_no_password(cw, password)
            cw.stop()
            check_no_password(cw, password)


@harness.timeout(120)
def test_starttls_wrong_password_retried_and_logged():
    with tempdir() as d, Switchboard() as sw, SmtpServer(starttls=True, auth=("alerts", "right")) as smtp:
        sw.set("api", 500)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=1, timeout=0.8)], smtp, tls="starttls",
                           user="alerts", password="wrong-secret-42")
        with Clockwerk(cfg, d) as cw:
            start(cw)
            # the attempt fails with the server's 535, is logged with it, and retried
            cw.wait_log(r"mail [0-9a-f]{16} via smtp://127\.0\.0\.1:%d failed \(attempt 1, retry in 1 s\): .*SMTP 535"
                        % smtp.port, timeout=40)
            cw.wait_log(r"mail [0-9a-f]{16} via .* failed \(attempt 2, retry in 2 s\)", timeout=20)
            check(smtp.messages() == [], "a mail was accepted with a wrong password")
            check_no_password(cw, "wrong-secret-42")
            cw.stop()


@harness.timeout(120)
def test_test_alert_option():
    with tempdir() as d, SmtpServer() as smtp, WebhookReceiver() as hook:
        cfg = alert_config([endpoint("http://127.0.0.1:9/")], smtp, hook, db=False)
        # the alerter's own mode, on the snapshot the supervisor writes into run_dir
        with Clockwerk(cfg, d) as cw:
            start(cw)
            # a generation's file (config.GEN.snap), not the link config.snap to the current one (the snapshot
            # is opened with O_NOFOLLOW)
            snaps = wait_for(lambda: [f for f in os.listdir(cw.run_dir) if f.endswith(".snap") and
                                      not os.path.islink(os.path.join(cw.run_dir, f))] or None,
                             deadline(20), "a snapshot in run_dir")
            snap = os.path.join(cw.run_dir, sorted(snaps)[-1])
            res = harness.run_cli(["--test-alert", snap], timeout=60, program="clockwerk-alerter")
            check(res.code == 0, "clockwerk-alerter --test-alert failed: %r" % res)
            check(re.search(r"test mail .*: OK", res.out) and re.search(r"test webhook call .*: OK", res.out), res.out)
            check(hook.token not in res.text, "the webhook token is shown: %s" % res.text)
            smtp.wait_messages(1, "test alert", timeout=30)
            wait_for(lambda: hook.calls() or None, deadline(30), "the test webhook call")
            check(hook.calls()[0]["kind"] == "test", hook.calls())
            cw.stop()
        # the operator's command (no supervisor running)
        res = harness.run_cli(["-c", cw.conf_path, "--test-alert"], timeout=60, cwd=d)
        check(res.code == 0, "--test-alert failed: %r" % res)
        check(re.search(r"test mail .*: OK", res.out) and re.search(r"test webhook call .*: OK", res.out), res.out)
        smtp.wait_messages(2, "test alert", timeout=30)
        wait_for(lambda: len(hook.calls()) >= 2 or None, deadline(30), "the second test webhook call")
        # and a failing one: the SMTP server gone, the webhook answering 500
        smtp.stop()
        hook.status = 500
        res = harness.run_cli(["-c", cw.conf_path, "--test-alert"], timeout=90, cwd=d)
        check(res.code == 1, "--test-alert should fail: %r" % res)
        check(res.out.count("FAILED") == 2, res.out)
        check(not [f for f in os.listdir("/tmp") if f.startswith("clockwerk-test-alert-") and
                   os.stat(os.path.join("/tmp", f)).st_mtime > time.time() - 60],
              "--test-alert left its temporary snapshot behind")


@harness.timeout(120)
def test_reminders_header_injection_and_tap():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("evil", 500)
        # a name with CR/LF never reaches a mail header: the configuration refuses it (the header sanitising
        # behind that is unit-tested in test_mail.c), and a name that looks like a header stays in the Subject
        bad = alert_config([endpoint(sw.url("evil"), name=harness.Raw('"x\\r\\nBcc: evil@example.test"'))], smtp)
        harness.write_config(os.path.join(d, "bad.conf"), bad)
        res = harness.run_cli(["-t", "-c", os.path.join(d, "bad.conf")], cwd=d)
        check(res.code == 1 and "name: contains a control character" in res.err, "CR/LF in a name: %r" % res)
        name = harness.Raw('"x Bcc: evil@example.test"')
        cfg = alert_config([endpoint(sw.url("evil"), alert_threshold=2, timeout=0.8, name=name)], smtp, renotify=3)
        with Clockwerk(cfg, d) as cw, harness.Tap(cw.conf_path, args=("--json", "--stats")) as tap:
            start(cw)
            down = smtp.wait_messages(1, "DOWN", timeout=30)[0]
            # the name stays inside the Subject: no Bcc header, no extra recipient
            check(down["msg"].get("Bcc") is None, "a Bcc header was injected: %r" % down["raw"][:400])
            check(down["subject"].startswith("[clockwerk] DOWN: x Bcc: evil@example.test (http://"), down["subject"])
            check(sorted(down["to"]) == ["oncall@example.test", "ops@example.test"], "recipients %s" % down["to"])
            check(not re.search(rb"\r\n(Bcc|bcc):", down["raw"]), "a Bcc line in the raw message")
            # renotify = 3 s: reminders while it stays down, each its own message
            reminders = smtp.wait_messages(2, "STILL DOWN", timeout=30)
            ids = {message_id_hex(m) for m in reminders} | {message_id_hex(down)}
            check(len(ids) == len(reminders) + 1, "reminders reuse a Message-ID: %s" % ids)
            check(len(smtp.messages("] DOWN")) == 1, "a second DOWN mail: %s" % smtp.subjects())
            # the tap shows the alerts (masked URL) and the alerter's stats
            import json

            def tap_objects():
                out = []
                for line in tap.snapshot():
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
                return out

            def seen():
                objs = tap_objects()
                alerts = [o for o in objs if o.get("type") == "alert"]
                stats = [o for o in objs if o.get("type") == "stats" and o.get("role") == "alerter"]
                return (alerts, stats) if alerts and stats else None
            alerts, stats = wait_for(seen, deadline(20), lambda: "an alert and alerter stats on the tap; last lines: %s"
                                     % tap.snapshot()[-5:])
            check(any(a.get("kind") == "down" for a in alerts), alerts)
            flat = json.dumps(stats[-1])
            for key in ("results", "malformed", "gaps", "alerts_raised", "mails_sent", "mail_failures",
                        "webhooks_sent", "webhook_failures", "outbox"):
                check(key in flat, "alerter stats without %s: %s" % (key, flat))
            cw.stop()


@harness.timeout(150)
def test_undelivered_alert_survives_kill9():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("api", 200)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8)], smtp)
        with Clockwerk(cfg, d) as cw:
            kids = start(cw)
            wait_for(lambda: sw.hits("api") >= 2, deadline(20), "first checks")
            smtp.stop()
            sw.set("api", 500)
            raised = cw.wait_log(r"alert ([0-9a-f]{16}): \S+ is DOWN", timeout=30)
            alert_id = raised.group(1)
            cw.wait_log(r"mail %s via .* failed \(attempt 1" % alert_id, timeout=30)
            old = kids[ALERTER]
            os.kill(old, signal.SIGKILL)
            cw.wait_new_child(ALERTER, old, timeout=30)
            cw.wait_log(r"state restored from .*1 down.*1 undelivered message", timeout=20)
            smtp.start()
            down = smtp.wait_messages(1, "DOWN", timeout=60)[0]
            check(message_id_hex(down) == alert_id, "resent as another message: %s vs %s" % (
                message_id_hex(down), alert_id))
            hold(4)
            check(len(smtp.messages()) == 1, "expected the DOWN mail exactly once, got %s" % smtp.subjects())
            wait_alert_row(cw, alert_id, "down", "sent")
            cw.stop()


@harness.timeout(150)
def test_reload_in_place_alerter_without_second_down():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("api", 200)
        sw.set("new", 500)
        eps = [endpoint(sw.url("api"), alert_threshold=2, timeout=0.8)]
        cfg = alert_config(eps, smtp)
        with Clockwerk(cfg, d) as cw:
            kids = start(cw)
            wait_for(lambda: sw.hits("api") >= 2, deadline(20), "first checks")
            sw.set("api", 500)
            smtp.wait_messages(1, "DOWN", timeout=30)
            # SIGHUP with one more endpoint (failing too): the alerter reads it in place (same process), the DOWN
            # endpoint stays DOWN without a second mail
            mark = cw.log_mark()
            cw.reload(alert_config(eps + [endpoint(sw.url("new"), alert_threshold=2, timeout=0.8, name="new")], smtp))
            cw.wait_log(r"reload: .*reloading alerter in place", since=mark, timeout=30)
            cw.wait_log(r"alerter\] \d+ info: configuration reloaded: 2 endpoints", since=mark, timeout=30)
            check(cw.child(ALERTER) == kids[ALERTER], "the alerter was restarted")
            new_down = smtp.wait_messages(1, "DOWN: new", timeout=30)
            hold(3)
            downs = smtp.messages("DOWN")
            check(len(downs) == 2, "expected one DOWN per endpoint, got %s" % smtp.subjects())
            check(len(new_down) == 1, smtp.subjects())
            sw.set("api", 200)
            smtp.wait_messages(1, "UP", timeout=30)
            hold(2)
            check(len(smtp.messages("UP")) == 1, smtp.subjects())
            cw.stop()


@harness.timeout(120)
def test_implicit_tls_and_plain_refused():
    with tempdir() as d, Switchboard() as sw, SmtpServer(implicit_tls=True) as smtp:
        sw.set("api", 500)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=1, timeout=0.8)], smtp, tls="tls")
        with Clockwerk(cfg, d) as cw:
            start(cw)
            down = smtp.wait_messages(1, "DOWN", timeout=30)[0]
            check(down["tls"], "not over TLS")
            cw.stop()
    # STARTTLS required but the server offers none: never sent in clear text
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("api", 500)
        cfg = alert_config([endpoint(sw.url("api"), alert_threshold=1, timeout=0.8)], smtp, tls="starttls")
        with Clockwerk(cfg, d) as cw:
            start(cw)
            cw.wait_log(r"mail [0-9a-f]{16} via smtp://127\.0\.0\.1:%d failed \(attempt 1" % smtp.port, timeout=30)
            hold(2)
            check(smtp.messages() == [], "a mail went out without TLS although smtp_tls = starttls")
            cw.stop()


@harness.timeout(90)
def test_malformed_input_counted_alerter_survives():
    import json
    import zmq
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("api", 200)
        cfg = alert_config([endpoint(sw.url("api"), timeout=0.8)], smtp, db=False)
        with Clockwerk(cfg, d) as cw, harness.Tap(cw.conf_path, args=("--json", "--stats")) as tap:
            kids = start(cw)
            ctx = zmq.Context()
            # The alerter's title shows before it binds its socket: wait for the socket, and linger long
            # enough that a busy machine does not drop what is queued when the socket closes.
            sock_path = os.path.join(cw.run_dir, "alert.sock")
            wait_for(lambda: os.path.exists(sock_path), deadline(20), "the alerter's socket %s" % sock_path)
            push = ctx.socket(zmq.DEALER)
            push.setsockopt(zmq.LINGER, 10000)
            try:
                push.connect("ipc://" + sock_path)
                push.send_multipart([b"result", b"\x01\x01\x05\x00garbage"])         # truncated batch
                push.send_multipart([b"bogus", b"x"])                                # unknown topic
                push.send_multipart([b"result"])                                      # no payload frame
                push.send_multipart([b"result", b"\x02\x01\x00\x00"])                 # wrong version
                foreign = {"worker": 99, "boot_id": 7, "checked_at_us": int(time.time() * 1e6), "latency_us": 5,
                           "status_code": 500, "ok": False, "url": "http://127.0.0.1:1/not-configured",
                           "error": "x\r\nBcc: evil@example.test"}
                push.send_multipart([b"result", harness.encode_results([dict(foreign, seq=1)])])
                push.send_multipart([b"result", harness.encode_results([dict(foreign, seq=5)])])   # 3 missing
            finally:
                push.close()
                ctx.term()

            def counters():
                for line in reversed(tap.snapshot()):
                    try:
                        o = json.loads(line)
                    except ValueError:
                        continue
                    if o.get("type") == "stats" and o.get("role") == "alerter":
                        c = o.get("counters", {})
                        if c.get("malformed", 0) >= 4 and c.get("unknown_urls", 0) >= 2 and c.get("missing", 0) >= 3:
                            return c
                return None
            c = wait_for(counters, deadline(20), lambda: "alerter counters malformed>=4 unknown_urls>=2 missing>=3; "
                         "last lines %s" % tap.snapshot()[-3:])
            check(c["malformed"] == 4 and c["gaps"] == 1 and c["missing"] == 3, "counters %s" % c)  # one gap of 3
            check(cw.child(ALERTER) == kids[ALERTER], "the alerter restarted after malformed input")
            check(smtp.messages() == [], "mail about a URL that is not configured: %s" % smtp.subjects())
            cw.stop()


def _alerter_stats(tap):
    """Every stats message of the alerter the tap printed so far, oldest first (counters dicts)."""
    import json
    out = []
    for line in tap.snapshot():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") == "stats" and o.get("role") == "alerter":
            out.append(o.get("counters", {}))
    return out


@harness.timeout(150)
def test_failed_state_save_holds_acks():
    """The alerter acks results only once the state they changed is on disk: while its state file cannot be
    written (here: a directory stands where the file is renamed to) it keeps checking and counting errors
    but acks nothing, and it acks again once the file can be written."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp:
        sw.set("api", 200)
        cfg = alert_config([endpoint(sw.url("api"), timeout=0.8)], smtp, db=False)
        with Clockwerk(cfg, d) as cw, harness.Tap(cw.conf_path, args=("--json", "--stats")) as tap:
            start(cw)
            wait_for(lambda: any(c.get("acked", 0) >= 2 for c in _alerter_stats(tap)), deadline(30),
                     lambda: "the alerter acking results; its stats: %s" % _alerter_stats(tap)[-2:])
            state = os.path.join(cw.run_dir, "alerter.state")
            for path in (state, state + ".journal"):  # the append to the journal and the base's rename now fail
                if os.path.exists(path):
                    os.unlink(path)
                os.mkdir(path)
            try:
                base = _alerter_stats(tap)[-1].get("state_errors", 0)
                first = wait_for(lambda: next((c for c in _alerter_stats(tap) if c.get("state_errors", 0) >= base + 2),
                                              None), deadline(30),
                                 lambda: "failed saves counted; stats: %s" % _alerter_stats(tap)[-2:])
                held = first.get("acked", 0)
                # observe at least three more stats messages with further failed saves: acked must not move
                later = wait_for(lambda: [c for c in _alerter_stats(tap) if c.get("state_errors", 0) >= base + 5],
                                 deadline(30), lambda: "more failed saves; stats: %s" % _alerter_stats(tap)[-2:])
                check(all(c.get("acked", 0) == held for c in later),
                      "results were acked while the state file could not be written: acked went %s -> %s" % (
                          held, [c.get("acked") for c in later]))
                check(later[-1].get("results", 0) > first.get("results", 0), "the alerter stopped taking results")
            finally:
                os.rmdir(state)
                os.rmdir(state + ".journal")
            wait_for(lambda: _alerter_stats(tap)[-1].get("acked", 0) > held, deadline(30),
                     lambda: "acks again once the state file can be written; stats: %s" % _alerter_stats(tap)[-2:])
            check("cannot save the alerter state" in cw.log_text(), "the failed save is not logged")
