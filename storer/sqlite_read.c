/* storer/sqlite_read.c — the SQLite read backend (storer/reader.h): a read-only connection (never creates the
 * file, query_only), one read transaction for the whole report (WAL: the storer keeps writing meanwhile and
 * this reader sees one snapshot), one statement per table. Times are bound (or pasted, in the statements of
 * storer/reader.c) in the stored text form
 * `2026-11-25T04:05:06.123Z` and compared as text, which is time order for that one form (docs/schema.md,
 * the text-time trap). */
#include "storer/backend.h"
#include "storer/reader.h"
#include "storer/sqlite_rollup.h"

#include <errno.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/util.h"

#define SQR_BUSY_MS 5000

struct store_reader {
    sqlite3 *db;
    char *path;
};

static int sqr_fail(struct store_reader *r, int code, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "sqlite %s: %s: %s", r->path, what, r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(code));
    return sq_error_class(code);
}

static void sqr_close(struct store_reader *r)
{
    if (!r) return;
    if (r->db) {
        (void)sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close_v2(r->db);
    }
    free(r->path);
    free(r);
}

/* Whether the database holds no table at all (an empty file is such a database). */
static bool sqr_has_no_table(struct store_reader *r)
{
    sqlite3_stmt *st = NULL;
    bool none = sqlite3_prepare_v2(r->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", -1, &st, NULL) ==
                    SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == 0;
    sqlite3_finalize(st);
    return none;
}

/* The schema's version, read inside the snapshot (its first read starts it). */
static int sqr_check_schema(struct store_reader *r, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int code = sqlite3_prepare_v2(r->db, "SELECT max(version) FROM schema_version", -1, &st, NULL);
    if (code != SQLITE_OK) {
        sqlite3_finalize(st);
        if (sqr_has_no_table(r)) { /* a new or empty file: the storer has not created the schema yet */
            snprintf(err, errlen, "sqlite %s: %s", r->path, STORE_READ_NOT_CREATED);
            return STORE_RETRY;
        }
        return sqr_fail(r, code, "not a Clockwerk database (no schema_version)", err, errlen);
    }
    code = sqlite3_step(st);
    long long version = code == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (code != SQLITE_ROW) return sqr_fail(r, code, "read schema_version", err, errlen);
    if (version < STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "sqlite %s: schema version %lld is older than this reader needs (%d): start the storer once to "
                 "migrate it",
                 r->path, version, STORE_SCHEMA_VERSION);
        return STORE_FATAL;
    }
    return STORE_OK;
}

/* Why path cannot be read, in words SQLite's generic "unable to open database file" does not give: it does not
 * exist, is not a regular file, or is not readable by us (its owner and mode said). 0 when it looks readable. */
static int sqr_check_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            snprintf(err, errlen, "sqlite %s: does not exist (has clockwerk stored anything yet?)", path);
        else snprintf(err, errlen, "sqlite %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "sqlite %s: is not a regular file", path);
        return -1;
    }
    if (access(path, R_OK) != 0) {
        struct passwd *pw = getpwuid(st.st_uid);
        char owner[64];
        if (pw) snprintf(owner, sizeof owner, "%s", pw->pw_name);
        else snprintf(owner, sizeof owner, "uid %u", (unsigned)st.st_uid);
        snprintf(err, errlen, "sqlite %s: permission denied (owned by %s, mode %04o): run the report as %s or root",
                 path, owner, (unsigned)(st.st_mode & 07777), owner);
        return -1;
    }
    return 0;
}

static struct store_reader *sqr_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    struct store_reader *r = cw_xcalloc(1, sizeof *r);
    r->path = cw_xstrdup(cfg->db_name ? cfg->db_name : "");
    *rc = STORE_FATAL;
    if (!r->path[0]) {
        snprintf(err, errlen, "sqlite: no database file configured (db_name)");
        goto fail;
    }
    if (sqr_check_file(r->path, err, errlen) != 0) goto fail;
    int code = sqlite3_open_v2(r->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (code != SQLITE_OK) {
        *rc = sqr_fail(r, code, "cannot open for reading", err, errlen);
        goto fail;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, SQR_BUSY_MS);
    code = sqlite3_exec(r->db, "PRAGMA query_only=1; BEGIN", NULL, NULL, NULL);
    if (code != SQLITE_OK) {
        *rc = sqr_fail(r, code, "cannot start a read transaction", err, errlen);
        goto fail;
    }
    if ((*rc = sqr_check_schema(r, err, errlen)) != STORE_OK) goto fail;
    return r;
fail:
    sqr_close(r);
    return NULL;
}

/* Prepares sql (NULL with *rc and err set). */
static sqlite3_stmt *sqr_prepare(struct store_reader *r, const char *sql, const char *what, int *rc, char *err,
                                 size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int code = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
    if (code == SQLITE_OK) return st;
    *rc = sqr_fail(r, code, what, err, errlen);
    sqlite3_finalize(st);
    return NULL;
}

/* Steps st to its end through row(); the read's result. */
static int sqr_drain(struct store_reader *r, sqlite3_stmt *st, const char *what,
                     int (*row)(sqlite3_stmt *st, void *fn, void *ctx), void *fn, void *ctx, char *err, size_t errlen)
{
    int code, rc = STORE_OK;
    while ((code = sqlite3_step(st)) == SQLITE_ROW)
        if (row(st, fn, ctx) != 0) {
            rc = STORE_FATAL;
            break;
        }
    if (rc == STORE_OK && code != SQLITE_DONE) rc = sqr_fail(r, code, what, err, errlen);
    sqlite3_finalize(st);
    return rc;
}

static int sqr_endpoint_row(sqlite3_stmt *st, void *fn, void *ctx)
{
    const char *url = (const char *)sqlite3_column_text(st, 1), *type = (const char *)sqlite3_column_text(st, 2);
    return ((store_read_endpoint_fn)fn)(ctx, sqlite3_column_int64(st, 0), url ? url : "", type ? type : "http");
}

static int sqr_endpoints(struct store_reader *r, store_read_endpoint_fn fn, void *ctx, char *err, size_t errlen)
{
    int rc = STORE_OK;
    sqlite3_stmt *st = sqr_prepare(r, "SELECT id, url, type FROM endpoints", "read endpoints", &rc, err, errlen);
    if (!st) return rc;
    return sqr_drain(r, st, "read endpoints", sqr_endpoint_row, (void *)fn, ctx, err, errlen);
}

/* n digits at p as a number, -1 when one is not a digit. */
static int digits(const unsigned char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* UTC seconds of a stored period_start (`2026-11-25T04:00:00.000Z`; a space for the T is read too), parsed here
 * rather than by strftime('%s') in the statement: at 500,000 endpoints that function was half of SQLite's time
 * for the web's history. -1 when the text is not of that form. */
static int64_t period_seconds(const unsigned char *t, int len)
{
    if (!t || len < 19 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') || t[13] != ':' ||
        t[16] != ':')
        return -1;
    int y = digits(t, 4), mo = digits(t + 5, 2), d = digits(t + 8, 2), h = digits(t + 11, 2), mi = digits(t + 14, 2),
        s = digits(t + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || mi < 0 || s < 0) return -1;
    /* days from 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse, era of 400 years) */
    int64_t yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400, mp = (mo + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + h * 3600 + mi * 60 + s;
}

static int sqr_cell_row(sqlite3_stmt *st, void *fn, void *ctx)
{
    struct rollup_stored c = { .checks = sqlite3_column_int64(st, 1), .ok = sqlite3_column_int64(st, 2) };
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        c.blob[i] = sqlite3_column_blob(st, 3 + i);
        c.len[i] = (size_t)sqlite3_column_bytes(st, 3 + i);
    }
    const unsigned char *loc = sqlite3_column_text(st, 9);
    c.location = loc ? (const char *)loc : "";
    int64_t start_s = period_seconds(sqlite3_column_text(st, 8), sqlite3_column_bytes(st, 8));
    if (start_s < 0) start_s = sqlite3_column_int64(st, 10); /* another form: SQLite's own reading of it */
    return ((store_read_cell_fn)fn)(ctx, sqlite3_column_int64(st, 0), start_s, &c);
}

static int sqr_cells(struct store_reader *r, enum rollup_period p, int64_t from_s, int64_t to_s, int64_t ep_lo,
                     int64_t ep_hi, store_read_cell_fn fn, void *ctx, char *err, size_t errlen)
{
    /* CROSS JOIN keeps endpoints the outer loop: one range of the primary key (endpoint_id, period_start) per
     * endpoint, never a scan of a table that holds every hour of the retention. */
    char sql[768], from[40], to[40];
    snprintf(sql, sizeof sql,
             "SELECT h.endpoint_id, h.checks, h.ok, h.latency_hist, h.dns_hist, h.connect_hist, h.tls_hist,"
             " h.ttfb_hist, h.period_start, h.location,"
             " CASE WHEN length(h.period_start) < 19 OR substr(h.period_start, 5, 1) <> '-'"
             " THEN CAST(strftime('%%s', h.period_start) AS INTEGER) END"
             " FROM endpoints e CROSS JOIN %s h ON h.endpoint_id = e.id"
             " AND h.period_start >= ?1 AND h.period_start < ?2 WHERE e.id BETWEEN ?3 AND ?4"
             " ORDER BY e.id, h.period_start", /* the loops' own order: no sort (storer/reader.h) */
             p == ROLLUP_HOUR ? "checks_hourly" : "checks_daily");
    int rc = STORE_OK;
    sqlite3_stmt *st = sqr_prepare(r, sql, "read roll-ups", &rc, err, errlen);
    if (!st) return rc;
    store_read_format_ms(from_s * 1000, false, from, sizeof from);
    store_read_format_ms(to_s * 1000, false, to, sizeof to);
    sqlite3_bind_text(st, 1, from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, to, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, ep_lo);
    sqlite3_bind_int64(st, 4, ep_hi);
    return sqr_drain(r, st, "read roll-ups", sqr_cell_row, (void *)fn, ctx, err, errlen);
}

static int sqr_recent_row(sqlite3_stmt *st, void *fn, void *ctx)
{
    struct rollup_row row = { .endpoint_id = sqlite3_column_int64(st, 0), .ok = sqlite3_column_int(st, 1) != 0 };
    for (int i = 0; i < ROLLUP_HISTS; i++)
        row.us[i] =
            sqlite3_column_type(st, 2 + i) == SQLITE_NULL ? -1 : rollup_ms_to_us(sqlite3_column_double(st, 2 + i));
    const unsigned char *loc = sqlite3_column_text(st, 8);
    row.location = loc ? (const char *)loc : "";
    return ((store_read_row_fn)fn)(ctx, &row, sqlite3_column_int64(st, 7));
}

static const struct store_read_dialect sqr_dialect = {
    .mysql_form = false,
    .time_cast = "",
    .raised_ms = "CAST(round((julianday(raised_at) - 2440587.5) * 86400000.0) AS INTEGER)",
    .checked_ms = "CAST(round((julianday(checked_at) - 2440587.5) * 86400000.0) AS INTEGER)",
    .maintenance_true = "maintenance = 1",
};

static int sqr_maint_row(sqlite3_stmt *st, void *fn, void *ctx)
{
    const unsigned char *loc = sqlite3_column_text(st, 3);
    return ((store_read_maint_fn)fn)(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                     sqlite3_column_int64(st, 2), loc ? (const char *)loc : "");
}

/* Runs one statement of reader.c's (in sql, which it frees). */
static int sqr_run(struct store_reader *r, struct cw_buf *sql, const char *what,
                   int (*row)(sqlite3_stmt *st, void *fn, void *ctx), void *fn, void *ctx, char *err, size_t errlen)
{
    int rc = STORE_OK;
    sqlite3_stmt *st = sqr_prepare(r, (const char *)sql->data, what, &rc, err, errlen);
    cw_buf_free(sql);
    return st ? sqr_drain(r, st, what, row, fn, ctx, err, errlen) : rc;
}

static int sqr_recent(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                      store_read_row_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_recent(&sql, &sqr_dialect, from_ms, to_ms, ep_lo, ep_hi);
    return sqr_run(r, &sql, "read the rows above the watermark", sqr_recent_row, (void *)fn, ctx, err, errlen);
}

static int sqr_maintenance(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                           store_read_maint_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_maintenance(&sql, &sqr_dialect, from_ms, to_ms, ep_lo, ep_hi);
    return sqr_run(r, &sql, "read the checks in maintenance", sqr_maint_row, (void *)fn, ctx, err, errlen);
}

static int sqr_alert_row(sqlite3_stmt *st, void *fn, void *ctx)
{
    const char *kind = (const char *)sqlite3_column_text(st, 1), *msg = (const char *)sqlite3_column_text(st, 3);
    return ((store_read_alert_fn)fn)(ctx, sqlite3_column_int64(st, 0), kind && !strcmp(kind, "down"),
                                     sqlite3_column_int64(st, 2), msg ? msg : "");
}

static int sqr_alerts(struct store_reader *r, int64_t from_ms, int64_t before_ms, int64_t ep_lo, int64_t ep_hi,
                      store_read_alert_fn fn, void *ctx, char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_alerts(&sql, &sqr_dialect, from_ms, before_ms, ep_lo, ep_hi);
    return sqr_run(r, &sql, "read alerts", sqr_alert_row, (void *)fn, ctx, err, errlen);
}

static int sqr_check_row(sqlite3_stmt *st, void *fn, void *ctx)
{
    struct store_read_check c = { .at_ms = sqlite3_column_int64(st, 0),
                                  .ok = sqlite3_column_int(st, 1) != 0,
                                  .status_code = sqlite3_column_int(st, 2),
                                  .error = (const char *)sqlite3_column_text(st, 8),
                                  .details = (const char *)sqlite3_column_text(st, 9) };
    for (int i = 0; i < ROLLUP_HISTS; i++)
        c.us[i] =
            sqlite3_column_type(st, 3 + i) == SQLITE_NULL ? -1 : rollup_ms_to_us(sqlite3_column_double(st, 3 + i));
    return ((store_read_check_fn)fn)(ctx, &c);
}

static int sqr_last_checks(struct store_reader *r, int64_t endpoint_id, int n, store_read_check_fn fn, void *ctx,
                           char *err, size_t errlen)
{
    struct cw_buf sql = { 0 };
    store_read_sql_last_checks(&sql, &sqr_dialect, endpoint_id, n);
    return sqr_run(r, &sql, "read the last checks", sqr_check_row, (void *)fn, ctx, err, errlen);
}

const struct store_read_backend store_read_sqlite = {
    .name = "sqlite",
    .open = sqr_open,
    .endpoints = sqr_endpoints,
    .cells = sqr_cells,
    .recent = sqr_recent,
    .maintenance = sqr_maintenance,
    .alerts = sqr_alerts,
    .last_checks = sqr_last_checks,
    .close = sqr_close,
};
