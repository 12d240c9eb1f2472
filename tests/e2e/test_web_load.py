"""tests/e2e/test_web_load.py — clockwerk-web attacked while the checks go on (issue 13, "Tests": hostile requests
answered or refused WHILE CHECKS GO ON; docs/web.md, "Limits").

test_web.py sends each hostile request once and looks at the checks only after the storm. Here every kind of
attack runs at the same time for ATTACK_S seconds — path traversal, 1 MB headers, slow clients trickling their
headers, storms of 300 connections at once, clients hammering `/` — while the pipeline checks N_ENDPOINTS
endpoints every second, and the test proves from outside that the checks went on during the attack:
  - the storer kept storing: every endpoint has rows checked inside the attack window, and no two of its
    consecutive checks (from the last one before the attack to the first one after) lie more than MAX_GAP_S apart;
  - the worker's stats kept arriving on the bus (one a second) and its lateness p99 stayed under MAX_LATE_S in
    every second of the attack;
  - every hostile request was answered (with the status it deserves) or refused, none hung; the web kept
    serving, was not restarted, and its log holds no sanitizer report.
Every loop is bounded in count and time; the bounds are correctness bounds scaled by harness.deadline (a stall of
seconds fails, a busy machine does not): performance figures belong to `make bench` (bench/web_bench.py).
"""

import http.client
import socket
import threading
import time

import harness
import zmq
from harness import Clockwerk, check, deadline, endpoint, free_port, parse_iso_ms, tempdir, wait_for
from targets import Targets
from test_storer import stats_of
from test_web import WEB, get, raw_request, read_to_close, status_of, wait_serving, web_config

N_ENDPOINTS = 20   # at check_interval = 1 (base_config)
ATTACK_S = 10.0
MAX_GAP_S = 5.0    # between two checks of one endpoint at a 1 s interval (x slow factor)
MAX_LATE_S = 2.0   # a second's lateness p99 (x slow factor)
SLOW_CLIENTS = 60
STORM = 300
HAMMERS = 4
IO_TIMEOUT_S = 15.0  # a client that waits longer for an answer counts as hung


class Attack:
    """The attackers, each a thread bounded by a stop time and a count; what they saw, counted per kind."""

    def __init__(self, port, seconds):
        self.port = port
        self.until = time.monotonic() + seconds
        self.lock = threading.Lock()
        self.seen = {}       # kind -> {outcome: count}
        self.problems = []   # hung connections, unexpected answers
        self.threads = []

    def record(self, kind, outcome, problem=None):
        with self.lock:
            counts = self.seen.setdefault(kind, {})
            counts[outcome] = counts.get(outcome, 0) + 1
            if problem and len(self.problems) < 20:
                self.problems.append("%s: %s" % (kind, problem))

    def going(self):
        return time.monotonic() < self.until

    def spawn(self, fn, *args):
        t = threading.Thread(target=self._guard, args=(fn,) + args, daemon=True)
        self.threads.append(t)
        t.start()

    def _guard(self, fn, *args):
        try:
            fn(*args)
        except Exception as e:  # noqa: B902 - an attacker's surprise is a finding of the test, not a lost thread
            self.record(fn.__name__, "crashed", "%s: %s" % (type(e).__name__, e))

    def join(self):
        for t in self.threads:
            t.join(timeout=deadline(IO_TIMEOUT_S + 10))
        alive = [t for t in self.threads if t.is_alive()]
        if alive:
            self.problems.append("%d attacker threads still blocked after the attack" % len(alive))

    def raw(self, kind, data, allowed):
        """One raw request: its status must be in allowed (None: closed or refused without an answer)."""
        try:
            status = status_of(raw_request(self.port, data, timeout=IO_TIMEOUT_S))
        except socket.timeout:
            self.record(kind, "hung", "no answer within %.0f s" % IO_TIMEOUT_S)
            return
        except OSError:
            status = None  # refused, or reset while sending
        self.record(kind, status, None if status in allowed else "answered %s" % status)

    def traversal(self):
        paths = (b"/../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/..%2f..%2fetc%2fshadow", b"/static/../../x",
                 b"//etc/passwd", b"/endpoint/..%2F..%2F..%2Fetc%2Fpasswd", b"/badge/../../../etc/passwd")
        for i in range(2000):
            if not self.going():
                return
            path = paths[i % len(paths)]
            self.raw("traversal", b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", (404, None))

    def big_headers(self):
        big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
        for _ in range(200):
            if not self.going():
                return
            self.raw("1 MB header", big, (431, None))

    def slow_clients(self):
        """Slowloris: SLOW_CLIENTS connections send a request line; half then trickle a header byte a second (not
        idle: they hold their connection, which is what the per-IP and total limits bound), half go silent and
        must be dropped after web.connection_timeout (2 s here), long before the attack ends."""
        trickling, idle = [], []
        for i in range(SLOW_CLIENTS):
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=deadline(5))
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                (trickling if i % 2 else idle).append(s)
            except OSError:
                self.record("slow client", "refused")
        for _ in range(int(ATTACK_S) + 5):
            if not self.going():
                break
            for s in list(trickling):
                try:
                    s.sendall(b"X")
                except OSError:
                    self.record("slow client", "trickling, dropped")
                    trickling.remove(s)
                    s.close()
            time.sleep(1.0)
        for s in trickling:
            self.record("slow client", "trickling, still open")
            s.close()
        for s in idle:
            s.settimeout(1.0)
            try:
                left = s.recv(100)
                self.record("slow client", "idle, dropped", None if not left else "idle, answered %r" % left[:40])
            except ConnectionResetError:
                self.record("slow client", "idle, dropped")
            except socket.timeout:
                self.record("slow client", "idle, still open", "an idle client was not dropped in %.0f s" % ATTACK_S)
            finally:
                s.close()

    def storms(self):
        """STORM connections at once, each sending a request, then every answer read; again until the end."""
        for _ in range(20):
            if not self.going():
                return
            socks = []
            for _ in range(STORM):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", self.port), timeout=IO_TIMEOUT_S))
                except OSError:
                    self.record("storm", None)
            for s in socks:
                try:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass
            for s in socks:
                try:
                    status = status_of(read_to_close(s))
                    self.record("storm", status, None if status in (200, 503, None) else "answered %s" % status)
                except socket.timeout:
                    self.record("storm", "hung", "a connection of %d left without an answer" % STORM)
                except OSError:
                    self.record("storm", None)
                finally:
                    s.close()

    def hammer(self):
        """GET / again and again on one keep-alive connection (a new one when the server closes it)."""
        c = None
        for _ in range(100000):
            if not self.going():
                break
            try:
                if c is None:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT_S)
                c.request("GET", "/")
                r = c.getresponse()
                r.read()
                self.record("hammer /", r.status, None if r.status == 200 else "answered %s" % r.status)
            except socket.timeout:
                self.record("hammer /", "hung", "GET / without an answer within %.0f s" % IO_TIMEOUT_S)
                c.close()
                c = None
            except (OSError, http.client.HTTPException):
                self.record("hammer /", None)
                if c is not None:
                    c.close()
                c = None
        if c is not None:
            c.close()

    def start(self):
        self.spawn(self.traversal)
        self.spawn(self.big_headers)
        self.spawn(self.slow_clients)
        self.spawn(self.storms)
        for _ in range(HAMMERS):
            self.spawn(self.hammer)


def watch_until(sub, until, stored=None):
    """Until `until`: every worker stats message as (monotonic time, items), and, when stored (a function giving the
    rows stored so far, None when the database is busy) is given, that count about once a second as
    (monotonic time, rows)."""
    got, rows, next_count = [], [], time.monotonic()
    while time.monotonic() < until:
        if stored and time.monotonic() >= next_count:
            n = stored()
            if n is not None:
                rows.append((time.monotonic(), n))
            next_count = time.monotonic() + 1.0
        wake = min(until, next_count) if stored else until
        if sub.poll(int(max(0.0, wake - time.monotonic()) * 1000) + 1):
            _topic, payload = sub.recv_multipart()
            role, items = stats_of(payload)
            if role == "worker":
                got.append((time.monotonic(), items))
    return got, rows


def longest_still(rows):
    """The longest time (s) between two samples of the stored count during which it did not grow."""
    longest, since = 0.0, None
    for (at, n), (_prev_at, prev_n) in zip(rows[1:], rows):
        if n > prev_n:
            since = None
            continue
        since = since if since is not None else _prev_at
        longest = max(longest, at - since)
    return longest


def iso_ms(seconds):
    """'2026-11-25T04:05:06.123Z' (checks.checked_at) of wall-clock seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % (int(seconds * 1000) % 1000)


def schedule_problems(cw, urls, start, end):
    """Per endpoint: rows inside [start, end] (wall-clock seconds), and the largest gap between consecutive checks
    across it."""
    problems, worst = [], 0.0
    for url in urls:
        times = [parse_iso_ms(r[0]) for r in cw.db().query(
            "SELECT c.checked_at FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ? "
            "ORDER BY c.checked_at", (url,))]
        before = [t for t in times if t < start][-1:]
        inside = [t for t in times if start <= t <= end]
        after = [t for t in times if t > end][:1]
        span = before + inside + after
        gaps = [b - a for a, b in zip(span, span[1:])]
        worst = max([worst] + gaps)
        if len(inside) < ATTACK_S / 2:
            problems.append("%s: %d checks stored inside the %.0f s attack" % (url, len(inside), ATTACK_S))
        if not before or not after or max(gaps, default=99) > deadline(MAX_GAP_S):
            problems.append("%s: checks %.1f s apart across the attack (before %s, after %s)" % (
                url, max(gaps, default=0), bool(before), bool(after)))
    return problems, worst


@harness.alone
@harness.timeout(180)
def test_checks_go_on_while_the_web_is_attacked():
    port = free_port()
    with tempdir() as d, Targets() as t:
        urls = [t.url("/ok?load=%d" % i) for i in range(N_ENDPOINTS)]
        cfg = web_config([endpoint(u, name="ep %d" % i, timeout=1) for i, u in enumerate(urls)], port,
                         web={"connection_timeout": 2})
        with Clockwerk(cfg, d) as cw:
            kids = cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)
            for u in urls:
                cw.wait_count(u, 2, timeout=deadline(30))
            ctx = zmq.Context()
            sub = ctx.socket(zmq.SUB)
            sub.setsockopt(zmq.LINGER, 0)
            sub.setsockopt(zmq.SUBSCRIBE, b"stats")
            sub.connect("ipc://%s/tap.sock" % cw.run_dir)
            try:
                watch_until(sub, time.monotonic() + deadline(3))  # subscribed: the stats flow
                db = cw.db()
                attack = Attack(port, ATTACK_S)
                start = time.time()
                t0 = time.monotonic()
                attack.start()
                stats, rows = watch_until(sub, t0 + ATTACK_S,
                                          lambda: (db.try_query("SELECT count(*) FROM checks") or [(None,)])[0][0])
                end = time.time()
                attack.join()
            finally:
                sub.close()
                ctx.term()
            harness.note("attack of %.0f s: %s" % (ATTACK_S, "; ".join(
                "%s %s" % (kind, dict(sorted(seen.items(), key=str))) for kind, seen in sorted(attack.seen.items()))))
            check(not attack.problems, "hostile requests: %s" % attack.problems)
            for kind in ("traversal", "1 MB header", "storm", "hammer /"):
                check(kind in attack.seen, "the %s attacker never got a request out" % kind)
            check(attack.seen["traversal"].get(404, 0) > 0, "no traversal request was answered 404: %s"
                  % attack.seen["traversal"])
            check(attack.seen["hammer /"].get(200, 0) > 0, "GET / was never answered during the attack: %s"
                  % attack.seen["hammer /"])

            # the checks went on: the worker's stats every second, its lateness bounded, every endpoint stored
            late = [items.get("lateness_p99_us", 0) / 1e6 for _at, items in stats]
            harness.note("during the attack: %d worker stats, lateness p99 per second at most %.1f ms" % (
                len(stats), 1000 * max(late, default=0)))
            check(len(stats) >= ATTACK_S / 2, "%d worker stats on the bus in %.0f s of attack" % (len(stats), ATTACK_S))
            check(max(late) < deadline(MAX_LATE_S), "checks started up to %.2f s late (p99 of a second) during the "
                  "attack" % max(late))
            still = longest_still(rows)
            harness.note("the storer's rows during the attack: %s, at most %.1f s without a new one" % (
                " ".join(str(n) for _at, n in rows), still))
            check(len(rows) >= ATTACK_S / 2 and rows[-1][1] > rows[0][1], "rows stored during the attack: %s" % rows)
            check(still <= deadline(MAX_GAP_S), "no row stored for %.1f s during the attack" % still)
            wait_for(lambda: all(cw.db().query(
                "SELECT 1 FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ? AND c.checked_at > ?",
                (u, iso_ms(end))) for u in urls), deadline(30), "rows after the attack")
            problems, worst = schedule_problems(cw, urls, start, end)
            harness.note("largest gap between two checks of one endpoint across the attack: %.2f s" % worst)
            check(not problems, "the checks did not go on during the attack: %s" % problems[:5])

            st, _h, _body = get(port, "/healthz")
            check(st == 200, "/healthz after the attack: %s" % st)
            check(cw.child(WEB) == kids[WEB], "the web was restarted during the attack")
            check("AddressSanitizer" not in cw.log_text(), "sanitizer report in the log")
            cw.stop()
