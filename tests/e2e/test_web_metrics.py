"""tests/e2e/test_web_metrics.py — clockwerk-web's /metrics and badges (docs/web.md, "Metrics", "Badges") in a
real pipeline: a supervisor with a worker, the storer, the alerter and the web on a port chosen at run time,
checking endpoints on a local HTTP server.

/metrics: the exposition passes `promtool check metrics` with no output; a real Prometheus (Debian `prometheus`,
its own port and storage directory, scrape_interval 1s, basic auth as configured on the web) scrapes it and the
PromQL query `clockwerk_endpoint_up` returns one series per endpoint with the right value; the URL's credentials
and query never appear; the supervisor's restarts arrive (clockwerk_process_restarts_total). With
web.metrics_per_endpoint off only the aggregates by group are there (Prometheus sums them), and a reload to on
restarts the web alone and brings the per-endpoint series back. Badges: SVG that
parses as XML with role="img" and a title, the status badge turns from green to the failing/down colour when its
endpoint's server goes away; unknown IDs and names are 404.

Every server (targets, Prometheus, the pipeline) is stopped on every path; conditions are polled with generous
deadlines, never fixed sleeps.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

import hbase
from harness import Clockwerk, base_config, check, deadline, endpoint, free_port, note, tempdir, wait_for
from targets import Targets

WEB = "clockwerk: web"
SVG_NS = "{http://www.w3.org/2000/svg}"


def web_config(endpoints, port, web=None):
    cfg = base_config(endpoints, workers=1)
    cfg["web"] = {"listen": "127.0.0.1:%d" % port, "title": "Metrics test"}
    cfg["web"].update(web or {})
    return cfg


def get(port, path, headers=None, timeout=10.0):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


def wait_serving(port):
    def up():
        try:
            return get(port, "/healthz")[0] == 200
        except OSError:
            return False
    wait_for(up, deadline(30), "the web answering /healthz 200 on port %d" % port)


def samples(text, name):
    """{labels string: value} of the samples of one metric name."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name):]] = float(value)
    return out


def label(labels, key):
    m = labels.split(key + '="', 1)
    return m[1].split('"', 1)[0] if len(m) == 2 else None


class Prometheus:
    """A real Prometheus scraping one target with basic auth; stopped on every path (context manager)."""

    def __init__(self, directory, target_port, user, password):
        self.dir = os.path.join(directory, "prometheus")
        os.makedirs(self.dir)
        self.port = free_port()
        pwfile = os.path.join(self.dir, "password")
        with open(pwfile, "w") as f:
            f.write(password)
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                    "  - job_name: clockwerk\n    basic_auth:\n      username: %s\n      password_file: %s\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % (user, pwfile, target_port))
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + self.config, "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        hbase.PROCESSES.add(self.proc.pid)
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        hbase.capture_artifact("prometheus.log", self.log_path)

    def query(self, promql):
        """The result list of an instant query ([] while Prometheus is not ready)."""
        try:
            st, h, body = get(self.port, "/api/v1/query?query=" + urllib.parse.quote(promql))
        except OSError:
            return []
        if st != 200:
            return []
        doc = json.loads(body)
        return doc.get("data", {}).get("result", []) if doc.get("status") == "success" else []


def test_web_metrics_promtool_and_prometheus():
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        raise hbase.TestFailure("prometheus/promtool not installed (tools/install-deps.sh test)")
    port = free_port()
    password = "m3trics-Pw-%d" % port
    with tempdir() as d, Targets() as t:
        pwfile = os.path.join(d, "web.password")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        os.chmod(pwfile, 0o600)
        secret_url = t.url("/ok").replace("http://", "http://user:pw@") + "?token=topsecret"
        eps = [endpoint(t.url("/ok"), name="Main site", timeout=1, group='Front "end"'),
               endpoint(t.url("/fail"), name="Broken one", timeout=1),
               endpoint(secret_url, timeout=1)]
        cfg = web_config(eps, port, web={"auth_user": "ops", "auth_password_file": pwfile})
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)
            st, h, body = get(port, "/metrics")
            check(st == 401, "/metrics without auth: %s" % st)
            auth = basic("ops", password)

            def full():
                st, h, body = get(port, "/metrics", headers=auth)
                text = body.decode()
                ups = samples(text, "clockwerk_endpoint_up")
                return (st == 200 and len(ups) == 3 and "clockwerk_checks_in_flight{" in text
                        and 'clockwerk_process_restarts_total{role="web"}' in text and (h, text))
            h, text = wait_for(full, deadline(40), "/metrics with 3 endpoints, worker and supervisor counters")
            check(h.get("content-type") == "text/plain; version=0.0.4; charset=utf-8",
                  "content type %r" % h.get("content-type"))
            check("pw@" not in text and "topsecret" not in text, "credentials or the query in /metrics")
            infos = samples(text, "clockwerk_endpoint_info")
            secret_id = [label(k, "endpoint") for k in infos if "?***" in k]
            check(len(secret_id) == 1 and 'url="http://***@127.0.0.1' in [k for k in infos if "?***" in k][0],
                  "the masked URL on _info: %r" % list(infos))
            check('group="Front \\"end\\""' in text, "the group escaped on _info")
            hbase.ARTIFACTS["metrics.txt"] = text

            lint = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                                  timeout=60)
            check(lint.returncode == 0 and lint.stdout == b"" and lint.stderr == b"",
                  "promtool check metrics: rc %d, %r %r" % (lint.returncode, lint.stdout[:2000], lint.stderr[:2000]))

            want = {"main-site": "1", "broken-one": "0", secret_id[0]: "1"}
            with Prometheus(d, port, "ops", password) as prom:
                def scraped():
                    got = {r["metric"].get("endpoint"): r["value"][1] for r in prom.query("clockwerk_endpoint_up")}
                    return got == want and got
                wait_for(scraped, deadline(90), "Prometheus returning clockwerk_endpoint_up %r" % want)
                res = prom.query('up{job="clockwerk"}')
                check(len(res) == 1 and res[0]["value"][1] == "1", "the scrape itself is up: %r" % res)
                roles = {r["metric"].get("role") for r in prom.query("clockwerk_process_restarts_total")}
                check({"worker", "storer", "alerter", "relay", "web"} <= roles, "restarts per role: %r" % roles)
                hist = prom.query('clockwerk_check_duration_seconds_count{endpoint="main-site",phase="total"}')
                check(len(hist) == 1 and float(hist[0]["value"][1]) >= 1, "the duration histogram: %r" % hist)
            cw.stop()


def test_web_metrics_per_endpoint_switch():
    """web.metrics_per_endpoint = "off": only the aggregates by group, lint clean, scraped by a real Prometheus
    (sums right); a reload to "on" restarts the web alone and brings the per-endpoint series back (issue 18)."""
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        raise hbase.TestFailure("prometheus/promtool not installed (tools/install-deps.sh test)")
    port = free_port()
    password = "sw1tch-Pw-%d" % port
    with tempdir() as d, Targets() as t:
        pwfile = os.path.join(d, "web.password")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        os.chmod(pwfile, 0o600)
        eps = [endpoint(t.url("/ok"), name="A ok", timeout=1, group='A "1"'),
               endpoint(t.url("/fail"), name="A fail", timeout=1, group='A "1"'),
               endpoint(t.url("/ok?x=1"), name="Loose", timeout=1)]
        web = {"auth_user": "ops", "auth_password_file": pwfile, "metrics_per_endpoint": "off"}
        cfg = web_config(eps, port, web=web)
        auth = basic("ops", password)
        with Clockwerk(cfg, d) as cw:
            pids = cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)

            def aggregates():
                st, h, body = get(port, "/metrics", headers=auth)
                text = body.decode()
                checks = samples(text, "clockwerk_group_checks_total")
                return st == 200 and checks.get('{group="A \\"1\\"",result="failed"}', 0) >= 1 and text
            text = wait_for(aggregates, deadline(40), "/metrics with the group's failed checks")
            check("clockwerk_endpoint_info" not in text and "clockwerk_endpoint_up" not in text,
                  "per-endpoint series with metrics_per_endpoint off")
            counts = samples(text, "clockwerk_endpoints")
            check(sum(counts.values()) == 3 and counts.get('{group="",type="http",state="up"}') in (0, 1),
                  "clockwerk_endpoints: %r" % counts)
            lint = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                                  timeout=60)
            check(lint.returncode == 0 and lint.stdout == b"" and lint.stderr == b"",
                  "promtool check metrics: rc %d, %r %r" % (lint.returncode, lint.stdout[:2000], lint.stderr[:2000]))
            with Prometheus(d, port, "ops", password) as prom:
                def scraped():
                    got = prom.query('sum by(group) (clockwerk_endpoints)')
                    by = {r["metric"].get("group", ""): r["value"][1] for r in got}
                    return by == {'A "1"': "2", "": "1"} and by
                wait_for(scraped, deadline(90), "Prometheus summing clockwerk_endpoints by group")
                hist = prom.query('clockwerk_group_check_duration_seconds_count{group="A \\"1\\""}')
                check(len(hist) == 1 and float(hist[0]["value"][1]) >= 2, "the group's histogram: %r" % hist)
                check(prom.query("clockwerk_endpoint_up") == [], "no per-endpoint series in Prometheus")

                web["metrics_per_endpoint"] = True  # a boolean: "on"
                cw.reload(web_config(eps, port, web=web))
                cw.wait_new_child(WEB, pids[WEB])
                wait_serving(port)

                def per_endpoint():
                    got = prom.query("clockwerk_endpoint_up")
                    return len(got) == 3 and got
                wait_for(per_endpoint, deadline(90), "clockwerk_endpoint_up for 3 endpoints after the reload")
                for title in cw.expected_titles():
                    check(cw.child(title) == pids[title], "%s restarted by a change of the web's key" % title)
            cw.stop()


def svg_of(port, path):
    st, h, body = get(port, path)
    check(st == 200, "%s: %s" % (path, st))
    check(h.get("content-type") == "image/svg+xml", "%s content type %r" % (path, h.get("content-type")))
    check(h.get("cache-control") == "no-cache, no-store, must-revalidate", "%s cache %r" % (path, h))
    root = ET.fromstring(body)  # raises on malformed XML
    check(root.tag == SVG_NS + "svg" and root.get("role") == "img", "%s root %r" % (path, root.attrib))
    title = root.find(SVG_NS + "title")
    check(title is not None and title.text == root.get("aria-label"), "%s title and aria-label" % path)
    fills = [r.get("fill") for r in root.iter(SVG_NS + "rect")]
    return title.text, fills


def test_web_badges_follow_the_state():
    port = free_port()
    with tempdir() as d, Targets() as t:
        gone = Targets()
        gone.start()
        try:
            eps = [endpoint(t.url("/ok"), name="Steady", timeout=1),
                   endpoint(gone.url("/ok"), name="Going <away>", timeout=1)]
            with Clockwerk(web_config(eps, port), d) as cw:
                cw.wait_ready(titles=cw.expected_titles() + [WEB])
                wait_serving(port)

                def status(path, want):
                    title, fills = svg_of(port, path)
                    return title in want and (title, fills)
                title, fills = wait_for(lambda: status("/badge/going-away/status.svg", ("status: up",)),
                                        deadline(30), "the status badge saying up")
                check("#4c1" in fills, "up is green: %r" % fills)
                gone.stop()
                title, fills = wait_for(
                    lambda: status("/badge/going-away/status.svg", ("status: failing", "status: down")),
                    deadline(40), "the status badge turning failing or down")
                check("#4c1" not in fills and ("#fe7d37" in fills or "#e05d44" in fills),
                      "the colour changed: %r" % fills)
                title, fills = svg_of(port, "/badge/steady/latency.svg")
                check(title.startswith("latency: ") or title.startswith("p95 24h: "), "latency badge %r" % title)
                title, fills = svg_of(port, "/badge/steady/uptime-30d.svg")
                check(title.startswith("uptime 30d: "), "uptime badge %r" % title)
                if title == "uptime 30d: no data":
                    note("no history snapshot in this build: the uptime badge shows 'no data'")
                for path in ("/badge/nope/status.svg", "/badge/steady/status.png", "/badge/steady",
                             "/badge/steady/", "/badge/../steady/status.svg"):
                    st, h, body = get(port, path)
                    check(st == 404, "%s: %s" % (path, st))
                cw.stop()
        finally:
            gone.stop()


def test_web_metrics_large_body_streams_whole():
    """2,000 endpoints: a body of megabytes, sent in many parts (chunked), arrives whole and lints clean."""
    port = free_port()
    n = 2000
    refused = hbase.closed_port_url("/")
    with tempdir() as d:
        eps = [endpoint("%sep%d" % (refused, i), timeout=1) for i in range(n)]
        cfg = base_config(eps, workers=1, check_interval=10)
        cfg["web"] = {"listen": "127.0.0.1:%d" % port, "title": "Large"}
        with Clockwerk(cfg, d) as cw:
            cw.wait_ready(titles=cw.expected_titles() + [WEB])
            wait_serving(port)

            def checked():
                st, h, body = get(port, "/metrics", timeout=60)
                text = body.decode()
                ups = samples(text, "clockwerk_endpoint_up")
                return st == 200 and len(ups) == n and (h, text)
            h, text = wait_for(checked, deadline(60), "/metrics with every endpoint checked once")
            check(h.get("transfer-encoding") == "chunked", "a streamed body: %r" % h)
            check(len(text) > 1000000 and text.endswith("\n"), "%d bytes, ends with a newline" % len(text))
            check(len(samples(text, "clockwerk_endpoint_info")) == n, "one _info per endpoint")
            check(all(v == 0 for v in samples(text, "clockwerk_endpoint_up").values()), "refused endpoints are 0")
            lint = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                                  timeout=120)
            check(lint.returncode == 0 and lint.stdout == b"" and lint.stderr == b"",
                  "promtool: rc %d %r" % (lint.returncode, lint.stderr[:1000]))
            note("/metrics with %d endpoints: %d bytes" % (n, len(text)))
            cw.stop()
