"""tests/e2e/test_silences.py — silences and acknowledgement through `clockwerk silence` / `clockwerk ack` against a
real running pipeline (supervisor, workers, alerter; endpoints on a local switchboard; a local webhook receiver as
the alerter's channel). docs/operations.md "Silences and acknowledgement", docs/alerts.md "Silences",
docs/protocol.md "The alerter's control socket".

What is checked: add (by endpoint name, by URL, by group, all) / list (text and --json) / remove through the CLI,
each change logged with its author; the file RUN_DIR/silences.json and the socket RUN_DIR/alerter.ctl are mode 0600;
silences are kept across a restart of the alerter; a silence ends by itself (a log line, gone from the list); bad
inputs get clear errors and exit codes (unknown endpoint/group, bad durations, no reason, unknown id, no alerter
running); a malformed silences file is moved aside at start; the web's silence API (docs/api.md "Silences"):
reads always, writes only with web.auth_user set (403 otherwise, 401 without credentials), the author the web's
user, answers valid against docs/openapi.yaml.
"""

import base64
import contextlib
import json
import os
import re
import signal
import stat
import urllib.parse

import harness
from harness import Clockwerk, base_config, check, endpoint, free_port, tempdir
from test_web import WEB, get, wait_serving
from test_web_api import Spec
from webhook_receiver import Switchboard, WebhookReceiver

ALERTER = "clockwerk: alerter"


def silence_config(sw, hook, **kw):
    return base_config([endpoint(sw.url("api"), name="api", group="payments", alert_threshold=2, timeout=0.8),
                        endpoint(sw.url("shop"), alert_threshold=2, timeout=0.8)],
                       db=False, extra={"alerts": {"webhooks": [{"url": hook.url}]}}, **kw)


@contextlib.contextmanager
def running():
    """A pipeline on silence_config, its alerter ready: yields (cw, switchboard, webhook receiver)."""
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("api")
        sw.set("shop")
        with Clockwerk(silence_config(sw, hook), d) as cw:
            start(cw)
            yield cw, sw, hook


def start(cw):
    cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
    cw.wait_log(r"alerter running")


def cli(cw, *args, env=None):
    """`clockwerk -c CONF ARGS`; CliResult (code, out, err, text)."""
    return harness.run_cli(["-c", cw.conf_path] + list(args), timeout=30, env=env)


def added_id(res):
    check(res.code == 0, "silence add failed: %r" % res.text)
    m = re.search(r"added silence ([0-9a-f]{16})\b", res.out)
    check(m, "no id in %r" % res.out)
    return m.group(1)


def listed(cw):
    res = cli(cw, "silence", "list", "--json")
    check(res.code == 0, "silence list --json failed: %r" % res.text)
    return json.loads(res.out)


@harness.timeout(180)
def test_silence_add_list_remove_and_restart():
    with running() as (cw, sw, hook):
        ctl = os.path.join(cw.run_dir, "alerter.ctl")
        mode = os.stat(ctl).st_mode
        check(stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, "alerter.ctl mode %o" % mode)

        by_name = added_id(cli(cw, "silence", "add", "api", "--for", "2h", "--reason", "db upgrade",
                               "--by", "alice"))
        by_url = added_id(cli(cw, "silence", "add", sw.url("shop"), "--for", "1h30m", "--reason", "new build"))
        by_group = added_id(cli(cw, "silence", "add", "--group", "payments", "--for", "1d",
                                "--reason", "vendor outage"))
        every = added_id(cli(cw, "silence", "add", "--all", "--for", "3h", "--reason", "network work"))
        cw.wait_log(r"silence %s of endpoint api added by alice \(as \S+\) until \S+ \(reason: db upgrade\)"
                    % by_name)
        path = os.path.join(cw.run_dir, "silences.json")
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "silences.json mode %o" % os.stat(path).st_mode)

        text = cli(cw, "silence", "list")
        check(text.code == 0, "silence list: %r" % text.text)
        for sid in (by_name, by_url, by_group, every):
            check(sid in text.out, "%s not in the list %r" % (sid, text.out))
        check(re.search(r"%s\s+endpoint api\s+until \S+\s+by alice \(as \S+\): db upgrade" % by_name, text.out),
              "the list line of the endpoint silence: %r" % text.out)
        docs = {s["id"]: s for s in listed(cw)}
        check(set(docs) == {by_name, by_url, by_group, every}, "list --json: %s" % docs)
        check(docs[by_url]["endpoint"] == sw.url("shop") and docs[by_group]["group"] == "payments"
              and docs[every]["all"] is True, "list --json scopes: %s" % docs)
        check(docs[by_name]["end_us"] - docs[by_name]["start_us"] == 7200 * 10**6, "2h: %s" % docs[by_name])
        check(docs[by_url]["end_us"] - docs[by_url]["start_us"] == 5400 * 10**6, "1h30m: %s" % docs[by_url])

        # kept across a restart of the alerter
        old = cw.child(ALERTER)
        mark = cw.log_mark()
        os.kill(old, signal.SIGKILL)
        cw.wait_new_child(ALERTER, old, timeout=30)
        cw.wait_log(r"4 silences restored from ", since=mark)
        kept = harness.wait_for(lambda: (lambda r: r if r.code == 0 else None)(cli(cw, "silence", "list",
                                                                                   "--json")),
                                harness.deadline(30), "the restarted alerter answering")
        check({s["id"] for s in json.loads(kept.out)} == {by_name, by_url, by_group, every},
              "after the restart: %s" % kept.out)

        res = cli(cw, "silence", "remove", by_name, "--by", "bob")
        check(res.code == 0 and ("removed silence %s" % by_name) in res.out, "remove: %r" % res.text)
        cw.wait_log(r"silence %s of endpoint api removed by bob \(as \S+\) \(reason was: db upgrade; "
                    r"added by alice" % by_name)
        check(by_name not in {s["id"] for s in listed(cw)}, "removed silence still listed")
        for sid in (by_url, by_group, every):
            check(cli(cw, "silence", "remove", sid).code == 0, "remove %s" % sid)
        res = cli(cw, "silence", "list")
        check(res.code == 0 and res.out.strip() == "no silences", "empty list: %r" % res.text)
        cw.stop()


@harness.timeout(120)
def test_silence_ends_by_itself():
    with running() as (cw, sw, hook):
        sid = added_id(cli(cw, "silence", "add", "api", "--for", "3s", "--reason", "quick restart"))
        check(sid in cli(cw, "silence", "list").out, "not listed")
        cw.wait_log(r"silence %s of endpoint api ended at \S+ \(reason: quick restart; by " % sid, timeout=30)
        check(listed(cw) == [], "an ended silence is still listed")
        cw.stop()


def expect_refused(res, code, part):
    check(res.code == code and part in res.err, "wanted exit %d and %r, got %d: %r" % (code, part, res.code,
                                                                                        res.text))


@harness.timeout(150)
def test_silence_bad_inputs():
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("api")
        sw.set("shop")
        cfg = silence_config(sw, hook)
        with Clockwerk(cfg, d) as cw:
            # nothing running yet: a clear line, exit 1
            res = cli(cw, "silence", "list")
            expect_refused(res, 1, "no alerter is listening on %s: is clockwerk running?"
                           % os.path.join(cw.run_dir, "alerter.ctl"))
            # a malformed file is moved aside at start
            os.makedirs(cw.run_dir, mode=0o700, exist_ok=True)
            with open(os.path.join(cw.run_dir, "silences.json"), "w") as f:
                f.write("{not json")
            start(cw)
            cw.wait_log(r"malformed silences file: not one JSON document; moved aside to \S+silences\.json\.bad")
            check(os.path.exists(os.path.join(cw.run_dir, "silences.json.bad")), "no silences.json.bad")

            expect_refused(cli(cw, "silence", "add", "nope", "--for", "1h", "--reason", "x"), 1,
                           "unknown endpoint 'nope': no endpoint has this name or URL")
            expect_refused(cli(cw, "silence", "add", "--group", "nogroup", "--for", "1h", "--reason", "x"), 1,
                           "unknown group 'nogroup'")
            for bad in ("0s", "1h1h", "30m1h", "366d", "5", "1.5h", "-5m", "2 h", ""):
                expect_refused(cli(cw, "silence", "add", "api", "--for", bad, "--reason", "x"), 2, "duration")
            for args in (["2", "h"], ["2"]):  # `--for 2 h`: the number is the problem, not the word after it
                expect_refused(cli(cw, "silence", "add", "api", "--for", *args, "--reason", "x"), 2,
                               "bad duration '2': write it as 90s, 30m, 2h, 1d or 1h30m")
            expect_refused(cli(cw, "silence", "add", "api", "--for", "1h"), 2, "--reason TEXT is required")
            expect_refused(cli(cw, "silence", "add", "api", "--reason", "x"), 2, "--for DURATION is required")
            expect_refused(cli(cw, "silence", "add", "api", "--all", "--for", "1h", "--reason", "x"), 2, "one of them")
            expect_refused(cli(cw, "silence", "add", "--for", "1h", "--reason", "x"), 2, "say what to silence")
            expect_refused(cli(cw, "silence", "frobnicate"), 2, "say add, list or remove")
            expect_refused(cli(cw, "silence", "remove"), 2, "which silence")
            expect_refused(cli(cw, "silence", "remove", "0123456789abcdef"), 1, "no silence has id '0123456789abcdef'")
            expect_refused(cli(cw, "silence", "add", "api", "--for", "1h", "--reason", "x", "--by", "a\tb"), 1,
                           "by must be")
            expect_refused(cli(cw, "ack"), 2, "which alert")
            expect_refused(cli(cw, "ack", "not-hex"), 2, "hex digits")
            expect_refused(cli(cw, "ack", "AB"), 1, "no open incident has alert id 00000000000000ab")
            for args in (["silence", "--help"], ["silence", "add", "--help"], ["ack", "--help"]):
                res = cli(cw, *args)
                check(res.code == 0 and "clockwerk -c FILE silence add" in res.out, "%s: %r" % (args, res.text))
            res = harness.run_cli(["silence", "list"])
            expect_refused(res, 2, "no configuration file given (-c FILE)")
            check(listed(cw) == [], "a refused request left a silence")
            cw.stop()


def web_request(port, method, path, auth=None, form=None, extra=None):
    """(status, headers, JSON or None) of one request to the web; form: a dict sent urlencoded; extra: headers."""
    headers = dict(extra or {})
    body = None
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    st, h, raw = get(port, path, method=method, headers=headers, body=body)
    try:
        doc = json.loads(raw) if h.get("content-type") == "application/json" else None
    except ValueError:
        doc = None
    return st, h, doc


def check_spec(spec, template, st, doc):
    errs = spec.errors(template, st, doc)
    check(not errs, "%s %s does not match docs/openapi.yaml: %s (%r)" % (template, st, errs[:5], doc))


@harness.timeout(240)
def test_silence_web_api():
    spec = Spec()
    port = free_port()
    with tempdir() as d, Switchboard() as sw, WebhookReceiver() as hook:
        sw.set("api")
        sw.set("shop")
        cfg = silence_config(sw, hook)
        cfg["web"] = {"listen": "127.0.0.1:%d" % port}
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [ALERTER, WEB])
            cw.wait_log(r"alerter running")  # its control socket is open: the web's API can reach it
            wait_serving(port)
            st, _, doc = web_request(port, "GET", "/api/v1/silences")
            check(st == 200 and doc == {"silences": []}, "empty list: %s %r" % (st, doc))
            check_spec(spec, "/api/v1/silences", st, doc)
            # one id out of an empty list: the alerter's short answer (no NUL after it in the web's buffer) is
            # searched as parsed, never re-read as a C string (under ASan that read ran past the buffer)
            st, _, doc = web_request(port, "GET", "/api/v1/silences/0123456789abcdef")
            check(st == 404 and doc == {"error": "no silence has this id"}, "one of none: %s %r" % (st, doc))
            sid = added_id(cli(cw, "silence", "add", "--group", "payments", "--for", "30m", "--reason", "vendor"))
            st, _, doc = web_request(port, "GET", "/api/v1/silences")
            check(st == 200 and [s["id"] for s in doc["silences"]] == [sid], "list: %s %r" % (st, doc))
            check_spec(spec, "/api/v1/silences", st, doc)
            st, _, doc = web_request(port, "GET", "/api/v1/silences/" + sid)
            check(st == 200 and doc["silence"]["group"] == "payments", "one: %s %r" % (st, doc))
            check_spec(spec, "/api/v1/silences/{id}", st, doc)
            st, _, doc = web_request(port, "GET", "/api/v1/silences/0123456789abcdef")
            check(st == 404, "unknown id: %s %r" % (st, doc))
            check_spec(spec, "/api/v1/silences/{id}", st, doc)
            # writes need web.auth_user
            st, _, doc = web_request(port, "POST", "/api/v1/silences",
                                     form={"endpoint": "api", "duration_s": "60", "reason": "x"})
            check(st == 403 and "web.auth_user" in doc["error"], "POST without auth_user: %s %r" % (st, doc))
            st, _, doc = web_request(port, "DELETE", "/api/v1/silences/" + sid)
            check(st == 403, "DELETE without auth_user: %s %r" % (st, doc))
            st, h, _ = web_request(port, "PUT", "/api/v1/silences")
            check(st == 405 and h.get("allow") == "GET, HEAD, POST", "PUT: %s %s" % (st, h.get("allow")))
            cw.stop()

        password = "w3b-s1lence-pw"
        pwfile = os.path.join(d, "web.pw")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        os.chmod(pwfile, 0o600)
        cfg["web"].update({"auth_user": "ops", "auth_password_file": pwfile})
        mark = os.path.getsize(os.path.join(d, "clockwerk.log"))  # the same log file, appended to
        with Clockwerk(cfg, d) as cw:  # the same run_dir: the silence is still there
            cw.wait_ready(titles=cw.expected_titles() + [ALERTER, WEB])
            # a started alerter is not yet a listening one (CI under ASan: 'no alerter is listening' just after
            # the titles appeared); it logs 'running' once its control socket is open
            cw.wait_log(r"alerter running", since=mark)
            wait_serving(port)
            auth = ("ops", password)
            st, _, doc = web_request(port, "GET", "/api/v1/silences", auth=auth)
            check(st == 200 and [s["id"] for s in doc["silences"]] == [sid], "kept across a restart: %r" % doc)
            st, _, _ = web_request(port, "POST", "/api/v1/silences",
                                   form={"endpoint": "api", "duration_s": "60", "reason": "x"})
            check(st == 401, "POST without credentials: %s" % st)
            st, _, doc = web_request(port, "POST", "/api/v1/silences", auth=auth,
                                     form={"endpoint": "api", "duration_s": "3600", "reason": "deploy 42"})
            check(st == 201 and doc["silence"]["endpoint"] == "api" and doc["silence"]["reason"] == "deploy 42",
                  "POST: %s %r" % (st, doc))
            check(re.fullmatch(r"ops \(as \S+\)", doc["silence"]["author"]), "author %r" % doc["silence"]["author"])
            check(doc["silence"]["end_us"] - doc["silence"]["start_us"] == 3600 * 10**6, "duration: %r" % doc)
            new = doc["silence"]["id"]
            check(new in cli(cw, "silence", "list").out, "the web's silence is not in the CLI's list")
            # a page of another site posting a form with the operator's cached credentials (CSRF): refused
            form = {"all": "true", "duration_s": "31536000", "reason": "x"}
            for extra in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                          {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}):
                st, _, doc = web_request(port, "POST", "/api/v1/silences", auth=auth, form=form, extra=extra)
                check(st == 403 and "another site" in doc["error"], "cross-site POST %r: %s %r" % (extra, st, doc))
            st, _, doc = web_request(port, "DELETE", "/api/v1/silences/" + new, auth=auth,
                                     extra={"Sec-Fetch-Site": "same-site"})
            check(st == 403, "cross-site DELETE: %s %r" % (st, doc))
            st, _, doc = web_request(port, "POST", "/api/v1/silences", auth=auth,
                                     form={"endpoint": "api", "duration_s": "60", "reason": "same page"},
                                     extra={"Origin": "http://127.0.0.1:%d" % port, "Sec-Fetch-Site": "same-origin"})
            check(st == 201, "same-origin POST: %s %r" % (st, doc))
            st, _, _ = web_request(port, "DELETE", "/api/v1/silences/" + doc["silence"]["id"], auth=auth)
            check(st == 200, "DELETE of the same-origin silence: %s" % st)
            for form, part in (({"endpoint": "nope", "duration_s": "60", "reason": "x"}, "unknown endpoint 'nope'"),
                               ({"endpoint": "api", "duration_s": "0", "reason": "x"}, "duration_s"),
                               ({"endpoint": "api", "duration_s": "60"}, "reason"),
                               ({"endpoint": "api", "all": "true", "duration_s": "60", "reason": "x"}, "exactly one")):
                st, _, doc = web_request(port, "POST", "/api/v1/silences", auth=auth, form=form)
                check(st == 400 and part in doc["error"], "POST %r: %s %r" % (form, st, doc))
            st, _, doc = web_request(port, "DELETE", "/api/v1/silences/" + new, auth=auth)
            check(st == 200 and doc["silence"]["id"] == new, "DELETE: %s %r" % (st, doc))
            cw.wait_log(r"silence %s of endpoint api removed by ops \(as \S+\)" % new)
            st, _, doc = web_request(port, "DELETE", "/api/v1/silences/" + new, auth=auth)
            check(st == 404 and "no silence has id" in doc["error"], "DELETE again: %s %r" % (st, doc))
            cw.stop()


def downs(hook, name="api", kind="down"):
    out = []
    for call in hook.calls():
        out.extend(call.get("alerts", [call]) if call.get("kind") == "summary" else [call])
    return [a for a in out if a.get("kind") == kind and a.get("name") == name]


def checks_pass(sw, name, n):
    """Waits until endpoint name has been checked n more times."""
    target = sw.hits(name) + n
    harness.wait_for(lambda: sw.hits(name) >= target, harness.deadline(30), "%d more checks of %s" % (n, name))


def muted_down(cw, since):
    """The id of the DOWN alert the silence muted (logged by the alerter)."""
    return cw.wait_log(r"alert ([0-9a-f]{16}) muted \(silence\): not sent", since=since, timeout=30).group(1)


@harness.timeout(180)
def test_silence_expiring_while_down_sends_one_down():
    with running() as (cw, sw, hook):
        checks_pass(sw, "api", 2)
        mark = cw.log_mark()
        sid = added_id(cli(cw, "silence", "add", "api", "--for", "12s", "--reason", "deploy"))
        sw.set("api", 500)
        muted = muted_down(cw, mark)
        checks_pass(sw, "api", 2)
        check(downs(hook) == [], "a DOWN was sent inside the silence: %r" % hook.calls())
        cw.wait_log(r"silence %s of endpoint api ended" % sid, since=mark, timeout=40)
        down = harness.wait_for(lambda: downs(hook) or None, harness.deadline(20), "the DOWN at the silence's end")[0]
        check(down["alert_id"] != muted, "the DOWN sent at the end reuses the muted alert's id %s" % muted)
        checks_pass(sw, "api", 4)
        check(len(downs(hook)) == 1, "more than one DOWN: %r" % downs(hook))
        sw.set("api", 200)
        harness.wait_for(lambda: downs(hook, kind="up") or None, harness.deadline(30), "the UP after it")
        check(len(downs(hook)) == 1 and len(downs(hook, kind="up")) == 1, "alerts: %r" % hook.calls())
        cw.stop()


@harness.timeout(180)
def test_silence_removed_while_down_sends_the_down_then():
    with running() as (cw, sw, hook):
        checks_pass(sw, "api", 2)
        mark = cw.log_mark()
        sid = added_id(cli(cw, "silence", "add", "--group", "payments", "--for", "1h", "--reason", "vendor"))
        sw.set("api", 500)
        muted_down(cw, mark)
        checks_pass(sw, "api", 3)
        check(downs(hook) == [], "a DOWN was sent inside the silence: %r" % hook.calls())
        check(cli(cw, "silence", "remove", sid).code == 0, "remove")
        harness.wait_for(lambda: downs(hook) or None, harness.deadline(20), "the DOWN once the silence is removed")
        checks_pass(sw, "api", 3)
        check(len(downs(hook)) == 1, "more than one DOWN: %r" % downs(hook))
        cw.stop()


@harness.timeout(180)
def test_down_and_up_inside_a_silence_send_nothing():
    with running() as (cw, sw, hook):
        checks_pass(sw, "api", 2)
        mark = cw.log_mark()
        sid = added_id(cli(cw, "silence", "add", "api", "--for", "12s", "--reason", "restart"))
        sw.set("api", 500)
        muted_down(cw, mark)
        sw.set("api", 200)
        cw.wait_log(r"alert [0-9a-f]{16} muted \(silence\): not sent(?s:.*)alert [0-9a-f]{16} muted \(silence\)",
                    since=mark, timeout=30)  # its UP, muted too
        cw.wait_log(r"silence %s of endpoint api ended" % sid, since=mark, timeout=40)
        checks_pass(sw, "api", 4)
        check(hook.calls() == [], "alerts after a down and up inside the silence: %r" % hook.calls())
        cw.stop()
