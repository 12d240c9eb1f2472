"""tests/e2e/test_check_tls.py — tls checks end to end (issue 14): real supervisor, workers and storer against
TLS servers on 127.0.0.1 started by the test: Python ssl servers with the certificates of test_tls.py's Certs
(a test CA; valid, expiring in 5 days, expired, wrong host; self-signed), small SMTP and IMAP servers that
speak STARTTLS (an SMTP one that does not offer it, one that sends bytes after its 220), PostgreSQL with ssl = on
(its SSLRequest), and a silent plain-TCP port (a handshake that never completes).

What is checked in the checks table: ok and the error text of each case — the same texts as the HTTPS checks
("TLS certificate expired", "... is self-signed", "... does not match host H", "... not trusted (unknown CA)"),
"TLS certificate expires in N days (< 14)" for min_cert_days, "SMTP server does not offer STARTTLS", "data after
the STARTTLS reply (5 bytes)", "timed out after 1 s in the TLS handshake"; verify_tls = false passes a bad
certificate; server_name is the name checked; tls_expires_at is the leaf's notAfter (so TLS-expiry alerts work for
tls checks); tls_ms and connect_ms are set.
"""

import contextlib
import json
import os
import re
import ssl
import subprocess

import harness
from harness import Clockwerk, base_config, check, tempdir
from dbservers import PostgresServer
from test_check_tcp import TcpServer, ThreadedServer
from test_tls import Certs, iso

ROWS = ("SELECT c.ok, c.error, c.tls_expires_at, c.tls_ms, c.connect_ms, c.latency_ms FROM checks c "
        "JOIN endpoints e ON e.id = c.endpoint_id WHERE e.name = ? ORDER BY c.id")


class TlsServer(ThreadedServer):
    """A TLS server with the certificate pair (cert, key). mode: "tls" (TLS at once), "smtp" (a 220 greeting over
    two lines, EHLO -> 250 with STARTTLS, STARTTLS -> 220, then TLS), "smtp-plain" (EHLO without STARTTLS),
    "smtp-extra" (5 bytes after the 220, in the same segment), "imap"
    (* OK, a1 STARTTLS -> a1 OK, then TLS)."""

    def __init__(self, pair, mode="tls"):
        super().__init__()
        self.mode = mode
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pair[0], pair[1])

    def serve(self, c):
        c.settimeout(5)
        try:
            if self.mode.startswith("smtp"):
                c.sendall(b"220-smtp.test ESMTP\r\n220 ready\r\n")
                if not self.line(c).startswith(b"EHLO "):
                    return
                offer = b"" if self.mode == "smtp-plain" else b"250-STARTTLS\r\n"
                c.sendall(b"250-smtp.test\r\n250-PIPELINING\r\n" + offer + b"250 HELP\r\n")
                if self.mode == "smtp-plain" or self.line(c) != b"STARTTLS\r\n":
                    self.hold(c)
                    return
                # "smtp-extra": bytes after the 220, the STARTTLS command-injection pattern
                c.sendall(b"220 go ahead\r\n" + (b"250 x" if self.mode == "smtp-extra" else b""))
            elif self.mode == "imap":
                c.sendall(b"* OK IMAP4rev1 ready\r\n")
                if self.line(c) != b"a1 STARTTLS\r\n":
                    return
                c.sendall(b"* CAPABILITY IMAP4rev1\r\na1 OK begin TLS\r\n")
            c.settimeout(5)
            self.hold(self.ctx.wrap_socket(c, server_side=True))
        except (OSError, ssl.SSLError):
            return


def tls_endpoint(name, port, **kw):
    e = {"type": "tls", "name": name, "host": "127.0.0.1", "port": port, "timeout": 1}
    e.update(kw)
    return e


@harness.timeout(300)
def test_tls_cases():
    """Every certificate case, min_cert_days, server_name, STARTTLS smtp/imap/postgres, a silent port. A tls
    check's key is tls://host:port, so each case has a server of its own."""
    with tempdir() as d, PostgresServer(tls=True) as pg, contextlib.ExitStack() as stack:
        certs = Certs(d)
        ca = certs.ca

        def server(pair, mode="tls"):
            return stack.enter_context(TlsServer(pair, mode)).port

        valid_exp = iso(certs.not_after(certs.valid))
        silent = stack.enter_context(TcpServer("silent"))
        cases = [
            # (endpoint, ok, error (exact, or a compiled regex), tls_expires_at expected (None: any))
            (tls_endpoint("valid", server(certs.valid), ca_file=ca), 1, None, valid_exp),
            (tls_endpoint("valid-localhost", server(certs.valid), ca_file=ca, server_name="localhost"), 1, None,
             valid_exp),
            (tls_endpoint("valid-other-name", server(certs.valid), ca_file=ca, server_name="other.example"), 0,
             "TLS certificate does not match host other.example", valid_exp),
            (tls_endpoint("valid-system-cas", server(certs.valid)), 0, "TLS certificate not trusted (unknown CA)",
             valid_exp),
            (tls_endpoint("valid-min-days", server(certs.valid), ca_file=ca, min_cert_days=14), 1, None, valid_exp),
            (tls_endpoint("soon-min-days", server(certs.soon), ca_file=ca, min_cert_days=14), 0,
             re.compile(r"TLS certificate expires in [45] days \(< 14\)$"), iso(certs.not_after(certs.soon))),
            (tls_endpoint("expired", server(certs.expired), ca_file=ca), 0, "TLS certificate expired",
             iso(certs.not_after(certs.expired))),
            (tls_endpoint("expired-noverify", server(certs.expired), verify_tls=False), 1, None,
             iso(certs.not_after(certs.expired))),
            (tls_endpoint("wrong-host", server(certs.wrong_host), ca_file=ca), 0,
             "TLS certificate does not match host 127.0.0.1", iso(certs.not_after(certs.wrong_host))),
            (tls_endpoint("self-signed", server(certs.self_signed)), 0, "TLS certificate is self-signed", None),
            (tls_endpoint("smtp", server(certs.valid, "smtp"), ca_file=ca, starttls="smtp"), 1, None, valid_exp),
            (tls_endpoint("smtp-no-starttls", server(certs.valid, "smtp-plain"), ca_file=ca, starttls="smtp"), 0,
             "SMTP server does not offer STARTTLS", None),
            (tls_endpoint("smtp-extra", server(certs.valid, "smtp-extra"), ca_file=ca, starttls="smtp"), 0,
             "data after the STARTTLS reply (5 bytes)", None),
            (tls_endpoint("imap", server(certs.valid, "imap"), ca_file=ca, starttls="imap"), 1, None, valid_exp),
            (tls_endpoint("postgres", pg.port, ca_file=pg.cert, starttls="postgres", timeout=2), 1, None, None),
            (tls_endpoint("silent", silent.port), 0, "timed out after 1 s in the TLS handshake", None),
        ]
        cfg = base_config([c[0] for c in cases], workers=2, check_interval=2)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            for ep, *_ in cases:
                cw.wait_rows(ROWS, (ep["name"],), lambda r: len(r) >= 2, 40, "2 rows of %s" % ep["name"])
            problems = []
            for ep, want_ok, want_err, want_exp in cases:
                for ok, error, exp, tls_ms, connect_ms, latency in cw.db().query(ROWS, (ep["name"],)):
                    where = ep["name"]
                    if ok != want_ok:
                        problems.append("%s: ok %s (%r), expected %s" % (where, ok, error, want_ok))
                    if want_err is None and error is not None:
                        problems.append("%s: error %r on an ok check" % (where, error))
                    if isinstance(want_err, str) and error != want_err:
                        problems.append("%s: error %r, expected %r" % (where, error, want_err))
                    if hasattr(want_err, "match") and not want_err.match(error or ""):
                        problems.append("%s: error %r, expected /%s/" % (where, error, want_err.pattern))
                    if want_exp is not None and exp != want_exp:
                        problems.append("%s: tls_expires_at %r, expected %s" % (where, exp, want_exp))
                    if ok and (exp is None or tls_ms is None or connect_ms is None or latency is None):
                        problems.append("%s: an ok check without tls_expires_at/tls_ms/connect_ms/latency "
                                        "(%r %r %r %r)" % (where, exp, tls_ms, connect_ms, latency))
            check(not problems, "tls cases:\n  " + "\n  ".join(problems[:40]))
            cw.stop()


@harness.timeout(200)
def test_min_cert_days_judges_the_verified_chain():
    """min_cert_days judges the chain that verification built, not every certificate the server sent: an extra
    certificate the trust path does not need (an old cross-sign, expiring in 5 days) does not fail a check with
    min_cert_days = 14 whose verified chain is fine (figures: "chain": "verified"). When the chain does not
    verify (verify_tls = false, no CA to trust), the presented chain is all there is: the extra certificate
    counts (figures: "chain": "presented")."""
    with tempdir() as d, contextlib.ExitStack() as stack:
        certs = Certs(d)
        extra_key, extra = os.path.join(d, "extra.key"), os.path.join(d, "extra.pem")
        subprocess.check_call(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "5", "-subj",
                               "/CN=Old Cross Sign", "-keyout", extra_key, "-out", extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bundle = os.path.join(d, "bundle.pem")
        with open(bundle, "w") as f:
            f.write(open(certs.valid[0]).read() + open(extra).read())
        port = stack.enter_context(TlsServer((bundle, certs.valid[1]))).port
        eps = [tls_endpoint("verified", port, ca_file=certs.ca, min_cert_days=14),
               tls_endpoint("presented", port, host="localhost", verify_tls=False, min_cert_days=14)]
        q = ("SELECT c.ok, c.error, c.details FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
             "WHERE e.name = ? ORDER BY c.id")
        with Clockwerk(base_config(eps, workers=1, check_interval=1), d) as cw:
            cw.wait_ready()
            problems = []
            for name, want_ok, want_chain in (("verified", 1, "verified"), ("presented", 0, "presented")):
                got = cw.wait_rows(q, (name,), lambda r: len(r) >= 2, 40, "rows of " + name)
                for ok, error, details in got:
                    chain = json.loads(details or "{}").get("chain")
                    if ok != want_ok or chain != want_chain:
                        problems.append("%s: ok %s (%r), chain %r" % (name, ok, error, chain))
                    if not ok and not re.match(r"TLS certificate chain expires in [0-9]+ days \(< 14\): "
                                               r"CN=Old Cross Sign$", error or ""):
                        problems.append("%s: error %r" % (name, error))
            check(not problems, "\n  ".join(problems))
            cw.stop()
