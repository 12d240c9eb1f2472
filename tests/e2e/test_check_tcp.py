"""tests/e2e/test_check_tcp.py — tcp checks end to end (issue 14): real supervisor, workers and storer against
TCP servers on 127.0.0.1 started by the test (Python threads): an SMTP-like banner (a multi-line 220), a
Redis-like server that answers PING with +PONG, one that answers -ERR, a silent one, a port nobody listens on,
and a listener whose accept queue is full (its SYNs are dropped: a connect that hangs).

What is checked in the checks table: ok and the error text of each case ("connection refused (127.0.0.1 port
N)", 'reply did not contain "+PONG" (...; got "-ERR ...")', "timed out after 1 s connecting to ..."); the
latency is the connect time (latency_ms = connect_ms); `send` reaches the server with its escapes decoded;
"localhost" is looked up (dns_ms set); the status code is 0.
"""

import json
import socket
import threading
import time

import harness
from harness import Clockwerk, Raw, base_config, check, free_port, tempdir, wait_for

NUL_GREETING = b"J\x00\x00\x00\x0a8.0.36\x00 banner"  # a MySQL-like greeting: NUL bytes in the reply
SLOW_REPLY_S = 0.4  # the slow server's delay: well inside the worker's 1 s of grace at SIGTERM

ROWS = ("SELECT c.ok, c.error, c.latency_ms, c.connect_ms, c.dns_ms, c.status_code FROM checks c "
        "JOIN endpoints e ON e.id = c.endpoint_id WHERE e.name = ? ORDER BY c.id")


class ThreadedServer:
    """A TCP server on 127.0.0.1 in a thread: each connection is served by self.serve(conn) in a thread of its
    own; leaving the `with` ends them all (test_check_tls.py's servers are ThreadedServers too)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()
        for c in self.conns:
            c.close()
        return False

    def _accept(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        raise NotImplementedError

    def hold(self, c):
        """Keeps the connection until the client closes it (or the server stops)."""
        c.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                if not c.recv(256):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def line(self, c):
        """One line from the client (up to LF), or OSError when it closes first."""
        data = b""
        while not data.endswith(b"\n") and not self.stopping.is_set():
            try:
                chunk = c.recv(1)
            except socket.timeout:
                continue
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data


class TcpServer(ThreadedServer):
    """mode says what the server does with a connection: banner (sends a multi-line SMTP 220), pong (reads a
    line; +PONG if it was PING), err (reads a line; -ERR), silent (sends nothing), slow (+PONG after
    SLOW_REPLY_S, without reading), nul (a binary greeting with NUL bytes, like MySQL's)."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        self.received = []
        self.accepted = 0

    def serve(self, c):
        c.settimeout(0.2)
        with self.lock:
            self.accepted += 1
        try:
            if self.mode == "slow":
                time.sleep(SLOW_REPLY_S)
                c.sendall(b"+PONG\r\n")
            elif self.mode == "nul":
                c.sendall(NUL_GREETING)
            elif self.mode == "banner":
                c.sendall(b"220-smtp.test ESMTP ready\r\n220 smtp.test\r\n")
            elif self.mode in ("pong", "err"):
                data = self.line(c)
                with self.lock:
                    self.received.append(data)
                if self.mode == "pong" and data == b"PING\r\n":
                    c.sendall(b"+PONG\r\n")
                else:
                    c.sendall(b"-ERR unknown command 'PINGX'\r\n")
            self.hold(c)
        except OSError:
            return


class FullBacklog:
    """A listener with a full accept queue: one connection made by the test, never accepted, fills a
    backlog of 0; further SYNs are dropped, so a connect hangs until the client gives up."""

    def __enter__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(2):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(f)
        return self

    def __exit__(self, *exc):
        for f in self.fillers:
            f.close()
        self.sock.close()
        return False


def tcp_endpoint(name, port, host="127.0.0.1", **kw):
    e = {"type": "tcp", "name": name, "host": host, "port": port, "timeout": 1}
    e.update(kw)
    return e


def rows(cw, name):
    return cw.db().query(ROWS, (name,))


def wait_rows(cw, name, n=2, timeout=40):
    return cw.wait_rows(ROWS, (name,), lambda r: len(r) >= n, timeout, "%d rows of %s" % (n, name))


@harness.timeout(240)
def test_tcp_cases():
    """Every case once: banner, PING/+PONG, -ERR, refused, silent, a connect that hangs, a plain connect,
    localhost."""
    with tempdir() as d, TcpServer("banner") as banner, TcpServer("pong") as pong, TcpServer("err") as err, \
            TcpServer("silent") as silent, FullBacklog() as full:
        closed = free_port()
        cases = [
            # (endpoint, ok, error: exact text, or a prefix ending in "...")
            (tcp_endpoint("smtp-banner", banner.port, expect="220 "), 1, None),
            (tcp_endpoint("redis-pong", pong.port, send=Raw('"PING\\r\\n"'), expect="+PONG"), 1, None),
            (tcp_endpoint("redis-err", err.port, send=Raw('"PINGX\\r\\n"'), expect="+PONG"), 0,
             'reply did not contain "+PONG" (within 1 s; got "-ERR unknown command \'PINGX\'\\r\\n")'),
            (tcp_endpoint("closed", closed), 0, "connection refused (127.0.0.1 port %d)" % closed),
            (tcp_endpoint("silent-expect", silent.port, expect="220 "), 0,
             'reply did not contain "220 " (within 1 s, nothing received)'),
            (tcp_endpoint("hangs", full.port), 0, "timed out after 1 s connecting to 127.0.0.1 port %d" % full.port),
            (tcp_endpoint("connect-only", silent.port), 1, None),
            (tcp_endpoint("localhost", banner.port, host="localhost", expect="smtp.test"), 1, None),
        ]
        cfg = base_config([c[0] for c in cases], workers=2, check_interval=2)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            for ep, _, _ in cases:
                wait_rows(cw, ep["name"])
            problems = []
            for ep, want_ok, want_err in cases:
                for ok, error, latency, connect, dns, status in rows(cw, ep["name"]):
                    where = ep["name"]
                    if ok != want_ok:
                        problems.append("%s: ok %s (%r), expected %s" % (where, ok, error, want_ok))
                    if want_err is None and error is not None:
                        problems.append("%s: error %r on an ok check" % (where, error))
                    if want_err is not None and error != want_err:
                        problems.append("%s: error %r, expected %r" % (where, error, want_err))
                    if status != 0:
                        problems.append("%s: status_code %r, expected 0" % (where, status))
                    if ok and (connect is None or latency != connect):
                        problems.append("%s: latency_ms %r is not connect_ms %r" % (where, latency, connect))
                    if ep["name"] == "localhost" and ok and dns is None:
                        problems.append("%s: no dns_ms for a looked-up name" % where)
            with pong.lock:
                got = list(pong.received)
            if not got or any(x != b"PING\r\n" for x in got):
                problems.append("the +PONG server received %r, expected b'PING\\r\\n' per check" % got[:3])
            check(not problems, "tcp cases:\n  " + "\n  ".join(problems[:30]))
            cw.stop()


@harness.timeout(120)
def test_sigterm_lets_tcp_checks_in_flight_finish():
    """A tcp check in flight when the pipeline stops (SIGTERM) still gets its result: the worker's second of
    grace covers the engine's checks as it does libcurl's. The server answers +PONG 0.4 s after the connect; the
    stop comes as soon as it has accepted the connection; the stored row is the ok check."""
    with tempdir() as d, TcpServer("slow") as slow:
        ep = tcp_endpoint("slow-pong", slow.port, expect="+PONG", timeout=3)
        cfg = base_config([ep], workers=1, check_interval=10)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            wait_for(lambda: slow.accepted >= 1, 30, "the first check's connect")
            cw.stop()
            got = rows(cw, "slow-pong")
            check(len(got) == 1 and got[0][0] == 1 and got[0][1] is None,
                  "rows after the stop: %r (expected the check in flight at SIGTERM, ok)" % (got,))


@harness.timeout(120)
def test_reply_with_nul_bytes_is_stored():
    """A reply holding NUL bytes (a MySQL greeting, any binary protocol) is a result like any other: stored, ok,
    its figures' reply showing each NUL as U+2400 (never \\u0000, which PostgreSQL's jsonb refuses and the
    receivers' check refuses with it). A check whose result is lost makes no row: the plain check beside it
    says how many rows there should be."""
    with tempdir() as d, TcpServer("nul") as nul:
        eps = [tcp_endpoint("nul-greeting", nul.port, expect="8.0"), tcp_endpoint("plain", nul.port)]
        with Clockwerk(base_config(eps, workers=1, check_interval=1), d) as cw:
            cw.wait_ready()
            wait_rows(cw, "plain", n=3)
            got = wait_rows(cw, "nul-greeting", n=2, timeout=10)
            check(all(r[0] == 1 and r[1] is None for r in got), "nul-greeting rows: %r" % (got,))
            q = "SELECT c.details FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.name = ?"
            details = [r[0] for r in cw.db().query(q, ("nul-greeting",))]
            want = NUL_GREETING.decode().replace("\x00", "\u2400")
            check(details and all(json.loads(x).get("reply") == want for x in details),
                  "details %r, expected the reply %r" % (details[:2], want))
            cw.stop()
