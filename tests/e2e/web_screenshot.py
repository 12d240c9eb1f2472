"""tests/e2e/web_screenshot.py — retakes docs/web-status.png, the README's picture of the status page.

The demo's endpoints (etc/clockwerk.conf: tools/demo-target.py on a free port, a port where nothing listens)
run by the real pipeline into SQLite. The three that a demo would have watched for months (home, health, slow)
get 89 earlier days of history written into that database the way the storer leaves it (daily roll-ups with
their histograms, docs/schema.md; the down/up alerts of a few outages) — mostly 100 %, a few worse days; the
broken one and the closed port are new (grey before today). The pipeline then runs again, the web reads the
history, and `/` is captured in headless Chromium (test_web_pages.Chromium) at 1280 px.

    CLOCKWERK_BIN=$PWD/bin /usr/bin/python3 tests/e2e/web_screenshot.py [OUT.png]   (default docs/web-status.png)
"""

import base64
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Clockwerk, base_config, check, deadline, endpoint, free_port, tempdir, wait_for  # noqa: E402
from hbase import REPO  # noqa: E402
from test_report import encode  # noqa: E402
from test_web import WEB, get, wait_serving  # noqa: E402
from test_web_pages import Chromium  # noqa: E402

DAY = 86400
CHECKS_PER_DAY = 17280  # every 5 s, as in etc/clockwerk.conf
# endpoint -> {days ago: failed checks}, its typical latency (ms) and phases (dns, connect, tls, ttfb)
PAST = {
    "demo home": ({3: 120, 17: 9, 41: 1500, 42: 40, 66: 4}, 2.0, (0.1, 0.2, 0.0, 1.5)),
    "demo health": ({17: 9, 41: 1500, 80: 700}, 2.5, (0.1, 0.2, 0.0, 2.0)),
    "demo slow": ({9: 30, 41: 1500, 55: 300}, 1500.0, (0.1, 0.2, 0.0, 1499.0)),
}


def demo_endpoints(port, closed):
    """etc/clockwerk.conf's endpoints on the demo target's port."""
    base = "http://127.0.0.1:%d" % port
    return [endpoint(base + "/", name="demo home", timeout=2),
            endpoint(base + "/health", name="demo health", timeout=2, keyword="healthy", expect_status=[200]),
            endpoint(base + "/broken", name="demo broken", timeout=2, alert_threshold=2),
            endpoint(base + "/slow", name="demo slow", timeout=3, latency_threshold=1.0),
            endpoint("http://127.0.0.1:%d/" % closed, name="closed port", timeout=2)]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def write_past(db_path):
    """The daily roll-ups of the 89 days before today and the alerts of their outages (down and up)."""
    con = sqlite3.connect(db_path, timeout=30)
    ids = dict(con.execute("SELECT name, id FROM endpoints").fetchall())
    urls = dict(con.execute("SELECT name, url FROM endpoints").fetchall())
    today = int(time.time()) // DAY * DAY
    alert_id = 1 + (con.execute("SELECT COALESCE(MAX(alert_id), 0) FROM alerts").fetchone()[0] or 0)
    for name, (failures, latency, phases) in PAST.items():
        for ago in range(1, 90):
            failed = failures.get(ago, 0)
            lat = [latency * (0.8 + 0.05 * (i % 9)) for i in range(CHECKS_PER_DAY)]
            blobs = [encode(lat)] + [encode([p] * CHECKS_PER_DAY if p else []) for p in phases]
            con.execute("INSERT INTO checks_daily (endpoint_id, period_start, checks, ok, failures, latency_hist, "
                        "dns_hist, connect_hist, tls_hist, ttfb_hist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (ids[name], iso(today - ago * DAY), CHECKS_PER_DAY, CHECKS_PER_DAY - failed, failed, *blobs))
            if failed >= 100:  # an outage: failed checks every 5 s, from 10:00 UTC
                start, end = today - ago * DAY + 10 * 3600, today - ago * DAY + 10 * 3600 + failed * 5
                what = "%s (%s)" % (name, urls[name])
                for kind, at, message in (
                        ("down", start + 15, "%s is DOWN since %s: 3 checks failed, last: connection refused"
                         % (what, iso(start))),
                        ("up", end + 5, "%s is UP again since %s after %d min down" % (what, iso(end),
                                                                                      (end - start) // 60))):
                    con.execute("INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, "
                                "webhook_state) VALUES (?, ?, ?, ?, ?, 'none', 'none')",
                                (alert_id, ids[name], iso(at), kind, message))
                    alert_id += 1
    con.commit()
    con.close()


def run(out):
    with tempdir() as d:
        port, closed = free_port(), free_port()
        ready = os.path.join(d, "target.ready")
        target = subprocess.Popen([sys.executable, os.path.join(REPO, "tools", "demo-target.py"), "--port",
                                   str(port), "--closed", str(closed), "--ready", ready],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(lambda: os.path.exists(ready) and os.path.getsize(ready) > 0, deadline(10), "the demo target")
            web_port = free_port()
            cfg = base_config(demo_endpoints(port, closed), check_interval=5)
            cfg["web"] = {"listen": "127.0.0.1:%d" % web_port, "title": "Clockwerk demo", "history_refresh": 5}
            db_path = os.path.join(d, "clockwerk.db")

            def stored():
                con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
                try:
                    return con.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] >= 2
                finally:
                    con.close()
            with Clockwerk(cfg, d, name="first") as cw:  # the storer makes the database; the two down alerts
                cw.wait_ready(titles=cw.expected_titles() + [WEB])
                wait_for(stored, deadline(60), "the demo's endpoints and alerts stored", ignore=(sqlite3.Error,))
                cw.stop()
            write_past(db_path)
            with Clockwerk(cfg, d, name="demo") as cw:
                cw.wait_ready(titles=cw.expected_titles() + [WEB])
                wait_serving(web_port)

                def history_read():
                    eps = json.loads(get(web_port, "/api/v1/endpoints")[2])["endpoints"]
                    return all(e["windows"] and e["windows"]["90d"]["checks"] > 0 and e["last_check"] for e in eps)
                wait_for(history_read, deadline(60), "the history of every endpoint")
                with Chromium(d) as browser:
                    problems = browser.navigate("http://127.0.0.1:%d/" % web_port)
                    check(problems == [], "the browser saw problems on /: %s" % problems)
                    height = browser.evaluate("Math.ceil(document.body.getBoundingClientRect().bottom) + 16")
                    clip = {"x": 0, "y": 0, "width": 1280, "height": min(max(height, 300), 2000), "scale": 1}
                    data = browser.call("Page.captureScreenshot", format="png", clip=clip)["data"]
                    with open(out, "wb") as f:  # the page's height, not the window's
                        f.write(base64.b64decode(data))
                cw.stop()
        finally:
            target.terminate()
            target.wait(timeout=10)
    print("wrote %s" % out)


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "docs", "web-status.png"))
