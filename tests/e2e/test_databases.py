"""tests/e2e/test_databases.py — PostgreSQL and MariaDB storage against real servers.

Every test starts its own database servers from Debian's packages (tests/e2e/dbservers.py: temporary data
directories, 127.0.0.1, free ports, stopped on every path) and its own Clockwerk and HTTP targets.

  test_backend_values          bench/store_bench `verify` against sqlite, postgresql and mysql: exact values
                               (NULL phases, awkward error text, u64 ids as BIGINT bit patterns, alert
                               upsert), idempotence, and the same normalised rows in all three
  test_same_rows_all_backends  the same Clockwerk scenario stored by sqlite, postgresql and mysql at once:
                               rows for every endpoint with the right values, identical across backends
  test_outage_postgresql/_mysql  the database server is stopped for several seconds under a steady stream
                               of results and started again: every result is stored exactly once
  test_bad_input_postgresql/_mysql  wrong password, unknown database, closed port: one clear line naming
                               host/port/database without the password, the storer retries, the rest runs
  test_unix_socket             db_host = a socket directory (PostgreSQL) / socket file (MariaDB)
  test_tls                     TLS is used when the server offers it (default sslmode "prefer");
                               verify-full with db_ca_file works; "require" against a server without TLS is
                               a clear retrying error
"""

import os
import re
import subprocess
import time

import harness
from dbservers import MariaDBServer, PostgresServer, make_cert
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, tempdir, wait_for
from targets import KEYWORD, Targets

STORER = "clockwerk: storer"

# Normalised rows: the same SQL runs on all three databases.
NORM_SQL = ("SELECT e.url, c.status_code, CASE WHEN c.ok THEN 1 ELSE 0 END, "
            "CASE WHEN c.error IS NULL THEN 1 ELSE 0 END, CASE WHEN c.latency_ms > 0 THEN 1 ELSE 0 END "
            "FROM checks c JOIN endpoints e ON e.id = c.endpoint_id")



def _schema_version():
    """STORE_SCHEMA_VERSION of storer/backend.h: the version a fresh database reaches."""
    with open(os.path.join(harness.REPO, "storer", "backend.h")) as f:
        return int(re.search(r"#define STORE_SCHEMA_VERSION (\d+)", f.read()).group(1))

def _norm(rows):
    """{url: set of (status, ok, error is null, latency > 0)} from rows of NORM_SQL (any backend)."""
    out = {}
    for url, status, ok, enull, lat in rows:
        out.setdefault(url, set()).add((int(status), int(ok), int(enull), int(lat)))
    return out


def _db_group(server, **over):
    g = {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1", "db_port": server.port,
         "db_name": server.dbname, "db_user": server.user, "db_password": server.password}
    g.update(over)
    return g


def _config(endpoints, server=None, workers=2, **dbover):
    cfg = base_config(endpoints, workers=workers)
    if server is not None:
        cfg["database"] = _db_group(server, **dbover)
    return cfg


def _query(server, sql):
    """Rows of sql on a server (None while the tables do not exist yet)."""
    return server.try_query(sql)


def _count(server, url=None):
    """Rows in checks (of url, when given); 0 while the schema does not exist yet."""
    if url is None:
        rows = _query(server, "SELECT count(*) FROM checks")
    else:
        rows = _query(server, "SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                              "WHERE e.url = '%s'" % url.replace("'", "''"))
    return int(rows[0][0]) if rows else 0


def _store_bench():
    """Path of bench/store_bench for the binaries under test (built by `make e2e`)."""
    bindir = harness.bin_dir()
    out = os.path.dirname(bindir) if os.path.basename(os.path.dirname(bindir)) == "asan" else \
        os.path.join(harness.REPO, "build", "default")
    path = os.path.join(out, "bench", "store_bench")
    if not os.path.exists(path):
        subprocess.run(["make", "-C", harness.REPO, "-s", os.path.relpath(path, harness.REPO)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, **({"BUILD": "asan"} if "asan" in path else {})))
    check(os.path.exists(path), "%s is not built (make bench-programs)" % path)
    return path


def _run_bench(args, server=None, password=None, timeout=120):
    argv = [_store_bench()] + args
    env = harness.child_env({"CLOCKWERK_DB_PASSWORD": password if password is not None else
                             (server.password if server else "")})
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=timeout)
    harness.ARTIFACTS["store_bench %s" % " ".join(args)] = r.stdout + r.stderr
    return r


def _server_args(server):
    return ["--driver", server.kind, "--host", "127.0.0.1", "--port", str(server.port), "--db", server.dbname,
            "--user", server.user]


# ------------------------------------------------------------------------------- 1. backend values

VALUES_SQL = ("SELECT e.url, e.name, c.status_code, CASE WHEN c.ok THEN 1 ELSE 0 END, c.error, c.latency_ms, "
              "c.dns_ms, c.connect_ms, c.tls_ms, c.ttfb_ms, c.worker, c.boot_id, c.seq "
              "FROM checks c JOIN endpoints e ON e.id = c.endpoint_id ORDER BY c.seq")
AWKWARD = "line1\nline2\ttab \\ back 'quote' \"dq\" caf\u00e9 bad? byte"


def _values(rows):
    """Typed rows of VALUES_SQL (text from the CLI clients, or SQLite's values)."""
    out = []
    for r in rows:
        url, name, status, ok, error, *ms, worker, boot, seq = r
        out.append((url, name, int(status), int(ok), error,
                    tuple(None if v is None else round(float(v), 6) for v in ms),
                    int(worker), int(boot), int(seq)))
    return out


def _check_values(vals, backend):
    check(len(vals) == 4, "%s: %d rows after writing the same 4 checks three times (want 4)" % (backend, len(vals)))
    by_seq = {v[8]: v for v in vals}
    check(by_seq[1][:5] == ("http://127.0.0.1:1/configured", "configured one", 200, 1, None),
          "%s: first row %r" % (backend, by_seq[1]))
    check(by_seq[1][5] == (12.345, 0.1, 0.2, None, 3.0), "%s: phases of row 1: %r" % (backend, by_seq[1][5]))
    check(by_seq[2][4] == AWKWARD, "%s: error text came back as %r" % (backend, by_seq[2][4]))
    check(by_seq[2][1] is None and by_seq[2][2] == 500, "%s: row 2 %r" % (backend, by_seq[2]))
    check(by_seq[3][5] == (12.347, 0.1, None, None, None), "%s: NULL phases of row 3: %r" % (backend, by_seq[3][5]))
    check(by_seq[3][4] == "Connection refused" and by_seq[3][3] == 0, "%s: row 3 %r" % (backend, by_seq[3]))
    check(by_seq[4][2] == 204 and by_seq[4][4] is None, "%s: row 4 %r" % (backend, by_seq[4]))
    for v in vals:
        check(v[6] == 77 and v[7] == -9223372036854775807,
              "%s: worker/boot_id %r (boot id 0x8000000000000001 is stored as its signed bit pattern)"
              % (backend, v[6:8]))


def test_backend_values():
    with tempdir() as d, PostgresServer() as pg, MariaDBServer() as my:
        results = {}
        sqlite_path = os.path.join(d, "verify.db")
        for name, args, server in (("postgresql", _server_args(pg), pg), ("mysql", _server_args(my), my),
                                   ("sqlite", ["--driver", "sqlite", "--db", sqlite_path], None)):
            for attempt in range(2):   # twice: a second storer start finds the schema and changes nothing
                r = _run_bench(args + ["verify"], server)
                check(r.returncode == 0, "%s verify (run %d) exited %d: %s %s" % (name, attempt + 1, r.returncode,
                                                                                  r.stdout, r.stderr))
            if server is None:
                import sqlite3
                con = sqlite3.connect(sqlite_path)
                con.text_factory = lambda b: b.decode("utf-8", "replace").replace("\ufffd", "?")
                rows = con.execute(VALUES_SQL).fetchall()
                con.close()
                db = harness.Sqlite(sqlite_path)
                alerts = db.query("SELECT alert_id, kind, email_state, webhook_state, message FROM alerts")
                versions = db.query("SELECT version FROM schema_version")
            else:
                q = VALUES_SQL
                if name == "postgresql":   # psql prints text: keep newlines and tabs out of its table format
                    q = q.replace("c.error,", "replace(replace(c.error, E'\\n', '<NL>'), E'\\t', '<TAB>'),")
                else:
                    q = q.replace("c.error,", "replace(replace(c.error, '\\n', '<NL>'), '\\t', '<TAB>'),")
                rows = [[None if x is None else x.replace("<NL>", "\n").replace("<TAB>", "\t")
                         if isinstance(x, str) else x for x in r] for r in server.query(q)]
                if name == "mysql":   # the client escapes backslashes in batch mode
                    rows = [[x.replace("\\\\", "\\") if isinstance(x, str) else x for x in r] for r in rows]
                alerts = server.query("SELECT alert_id, kind, email_state, webhook_state, message FROM alerts")
                versions = server.query("SELECT version FROM schema_version")
            vals = _values(rows)
            _check_values(vals, name)
            check([tuple(str(x) for x in a) for a in alerts] ==
                  [(str(-81985529216486896), "down", "sent", "none", "http://127.0.0.1:1/alert-only is DOWN")],
                  "%s: alerts %r (one alert, id 0xfedcba9876543210 as signed, email state updated to sent)"
                  % (name, alerts))
            want = [str(v) for v in range(1, _schema_version() + 1)]  # every step of the migration, in order
            check(sorted((str(v[0]) for v in versions), key=int) == want, "%s: schema_version %r" % (name, versions))
            results[name] = vals
        check(results["postgresql"] == results["sqlite"] == results["mysql"],
              "rows differ between backends:\n  sqlite %r\n  postgresql %r\n  mysql %r"
              % (results["sqlite"], results["postgresql"], results["mysql"]))


# ------------------------------------------------------------------------ 2. same scenario, 3 backends

def test_same_rows_all_backends():
    with tempdir() as d, Targets(slow_delay=3.0) as t, PostgresServer() as pg, MariaDBServer() as my:
        closed = closed_port_url("/closed")
        eps = [endpoint(t.url("/ok"), timeout=1, name="the ok target"),
               endpoint(t.url("/fail"), timeout=1),
               endpoint(t.url("/keyword"), timeout=1, keyword=KEYWORD),
               endpoint(t.url("/nokeyword"), timeout=1, keyword=KEYWORD),
               endpoint(t.url("/empty"), timeout=1),
               endpoint(t.url("/status/404"), timeout=1),
               endpoint(closed, timeout=1)]
        urls = [e["url"] for e in eps]
        t0 = time.time()
        cws = {}
        try:
            for name, server in (("sqlite", None), ("postgresql", pg), ("mysql", my)):
                wd = os.path.join(d, name)
                os.makedirs(wd)
                cws[name] = Clockwerk(_config(eps, server), wd, name=name).start()
            for cw in cws.values():
                cw.wait_ready()

            def enough(fetch):
                def ok():
                    rows = fetch()
                    if not rows:
                        return None
                    n = {}
                    for r in rows:
                        n[r[0]] = n.get(r[0], 0) + 1
                    return all(n.get(u, 0) >= 2 for u in urls)
                return ok
            wait_for(enough(lambda: cws["sqlite"].db().try_query(NORM_SQL)), deadline(40), "2 rows per endpoint in sqlite")
            wait_for(enough(lambda: _query(pg, NORM_SQL)), deadline(40), "2 rows per endpoint in postgresql")
            wait_for(enough(lambda: _query(my, NORM_SQL)), deadline(40), "2 rows per endpoint in mysql")
            for cw in cws.values():
                cw.stop()
        finally:
            for cw in cws.values():
                cw.cleanup()
        t1 = time.time()

        norm = {"sqlite": _norm(harness.Sqlite(os.path.join(d, "sqlite", "clockwerk.db")).query(NORM_SQL)),
                "postgresql": _norm(pg.query(NORM_SQL)), "mysql": _norm(my.query(NORM_SQL))}
        want = {urls[0]: {(200, 1, 1, 1)}, urls[1]: {(500, 0, 0, 1)}, urls[2]: {(200, 1, 1, 1)},
                urls[3]: {(200, 0, 0, 1)}, urls[4]: {(204, 1, 1, 1)}, urls[5]: {(404, 0, 0, 1)},
                urls[6]: {(0, 0, 0, 1)}}
        for name, got in norm.items():
            for u in urls:
                check(got.get(u) == want[u], "%s: rows of %s are %r, want %r" % (name, u, got.get(u), want[u]))
        check(norm["sqlite"] == norm["postgresql"] == norm["mysql"], "normalised rows differ: %r" % norm)

        # checked_at is UTC wall-clock time in every backend (epoch seconds within the run).
        pg_t = pg.query("SELECT min(extract(epoch FROM checked_at)), max(extract(epoch FROM checked_at)) FROM checks")[0]
        my_t = my.query("SET time_zone = '+00:00'; "
                        "SELECT min(UNIX_TIMESTAMP(checked_at)), max(UNIX_TIMESTAMP(checked_at)) FROM checks")[0]
        for name, (lo, hi) in (("postgresql", pg_t), ("mysql", my_t)):
            check(t0 - 2 <= float(lo) <= float(hi) <= t1 + 2,
                  "%s: checked_at %s..%s is not within the run %.0f..%.0f (UTC?)" % (name, lo, hi, t0, t1))
        names = {r[0]: r[1] for r in pg.query("SELECT url, name FROM endpoints")}
        check(names.get(urls[0]) == "the ok target", "postgresql endpoints.name: %r" % names)
        names = {r[0]: r[1] for r in my.query("SELECT url, name FROM endpoints")}
        check(names.get(urls[0]) == "the ok target", "mysql endpoints.name: %r" % names)


# ----------------------------------------------------------------------------------------- 3. outage

def _outage(server_cls):
    with tempdir() as d, Targets() as t, server_cls() as server:
        urls = [t.url("/ok?e=%d" % i) for i in range(10)]
        cw = Clockwerk(_config([endpoint(u, timeout=1) for u in urls], server), d)
        with cw:
            cw.wait_ready()
            wait_for(lambda: _count(server) >= 20, deadline(40), "20 rows before the outage")
            mark = cw.log_mark()
            served = sum(t.count("/ok?e=%d" % i) for i in range(10))
            down_at = time.time()
            server.stop()
            # Several seconds of results while the database is away: wait for 50 more checks (about 5 s).
            wait_for(lambda: sum(t.count("/ok?e=%d" % i) for i in range(10)) >= served + 50, deadline(30),
                     "50 checks while the database is down")
            cw.wait_log(r"database unavailable.*%s" % re.escape("%s:%d/%s" % ("127.0.0.1", server.port,
                                                                              server.dbname)),
                        timeout=30, since=mark)
            storer = cw.child(STORER)
            server.start()
            up_at = time.time()
            cw.wait_log(r"database is back", timeout=60, since=mark)
            n_after = _count(server)
            wait_for(lambda: _count(server) >= n_after + 30, deadline(40), "rows after the outage")
            check(cw.child(STORER) == storer, "the storer was restarted during the outage (%s -> %s)"
                  % (storer, cw.child(STORER)))
            cw.stop(timeout=deadline(15))
            log = cw.log_text()

        # Every result sent is in the table exactly once: each worker's (worker, boot_id) rows are exactly
        # seq 1..N, N from its "stopped after N checks" line, and there is no other row.
        total = int(server.query("SELECT count(*) FROM checks")[0][0])
        problems, runs = harness.stored_seq_problems(
            log, server.query(harness.SEQ_GROUPS_SQL), workers=cw.workers,
            seqs_of=lambda worker, boot: [r[0] for r in server.query(
                "SELECT seq FROM checks WHERE worker = %d AND boot_id = %d" % (worker, boot))])
        made = sum(r.checks or 0 for r in runs)
        if len(runs) != cw.workers:
            problems.append("%d worker runs in the log, not %d (a worker was restarted?): %s" % (
                len(runs), cw.workers, runs))
        if server.kind == "postgresql":
            during = server.query("SELECT count(*) FROM checks WHERE checked_at BETWEEN to_timestamp(%f) AND "
                                  "to_timestamp(%f)" % (down_at + 0.5, up_at - 0.5))
        else:
            during = server.query("SET time_zone = '+00:00'; SELECT count(*) FROM checks WHERE checked_at "
                                  "BETWEEN FROM_UNIXTIME(%f) AND FROM_UNIXTIME(%f)" % (down_at + 0.5, up_at - 0.5))
        n_during = int(during[0][0])
        expect = int((up_at - down_at - 1) * 10 * 0.7)
        if n_during < expect:
            problems.append("only %d rows from the %.1f s outage (expected at least %d)" % (
                n_during, up_at - down_at, expect))
        check(not problems, "%s outage: %s" % (server.kind, "; ".join(problems)))
        harness.note("%s outage: %.1f s down, %d rows in that window, %d rows in all = the %d checks the workers "
                     "made (%s), each seq once" % (server.kind, up_at - down_at, n_during, total, made,
                                                   ", ".join("worker %d: %d" % (r.slot, r.checks) for r in runs)))


@harness.timeout(300)
def test_outage_postgresql():
    _outage(PostgresServer)


@harness.timeout(300)
def test_outage_mysql():
    _outage(MariaDBServer)


# -------------------------------------------------------------------------------------- 4. bad input

def _bad_input(server_cls, messages):
    with tempdir() as d, Targets() as t, server_cls() as server:
        wrong_pw = "Wrong-pw-Zq81x"
        cases = [("wrong password", {"db_password": wrong_pw}, server.port, server.dbname, messages[0]),
                 ("unknown database", {"db_name": "no_such_db"}, server.port, "no_such_db", messages[1])]
        closed = harness.free_port()
        cases.append(("unreachable host", {"db_port": closed}, closed, server.dbname, messages[2]))
        for i, (what, over, port, dbname, rx) in enumerate(cases):
            wd = os.path.join(d, "case%d" % i)
            os.makedirs(wd)
            url = t.url("/ok?case=%d" % i)
            cw = Clockwerk(_config([endpoint(url, timeout=1)], server, **over), wd)
            with cw:
                kids = cw.wait_ready()
                where = "%s:%d/%s" % ("127.0.0.1", port, dbname)
                m = cw.wait_log(r"database unavailable[^\n]*%s[^\n]*" % re.escape(where), timeout=30)
                line = m.group(0)
                check(re.search(rx, line), "%s: the error line does not carry the server's message /%s/: %s"
                      % (what, rx, line))
                # It keeps retrying, and the rest keeps running: same storer and workers, checks go on.
                n0 = t.count("/ok?case=%d" % i)
                wait_for(lambda: t.count("/ok?case=%d" % i) >= n0 + 3, deadline(20), "checks while the db is bad")
                now = cw.wait_ready()
                check(now == kids, "%s: children changed while the database was bad: %r -> %r" % (what, kids, now))
                log = cw.log_text()
                check(wrong_pw not in log and server.password not in log,
                      "%s: a password appears in the log" % what)
                harness.note("%s (%s): %s" % (server.kind, what, line[line.find("database unavailable"):][:220]))
                cw.stop(timeout=deadline(15))


@harness.timeout(240)
def test_bad_input_postgresql():
    _bad_input(PostgresServer, [r"password authentication failed", r"database \"no_such_db\" does not exist",
                                r"Connection refused"])


@harness.timeout(240)
def test_bad_input_mysql():
    _bad_input(MariaDBServer, [r"Access denied for user", r"Access denied[^\n]*no_such_db|Unknown database",
                               r"Can't connect"])


# ------------------------------------------------------------------------------------ 5. Unix socket

def test_unix_socket():
    with tempdir() as d, Targets() as t, PostgresServer() as pg, MariaDBServer() as my:
        for server, host in ((pg, pg.socket_dir), (my, my.socket_path)):
            wd = os.path.join(d, server.kind)
            os.makedirs(wd)
            url = t.url("/ok?socket=" + server.kind)
            with Clockwerk(_config([endpoint(url, timeout=1)], server, db_host=host), wd) as cw:
                cw.wait_ready()
                wait_for(lambda: _count(server) >= 2, deadline(30), "rows through the Unix socket of %s" % server.kind)
                cw.stop()
            rows = server.query("SELECT e.url, c.status_code FROM checks c JOIN endpoints e ON e.id = c.endpoint_id")
            check(all(r == [url, "200"] for r in rows), "%s rows: %r" % (server.kind, rows))


# ------------------------------------------------------------------------------------------- 6. TLS

@harness.timeout(300)
def test_tls():
    with tempdir() as d, Targets() as t, PostgresServer(tls=True) as pg, MariaDBServer(tls=True) as my, \
            PostgresServer() as pg_plain, MariaDBServer() as my_plain:
        for server, plain in ((pg, pg_plain), (my, my_plain)):
            # Default sslmode: TLS because the server offers it. Then verify-full against its certificate.
            for i, over in enumerate(({}, {"db_sslmode": "verify-full", "db_ca_file": server.cert})):
                wd = os.path.join(d, "%s-%d" % (server.kind, i))
                os.makedirs(wd)
                url = t.url("/ok?tls=%s-%d" % (server.kind, i))
                with Clockwerk(_config([endpoint(url, timeout=1)], server, **over), wd) as cw:
                    cw.wait_ready()
                    cw.wait_log(r"connected to %s://[^\n]*\(server [^\n]*, TLS\)" % server.kind, timeout=30)
                    # The "connected" line precedes the schema: the tables may not exist yet (_query: None).
                    wait_for(lambda: _count(server, url) >= 1, deadline(60), "rows over TLS in %s" % server.kind)
                    cw.stop()
            # verify-full against a CA that did not sign the server's certificate: refused, clearly.
            other_dir = os.path.join(d, "other-ca-" + server.kind)
            os.makedirs(other_dir)
            other_ca, _ = make_cert(other_dir)
            wd = os.path.join(d, "%s-wrong-ca" % server.kind)
            os.makedirs(wd)
            with Clockwerk(_config([endpoint(t.url("/ok?tls=wrongca"), timeout=1)], server,
                                   db_sslmode="verify-full", db_ca_file=other_ca), wd) as cw:
                cw.wait_ready()
                m = cw.wait_log(r"database unavailable[^\n]*127\.0\.0\.1:%d/[^\n]*" % server.port, timeout=30)
                check(re.search(r"certif|verif|SSL|TLS", m.group(0), re.I),
                      "%s: a certificate from another CA was not the reason: %s" % (server.kind, m.group(0)))
                harness.note("%s wrong CA: %s" % (server.kind, m.group(0)[:220]))
                check(not re.search(r"connected to %s://" % server.kind, cw.log_text()),
                      "%s: connected although the certificate is not from db_ca_file" % server.kind)
                cw.stop(timeout=deadline(15))
            # A server without TLS and db_sslmode = "require": the storer says so and keeps retrying.
            wd = os.path.join(d, "%s-require" % server.kind)
            os.makedirs(wd)
            with Clockwerk(_config([endpoint(t.url("/ok?tls=require"), timeout=1)], plain, db_sslmode="require"),
                           wd) as cw:
                kids = cw.wait_ready()
                m = cw.wait_log(r"database unavailable[^\n]*127\.0\.0\.1:%d/[^\n]*(SSL|TLS)[^\n]*" % plain.port,
                                timeout=30)
                harness.note("%s require without TLS: %s" % (server.kind, m.group(0)[:200]))
                check(cw.wait_ready() == kids, "children changed while the database refused plain text")
                cw.stop(timeout=deadline(15))
