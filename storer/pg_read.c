/* storer/pg_read.c — the PostgreSQL read backend (storer/reader.h). It connects like the storer (the backend's
 * own open: same parameters, TLS, timeouts, UTC session), then runs everything in ONE transaction
 * REPEATABLE READ READ ONLY: one snapshot, no write possible. Each read is one COPY (query) TO STDOUT in the
 * binary format, taken row by row (PQgetCopyData): a 90-day report of thousands of endpoints never sits in
 * client memory whole, blobs arrive as bytes, and there are no per-chunk round trips (a cursor fetched in
 * chunks of 20,000 rows took 2.5 times as long in bench/report_bench.py). COPY takes no parameters: the
 * statements carry only numbers and times this file formats itself (`…T…Z` text cast to timestamptz), nothing
 * from outside. checks_hourly is read through LATERAL, one primary-key range per endpoint, so that the hours
 * of a long retention outside the window are never visited whatever the planner estimates. */
#include "storer/backend.h"
#include "storer/reader.h"

#include <endian.h>
#include <postgresql/libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

#define PGR_FIELDS 10 /* the widest read (last_checks) */

/* One field of a binary COPY row: len -1 for NULL. */
struct pgr_field {
    const char *p;
    int len;
};

struct store_reader {
    struct store_db *db; /* the write backend's handle, for its connection */
    PGconn *conn;
    char where[160];
};

/* One row of a binary COPY to the caller's callback; text fields are NUL-terminated copies. */
typedef int (*pgr_row_fn)(const struct pgr_field *f, void *fn, void *ctx);

static int pgr_fail(struct store_reader *r, const PGresult *res, const char *what, char *err, size_t errlen)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];
    store_one_line(msg ? msg : PQerrorMessage(r->conn), line, sizeof line);
    snprintf(err, errlen, "%s: %s: %s", r->where, what, line);
    return PQstatus(r->conn) == CONNECTION_OK ? STORE_FATAL : STORE_RETRY;
}

static int pgr_exec(struct store_reader *r, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *res = PQexec(r->conn, sql);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? STORE_OK : pgr_fail(r, res, what, err, errlen);
    PQclear(res);
    return rc;
}

static void pgr_close(struct store_reader *r)
{
    if (!r) return;
    if (r->conn && PQstatus(r->conn) == CONNECTION_OK) PQclear(PQexec(r->conn, "ROLLBACK"));
    store_backend_postgres.close(r->db);
    free(r);
}

static int64_t be_i64(const struct pgr_field *f)
{
    uint64_t v = 0;
    if (f->len == 8) memcpy(&v, f->p, 8);
    return (int64_t)be64toh(v);
}

/* A double precision column in milliseconds as µs, -1 for NULL. */
static int64_t be_ms_us(const struct pgr_field *f)
{
    if (f->len != 8) return -1;
    uint64_t bits;
    memcpy(&bits, f->p, 8);
    bits = be64toh(bits);
    double ms;
    memcpy(&ms, &bits, 8);
    return rollup_ms_to_us(ms);
}

static int pgr_check_schema(struct store_reader *r, char *err, size_t errlen)
{
    PGresult *res = PQexec(r->conn, "SELECT max(version) FROM schema_version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = pgr_fail(r, res, "not a Clockwerk database (no schema_version)", err, errlen);
        PQclear(res);
        return rc;
    }
    long long version = PQgetisnull(res, 0, 0) ? 0 : atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version >= STORE_SCHEMA_VERSION) return STORE_OK;
    snprintf(err, errlen,
             "%s: schema version %lld is older than this reader needs (%d): start the storer once to migrate it",
             r->where, version, STORE_SCHEMA_VERSION);
    return STORE_FATAL;
}

static struct store_reader *pgr_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    struct store_reader *r = cw_xcalloc(1, sizeof *r);
    r->db = store_backend_postgres.open(cfg, rc, err, errlen);
    if (!r->db) {
        free(r);
        return NULL;
    }
    r->conn = pg_store_conn(r->db);
    snprintf(r->where, sizeof r->where, "postgresql %.60s/%.60s", cfg->db_host ? cfg->db_host : "localhost",
             cfg->db_name ? cfg->db_name : "clockwerk");
    *rc = pgr_exec(r, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin a read-only transaction", err, errlen);
    if (*rc == STORE_OK) *rc = pgr_check_schema(r, err, errlen);
    if (*rc == STORE_OK) return r;
    pgr_close(r);
    return NULL;
}

#define PGCOPY_SIGNATURE "PGCOPY\n\377\r\n"
#define PGCOPY_SIGNATURE_LEN 11

/* Splits one CopyData message of a binary COPY into fields (skipping the file header in front of the first
 * row). 1: a row in f[0..ncols-1]; 0: the trailer or the header alone; -1: malformed. */
static int pgr_split(const char *buf, int len, int ncols, struct pgr_field *f)
{
    const char *p = buf, *end = buf + len;
    if (len >= PGCOPY_SIGNATURE_LEN && !memcmp(p, PGCOPY_SIGNATURE, PGCOPY_SIGNATURE_LEN)) {
        uint32_t ext;
        if (len < PGCOPY_SIGNATURE_LEN + 8) return -1;
        memcpy(&ext, p + PGCOPY_SIGNATURE_LEN + 4, 4);
        ext = be32toh(ext);
        if (ext > (uint32_t)(len - PGCOPY_SIGNATURE_LEN - 8)) return -1;
        p += PGCOPY_SIGNATURE_LEN + 8 + ext;
    }
    if (end - p < 2) return p == end ? 0 : -1;
    uint16_t n;
    memcpy(&n, p, 2);
    n = be16toh(n);
    p += 2;
    if (n == 0xffff) return 0;
    if (n != ncols) return -1;
    for (int i = 0; i < ncols; i++) {
        uint32_t l;
        if (end - p < 4) return -1;
        memcpy(&l, p, 4);
        p += 4;
        int32_t sl = (int32_t)be32toh(l);
        if (sl > end - p || sl < -1) return -1;
        f[i] = (struct pgr_field){ sl < 0 ? NULL : p, sl };
        if (sl > 0) p += sl;
    }
    return p == end ? 1 : -1;
}

/* Runs COPY (sql) TO STDOUT in binary and hands each row of ncols fields to row(). */
static int pgr_stream(struct store_reader *r, const char *sql, int ncols, const char *what, pgr_row_fn row, void *fn,
                      void *ctx, char *err, size_t errlen)
{
    struct cw_buf copy = { 0 };
    cw_buf_printf(&copy, "COPY (%s) TO STDOUT (FORMAT binary)%c", sql, '\0');
    PGresult *res = PQexec(r->conn, (const char *)copy.data);
    cw_buf_free(&copy);
    int rc = PQresultStatus(res) == PGRES_COPY_OUT ? STORE_OK : pgr_fail(r, res, what, err, errlen);
    PQclear(res);
    if (rc != STORE_OK) return rc;
    char *buf = NULL;
    int len;
    struct pgr_field f[PGR_FIELDS];
    while ((len = PQgetCopyData(r->conn, &buf, 0)) > 0) {
        int got = rc == STORE_OK ? pgr_split(buf, len, ncols, f) : 0;
        if (got < 0) {
            snprintf(err, errlen, "%s: %s: a malformed row in the server's binary COPY", r->where, what);
            rc = STORE_FATAL;
        } else if (got > 0 && row(f, fn, ctx) != 0) {
            rc = STORE_FATAL;
        }
        PQfreemem(buf); /* the rest of the COPY is drained either way: the connection must end it */
    }
    if (len == -2 && rc == STORE_OK) rc = pgr_fail(r, NULL, what, err, errlen);
    while ((res = PQgetResult(r->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == STORE_OK) rc = pgr_fail(r, res, what, err, errlen);
        PQclear(res);
    }
    return rc;
}

/* A text field as a NUL-terminated string in b (reused). */
static const char *pgr_text(const struct pgr_field *f, struct cw_buf *b)
{
    cw_buf_reset(b);
    if (f->len > 0) cw_buf_put(b, f->p, (size_t)f->len);
    cw_buf_put(b, "", 1);
    return (const char *)b->data;
}

struct pgr_text_ctx {
    void *fn, *ctx;
    struct cw_buf a, b; /* two text columns of one row */
};

static int pgr_endpoint_row(const struct pgr_field *f, void *fn, void *ctx)
{
    struct pgr_text_ctx *t = ctx;
    (void)fn;
    return ((store_read_endpoint_fn)t->fn)(t->ctx, be_i64(&f[0]), pgr_text(&f[1], &t->a),
                                           f[2].len > 0 ? pgr_text(&f[2], &t->b) : "http");
}

static int pgr_endpoints(struct store_reader *r, store_read_endpoint_fn fn, void *ctx, char *err, size_t errlen)
{
    struct pgr_text_ctx t = { .fn = (void *)fn, .ctx = ctx };
    int rc = pgr_stream(r, "SELECT id, url, type FROM endpoints", 3, "read endpoints", pgr_endpoint_row, NULL, &t, err,
                        errlen);
    cw_buf_free(&t.a);
    cw_buf_free(&t.b);
    return rc;
}

/* A location column (text, binary format: its bytes) as a string in out, cut to fit (names are 1..32 bytes). */
static const char *pgr_location(const struct pgr_field *f, char *out, size_t cap)
{
    size_t n = f->len > 0 ? (size_t)f->len : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(out, f->p, n);
    out[n] = '\0';
    return out;
}

static int pgr_cell_row(const struct pgr_field *f, void *fn, void *ctx)
{
    struct rollup_stored c = { .checks = be_i64(&f[1]), .ok = be_i64(&f[2]) };
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        c.blob[i] = f[3 + i].p;
        c.len[i] = f[3 + i].len > 0 ? (size_t)f[3 + i].len : 0;
    }
    char loc[4 * CW_LOCATION_NAME_MAX + 1];
    c.location = pgr_location(&f[9], loc, sizeof loc);
    return ((store_read_cell_fn)fn)(ctx, be_i64(&f[0]), be_i64(&f[8]), &c);
}

static int pgr_cells(struct store_reader *r, enum rollup_period p, int64_t from_s, int64_t to_s, int64_t ep_lo,
                     int64_t ep_hi, store_read_cell_fn fn, void *ctx, char *err, size_t errlen)
{
    char sql[900], from[40], to[40];
    store_read_format_ms(from_s * 1000, false, from, sizeof from);
    store_read_format_ms(to_s * 1000, false, to, sizeof to);
    snprintf(sql, sizeof sql,
             "SELECT h.endpoint_id, h.checks, h.ok, h.latency_hist, h.dns_hist, h.connect_hist, h.tls_hist,"
             " h.ttfb_hist, extract(epoch FROM h.period_start)::bigint, h.location"
             " FROM endpoints e %s %s h %s h.endpoint_id = e.id"
             " AND h.period_start >= '%s'::timestamptz AND h.period_start < '%s'::timestamptz%s"
             " WHERE e.id BETWEEN %lld AND %lld ORDER BY h.endpoint_id, h.period_start",
             p == ROLLUP_HOUR ? "CROSS JOIN LATERAL (SELECT * FROM" : "JOIN",
             p == ROLLUP_HOUR ? "checks_hourly" : "checks_daily", p == ROLLUP_HOUR ? "WHERE" : "ON", from, to,
             p == ROLLUP_HOUR ? ") h" : "", (long long)ep_lo, (long long)ep_hi);
    return pgr_stream(r, sql, 10, "read roll-ups", pgr_cell_row, (void *)fn, ctx, err, errlen);
}

static int pgr_recent_row(const struct pgr_field *f, void *fn, void *ctx)
{
    struct rollup_row rr = { .endpoint_id = be_i64(&f[0]), .ok = f[1].len == 1 && f[1].p[0] != 0 };
    for (int i = 0; i < ROLLUP_HISTS; i++) rr.us[i] = be_ms_us(&f[2 + i]);
    char loc[4 * CW_LOCATION_NAME_MAX + 1];
    rr.location = pgr_location(&f[8], loc, sizeof loc);
    return ((store_read_row_fn)fn)(ctx, &rr, be_i64(&f[7]));
}

static const struct store_read_dialect pgr_dialect = {
    .mysql_form = false,
    .time_cast = "::timestamptz",
    .raised_ms = "round(extract(epoch FROM raised_at) * 1000)::bigint",
    .checked_ms = "round(extract(epoch FROM checked_at) * 1000)::bigint",
    .maintenance_true = "maintenance",
};

static int pgr_maint_row(const struct pgr_field *f, void *fn, void *ctx)
{
    char loc[4 * CW_LOCATION_NAME_MAX + 1];
    return ((store_read_maint_fn)fn)(ctx, be_i64(&f[0]), be_i64(&f[1]), be_i64(&f[2]),
                                     pgr_location(&f[3], loc, sizeof loc));
}

static int pgr_maintenance(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                           store_read_maint_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_maintenance(&sql, &pgr_dialect, from_ms, to_ms, ep_lo, ep_hi);
    int rc = pgr_stream(r, (const char *)sql.data, 4, "read the checks in maintenance", pgr_maint_row, (void *)fn, ctx,
                        err, errlen);
    cw_buf_free(&sql);
    return rc;
}

static int pgr_recent(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                      store_read_row_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_recent(&sql, &pgr_dialect, from_ms, to_ms, ep_lo, ep_hi);
    int rc = pgr_stream(r, (const char *)sql.data, 9, "read the rows above the watermark", pgr_recent_row, (void *)fn,
                        ctx, err, errlen);
    cw_buf_free(&sql);
    return rc;
}

static int pgr_alert_row(const struct pgr_field *f, void *fn, void *ctx)
{
    struct pgr_text_ctx *t = ctx;
    (void)fn;
    return ((store_read_alert_fn)t->fn)(t->ctx, be_i64(&f[0]), f[1].len == 4 && !memcmp(f[1].p, "down", 4),
                                        be_i64(&f[2]), pgr_text(&f[3], &t->a));
}

static int pgr_alerts(struct store_reader *r, int64_t from_ms, int64_t before_ms, int64_t ep_lo, int64_t ep_hi,
                      store_read_alert_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_alerts(&sql, &pgr_dialect, from_ms, before_ms, ep_lo, ep_hi);
    struct pgr_text_ctx t = { .fn = (void *)fn, .ctx = ctx };
    int rc = pgr_stream(r, (const char *)sql.data, 4, "read alerts", pgr_alert_row, NULL, &t, err, errlen);
    cw_buf_free(&t.a);
    cw_buf_free(&sql);
    return rc;
}

static int pgr_check_row(const struct pgr_field *f, void *fn, void *ctx)
{
    struct pgr_text_ctx *t = ctx;
    (void)fn;
    uint32_t status = 0;
    if (f[2].len == 4) memcpy(&status, f[2].p, 4);
    struct store_read_check c = { .at_ms = be_i64(&f[0]),
                                  .ok = f[1].len == 1 && f[1].p[0] != 0,
                                  .status_code = (int)(int32_t)be32toh(status),
                                  .error = f[8].len >= 0 ? pgr_text(&f[8], &t->a) : NULL,
                                  .details = f[9].len >= 0 ? pgr_text(&f[9], &t->b) : NULL };
    for (int i = 0; i < ROLLUP_HISTS; i++) c.us[i] = be_ms_us(&f[3 + i]);
    return ((store_read_check_fn)t->fn)(t->ctx, &c);
}

static int pgr_last_checks(struct store_reader *r, int64_t endpoint_id, int n, store_read_check_fn fn, void *ctx,
                           char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_last_checks(&sql, &pgr_dialect, endpoint_id, n);
    struct pgr_text_ctx t = { .fn = (void *)fn, .ctx = ctx };
    int rc = pgr_stream(r, (const char *)sql.data, 10, "read the last checks", pgr_check_row, NULL, &t, err, errlen);
    cw_buf_free(&t.a);
    cw_buf_free(&t.b);
    cw_buf_free(&sql);
    return rc;
}

const struct store_read_backend store_read_postgres = {
    .name = "postgresql",
    .open = pgr_open,
    .endpoints = pgr_endpoints,
    .cells = pgr_cells,
    .recent = pgr_recent,
    .maintenance = pgr_maintenance,
    .alerts = pgr_alerts,
    .last_checks = pgr_last_checks,
    .close = pgr_close,
};
