"""tests/e2e/test_locations.py — issue 16's tests, "hosts made of network namespaces" (tests/e2e/netns.py).

A central host (storer, alerter, relay; workers = 0) and three probe hosts fra, nyc, sgp, each a namespace with its
own address on one bridge, the bus on tcp:// with CURVE across them (a key pair per host, `clockwerk keygen`), the
probes' files only `supervisor` and `bus` (docs/config.md "Locations"); HTTP targets in a namespace of their own,
reached from some probes and not others (routes). The tests:
  - endpoints are checked from each location their `locations` name, and from no other;
  - quorum 2 of 3: a target reached from one location only is DOWN ("DOWN from nyc, sgp; up from fra"); one reached
    from two raises no alert;
  - a probe cut off (`ip link set ... down`) for a minute: one location_silent, no false DOWN, its buffered results
    stored exactly once after the link returns (every seq of its worker, by its log), one location_back;
  - 80 ms more on sgp's link (tc netem, or the harness's delay line) shows in sgp's latencies only;
  - a central reload with a new endpoint: every probe picks it up and checks it;
  - a probe host with a key the central does not admit gets nothing (no configuration) and sends nothing in (started
    with a configuration copied from fra's central.snap, it checks, and not one of its results is stored).
Every namespace, link and process is removed on every path (netns.Network, harness.Clockwerk). Needs root and
iproute2: without them each test notes why and passes without checking. Probes poll every 200 ms
(CLOCKWERK_CONFIG_POLL_MS).
"""

import contextlib
import os
import re
import shutil
import statistics
import time

import harness
import netns
from harness import Clockwerk, check, deadline, endpoint, run_cli, tempdir, wait_for

PROBES = ("fra", "nyc", "sgp")
EVERYWHERE = {"fra", "nyc", "sgp"}
POLL = {"CLOCKWERK_CONFIG_POLL_MS": "200"}
RECEIVED = r"configuration [0-9a-f]{16} received from the central host"
CENTRAL_TITLES = ["clockwerk: storer", "clockwerk: alerter", "clockwerk: relay"]
ROWS_BY_LOCATION = ("SELECT c.location, count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                    "WHERE e.url = ? GROUP BY c.location")
ALERTS = ("SELECT lower(a.kind), e.url, a.message FROM alerts a JOIN endpoints e ON e.id = a.endpoint_id "
          "ORDER BY a.id")


class Site:
    """The keys and files of a central host and its probe hosts on a netns.Network, in directory d."""

    def __init__(self, net, d, locations=PROBES, silent_after=3):
        self.net, self.d = net, d
        self.keys = {}
        for name in ("central",) + tuple(locations) + ("stranger",):
            path = os.path.join(d, name + ".key")
            r = run_cli(["keygen", path])
            check(r.code == 0, "clockwerk keygen %s: %s" % (path, r.text))
            self.keys[name] = r.out.strip()
        self.locations = list(locations)
        self.silent_after = silent_after
        host = net.addr("central")  # the namespace is private: fixed ports cannot clash with another test's
        self.config_address = "tcp://%s:7000" % host
        self.bus = {"config_address": self.config_address, "store_address": "tcp://%s:7001" % host,
                    "alert_address": "tcp://%s:7002" % host, "publish_address": "tcp://%s:7003" % host,
                    "curve_key_file": "central.key"}   # tap_address: ipc:// in run-central (the tests' tap reads it)

    def central_config(self, endpoints):
        return {
            "supervisor": {"location": "central", "workers": 0, "run_dir": "run-central", "log_level": "info"},
            "locations": [{"name": n, "key": self.keys[n]} for n in self.locations],
            "bus": dict(self.bus),
            "alerts": {"quorum": "majority", "location_silent_after": self.silent_after},
            "monitor": {"check_interval": 1, "latency_threshold": 5.0, "endpoints": list(endpoints)},
            "database": {"db_activation": True, "db_driver": "sqlite", "db_name": "central.db"},
        }

    def probe_config(self, location, key=None):
        return {
            "supervisor": {"location": location, "workers": 1, "run_dir": "run-" + location, "log_level": "info"},
            "bus": {"central_address": self.config_address, "curve_key_file": (key or location) + ".key",
                    "curve_server_key": self.keys["central"]},
        }

    def central(self, endpoints):
        cw = Clockwerk(self.central_config(endpoints), self.d, name="central",
                       bin_dir=self.net.wrapped_bin("central", self.d)).start()
        cw.wait_ready(titles=CENTRAL_TITLES)
        return cw

    def probe(self, location, host=None, key=None):
        """A probe supervisor for location, in namespace host (default: the location's own)."""
        host = host or location
        return Clockwerk(self.probe_config(location, key), self.d, name="probe-" + host, env=POLL,
                         bin_dir=self.net.wrapped_bin(host, self.d)).start()


def rows_by_location(cw, url):
    return dict(cw.db().try_query(ROWS_BY_LOCATION, (url,)) or [])


def wait_rows_from(cw, url, want, n=2, timeout=60):
    """Waits until url has >= n rows from each location of want; returns {location: rows}."""
    def enough():
        got = rows_by_location(cw, url)
        return got if all(got.get(loc, 0) >= n for loc in want) else None
    return wait_for(enough, deadline(timeout), lambda: "%d rows of %s from each of %s (have %s)" % (
        n, url, sorted(want), rows_by_location(cw, url)))


def alerts(cw, kind=None, url=None):
    rows = cw.db().try_query(ALERTS) or []
    return [r for r in rows if (kind is None or r[0] == kind) and (url is None or r[1] == url)]


def start_all(site, endpoints):
    """The central, then every probe; waits until each probe received its configuration and runs its worker."""
    central = site.central(endpoints)
    probes = {}
    try:
        for loc in site.locations:
            probes[loc] = p = site.probe(loc)
            p.wait_log(RECEIVED, timeout=40)
            p.wait_ready(titles=["clockwerk: worker 0/1"])
            central.wait_log(r"location %s connected \(config [0-9a-f]{16}\)" % loc, timeout=30)
    except BaseException:
        for p in probes.values():
            p.cleanup()
        central.cleanup()
        raise
    return central, probes


def stop_all(central, probes):
    for p in probes.values():
        p.cleanup()
    central.cleanup()


@contextlib.contextmanager
def running(targets, endpoints_of):
    """A network with these targets, a central host checking endpoints_of(net) and every probe, all started;
    yields (net, site, central, probes). Everything is stopped and removed on every path."""
    with tempdir() as d, netns.Network(targets=targets) as net:
        site = Site(net, d)
        central, probes = start_all(site, endpoints_of(net))
        try:
            yield net, site, central, probes
        finally:
            stop_all(central, probes)


def test_endpoints_checked_from_each_location():
    if netns.skipped():
        return
    urls = {}

    def endpoints(net):
        t = net.target("all")
        urls.update(everywhere=t.url("/ok?everywhere"), fra=t.url("/ok?fra"))
        return [endpoint(urls["everywhere"], timeout=1), endpoint(urls["fra"], timeout=1, locations=["fra"])]
    with running({"all": EVERYWHERE}, endpoints) as (net, site, central, probes):
        wait_rows_from(central, urls["everywhere"], EVERYWHERE)
        wait_rows_from(central, urls["fra"], {"fra"}, n=3)
        got = rows_by_location(central, urls["fra"])
        check(set(got) == {"fra"}, "an endpoint of fra only was checked from %s" % got)
        for loc, p in probes.items():
            check(not [x for x in p.children().values() if "worker" not in x],
                  "probe %s runs more than workers: %s" % (loc, p.describe_children()))


def failed_from(cw, url, location):
    rows = cw.db().try_query("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ? "
                             "AND c.location = ? AND c.ok = 0", (url, location))
    return rows[0][0] if rows else 0


@harness.timeout(300)
def test_quorum_two_of_three():
    if netns.skipped():
        return
    with running({"one": {"fra"}, "two": {"fra", "nyc"}},
                 lambda net: [endpoint(net.target(n).url("/ok"), timeout=1, quorum=2) for n in ("one", "two")]) \
            as (net, site, central, probes):
        one, two = net.target("one").url("/ok"), net.target("two").url("/ok")
        down = wait_for(lambda: alerts(central, "down", one), deadline(60),
                        lambda: "a DOWN of %s, reached from fra only (alerts: %s)" % (one, alerts(central)))
        check(len(down) == 1 and re.search(r"DOWN from nyc, sgp; up from fra", down[0][2]),
              "the DOWN alert of %s: %s" % (one, down))
        # two is failing from sgp for as long: many failed checks there, still no alert
        wait_for(lambda: failed_from(central, two, "sgp") >= 8, deadline(60), "8 failed checks of %s from sgp" % two)
        check(not alerts(central, url=two), "an alert of %s (down from sgp only): %s" % (two, alerts(central)))
        check(len(alerts(central, "down", one)) == 1, "more DOWN alerts: %s" % alerts(central))


def everywhere_endpoint(net):
    return [endpoint(net.target("all").url("/ok"), timeout=1)]


@harness.timeout(420)
def test_probe_cut_off_for_a_minute():
    if netns.skipped():
        return
    with running({"all": EVERYWHERE}, everywhere_endpoint) as (net, site, central, probes):
        url = net.target("all").url("/ok")
        try:
            wait_rows_from(central, url, EVERYWHERE, n=3)
            before = rows_by_location(central, url).get("fra", 0)
            cut_at = harness.utc_now_iso()
            net.cut("fra")
            t0 = time.monotonic()
            silent = wait_for(lambda: alerts(central, "location_silent", "location:fra"), deadline(30),
                              lambda: "a location_silent of fra (alerts: %s)" % alerts(central))
            check(re.search(r"location fra silent", silent[0][2]), "the location_silent alert: %s" % silent)
            while time.monotonic() - t0 < 60:
                check(not alerts(central, url=url), "an alert of the endpoint while fra is cut: %s" % alerts(central))
                time.sleep(1)
            net.restore("fra")
            back_at = harness.utc_now_iso()
            back = wait_for(lambda: alerts(central, "location_back", "location:fra"), deadline(60),
                            lambda: "a location_back of fra (alerts: %s)" % alerts(central))
            check(len(back) == 1, "location_back alerts: %s" % back)
            # the minute fra checked while cut off arrives, with its true times
            wait_for(lambda: (central.db().try_query(
                "SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ? AND "
                "c.location = 'fra' AND c.checked_at > ? AND c.checked_at < ?", (url, cut_at, back_at))
                or [[0]])[0][0] >= 50, deadline(60), "fra's buffered results of the minute it was cut off")
            check(rows_by_location(central, url).get("fra", 0) > before + 50, "fra's rows did not grow by the minute")
            # exactly once: every seq fra's worker made, by its log after a clean stop
            probes["fra"].stop(timeout=30)
            groups = central.db().query(
                "SELECT worker, boot_id, count(*), count(DISTINCT seq), min(seq), max(seq) FROM checks "
                "WHERE location = 'fra' GROUP BY worker, boot_id")
            problems, runs = harness.stored_seq_problems(probes["fra"].log_text(), groups, workers=1)
            check(not problems, "fra's results are not stored exactly once: %s" % problems)
            check(len(alerts(central, "location_silent")) == 1, "location_silent alerts: %s" % alerts(central))
            check(not alerts(central, url=url), "an alert of the endpoint: %s" % alerts(central))
        finally:
            net.restore("fra")


def _latencies(cw, url, location, after):
    rows = cw.db().try_query("SELECT c.latency_ms FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE "
                             "e.url = ? AND c.location = ? AND c.ok = 1 AND c.checked_at > ?", (url, location, after))
    return [r[0] for r in rows or []]


def test_delay_shows_in_that_location_only():
    if netns.skipped():
        return
    with running({"all": EVERYWHERE}, everywhere_endpoint) as (net, site, central, probes):
        url = net.target("all").url("/ok")
        wait_rows_from(central, url, EVERYWHERE, n=2)
        harness.note("delay made by " + net.delay("sgp", 80))
        after = harness.utc_now_iso()
        wait_for(lambda: all(len(_latencies(central, url, loc, after)) >= 8 for loc in PROBES), deadline(60),
                 "8 successful checks from each location after the delay")
        med = {loc: statistics.median(_latencies(central, url, loc, after)) for loc in PROBES}
        harness.note("median latency ms with 80 ms on sgp's link: %s" % {k: round(v, 1) for k, v in med.items()})
        check(med["sgp"] >= 80, "sgp's latency with 80 ms on its link: %.1f ms" % med["sgp"])
        for loc in ("fra", "nyc"):
            check(med[loc] < 40, "%s's latency while sgp's link is delayed: %.1f ms" % (loc, med[loc]))


def test_central_reload_reaches_every_probe():
    if netns.skipped():
        return
    with running({"all": EVERYWHERE}, everywhere_endpoint) as (net, site, central, probes):
        t = net.target("all")
        wait_rows_from(central, t.url("/ok"), EVERYWHERE)
        marks = {loc: p.log_mark() for loc, p in probes.items()}
        new = t.url("/ok?new")
        central.reload(site.central_config(everywhere_endpoint(net) + [endpoint(new, timeout=1)]))
        for loc, p in probes.items():
            p.wait_log(RECEIVED + r" .*: 2 endpoints for location %s" % loc, since=marks[loc], timeout=30)
        wait_rows_from(central, new, EVERYWHERE)


def test_unadmitted_key_gets_nothing_and_sends_nothing():
    if netns.skipped():
        return
    with tempdir() as d, netns.Network(probes=("fra", "rogue"), targets={"all": {"fra", "rogue"}}) as net:
        t = net.target("all")
        url = t.url("/ok")
        site = Site(net, d, locations=("fra",))
        central = site.central([endpoint(url, timeout=1)])
        try:
            with site.probe("fra") as fra:        # fra's own key: its configuration, its results stored
                fra.wait_log(RECEIVED, timeout=40)
                central.wait_count(url, 2, timeout=40)
                fra.stop()
            snap = os.path.join(d, "run-fra", "central.snap")
            check(os.path.exists(snap), "fra kept no central.snap")
            stored = central.count_rows()
            # the rogue claims fra with a key the central does not admit; it has fra's configuration (copied)
            os.makedirs(os.path.join(d, "run-fra-rogue"))
            shutil.copy2(snap, os.path.join(d, "run-fra-rogue", "central.snap"))
            cfg = site.probe_config("fra", key="stranger")
            cfg["supervisor"]["run_dir"] = "run-fra-rogue"
            mark = central.log_mark()
            served = t.count("/ok")
            with Clockwerk(cfg, d, name="probe-rogue", env=POLL, bin_dir=net.wrapped_bin("rogue", d)) as rogue:
                rogue.wait_ready(titles=["clockwerk: worker 0/1"])
                wait_for(lambda: t.count("/ok") >= served + 5, deadline(30), "5 checks by the rogue probe")
                central.wait_log(r"CURVE key %s is not in bus\.curve_allowed_keys" % re.escape(site.keys["stranger"]),
                                 since=mark, timeout=30)
                # the rogue keeps checking and sending (and resending): five more checks give them time to arrive
                served = t.count("/ok")
                wait_for(lambda: t.count("/ok") >= served + 5, deadline(30), "5 more checks by the rogue probe")
                check(not re.search(RECEIVED, rogue.log_text()), "the rogue probe received a configuration")
                check(central.count_rows() == stored, "the rogue's results were stored: %d rows, %d before it" % (
                    central.count_rows(), stored))
        finally:
            central.cleanup()
