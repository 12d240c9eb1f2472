"""tests/e2e/test_check_push.py — push (heartbeat) checks end to end: the supervisor, two workers, the storer and
clockwerk-web; a job's calls made with curl.

What is checked: GET and POST on /push/TOKEN and a Bearer token on /push are ok results, the first with no latency
and the next with the gap since the previous call; ?status=down&msg=... is a failed result "status=down: MSG" with
the msg's control characters replaced; an endpoint never called fails "no call within 3 s + 1 s grace (last call
none recorded)" after interval + grace, and one called then silent fails once per silent interval
naming its last call; a wrong token is 404 and neither token appears in any log or in the database; while the
worker that owns the endpoint is gone the web answers 503 and `curl --retry` gets through once it is back.
"""

import os
import signal
import subprocess
import time

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, free_port, shard_of, tempdir, wait_for

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
            check(n[0][0] == 0 and n[0][1] == "no call within 3 s + 1 s grace (last call none recorded)",
                  "the never-called endpoint: %r" % (n[0],))
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


def one_push_config(port, extra_eps=(), interval=3, grace=1.0):
    """One push endpoint and any others, one worker (every reload that changes the endpoints reloads it in place)."""
    eps = [{"type": "push", "name": "backup", "token": TOKEN, "check_interval": interval, "grace": grace}]
    cfg = base_config(eps + list(extra_eps), workers=1, check_interval=3)
    cfg["web"] = {"listen": "127.0.0.1:%d" % port, "title": "push"}
    return cfg


def ready_with_one_call(cw, port):
    """Waits for the processes and the web, makes one call and waits for its result; the children's pids."""
    kids = cw.wait_ready(titles=cw.expected_titles() + [WEB])
    wait_for(lambda: curl(port, "/push/" + TOKEN) == 200, deadline(20), "a first push call accepted")
    wait_for(lambda: rows(cw, "push://backup") or None, deadline(20), "the first call's result")
    return kids


@harness.timeout(180)
def test_push_head_form_body_and_allow():
    """HEAD is not a call (405, nothing recorded); a POST's urlencoded form body carries status and msg; the 405
    names the methods /push takes."""
    with tempdir() as d:
        port = free_port()
        with Clockwerk(one_push_config(port, interval=60, grace=5), d) as cw:
            ready_with_one_call(cw, port)
            check(curl(port, "/push/" + TOKEN, method="HEAD", extra=["-I"]) == 405, "HEAD is not a call")
            check(curl(port, "/push/" + TOKEN, method="POST", extra=["-d", "status=down&msg=backup%20failed+hard"])
                  == 200, "a POST with a form body")
            r = wait_for(lambda: (lambda x: x if len(x) >= 2 else None)(rows(cw, "push://backup")), deadline(20),
                         "the POST's result")
            check(len(r) == 2, "HEAD recorded a call: %r" % (r,))
            check(r[1][0] == 0 and r[1][1] == "status=down: backup failed hard", "the form body's status: %r" % (r,))
            a = subprocess.run(["curl", "-s", "-D-", "-o", "/dev/null", "-X", "PUT",
                                "http://127.0.0.1:%d/push/%s" % (port, TOKEN)], stdout=subprocess.PIPE, text=True,
                               timeout=30).stdout
            allow = [x.split(":", 1)[1].strip() for x in a.splitlines() if x.lower().startswith("allow:")]
            check(a.startswith("HTTP/1.1 405") and allow == ["GET, POST"], "the 405 of PUT: %r" % a)
            cw.stop()


@harness.timeout(180)
def test_push_reloads_do_not_hide_silence():
    """A worker restart keeps the endpoint's deadline (its last call is kept in run_dir): reloads every 2.5 s that
    restart the worker do not push the silence failure away, and no failure comes before the call's window."""
    with tempdir() as d:
        port = free_port()
        with Clockwerk(one_push_config(port), d) as cw:
            ready_with_one_call(cw, port)
            called = time.time()
            k = 0
            while time.time() - called < 12 and not any(x[0] == 0 for x in rows(cw, "push://backup")):
                k += 1  # a configuration manager touching an unrelated endpoint every 2.5 s
                cw.reload(one_push_config(port, [endpoint("http://127.0.0.1:9/unrelated-%d" % k, timeout=1)]))
                time.sleep(2.5)
            failed_after = time.time() - called
            r = rows(cw, "push://backup")
            harness.note("after %.1f s and %d reloads: %r" % (failed_after, k, r))
            check(any(x[0] == 0 for x in r), "no silence failure in %.0f s without a call" % failed_after)
            check(failed_after >= 3.5, "a silence failure before the window of the call: %.1f s" % failed_after)
            st = os.stat(os.path.join(cw.run_dir, "push"))
            files = os.listdir(os.path.join(cw.run_dir, "push"))
            check(len(files) == 1 and all(os.stat(os.path.join(cw.run_dir, "push", f)).st_mode & 0o077 == 0
                                          for f in files) and st.st_mode & 0o077 == 0,
                  "the push state: one private file: %r" % files)
            cw.stop()


@harness.timeout(180)
def test_push_backlog_over_256():
    """300 calls answered 200 while the worker was stopped are all read once it goes on (the socket is drained,
    not 256 messages and then nothing until the next call)."""
    import http.client
    with tempdir() as d:
        port = free_port()
        with Clockwerk(one_push_config(port, interval=60, grace=5), d) as cw:
            kids = ready_with_one_call(cw, port)
            wpid = kids[cw.worker_titles()[0]]
            os.kill(wpid, signal.SIGSTOP)
            codes = []
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                for i in range(300):
                    c.request("GET", "/push/%s?msg=n%d" % (TOKEN, i))
                    resp = c.getresponse()
                    resp.read()
                    codes.append(resp.status)
                c.close()
            finally:
                os.kill(wpid, signal.SIGCONT)
            n = codes.count(200)
            harness.note("300 calls while the worker was stopped: %d answered 200" % n)
            try:
                wait_for(lambda: len(rows(cw, "push://backup")) >= n + 1 or None, deadline(20), "every result")
            except Exception:
                harness.note("%d results stored of %d calls answered 200" % (len(rows(cw, "push://backup")), n + 1))
                raise
            cw.stop()


@harness.timeout(180)
def test_push_state_survives_a_full_restart():
    """clockwerk stopped after a call and started again once the call's window has passed: the silence is reported
    soon after the start (within interval + grace), naming the call made before the stop."""
    with tempdir() as d:
        port = free_port()
        with Clockwerk(one_push_config(port, interval=3, grace=1.0), d) as cw:
            ready_with_one_call(cw, port)
            cw.stop()
        stopped = time.time()
        wait_for(lambda: time.time() - stopped > 5 or None, deadline(10), "the call's window to pass while stopped")
        with Clockwerk(one_push_config(port, interval=3, grace=1.0), d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            started = time.time()
            r = wait_for(lambda: [x for x in rows(cw, "push://backup") if x[0] == 0] or None, deadline(20),
                         "the silence after the start")
            took = time.time() - started
            harness.note("the silence %.1f s after the start: %r" % (took, r))
            check(r[0][1].startswith("no call within 3 s + 1 s grace (last call 20"),
                  "the silence names the call before the stop: %r" % (r[0],))
            check(took < 4 + 3, "the silence came %.1f s after the start (the slack is interval + grace)" % took)
            cw.stop()


def page(port):
    """The web's index page ("" while it does not answer)."""
    r = subprocess.run(["curl", "-s", "--max-time", "5", "http://127.0.0.1:%d/" % port], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True, timeout=60)
    return r.stdout


@harness.timeout(180)
def test_push_last_call_shown_after_a_web_restart():
    """A call with status=down is a call ("last call N ago", not "no call yet"), and the web that starts again (a
    crash) shows the last call stored, not "no call yet" until the next call (a day for a daily job)."""
    with tempdir() as d:
        port = free_port()
        with Clockwerk(one_push_config(port, interval=3600, grace=60), d) as cw:
            kids = cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_for(lambda: curl(port, "/push/" + TOKEN + "?status=down&msg=disk%20full") == 200, deadline(20),
                     "a down call accepted")
            wait_for(lambda: rows(cw, "push://backup") or None, deadline(20), "the down call's result")
            wait_for(lambda: "last call " in page(port), deadline(20), "the down call shown as the last call")
            os.kill(kids[WEB], signal.SIGKILL)  # the supervisor starts it again
            wait_for(lambda: page(port) or None, deadline(30), "the web answering again")
            wait_for(lambda: "last call " in page(port), deadline(30), "the stored last call shown after the restart")
            check("no call yet" not in page(port), "still 'no call yet' after the restart")
            cw.stop()
