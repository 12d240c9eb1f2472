"""tests/e2e/test_web_cache.py — clockwerk-web under load (docs/web.md, "Caching" and "Security defaults"; the
findings of bench/web_bench.py in docs/performance.md, "Web"):

- the costly answers are rendered once a second and shared: within the cache's second every client gets the
  same bytes of `/api/v1/endpoints` (its `generated_at` has milliseconds, so two renders differ), HEAD and GET
  share an entry, and after the second a new answer is rendered; /healthz is never cached;
- auth comes before the cache: a cached API answer is never handed to a client without the password;
- a reload (SIGHUP to the web) and a new history snapshot drop the cached answers at once (not after the
  second): the answer that follows carries the new render / the new `history_at`;
- clients that send a request for a large answer and never read hold at most the capped send buffer each in the
  server's sockets (tx_queue of /proc/net/tcp), and the web keeps answering /healthz and `/` meanwhile.
"""

import base64
import json
import os
import re
import signal
import socket
import time

from harness import Clockwerk, check, deadline, endpoint, free_port, tempdir, wait_for
from targets import Targets
from test_web import WEB, get, wait_serving, web_config

API = "/api/v1/endpoints"
TTL_S = 1.0                   # web/cache.h WEB_CACHE_TTL_NS
SEND_CAP = 2 * 128 * 1024     # web/http.c SEND_BUFFER, doubled by Linux
SLOW_READERS = 20
BIG_ENDPOINTS = 4000          # /api/v1/endpoints of these is ~750 KB
REFRESH = 5                   # web.history_refresh, its minimum


def api(port, path=API, headers=None):
    st, h, body = get(port, path, headers=headers)
    check(st == 200, "GET %s: %s %r" % (path, st, body[:200]))
    return json.loads(body), body


def test_web_cache_shares_answers_for_a_second():
    port = free_port()
    password = "pw-%d" % port
    with tempdir() as d, Targets() as t:
        pwfile = os.path.join(d, "web.pw")
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (password + "\n").encode())
        os.close(fd)
        auth = {"Authorization": "Basic " + base64.b64encode(("ops:" + password).encode()).decode()}
        eps = [endpoint(t.url("/ok?n=%d" % i), name="ok%d" % i, timeout=1) for i in range(3)]
        cfg = web_config(eps, port, web={"auth_user": "ops", "auth_password_file": pwfile}, db=False)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)

            # within the second: the same bytes (generated_at in ms differs between two renders)
            def shared_burst():
                start = time.monotonic()
                bodies = [api(port, headers=auth)[1] for _ in range(5)]
                st, h, _ = get(port, API, method="HEAD", headers=auth)
                bodies.append(api(port, headers=auth)[1])
                if time.monotonic() - start > TTL_S * 0.8:
                    return None  # too slow a machine to tell: try again
                check(st == 200 and int(h.get("content-length", -1)) == len(bodies[0]),
                      "HEAD %s: %s, length %s, GET's %d" % (API, st, h.get("content-length"), len(bodies[0])))
                return bodies
            bodies = wait_for(shared_burst, deadline(20), "six answers within the cache's second")
            check(all(b == bodies[0] for b in bodies),
                  "answers within a second differ: %s" % sorted({json.loads(b)["generated_at"] for b in bodies}))

            # auth before the cache: the cached answer is not handed out without the password
            st, h, body = get(port, API)
            check(st == 401 and b"endpoints" not in body, "GET %s without auth while cached: %s %r" % (
                API, st, body[:100]))

            # after the second: rendered again
            first = json.loads(bodies[0])["generated_at"]
            wait_for(lambda: api(port, headers=auth)[0]["generated_at"] != first, deadline(5),
                     "a new answer after the cache's second")

            # /healthz is never cached: its "history"/bus lines are live; two GETs are both answered fresh
            st, h, body = get(port, "/healthz")
            check(st == 200 and h.get("cache-control") == "no-store", "/healthz: %s %r" % (st, h))

            # a reload drops the cache at once: the answer right after it is a new render, though the one before
            # it is less than a second old
            pid = cw.child(WEB)

            def reload_drops():
                before = api(port, headers=auth)[0]["generated_at"]
                start = time.monotonic()
                mark = cw.log_mark()
                os.kill(pid, signal.SIGHUP)
                cw.wait_log(r"\[web\] %d info: reloaded" % pid, timeout=deadline(10), since=mark)
                after = api(port, headers=auth)[0]["generated_at"]
                if time.monotonic() - start > TTL_S * 0.8:
                    return None  # the second passed anyway: inconclusive, again
                check(after != before, "the answer cached before a reload was served after it (%s)" % before)
                return True
            wait_for(reload_drops, deadline(30), "a reload within the cache's second")
            cw.stop()


def test_web_cache_dropped_on_new_history():
    port = free_port()
    with tempdir() as d, Targets() as t:
        eps = [endpoint(t.url("/ok"), name="Alpha"), endpoint(t.url("/status/500"), name="Beta")]
        cfg = web_config(eps, port, web={"history_refresh": REFRESH})
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)
            wait_for(lambda: api(port)[0]["history_at"] is not None, deadline(30), "a first history snapshot")

            # a query too long to be a cache key (web/cache.h WEB_CACHE_KEY_MAX): rendered afresh every time
            uncached = API + "?pad=" + "x" * 600
            state = {"conclusive": 0, "last": None}

            def new_snapshot_seen():
                """The cached answer (A) and then a fresh render (F): when F has a newer snapshot than A, the model
                swapped it in between, and the cached path must now answer with it (the cache dropped A)."""
                a = api(port)[0]["history_at"]
                f = api(port, uncached)[0]["history_at"]
                state["last"] = (a, f)
                if f == a:
                    return False
                after = api(port)[0]["history_at"]
                check(after != a, "the answer cached with the previous snapshot (history_at %s) was served after "
                      "a new one (%s) was read" % (a, f))
                state["conclusive"] += 1
                return state["conclusive"] >= 2
            # a new snapshot (one every REFRESH s) is conclusive only when it lands between the two requests: on a
            # busy machine a few in ten do, so the deadline allows for ~30 snapshots
            wait_for(new_snapshot_seen, deadline(150), lambda: "two new snapshots seen right after they were read "
                     "(last: %s; the web's history lines: %s)" % (state, re.findall(r".*history: .*", cw.log_text())[-6:]),
                     interval=0.0)
            cw.stop()


def server_send_queues(port):
    """tx_queue (bytes) of every established server-side socket on 127.0.0.1:port, from /proc/net/tcp."""
    queues = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, st, queue = fields[1], fields[3], fields[4]
            if st == "01" and int(local.split(":")[1], 16) == port:
                queues.append(int(queue.split(":")[0], 16))
    return queues


def test_web_slow_readers_hold_capped_send_buffers():
    port = free_port()
    with tempdir() as d, Targets() as t:
        # many endpoints (checked rarely) so that the API's list is over 1 MB
        eps = [endpoint(t.url("/ok?n=%d" % i), name="endpoint number %d" % i) for i in range(BIG_ENDPOINTS)]
        # readers that take nothing are idle connections: web.connection_timeout (10 s) would close them while a
        # slow (sanitized, busy) machine is still filling their queues, and there would be nothing left to measure
        cfg = web_config(eps, port, web={"connection_timeout": 600}, db=False, check_interval=600)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port, timeout=40)
            big = API + "?limit=%d" % BIG_ENDPOINTS  # every one: a page is 1000 by default (issue 18)
            size = len(get(port, big, timeout=deadline(10))[2])
            check(size > 2 * SEND_CAP, "the API's list is only %d bytes: too small to tell" % size)
            readers = []
            try:
                for _ in range(SLOW_READERS):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the client takes little itself
                    s.settimeout(deadline(5))
                    s.connect(("127.0.0.1", port))
                    s.sendall(b"GET " + big.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                    readers.append(s)
                seen = {"last": -1, "stable": 0}

                def settled():
                    """The queues stopped growing (for 3 polls) with every reader's request answered."""
                    q = server_send_queues(port)
                    total = sum(q)
                    seen["stable"] = seen["stable"] + 1 if total == seen["last"] and len(q) >= SLOW_READERS else 0
                    seen["last"] = total
                    return q if seen["stable"] >= 3 and min(sorted(q, reverse=True)[:SLOW_READERS]) > 0 else None
                queues = wait_for(settled, deadline(30), lambda: "send queues settling: %s" % server_send_queues(
                    port), interval=0.2)
                check(max(queues) <= SEND_CAP, "a client that does not read holds %d bytes in the web's socket "
                      "(cap %d; answer %d bytes); all: %s" % (max(queues), SEND_CAP, size, sorted(queues)))
                # the web keeps answering meanwhile
                for path in ("/healthz", "/"):
                    t0 = time.monotonic()
                    st, _, _ = get(port, path, timeout=deadline(5))
                    check(st == 200, "GET %s with %d slow readers: %s" % (path, SLOW_READERS, st))
                    check(time.monotonic() - t0 < deadline(2), "GET %s took %.1f s" % (path, time.monotonic() - t0))
            finally:
                for s in readers:
                    s.close()
            cw.stop()
