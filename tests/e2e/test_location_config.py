"""tests/e2e/test_location_config.py — one central configuration for probe hosts in several locations (issue 16,
docs/config.md "Locations", docs/protocol.md 2.10), on loopback: three supervisors on one machine are the hosts,
each with its own run_dir and its own CURVE key pair (`clockwerk keygen`).

  - the central (workers = 0: no worker of its own) serves each probe host the endpoints of its location only:
    every result the tap shows for an endpoint comes from a location the endpoint names (`location=`);
  - a reload of the central with a new endpoint reaches every probe host (and its results come from both);
  - a probe host restarted while the central is stopped starts checking at once with central.snap, says so, says
    the central is not answering, and says it again when the central is back;
  - a probe host whose key is another location's is refused (logged at both ends) and gets nothing: no worker,
    no central.snap; one whose key the central does not know at all gets nothing either;
  - `clockwerk -t` accepts a probe host's file ("probe host fra of ...") and refuses every key a probe host must not
    have, and a probe host without the keys it needs;
  - a reload of the central changing only its store_address reaches the probe (the hash covers the addresses), and
    a restarted probe has it from central.snap;
  - a NEW configuration the probe cannot apply is asked for again and applied once it can be;
  - a probe host's key rotated by a reload (central, then probe) is used for its configuration fetch;
  - a reload moving the central's config_address to a port that is taken keeps the old address serving, and binds
    the new one once it is free.
The probes poll every 200 ms here (CLOCKWERK_CONFIG_POLL_MS) instead of 5 s.
"""

import contextlib
import json
import os
import re
import socket
import stat

import harness
from harness import Clockwerk, Tap, check, deadline, endpoint, run_cli, tempdir, wait_for
from targets import Targets

POLL = {"CLOCKWERK_CONFIG_POLL_MS": "200"}
RECEIVED = r"configuration [0-9a-f]{16} received from the central host"


def _keygen(d, name):
    path = os.path.join(d, name + ".key")
    return path, harness.keygen(path)["public"]


class Site:
    """The keys, the ports and the configuration files of a central host and its probe hosts in directory d."""

    def __init__(self, d, targets, locations=("fra", "nyc")):
        self.d = d
        self.t = targets
        self.keys = {name: _keygen(d, name) for name in ("central",) + tuple(locations) + ("stranger",)}
        self.locations = list(locations)
        ports = [harness.free_port() for _ in range(5)]
        self.config_address = "tcp://127.0.0.1:%d" % ports[0]
        self.bus = {
            "config_address": self.config_address,
            # a wildcard host (0.0.0.0: the central's own processes can connect to it too): each probe puts the host
            # of its bus.central_address in its place
            "store_address": "tcp://0.0.0.0:%d" % ports[1],
            "alert_address": "tcp://127.0.0.1:%d" % ports[2],
            "publish_address": "tcp://127.0.0.1:%d" % ports[3],
            "tap_address": "tcp://127.0.0.1:%d" % ports[4],
            "curve_key_file": "central.key",
        }
        # one endpoint per location, checked there only, and one checked everywhere (no `locations`: the default)
        self.endpoints = [endpoint(self.t.url("/ok?" + n), timeout=1, locations=[n]) for n in self.locations]
        self.endpoints.append(endpoint(self.t.url("/ok?both"), timeout=1))

    def central(self, endpoints=None):
        return {
            "supervisor": {"location": "central", "workers": 0, "run_dir": "run-central", "log_level": "info"},
            "locations": [{"name": n, "key": self.keys[n][1]} for n in self.locations],
            "bus": dict(self.bus),
            "monitor": {"check_interval": 1, "latency_threshold": 1.0,
                        "endpoints": list(endpoints if endpoints is not None else self.endpoints)},
            "database": {"db_activation": True, "db_driver": "sqlite", "db_name": "central.db"},
        }

    def probe(self, location, key=None, workers=1):
        return {
            "supervisor": {"location": location, "workers": workers, "run_dir": "run-" + location,
                           "log_level": "info"},
            "bus": {"central_address": self.config_address, "curve_key_file": (key or location) + ".key",
                    "curve_server_key": self.keys["central"][1]},
        }


def _results_by_location(tap):
    """{url: set of locations} of the results the tap printed so far."""
    seen = {}
    for line in list(tap.lines):
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("type", "result") == "result" and "url" in m:
            seen.setdefault(m["url"], set()).add(m.get("location", ""))
    return seen


def _wait_locations(tap, url, want, timeout=40.0):
    return wait_for(lambda: want <= _results_by_location(tap).get(url, set()), deadline(timeout),
                    lambda: "results of %s from %s (seen: %s)" % (url, sorted(want),
                                                                  sorted(_results_by_location(tap).get(url, ()))))


def _start_probe(site, location, key=None):
    return Clockwerk(site.probe(location, key), site.d, name="probe-" + location, env=POLL).start()


def test_probes_get_their_endpoints_and_reloads():
    with tempdir() as d, Targets() as t:
        site = Site(d, t)
        with Clockwerk(site.central(), d, name="central") as central:
            central.wait_ready(titles=["clockwerk: storer", "clockwerk: alerter", "clockwerk: relay"])
            central.wait_log(r"serving the configuration of 2 locations on " + re.escape(site.config_address))
            check(not [title for title in central.children().values() if "worker" in title],
                  "a central host with workers = 0 runs workers: %s" % central.describe_children())
            with _start_probe(site, "fra") as fra, _start_probe(site, "nyc") as nyc, \
                    Tap(central.conf_path) as tap:
                for p, loc in ((fra, "fra"), (nyc, "nyc")):
                    p.wait_log(r"running: probe host %s of %s" % (loc, re.escape(site.config_address)))
                    p.wait_log(RECEIVED + r" %s: 2 endpoints for location %s" % (re.escape(site.config_address), loc),
                               timeout=30)
                    p.wait_ready(titles=["clockwerk: worker 0/1"])
                    check(not [x for x in p.children().values() if "storer" in x or "alerter" in x
                               or "relay" in x or "web" in x],
                          "a probe host runs more than workers: %s" % p.describe_children())
                    snap = os.path.join(d, "run-" + loc, "central.snap")
                    check(stat.S_IMODE(os.stat(snap).st_mode) == 0o600, "central.snap is not mode 0600")
                    central.wait_log(r"location %s connected \(config [0-9a-f]{16}\)" % loc)
                _wait_locations(tap, t.url("/ok?fra"), {"fra"})
                _wait_locations(tap, t.url("/ok?nyc"), {"nyc"})
                _wait_locations(tap, t.url("/ok?both"), {"fra", "nyc"})
                seen = _results_by_location(tap)
                check(seen[t.url("/ok?fra")] == {"fra"} and seen[t.url("/ok?nyc")] == {"nyc"},
                      "an endpoint was checked from a location it does not name: %s" % seen)
                central.wait_count(t.url("/ok?both"), 2, timeout=30)  # stored at the central (results admitted)

                # a reload of the central: the new endpoint reaches both probes, the others keep theirs
                marks = {p: p.log_mark() for p in (fra, nyc)}
                new_url = t.url("/ok?new")
                central.reload(site.central(site.endpoints + [endpoint(new_url, timeout=1)]))
                for p, loc in ((fra, "fra"), (nyc, "nyc")):
                    p.wait_log(RECEIVED + r" .*: 3 endpoints for location %s" % loc, since=marks[p], timeout=30)
                    p.wait_log(r"configuration [0-9a-f]{16} from the central host: 3 endpoints \(\+1\)",
                               since=marks[p])
                _wait_locations(tap, new_url, {"fra", "nyc"})
                # a local reload of a probe (its worker count) applies over the central's configuration
                mark = fra.log_mark()
                fra.reload(site.probe("fra", workers=2))
                fra.wait_log(r"reload: 3 endpoints, 2 workers \(was 1\), generation \d+; restarting all workers",
                             since=mark)
                fra.wait_ready(titles=["clockwerk: worker 0/2", "clockwerk: worker 1/2"])
            central.stop()


def test_probe_restarts_from_central_snap_while_central_is_away():
    with tempdir() as d, Targets() as t:
        site = Site(d, t, locations=("fra",))
        central = Clockwerk(site.central(), d, name="central").start()
        try:
            central.wait_ready(titles=["clockwerk: storer"])
            with _start_probe(site, "fra") as fra:
                fra.wait_log(RECEIVED, timeout=30)
                fra.wait_ready(titles=["clockwerk: worker 0/1"])
                fra.stop()
            central.stop()
        finally:
            central.cleanup()
        # the central is away: the probe starts at once with what it had, and says so
        before = t.count("/ok")
        with _start_probe(site, "fra") as fra:
            fra.wait_log(r"checking with the configuration received from the central host at \S+ \(hash [0-9a-f]{16}\);"
                         r" central not reached yet")
            fra.wait_ready(titles=["clockwerk: worker 0/1"])
            wait_for(lambda: t.count("/ok") > before, deadline(30), "a check by the probe while the central is away")
            st = run_cli(["status", "-c", fra.conf_path])
            check(st.code == 1 and "probe host fra of %s" % site.config_address in st.out and
                  "checking with the configuration received from the central host at" in st.out and
                  ": 2 endpoints, 1 worker" in st.out, "clockwerk status on the probe host: %s" % st.text)
            st = run_cli(["status", "-c", fra.conf_path, "--json"])
            j = json.loads(st.out)["probe_host"]
            check(j["location"] == "fra" and j["config"]["endpoints"] == 2, "clockwerk status --json: %s" % st.text)
            fra.wait_log(r"central host %s not answering since \S+: checking with the configuration received"
                         % re.escape(site.config_address), timeout=30)
            check(len(re.findall(r"not answering since", fra.log_text())) == 1,
                  "'not answering' logged more than once:\n%s" % harness.tail(fra.log_text()))
            with Clockwerk(site.central(), d, name="central2") as central2:
                fra.wait_log(r"central host %s answering again" % re.escape(site.config_address), timeout=30)
                central2.wait_log(r"location fra connected \(config [0-9a-f]{16}\)", timeout=30)
                central2.stop()
            fra.stop()


def test_wrong_key_is_refused_and_gets_nothing():
    with tempdir() as d, Targets() as t:
        site = Site(d, t)
        with Clockwerk(site.central(), d, name="central") as central:
            central.wait_ready(titles=["clockwerk: storer"])
            # fra's name with nyc's key: the central knows the key, but it is not fra's; and nyc's name with a key
            # the central does not admit at all: its handshake fails, nothing ever answers
            with _start_probe(site, "fra", key="nyc") as fake, _start_probe(site, "nyc", key="stranger") as stranger:
                fake.wait_log(r"the central host %s refused the configuration of location fra: key %s is not "
                              r"location fra's key" % (re.escape(site.config_address),
                                                       re.escape(site.keys["nyc"][1])), timeout=30)
                central.wait_log(r"configuration refused to key %s claiming location \"fra\""
                                 % re.escape(site.keys["nyc"][1]))
                stranger.wait_log(r"central host %s not answering since \S+: nothing to check"
                                  % re.escape(site.config_address), timeout=30)
                fake.wait_log(r"waiting for the configuration from %s$" % re.escape(site.config_address), flags=re.M)
                for p, loc in ((fake, "fra"), (stranger, "nyc")):
                    check(not [x for x in p.children().values() if "worker" in x],
                          "a probe with a wrong key runs workers: %s" % p.describe_children())
                    check(not os.path.exists(os.path.join(d, "run-" + loc, "central.snap")),
                          "a probe with a wrong key saved a configuration")
                check(fake.log_text().count("refused the configuration") == 1, "the probe logged one refusal twice")
                fake.stop()
                stranger.stop()
            check(central.count_rows() == 0, "results were stored though no probe was admitted")
            central.stop()
            counters = harness.final_counters(central.log_text())["supervisor"]
            check(counters["config_refused"] >= 3 and counters["config_sent_new"] == 0,
                  "the central's counters: %s" % counters)
            check(central.log_text().count("configuration refused") == 1,
                  "the central logged the same refusal more than once (%d refusals)" % counters["config_refused"])
            check(re.search(r"bus: .*refused|refused .*%s" % re.escape(site.keys["stranger"][1]), central.log_text()),
                  "the central did not log the unknown key's refusal")


def _check_file(d, name, cfg):
    path = os.path.join(d, name + ".conf")
    harness.write_config(path, cfg)
    return run_cli(["-t", "-c", path])


def test_probe_files_checked_by_t():
    with tempdir() as d, Targets() as t:
        site = Site(d, t)
        ok = _check_file(d, "fra", site.probe("fra"))
        check(ok.code == 0 and ("probe host fra of %s" % site.config_address) in ok.out,
              "clockwerk -t on a probe host's file: %s" % ok.text)
        central = _check_file(d, "central", site.central())
        check(central.code == 0 and "locations: fra, nyc (no workers here); probe hosts fetch their endpoints from %s"
              % site.config_address in central.out, "clockwerk -t on the central's file: %s" % central.text)

        def bad(name, change, expect):
            cfg = site.probe("fra")
            change(cfg)
            r = _check_file(d, name, cfg)
            check(r.code != 0, "clockwerk -t accepted a probe file with %s: %s" % (name, r.text))
            check(re.search(expect, r.text), "clockwerk -t on %s: no /%s/ in: %s" % (name, expect, r.text))

        bad("monitor", lambda c: c.update({"monitor": {"endpoints": [endpoint(t.url("/ok"))]}}), r"remove `monitor`")
        bad("database", lambda c: c.update({"database": {"db_activation": True, "db_driver": "sqlite",
                                                          "db_name": "x.db"}}), r"database")
        bad("store_address", lambda c: c["bus"].update({"store_address": "tcp://127.0.0.1:1"}), r"store_address")
        bad("config_address", lambda c: c["bus"].update({"config_address": "tcp://127.0.0.1:2"}), r"config_address")
        bad("no_location", lambda c: c["supervisor"].pop("location"), r"location")
        bad("no_key_file", lambda c: c["bus"].pop("curve_key_file"), r"curve_key_file")
        bad("no_server_key", lambda c: c["bus"].pop("curve_server_key"), r"curve_server_key")
        bad("ipc_central", lambda c: c["bus"].update({"central_address": "ipc://" + d + "/c.sock"}), r"central_address")
        bad("locations", lambda c: c.update({"locations": [{"name": "x", "key": site.keys["nyc"][1]}]}), r"locations")


def test_location_added_by_a_reload():
    """A location added to the central's `locations` by a reload: its key is admitted from then on (the config
    server's allow-list is renewed) and its probe host gets its configuration."""
    with tempdir() as d, Targets() as t:
        site = Site(d, t)
        cfg = site.central()
        cfg["locations"] = [loc for loc in cfg["locations"] if loc["name"] == "fra"]
        cfg["monitor"]["endpoints"] = [e for e in cfg["monitor"]["endpoints"] if e.get("locations") != ["nyc"]]
        with Clockwerk(cfg, d, name="central") as central:
            central.wait_ready(titles=["clockwerk: storer"])
            with _start_probe(site, "nyc") as nyc:
                nyc.wait_log(r"central host %s not answering since" % re.escape(site.config_address), timeout=30)
                central.reload(site.central())
                central.wait_log(r"reload: 3 endpoints \(\+1\)")
                nyc.wait_log(r"answering again", timeout=30)
                nyc.wait_log(RECEIVED + r" .*: 2 endpoints for location nyc", timeout=30)
                nyc.wait_ready(titles=["clockwerk: worker 0/1"])
                central.wait_count(t.url("/ok?nyc"), 1, timeout=30)
                nyc.stop()
            central.stop()


@contextlib.contextmanager
def _central_with_fra(d, t):
    """A central serving location fra, and fra's probe host once it has its configuration: (site, central, fra)."""
    site = Site(d, t, locations=("fra",))
    with Clockwerk(site.central(), d, name="central") as central:
        central.wait_ready(titles=["clockwerk: storer"])
        with _start_probe(site, "fra") as fra:
            fra.wait_log(RECEIVED, timeout=30)
            yield site, central, fra
            if fra.running():
                fra.stop()
        central.stop()


def test_address_only_reload_reaches_probes():
    """A reload of the central that changes only its store_address: the probe gets it (the configuration's hash
    covers the addresses, not only the endpoints), its results go to the new storer, and a restarted probe starts
    with the new address (central.snap)."""
    with tempdir() as d, Targets() as t, _central_with_fra(d, t) as (site, central, fra):
        central.wait_count(t.url("/ok?fra"), 1, timeout=30)
        mark = fra.log_mark()
        site.bus["store_address"] = "tcp://0.0.0.0:%d" % harness.free_port()
        central.reload(site.central())
        central.wait_log(r"reload: .*restarting storer")
        fra.wait_log(RECEIVED + r" .*: 2 endpoints for location fra", since=mark, timeout=30)
        stored = central.count_rows(t.url("/ok?fra"))
        central.wait_count(t.url("/ok?fra"), stored + 2, timeout=30)
        fra.stop()
        received = len(re.findall(RECEIVED, fra.log_text()))
        # restarted: central.snap has the new address (results stored by the new storer at once), and the central
        # answers its first request (at once, then every 200 ms) UNCHANGED: no NEW again
        with _start_probe(site, "fra") as again:
            again.wait_log(r"checking with the configuration received from the central host", timeout=30)
            stored = central.count_rows(t.url("/ok?fra"))
            central.wait_count(t.url("/ok?fra"), stored + 2, timeout=30)
            check(len(re.findall(RECEIVED, again.log_text())) == received,
                  "the restarted probe got a NEW configuration: central.snap did not have the new address")
            again.stop()


def _next_snapshot_path(run_dir):
    gens = [int(m.group(1)) for m in (re.match(r"config\.(\d+)\.snap$", n) for n in os.listdir(run_dir)) if m]
    return os.path.join(run_dir, "config.%d.snap" % (max(gens) + 1))


def test_configuration_retried_after_a_failed_apply():
    """A NEW configuration the probe cannot apply (its next snapshot cannot be written): it is neither recorded nor
    saved, so the next request asks again and it is applied once the cause is gone."""
    with tempdir() as d, Targets() as t, _central_with_fra(d, t) as (site, central, fra):
        fra.wait_ready(titles=["clockwerk: worker 0/1"])
        blocker = _next_snapshot_path(os.path.join(d, "run-fra"))
        os.mkdir(blocker)  # the next generation's file cannot be written
        mark = fra.log_mark()
        central.reload(site.central(site.endpoints + [endpoint(t.url("/ok?new"), timeout=1)]))
        fra.wait_log(r"cannot write snapshot", since=mark, timeout=30)
        fra.wait_log(r"from the central host failed: still running the previous configuration", since=mark)
        os.rmdir(blocker)
        fra.wait_log(r"configuration [0-9a-f]{16} from the central host: 3 endpoints \(\+1\)", since=mark,
                     timeout=30)


def test_probe_key_rotation_by_reload():
    """An operator rotates a probe host's key: the central admits the new key (reload), the probe's old key is no
    longer answered; a SIGHUP of the probe with the new key file makes its configuration fetch use it."""
    with tempdir() as d, Targets() as t, _central_with_fra(d, t) as (site, central, fra):
        _, new_pub = _keygen(d, "fra2")
        cfg = site.central(site.endpoints + [endpoint(t.url("/ok?new"), timeout=1)])
        cfg["locations"][0]["key"] = new_pub
        mark = fra.log_mark()
        central.reload(cfg)
        fra.wait_log(r"not answering since", since=mark, timeout=30)
        mark = fra.log_mark()
        fra.reload(site.probe("fra", key="fra2"))
        fra.wait_log(r"asking the central host .* with the new CURVE keys", since=mark)
        fra.wait_log(r"answering again", since=mark, timeout=30)
        fra.wait_log(RECEIVED + r" .*: 3 endpoints for location fra", since=mark, timeout=30)


def test_config_address_move_keeps_serving_until_the_new_one_binds():
    """A reload moving bus.config_address to a port that is taken: the central keeps serving on the old address
    (with the new answers) and binds the new one once it is free."""
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        new_address = "tcp://127.0.0.1:%d" % taken.getsockname()[1]
        with tempdir() as d, Targets() as t, _central_with_fra(d, t) as (site, central, fra):
            mark, cmark = fra.log_mark(), central.log_mark()
            cfg = site.central(site.endpoints + [endpoint(t.url("/ok?new"), timeout=1)])
            cfg["bus"]["config_address"] = new_address
            central.reload(cfg)
            central.wait_log(r"cannot serve the locations' configuration on %s: .*still serving it on %s"
                             % (re.escape(new_address), re.escape(site.config_address)), since=cmark)
            fra.wait_log(RECEIVED + r" .*: 3 endpoints for location fra", since=mark, timeout=30)
            check(not re.search(r"not answering", fra.log_since(mark)),
                  "the probe lost its central while the new address could not be bound")
            taken.close()
            central.wait_log(r"serving the configuration of the locations on %s" % re.escape(new_address),
                             since=cmark, timeout=30)
    finally:
        taken.close()
