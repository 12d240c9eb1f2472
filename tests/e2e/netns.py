"""tests/e2e/netns.py — hosts made of network namespaces for the location tests (issue 16) and their bench.

    with Network(probes=("fra", "nyc", "sgp"), targets={"all": ALL, "two": {"fra", "nyc"}}) as net:
        t = net.target("two")                       # an HTTP server (targets.Targets' paths) in the target namespace
        t.url("/ok")                                # http://10.16.1.2:PORT/ok: reached from fra and nyc only
        net.addr("central")                         # 10.16.0.1
        wrap = net.wrapped_bin("fra", d)            # a bin dir whose clockwerk runs inside fra: Clockwerk(bin_dir=)
        net.delay("sgp", 80)                        # 80 ms more on everything sgp sends (tc netem, or a relay)
        net.cut("fra"); net.restore("fra")          # `ip link set DEV down` / up: fra cut off from every host
        net.block("nyc", "two"); net.allow(...)     # the route from a host to a target taken away / given back
        net.call("fra", fn)                         # fn() in a thread inside fra's namespace (its sockets there)

THE NETWORK
One namespace per host — "central", each probe, "tgt" (the HTTP targets) — and one for the bridge, each named
cw-<pid>-<n>-<role> (pid: this test process; n: a counter; unique per run). Each host has one veth `eth0` whose
peer `p-<role>` is a port of the bridge `br0` in the bridge's namespace: nothing is created in the machine's own
namespace, so two runs never see each other's links. Hosts are 10.16.0.0/24 (central .1, probes .2, .3 ...,
tgt .100). Each target has its own address 10.16.1.K on tgt's loopback, and a host reaches a target only when it
has the route `10.16.1.K via 10.16.0.100` (the matrix given as `targets`: target -> the hosts that reach it);
without it a connection fails at once (network unreachable), which is what block() makes.

DELAY
delay(host, ms) adds ms to every frame the host sends: `tc qdisc add dev eth0 root netem delay ms` in its
namespace when the kernel has sch_netem; a kernel without it (this VM's) gets the same from a delay line:
the host's bridge port leaves the bridge, a tap device takes its place there, and tests/e2e/netns_delay.py
(in the bridge's namespace) copies frames between the two, holding each of the host's frames ms milliseconds.
The host's checksum and segmentation offloads are turned off first (ethtool ioctls), so that frames leave it
complete. `delay_method` says which was used.

CLEANING UP
Every namespace is deleted (its links with it) and every process left in one is killed — on leaving the `with`
(a failing test too), at exit (atexit) for a Network never left, and at the next Network's start for the
namespaces of a test process that no longer runs (killed by the runner: a sweep of cw-<pid>-* whose pid is gone).
Needs root and iproute2 (`ip`, `tc`): skip_reason() says why not, and the tests then pass with a note.
"""

import atexit
import ctypes
import errno
import fcntl
import itertools
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer

import harness
import targets as target_servers
from harness import check

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS_NET = "10.16.0"
TARGETS_NET = "10.16.1"
TARGET_HOST = "tgt"
NAME_RX = re.compile(r"^cw-(\d+)-\d+-[a-z0-9]+$")
CLONE_NEWNET = 0x40000000
_counter = itertools.count()
_live = []  # Networks not yet cleaned up, for atexit


def run(*argv, check_rc=True, timeout=30):
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise harness.TestFailure("%s: exit %d: %s" % (" ".join(map(str, argv)), r.returncode,
                                                      (r.stdout + r.stderr).strip()))
    return r


def skip_reason():
    """Why namespaces cannot be made here (not root, no ip or tc), or None."""
    if os.geteuid() != 0:
        return "not root: network namespaces cannot be made"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return "no `%s` (iproute2): `make test-deps` installs it" % tool
    return None


def skipped():
    """True (after a note saying why) when the tests of this module cannot run here."""
    why = skip_reason()
    if why:
        harness.note("SKIPPED: " + why)
        return True
    return False


def namespaces():
    """Names of every network namespace (`ip netns list`)."""
    out = run("ip", "netns", "list", check_rc=False).stdout
    return [ln.split()[0] for ln in out.splitlines() if ln.strip()]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _remove_namespace(name):
    """Kills what runs inside the namespace, then deletes it (its links go with it)."""
    for _ in range(3):
        pids = [int(p) for p in run("ip", "netns", "pids", name, check_rc=False).stdout.split() if p.isdigit()]
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            harness.wait_for(lambda: not any(harness.proc_alive(p) for p in pids), 10, "processes in %s to die" % name)
        except harness.WaitTimeout:
            pass  # deleted all the same: its name goes now, the namespace itself with its last process
    run("ip", "netns", "del", name, check_rc=False)


def sweep_leftovers():
    """Deletes the namespaces of earlier runs whose test process is gone. Returns their names."""
    gone = []
    for name in namespaces():
        m = NAME_RX.match(name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            _remove_namespace(name)
            gone.append(name)
    return gone


def ours(pid=None):
    """The namespaces of test process pid (default: this one)."""
    prefix = "cw-%d-" % (os.getpid() if pid is None else pid)
    return [n for n in namespaces() if n.startswith(prefix)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
    return libc


def call_in_namespace(ns, fn, *args):
    """fn(*args) in a new thread that entered network namespace ns (setns: that thread only): sockets made
    there stay in ns. Returns fn's result; raises what it raised."""
    box = {}

    def body():
        try:
            fd = os.open("/run/netns/" + ns, os.O_RDONLY)
            try:
                if _libc().setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, "setns %s: %s" % (ns, os.strerror(e)))
            finally:
                os.close(fd)
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: B902 - handed to the caller
            box["error"] = e
    t = threading.Thread(target=body, name="netns-" + ns, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ---- offloads: a frame copied by the delay line must leave its host whole (checksummed, not a TSO super-frame)
SIOCETHTOOL = 0x8946
ETHTOOL_SETTINGS_OFF = (0x17, 0x19, 0x1F, 0x24)  # ETHTOOL_STXCSUM, _SSG, _STSO, _SGSO


def _offloads_off(ifname):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for cmd in ETHTOOL_SETTINGS_OFF:
            value = ctypes.create_string_buffer(struct.pack("II", cmd, 0))
            ifreq = struct.pack("16sP", ifname.encode(), ctypes.addressof(value)).ljust(40, b"\0")
            try:
                fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)
            except OSError as e:
                if e.errno != errno.EOPNOTSUPP:
                    raise


def netem_available(ns):
    """Whether tc netem works in this kernel (tried on ns's loopback, then removed)."""
    r = run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
            check_rc=False)
    if r.returncode != 0:
        return False
    run("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo", "root", check_rc=False)
    return True


class NsTargets(target_servers.Targets):
    """targets.Targets (same paths and counters) listening on address:PORT inside namespace ns."""

    def __init__(self, ns, address, **kw):
        super().__init__(**kw)
        self.ns, self.address = ns, address

        class _Bound(target_servers._Server):
            def __init__(srv, owner, handler):  # noqa: N805 - the server, not the test's self
                srv.owner = owner
                ThreadingHTTPServer.__init__(srv, (address, 0), handler)
        self.server_class = _Bound

    def start(self):
        return call_in_namespace(self.ns, super().start)

    def url(self, path="/ok"):
        return "http://%s:%d%s" % (self.address, self.port, path)


class Network:
    """A central host, probe hosts and a target host as namespaces on one bridge (module docstring)."""

    def __init__(self, probes=("fra", "nyc", "sgp"), targets=None, central=True):
        self.n = next(_counter)
        self.prefix = "cw-%d-%d-" % (os.getpid(), self.n)
        self.hosts = (["central"] if central else []) + list(probes)
        for h in self.hosts:
            check(re.match(r"^[a-z0-9]{1,10}$", h) and h != TARGET_HOST, "host name %r: 1..10 of [a-z0-9]" % h)
        self.matrix = {name: set(reach) for name, reach in (targets or {}).items()}
        self.target_names = list(self.matrix)
        self.targets = {}
        self.relays = {}
        self.delay_method = None
        self._closed = False
        self._made = []

    # ---- names and addresses
    def ns(self, host):
        return self.prefix + ("br" if host == "bridge" else host)

    def addr(self, host):
        if host == TARGET_HOST:
            return HOSTS_NET + ".100"
        return "%s.%d" % (HOSTS_NET, self.hosts.index(host) + 1)

    def target_addr(self, name):
        return "%s.%d" % (TARGETS_NET, self.target_names.index(name) + 1)

    def target(self, name):
        return self.targets[name]

    def port(self, host):
        """The host's port on the bridge (in the bridge's namespace)."""
        return "p-" + host

    # ---- commands
    def ip(self, host, *args, check_rc=True):
        return run("ip", "-n", self.ns(host), *args, check_rc=check_rc)

    def ex(self, host, *argv, check_rc=True):
        return run("ip", "netns", "exec", self.ns(host), *argv, check_rc=check_rc)

    def argv(self, host, argv):
        """argv run inside the host's namespace."""
        return ["ip", "netns", "exec", self.ns(host)] + list(argv)

    def call(self, host, fn, *args):
        return call_in_namespace(self.ns(host), fn, *args)

    def wrapped_bin(self, host, directory):
        """A directory with a `clockwerk` that execs the real one inside the host's namespace (same pid: the
        harness's Clockwerk(bin_dir=...) watches and kills it as usual; its children are found next to it)."""
        wrap = os.path.join(directory, "bin-" + host)
        os.makedirs(wrap, exist_ok=True)
        path = os.path.join(wrap, "clockwerk")
        with open(path, "w") as f:
            f.write('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (self.ns(host), harness.binary("clockwerk")))
        os.chmod(path, 0o755)
        return wrap

    # ---- building and tearing down
    def __enter__(self):
        sweep_leftovers()
        _live.append(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _add_ns(self, host):
        run("ip", "netns", "add", self.ns(host))
        self._made.append(self.ns(host))
        self.ip(host, "link", "set", "lo", "up")

    def _build(self):
        self._add_ns("bridge")
        self.ip("bridge", "link", "add", "br0", "type", "bridge")
        self.ip("bridge", "link", "set", "br0", "up")
        for host in self.hosts + ([TARGET_HOST] if self.matrix else []):
            self._add_ns(host)
            self.ip("bridge", "link", "add", self.port(host), "type", "veth", "peer", "name", "eth0", "netns",
                    self.ns(host))
            self.ip("bridge", "link", "set", self.port(host), "master", "br0", "up")
            self.ip(host, "addr", "add", self.addr(host) + "/24", "dev", "eth0")
            self.ip(host, "link", "set", "eth0", "up")
        for name in self.target_names:
            self.ip(TARGET_HOST, "addr", "add", self.target_addr(name) + "/32", "dev", "lo")
            for host in self.matrix[name]:
                check(host in self.hosts, "target %s: unknown host %s" % (name, host))
                self.allow(host, name)
            self.targets[name] = NsTargets(self.ns(TARGET_HOST), self.target_addr(name)).start()

    def allow(self, host, target):
        self.ip(host, "route", "replace", self.target_addr(target) + "/32", "via", self.addr(TARGET_HOST))

    def block(self, host, target):
        self.ip(host, "route", "del", self.target_addr(target) + "/32", check_rc=False)

    def cut(self, host):
        """The host's link down (its port on the bridge): nothing reaches it or leaves it; its routes stay."""
        self.ip("bridge", "link", "set", self.port(host), "down")

    def restore(self, host):
        self.ip("bridge", "link", "set", self.port(host), "up")

    def delay(self, host, ms):
        """ms more on every frame the host sends (module docstring). Returns the method used."""
        if netem_available(self.ns(host)):
            self.ex(host, "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", "%dms" % ms)
            self.delay_method = "tc netem"
            return self.delay_method
        check(host not in self.relays, "%s is already delayed" % host)
        self.call(host, _offloads_off, "eth0")
        port, tap = self.port(host), "d-" + host
        self.ip("bridge", "link", "set", port, "nomaster")
        self.ip("bridge", "link", "set", port, "promisc", "on")
        self.ip("bridge", "tuntap", "add", "dev", tap, "mode", "tap")
        self.ip("bridge", "link", "set", tap, "master", "br0", "up")
        p = subprocess.Popen(self.argv("bridge", [sys.executable, os.path.join(HERE, "netns_delay.py"), port, tap,
                                                  str(ms)]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        harness.PROCESSES.add(p.pid)
        self.relays[host] = p
        line = p.stdout.readline().strip()
        if line != "ready":
            raise harness.TestFailure("the delay line of %s did not start: %r" % (host, line + p.stdout.read()[:300]))
        self.delay_method = "a delay line (netns_delay.py: this kernel has no sch_netem)"
        return self.delay_method

    def undelay(self, host):
        p = self.relays.pop(host, None)
        if p is None:
            self.ex(host, "tc", "qdisc", "del", "dev", "eth0", "root", check_rc=False)
            return
        _stop(p)
        self.ip("bridge", "link", "del", "d-" + host, check_rc=False)
        self.ip("bridge", "link", "set", self.port(host), "master", "br0", "up")

    def close(self):
        """Stops the targets and delay lines, kills what runs in the namespaces, deletes them. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for t in self.targets.values():
            t.stop()
        for p in self.relays.values():
            _stop(p)
        for name in reversed(self._made):
            _remove_namespace(name)
        if self in _live:
            _live.remove(self)

    def __exit__(self, *exc):
        self.close()
        return False


def _stop(p):
    if p.poll() is None:
        p.kill()
    p.wait(timeout=10)
    if p.stdout:
        p.stdout.close()
    if p.stdin:
        p.stdin.close()


@atexit.register
def _close_all():
    for net in list(_live):
        net.close()


# ---- measuring from inside a host
def connect_seconds(net, host, address, port, timeout=5.0):
    """Seconds a TCP connect from host to address:port takes (None: refused, unreachable or timed out)."""
    import time

    def attempt():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            t0 = time.monotonic()
            try:
                s.connect((address, port))
            except OSError:
                return None
            return time.monotonic() - t0
    return net.call(host, attempt)


def http_status(net, host, url, timeout=5.0):
    """The HTTP status of GET url from inside host, or the error (a str) when there is none."""
    import http.client
    from urllib.parse import urlsplit

    def get():
        u = urlsplit(url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        try:
            c.request("GET", u.path or "/")
            return c.getresponse().status
        except OSError as e:
            return "%s: %s" % (type(e).__name__, e)
        finally:
            c.close()
    return net.call(host, get)
