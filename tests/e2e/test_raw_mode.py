"""tests/e2e/test_raw_mode.py — database.raw = "all" | "failures" | "none" (docs/config.md, docs/schema.md "Raw rows
and database.raw"), on real SQLite, PostgreSQL and MariaDB: per database the three modes run side by side (one
Clockwerk each, its own database) against one local HTTP target with an ok, a failing, a SLOW and an unreachable
endpoint, then stop cleanly.

  test_raw_modes_sqlite / _postgresql / _mysql
      in every mode the hourly and daily roll-ups count exactly the checks the workers made (their "stopped after N
      checks" lines) and, per endpoint, what the target served (less at most the one check in flight at the stop);
      the raw rows are exactly what the mode keeps: every check ("all"), none ("none"), and with "failures" every
      failed and every SLOW check, and of the healthy endpoint one row per UTC hour (the first check the storer saw,
      then the hour's heartbeat); with "failures" the watermark covers every raw row (nothing is folded twice).
      On SQLite the web runs too: the endpoint page of the failing endpoint is titled "Last checks" (all),
      "Recent failures and state changes" (failures) or says the checks are not kept (none), and the API's answer
      names the mode in "raw" with last_checks of failed checks (all, failures) or none.
"""

import json
import os

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, closed_port_url, deadline, endpoint, tempdir, wait_for
from hdata import worker_runs
from targets import Targets
from test_web import get, wait_serving

MODES = ("all", "failures", "none")
ROUNDS = 12  # checks of each endpoint before the stop


def _endpoints(t, mode):
    return [endpoint(t.url("/ok?m=%s" % mode), timeout=1),
            endpoint(t.url("/fail?m=%s" % mode), timeout=1),
            endpoint(t.url("/slow/0.3?m=%s" % mode), timeout=1, latency_threshold=0.1),
            endpoint(closed_port_url("/closed?m=%s" % mode), timeout=1)]


class _Db:
    """One mode's database: SQLite in the work directory, or a database of its own on a shared server."""

    def __init__(self, kind, server, workdir, mode):
        self.kind, self.server, self.mode = kind, server, mode
        self.path = os.path.join(workdir, "clockwerk.db")
        self.name = "cw_raw_%s" % mode
        if kind == "postgresql":
            server.psql_super("CREATE DATABASE %s OWNER %s" % (self.name, server.user))
        elif kind == "mysql":
            server.sql_root("CREATE DATABASE %s CHARACTER SET utf8mb4" % self.name)
            server.sql_root("GRANT ALL ON %s.* TO '%s'@'%%'" % (self.name, server.user))

    def group(self):
        g = {"db_activation": True, "raw": self.mode}
        if self.kind == "sqlite":
            g.update({"db_driver": "sqlite", "db_name": "clockwerk.db"})
        else:
            s = self.server
            g.update({"db_driver": s.kind, "db_host": "127.0.0.1", "db_port": s.port, "db_name": self.name,
                      "db_user": s.user, "db_password": s.password})
        return g

    def query(self, sql):
        if self.kind == "sqlite":
            return [list(r) for r in harness.Sqlite(self.path).query(sql)]
        if self.kind == "postgresql":
            out = self.server.psql_super(sql, db=self.name)
            return [line.split("\t") for line in out.splitlines()]
        return [line.split("\t") for line in self.server.sql_root(sql, db=self.name).splitlines()]


def _per_url(db, sql):
    return {r[0]: [int(v) for v in r[1:]] for r in db.query(sql)}


def _verify(db, t, eps, log):
    mode = db.mode
    made = sum(r.checks or 0 for r in worker_runs(log))
    check(made > 0, "%s/%s: no 'stopped after N checks' line" % (db.kind, mode))
    totals = {}
    for table in ("checks_hourly", "checks_daily"):
        rows = _per_url(db, "SELECT e.url, SUM(r.checks), SUM(r.ok), COUNT(*) FROM %s r JOIN endpoints e "
                            "ON e.id = r.endpoint_id GROUP BY e.url" % table)
        total = sum(v[0] for v in rows.values())
        check(total == made, "%s/%s: %s counts %d checks, the workers made %d" % (db.kind, mode, table, total, made))
        totals[table] = rows
    hourly = totals["checks_hourly"]
    raw = _per_url(db, "SELECT e.url, COUNT(*), SUM(CASE WHEN c.ok THEN 1 ELSE 0 END) FROM checks c "
                       "JOIN endpoints e ON e.id = c.endpoint_id GROUP BY e.url")
    for e in eps:
        url = e["url"]
        counted, ok, hours = hourly.get(url, [0, 0, 0])
        path = url.split("/", 3)[3]
        if "closed" not in url:
            served = t.count("/" + path)
            check(counted <= served <= counted + 1, "%s/%s %s: roll-ups count %d checks, the target served %d"
                  % (db.kind, mode, url, counted, served))
        n_raw = raw.get(url, [0, 0])[0]
        if mode == "all" or (mode == "failures" and ("/ok" not in url)):
            want = counted  # every check, or every failed / SLOW one
        elif mode == "failures":
            want = hours    # the healthy endpoint: the first check of each hour
            check(ok == counted, "%s/%s %s: %d of %d checks failed" % (db.kind, mode, url, counted - ok, counted))
        else:
            want = 0
        check(n_raw == want, "%s/%s %s: %d raw rows, expected %d (%d checks in %d hours)"
              % (db.kind, mode, url, n_raw, want, counted, hours))
    if mode != "all":
        mark = db.query("SELECT last_check_id, (SELECT COALESCE(MAX(id), 0) FROM checks) FROM rollup_state")[0]
        check(int(mark[0]) == int(mark[1]), "%s/%s: watermark %s, highest raw id %s" % (db.kind, mode, mark[0],
                                                                                         mark[1]))
    harness.note("%s/%s: %d checks made, all in the roll-ups; %d raw rows" % (db.kind, mode, made,
                                                                            sum(v[0] for v in raw.values())))


def _check_web(port, mode):
    """The failing endpoint's page and API answer while the storer has stored a few of its checks."""
    wait_serving(port)
    eps = json.loads(get(port, "/api/v1/endpoints")[2])["endpoints"]
    ep = [e for e in eps if e.get("id", "").endswith("-fail")]  # the API masks the query string
    check(len(ep) == 1, "%s: the failing endpoint in /api/v1/endpoints: %r" % (mode, eps))

    def answer():
        a = json.loads(get(port, "/api/v1/endpoints/%s" % ep[0]["id"])[2])
        return a if mode == "none" or a.get("last_checks") else None
    a = wait_for(answer, deadline(60), "%s: the API answer with stored checks" % mode)
    check(a.get("raw") == mode, "%s: the API's raw is %r" % (mode, a.get("raw")))
    checks = a.get("last_checks") or []
    check((len(checks) == 0) == (mode == "none") and all(c.get("ok") is False for c in checks),
          "%s: last_checks %r" % (mode, checks[:3]))
    page = get(port, "/endpoint/%s" % ep[0]["id"])[2].decode()
    want = {"all": "<h2>Last checks</h2>", "failures": "<h2>Recent failures and state changes</h2>",
            "none": "Not kept: the database keeps no check of its own"}[mode]
    check(want in page, "%s: the endpoint page lacks %r" % (mode, want))


def _run(kind, server):
    with tempdir() as d, Targets() as t:
        dbs, cws, eps, webs = {}, {}, {}, {}
        try:
            for mode in MODES:
                wd = os.path.join(d, mode)
                os.makedirs(wd)
                dbs[mode] = _Db(kind, server, wd, mode)
                eps[mode] = _endpoints(t, mode)
                cfg = base_config(eps[mode], workers=1)
                cfg["database"] = dbs[mode].group()
                if kind == "sqlite":
                    webs[mode] = harness.free_port()
                    cfg["web"] = {"listen": "127.0.0.1:%d" % webs[mode], "history_refresh": 5}
                cws[mode] = Clockwerk(cfg, wd, name="%s-%s" % (kind, mode)).start()
            for cw in cws.values():
                cw.wait_ready()
            for mode in MODES:
                for e in eps[mode]:
                    if "closed" not in e["url"]:
                        path = "/" + e["url"].split("/", 3)[3]
                        wait_for(lambda: t.count(path) >= ROUNDS, deadline(90), "%d checks of %s" % (ROUNDS, path))
            for mode, port in webs.items():
                _check_web(port, mode)
            for cw in cws.values():
                cw.stop(timeout=deadline(30))
            for mode in MODES:
                _verify(dbs[mode], t, eps[mode], cws[mode].log_text())
        finally:
            for cw in cws.values():
                cw.cleanup()


@harness.timeout(300)
def test_raw_modes_sqlite():
    _run("sqlite", None)


@harness.timeout(400)
def test_raw_modes_postgresql():
    with PostgresServer() as pg:
        _run("postgresql", pg)


@harness.timeout(400)
def test_raw_modes_mysql():
    with MariaDBServer() as my:
        _run("mysql", my)
