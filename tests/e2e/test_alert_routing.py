"""tests/e2e/test_alert_routing.py — routing, incidents and muting of the alerter against a real running pipeline
(supervisor, workers, alerter; endpoints on a local switchboard; webhook channels on a local receiver, one URL
token per channel). docs/alerts.md "Routing", "Incidents and acknowledgement", "Dependencies", "Flapping",
"Escalation", "Muted alerts".

What is checked: each endpoint's alerts reach only the channels of its `notify`; a parent that fails with its child
sends one DOWN listing the child and the child alerts on its own once the parent is back (parent first), a child
that failed first alerts alone and the parent's DOWN lists it; a flapping endpoint sends one `flapping` alert, then
nothing until one alert says it is stable again; an incident not acknowledged escalates once to its step's channel
after `after` seconds and its UP reaches that channel too; `clockwerk ack ALERT_ID` stops the reminders and the
escalation of the incident (its UP still goes out).
"""

import contextlib
import time

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from webhook_receiver import Switchboard, WebhookReceiver

ALERTER = "clockwerk: alerter"
CHANNELS = ("team-a", "team-b", "pager")


class Flipper(Switchboard):
    """A switchboard whose endpoint "flip" alternates 200 and 500 on every hit while flipping is on."""

    def __init__(self):
        super().__init__()
        self.flipping = True

    def _handle(self, method, path, headers, body):
        if path != "/sw/flip":
            return super()._handle(method, path, headers, body)
        with self._lock:
            hits = self._hits.get("flip", 0) + 1
            self._hits["flip"] = hits
            if not self.flipping:
                return 200, 0.0
            return (500 if hits % 2 else 200), 0.0


def receiver():
    hook = WebhookReceiver()
    for name in CHANNELS:
        hook.token_status[name] = 200
    return hook


def channels(hook):
    return [{"name": n, "type": "webhook", "url": hook.url_for(n)} for n in CHANNELS]


def config(sw, hook, endpoints, **alerts):
    extra = {"alerts": dict({"channels": channels(hook)}, **alerts)}
    return base_config(endpoints, db=False, extra=extra)


def start(cw):
    cw.wait_ready(titles=cw.expected_titles() + [ALERTER])
    cw.wait_log(r"alerter running")


@contextlib.contextmanager
def pipeline(endpoints_of, board=Switchboard, **alerts):
    """A running pipeline over the endpoints endpoints_of(switchboard) gives, with the three webhook channels:
    yields (cw, sw, hook); every server is stopped on every path."""
    with tempdir() as d, board() as sw, receiver() as hook:
        with Clockwerk(config(sw, hook, endpoints_of(sw), **alerts), d) as cw:
            start(cw)
            yield cw, sw, hook


def alerts_of(hook, chan):
    """The alerts channel chan received (a summary's alerts one by one)."""
    out = []
    for call in hook.calls(chan):
        out.extend(call.get("alerts", [call]) if call.get("kind") == "summary" else [call])
    return out


def wait_alert(hook, chan, kind, name, timeout=40.0, what=None):
    def found():
        hits = [a for a in alerts_of(hook, chan) if a.get("kind") == kind and a.get("name") == name]
        return hits[-1] if hits else None
    return wait_for(found, timeout, what or "%s alert of %s on channel %s" % (kind, name, chan))


def count(hook, chan, kind=None, name=None):
    return len([a for a in alerts_of(hook, chan)
                if (kind is None or a.get("kind") == kind) and (name is None or a.get("name") == name)])


def wait_checks(sw, name, n, timeout=30.0):
    """Waits until endpoint name has been checked n more times (lets the alerter see them)."""
    target = sw.hits(name) + n
    wait_for(lambda: sw.hits(name) >= target, timeout, "%d more checks of %s" % (n, name))


@harness.timeout(180)
def test_routing_sends_only_to_its_channels():
    def eps(sw):
        return [endpoint(sw.url("a"), name="a", notify=["team-a"], alert_threshold=1, timeout=0.8),
                endpoint(sw.url("b"), name="b", notify=["team-b"], alert_threshold=1, timeout=0.8)]
    with pipeline(eps) as (cw, sw, hook):
        wait_checks(sw, "a", 2)
        sw.set("a", 500)
        wait_alert(hook, "team-a", "down", "a")
        sw.set("b", 500)
        wait_alert(hook, "team-b", "down", "b")
        sw.set("a", 200)
        sw.set("b", 200)
        wait_alert(hook, "team-a", "up", "a")
        wait_alert(hook, "team-b", "up", "b")
        wait_checks(sw, "a", 2)
        check(count(hook, "team-a", name="b") == 0, "team-a got b's alerts: %r" % alerts_of(hook, "team-a"))
        check(count(hook, "team-b", name="a") == 0, "team-b got a's alerts: %r" % alerts_of(hook, "team-b"))
        check(not hook.calls("pager"), "pager got alerts: %r" % hook.calls("pager"))
        down = wait_alert(hook, "team-a", "down", "a")
        up = wait_alert(hook, "team-a", "up", "a")
        check(down["incident_id"] == down["alert_id"], "a DOWN opens its incident: %r" % down)
        check(up["incident_id"] == down["alert_id"], "the UP carries the incident: %r" % up)


def dependency_endpoints(sw):
    return [endpoint(sw.url("db"), name="db", notify=["team-a"], alert_threshold=2, timeout=0.8),
            endpoint(sw.url("api"), name="api", depends_on="db", notify=["team-a"], alert_threshold=2, timeout=0.8)]


@harness.timeout(180)
def test_dependency_parent_fails_first():
    with pipeline(dependency_endpoints) as (cw, sw, hook):
        wait_checks(sw, "api", 2)
        sw.set("db", 500)
        sw.set("api", 500)
        down = wait_alert(hook, "team-a", "down", "db")
        cw.wait_log(r"alert [0-9a-f]{16} muted \(dependency\)", timeout=30)
        check([c["name"] for c in down["children"]] == ["api"], "db's DOWN lists api: %r" % down)
        check(count(hook, "team-a", "down", "api") == 0, "api alerted while db is down")
        sw.set("db", 200)
        up = wait_alert(hook, "team-a", "up", "db")
        check([(c["name"], c["state"]) for c in up["children"]] == [("api", "down")], "db's UP: %r" % up)
        own = wait_alert(hook, "team-a", "down", "api", what="api's own DOWN once db is back")
        check(own["children"] == [], "api's own DOWN: %r" % own)
        wait_checks(sw, "api", 3)
        check(count(hook, "team-a", "down", "api") == 1, "api's DOWN once: %r" % alerts_of(hook, "team-a"))


@harness.timeout(180)
def test_dependency_child_fails_first():
    with pipeline(dependency_endpoints) as (cw, sw, hook):
        wait_checks(sw, "api", 2)
        sw.set("api", 500)
        wait_alert(hook, "team-a", "down", "api", what="the child alone")
        sw.set("db", 500)
        down = wait_alert(hook, "team-a", "down", "db")
        check([(c["name"], c["state"]) for c in down["children"]] == [("api", "down")], "db's DOWN: %r" % down)
        sw.set("api", 200)  # the child recovers while its parent is down: folded into the parent's incident
        cw.wait_log(r"alert [0-9a-f]{16} muted \(dependency\)", timeout=30)
        sw.set("db", 200)
        up = wait_alert(hook, "team-a", "up", "db")
        check([(c["name"], c["state"]) for c in up["children"]] == [("api", "up")], "db's UP: %r" % up)
        wait_checks(sw, "api", 3)
        check(count(hook, "team-a", "up", "api") == 0, "api's UP was told by db's: %r" % alerts_of(hook, "team-a"))


@harness.timeout(180)
def test_flapping_target_one_alert_then_stable():
    def eps(sw):
        return [endpoint(sw.url("flip"), name="flip", notify=["team-a"], alert_threshold=1, recovery_threshold=1,
                         timeout=0.8, flap_window=6, flap_high=50, flap_low=25)]
    with pipeline(eps, board=Flipper) as (cw, sw, hook):
        flap = wait_alert(hook, "team-a", "flapping", "flip")
        check("% state changes over the last 6 checks" in flap["detail"], "flapping detail: %r" % flap)
        before = count(hook, "team-a")
        wait_checks(sw, "flip", 6)
        check(count(hook, "team-a") == before, "alerts while flapping: %r" % alerts_of(hook, "team-a")[before:])
        sw.flipping = False
        stable = wait_for(lambda: [a for a in alerts_of(hook, "team-a")[before:]
                                   if "stable again after flapping" in a.get("detail", "")],
                          40, "the stable-again alert")
        check(stable[0]["kind"] == "up", "stable again as up: %r" % stable)
        wait_checks(sw, "flip", 4)
        check(count(hook, "team-a", "flapping") == 1, "one flapping alert: %r" % alerts_of(hook, "team-a"))
        check(count(hook, "team-a") == before + 1, "one alert after flapping: %r" % alerts_of(hook, "team-a"))


@harness.timeout(180)
def test_escalation_after_a_short_after():
    def eps(sw):
        return [endpoint(sw.url("a"), name="a", notify=["team-a"], alert_threshold=1, timeout=0.8,
                         escalate=[{"after": 3, "notify": ["pager"]}])]
    with pipeline(eps) as (cw, sw, hook):
        wait_checks(sw, "a", 2)
        sw.set("a", 500)
        down = wait_alert(hook, "team-a", "down", "a")
        sent_at = time.time()
        check(not hook.calls("pager"), "the pager got the DOWN: %r" % hook.calls("pager"))
        esc = wait_alert(hook, "pager", "escalation", "a", timeout=30)
        check(time.time() - sent_at >= 2.0, "escalated too early")
        check(esc["incident_id"] == down["alert_id"], "escalation of the incident: %r" % esc)
        wait_checks(sw, "a", 4)
        check(count(hook, "pager", "escalation") == 1, "one escalation: %r" % hook.calls("pager"))
        check(count(hook, "team-a", "escalation") == 0, "team-a is not the step's channel")
        sw.set("a", 200)
        wait_alert(hook, "pager", "up", "a", what="the UP on the escalated channel")


@harness.timeout(180)
def test_ack_stops_reminders_and_escalation():
    def eps(sw):
        return [endpoint(sw.url("a"), name="a", notify=["team-a"], alert_threshold=1, timeout=0.8,
                         escalate=[{"after": 8, "notify": ["pager"]}])]
    with pipeline(eps, renotify=2) as (cw, sw, hook):
        wait_checks(sw, "a", 2)
        sw.set("a", 500)
        down = wait_alert(hook, "team-a", "down", "a")
        wait_alert(hook, "team-a", "reminder", "a", what="a first reminder")
        res = harness.run_cli(["-c", cw.conf_path, "ack", down["alert_id"], "--by", "alice"], timeout=30)
        check(res.code == 0, "clockwerk ack: %r" % res.text)
        cw.wait_log(r"incident %s of a acknowledged by .*alice" % down["alert_id"], timeout=20)
        reminders = count(hook, "team-a", "reminder")
        end = deadline(12)
        while time.time() < end:  # past the escalation's 8 s and several renotify periods
            wait_checks(sw, "a", 1)
        check(count(hook, "team-a", "reminder") <= reminders + 1,  # one may have been in the window already
              "reminders after the ack: %r" % alerts_of(hook, "team-a"))
        check(not hook.calls("pager"), "escalated after the ack: %r" % hook.calls("pager"))
        bad = harness.run_cli(["-c", cw.conf_path, "ack", "0123456789abcdef"], timeout=30)
        check(bad.code != 0 and "no open incident has alert id 0123456789abcdef" in bad.text,
              "ack of an unknown id: %r" % bad.text)
        sw.set("a", 200)
        up = wait_alert(hook, "team-a", "up", "a")
        check(up["incident_id"] == down["alert_id"], "the UP of the acked incident: %r" % up)
