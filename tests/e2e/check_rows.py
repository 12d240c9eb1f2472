"""tests/e2e/check_rows.py — the stored checks of endpoints without a URL (dns, icmp, ...), by their names: what
the tests of those check types read back from the SQLite database.

    rows = rows_by_name(cw, ["a", "b"], n=2)   # waits until each has 2 rows; name -> [row, ...], oldest first
    rows["a"][-1] == {"ok": 1, "error": None, "latency_ms": 0.4, "figures": {...}}

"figures" (checks.details parsed as JSON) is there when the schema has the column and the row has figures.
"""

import json

_SQL = "SELECT e.name, %s FROM checks c JOIN endpoints e ON e.id = c.endpoint_id ORDER BY c.id"


def has_details(cw):
    return any(r[1] == "details" for r in cw.db().query("PRAGMA table_info(checks)"))


def rows_by_name(cw, names, n=1, timeout=40):
    def complete(rows):
        return all(sum(1 for r in rows if r[0] == nm) >= n for nm in names)
    cw.wait_rows(_SQL % "c.ok", predicate=complete, timeout=timeout, what="%d row(s) of each of %s" % (n, names))
    cols = "c.ok, c.error, c.latency_ms" + (", c.details" if has_details(cw) else "")  # the tables exist now
    out = {}
    for r in cw.db().query(_SQL % cols):
        d = {"ok": r[1], "error": r[2], "latency_ms": r[3]}
        if len(r) > 4 and r[4]:
            d["figures"] = json.loads(r[4])
        out.setdefault(r[0], []).append(d)
    return out
