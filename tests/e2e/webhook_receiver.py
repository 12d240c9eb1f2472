"""tests/e2e/webhook_receiver.py — local HTTP servers for the alerter's end-to-end tests.

    with WebhookReceiver() as hook:    hook.url -> "http://127.0.0.1:PORT/hook/TOKEN"; hook.calls() -> the JSON
                                       bodies POSTed there; hook.status = 500 makes it fail (to test retries);
                                       hook.url_for("t2") is a second hook on the same host and port, its
                                       answer hook.token_status["t2"] (default: status), its calls
                                       hook.calls("t2")
    with Switchboard() as sw:          sw.url("a") -> an endpoint whose answer the test sets:
                                       sw.set("a", status=500) / sw.set("a", status=200, delay=1.5)

Both run on 127.0.0.1 only, on a port the kernel picks, in a background thread (loopback_http.py);
stop() (called on every path by the context manager) closes the socket and wakes sleeping handlers.
"""

import json
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from loopback_http import BackgroundHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def _serve(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        try:
            status, delay = self.server.owner._handle(self.command, urlsplit(self.path).path, dict(self.headers), body)
            if delay and self.server.owner._stopping.wait(delay):
                return
            self._reply(status, b"ok\n" if status < 400 else b"failing on purpose\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = _serve
    do_HEAD = _serve
    do_POST = _serve


class _Base(BackgroundHTTPServer):
    handler = _Handler


class WebhookReceiver(_Base):
    """Records JSON POSTs to /hook/TOKEN; answers `status` (200 unless the test changes it)."""

    def __init__(self, token="s3cr3t-token"):
        super().__init__()
        self.token = token
        self.status = 200
        self.token_status = {}
        self._calls = []
        self.attempts = 0
        self.attempts_by_token = {}

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook/%s" % (self.port, self.token)

    def url_for(self, token):
        return "http://127.0.0.1:%d/hook/%s" % (self.port, token)

    def _handle(self, method, path, headers, body):
        token = path[len("/hook/"):] if path.startswith("/hook/") else None
        with self._lock:
            self.attempts += 1
            self.attempts_by_token[token] = self.attempts_by_token.get(token, 0) + 1
            status = self.token_status.get(token, self.status)
            known = token == self.token or token in self.token_status
            if method == "POST" and known and status < 300:
                try:
                    doc = json.loads(body.decode("utf-8"))
                except ValueError:
                    doc = {"_invalid": body.decode("utf-8", "replace")}
                self._calls.append({"json": doc, "headers": headers, "at": time.time(), "token": token})
        return status, 0

    def calls(self, token=None):
        token = token or self.token
        with self._lock:
            return [c["json"] for c in self._calls if c["token"] == token]

    def raw_calls(self):
        with self._lock:
            return list(self._calls)


class Switchboard(_Base):
    """Endpoints /sw/NAME whose status and delay the test sets at any time (default 200, no delay)."""

    def __init__(self):
        super().__init__()
        self._state = {}
        self._hits = {}

    def url(self, name):
        return "http://127.0.0.1:%d/sw/%s" % (self.port, name)

    def set(self, name, status=200, delay=0.0):
        """Switches the answer of NAME; returns its hit count at that instant (every later hit gets the
        new answer, every earlier one got the old: a test counts the checks that saw the switch exactly)."""
        with self._lock:
            self._state[name] = (status, delay)
            return self._hits.get(name, 0)

    def hits(self, name):
        with self._lock:
            return self._hits.get(name, 0)

    def _handle(self, method, path, headers, body):
        name = path[len("/sw/"):] if path.startswith("/sw/") else None
        with self._lock:
            if name is None:
                return 404, 0
            self._hits[name] = self._hits.get(name, 0) + 1
            return self._state.get(name, (200, 0.0))
