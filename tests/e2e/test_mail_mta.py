"""tests/e2e/test_mail_mta.py — alert mails through a real MTA (issue 15, docs/alerts.md "The mail"): Debian's
exim4 on 127.0.0.1 (tests/e2e/mta.py) delivering to a local Maildir, read back with Python's email package as a
mail reader would.

A real supervisor, workers and alerter (bin/clockwerk) check an endpoint with a UTF-8 name on a local
Switchboard: its DOWN, a reminder and its UP arrive as one thread (the follow-ups' In-Reply-To and References
name the DOWN's Message-ID, <ALERTID@HOST>), the subject decodes to the name, the body says where it was
monitored from; a recipient exim refuses (550) and one it defers (451) are named in the alerter's log as a
permanent and a temporary failure.
"""

import email.utils
import re
import socket

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from mta import Exim
from webhook_receiver import Switchboard

ALERTER = "clockwerk: alerter"
NAME = "Z\u00fcrich \u6771\u4eac API"  # Zürich 東京 API
DISPLAY = "Clockwerk \u00dcberwachung"  # Clockwerk Überwachung


def mail_config(endpoints, mta, to, email_from="monitor@example.test", renotify=0, time_zone=None):
    email_group = {"smtp_host": "127.0.0.1", "smtp_port": mta.port, "email_from": email_from, "email_to": to,
                   "smtp_tls": "none"}
    alerts = {"group_threshold": 5, "renotify": renotify}
    if time_zone:
        alerts["time_zone"] = time_zone
    return base_config(endpoints, workers=2, db=False, extra={"email": email_group, "alerts": alerts})


def message_host():
    """This machine's name as the alerter puts it in a Message-ID (alerter/mail_text.c mail_clean_host)."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())
    host = re.sub(r"\.\.+", ".", host).strip(".")
    return host or "clockwerk"


def raw_header_block(msg):
    """The header block as delivered (bytes as exim stored them), to check nothing but ASCII went out."""
    return msg.as_bytes(policy=msg.policy.clone(cte_type="8bit")).split(b"\n\n", 1)[0]


def body_text(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


@harness.timeout(180)
def test_mta_down_reminder_up_one_thread():
    """DOWN, STILL DOWN and UP through exim: one thread, the UTF-8 name decoded in every subject, the host in
    each Message-ID and body, the UTF-8 display name of email_from, times also in alerts.time_zone."""
    with tempdir() as d, Switchboard() as sw, Exim() as mta:
        sw.set("api", 500)
        ep = endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name=NAME)
        cfg = mail_config([ep], mta, ["ops@example.test"], renotify=3, time_zone="Europe/Berlin",
                          email_from="%s <monitor@example.test>" % DISPLAY)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
            down = mta.wait_messages(1, "DOWN:", timeout=30)[0]
            mta.wait_messages(1, "STILL DOWN", timeout=30)
            sw.set("api", 200)
            up = mta.wait_messages(1, "] UP:", timeout=30)[0]
            reminder = [m for m in mta.messages() if "STILL DOWN" in str(m["Subject"])][0]
            cw.stop()
        host = message_host()
        down_id = str(down["Message-ID"]).strip()
        check(re.fullmatch(r"<[0-9a-f]{16}@%s>" % re.escape(host), down_id), "DOWN Message-ID %r" % down_id)
        check(down["In-Reply-To"] is None and down["References"] is None, "the DOWN starts the thread")
        for m in (reminder, up):
            check(str(m["In-Reply-To"]).strip() == down_id, "In-Reply-To %r, DOWN %r" % (m["In-Reply-To"], down_id))
            check(down_id in str(m["References"]).split(), "References %r, DOWN %r" % (m["References"], down_id))
            check(str(m["Message-ID"]).strip() != down_id, "a follow-up reuses the DOWN's Message-ID")
            check(str(m["Message-ID"]).endswith("@%s>" % host), "Message-ID %r" % m["Message-ID"])
        masked = sw.url("api")
        for word, m in (("DOWN", down), ("STILL DOWN", reminder), ("UP", up)):
            want = "[clockwerk] %s: %s (%s)" % (word, NAME, masked)
            check(str(m["Subject"]) == want, "Subject %r, want %r" % (str(m["Subject"]), want))
            raw = raw_header_block(m)
            check(all(b < 0x80 for b in raw), "a raw 8-bit byte in the header block: %r" % raw)
            check(b"=?UTF-8?" in raw and b"??" not in raw, "the name as encoded-words: %r" % raw)
            check("Monitored from: %s" % socket.gethostname() in body_text(m), body_text(m))
            check(NAME in body_text(m), "the name in the body (UTF-8): %r" % body_text(m))
            check(email.utils.parsedate_to_datetime(str(m["Date"])) is not None, "Date %r" % m["Date"])
            check("ops@example.test" in str(m["Envelope-to"]), "Envelope-to %r" % m["Envelope-to"])
            sender = m["From"].addresses
            check(len(sender) == 1 and sender[0].display_name == DISPLAY and sender[0].addr_spec ==
                  "monitor@example.test", "From %r -> %r" % (str(m["From"]), sender))
            check(str(m["Return-Path"]).strip() == "<monitor@example.test>", "envelope sender %r" % m["Return-Path"])
            in_zone = r"State: +\S.* since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d CES?T\)"
            check(re.search(in_zone, body_text(m)), "times in UTC and Europe/Berlin: %r" % body_text(m))


@harness.timeout(180)
def test_mta_refusals_named_permanent_or_temporary():
    """exim refuses one recipient for good (550) and defers another (451): the others get the mail, and the
    alerter's log names each refused recipient with whether it is a permanent or a temporary failure."""
    refuse = {"bad@example.test": "5.1.1 <bad@example.test>: no such user"}
    defer = {"busy@example.test": "4.2.1 <busy@example.test>: mailbox busy, try later"}
    with tempdir() as d, Switchboard() as sw, Exim(refuse=refuse, defer=defer) as mta:
        sw.set("api", 500)
        ep = endpoint(sw.url("api"), alert_threshold=2, timeout=0.8, name="api")
        cfg = mail_config([ep], mta, ["ops@example.test", "bad@example.test", "busy@example.test"])
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
            down = mta.wait_messages(1, "DOWN", timeout=30)[0]
            check(str(down["Envelope-to"]).strip() == "ops@example.test", "Envelope-to %r" % down["Envelope-to"])
            wait_for(lambda: re.search(r"recipient <bad@example\.test>: permanent failure \(550 ", cw.log_text()),
                     deadline(20), lambda: "a permanent failure naming bad@: %s" % harness.tail(cw.log_text()))
            wait_for(lambda: re.search(r"recipient <busy@example\.test>: temporary failure \(451 ", cw.log_text()),
                     deadline(20), lambda: "a temporary failure naming busy@: %s" % harness.tail(cw.log_text()))
            check(re.search(r"rejected RCPT <bad@example\.test>", mta.log_text()), "exim's log: %s"
                  % mta.log_text()[-2000:])
            cw.stop()
