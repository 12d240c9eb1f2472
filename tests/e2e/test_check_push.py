"""tests/e2e/test_check_push.py — push (heartbeat) checks end to end: the supervisor, two workers, the storer and
clockwerk-web; a job's calls made with curl.

What is checked: GET and POST on /push/TOKEN and a Bearer token on /push are ok results, the first with no latency
and the next with the gap since the previous call; ?status=down&msg=... is a failed result "status=down: MSG" with
the msg's control characters replaced; an endpoint never called fails "no call within 3 s + 1 s grace (last call
none since the worker started)" after interval + grace, and one called then silent fails once per silent interval
naming its last call; a wrong token is 404 and neither token appears in any log or in the database; while the
worker that owns the endpoint is gone the web answers 503 and `curl --retry` gets through once it is back.
"""

import os
import signal
import subprocess

import harness
from harness import Clockwerk, base_config, check, deadline, free_port, shard_of, tempdir, wait_for

TOKEN = "Backup-Token_0123456789abcdef"
TOKEN_NIGHTLY = "Nightly-Token_abcdef0123456789"
WRONG = "Wrong-Token_9876543210fedcba"
WEB = "clockwerk: web"


def curl(port, path, method="GET", headers=(), extra=()):
    """The HTTP status curl got (0: no answer)."""
    args = ["curl", "-s", "-w", "%{http_code}", "-X", method, "--max-time", "5"]
    for h in headers:
        args += ["-H", h]
    args += list(extra) + ["http://127.0.0.1:%d%s" % (port, path)]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    if not r.stdout:
        harness.note("curl %s: exit %d %s" % (path[:6], r.returncode, r.stderr.strip()[-200:]))
    return int(r.stdout[-3:] or 0)


def rows(cw, url):
    """The stored checks of url, oldest first; [] until the storer has made its tables."""
    return cw.db().try_query("SELECT c.ok, c.error, c.latency_ms FROM checks c JOIN endpoints e "
                             "ON e.id = c.endpoint_id WHERE e.url = ? ORDER BY c.id", (url,)) or []


def push_config(port, workers=2):
    eps = [{"type": "push", "name": "backup", "token": TOKEN, "check_interval": 2, "grace": 1.0},
           {"type": "push", "name": "nightly", "token": TOKEN_NIGHTLY, "check_interval": 3, "grace": 1.0}]
    cfg = base_config(eps, workers=workers, check_interval=2)
    cfg["web"] = {"listen": "127.0.0.1:%d" % port, "title": "push"}
    return cfg


def everything_written(d):
    """The text of every file under d (logs, run_dir, the database)."""
    out = []
    for root, _, files in os.walk(d):
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    out.append(f.read())
            except OSError:
                pass
    return b"\n".join(out)


@harness.timeout(180)
def test_push_calls_and_silence():
    with tempdir() as d:
        port = free_port()
        with Clockwerk(push_config(port), d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            # 503 until the owning worker's socket is there, then 200
            wait_for(lambda: curl(port, "/push/" + TOKEN) == 200, deadline(20), "a first push call accepted")
            t0 = wait_for(lambda: rows(cw, "push://backup") or None, deadline(20), "the first call's result")
            check(t0[0][0] == 1 and t0[0][2] is None, "the first call: ok with no latency: %r" % (t0,))
            check(curl(port, "/push/" + TOKEN + "?status=down&msg=disk%20full%0Aoops", method="POST") == 200,
                  "a POST with status=down")
            check(curl(port, "/push", headers=["Authorization: Bearer " + TOKEN]) == 200, "a Bearer call")
            r = wait_for(lambda: (lambda x: x if len(x) >= 3 else None)(rows(cw, "push://backup")), deadline(20),
                         "three results")
            check(r[1][0] == 0 and r[1][1] == "status=down: disk full?oops", "the down call: %r" % (r[1],))
            check(r[2][0] == 1 and r[2][2] is not None and r[2][2] >= 0, "a call's latency is the gap: %r" % (r[2],))
            check(curl(port, "/push/" + TOKEN + "?status=maybe") == 400, "an unknown status is 400")
            check(curl(port, "/push/" + WRONG) == 404, "a wrong token is 404")
            check(curl(port, "/push", headers=["Authorization: Bearer " + WRONG]) == 404, "a wrong Bearer is 404")
            check(curl(port, "/push/" + TOKEN, method="DELETE") == 405, "DELETE is not a call")
            # the never-called endpoint fails after interval + grace; the silent one once per interval
            n = wait_for(lambda: rows(cw, "push://nightly") or None, deadline(20), "a missing-call failure")
            check(n[0][0] == 0 and n[0][1] == "no call within 3 s + 1 s grace (last call none since the worker "
                  "started)", "the never-called endpoint: %r" % (n[0],))
            silent = wait_for(lambda: (lambda x: x if len(x) >= 2 else None)(
                [x for x in rows(cw, "push://backup")[3:] if x[0] == 0]), deadline(20), "two silences")
            check(all(x[1].startswith("no call within 2 s + 1 s grace (last call 20") for x in silent),
                  "the silences: %r" % (silent,))
            cw.stop()
        written = everything_written(d)
        for tok in (TOKEN, TOKEN_NIGHTLY, WRONG):
            check(tok.encode() not in written.replace(("token = \"%s\"" % tok).encode(), b""),
                  "the token %s... was written somewhere besides the configuration" % tok[:6])


@harness.timeout(180)
def test_push_503_without_worker():
    with tempdir() as d:
        port = free_port()
        with Clockwerk(push_config(port), d) as cw:
            kids = cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_for(lambda: curl(port, "/push/" + TOKEN) == 200, deadline(20), "a first push call accepted")
            owner = cw.worker_titles()[shard_of("push://backup", 2)]
            os.kill(cw.pid, signal.SIGSTOP)  # no restart while we look
            try:
                os.kill(kids[owner], signal.SIGKILL)
                wait_for(lambda: curl(port, "/push/" + TOKEN) == 503, deadline(20), "503 while the worker is gone")
            finally:
                os.kill(cw.pid, signal.SIGCONT)
            status = curl(port, "/push/" + TOKEN, extra=["--retry", "20", "--retry-delay", "1"])
            check(status == 200, "curl --retry got through after the restart: %d" % status)
            cw.stop()
