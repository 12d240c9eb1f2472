"""tests/e2e/test_reload_inplace.py — a reload restarts nothing that does not have to (issue 18, docs/operations.md
section 4): a SIGHUP that changes nothing restarts no child, and one that changes one endpoint restarts none — the
worker of its shard, the storer, the alerter and the web read the new snapshot in place (SIGHUP, RUN_DIR/config.snap),
so they keep their process, and the alerter its states: a DOWN endpoint stays DOWN without a second alert, and the
changed endpoint's results are stored under its new definition."""

import re
import time
import urllib.request

import harness
from harness import Clockwerk, base_config, check, deadline, endpoint, free_port, shard_of, tempdir, wait_for
from targets import Targets

STORER = "clockwerk: storer"
ALERTER = "clockwerk: alerter"
WEB = "clockwerk: web"
RELAY = "clockwerk: relay"
WORKERS = ["clockwerk: worker 0/2", "clockwerk: worker 1/2"]
TITLES = WORKERS + [STORER, ALERTER, WEB, RELAY]
DOWN = r"alert [0-9a-f]{16}: [^\n]*%s\) is DOWN"


def config(t, port, urls):
    """Each endpoint named after its tag (the web IDs must differ): fail, steady, edited or moved."""
    names = [re.sub(r"=\d+$", "", u.rsplit("/", 1)[1].split("?")[-1]) for u in urls]
    eps = [endpoint(u, timeout=1, alert_threshold=1, name=n) for u, n in zip(urls, names)]
    cfg = base_config(eps, workers=2)
    cfg["web"] = {"listen": "127.0.0.1:%d" % port}
    return cfg


def same_shard_url(t, url, tag):
    """A URL of the target in the same shard of 2 as url (so that a change of one endpoint touches one shard)."""
    for i in range(1000):
        u = t.url("/ok?%s=%d" % (tag, i))
        if shard_of(u, 2) == shard_of(url, 2):
            return u
    raise AssertionError("no URL in shard %d" % shard_of(url, 2))


def settled(cw, quiet=2.0):
    """{title: pid} once every title runs and no pid changed for `quiet` seconds."""
    state = {"pids": None, "since": 0.0}

    def ok():
        kids = cw.children()
        if sorted(kids.values()) != sorted(TITLES):
            return None
        pids = {title: pid for pid, title in kids.items()}
        if pids != state["pids"]:
            state["pids"], state["since"] = pids, time.monotonic()
            return None
        return pids if time.monotonic() - state["since"] >= quiet else None
    return wait_for(ok, deadline(40), lambda: "children settled (have: %s)" % cw.describe_children(), interval=0.1)


@harness.timeout(150)
def test_no_change_restarts_nothing_and_one_endpoint_restarts_nothing():
    with tempdir() as d, Targets() as t:
        port = free_port()
        failing = t.url("/fail")
        ok = t.url("/ok?steady")
        old = t.url("/ok?edited")
        new = same_shard_url(t, old, "moved")
        cfg = config(t, port, [failing, ok, old])
        with Clockwerk(cfg, d) as cw:
            before = settled(cw)
            cw.wait_log(DOWN % re.escape("/fail"), timeout=30)
            cw.wait_count(old, 1, timeout=30)

            # (a) the same file again: nothing restarts, nothing is told to reload
            mark = cw.log_mark()
            cw.reload(cfg)
            line = cw.wait_log(r"reload: [^\n]*", since=mark).group(0)
            check(line.startswith("reload: no change"), "a reload without a change: %r" % line)
            check(settled(cw) == before, "a reload without a change restarted a child")
            check("SIGHUP: rereading" not in cw.log_since(mark), "a child reread the snapshot for no change")

            # (b) one endpoint's URL changes, within its shard: its worker reloads in place, nothing restarts
            mark = cw.log_mark()
            downs = len(re.findall(DOWN % re.escape("/fail"), cw.log_text()))
            cw.reload(config(t, port, [failing, ok, new]))
            line = cw.wait_log(r"reload: [^\n]*generation 2[^\n]*", since=mark).group(0)
            slot = shard_of(old, 2)
            check("reloading worker %d/2 in place" % slot in line and "worker %d/2" % (1 - slot) not in line
                  and "restarting" not in line,
                  "not exactly the worker of the endpoint's shard reloaded in place: %r" % line)
            for child in ("storer", "alerter", "web"):
                check("reloading %s in place" % child in line, "the %s is not reloaded in place: %r" % (child, line))
                check("restarting %s" % child not in line, "the %s restarted: %r" % (child, line))
            cw.wait_log(r"storer\] \d+ info: reloaded: 3 endpoints", since=mark, timeout=20)
            cw.wait_log(r"alerter\] \d+ info: configuration reloaded: 3 endpoints", since=mark, timeout=20)
            cw.wait_log(r"web\] \d+ info: reloaded: 3 endpoints", since=mark, timeout=20)
            cw.wait_log(r"worker %d/2\] \d+ info: reloaded in place" % slot, since=mark, timeout=20)
            after = settled(cw)
            for title in TITLES:
                check(after[title] == before[title], "%s was restarted (%s -> %s)" % (
                    title, before[title], after[title]))

            # the changed endpoint is checked and stored under its new URL; the others go on
            n_ok = cw.count_rows(ok)
            cw.wait_count(new, 2, timeout=30)
            cw.wait_count(ok, n_ok + 1, timeout=30)
            # the alerter kept the failing endpoint's state: still DOWN, no second DOWN alert
            n_fail = cw.count_rows(failing)
            cw.wait_count(failing, n_fail + 2, timeout=30)
            check(len(re.findall(DOWN % re.escape("/fail"), cw.log_text())) == downs,
                  "the failing endpoint was alerted DOWN again after the reload")
            code = harness.run_cli(["status", "-c", cw.conf_path])
            check("/fail" in code.out and "DOWN" in code.out.upper(), "status after the reload: %s" % code.out)
            # the web serves the new endpoint (its model replaced in place)
            body = urllib.request.urlopen("http://127.0.0.1:%d/api/v1/endpoints" % port, timeout=5).read().decode()
            check("moved" in body and "edited" not in body, "the web's model is not the new one: %s" % body[:500])
            cw.stop()
