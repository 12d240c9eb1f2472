/* storer/mysql_read.c — the MySQL/MariaDB read backend (storer/reader.h). It connects like the storer (the
 * backend's own open, storer/mysql.c: same parameters, TLS, UTC session), then reads in ONE transaction
 * START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY. Each read is one statement streamed with
 * mysql_use_result (rows come as they are read, never the whole result in memory). The statements carry only
 * numbers and times this file formats itself (`2026-11-25 04:05:06.123`, the session is UTC): nothing from
 * outside is ever pasted into SQL. STRAIGHT_JOIN keeps endpoints the outer loop of the roll-up reads: one
 * range of the primary key (endpoint_id, period_start) per endpoint. */
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
};

typedef int (*myr_row_fn)(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx);

static void myr_close(struct store_reader *r)
{
    if (!r) return;
    if (r->db && r->db->conn) (void)mysql_query(r->db->conn, "ROLLBACK");
    store_backend_mysql.close(r->db);
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
    snprintf(err, errlen, "%s: schema version %lld has no roll-ups (needs %d): start the storer once to migrate it",
             r->db->where, version, STORE_SCHEMA_VERSION);
    return STORE_FATAL;
}

static struct store_reader *myr_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    struct store_reader *r = cw_xcalloc(1, sizeof *r);
    r->db = store_backend_mysql.open(cfg, rc, err, errlen);
    if (!r->db) {
        free(r);
        return NULL;
    }
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

static int myr_endpoint_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    (void)len;
    return ((store_read_endpoint_fn)fn)(ctx, num(row[0]), row[1] ? row[1] : "");
}

static int myr_endpoints(struct store_reader *r, store_read_endpoint_fn fn, void *ctx, char *err, size_t errlen)
{
    return myr_stream(r, "SELECT id, url FROM endpoints", "read endpoints", myr_endpoint_row, (void *)fn, ctx, err,
                      errlen);
}

static int myr_cell_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    struct rollup_stored c = { .checks = num(row[1]), .ok = num(row[2]) };
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        c.blob[i] = row[3 + i];
        c.len[i] = row[3 + i] ? len[3 + i] : 0;
    }
    return ((store_read_cell_fn)fn)(ctx, num(row[0]), &c);
}

static int myr_cells(struct store_reader *r, enum rollup_period p, int64_t from_s, int64_t to_s, int64_t ep_lo,
                     int64_t ep_hi, store_read_cell_fn fn, void *ctx, char *err, size_t errlen)
{
    char sql[640], from[40], to[40];
    store_read_format_ms(from_s * 1000, true, from, sizeof from);
    store_read_format_ms(to_s * 1000, true, to, sizeof to);
    snprintf(sql, sizeof sql,
             "SELECT h.endpoint_id, h.checks, h.ok, h.latency_hist, h.dns_hist, h.connect_hist, h.tls_hist,"
             " h.ttfb_hist FROM endpoints e STRAIGHT_JOIN %s h ON h.endpoint_id = e.id"
             " AND h.period_start >= '%s' AND h.period_start < '%s'"
             " WHERE e.id BETWEEN %" PRId64 " AND %" PRId64,
             p == ROLLUP_HOUR ? "checks_hourly" : "checks_daily", from, to, ep_lo, ep_hi);
    return myr_stream(r, sql, "read roll-ups", myr_cell_row, (void *)fn, ctx, err, errlen);
}

static int64_t ms_us(const char *s) { return s ? rollup_ms_to_us(strtod(s, NULL)) : -1; }

static int myr_recent_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    (void)len;
    struct rollup_row rr = { .endpoint_id = num(row[0]), .ok = num(row[1]) != 0 };
    for (int i = 0; i < ROLLUP_HISTS; i++) rr.us[i] = ms_us(row[2 + i]);
    return ((store_read_row_fn)fn)(ctx, &rr);
}

static int myr_recent(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                      store_read_row_fn fn, void *ctx, char *err, size_t errlen)
{
    char sql[640], from[40], to[40];
    store_read_format_ms(from_ms, true, from, sizeof from);
    store_read_format_ms(to_ms, true, to, sizeof to);
    snprintf(sql, sizeof sql,
             "SELECT endpoint_id, ok, latency_ms, dns_ms, connect_ms, tls_ms, ttfb_ms FROM checks"
             " WHERE id > (SELECT last_check_id FROM rollup_state WHERE id = 1)"
             " AND checked_at >= '%s' AND checked_at < '%s' AND endpoint_id BETWEEN %" PRId64 " AND %" PRId64,
             from, to, ep_lo, ep_hi);
    return myr_stream(r, sql, "read the rows above the watermark", myr_recent_row, (void *)fn, ctx, err, errlen);
}

static int myr_alert_row(MYSQL_ROW row, const unsigned long *len, void *fn, void *ctx)
{
    (void)len;
    return ((store_read_alert_fn)fn)(ctx, num(row[0]), row[1] && !strcmp(row[1], "down"), num(row[2]),
                                     row[3] ? row[3] : "");
}

static int myr_alerts(struct store_reader *r, int64_t before_ms, int64_t ep_lo, int64_t ep_hi, store_read_alert_fn fn,
                      void *ctx, char *err, size_t errlen)
{
    char sql[512], before[40];
    store_read_format_ms(before_ms, true, before, sizeof before);
    snprintf(sql, sizeof sql,
             "SELECT endpoint_id, kind, CAST(ROUND(UNIX_TIMESTAMP(raised_at) * 1000) AS SIGNED), message FROM alerts"
             " WHERE kind IN ('down', 'up') AND raised_at < '%s' AND endpoint_id BETWEEN %" PRId64 " AND %" PRId64
             " ORDER BY endpoint_id, raised_at, id",
             before, ep_lo, ep_hi);
    return myr_stream(r, sql, "read alerts", myr_alert_row, (void *)fn, ctx, err, errlen);
}

const struct store_read_backend store_read_mysql = {
    .name = "mysql",
    .open = myr_open,
    .endpoints = myr_endpoints,
    .cells = myr_cells,
    .recent = myr_recent,
    .alerts = myr_alerts,
    .close = myr_close,
};
