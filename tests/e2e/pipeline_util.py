"""tests/e2e/pipeline_util.py — what the pipeline, lifecycle and tap tests share: process titles, the rows query,
endpoints spread over worker slots, and starting a pipeline that has stored rows."""

import harness
from harness import Clockwerk, base_config, endpoint, shard_of


WORKER = "clockwerk: worker %d/%d"


STORER = "clockwerk: storer"


ROWS_SQL = ("SELECT c.id, e.url, e.name, c.checked_at, c.status_code, c.latency_ms, c.ok, c.error, c.dns_ms, "
            "c.connect_ms, c.tls_ms, c.ttfb_ms, c.worker, c.boot_id, c.seq "
            "FROM checks c JOIN endpoints e ON e.id = c.endpoint_id")


def problems_fail(problems, what):
    if problems:
        shown = problems[:12]
        more = " (and %d more)" % (len(problems) - len(shown)) if len(problems) > len(shown) else ""
        raise harness.TestFailure("%s: %d problem(s): %s%s" % (what, len(problems), "; ".join(shown), more))


def split_endpoints(t, slots, per_slot=2, path="/ok"):
    """URLs on the target such that every worker slot owns at least per_slot of them (by the shard hash)."""
    urls, owned = [], {s: 0 for s in range(slots)}
    i = 0
    while min(owned.values()) < per_slot:
        u = t.url("%s?e=%d" % (path, i))
        s = shard_of(u, slots)
        if owned[s] < per_slot:
            urls.append(u)
            owned[s] += 1
        i += 1
    return urls


def rows_since(cw, url, after_iso):
    rows = cw.db().try_query("SELECT count(*) FROM checks c JOIN endpoints e ON e.id = c.endpoint_id "
                             "WHERE e.url = ? AND c.checked_at > ?", (url, after_iso))
    return rows[0][0] if rows else 0


# ------------------------------------------------------------------------------------------ 1. rows


def start_and_wait_rows(d, t, workers=2, n=2, extra_eps=()):
    url = t.url("/ok")
    cfg = base_config([endpoint(url, timeout=1)] + list(extra_eps), workers=workers)
    cw = Clockwerk(cfg, d).start()
    try:
        cw.wait_ready()
        cw.wait_count(url, n, timeout=30)
    except BaseException:
        cw.cleanup()
        raise
    return cw, url
