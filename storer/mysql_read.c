/* storer/mysql_read.c — the MySQL/MariaDB read backend (storer/reader.h). It connects like the storer (the
 * backend's own open, storer/mysql.c: same parameters, TLS, UTC session), then reads in ONE transaction
 * START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY. Each read is one statement streamed with
 * mysql_use_result (rows come as they are read, never the whole result in memory). The statements carry only
 * numbers and times this file formats itself (`2026-11-25 04:05:06.123`, the session is UTC): nothing from
 * outside is ever pasted into SQL. The roll-up reads name the endpoints' ids (those endpoints() returned) in an
 * IN list with the range of period_start, which InnoDB turns into one range of the primary key (endpoint_id,
 * period_start) per endpoint (MariaDB's conversion of long IN lists into a subquery is switched off for the
 * session: it would read every cell of each endpoint); a join from endpoints reads every hour of a long
 * retention. */
#include "storer/backend.h"
#include "storer/mysql_db.h"
#include "storer/reader.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

struct store_reader {
    struct store_db *db; /* the write backend's handle: db->conn */
    int64_t *ids;        /* endpoints.id as endpoints() read them */
    size_t n_ids, cap_ids;
    bool have_ids;
};

typedef int (*myr_row_fn)(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx);

static void myr_close(struct store_reader *r)
{
    if (!r) return;
    if (r->db && r->db->conn) (void)mysql_query(r->db->conn, "ROLLBACK");
    store_backend_mysql.close(r->db);
    free(r->ids);
    free(r);
}

static int myr_check_schema(struct store_reader *r, char *err, size_t errlen)
{
    long long version = 0;
    bool is_null = true;
    int rc = STORE_OK;
    if (mysql_query(r->db->conn, "SELECT max(version) FROM schema_version") != 0)
        return my_fail(r->db, "not a Clockwerk database (no schema_version)", err, errlen);
    MYSQL_RES *res = mysql_store_result(r->db->conn);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (!res) rc = my_fail(r->db, "read schema_version", err, errlen);
    else if (row && row[0]) version = atoll(row[0]), is_null = false;
    mysql_free_result(res);
    if (rc != STORE_OK) return rc;
    if (!is_null && version >= STORE_SCHEMA_VERSION) return STORE_OK;
    snprintf(err, errlen,
             "%s: schema version %lld is older than this reader needs (%d): start the storer once to migrate it",
             r->db->where, version, STORE_SCHEMA_VERSION);
    return STORE_FATAL;
}

static struct store_reader *myr_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    struct store_reader *r = cw_xcalloc(1, sizeof *r);
    r->db = my_connect(cfg, false, rc, err, errlen);
    if (!r->db) {
        free(r);
        return NULL;
    }
    /* MariaDB only (MySQL has no such variable and needs nothing): keep IN lists ranges, see above */
    (void)mysql_query(r->db->conn, "SET SESSION in_predicate_conversion_threshold = 0");
    *rc = my_exec(r->db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "begin a read-only transaction", err,
                  errlen);
    if (*rc == STORE_OK) *rc = myr_check_schema(r, err, errlen);
    if (*rc == STORE_OK) return r;
    myr_close(r);
    return NULL;
}

/* Runs sql and streams its rows through row(). */
static int myr_stream(struct store_reader *r, const char *sql, const char *what, myr_row_fn row, void *fn, void *ctx,
                      char *err, size_t errlen)
{
    MYSQL *c = r->db->conn;
    if (mysql_real_query(c, sql, strlen(sql)) != 0) return my_fail(r->db, what, err, errlen);
    MYSQL_RES *res = mysql_use_result(c);
    if (!res) return my_fail(r->db, what, err, errlen);
    int rc = STORE_OK;
    MYSQL_ROW rw;
    while ((rw = mysql_fetch_row(res)) != NULL) {
        if (row(rw, mysql_fetch_lengths(res), fn, ctx) != 0) {
            rc = STORE_FATAL;
            break;
        }
    }
    if (rc == STORE_OK && mysql_errno(c) != 0) rc = my_fail(r->db, what, err, errlen);
    mysql_free_result(res); /* reads what a stopped callback left */
    return rc;
}

static int64_t num(const char *s) { return s ? strtoll(s, NULL, 10) : 0; }

struct myr_ep_ctx {
    struct store_reader *r;
    store_read_endpoint_fn fn;
    void *ctx;
};

static int myr_endpoint_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    struct myr_ep_ctx *e = ctx;
    struct store_reader *r = e->r;
    (void)len;
    (void)fn;
    if (r->n_ids == r->cap_ids) {
        r->cap_ids = r->cap_ids ? 2 * r->cap_ids : 1024;
        r->ids = cw_xrealloc(r->ids, r->cap_ids * sizeof *r->ids);
    }
    r->ids[r->n_ids++] = num(row[0]);
    return e->fn ? e->fn(e->ctx, num(row[0]), row[1] ? row[1] : "", row[2] ? row[2] : "http") : 0;
}

static int myr_endpoints(struct store_reader *r, store_read_endpoint_fn fn, void *ctx, char *err, size_t errlen)
{
    struct myr_ep_ctx e = { r, fn, ctx };
    r->n_ids = 0;
    int rc = myr_stream(r, "SELECT id, url, type FROM endpoints ORDER BY id", "read endpoints", myr_endpoint_row, NULL,
                        &e, err, errlen);
    r->have_ids = rc == STORE_OK;
    return rc;
}

static int myr_cell_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    struct rollup_stored c = { .checks = num(row[1]), .ok = num(row[2]) };
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        c.blob[i] = row[3 + i];
        c.len[i] = row[3 + i] ? len[3 + i] : 0;
    }
    c.location = row[9] ? row[9] : "";
    return ((store_read_cell_fn)fn)(ctx, num(row[0]), num(row[8]), &c);
}

static int myr_cells(struct store_reader *r, enum rollup_period p, int64_t from_s, int64_t to_s, int64_t ep_lo,
                     int64_t ep_hi, store_read_cell_fn fn, void *ctx, char *err, size_t errlen)
{
    int rc = r->have_ids ? STORE_OK : myr_endpoints(r, NULL, NULL, err, errlen);
    if (rc != STORE_OK) return rc;
    char from[40], to[40];
    store_read_format_ms(from_s * 1000, true, from, sizeof from);
    store_read_format_ms(to_s * 1000, true, to, sizeof to);
    struct cw_buf sql = { 0 };
    cw_buf_printf(&sql,
                  "SELECT endpoint_id, checks, ok, latency_hist, dns_hist, connect_hist, tls_hist, ttfb_hist,"
                  " CAST(UNIX_TIMESTAMP(period_start) AS SIGNED), location FROM %s"
                  " WHERE period_start >= '%s' AND period_start < '%s' AND endpoint_id IN (",
                  p == ROLLUP_HOUR ? "checks_hourly" : "checks_daily", from, to);
    size_t listed = 0;
    for (size_t i = 0; i < r->n_ids; i++)
        if (r->ids[i] >= ep_lo && r->ids[i] <= ep_hi) cw_buf_printf(&sql, "%s%" PRId64, listed++ ? "," : "", r->ids[i]);
    cw_buf_printf(&sql, ") ORDER BY endpoint_id, period_start%c", '\0');
    if (listed) rc = myr_stream(r, (const char *)sql.data, "read roll-ups", myr_cell_row, (void *)fn, ctx, err, errlen);
    cw_buf_free(&sql);
    return rc;
}

static int64_t ms_us(const char *s) { return s ? rollup_ms_to_us(strtod(s, NULL)) : -1; }

static int myr_recent_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    (void)len;
    struct rollup_row rr = { .endpoint_id = num(row[0]), .ok = num(row[1]) != 0 };
    for (int i = 0; i < ROLLUP_HISTS; i++) rr.us[i] = ms_us(row[2 + i]);
    rr.location = row[8] ? row[8] : "";
    return ((store_read_row_fn)fn)(ctx, &rr, num(row[7]));
}

static const struct store_read_dialect myr_dialect = {
    .mysql_form = true,
    .time_cast = "",
    .raised_ms = "CAST(ROUND(UNIX_TIMESTAMP(raised_at) * 1000) AS SIGNED)",
    .checked_ms = "CAST(ROUND(UNIX_TIMESTAMP(checked_at) * 1000) AS SIGNED)",
    .maintenance_true = "maintenance = 1",
};

static int myr_maint_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    (void)len;
    return ((store_read_maint_fn)fn)(ctx, num(row[0]), num(row[1]), num(row[2]), row[3] ? row[3] : "");
}

static int myr_maintenance(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                           store_read_maint_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_maintenance(&sql, &myr_dialect, from_ms, to_ms, ep_lo, ep_hi);
    int rc = myr_stream(r, (const char *)sql.data, "read the checks in maintenance", myr_maint_row, (void *)fn, ctx,
                        err, errlen);
    cw_buf_free(&sql);
    return rc;
}

static int myr_recent(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                      store_read_row_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_recent(&sql, &myr_dialect, from_ms, to_ms, ep_lo, ep_hi);
    int rc = myr_stream(r, (const char *)sql.data, "read the rows above the watermark", myr_recent_row, (void *)fn, ctx,
                        err, errlen);
    cw_buf_free(&sql);
    return rc;
}

static int myr_alert_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    (void)len;
    return ((store_read_alert_fn)fn)(ctx, num(row[0]), row[1] && !strcmp(row[1], "down"), num(row[2]),
                                     row[3] ? row[3] : "");
}

static int myr_alerts(struct store_reader *r, int64_t from_ms, int64_t before_ms, int64_t ep_lo, int64_t ep_hi,
                      store_read_alert_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_alerts(&sql, &myr_dialect, from_ms, before_ms, ep_lo, ep_hi);
    int rc = myr_stream(r, (const char *)sql.data, "read alerts", myr_alert_row, (void *)fn, ctx, err, errlen);
    cw_buf_free(&sql);
    return rc;
}

static int myr_check_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    (void)len;
    struct store_read_check c = { .at_ms = num(row[0]),
                                  .ok = num(row[1]) != 0,
                                  .status_code = (int)num(row[2]),
                                  .error = row[8],
                                  .details = row[9] };
    for (int i = 0; i < ROLLUP_HISTS; i++) c.us[i] = ms_us(row[3 + i]);
    return ((store_read_check_fn)fn)(ctx, &c);
}

static int myr_last_checks(struct store_reader *r, int64_t endpoint_id, int n, store_read_check_fn fn, void *ctx,
                           char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_last_checks(&sql, &myr_dialect, endpoint_id, n);
    int rc = myr_stream(r, (const char *)sql.data, "read the last checks", myr_check_row, (void *)fn, ctx, err, errlen);
    cw_buf_free(&sql);
    return rc;
}

const struct store_read_backend store_read_mysql = {
    .name = "mysql",
    .open = myr_open,
    .endpoints = myr_endpoints,
    .cells = myr_cells,
    .recent = myr_recent,
    .maintenance = myr_maintenance,
    .alerts = myr_alerts,
    .last_checks = myr_last_checks,
    .close = myr_close,
};
