"""tests/e2e/test_location_rejoin.py — a probe host whose CURVE key the central refused for a while comes back by
itself (docs/protocol.md section 8 "A refused client retries"), on loopback: two supervisors on one machine are the
hosts, each with its own run_dir and key pair.

The central (workers = 0, CURVE on tcp://) is reloaded without location fra: its storer, alerter and relay refuse
fra's key, so the ZAP handshake of each of the probe's worker sockets fails (libzmq 4.3 then ends that connection
for good). The central is reloaded with fra again: the probe's workers must reconnect by themselves — their results
are stored again within a bounded time, none of them lost (every seq of the probe's worker, by its log, stored
exactly once) — and the probe's log says its key was refused and then admitted.
"""

import re
import time

import harness
from harness import SEQ_GROUPS_SQL, Clockwerk, check, deadline, endpoint, tempdir, wait_for
from targets import Targets

POLL = {"CLOCKWERK_CONFIG_POLL_MS": "200"}
CENTRAL_TITLES = ["clockwerk: storer", "clockwerk: alerter", "clockwerk: relay"]


def _keygen(d, name):
    return harness.keygen("%s/%s.key" % (d, name))["public"]


def _central(keys, ports, url, locations):
    return {
        "supervisor": {"location": "central", "workers": 0, "run_dir": "run-central", "log_level": "info"},
        "locations": [{"name": n, "key": keys[n]} for n in locations],
        "bus": {"config_address": "tcp://127.0.0.1:%d" % ports[0], "store_address": "tcp://127.0.0.1:%d" % ports[1],
                "alert_address": "tcp://127.0.0.1:%d" % ports[2], "publish_address": "tcp://127.0.0.1:%d" % ports[3],
                "tap_address": "tcp://127.0.0.1:%d" % ports[4], "curve_key_file": "central.key"},
        "alerts": {"location_silent_after": 10},
        "monitor": {"check_interval": 1, "latency_threshold": 1.0, "endpoints": [endpoint(url, timeout=1)]},
        "database": {"db_activation": True, "db_driver": "sqlite", "db_name": "central.db"},
    }


def _probe(keys, ports):
    return {
        "supervisor": {"location": "fra", "workers": 1, "run_dir": "run-fra", "log_level": "info"},
        "bus": {"central_address": "tcp://127.0.0.1:%d" % ports[0], "curve_key_file": "fra.key",
                "curve_server_key": keys["central"]},
    }


def _rows_from_fra(central):
    rows = central.db().try_query("SELECT count(*), max(seq) FROM checks WHERE location = 'fra'")
    return (rows[0][0] or 0, rows[0][1] or 0) if rows else (0, 0)


@harness.timeout(300)
def test_refused_probe_rejoins_after_its_key_is_admitted_again():
    with tempdir() as d, Targets() as t:
        keys = {n: _keygen(d, n) for n in ("central", "fra", "nyc")}
        ports = [harness.free_port() for _ in range(5)]
        url = t.url("/ok")
        central = Clockwerk(_central(keys, ports, url, ("fra", "nyc")), d, name="central").start()
        probe = None
        try:
            central.wait_ready(titles=CENTRAL_TITLES)
            probe = Clockwerk(_probe(keys, ports), d, name="probe-fra", env=POLL).start()
            probe.wait_ready(titles=["clockwerk: worker 0/1"], timeout=30)
            wait_for(lambda: _rows_from_fra(central)[0] >= 2, deadline(30), "rows from fra at the central")

            # fra leaves `locations`: every server of the central refuses its key
            mark = central.log_mark()
            central.reload(_central(keys, ports, url, ("nyc",)))
            refused = r"\] \d+ \w+: refused a bus client from \S+ on \S+: its CURVE key " + re.escape(keys["fra"]) + " is not in"
            for role in ("storer", "alerter", "relay"):
                central.wait_log(r"\[" + role + refused, since=mark, timeout=40)
            # refused long enough for the probe's workers to try again, and be refused again (every 5 s)
            worker_addresses = ["tcp://127.0.0.1:%d" % p for p in ports[1:4]]
            for address in worker_addresses:
                probe.wait_log(r"\[worker 0/1\] \d+ warn: the bus server %s refused this host's CURVE key %s \(status "
                               r"400\): connecting again every 5 s" % (re.escape(address), re.escape(keys["fra"])),
                               timeout=40)
            wait_for(lambda: central.log_since(mark).count(keys["fra"]) >= 4, deadline(40),
                     "the central refusing fra's key again (the probe retries)")
            stuck = _rows_from_fra(central)

            # fra is admitted again: its results come back by themselves
            mark = central.log_mark()
            central.reload(_central(keys, ports, url, ("fra", "nyc")))
            central.wait_log(r"location fra connected", since=mark, timeout=40)
            admitted_at = time.time()
            wait_for(lambda: _rows_from_fra(central)[1] >= stuck[1] + 3, deadline(60),
                     lambda: "new rows from fra after its key was admitted again (max seq %d then, %d now)" % (
                         stuck[1], _rows_from_fra(central)[1]))
            harness.note("results from fra stored again %.1f s after its key was admitted again" % (
                time.time() - admitted_at))
            for address in worker_addresses:   # the results, the hellos and the best-effort stream
                probe.wait_log(r"\[worker 0/1\] \d+ info: the bus server %s admitted this host's CURVE key again"
                               % re.escape(address), timeout=30)
            text = probe.log_text()
            for address in worker_addresses:   # said once per change, not per attempt
                check(text.count("the bus server %s refused" % address) == 1,
                      "the refusal of %s logged %d times:\n%s" % (address, text.count(address), harness.tail(text)))
            probe.stop()
            groups = central.db().try_query(SEQ_GROUPS_SQL) or []
            problems, _ = harness.stored_seq_problems(probe.log_text(), groups, workers=1)
            check(not problems, "the probe's results at the central:\n%s" % "\n".join(problems))
            central.stop()
        finally:
            if probe:
                probe.cleanup()
            central.cleanup()


@harness.timeout(180)
def test_misdirected_probes_and_unknown_keys_are_named():
    """A probe host whose bus.central_address is the central's store_address (or alert_address) by mistake: the
    storer (the alerter) says what reached it and what the probe should name, at powers of two, not at every
    request; the probe's 'not answering' says what to check. A key the central does not know at all: the refusal
    names both places a key may be admitted."""
    with tempdir() as d, Targets() as t:
        keys = {n: _keygen(d, n) for n in ("central", "fra", "nyc", "stranger")}
        ports = [harness.free_port() for _ in range(5)]
        central = Clockwerk(_central(keys, ports, t.url("/ok"), ("fra", "nyc")), d, name="central").start()
        probes = []
        try:
            central.wait_ready(titles=CENTRAL_TITLES)
            for location, port, key in (("fra", ports[1], "fra"), ("nyc", ports[2], "nyc"), ("fra", ports[0],
                                                                                              "stranger")):
                cfg = _probe(keys, ports)
                cfg["supervisor"].update(location=location, run_dir="run-%s-%s" % (location, key))
                cfg["bus"].update(central_address="tcp://127.0.0.1:%d" % port, curve_key_file=key + ".key")
                probes.append(Clockwerk(cfg, d, name="probe-%s-%s" % (location, key), env=POLL).start())
            for role, p, port in (("storer", probes[0], ports[1]), ("alerter", probes[1], ports[2])):
                central.wait_log(r"\[%s\] \d+ warn: a CONFIG_GET \(a probe host's configuration request\) reached the "
                                 r"%s from key %s: that probe's bus\.central_address should be the central's "
                                 r"bus\.config_address" % (role, role, re.escape(keys[p.name[6:9]])), timeout=30)
                p.wait_log(r"central host tcp://127\.0\.0\.1:%d not answering since \S+: nothing to check: .* \(is it "
                           r"the central's bus\.config_address\? is this host's key in the central's `locations`\? "
                           r"the central's log says which\)" % port, timeout=30)
            central.wait_log(r"its CURVE key %s is not in bus\.curve_allowed_keys nor in `locations`"
                             % re.escape(keys["stranger"]), timeout=30)
            probes[2].wait_log(r"the bus server tcp://127\.0\.0\.1:%d refused this host's CURVE key %s \(status 400\)"
                               % (ports[0], re.escape(keys["stranger"])), timeout=30)
            # many requests later (one every 200 ms), a few lines only
            wait_for(lambda: re.search(r"reached the storer .*\((1[6-9]|[2-9]\d|\d{3,}) so far", central.log_text()),
                     deadline(60), "the storer's line of the 16th CONFIG_GET")
            text = central.log_text()
            check(text.count("reached the storer") <= 6 and "dropped a malformed config_get" not in text,
                  "the storer's lines of misdirected requests:\n%s" % harness.tail(text))
            for p in probes:
                p.stop()
            central.stop()
        finally:
            for p in probes:
                p.cleanup()
            central.cleanup()
