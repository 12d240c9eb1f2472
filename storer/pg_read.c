/* storer/pg_read.c — the PostgreSQL read backend (storer/reader.h). It connects like the storer (the backend's
 * own open: same parameters, TLS, timeouts, UTC session), then runs everything in ONE transaction
 * REPEATABLE READ READ ONLY: one snapshot, no write possible. Each read is a cursor fetched in binary chunks
 * (FETCH_ROWS rows): a 90-day report of thousands of endpoints never sits in client memory whole, and blobs
 * arrive as bytes (no hex decoding). Times are bound as `…T…Z` text and cast to timestamptz. */
#include "storer/backend.h"
#include "storer/reader.h"

#include <endian.h>
#include <postgresql/libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

#define FETCH_ROWS "20000"

struct store_reader {
    struct store_db *db; /* the write backend's handle, for its connection */
    PGconn *conn;
    char where[160];
};

/* One row of a binary result to the caller's callback. */
typedef int (*pgr_row_fn)(const PGresult *res, int row, void *fn, void *ctx);

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

static int64_t be_i64(const PGresult *res, int row, int col)
{
    uint64_t v = 0;
    if (PQgetlength(res, row, col) == 8) memcpy(&v, PQgetvalue(res, row, col), 8);
    return (int64_t)be64toh(v);
}

/* A double precision column in milliseconds as µs, -1 for NULL. */
static int64_t be_ms_us(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8) return -1;
    uint64_t bits;
    memcpy(&bits, PQgetvalue(res, row, col), 8);
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
    snprintf(err, errlen, "%s: schema version %lld has no roll-ups (needs %d): start the storer once to migrate it",
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

/* Declares a cursor for sql with its text parameters, fetches it in binary chunks through row(), closes it. */
static int pgr_stream(struct store_reader *r, const char *sql, int n, const char *const *vals, const char *what,
                      pgr_row_fn row, void *fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf decl = { 0 };
    cw_buf_printf(&decl, "DECLARE report_cursor NO SCROLL CURSOR FOR %s%c", sql, '\0');
    PGresult *res = PQexecParams(r->conn, (const char *)decl.data, n, NULL, vals, NULL, NULL, 1);
    cw_buf_free(&decl);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? STORE_OK : pgr_fail(r, res, what, err, errlen);
    PQclear(res);
    while (rc == STORE_OK) {
        res = PQexecParams(r->conn, "FETCH " FETCH_ROWS " FROM report_cursor", 0, NULL, NULL, NULL, NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) rc = pgr_fail(r, res, what, err, errlen);
        int rows = rc == STORE_OK ? PQntuples(res) : 0;
        for (int i = 0; i < rows && rc == STORE_OK; i++)
            if (row(res, i, fn, ctx) != 0) rc = STORE_FATAL;
        PQclear(res);
        if (rows == 0) break;
    }
    if (rc == STORE_OK) rc = pgr_exec(r, "CLOSE report_cursor", what, err, errlen);
    return rc;
}

static int pgr_endpoint_row(const PGresult *res, int row, void *fn, void *ctx)
{
    return ((store_read_endpoint_fn)fn)(ctx, be_i64(res, row, 0), PQgetvalue(res, row, 1));
}

static int pgr_endpoints(struct store_reader *r, store_read_endpoint_fn fn, void *ctx, char *err, size_t errlen)
{
    return pgr_stream(r, "SELECT id, url FROM endpoints", 0, NULL, "read endpoints", pgr_endpoint_row, (void *)fn,
                      ctx, err, errlen);
}

static int pgr_cell_row(const PGresult *res, int row, void *fn, void *ctx)
{
    struct rollup_stored c = { .checks = be_i64(res, row, 1), .ok = be_i64(res, row, 2) };
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        c.blob[i] = PQgetvalue(res, row, 3 + i);
        c.len[i] = (size_t)PQgetlength(res, row, 3 + i);
    }
    return ((store_read_cell_fn)fn)(ctx, be_i64(res, row, 0), &c);
}

static int pgr_cells(struct store_reader *r, enum rollup_period p, int64_t from_s, int64_t to_s, int64_t ep_lo,
                     int64_t ep_hi, store_read_cell_fn fn, void *ctx, char *err, size_t errlen)
{
    char sql[512], from[40], to[40], lo[24], hi[24];
    snprintf(sql, sizeof sql,
             "SELECT h.endpoint_id, h.checks, h.ok, h.latency_hist, h.dns_hist, h.connect_hist, h.tls_hist,"
             " h.ttfb_hist FROM endpoints e JOIN %s h ON h.endpoint_id = e.id"
             " AND h.period_start >= $1::timestamptz AND h.period_start < $2::timestamptz"
             " WHERE e.id BETWEEN $3::bigint AND $4::bigint",
             p == ROLLUP_HOUR ? "checks_hourly" : "checks_daily");
    store_read_format_ms(from_s * 1000, false, from, sizeof from);
    store_read_format_ms(to_s * 1000, false, to, sizeof to);
    snprintf(lo, sizeof lo, "%lld", (long long)ep_lo);
    snprintf(hi, sizeof hi, "%lld", (long long)ep_hi);
    const char *vals[] = { from, to, lo, hi };
    return pgr_stream(r, sql, 4, vals, "read roll-ups", pgr_cell_row, (void *)fn, ctx, err, errlen);
}

static int pgr_recent_row(const PGresult *res, int row, void *fn, void *ctx)
{
    struct rollup_row rr = { .endpoint_id = be_i64(res, row, 0),
                             .ok = PQgetlength(res, row, 1) == 1 && PQgetvalue(res, row, 1)[0] != 0 };
    for (int i = 0; i < ROLLUP_HISTS; i++) rr.us[i] = be_ms_us(res, row, 2 + i);
    return ((store_read_row_fn)fn)(ctx, &rr);
}

static int pgr_recent(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                      store_read_row_fn fn, void *ctx, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT endpoint_id, ok, latency_ms, dns_ms, connect_ms, tls_ms, ttfb_ms FROM checks"
        " WHERE id > (SELECT last_check_id FROM rollup_state WHERE id = 1)"
        " AND checked_at >= $1::timestamptz AND checked_at < $2::timestamptz"
        " AND endpoint_id BETWEEN $3::bigint AND $4::bigint";
    char from[40], to[40], lo[24], hi[24];
    store_read_format_ms(from_ms, false, from, sizeof from);
    store_read_format_ms(to_ms, false, to, sizeof to);
    snprintf(lo, sizeof lo, "%lld", (long long)ep_lo);
    snprintf(hi, sizeof hi, "%lld", (long long)ep_hi);
    const char *vals[] = { from, to, lo, hi };
    return pgr_stream(r, sql, 4, vals, "read the rows above the watermark", pgr_recent_row, (void *)fn, ctx, err,
                      errlen);
}

static int pgr_alert_row(const PGresult *res, int row, void *fn, void *ctx)
{
    return ((store_read_alert_fn)fn)(ctx, be_i64(res, row, 0), !strcmp(PQgetvalue(res, row, 1), "down"),
                                     be_i64(res, row, 2), PQgetvalue(res, row, 3));
}

static int pgr_alerts(struct store_reader *r, int64_t before_ms, int64_t ep_lo, int64_t ep_hi, store_read_alert_fn fn,
                      void *ctx, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT endpoint_id, kind, round(extract(epoch FROM raised_at) * 1000)::bigint, message FROM alerts"
        " WHERE kind IN ('down', 'up') AND raised_at < $1::timestamptz"
        " AND endpoint_id BETWEEN $2::bigint AND $3::bigint ORDER BY endpoint_id, raised_at, id";
    char before[40], lo[24], hi[24];
    store_read_format_ms(before_ms, false, before, sizeof before);
    snprintf(lo, sizeof lo, "%lld", (long long)ep_lo);
    snprintf(hi, sizeof hi, "%lld", (long long)ep_hi);
    const char *vals[] = { before, lo, hi };
    return pgr_stream(r, sql, 3, vals, "read alerts", pgr_alert_row, (void *)fn, ctx, err, errlen);
}

const struct store_read_backend store_read_postgres = {
    .name = "postgresql",
    .open = pgr_open,
    .endpoints = pgr_endpoints,
    .cells = pgr_cells,
    .recent = pgr_recent,
    .alerts = pgr_alerts,
    .close = pgr_close,
};
