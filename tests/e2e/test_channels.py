"""tests/e2e/test_channels.py — named alert channels end to end (docs/alerts.md "Channels"): a real pipeline with
one channel of every type, each pointing at a local receiver that checks the service's schema
(tests/e2e/channel_receivers.py) or at a real SMTP server (tests/e2e/smtp_server.py).

What is checked: an endpoint going DOWN then UP arrives on every channel in that channel's format, in that
order; PagerDuty gets a trigger then a resolve with the same dedup_key; Opsgenie a create then a close by the
same alias; the webhook channel's headers are sent; no request breaks a service's schema; no secret (token, API
key, routing key, hook path, header value) appears in any log; `--test-alert` names every channel and leaves
the PagerDuty/Opsgenie test incidents resolved/closed; a channel over HTTPS with verify_tls = false.
"""

import os
import re

import harness
from channel_receivers import TOKENS, ChannelReceiver
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for, write_config
from smtp_server import SmtpServer
from webhook_receiver import Switchboard

ALERTER = "clockwerk: alerter"
HTTP_TYPES = ("webhook", "slack", "mattermost", "discord", "teams", "ntfy", "telegram", "pagerduty", "opsgenie",
              "gotify")


def channels(rx, smtp=None, verify_tls=True):
    """One channel of each type, named like its type, pointing at rx (and smtp for the email one)."""
    t = rx.tokens
    out = []
    if smtp is not None:
        out.append({"name": "email-ops", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                    "smtp_tls": "none", "email_from": "Clockwerk <monitor@example.test>",
                    "email_to": ["ops@example.test"]})
    for kind in HTTP_TYPES:
        c = {"name": "ch-" + kind, "type": kind, "url": rx.url(kind)}
        if kind == "webhook":
            c["headers"] = ["X-Hook-Secret: " + t["webhook"] + "-hdr"]
        elif kind in ("ntfy", "gotify"):
            c["token"] = t[kind]
        elif kind == "telegram":
            c["token"] = t[kind]
            c["chat_id"] = "-1001234567"
        elif kind == "pagerduty":
            c["routing_key"] = t[kind]
        elif kind == "opsgenie":
            c["api_key"] = t[kind]
        if not verify_tls:
            c["verify_tls"] = False
        out.append(c)
    return out


def channel_config(eps, chans):
    return base_config(eps, workers=2, extra={"alerts": {"group_threshold": 5, "renotify": 0, "channels": chans}})


def start(cw):
    return cw.wait_ready(titles=cw.expected_titles() + [ALERTER])


def wait_calls(rx, service, n, timeout=40):
    return wait_for(lambda: (len(rx.calls(service)) >= n and rx.calls(service)) or None, deadline(timeout),
                    lambda: "%d %s call(s); have %s; receiver errors %s" % (n, service, rx.calls(service), rx.errors))


def texts(rx, service):
    """The human text of each call, whatever the format."""
    out = []
    for c in rx.calls(service):
        b = c["body"]
        if service == "ntfy":
            out.append(c["headers"].get("Title", "") + "\n" + b)
        elif service == "teams":
            out.append(" ".join(e.get("text", "") for e in b["attachments"][0]["content"]["body"]))
        elif service == "discord":
            out.append(b.get("content", ""))
        elif service in ("slack", "mattermost", "telegram"):
            out.append(b.get("text", ""))
        elif service == "gotify":
            out.append(b.get("title", "") + "\n" + b.get("message", ""))
        elif service == "pagerduty":
            out.append(b["event_action"] + " " + b.get("payload", {}).get("summary", ""))
        elif service == "opsgenie":
            out.append(b.get("message", b.get("note", "")))
        else:
            out.append(b.get("text", ""))
    return out


def check_no_secret(text, where):
    for service, secret in TOKENS.items():
        check(secret not in text, "the %s secret appears in %s" % (service, where))


@harness.timeout(180)
def test_every_channel_down_then_up():
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp, ChannelReceiver() as rx:
        sw.set("api", 200)
        cfg = channel_config([endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name="api")],
                             channels(rx, smtp))
        with Clockwerk(cfg, d) as cw:
            start(cw)
            wait_for(lambda: sw.hits("api") >= 2, deadline(20), "first checks")
            sw.set("api", 500)
            smtp.wait_messages(1, "DOWN", timeout=40)
            for service in HTTP_TYPES:
                wait_calls(rx, service, 1)
            sw.set("api", 200)
            smtp.wait_messages(1, "UP", timeout=40)
            for service in HTTP_TYPES:
                wait_calls(rx, service, 2)
            check(rx.errors == [], "schema errors: %s" % rx.errors)
            for service in HTTP_TYPES:
                got = texts(rx, service)
                check(len(got) == 2, "%s: expected 2 calls, got %s" % (service, got))
                if service == "pagerduty":
                    check(got[0].startswith("trigger") and "DOWN" in got[0] and got[1].startswith("resolve"), got)
                elif service == "opsgenie":
                    check("DOWN" in got[0] and "UP" in got[1], got)
                else:
                    check("DOWN" in got[0] and "UP" in got[1], "%s: %s" % (service, got))
            pd = rx.calls("pagerduty")
            check(pd[0]["body"]["dedup_key"] == pd[1]["body"]["dedup_key"], "pagerduty keys differ: %s" % pd)
            check(rx.incidents("pagerduty") == {pd[0]["body"]["dedup_key"]: "resolved"}, rx.incidents("pagerduty"))
            og = rx.calls("opsgenie")
            alias = og[0]["body"]["alias"]
            check(og[1]["path"] == "/og/v2/alerts/%s/close" % alias, "opsgenie close path %s" % og[1]["path"])
            check(rx.incidents("opsgenie") == {alias: "closed"}, rx.incidents("opsgenie"))
            hook = rx.calls("webhook")
            check([c["body"]["kind"] for c in hook] == ["down", "up"], hook)
            check(hook[0]["headers"].get("X-Hook-Secret") == TOKENS["webhook"] + "-hdr", hook[0]["headers"])
            check(rx.calls("ntfy")[0]["headers"].get("Priority") == "5", "ntfy priority of a critical DOWN")
            check(len(smtp.messages("DOWN")) == 1 and len(smtp.messages("UP")) == 1, smtp.subjects())
            cw.stop()
            check_no_secret(cw.log_text(), "the log")


@harness.timeout(180)
def test_test_alert_every_channel():
    with tempdir() as d, SmtpServer() as smtp, ChannelReceiver(tls_dir=d) as rx:
        cfg = channel_config([endpoint("http://127.0.0.1:9/")], channels(rx, smtp, verify_tls=False))
        cfg["database"]["db_activation"] = False
        conf = os.path.join(d, "clockwerk.conf")
        write_config(conf, cfg)
        res = harness.run_cli(["-c", conf, "--test-alert"], timeout=150, cwd=d)
        check(res.code == 0, "--test-alert failed: %r" % res)
        check(re.search(r"channel email-ops \(email\): test mail to 1 recipient\(s\) via smtp://127\.0\.0\.1:\d+: OK",
                        res.out), res.out)
        for kind in HTTP_TYPES:
            check(re.search(r"channel ch-%s \(%s\): .*: OK" % (kind, kind), res.out), "%s: %s" % (kind, res.out))
        check_no_secret(res.text, "the output of --test-alert")
        check(rx.errors == [], "schema errors: %s" % rx.errors)
        smtp.wait_messages(1, "test alert", timeout=30)
        check([c["body"]["kind"] for c in rx.calls("webhook")] == ["test"], rx.calls("webhook"))
        check(list(rx.incidents("pagerduty").values()) == ["resolved"], rx.incidents("pagerduty"))
        check(list(rx.incidents("opsgenie").values()) == ["closed"], rx.incidents("opsgenie"))


@harness.timeout(120)
def test_test_alert_names_a_failing_channel():
    with tempdir() as d, ChannelReceiver(tokens={"gotify": "another-token"}) as rx:
        chans = [c for c in channels(rx) if c["type"] in ("gotify", "slack")]
        for c in chans:
            if c["type"] == "gotify":
                c["token"] = TOKENS["gotify"]  # not the one the receiver expects: refused
        cfg = channel_config([endpoint("http://127.0.0.1:9/")], chans)
        cfg["database"]["db_activation"] = False
        conf = os.path.join(d, "clockwerk.conf")
        write_config(conf, cfg)
        res = harness.run_cli(["-c", conf, "--test-alert"], timeout=90, cwd=d)
        check(res.code == 1, "--test-alert should fail: %r" % res)
        check(re.search(r"channel ch-gotify \(gotify\): .*FAILED: HTTP 400", res.out), res.out)
        check(re.search(r"channel ch-slack \(slack\): .*: OK", res.out), res.out)
        check_no_secret(res.text, "the output of --test-alert")


@harness.timeout(180)
def test_email_channels_own_servers_and_storm_per_channel():
    """Two email channels, each with its own SMTP server and recipients; six endpoints failing together (over
    group_threshold 5): one summary mail per email channel, one Slack message listing them all, and one
    PagerDuty trigger per alert (no summary there)."""
    with tempdir() as d, Switchboard() as sw, SmtpServer() as smtp_a, SmtpServer() as smtp_b, \
            ChannelReceiver() as rx:
        names = ["e%d" % i for i in range(6)]
        for n in names:
            sw.set(n, 200)
        chans = [c for c in channels(rx, smtp_a) if c["type"] in ("email", "slack", "pagerduty")]
        chans.append({"name": "email-b", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_b.port,
                      "smtp_tls": "none", "email_from": "b@example.test", "email_to": ["team-b@example.test"]})
        eps = [endpoint(sw.url(n), alert_threshold=2, timeout=0.8, name=n) for n in names]
        with Clockwerk(channel_config(eps, chans), d) as cw:
            start(cw)
            wait_for(lambda: all(sw.hits(n) >= 2 for n in names), deadline(20), "first checks")
            for n in names:
                sw.set(n, 500)
            a = smtp_a.wait_messages(1, "DOWN", timeout=40)
            b = smtp_b.wait_messages(1, "DOWN", timeout=40)
            check(a[0]["to"] == ["ops@example.test"] and a[0]["from"] == "monitor@example.test", a[0]["to"])
            check(b[0]["to"] == ["team-b@example.test"] and b[0]["from"] == "b@example.test", b[0]["to"])
            check("6 endpoints" in a[0]["subject"], "not a summary: %s" % a[0]["subject"])
            slack = wait_calls(rx, "slack", 1)
            pd = wait_calls(rx, "pagerduty", 6)
            check(len(slack) == 1 and "6 endpoints" in slack[0]["body"]["text"], slack)
            for n in names:
                check(n in slack[0]["body"]["attachments"][0]["text"], "%s not listed: %s" % (n, slack))
            keys = {c["body"]["dedup_key"] for c in pd}
            check(len(pd) == 6 and len(keys) == 6 and all(c["body"]["event_action"] == "trigger" for c in pd),
                  "pagerduty: %s" % [c["body"] for c in pd])
            check(len(smtp_a.messages()) == 1 and len(smtp_b.messages()) == 1,
                  "%s / %s" % (smtp_a.subjects(), smtp_b.subjects()))
            check(rx.errors == [], "schema errors: %s" % rx.errors)
            cw.stop()
