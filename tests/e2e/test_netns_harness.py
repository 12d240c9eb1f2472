"""tests/e2e/test_netns_harness.py — the namespace harness of the location tests (tests/e2e/netns.py) proves itself:

- reachability: every host x target pair answers exactly as the matrix says (200, or "network unreachable" at once),
  and block()/allow() change one pair only;
- delay: 80 ms on sgp's link is measurable in sgp's TCP connects (>= 75 ms) and in no other host's, and gone after
  undelay();
- a cut link: a connection from fra to the central fails while fra's port is down, nyc's still works, and fra's
  works again once the port is up; a process started inside a namespace (`ip netns exec`) runs there;
- nothing left behind: a test that fails inside the `with` leaves no namespace and no process of its own, and the
  namespaces of a test process killed outright (SIGKILL: no cleanup ran) are swept by the next Network, the
  processes inside them killed.
Needs root and iproute2: without them each test notes why and passes without checking.
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading

import harness
import netns
from harness import check, wait_for

ALL = {"central", "fra", "nyc", "sgp"}
MATRIX = {"all": ALL, "two": {"fra", "nyc"}, "one": {"fra"}}


def _expect_matrix(net, matrix):
    for name, reach in matrix.items():
        url = net.target(name).url("/ok")
        for host in net.hosts:
            got = netns.http_status(net, host, url, timeout=3)
            if host in reach:
                check(got == 200, "%s -> target %s (%s): %r, expected 200" % (host, name, url, got))
            else:
                check(isinstance(got, str) and "unreachable" in got,
                      "%s -> target %s (%s): %r, expected 'network unreachable'" % (host, name, url, got))


def test_reachability_matrix():
    if netns.skipped():
        return
    with netns.Network(targets=MATRIX) as net:
        check(len(netns.ours()) == 6, "namespaces of this run: %s" % netns.ours())
        _expect_matrix(net, MATRIX)
        served = net.target("two").count("/ok")
        check(served == 2, "target two served %d requests, expected 2 (fra, nyc)" % served)
        net.block("nyc", "two")
        net.allow("sgp", "one")
        _expect_matrix(net, dict(MATRIX, two={"fra"}, one={"fra", "sgp"}))


def _connect_ms(net, host, target, n=5):
    t = net.target(target)
    times = []
    for _ in range(n):
        s = netns.connect_seconds(net, host, t.address, t.port, timeout=5)
        check(s is not None, "%s could not connect to %s" % (host, t.url("/")))
        times.append(s * 1000)
    return statistics.median(times)


def test_delay_measurable():
    if netns.skipped():
        return
    with netns.Network(targets={"all": ALL}) as net:
        before = {h: _connect_ms(net, h, "all") for h in net.hosts}
        method = net.delay("sgp", 80)
        harness.note("delay made by " + method)
        during = {h: _connect_ms(net, h, "all") for h in net.hosts}
        check(during["sgp"] >= 75, "sgp's connect with 80 ms on its link: %.1f ms" % during["sgp"])
        for h in ("central", "fra", "nyc"):
            check(during[h] < 40, "%s's connect while sgp is delayed: %.1f ms (before: %.1f)" % (h, during[h], before[h]))
        check(netns.http_status(net, "sgp", net.target("all").url("/ok")) == 200, "HTTP through sgp's delayed link")
        net.undelay("sgp")
        after = _connect_ms(net, "sgp", "all")
        check(after < 40, "sgp's connect after undelay: %.1f ms" % after)
        harness.note("connect ms before %s, with 80 ms on sgp %s, sgp after %.1f" % (
            {h: round(v, 2) for h, v in before.items()}, {h: round(v, 2) for h, v in during.items()}, after))


def _listen(net, host):
    def make():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((net.addr(host), 0))
        s.listen(64)
        return s
    return net.call(host, make)


def test_cut_link_and_its_return():
    if netns.skipped():
        return
    with netns.Network() as net:
        srv = _listen(net, "central")
        stop = threading.Event()

        def accept():
            srv.settimeout(0.2)
            while not stop.is_set():
                try:
                    srv.accept()[0].close()
                except OSError:
                    pass
        t = threading.Thread(target=accept, daemon=True)
        t.start()
        try:
            port = srv.getsockname()[1]
            central = net.addr("central")
            check(netns.connect_seconds(net, "fra", central, port) is not None, "fra -> central before the cut")
            net.cut("fra")
            check(netns.connect_seconds(net, "fra", central, port, timeout=1.5) is None,
                  "fra reached the central while its link was down")
            check(netns.connect_seconds(net, "nyc", central, port) is not None, "nyc -> central while fra is cut")
            net.restore("fra")
            wait_for(lambda: netns.connect_seconds(net, "fra", central, port, timeout=1) is not None, 20,
                     "fra to reach the central again after its link came back")
            # a process inside a namespace (`ip netns exec`): it sees fra's address, and reaches the central
            code = ("import socket, sys; s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5); "
                    "print(s.getsockname()[0])")
            r = subprocess.run(net.argv("fra", [sys.executable, "-c", code, central, str(port)]),
                               capture_output=True, text=True, timeout=30)
            check(r.returncode == 0 and r.stdout.strip() == net.addr("fra"),
                  "a process in fra: exit %d, %r" % (r.returncode, (r.stdout + r.stderr).strip()))
        finally:
            stop.set()
            t.join(5)
            srv.close()


def test_nothing_left_after_a_failing_test():
    if netns.skipped():
        return
    # 1. a failure inside the `with`: everything of the run goes on the way out
    sleeper = None
    try:
        with netns.Network(targets={"all": ALL}) as net:
            sleeper = subprocess.Popen(net.argv("fra", ["sleep", "300"]), stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            harness.PROCESSES.add(sleeper.pid)
            target = net.target("all")
            net.delay("sgp", 80)
            relays = list(net.relays.values())
            raise RuntimeError("a deliberate failure")
    except RuntimeError:
        pass
    check(not netns.ours(), "namespaces left by a failed test: %s" % netns.ours())
    wait_for(lambda: sleeper.poll() is not None, 10, "the process started in fra to be killed")
    check(target._server is None, "the HTTP target of the failed test still serves")
    check(all(p.poll() is not None for p in relays), "a delay line outlived its network")

    # 2. a test process killed outright: its namespaces outlive it until the next Network sweeps them
    code = ("import sys, subprocess, time; sys.path.insert(0, %r); import netns; "
            "net = netns.Network(probes=('fra',), central=False).__enter__(); "
            "p = subprocess.Popen(net.argv('fra', ['sleep', '300']), stdout=subprocess.DEVNULL); "
            "print(p.pid, flush=True); time.sleep(300)" % os.path.dirname(os.path.abspath(__file__)))
    victim = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    harness.PROCESSES.add(victim.pid)
    inner = int(victim.stdout.readline())
    harness.PROCESSES.add(inner)
    left = netns.ours(victim.pid)
    check(len(left) == 2, "the victim's namespaces: %s" % left)
    os.kill(victim.pid, signal.SIGKILL)  # the victim only: its sleep lives on
    victim.wait(10)
    victim.stdout.close()
    check(sorted(netns.ours(victim.pid)) == sorted(left) and harness.proc_alive(inner),
          "before the sweep the dead run's namespaces and its process are still there")
    with netns.Network(probes=("fra",), central=False):
        check(not netns.ours(victim.pid), "the dead run's namespaces were not swept: %s" % netns.ours(victim.pid))
        wait_for(lambda: not harness.proc_alive(inner), 10, "the dead run's process inside fra to be killed")
    check(not netns.ours(), "namespaces of this test left: %s" % netns.ours())
