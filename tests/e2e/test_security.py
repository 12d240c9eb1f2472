"""tests/e2e/test_security.py — end to end: least privilege (supervisor.user), secrets (passwords and
credentials reach only the process that needs them and are shown nowhere) and no SQL injection.

Least privilege: the tests run as root; a system user `clockwerk-test` is created when missing (and left in
place: creating it again would race with a parallel run). Every child's /proc/PID/status must show that user's
uid and gid (real, effective, saved, fs), the supervisor root; rows arrive; a reload works; kill -9 of the
supervisor still takes every child with it (PR_SET_PDEATHSIG set again after the credential switch).

Secrets: PostgreSQL with a password, an SMTP server with AUTH, an endpoint URL with user:pass@ and
Authorization-style headers, a webhook URL with user:pass@. Every secret is then looked for in the log, in
/proc/*/cmdline and /proc/*/environ of the supervisor and every child, in the tap's output (plain and --json),
in the mails received (raw) and in the webhook bodies; none may appear. The passwords also must not be in the
memory of the processes that have no use for them (the relay and workers hold neither, the storer no SMTP
password, the alerter no database password): their writable mappings are read through /proc/PID/mem.

Injection: an endpoint name "'); DROP TABLE checks; --" and a URL with quotes are stored as text in SQLite,
PostgreSQL and MariaDB (rows present, tables intact). The SMTP header injection (a name with CRLF + Bcc) is
tested against the real SMTP server in test_alerter.py::test_reminders_header_injection_and_tap (no Bcc header,
the envelope's recipients are exactly the configured ones); it is not repeated here.
"""

import json
import os
import pwd
import re
import signal
import stat
import subprocess

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from smtp_server import SmtpServer
from targets import Targets
from webhook_receiver import WebhookReceiver

USER = "clockwerk-test"
RELAY, STORER, ALERTER = "clockwerk: relay", "clockwerk: storer", "clockwerk: alerter"


def ensure_user():
    """The test user's passwd entry, created (system user, no home, no shell) when missing."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    r = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                       capture_output=True, text=True)
    # another test process may have created it at the same moment (exit 9: exists)
    check(r.returncode in (0, 9), "useradd %s: %s %s" % (USER, r.returncode, r.stderr))
    return pwd.getpwnam(USER)


def ids(pid):
    """(uids, gids, groups) of a process from /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                out[k] = [int(x) for x in v.split()]
    return out["Uid"], out["Gid"], out["Groups"]


def traversable(d):
    """The test directories are root's (0700): the children's user must be able to reach run_dir below."""
    os.chmod(d, 0o711)


# ------------------------------------------------------------------------------- least privilege

def test_user_checked_by_t():
    """`clockwerk -t`: an unknown user or group is a configuration error; a malformed name too; a known user
    is fine. Not root: another user is refused with a clear message, one's own user is fine."""
    pw = ensure_user()
    with tempdir() as d:
        traversable(d)
        cases = [("cw-no-such-user-x", 1, r"no such user 'cw-no-such-user-x'"),
                 (USER + ":cw-no-such-group-x", 1, r"no such group 'cw-no-such-group-x'"),
                 (USER + ":", 1, r"is not a user name"),
                 (USER, 0, r"config OK"),
                 (USER + ":" + USER, 0, r"config OK")]
        for i, (user, code, rx) in enumerate(cases):
            path = os.path.join(d, "u%d.conf" % i)
            cfg = base_config([endpoint("http://127.0.0.1:1/")], db=False)
            cfg["supervisor"]["user"] = user
            harness.write_config(path, cfg)
            res = harness.run_cli(["-t", "-c", path])
            check(res.code == code and re.search(rx, res.text), "user %r: exit %d, %r" % (user, res.code, res.text))
        # As the test user (not root): naming root is refused, naming itself is fine.
        for user, code, rx in (("root", 1, r"changing user needs root \(running as uid %d\)" % pw.pw_uid),
                               (USER, 0, r"config OK")):
            path = os.path.join(d, "self-%s.conf" % user)
            cfg = base_config([endpoint("http://127.0.0.1:1/")], db=False)
            cfg["supervisor"]["user"] = user
            harness.write_config(path, cfg)
            os.chmod(path, 0o644)   # no password in it
            r = subprocess.run([harness.binary("clockwerk"), "-t", "-c", path], capture_output=True, text=True,
                               env=harness.child_env(), timeout=20, user=pw.pw_uid, group=pw.pw_gid,
                               extra_groups=[])
            text = r.stdout + r.stderr
            check(r.returncode == code and re.search(rx, text), "as %s, user %r: exit %d, %r"
                  % (USER, user, r.returncode, text))


@harness.timeout(150)
def test_children_run_as_user():
    pw = ensure_user()
    with tempdir() as d, Targets() as t, WebhookReceiver() as hook:
        traversable(d)
        url = t.url("/ok?priv=1")
        cfg = base_config([endpoint(url, timeout=1)], workers=2, db_name="db/clockwerk.db",
                          extra={"alerts": {"webhooks": [{"url": hook.url}]}})
        cfg["supervisor"]["user"] = USER
        with Clockwerk(cfg, d) as cw:
            titles = cw.expected_titles() + [RELAY, ALERTER]
            kids = cw.wait_ready(titles=titles)
            cw.wait_log(r"children run as %s \(uid %d, gid %d\)" % (USER, pw.pw_uid, pw.pw_gid))
            uids, gids, _ = ids(cw.pid)
            check(uids == [0, 0, 0, 0], "the supervisor runs as %s, not root" % uids)
            for title, pid in kids.items():
                uids, gids, groups = ids(pid)
                check(uids == [pw.pw_uid] * 4 and gids == [pw.pw_gid] * 4,
                      "%s (pid %d): Uid %s Gid %s, want %d/%d" % (title, pid, uids, gids, pw.pw_uid, pw.pw_gid))
                check(0 not in groups, "%s keeps root's group among %s" % (title, groups))
            # rows arrive: the storer (not root) writes the database in the directory the supervisor made
            cw.wait_count(url, 2, timeout=30)
            dbdir = os.stat(os.path.join(d, "db"))
            check(dbdir.st_uid == pw.pw_uid, "db directory owned by uid %d" % dbdir.st_uid)
            # run_dir and the snapshot: the user's; the snapshot stays 0600, the pid file root's
            st = os.stat(cw.run_dir)
            check(st.st_uid == pw.pw_uid, "run_dir owned by uid %d" % st.st_uid)
            snaps = [f for f in os.listdir(cw.run_dir) if f.endswith(".snap")]
            check(snaps, "no snapshot in run_dir: %s" % os.listdir(cw.run_dir))
            for f in snaps:
                s = os.stat(os.path.join(cw.run_dir, f))
                check(s.st_uid == pw.pw_uid and stat.S_IMODE(s.st_mode) == 0o600,
                      "snapshot %s: uid %d mode %o" % (f, s.st_uid, stat.S_IMODE(s.st_mode)))
            check(os.stat(os.path.join(cw.run_dir, "clockwerk.pid")).st_uid == 0, "the pid file is not root's")
            # a reload: the new snapshot is the user's too, the restarted workers run as the user
            url2 = t.url("/ok?priv=2")
            cfg["monitor"]["endpoints"].append(endpoint(url2, timeout=1))
            mark = cw.log_mark()
            cw.reload(cfg)
            cw.wait_log(r"reload: 2 endpoints \(\+1\)", since=mark)
            cw.wait_count(url2, 2, timeout=30)
            for title, pid in cw.wait_ready(titles=titles).items():
                uids, _, _ = ids(pid)
                check(uids == [pw.pw_uid] * 4, "after the reload %s runs as %s" % (title, uids))
            # kill -9 of the supervisor: every child dies with it (PDEATHSIG set again after setuid)
            cw.kill9()
            cw.wait_no_descendants(timeout=deadline(10), what="children after kill -9 of the supervisor")
            harness.note("children ran as %s (uid %d): %s" % (USER, pw.pw_uid, sorted(titles)))


@harness.timeout(60)
def test_sqlite_dir_not_writable_refused():
    """An existing database directory the user cannot write: a clear error, nothing starts."""
    ensure_user()
    with tempdir() as d:
        traversable(d)
        os.makedirs(os.path.join(d, "ro"), mode=0o755)
        cfg = base_config([endpoint("http://127.0.0.1:1/")], db_name="ro/clockwerk.db")
        cfg["supervisor"]["user"] = USER
        with Clockwerk(cfg, d) as cw:
            code = cw.wait_exit(timeout=deadline(10))
            check(code == 1, "exit %s" % code)
            text = cw.log_text()
            check(re.search(r"database directory \S+/ro is not writable by %s[^\n]*run `chown %s " % (USER, USER), text),
                  "no clear error: %s" % harness.tail(text))


# --------------------------------------------------------------------------------------- secrets

DB_PW_FILE_SECRET = None   # the PostgreSQL test server's password (dbservers.DB_PASSWORD)
SMTP_PW = "smtp-Secret-pw-93a"
URL_PW = "url-Secret-pw-17b"
HOOK_PW = "hook-Secret-pw-88c"
BEARER = "hdr-Secret-tok-55d"
API_KEY = "key-Secret-66e"
TOKEN_HDR = "tokhdr-Secret-77f"


def _proc_text(pid, what):
    try:
        with open("/proc/%d/%s" % (pid, what), "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _memory_holds(pid, needles, max_region=256 << 20):
    """The needles (bytes) found in the process's readable, writable private mappings (heap, stack, data).
    Regions over max_region (ASan's shadow) are skipped."""
    found = set()
    try:
        maps = open("/proc/%d/maps" % pid).read().splitlines()
        mem = open("/proc/%d/mem" % pid, "rb", 0)
    except OSError:
        return found
    with mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            perms = parts[1]
            name = parts[5] if len(parts) > 5 else ""
            if not perms.startswith("rw") or hi - lo > max_region or name in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            for n in needles:
                if n in data:
                    found.add(n)
    return found


@harness.timeout(240)
def test_secrets_nowhere():
    with tempdir() as d, Targets() as t, PostgresServer() as pg, \
            SmtpServer(auth=("mailer", SMTP_PW)) as smtp, WebhookReceiver() as hook:
        db_pw = pg.password
        secrets = [db_pw, SMTP_PW, URL_PW, HOOK_PW, BEARER, API_KEY, TOKEN_HDR]
        failing = t.url("/fail?sec=1").replace("http://", "http://alice:%s@" % URL_PW)
        ok = t.url("/echo?sec=2")
        refused = harness.closed_port_url("/refused").replace("http://", "http://bob:%s@" % URL_PW)
        headers = ["Authorization: Bearer " + BEARER, "X-Api-Key: " + API_KEY, "X-Session-Token: " + TOKEN_HDR]
        hook_url = hook.url.replace("http://", "http://hooker:%s@" % HOOK_PW)
        cfg = base_config([endpoint(failing, timeout=1, alert_threshold=2),
                           endpoint(refused, timeout=1, alert_threshold=2),
                           endpoint(ok, timeout=1, headers=headers)], workers=2, log_level="debug",
                          extra={"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_tls": "none",
                                           "email_from": "monitor@example.test", "email_to": ["ops@example.test"],
                                           "smtp_user": "mailer", "smtp_password": SMTP_PW},
                                 "alerts": {"webhooks": [{"url": hook_url}]}})
        cfg["database"] = {"db_activation": True, "db_driver": "postgresql", "db_host": "127.0.0.1",
                           "db_port": pg.port, "db_name": pg.dbname, "db_user": pg.user, "db_password": db_pw}
        with Clockwerk(cfg, d) as cw, harness.Tap(cw.conf_path, args=()) as tap_plain, \
                harness.Tap(cw.conf_path, args=("--json", "--stats")) as tap_json:
            kids = cw.wait_ready(titles=cw.expected_titles() + [RELAY, ALERTER])
            # the secrets are used: the DOWN alert goes out by mail (AUTH) and webhook (basic auth),
            # rows reach PostgreSQL (password), the headers reach the target
            down = smtp.wait_messages(1, "DOWN", timeout=40)[0]
            check(down["authenticated"], "the mail was sent without AUTH")
            wait_for(lambda: hook.raw_calls(), deadline(30), "a webhook call")
            # (try_query: the schema may not exist yet, whatever the storer logged)
            wait_for(lambda: (pg.try_query("SELECT count(*) FROM checks") or [["0"]])[0][0] not in (None, "0", 0),
                     deadline(30), "rows in PostgreSQL")
            reqs = t.requests("/echo")
            check(reqs and reqs[-1]["headers"].get("Authorization") == "Bearer " + BEARER and
                  reqs[-1]["headers"].get("X-Api-Key") == API_KEY, "the headers did not reach the target")
            auth = hook.raw_calls()[0]["headers"].get("Authorization", "")
            check(auth.startswith("Basic "), "the webhook URL's credentials were not used: %r" % auth)
            wait_for(lambda: any('"alert"' in ln for ln in tap_json.snapshot()), deadline(20), "an alert on the tap")
            wait_for(lambda: len(tap_plain.snapshot()) >= 4, deadline(20), "lines on the plain tap")

            outputs = {}
            for pid, title in [(cw.pid, "supervisor")] + [(p, x) for x, p in kids.items()]:
                outputs["cmdline of %s" % title] = _proc_text(pid, "cmdline")
                outputs["environment of %s" % title] = _proc_text(pid, "environ")
            # memory: who may hold which password
            needles = {db_pw.encode(): "db", SMTP_PW.encode(): "smtp"}
            allowed = {STORER: {"db"}, ALERTER: {"smtp"}}
            for title, pid in kids.items():
                held = {needles[n] for n in _memory_holds(pid, list(needles))}
                extra = held - allowed.get(title, set())
                check(not extra, "%s (pid %d) holds the %s password in memory" % (title, pid, ", ".join(sorted(extra))))
            outputs["tap"] = "\n".join(tap_plain.snapshot())
            outputs["tap --json"] = "\n".join(tap_json.snapshot())
            cw.stop(timeout=deadline(15))
        outputs["log"] = cw.log_text()
        for i, m in enumerate(smtp.messages()):
            outputs["mail %d" % i] = m["raw"].decode("utf-8", "replace") + " " + " ".join(m["to"]) + m["from"]
        for i, c in enumerate(hook.raw_calls()):
            outputs["webhook body %d" % i] = json.dumps(c["json"])
        check(any("alice:***@" in v or "***@127.0.0.1" in v for k, v in outputs.items() if k.startswith("mail")),
              "the mail does not show the masked URL")
        for where, text in outputs.items():
            for s in secrets:
                check(s not in text, "a secret (%s) appears in the %s: %r" % (
                    s, where, [ln for ln in text.split("\n") if s in ln][:2]))
        harness.note("%d secrets absent from %d outputs (log, cmdline/environ of %d processes, taps, %d mails, "
                     "%d webhook bodies); relay/workers hold no password in memory"
                     % (len(secrets), len(outputs), len(kids) + 1, len(smtp.messages()), len(hook.raw_calls())))


@harness.timeout(60)
def test_world_readable_config_with_password_refused():
    with tempdir() as d:
        path = os.path.join(d, "open.conf")
        cfg = base_config([endpoint("http://127.0.0.1:1/")], extra={"database": {"db_password": "pw-Open-1"}})
        harness.write_config(path, cfg)
        os.chmod(path, 0o644)
        res = harness.run_cli(["-t", "-c", path])
        check(res.code == 1 and "chmod o-r" in res.text and "pw-Open-1" not in res.text,
              "a world-readable file with a password: exit %d, %r" % (res.code, res.text))
        os.chmod(path, 0o640)
        res = harness.run_cli(["-t", "-c", path])
        check(res.code == 0, "after chmod o-r: exit %d, %r" % (res.code, res.text))
        # Credentials other than *_password: in an endpoint URL, in an Authorization-style header, in a
        # webhook URL; and a password file that others may read.
        secret_cases = [
            ("endpoint URL", base_config([endpoint("http://u:url-Secret-2@127.0.0.1:1/")]), "endpoints[0].url"),
            ("Authorization header", base_config([endpoint("http://127.0.0.1:1/",
                                                           headers=["Authorization: Bearer hdr-Secret-3"])]),
             "endpoints[0].headers"),
            ("token header", base_config([endpoint("http://127.0.0.1:1/", headers=["X-Api-Token: tok-Secret-4"])]),
             "endpoints[0].headers"),
            ("webhook URL", base_config([endpoint("http://127.0.0.1:1/")],
                                        extra={"alerts": {"webhooks": [{"url": "http://h:wh-Secret-5@127.0.0.1:2/"}]}}),
             "webhooks[0].url"),
        ]
        for what, c, key in secret_cases:
            harness.write_config(path, c)
            os.chmod(path, 0o644)
            res = harness.run_cli(["-t", "-c", path])
            check(res.code == 1 and "chmod o-r" in res.text and key in res.text and "Secret-" not in res.text,
                  "a world-readable file with a credential in the %s: exit %d, %r" % (what, res.code, res.text))
            os.chmod(path, 0o600)
            res = harness.run_cli(["-t", "-c", path])
            check(res.code == 0, "the %s in a private file: exit %d, %r" % (what, res.code, res.text))
        pw_file = os.path.join(d, "db.pw")
        with open(pw_file, "w") as f:
            f.write("file-Secret-6\n")
        os.chmod(pw_file, 0o644)
        harness.write_config(path, base_config([endpoint("http://127.0.0.1:1/")],
                                               extra={"database": {"db_password_file": "db.pw"}}))
        res = harness.run_cli(["-t", "-c", path])
        check(res.code == 0 and "others may read the password file" in res.text and "db.pw" in res.text and
              "Secret-" not in res.text,
              "a password file others may read (a warning: container secrets are 0444): exit %d, %r" % (
                  res.code, res.text))
        os.chmod(pw_file, 0o600)
        res = harness.run_cli(["-t", "-c", path])
        check(res.code == 0 and "others may read" not in res.text, "a private password file: exit %d, %r" % (
            res.code, res.text))
        # A CA bundle that cannot be read is named at -t, not at the first check.
        harness.write_config(path, base_config([endpoint("https://127.0.0.1:1/", ca_file="missing-ca.pem")]))
        res = harness.run_cli(["-t", "-c", path])
        check(res.code == 1 and "missing-ca.pem" in res.text and "No such file" in res.text,
              "a missing ca_file: exit %d, %r" % (res.code, res.text))


# ------------------------------------------------------------------------------------- injection

EVIL_NAME = "'); DROP TABLE checks; --"


def _injection(kind):
    with tempdir() as d, Targets() as t:
        ok = t.url("/ok?inj=1")
        quoted = t.url("/ok?q=it's\"x';--")
        cfg = base_config([endpoint(ok, timeout=1, name=EVIL_NAME), endpoint(quoted, timeout=1, name='a "b" \'c\'')],
                          workers=1)
        server = None
        if kind == "postgresql":
            server = PostgresServer()
        elif kind == "mysql":
            server = MariaDBServer()
        try:
            if server is not None:
                server.__enter__()
                cfg["database"] = {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1",
                                   "db_port": server.port, "db_name": server.dbname, "db_user": server.user,
                                   "db_password": server.password}
            with Clockwerk(cfg, d) as cw:
                cw.wait_ready()
                if server is None:
                    cw.wait_count(ok, 2)
                    cw.wait_count(quoted, 2)
                    names = dict(cw.db().query("SELECT url, name FROM endpoints"))
                    counts = dict(cw.db().query("SELECT e.url, count(*) FROM checks c JOIN endpoints e "
                                                "ON e.id = c.endpoint_id GROUP BY e.url"))
                    tables = set(cw.db().tables())
                else:
                    def counted():
                        rows = server.try_query("SELECT e.url, count(*) FROM checks c JOIN endpoints e "
                                                "ON e.id = c.endpoint_id GROUP BY e.url")
                        if rows is None:
                            return None
                        c = {r[0]: int(r[1]) for r in rows}
                        return c if c.get(ok, 0) >= 2 and c.get(quoted, 0) >= 2 else None
                    counts = wait_for(counted, deadline(40), "rows for both endpoints in %s" % kind)
                    names = {r[0]: r[1] for r in server.query("SELECT url, name FROM endpoints")}
                    tables = {"checks", "endpoints", "alerts"} if server.query("SELECT count(*) FROM alerts") else set()
                cw.stop(timeout=deadline(15))
            check(names.get(ok) == EVIL_NAME, "%s: the name was not stored as text: %r" % (kind, names))
            check(names.get(quoted) == 'a "b" \'c\'', "%s: the quoted name: %r" % (kind, names))
            check(counts.get(ok, 0) >= 2 and counts.get(quoted, 0) >= 2, "%s: rows %r" % (kind, counts))
            check({"checks", "endpoints", "alerts"} <= tables, "%s: tables %r" % (kind, tables))
            harness.note("%s: %r and %r stored as text, %s rows" % (kind, EVIL_NAME, quoted, counts))
        finally:
            if server is not None:
                server.__exit__(None, None, None)


@harness.timeout(120)
def test_sql_injection_sqlite():
    _injection("sqlite")


@harness.timeout(240)
def test_sql_injection_postgresql():
    _injection("postgresql")


@harness.timeout(240)
def test_sql_injection_mysql():
    _injection("mysql")
