"""tests/e2e/test_http_assert.py — the HTTP assertions and request options of issue 14, end to end: a real
supervisor, worker and storer against Python HTTP(S) servers on loopback, every assertion once passing and once
failing with the check's error text compared.

Servers (all started and stopped by the tests): an HTTP/1.1 server with the paths below, an HTTP/1.0 one, an https
one with a certificate of a test CA (test_tls.Certs), an https one that requires a client certificate (mTLS), and a
small forward/CONNECT proxy that records what went through it.

  /json-up /json-down    JSON bodies (application/json)      /html          text/html "hello world version: 2.1 ERROR"
  /aaab                  "aaaa...ab" (a catastrophic regex)   /slow          200 after 0.6 s
  /method                records method and body              /status/NNN    status NNN
  /gzip /deflate /zstd   a body in that encoding, whatever the request asked ("decoded-marker" inside)
  /big                   2 MiB chunked, "END-MARK" at 1.5 MiB /to-http       302 to http://.../html
  /set-cookie            302 + Set-Cookie to /need-cookie     /need-cookie   200 with the cookie, else 403
  /num /true /arrnull /single /comma /nan /bigint   JSON oddities  /two-headers   X-V: 1 and X-V: 2
"""

import gzip
import os
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import harness
from harness import Clockwerk, base_config, check, endpoint, tempdir
from loopback_http import BackgroundHTTPServer, LoopbackHTTPServer
from test_tls import Certs, _openssl

BODY_HTML = b"hello world version: 2.1 ERROR\n"
BIG_BYTES = 2 * 1024 * 1024
MARK_AT = 1536 * 1024


JSON_ODDITIES = {"/num": b"42", "/true": b"true", "/arrnull": b'{"a":[null,1]}', "/single": b"{'a':1}",
                 "/comma": b'{"a":1,}', "/nan": b'{"a":NaN}', "/bigint": b'{"a":9007199254740993}'}
COMPRESSIBLE = b"".join(b"line %d of the text that holds the decoded-marker\n" % i for i in range(300))


def _encoded(kind, data):
    if kind == "gzip":
        return gzip.compress(data)
    if kind == "deflate":
        return zlib.compress(data)
    if kind == "zstd" and shutil.which("zstd"):
        return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, body=b"", ctype="text/plain", headers=()):
        self.send_response(status)
        fixed = [("Content-Type", ctype), ("Content-Length", str(len(body))), ("Connection", "close")]
        for k, v in fixed + list(headers):
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b"" if self.command == "HEAD" else body)
        self.close_connection = True

    def _big(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk, sent = b"x" * 65536, 0
        while sent < BIG_BYTES:
            piece = chunk if sent != MARK_AT else b"END-MARK" + chunk[8:]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def _serve(self):
        owner = self.server.owner
        path = urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with owner._lock:
            owner.seen.append((self.command, path, body, self.headers.get("Cookie")))
        try:
            if path == "/json-up":
                self._reply(200, b'{"status":"UP","queue":{"depth":5}}', "application/json")
            elif path == "/json-down":
                self._reply(200, b'{"status":"DOWN","queue":{"depth":150}}', "application/json")
            elif path in JSON_ODDITIES:
                self._reply(200, JSON_ODDITIES[path], "application/json")
            elif path == "/two-headers":
                self._reply(200, b"ok\n", headers=[("X-V", "1"), ("X-V", "2")])
            elif path == "/html":
                self._reply(200, BODY_HTML, "text/html")
            elif path == "/aaab":
                self._reply(200, b"a" * 40 + b"b")
            elif path == "/slow":
                time.sleep(0.6)
                self._reply(200, b"slow\n")
            elif path == "/method":
                self._reply(200, b"method=" + self.command.encode() + b" body=" + body)
            elif path.startswith("/status/"):
                self._reply(int(path[len("/status/"):]), b"status\n")
            elif path in ("/gzip", "/deflate", "/zstd"):
                data = _encoded(path[1:], COMPRESSIBLE)
                self._reply(200, data, headers=[("Content-Encoding", path[1:])])
            elif path == "/big":
                self._big()
            elif path == "/to-http":
                self._reply(302, b"", headers=[("Location", owner.plain_url + "/html")])
            elif path == "/set-cookie":
                self._reply(302, b"", headers=[("Location", "/need-cookie"), ("Set-Cookie", "sid=s3cr3t; Path=/")])
            elif path == "/need-cookie":
                ok = "sid=s3cr3t" in (self.headers.get("Cookie") or "")
                self._reply(200 if ok else 403, b"cookie\n" if ok else b"no cookie\n")
            else:
                self._reply(200, b"ok\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve


class _Handler10(_Handler):
    protocol_version = "HTTP/1.0"


class _TlsServer(LoopbackHTTPServer):
    def finish_request(self, request, client_address):
        try:
            request = self.owner.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


class Site(BackgroundHTTPServer):
    """One of the test's servers: plain (HTTP/1.1 or /1.0) or https (tls: an ssl.SSLContext)."""

    handler = _Handler

    def __init__(self, handler=None, tls=None, plain_url=""):
        super().__init__()
        if handler:
            self.handler = handler
        self.tls = tls
        if tls:
            self.server_class = _TlsServer
        self.seen = []
        self.plain_url = plain_url

    def url(self, path, host="127.0.0.1"):
        return "%s://%s:%d%s" % ("https" if self.tls else "http", host, self.port, path)


class _ProxyHandler(socketserver.BaseRequestHandler):
    """A forward proxy: CONNECT host:port (a tunnel), or an absolute-form request passed to its origin."""

    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            got = self.request.recv(4096)
            if not got:
                return
            head += got
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        with self.server.lock:
            self.server.seen.append(target)
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), timeout=5)
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                upstream.sendall(rest)
        else:
            u = urlsplit(target)
            upstream = socket.create_connection((u.hostname, u.port or 80), timeout=5)
            path = (u.path or "/") + ("?" + u.query if u.query else "")
            upstream.sendall(head.replace(target.encode(), path.encode(), 1))
        self._relay(upstream)

    def _relay(self, upstream):
        socks = [self.request, upstream]
        try:
            while True:
                r, _, _ = select.select(socks, [], [], 5)
                if not r:
                    return
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.request else self.request).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()


class Proxy:
    def __enter__(self):
        self.srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ProxyHandler)
        self.srv.daemon_threads = True
        self.srv.lock = threading.Lock()
        self.srv.seen = []
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(timeout=5)
        return False

    def seen(self):
        with self.srv.lock:
            return list(self.srv.seen)


def client_cert(certs, password):
    """A client certificate of the test CA, its key encrypted with password: (cert, key, password file)."""
    p = lambda n: os.path.join(certs.dir, n)  # noqa: E731
    with open(p("client.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    _openssl("req", "-new", "-newkey", "rsa:2048", "-passout", "pass:" + password, "-subj", "/CN=clockwerk-client",
             "-keyout", p("client.key"), "-out", p("client.csr"))
    _openssl("x509", "-req", "-in", p("client.csr"), "-CA", certs.ca, "-CAkey", p("ca.key"), "-CAcreateserial",
             "-days", "30", "-sha256", "-extfile", p("client.ext"), "-out", p("client.pem"))
    fd = os.open(p("client.pass"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return p("client.pem"), p("client.key"), p("client.pass")


def server_tls(pair, client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*pair)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
        # TLS 1.2: a missing client certificate fails the handshake itself (with 1.3 the server's alert comes
        # after it, and the client's error depends on when it reads)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def last_rows(cw, urls):
    """{url: (ok, error)} of each url's latest check."""
    rows = cw.db().query("SELECT e.url, c.ok, c.error FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                         "ORDER BY c.id")
    out = {}
    for url, ok, err in rows:
        if url in urls:
            out[url] = (ok, err)
    return out


def run_cases(d, cases, workers=1, env=None, interval=3):
    """cases: [(url, options, want_ok, want_error)]: want_error a prefix of the error, ("in", text) a part of it,
    or None. Runs them together; returns the problems."""
    eps = [endpoint(url, timeout=3, **opts) for url, opts, *_ in cases]
    cfg = base_config(eps, workers=workers, check_interval=interval)
    problems = []
    with Clockwerk(cfg, d, env=env) as cw:
        cw.wait_ready()
        for url, *_ in cases:
            cw.wait_count(url, 2, timeout=60)
        seen = last_rows(cw, {c[0] for c in cases})
        for url, opts, want_ok, want_err in cases:
            ok, err = seen[url]
            if ok != want_ok:
                problems.append("%s %s: ok %s (error %r), expected %s" % (url, opts, ok, err, want_ok))
            elif isinstance(want_err, tuple) and want_err[1] not in (err or ""):
                problems.append("%s %s: error %r, expected it to contain %r" % (url, opts, err, want_err[1]))
            elif isinstance(want_err, str) and not (err or "").startswith(want_err):
                problems.append("%s %s: error %r, expected it to start with %r" % (url, opts, err, want_err))
        harness.note("errors: " + " | ".join(sorted({str(seen[c[0]][1]) for c in cases if not c[2]})))
        cw.stop()
    return problems


@harness.timeout(240)
def test_body_and_status_assertions():
    """Status ranges, any method with a body, keywords, keywords_absent, body regexes (a catastrophic one ends at
    its match limit), JSON and header conditions, max_response_time, http_version: each passing and failing."""
    with tempdir() as d, Site() as s, Site(handler=_Handler10) as old:
        u = s.url
        cases = [
            (u("/status/503?a"), {"expect_status": ["5xx"]}, 1, None),
            (u("/status/503?b"), {"expect_status": harness.Raw('("2xx", 301)')}, 0, "status 503 not in 2xx, 301"),
            (u("/method?put"), {"method": "PUT", "body": "payload-1", "keywords": ["method=PUT body=payload-1"]},
             1, None),
            (u("/status/405?del"), {"method": "DELETE", "expect_status": ["2xx"]}, 0, "status 405 not in 2xx"),
            (u("/html?kw"), {"keywords": ["hello", "version"]}, 1, None),
            (u("/html?kwbad"), {"keywords": ["hello", "missing-word", "gone"]}, 0,
             'keyword "missing-word" not found (and 1 more)'),
            (u("/html?abs"), {"keywords_absent": ["FATAL"]}, 1, None),
            (u("/html?absbad"), {"keywords_absent": ["ERROR"]}, 0, 'keywords_absent "ERROR" found'),
            (u("/html?re"), {"body_regex": ["version: [0-9]+\\.[0-9]+"]}, 1, None),
            (u("/html?rebad"), {"body_regex": ["version: 3\\."]}, 0, 'body_regex "version: 3\\." not found in the body'),
            (u("/html?reabs"), {"body_regex_absent": ["(?i)fatal"]}, 1, None),
            (u("/html?reabsbad"), {"body_regex_absent": ["ERR(OR)?"]}, 0, 'body_regex_absent "ERR(OR)?" matched'),
            (u("/aaab"), {"body_regex": ["(a+)+$"]}, 0, 'body_regex "(a+)+$" exceeded its match limit'),
            (u("/json-up"), {"json": ['$.status == "UP"', "$.queue.depth < 100"]}, 1, None),
            (u("/json-down"), {"json": ['$.status == "UP"', "$.queue.depth < 100"]}, 0,
             'json $.status == "UP": got "DOWN" (and 1 more)'),
            (u("/json-up?h"), {"header_conditions": ["Content-Type ~ ^application/json"]}, 1, None),
            (u("/html?h"), {"header_conditions": ["Content-Type ~ ^application/json"]}, 0,
             'header Content-Type ~ ^application/json: got "text/html"'),
            (u("/slow?fast-enough"), {"max_response_time": 3.0}, 1, None),
            (u("/slow?too-slow"), {"max_response_time": 0.3}, 0, "response time 0.6"),
            (u("/html?v11"), {"http_version": "1.1"}, 1, None),
            (old.url("/html?v11"), {"http_version": "1.1"}, 0, "HTTP/1.0 (wanted HTTP/1.1)"),
        ]
        problems = run_cases(d, cases)
        puts = [b for m, p, b, _ in s.seen if p == "/method" and m == "PUT"]
        check(puts and puts[-1] == b"payload-1", "the PUT's body reached the server: %r" % puts[-1:])
        check(not problems, "assertions:\n  " + "\n  ".join(problems))


@harness.timeout(240)
def test_bodies_limits_and_compression():
    """compressed decodes gzip, deflate and zstd before matching (without it the keyword is not in the raw bytes);
    body_limit: a chunked 2 MiB body with a keyword at 1.5 MiB is cut at 1 MiB and read whole at 4 MiB; a body
    that needs buffering beyond the worker's budget fails with a clear error."""
    with tempdir() as d, Site() as s:
        u = s.url
        cases = []
        for enc in ("gzip", "deflate", "zstd"):
            raw = _encoded(enc, COMPRESSIBLE)
            if raw is None:
                harness.note("no %s encoder here: not tested" % enc)
                continue
            check(b"decoded-marker" not in raw, "the %s body shows the marker undecoded" % enc)
            cases.append((u("/%s?on" % enc), {"compressed": True, "keywords": ["decoded-marker"]}, 1, None))
            cases.append((u("/%s?off" % enc), {"keywords": ["decoded-marker"]}, 0,
                          'keyword "decoded-marker" not found'))
        harness.note("br: no brotli encoder in Python here (libcurl decodes it: 'brotli' in curl --version)")
        cases += [
            (u("/big?1m"), {"keyword": "END-MARK"}, 0, 'keyword "END-MARK" not found in the first 1 MiB of the body'),
            (u("/big?4m"), {"keyword": "END-MARK", "body_limit": 4 * 1024 * 1024}, 1, None),
            (u("/big?budget"), {"body_regex": ["END-MARK"], "body_limit": 4 * 1024 * 1024}, 0,
             "body buffer budget exhausted"),
        ]
        problems = run_cases(d, cases, env={"CLOCKWERK_BODY_BUDGET_BYTES": str(1024 * 1024)})
        check(not problems, "bodies:\n  " + "\n  ".join(problems))


@harness.timeout(300)
def test_tls_proxy_pin_and_cookies():
    """min_cert_days, fail_if_not_tls (after redirects), client certificates, a proxy (CONNECT and forward; the
    environment's proxy is never used), a pinned address for a name nothing resolves (it does not reach the next
    endpoint of the same host on the pooled handle), cookies across a redirect (and not to the next endpoint)."""
    with tempdir() as d, Site() as plain, Proxy() as proxy:
        certs = Certs(d)
        cert, key, passfile = client_cert(certs, "kiwi-password")
        with Site(tls=server_tls(certs.valid), plain_url=plain.url("")) as tls, \
                Site(tls=server_tls(certs.valid, client_ca=certs.ca)) as mtls:
            ca = {"ca_file": certs.ca}
            pin = {"address": "127.0.0.1"}
            cases = [
                (tls.url("/html?days"), dict(ca, min_cert_days=10), 1, None),
                (tls.url("/html?days60"), dict(ca, min_cert_days=60), 0, "TLS certificate expires in 29 days (< 60)"),
                (tls.url("/html?tls"), dict(ca, fail_if_not_tls=True), 1, None),
                (tls.url("/to-http"), dict(ca, fail_if_not_tls=True, follow_redirects=True), 0,
                 "not TLS: the check ended on http://127.0.0.1:%d/html" % plain.port),
                (mtls.url("/html?mtls"), dict(ca, client_cert=cert, client_key=key, client_key_password_file=passfile),
                 1, None),
                (mtls.url("/html?nocert"), dict(ca), 0, ("in", "alert")),
                (plain.url("/html?proxied"), {"proxy": "http://127.0.0.1:%d" % proxy.port}, 1, None),
                (tls.url("/html?tunnel"), dict(ca, proxy="http://127.0.0.1:%d" % proxy.port), 1, None),
                (plain.url("/html?deadproxy"), {"proxy": harness.closed_port_url().rstrip("/")}, 0, "Failed to connect"),
                (plain.url("/html?direct"), {}, 1, None),
                (plain.url("/set-cookie", host="pinned.cw.test"), dict(pin, cookies=True, follow_redirects=True), 1,
                 None),
                (plain.url("/need-cookie?nojar", host="pinned.cw.test"), {}, 0, "Could not resolve host"),
                (plain.url("/need-cookie?pinned", host="pinned.cw.test"), dict(pin), 0, "unexpected status 403"),
            ]
            env = {"http_proxy": "http://127.0.0.1:%d" % proxy.port, "https_proxy": "http://127.0.0.1:%d" % proxy.port}
            problems = run_cases(d, cases, env=env)
            through = proxy.seen()
            check(any("/html?proxied" in t for t in through), "the forward proxy saw the request: %r" % through)
            check(any(t == "127.0.0.1:%d" % tls.port for t in through), "the CONNECT went through: %r" % through)
            check(not any("direct" in t or "nojar" in t or "need-cookie" in t for t in through),
                  "the environment's proxy was used: %r" % through)
            check(not problems, "TLS, proxy, pin, cookies:\n  " + "\n  ".join(problems))


@harness.timeout(240)
def test_json_edges_and_missing_values():
    """A body that is a bare scalar is JSON; single quotes, a trailing comma and NaN are not; a null array element
    is there (not missing); integers beyond 2^53 compare exactly; `!=` on an absent header passes."""
    with tempdir() as d, Site() as s:
        u = s.url
        cases = [
            (u("/num"), {"json": ["$ == 42"]}, 1, None),
            (u("/true"), {"json": ["$ == true"]}, 1, None),
            (u("/arrnull"), {"json": ["$.a[0] == null"]}, 1, None),
            (u("/arrnull?gone"), {"json": ["$.a[2] exists"]}, 0, "json $.a[2] exists: missing"),
            (u("/single"), {"json": ["$.a == 1"]}, 0, ("in", "the body is not JSON")),
            (u("/comma"), {"json": ["$.a == 1"]}, 0, ("in", "the body is not JSON")),
            (u("/nan"), {"json": ["$.a exists"]}, 0, ("in", "the body is not JSON")),
            (u("/bigint"), {"json": ["$.a == 9007199254740992"]}, 0, "json $.a == 9007199254740992: got 900719925474"),
            (u("/bigint?eq"), {"json": ["$.a == 9007199254740993"]}, 1, None),
            (u("/two-headers?ne"), {"header_conditions": ['X-Missing != "on"']}, 1, None),
        ]
        problems = run_cases(d, cases)
        check(not problems, "JSON and missing values:\n  " + "\n  ".join(problems))


@harness.timeout(240)
def test_budget_refusal_comes_first():
    """A body the worker's budget refuses fails with the budget's text, not with a keyword "not found" in a body
    that was never read whole."""
    with tempdir() as d, Site() as s:
        u = s.url
        cases = [
            (u("/big?kw-budget"), {"keyword": "END-MARK", "body_regex": ["x"], "body_limit": 4 * 1024 * 1024}, 0,
             "body buffer budget exhausted"),
            (u("/big?kws-budget"), {"keywords": ["END-MARK"], "body_regex": ["x"], "body_limit": 4 * 1024 * 1024}, 0,
             "body buffer budget exhausted"),
        ]
        problems = run_cases(d, cases, env={"CLOCKWERK_BODY_BUDGET_BYTES": str(1024 * 1024)})
        check(not problems, "budget:\n  " + "\n  ".join(problems))
