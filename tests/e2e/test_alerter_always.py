"""tests/e2e/test_alerter_always.py — the alerter runs without any alert channel (docs/alerts.md "Without a
channel"): with a configuration like the sample one (SQLite, no email.smtp_host, no alerts.webhooks) the alerter
still runs the state machine, so `clockwerk status` tells the states (exit 0 all up; a failing endpoint DOWN,
exit 1), the alerts table gets the down and up rows (email_state and webhook_state 'none': nothing was due on any
channel) and `clockwerk report` shows the downtime; nothing is sent anywhere (no mail, no webhook call counted).
"""

import json
import sqlite3

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from webhook_receiver import Switchboard

ALERTER = "clockwerk: alerter"


def cli(cw, *args):
    return harness.run_cli(list(args[:1]) + ["-c", cw.conf_path] + list(args[1:]), timeout=30)


def wait_cli(cw, args, predicate, what, timeout=60):
    last = []

    def ok():
        r = cli(cw, *args)
        last[:] = [r]
        return r if predicate(r) else None
    return wait_for(ok, deadline(timeout), lambda: "%s; last: %r" % (what, last[0] if last else None), interval=0.5)


def alert_rows(db):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    except sqlite3.Error:
        return []
    try:
        return con.execute("SELECT kind, email_state, webhook_state, message FROM alerts ORDER BY id").fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


@harness.timeout(240)
def test_alerter_runs_without_a_channel():
    with tempdir() as d, Switchboard() as sw:
        sw.set("home")
        sw.set("api")
        cfg = base_config([endpoint(sw.url("home"), name="home", timeout=1),
                           endpoint(sw.url("api"), name="api", timeout=1, alert_threshold=2)])
        check("email" not in cfg and "alerts" not in cfg, "the configuration must have no channel: %r" % cfg)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
            res = wait_cli(cw, ["status"], lambda r: r.code == 0, "status exit 0 with every endpoint up")
            check(res.out.strip() == "all 2 endpoints up", "all up: %r" % res.out)

            sw.set("api", 500)
            res = wait_cli(cw, ["status"], lambda r: r.code == 1 and "DOWN" in r.out, "api DOWN in status")
            check(any(ln.startswith("DOWN") and "api" in ln for ln in res.out.splitlines()), res.out)
            db = cw.db_path
            wait_for(lambda: any(r[0] == "down" for r in alert_rows(db)), deadline(60), "a down alert stored")

            sw.set("api", 200)
            wait_cli(cw, ["status"], lambda r: r.code == 0, "status exit 0 after the recovery")
            wait_for(lambda: any(r[0] == "up" for r in alert_rows(db)), deadline(60), "an up alert stored")
            rows = alert_rows(db)
            check(all(r[1] == "none" and r[2] == "none" for r in rows),
                  "no channel, so every delivery state is 'none': %r" % rows)
            check([r[0] for r in rows] == ["down", "up"], "one incident: %r" % rows)

            res = cli(cw, "report", "--since", "1h", "--json")
            check(res.code == 0, "report: %r" % res)
            by = {e["name"]: e for e in json.loads(res.out)["endpoints"]}
            check(by["api"]["incidents"] == 1 and by["api"]["downtime_s"] > 0, "api in the report: %r" % by["api"])
            check(by["home"]["incidents"] == 0 and by["home"]["downtime_s"] == 0, "home: %r" % by["home"])
            cw.stop()
        log = cw.log_text()
        counters = harness.final_counters(log)
        alerter = counters.get("alerter", {})
        check(alerter, "no final counters of the alerter in the log")
        for key in ("mails_sent", "webhooks_sent", "mail_failures", "webhook_failures"):
            check(alerter.get(key, 0) == 0, "nothing may be sent without a channel: %s = %r" % (key, alerter))
        check("running without the alerter" not in log, "a warning about a missing alerter: %s" % harness.tail(log))
