"""tests/e2e/test_tls.py — TLS done right, end to end: real supervisor, workers, storer and alerter
against local HTTPS servers (Python ssl) whose certificates are made at test time with openssl in the
test's directory.

Certificates: a test CA; under it a valid certificate for 127.0.0.1/localhost (30 days), one that
expires in 5 days, an expired one (2020-01-01 .. 2020-01-02, made with `openssl ca -startdate/-enddate`),
and one for the wrong host (wrong.example); plus a self-signed one.

What is checked: each case gives the expected ok flag and error text in the checks table (verification is
on by default); verify_tls = false makes the bad ones pass; ca_file makes the CA-signed ones pass;
tls_expires_at is stored (NULL for http); a certificate expiring within tls_expiry_days raises exactly one
tls_expiry alert (mail + alerts row), and no second one after the alerter is killed and restarted nor after
a restart of the whole pipeline; probes refuse a redirect to ftp:// or file://, stop after 10 redirects, and
cut a huge body (the check still finishes, quickly); a PostgreSQL or MariaDB database of schema version 1
is upgraded in place to 2 (the column that holds the expiry).
"""

import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from smtp_server import SmtpServer
from targets import Targets, make_self_signed_cert

ALERTER = "clockwerk: alerter"


# ------------------------------------------------------------------------- certificates

def _openssl(*args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    check(r.returncode == 0, "openssl %s failed: %s" % (" ".join(args[:2]), r.stderr.strip()[-500:]))
    return r.stdout


class Certs:
    """Every certificate the tests need, in directory d/certs. Attributes are (certfile, keyfile) pairs;
    ca is the CA's certificate file (what ca_file points to)."""

    def __init__(self, d):
        self.dir = os.path.join(d, "certs")
        os.makedirs(self.dir)
        p = lambda n: os.path.join(self.dir, n)  # noqa: E731
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "60", "-subj", "/CN=Clockwerk Test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-keyout", p("ca.key"), "-out", p("ca.pem"))
        self.ca = p("ca.pem")
        self.valid = self._leaf("valid", "127.0.0.1", "IP:127.0.0.1,DNS:localhost", days=30)
        self.soon = self._leaf("soon", "127.0.0.1", "IP:127.0.0.1,DNS:localhost", days=5)
        self.wrong_host = self._leaf("wrong", "wrong.example", "DNS:wrong.example", days=30)
        self.expired = self._leaf("expired", "127.0.0.1", "IP:127.0.0.1,DNS:localhost",
                                  dates=("20200101000000Z", "20200102000000Z"))
        sdir = p("self")
        os.makedirs(sdir)
        self.self_signed = make_self_signed_cert(sdir)

    def _leaf(self, name, cn, san, days=None, dates=None):
        p = lambda n: os.path.join(self.dir, n)  # noqa: E731
        key, csr, cert, ext = p(name + ".key"), p(name + ".csr"), p(name + ".pem"), p(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nsubjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn, "-keyout", key, "-out", csr)
        if dates is None:
            _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", p("ca.key"), "-CAcreateserial",
                     "-days", str(days), "-sha256", "-extfile", ext, "-out", cert)
        else:
            # `openssl x509 -days` cannot go into the past: a minimal `openssl ca` setup takes explicit dates.
            cadir = p("ca-db")
            os.makedirs(os.path.join(cadir, "new"), exist_ok=True)
            open(os.path.join(cadir, "index.txt"), "w").close()
            with open(os.path.join(cadir, "serial"), "w") as f:
                f.write("1000\n")
            conf = p("ca.cnf")
            with open(conf, "w") as f:
                f.write("[ca]\ndefault_ca = test\n[test]\ndatabase = %s/index.txt\nnew_certs_dir = %s/new\n"
                        "serial = %s/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
                        "[any]\ncommonName = supplied\n" % (cadir, cadir, cadir))
            _openssl("ca", "-batch", "-notext", "-config", conf, "-cert", self.ca, "-keyfile", p("ca.key"),
                     "-in", csr, "-out", cert, "-startdate", dates[0], "-enddate", dates[1], "-extfile", ext)
        return cert, key

    def not_after(self, pair):
        out = _openssl("x509", "-in", pair[0], "-noout", "-enddate").strip()  # notAfter=Jan  2 00:00:00 2020 GMT
        return datetime.strptime(out.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=timezone.utc)


# ------------------------------------------------------------------------- a hostile plain-http server

HUGE_BYTES = 64 * 1024 * 1024


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        srv = self.server
        try:
            if self.path == "/to-ftp":
                self._redirect("ftp://127.0.0.1:%d/" % srv.server_address[1])
            elif self.path == "/to-file":
                self._redirect("file:///etc/passwd")
            elif self.path.startswith("/loop"):
                n = int(self.path[len("/loop"):] or 0)
                with srv.lock:
                    srv.loop_hits += 1
                self._redirect("/loop%d" % (n + 1))
            elif self.path.startswith("/huge"):
                # no Content-Length: a body of unknown length, ended by closing the connection
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                chunk = b"x" * 65536
                sent = 0
                try:
                    while sent < HUGE_BYTES and not srv.stopping.is_set():
                        self.wfile.write(chunk)
                        sent += len(chunk)
                finally:
                    with srv.lock:
                        srv.huge_sent.append(sent)
            else:
                self.send_response(200)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _redirect(self, where):
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Hostile:
    def __enter__(self):
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
        self.srv.daemon_threads = True
        self.srv.lock = threading.Lock()
        self.srv.stopping = threading.Event()
        self.srv.loop_hits = 0
        self.srv.huge_sent = []
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.stopping.set()
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(timeout=5)
        return False

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


# ------------------------------------------------------------------------- helpers

def rows_of(cw, url):
    return cw.db().query("SELECT c.ok, c.status_code, c.error, c.tls_expires_at, c.latency_ms FROM checks c "
                         "JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ? ORDER BY c.id", (url,))


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def tls_alert_rows(cw):
    return cw.db().try_query("SELECT a.alert_id, e.url, a.email_state, a.message FROM alerts a "
                             "JOIN endpoints e ON e.id = a.endpoint_id WHERE a.kind = 'tls_expiry'") or []


# ------------------------------------------------------------------------- tests

@harness.timeout(240)
def test_certificate_verification():
    """Each certificate case: expected ok flag and error text; verify_tls = false and ca_file; expiry stored."""
    with tempdir() as d:
        certs = Certs(d)
        servers = {name: Targets(tls_cert=getattr(certs, name)) for name in
                   ("valid", "self_signed", "expired", "wrong_host")}
        for s in servers.values():
            s.start()
        try:
            with Targets() as plain:
                u = lambda name, tag: servers[name].url("/ok?" + tag)  # noqa: E731
                cases = [
                    # (url, endpoint options, ok, error prefix, expiry expected)
                    (u("valid", "ca"), {"ca_file": certs.ca}, 1, None, certs.not_after(certs.valid)),
                    (u("valid", "noca"), {}, 0, "TLS certificate not trusted (unknown CA)", None),
                    (u("self_signed", "strict"), {}, 0, "TLS certificate is self-signed", None),
                    (u("self_signed", "off"), {"verify_tls": False}, 1, None,
                     certs.not_after(certs.self_signed)),
                    (u("expired", "ca"), {"ca_file": certs.ca}, 0, "TLS certificate expired", None),
                    (u("expired", "off"), {"verify_tls": False}, 1, None, certs.not_after(certs.expired)),
                    (u("wrong_host", "ca"), {"ca_file": certs.ca}, 0,
                     "TLS certificate does not match host 127.0.0.1",
                     certs.not_after(certs.wrong_host)),  # docs/schema.md: read before the name check
                    (u("wrong_host", "off"), {"verify_tls": False}, 1, None, certs.not_after(certs.wrong_host)),
                    (plain.url("/ok?plain"), {}, 1, None, None),
                ]
                eps = [endpoint(url, timeout=2, **opts) for url, opts, *_ in cases]
                cfg = base_config(eps, workers=2, check_interval=2, extra={"monitor": {"tls_expiry_days": 0}})
                with Clockwerk(cfg, d) as cw:
                    cw.wait_ready()
                    for url, *_ in cases:
                        cw.wait_count(url, 2, timeout=40)
                    problems = []
                    for url, opts, want_ok, want_err, want_exp in cases:
                        for ok, status, err, exp, lat in rows_of(cw, url):
                            if ok != want_ok:
                                problems.append("%s %s: ok %s (%s), expected %s" % (url, opts, ok, err, want_ok))
                            if want_err is None and err is not None:
                                problems.append("%s: error %r on an ok check" % (url, err))
                            if want_err is not None and not (err or "").startswith(want_err):
                                problems.append("%s: error %r, expected it to start with %r" % (url, err, want_err))
                            if want_ok == 0 and status != 0:
                                problems.append("%s: status %s after a failed verification" % (url, status))
                            if want_exp == "any":
                                pass
                            elif want_exp is None and exp is not None:
                                problems.append("%s: tls_expires_at %r, expected NULL" % (url, exp))
                            elif want_exp is not None and exp != iso(want_exp):
                                problems.append("%s: tls_expires_at %r, expected %s" % (url, exp, iso(want_exp)))
                    harness.note("errors: " + "; ".join(
                        sorted({str(rows_of(cw, url)[0][2]) for url, _, ok, *_ in cases if not ok})))
                    check(not problems, "TLS cases:\n  " + "\n  ".join(problems[:30]))
                    cw.stop()
        finally:
            for s in servers.values():
                s.stop()


@harness.timeout(240)
def test_tls_expiry_alert_once():
    """A certificate that expires in 5 days (tls_expiry_days 14): one tls_expiry mail and alerts row; none
    more while it keeps being checked, after the alerter is killed (-9) and restarted, and after the
    whole pipeline is restarted. A certificate 30 days away raises nothing."""
    with tempdir() as d, SmtpServer() as smtp:
        certs = Certs(d)
        with Targets(tls_cert=certs.soon) as soon, Targets(tls_cert=certs.valid) as far:
            soon_url, far_url = soon.url("/ok?soon"), far.url("/ok?far")
            email = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "email_from": "monitor@example.test",
                     "email_to": ["ops@example.test"], "smtp_tls": "none"}
            cfg = base_config([endpoint(soon_url, timeout=2, ca_file=certs.ca, name="soon-cert"),
                               endpoint(far_url, timeout=2, ca_file=certs.ca)], workers=2, check_interval=2,
                              extra={"email": email, "alerts": {"group_threshold": 5}})
            expires = iso(certs.not_after(certs.soon))
            with Clockwerk(cfg, d) as cw:
                kids = cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
                mails = smtp.wait_messages(1, "TLS EXPIRY", timeout=40)
                m = mails[0]
                check("soon-cert" in m["subject"], "subject %r does not name the endpoint" % m["subject"])
                shown = expires[:10] + " " + expires[11:19] + " UTC"  # the mail's time format (docs/alerts.md)
                check(shown in m["body"], "the mail does not give the expiry date %s:\n%s" % (shown, m["body"]))
                harness.note("tls_expiry mail: %s | %s" % (m["subject"], m["body"].strip().splitlines()[0]))
                rows = wait_for(lambda: tls_alert_rows(cw) if tls_alert_rows(cw) else None, deadline(30),
                                "the tls_expiry row in alerts")
                n = len(rows_of(cw, soon_url))
                cw.wait_count(soon_url, n + 3, timeout=30)
                check(len(smtp.messages("TLS EXPIRY")) == 1, "more than one tls_expiry mail: %s" % smtp.subjects())
                # the alerter killed and restarted: it remembers the date it alerted
                old = kids[ALERTER]
                os.kill(old, signal.SIGKILL)
                cw.wait_new_child(ALERTER, old, timeout=30)
                cw.wait_log(r"state restored from", timeout=30)
                n = len(rows_of(cw, soon_url))
                cw.wait_count(soon_url, n + 4, timeout=30)
                cw.stop()
            check(len(smtp.messages("TLS EXPIRY")) == 1,
                  "a second tls_expiry mail after the alerter restart: %s" % smtp.subjects())
            # the whole pipeline again, same directory (same state file, same database)
            with Clockwerk(cfg, d) as cw:
                cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
                n = len(rows_of(cw, soon_url))
                cw.wait_count(soon_url, n + 4, timeout=30)
                time.sleep(1.5)  # observation length: a wrong mail would be on its way by now (grouping window)
                rows = tls_alert_rows(cw)
                cw.stop()
            subjects = smtp.subjects()
            check(len(smtp.messages("TLS EXPIRY")) == 1, "a second tls_expiry mail after a restart: %s" % subjects)
            check(len(subjects) == 1, "unexpected mails: %s" % subjects)
            check(len(rows) == 1 and rows[0][1] == soon_url and rows[0][2] == "sent",
                  "alerts rows of kind tls_expiry: %r" % rows)
            stored = {r[3] for r in rows_of_db(d, soon_url)}
            check(stored == {expires}, "tls_expires_at of the soon certificate: %r, expected %s" % (stored, expires))


def rows_of_db(d, url):
    db = harness.Sqlite(os.path.join(d, "clockwerk.db"))
    return db.query("SELECT c.ok, c.status_code, c.error, c.tls_expires_at FROM checks c "
                    "JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ?", (url,))


@harness.timeout(180)
def test_protocols_redirects_and_body_cap():
    """Redirects to ftp:// and file:// fail the check (probes speak http and https only); a redirect loop
    stops after 10; a 64 MiB body of unknown length is cut at 1 MiB and the check still finishes (ok: the
    status is fine), and a keyword beyond the cut is reported as such."""
    with tempdir() as d, Hostile() as h:
        cases = [
            (h.url("/to-ftp"), {"follow_redirects": True}, 0, "Protocol \"ftp\" not supported"),
            (h.url("/to-file"), {"follow_redirects": True}, 0, "Protocol \"file\" not supported"),
            (h.url("/loop"), {"follow_redirects": True}, 0, "Maximum (10) redirects followed"),
            (h.url("/huge"), {}, 1, None),
            (h.url("/huge?kw"), {"keyword": "never-there"}, 0,
             "keyword \"never-there\" not found in the first 1 MiB of the body"),
        ]
        cfg = base_config([endpoint(url, timeout=5, **o) for url, o, *_ in cases], workers=1, check_interval=5)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            for url, *_ in cases:
                cw.wait_count(url, 2, timeout=40)
            problems = []
            for url, opts, want_ok, want_err in cases:
                for ok, status, err, exp, lat in rows_of(cw, url):
                    if ok != want_ok:
                        problems.append("%s: ok %s (%s), expected %s" % (url, ok, err, want_ok))
                    if want_err and want_err not in (err or ""):
                        problems.append("%s: error %r, expected %r" % (url, err, want_err))
                    if "/huge" in url and (lat is None or lat > 4000):
                        problems.append("%s: latency %r ms (the cut body should end the check)" % (url, lat))
            with h.srv.lock:
                sent = list(h.srv.huge_sent)
                loops = h.srv.loop_hits
            check(sent and max(sent) < HUGE_BYTES,
                  "the server sent whole huge bodies (%s bytes each): the probe read on" % sent)
            harness.note("huge body: the server got to send at most %.1f MiB of 64 before the probe closed"
                         % (max(sent) / 1048576.0))
            checks_loop = len(rows_of(cw, h.url("/loop")))
            check(loops <= 11 * (checks_loop + 1), "%d redirect hits for %d loop checks" % (loops, checks_loop))
            check(not problems, "protocol/redirect/body cases:\n  " + "\n  ".join(problems[:20]))
            cw.stop()


@harness.timeout(240)
def test_schema_upgrade_v1_to_v2():
    """PostgreSQL and MariaDB: a database of schema version 1 with a check in it is upgraded in place to 2
    (checks.tls_expires_at, NULL in the old row) by the storer's migrate; on MariaDB also a step that was
    interrupted after its ALTER (column there, version row missing) is completed. (SQLite: unit test.)"""
    from dbservers import MariaDBServer, PostgresServer
    from test_databases import _run_bench, _server_args
    with PostgresServer() as pg, MariaDBServer() as my:
        for name, server in (("postgresql", pg), ("mysql", my)):
            r = _run_bench(_server_args(server) + ["open"], server)
            check(r.returncode == 0, "%s: first migrate exited %d: %s %s" % (name, r.returncode, r.stdout, r.stderr))
            server.query("ALTER TABLE checks DROP COLUMN tls_expires_at")
            server.query("DELETE FROM schema_version WHERE version >= 2")
            server.query("INSERT INTO endpoints (url) VALUES ('http://old.example/')")
            server.query("INSERT INTO checks (endpoint_id, checked_at, status_code, ok, worker, boot_id, seq) "
                         "SELECT id, '2026-01-01 00:00:00', 200, %s, 0, 1, 1 FROM endpoints WHERE url = "
                         "'http://old.example/'" % ("true" if name == "postgresql" else "1"))
            r = _run_bench(_server_args(server) + ["open"], server)
            check(r.returncode == 0, "%s: upgrade exited %d: %s %s" % (name, r.returncode, r.stdout, r.stderr))
            versions = sorted(int(v[0]) for v in server.query("SELECT version FROM schema_version"))
            check(versions == [1, 2, 3, 4, 5, 6], "%s: schema_version after the upgrade: %r" % (name, versions))
            old = server.query("SELECT tls_expires_at FROM checks WHERE seq = 1")
            check(old == [[None]], "%s: the old row's tls_expires_at: %r" % (name, old))
            if name == "mysql":
                server.query("DELETE FROM schema_version WHERE version >= 2")  # as if killed after the ALTER
                r = _run_bench(_server_args(server) + ["open"], server)
                check(r.returncode == 0, "mysql: completing an interrupted step exited %d: %s %s"
                      % (r.returncode, r.stdout, r.stderr))
                versions = sorted(int(v[0]) for v in server.query("SELECT version FROM schema_version"))
                check(versions == [1, 2, 3, 4, 5, 6], "mysql: schema_version after completing the step: %r" % versions)
            harness.note("%s: version 1 -> 2 in place (%s)" % (name, r.stdout.strip()[:120]))
