"""tests/e2e/test_check_wire.py — results of every check type (result version 2: the kind and the figures,
docs/protocol.md 2.3) through the real storer, alerter, tap and web, sent by a Python peer that speaks the
documented protocol (its own encoder below, written from the document), with its own boot id.

  test_sqlite_v2_pipeline           one run with SQLite, the web and a webhook: a v2 batch of tcp, tls, dns, icmp
                                    and push results (and an http one with figures) to the storer — the
                                    endpoints' `type` from the kinds and `checks.details` as sent (json_extract
                                    reads it); the same published on the bus — clockwerk-tap's line (plain and
                                    --json); an http endpoint's figures in the API's live `details` and its stored
                                    check's `details`; a tls result to the alerter — its certificate's expiry
                                    raises the expiry alert (tap and database)
  test_configured_types             endpoints configured as tcp, tls, dns, icmp and push: the storer records their
                                    types at endpoint sync; results of theirs on the bus give the API's `type`,
                                    the page's type and headline figure, /metrics' type label, DNS answers and
                                    ICMP loss
  test_migration_sqlite/_postgresql/_mysql  a database of schema 3 with a check in it (made by this build, then
                                    turned back: endpoints.type, checks.details and version 4 removed) is migrated
                                    by the storer when it starts: the old endpoint is an http one, the old check
                                    has no details, and v2 results store their type and details (read back with
                                    the database's own JSON functions)
"""

import json
import os
import sqlite3
import time

import zmq

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, free_port, tempdir, wait_for
from test_databases import _db_group, _run_bench, _server_args
from test_web import WEB, get, wait_serving, web_config
from webhook_receiver import WebhookReceiver

BOOT = 0x7E57C0DE0000002A  # our fake worker's boot id
WORKER = 9
KINDS = {"http": 0, "tcp": 1, "tls": 2, "dns": 3, "icmp": 4, "push": 5}
DAY_US = 86400 * 1000000


# ------------------------------------------------------------------------- the protocol, from the document

def _u16(v):
    return int(v).to_bytes(2, "little")


def _i64(v):
    return (int(v) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def _str(s):
    b = s.encode("utf-8")
    return _u16(len(b)) + b + b"\0"


def encode(results):
    """A result payload (docs/protocol.md 2.3): version 2 when a record has a kind other than http or figures."""
    v2 = any(r.get("kind", "http") != "http" or r.get("figures") for r in results)
    out = bytes([2 if v2 else 1, 1]) + _u16(len(results))
    for r in results:
        flags = (1 if r.get("ok") else 0) | (2 if r.get("tls_expires_at_us") else 0) | (4 if r.get("figures") else 0)
        out += int(r.get("worker", WORKER)).to_bytes(4, "little") + _i64(r.get("boot_id", BOOT)) + _i64(r["seq"])
        for k in ("checked_at_us", "lateness_us", "latency_us", "dns_us", "connect_us", "tls_us", "ttfb_us"):
            out += _i64(r.get(k, 0 if k in ("checked_at_us", "lateness_us") else -1))
        out += _u16(r.get("status_code", 0)) + bytes([flags, KINDS[r.get("kind", "http")]])
        out += _str(r["url"]) + _str("" if r.get("ok") else r.get("error", ""))
        if r.get("tls_expires_at_us"):
            out += _i64(r["tls_expires_at_us"])
        if r.get("figures"):
            out += _str(r["figures"])
    return out


FIGURES = {
    "tcp": '{"reply":"220 mail.example.test ESMTP"}',
    "tls": '{"version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384","verify":"ok"}',
    "dns": '{"rcode":"NOERROR","answers":["10 mx1.example.test.","20 mx2.example.test."],"server":"127.0.0.1:53"}',
    "icmp": '{"sent":3,"received":2,"loss_pct":33.3,"rtt_avg_ms":0.052,"method":"dgram"}',
    "push": '{"status":"up","msg":"backup done \U0001F4BE caf\u00e9","gap_s":3600.5}',  # 4-byte UTF-8 too
}
URLS = {
    "tcp": "tcp://127.0.0.1:25",
    "tls": "tls://127.0.0.1:465",
    "dns": "dns://127.0.0.1:53/example.test?type=MX",
    "icmp": "icmp://192.0.2.1",
    "push": "push://nightly-backup",
}


def kinds_batch(first_seq, now_us):
    """One result of each type beyond http, in URLS' order (the icmp one lost a probe, still ok)."""
    out = []
    for i, kind in enumerate(URLS):
        r = {"seq": first_seq + i, "checked_at_us": now_us + i, "latency_us": 1500 + i, "ok": True, "kind": kind,
             "url": URLS[kind], "figures": FIGURES[kind]}
        if kind == "tls":
            r["tls_expires_at_us"] = now_us + 90 * DAY_US
            r["tls_us"] = 900
        if kind == "tcp":
            r["connect_us"] = 1500
        out.append(r)
    return out


class Peer:
    """A DEALER to a reliable address (the storer's, the alerter's: acks are ignored) or a PUB to the relay."""

    def __init__(self, run_dir, sock, kind=zmq.DEALER):
        self.ctx = zmq.Context()
        self.s = self.ctx.socket(kind)
        self.s.setsockopt(zmq.LINGER, 5000)
        path = os.path.join(run_dir, sock)
        wait_for(lambda: os.path.exists(path), deadline(20), "the socket %s" % path)
        self.s.connect("ipc://" + path)

    def send(self, results):
        self.s.send_multipart([b"result", encode(results)])

    def close(self):
        self.s.close()
        self.ctx.term()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def tap_lines(tap, pred):
    return [line for line in tap.snapshot() if pred(line)]


def json_lines(tap, typ):
    out = []
    for line in tap.snapshot():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") == typ:
            out.append(o)
    return out


# ------------------------------------------------------------------------- 1. SQLite, tap, web, alerter

def _stored(db_path):
    """{url: (type, details)} of our checks, or None while the database is not readable."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=1)
        try:
            rows = con.execute("SELECT e.url, e.type, c.details, json_extract(c.details, '$.rcode') FROM checks c "
                               "JOIN endpoints e ON e.id = c.endpoint_id WHERE c.boot_id = ?",
                               (BOOT - (1 << 64) if BOOT >= 1 << 63 else BOOT,)).fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:
        return None
    return {r[0]: r[1:] for r in rows}


@harness.timeout(180)
def test_sqlite_v2_pipeline():
    port = free_port()
    with tempdir() as d, WebhookReceiver() as hook:
        plain = closed_port_url("/plain")
        cfg = web_config([endpoint(plain, name="Plain", timeout=1)], port)
        cfg["alerts"] = {"webhooks": [{"url": hook.url}], "group_threshold": 5}
        with Clockwerk(cfg, d) as cw, harness.Tap(cw.conf_path, args=("--json",)) as tap, \
                harness.Tap(cw.conf_path, args=()) as plain_tap:
            cw.wait_ready(titles=cw.expected_titles() + [WEB, "clockwerk: alerter"])
            wait_serving(port)
            now_us = int(time.time() * 1e6)
            batch = kinds_batch(1, now_us)
            # the http endpoint's check with figures, stored as the newest of its checks
            http_fig = '{"http_version":"1.1","note":"caf\u00e9"}'
            batch.append({"seq": 6, "checked_at_us": now_us + 60 * 1000000, "latency_us": 2500, "ok": False,
                          "status_code": 503, "error": "HTTP status 503", "url": plain, "figures": http_fig})

            # ---- the storer: types and details
            with Peer(cw.run_dir, "store.sock") as store:
                store.send(batch)

                def all_stored():
                    got = _stored(cw.db_path)
                    return got if got and len(got) == 6 else None
                got = wait_for(all_stored, deadline(30), lambda: "6 results stored (have %r)" % _stored(cw.db_path))
            for kind, url in URLS.items():
                check(got[url][0] == kind, "%s: endpoints.type %r" % (url, got[url][0]))
                check(got[url][1] == FIGURES[kind], "%s: details %r, sent %r" % (url, got[url][1], FIGURES[kind]))
            check(got[URLS["dns"]][2] == "NOERROR", "json_extract of the dns details: %r" % (got[URLS["dns"]][2],))
            check(got[plain][0] == "http" and got[plain][1] == http_fig, "the http row: %r" % (got[plain],))

            # ---- the bus: clockwerk-tap (plain and --json) and the web's live model; published until seen
            # (a PUB drops what no subscriber asked for yet)
            with Peer(cw.run_dir, "publish.sock", zmq.PUB) as pub:
                def seen():
                    pub.send(kinds_batch(100, int(time.time() * 1e6)))
                    pub.send([{"seq": 200, "checked_at_us": int(time.time() * 1e6), "latency_us": 800, "ok": True,
                               "status_code": 200, "url": plain, "figures": http_fig}])
                    dns = [o for o in json_lines(tap, "result") if o["url"] == URLS["dns"]]
                    line = tap_lines(plain_tap, lambda s: " dns://127.0.0.1:53/example.test?***" in s or
                                     URLS["dns"] in s)
                    st, _, body = get(port, "/api/v1/endpoints")
                    live = json.loads(body)["endpoints"][0]["last_check"] if st == 200 else None
                    ok = dns and line and live and live.get("details")
                    return (dns[-1], line[-1], live) if ok else None
                dns, line, live = wait_for(seen, deadline(30), "the dns result in the tap and the figures in the web",
                                           interval=0.3)
            check(dns["check_type"] == "dns" and dns["details"] == json.loads(FIGURES["dns"]),
                  "tap --json: %r" % dns)
            want = "1.5ms dns %s OK" % FIGURES["dns"]
            check(want in line, "tap line %r lacks %r" % (line, want))
            check(live["details"] == json.loads(http_fig), "the API's live details: %r" % live)

            # ---- the API: type, and the stored check's details (the newest stored check is ours)
            st, _, body = get(port, "/api/v1/endpoints")
            ep = json.loads(body)["endpoints"][0]
            check(ep["type"] == "http", "the endpoint's type: %r" % ep)

            def stored_details():
                st2, _, b2 = get(port, "/api/v1/endpoints/%s" % ep["id"])
                if st2 != 200:
                    return None
                checks = json.loads(b2).get("last_checks") or []
                return checks[0] if checks and checks[0].get("details") else None
            first = wait_for(stored_details, deadline(30), "the stored check's details in /api/v1/endpoints/{id}")
            check(first["details"] == json.loads(http_fig) and first["status_code"] == 503, "stored: %r" % first)

            # ---- the alerter: a tls check of the configured endpoint whose certificate expires in 3 days
            with Peer(cw.run_dir, "alert.sock") as alert:
                alert.send([{"seq": 300, "checked_at_us": int(time.time() * 1e6), "latency_us": 1200, "tls_us": 900,
                             "ok": True, "kind": "tls", "url": plain, "figures": FIGURES["tls"],
                             "tls_expires_at_us": int(time.time() * 1e6) + 3 * DAY_US + 3600 * 1000000}])

                def expiry_alert():
                    a = [o for o in json_lines(tap, "alert") if o["kind"] == "tls_expiry"]
                    return a[-1] if a else None
                a = wait_for(expiry_alert, deadline(30), "a tls_expiry alert on the tap")
            check("has a TLS certificate that expires at" in a["message"] and "(in 3d" in a["message"],
                  "alert message %r" % a["message"])
            def expiry_stored():
                rows = cw.db().try_query("SELECT count(*) FROM alerts WHERE kind = 'tls_expiry'")
                return rows and int(rows[0][0]) > 0
            wait_for(expiry_stored, deadline(30), "the tls_expiry alert stored")


# ------------------------------------------------------------------------- 2. configured types on the web

TOKEN = "e2e-check-wire-token-0123456789"


@harness.timeout(180)
def test_configured_types():
    port = free_port()
    with tempdir() as d:
        eps = [endpoint(closed_port_url("/plain"), name="Plain", timeout=1),
               {"type": "tcp", "name": "SMTP", "host": "127.0.0.1", "port": 25, "timeout": 1},
               {"type": "tls", "name": "SMTPS", "host": "127.0.0.1", "port": 465, "timeout": 1},
               {"type": "dns", "name": "MX", "host": "example.test", "record_type": "MX",
                "dns_server": "127.0.0.1:53", "timeout": 1},
               {"type": "icmp", "name": "Ping", "host": "192.0.2.1", "timeout": 2},
               {"type": "push", "name": "nightly-backup", "token": TOKEN}]
        cfg = web_config(eps, port, check_interval=3600)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)

            def synced():
                rows = cw.db().try_query("SELECT type, url FROM endpoints")
                return {r[0]: r[1] for r in rows} if rows and len(rows) >= 6 else None
            urls = wait_for(synced, deadline(30), "the six endpoints synced with their types")
            check(sorted(urls) == sorted(["http"] + list(URLS)), "endpoints.type at sync: %r" % urls)
            # the worker of this build does not run these types yet: ours are the newest checks (an hour ahead)
            future = int(time.time() * 1e6) + 3600 * 1000000
            batch = kinds_batch(1, future)
            for r in batch:
                r["url"] = urls[r["kind"]]
            with Peer(cw.run_dir, "publish.sock", zmq.PUB) as pub:
                def shown():
                    pub.send(batch)
                    st, _, body = get(port, "/api/v1/endpoints")
                    got = {e["name"]: e for e in json.loads(body)["endpoints"]} if st == 200 else {}
                    return got if all((got.get(n) or {}).get("last_check") and got[n]["last_check"]["details"]
                                       for n in ("SMTP", "SMTPS", "MX", "Ping", "nightly-backup")) else None
                got = wait_for(shown, deadline(30), "the figures of the five types in the API", interval=0.3)
            want = {"Plain": "http", "SMTP": "tcp", "SMTPS": "tls", "MX": "dns", "Ping": "icmp", "nightly-backup": "push"}
            for name, typ in want.items():
                check(got[name]["type"] == typ, "%s: type %r" % (name, got[name]["type"]))
            check(got["MX"]["last_check"]["details"]["rcode"] == "NOERROR", "MX details %r" % got["MX"])
            html = get(port, "/")[2].decode()
            for frag in ("<span class=\"kind\">dns \u00b7 NOERROR, 2 answers</span>",
                         "<span class=\"kind\">tcp \u00b7 connect 1.5 ms</span>",
                         "<span class=\"kind\">icmp \u00b7 33.3% loss, avg 0.052 ms</span>",
                         "<span class=\"kind\">tls \u00b7 TLSv1.3, 90 days left</span>"):
                check(frag in html, "the page lacks %r" % frag)
            metrics = get(port, "/metrics")[2].decode()
            for frag in (',type="dns"} 1\n', ',type="push"} 1\n', 'clockwerk_dns_answers{endpoint="mx"} 2\n',
                         'clockwerk_icmp_loss_ratio{endpoint="ping"} 0.333\n'):
                check(frag in metrics, "/metrics lacks %r" % frag)
            check(TOKEN not in html + metrics + json.dumps(got), "the push token was shown")


# ------------------------------------------------------------------------- 3. migration from schema 3

def _downgrade_sql():
    return ["ALTER TABLE checks DROP COLUMN details", "ALTER TABLE endpoints DROP COLUMN type",
            "DELETE FROM schema_version WHERE version >= 4",
            "INSERT INTO endpoints (url) VALUES ('http://old.example/')"]


def _old_check_sql(kind):
    at, ok = {"sqlite": ("'2026-01-01T00:00:00.000Z'", "1"), "postgresql": ("'2026-01-01 00:00:00+00'", "true"),
              "mysql": ("'2026-01-01 00:00:00'", "1")}[kind]
    return ("INSERT INTO checks (endpoint_id, checked_at, status_code, ok, worker, boot_id, seq) SELECT id, %s, 200, "
            "%s, 0, 1, 1 FROM endpoints WHERE url = 'http://old.example/'" % (at, ok))


def _migration(kind, server=None):
    with tempdir() as d:
        if kind == "sqlite":
            path = os.path.join(d, "v3.db")
            r = _run_bench(["--driver", "sqlite", "--db", path, "open"])
            check(r.returncode == 0, "first open: %s %s" % (r.stdout, r.stderr))
            con = sqlite3.connect(path)
            for sql in _downgrade_sql() + [_old_check_sql(kind)]:
                con.execute(sql)
            con.commit()
            con.close()
            query = harness.Sqlite(path).query
            cfg = base_config([endpoint(closed_port_url("/x"), timeout=1)], workers=1, db_name=path)
        else:
            r = _run_bench(_server_args(server) + ["open"], server)
            check(r.returncode == 0, "first open: %s %s" % (r.stdout, r.stderr))
            for sql in _downgrade_sql() + [_old_check_sql(kind)]:
                server.query(sql)
            query = server.query
            cfg = base_config([endpoint(closed_port_url("/x"), timeout=1)], workers=1)
            cfg["database"] = _db_group(server)
        check([str(v[0]) for v in query("SELECT max(version) FROM schema_version")] == ["3"], "not schema 3")
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            with Peer(cw.run_dir, "store.sock") as store:
                store.send(kinds_batch(1, int(time.time() * 1e6)))

                def stored():
                    rows = query("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                                 "WHERE e.type <> 'http'")
                    return rows and int(rows[0][0]) >= 5
                # until the storer has migrated (it may still be at it when the processes are up), the column
                # is missing and the query fails: not yet
                wait_for(stored, deadline(60), "the five v2 results stored after the migration",
                         ignore=(RuntimeError, sqlite3.OperationalError))
            cw.stop()
        versions = sorted(int(v[0]) for v in query("SELECT version FROM schema_version"))
        check(versions == [1, 2, 3, 4, 5, 6], "%s: schema_version %r" % (kind, versions))
        old = query("SELECT e.type, c.details FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                    "WHERE e.url = 'http://old.example/'")
        check([tuple(r) for r in old] == [("http", None)], "%s: the old row %r" % (kind, old))
        rcode = {"sqlite": "json_extract(c.details, '$.rcode')", "postgresql": "c.details::jsonb->>'rcode'",
                 "mysql": "JSON_VALUE(c.details, '$.rcode')"}[kind]
        rows = query("SELECT e.url, e.type, c.details, %s FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                     "WHERE e.url <> 'http://old.example/' AND c.details IS NOT NULL" % rcode)
        got = {r[0]: tuple(r[1:]) for r in rows}
        for k, url in URLS.items():
            check(url in got, "%s: no row of %s: %r" % (kind, url, got))
            check(got[url][0] == k and json.loads(got[url][1]) == json.loads(FIGURES[k]),
                  "%s: %s stored as %r" % (kind, url, got[url]))
        check(got[URLS["dns"]][2] == "NOERROR", "%s: the rcode read back %r" % (kind, got[URLS["dns"]]))


@harness.timeout(180)
def test_migration_sqlite():
    _migration("sqlite")


@harness.timeout(240)
def test_migration_postgresql():
    with PostgresServer() as pg:
        _migration("postgresql", pg)


@harness.timeout(240)
def test_migration_mysql():
    with MariaDBServer() as my:
        _migration("mysql", my)
