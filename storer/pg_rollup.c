/* storer/pg_rollup.c — the roll-up tables of the PostgreSQL backend and the primitives storer/rollup.c folds
 * with (storer/pg_rollup.h): period_start is timestamptz (UTC hour or day start), the histograms bytea.
 * Statements are prepared once per connection; the blobs travel as binary parameters and come back in
 * PostgreSQL's hex text form, unescaped with PQunescapeBytea. */
#include "storer/pg_rollup.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"
#include "storer/backend.h"
#include "storer/rollup.h"

#define PG_ROLLUP_TABLE(name)                                                             \
    "CREATE TABLE IF NOT EXISTS " name " ("                                               \
    " endpoint_id bigint NOT NULL REFERENCES endpoints(id),"                              \
    " period_start timestamptz NOT NULL,"                                                 \
    " checks bigint NOT NULL, ok bigint NOT NULL, failures bigint NOT NULL,"              \
    " latency_hist bytea NOT NULL, dns_hist bytea NOT NULL, connect_hist bytea NOT NULL," \
    " tls_hist bytea NOT NULL, ttfb_hist bytea NOT NULL,"                                 \
    " PRIMARY KEY (endpoint_id, period_start))"

const char *const pg_schema_v3[] = {
    PG_ROLLUP_TABLE("checks_hourly"),
    PG_ROLLUP_TABLE("checks_daily"),
    "CREATE TABLE IF NOT EXISTS rollup_state (id integer PRIMARY KEY CHECK (id = 1), last_check_id bigint NOT NULL)",
    "INSERT INTO rollup_state (id, last_check_id) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    NULL,
};

#define PG_COLS_GET "checks, ok, latency_hist, dns_hist, connect_hist, tls_hist, ttfb_hist"
#define PG_PUT(table)                                                                                               \
    "INSERT INTO " table " (endpoint_id, period_start, checks, ok, failures, latency_hist, dns_hist, connect_hist," \
    " tls_hist, ttfb_hist) VALUES ($1::bigint, to_timestamp($2::bigint), $3::bigint, $4::bigint, $5::bigint,"       \
    " $6::bytea, $7::bytea, $8::bytea, $9::bytea, $10::bytea)"                                                      \
    " ON CONFLICT (endpoint_id, period_start) DO UPDATE SET checks = EXCLUDED.checks, ok = EXCLUDED.ok,"            \
    " failures = EXCLUDED.failures, latency_hist = EXCLUDED.latency_hist, dns_hist = EXCLUDED.dns_hist,"            \
    " connect_hist = EXCLUDED.connect_hist, tls_hist = EXCLUDED.tls_hist, ttfb_hist = EXCLUDED.ttfb_hist"

static const struct {
    const char *name, *sql;
} pr_stmts[] = {
    { "cw_r_read", "SELECT id, endpoint_id, floor(extract(epoch FROM checked_at))::bigint, ok::int, latency_ms,"
                   " dns_ms, connect_ms, tls_ms, ttfb_ms FROM checks WHERE id > $1::bigint ORDER BY id"
                   " LIMIT $2::bigint" },
    { "cw_r_get_h", "SELECT " PG_COLS_GET " FROM checks_hourly WHERE endpoint_id = $1::bigint"
                    " AND period_start = to_timestamp($2::bigint)" },
    { "cw_r_get_d", "SELECT " PG_COLS_GET " FROM checks_daily WHERE endpoint_id = $1::bigint"
                    " AND period_start = to_timestamp($2::bigint)" },
    { "cw_r_put_h", PG_PUT("checks_hourly") },
    { "cw_r_put_d", PG_PUT("checks_daily") },
    { "cw_r_mark_get", "SELECT last_check_id FROM rollup_state WHERE id = 1" },
    { "cw_r_mark_set", "UPDATE rollup_state SET last_check_id = $1::bigint WHERE id = 1" },
    { "cw_r_max_id", "SELECT COALESCE(MAX(id), 0) FROM checks" },
};

struct pg_rollup {
    PGconn *conn;
    const char *where;
    unsigned char *blob[ROLLUP_HISTS]; /* the last cell read, unescaped */
    struct rollup engine;
};

static int pr_fail(struct pg_rollup *r, PGresult *res, const char *what, char *err, size_t errlen)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];
    store_one_line(m && *m ? m : PQerrorMessage(r->conn), line, sizeof line);
    snprintf(err, errlen, "%s: roll-ups: %s: %s", r->where, what, line);
    int rc = pg_error_class(r->conn, res);
    PQclear(res);
    return rc;
}

/* Runs a prepared statement with text parameters; *out gets the result (tuples or command ok). */
static int pr_exec(struct pg_rollup *r, const char *name, int n, const char *const *vals, const int *lens,
                   const int *formats, PGresult **out, char *err, size_t errlen)
{
    PGresult *res = PQexecPrepared(r->conn, name, n, vals, lens, formats, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return pr_fail(r, res, name, err, errlen);
    if (out) *out = res;
    else PQclear(res);
    return STORE_OK;
}

static int pr_int(struct pg_rollup *r, const char *name, int64_t *v, char *err, size_t errlen)
{
    PGresult *res = NULL;
    int rc = pr_exec(r, name, 0, NULL, NULL, NULL, &res, err, errlen);
    if (rc != STORE_OK) return rc;
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)) {
        *v = -1; /* no row: rollup_state emptied (struct rollup_ops: a rebuild) */
        PQclear(res);
        return STORE_OK;
    }
    *v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return STORE_OK;
}

static int64_t pr_us(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) return -1;
    double ms = strtod(PQgetvalue(res, row, col), NULL);
    return rollup_ms_to_us(ms);
}

static int pr_read_rows(void *ctx, int64_t after, size_t max, struct rollup_row *rows, size_t *n, char *err,
                        size_t errlen)
{
    struct pg_rollup *r = ctx;
    char a[32], m[32];
    snprintf(a, sizeof a, "%" PRId64, after);
    snprintf(m, sizeof m, "%zu", max);
    const char *vals[2] = { a, m };
    PGresult *res = NULL;
    int rc = pr_exec(r, "cw_r_read", 2, vals, NULL, NULL, &res, err, errlen);
    if (rc != STORE_OK) return rc;
    int got = PQntuples(res);
    *n = 0;
    for (int i = 0; i < got && *n < max; i++) {
        struct rollup_row *row = &rows[(*n)++];
        row->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        row->endpoint_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        row->at_s = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        row->ok = strtol(PQgetvalue(res, i, 3), NULL, 10) != 0;
        for (int k = 0; k < ROLLUP_HISTS; k++) row->us[k] = pr_us(res, i, 4 + k);
    }
    PQclear(res);
    return STORE_OK;
}

static void pr_free_blobs(struct pg_rollup *r)
{
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        if (r->blob[i]) PQfreemem(r->blob[i]);
        r->blob[i] = NULL;
    }
}

static int pr_get(void *ctx, enum rollup_period p, int64_t ep, int64_t start_s, struct rollup_stored *out, bool *found,
                  char *err, size_t errlen)
{
    struct pg_rollup *r = ctx;
    char e[32], s[32];
    snprintf(e, sizeof e, "%" PRId64, ep);
    snprintf(s, sizeof s, "%" PRId64, start_s);
    const char *vals[2] = { e, s };
    PGresult *res = NULL;
    int rc = pr_exec(r, p == ROLLUP_HOUR ? "cw_r_get_h" : "cw_r_get_d", 2, vals, NULL, NULL, &res, err, errlen);
    if (rc != STORE_OK) return rc;
    pr_free_blobs(r);
    *found = PQntuples(res) > 0;
    if (*found) {
        out->checks = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->ok = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        for (int i = 0; i < ROLLUP_HISTS; i++) {
            size_t len = 0;
            r->blob[i] = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 2 + i), &len);
            out->blob[i] = r->blob[i];
            out->len[i] = r->blob[i] ? len : 0;
        }
    }
    PQclear(res);
    return STORE_OK;
}

static int pr_put(void *ctx, enum rollup_period p, int64_t ep, int64_t start_s, const struct rollup_stored *c,
                  char *err, size_t errlen)
{
    struct pg_rollup *r = ctx;
    char num[5][32];
    snprintf(num[0], sizeof num[0], "%" PRId64, ep);
    snprintf(num[1], sizeof num[1], "%" PRId64, start_s);
    snprintf(num[2], sizeof num[2], "%" PRId64, c->checks);
    snprintf(num[3], sizeof num[3], "%" PRId64, c->ok);
    snprintf(num[4], sizeof num[4], "%" PRId64, c->checks - c->ok);
    const char *vals[10];
    int lens[10] = { 0 }, formats[10] = { 0 };
    for (int i = 0; i < 5; i++) vals[i] = num[i];
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        vals[5 + i] = c->blob[i];
        lens[5 + i] = (int)c->len[i];
        formats[5 + i] = 1; /* binary: the bytes as they are */
    }
    return pr_exec(r, p == ROLLUP_HOUR ? "cw_r_put_h" : "cw_r_put_d", 10, vals, lens, formats, NULL, err, errlen);
}

static int pr_get_watermark(void *ctx, int64_t *id, char *err, size_t errlen)
{
    return pr_int(ctx, "cw_r_mark_get", id, err, errlen);
}

static int pr_max_id(void *ctx, int64_t *id, char *err, size_t errlen)
{
    return pr_int(ctx, "cw_r_max_id", id, err, errlen);
}

static int pr_set_watermark(void *ctx, int64_t id, char *err, size_t errlen)
{
    char v[32];
    snprintf(v, sizeof v, "%" PRId64, id);
    const char *vals[1] = { v };
    return pr_exec(ctx, "cw_r_mark_set", 1, vals, NULL, NULL, NULL, err, errlen);
}

static int pr_plain(struct pg_rollup *r, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(r->conn, sql);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) return pr_fail(r, res, sql, err, errlen);
    PQclear(res);
    return STORE_OK;
}

static int pr_exec_op(void *ctx, const char *sql, char *err, size_t errlen) { return pr_plain(ctx, sql, err, errlen); }
static int pr_begin(void *ctx, char *err, size_t errlen) { return pr_plain(ctx, "BEGIN", err, errlen); }
static int pr_commit(void *ctx, char *err, size_t errlen) { return pr_plain(ctx, "COMMIT", err, errlen); }
static void pr_rollback(void *ctx)
{
    struct pg_rollup *r = ctx;
    if (PQstatus(r->conn) == CONNECTION_OK && PQtransactionStatus(r->conn) != PQTRANS_IDLE)
        PQclear(PQexec(r->conn, "ROLLBACK"));
}

static bool pr_idle(void *ctx)
{
    struct pg_rollup *r = ctx;
    return PQstatus(r->conn) == CONNECTION_OK && PQtransactionStatus(r->conn) == PQTRANS_IDLE;
}

static void pr_free(void *ctx);

static const struct rollup_ops pr_ops = {
    .read_rows = pr_read_rows,
    .get = pr_get,
    .put = pr_put,
    .get_watermark = pr_get_watermark,
    .max_id = pr_max_id,
    .exec = pr_exec_op,
    .set_watermark = pr_set_watermark,
    .begin = pr_begin,
    .commit = pr_commit,
    .rollback = pr_rollback,
    .idle = pr_idle,
    .destroy = pr_free,
};

static void pr_free(void *ctx)
{
    struct pg_rollup *r = ctx;
    pr_free_blobs(r);
    rollup_free(&r->engine);
    free(r);
}

struct rollup *pg_rollup_open(PGconn *conn, const char *where, int *rc, char *err, size_t errlen)
{
    struct pg_rollup *r = cw_xcalloc(1, sizeof *r);
    r->conn = conn;
    r->where = where;
    rollup_init(&r->engine, &pr_ops, r, where);
    *rc = STORE_OK;
    for (size_t i = 0; *rc == STORE_OK && i < sizeof pr_stmts / sizeof pr_stmts[0]; i++) {
        PGresult *res = PQprepare(conn, pr_stmts[i].name, pr_stmts[i].sql, 0, NULL);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) *rc = pr_fail(r, res, pr_stmts[i].name, err, errlen);
        else PQclear(res);
    }
    if (*rc == STORE_OK) *rc = rollup_catch_up(&r->engine, err, errlen);
    if (*rc == STORE_OK) return &r->engine;
    pr_free(r);
    return NULL;
}
