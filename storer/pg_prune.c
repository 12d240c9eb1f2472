/* storer/pg_prune.c — pruning on PostgreSQL (storer/prune.h has the design, docs/schema.md "Retention" the
 * promise). Each request is one or two statements with text parameters (PQexecParams) in autocommit: the DELETE
 * is its own short transaction. Raw rows go by a range of the primary key (checks_pkey) filtered by checked_at
 * against to_timestamp(bound); cells by their primary key (endpoint_id, period_start). A step finds its ids
 * with the cap OUTSIDE the index condition (`... WHERE id > $1 ORDER BY id LIMIT $3) s WHERE id <= $2`): with
 * `id > $1 AND id <= $2` in it the planner scanned the whole remaining range as a bitmap and sorted it, 80-220 ms
 * a step on 1,000,000 rows (docs/performance.md, "Retention"); the ordered index scan stops after $3.
 * A raw step also measures the WAL it wrote (pg_current_wal_insert_lsn before and after) and asks for a pause
 * (prune_res.pause_ns) that keeps pruning under max_wal_size / WAL_SHARE per checkpoint_timeout: deleting as
 * fast as the steps allow wrote ~230 MB/s of WAL on 10,000,000 rows (a full-page image of every heap page
 * changed first after a checkpoint, and a record per row), which forced a checkpoint every 2-3 s, and every
 * step or batch that committed while a checkpoint fsynced the data files waited 60-220 ms whatever its size
 * (server log: log_checkpoints; docs/performance.md, "Retention").
 * Deleted rows become dead tuples that autovacuum makes reusable: the table stops growing at its high-water
 * mark, it does not shrink. */
#include "storer/pg_prune.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "storer/backend.h"
#include "storer/pg_rollup.h"

/* Raw steps write at most max_wal_size / WAL_SHARE of WAL per checkpoint_timeout (the server's own settings):
 * the server starts a checkpoint when about max_wal_size / (1 + checkpoint_completion_target) has been
 * written, so pruning alone never forces one (see the comment above). */
#define WAL_SHARE "2"
#define WAL_PAUSE_MAX_NS 60000000000LL /* a pause after one step, whatever the settings say */

/* Runs sql with n text parameters; *out the result (caller clears) when it succeeded. */
static int exec(PGconn *conn, const char *where, const char *sql, int n, const char *const *vals, const char *what,
                PGresult **out, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *out = res;
        return STORE_OK;
    }
    int rc = pg_error_class(conn, res);
    char line[1024];
    store_one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(conn), line, sizeof line);
    snprintf(err, errlen, "%s: retention: %s: %s", where, what, line[0] ? line : "unknown error");
    PQclear(res);
    return rc;
}

static int64_t value(const PGresult *res, int row, int col, int64_t null_value)
{
    return PQgetisnull(res, row, col) ? null_value : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static size_t affected(const PGresult *res)
{
    const char *t = PQcmdTuples((PGresult *)res);
    return t && t[0] ? (size_t)strtoull(t, NULL, 10) : 0;
}

/* The pause after a raw step that wrote wal bytes of WAL at rate bytes a second (0: none). */
static int64_t wal_pause_ns(int64_t wal, int64_t rate)
{
    if (wal <= 0 || rate <= 0) return 0;
    double ns = (double)wal / (double)rate * 1e9;
    return ns > (double)WAL_PAUSE_MAX_NS ? WAL_PAUSE_MAX_NS : (int64_t)ns;
}

static int raw(PGconn *conn, const char *where, const struct prune_req *req, struct prune_res *res, char *err,
               size_t errlen)
{
    char a[24], c[24], m[24], b[24], lsn[32];
    snprintf(a, sizeof a, "%" PRId64, req->after);
    snprintf(c, sizeof c, "%" PRId64, req->cap);
    snprintf(m, sizeof m, "%zu", req->max);
    snprintf(b, sizeof b, "%" PRId64, req->before_s);
    PGresult *r = NULL;
    int rc = exec(conn, where,
                  "SELECT count(*), max(id), pg_current_wal_insert_lsn(), floor(pg_size_bytes(current_setting("
                  "'max_wal_size')) / (" WAL_SHARE " * extract(epoch FROM current_setting('checkpoint_timeout')"
                  "::interval))) FROM (SELECT id FROM checks WHERE id > $1 ORDER BY id LIMIT $3) s WHERE id <= $2",
                  3, (const char *const[]){ a, c, m }, "find raw rows", &r, err, errlen);
    if (rc != STORE_OK) return rc;
    res->n = (size_t)value(r, 0, 0, 0);
    res->value = value(r, 0, 1, req->after);
    snprintf(lsn, sizeof lsn, "%s", PQgetvalue(r, 0, 2));
    int64_t rate = value(r, 0, 3, 0);
    PQclear(r);
    if (!res->n) return STORE_OK;
    snprintf(c, sizeof c, "%" PRId64, res->value);
    rc = exec(conn, where, "DELETE FROM checks WHERE id > $1 AND id <= $2 AND checked_at < to_timestamp($3)", 3,
              (const char *const[]){ a, c, b }, "delete raw rows", &r, err, errlen);
    if (rc != STORE_OK) return rc;
    res->deleted = affected(r);
    PQclear(r);
    rc = exec(conn, where, "SELECT pg_current_wal_insert_lsn() - $1::pg_lsn", 1, (const char *const[]){ lsn },
              "measure the WAL written", &r, err, errlen);
    if (rc != STORE_OK) return rc;
    res->pause_ns = wal_pause_ns(value(r, 0, 0, 0), rate);
    PQclear(r);
    return STORE_OK;
}

static int cells(PGconn *conn, const char *where, const struct prune_req *req, struct prune_res *res, char *err,
                 size_t errlen)
{
    static const char *const sql[2] = {
        "DELETE FROM checks_hourly WHERE endpoint_id = $1 AND period_start IN (SELECT period_start FROM "
        "checks_hourly WHERE endpoint_id = $1 AND period_start < to_timestamp($2) ORDER BY period_start LIMIT $3)",
        "DELETE FROM checks_daily WHERE endpoint_id = $1 AND period_start IN (SELECT period_start FROM "
        "checks_daily WHERE endpoint_id = $1 AND period_start < to_timestamp($2) ORDER BY period_start LIMIT $3)",
    };
    char e[24], b[24], m[24];
    snprintf(e, sizeof e, "%" PRId64, req->endpoint_id);
    snprintf(b, sizeof b, "%" PRId64, req->before_s);
    snprintf(m, sizeof m, "%zu", req->max);
    PGresult *r = NULL;
    int rc = exec(conn, where, sql[req->period == ROLLUP_HOUR ? 0 : 1], 3, (const char *const[]){ e, b, m },
                  "delete roll-up cells", &r, err, errlen);
    if (rc != STORE_OK) return rc;
    res->deleted = affected(r);
    PQclear(r);
    return STORE_OK;
}

static int endpoints(PGconn *conn, const char *where, const struct prune_req *req, struct prune_res *res, char *err,
                     size_t errlen)
{
    char a[24], m[24];
    snprintf(a, sizeof a, "%" PRId64, req->after);
    snprintf(m, sizeof m, "%zu", req->max);
    PGresult *r = NULL;
    int rc = exec(conn, where, "SELECT id FROM endpoints WHERE id > $1 ORDER BY id LIMIT $2", 2,
                  (const char *const[]){ a, m }, "list endpoints", &r, err, errlen);
    if (rc != STORE_OK) return rc;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && res->n < req->max; i++) req->ids[res->n++] = value(r, i, 0, 0);
    PQclear(r);
    return STORE_OK;
}

int pg_prune(PGconn *conn, const char *where, const struct prune_req *req, struct prune_res *res, char *err,
             size_t errlen)
{
    *res = (struct prune_res){ 0 };
    PGresult *r = NULL;
    int rc;
    switch (req->op) {
    case PRUNE_OP_CAP:
        rc = exec(conn, where,
                  "SELECT (SELECT last_check_id FROM rollup_state WHERE id = 1), (SELECT max(id) FROM checks)", 0, NULL,
                  "read the watermark", &r, err, errlen);
        if (rc != STORE_OK) return rc;
        if (PQgetisnull(r, 0, 0) || PQgetisnull(r, 0, 1)) res->value = -1;
        else {
            int64_t mark = value(r, 0, 0, -1), top = value(r, 0, 1, 0) - 1;
            res->value = mark < top ? mark : top;
        }
        PQclear(r);
        return STORE_OK;
    case PRUNE_OP_RAW:
        return raw(conn, where, req, res, err, errlen);
    case PRUNE_OP_ENDPOINTS:
        return endpoints(conn, where, req, res, err, errlen);
    case PRUNE_OP_CELLS:
        return cells(conn, where, req, res, err, errlen);
    }
    snprintf(err, errlen, "%s: retention: unknown request %d", where, (int)req->op);
    return STORE_FATAL;
}
