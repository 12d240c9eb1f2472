"""tests/e2e/test_check_icmp.py — icmp checks end to end: a real supervisor, worker and storer sending echo
requests to 127.0.0.1, ::1 and to network namespaces the tests create.

- Raw sockets: as root with net.ipv4.ping_group_range "1 0" (nobody), datagram ICMP sockets are refused, so the
  supervisor opens raw sockets in the worker's process before it becomes supervisor.user (a system user
  here); `clockwerk -t` says so (and, run by that user, that neither method is allowed and which sysctl to
  set); checks to 127.0.0.1, ::1 and localhost pass with loopback round trips.
- Datagram sockets: Clockwerk runs inside a network namespace whose ping_group_range (per namespace) allows
  every group; `-t` says so; the same checks pass with method dgram.
- Loss: a namespace behind a veth pair whose nftables rules drop exactly 3 of every 10 echo requests
  (`numgen inc mod 10 < 3`); 10 probes per check measure exactly 30% loss, for IPv4 and IPv6 (tc netem is not in
  this kernel: the drop is made by nftables instead).
- Delay: a namespace that ignores echo requests (net.ipv4.icmp_echo_ignore_all) where a Python raw-socket
  responder answers each after 60 ms; the stored latency (the average round trip) measures it, and a
  latency_threshold under it fails the check saying so.
- Spacing: Clockwerk in a namespace whose resolver answers after 1 s; a raw socket there times the echo requests
  of a check of a name: packet_interval apart from the first, not back to back after the slow lookup.
Every namespace (and its veth pair) is deleted, and every process stopped, on every path. Needs root (the
namespaces): a test says so and passes without checking when not root.
"""

import os
import random
import re
import shutil
import subprocess
import sys

import harness
from check_rows import rows_by_name
from harness import Clockwerk, base_config, binary, check, note, tempdir

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*argv, check_rc=True):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check_rc and r.returncode != 0:
        raise harness.TestFailure("%s: exit %d: %s" % (" ".join(argv), r.returncode, (r.stdout + r.stderr).strip()))
    return r


class Netns:
    """A network namespace with a unique name, lo up, optionally a veth pair to it with IPv4 10.X.Y.1/.2 (/30)
(and .3, /29) and IPv6 fdXX:...::1/::2 (/64, no DAD); deleted (with its veth pair and the processes started in it) on
    every path."""

    def __init__(self, veth=True):
        tag = "%04x%02x" % (os.getpid() & 0xFFFF, random.randrange(256))
        self.name = "cwt" + tag
        self.veth_host = "cwh" + tag
        self.veth_ns = "cwn" + tag
        a, b = random.randrange(1, 250), random.randrange(0, 31) * 8
        self.host4, self.ns4 = "10.213.%d.%d" % (a, b + 1), "10.213.%d.%d" % (a, b + 2)
        self.ns4b = "10.213.%d.%d" % (a, b + 3)  # a second address of the namespace
        p = "fd%02x:%x:%x" % (random.randrange(256), os.getpid() & 0xFFFF, random.randrange(0xFFFF))
        self.host6, self.ns6 = p + "::1", p + "::2"
        self.veth = veth
        self.procs = []

    def ex(self, *argv, check_rc=True):
        return run("ip", "netns", "exec", self.name, *argv, check_rc=check_rc)

    def sysctl(self, key, value):
        self.ex("sysctl", "-q", "-w", "%s=%s" % (key, value))

    def resolv_conf(self, text):
        """/etc/netns/NAME/resolv.conf: what `ip netns exec` shows the namespace as /etc/resolv.conf (removed at
        exit, with /etc/netns when this made it and no other namespace uses it)."""
        self.etc = os.path.join("/etc/netns", self.name)
        self.made_etc_parent = not os.path.isdir("/etc/netns")
        os.makedirs(self.etc)
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            f.write(text)

    def wrapped_bin(self, d):
        """A directory with a `clockwerk` that runs the real one inside the namespace (its children with it)."""
        wrap = os.path.join(d, "wrapbin")
        os.makedirs(wrap)
        with open(os.path.join(wrap, "clockwerk"), "w") as f:
            f.write('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (self.name, binary("clockwerk")))
        os.chmod(os.path.join(wrap, "clockwerk"), 0o755)
        return wrap

    def __enter__(self):
        run("ip", "netns", "add", self.name)
        try:
            self.ex("ip", "link", "set", "lo", "up")
            if self.veth:
                run("ip", "link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_ns)
                run("ip", "link", "set", self.veth_ns, "netns", self.name)
                run("ip", "addr", "add", self.host4 + "/29", "dev", self.veth_host)
                run("ip", "-6", "addr", "add", self.host6 + "/64", "dev", self.veth_host, "nodad")
                run("ip", "link", "set", self.veth_host, "up")
                self.ex("ip", "addr", "add", self.ns4 + "/29", "dev", self.veth_ns)
                self.ex("ip", "addr", "add", self.ns4b + "/29", "dev", self.veth_ns)
                self.ex("ip", "-6", "addr", "add", self.ns6 + "/64", "dev", self.veth_ns, "nodad")
                self.ex("ip", "link", "set", self.veth_ns, "up")
            return self
        except BaseException:
            self.__exit__()
            raise

    def start(self, argv):
        p = subprocess.Popen(["ip", "netns", "exec", self.name] + argv, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        harness.PROCESSES.add(p.pid)
        self.procs.append(p)
        return p

    def start_script(self, d, name, text, *args):
        """Writes a Python helper to d/name, runs it in the namespace and waits for its "ready" line."""
        script = os.path.join(d, name)
        with open(script, "w") as f:
            f.write(text)
        p = self.start([sys.executable, script] + list(args))
        line = p.stdout.readline().strip()
        check(line == "ready", "%s: %r" % (name, line))
        return p

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        run("ip", "link", "del", self.veth_host, check_rc=False)  # gone with the namespace too
        run("ip", "netns", "del", self.name, check_rc=False)
        if getattr(self, "etc", None):
            shutil.rmtree(self.etc, ignore_errors=True)
            if self.made_etc_parent:
                try:
                    os.rmdir("/etc/netns")
                except OSError:
                    pass  # another test's namespace uses it now


def root_only():
    if os.geteuid() != 0:
        note("not root: network namespaces and raw sockets cannot be made; nothing checked")
        return False
    return True


def icmp_endpoint(name, host, **kw):
    e = {"type": "icmp", "name": name, "host": host, "timeout": 1}
    e.update(kw)
    return e


def check_loopback_rows(rows, method):
    for nm in ("v4", "v6", "name"):
        for r in rows[nm]:
            check(r["ok"] == 1, "%s: %r" % (nm, r))
            check(r["latency_ms"] is not None and 0 < r["latency_ms"] < 50, "%s: latency %r" % (nm, r["latency_ms"]))
            f = r.get("figures")
            if f:
                check(f["sent"] == 3 and f["received"] == 3 and f["loss_pct"] == 0 and f["method"] == method,
                      "%s figures: %r" % (nm, f))
                check(f["rtt_min_ms"] <= f["rtt_avg_ms"] <= f["rtt_max_ms"], "%s figures: %r" % (nm, f))
    addr = rows["v6"][-1].get("figures", {}).get("addr")
    check(addr in (None, "::1"), "v6 addr %r" % addr)


LOOPBACK = [icmp_endpoint("v4", "127.0.0.1", count=3, packet_interval=0.05),
            icmp_endpoint("v6", "::1", count=3, packet_interval=0.05),
            icmp_endpoint("name", "localhost", count=3, packet_interval=0.05)]


@harness.timeout(150)
def test_icmp_loopback_raw_sockets_from_the_supervisor():
    if not root_only():
        return
    import test_security
    pw = test_security.ensure_user()
    with tempdir() as d:
        test_security.traversable(d)
        cfg = base_config(LOOPBACK, workers=2, db_name="db/clockwerk.db",
                          extra={"supervisor": {"user": test_security.USER}})
        with Clockwerk(cfg, d) as cw:
            with open("/proc/sys/net/ipv4/ping_group_range") as f:
                lo, hi = (int(x) for x in f.read().split())
            if lo <= pw.pw_gid <= hi:
                note("ping_group_range %d %d allows gid %d: no raw sockets to test here" % (lo, hi, pw.pw_gid))
                return
            res = harness.run_cli(["-t", "-c", cw.conf_path])
            want = ("icmp: raw sockets opened by the supervisor for the workers (gid %d not in "
                    "net.ipv4.ping_group_range %d %d)" % (pw.pw_gid, lo, hi))
            check(res.code == 0 and want in res.text, "-t: %r" % res.text)
            # the same file checked by that user itself: neither method, and the line says what to do
            own = os.path.join(d, "own.conf")
            harness.write_config(own, cfg)
            os.chmod(own, 0o644)  # no secret in it
            r = subprocess.run([binary("clockwerk"), "-t", "-c", own], capture_output=True, text=True, timeout=20,
                               env=harness.child_env(), user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
            want = ("icmp: not permitted: gid {g} is not in net.ipv4.ping_group_range ({lo} {hi}) and the supervisor "
                    "cannot open raw sockets (Operation not permitted): run `sysctl -w "
                    "net.ipv4.ping_group_range=\"{g} {g}\"` (and keep it in /etc/sysctl.d/), or start clockwerk as "
                    "root").format(g=pw.pw_gid, lo=lo, hi=hi)
            check(r.returncode == 1 and want in r.stderr, "-t as %s: %r" % (test_security.USER, r.stdout + r.stderr))
            cw.wait_ready()
            rows = rows_by_name(cw, ["v4", "v6", "name"], n=2)
            workers = cw.child_pids("clockwerk: worker")
            for pid in workers:
                with open("/proc/%d/status" % pid) as f:
                    status = f.read()
                uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
                eff = int(re.search(r"^CapEff:\s+([0-9a-f]+)", status, re.M).group(1), 16)
                check(uid == pw.pw_uid and eff == 0, "worker %d: uid %d, CapEff %x" % (pid, uid, eff))
            cw.stop()
        check_loopback_rows(rows, "raw")


@harness.timeout(150)
def test_icmp_dgram_sockets_where_ping_group_range_allows():
    if not root_only():
        return
    with tempdir() as d, Netns(veth=False) as ns:
        ns.sysctl("net.ipv4.ping_group_range", "0 2147483647")
        with Clockwerk(base_config(LOOPBACK, workers=1), d, bin_dir=ns.wrapped_bin(d)) as cw:
            t = ns.ex(binary("clockwerk"), "-t", "-c", cw.conf_path)
            check("icmp: unprivileged ICMP sockets (gid 0 in net.ipv4.ping_group_range 0 2147483647)" in t.stdout,
                  "-t in the namespace: %r" % (t.stdout + t.stderr))
            cw.wait_ready()
            rows = rows_by_name(cw, ["v4", "v6", "name"], n=2)
            cw.stop()
            check("icmp checks over IPv4: dgram sockets" in cw.log_text(), "the worker's log does not say dgram")
        check_loopback_rows(rows, "dgram")


NFT_LOSS = """table inet cwloss {
  chain input {
    type filter hook input priority 0; policy accept;
    icmp type echo-request numgen inc mod 10 < 3 drop
    icmpv6 type echo-request numgen inc mod 10 < 3 drop
  }
}
"""


@harness.timeout(180)
def test_icmp_measured_loss_through_a_veth_pair():
    if not root_only():
        return
    with tempdir() as d, Netns() as ns:
        rules = os.path.join(d, "loss.nft")
        with open(rules, "w") as f:
            f.write(NFT_LOSS)
        ns.ex("nft", "-f", rules)
        eps = [icmp_endpoint("lossy4", ns.ns4, count=10, packet_interval=0.02, max_loss=10),
               icmp_endpoint("lossy6", ns.ns6, count=10, packet_interval=0.02, max_loss=20),
               icmp_endpoint("tolerant4", ns.ns4, count=10, packet_interval=0.02, max_loss=50)]
        # tolerant4 shares lossy4's rule counter: it runs on its own, after them (any 10 consecutive requests
        # lose exactly 3)
        with Clockwerk(base_config(eps[:2], workers=1, check_interval=2), d) as cw:
            cw.wait_ready()
            rows = rows_by_name(cw, ["lossy4", "lossy6"], n=3)
            cw.stop()
        for nm, limit in (("lossy4", 10), ("lossy6", 20)):
            for r in rows[nm]:
                check(r["ok"] == 0 and r["error"] == "packet loss 30.0%% (3 of 10 lost) > max_loss %d%%" % limit,
                      "%s: %r" % (nm, r))
                check(r["latency_ms"] is not None and r["latency_ms"] < 50, "%s latency %r" % (nm, r["latency_ms"]))
                f = r.get("figures")
                if f:
                    check(f["sent"] == 10 and f["received"] == 7 and f["loss_pct"] == 30.0, "%s: %r" % (nm, f))
        if "figures" not in rows["lossy4"][0]:
            note("checks.details not in this schema yet: the loss was read from the error text")
        counters = ns.ex("nft", "list", "table", "inet", "cwloss").stdout
        note("nft rules after the run: %s" % " ".join(counters.split())[:200])
        with Clockwerk(base_config(eps[2:], workers=1, check_interval=2, db_name="tolerant.db"), d,
                       name="tolerant") as cw:
            cw.wait_ready()
            rows = rows_by_name(cw, ["tolerant4"], n=1)
            cw.stop()
        check(rows["tolerant4"][0]["ok"] == 1, "tolerant4: %r" % rows["tolerant4"])


# An echo responder on a raw socket that answers each IPv4 echo request after DELAY ms (argv[1]), from the
# address the request went to (a socket bound to it: the kernel would pick the interface's first address).
RESPONDER = r"""
import heapq, select, socket, struct, sys, time
delay = float(sys.argv[1]) / 1000.0
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
senders = {}
def sender(addr):
    if addr not in senders:
        senders[addr] = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        senders[addr].bind((addr, 0))
    return senders[addr]
print("ready", flush=True)
def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF
due = []
n = 0
while True:
    wait = max(0.0, due[0][0] - time.monotonic()) if due else 1.0
    if select.select([s], [], [], wait)[0]:
        pkt, (src, _) = s.recvfrom(65535)
        ihl = (pkt[0] & 15) * 4
        icmp = pkt[ihl:]
        if len(icmp) >= 8 and icmp[0] == 8 and icmp[1] == 0:
            reply = b"\0\0\0\0" + icmp[4:]
            reply = reply[:2] + struct.pack("!H", csum(reply)) + reply[4:]
            n += 1
            dst = socket.inet_ntoa(pkt[16:20])
            heapq.heappush(due, (time.monotonic() + delay, n, src, dst, reply))
    while due and due[0][0] <= time.monotonic():
        _, _, src, dst, reply = heapq.heappop(due)
        sender(dst).sendto(reply, (src, 0))
"""


@harness.timeout(180)
def test_icmp_measured_delay_and_latency_threshold():
    if not root_only():
        return
    with tempdir() as d, Netns() as ns:
        ns.sysctl("net.ipv4.icmp_echo_ignore_all", "1")
        ns.start_script(d, "responder.py", RESPONDER, "60")
        eps = [icmp_endpoint("slow", ns.ns4, count=3, packet_interval=0.05),
               icmp_endpoint("too-slow", ns.ns4b, count=3, packet_interval=0.05, latency_threshold=0.03)]
        with Clockwerk(base_config(eps, workers=1, check_interval=2), d) as cw:
            cw.wait_ready()
            rows = rows_by_name(cw, ["slow", "too-slow"], n=2)
            cw.stop()
        for r in rows["slow"]:
            check(r["ok"] == 1 and 60 <= r["latency_ms"] < 90, "slow: %r" % r)
            f = r.get("figures")
            if f:
                check(60 <= f["rtt_min_ms"] and f["rtt_max_ms"] < 90 and f["jitter_ms"] < 30, "slow: %r" % f)
        for r in rows["too-slow"]:
            m = re.fullmatch(r"average round trip (\d+\.\d{3}) ms > latency_threshold 30 ms", r["error"] or "")
            check(r["ok"] == 0 and m and 60 <= float(m.group(1)) < 90, "too-slow: %r" % r)
        note("round trips through the 60 ms responder: %s ms" % ", ".join("%.1f" % r["latency_ms"]
                                                                          for r in rows["slow"]))


@harness.timeout(150)
def test_icmp_endpoints_added_by_a_reload_get_raw_sockets():
    """The plan is made again at a reload: a worker that had no icmp endpoint (and so no raw socket) is
    restarted with its new shard and gets them."""
    if not root_only():
        return
    with open("/proc/sys/net/ipv4/ping_group_range") as f:
        lo, hi = (int(x) for x in f.read().split())
    if lo <= 0 <= hi:
        note("ping_group_range %d %d allows gid 0: no raw sockets to test here" % (lo, hi))
        return
    with tempdir() as d:
        first = base_config([{"url": "http://127.0.0.1:1/", "timeout": 0.5}], workers=1)
        with Clockwerk(first, d) as cw:
            cw.wait_ready()
            cw.wait_count("http://127.0.0.1:1/", 1)
            check("icmp" not in cw.log_text(), "icmp mentioned before there is an icmp endpoint")
            cw.reload(base_config(first["monitor"]["endpoints"] + LOOPBACK[:2], workers=1))
            rows = rows_by_name(cw, ["v4", "v6"], n=2)
            log = cw.log_text()
            cw.stop()
        check("icmp: raw sockets opened by the supervisor" in log and "icmp checks over IPv4: raw sockets" in log,
              "the reload's log does not show raw sockets")
        for nm in ("v4", "v6"):
            check(all(r["ok"] == 1 for r in rows[nm]), "%s: %r" % (nm, rows[nm]))


# In a namespace: a DNS server on 127.0.0.1:53 that answers every A query with 127.0.0.1 after `delay` seconds
# (AAAA: no answers), and a raw ICMP socket that prints the time of every echo request to 127.0.0.1.
SLOW_DNS_AND_SNIFFER = r"""
import heapq, select, socket, struct, sys, time
delay = float(sys.argv[1])
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(("127.0.0.1", 53))
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print("ready", flush=True)
due = []
n = 0
while True:
    wait = max(0.0, due[0][0] - time.monotonic()) if due else 1.0
    for s in select.select([dns, raw], [], [], wait)[0]:
        if s is raw:
            pkt = raw.recv(65535)
            icmp = pkt[(pkt[0] & 15) * 4:]
            if len(icmp) >= 8 and icmp[0] == 8:
                print("echo %.6f" % time.monotonic(), flush=True)
            continue
        q, peer = dns.recvfrom(4096)
        if len(q) < 17:
            continue
        end = q.index(b"\0", 12) + 5
        qtype = struct.unpack(">H", q[end - 4:end - 2])[0]
        an = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1") if qtype == 1 else b""
        reply = q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if an else 0, 0, 0) + q[12:end] + an
        n += 1
        heapq.heappush(due, (time.monotonic() + delay, n, reply, peer))
    while due and due[0][0] <= time.monotonic():
        _, _, reply, peer = heapq.heappop(due)
        dns.sendto(reply, peer)
"""


@harness.timeout(150)
def test_icmp_probes_keep_their_interval_after_a_slow_lookup():
    """The probes of a check are packet_interval apart from the first one's send, however long the name lookup
    took: the worker runs in a namespace whose resolver (/etc/netns/NAME/resolv.conf) answers after 1 s, and a
    raw socket there times every echo request: 4 probes 0.3 s apart, not sent back to back once the lookup has
    eaten the schedule."""
    if not root_only():
        return
    with tempdir() as d, Netns(veth=False) as ns:
        ns.resolv_conf("nameserver 127.0.0.1\n")
        helper = ns.start_script(d, "slowdns.py", SLOW_DNS_AND_SNIFFER, "1.0")
        eps = [icmp_endpoint("slow-name", "ping.slow.test", count=4, packet_interval=0.3, timeout=3)]
        with Clockwerk(base_config(eps, workers=1, check_interval=10), d, bin_dir=ns.wrapped_bin(d)) as cw:
            cw.wait_ready()
            rows = rows_by_name(cw, ["slow-name"], n=1)
            cw.stop()
        sent = []
        while len(sent) < 4:
            line = helper.stdout.readline()
            check(line, "the sniffer ended after %d echo requests" % len(sent))
            if line.startswith("echo "):
                sent.append(float(line.split()[1]))
        r = rows["slow-name"][0]
        check(r["ok"] == 1, "slow-name: %r" % r)
        gaps = [b - a for a, b in zip(sent, sent[1:])]
        check(all(0.25 <= g < 0.6 for g in gaps), "gaps between the echo requests: %s s (packet_interval 0.3)"
              % ", ".join("%.3f" % g for g in gaps))
