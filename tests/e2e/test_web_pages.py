"""tests/e2e/test_web_pages.py — clockwerk-web's pages in a real browser (docs/web.md, "Pages"): headless Chromium
(Debian `chromium`) driven over the DevTools protocol (python3-websocket) loads `/` and an endpoint's page of a
small real pipeline (targets on loopback, one endpoint failing, one over TLS, one with credentials in its URL)
and the test asserts on the rendered DOM: every endpoint's name, its state, a bar of 90 cells, the stylesheet
applied under the CSP, no credential anywhere; no console error, no exception, no failed or refused load. A
screenshot of each page is kept as an artifact (build/e2e-artifacts/, or $CLOCKWERK_E2E_ARTIFACTS).

With the history read (web.history_refresh = 5 s; the test waits for its reads, never sleeps): today's cell
of every bar is coloured after a few checks (green for the endpoint up, red for the failing one), every row has
its 24 h uptime, the endpoint page has the response-time chart (4 phase areas and the p50 line) and its
incidents — the failing one's ongoing, and one of an endpoint that went down and came back with its start and
end.
"""

import base64
import json
import re
import os
import shutil
import subprocess
import time
import urllib.request

import harness
from harness import Clockwerk, check, deadline, endpoint, free_port, tempdir, wait_for
from hbase import PROCESSES, REPO, TestFailure, _kill_group
from targets import Targets, make_self_signed_cert
from test_web import WEB, get, wait_serving, web_config
from test_web_truth import Flip

REFRESH = 5  # web.history_refresh, its minimum


def artifact_dir():
    d = os.environ.get("CLOCKWERK_E2E_ARTIFACTS") or os.path.join(REPO, "build", "e2e-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


class Chromium:
    """A headless Chromium in its own process group with a fresh profile, driven over the DevTools protocol."""

    def __init__(self, workdir):
        self.dir = workdir
        self.proc = None
        self.ws = None
        self.next_id = 0
        self.events = []

    def __enter__(self):
        import websocket  # Debian python3-websocket (tools/install-deps.sh test)
        exe = shutil.which("chromium") or "/usr/bin/chromium"
        profile = os.path.join(self.dir, "chromium-profile")
        os.makedirs(profile)
        self.log = open(os.path.join(self.dir, "chromium.log"), "wb")  # *.log: kept as an artifact
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync", "--mute-audio",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=" + profile,
             "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        PROCESSES.add(self.proc.pid)
        try:
            port_file = os.path.join(profile, "DevToolsActivePort")

            def port():
                with open(port_file) as f:
                    first = f.read().split("\n")[0].strip()
                return int(first) if first.isdigit() else None
            p = wait_for(port, deadline(60), "chromium's DevTools port", ignore=(OSError,))

            def page_socket():
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % p, timeout=5) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                return pages[0]["webSocketDebuggerUrl"] if pages else None
            url = wait_for(page_socket, deadline(30), "chromium's page target", ignore=(OSError,))
            self.ws = websocket.create_connection(url, timeout=deadline(30), suppress_origin=True)
            for method in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
                self.call(method)
            self.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.ws:
            try:
                self.ws.close()
            except OSError:
                pass
        if self.proc:
            _kill_group(self.proc.pid)
            self.proc.wait(timeout=deadline(10))
        self.log.close()

    def _recv(self):
        msg = json.loads(self.ws.recv())
        if "id" not in msg:
            self.events.append(msg)
        return msg

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = self._recv()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise TestFailure("DevTools %s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def navigate(self, url):
        """Loads url and waits for its load event; returns the problems the browser saw meanwhile."""
        self.events = []
        res = self.call("Page.navigate", url=url)
        check(not res.get("errorText"), "navigating to %s: %s" % (url, res.get("errorText")))
        end = time.monotonic() + deadline(30)
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            check(time.monotonic() < end, "no load event for %s" % url)
            self._recv()
        self.evaluate("1")  # lets the events of the load's end arrive
        return self.problems()

    def submit(self, expression):
        """Runs expression (which submits a form or follows a link) and waits for the new page's load event;
        returns the problems the browser saw meanwhile."""
        self.events = []
        self.call("Runtime.evaluate", expression=expression)
        end = time.monotonic() + deadline(30)
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            check(time.monotonic() < end, "no load event after %s" % expression)
            self._recv()
        self.evaluate("1")
        return self.problems()

    def problems(self):
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], [a.get("value") for a in p.get("args", [])]))
            elif m == "Runtime.exceptionThrown":
                out.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
            elif m == "Network.loadingFailed":
                out.append("load failed: %s %s" % (p.get("errorText"), p.get("blockedReason", "")))
            elif m == "Network.responseReceived" and p.get("response", {}).get("status", 200) >= 400:
                out.append("HTTP %s for %s" % (p["response"]["status"], p["response"].get("url")))
        return out

    def evaluate(self, expression):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        check("exceptionDetails" not in res, "evaluating %s: %s" % (expression, res.get("exceptionDetails")))
        return res.get("result", {}).get("value")

    def screenshot(self, name):
        """The whole page (up to 2000 px high) as a PNG artifact; returns its path."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": 1280, "height": min(max(size["height"], 300), 2000), "scale": 1}
        data = self.call("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)["data"]
        path = os.path.join(artifact_dir(), name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        harness.note("screenshot: %s" % path)
        return path


# What the rendered `/` shows, read from the DOM (not the HTML text: what the browser made of it).
INDEX_DOM = """(() => {
  const rows = [...document.querySelectorAll('tr[id^="ep-"]')].map(tr => ({
    id: tr.id.slice(3),
    name: tr.querySelector('td a').textContent,
    state: tr.querySelector('td.state').textContent,
    cells: tr.querySelectorAll('.bar i').length,
    titled: [...tr.querySelectorAll('.bar i')].filter(i => /^\\d{4}-\\d\\d-\\d\\d: /.test(i.title)).length,
    cert: tr.lastElementChild.textContent,
    today: tr.querySelector('.bar i:last-child').className,
    uptimes: [...tr.querySelectorAll('td.n')].slice(0, 4).map(td => td.textContent),
  }));
  const banner = document.querySelector('.banner');
  return {rows, title: document.title, text: document.body.innerText,
          banner: banner && banner.className, bannerColour: banner && getComputedStyle(banner).backgroundColor,
          groups: [...document.querySelectorAll('h2[id^="g"]')].map(h => h.textContent),
          scripts: document.scripts.length};
})()"""

ENDPOINT_DOM = """(() => ({
  name: document.querySelector('#name').textContent,
  state: document.querySelector('#state').textContent,
  cells: document.querySelectorAll('.bar i').length,
  chart: !!document.querySelector('svg.chart'),
  phases: document.querySelectorAll('svg.chart path.phase').length,
  p50: !!document.querySelector('svg.chart path.p50'),
  noHistory: !!document.querySelector('#no-history, #no-chart'),
  windows: [...document.querySelectorAll('.win a, .win b')].map(a => a.textContent),
  incidents: [...document.querySelectorAll('#incidents tbody tr')].map(tr => [...tr.cells].map(td => td.textContent)),
  text: document.body.innerText,
}))()"""


def history_settled(port):
    """Every endpoint's 24 h window counted, Flappy's incident closed and Broken one's open in the snapshot."""
    eps = json.loads(get(port, "/api/v1/endpoints")[2])["endpoints"]
    if not all(e["windows"] and e["windows"]["24h"]["checks"] >= 3 for e in eps):
        return None
    incidents = json.loads(get(port, "/api/v1/incidents")[2])["incidents"]
    ends = {i["endpoint"]: i["end"] for i in incidents}
    return ends.get("flappy") and "broken-one" in ends and ends["broken-one"] is None


@harness.timeout(240)
def test_web_pages_in_chromium():
    port = free_port()
    with tempdir() as d, Targets() as t, Flip() as flip:
        cert, key = make_self_signed_cert(d)
        with Targets(tls_cert=(cert, key)) as tls:
            secret_url = t.url("/ok?token=s3cr3t").replace("http://", "http://ops:pa55w0rd@")
            eps = [endpoint(t.url("/ok"), name="Main <site>", timeout=1, group="Front & back"),
                   endpoint(tls.url("/ok"), name="Secure", timeout=1, group="Front & back", verify_tls=False),
                   endpoint(t.url("/fail"), name="Broken one", timeout=1),
                   endpoint(secret_url, timeout=1),
                   endpoint(flip.url("/flip"), name="Flappy", timeout=1, alert_threshold=2)]
            names = ["Main <site>", "Secure", "Broken one", "http://***@127.0.0.1:%d/ok?***" % t.port, "Flappy"]
            with Clockwerk(web_config(eps, port, web={"history_refresh": REFRESH}), d) as cw:
                cw.wait_ready(titles=cw.expected_titles() + [WEB])
                wait_serving(port)

                def settled():
                    page = get(port, "/")[2]
                    return page.count(b'class="state up">up<') == 4 and b'class="state down">down<' in page
                # the failing one goes from failing to down once the alerter has seen 3 failures
                wait_for(settled, deadline(30), "four endpoints up and one down on /")
                flip.failing = True  # Flappy goes down (2 failures) and comes back: an incident with an end
                wait_for(lambda: any(e["id"] == "flappy" and e["state"] == "down"  # the list: no detail read
                                     for e in json.loads(get(port, "/api/v1/endpoints")[2])["endpoints"]),
                         deadline(30), "Flappy down")
                flip.failing = False
                wait_for(settled, deadline(30), "Flappy up again")
                wait_for(lambda: history_settled(port), deadline(8 * REFRESH),
                         "a snapshot with every endpoint's 24 h and both incidents")
                st, h, _ = get(port, "/endpoint/no-such-id")  # the page's own 404, also with a database
                check(st == 404 and h.get("content-type", "").startswith("text/html"), "an unknown endpoint's page: "
                      "%s %r" % (st, h.get("content-type")))
                with Chromium(d) as browser:
                    problems = browser.navigate("http://127.0.0.1:%d/" % port)
                    check(problems == [], "the browser saw problems on /: %s" % problems)
                    dom = browser.evaluate(INDEX_DOM)
                    browser.screenshot("web-index.png")
                    rows = {r["name"]: r for r in dom["rows"]}
                    check(sorted(rows) == sorted(names), "endpoints on /: %s" % sorted(rows))
                    for name in names:
                        want = "down" if name == "Broken one" else "up"
                        check(rows[name]["state"] == want, "%s is %r on /" % (name, rows[name]["state"]))
                        check(rows[name]["cells"] == 90 and rows[name]["titled"] == 90,
                              "%s: a bar of %d cells (%d with a dated tooltip)" % (
                                  name, rows[name]["cells"], rows[name]["titled"]))
                        # today's cell: red (c5, below 80 %) for the failing one, green (c1) for the steady ones
                        want_cell = {"Broken one": "c5", "Flappy": rows[name]["today"]}.get(name, "c1")
                        check(rows[name]["today"] == want_cell and want_cell != "c0",
                              "%s: today's cell %r on /" % (name, rows[name]["today"]))
                        check(re.match(r"^\d+(\.\d\d)?%$", rows[name]["uptimes"][0]),
                              "%s: 24 h uptime %r" % (name, rows[name]["uptimes"]))
                    check(rows["Broken one"]["uptimes"][0] == "0.00%" and rows["Main <site>"]["uptimes"][0] == "100%",
                          "24 h uptimes: %s" % {n: r["uptimes"][0] for n, r in rows.items()})
                    cert = rows["Secure"]["cert"]  # a one-day test certificate: hours
                    check(re.match(r"^\d+ [dh]$", cert), "the certificate's days: %r" % cert)
                    check(dom["groups"] == ["Front & back", "Other"], "groups: %s" % dom["groups"])
                    check(dom["banner"] == "banner degraded", "banner %r" % dom["banner"])
                    check(dom["bannerColour"] not in (None, "", "rgba(0, 0, 0, 0)"),
                          "the stylesheet was not applied: banner colour %r" % dom["bannerColour"])
                    check(dom["title"] == "Test <status>", "title %r" % dom["title"])
                    check(dom["scripts"] == 0, "the page has %d scripts" % dom["scripts"])
                    check("pa55w0rd" not in dom["text"] and "s3cr3t" not in dom["text"], "a credential on /")

                    # the search form (a GET form the CSP lets submit to the web itself) and a group's own view
                    problems = browser.submit("document.querySelector('form.search input[name=q]').value = 'FLAP';"
                                              "document.querySelector('form.search').requestSubmit()")
                    check(problems == [], "the browser saw problems submitting the search: %s" % problems)
                    dom = browser.evaluate(INDEX_DOM)
                    search = browser.evaluate("location.search")
                    check([r["name"] for r in dom["rows"]] == ["Flappy"] and "1 of 5 endpoints match" in dom["text"],
                          "the search for FLAP (%s): %s" % (search, [r["name"] for r in dom["rows"]]))
                    browser.navigate("http://127.0.0.1:%d/" % port)
                    problems = browser.submit("document.querySelector('h2[id^=\"g\"] a').click()")
                    check(problems == [], "the browser saw problems on the group's view: %s" % problems)
                    dom = browser.evaluate(INDEX_DOM)
                    check(browser.evaluate("location.search") == "?group=Front%20%26%20back"
                          and sorted(r["name"] for r in dom["rows"]) == ["Main <site>", "Secure"],
                          "the group's view: %s" % [r["name"] for r in dom["rows"]])

                    problems = browser.navigate("http://127.0.0.1:%d/endpoint/broken-one" % port)
                    check(problems == [], "the browser saw problems on /endpoint/broken-one: %s" % problems)
                    page = browser.evaluate(ENDPOINT_DOM)
                    browser.screenshot("web-endpoint.png")
                    check(page["name"] == "Broken one" and page["state"] == "down", "endpoint page: %r %r" % (
                        page["name"], page["state"]))
                    check(page["cells"] == 90, "endpoint page: a bar of %d cells" % page["cells"])
                    check(page["windows"] == ["24h", "7d", "30d"], "window links %s" % page["windows"])
                    check(page["chart"] and not page["noHistory"], "no chart on the endpoint page")
                    check(page["phases"] == 4 and page["p50"], "the chart: %d phase areas, p50 %s" % (
                        page["phases"], page["p50"]))
                    check("HTTP 500" in page["text"], "the last check's error on the endpoint page")
                    stamp = r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"
                    check(len(page["incidents"]) == 1 and re.match(stamp, page["incidents"][0][0])
                          and page["incidents"][0][1] == "ongoing", "Broken one's incidents %s" % page["incidents"])

                    problems = browser.navigate("http://127.0.0.1:%d/endpoint/flappy" % port)
                    check(problems == [], "the browser saw problems on /endpoint/flappy: %s" % problems)
                    page = browser.evaluate(ENDPOINT_DOM)
                    check(page["chart"] and page["state"] == "up", "Flappy's page: chart %s, state %r" % (
                        page["chart"], page["state"]))
                    inc = page["incidents"]
                    check(len(inc) == 1 and re.match(stamp, inc[0][0]) and re.match(stamp, inc[0][1])
                          and inc[0][0] <= inc[0][1] and re.match(r"^\d+ (s|min)", inc[0][2]),
                          "Flappy's incident (start, end, duration, error): %s" % inc)

                    problems = browser.navigate("http://127.0.0.1:%d/endpoint/%s?window=7d" % (
                        port, rows[names[3]]["id"]))
                    check(problems == [], "problems on the unnamed endpoint's page: %s" % problems)
                    text = browser.evaluate("document.body.innerText")
                    check("pa55w0rd" not in text and "s3cr3t" not in text and "***@" in text,
                          "the masked URL on the endpoint page")
                cw.stop()
