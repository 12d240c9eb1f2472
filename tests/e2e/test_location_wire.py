"""tests/e2e/test_location_wire.py — the wire of issue 16 with real processes (docs/protocol.md 2.3, 2.9, section 1
"Heartbeats"): a worker's results carry its supervisor.location (version 3, at the alerter and on the tap), its
HELLOs reach the alerter's socket once a second and the echo gives it its clock offset, and a ZMTP heartbeat on
tcp:// notices a peer that stopped answering (HELLOs dropped, not queued) and the flow resumes when it is back.

The alerter is a stand-in (a Python ROUTER with pyzmq on a tcp:// alert_address, in place of clockwerk-alerter): it
records what it receives and answers each HELLO with an echo whose clock is SKEW_S behind the worker's, so that the
offset the worker measures is known."""

import json
import os
import signal
import time

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, free_port, tempdir, wait_for
from targets import Targets

SKEW_S = 3.0  # the stand-in alerter's clock is this far behind the worker's

FAKE_ALERTER = r'''#!/usr/bin/python3
"""A stand-in for clockwerk-alerter: records hellos and results (one JSON line each), echoes hellos."""
import json, signal, struct, sys, time
import zmq

ADDRESS, EVENTS, SKEW_US = %(address)r, %(events)r, %(skew_us)d
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
sock = zmq.Context.instance().socket(zmq.ROUTER)
sock.setsockopt(zmq.LINGER, 0)
sock.bind(ADDRESS)
out = open(EVENTS, "a")


def read_str(buf, off):
    (n,) = struct.unpack_from("<H", buf, off)
    return buf[off + 2:off + 2 + n].decode(), off + 3 + n


def result_locations(buf):
    version, _, count = struct.unpack_from("<BBH", buf, 0)
    off, locations = 4, []
    for _ in range(count):
        flags = buf[off + 78]
        _, off = read_str(buf, off + 80)      # url
        _, off = read_str(buf, off)           # error
        off += 8 if flags & 2 else 0          # certificate expiry
        if flags & 4:
            _, off = read_str(buf, off)       # figures
        location = ""
        if flags & 8:
            location, off = read_str(buf, off)
        locations.append(location)
    return version, locations


while True:
    if not sock.poll(200):
        continue
    frames = sock.recv_multipart()
    if len(frames) != 3:
        continue
    peer, topic, payload = frames
    if topic == b"hello":
        location, off = read_str(payload, 4)
        worker, boot_id, sent_at, offset, rtt, endpoints = struct.unpack_from("<IQqqqI", payload, off)
        now = time.time_ns() // 1000 - SKEW_US
        sock.send_multipart([peer, b"hello_echo", struct.pack("<BBHqq", 1, 7, 1, sent_at, now)])
        event = dict(type="hello", version=payload[0], location=location, worker=worker, boot_id=boot_id,
                     sent_at=sent_at, offset=offset, rtt=rtt, endpoints=endpoints, at=time.time())
    elif topic == b"result":
        version, locations = result_locations(payload)
        event = dict(type="result", version=version, locations=locations, at=time.time())
    else:
        event = dict(type=topic.decode("ascii", "replace"), at=time.time())
    out.write(json.dumps(event) + "\n")
    out.flush()
'''

OFFSET_UNKNOWN = -(1 << 63)


def _events(path):
    try:
        with open(path) as f:
            return [json.loads(ln) for ln in f if ln.endswith("\n")]
    except FileNotFoundError:
        return []


def _setup(d, t, location="fra"):
    """A supervisor with one worker at `location` whose alerter is the stand-in on a tcp:// address."""
    events = os.path.join(d, "alerter-events")
    address = "tcp://127.0.0.1:%d" % free_port()
    fake = FAKE_ALERTER % {"address": address, "events": events, "skew_us": int(SKEW_S * 1e6)}
    bindir = harness.private_bin(d, replace={"clockwerk-alerter": fake})
    cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=1, db=False,
                      extra={"supervisor": {"location": location}, "bus": {"alert_address": address}})
    return cfg, bindir, events


def _hellos(events):
    return [e for e in _events(events) if e["type"] == "hello"]


@harness.timeout(120)
def test_results_carry_the_location_and_the_echo_gives_the_offset():
    with tempdir() as d, Targets() as t:
        cfg, bindir, events = _setup(d, t)
        with Clockwerk(cfg, d, bin_dir=bindir) as cw:
            # HELLOs once a second, with the location; after the first echoes, an offset of about SKEW_S
            def measured():
                hs = _hellos(events)
                late = [h for h in hs if h["offset"] != OFFSET_UNKNOWN]
                return (hs, late) if len(late) >= 2 else None
            hs, late = wait_for(measured, deadline(30), lambda: "two HELLOs with an offset at the stand-in alerter; "
                                "got %s" % _hellos(events)[-3:])
            check(all(h["location"] == "fra" and h["worker"] == 0 and h["endpoints"] == 1 and h["version"] == 1
                      for h in hs), "HELLOs with the wrong fields: %s" % hs[:3])
            check(hs[0]["offset"] == OFFSET_UNKNOWN and hs[0]["rtt"] == -1,
                  "the first HELLO claims an offset before any echo: %s" % hs[0])
            for h in late:
                check(h["rtt"] >= 0 and abs(h["offset"] / 1e6 - SKEW_S) <= 0.05 + h["rtt"] / 2e6,
                      "offset %.6f s (rtt %d us), expected %.1f s: %s" % (h["offset"] / 1e6, h["rtt"], SKEW_S, h))
            gaps = [b["sent_at"] - a["sent_at"] for a, b in zip(hs, hs[1:])]
            check(all(0.5e6 <= g <= 3e6 for g in gaps), "HELLOs not about once a second: gaps %s us" % gaps)
            harness.note("HELLO offset %.3f s (the stand-in's clock is %.1f s behind), rtt %d us"
                         % (late[-1]["offset"] / 1e6, SKEW_S, late[-1]["rtt"]))

            # results at the alerter: version 3, every record at fra
            res = wait_for(lambda: [e for e in _events(events) if e["type"] == "result"] or None, deadline(30),
                           "results at the stand-in alerter")
            check(all(r["version"] == 3 and r["locations"] and set(r["locations"]) == {"fra"} for r in res),
                  "results without their location: %s" % res[:3])

            # the tap: JSON `location`, the plain `location=fra`, --location filters
            code, lines, err = harness.run_tap(cw.conf_path, 2, extra=("--location", "fra"), timeout=30)
            check(code == 0, "clockwerk-tap --location fra exited %s: %s" % (code, err[-300:]))
            results = [x for x in lines if x.get("type") == "result"]
            check(results and all(x.get("location") == "fra" for x in results), "tap JSON: %s" % lines)
            code, lines, err = harness.run_tap(cw.conf_path, 1, json_output=False, timeout=30)
            check(code == 0 and lines and " location=fra " in lines[0], "tap plain line: %s %s" % (lines, err))

            # the worker's stats: hellos sent, echoes, the offset
            with harness.Tap(cw.conf_path, ("--json", "--stats")) as tap:
                def worker_stats():
                    for ln in reversed(tap.snapshot()):
                        o = json.loads(ln)
                        if o.get("type") == "stats" and o.get("role") == "worker" and \
                                "clock_offset_us" in o.get("counters", {}):
                            return o["counters"]
                    return None
                c = wait_for(worker_stats, deadline(20), "worker stats with clock_offset_us on the tap")
            check(c["hellos_sent"] >= 2 and c["hello_echoes"] >= 1, "worker hello counters: %s" % c)
            check(abs(c["clock_offset_us"] / 1e6 - SKEW_S) <= 0.05 + c["clock_rtt_us"] / 2e6,
                  "worker clock_offset_us %s" % c)
            cw.stop()


@harness.timeout(150)
def test_heartbeat_notices_a_frozen_alerter_and_the_flow_resumes():
    """The stand-in alerter frozen (SIGSTOP: its TCP connection stays up, nothing answers): the worker's heartbeat
    times out within about 6 s, the connection is dropped, and HELLOs are dropped (not queued in a dead
    connection); thawed, the worker reconnects and HELLOs arrive again, newly sent ones."""
    with tempdir() as d, Targets() as t:
        cfg, bindir, events = _setup(d, t)
        with Clockwerk(cfg, d, bin_dir=bindir) as cw:
            wait_for(lambda: len(_hellos(events)) >= 2, deadline(30), "HELLOs at the stand-in alerter")
            with harness.Tap(cw.conf_path, ("--json", "--stats")) as tap:
                def counters():
                    for ln in reversed(tap.snapshot()):
                        o = json.loads(ln)
                        if o.get("type") == "stats" and o.get("role") == "worker":
                            return o["counters"]
                    return None
                before = wait_for(counters, deadline(20), "worker stats on the tap")
                fake = [pid for pid, _ in harness.list_descendants(cw.pid)
                        if "clockwerk-alerter" in " ".join(harness.proc_cmdline(pid) or [])]
                check(len(fake) == 1, "the stand-in alerter's pid: %s" % fake)
                os.kill(fake[0], signal.SIGSTOP)
                frozen_at = time.time()
                try:
                    wait_for(lambda: (counters() or before)["hellos_dropped"] > before["hellos_dropped"],
                             deadline(30), "HELLOs dropped while the alerter is frozen (heartbeat timeout)")
                    noticed = time.time() - frozen_at
                finally:
                    os.kill(fake[0], signal.SIGCONT)
            thawed_at = time.time()
            harness.note("the frozen alerter was noticed after %.1f s (heartbeat: 2 s interval, 6 s timeout)" % noticed)
            check(noticed <= 20, "the dead connection was noticed only after %.1f s" % noticed)
            fresh = wait_for(lambda: [h for h in _hellos(events) if h["sent_at"] / 1e6 > thawed_at] or None,
                             deadline(30), "a HELLO sent after the alerter came back")
            check(fresh[0]["location"] == "fra", "HELLO after the thaw: %s" % fresh[0])
            cw.stop()
