"""tests/e2e/targets.py — local HTTP servers that Clockwerk's end-to-end tests check.

    with Targets(slow_delay=3.0) as t:
        t.url("/ok")            -> "http://127.0.0.1:PORT/ok"
        t.count("/ok")          -> requests served on that path so far
        t.requests("/echo")     -> the requests seen there: [{"method", "headers", "body", "path",
                                   "client_port", "at"}]

Paths (a query string is ignored for routing; a request is counted under the bare path and, when it
has one, under the path with its query string too, so /ok?a and /ok?b can be separate endpoints):
  /ok              200 "ok"                 /fail            500 "fail"
  /slow            200 after slow_delay s   /slow/SECONDS    200 after SECONDS
  /keyword         200, body holds KEYWORD  /nokeyword       200, body without it
  /empty           204, no body             /redirect        302 to /ok
  /status/NNN      status NNN               /echo            200, records the request (headers, body)
  /garbage         a reply that is not HTTP /hangup          closes the connection without a reply
  /keepalive       200, keeps the connection open (HTTP/1.1) for a client that wants to reuse it
  anything else    404
Targets(tls_cert=make_self_signed_cert(dir)) serves the same over https. max_in_flight is the most
requests served at once (to see that checks run concurrently).
HEAD and POST are answered like GET (HEAD without a body). A server runs on 127.0.0.1 only, on a port
the kernel picks, in a background thread (ThreadingHTTPServer, see loopback_http.py); stop() — called on
every path by the context manager — wakes sleeping slow handlers and closes the socket.
"""

import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from loopback_http import BackgroundHTTPServer, LoopbackHTTPServer

KEYWORD = "clockwerk-token"


class _Server(LoopbackHTTPServer):
    def finish_request(self, request, client_address):
        # In the request's own thread: the TLS handshake (if any) never blocks the accepting thread.
        if self.owner._tls is not None:
            request = self.owner._tls.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cw-e2e-target/1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)
        self.close_connection = True

    def _serve(self):
        t = self.server.owner
        with t._lock:
            t._in_flight += 1
            t.max_in_flight = max(t.max_in_flight, t._in_flight)
        try:
            self._serve_path(t)
        finally:
            with t._lock:
                t._in_flight -= 1

    def _serve_path(self, t):
        path = urlsplit(self.path).path
        body = b""
        n = int(self.headers.get("Content-Length") or 0)
        if n > 0:
            body = self.rfile.read(n)
        t._record(path, self.command, dict(self.headers.items()), body, self.client_address[1])
        if self.path != path:
            t._record(self.path, self.command, dict(self.headers.items()), body, self.client_address[1])
        try:
            if path == "/ok":
                self._reply(200, b"ok\n")
            elif path == "/fail":
                self._reply(500, b"fail\n")
            elif path == "/slow" or path.startswith("/slow/"):
                delay = t.slow_delay if path == "/slow" else float(path[len("/slow/"):])
                if t._stopping.wait(delay):
                    return
                self._reply(200, b"ok, slowly\n")
            elif path == "/keyword":
                self._reply(200, ("all good: %s here\n" % KEYWORD).encode())
            elif path == "/nokeyword":
                self._reply(200, b"all good, but not the word you look for\n")
            elif path == "/empty":
                self._reply(204)
            elif path == "/redirect":
                self._reply(302, b"moved\n", [("Location", "/ok")])
            elif path.startswith("/status/"):
                self._reply(int(path[len("/status/"):]), b"status\n")
            elif path == "/garbage":
                self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
                self.close_connection = True
            elif path == "/hangup":
                self.close_connection = True          # closes without a byte of response
            elif path == "/keepalive":                 # offers to keep the connection open
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")
                self.close_connection = False
            elif path == "/echo":
                self._reply(200, b"echo\n")
            else:
                self._reply(404, b"not found\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = _serve
    do_HEAD = _serve
    do_POST = _serve
    do_PUT = _serve


class Targets(BackgroundHTTPServer):
    """One HTTP server on 127.0.0.1 with the paths above and a request counter per path."""

    handler = _Handler
    server_class = _Server
    thread_name = "targets"

    def __init__(self, slow_delay=3.0, tls_cert=None):
        """tls_cert: (certfile, keyfile) to serve https (see make_self_signed_cert)."""
        super().__init__()
        self.slow_delay = slow_delay
        self._tls = None
        if tls_cert is not None:
            import ssl
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls_cert)
        self._in_flight = 0
        self.max_in_flight = 0  # the most requests served at the same time
        self._counts = {}
        self._requests = {}

    def url(self, path="/ok"):
        return "%s://127.0.0.1:%d%s" % ("https" if self._tls else "http", self.port, path)

    def _record(self, path, method, headers, body, client_port=None):
        with self._lock:
            self._counts[path] = self._counts.get(path, 0) + 1
            self._requests.setdefault(path, []).append(
                {"path": path, "method": method, "headers": headers, "body": body, "at": time.time(),
                 "client_port": client_port})
            del self._requests[path][:-50]  # keep the last 50 per path

    def count(self, path):
        with self._lock:
            return self._counts.get(path, 0)

    def counts(self):
        with self._lock:
            return dict(self._counts)

    def requests(self, path):
        with self._lock:
            return list(self._requests.get(path, []))


def make_self_signed_cert(directory, cn="127.0.0.1"):
    """Writes a self-signed certificate and its key (openssl, valid one day, for IP 127.0.0.1) into
    directory; returns (certfile, keyfile)."""
    import os
    import subprocess
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=" + cn, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key
