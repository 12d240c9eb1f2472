"""tests/e2e/test_maintenance.py — maintenance windows and schema 5 (docs/schema.md, docs/protocol.md 2.5) through
the real storer (and the web), in the three databases.

  test_schema5_sqlite/_postgresql/_mysql  a database of schema 4 with an alert in it (made by this build, then
                                    turned back: the four columns of version 5 and its version row removed) is
                                    migrated by the storer when it starts (the old alert: muted none, no incident,
                                    no deliveries); alert messages of version 2 sent by a Python peer that speaks
                                    the documented protocol store muted, incident_id and deliveries, a newer
                                    deliveries list replaces an older one and a replayed older one does not; a
                                    version 1 alert still stores; checks of an endpoint under a maintenance
                                    window that covers everything are stored with maintenance = 1
  test_window_during_run            a window (config written with times computed at run time) that opens and
                                    closes while the test runs over an endpoint that is down: the checks stored
                                    before it are not marked, those inside are, those after are not; while it is
                                    open the page shows "maintenance" with the window's name and end, /api its
                                    name and end, /metrics clockwerk_endpoint_maintenance 1 (0 before and after)
  test_window_alerts                the alerting side (the alerter's muting, docs/alerts.md): an endpoint that goes
                                    down inside a window raises no webhook; its DOWN is stored muted
                                    (maintenance, every channel muted); still down when the window ends, one DOWN
                                    is sent then, with an id of its own, and stored with its delivery
"""

import datetime
import json
import os
import sqlite3
import time

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, tempdir, wait_for
from test_check_wire import Peer
from test_databases import _db_group, _run_bench, _server_args
from test_web import get, wait_serving, web_config
from webhook_receiver import Switchboard, WebhookReceiver

MUTES = {"none": 0, "maintenance": 1, "silence": 2, "flapping": 3, "dependency": 4, "acknowledged": 5,
         "no_route": 6}
STATES = {"none": 0, "pending": 1, "sent": 2, "failed": 3, "muted": 4}
KINDS = {"down": 1, "up": 2, "slow": 3, "fast": 4, "tls_expiry": 5, "reminder": 6, "flapping": 7, "escalation": 8}


# ------------------------------------------------------------------------- the alert message, from the document

def _str(s):
    b = s.encode("utf-8")
    return len(b).to_bytes(2, "little") + b + b"\0"


def _u64(v):
    return (int(v) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def encode_alert(a):
    """An alert payload (docs/protocol.md 2.5): version 2 unless version 1 says all of it."""
    v2 = bool(a.get("incident_id") or a.get("muted", "none") != "none" or a.get("deliveries") or
              KINDS[a["kind"]] > 6 or STATES[a["email"]] > 3 or STATES[a["webhook"]] > 3)
    out = bytes([2 if v2 else 1, 3]) + (1).to_bytes(2, "little")
    out += _u64(a["alert_id"]) + _u64(a["raised_at_us"])
    out += bytes([KINDS[a["kind"]], STATES[a["email"]], STATES[a["webhook"]], MUTES[a.get("muted", "none")] if v2 else 0])
    out += _str(a["url"]) + _str(a.get("name", "")) + _str(a.get("message", ""))
    if v2:
        out += _u64(a.get("incident_id", 0)) + _str(a.get("deliveries", ""))
    return out


def send_alert(peer, a):
    peer.s.send_multipart([b"alert", encode_alert(a)])


def iso_utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------- schema 5 in the three databases

DROP5 = ["ALTER TABLE checks DROP COLUMN maintenance", "ALTER TABLE alerts DROP COLUMN muted",
         "ALTER TABLE alerts DROP COLUMN incident_id", "ALTER TABLE alerts DROP COLUMN deliveries",
         "DELETE FROM schema_version WHERE version >= 5",
         "INSERT INTO endpoints (url) VALUES ('http://old.example/')"]
OLD_ALERT = ("INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state) "
             "SELECT 77, id, %s, 'down', 'old', 'sent', 'none' FROM endpoints WHERE url = 'http://old.example/'")
AT = {"sqlite": "'2026-01-01T00:00:00.000Z'", "postgresql": "'2026-01-01 00:00:00+00'", "mysql": "'2026-01-01 00:00:00'"}


def _alerts(query):
    rows = query("SELECT alert_id, muted, incident_id, deliveries, email_state, webhook_state FROM alerts")
    return {int(r[0]): (r[1], None if r[2] is None else int(r[2]), r[3], r[4], r[5]) for r in rows}


def _schema5(kind, server=None):
    with tempdir() as d:
        target = closed_port_url("/down")
        if kind == "sqlite":
            path = os.path.join(d, "v4.db")
            r = _run_bench(["--driver", "sqlite", "--db", path, "open"])
            check(r.returncode == 0, "first open: %s %s" % (r.stdout, r.stderr))
            con = sqlite3.connect(path)
            for sql in ["DROP INDEX checks_maintenance"] + DROP5 + [OLD_ALERT % AT[kind]]:
                con.execute(sql)
            con.commit()
            con.close()
            query = harness.Sqlite(path).query
            cfg = base_config([endpoint(target, timeout=1, name="target")], workers=1, db_name=path)
        else:
            r = _run_bench(_server_args(server) + ["open"], server)
            check(r.returncode == 0, "first open: %s %s" % (r.stdout, r.stderr))
            for sql in DROP5 + [OLD_ALERT % AT[kind]]:
                server.query(sql)
            query = server.query
            cfg = base_config([endpoint(target, timeout=1, name="target")], workers=1)
            cfg["database"] = _db_group(server)
        check([str(v[0]) for v in query("SELECT max(version) FROM schema_version")] == ["4"], "not schema 4")
        # a window over everything, open for the whole test
        cfg["maintenance"] = [{"name": "always", "start": iso_utc(time.time() - 3600), "duration": 86400}]
        now_us = int(time.time() * 1e6)
        big = 0x8000000000000042  # an id >= 2^63: stored as its signed bit pattern
        muted = {"alert_id": big, "raised_at_us": now_us, "kind": "down", "email": "muted", "webhook": "muted",
                 "url": target, "name": "target", "message": "target is DOWN", "muted": "maintenance",
                 "incident_id": big, "deliveries": "ops-mail=muted,pd=muted"}
        routed = {"alert_id": 1001, "raised_at_us": now_us, "kind": "down", "email": "pending", "webhook": "pending",
                  "url": target, "name": "target", "message": "target is DOWN", "incident_id": 1001,
                  "deliveries": "ops-mail=pending,pd=pending"}
        plain = {"alert_id": 1002, "raised_at_us": now_us, "kind": "up", "email": "sent", "webhook": "none",
                 "url": target, "name": "target", "message": "target is UP"}
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            with Peer(cw.run_dir, "store.sock") as store:
                for a in (muted, routed, plain):
                    send_alert(store, a)

                def stored():
                    got = _alerts(query)
                    return got if len(got) >= 4 else None
                # the columns are missing until the storer has migrated: a failing query is "not yet"
                got = wait_for(stored, deadline(60), "the three alerts stored after the migration",
                               ignore=(RuntimeError, sqlite3.OperationalError))
                send_alert(store, dict(routed, email="sent", deliveries="ops-mail=sent,pd=pending"))
                time.sleep(0.2)  # the older copy after the newer one, in another batch
                send_alert(store, dict(routed))  # replayed older copy: changes nothing

                def newest():
                    g = _alerts(query)
                    return g if g[1001][2] == "ops-mail=sent,pd=pending" else None
                got = wait_for(newest, deadline(30), "the newer deliveries of alert 1001")

                def marked():
                    rows = query("SELECT CASE WHEN c.maintenance THEN 1 ELSE 0 END FROM checks c JOIN endpoints e "
                                 "ON e.id = c.endpoint_id WHERE e.url = '%s'" % target)
                    return rows if len(rows) >= 2 else None
                rows = wait_for(marked, deadline(30), "two checks of the target stored")
                time.sleep(1.0)
                got = _alerts(query)
            cw.stop()
        check(all(str(r[0]) == "1" for r in rows), "%s: checks not marked in maintenance: %r" % (kind, rows))
        versions = sorted(int(v[0]) for v in query("SELECT version FROM schema_version"))
        check(versions == [1, 2, 3, 4, 5, 6], "%s: schema_version %r" % (kind, versions))
        check(got[77] == ("none", None, "", "sent", "none"), "%s: the old alert %r" % (kind, got[77]))
        signed = big - (1 << 64)
        check(got[signed] == ("maintenance", signed, "ops-mail=muted,pd=muted", "muted", "muted"),
              "%s: the muted alert %r" % (kind, got.get(signed)))
        check(got[1001] == ("none", 1001, "ops-mail=sent,pd=pending", "sent", "pending"),
              "%s: the routed alert %r" % (kind, got[1001]))
        check(got[1002] == ("none", None, "", "sent", "none"), "%s: the version 1 alert %r" % (kind, got[1002]))


@harness.timeout(180)
def test_schema5_sqlite():
    _schema5("sqlite")


@harness.timeout(240)
def test_schema5_postgresql():
    with PostgresServer() as pg:
        _schema5("postgresql", pg)


@harness.timeout(240)
def test_schema5_mysql():
    with MariaDBServer() as my:
        _schema5("mysql", my)


# ------------------------------------------------------------------------- a window during the run

def _api_target(port):
    st, _, body = get(port, "/api/v1/endpoints")
    if st != 200:
        return None
    return {e["name"]: e for e in json.loads(body)["endpoints"]}.get("target")


def _metric(port, name):
    body = get(port, "/metrics")[2].decode()
    line = 'clockwerk_endpoint_maintenance{endpoint="%s"} ' % name
    return next((ln[len(line):] for ln in body.splitlines() if ln.startswith(line)), None)


@harness.timeout(180)
def test_window_during_run():
    with tempdir() as d:
        port = harness.free_port()
        target, other = closed_port_url("/target"), closed_port_url("/other")
        cfg = web_config([endpoint(target, name="target", timeout=1), endpoint(other, name="other", timeout=1)], port)
        start = int(time.time()) + 14  # time to start everything and to see checks before it
        length = 10
        cfg["maintenance"] = [{"name": "deploy", "endpoints": ["target"], "start": iso_utc(start),
                               "duration": length}]
        db = harness.Sqlite(os.path.join(d, "clockwerk.db"))
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            wait_serving(port)
            check(time.time() < start - 2, "too slow to start before the window (%.1f s left)" % (start - time.time()))
            t = _api_target(port)
            check(t and t["maintenance"] is None, "before the window: %r" % t)
            check(_metric(port, "target") == "0", "metric before the window: %r" % _metric(port, "target"))
            wait_for(lambda: time.time() >= start + 1.5, deadline(60), "the window open")
            t = _api_target(port)
            check(t and t["maintenance"] == {"name": "deploy", "until": iso_utc(start + length).replace("Z", ".000Z")},
                  "inside the window, /api: %r" % t)
            html = get(port, "/")[2].decode()
            check("<span class=\"maintenance\">maintenance deploy until " in html, "the page lacks the window")
            page = get(port, "/endpoint/target")[2].decode()
            check("maintenance deploy until " in page, "the endpoint's page lacks the window")
            check(_metric(port, "target") == "1" and _metric(port, "other") == "0",
                  "metrics inside: %r %r" % (_metric(port, "target"), _metric(port, "other")))
            wait_for(lambda: time.time() >= start + length + 3, deadline(60), "the window closed")
            t = _api_target(port)
            check(t and t["maintenance"] is None, "after the window: %r" % t)
            check(_metric(port, "target") == "0", "metric after the window")

            def stored_after():
                rows = db.try_query("SELECT c.checked_at, c.maintenance, e.url FROM checks c JOIN endpoints e "
                                    "ON e.id = c.endpoint_id")
                return rows if rows and any(r[2] == target and harness.parse_iso_ms(r[0]) > start + length + 1
                                            for r in rows) else None
            rows = wait_for(stored_after, deadline(30), "checks of the target after the window stored")
            cw.stop()
        seen = {"before": set(), "inside": set(), "after": set()}
        for at, marked, url in rows:
            s = harness.parse_iso_ms(at)
            if url == other:
                check(marked == 0, "the other endpoint's check at %s is marked" % at)
                continue
            where = "before" if s < start else "inside" if s < start + length else "after"
            seen[where].add(marked)
        check(seen == {"before": {0}, "inside": {1}, "after": {0}}, "checks.maintenance by time: %r" % seen)


@harness.timeout(180)
def test_window_alerts():
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as rx:
        svc = sw.url("svc")
        cfg = base_config([endpoint(svc, name="svc", timeout=1, alert_threshold=2)], workers=1,
                          extra={"alerts": {"webhooks": [{"url": rx.url}]}})
        start = int(time.time()) + 10
        length = 10
        cfg["maintenance"] = [{"name": "deploy", "endpoints": ["svc"], "start": iso_utc(start), "duration": length}]
        db = harness.Sqlite(os.path.join(d, "clockwerk.db"))
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            wait_for(lambda: time.time() >= start + 1, deadline(60), "the window open")
            sw.set("svc", 500)

            def muted_down():  # recorded when raised, then again once decided (the grouping window's end)
                rows = db.try_query("SELECT alert_id, muted, deliveries, email_state, webhook_state FROM alerts "
                                    "WHERE kind = 'down'")
                return rows if rows and rows[0][1] != "none" else None
            rows = wait_for(muted_down, deadline(start + length - time.time()), "a DOWN stored muted inside the window")
            check(time.time() < start + length, "the DOWN came only after the window")
            check(rows[0][1] == "maintenance" and rows[0][4] == "muted" and "=muted" in rows[0][2],
                  "the DOWN inside the window: %r" % rows)
            check(rx.calls() == [], "a webhook inside the window: %r" % rx.calls())
            sent = wait_for(lambda: [c for c in rx.calls() if c.get("kind") == "down"] or None,
                            deadline(start + length + 20 - time.time()), "one DOWN webhook after the window")
            check(min(c["at"] for c in rx.raw_calls()) >= start + length, "a webhook before the window's end")
            time.sleep(2)  # nothing more comes
            downs = [c for c in rx.calls() if c.get("kind") == "down"]
            check(len(downs) == 1, "DOWN webhooks after the window: %r" % downs)

            def stored_sent():
                r = db.try_query("SELECT alert_id, muted, webhook_state FROM alerts WHERE kind = 'down' "
                                 "AND muted = 'none'")
                return r if r and r[0][2] == "sent" else None
            after = wait_for(stored_sent, deadline(30), "the DOWN after the window stored as sent")
            cw.stop()
        check(after[0][0] != rows[0][0], "the DOWN after the window reuses the muted one's id %r" % rows[0][0])
        check("%016x" % (after[0][0] & 0xFFFFFFFFFFFFFFFF) == sent[0]["alert_id"],
              "webhook id %r, stored %r" % (sent[0]["alert_id"], after[0][0]))
