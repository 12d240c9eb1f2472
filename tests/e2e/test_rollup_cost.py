"""tests/e2e/test_rollup_cost.py — the roll-ups' fold from memory on PostgreSQL and MariaDB (storer/rollup.h,
"Without reading back"; docs/schema.md, "Roll-ups"): the rows a batch inserted are kept in memory and folded
without reading them back, and every path that could make that memory wrong falls back to reading back.

  test_folds_from_memory          bench/store_bench writes 20,000 rows with a fold every 200 ms: the folds
                                  come from memory (said in the debug log) and the roll-ups equal the raw rows;
                                  then `verify` writes a batch twice (a replay: fewer rows inserted than sent),
                                  after which the fold reads back — still exact
  test_connection_kills           a running Clockwerk on each server, folds every 200 ms, and the storer's
                                  database connection killed eight times at random moments (PostgreSQL
                                  pg_terminate_backend, MariaDB KILL): transactions die before, inside and after
                                  their fold, batches are replayed after the reconnect; after a clean stop the
                                  roll-ups hold exactly the raw rows, per endpoint (checks, ok, histogram values)
  test_chaos_storer_kill_postgresql / _mariadb
                                  the chaos suite's storer-kill scenario (kill -9 of the storer under load) on
                                  PostgreSQL and MariaDB, bounded profile: nothing lost, nothing twice, roll-ups
                                  equal the raw rows
"""

import os
import random
import subprocess
import sys
import time

import harness
from dbservers import MariaDBServer, PostgresServer
from harness import Clockwerk, base_config, check, deadline, endpoint, tempdir, wait_for
from targets import Targets

sys.path.insert(0, os.path.join(os.path.dirname(harness.HERE), "chaos"))
import chaos  # noqa: E402
from chaos_support import rollup_mismatches  # noqa: E402

STORER = "clockwerk: storer"
SEED = int(os.environ.get("CLOCKWERK_CHAOS_SEED", "6"))


def _db_group(server):
    return {"db_activation": True, "db_driver": server.kind, "db_host": "127.0.0.1", "db_port": server.port,
            "db_name": server.dbname, "db_user": server.user, "db_password": server.password}


def _bench(server, args, env=None):
    from test_databases import _store_bench
    e = harness.child_env(dict({"CLOCKWERK_DB_PASSWORD": server.password, "STORE_BENCH_DEBUG": "1"}, **(env or {})))
    base = ["--driver", server.kind, "--host", "127.0.0.1", "--port", str(server.port), "--db", server.dbname,
            "--user", server.user]
    r = subprocess.run([_store_bench()] + base + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=e, timeout=300)
    harness.ARTIFACTS["store_bench %s %s" % (server.kind, " ".join(args))] = r.stdout + r.stderr[-6000:]
    check(r.returncode == 0, "%s: store_bench %s exited %d: %s %s" % (server.kind, " ".join(args), r.returncode,
                                                                      r.stdout, r.stderr[-2000:]))
    return r.stderr


def _exact(server, what):
    problems = rollup_mismatches(server.kind, server.query)
    check(not problems, "%s (%s): %s" % (server.kind, what, "; ".join(problems[:5])))
    return int(server.query("SELECT COUNT(*) FROM checks")[0][0])


@harness.timeout(300)
def test_folds_from_memory():
    with PostgresServer() as pg, MariaDBServer() as my:
        for server in (pg, my):
            log = _bench(server, ["--rows", "20000", "--urls", "200", "--batch", "100", "bench"],
                         {"CLOCKWERK_ROLLUP_EVERY_MS": "200"})
            check("folded from memory" in log, "%s: no fold from memory in the debug log" % server.kind)
            check("reads the raw rows back" not in log, "%s: a fold read the rows back without a reason"
                  % server.kind)
            n = _exact(server, "after 20,000 rows")
            # a batch written twice: the second time nothing is inserted, the memory is dropped
            log = _bench(server, ["verify"], {"CLOCKWERK_ROLLUP_EVERY_MS": "1"})
            check("reads the raw rows back" in log, "%s: a replayed batch did not make the fold read back: %s"
                  % (server.kind, log[-2000:]))
            n2 = _exact(server, "after a replayed batch")
            check(n2 == n + 4, "%s: %d raw rows, expected %d" % (server.kind, n2, n + 4))
            harness.note("%s: folds from memory, a replay reads back; roll-ups equal %d raw rows" % (server.kind, n2))


def _watermark(server):
    """The watermark, or -1 while the storer has not created its tables yet."""
    try:
        return int(server.query("SELECT last_check_id FROM rollup_state")[0][0])
    except (RuntimeError, IndexError):
        return -1


def _kill_connections(server):
    """Kills the storer's connections; how many it found."""
    if server.kind == "postgresql":
        rows = server.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = 'clockwerk' AND pid <> pg_backend_pid()")
        return len(rows)
    ids = [r[0] for r in server.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '%s'" % server.user)]
    for i in ids:
        try:
            server.query("KILL %s" % i)
        except RuntimeError:
            pass   # gone meanwhile
    return len(ids)


@harness.timeout(400)
def test_connection_kills():
    rng = random.Random(4242)
    with tempdir() as d, Targets() as t, PostgresServer() as pg, MariaDBServer() as my:
        eps = [endpoint(t.url("/ok?n=%d" % i), timeout=1) for i in range(24)]
        eps += [endpoint(t.url("/fail?n=%d" % i), timeout=1) for i in range(6)]
        cws = {}
        try:
            for server in (pg, my):
                wd = os.path.join(d, server.kind)
                os.makedirs(wd)
                cfg = base_config(eps, workers=2)
                cfg["database"] = _db_group(server)
                cws[server.kind] = (server, Clockwerk(cfg, wd, name=server.kind,
                                                      env={"CLOCKWERK_ROLLUP_EVERY_MS": "200"}).start())
            for server, cw in cws.values():
                cw.wait_ready()
                wait_for(lambda: _watermark(server) > 50,
                         deadline(60), "%s: a first fold" % server.kind)
            killed = {k: 0 for k in cws}
            for _ in range(8):
                time.sleep(rng.uniform(0.2, 1.5))
                for kind, (server, cw) in cws.items():   # the storer may still be reconnecting: wait for it
                    n = wait_for(lambda: _kill_connections(server), deadline(30), "%s: the storer connected" % kind)
                    killed[kind] += n
            for server, cw in cws.values():   # back, and folding again
                before = int(server.query("SELECT COALESCE(MAX(id), 0) FROM checks")[0][0])
                wait_for(lambda: _watermark(server) > before,
                         deadline(60), "%s: folds after the kills" % server.kind)
                cw.stop(timeout=30)
            for kind, (server, cw) in cws.items():
                check(killed[kind] >= 8, "%s: only %d connections killed" % (kind, killed[kind]))
                reconnects = cw.log_text().count("connected to")
                check(reconnects >= 2, "%s: the storer connected %d times: the kills missed it" % (kind, reconnects))
                n = _exact(server, "after %d connection kills" % killed[kind])
                dup = int(server.query("SELECT COUNT(*) - COUNT(DISTINCT worker, boot_id, seq) FROM checks")[0][0]
                          if kind == "mysql" else
                          server.query("SELECT COUNT(*) - (SELECT COUNT(*) FROM (SELECT DISTINCT worker, boot_id, "
                                       "seq FROM checks) s) FROM checks")[0][0])
                check(dup == 0, "%s: %d duplicated raw rows" % (kind, dup))
                harness.note("%s: %d connection kills (%d connects): roll-ups equal the %d raw rows"
                             % (kind, killed[kind], reconnects, n))
        finally:
            for server, cw in cws.values():
                cw.cleanup()


def _chaos(db):
    fig = chaos.storer_kill(chaos.BOUNDED, SEED, db)
    harness.note(fig.line)
    check(fig.ok, fig.report())


@harness.timeout(180)
def test_chaos_storer_kill_postgresql():
    _chaos("postgresql")


@harness.timeout(180)
def test_chaos_storer_kill_mariadb():
    _chaos("mysql")
