"""tests/e2e/test_web_api.py — clockwerk-web's JSON API (docs/api.md) against its OpenAPI file (docs/openapi.yaml):
a small real pipeline (targets on loopback: one up, one failing, one with credentials in its URL), and every
answer of every route — the list and its paging, each endpoint, its daily and hourly history, the incidents,
and the 400/404 cases — is validated with Debian's python3-jsonschema (Draft 4 + RefResolver over the whole
file, OpenAPI's `nullable` turned into a JSON Schema type list: /work notes, web-design.md §4). Every object in
the file is closed (additionalProperties: false), so an undocumented field fails; a fabricated answer with one
proves that the validation can fail.

With the history read (web.history_refresh = 5 s; the test waits for it, never sleeps) the history fields are
filled: every endpoint's windows (24 h uptime), `res=day` with 90 points and today's checks > 0, `res=hour` 200
with 720 points and the current hour's checks > 0, and the incidents — the failing endpoint's ongoing, and one
of an endpoint that went down and came back (Flappy) with its start and end — in `{id}` and /api/v1/incidents.
"""

import copy
import json
import os
import re
import time

import jsonschema
import yaml

import harness
from harness import Clockwerk, check, deadline, endpoint, free_port, tempdir, wait_for
from hbase import REPO
from targets import Targets
from test_web import WEB, get, wait_serving, web_config
from test_web_truth import Flip, iso_ms

SPEC = os.path.join(REPO, "docs", "openapi.yaml")
REFRESH = 5  # web.history_refresh, its minimum


def nullable_to_jsonschema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema: the type also "null" (and None among an enum's values)."""
    if isinstance(node, list):
        return [nullable_to_jsonschema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: nullable_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = out["enum"] + [None]
        if "$ref" in out:  # a $ref ignores its siblings in Draft 4
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}]}
    return out


class Spec:
    def __init__(self):
        with open(SPEC) as f:
            self.raw = yaml.safe_load(f)
        check(self.raw.get("openapi", "").startswith("3.0"), "docs/openapi.yaml is not OpenAPI 3.0")
        self.doc = nullable_to_jsonschema(self.raw)
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        for name, schema in self.doc["components"]["schemas"].items():
            jsonschema.Draft4Validator.check_schema(schema)
            if schema.get("type") in ("object", ["object", "null"]):
                check(schema.get("additionalProperties") is False, "schema %s is not closed" % name)

    def schema_for(self, template, status):
        resp = self.doc["paths"][template]["get"]["responses"][str(status)]
        if "$ref" in resp:
            resp = self.resolver.resolve(resp["$ref"])[1]
        return resp["content"]["application/json"]["schema"]

    def errors(self, template, status, answer):
        v = jsonschema.Draft4Validator(self.schema_for(template, status), resolver=self.resolver)
        return ["%s at %s" % (e.message, "/".join(str(p) for p in e.absolute_path)) for e in v.iter_errors(answer)]


def api(port, spec, path, template, statuses=(200,)):
    """GET path: its status must be one of statuses, its body JSON valid against the file; returns (status, JSON)."""
    st, h, body = get(port, path)
    check(st in statuses, "GET %s: %s %r" % (path, st, body[:300]))
    check(h.get("content-type") == "application/json", "GET %s: content type %r" % (path, h.get("content-type")))
    try:
        answer = json.loads(body)
    except ValueError as e:
        raise AssertionError("GET %s: not JSON (%s): %r" % (path, e, body[:300]))
    errs = spec.errors(template, st, answer)
    check(not errs, "GET %s (%s) does not match docs/openapi.yaml: %s" % (path, st, errs[:5]))
    return st, answer


def state_of(port, eid):
    """From the list: /api/v1/endpoints/{id} would read the detail, kept 10 s (web/history_wait.h)."""
    return {e["id"]: e for e in json.loads(get(port, "/api/v1/endpoints")[2])["endpoints"]}[eid]["state"]


def history_settled(port):
    """Every endpoint's 24 h window counted, Flappy's incident closed and Broken one's open in the snapshot."""
    eps = json.loads(get(port, "/api/v1/endpoints")[2])["endpoints"]
    if not all(e["windows"] and e["windows"]["24h"]["checks"] >= 3 for e in eps):
        return None
    ends = {i["endpoint"]: i["end"] for i in json.loads(get(port, "/api/v1/incidents")[2])["incidents"]}
    return ends.get("flappy") and "broken-one" in ends and ends["broken-one"] is None


@harness.timeout(240)
def test_web_api_against_openapi():
    spec = Spec()
    port = free_port()
    with tempdir() as d, Targets() as t, Flip() as flip:
        secret_url = t.url("/ok?token=s3cr3t").replace("http://", "http://ops:pa55w0rd@")
        eps = [endpoint(t.url("/ok"), name="Main \"site\"", timeout=1, group="Front"),
               endpoint(t.url("/fail"), name="Broken one", timeout=1),
               endpoint(secret_url, timeout=1),
               endpoint(flip.url("/flip"), name="Flappy", timeout=1, alert_threshold=2)]
        with Clockwerk(web_config(eps, port, web={"history_refresh": REFRESH}), d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)

            def all_checked():
                answer = json.loads(get(port, "/api/v1/endpoints")[2])
                return answer if all(e["last_check"] for e in answer["endpoints"]) else None
            wait_for(all_checked, deadline(30), "every endpoint checked in /api/v1/endpoints")
            wait_for(lambda: state_of(port, "flappy") == "up", deadline(30), "Flappy up")
            flip.failing = True  # Flappy goes down (2 failures) and comes back: an incident with an end
            wait_for(lambda: state_of(port, "flappy") == "down", deadline(30), "Flappy down")
            flip.failing = False
            wait_for(lambda: state_of(port, "flappy") == "up", deadline(30), "Flappy up again")
            wait_for(lambda: history_settled(port), deadline(8 * REFRESH),
                     "a snapshot with every endpoint's 24 h and both incidents")

            st, answer = api(port, spec, "/api/v1/endpoints", "/api/v1/endpoints")
            check(answer["total"] == 4 and len(answer["endpoints"]) == 4, "4 endpoints: %r" % answer)
            for e in answer["endpoints"]:
                check(e["windows"]["24h"]["uptime_percent"] is not None, "%s: no 24 h uptime" % e["id"])
            uptimes = {e["name"]: e["windows"]["24h"]["uptime_percent"] for e in answer["endpoints"]}
            check(uptimes["Main \"site\""] == 100.0 and uptimes["Broken one"] == 0.0 and 0 < uptimes["Flappy"] < 100,
                  "24 h uptimes %r" % uptimes)
            by_name = {e["name"]: e for e in answer["endpoints"]}
            check(by_name["Main \"site\""]["state"] == "up" and by_name["Main \"site\""]["group"] == "Front",
                  "Main: %r" % by_name["Main \"site\""])
            check(by_name["Broken one"]["state"] in ("failing", "down"), "Broken: %r" % by_name["Broken one"])
            check(by_name["Broken one"]["last_check"]["status_code"] == 500, "Broken's status")
            unnamed = by_name[None]
            check(unnamed["url"] == "http://***@127.0.0.1:%d/ok?***" % t.port, "masked URL %r" % unnamed["url"])
            text = get(port, "/api/v1/endpoints")[2].decode()
            check("pa55w0rd" not in text and "s3cr3t" not in text, "a credential in the API")

            st, page = api(port, spec, "/api/v1/endpoints?limit=1&offset=1", "/api/v1/endpoints")
            check([e["id"] for e in page["endpoints"]] == [answer["endpoints"][1]["id"]] and page["limit"] == 1,
                  "limit=1&offset=1: %r" % page)
            st, page = api(port, spec, "/api/v1/endpoints?offset=10", "/api/v1/endpoints")
            check(page["endpoints"] == [] and page["total"] == 4, "offset past the end: %r" % page)

            for e in answer["endpoints"]:
                st, one = api(port, spec, "/api/v1/endpoints/%s" % e["id"], "/api/v1/endpoints/{id}")
                check(one["endpoint"]["id"] == e["id"], "one endpoint: %r" % one)
                st, days = api(port, spec, "/api/v1/endpoints/%s/history" % e["id"],
                               "/api/v1/endpoints/{id}/history")
                check(days["res"] == "day" and len(days["points"]) == 90, "res=day: %d points" % len(
                    days["points"]))
                today = time.strftime("%Y-%m-%dT00:00:00.000Z", time.gmtime(iso_ms(days["history_at"]) / 1000))
                check(days["points"][-1]["start"] == today and days["points"][-1]["checks"] > 0
                      and all(p["checks"] == 0 for p in days["points"][:-2]),
                      "%s: res=day, today's point %r" % (e["id"], days["points"][-1]))
                api(port, spec, "/api/v1/endpoints/%s/history?res=day" % e["id"], "/api/v1/endpoints/{id}/history")
                path = "/api/v1/endpoints/%s/history?res=hour" % e["id"]

                def recent_hours():  # a detail is kept 10 s: one read before the checks were stored may serve
                    points = json.loads(get(port, path)[2])["points"]
                    return sum(p["checks"] for p in points[-2:]) > 0
                wait_for(recent_hours, deadline(30), "%s: checks in the last hours of res=hour" % e["id"])
                st, hours = api(port, spec, path, "/api/v1/endpoints/{id}/history")
                check(hours["res"] == "hour" and len(hours["points"]) == 720, "res=hour: %d points" % len(
                    hours["points"]))
                check(sum(p["checks"] for p in hours["points"][-2:]) > 0 and hours["points"][-1]["start"] <= (
                    hours["history_at"]), "%s: res=hour, the last points %r" % (e["id"], hours["points"][-2:]))
                if one["endpoint"]["name"] in ("Flappy", "Broken one"):
                    inc = one["incidents"]
                    closed = one["endpoint"]["name"] == "Flappy"
                    check(len(inc) == 1 and inc[0]["ongoing"] != closed and (inc[0]["end"] is not None) == closed
                          and inc[0]["message"], "%s's incidents %r" % (e["id"], inc))
                    if closed:
                        check(iso_ms(inc[0]["start"]) < iso_ms(inc[0]["end"]) and abs(
                            (iso_ms(inc[0]["end"]) - iso_ms(inc[0]["start"])) / 1000.0 - inc[0]["duration_seconds"])
                            < 0.002, "Flappy's incident %r" % inc[0])
            st, inc = api(port, spec, "/api/v1/incidents", "/api/v1/incidents")
            check(inc["limit"] == 100, "default incidents limit %r" % inc["limit"])
            check(sorted(i["endpoint"] for i in inc["incidents"]) == ["broken-one", "flappy"]
                  and all(i["start"] and (i["end"] is None) == i["ongoing"] for i in inc["incidents"]),
                  "/api/v1/incidents: %r" % inc["incidents"])
            api(port, spec, "/api/v1/incidents?limit=1000", "/api/v1/incidents")

            bad = [("/api/v1/endpoints?limit=0", "/api/v1/endpoints"),
                   ("/api/v1/endpoints?limit=abc", "/api/v1/endpoints"),
                   ("/api/v1/endpoints?offset=-1", "/api/v1/endpoints"),
                   ("/api/v1/endpoints?limit", "/api/v1/endpoints"),
                   ("/api/v1/endpoints/broken-one/history?res=week", "/api/v1/endpoints/{id}/history"),
                   ("/api/v1/incidents?limit=1001", "/api/v1/incidents"),
                   ("/api/v1/incidents?limit=", "/api/v1/incidents")]
            for path, template in bad:
                api(port, spec, path, template, statuses=(400,))
            for path, template in [("/api/v1/endpoints/no-such-id", "/api/v1/endpoints/{id}"),
                                   ("/api/v1/endpoints/no-such-id/history", "/api/v1/endpoints/{id}/history")]:
                api(port, spec, path, template, statuses=(404,))
            st, h, body = get(port, "/api/v1/endpoints/broken-one/nothing")
            check(st == 404 and json.loads(body).get("error"), "an unknown sub-path: %s %r" % (st, body))
            st, h, body = get(port, "/api/v1/nothing")
            check(st == 404, "an unknown API path: %s" % st)
            st, h, body = get(port, "/api/v1/endpoints", method="POST", body=b"{}")
            check(st == 405, "POST to the API: %s" % st)

            # the validation can fail: an undocumented field, a wrong type, a missing field
            forged = copy.deepcopy(answer)
            forged["endpoints"][0]["secret"] = "x"
            check(spec.errors("/api/v1/endpoints", 200, forged), "an extra field passed the validation")
            forged = copy.deepcopy(answer)
            forged["endpoints"][0]["state"] = "sideways"
            check(spec.errors("/api/v1/endpoints", 200, forged), "an unknown state passed the validation")
            forged = copy.deepcopy(answer)
            del forged["total"]
            check(spec.errors("/api/v1/endpoints", 200, forged), "a missing field passed the validation")
            cw.stop()


def test_web_api_doc_examples_match_openapi():
    """docs/api.md's examples (each after a `<!-- example: PATH STATUS -->` line) are valid against the file: the
    history fields the running web above still leaves null (windows, incidents, points) are checked here."""
    spec = Spec()
    with open(os.path.join(REPO, "docs", "api.md")) as f:
        text = f.read()
    found = re.findall(r"<!-- example: (\S+) (\d{3}) -->\n```json\n(.*?)\n```", text, re.S)
    check(len(found) >= 8, "only %d examples in docs/api.md" % len(found))
    for template, status, body in found:
        errs = spec.errors(template, int(status), json.loads(body))
        check(not errs, "the example of %s %s in docs/api.md: %s" % (template, status, errs[:5]))
    covered = {(tpl, st) for tpl, st, _ in found}
    for template in spec.doc["paths"]:
        check((template, "200") in covered, "docs/api.md has no example of %s" % template)
