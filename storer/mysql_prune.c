/* storer/mysql_prune.c — pruning on MySQL/MariaDB (storer/prune.h has the design, docs/schema.md "Retention"
 * the promise). Each request is one or two statements in autocommit: the DELETE is its own short transaction
 * (InnoDB row locks on the rows it deletes, nothing the storer's inserts wait for). The statements are text:
 * every value in them is an integer this file formats itself (ids, a count, UTC seconds through FROM_UNIXTIME
 * — the session runs in UTC, storer/mysql.c), never text from outside. Raw rows go by a range of the clustered
 * primary key filtered by checked_at; cells by their primary key with DELETE ... ORDER BY ... LIMIT. InnoDB
 * reuses the freed pages: the tablespace stops growing at its high-water mark, it does not shrink. */
#include "storer/mysql_prune.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storer/mysql_db.h"

/* Runs sql; with rows, stores the result in *out (caller frees), else *affected gets the rows changed. */
static int query(struct store_db *db, const char *sql, const char *what, MYSQL_RES **out, size_t *affected, char *err,
                 size_t errlen)
{
    if (mysql_real_query(db->conn, sql, strlen(sql)) != 0) return my_fail(db, what, err, errlen);
    if (out) {
        *out = mysql_store_result(db->conn);
        if (!*out) return my_fail(db, what, err, errlen);
    } else if (affected) {
        my_ulonglong n = mysql_affected_rows(db->conn);
        *affected = n == (my_ulonglong)-1 ? 0 : (size_t)n;
    }
    return STORE_OK;
}

static int64_t field(MYSQL_ROW row, int col, int64_t null_value)
{
    return row && row[col] ? strtoll(row[col], NULL, 10) : null_value;
}

static int cap(struct store_db *db, struct prune_res *res, char *err, size_t errlen)
{
    MYSQL_RES *r = NULL;
    int rc = query(db, "SELECT (SELECT last_check_id FROM rollup_state WHERE id = 1), (SELECT MAX(id) FROM checks)",
                   "read the watermark", &r, NULL, err, errlen);
    if (rc != STORE_OK) return rc;
    MYSQL_ROW row = mysql_fetch_row(r);
    if (!row || !row[0] || !row[1]) res->value = -1;
    else {
        int64_t mark = field(row, 0, -1), top = field(row, 1, 0) - 1;
        res->value = mark < top ? mark : top;
    }
    mysql_free_result(r);
    return STORE_OK;
}

static int raw(struct store_db *db, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen)
{
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*), MAX(id) FROM (SELECT id FROM checks WHERE id > %" PRId64 " AND id <= %" PRId64
             " ORDER BY id LIMIT %zu) s",
             req->after, req->cap, req->max);
    MYSQL_RES *r = NULL;
    int rc = query(db, sql, "find raw rows", &r, NULL, err, errlen);
    if (rc != STORE_OK) return rc;
    MYSQL_ROW row = mysql_fetch_row(r);
    res->n = (size_t)field(row, 0, 0);
    res->value = field(row, 1, req->after);
    mysql_free_result(r);
    if (!res->n) return STORE_OK;
    snprintf(sql, sizeof sql,
             "DELETE FROM checks WHERE id > %" PRId64 " AND id <= %" PRId64 " AND checked_at < FROM_UNIXTIME(%" PRId64
             ")",
             req->after, res->value, req->before_s);
    return query(db, sql, "delete raw rows", NULL, &res->deleted, err, errlen);
}

static int endpoints(struct store_db *db, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id FROM endpoints WHERE id > %" PRId64 " ORDER BY id LIMIT %zu", req->after,
             req->max);
    MYSQL_RES *r = NULL;
    int rc = query(db, sql, "list endpoints", &r, NULL, err, errlen);
    if (rc != STORE_OK) return rc;
    for (MYSQL_ROW row; res->n < req->max && (row = mysql_fetch_row(r)) != NULL;) req->ids[res->n++] = field(row, 0, 0);
    mysql_free_result(r);
    return STORE_OK;
}

int my_prune(struct store_db *db, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen)
{
    *res = (struct prune_res){ 0 };
    char sql[300];
    switch (req->op) {
    case PRUNE_OP_CAP:
        return cap(db, res, err, errlen);
    case PRUNE_OP_RAW:
        return raw(db, req, res, err, errlen);
    case PRUNE_OP_ENDPOINTS:
        return endpoints(db, req, res, err, errlen);
    case PRUNE_OP_CELLS:
        snprintf(sql, sizeof sql,
                 "DELETE FROM %s WHERE endpoint_id = %" PRId64 " AND period_start < FROM_UNIXTIME(%" PRId64
                 ") ORDER BY period_start LIMIT %zu",
                 req->period == ROLLUP_HOUR ? "checks_hourly" : "checks_daily", req->endpoint_id, req->before_s,
                 req->max);
        return query(db, sql, "delete roll-up cells", NULL, &res->deleted, err, errlen);
    }
    snprintf(err, errlen, "%s: retention: unknown request %d", db->where, (int)req->op);
    return STORE_FATAL;
}
