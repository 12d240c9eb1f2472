"""tests/e2e/test_secrets.py — end to end: secrets stay where the operator put them (issue 11, item 4).

Redirects: a target on 127.0.0.1 answers with a redirect to a second server on another port (another origin)
that records the headers it gets. An endpoint with follow_redirects and `headers` that carry credentials
(X-Api-Key, Proxy-Authorization, a session token, Authorization, Cookie, X-Functions-Key, a vendor's
subscription key, a custom header) and a harmless one (Accept-Language): the others reach the first origin
only, the harmless one follows; a redirect to a path of the same origin keeps
them all (and a POST answered with 307 is repeated as a POST with its body, a 303 turns it into a GET); the
user:password of the endpoint's URL goes along to its own origin only.

Files: the SQLite database, its -wal and -shm, and every regular file Clockwerk writes into run_dir (spools,
the alerter's state and sequence files, snapshots) are mode 0600 while it runs and after it stops; only the
supervisor's pid lock is 0644. A database file that others may read is not changed behind the operator's
back: the storer warns with its path and the fix.
"""

import os
import stat
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from loopback_http import BackgroundHTTPServer
from webhook_receiver import WebhookReceiver

CREDENTIALS = {
    "X-Api-Key": "api-key-s3cret",
    "Proxy-Authorization": "Basic cHJveHk6czNjcmV0",
    "X-Session-Token": "session-s3cret",
    "Authorization": "Bearer auth-s3cret",
    "Cookie": "sid=cookie-s3cret",
    # credentials whose names say nothing of a credential to a word list (Azure Functions, Azure APIM), and
    # a custom header: only a short allowlist (worker/redirect.h) leaves the origin
    "X-Functions-Key": "functions-s3cret",
    "Ocp-Apim-Subscription-Key": "apim-s3cret",
    "X-Tenant": "tenant-maybe-s3cret",
}
HARMLESS = ("Accept-Language", "en-GB")


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _serve(self):
        srv = self.server.owner
        path = urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        with srv._lock:
            srv.seen.setdefault(path, []).append((self.command, dict(self.headers.items()), body))
        status, location = srv.routes.get(path, (200, None))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "3")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"ok\n")
        self.close_connection = True

    do_GET = _serve
    do_HEAD = _serve
    do_POST = _serve


class RecordingServer(BackgroundHTTPServer):
    """Answers every path with 200 "ok", or with routes[path] = (status, Location); records
    (method, headers, body) per path."""

    handler = _RecordingHandler
    thread_name = "recording"

    def __init__(self):
        super().__init__()
        self.routes, self.seen = {}, {}

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def requests(self, path):
        with self._lock:
            return list(self.seen.get(path, []))


def header_lines():
    return ["%s: %s" % kv for kv in list(CREDENTIALS.items()) + [HARMLESS]]


def test_credential_headers_stay_on_their_origin():
    """Only allowlisted headers follow a redirect to another origin (here: another port): credentials by name
    or not never do (fails before the allowlist: X-Functions-Key and the APIM key followed); a harmless header
    does; a same-origin redirect keeps them; 307 keeps a POST and its body, 303 turns it into a GET."""
    with tempdir() as d, RecordingServer() as first, RecordingServer() as other:
        first.routes["/cross"] = (302, other.url("/landing"))
        first.routes["/same"] = (301, "/landing-same")
        first.routes["/post307"] = (307, "/landing-307")
        first.routes["/post303"] = (303, "/landing-303")
        first.routes["/userinfo-same"] = (302, first.url("/landing-userinfo"))  # absolute, no user:password
        first.routes["/userinfo-cross"] = (302, other.url("/landing-userinfo"))
        userinfo = "http://user:pa55word@127.0.0.1:%d" % first.port
        eps = [
            endpoint(first.url("/cross"), follow_redirects=True, headers=header_lines(), timeout=1),
            endpoint(first.url("/same"), follow_redirects=True, headers=header_lines(), timeout=1),
            endpoint(first.url("/post307"), follow_redirects=True, method="POST", body="payload-307", timeout=1),
            endpoint(first.url("/post303"), follow_redirects=True, method="POST", body="payload-303", timeout=1),
            endpoint(userinfo + "/userinfo-same", follow_redirects=True, timeout=1),
            endpoint(userinfo + "/userinfo-cross", follow_redirects=True, timeout=1),
        ]
        with Clockwerk(base_config(eps, workers=1), d) as cw:
            cw.wait_ready()
            for path in ("/landing", "/landing-same", "/landing-307", "/landing-303", "/landing-userinfo"):
                srv = other if path == "/landing" else first
                wait_for(lambda: srv.requests(path), deadline(30), "a request on " + path)
            wait_for(lambda: other.requests("/landing-userinfo"), deadline(30), "a request on the other origin")
            for ep in eps:
                cw.wait_count(ep["url"], 1, timeout=30)
            rows = cw.db().query("SELECT e.url, c.ok, c.status_code, c.error, c.latency_ms, c.dns_ms, c.connect_ms, "
                                 "c.tls_ms, c.ttfb_ms FROM checks c JOIN endpoints e ON e.id = c.endpoint_id")
            cw.stop()
        problems = []
        for url, ok, code, err, latency, dns, connect, tls, ttfb in rows:
            if not ok or code != 200:
                problems.append("%s: ok=%s status=%s error=%r (want ok, 200)" % (url, ok, code, err))
            # the phases of every request of the chain add up, and never to more than the whole chain
            phases = [v for v in (dns, connect, tls, ttfb) if v is not None]
            if connect is None or ttfb is None or latency is None or sum(phases) > latency + 0.01:
                problems.append("%s: timings latency=%s dns=%s connect=%s tls=%s ttfb=%s" % (
                    url, latency, dns, connect, tls, ttfb))
        for method, headers, _ in first.requests("/cross"):
            for name in CREDENTIALS:
                if name not in headers:
                    problems.append("the first origin did not get %s (sanity)" % name)
        for method, headers, _ in other.requests("/landing"):
            leaked = sorted(n for n in CREDENTIALS if n in headers or CREDENTIALS[n] in str(headers))
            if leaked:
                problems.append("credential headers sent to another origin: %s" % ", ".join(leaked))
            if headers.get(HARMLESS[0]) != HARMLESS[1]:
                problems.append("the harmless header did not follow the redirect: %r" % headers)
        for method, headers, _ in first.requests("/landing-same"):
            missing = sorted(n for n in CREDENTIALS if headers.get(n) != CREDENTIALS[n])
            if missing:
                problems.append("a same-origin redirect lost %s" % ", ".join(missing))
        for method, _, body in first.requests("/landing-307"):
            if method != "POST" or body != b"payload-307":
                problems.append("307: want POST with its body, got %s %r" % (method, body))
        for method, _, body in first.requests("/landing-303"):
            if method != "GET" or body:
                problems.append("303: want GET without a body, got %s %r" % (method, body))
        basic = "Basic dXNlcjpwYTU1d29yZA=="  # user:pa55word
        for method, headers, _ in first.requests("/landing-userinfo"):
            if headers.get("Authorization") != basic:
                problems.append("a same-origin redirect lost the URL's user:password: %r" % headers)
        for method, headers, _ in other.requests("/landing-userinfo"):
            if "Authorization" in headers:
                problems.append("the URL's user:password went to another origin")
        check(not problems, "redirects:\n  " + "\n  ".join(problems[:20]))


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def private_file_problems(cw):
    """Regular files of the database and of run_dir that are not 0600 (the pid lock may be 0644)."""
    problems = []
    paths = [cw.db_path + s for s in ("", "-wal", "-shm", "-journal") if os.path.exists(cw.db_path + s)]
    paths += [os.path.join(cw.run_dir, n) for n in sorted(os.listdir(cw.run_dir))]
    for p in paths:
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue  # a temporary file renamed meanwhile
        if not stat.S_ISREG(st.st_mode):
            continue
        want = 0o644 if os.path.basename(p) == "clockwerk.pid" else 0o600
        if stat.S_IMODE(st.st_mode) & ~want & 0o777:
            problems.append("%s: mode %03o (want %03o)" % (p, stat.S_IMODE(st.st_mode), want))
    return problems


def test_files_that_hold_secrets_are_private():
    """Database, -wal, -shm, spools, alerter state and sequence files, snapshots: 0600 while running and after
    a stop, whatever the umask Clockwerk was started with."""
    with tempdir() as d, RecordingServer() as target, WebhookReceiver() as hook:
        url = "http://user:pa55word@127.0.0.1:%d/ok" % target.port
        eps = [endpoint(url, timeout=1, headers=["X-Api-Key: k"], alert_threshold=1, recovery_threshold=1)]
        cfg = base_config(eps, workers=1, extra={"alerts": {"webhooks": [{"url": hook.url}]}})
        old = os.umask(0o022)
        try:
            cw = Clockwerk(cfg, d)
            with cw:
                cw.wait_ready()
                cw.wait_count(url, 2, timeout=30)
                need = [cw.db_path, cw.db_path + "-wal", cw.db_path + "-shm",
                        os.path.join(cw.run_dir, "alerter.seqs")]
                wait_for(lambda: all(os.path.exists(p) for p in need), deadline(30), "files " + ", ".join(need))
                problems = private_file_problems(cw)
                cw.stop()
                problems += ["after the stop: " + p for p in private_file_problems(cw)]
        finally:
            os.umask(old)
        check(not problems, "files others may read:\n  " + "\n  ".join(problems))


def test_open_database_warns_and_keeps_mode():
    """A database file that others may read is not chmod-ed behind the operator's back: the storer warns,
    naming the file and the fix, and stores on."""
    with tempdir() as d, RecordingServer() as target:
        cfg = base_config([endpoint(target.url("/ok"), timeout=1)], workers=1)
        db = os.path.join(d, "clockwerk.db")
        open(db, "wb").close()
        os.chmod(db, 0o644)
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready()
            cw.wait_count(target.url("/ok"), 1, timeout=30)
            cw.wait_log(r"warn.*%s.*(others|group).*chmod 600" % db.replace(".", r"\."), timeout=20)
            check(mode_of(db) == 0o644, "the storer changed the mode of %s to %03o" % (db, mode_of(db)))
            cw.stop()
