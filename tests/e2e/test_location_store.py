"""tests/e2e/test_location_store.py — locations in the storer and the report (issue 16, docs/schema.md "Locations",
docs/report.md "Locations") against real SQLite, PostgreSQL and MariaDB.

  test_location_store_sqlite / _postgresql / _mysql
        a history written by the real pipeline, then the database taken back to the shape of schema 5 (no
        checks.location, roll-ups keyed by endpoint and period, no version row 6); the next start migrates it in
        place: every raw row and every cell is kept (location ''), new rows carry the storer's own location
        ("local": supervisor.location's default); a result of wire version 3 is stored with its location and one of
        version 1 (no location) with the storer's own; rows of other locations (inserted as a probe host's results
        would be) get cells of their own per location; rows of an hour already folded that arrive late are folded
        into that hour's cell again; `clockwerk report` sums the locations by default (JSON location null),
        gives one location with --location NAME and a row per endpoint and location with --by-location, whose
        checks equal the raw rows of each location; an unknown --location is refused
  test_location_key_check
        a central host with CURVE on tcp:// and a `locations` entry fra: a client with fra's key sending results of
        fra has them stored (and acked); the same client sending results that claim nyc, or carry no location,
        has them refused back (an ack of version 2 naming each payload: the sender sets it aside), not stored,
        counted wrong_location and logged with the key; the central's own worker (its own key) stores under its
        supervisor.location
  test_refused_spool_does_not_stall_the_worker
        a host that ran standalone (location "local") becomes probe fra with the same run_dir: its worker's
        leftover spools (more batches than a window, location "local", then batches of fra of the same worker and
        boot) replay under fra's key; the storer and the alerter refuse the "local" ones back, the worker sets them
        aside in its .refused files, and the fra ones behind them are stored and acknowledged (the spools go)
"""

import contextlib
import json
import os
import sqlite3
import struct
import time

import zmq

import re

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, endpoint, run_cli, tempdir, wait_for
from targets import Targets

HOUR = 3600


class DB:
    """Plain queries on the database under test: rows as lists of strings (None for NULL)."""

    def __init__(self, kind, server, path):
        self.kind, self.server, self.path = kind, server, path

    def q(self, sql):
        if self.kind != "sqlite":
            return self.server.query(sql)
        con = sqlite3.connect(self.path, timeout=10)
        try:
            rows = [[None if v is None else str(v) for v in r] for r in con.execute(sql).fetchall()]
            con.commit()
            return rows
        finally:
            con.close()

    def script(self, statements):
        if self.kind != "sqlite":
            for st in statements:
                self.server.query(st)
            return
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.executescript(";".join(statements))
        finally:
            con.close()

    def one(self, sql):
        rows = self.q(sql)
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def time_literal(self, t):
        """A checked_at value of UTC seconds t in the stored form."""
        if self.kind == "sqlite":
            return "'%s'" % time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))
        if self.kind == "postgresql":
            return "to_timestamp(%d)" % t
        return "FROM_UNIXTIME(%d)" % t

    def hour_of(self, col):
        """UTC seconds of the hour start of a time column."""
        if self.kind == "sqlite":
            return "CAST(strftime('%%s', %s) AS INTEGER) / 3600 * 3600" % col
        if self.kind == "postgresql":
            return "floor(extract(epoch FROM %s) / 3600)::bigint * 3600" % col
        return "FLOOR(UNIX_TIMESTAMP(%s) / 3600) * 3600" % col


def back_to_schema5(db):
    """The database as schema 5 left it: no checks.location, roll-ups keyed by (endpoint_id, period_start)."""
    if db.kind == "sqlite":
        stmts = ["ALTER TABLE checks DROP COLUMN location"]
        for t in ("checks_hourly", "checks_daily"):
            stmts += ["CREATE TABLE %s_5 AS SELECT endpoint_id, period_start, checks, ok, failures, latency_hist,"
                      " dns_hist, connect_hist, tls_hist, ttfb_hist FROM %s" % (t, t),
                      "DROP TABLE %s" % t,
                      "CREATE TABLE %s (endpoint_id INTEGER NOT NULL REFERENCES endpoints(id), period_start TEXT"
                      " NOT NULL, checks INTEGER NOT NULL, ok INTEGER NOT NULL, failures INTEGER NOT NULL,"
                      " latency_hist BLOB NOT NULL, dns_hist BLOB NOT NULL, connect_hist BLOB NOT NULL,"
                      " tls_hist BLOB NOT NULL, ttfb_hist BLOB NOT NULL, PRIMARY KEY (endpoint_id, period_start))"
                      " WITHOUT ROWID" % t,
                      "INSERT INTO %s SELECT * FROM %s_5" % (t, t), "DROP TABLE %s_5" % t]
    elif db.kind == "postgresql":
        stmts = ["ALTER TABLE checks DROP COLUMN location"]
        for t in ("checks_hourly", "checks_daily"):
            stmts.append("ALTER TABLE %s DROP CONSTRAINT %s_pkey, DROP COLUMN location,"
                         " ADD PRIMARY KEY (endpoint_id, period_start)" % (t, t))
    else:
        stmts = ["ALTER TABLE checks DROP COLUMN location"]
        for t in ("checks_hourly", "checks_daily"):
            stmts.append("ALTER TABLE %s DROP PRIMARY KEY, DROP COLUMN location,"
                         " ADD PRIMARY KEY (endpoint_id, period_start)" % t)
    stmts.append("DELETE FROM schema_version WHERE version >= 6")
    db.script(stmts)
    check(db.one("SELECT max(version) FROM schema_version") == 5, "not taken back to schema 5")


def config(d, kind, server, url):
    cfg = base_config([endpoint(url, name="shop", timeout=1)], db_name=os.path.join(d, "clockwerk.db"), workers=1)
    if server is not None:
        cfg["database"] = {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1",
                           "db_port": server.port, "db_name": server.dbname, "db_user": server.user,
                           "db_password": server.password}
    return cfg


def report(conf, *args, code=0):
    r = run_cli(["report", "-c", conf] + list(args), timeout=60)
    check(r.code == code, "clockwerk report %s: expected exit %d: %r" % (" ".join(args), code, r))
    return r


def insert_rows(db, ep_id, rows):
    """Raw rows as a probe host's results arrive: (worker, seq, checked_at seconds, ok, location)."""
    values = ",".join("(%d, %s, 200, 12.5, %s, NULL, %d, 7, %d, '%s')"
                      % (ep_id, db.time_literal(at), ("1" if ok else "0") if db.kind != "postgresql"
                         else ("true" if ok else "false"), w, seq, loc)
                      for w, seq, at, ok, loc in rows)
    db.q("INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, error, worker, boot_id, seq,"
         " location) VALUES " + values)


def result_batch(version, worker, n, url, location="", boot=None, first=1):
    """A CW_MSG_RESULT payload (docs/protocol.md 2.3) of n ok results (seq first..), the record's location at its end
    (flags bit 3) in version 3."""
    out = struct.pack("<BBH", version, 1, n)
    now_us = int(time.time() * 1e6)
    for seq in range(first, first + n):
        flags = 1 | (8 if location else 0)
        out += struct.pack("<IQQqqqqqqqHBB", worker, boot or 0x10CA7100 + worker, seq, now_us - seq * 1000, 0, 9000,
                           -1, -1, -1, -1, 200, flags, 0)
        for text in (url, "") + ((location,) if location else ()):
            b = text.encode()
            out += struct.pack("<H", len(b)) + b + b"\0"
    return out


def _refusal(payload):
    """What a refusal of payload names (docs/protocol.md 2.6): (FNV-1a 64 of its bytes, its length)."""
    return harness.fnv1a64(payload), len(payload)


def _ack_ranges(payload):
    """An ack message's ranges (docs/protocol.md 2.6, version 1 or 2): ([(worker, boot, first, last) durable],
    [(digest, length) refused])."""
    version, _type, count = struct.unpack_from("<BBH", payload)
    durable, refused, off = [], [], 4
    for _ in range(count):
        kind = 0
        if version == 2:
            kind = payload[off]
            off += 1
        worker, boot, first, last = struct.unpack_from("<IQQQ", payload, off)
        off += 28
        if kind == 1:
            refused.append((boot, first))
        else:
            durable.append((worker, boot, first, last))
    return durable, refused


def send_results(run_dir, batches):
    """Sends result batches to the storer as a worker does (a DEALER on its ipc:// socket)."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 5000)
    try:
        sock.connect("ipc://" + os.path.join(run_dir, "store.sock"))
        for b in batches:
            sock.send_multipart([b"result", b])
    finally:
        sock.close()
        ctx.term()


def cells(db, table, ep_id):
    """{(location, period start s): (checks, ok)} of one endpoint."""
    return {(loc, int(start)): (int(n), int(k)) for loc, start, n, k in db.q(
        "SELECT location, %s, checks, ok FROM %s WHERE endpoint_id = %d" % (db.hour_of("period_start"), table, ep_id))}


def raw_by_location(db, ep_id):
    return {loc: (int(n), int(k)) for loc, n, k in db.q(
        "SELECT location, count(*), sum(CASE WHEN ok THEN 1 ELSE 0 END) FROM checks WHERE endpoint_id = %d"
        " GROUP BY location" % ep_id)}


def folded(db):
    return db.one("SELECT last_check_id FROM rollup_state") >= db.one("SELECT max(id) FROM checks")


def check_cells_match_raw(db, kind, ep_id):
    """Each hourly cell equals its raw rows (per location and hour), and each daily cell the sum of its hours."""
    raw = {(loc, int(h)): (int(n), int(k)) for loc, h, n, k in db.q(
        "SELECT location, %s, count(*), sum(CASE WHEN ok THEN 1 ELSE 0 END) FROM checks WHERE endpoint_id = %d"
        " GROUP BY location, %s" % (db.hour_of("checked_at"), ep_id, db.hour_of("checked_at")))}
    hours = cells(db, "checks_hourly", ep_id)
    check(hours == raw, "%s: hourly cells %r, raw rows per location and hour %r" % (kind, hours, raw))
    days = {}
    for (loc, h), (n, k) in hours.items():
        key = (loc, h // 86400 * 86400)
        days[key] = (days.get(key, (0, 0))[0] + n, days.get(key, (0, 0))[1] + k)
    got = {(loc, s // 86400 * 86400): v for (loc, s), v in cells(db, "checks_daily", ep_id).items()}
    check(got == days, "%s: daily cells %r, the sum of the hours %r" % (kind, got, days))


def _run(kind, server_cls):
    with tempdir() as d, Targets() as t:
        server = server_cls() if server_cls else None
        with (server or contextlib.nullcontext()):
            url = t.url("/ok")
            cfg = config(d, kind, server, url)
            db = DB(kind, server, os.path.join(d, "clockwerk.db"))
            env = {"CLOCKWERK_ROLLUP_EVERY_MS": "300"}
            # 1. a history of schema 6, taken back to schema 5
            with Clockwerk(cfg, d, env=env) as cw:
                cw.wait_ready()
                wait_for(lambda: db.one("SELECT count(*) FROM checks") >= 4, harness.deadline(60), "4 stored checks",
                         ignore=(sqlite3.Error, RuntimeError))  # no table before the storer created it
                cw.stop()
            back_to_schema5(db)
            ep_id = db.one("SELECT id FROM endpoints WHERE url = '%s'" % url)
            before_rows = db.one("SELECT count(*) FROM checks")
            before_max = db.one("SELECT max(id) FROM checks")
            before_hourly = db.one("SELECT sum(checks) FROM checks_hourly")
            before_daily = db.one("SELECT sum(checks) FROM checks_daily")
            check(before_hourly == before_rows == before_daily, "%s: schema 5: rows %d, hourly %d, daily %d"
                  % (kind, before_rows, before_hourly, before_daily))

            # 2. the migration in place keeps every row and cell; new rows carry the own location
            with Clockwerk(cfg, d, env=env) as cw:
                cw.wait_ready()
                cw.wait_log(r"schema upgraded from version 5 to 6", timeout=60)
                check(db.one("SELECT max(version) FROM schema_version") == 6, "%s: schema not 6" % kind)
                check(db.one("SELECT count(*) FROM checks WHERE id <= %d AND location = ''" % before_max)
                      == before_rows, "%s: the rows of schema 5 are not all kept with location ''" % kind)
                check(db.one("SELECT sum(checks) FROM checks_hourly WHERE location = ''") == before_hourly
                      and db.one("SELECT sum(checks) FROM checks_daily WHERE location = ''") == before_daily,
                      "%s: the cells of schema 5 are not kept with location ''" % kind)
                wait_for(lambda: db.one("SELECT count(*) FROM checks WHERE location = 'local'") >= 3,
                         harness.deadline(60), "checks stored with the own location")
                check(db.one("SELECT count(*) FROM checks WHERE id > %d AND location <> 'local'" % before_max) == 0,
                      "%s: a new row without the storer's own location" % kind)
                # results over the wire: version 3 with its location, version 1 without one (an older worker)
                send_results(os.path.join(d, "run"), [result_batch(3, 904, 3, url, "tyo"), result_batch(1, 905, 2, url)])
                wait_for(lambda: db.one("SELECT count(*) FROM checks WHERE worker IN (904, 905)") == 5,
                         harness.deadline(30), "the results of the fake workers stored")
                got = db.q("SELECT worker, location, count(*) FROM checks WHERE worker IN (904, 905)"
                           " GROUP BY worker, location ORDER BY worker")
                check([[int(w), loc, int(n)] for w, loc, n in got] == [[904, "tyo", 3], [905, "local", 2]],
                      "%s: locations of results over the wire: %r" % (kind, got))

                # 3. rows of other locations (a probe host's), and late rows of an hour already folded
                wait_for(lambda: folded(db), harness.deadline(30), "the rows folded")
                now = int(time.time())
                old_hour = now // HOUR * HOUR - 5 * HOUR  # an hour whose cells exist before the late rows arrive
                insert_rows(db, ep_id, [(901, 1, old_hour + 60, True, "fra"), (901, 2, now - 1, True, "fra"),
                                        (902, 1, old_hour + 120, False, "nyc"), (902, 2, now - 2, True, "nyc")])
                wait_for(lambda: folded(db), harness.deadline(30), "the probe hosts' rows folded")
                first = cells(db, "checks_hourly", ep_id)
                check(first.get(("fra", old_hour)) == (1, 1) and first.get(("nyc", old_hour)) == (1, 0),
                      "%s: cells per location of the old hour: %r" % (kind, first))
                insert_rows(db, ep_id, [(901, 3, old_hour + 1800, False, "fra"), (901, 4, old_hour + 1900, True, "fra"),
                                        (903, 1, old_hour + 2000, True, "local")])
                wait_for(lambda: folded(db), harness.deadline(30), "the late rows folded")
                late = cells(db, "checks_hourly", ep_id)
                check(late.get(("fra", old_hour)) == (3, 2) and late.get(("local", old_hour)) == (1, 1)
                      and late.get(("nyc", old_hour)) == (1, 0),
                      "%s: the late rows are not folded into their hour again: %r" % (kind, late))
                cw.stop()
            check_cells_match_raw(db, kind, ep_id)

            # 4. the report: across locations by default, one location, a row per location
            conf = cw.conf_path
            raw = raw_by_location(db, ep_id)
            total = sum(n for n, _ in raw.values())
            j = json.loads(report(conf, "--since", "1d", "--json").out)
            e = j["endpoints"][0]
            check(e["checks"] == total and e["location"] is None,
                  "%s: the report across locations: %r, raw rows %r" % (kind, e, raw))
            j = json.loads(report(conf, "--since", "1d", "--location", "fra", "--json").out)
            check([(x["location"], x["checks"], x["ok"]) for x in j["endpoints"]] == [("fra", 4, 3)],
                  "%s: --location fra: %r" % (kind, j))
            j = json.loads(report(conf, "--since", "1d", "--by-location", "--json").out)
            got = {x["location"]: (x["checks"], x["ok"]) for x in j["endpoints"]}
            check(got == raw and all(x["name"] == "shop" for x in j["endpoints"]),
                  "%s: --by-location %r, raw rows per location %r" % (kind, got, raw))
            text = report(conf, "--since", "1d", "--by-location").out.splitlines()
            check(text[1].split()[:3] == ["ENDPOINT", "LOCATION", "CHECKS"] and len(text) == 2 + len(raw),
                  "%s: --by-location text %r" % (kind, text))
            csv_lines = report(conf, "--since", "1d", "--location", "nyc", "--csv").out.splitlines()
            check(csv_lines[0].startswith("name,url,location,checks") and csv_lines[1].startswith("shop,")
                  and ",nyc,2,1," in csv_lines[1], "%s: --location nyc --csv %r" % (kind, csv_lines))
            r = report(conf, "--location", "sgp", code=2)
            check("names no such location" in r.err and r.out == "", "%s: unknown location: %r" % (kind, r))
            r = report(conf, "--location", "bad name", code=2)
            check("a location name is 1 to 32" in r.err, "%s: bad location name: %r" % (kind, r))
            harness.note("%s: rows per location %r" % (kind, raw))


@harness.timeout(300)
def test_location_store_sqlite():
    _run("sqlite", None)


@harness.timeout(600)
def test_location_store_postgresql():
    _run("postgresql", PostgresServer)


@harness.timeout(600)
def test_location_store_mysql():
    _run("mysql", MariaDBServer)


def _keygen(d, name):
    return harness.keygen(os.path.join(d, name))


@harness.timeout(180)
def test_location_key_check():
    """A probe host's key may only store results of its own location."""
    with tempdir() as d, Targets() as t:
        central, fra = _keygen(d, "central.key"), _keygen(d, "fra.key")
        ports = [harness.free_port() for _ in range(5)]
        bus = {"store_address": "tcp://127.0.0.1:%d" % ports[0], "alert_address": "tcp://127.0.0.1:%d" % ports[1],
               "publish_address": "tcp://127.0.0.1:%d" % ports[2], "tap_address": "tcp://127.0.0.1:%d" % ports[3],
               "config_address": "tcp://127.0.0.1:%d" % ports[4], "curve_key_file": "central.key"}
        url = t.url("/ok")
        cfg = base_config([endpoint(url, timeout=1)], workers=1, db_name=os.path.join(d, "clockwerk.db"),
                          extra={"bus": bus, "locations": [{"name": "fra", "key": fra["public"]}]})
        cfg["supervisor"]["location"] = "central"
        db = DB("sqlite", None, os.path.join(d, "clockwerk.db"))
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            wait_for(lambda: db.one("SELECT count(*) FROM checks WHERE location = 'central'") >= 2,
                     harness.deadline(60), "the central worker's checks", ignore=(sqlite3.Error,))
            ctx = zmq.Context()
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.curve_publickey, sock.curve_secretkey = fra["public"].encode(), fra["secret"].encode()
            sock.curve_serverkey = central["public"].encode()
            try:
                sock.connect(bus["store_address"])
                wrong = {911: result_batch(3, 911, 2, url, "nyc"),  # fra's key claims nyc
                         912: result_batch(1, 912, 2, url)}         # no location at all
                for payload in wrong.values():
                    sock.send_multipart([b"result", payload])
                sock.send_multipart([b"result", result_batch(3, 913, 3, url, "fra")])  # its own: stored
                wait_for(lambda: db.one("SELECT count(*) FROM checks WHERE worker = 913") == 3,
                         harness.deadline(30), "fra's results stored")
                # the refused ones are refused back, each named by its payload (docs/protocol.md 2.6), never acked
                want = {_refusal(p): w for w, p in wrong.items()}
                acked, refused = set(), set()
                poll_until = time.monotonic() + 20
                while time.monotonic() < poll_until and (913 not in acked or len(refused) < len(want)):
                    if sock.poll(200):
                        frames = sock.recv_multipart()
                        if frames[0] == b"ack" and len(frames) > 1:
                            durable, named = _ack_ranges(frames[1])
                            acked.update(w for w, _boot, _first, _last in durable)
                            refused.update(want[r] for r in named if r in want)
                check(913 in acked, "fra's own results were not acknowledged (%r)" % acked)
                check(refused == {911, 912}, "refused results not refused back: %r" % refused)
                check(not acked & {911, 912}, "refused results were acknowledged: %r" % acked)
            finally:
                sock.close()
                ctx.term()
            refused = db.one("SELECT count(*) FROM checks WHERE worker IN (911, 912)")
            check(refused == 0, "results with fra's key and another location were stored: %d rows" % refused)
            check(db.one("SELECT count(*) FROM checks WHERE worker = 913 AND location = 'fra'") == 3,
                  "fra's results not stored with location fra")
            cw.wait_log(r"refused 2 results from the key of location fra carrying location \"nyc\" \(key %s\)"
                        % re.escape(fra["public"]), timeout=10)
            cw.stop()
            counters = harness.final_counters(cw.log_text())
        wrong = counters.get("storer", {}).get("wrong_location")
        check(wrong == 4, "storer wrong_location %r, expected 4 (two batches of 2): %r" % (wrong, counters.get("storer")))


def _write_spool(path, records):
    """A worker's spool file (docs/protocol.md 7.1) of records (worker, boot, first seq, last seq, payload)."""
    with open(path, "wb") as f:
        for worker, boot, first, last, payload in records:
            f.write(struct.pack("<IIQQQI", len(payload), worker, boot, first, last, last - first + 1) + payload)
    os.chmod(path, 0o600)


def _spool_records(path):
    """How many whole records a spool file holds (0 when there is no file)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0
    n = off = 0
    while off + 36 <= len(data):
        off += 36 + struct.unpack_from("<I", data, off)[0]
        n += off <= len(data)
    return n


@harness.timeout(300)
def test_refused_spool_does_not_stall_the_worker():
    """A standalone host's leftover spools, replayed under a probe host's key, do not stall its worker."""
    from test_location_config import POLL, Site
    boot, stale, fresh = 0x5EED5F001, 1100, 3  # more stale batches than a window (1,024 in flight: worker/output.c)
    with tempdir() as d, Targets() as t:
        site = Site(d, t, locations=("fra",))
        url = t.url("/ok?fra")
        run_dir = os.path.join(d, "run-fra")
        os.makedirs(run_dir, mode=0o700)
        # what worker 0 of the host left when it ran standalone (location "local"), then two batches of the same
        # worker and boot checked as fra: both destinations' spools
        records = [(0, boot, seq, seq, result_batch(3, 0, 1, url, "local", boot, seq)) for seq in range(1, stale + 1)]
        records += [(0, boot, seq, seq, result_batch(3, 0, 1, url, "fra", boot, seq))
                    for seq in range(stale + 1, stale + fresh + 1)]
        for dest in ("storer", "alerter"):
            _write_spool(os.path.join(run_dir, "worker-0-%s.spool" % dest), records)
        db = DB("sqlite", None, os.path.join(d, "central.db"))
        signed_boot = boot if boot < 1 << 63 else boot - (1 << 64)
        with Clockwerk(site.central(), d, name="central") as central:
            central.wait_ready(titles=["clockwerk: storer", "clockwerk: alerter", "clockwerk: relay"])
            with Clockwerk(site.probe("fra"), d, name="probe-fra", env=POLL).start() as fra:
                fra.wait_ready(titles=["clockwerk: worker 0/1"])
                wait_for(lambda: db.one("SELECT count(*) FROM checks WHERE boot_id = %d" % signed_boot) == fresh,
                         harness.deadline(90), "the fra results behind the refused ones stored",
                         ignore=(sqlite3.Error,))
                for dest in ("storer", "alerter"):
                    spool = os.path.join(run_dir, "worker-0-%s.spool" % dest)
                    wait_for(lambda: not os.path.exists(spool) and _spool_records(spool + ".refused") == stale,
                             harness.deadline(60),
                             lambda: "%s: the spool acknowledged (exists: %s) and %d records set aside (has %d)"
                             % (dest, os.path.exists(spool), stale, _spool_records(spool + ".refused")))
                fra.wait_log(r"the (storer|alerter) refused a batch of 1 results", timeout=10)
                fra.stop()
            check(db.one("SELECT count(*) FROM checks WHERE location = 'local'") == 0, "stale results were stored")
            check(db.one("SELECT count(*) FROM checks WHERE boot_id = %d AND location = 'fra'" % signed_boot) == fresh,
                  "the fra results are not stored with location fra")
            central.wait_log(r"refused 1 results from the key of location fra carrying location \"local\"")
            central.wait_log(r"a result batch claiming location local refused: key \S+ may only send for location fra")
            central.stop()
            counters = harness.final_counters(central.log_text())
        check(counters.get("storer", {}).get("wrong_location") == stale
              and counters.get("storer", {}).get("refused") == stale, "storer %r" % counters.get("storer"))
        check(counters.get("alerter", {}).get("refused") == stale, "alerter %r" % counters.get("alerter"))
