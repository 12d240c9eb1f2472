"""tests/e2e/test_status.py — `clockwerk status -c FILE [--json]` against a real running pipeline (supervisor,
workers, alerter; endpoints on a local switchboard whose answers the test sets; a local webhook receiver as the
alerter's channel — the alerter runs without one too, tests/e2e/test_alerter_always.py). docs/status.md.

What is checked: all up -> exit 0 and "all N endpoints up"; an endpoint that starts failing -> after its
alert_threshold it is DOWN with its since-time (UTC, "for ...") and last error, exit 1; a slow one
(latency_threshold) -> SLOW; recovery -> exit 0 again; --json parses and says the same; the daemon stopped ->
one line saying it is not running, exit 1, no states shown as current; a URL with credentials never shows them;
another user gets a clear "permission denied" line; endpoints never checked are unknown; with an edited, not
reloaded file the unknown lines say why; a state file saved in the future or not JSON -> one clear line;
`status --help` -> usage, exit 0.
"""

import calendar
import json
import os
import re
import subprocess
import time

import harness
from alerter_state import read_state
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from test_security import ensure_user
from webhook_receiver import Switchboard, WebhookReceiver

ALERTER = "clockwerk: alerter"
SECRET = "s3cr3t-pw-9137"


def status_config(endpoints, hook, **kw):
    return base_config(endpoints, db=False, extra={"alerts": {"webhooks": [{"url": hook.url}]}}, **kw)


def start(cw):
    cw.wait_ready(titles=cw.expected_titles() + [ALERTER])


def status(cw, *args, user=None):
    """Runs `clockwerk status -c CONF ARGS` (as user: a passwd entry); returns CliResult-like (code, out, err)."""
    if user is None:
        return harness.run_cli(["status", "-c", cw.conf_path] + list(args), timeout=30)
    argv = [harness.binary("clockwerk"), "status", "-c", cw.conf_path] + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, env=harness.child_env(), timeout=deadline(30),
                       user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    harness.ARTIFACTS["clockwerk status as %s" % user.pw_name] = r.stdout + r.stderr
    return harness.CliResult(argv, r.returncode, r.stdout, r.stderr)


def wait_status(cw, predicate, what, timeout=40, args=()):
    """Polls `clockwerk status` until predicate(result) holds; returns that result."""
    last = []

    def ok():
        r = status(cw, *args)
        last[:] = [r]
        return r if predicate(r) else None
    return wait_for(ok, deadline(timeout), lambda: "%s; last status: %r" % (what, last[0] if last else None),
                    interval=0.5)


def line_of(res, name):
    return next((ln for ln in res.out.splitlines() if re.search(r"\b%s\b" % re.escape(name), ln)), None)


def parse_utc(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S UTC"))


@harness.timeout(180)
def test_status_follows_down_slow_and_recovery():
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        for name in ("api", "slowpoke", "steady"):
            sw.set(name)
        cfg = status_config([endpoint(sw.url("api"), name="api", alert_threshold=2, timeout=0.8),
                             endpoint(sw.url("slowpoke"), name="slowpoke", alert_threshold=2, timeout=0.9,
                                      latency_threshold=0.25),
                             endpoint(sw.url("steady"), timeout=0.8)], hook)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            res = wait_status(cw, lambda r: r.code == 0, "status exit 0 once every endpoint was checked")
            check(res.out.strip() == "all 3 endpoints up", "all up: %r" % res.out)

            switched = time.time()
            sw.set("api", 500)
            res = wait_status(cw, lambda r: r.code == 1 and "DOWN" in r.out, "api DOWN in status")
            line = line_of(res, "api")
            check(line and line.startswith("DOWN") and sw.url("api") in line, "the DOWN line: %r" % res.out)
            m = re.search(r"since (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC) \(for (\d+s|\d+m \d+s)\)", line)
            check(m, "no since-time and duration in %r" % line)
            since = parse_utc(m.group(1))
            check(switched - 3 <= since <= time.time() + 1, "since %s, switched at %s" % (m.group(1), switched))
            check(re.search(r", \d+ failed checks?, last error: unexpected status 500$", line), line)
            check(res.out.splitlines()[-1] == "3 endpoints: 2 up, 1 down", "summary: %r" % res.out)

            sw.set("slowpoke", 200, delay=0.5)
            res = wait_status(cw, lambda r: "SLOW" in r.out, "slowpoke SLOW in status")
            line = line_of(res, "slowpoke")
            check(line and line.startswith("SLOW") and re.search(r"since .* UTC \(for ", line), "SLOW line: %r" % line)
            check("threshold 0.25 s" in line, line)
            check(res.code == 1 and res.out.splitlines()[-1] == "3 endpoints: 1 up, 1 down, 1 slow", res.out)

            res = status(cw, "--json")
            doc = json.loads(res.out)
            check(res.code == 1 and doc["ok"] is False and doc["reason"] is None, "json: %r" % res)
            check(doc["summary"] == {"endpoints": 3, "up": 1, "down": 1, "slow": 1, "unknown": 0}, doc["summary"])
            by_name = {e["name"] or e["url"]: e for e in doc["endpoints"]}
            api = by_name["api"]
            check(api["state"] == "down" and api["url"] == sw.url("api") and api["last_status"] == 500
                  and api["last_error"] == "unexpected status 500" and api["failed_checks"] >= 2, api)
            check(calendar.timegm(time.strptime(api["since"][:19], "%Y-%m-%dT%H:%M:%S")) == since, api)
            check(by_name["slowpoke"]["state"] == "slow" and by_name["slowpoke"]["last_latency_ms"] > 250,
                  by_name["slowpoke"])
            check(by_name[sw.url("steady")]["state"] == "up", by_name)
            check(doc["supervisor_pid"] == cw.pid, "supervisor_pid %s, pid %s" % (doc["supervisor_pid"], cw.pid))

            sw.set("api", 200)
            sw.set("slowpoke", 200)
            res = wait_status(cw, lambda r: r.code == 0, "status exit 0 after the recovery")
            check(res.out.strip() == "all 3 endpoints up", res.out)
            doc = json.loads(status(cw, "--json").out)
            check(doc["ok"] is True and all(e["state"] == "up" for e in doc["endpoints"]), doc)
            cw.stop()

        res = status(cw)
        check(res.code == 1 and res.out == "", "status with the daemon stopped: %r" % res)
        check(re.fullmatch(r"clockwerk status: clockwerk is not running: [^\n]*clockwerk\.pid\n", res.err), res.err)
        doc = json.loads(status(cw, "--json").out)
        check(doc["ok"] is False and "not running" in doc["reason"] and doc["endpoints"] == [], doc)


@harness.timeout(150)
def test_status_masks_credentials_and_shows_unknown():
    """A failing endpoint whose URL holds a user and password: never printed (text, JSON, error); an
    endpoint added to the file but not to the running system (no reload) is unknown."""
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("auth", 500)
        sw.set("ok")
        secret_url = sw.url("auth").replace("http://", "http://ops:%s@" % SECRET)
        eps = [endpoint(secret_url, alert_threshold=2, timeout=0.8), endpoint(sw.url("ok"), name="ok", timeout=0.8)]
        cfg = status_config(eps, hook)
        with Clockwerk(cfg, d) as cw:
            start(cw)
            res = wait_status(cw, lambda r: "DOWN" in r.out and r.code == 1, "the endpoint with credentials DOWN")
            masked = sw.url("auth").replace("http://", "http://***@")
            check(line_of(res, "DOWN") and masked in res.out, "masked URL not shown: %r" % res.out)
            js = status(cw, "--json")
            for r in (res, js):
                check(SECRET not in r.out + r.err and "ops:" not in r.out + r.err, "credentials printed: %r" % r)
            check(masked in [e["url"] for e in json.loads(js.out)["endpoints"]], js.out)

            # the file gains an endpoint the running system does not check yet: that one is unknown, and so is
            # the one up (the state file's bits for plainly-up endpoints refer to the running configuration);
            # the DOWN one is still told by its URL, and a note says why. Neither unknown one reads "no result
            # yet" (ok has results): each line says that the running configuration differs and what that means
            cw.rewrite(status_config(eps + [endpoint(sw.url("new"), name="newcomer", timeout=0.8)], hook))
            res = status(cw)
            for name in ("newcomer", "ok"):
                line = line_of(res, name)
                check(res.code == 1 and line and line.startswith("UNKNOWN") and "no result yet" not in line
                      and "clockwerk runs another configuration than this file" in line
                      and "either up or not checked at all" in line, "%s: %r" % (name, res.out))
            check(res.out.splitlines()[-1] == "3 endpoints: 0 up, 1 down, 2 unknown", res.out)
            check("note: clockwerk runs another configuration than %s" % cw.conf_path in res.err, res.err)
            check(json.loads(status(cw, "--json").out)["config_matches"] is False, "config_matches")
            cw.reload(status_config(eps + [endpoint(sw.url("new"), name="newcomer", timeout=0.8)], hook))
            res = wait_status(cw, lambda r: r.out.splitlines()[-1:] == ["3 endpoints: 2 up, 1 down"],
                              "the reloaded configuration's endpoints up")
            check(res.err == "", res.err)
            cw.stop()


@harness.timeout(120)
def test_status_permission_denied_for_another_user():
    """run_dir is private to the daemon's user (0700): another user gets one clear line and exit 1; root (the
    daemon's user here) reads it."""
    pw = ensure_user()
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        os.chmod(d, 0o711)
        sw.set("a")
        with Clockwerk(status_config([endpoint(sw.url("a"), timeout=0.8)], hook), d) as cw:
            os.chmod(cw.conf_path, 0o644)
            start(cw)
            wait_status(cw, lambda r: r.code == 0, "status as root")
            res = status(cw, user=pw)
            check(res.code == 1 and res.out == "", "status as %s: %r" % (pw.pw_name, res))
            check(re.fullmatch(r"clockwerk status: permission denied on %s: run as root \(the owner of run_dir %s\)\n"
                               % (re.escape(cw.run_dir), re.escape(cw.run_dir)), res.err), res.err)
            cw.stop()


@harness.timeout(90)
def test_status_without_a_running_alerter_says_so():
    """The supervisor runs, but the alerter's state is stale (its state file was last saved long ago, as when
    the alerter hangs): one line, exit 1, no states. Then a state file that is not JSON: the same. Then the
    supervisor killed -9 (its pid file stays, its lock goes): not running."""
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("a")
        with Clockwerk(status_config([endpoint(sw.url("a"), timeout=0.8)], hook), d) as cw:
            start(cw)
            wait_status(cw, lambda r: r.code == 0, "status exit 0")
            alerter = cw.child(ALERTER)
            os.kill(alerter, 19)  # SIGSTOP: alive, but saving nothing
            try:
                path = os.path.join(cw.run_dir, "alerter.state")
                doc = read_state(cw.run_dir)  # the base with its journal, written back as one file with no journal
                doc.pop("journal_from", None)
                doc.pop("journal_lines", None)
                if os.path.exists(path + ".journal"):
                    os.unlink(path + ".journal")
                doc["saved_at"] = "2020-01-01T00:00:00.000Z"
                with open(path + ".test", "w") as f:
                    json.dump(doc, f)
                os.replace(path + ".test", path)
                res = status(cw)
                check(res.code == 1 and res.out == "", "stale state: %r" % res)
                check(re.fullmatch(r"clockwerk status: the alerter's state is stale: last saved \d+d \d+h ago "
                                   r"\(2020-01-01 00:00:00 UTC\), [^\n]*\n", res.err), res.err)
                # saved 5 minutes in the future: not current either (a wrong clock or a wrong file)
                doc["saved_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 300))
                with open(path + ".test", "w") as f:
                    json.dump(doc, f)
                os.replace(path + ".test", path)
                res = status(cw)
                check(res.code == 1 and res.out == "", "future state: %r" % res)
                check(re.fullmatch(r"clockwerk status: the alerter's state \S+ says it was saved at [^,\n]+ UTC, "
                                   r"4m \d+s in the future: this machine's clock or the file is wrong[^\n]*\n",
                                   res.err), res.err)
                for text, why in (("{not json", r"[^\n]* at byte \d+"),
                                  ('{"version": 1, "saved_at": ', r"the file ends in the middle of it \(truncated\?\)")):
                    with open(path, "w") as f:
                        f.write(text)
                    res = status(cw)
                    check(res.code == 1 and re.fullmatch(r"clockwerk status: cannot read the alerter's state: \S+: "
                                                         r"not readable JSON: %s\n" % why, res.err), res)
            finally:
                os.kill(alerter, 18)  # SIGCONT
            wait_status(cw, lambda r: r.code == 0, "status exit 0 once the alerter saves again")
            cw.kill9()
            cw.wait_exit()
            check(os.path.exists(os.path.join(cw.run_dir, "clockwerk.pid")), "the pid file went with kill -9")
            res = status(cw)
            check(res.code == 1 and re.fullmatch(r"clockwerk status: clockwerk is not running: no supervisor holds "
                                                 r"the lock on \S+/clockwerk\.pid\n", res.err), res)


@harness.timeout(240)
def test_status_flags_a_down_endpoint_whose_worker_stopped():
    """A DOWN endpoint on a hung worker (SIGSTOP) stays DOWN but says that no result came for too long (3
    intervals + timeout + 60 s), as an up endpoint turns UNKNOWN; once the worker goes on, the flag goes."""
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("api", 500)
        with Clockwerk(status_config([endpoint(sw.url("api"), name="api", alert_threshold=2, timeout=0.8)], hook,
                                     workers=1), d) as cw:
            start(cw)
            wait_status(cw, lambda r: r.code == 1 and (line_of(r, "api") or "").startswith("DOWN"), "api DOWN")
            worker = cw.child("clockwerk: worker 0/1")
            os.kill(worker, 19)  # SIGSTOP: no more results
            try:
                res = wait_status(cw, lambda r: "no result for" in r.out, "the DOWN line flagged stale", timeout=150)
                line = line_of(res, "api")
                check(res.code == 1 and line.startswith("DOWN") and re.search(
                    r" since .* UTC \(for [^)]+\), \d+ failed checks? \(no result for (\d+m )?\d+s, checked every "
                    r"1s\), last error: unexpected status 500$", line), res.out)
                doc = json.loads(status(cw, "--json").out)
                api = doc["endpoints"][0]
                check(api["state"] == "down" and api["stale"] is True and api["since"], api)
            finally:
                os.kill(worker, 18)  # SIGCONT
            res = wait_status(cw, lambda r: "no result for" not in r.out and "DOWN" in r.out, "the flag gone")
            check(json.loads(status(cw, "--json").out)["endpoints"][0]["stale"] is False, res.out)
            cw.stop()


@harness.timeout(30)
def test_status_help():
    """`status --help` prints the usage on stdout and exits 0, like `report --help`; a wrong argument: exit 2."""
    res = harness.run_cli(["status", "--help"], timeout=10)
    check(res.code == 0 and res.out.startswith("usage: clockwerk status -c FILE") and res.err == "", res)
    res = harness.run_cli(["status", "--bogus"], timeout=10)
    check(res.code == 2 and res.out == "" and res.err.startswith("usage: clockwerk status"), res)


@harness.timeout(120)
def test_idle_alerter_keeps_its_state_fresh():
    """With no result coming in (one endpoint checked once a day), the alerter still saves its state at least
    every 10 s, so that status can tell a live alerter (exit by the states) from a hung one (stale)."""
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("a")
        with Clockwerk(status_config([endpoint(sw.url("a"), timeout=0.8)], hook, check_interval=86400), d) as cw:
            start(cw)

            def saved_at():
                try:
                    return (read_state(cw.run_dir) or {}).get("saved_at")
                except ValueError:
                    return None
            first = wait_for(saved_at, deadline(20), "a first state file")
            hits = sw.hits("a")
            seen = [first]
            for _ in range(2):  # two more saves, each within the heartbeat (10 s) and a margin
                wait_for(lambda: saved_at() not in seen, deadline(15), "a heartbeat save after %s" % seen[-1],
                         interval=0.2)
                seen.append(saved_at())
            check(sw.hits("a") == hits, "results came in meanwhile (%d -> %d): not an idle alerter"
                  % (hits, sw.hits("a")))
            res = status(cw)
            check(res.code in (0, 1) and "stale" not in res.err, "status on an idle system: %r" % res)
            cw.stop()
