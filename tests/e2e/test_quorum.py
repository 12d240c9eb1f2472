"""tests/e2e/test_quorum.py — quorum alerting and location liveness in the alerter (docs/alerts.md "Locations and
quorum"), on loopback.

A central host (supervisor.location "central", one worker of its own, every bus address on tcp://127.0.0.1 with
CURVE) admits two locations, fra and sgp. Their probes are small programs in this file that speak the documented
wire (docs/protocol.md 2.3 result v3, 2.9 HELLO/HELLO_ECHO) to the alerter with each location's own CURVE key: a
HELLO and one result per endpoint every half second, ok or failed as the test says. So what each location sees is
the test's to choose, and the central's own worker checks a local switchboard for real.

What is checked, on endpoints checked from central, fra and sgp (quorum 2, and the default majority) and one
checked from central and fra with quorum "all":
  - fra alone sees them down: its votes are counted (`clockwerk status` names them) and no DOWN goes out;
  - central sees it down too: one DOWN, whose message says "DOWN from central, fra; up from sgp";
  - every HELLO is answered with a HELLO_ECHO carrying the alerter's clock;
  - a HELLO claiming sgp with fra's key is refused and logged;
  - sgp stops: one location_silent alert for it (url location:sgp), no other alert (no false DOWN of the endpoint
    fra sees down while sgp's vote is left out); `clockwerk status` shows it
    silent; the alerter restarted meanwhile does not alert again for it (the state file keeps it);
  - the LOCATIONS message (through the relay) says sgp silent, fra and central live;
  - sgp comes back: one location_back alert.
"""

import json
import os
import re
import struct
import threading
import time

import zmq

import harness
from harness import Clockwerk, base_config, check, endpoint, run_cli, tempdir, wait_for
from webhook_receiver import Switchboard, WebhookReceiver

ALERTER = "clockwerk: alerter"
CHANNEL = "ops"


def _keygen(d, name):
    return harness.keygen(os.path.join(d, name))


def _str(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b + b"\0"


def encode_hello(location, worker, boot_id, sent_at_us):
    """docs/protocol.md 2.9: the header (version 1, type 6, count 1), then the fields."""
    return (bytes([1, 6]) + struct.pack("<H", 1) + _str(location) +
            struct.pack("<IQqqqI", worker, boot_id, sent_at_us, -(2 ** 63), -1, 1))


def decode_echo(payload):
    check(len(payload) == 20 and payload[0] == 1 and payload[1] == 7, "not a HELLO_ECHO: %r" % payload)
    return struct.unpack("<qq", payload[4:20])


def encode_result(location, worker, boot_id, seq, url, ok, checked_at_us):
    """One result of version 3 (docs/protocol.md 2.3): the v1 record, flags bit 3, the location at its end."""
    rec = struct.pack("<IQQqqqqqqqH", worker, boot_id, seq, checked_at_us, 0, 2000, -1, 1, -1, 1, 200 if ok else 500)
    rec += bytes([(1 if ok else 0) | 8, 0]) + _str(url) + _str("" if ok else "HTTP 500") + _str(location)
    return bytes([3, 1]) + struct.pack("<H", 1) + rec


class Probe:
    """A location's probe: every half second a HELLO and one result per endpoint (ok unless the URL is in
    self.failing), over CURVE with the location's key, to the alerter's address; counts the echoes."""

    def __init__(self, ctx, location, keys, server_key, address, urls, claim=None):
        self.location, self.urls, self.claim = location, urls, claim or location
        self.failing, self.running, self.stopped = set(), True, False
        self.echoes, self.seq, self.boot_id = [], 0, 0x5100 + len(location) * 7 + ord(location[0])
        self.s = ctx.socket(zmq.DEALER)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.curve_publickey, self.s.curve_secretkey = keys["public"].encode(), keys["secret"].encode()
        self.s.curve_serverkey = server_key.encode()
        self.s.connect(address)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            if self.running:
                now = int(time.time() * 1e6)
                self.s.send_multipart([b"hello", encode_hello(self.claim, 0, self.boot_id, now)])
                for url in self.urls:
                    self.seq += 1
                    ok = url not in self.failing
                    self.s.send_multipart([b"result", encode_result(self.claim, 0, self.boot_id, self.seq, url, ok,
                                                                    now)])
            deadline = time.time() + 0.5
            while time.time() < deadline:
                if self.s.poll(50):
                    frames = self.s.recv_multipart()
                    if frames[0] == b"hello_echo":
                        with self.lock:
                            self.echoes.append(decode_echo(frames[1]) + (int(time.time() * 1e6),))

    def close(self):
        self.stopped = True
        self.thread.join(5)
        self.s.close()


def decode_locations(payload):
    """docs/protocol.md 2.11: {name: (state, last_heard_us, offset_us, rtt_us, workers)}."""
    check(payload[0] == 1 and payload[1] == 10, "not a LOCATIONS message: %r" % payload[:4])
    count, pos, out = struct.unpack_from("<H", payload, 2)[0], 12, {}
    for _ in range(count):
        n = struct.unpack_from("<H", payload, pos)[0]
        name = payload[pos + 2:pos + 2 + n].decode()
        pos += 3 + n
        out[name] = struct.unpack_from("<BqqqI", payload, pos)
        pos += struct.calcsize("<BqqqI")
    check(pos == len(payload), "trailing bytes in a LOCATIONS message")
    return out


def locations_seen(sub, timeout=1.0):
    """The last LOCATIONS message that arrived within timeout, or None."""
    last, end = None, time.time() + timeout
    while time.time() < end:
        if sub.poll(100):
            topic, payload = sub.recv_multipart()[:2]
            if topic == b"locations":
                last = decode_locations(payload)
    return last


def alerts_of(hook):
    out = []
    for call in hook.calls(CHANNEL):
        out.extend(call.get("alerts", [call]) if call.get("kind") == "summary" else [call])
    return out


def kinds(hook, kind, url=None):
    return [a for a in alerts_of(hook) if a.get("kind") == kind and (url is None or a.get("url") == url)]


def status_json(cw):
    r = run_cli(["status", "-c", cw.conf_path, "--json"])
    try:
        return json.loads(r.out)
    except ValueError:
        return {}


def central_config(d, sw, hook, fra, sgp, central_key):
    ports = [harness.free_port() for _ in range(5)]
    bus = {"config_address": "tcp://127.0.0.1:%d" % ports[0], "store_address": "tcp://127.0.0.1:%d" % ports[1],
           "alert_address": "tcp://127.0.0.1:%d" % ports[2], "publish_address": "tcp://127.0.0.1:%d" % ports[3],
           "tap_address": "tcp://127.0.0.1:%d" % ports[4], "curve_key_file": "central.key"}
    url, calm, pair = sw.url("shop"), sw.url("calm"), sw.url("pair")
    three = ["central", "fra", "sgp"]
    cfg = base_config([endpoint(url, timeout=1, locations=three, quorum=2, alert_threshold=1),
                       endpoint(calm, timeout=1, locations=three, alert_threshold=1),  # the default: a majority
                       endpoint(pair, timeout=1, locations=["central", "fra"], quorum="all", alert_threshold=1)],
                      workers=1, db=False,
                      extra={"bus": bus,
                             "alerts": {"channels": [{"name": CHANNEL, "type": "webhook", "url": hook.url_for(CHANNEL)}],
                                        "location_silent_after": 3, "group_threshold": 100},
                             "locations": [{"name": "fra", "key": fra["public"]},
                                           {"name": "sgp", "key": sgp["public"]}]})
    cfg["supervisor"]["location"] = "central"
    return cfg, url, calm, pair


def test_quorum_silence_and_back():
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        hook.token_status[CHANNEL] = 200
        central, fra_keys, sgp_keys = _keygen(d, "central.key"), _keygen(d, "fra.key"), _keygen(d, "sgp.key")
        cfg, url, calm, pair = central_config(d, sw, hook, fra_keys, sgp_keys, central)
        harness.write_config(os.path.join(d, "check.conf"), cfg)
        r = run_cli(["-t", "-c", os.path.join(d, "check.conf")])
        check(r.code == 0, "clockwerk -t on the central configuration: %s" % r.text)
        ctx = zmq.Context()
        probes, probes_socks = [], []
        try:
            with Clockwerk(cfg, d) as cw:
                cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
                cw.wait_log(r"alerter running")
                address = cfg["bus"]["alert_address"]
                fra = Probe(ctx, "fra", fra_keys, central["public"], address, [url, calm, pair])
                sgp = Probe(ctx, "sgp", sgp_keys, central["public"], address, [url, calm])
                probes += [fra, sgp]

                # fra alone sees them down: voted, no DOWN (2 of 3; "all" of 2)
                fra.failing.update([url, calm, pair])

                def rows():
                    return {e["url"]: e for e in status_json(cw).get("endpoints") or []}
                wait_for(lambda: all("DOWN from fra" in (rows().get(u) or {}).get("locations", "") for u in (url, calm, pair)),
                         timeout=30, what="clockwerk status naming fra's DOWN votes")
                for u, row in rows().items():
                    check(row["state"] == "up", "%s: fra alone made it %s" % (u, row["state"]))
                check(not kinds(hook, "down"), "a DOWN went out without a quorum: %s" % kinds(hook, "down"))

                # HELLOs are answered with the alerter's clock
                with fra.lock:
                    echoes = list(fra.echoes)
                check(echoes, "no HELLO_ECHO came back")
                sent, received, back = echoes[-1]
                check(sent <= received + 1000000 and received <= back + 1000000,
                      "echo times out of order: sent %d, alerter %d, back %d" % (sent, received, back))

                # the central's own worker sees it down too: the quorum
                sw.set("shop", status=500)
                wait_for(lambda: kinds(hook, "down"), timeout=30, what="the DOWN alert")
                down = kinds(hook, "down")
                check(len(down) == 1, "%d DOWN alerts" % len(down))
                check("DOWN from central, fra; up from sgp" in down[0]["message"],
                      "the DOWN does not say who sees what: %s" % down[0]["message"])

                # a key that speaks for another location is refused
                mark = cw.log_mark()
                liar = Probe(ctx, "fra", fra_keys, central["public"], address, [], claim="sgp")
                probes.append(liar)
                cw.wait_log(r"a HELLO claiming location sgp refused: key %s may only send for location fra"
                            % re.escape(fra_keys["public"]), since=mark, timeout=20)
                liar.close()
                probes.remove(liar)

                # sgp goes silent: one location_silent, no other alert
                sgp.running = False
                wait_for(lambda: kinds(hook, "location_silent"), timeout=30, what="the location_silent alert")
                silent = kinds(hook, "location_silent")
                check(len(silent) == 1 and silent[0]["url"] == "location:sgp" and "location sgp silent" in
                      silent[0]["message"], "location_silent alerts: %s" % silent)
                wait_for(lambda: any(l["name"] == "sgp" and l["state"] == "silent"
                                     for l in status_json(cw).get("locations") or []), timeout=20,
                         what="clockwerk status showing sgp silent")
                # and so does the LOCATIONS message (through the relay, as the web and the tap see it)
                sub = ctx.socket(zmq.SUB)
                probes_socks.append(sub)
                # the central's key: a probe host's key is not admitted on the tap (docs/protocol.md 8)
                sub.curve_publickey, sub.curve_secretkey = central["public"].encode(), central["secret"].encode()
                sub.curve_serverkey = central["public"].encode()
                sub.setsockopt(zmq.SUBSCRIBE, b"locations")
                sub.connect(cfg["bus"]["tap_address"])
                seen = {}

                def published():
                    seen["m"] = locations_seen(sub) or {}
                    m = seen["m"]
                    return (m.get("sgp", (0,))[0] == 2 and m.get("fra", (0,))[0] == 1 and m.get("central", (0,))[0] == 1
                            and m["fra"][4] >= 1)
                wait_for(published, timeout=30, what="a LOCATIONS message with sgp silent, fra and central live")
                check(set(seen["m"]) == {"central", "fra", "sgp"}, "LOCATIONS names %s" % sorted(seen["m"]))
                text = run_cli(["status", "-c", cw.conf_path]).out
                check(re.search(r"LOCATION sgp: silent", text) and re.search(r"LOCATION fra: live", text),
                      "clockwerk status: %s" % text)

                # an alerter restart keeps it silent: no second alert
                old = cw.child(ALERTER)
                mark = cw.log_mark()
                os.kill(old, 15)
                cw.wait_new_child(ALERTER, old, timeout=30)
                cw.wait_log(r"alerter running", since=mark, timeout=30)
                fra_heard = len(fra.echoes)
                wait_for(lambda: len(fra.echoes) > fra_heard + 8, timeout=30, what="fra heard by the new alerter")
                wait_for(published, timeout=30, what="the new alerter's LOCATIONS message with sgp still silent")
                check(len(kinds(hook, "location_silent")) == 1, "a restart alerted again: %s"
                      % kinds(hook, "location_silent"))
                # calm: fra down, sgp silent, central up: one DOWN vote of the two needed, no false DOWN
                check(len(kinds(hook, "down")) == 1 and not kinds(hook, "up"), "an alert of an endpoint came from the"
                      " silence or the restart: %s" % [(a["kind"], a["url"]) for a in alerts_of(hook)])

                # sgp back: one location_back
                sgp.running = True
                wait_for(lambda: kinds(hook, "location_back"), timeout=30, what="the location_back alert")
                back = kinds(hook, "location_back")
                check(len(back) == 1 and back[0]["url"] == "location:sgp" and "location sgp back after" in
                      back[0]["message"], "location_back alerts: %s" % back)
                check(len(kinds(hook, "location_silent")) == 1, "more location_silent alerts")
                check([a["url"] for a in kinds(hook, "down")] == [url], "DOWN alerts: %s" % kinds(hook, "down"))
                cw.stop()
        finally:
            for p in probes:
                p.close()
            for sock in probes_socks:
                sock.close(0)
            ctx.term()
