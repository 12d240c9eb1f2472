"""tests/e2e/test_web_detail.py — an endpoint's page waits for its detail suspended (libmicrohttpd suspend/resume,
web/history_wait.c), over real HTTP, while the reader is slow for real: PostgreSQL (postmaster and backends)
stopped with SIGSTOP, so the reader thread's read of the detail hangs in libpq.

Meanwhile many clients ask for `/endpoint/ID` at once — most for one endpoint, some for three others — and half
of them close their socket before the answer (a FIN, or a RST through SO_LINGER 0) once the web has read their
request. While PostgreSQL is stopped: no page answers yet (they are suspended, not answered with something
else), and `/` and `/healthz` still answer (the HTTP loop is not blocked). After SIGCONT every client that
stayed gets its page; beyond the 64 requests that may wait, the API answers 503 in JSON with Retry-After at
once (the others wait); the web is the same process (same pid, no restart in the supervisor's counters), and
under ASan (CLOCKWERK_BIN=build/asan/bin) its logs hold no leak and no error (the harness fails the test on any
sanitizer report).
"""

import json
import os
import select
import signal
import socket
import struct

import harness
from dbservers import PostgresServer
from harness import Clockwerk, check, deadline, endpoint, free_port, tempdir, wait_for
from targets import Targets
from test_web import WEB, get, status_of, wait_serving, web_config
from test_web_api import Spec
from test_web_history import history_of

REFRESH = 5
MANY, FEW = 20, 6  # requests for the first endpoint, for each of the three others (queue: 64 at most)


def postgres_pids(server):
    """The postmaster and its children (backends, background processes): what the test stops."""
    with open(os.path.join(server.datadir, "postmaster.pid")) as f:
        master = int(f.readline())
    pids = [master]
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(name))
    return pids


def tcp_queues():
    """{(local port, remote port): (tx_queue, rx_queue)} of the loopback TCP sockets (/proc/net/tcp)."""
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            local, remote = int(cols[1].split(":")[1], 16), int(cols[2].split(":")[1], 16)
            tx, rx = (int(x, 16) for x in cols[4].split(":"))
            out[(local, remote)] = (tx, rx)
    return out


class Client:
    def __init__(self, port, path, close_early):
        self.path, self.close_early = path, close_early
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=deadline(5))
        self.local = self.sock.getsockname()[1]
        self.web_port = port
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
        self.data = b""

    def request_read(self, queues):
        """The web has read the request: nothing left in either side's queue."""
        mine, theirs = queues.get((self.local, self.web_port)), queues.get((self.web_port, self.local))
        return mine is not None and theirs is not None and mine[0] == 0 and theirs[1] == 0

    def answered(self):
        return bool(select.select([self.sock], [], [], 0)[0])


def read_all(c):
    """The whole answer (the web closes: Connection: close)."""
    c.sock.settimeout(deadline(30))
    while True:
        chunk = c.sock.recv(65536)
        if not chunk:
            break
        c.data += chunk
    c.sock.close()
    return c.data


def test_web_detail_suspended_while_postgres_is_stopped():
    with tempdir() as d, Targets() as t, PostgresServer() as server:
        port = free_port()
        eps = [endpoint(t.url("/ok"), name="One"), endpoint(t.url("/fail"), name="Two"),
               endpoint(t.url("/slow/0.01"), name="Three"), endpoint(t.url("/status/404"), name="Four")]
        cfg = web_config(eps, port, web={"history_refresh": REFRESH})
        cfg["database"] = {"db_activation": True, "db_driver": "postgresql", "db_host": "127.0.0.1",
                           "db_port": server.port, "db_name": server.dbname, "db_user": server.user,
                           "db_password": server.password}
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)
            wait_for(lambda: (history_of(port) or (0, 0))[0] == 4, deadline(60), "the history of 4 endpoints")
            # every page must have a chart after SIGCONT: each endpoint needs a stored check before PostgreSQL stops
            # (under ASan the storer may not have written one of them yet when the history first knows all four)
            wait_for(lambda: int(server.query("SELECT count(DISTINCT endpoint_id) FROM checks")[0][0]) == 4,
                     deadline(60), "a stored check of each endpoint")
            web_pid = cw.child(WEB)
            ids = [e["id"] for e in json.loads(get(port, "/api/v1/endpoints")[2])["endpoints"]]
            paths = ["/endpoint/%s" % ids[0]] * MANY + [p for i in ids[1:] for p in ["/endpoint/%s" % i] * FEW]
            stopped = []
            clients = []
            try:
                for pid in postgres_pids(server):
                    os.kill(pid, signal.SIGSTOP)
                    stopped.append(pid)
                for n, path in enumerate(paths):
                    clients.append(Client(port, path, close_early=n % 2 == 1))
                wait_for(lambda: all(c.request_read(tcp_queues()) for c in clients), deadline(20),
                         "the web reading every request")
                for n, c in enumerate(c for c in clients if c.close_early):
                    if n % 2:
                        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                    c.sock.close()
                # beyond 64 waiting (WEB_DETAIL_QUEUE) the answer is 503 at once, with Retry-After; on the API in
                # JSON, as docs/openapi.yaml says of every API answer
                extra = [Client(port, "/api/v1/endpoints/%s/history?res=hour" % ids[-1], close_early=False)
                         for _ in range(30)]
                wait_for(lambda: sum(c.answered() for c in extra) >= 30 + len(clients) - 64, deadline(20),
                         "the 503 of the requests beyond the 64 waiting")
                busy = [c for c in extra if c.answered()]
                for c in busy:
                    raw = read_all(c)
                    head, _, body = raw.partition(b"\r\n\r\n")
                    check(status_of(raw) == 503 and b"\r\nContent-Type: application/json" in head
                          and b"\r\nRetry-After: " in head and json.loads(body).get("error"),
                          "the API's answer beyond the waiting limit: %r" % raw[:400])
                    errs = Spec().errors("/api/v1/endpoints/{id}/history", 503, json.loads(body))
                    check(not errs, "the 503 does not match docs/openapi.yaml: %s" % errs)
                waiting_extra = [c for c in extra if c not in busy]
                st, _, page = get(port, "/")
                check(st == 200 and b"One" in page, "/ while PostgreSQL is stopped: %s" % st)
                check(get(port, "/api/v1/endpoints")[0] == 200, "the API while PostgreSQL is stopped")
                waiting = [c for c in clients if not c.close_early]
                check(not any(c.answered() for c in waiting), "a page answered without its detail")
            finally:
                for pid in stopped:
                    os.kill(pid, signal.SIGCONT)
            for c in waiting:
                read_all(c)
                check(status_of(c.data) == 200, "%s after SIGCONT: %r" % (c.path, c.data[:200]))
                check(b'<svg class="chart"' in c.data, "%s: no chart: %r" % (c.path, c.data[-600:]))
            for c in waiting_extra:
                read_all(c)
                check(status_of(c.data) == 200 and b'"res":"hour"' in c.data, "%s after SIGCONT: %r" % (
                    c.path, c.data[:300]))
            check(cw.child(WEB) == web_pid, "the web was restarted: pid %s, was %s" % (cw.child(WEB), web_pid))
            for i in ids:
                check(get(port, "/endpoint/%s" % i)[0] == 200, "the page of %s afterwards" % i)
            check(get(port, "/healthz")[0] == 200, "/healthz afterwards")
            harness.note("%d suspended requests (%d closed early) answered after SIGCONT, %d more suspended and %d "
                         "answered 503 at once, web pid %d unchanged" % (len(clients), len(clients) - len(waiting),
                                                                         len(waiting_extra), len(busy), web_pid))
            cw.stop()
            with open(cw.log_path, errors="replace") as f:
                log = f.read()
            check("restarts_web=0" in log and "crashes=0" in log, "the supervisor's counters: a restart or a crash")
