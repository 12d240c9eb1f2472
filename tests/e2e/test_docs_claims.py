"""tests/e2e/test_docs_claims.py — what the reference pages promise, checked against the programs.

- docs/schema.md's time-window query for SQLite (a bound in the stored `…T…Z` text form) selects exactly the
  recent rows of a database the storer wrote, where the tempting `datetime('now', …)` bound selects every row
  of the day — the trap the page warns about.
- docs/config.md's list of `db_driver` spellings is the list `clockwerk -t` accepts.
"""

import os
import re
import sqlite3

import harness
from harness import Clockwerk, base_config, check, endpoint, run_cli, tempdir
from targets import Targets

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")


def _read(name):
    with open(os.path.join(DOCS, name)) as f:
        return f.read()


def _schema_time_window_query():
    """The SQLite statement of docs/schema.md's example that bounds checked_at with strftime."""
    blocks = re.findall(r"```sql\n(.*?)```", _read("schema.md"), re.S)  # any of the page's SQL examples
    for statement in ";".join(blocks).split(";"):
        lines = [ln for ln in statement.strip().split("\n") if not ln.lstrip().startswith("--")]
        sql = "\n".join(lines).strip()
        if "checked_at >=" in sql and "strftime" in sql:
            return sql
    raise AssertionError("docs/schema.md has no SQLite time-window example bounded with strftime")


def test_schema_time_window_query_selects_only_the_window():
    """A copy of a stored row moved two hours back is outside docs/schema.md's last-hour query and inside the
    trap query the page warns about (fails before: the page had no such example and no warning)."""
    query = _schema_time_window_query()
    with tempdir() as d, Targets() as t:
        url = t.url("/ok")
        with Clockwerk(base_config([endpoint(url, timeout=1)], workers=1), d) as cw:
            cw.wait_ready()
            cw.wait_count(url, 2, timeout=30)
            cw.stop()
        path = os.path.join(d, "clockwerk.db")
        con = sqlite3.connect(path)
        try:
            recent = con.execute("SELECT count(*) FROM checks").fetchone()[0]
            cols = [r[1] for r in con.execute("PRAGMA table_info(checks)") if r[1] not in ("id",)]
            moved = ", ".join("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 hours')" if c == "checked_at"
                              else ("seq + 1000000" if c == "seq" else c) for c in cols)
            con.execute("INSERT INTO checks (%s) SELECT %s FROM checks LIMIT 1" % (", ".join(cols), moved))
            con.commit()
            got = con.execute(query).fetchone()[0]
            trap = con.execute("SELECT count(*) FROM checks WHERE checked_at >= datetime('now', '-1 hour')"
                               ).fetchone()[0]
            # the trap matches an old row only when it is of the same day as the bound (not just after midnight)
            same_day = con.execute("SELECT date('now', '-2 hours') = date('now', '-1 hour')").fetchone()[0]
        finally:
            con.close()
        harness.note("rows: %d recent + 1 two hours old; documented query %d, trap query %d" % (recent, got, trap))
        check(got == recent, "docs/schema.md's last-hour query counted %d rows, expected the %d recent ones"
              % (got, recent))
        check(trap == recent + 1 or not same_day, "the trap query counted %d (expected all %d rows: the page's warning would be "
              "moot if SQLite stopped matching the old row)" % (trap, recent + 1))


def test_documented_db_driver_spellings_are_accepted():
    """Every spelling docs/config.md lists for db_driver passes `clockwerk -t`; one it does not list fails
    (fails before: `sqlite3` was accepted but not documented)."""
    row = next(ln for ln in _read("config.md").split("\n") if ln.startswith("| `db_driver` |"))
    spellings = re.findall(r"`([a-z0-9]+)`", row.split("|")[4])
    check("sqlite3" in spellings and "mariadb" in spellings, "db_driver row lists %r" % spellings)
    with tempdir() as d:
        for name in spellings + ["sqlite4"]:
            path = os.path.join(d, "c-%s.conf" % name)
            harness.write_config(path, base_config([endpoint("http://127.0.0.1:1/")], db=False) | {
                "database": {"db_activation": False, "db_driver": name, "db_name": "x.db"}})
            r = run_cli(["-t", "-c", path])
            if name == "sqlite4":
                check(r.code != 0 and "db_driver" in r.text, "an undocumented driver was accepted: %r" % r)
            else:
                check(r.code == 0, "documented db_driver %r refused: %r" % (name, r))
