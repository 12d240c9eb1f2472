"""tests/e2e/test_location_relay.py — a probe host's key on the central's relay (issue 16, docs/protocol.md 8,
docs/config.md "Locations"), on loopback.

A central host (supervisor.location "central", its own worker, one probe location fra admitted by its CURVE key,
every bus address on tcp://127.0.0.1 with CURVE, the web on) checks a local target.
  test_location_key_cannot_tap
        `clockwerk-tap` with fra's key gets nothing: the relay's XPUB (tap_address) refuses the key, and the central
        logs the refusal with the key and the ZAP domain `clockwerk.tap`; the same tap with the central's key reads
        the stream.
  test_location_key_publishes_only_its_results
        a pyzmq PUB with fra's key (a probe host's worker gone rogue) publishes on the relay's XSUB (publish_address),
        five times a second: results claiming location nyc, an alert, a LOCATIONS message, and results of fra.
        A SUB with the central's key on tap_address sees fra's results and none of the rest; the web's
        /api/v1/locations never shows the forged LOCATIONS figures; the relay logs the drops (rate-limited) and
        their count at stop.
"""

import contextlib
import json
import os
import re
import time

import zmq

import harness
from harness import Clockwerk, check, deadline, endpoint, free_port, tempdir, wait_for
from hdata import Tap
from targets import Targets
from test_location_keys import _bus
from test_maintenance import encode_alert
from test_web import WEB, get, wait_serving, web_config
from test_web_locations import LIVE, FakeProbes, keygen, locations_message, result_batch, result_record

RELAY = "clockwerk: relay"
FORGED_OFFSET_US = 42420000  # the forged LOCATIONS message's clock offset for fra: 42.42 s
FORGED_ALERT_ID = 0x5EC0FFEE


def _central(d, t, web_port):
    _, central = keygen(d, "central.key")
    _, fra = keygen(d, "fra.key")
    bus = _bus([free_port() for _ in range(5)])  # every address on tcp://127.0.0.1, central.key
    shop = t.url("/ok?shop")
    eps = [endpoint(shop, name="shop", timeout=1, locations=["central", "fra"], quorum=1)]
    cfg = web_config(eps, web_port, extra={"bus": bus})
    cfg["supervisor"]["location"] = "central"
    cfg["locations"] = [{"name": "fra", "key": fra["public"].decode()}]
    return cfg, bus, central, fra, shop


@contextlib.contextmanager
def _running_central():
    """The central host running, its web serving: (dir, Clockwerk, web port, bus, central keys, fra keys, URL)."""
    with tempdir() as d, Targets() as t:
        port = free_port()
        cfg, bus, central, fra, shop = _central(d, t, port)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)
            yield d, cw, port, bus, central, fra, shop


def _tap_config(d, bus, shop, key_file, server_key):
    """A file for clockwerk-tap that reads the central's tap address with the key pair in key_file."""
    b = dict(bus, curve_key_file=key_file, curve_server_key=server_key.decode())
    path = os.path.join(d, "tap-%s.conf" % key_file.split(".")[0])
    harness.write_config(path, harness.base_config([endpoint(shop)], workers=1, extra={"bus": b}))
    return path


@harness.timeout(180)
def test_location_key_cannot_tap():
    with _running_central() as (d, cw, port, bus, central, fra, shop):
        cw.wait_count(shop, 1, timeout=30)
        mark = cw.log_mark()
        with Tap(_tap_config(d, bus, shop, "fra.key", central["public"])) as rogue:
            cw.wait_count(shop, 3, timeout=30, after=harness.utc_now_iso())  # the stream went on meanwhile
            got = rogue.snapshot()
        check(got == [], "clockwerk-tap with fra's key read %d lines from the central: %s" % (len(got), got[:2]))
        cw.wait_log(r"refused a bus client from \S+ on clockwerk\.tap: its CURVE key %s is a probe host's"
                    % re.escape(fra["public"].decode()), timeout=20, since=mark)
        code, lines, err = harness.run_tap(cw.conf_path, 2, json_output=True, timeout=30)
        check(code == 0 and len(lines) >= 2, "clockwerk-tap with the central's key: exit %s, %d lines: %s"
              % (code, len(lines), err.strip()[-300:]))
        cw.stop()


class RoguePublisher(FakeProbes):
    """fra's key on the relay's XSUB, from a thread: what a probe host may publish and what it may not."""

    def run(self):
        seq = 0
        while not self.stop.is_set():
            now_us = int(time.time() * 1e6)
            seq += 1
            self.pub.send_multipart([b"result", result_batch([result_record(self.url + "&claims-nyc", "nyc", seq,
                                                                              False, 0, "forged")])])
            self.pub.send_multipart([b"result", result_batch([
                result_record(self.url + "&fra", "fra", seq, True, 20000),
                result_record(self.url + "&claims-nyc-too", "nyc", seq, False, 0, "forged")])])
            self.pub.send_multipart([b"alert", encode_alert({
                "alert_id": FORGED_ALERT_ID, "raised_at_us": now_us, "kind": "down", "email": "none",
                "webhook": "none", "url": self.url, "name": "shop", "message": "shop DOWN (forged by fra's key)"})])
            self.pub.send_multipart([b"locations", locations_message([
                ("central", LIVE, now_us, 0, 90, 1), ("fra", LIVE, now_us, FORGED_OFFSET_US, 100, 77)])])
            self.pub.send_multipart([b"result", result_batch([result_record(self.url + "&fra", "fra", seq, True,
                                                                            20000)])])
            self.stop.wait(0.2)


def _forged(topic, payload):
    """What of the forged traffic a message is, or None for what fra may publish (or the central's own)."""
    if topic == b"result" and b"claims-nyc" in payload:
        return "results claiming nyc"
    if topic == b"alert" and FORGED_ALERT_ID.to_bytes(8, "little") in payload:
        return "the forged alert"
    if topic == b"locations" and FORGED_OFFSET_US.to_bytes(8, "little", signed=True) in payload:
        return "the forged LOCATIONS message"
    return None


@harness.timeout(180)
def test_location_key_publishes_only_its_results():
    with _running_central() as (d, cw, port, bus, central, fra, shop):
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.curve_publickey, sub.curve_secretkey = central["public"], central["secret"]
        sub.curve_serverkey = central["public"]
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(bus["tap_address"])
        seen, forged, web_forged = {"fra": 0, "locations": 0}, [], []
        try:
            with RoguePublisher(bus["publish_address"], fra, central["public"], shop):
                def watch():
                    while sub.poll(50):
                        frames = sub.recv_multipart()
                        if len(frames) != 2:
                            continue
                        what = _forged(frames[0], frames[1])
                        if what:
                            forged.append(what)
                        elif frames[0] == b"result" and (shop + "&fra").encode() in frames[1]:
                            seen["fra"] += 1
                        elif frames[0] == b"locations":
                            seen["locations"] += 1
                    st, _, body = get(port, "/api/v1/locations")
                    if st == 200:
                        for loc in json.loads(body).get("locations", []):
                            if loc.get("name") == "fra" and loc.get("clock_offset_seconds") == 42.42:
                                web_forged.append(loc)
                    return seen["fra"] >= 20 and seen["locations"] >= 3
                wait_for(watch, deadline(40), "fra's own results (20) and the alerter's LOCATIONS (3) on the tap")
        finally:
            sub.close()
            ctx.term()
        check(not forged and not web_forged, "the relay forwarded what fra's key may not publish: %s; the web's "
              "/api/v1/locations showed the forged LOCATIONS %d times %s"
              % (sorted(set(forged)), len(web_forged), web_forged[:1]))
        cw.wait_log(r"relay: dropped (results claiming location \"nyc\"|a 'alert' message|a 'locations' message)"
                    r" from the key of location fra \(key %s\)" % re.escape(fra["public"].decode()), timeout=10)
        cw.stop()
        cw.wait_log(r"dropped \d+ messages from probe hosts' keys \(\d+ of another kind than results and stats, "
                    r"\d+ of another location, 0 malformed\)", timeout=10)
