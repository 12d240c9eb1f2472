"""tests/e2e/test_alert_config.py — the alerting keys of issue 15 through `clockwerk -t` and a running supervisor.

- A file with a channel of every type (secrets from files and the environment), routing, `groups` and
  `maintenance` is `config OK`; the commented example of etc/clockwerk.conf loads once uncommented.
- Each broken file differs from a valid one by one defect on a line marked `#!`: `clockwerk -t` exits 1 with a
  `FILE:LINE: message` at that line, and no message holds a secret.
- A reload that changes only a channel restarts only the alerter (workers, storer, relay and web keep their pids);
  one that adds a maintenance window restarts the alerter, the storer and the web, never a worker.
"""

import os
import re
import time

import harness
from harness import Clockwerk, base_config, check, deadline, free_port, run_cli, tempdir, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "etc", "clockwerk.conf")

SECRET = "e2e-SeCrEt-token-4711"

GOOD = """supervisor = { workers = 1; run_dir = "run"; };
monitor = { endpoints = (
  { url = "http://127.0.0.1:1/db"; name = "db"; group = "payments"; },
  { url = "http://127.0.0.1:1/api"; name = "api"; depends_on = "db"; notify = ["pd", "email"]; severity = "warning";
    flap_window = 10; flap_high = 40; flap_low = 10; escalate = ( { after = 60; notify = ["ops-mail"]; } ); },
  { type = "tcp"; name = "redis"; host = "127.0.0.1"; port = 6379; notify = []; }
); };
email = { smtp_host = "127.0.0.1"; email_from = "Clock Werk <cw@example.com>"; email_to = "ops@example.com"; };
alerts = {
  webhooks = ( { url = "http://127.0.0.1:9/hook"; } );
  channels = (
    { name = "ops-mail"; type = "email"; smtp_host = "mail.example.com"; email_from = "Überwachung <cw@example.com>";
      email_to = ["a@example.com"]; smtp_password_file = "smtp.pw"; kinds = ["down", "up"]; },
    { name = "pd"; type = "pagerduty"; routing_key_file = "pd.key"; min_severity = "error"; },
    { name = "slack"; type = "slack"; url_file = "slack.url"; },
    { name = "discord"; type = "discord"; url = "https://discord.example/api/webhooks/1/x"; },
    { name = "teams"; type = "teams"; url = "https://teams.example/workflow"; },
    { name = "mm"; type = "mattermost"; url = "https://mm.example/hooks/x"; verify_tls = false; },
    { name = "ntfy"; type = "ntfy"; url = "https://ntfy.sh/topic"; },
    { name = "tg"; type = "telegram"; token_file = "tg.token"; chat_id = "-100123"; },
    { name = "og"; type = "opsgenie"; api_key_file = "og.key"; url = "https://api.eu.opsgenie.com"; },
    { name = "ops.gotify"; type = "gotify"; url = "https://gotify.example"; },
    { name = "hook"; type = "webhook"; url = "https://example.com/h"; headers = ["X-Token: abc"];
      body_template = "{\\"text\\": \\"{{json.text}}\\", \\"sev\\": \\"{{ severity }}\\"}"; }
  );
  notify = ["ops-mail", "slack"];
  escalate = ( { after = 900; notify = ["pd"]; }, { after = 1800; notify = ["tg"]; } );
  time_zone = "Europe/Berlin";
  flap_window = 21; flap_high = 50; flap_low = 25;
};
groups = ( { name = "payments"; notify = ["pd"]; severity = "error"; escalate = ( { after = 120; notify = ["og"]; } ); } );
maintenance = (
  { name = "db-upgrade"; endpoints = ["db"]; groups = ["payments"]; start = "2026-12-24T22:00:00Z"; duration = 7200; },
  { name = "nightly"; days = ["mon", "tue"]; from = "23:30"; to = "00:30"; time_zone = "Europe/Berlin"; },
  { name = "always-sunday"; days = ["*"]; from = "03:00"; to = "03:05"; }
);
"""

SIDE_FILES = {"smtp.pw": "pw\n", "pd.key": "R0123\n", "slack.url": "https://hooks.slack.com/services/T/B/x\n",
              "tg.token": "123:ABC\n", "og.key": "og\n"}

# (name, the line to put in place of the marked line of BAD_BASE, a regex of the message)
BAD_BASE = """supervisor = { workers = 1; run_dir = "run"; };
monitor = { endpoints = (
  { url = "http://127.0.0.1:1/a"; name = "a"; group = "g"; },
  { url = "http://127.0.0.1:1/b"; name = "b"; }
); };
alerts = { channels = (
  { name = "n"; type = "ntfy"; url = "https://ntfy.sh/t"; },
  @MARK@
); };
"""

BAD_CHANNELS = [
    ("other type's key", '{ name = "s"; type = "slack"; url = "https://x/"; chat_id = "1"; } #!',
     r"alerts\.channels\[1\]: 'chat_id' is not a key of a slack channel"),
    ("legacy name", '{ name = "webhook-1"; type = "webhook"; url = "https://x/"; } #!',
     r"'webhook-1' is the name of a channel made of alerts\.webhooks"),
    ("duplicate name", '{ name = "n"; type = "ntfy"; url = "https://y/"; } #!', r"another channel is named 'n'"),
    ("bad name", '{ name = "a b"; type = "ntfy"; url = "https://y/"; } #!', r"may hold only letters, digits"),
    ("no type", '{ name = "x"; url = "https://y/"; } #!', r"alerts\.channels\[1\]: type is required"),
    ("bad type", '{ name = "x"; type = "pigeon"; } #!', r"'pigeon' is not one of email, webhook, slack"),
    ("telegram without chat", '{ name = "t"; type = "telegram"; token_file = "tok"; } #!',
     r"chat_id is required for a telegram channel"),
    ("pagerduty without key", '{ name = "p"; type = "pagerduty"; } #!',
     r"routing_key is required for a pagerduty channel .*CLOCKWERK_CHANNEL_P_TOKEN"),
    ("opsgenie without key", '{ name = "o"; type = "opsgenie"; } #!', r"api_key is required for an opsgenie channel"),
    ("gotify without url", '{ name = "g"; type = "gotify"; token_file = "tok"; } #!',
     r"url is required for a gotify channel"),
    ("not http", '{ name = "w"; type = "webhook"; url = "ftp://x/"; } #!', r"alerts\.channels\[1\]\.url: .*http"),
    ("unknown placeholder", '{ name = "w"; type = "webhook"; url = "https://x/"; body_template = "{{kindd}}"; } #!',
     r"body_template: unknown placeholder '\{\{kindd\}\}'"),
    ("bad kind", '{ name = "w"; type = "webhook"; url = "https://x/"; kinds = ["down", "sideways"]; } #!',
     r"'sideways' is not an alert kind"),
    ("bad severity", '{ name = "w"; type = "webhook"; url = "https://x/"; min_severity = "dire"; } #!',
     r"min_severity: 'dire' is not one of info, warning, error, critical"),
    ("email without from", '{ name = "m"; type = "email"; smtp_host = "h"; email_to = "a@b.example"; } #!',
     r"alerts\.channels\[1\]: email_from is required"),
    ("bad display name", '{ name = "m"; type = "email"; smtp_host = "h"; email_to = "a@b.example";\n'
     '    email_from = "Say \\"hi\\" <a@b.example>"; } #!', r"email_from: .* display name"),
    ("url and url_file", '{ name = "s"; type = "slack"; url = "https://x/"; url_file = "tok"; } #!',
     r"both url and url_file are set"),
    ("missing token file", '{ name = "t"; type = "telegram"; chat_id = "1"; token_file = "nope.token"; } #!',
     r"token_file: cannot open"),
]

BAD_OTHER = [
    ("notify unknown", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }')
     .replace('name = "b"; }', 'name = "b"; notify = ["zz"]; } #!'), r"monitor\.endpoints\[1\]\.notify: no channel is named 'zz'"),
    ("depends on itself", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }')
     .replace('name = "b"; }', 'name = "b"; depends_on = "b"; } #!'), r"'b' is the endpoint itself"),
    ("cycle", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }')
     .replace('group = "g"; },', 'group = "g"; depends_on = "b"; }, #!').replace('name = "b"; }', 'name = "b"; depends_on = "a"; }'),
     r"a cycle of dependencies: a -> b -> a"),
    ("escalate order", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }') +
     'groups = ( { name = "g"; escalate = ( { after = 60; notify = ["n"]; },\n { after = 30; notify = ["m"]; } ); } ); #!\n',
     r"groups\[0\]\.escalate\[1\]\.after: 30 s is not after the step before"),
    ("flap window", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }')
     .replace("alerts = { channels", "alerts = { flap_window = 2; #!\n channels"), r"alerts\.flap_window: 0 \(off\) or 5 to 64"),
    ("time zone", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }')
     .replace("alerts = { channels", "alerts = { time_zone = \"Mars/Olympus\"; #!\n channels"),
     r"unknown time zone 'Mars/Olympus'"),
    ("maintenance mixed", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }') +
     'maintenance = ( { name = "w"; start = "2026-12-24T22:00:00Z"; duration = 60; days = ["mon"]; } ); #!\n',
     r"maintenance\[0\]: one-off keys .* are mixed"),
    ("maintenance endpoint", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }') +
     'maintenance = ( { name = "w"; endpoints = ["zz"]; days = ["*"]; from = "01:00"; to = "02:00"; } ); #!\n',
     r"maintenance\[0\]\.endpoints: no endpoint is named 'zz'"),
    ("maintenance start", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }') +
     'maintenance = ( { name = "w"; start = "2026-12-24 22:00"; duration = 60; } ); #!\n',
     r"maintenance\[0\]\.start: '2026-12-24 22:00' is not a time like"),
    ("maintenance time of day", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }') +
     'maintenance = ( { name = "w"; days = ["mon"]; from = "25:00"; to = "02:00"; } ); #!\n',
     r"maintenance\[0\]\.from: '25:00' is not a time of day"),
    ("groups unknown key", BAD_BASE.replace("@MARK@", '{ name = "m"; type = "ntfy"; url = "https://x/"; }') +
     'groups = ( { name = "g"; colour = "red"; } ); #!\n', r"unknown key 'colour' in groups\[0\]"),
]


def _write(d, name, text, mode=0o600):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def _marked_line(text):
    for i, ln in enumerate(text.split("\n"), 1):
        if "#!" in ln:
            return i
    raise AssertionError("test bug: no #! marker")


def _problems(text, path):
    rx = re.compile(r"(?:^|\s)(?:\S*/)?%s:(\d+): (\S.*)$" % re.escape(os.path.basename(path)), re.M)
    return [(int(m.group(1)), m.group(2)) for m in rx.finditer(text)]


def _expect_refused(d, what, text, message_rx, mode=0o600):
    path = _write(d, "bad.conf", text, mode)
    res = run_cli(["-t", "-c", path])
    check(res.code == 1, "%s: `clockwerk -t` exited %s, expected 1\n%s" % (what, res.code, res.text[-1200:]))
    line = _marked_line(text)
    at = [m for n, m in _problems(res.text, path) if n == line]
    check(any(re.search(message_rx, m) for m in at),
          "%s: no message matching /%s/ at line %d; got %s" % (what, message_rx, line, _problems(res.text, path)))
    check(SECRET not in res.text, "%s: a message holds the secret: %s" % (what, res.text))
    return res


def test_good_file():
    with tempdir() as d:
        for name, text in SIDE_FILES.items():
            _write(d, name, text)
        path = _write(d, "good.conf", GOOD)
        res = run_cli(["-t", "-c", path], env={"CLOCKWERK_CHANNEL_OPS_GOTIFY_TOKEN": SECRET})
        check(res.code == 0 and "config OK: 3 endpoints" in res.out,
              "the file with every channel type was refused (exit %s):\n%s" % (res.code, res.text[-2000:]))
        check(SECRET not in res.text, "the output holds the gotify token: %s" % res.text)
        # without the environment's token the gotify channel has none: refused, naming the variable
        res = run_cli(["-t", "-c", path], env={"CLOCKWERK_CHANNEL_OPS_GOTIFY_TOKEN": ""})
        check(res.code == 1 and "CLOCKWERK_CHANNEL_OPS_GOTIFY_TOKEN" in res.text,
              "a gotify channel without a token was not refused by name: %s" % res.text[-800:])


def test_example_block_of_etc_conf_loads():
    with open(EXAMPLE) as f:
        text = f.read()
    begin, end = text.index("# --- alerting example begin\n"), text.index("# --- alerting example end")
    block = text[begin:end].split("\n")[1:]
    lines = [ln[2:] if ln.startswith("# ") else ("" if ln == "#" else ln) for ln in block]
    check(any(ln.startswith("alerts = {") for ln in lines), "the example block has no alerts group: %r" % lines[:5])
    with tempdir() as d:
        path = _write(d, "example.conf", text[:begin] + "\n".join(lines) + text[end:])
        res = run_cli(["-t", "-c", path])
        check(res.code == 0 and res.out.startswith("config OK"),
              "etc/clockwerk.conf's alerting example, uncommented, was refused:\n%s" % res.text[-1500:])


def test_each_defect_at_its_line():
    with tempdir() as d:
        _write(d, "tok", "123:ABC\n")
        for what, mark, rx in BAD_CHANNELS:
            _expect_refused(d, what, BAD_BASE.replace("@MARK@", mark), rx)
        for what, text, rx in BAD_OTHER:
            _expect_refused(d, what, text, rx)


def test_secrets_refused_in_a_readable_file():
    cases = [
        ("token", '{ name = "p"; type = "pagerduty"; routing_key = "%s"; } #!' % SECRET,
         r"routing_key: the file holds a channel's secret but others may read it"),
        ("headers", '{ name = "w"; type = "webhook"; url = "https://x/"; headers = ["X-Thing: %s"]; } #!' % SECRET,
         r"headers: the file holds a channel's headers .* but others may read it"),
        ("smtp password", '{ name = "m"; type = "email"; smtp_host = "h"; email_from = "a@b.example";\n'
         ' email_to = "a@b.example"; smtp_password = "%s"; } #!' % SECRET,
         r"smtp_password: the file holds a password but others may read it"),
    ]
    # a chat service's webhook URL is its secret: inline only in a file others may not read (url_file otherwise)
    for chat, url in (("slack", "https://hooks.slack.com/services/T0/B0/"), ("discord", "https://discord.com/api/webhooks/1/"),
                      ("teams", "https://acme.webhook.office.com/webhookb2/"), ("mattermost", "https://mm.example/hooks/")):
        cases.append(("%s url" % chat, '{ name = "c"; type = "%s"; url = "%s%s"; } #!' % (chat, url, SECRET),
                      r"alerts\.channels\[1\]\.url: the file holds a channel's secret URL .* others may read it.*url_file"))
    with tempdir() as d:
        for what, mark, rx in cases:
            _expect_refused(d, what, BAD_BASE.replace("@MARK@", mark), rx, mode=0o644)


def test_readable_file_keeps_public_urls_and_legacy_webhooks():
    """A plain webhook's or an ntfy channel's url, and alerts.webhooks (as before issue 15: only a URL with a
    password is refused there), stay allowed in a file others may read."""
    head, tail = BAD_BASE.replace("@MARK@", '{ name = "w"; type = "webhook"; url = "https://example.com/in"; }').rsplit(
        "); };", 1)
    text = head + '); webhooks = ( { url = "https://hooks.slack.com/services/T0/B0/%s"; } ); };' % SECRET + tail
    with tempdir() as d:
        path = _write(d, "readable.conf", text, 0o644)
        res = run_cli(["-t", "-c", path])
        check(res.code == 0 and res.out.startswith("config OK"),
              "a readable file with public channel urls and a legacy webhook was refused:\n%s" % res.text[-1200:])
        check(SECRET not in res.text, "the output holds the legacy webhook's URL: %s" % res.text)


def _settled_pids(cw, titles, quiet=2.0, timeout=60.0):
    """{title: pid} once every title runs and no pid changed for `quiet` seconds."""
    state = {"pids": None, "since": 0.0}

    def settled():
        check(cw.running(), "the supervisor exited (%s)" % harness.describe_exit(cw.returncode))
        kids = {t: p for p, t in cw.children().items()}
        if not all(t in kids for t in titles):
            state["pids"] = None
            return None
        pids = {t: kids[t] for t in titles}
        if pids != state["pids"]:
            state["pids"], state["since"] = pids, time.monotonic()
            return None
        return pids if time.monotonic() - state["since"] >= quiet else None
    return wait_for(settled, deadline(timeout), lambda: "children %s settled (have: %s)" % (
        titles, cw.describe_children()), interval=0.1)


def _config(web_port, hook_url, maintenance=None):
    cfg = base_config([harness.endpoint("http://127.0.0.1:1/a", name="a", group="g"),
                       harness.endpoint("http://127.0.0.1:1/b", name="b", severity="warning")], workers=2,
                      check_interval=5)
    cfg["web"] = {"listen": "127.0.0.1:%d" % web_port}
    cfg["alerts"] = {"channels": [{"name": "hook", "type": "webhook", "url": hook_url},
                                  {"name": "phone", "type": "ntfy", "url": "http://127.0.0.1:9/topic"}],
                     "notify": ["hook"]}
    if maintenance:
        cfg["maintenance"] = maintenance
    return cfg


def test_reload_of_a_channel_restarts_only_the_alerter():
    titles = ["clockwerk: worker 0/2", "clockwerk: worker 1/2", "clockwerk: storer", "clockwerk: alerter",
              "clockwerk: relay", "clockwerk: web"]
    with tempdir() as d:
        port = free_port()
        with Clockwerk(_config(port, "http://127.0.0.1:9/one"), d) as cw:
            before = _settled_pids(cw, titles)
            mark = cw.log_mark()
            cw.reload(_config(port, "http://127.0.0.1:9/two"))  # only a channel's URL changes
            line = cw.wait_log(r"reload: [^\n]*generation 2[^\n]*", since=mark).group(0)
            check("restarting alerter" in line and "restarting storer" not in line and "worker" not in
                  line.split("generation")[1] and "restarting web" not in line and "relay" not in line,
                  "a channel-only reload did more or less than restart the alerter: %s" % line)
            new_alerter = cw.wait_new_child("clockwerk: alerter", before["clockwerk: alerter"])
            after = _settled_pids(cw, titles)
            check(after["clockwerk: alerter"] == new_alerter, "the alerter changed twice: %s" % after)
            for t in titles:
                if t != "clockwerk: alerter":
                    check(after[t] == before[t], "%s restarted on a channel-only reload (%d -> %d)"
                          % (t, before[t], after[t]))

            # a maintenance window: the alerter, the storer and the web read it; no worker does
            mark = cw.log_mark()
            cw.reload(_config(port, "http://127.0.0.1:9/two", maintenance=[
                {"name": "w", "endpoints": ["a"], "start": "2030-01-01T00:00:00Z", "duration": 60}]))
            line = cw.wait_log(r"reload: [^\n]*generation 3[^\n]*", since=mark).group(0)
            for who in ("alerter", "storer", "web"):
                check("restarting %s" % who in line, "a new maintenance window did not restart the %s: %s" % (who, line))
            check("worker" not in line.split("generation")[1], "a maintenance window restarted workers: %s" % line)
            final = _settled_pids(cw, titles)
            for t in ("clockwerk: worker 0/2", "clockwerk: worker 1/2", "clockwerk: relay"):
                check(final[t] == before[t], "%s restarted on a maintenance reload" % t)
            cw.stop(timeout=20)
