"""tests/e2e/test_web_locations.py — clockwerk-web with locations (issue 16, docs/web.md "Locations"), on loopback.

A central host (supervisor.location "central", its own worker, two probe locations fra and nyc admitted by their
CURVE keys, every bus address on tcp://127.0.0.1 with CURVE) checks a local HTTP target. The probe hosts are
played by this test: a ZeroMQ PUB (pyzmq, CURVE with the central's key: the relay lets a probe host's key publish
only its own location's results, docs/protocol.md 8, and this one speaks for fra, nyc and the alerter) publishes into
the central relay's publish address what probe workers would — results stamped with their location (result message
version 3, written from docs/protocol.md as any outside producer would) — and the alerter's `locations` message
(2.11): fra live with a clock 1.7 s ahead, nyc live, later silent. The web, fed by the relay's stream like in
production, shows:
  - on `/` (headless Chromium, the DOM): a chip per location of the multi-location endpoint (central and fra up
    with their latency, nyc down), the endpoint up by the quorum (2 of 3), none on the one-location endpoint; the
    Locations box with fra's clock offset in the warning style and nyc silent;
  - when fra fails too (2 of 3 votes down): the endpoint down; when nyc goes silent, its vote is left out, but the
    endpoint stays down (one UP vote of the two that end a DOWN, docs/alerts.md "Locations and quorum"), nyc's chip
    faded and the box saying `silent`; when fra sees it up again: up;
  - /api/v1/endpoints and /api/v1/locations valid against docs/openapi.yaml with the locations' figures;
  - /metrics with the `location` label and the location gauges, through `promtool check metrics`.
The real alerter publishes its own `locations` message once a second (it hears no HELLO of the fake locations):
the test publishes its own five times a second and waits for what it sent, never for a single read.
"""

import os
import re
import subprocess
import threading
import time

import zmq

import harness
from harness import Clockwerk, check, deadline, endpoint, free_port, run_cli, tempdir, wait_for
from hdata import _str, _u16, _u32, _u64
from targets import Targets
from test_web import WEB, get, wait_serving, web_config
from test_web_api import Spec, api
from test_web_pages import Chromium

RESULT_VERSION = 3
LOCATIONS_VERSION = 1
MSG_RESULT, MSG_LOCATIONS = 1, 10
LIVE, SILENT = 1, 2
OFFSET_UNKNOWN = -(2 ** 63)


def keygen(d, name):
    path = os.path.join(d, name)
    return path, {k: v.encode() for k, v in harness.keygen(path).items()}


def result_record(url, location, seq, ok, latency_us, error=""):
    """One record of a version-3 result batch: the version-2 record with flags bit 3, then the location."""
    now_us = int(time.time() * 1e6)
    out = _u32(7) + _u64({"fra": 1001, "nyc": 1002}[location]) + _u64(seq)
    for v in (now_us, 0, latency_us, -1, latency_us // 2, -1, latency_us // 2):  # checked_at lateness latency
        out += _u64(v)                                                        # dns connect tls ttfb
    out += _u16(200 if ok else 0) + bytes([(1 if ok else 0) | 8, 0])  # status, flags (ok, location), kind http
    out += _str(url) + _str("" if ok else error)
    return out + _str(location)


def result_batch(records):
    return bytes([RESULT_VERSION, MSG_RESULT]) + _u16(len(records)) + b"".join(records)


def locations_message(entries):
    """CW_MSG_LOCATIONS (docs/protocol.md 2.11): (name, state, last_heard_us, offset_us, rtt_us, workers)."""
    out = bytes([LOCATIONS_VERSION, MSG_LOCATIONS]) + _u16(len(entries)) + _u64(int(time.time() * 1e6))
    for name, state, heard, offset, rtt, workers in entries:
        out += _str(name) + bytes([state]) + _u64(heard) + _u64(offset) + _u64(rtt) + _u32(workers)
    return out


class FakeProbes:
    """Publishes into the central relay what the probe hosts' workers and the alerter would, from a thread."""

    def __init__(self, address, keys, server_key, shop_url):
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.curve_publickey, self.pub.curve_secretkey = keys["public"], keys["secret"]
        self.pub.curve_serverkey = server_key
        self.pub.connect(address)
        self.url = shop_url
        self.fra_ok = True
        self.nyc_state = LIVE
        self.seq = {"fra": 0, "nyc": 0}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)
        self.pub.close()
        self.ctx.term()

    def run(self):
        next_results = 0.0
        while not self.stop.is_set():
            now = time.monotonic()
            now_us = int(time.time() * 1e6)
            if now >= next_results:  # a check a second from each probe location, like check_interval 1
                next_results = now + 1.0
                for loc, ok, lat, err in (("fra", self.fra_ok, 30000, "HTTP 503"),
                                          ("nyc", False, 0, "connection refused")):
                    self.seq[loc] += 1
                    self.pub.send_multipart([b"result", result_batch(
                        [result_record(self.url, loc, self.seq[loc], ok, lat, err)])])
            self.pub.send_multipart([b"locations", locations_message([
                ("central", LIVE, now_us - 200000, 0, 90, 1),
                ("fra", LIVE, now_us - 300000, 1700000, 21000, 2),
                ("nyc", self.nyc_state, now_us - 400000, -4000, 180000, 1)])])
            self.stop.wait(0.2)


INDEX_DOM = """(() => {
  const row = id => document.querySelector('tr#ep-' + id);
  const chips = id => [...row(id).querySelectorAll('.chip')].map(c => ({text: c.textContent, cls: c.className}));
  const locs = [...document.querySelectorAll('#locations tbody tr')].map(tr => ({
    name: tr.cells[0].textContent, state: tr.cells[1].textContent, offset: tr.cells[3].textContent,
    warn: tr.cells[3].classList.contains('clockwarn'), colour: getComputedStyle(tr.cells[3]).color}));
  return {shop: chips('shop'), home: chips('home'), shopState: row('shop').querySelector('td.state').firstChild.textContent,
          locs};
})()"""


def shop_seen(dom):
    """The chips and the box as the test's messages make them, or None."""
    chips = {c["text"].split(" ")[0]: c for c in dom["shop"]}
    locs = {l["name"]: l for l in dom["locs"]}
    if sorted(chips) != ["central", "fra", "nyc"] or sorted(locs) != ["central", "fra", "nyc"]:
        return None
    if not (re.match(r"^fra \d+ ms$", chips["fra"]["text"]) and "up" in chips["fra"]["cls"].split()
            and chips["nyc"]["text"] == "nyc down" and "down" in chips["nyc"]["cls"].split()
            and "up" in chips["central"]["cls"].split()):
        return None
    if not (locs["fra"]["warn"] and locs["fra"]["offset"] == "+1.700 s" and locs["nyc"]["state"] == "live"
            and not locs["central"]["warn"] and not locs["nyc"]["warn"]):
        return None
    return dom


@harness.timeout(240)
def test_web_locations_page_api_metrics():
    port = free_port()
    with tempdir() as d, Targets() as t:
        central_key, central = keygen(d, "central.key")
        _, fra = keygen(d, "fra.key")
        _, nyc = keygen(d, "nyc.key")
        ports = [free_port() for _ in range(5)]
        bus = {"store_address": "tcp://127.0.0.1:%d" % ports[0], "alert_address": "tcp://127.0.0.1:%d" % ports[1],
               "publish_address": "tcp://127.0.0.1:%d" % ports[2], "tap_address": "tcp://127.0.0.1:%d" % ports[3],
               "config_address": "tcp://127.0.0.1:%d" % ports[4], "curve_key_file": "central.key"}
        shop_url, home_url = t.url("/ok"), t.url("/ok?home")
        eps = [endpoint(shop_url, name="Shop", timeout=1, alert_threshold=2, locations=["central", "fra", "nyc"],
                        quorum=2),
               endpoint(home_url, name="Home", timeout=1, locations=["central"])]
        cfg = web_config(eps, port, extra={"bus": bus})
        cfg["supervisor"]["location"] = "central"
        cfg["locations"] = [{"name": "fra", "key": fra["public"].decode()},
                            {"name": "nyc", "key": nyc["public"].decode()}]
        harness.write_config(os.path.join(d, "check.conf"), cfg)
        r = run_cli(["-t", "-c", os.path.join(d, "check.conf")])
        check(r.code == 0, "clockwerk -t on the central configuration: %s" % r.text)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)
            with FakeProbes(bus["publish_address"], central, central["public"], shop_url) as probes:
                def chips_up():
                    page = get(port, "/")[2].decode()
                    return ('class="chip down"' in page and ">nyc down</span>" in page and "clockwarn" in page
                            and re.search(r'<tr id="ep-shop">.*?<td class="state up">up', page))
                wait_for(chips_up, deadline(40), "Shop up by the quorum with nyc's chip down and fra's clock warned")
                with Chromium(d) as browser:
                    def rendered():
                        problems = browser.navigate("http://127.0.0.1:%d/" % port)
                        check(problems == [], "the browser saw problems on /: %s" % problems)
                        return shop_seen(browser.evaluate(INDEX_DOM))
                    dom = wait_for(rendered, deadline(40), "the chips and the Locations box in Chromium",
                                   interval=0.3)
                    browser.screenshot("web-locations.png")
                    check(dom["home"] == [], "the one-location endpoint has chips: %s" % dom["home"])
                    check(dom["shopState"] == "up", "Shop is %r in the browser" % dom["shopState"])
                    fra_row = [l for l in dom["locs"] if l["name"] == "fra"][0]
                    check(fra_row["colour"] == "rgb(188, 76, 0)", "fra's offset is not in the warning colour: %s"
                          % fra_row["colour"])

                spec = Spec()
                _, answer = api(port, spec, "/api/v1/endpoints", "/api/v1/endpoints")
                shop = [e for e in answer["endpoints"] if e["id"] == "shop"][0]
                check(shop["quorum"] == 2 and [l["name"] for l in shop["locations"]] == ["central", "fra", "nyc"],
                      "Shop's quorum and locations: %s" % shop)
                home = [e for e in answer["endpoints"] if e["id"] == "home"][0]
                check([l["name"] for l in home["locations"]] == ["central"] and home["quorum"] == 1,
                      "Home's locations: %s" % home["locations"])

                def api_locations():
                    _, a = api(port, spec, "/api/v1/locations", "/api/v1/locations")
                    got = {l["name"]: l for l in a["locations"]}
                    return (got.get("fra", {}).get("clock_warning") and got["fra"]["clock_offset_seconds"] == 1.7
                            and got["nyc"]["state"] == "live" and not got["nyc"]["clock_warning"] and a)
                wait_for(api_locations, deadline(20), "/api/v1/locations with fra's offset")

                def metrics():
                    text = get(port, "/metrics")[2].decode()
                    return ('clockwerk_location_clock_offset_seconds{location="fra"} 1.700000' in text
                            and text)
                text = wait_for(metrics, deadline(20), "/metrics with fra's clock offset")
                for series in ('clockwerk_checks_total{endpoint="shop",location="fra",result="ok"}',
                               'clockwerk_checks_total{endpoint="shop",location="nyc",result="failed"}',
                               'clockwerk_checks_total{endpoint="shop",location="central",result="ok"}',
                               'clockwerk_checks_total{endpoint="home",location="central",result="ok"}',
                               'clockwerk_endpoint_location_up{endpoint="shop",location="nyc"} 0',
                               'clockwerk_location_up{location="nyc"} 1',
                               'clockwerk_location_last_heard_timestamp_seconds{location="fra"}'):
                    check(series in text, "/metrics lacks %s" % series)
                lint = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                                      timeout=60)
                check(lint.returncode == 0 and lint.stdout == b"" and lint.stderr == b"",
                      "promtool check metrics: rc %d, %r %r" % (lint.returncode, lint.stdout[:2000],
                                                                 lint.stderr[:2000]))

                probes.fra_ok = False  # fra fails too: two of three locations vote down (alert_threshold 2)

                def shop_down():
                    page = get(port, "/")[2].decode()
                    return re.search(r'<tr id="ep-shop">.*?<td class="state down">down', page)
                wait_for(shop_down, deadline(30), "Shop down when fra and nyc see it down")

                probes.nyc_state = SILENT  # nyc's vote is left out: fra's DOWN alone is no quorum of 2, but one UP
                # vote (central's) of the 3 - 2 + 1 that end a DOWN: the DOWN holds

                def nyc_left_out():
                    page = get(port, "/")[2].decode()
                    return ('<td class="state loc-silent">silent</td>' in page and 'chip down silent' in page
                            and re.search(r'<tr id="ep-shop">.*?<td class="state down">down', page))
                wait_for(nyc_left_out, deadline(30), "nyc silent on the page, its vote left out: Shop still down")
                probes.fra_ok = True  # central and fra up: DOWN can no longer be reached

                def shop_up():
                    page = get(port, "/")[2].decode()
                    return re.search(r'<tr id="ep-shop">.*?<td class="state up">up', page)
                wait_for(shop_up, deadline(30), "Shop up when central and fra see it up again")
            cw.stop()
