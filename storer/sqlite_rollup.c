/* storer/sqlite_rollup.c — the roll-up tables of the SQLite backend and the primitives storer/rollup.c folds
 * with (storer/sqlite_rollup.h). Times: period_start is TEXT in the same form as checks.checked_at
 * (`2026-12-04T22:00:00.000Z`), so text comparisons between the two, and with strftime('%Y-%m-%dT%H:%M:%fZ',
 * ...) bounds, are exact (docs/schema.md warns of datetime('now'), whose form has a blank). */
#include "storer/sqlite_rollup.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/base/clock.h"
#include "common/base/util.h"
#include "storer/backend.h"
#include "storer/rollup.h"

#define ROLLUP_TABLE(name)                                                             \
    "CREATE TABLE IF NOT EXISTS " name " ("                                            \
    " endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),"                          \
    " period_start TEXT NOT NULL,"                                                     \
    " checks INTEGER NOT NULL, ok INTEGER NOT NULL, failures INTEGER NOT NULL,"        \
    " latency_hist BLOB NOT NULL, dns_hist BLOB NOT NULL, connect_hist BLOB NOT NULL," \
    " tls_hist BLOB NOT NULL, ttfb_hist BLOB NOT NULL,"                                \
    " PRIMARY KEY (endpoint_id, period_start)) WITHOUT ROWID;"

const char *const sq_schema_v3[] = {
    ROLLUP_TABLE("checks_hourly")
        ROLLUP_TABLE("checks_daily") "CREATE TABLE IF NOT EXISTS rollup_state (id INTEGER PRIMARY KEY CHECK (id = 1),"
                                     " last_check_id INTEGER NOT NULL);"
                                     "INSERT OR IGNORE INTO rollup_state (id, last_check_id) VALUES (1, 0);",
    NULL,
};

enum { RS_READ, RS_GET_H, RS_GET_D, RS_PUT_H, RS_PUT_D, RS_MARK_GET, RS_MARK_SET, RS_MAX_ID, RS_COUNT };

#define RS_COLS "checks, ok, latency_hist, dns_hist, connect_hist, tls_hist, ttfb_hist"
#define RS_PUT(table)                                                                                               \
    "INSERT INTO " table " (endpoint_id, period_start, checks, ok, failures, latency_hist, dns_hist, connect_hist," \
    " tls_hist, ttfb_hist, location) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"                         \
    " ON CONFLICT (endpoint_id, period_start, location) DO UPDATE SET checks = excluded.checks, ok = excluded.ok,"  \
    " failures = excluded.failures, latency_hist = excluded.latency_hist, dns_hist = excluded.dns_hist,"            \
    " connect_hist = excluded.connect_hist, tls_hist = excluded.tls_hist, ttfb_hist = excluded.ttfb_hist"

static const char *const rs_sql[RS_COUNT] = {
    [RS_READ] = "SELECT id, endpoint_id, checked_at, ok, latency_ms, dns_ms,"
                " connect_ms, tls_ms, ttfb_ms, location FROM checks WHERE id > ?1 ORDER BY id LIMIT ?2",
    [RS_GET_H] = "SELECT " RS_COLS " FROM checks_hourly WHERE endpoint_id = ?1 AND period_start = ?2"
                 " AND location = ?3",
    [RS_GET_D] = "SELECT " RS_COLS " FROM checks_daily WHERE endpoint_id = ?1 AND period_start = ?2"
                 " AND location = ?3",
    [RS_PUT_H] = RS_PUT("checks_hourly"),
    [RS_PUT_D] = RS_PUT("checks_daily"),
    [RS_MARK_GET] = "SELECT last_check_id FROM rollup_state WHERE id = 1",
    [RS_MARK_SET] = "UPDATE rollup_state SET last_check_id = ?1 WHERE id = 1",
    [RS_MAX_ID] = "SELECT COALESCE(MAX(id), 0) FROM checks",
};

struct sq_rollup {
    sqlite3 *db;
    const char *path;
    char where[1100];
    sqlite3_stmt *st[RS_COUNT];
    struct rollup engine;
};

static int rs_fail(struct sq_rollup *r, int code, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "sqlite %s: roll-ups: %s: %s", r->path, what, sqlite3_errmsg(r->db));
    return sq_error_class(code);
}

/* A statement's single integer result (a row is expected). */
static int rs_int(struct sq_rollup *r, sqlite3_stmt *st, const char *what, int64_t *v, char *err, size_t errlen)
{
    int code = sqlite3_step(st);
    if (code == SQLITE_ROW) *v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (code == SQLITE_ROW) return STORE_OK;
    if (code == SQLITE_DONE) {
        *v = -1; /* no row: rollup_state emptied (struct rollup_ops: a rebuild) */
        return STORE_OK;
    }
    return rs_fail(r, code, what, err, errlen);
}

/* UTC seconds of the stored text form `2026-12-04T22:40:00.123Z` (the date and time to the second; the
 * fraction and zone are ignored: the storer writes UTC only). Parsed here rather than with SQLite's strftime,
 * which cost more than the rest of the read. -1 when the text is not in that form. */
static int64_t stored_time_s(const unsigned char *t, int len)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (!t || len < (int)sizeof shape - 1) return -1;
    int64_t v[6] = { 0 };
    for (int i = 0, f = 0; i < (int)sizeof shape - 1; i++) {
        if (shape[i] != 'd') {
            if (t[i] != (unsigned char)shape[i]) return -1;
            f++;
        } else if (t[i] < '0' || t[i] > '9') {
            return -1;
        } else {
            v[f] = v[f] * 10 + (t[i] - '0');
        }
    }
    /* days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse) */
    int64_t y = v[0] - (v[1] <= 2), m = v[1], d = v[2];
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
}

static int64_t ms_to_us(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return -1;
    double ms = sqlite3_column_double(st, col);
    return rollup_ms_to_us(ms);
}

static int rs_read_rows(void *ctx, int64_t after, size_t max, struct rollup_row *rows, size_t *n, char *err,
                        size_t errlen)
{
    struct sq_rollup *r = ctx;
    sqlite3_stmt *st = r->st[RS_READ];
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    int code;
    *n = 0;
    while (*n < max && (code = sqlite3_step(st)) == SQLITE_ROW) {
        struct rollup_row *row = &rows[(*n)++];
        row->id = sqlite3_column_int64(st, 0);
        row->endpoint_id = sqlite3_column_int64(st, 1);
        row->at_s = stored_time_s(sqlite3_column_text(st, 2), sqlite3_column_bytes(st, 2));
        row->ok = sqlite3_column_int(st, 3) != 0;
        for (int i = 0; i < ROLLUP_HISTS; i++) row->us[i] = ms_to_us(st, 4 + i);
        const unsigned char *loc = sqlite3_column_text(st, 9);
        row->loc =
            rollup_location(&r->engine, loc ? (const char *)loc : "", loc ? (size_t)sqlite3_column_bytes(st, 9) : 0);
    }
    sqlite3_reset(st);
    if (*n < max && code != SQLITE_DONE) return rs_fail(r, code, "read raw rows", err, errlen);
    return STORE_OK;
}

static void bind_start(sqlite3_stmt *st, int col, int64_t start_s)
{
    char when[40];
    cw_format_iso8601(start_s * 1000000, when, sizeof when);
    sqlite3_bind_text(st, col, when, -1, SQLITE_TRANSIENT);
}

static int rs_get(void *ctx, enum rollup_period p, int64_t ep, const char *location, int64_t start_s,
                  struct rollup_stored *out, bool *found, char *err, size_t errlen)
{
    struct sq_rollup *r = ctx;
    sqlite3_stmt *st = r->st[p == ROLLUP_HOUR ? RS_GET_H : RS_GET_D];
    sqlite3_reset(st); /* a get left open by a fold that failed before its put */
    sqlite3_bind_int64(st, 1, ep);
    bind_start(st, 2, start_s);
    sqlite3_bind_text(st, 3, location, -1, SQLITE_STATIC);
    int code = sqlite3_step(st);
    *found = code == SQLITE_ROW;
    if (*found) {
        out->checks = sqlite3_column_int64(st, 0);
        out->ok = sqlite3_column_int64(st, 1);
        for (int i = 0; i < ROLLUP_HISTS; i++) {
            out->blob[i] = sqlite3_column_blob(st, 2 + i);
            out->len[i] = (size_t)sqlite3_column_bytes(st, 2 + i);
        }
        return STORE_OK; /* the blobs stay valid until the next reset: the put resets this statement */
    }
    sqlite3_reset(st);
    return code == SQLITE_DONE ? STORE_OK : rs_fail(r, code, "read a roll-up", err, errlen);
}

static int rs_put(void *ctx, enum rollup_period p, int64_t ep, const char *location, int64_t start_s,
                  const struct rollup_stored *c, char *err, size_t errlen)
{
    struct sq_rollup *r = ctx;
    sqlite3_reset(r->st[p == ROLLUP_HOUR ? RS_GET_H : RS_GET_D]);
    sqlite3_stmt *st = r->st[p == ROLLUP_HOUR ? RS_PUT_H : RS_PUT_D];
    sqlite3_bind_int64(st, 1, ep);
    bind_start(st, 2, start_s);
    sqlite3_bind_int64(st, 3, c->checks);
    sqlite3_bind_int64(st, 4, c->ok);
    sqlite3_bind_int64(st, 5, c->checks - c->ok);
    for (int i = 0; i < ROLLUP_HISTS; i++) sqlite3_bind_blob(st, 6 + i, c->blob[i], (int)c->len[i], SQLITE_STATIC);
    sqlite3_bind_text(st, 11, location, -1, SQLITE_STATIC);
    int code = sqlite3_step(st);
    sqlite3_reset(st);
    return code == SQLITE_DONE ? STORE_OK : rs_fail(r, code, "write a roll-up", err, errlen);
}

static int rs_get_watermark(void *ctx, int64_t *id, char *err, size_t errlen)
{
    struct sq_rollup *r = ctx;
    return rs_int(r, r->st[RS_MARK_GET], "read the watermark", id, err, errlen);
}

static int rs_max_id(void *ctx, int64_t *id, char *err, size_t errlen)
{
    struct sq_rollup *r = ctx;
    return rs_int(r, r->st[RS_MAX_ID], "read the last id", id, err, errlen);
}

static int rs_set_watermark(void *ctx, int64_t id, char *err, size_t errlen)
{
    struct sq_rollup *r = ctx;
    sqlite3_stmt *st = r->st[RS_MARK_SET];
    sqlite3_bind_int64(st, 1, id);
    int code = sqlite3_step(st);
    sqlite3_reset(st);
    return code == SQLITE_DONE ? STORE_OK : rs_fail(r, code, "write the watermark", err, errlen);
}

static int rs_exec(struct sq_rollup *r, const char *sql, char *err, size_t errlen)
{
    int code = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
    return code == SQLITE_OK ? STORE_OK : rs_fail(r, code, sql, err, errlen);
}

static int rs_exec_op(void *ctx, const char *sql, char *err, size_t errlen) { return rs_exec(ctx, sql, err, errlen); }
static int rs_begin(void *ctx, char *err, size_t errlen) { return rs_exec(ctx, "BEGIN IMMEDIATE", err, errlen); }
static int rs_commit(void *ctx, char *err, size_t errlen) { return rs_exec(ctx, "COMMIT", err, errlen); }
static void rs_rollback(void *ctx)
{
    struct sq_rollup *r = ctx;
    if (!sqlite3_get_autocommit(r->db)) (void)sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

static bool rs_idle(void *ctx)
{
    struct sq_rollup *r = ctx;
    return sqlite3_get_autocommit(r->db) != 0;
}

static void rs_free(void *ctx);

static const struct rollup_ops rs_ops = {
    .read_rows = rs_read_rows,
    .get = rs_get,
    .put = rs_put,
    .get_watermark = rs_get_watermark,
    .max_id = rs_max_id,
    .exec = rs_exec_op,
    .set_watermark = rs_set_watermark,
    .begin = rs_begin,
    .commit = rs_commit,
    .rollback = rs_rollback,
    .idle = rs_idle,
    .destroy = rs_free,
};

static void rs_free(void *ctx)
{
    struct sq_rollup *r = ctx;
    for (int i = 0; i < RS_COUNT; i++) sqlite3_finalize(r->st[i]);
    rollup_free(&r->engine);
    free(r);
}

struct rollup *sq_rollup_open(sqlite3 *db, const char *path, int *rc, char *err, size_t errlen)
{
    struct sq_rollup *r = cw_xcalloc(1, sizeof *r);
    r->db = db;
    r->path = path;
    snprintf(r->where, sizeof r->where, "sqlite %.1000s", path);
    rollup_init(&r->engine, &rs_ops, r, r->where);
    *rc = STORE_OK;
    for (int i = 0; *rc == STORE_OK && i < RS_COUNT; i++) {
        int code = sqlite3_prepare_v3(db, rs_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL);
        if (code != SQLITE_OK) *rc = rs_fail(r, code, "prepare", err, errlen);
    }
    if (*rc == STORE_OK) *rc = rollup_catch_up(&r->engine, err, errlen);
    if (*rc == STORE_OK) return &r->engine;
    rs_free(r);
    return NULL;
}
