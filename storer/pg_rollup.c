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
    " PRIMARY KEY (endpoint_id, period_start))" /* schema 6 adds location to the key (pg_schema.c) */

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
    " tls_hist, ttfb_hist, location) VALUES ($1::bigint, to_timestamp($2::bigint), $3::bigint, $4::bigint,"         \
    " $5::bigint, $6::bytea, $7::bytea, $8::bytea, $9::bytea, $10::bytea, $11::text)"                               \
    " ON CONFLICT (endpoint_id, period_start, location) DO UPDATE SET checks = EXCLUDED.checks, ok = EXCLUDED.ok,"  \
    " failures = EXCLUDED.failures, latency_hist = EXCLUDED.latency_hist, dns_hist = EXCLUDED.dns_hist,"            \
    " connect_hist = EXCLUDED.connect_hist, tls_hist = EXCLUDED.tls_hist, ttfb_hist = EXCLUDED.ttfb_hist"

/* The cells of a fold, many at a time: keys and values travel as arrays (one per column), the stored cells
 * come back in binary (int8 big-endian, bytea as it is). */
#define PG_GET_MANY(table)                                                                              \
    "SELECT h.endpoint_id, extract(epoch FROM h.period_start)::bigint, h.checks, h.ok, h.latency_hist," \
    " h.dns_hist, h.connect_hist, h.tls_hist, h.ttfb_hist, h.location"                                  \
    " FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS k(e, s, l)"                                \
    " JOIN " table " h ON h.endpoint_id = k.e AND h.period_start = to_timestamp(k.s) AND h.location = k.l"
#define PG_PUT_MANY(table)                                                                                          \
    "INSERT INTO " table " (endpoint_id, period_start, checks, ok, failures, latency_hist, dns_hist, connect_hist," \
    " tls_hist, ttfb_hist, location) SELECT k.e, to_timestamp(k.s), k.c, k.o, k.c - k.o, k.b0, k.b1, k.b2, k.b3,"   \
    " k.b4, k.l FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bytea[], $6::bytea[],"      \
    " $7::bytea[], $8::bytea[], $9::bytea[], $10::text[]) AS k(e, s, c, o, b0, b1, b2, b3, b4, l)"                  \
    " ON CONFLICT (endpoint_id, period_start, location) DO UPDATE SET checks = EXCLUDED.checks, ok = EXCLUDED.ok,"  \
    " failures = EXCLUDED.failures, latency_hist = EXCLUDED.latency_hist, dns_hist = EXCLUDED.dns_hist,"            \
    " connect_hist = EXCLUDED.connect_hist, tls_hist = EXCLUDED.tls_hist, ttfb_hist = EXCLUDED.ttfb_hist"
#define PG_MANY_COLS 10

/* With the roll-ups staging: the new endpoints inserted as by postgres.c's cw_new_endpoints, and the
 * endpoint id of every check of the batch in its order, as one array (one value to parse, not a row per check).
 * The CTE's rows are not visible to the rest of the statement, hence the second join. */
#define PG_NEW_ENDPOINTS_IDS                                                                                      \
    "WITH new AS (INSERT INTO endpoints (url, type) SELECT DISTINCT ON (u.url) u.url, u.type"                     \
    " FROM unnest($1::text[], $2::text[]) AS u(url, type)"                                                        \
    " WHERE NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.url = u.url) ORDER BY u.url"                            \
    " ON CONFLICT (url) DO NOTHING"                                                                               \
    " RETURNING id, url)"                                                                                         \
    " SELECT array_agg(COALESCE(e.id, new.id) ORDER BY u.n) FROM unnest($1::text[]) WITH ORDINALITY AS u(url, n)" \
    " LEFT JOIN endpoints e ON e.url = u.url LEFT JOIN new ON new.url = u.url"

static const struct {
    const char *name, *sql;
} pr_stmts[] = {
    { "cw_r_read", "SELECT id, endpoint_id, floor(extract(epoch FROM checked_at))::bigint, ok::int, latency_ms,"
                   " dns_ms, connect_ms, tls_ms, ttfb_ms, location FROM checks WHERE id > $1::bigint ORDER BY id"
                   " LIMIT $2::bigint" },
    { "cw_r_get_h", "SELECT " PG_COLS_GET " FROM checks_hourly WHERE endpoint_id = $1::bigint"
                    " AND period_start = to_timestamp($2::bigint) AND location = $3::text" },
    { "cw_r_get_d", "SELECT " PG_COLS_GET " FROM checks_daily WHERE endpoint_id = $1::bigint"
                    " AND period_start = to_timestamp($2::bigint) AND location = $3::text" },
    { "cw_r_put_h", PG_PUT("checks_hourly") },
    { "cw_r_put_d", PG_PUT("checks_daily") },
    { "cw_r_mark_get", "SELECT last_check_id FROM rollup_state WHERE id = 1" },
    { "cw_r_mark_set", "UPDATE rollup_state SET last_check_id = $1::bigint WHERE id = 1" },
    { "cw_r_max_id", "SELECT COALESCE(MAX(id), 0) FROM checks" },
    { "cw_r_new_endpoints", PG_NEW_ENDPOINTS_IDS },
    { "cw_r_count", "SELECT count(*), COALESCE(max(id), $1::bigint) FROM checks WHERE id > $1::bigint" },
    { "cw_r_many_h", PG_GET_MANY("checks_hourly") },
    { "cw_r_many_d", PG_GET_MANY("checks_daily") },
    { "cw_r_put_many_h", PG_PUT_MANY("checks_hourly") },
    { "cw_r_put_many_d", PG_PUT_MANY("checks_daily") },
};

struct pg_rollup {
    PGconn *conn;
    const char *where;
    unsigned char *blob[ROLLUP_HISTS]; /* the last cell read, unescaped */
    PGresult *many;                    /* the last get_many's result: its blobs are the cells' */
    struct cw_buf arr[PG_MANY_COLS];   /* array parameters */
    int64_t *ids;                      /* pg_rollup_new_endpoints' answer */
    size_t cap_ids;
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
        row->loc = rollup_location(&r->engine, PQgetvalue(res, i, 9), (size_t)PQgetlength(res, i, 9));
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

static int pr_get(void *ctx, enum rollup_period p, int64_t ep, const char *location, int64_t start_s,
                  struct rollup_stored *out, bool *found, char *err, size_t errlen)
{
    struct pg_rollup *r = ctx;
    char e[32], s[32];
    snprintf(e, sizeof e, "%" PRId64, ep);
    snprintf(s, sizeof s, "%" PRId64, start_s);
    const char *vals[3] = { e, s, location };
    PGresult *res = NULL;
    int rc = pr_exec(r, p == ROLLUP_HOUR ? "cw_r_get_h" : "cw_r_get_d", 3, vals, NULL, NULL, &res, err, errlen);
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

static int pr_put(void *ctx, enum rollup_period p, int64_t ep, const char *location, int64_t start_s,
                  const struct rollup_stored *c, char *err, size_t errlen)
{
    struct pg_rollup *r = ctx;
    char num[5][32];
    snprintf(num[0], sizeof num[0], "%" PRId64, ep);
    snprintf(num[1], sizeof num[1], "%" PRId64, start_s);
    snprintf(num[2], sizeof num[2], "%" PRId64, c->checks);
    snprintf(num[3], sizeof num[3], "%" PRId64, c->ok);
    snprintf(num[4], sizeof num[4], "%" PRId64, c->checks - c->ok);
    const char *vals[11];
    int lens[11] = { 0 }, formats[11] = { 0 };
    vals[10] = location;
    for (int i = 0; i < 5; i++) vals[i] = num[i];
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        vals[5 + i] = c->blob[i];
        lens[5 + i] = (int)c->len[i];
        formats[5 + i] = 1; /* binary: the bytes as they are */
    }
    return pr_exec(r, p == ROLLUP_HOUR ? "cw_r_put_h" : "cw_r_put_d", 11, vals, lens, formats, NULL, err, errlen);
}

static void pr_arr_open(struct pg_rollup *r, int cols)
{
    for (int j = 0; j < cols; j++) {
        cw_buf_reset(&r->arr[j]);
        cw_buf_put(&r->arr[j], "{", 1);
    }
}

static void pr_arr_close(struct pg_rollup *r, int cols, const char **vals)
{
    for (int j = 0; j < cols; j++) {
        if (r->arr[j].len > 1) r->arr[j].len--; /* the last element's comma */
        cw_buf_put(&r->arr[j], "}", 2);         /* with the NUL */
        vals[j] = (const char *)r->arr[j].data;
    }
}

/* Appends v and a comma to an array literal. */
static void pr_arr_i64(struct cw_buf *b, int64_t v)
{
    rollup_put_i64(b, v);
    cw_buf_put(b, ",", 1);
}

/* Appends a text and a comma to an array literal. */
static void pr_arr_text(struct cw_buf *b, const char *s)
{
    pg_arr_text(b, s);
    cw_buf_put(b, ",", 1);
}

/* Appends a blob to an array literal of bytea: "\\x0102...", (bytea's hex input, its backslash escaped). */
static void pr_arr_bytea(struct cw_buf *b, const unsigned char *blob, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    cw_buf_reserve(b, 2 * len + 8);
    char *p = (char *)b->data + b->len;
    memcpy(p, "\"\\\\x", 4);
    p += 4;
    for (size_t j = 0; j < len; j++) {
        *p++ = hex[blob[j] >> 4];
        *p++ = hex[blob[j] & 15];
    }
    memcpy(p, "\",", 2);
    b->len = (size_t)(p + 2 - (char *)b->data);
}

static int64_t pr_be64(const PGresult *res, int row, int col)
{
    uint64_t v = 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, row, col);
    if (PQgetlength(res, row, col) != 8) return 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return (int64_t)v;
}

static int pr_get_many(void *ctx, enum rollup_period p, struct rollup_cell *cells, size_t n, char *err, size_t errlen)
{
    struct pg_rollup *r = ctx;
    pr_arr_open(r, 3);
    for (size_t i = 0; i < n; i++) {
        pr_arr_i64(&r->arr[0], cells[i].endpoint_id);
        pr_arr_i64(&r->arr[1], cells[i].start_s);
        pr_arr_text(&r->arr[2], cells[i].location);
    }
    const char *vals[3];
    pr_arr_close(r, 3, vals);
    PQclear(r->many);
    r->many = PQexecPrepared(r->conn, p == ROLLUP_HOUR ? "cw_r_many_h" : "cw_r_many_d", 3, vals, NULL, NULL, 1);
    PGresult *res = r->many;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        r->many = NULL;
        return pr_fail(r, res, "read cells", err, errlen);
    }
    for (int i = 0; i < PQntuples(res); i++) {
        struct rollup_cell *c = rollup_cell_find(&r->engine, cells, n, pr_be64(res, i, 0), PQgetvalue(res, i, 9),
                                                 (size_t)PQgetlength(res, i, 9), pr_be64(res, i, 1));
        if (!c) continue; /* cannot be: the join only returns the keys asked for */
        c->found = true;
        c->st.checks = pr_be64(res, i, 2);
        c->st.ok = pr_be64(res, i, 3);
        for (int k = 0; k < ROLLUP_HISTS; k++) {
            c->st.blob[k] = PQgetvalue(res, i, 4 + k);
            c->st.len[k] = (size_t)PQgetlength(res, i, 4 + k);
        }
    }
    return STORE_OK;
}

static int pr_put_many(void *ctx, enum rollup_period p, const struct rollup_cell *cells, size_t n, char *err,
                       size_t errlen)
{
    struct pg_rollup *r = ctx;
    pr_arr_open(r, PG_MANY_COLS);
    for (size_t i = 0; i < n; i++) {
        const struct rollup_cell *c = &cells[i];
        pr_arr_i64(&r->arr[0], c->endpoint_id);
        pr_arr_i64(&r->arr[1], c->start_s);
        pr_arr_i64(&r->arr[2], c->st.checks);
        pr_arr_i64(&r->arr[3], c->st.ok);
        for (int k = 0; k < ROLLUP_HISTS; k++) pr_arr_bytea(&r->arr[4 + k], c->st.blob[k], c->st.len[k]);
        pr_arr_text(&r->arr[9], c->location);
    }
    const char *vals[PG_MANY_COLS];
    pr_arr_close(r, PG_MANY_COLS, vals);
    return pr_exec(r, p == ROLLUP_HOUR ? "cw_r_put_many_h" : "cw_r_put_many_d", PG_MANY_COLS, vals, NULL, NULL, NULL,
                   err, errlen);
}

static int pr_count_above(void *ctx, int64_t after, int64_t *count, int64_t *top, char *err, size_t errlen)
{
    struct pg_rollup *r = ctx;
    char a[32];
    snprintf(a, sizeof a, "%" PRId64, after);
    const char *vals[1] = { a };
    PGresult *res = NULL;
    int rc = pr_exec(r, "cw_r_count", 1, vals, NULL, NULL, &res, err, errlen);
    if (rc != STORE_OK) return rc;
    *count = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    *top = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : after;
    PQclear(res);
    return STORE_OK;
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
    .get_many = pr_get_many,
    .put_many = pr_put_many,
    .count_above = pr_count_above,
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
    PQclear(r->many);
    free(r->ids);
    for (int j = 0; j < PG_MANY_COLS; j++) cw_buf_free(&r->arr[j]);
    rollup_free(&r->engine);
    free(r);
}

struct rollup *pg_rollup_open(PGconn *conn, const char *where, int *rc, char *err, size_t errlen)
{
    struct pg_rollup *r = cw_xcalloc(1, sizeof *r);
    r->conn = conn;
    r->where = where;
    rollup_init(&r->engine, &pr_ops, r, where);
    rollup_enable_staging(&r->engine);
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

int pg_rollup_new_endpoints(struct rollup *roll, const char *urls, const char *types, size_t n, const int64_t **ids,
                            char *err, size_t errlen)
{
    struct pg_rollup *r = roll->ctx;
    const char *vals[2] = { urls, types };
    PGresult *res = NULL;
    *ids = NULL;
    int rc = pr_exec(r, "cw_r_new_endpoints", 2, vals, NULL, NULL, &res, err, errlen);
    if (rc != STORE_OK) return rc;
    if (n > r->cap_ids) {
        r->cap_ids = n;
        r->ids = cw_xrealloc(r->ids, n * sizeof *r->ids);
    }
    const char *p = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
    size_t got = 0;
    bool ok = *p == '{';
    while (ok && *p && *p != '}' && got < n) { /* {12,13,...}: positive ids, never NULL (the joins) */
        int64_t v = 0;
        const char *digits = ++p;
        for (; *p >= '0' && *p <= '9' && p - digits < 18; p++) v = v * 10 + (*p - '0');
        r->ids[got++] = v;
        ok = p != digits && (*p == ',' || *p == '}');
    }
    if (ok && *p == '}' && got == n) *ids = r->ids;
    PQclear(res);
    return STORE_OK;
}
