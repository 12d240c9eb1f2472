"""tests/e2e/test_location_keys.py — the configuration keys of issue 16 (docs/config.md "Locations") through the real
binaries, on loopback:

  - `clockwerk -t` on a central host's file (supervisor.location, `locations` with keys made by `clockwerk keygen`,
    bus.config_address, alerts.quorum, endpoints' and groups' locations and quorum; workers = 0) and on a probe
    host's file ("probe host fra of tcp://...: endpoints come from the central host");
  - `clockwerk -t` refusing each bad central or probe file with the problem at its FILE:LINE (the line marked #!);
  - a running central host: its workers check only the endpoints of its own location, and a reload that adds its
    location to an endpoint restarts only the worker of that endpoint's shard, the alerter and the web (not the
    other worker, the storer or the relay); then the endpoint is checked here;
  - a central host with workers = 0 runs its storer, alerter, relay and web and no worker.
"""

import os
import subprocess

import harness
from harness import Clockwerk, check, deadline, endpoint, free_port, run_cli, shard_of, tempdir, wait_for
from targets import Targets

STORER, ALERTER, RELAY, WEB = "clockwerk: storer", "clockwerk: alerter", "clockwerk: relay", "clockwerk: web"


def _keygen(d, name):
    path = os.path.join(d, name)
    r = run_cli(["keygen", path])
    check(r.code == 0 and len(r.out.strip()) == 40, "clockwerk keygen %s: %r" % (path, r))
    return r.out.strip()


def _keys(d):
    return {name: _keygen(d, name + ".key") for name in ("central", "fra", "nyc")}


def _bus(ports, key_file="central.key"):
    return {"config_address": "tcp://127.0.0.1:%d" % ports[0], "store_address": "tcp://127.0.0.1:%d" % ports[1],
            "alert_address": "tcp://127.0.0.1:%d" % ports[2], "publish_address": "tcp://127.0.0.1:%d" % ports[3],
            "tap_address": "tcp://127.0.0.1:%d" % ports[4], "curve_key_file": key_file}


def _central(keys, ports, endpoints, workers=2, web_port=None, extra=None):
    cfg = harness.base_config(endpoints, workers=workers)
    cfg["supervisor"]["location"] = "central"
    cfg["locations"] = [{"name": "fra", "key": keys["fra"]}, {"name": "nyc", "key": keys["nyc"]}]
    cfg["bus"] = _bus(ports)
    cfg["alerts"] = {"quorum": "majority", "location_silent_after": 10}
    if web_port:
        cfg["web"] = {"listen": "127.0.0.1:%d" % web_port}
    cfg.update(extra or {})
    return cfg


def _check_file(d, name, text):
    path = os.path.join(d, name)
    harness.write_config(path, text)
    return path, run_cli(["-t", "-c", path])


def _marked_line(text):
    for i, line in enumerate(text.split("\n"), 1):
        if "#!" in line:
            return i
    raise AssertionError("no line marked #! in:\n" + text)


def test_check_good_central_and_probe_files():
    with tempdir() as d:
        keys = _keys(d)
        ports = [free_port() for _ in range(5)]
        eps = [endpoint("http://127.0.0.1:1/shop", locations=["fra", "nyc", "central"], quorum=2),
               endpoint("http://127.0.0.1:1/eu", group="eu"), endpoint("http://127.0.0.1:1/all")]
        cfg = _central(keys, ports, eps, extra={"groups": [{"name": "eu", "locations": ["fra"], "quorum": "all"}]})
        path, r = _check_file(d, "central.conf", cfg)
        check(r.code == 0, "clockwerk -t on a central host's file: %r" % r)
        check("config OK: 3 endpoints, 2 workers" in r.out, "the -t summary: %r" % r)
        check("locations: central, fra, nyc; probe hosts fetch their endpoints from tcp://127.0.0.1:%d" % ports[0]
              in r.out, "the -t line of the locations: %r" % r)

        dup = _central(keys, ports, [endpoint("http://127.0.0.1:1/dup", locations=["fra", "nyc", "fra"])])
        path, r = _check_file(d, "dup.conf", dup)
        check(r.code == 0 and "locations: 'fra' is listed twice (counted once)" in r.err,
              "a location listed twice: a warning, the file loads: %r" % r)

        cfg = _central(keys, ports, eps[1:], workers=0)
        path, r = _check_file(d, "central0.conf", cfg)
        check(r.code == 0 and "0 workers" in r.out and "locations: fra, nyc (no workers here)" in r.out,
              "clockwerk -t on a central host without workers: %r" % r)

        probe = ('supervisor = { location = "fra"; workers = 3; run_dir = "run-fra"; log_level = "debug"; };\n'
                 'bus = { central_address = "tcp://127.0.0.1:%d"; curve_key_file = "fra.key";\n'
                 '        curve_server_key = "%s"; };\n' % (ports[0], keys["central"]))
        path, r = _check_file(d, "probe.conf", probe)
        check(r.code == 0, "clockwerk -t on a probe host's file: %r" % r)
        want = "config OK: probe host fra of tcp://127.0.0.1:%d: endpoints come from the central host; 3 workers" % (
            ports[0])
        check(want in r.out, "the -t line of a probe host: %r" % r)
        check("warning" not in r.err, "a probe host's file warned: %r" % r)
        # the tap on a probe host's file: no relay there; it is sent to the central's
        t = run_cli(["-c", path, "--count", "1"], timeout=30, program="clockwerk-tap")
        check(t.code == 1 and "is a probe host's (bus.central_address), which has no relay" in t.err,
              "clockwerk-tap on a probe host's file: %r" % t)
        # an unknown --location on the central's file is said at once, with the known ones (the tap waits anyway)
        tap = subprocess.Popen([harness.binary("clockwerk-tap"), "-c", os.path.join(d, "central.conf"), "--location",
                                "tokyo"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=harness.child_env(),
                               start_new_session=True)
        try:
            _, err = tap.communicate(timeout=deadline(3))  # the warning comes first; then the tap waits for checks
        except subprocess.TimeoutExpired:
            tap.kill()
            _, err = tap.communicate()
        line = err.decode("utf-8", "replace")
        check("no location is named 'tokyo' in this configuration (the known ones: central, fra, nyc)" in line,
              "clockwerk-tap --location tokyo: %r" % line)


def test_check_bad_files_at_their_line():
    with tempdir() as d:
        keys = _keys(d)
        p = [free_port() for _ in range(5)]
        head = ('supervisor = { location = "central"; workers = 2; };\n'
                'locations = ( { name = "fra"; key = "%s"; }, { name = "nyc"; key = "%s"; } );\n'
                'bus = { config_address = "tcp://127.0.0.1:%d"; store_address = "tcp://127.0.0.1:%d";\n'
                '  alert_address = "tcp://127.0.0.1:%d"; publish_address = "tcp://127.0.0.1:%d";\n'
                '  tap_address = "tcp://127.0.0.1:%d"; curve_key_file = "central.key"; };\n'
                % (keys["fra"], keys["nyc"], p[0], p[1], p[2], p[3], p[4]))
        ep = 'monitor = { endpoints = (\n { url = "http://127.0.0.1:1/a"; %s } #!\n); };\n'
        probe_bus = ('bus = { central_address = "tcp://127.0.0.1:%d"; curve_key_file = "fra.key";\n'
                     '  curve_server_key = "%s"; };\n' % (p[0], keys["central"]))
        cases = [
            ("unknown location", head + ep % 'locations = ["sgp"];',
             "monitor.endpoints[0].locations: no location is named 'sgp' (the known ones: central, fra, nyc)"),
            ("quorum above its locations", head + ep % 'locations = ["fra"]; quorum = 2;',
             "monitor.endpoints[0]: quorum 2 (its own) is more than its 1 location"),
            ("bad quorum", head + ep % 'quorum = "most";', "monitor.endpoints[0].quorum: 'most' is not a quorum"),
            ("silence too short", head + 'alerts = { location_silent_after = 1; }; #!\n',
             "alerts.location_silent_after: must be at least 3"),
            ("duplicate location", head.replace('{ name = "nyc"', '{ name = "fra"').replace("} );\nbus", "} ); #!\nbus"),
             "locations[1].name: another location is named 'fra'"),
            ("bad location name", head.replace('location = "central"; workers = 2; };',
                                               'location = "central hq"; workers = 2; }; #!'),
             "supervisor.location: 'central hq' is not a location name"),
            ("store on ipc", head.replace('store_address = "tcp://127.0.0.1:%d";' % p[1], 'store_address = "ipc://s.sock";')
             .replace("} );\nbus", "} ); #!\nbus"), "locations: probe hosts need store_address on tcp://"),
            ("no workers without locations", 'supervisor = { workers = 0; }; #!\n',
             "supervisor.workers: 0 only on a central host with probe hosts"),
            ("push elsewhere", head + 'monitor = { endpoints = (\n { type = "push"; name = "p"; '
             'token = "0123456789abcdef0123"; locations = ["fra"]; } #!\n); };\nweb = { listen = "127.0.0.1:1"; };\n',
             "a push check is checked where the web is (this host, location 'central'): 'fra' is another location"),
            ("probe with monitor", 'supervisor = { location = "fra"; };\n' + probe_bus +
             'monitor = { endpoints = ( { url = "http://127.0.0.1:1/a"; } ); }; #!\n',
             "monitor: a probe host takes its endpoints from the central host (bus.central_address): remove `monitor`"),
            ("probe with database", 'supervisor = { location = "fra"; };\n' + probe_bus +
             'database = { db_activation = true; }; #!\n', "remove `database`"),
            ("probe with a store address", 'supervisor = { location = "fra"; };\n' +
             probe_bus.replace('};\n', '\n  store_address = "tcp://127.0.0.1:1"; }; #!\n'),
             "bus.store_address: a probe host takes its endpoints and bus addresses from the central host"),
            ("probe without a location", probe_bus.replace('"fra.key";\n', '"fra.key"; #!\n', 1),
             "bus.central_address: a probe host needs supervisor.location"),
            ("probe without the central's key", 'supervisor = { location = "fra"; };\n'
             'bus = { central_address = "tcp://127.0.0.1:1"; curve_key_file = "fra.key"; }; #!\n',
             "a probe host needs bus.curve_server_key"),
        ]
        failures = []
        for i, (what, text, needle) in enumerate(cases):
            path, r = _check_file(d, "bad%d.conf" % i, text)
            at = "%s:%d: " % (path, _marked_line(text))
            if r.code != 1 or not any(line.startswith(at) and needle in line for line in r.err.split("\n")):
                failures.append("%s: wanted %r at %r in:\n%s" % (what, needle, at, r.err))
        check(not failures, "\n".join(failures))


def test_reload_of_an_endpoints_locations_reloads_its_shard_alerter_and_web():
    with tempdir() as d, Targets() as t:
        keys = _keys(d)
        ports = [free_port() for _ in range(5)]
        shop, here = t.url("/ok?shop"), t.url("/ok?here")
        others = [t.url("/ok?e%d" % i) for i in range(4)]
        eps = [endpoint(shop, timeout=1, name="shop", locations=["fra"])] + [
            endpoint(u, timeout=1, name="e%d" % i) for i, u in enumerate([here] + others)]
        cfg = _central(keys, ports, eps, workers=2, web_port=free_port())
        with Clockwerk(cfg, d) as cw:
            titles = cw.worker_titles() + [STORER, ALERTER, RELAY, WEB]
            before = cw.wait_ready(titles=titles, timeout=30)
            cw.wait_count(here, 3, timeout=30)
            check(cw.count_rows(shop) == 0 and t.count("/ok?shop") == 0,
                  "the central host checked an endpoint of fra only (%d rows)" % cw.count_rows(shop))

            mark = cw.log_mark()
            cfg["monitor"]["endpoints"][0] = endpoint(shop, timeout=1, name="shop", locations=["fra", "central"])
            cw.reload(cfg)
            line = cw.wait_log(r"reload: .*generation 2.*", timeout=deadline(20), since=mark).group(0)
            slot = shard_of(shop, 2)
            moved = "clockwerk: worker %d/2" % slot
            stays = "clockwerk: worker %d/2" % (1 - slot)
            check("reloading worker %d/2 in place" % slot in line and "worker %d/2" % (1 - slot) not in line
                  and "restarting worker" not in line,
                  "the reload did not reload exactly the worker of the endpoint's shard in place: %r" % line)
            # the endpoints' locations are the alerter's and the web's: they read them again in place
            check("reloading alerter in place" in line and "reloading web in place" in line,
                  "the reload did not reload the alerter and the web in place: %r" % line)
            check("storer" not in line and "relay" not in line, "the reload restarted the storer or relay: %r" % line)
            cw.wait_log(r"worker %d/2\] \d+ info: reloaded in place" % slot, since=mark, timeout=20)
            for title in (moved, stays, STORER, RELAY, ALERTER, WEB):
                check(cw.child(title) == before[title], "%s restarted (%s -> %s)" % (title, before[title],
                                                                                    cw.child(title)))
            cw.wait_count(shop, 2, timeout=30)  # now checked here too
            cw.stop()


def test_central_without_workers_runs_its_servers():
    with tempdir() as d, Targets() as t:
        keys = _keys(d)
        ports = [free_port() for _ in range(5)]
        cfg = _central(keys, ports, [endpoint(t.url("/ok"), timeout=1)], workers=0)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=[STORER, ALERTER, RELAY], timeout=30)
            cw.wait_log(r"info: .*0 workers", timeout=deadline(20))

            def settled():
                kids = cw.children().values()
                return not any(x.startswith("clockwerk: worker") for x in kids) and cw.running()
            wait_for(settled, deadline(5), "no worker on a central host with workers = 0")
            check(t.count("/ok") == 0, "a central host without workers checked an endpoint")
            cw.stop()


def test_probe_example_validates():
    """etc/probe.conf.example, with its placeholders filled in, is a valid probe host's file."""
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "etc", "probe.conf.example")
    with open(example) as f:
        text = f.read()
    with tempdir() as d:
        central = _keygen(d, "central.key")
        os.mkdir(os.path.join(d, "keys"))
        _keygen(d, os.path.join("keys", "fra.key"))
        placeholder = "<public key of the central host's bus.curve_key_file>"
        check(placeholder in text, "etc/probe.conf.example has no central key placeholder")
        text = text.replace(placeholder, central).replace("/var/lib/clockwerk", os.path.join(d, "run"))
        path, r = _check_file(d, "probe.conf", text)
        check(r.code == 0 and "config OK: probe host fra of tcp://10.0.0.5:7000" in r.out,
              "etc/probe.conf.example was refused: %r" % r)
