"""tests/e2e/test_check_ops.py — what an operator trial of the new check types (issue 14) found, end to end.

What is checked: a reload that changes only what the workers use (a tcp check's `expect`) reloads the worker of
that shard in place and restarts neither the web (whose push URL must keep answering) nor the storer nor the alerter, while a reload
that changes a push token restarts the web and the new token is accepted; `clockwerk status --json` writes null as
the latency of a check that has none (a push call); the web shows the keys of tcp, dns and tls checks as they are
(record type, starttls, `#NAME` visible) and still masks an http URL's query; icmp checks that cannot work make
`-t` fail and the supervisor log an error.
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import urllib.request

import harness
from harness import Clockwerk, base_config, check, deadline, free_port, shard_of, tempdir, wait_for

TOKEN = "Ops-Token_0123456789abcdef01"
TOKEN2 = "Ops-Token_fedcba9876543210ff"
WEB = "clockwerk: web"
STORER = "clockwerk: storer"
ALERTER = "clockwerk: alerter"


class LineServer:
    """A TCP server on loopback that answers every connection with one line (`tcp` checks' target)."""

    def __init__(self, line=b"220 ops ready\r\n"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.line = line
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.sendall(self.line)
            except OSError:
                pass
            c.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def curl(port, path, extra=()):
    """The HTTP status curl got (0: no answer)."""
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"] + list(extra)
    r = subprocess.run(args + ["http://127.0.0.1:%d%s" % (port, path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    return int(r.stdout[-3:] or 0)


def get_json(port, path):
    """The JSON answer, or None while the web does not answer yet."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return json.loads(r.read().decode())
    except OSError:
        return None


def push_name_beside(key, slots=2):
    """A push check's name whose key falls in another shard than `key` (its worker is not restarted with it)."""
    return next("daily%d" % i for i in range(100) if shard_of("push://daily%d" % i, slots) != shard_of(key, slots))


def ops_config(web_port, tcp_port, expect="ops ready", token=TOKEN, push_interval=30):
    eps = [{"type": "tcp", "name": "smtp-banner", "host": "127.0.0.1", "port": tcp_port, "expect": expect,
            "timeout": 1},
           {"type": "push", "name": push_name_beside("tcp://127.0.0.1:%d" % tcp_port), "token": token,
            "check_interval": push_interval}]
    cfg = base_config(eps, workers=2, check_interval=1)
    cfg["web"] = {"listen": "127.0.0.1:%d" % web_port, "title": "ops"}
    return cfg


class Caller:
    """Calls the push URL in a loop (as many daily jobs would) and records every status that was not 200."""

    def __init__(self, port, token):
        self.port, self.token, self.bad, self.calls = port, token, [], 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stopping.is_set():
            status = curl(self.port, "/push/" + self.token)
            self.calls += 1
            if status != 200:
                self.bad.append(status)
            self.stopping.wait(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(30)


@harness.timeout(180)
def test_reload_of_a_probe_setting_keeps_the_web():
    with tempdir() as d, LineServer() as srv:
        port = free_port()
        with Clockwerk(ops_config(port, srv.port), d) as cw:
            kids = cw.wait_ready(titles=cw.expected_titles() + [WEB, ALERTER])
            wait_for(lambda: curl(port, "/push/" + TOKEN) == 200, deadline(20), "a first push call accepted")
            with Caller(port, TOKEN) as caller:
                mark = cw.log_mark()
                cw.reload(ops_config(port, srv.port, expect="ops"))
                line = cw.wait_log(r"reload: .*generation 2[^\n]*", since=mark).group(0)
                wait_for(lambda: caller.calls >= 20, deadline(20), "calls after the reload")
            check("reloading worker" in line and "restarting worker" not in line,
                  "the worker of the tcp check is not reloaded in place: %s" % line)
            for child in ("web", "storer", "alerter"):
                check("restarting %s" % child not in line, "%s restarted for a changed expect: %s" % (child, line))
            for title in (WEB, STORER, ALERTER):
                check(cw.child_pids(title) == [kids[title]], "%s was restarted (pid %s -> %s)" %
                      (title, kids[title], cw.child_pids(title)))
            check(not caller.bad, "push calls failed during the reload: %r" % caller.bad)

            # a changed token is the web's business: it reads it again in place and takes the new one
            mark = cw.log_mark()
            cw.reload(ops_config(port, srv.port, expect="ops", token=TOKEN2))
            line = cw.wait_log(r"reload: .*generation 3[^\n]*", since=mark).group(0)
            check("reloading web in place" in line, "a changed push token does not reload the web: %s" % line)
            wait_for(lambda: curl(port, "/push/" + TOKEN2) == 200, deadline(20), "the new token accepted")
            check(curl(port, "/push/" + TOKEN) == 404, "the old token is refused")
            cw.stop()


def status_json(cw):
    r = harness.run_cli(["status", "--json", "-c", cw.conf_path], timeout=30)
    try:
        return {e["name"]: e for e in json.loads(r.out)["endpoints"]}
    except (ValueError, KeyError):
        return {}


@harness.timeout(180)
def test_status_json_latency_of_a_check_without_one():
    """A push call's first result has no latency (the -1 µs marker): `status --json` writes null, not -0.001, and
    the text output shows no negative latency."""
    with tempdir() as d, LineServer() as srv:
        port = free_port()
        cfg = ops_config(port, srv.port, push_interval=3)
        push = cfg["monitor"]["endpoints"][1]["name"]
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB, ALERTER])
            wait_for(lambda: curl(port, "/push/" + TOKEN) == 200, deadline(20), "a push call accepted")
            eps = wait_for(lambda: (lambda s: s if s.get(push, {}).get("last_checked") else None)(status_json(cw)),
                           deadline(40), lambda: "the push check in clockwerk status: %s" % harness.run_cli(
                               ["status", "--json", "-c", cw.conf_path], timeout=30).text)
            check(eps[push]["last_latency_ms"] is None, "a push call's latency: %r" % eps[push])
            text = harness.run_cli(["status", "-c", cw.conf_path], timeout=30).out
            check("-0.0" not in text, "the text output shows a negative latency: %s" % text)
            cw.stop()


@harness.timeout(120)
def test_icmp_not_permitted_is_an_error():
    """As a user that can neither use datagram ICMP sockets (not in ping_group_range) nor open raw ones, `-t` on a
    file with icmp checks exits 1 with the `icmp: not permitted` line as an error (no `config OK`), and the
    supervisor started as that user logs it as an error, not a warning."""
    if os.geteuid() != 0:
        harness.note("not root: no other user to run as")
        return
    import test_security
    pw = test_security.ensure_user()
    with open("/proc/sys/net/ipv4/ping_group_range") as f:
        lo, hi = (int(x) for x in f.read().split())
    if lo <= pw.pw_gid <= hi:
        harness.note("ping_group_range %d %d allows gid %d: ICMP is permitted here" % (lo, hi, pw.pw_gid))
        return
    with tempdir() as d:
        test_security.traversable(d)
        os.chown(d, pw.pw_uid, pw.pw_gid)
        cfg = base_config([{"type": "icmp", "name": "gw", "host": "127.0.0.1", "timeout": 1}], workers=1, db=False)
        conf = os.path.join(d, "clockwerk.conf")
        harness.write_config(conf, cfg)
        os.chown(conf, pw.pw_uid, pw.pw_gid)
        as_user = dict(env=harness.child_env(), user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        r = subprocess.run([harness.binary("clockwerk"), "-t", "-c", conf], capture_output=True, text=True,
                           timeout=20, **as_user)
        want = "%s: icmp: not permitted: gid %d is not in net.ipv4.ping_group_range" % (conf, pw.pw_gid)
        check(r.returncode == 1 and want in r.stderr and "could only fail" in r.stderr,
              "-t: exit %d, stderr %r" % (r.returncode, r.stderr))
        check("config OK" not in r.stdout, "-t said config OK: %r" % r.stdout)
        log = os.path.join(d, "supervisor.log")
        with open(log, "wb") as out:
            p = subprocess.Popen([harness.binary("clockwerk"), "-c", conf], stdout=out, stderr=subprocess.STDOUT,
                                 cwd=d, start_new_session=True, **as_user)
        try:
            def logged():
                with open(log, errors="replace") as f:
                    return re.search(r".* icmp: not permitted: .*", f.read())
            line = wait_for(logged, deadline(20), "the supervisor's icmp line").group(0)
            check(" error: icmp: not permitted" in line and "cannot work" in line, "the start's line: %s" % line)
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)


def test_world_readable_token_file_is_a_dash_t_warning():
    """A token_file others may read is a `-t` warning like the others (`warning: FILE:LINE: ...`), not a timestamped
    log line; a token written in a world-readable configuration is refused naming a push token."""
    with tempdir() as d:
        tok = os.path.join(d, "daily.token")
        with open(tok, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(tok, 0o644)
        cfg = base_config([{"type": "push", "name": "daily", "token_file": tok}], workers=1)
        cfg["web"] = {"listen": "127.0.0.1:%d" % free_port()}
        conf = os.path.join(d, "clockwerk.conf")
        harness.write_config(conf, cfg)
        r = harness.run_cli(["-t", "-c", conf])
        line = [x for x in r.err.splitlines() if "others may read" in x]
        check(r.code == 0 and len(line) == 1 and re.match(r"warning: %s:\d+: monitor\.endpoints\[0\]\.token_file: "
                                                          r"others may read the secret file" % re.escape(conf),
                                                          line[0]), "-t: %r" % r.text)
        cfg["monitor"]["endpoints"][0] = {"type": "push", "name": "daily", "token": TOKEN}
        harness.write_config(conf, cfg)
        os.chmod(conf, 0o644)
        r = harness.run_cli(["-t", "-c", conf])
        check(r.code == 1 and "the file holds a push token but others may read it" in r.err and TOKEN not in r.text,
              "-t of a world-readable token: %r" % r.text.replace(TOKEN, "TOKEN"))


@harness.timeout(120)
def test_web_on_a_busy_port_and_the_final_counters():
    """The web on a port already taken says the configured address (not libmicrohttpd's `port 0`) and is restarted;
    at stop the supervisor's final counters are the figures of its summary line (not a copy a second old)."""
    with tempdir() as d, LineServer() as srv:
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        try:
            with Clockwerk(ops_config(port, srv.port), d) as cw:
                cw.wait_ready()
                cw.wait_log(r"web \(pid \d+\) exited with code 1[^\n]*\n(.|\n)*web \(pid \d+\) exited with code 1",
                            timeout=30)
                cw.stop()
                log = cw.log_text()
        finally:
            busy.close()
        want = "cannot serve HTTP on 127.0.0.1:%d: Address already in use" % port
        check(want in log, "the web's error names web.listen: %s" % harness.tail(log))
        check("port 0" not in log, "libmicrohttpd's 'port 0' is in the log: %s" % harness.tail(log))
        sup = harness.final_counters(log).get("supervisor")
        m = re.search(r"stopped after [\d.]+ s: \d+ restarts \(relay (\d+), storer (\d+), alerter (\d+), workers (\d+), "
                      r"web (\d+)\), (\d+) crashes, (\d+) fatal exits", log)
        check(sup and m, "the supervisor's final counters and summary: %s" % harness.tail(log))
        said = dict(zip(["restarts_relay", "restarts_storer", "restarts_alerter", "restarts_worker", "restarts_web",
                         "crashes", "fatal_exits"], (int(x) for x in m.groups())))
        check(said["restarts_web"] >= 1, "the web was restarted: %r" % said)
        check(all(sup.get(k) == v for k, v in said.items()), "final counters %r, summary %r" % (sup, said))


@harness.timeout(120)
def test_web_shows_the_keys_whole():
    """The page, /api/v1/endpoints and /metrics show the keys of the other check types whole (record type, starttls,
    sni, #NAME) and still mask an http URL's query; two tls checks of one address by SNI are two endpoints."""
    with tempdir() as d, LineServer() as srv:
        port, dns_port = free_port(), free_port()
        eps = [{"type": "tcp", "name": "bare", "host": "127.0.0.1", "port": srv.port, "timeout": 1},
               {"type": "tcp", "name": "banner", "host": "127.0.0.1", "port": srv.port, "expect": "ops", "timeout": 1},
               {"type": "dns", "name": "a", "host": "www.op14.test", "dns_server": "127.0.0.1:%d" % dns_port,
                "timeout": 1},
               {"type": "dns", "name": "aaaa", "host": "www.op14.test", "dns_server": "127.0.0.1:%d" % dns_port,
                "record_type": "AAAA", "timeout": 1},
               {"type": "tls", "name": "smtp", "host": "127.0.0.1", "port": srv.port, "starttls": "smtp",
                "timeout": 1},
               {"type": "tls", "name": "shop", "host": "127.0.0.1", "port": srv.port, "server_name": "shop.op14.test",
                "timeout": 1},
               {"type": "tls", "name": "blog", "host": "127.0.0.1", "port": srv.port, "server_name": "blog.op14.test",
                "timeout": 1},
               {"url": "http://127.0.0.1:%d/x?token=s3cret" % srv.port, "name": "api", "timeout": 1}]
        cfg = base_config(eps, workers=1, db=False)
        cfg["web"] = {"listen": "127.0.0.1:%d" % port}
        keys = ["tcp://127.0.0.1:%d" % srv.port, "tcp://127.0.0.1:%d#banner" % srv.port,
                "dns://127.0.0.1:%d/www.op14.test?type=A" % dns_port,
                "dns://127.0.0.1:%d/www.op14.test?type=AAAA" % dns_port,
                "tls://127.0.0.1:%d?starttls=smtp" % srv.port, "tls://127.0.0.1:%d?sni=shop.op14.test" % srv.port,
                "tls://127.0.0.1:%d?sni=blog.op14.test" % srv.port, "http://127.0.0.1:%d/x?***" % srv.port]
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            api = wait_for(lambda: get_json(port, "/api/v1/endpoints"), deadline(20), "the API")
            urls = [e["url"] for e in api["endpoints"]]
            check(urls == keys, "the API's urls: %r" % urls)
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
                metrics = r.read().decode()
            with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as r:
                page = r.read().decode()
            for k in keys:
                check('url="%s"' % k in metrics, "/metrics lacks %s" % k)
            check("s3cret" not in metrics + page + json.dumps(api), "the http query's token is shown")
            cw.stop()
