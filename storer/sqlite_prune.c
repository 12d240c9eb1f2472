/* storer/sqlite_prune.c — pruning on SQLite (storer/prune.h has the design, docs/schema.md "Retention" the
 * promise). Each request is one or two statements in autocommit: the DELETE is its own short transaction.
 *
 * Raw rows are deleted by a range of the rowid (checks.id is the INTEGER PRIMARY KEY, the table's own b-tree),
 * filtered by checked_at: the same 24-character UTC text the storer writes, so the text comparison with the
 * bound formatted the same way is a time comparison. Cells by their primary key (endpoint_id, period_start).
 * Statements are prepared per request: a few microseconds, against steps of milliseconds.
 *
 * After a DELETE that removed rows, the primitive checkpoints the log (PASSIVE: it never waits for a reader)
 * itself. Without that, the deletes fill the WAL and SQLite's automatic checkpoint (wal_autocheckpoint=8192
 * pages, storer/sqlite.c) copies ~32 MB at the commit of whichever transaction crosses the mark: measured, a
 * pruning step of 25 ms then took up to 145 ms, and the batch after it waited as long. Checkpointed each step,
 * the copy is the step's own pages, its time is part of the step's measured time, and the step sizes adapt.
 *
 * The file does not shrink: deleted pages go to SQLite's freelist and are reused by the next inserts, so the
 * file stays at its high-water mark (no auto_vacuum: an incremental vacuum would move pages under the
 * writer for no lasting gain; docs/schema.md says how to shrink it by hand). */
#include "storer/sqlite_prune.h"

#include <stdio.h>

#include "common/base/clock.h"
#include "storer/backend.h"
#include "storer/sqlite_rollup.h"

static int fail(sqlite3 *db, const char *path, int code, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "sqlite %s: retention: %s: %s", path, what, sqlite3_errmsg(db));
    return sq_error_class(code);
}

/* Prepares sql; NULL after fail(). */
static sqlite3_stmt *prepare(sqlite3 *db, const char *path, const char *sql, int *rc, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int code = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (code != SQLITE_OK) {
        *rc = fail(db, path, code, "prepare", err, errlen);
        sqlite3_finalize(st);
        return NULL;
    }
    *rc = STORE_OK;
    return st;
}

/* Steps st to its end, calling row for each row; finalizes it. */
static int run(sqlite3 *db, const char *path, sqlite3_stmt *st, const char *what, void (*row)(sqlite3_stmt *, void *),
               void *arg, char *err, size_t errlen)
{
    int code;
    while ((code = sqlite3_step(st)) == SQLITE_ROW)
        if (row) row(st, arg);
    sqlite3_finalize(st);
    return code == SQLITE_DONE ? STORE_OK : fail(db, path, code, what, err, errlen);
}

/* The log's pages copied into the database now, as far as readers allow (see the header). */
static int checkpoint(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    int code = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return code == SQLITE_OK ? STORE_OK : fail(db, path, code, "checkpoint", err, errlen);
}

static void cap_row(sqlite3_stmt *st, void *arg)
{
    struct prune_res *res = arg;
    if (sqlite3_column_type(st, 0) == SQLITE_NULL || sqlite3_column_type(st, 1) == SQLITE_NULL) {
        res->value = -1; /* no watermark (a rebuild is pending) or no rows */
        return;
    }
    int64_t mark = sqlite3_column_int64(st, 0), top = sqlite3_column_int64(st, 1) - 1;
    res->value = mark < top ? mark : top;
}

static void range_row(sqlite3_stmt *st, void *arg)
{
    struct prune_res *res = arg;
    res->n = (size_t)sqlite3_column_int64(st, 0);
    res->value = sqlite3_column_int64(st, 1);
}

struct ids {
    const struct prune_req *req;
    struct prune_res *res;
};

static void id_row(sqlite3_stmt *st, void *arg)
{
    struct ids *x = arg;
    if (x->res->n < x->req->max) x->req->ids[x->res->n++] = sqlite3_column_int64(st, 0);
}

static int raw(sqlite3 *db, const char *path, const struct prune_req *req, struct prune_res *res, char *err,
               size_t errlen)
{
    int rc;
    sqlite3_stmt *st = prepare(db, path,
                               "SELECT count(*), max(id) FROM (SELECT id FROM checks WHERE id > ?1 AND id <= ?2 "
                               "ORDER BY id LIMIT ?3)",
                               &rc, err, errlen);
    if (!st) return rc;
    sqlite3_bind_int64(st, 1, req->after);
    sqlite3_bind_int64(st, 2, req->cap);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)req->max);
    if ((rc = run(db, path, st, "find raw rows", range_row, res, err, errlen)) != STORE_OK || res->n == 0) return rc;
    st = prepare(db, path, "DELETE FROM checks WHERE id > ?1 AND id <= ?2 AND checked_at < ?3", &rc, err, errlen);
    if (!st) return rc;
    char bound[40];
    cw_format_iso8601(req->before_s * 1000000, bound, sizeof bound);
    sqlite3_bind_int64(st, 1, req->after);
    sqlite3_bind_int64(st, 2, res->value);
    sqlite3_bind_text(st, 3, bound, -1, SQLITE_TRANSIENT);
    if ((rc = run(db, path, st, "delete raw rows", NULL, NULL, err, errlen)) == STORE_OK)
        res->deleted = (size_t)sqlite3_changes(db);
    return rc == STORE_OK && res->deleted ? checkpoint(db, path, err, errlen) : rc;
}

static int cells(sqlite3 *db, const char *path, const struct prune_req *req, struct prune_res *res, char *err,
                 size_t errlen)
{
    static const char *const sql[2] = {
        "DELETE FROM checks_hourly WHERE endpoint_id = ?1 AND period_start IN (SELECT period_start FROM "
        "checks_hourly WHERE endpoint_id = ?1 AND period_start < ?2 ORDER BY period_start LIMIT ?3)",
        "DELETE FROM checks_daily WHERE endpoint_id = ?1 AND period_start IN (SELECT period_start FROM "
        "checks_daily WHERE endpoint_id = ?1 AND period_start < ?2 ORDER BY period_start LIMIT ?3)",
    };
    int rc;
    sqlite3_stmt *st = prepare(db, path, sql[req->period == ROLLUP_HOUR ? 0 : 1], &rc, err, errlen);
    if (!st) return rc;
    char bound[40];
    cw_format_iso8601(req->before_s * 1000000, bound, sizeof bound);
    sqlite3_bind_int64(st, 1, req->endpoint_id);
    sqlite3_bind_text(st, 2, bound, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)req->max);
    if ((rc = run(db, path, st, "delete roll-up cells", NULL, NULL, err, errlen)) == STORE_OK)
        res->deleted = (size_t)sqlite3_changes(db);
    return rc == STORE_OK && res->deleted ? checkpoint(db, path, err, errlen) : rc;
}

int sq_prune(sqlite3 *db, const char *path, const struct prune_req *req, struct prune_res *res, char *err,
             size_t errlen)
{
    *res = (struct prune_res){ 0 };
    int rc;
    sqlite3_stmt *st;
    switch (req->op) {
    case PRUNE_OP_CAP:
        st = prepare(db, path,
                     "SELECT (SELECT last_check_id FROM rollup_state WHERE id = 1), (SELECT max(id) FROM checks)", &rc,
                     err, errlen);
        return st ? run(db, path, st, "read the watermark", cap_row, res, err, errlen) : rc;
    case PRUNE_OP_RAW:
        return raw(db, path, req, res, err, errlen);
    case PRUNE_OP_ENDPOINTS:
        st = prepare(db, path, "SELECT id FROM endpoints WHERE id > ?1 ORDER BY id LIMIT ?2", &rc, err, errlen);
        if (!st) return rc;
        sqlite3_bind_int64(st, 1, req->after);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)req->max);
        return run(db, path, st, "list endpoints", id_row, &(struct ids){ req, res }, err, errlen);
    case PRUNE_OP_CELLS:
        return cells(db, path, req, res, err, errlen);
    }
    snprintf(err, errlen, "sqlite %s: retention: unknown request %d", path, (int)req->op);
    return STORE_FATAL;
}
