"""tests/e2e/test_curve.py — hostile peers on a tcp:// bus: ZeroMQ CURVE with an allow-list.

The whole pipeline runs with every bus address on tcp://127.0.0.1 and bus.curve_key_file set (a key pair made
by `clockwerk keygen`): rows arrive (workers -> storer over CURVE), the tap attaches (a CURVE client of the
relay). Then three clients connect to the storer's tcp address and each sends one valid result message:
  - one without CURVE                              -> refused, logged ("does not use CURVE"), nothing stored;
  - one with CURVE and a key not on the list       -> refused by the ZAP handler, logged with its key, nothing stored;
  - one with a key in bus.curve_allowed_keys       -> its result is stored.
The refusals are also in the storer's final counters (bus_refused). `clockwerk -t` requires CURVE for an
address reachable from other hosts, and refuses a key file others may read.
"""

import os
import re
import stat
import time

import zmq

import harness
from harness import Clockwerk, base_config, check, endpoint, run_cli, tempdir
from targets import Targets

STORER = "clockwerk: storer"


def _keygen(d, name):
    path = os.path.join(d, name)
    r = run_cli(["keygen", path])
    check(r.code == 0, "clockwerk keygen %s: %s" % (path, r.text))
    pub = r.out.strip()
    check(len(pub) == 40, "keygen printed %r, not a 40-character public key" % pub)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o600, "the key file has mode %o, not 600" % mode)
    again = run_cli(["keygen", path])
    check(again.code != 0 and "exists" in again.text, "keygen overwrote an existing key file: %s" % again.text)
    return path, pub


def _result(url, worker, boot_id):
    now_us = int(time.time() * 1e6)
    return harness.encode_results([{"worker": worker, "boot_id": boot_id, "seq": 1, "checked_at_us": now_us,
                                    "latency_us": 1000, "dns_us": -1, "connect_us": 1, "tls_us": -1, "ttfb_us": 1,
                                    "status_code": 200, "ok": True, "url": url}])


def _send(ctx, address, payload, keys=None, server_key=None):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if keys:
        s.curve_publickey, s.curve_secretkey = keys
        s.curve_serverkey = server_key
    s.connect(address)
    s.send_multipart([b"result", payload])
    return s


def test_curve_pipeline_and_allow_list():
    with tempdir() as d, Targets() as t:
        key_file, pub = _keygen(d, "bus.key")
        _, friend_pub = _keygen(d, "friend.key")
        friend = {}
        with open(os.path.join(d, "friend.key")) as f:
            for line in f:
                m = re.match(r'\s*(public|secret)\s*=\s*"([^"]+)"', line)
                if m:
                    friend[m.group(1)] = m.group(2).encode()
        ports = [harness.free_port() for _ in range(4)]
        bus = {"store_address": "tcp://127.0.0.1:%d" % ports[0], "alert_address": "tcp://127.0.0.1:%d" % ports[1],
               "publish_address": "tcp://127.0.0.1:%d" % ports[2], "tap_address": "tcp://127.0.0.1:%d" % ports[3],
               "curve_key_file": "bus.key", "curve_allowed_keys": [friend_pub]}
        url = t.url("/ok")
        cfg = base_config([endpoint(url, timeout=1)], workers=1, extra={"bus": bus})
        harness.write_config(os.path.join(d, "check.conf"), cfg)
        r = run_cli(["-t", "-c", os.path.join(d, "check.conf")])
        check(r.code == 0, "clockwerk -t on the CURVE configuration: %s" % r.text)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_count(url, 2, timeout=30)
            code, lines, err = harness.run_tap(cw.conf_path, 2, json_output=True, timeout=30)
            check(code == 0 and len(lines) >= 2, "the tap over CURVE: exit %s, %d lines: %s" % (
                code, len(lines), err.strip()[-300:]))
            storer = cw.child(STORER)
            mark = cw.log_mark()
            ctx = zmq.Context()
            socks = []
            try:
                stranger = zmq.curve_keypair()
                plain_url, stranger_url, friend_url = (t.url("/curve-plain"), t.url("/curve-stranger"),
                                                      t.url("/curve-friend"))
                socks.append(_send(ctx, bus["store_address"], _result(plain_url, 91, 0x1001)))
                socks.append(_send(ctx, bus["store_address"], _result(stranger_url, 92, 0x1002), stranger,
                                   pub.encode()))
                # libzmq reports the plain client's failure as a mechanism mismatch or, depending on which
                # side sees it first, as a handshake failure without detail: both are a refusal
                cw.wait_log(r"refused a client of the bus server tcp://\S+: (it does not use CURVE|a failed handshake)",
                            timeout=20, since=mark)
                cw.wait_log(r"CURVE key %s is not in bus\.curve_allowed_keys" % re.escape(stranger[0].decode()),
                            timeout=20, since=mark)
                socks.append(_send(ctx, bus["store_address"], _result(friend_url, 93, 0x1003),
                                   (friend["public"], friend["secret"]), pub.encode()))
                cw.wait_rows("SELECT c.worker FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.url = ?",
                             (friend_url,), timeout=20, what="the allow-listed client's result")
                # Both refusals were logged before the friend connected; the refused clients keep retrying
                # meanwhile, and none of their messages may get in.
                for u in (plain_url, stranger_url):
                    n = cw.db().query("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                                      "WHERE e.url = ?", (u,))[0][0]
                    check(n == 0, "a refused client's result was stored (%s: %d rows)" % (u, n))
            finally:
                for s in socks:
                    s.close()
                ctx.term()
            check(cw.child(STORER) == storer, "the storer was restarted while refusing clients")
            # three more checks stored (>= 2 s): a stats message of the storer counted the refusals since
            cw.wait_count(url, 3, timeout=30, after=harness.utc_now_iso())
            cw.stop()
            counters = harness.final_counters(cw.log_text()).get("storer") or {}
            refused = counters.get("bus_refused")
            check(refused is not None and refused >= 2, "the storer's final counters give bus_refused=%r" % refused)
            secret_line = [ln for ln in open(key_file) if ln.startswith("secret")][0]
            secret = secret_line.split('"')[1]
            check(secret not in cw.log_text(), "the CURVE secret key appears in the log")


def test_curve_required_off_loopback():
    with tempdir() as d:
        base = base_config([endpoint("http://127.0.0.1:9/")], workers=1)
        path = os.path.join(d, "c.conf")
        harness.write_config(path, dict(base, bus={"store_address": "tcp://0.0.0.0:7001"}))
        r = run_cli(["-t", "-c", path])
        check(r.code == 1 and "needs CURVE" in r.text and "c.conf:" in r.text,
              "tcp on 0.0.0.0 without CURVE: exit %s, %s" % (r.code, r.text))
        harness.write_config(path, dict(base, bus={"store_address": "tcp://127.0.0.1:7001"}))
        r = run_cli(["-t", "-c", path])
        check(r.code == 0, "tcp on loopback without CURVE is allowed: %s" % r.text)
        key, _ = _keygen(d, "k.key")
        os.chmod(key, 0o644)
        harness.write_config(path, dict(base, bus={"store_address": "tcp://0.0.0.0:7001", "curve_key_file": "k.key"}))
        r = run_cli(["-t", "-c", path])
        check(r.code == 1 and "chmod 600" in r.text, "a key file readable by others: exit %s, %s" % (r.code, r.text))
        os.chmod(key, 0o600)
        r = run_cli(["-t", "-c", path])
        check(r.code == 0, "tcp on 0.0.0.0 with CURVE: %s" % r.text)
        harness.write_config(path, dict(base, bus={"store_address": "tcp://0.0.0.0:7001", "curve_key_file": "k.key",
                                                   "curve_server_key": "not-a-key",
                                                   "curve_allowed_keys": ["short"]}))
        r = run_cli(["-t", "-c", path])
        check(r.code == 1 and "curve_server_key" in r.text and "curve_allowed_keys[0]" in r.text,
              "malformed public keys: exit %s, %s" % (r.code, r.text))


def test_curve_key_file_readable_by_supervisor_user():
    """With supervisor.user, the children read the key file as that user: a root-owned 0600 key is refused at
    -t and at start (with the chown that fixes it), and works once it is the user's."""
    from test_security import USER, ensure_user
    if os.getuid() != 0:
        harness.note("not root: supervisor.user cannot be tested")
        return
    user = ensure_user()
    with tempdir() as d, Targets() as t:
        os.chmod(d, 0o755)  # the user must reach the files below
        key, _ = _keygen(d, "bus.key")
        port = harness.free_port()
        cfg = base_config([endpoint(t.url("/ok"), timeout=1)], workers=1, db_name="data/clockwerk.db",
                          extra={"supervisor": {"user": USER},
                                 "bus": {"store_address": "tcp://127.0.0.1:%d" % port, "curve_key_file": "bus.key"}})
        path = os.path.join(d, "clockwerk.conf")
        harness.write_config(path, cfg)
        r = run_cli(["-t", "-c", path])
        check(r.code == 1 and "not readable by supervisor.user" in r.text and "chown" in r.text,
              "a root-owned key with supervisor.user: exit %s, %s" % (r.code, r.text))
        os.chown(key, user.pw_uid, user.pw_gid)
        r = run_cli(["-t", "-c", path])
        check(r.code == 0, "the key given to the user: exit %s, %s" % (r.code, r.text))
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_count(t.url("/ok"), 2, timeout=30)
