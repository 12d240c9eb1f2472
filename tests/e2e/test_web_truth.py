"""tests/e2e/test_web_truth.py — the web and `clockwerk report` tell the same truth: one database, filled by a
real pipeline (an endpoint up with varied latencies, one that goes down and comes back, one down for good), is
read by `clockwerk report --json` (docs/report.md) and by the web's JSON API (docs/api.md), and for the 24 h and
7 d windows both give the same checks, ok, uptime, down time, incidents and p95 (both from the same summed
histograms: equal within their precision, ~3.2 %) — on SQLite, PostgreSQL and MariaDB.

The comparison needs a database that does not move: after the first run the pipeline is started again with
check_interval = 86400, and the endpoints' URLs carry a query chosen so that their first check in that run is
due hours later (worker/schedule.c: the first due time is the URL's phase, a hash of the URL, modulo the
interval). Nothing is written any more, and the web's snapshot and the report read the same rows. An incident
still open grows with time: the report's down time is the web's plus the time between the web's snapshot
(`history_at`) and the report's `until`.
"""

import calendar
import json
import os
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, check, deadline, endpoint, fnv1a64, free_port, run_cli, tempdir, wait_for
from loopback_http import BackgroundHTTPServer
from test_web import WEB, get, wait_serving, web_config

REFRESH = 5  # web.history_refresh, its minimum
QUIET = 86400  # the check interval of the second run
MASK = (1 << 64) - 1


class _FlipHandler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        path = urlsplit(self.path).path
        if path == "/vary":  # 0 .. 57 ms, cycling: a latency distribution with a tail
            with owner._lock:
                owner.n += 1
                delay = (owner.n * 7 % 20) * 0.003
            owner._stopping.wait(delay)
            status = 200
        elif path == "/flip":
            status = 500 if owner.failing else 200
        else:
            status = 500
        body = b"%d\n" % status
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class Flip(BackgroundHTTPServer):
    """/vary (200 after a varied delay), /flip (200, or 500 while `failing`), anything else 500."""
    handler = _FlipHandler
    thread_name = "flip"

    def __init__(self):
        super().__init__()
        self.failing = False
        self.n = 0

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def mix64(x):
    """worker/schedule.c's mix64 (splitmix64's finaliser)."""
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & MASK
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & MASK
    x ^= x >> 31
    return x


def quiet_url(base):
    """base?q=K with K chosen so that, at check_interval QUIET, the URL's first check is due > 2 h from now."""
    interval_ns = QUIET * 10**9
    now_ns = time.time_ns()
    for k in range(1000):
        url = "%s?q=%d" % (base, k)
        offset = (mix64(fnv1a64(url)) % interval_ns - now_ns % interval_ns) % interval_ns
        if 2 * 3600 * 10**9 < offset < (QUIET - 3600) * 10**9:
            return url
    raise AssertionError("no quiet URL for %s" % base)


def db_group(server):
    return {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1", "db_port": server.port,
            "db_name": server.dbname, "db_user": server.user, "db_password": server.password}


def endpoints_api(port):
    return {e["name"]: e for e in json.loads(get(port, "/api/v1/endpoints")[2])["endpoints"]}


def iso_ms(s):
    """'2026-12-05T04:04:06.123Z' as epoch milliseconds."""
    whole, frac = s.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(frac)


def fill(d, flip, server):
    """The first run: Steady up, Flappy down (2 failures) then up again, Dead down; returns the config."""
    port = free_port()
    eps = [endpoint(quiet_url(flip.url("/vary")), name="Steady", timeout=0.2, alert_threshold=2),
           endpoint(quiet_url(flip.url("/flip")), name="Flappy", timeout=0.2, alert_threshold=2),
           endpoint(quiet_url(flip.url("/dead")), name="Dead", timeout=0.2, alert_threshold=2)]
    cfg = web_config(eps, port, web={"history_refresh": REFRESH})
    cfg["monitor"]["check_interval"] = 0.2
    if server is not None:
        cfg["database"] = db_group(server)
    with Clockwerk(cfg, d, name="fill") as cw:
        cw.wait_ready(titles=cw.expected_titles() + [WEB])
        wait_serving(port)

        def state(name, want):
            e = endpoints_api(port)[name]
            return e["state"] == want and e["last_check"] is not None
        wait_for(lambda: state("Flappy", "up") and state("Dead", "down"), deadline(30), "Flappy up, Dead down")
        flip.failing = True
        wait_for(lambda: state("Flappy", "down"), deadline(30), "Flappy down")
        flip.failing = False
        wait_for(lambda: state("Flappy", "up"), deadline(30), "Flappy up again")
        # an incident with its end in the snapshot: the history reads it back (the API of the first run)
        wait_for(lambda: any(i["end"] for i in json.loads(get(port, "/api/v1/incidents")[2])["incidents"]),
                 deadline(6 * REFRESH), "Flappy's closed incident in /api/v1/incidents")
        wait_for(lambda: endpoints_api(port)["Steady"]["windows"]["24h"]["checks"] >= 60, deadline(6 * REFRESH),
                 "60 checks of Steady in the history")
        cw.stop()
    return cfg


def report(conf, since):
    r = run_cli(["report", "-c", conf, "--since", since, "--json"], timeout=60)
    check(r.code == 0, "clockwerk report --since %s: %r" % (since, r))
    return {e["name"]: e for e in json.loads(r.out)["endpoints"]}, iso_ms(json.loads(r.out)["until"])


def compare(kind, window, rep, until_ms, api, history_at_ms):
    for name, r in rep.items():
        w = api[name]["windows"][window]
        what = "%s %s %s: report %r, web %r" % (kind, window, name, r, w)
        check(r["checks"] == w["checks"] and r["ok"] == w["ok"], "checks/ok differ: " + what)
        check(r["checks"] > 10, "too few checks to compare: " + what)
        if r["uptime_pct"] is None:
            check(w["uptime_percent"] is None, "uptime: " + what)
        else:
            # both from ok/checks: the report rounds to 5 decimals, the web rounds DOWN to 4 (never a false 100)
            exact = 100.0 * r["ok"] / r["checks"]
            check(abs(r["uptime_pct"] - exact) <= 0.0000051, "the report's uptime: " + what)
            check(0 <= exact - w["uptime_percent"] < 0.0001 + 1e-9, "uptime differs: " + what)
        check(r["incidents"] == w["incidents"], "incidents differ: " + what)
        open_extra = (until_ms - history_at_ms) / 1000.0 if r["state"] == "down" else 0.0
        check(abs(r["downtime_s"] - (w["down_seconds"] + open_extra)) < 0.002,
              "down time differs (%.3f s of an open incident between the two reads): %s" % (open_extra, what))
        if r["p95_ms"] is None:
            check(w["p95_ms"] is None, "p95: " + what)
        else:
            check(abs(r["p95_ms"] - w["p95_ms"]) <= 0.033 * r["p95_ms"], "p95 differs beyond 3.3%: " + what)
            if abs(r["p95_ms"] - w["p95_ms"]) > 0.001:
                harness.note("%s %s %s: p95 %.3f (report) vs %.3f (web)" % (kind, window, name, r["p95_ms"],
                                                                          w["p95_ms"]))


def _run(server_cls):
    with tempdir() as d, Flip() as flip:
        if server_cls is None:
            _truth(d, flip, None, "sqlite")
            return
        with server_cls() as server:
            _truth(d, flip, server, server.kind)


def _truth(d, flip, server, kind):
    cfg = fill(d, flip, server)
    port = free_port()
    cfg["monitor"]["check_interval"] = QUIET
    cfg["web"]["listen"] = "127.0.0.1:%d" % port
    with Clockwerk(cfg, d, name="quiet") as cw:
        cw.wait_ready(titles=cw.expected_titles() + [WEB])
        wait_serving(port)
        started_ms = int(time.time() * 1000)
        # a snapshot read after this run started: the database no longer moves

        def fresh():
            eps = endpoints_api(port)
            if all(e["windows"] for e in eps.values()):
                st, _, body = get(port, "/api/v1/endpoints/%s" % eps["Dead"]["id"])
                one = json.loads(body)
                if one["history_at"] and iso_ms(one["history_at"]) > started_ms:
                    return eps
            return None
        wait_for(fresh, deadline(6 * REFRESH), "a snapshot of the quiet run")
        for window, since in (("24h", "24h"), ("7d", "7d")):
            body = json.loads(get(port, "/api/v1/endpoints")[2])
            api = {e["name"]: e for e in body["endpoints"]}
            history_at = iso_ms(json.loads(get(port, "/api/v1/endpoints/%s" % api["Dead"]["id"])[2])["history_at"])
            rep, until_ms = report(cw.conf_path, since)
            check(sorted(rep) == sorted(api), "%s: endpoints %s vs %s" % (kind, sorted(rep), sorted(api)))
            compare(kind, window, rep, until_ms, api, history_at)
        check(rep["Flappy"]["incidents"] == 1 and rep["Dead"]["incidents"] == 1 and rep["Steady"]["incidents"] == 0,
              "%s: incidents %r" % (kind, {n: r["incidents"] for n, r in rep.items()}))
        # the incidents themselves: Flappy's closed, Dead's open, their start before the end
        for name, closed in (("Flappy", True), ("Dead", False)):
            one = json.loads(get(port, "/api/v1/endpoints/%s" % api[name]["id"])[2])
            inc = one["incidents"]
            check(len(inc) == 1 and (inc[0]["end"] is not None) == closed and inc[0]["ongoing"] != closed,
                  "%s: %s's incidents %r" % (kind, name, inc))
            if closed:
                span = (iso_ms(inc[0]["end"]) - iso_ms(inc[0]["start"])) / 1000.0
                check(abs(span - inc[0]["duration_seconds"]) < 0.002 and
                      abs(span - rep[name]["downtime_s"]) < 0.002,
                      "%s: %s's incident %r, report's down time %r" % (kind, name, inc[0], rep[name]["downtime_s"]))
        # no check in this run: the states are those the alerts left (the snapshot's), as the report's
        for name, want in (("Flappy", "up"), ("Dead", "down")):
            e = endpoints_api(port)[name]
            check(e["state"] == want == rep[name]["state"], "%s: %s is %r on the web, %r in the report" % (
                kind, name, e["state"], rep[name]["state"]))
        dead = json.loads(get(port, "/api/v1/endpoints/%s" % api["Dead"]["id"])[2])
        check(dead["endpoint"]["since"] == dead["incidents"][0]["start"], "%s: Dead down since %r, its incident %r"
              % (kind, dead["endpoint"]["since"], dead["incidents"][0]))
        harness.note("%s: report = web: %s" % (kind, {n: (r["checks"], r["ok"], r["downtime_s"], r["p95_ms"])
                                                    for n, r in rep.items()}))
        cw.stop()


@harness.timeout(240)
def test_web_truth_sqlite():
    _run(None)


@harness.timeout(300)
def test_web_truth_postgresql():
    _run(PostgresServer)


@harness.timeout(300)
def test_web_truth_mysql():
    _run(MariaDBServer)
