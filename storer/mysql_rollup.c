/* storer/mysql_rollup.c — the roll-up tables of the MySQL/MariaDB backend and the primitives storer/rollup.c
 * folds with (declared in storer/mysql_db.h): period_start is DATETIME in UTC (the session runs in '+00:00',
 * so FROM_UNIXTIME/UNIX_TIMESTAMP convert in UTC), the histograms BLOB (a valid one is at most LAT_BLOB_MAX,
 * 2,313 bytes). The cells are read and written with prepared statements (binary blobs bound as they are). DDL
 * commits on its own here, so the step is written to be repeatable (IF NOT EXISTS, INSERT IGNORE). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"
#include "storer/mysql_db.h"
#include "storer/rollup.h"

#define MY_ROLLUP_TABLE(name)                                                          \
    "CREATE TABLE IF NOT EXISTS " name " ("                                            \
    " endpoint_id BIGINT NOT NULL,"                                                    \
    " period_start DATETIME NOT NULL,"                                                 \
    " checks BIGINT NOT NULL, ok BIGINT NOT NULL, failures BIGINT NOT NULL,"           \
    " latency_hist BLOB NOT NULL, dns_hist BLOB NOT NULL, connect_hist BLOB NOT NULL," \
    " tls_hist BLOB NOT NULL, ttfb_hist BLOB NOT NULL,"                                \
    " PRIMARY KEY (endpoint_id, period_start)" /* schema 6 adds location (mysql.c) */  \
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

static const char *const my_schema_v3[] = {
    MY_ROLLUP_TABLE("checks_hourly"),
    MY_ROLLUP_TABLE("checks_daily"),
    "CREATE TABLE IF NOT EXISTS rollup_state (id INT NOT NULL PRIMARY KEY, last_check_id BIGINT NOT NULL)"
    " ENGINE=InnoDB",
    "INSERT IGNORE INTO rollup_state (id, last_check_id) VALUES (1, 0)",
    NULL,
};

int my_add_rollup_tables(struct store_db *db, char *err, size_t errlen)
{
    int rc = STORE_OK;
    for (size_t i = 0; rc == STORE_OK && my_schema_v3[i]; i++)
        rc = my_exec(db, my_schema_v3[i], "add the roll-up tables", err, errlen);
    return rc;
}

#define MR_GET(table)                                                                          \
    "SELECT checks, ok, latency_hist, dns_hist, connect_hist, tls_hist, ttfb_hist FROM " table \
    " WHERE endpoint_id = ? AND period_start = FROM_UNIXTIME(?) AND location = ?"
#define MR_PUT(table)                                                                                                 \
    "INSERT INTO " table " (endpoint_id, period_start, checks, ok, failures, latency_hist, dns_hist, connect_hist,"   \
    " tls_hist, ttfb_hist, location) VALUES (?, FROM_UNIXTIME(?), ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE" \
    " checks = VALUES(checks), ok = VALUES(ok), failures = VALUES(failures), latency_hist = VALUES(latency_hist),"    \
    " dns_hist = VALUES(dns_hist), connect_hist = VALUES(connect_hist), tls_hist = VALUES(tls_hist),"                 \
    " ttfb_hist = VALUES(ttfb_hist)"

#define MR_SQL_FLUSH (4u << 20) /* put_many: a statement is sent once it holds this many bytes */

struct my_rollup {
    struct store_db *db;
    MYSQL_STMT *get[2], *put[2];
    MYSQL_RES *many;                                /* the last get_many's result: its blobs are the cells' */
    struct cw_buf sql;                              /* get_many's and put_many's statements */
    unsigned char blob[ROLLUP_HISTS][LAT_BLOB_MAX]; /* the last cell read */
    struct rollup engine;
};

static void mr_bind(MYSQL_BIND *b, enum enum_field_types type, void *buf)
{
    memset(b, 0, sizeof *b);
    b->buffer_type = type;
    b->buffer = buf;
}

static int64_t mr_us(const char *v)
{
    if (!v) return -1;
    double ms = strtod(v, NULL);
    return rollup_ms_to_us(ms);
}

static int mr_read_rows(void *ctx, int64_t after, size_t max, struct rollup_row *rows, size_t *n, char *err,
                        size_t errlen)
{
    struct my_rollup *r = ctx;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT id, endpoint_id, FLOOR(UNIX_TIMESTAMP(checked_at)), ok, latency_ms, dns_ms, connect_ms, tls_ms,"
             " ttfb_ms, location FROM checks WHERE id > %" PRId64 " ORDER BY id LIMIT %zu",
             after, max);
    if (mysql_real_query(r->db->conn, sql, strlen(sql)) != 0) return my_fail(r->db, "roll-ups: read", err, errlen);
    MYSQL_RES *res = mysql_store_result(r->db->conn);
    if (!res) return my_fail(r->db, "roll-ups: read", err, errlen);
    MYSQL_ROW row;
    *n = 0;
    while (*n < max && (row = mysql_fetch_row(res)) != NULL) {
        if (!row[0] || !row[1] || !row[2] || !row[3]) continue; /* NOT NULL columns */
        struct rollup_row *out = &rows[(*n)++];
        out->id = strtoll(row[0], NULL, 10);
        out->endpoint_id = strtoll(row[1], NULL, 10);
        out->at_s = strtoll(row[2], NULL, 10);
        out->ok = strtol(row[3], NULL, 10) != 0;
        for (int k = 0; k < ROLLUP_HISTS; k++) out->us[k] = mr_us(row[4 + k]);
        out->loc = rollup_location(&r->engine, row[9] ? row[9] : "", row[9] ? strlen(row[9]) : 0);
    }
    mysql_free_result(res);
    return STORE_OK;
}

/* Binds a location (a string parameter). */
static void mr_bind_location(MYSQL_BIND *b, const char *location, unsigned long *len)
{
    *len = (unsigned long)strlen(location);
    mr_bind(b, MYSQL_TYPE_STRING, (void *)location);
    b->buffer_length = *len;
    b->length = len;
}

static int mr_get(void *ctx, enum rollup_period p, int64_t ep, const char *location, int64_t start_s,
                  struct rollup_stored *out, bool *found, char *err, size_t errlen)
{
    struct my_rollup *r = ctx;
    MYSQL_STMT *st = r->get[p];
    long long key[2] = { ep, start_s }, counts[2] = { 0, 0 };
    unsigned long lens[ROLLUP_HISTS] = { 0 }, loc_len = 0;
    MYSQL_BIND in[3], res[2 + ROLLUP_HISTS];
    mr_bind(&in[0], MYSQL_TYPE_LONGLONG, &key[0]);
    mr_bind(&in[1], MYSQL_TYPE_LONGLONG, &key[1]);
    mr_bind_location(&in[2], location, &loc_len);
    mr_bind(&res[0], MYSQL_TYPE_LONGLONG, &counts[0]);
    mr_bind(&res[1], MYSQL_TYPE_LONGLONG, &counts[1]);
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        mr_bind(&res[2 + i], MYSQL_TYPE_BLOB, r->blob[i]);
        res[2 + i].buffer_length = LAT_BLOB_MAX;
        res[2 + i].length = &lens[i];
    }
    if (mysql_stmt_bind_param(st, in) != 0 || mysql_stmt_execute(st) != 0 || mysql_stmt_bind_result(st, res) != 0 ||
        mysql_stmt_store_result(st) != 0)
        return my_stmt_fail(r->db, st, "roll-ups: read a cell", err, errlen);
    int f = mysql_stmt_fetch(st);
    int rc = STORE_OK;
    *found = f == 0 || f == MYSQL_DATA_TRUNCATED;
    if (*found) {
        out->checks = counts[0];
        out->ok = counts[1];
        for (int i = 0; i < ROLLUP_HISTS; i++) {
            out->blob[i] = r->blob[i];
            out->len[i] = lens[i] <= LAT_BLOB_MAX ? lens[i] : 0; /* too long for any valid blob: refused */
        }
    } else if (f != MYSQL_NO_DATA) {
        rc = my_stmt_fail(r->db, st, "roll-ups: read a cell", err, errlen);
    }
    mysql_stmt_free_result(st);
    return rc;
}

static int mr_put(void *ctx, enum rollup_period p, int64_t ep, const char *location, int64_t start_s,
                  const struct rollup_stored *c, char *err, size_t errlen)
{
    struct my_rollup *r = ctx;
    MYSQL_STMT *st = r->put[p];
    long long v[5] = { ep, start_s, c->checks, c->ok, c->checks - c->ok };
    unsigned long lens[ROLLUP_HISTS], loc_len = 0;
    MYSQL_BIND in[5 + ROLLUP_HISTS + 1];
    mr_bind_location(&in[5 + ROLLUP_HISTS], location, &loc_len);
    for (int i = 0; i < 5; i++) mr_bind(&in[i], MYSQL_TYPE_LONGLONG, &v[i]);
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        lens[i] = (unsigned long)c->len[i];
        mr_bind(&in[5 + i], MYSQL_TYPE_BLOB, (void *)c->blob[i]);
        in[5 + i].buffer_length = lens[i];
        in[5 + i].length = &lens[i];
    }
    if (mysql_stmt_bind_param(st, in) != 0 || mysql_stmt_execute(st) != 0)
        return my_stmt_fail(r->db, st, "roll-ups: write a cell", err, errlen);
    return STORE_OK;
}

static const char *const mr_table[2] = { "checks_hourly", "checks_daily" };

/* Appends a location as a quoted string literal, escaped by the client library for the connection's charset. */
static void mr_quote(struct my_rollup *r, const char *s)
{
    size_t n = strlen(s);
    cw_buf_reserve(&r->sql, 2 * n + 3);
    char *p = (char *)r->sql.data + r->sql.len;
    *p++ = '\'';
    p += mysql_real_escape_string(r->db->conn, p, s, (unsigned long)n);
    *p++ = '\'';
    r->sql.len = (size_t)(p - (char *)r->sql.data);
}

/* The stored cells of a fold in one statement: the keys are numbers formatted here and locations escaped. */
static int mr_get_many(void *ctx, enum rollup_period p, struct rollup_cell *cells, size_t n, char *err, size_t errlen)
{
    struct my_rollup *r = ctx;
    if (r->many) mysql_free_result(r->many);
    r->many = NULL;
    cw_buf_reset(&r->sql);
    cw_buf_printf(&r->sql,
                  "SELECT endpoint_id, UNIX_TIMESTAMP(period_start), checks, ok, latency_hist, dns_hist, connect_hist,"
                  " tls_hist, ttfb_hist, location FROM %s WHERE (endpoint_id, period_start, location) IN (",
                  mr_table[p]);
    for (size_t i = 0; i < n; i++) {
        cw_buf_put(&r->sql, i ? ",(" : "(", i ? 2 : 1);
        rollup_put_i64(&r->sql, cells[i].endpoint_id);
        cw_buf_put(&r->sql, ",FROM_UNIXTIME(", 15);
        rollup_put_i64(&r->sql, cells[i].start_s);
        cw_buf_put(&r->sql, "),", 2);
        mr_quote(r, cells[i].location);
        cw_buf_put(&r->sql, ")", 1);
    }
    cw_buf_put(&r->sql, ")", 1);
    if (mysql_real_query(r->db->conn, (const char *)r->sql.data, r->sql.len) != 0 ||
        !(r->many = mysql_store_result(r->db->conn)))
        return my_fail(r->db, "roll-ups: read cells", err, errlen);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r->many)) != NULL) {
        unsigned long *lens = mysql_fetch_lengths(r->many);
        bool whole = lens != NULL;
        for (int k = 0; k < 5 + ROLLUP_HISTS; k++) whole = whole && row[k];
        struct rollup_cell *c = whole ? rollup_cell_find(&r->engine, cells, n, strtoll(row[0], NULL, 10), row[9],
                                                         lens[9], strtoll(row[1], NULL, 10))
                                      : NULL;
        if (!c) continue; /* cannot be: NOT NULL columns, only the keys asked for */
        c->found = true;
        c->st.checks = strtoll(row[2], NULL, 10);
        c->st.ok = strtoll(row[3], NULL, 10);
        for (int k = 0; k < ROLLUP_HISTS; k++) {
            c->st.blob[k] = row[4 + k];
            c->st.len[k] = lens[4 + k];
        }
    }
    return STORE_OK;
}

/* Appends X'0102...' (a blob as a hex literal). */
static void mr_hex(struct cw_buf *b, const unsigned char *blob, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    cw_buf_reserve(b, 2 * len + 4);
    char *p = (char *)b->data + b->len;
    *p++ = 'X';
    *p++ = '\'';
    for (size_t j = 0; j < len; j++) {
        *p++ = hex[blob[j] >> 4];
        *p++ = hex[blob[j] & 15];
    }
    *p++ = '\'';
    b->len = (size_t)(p - (char *)b->data);
}

static int mr_put_many(void *ctx, enum rollup_period p, const struct rollup_cell *cells, size_t n, char *err,
                       size_t errlen)
{
    struct my_rollup *r = ctx;
    for (size_t from = 0; from < n;) {
        cw_buf_reset(&r->sql);
        cw_buf_printf(&r->sql,
                      "INSERT INTO %s (endpoint_id, period_start, checks, ok, failures, latency_hist, dns_hist,"
                      " connect_hist, tls_hist, ttfb_hist, location) VALUES ",
                      mr_table[p]);
        size_t i = from;
        for (; i < n && (i == from || r->sql.len < MR_SQL_FLUSH); i++) {
            const struct rollup_cell *c = &cells[i];
            const int64_t num[4] = { c->start_s, c->st.checks, c->st.ok, c->st.checks - c->st.ok };
            cw_buf_put(&r->sql, i > from ? ",(" : "(", i > from ? 2 : 1);
            rollup_put_i64(&r->sql, c->endpoint_id);
            cw_buf_put(&r->sql, ",FROM_UNIXTIME(", 15);
            for (int k = 0; k < 4; k++) {
                rollup_put_i64(&r->sql, num[k]);
                cw_buf_put(&r->sql, k ? "," : "),", k ? 1 : 2);
            }
            r->sql.len--; /* the last comma */
            for (int k = 0; k < ROLLUP_HISTS; k++) {
                cw_buf_put(&r->sql, ",", 1);
                mr_hex(&r->sql, c->st.blob[k], c->st.len[k]);
            }
            cw_buf_put(&r->sql, ",", 1);
            mr_quote(r, c->location);
            cw_buf_put(&r->sql, ")", 1);
        }
        static const char tail[] =
            " ON DUPLICATE KEY UPDATE checks = VALUES(checks), ok = VALUES(ok), failures = VALUES(failures),"
            " latency_hist = VALUES(latency_hist), dns_hist = VALUES(dns_hist), connect_hist = VALUES(connect_hist),"
            " tls_hist = VALUES(tls_hist), ttfb_hist = VALUES(ttfb_hist)";
        cw_buf_put(&r->sql, tail, sizeof tail - 1);
        if (mysql_real_query(r->db->conn, (const char *)r->sql.data, r->sql.len) != 0)
            return my_fail(r->db, "roll-ups: write cells", err, errlen);
        from = i;
    }
    return STORE_OK;
}

static int mr_count_above(void *ctx, int64_t after, int64_t *count, int64_t *top, char *err, size_t errlen)
{
    struct my_rollup *r = ctx;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*), COALESCE(MAX(id), %" PRId64 ") FROM checks WHERE id > %" PRId64, after,
             after);
    if (mysql_real_query(r->db->conn, sql, strlen(sql)) != 0) return my_fail(r->db, "roll-ups: count", err, errlen);
    MYSQL_RES *res = mysql_store_result(r->db->conn);
    if (!res) return my_fail(r->db, "roll-ups: count", err, errlen);
    MYSQL_ROW row = mysql_fetch_row(res);
    *count = row && row[0] ? strtoll(row[0], NULL, 10) : -1;
    *top = row && row[1] ? strtoll(row[1], NULL, 10) : after;
    mysql_free_result(res);
    return STORE_OK;
}

static int mr_int(struct my_rollup *r, const char *sql, int64_t *v, char *err, size_t errlen)
{
    if (mysql_real_query(r->db->conn, sql, strlen(sql)) != 0) return my_fail(r->db, "roll-ups", err, errlen);
    MYSQL_RES *res = mysql_store_result(r->db->conn);
    if (!res) return my_fail(r->db, "roll-ups", err, errlen);
    MYSQL_ROW row = mysql_fetch_row(res);
    int rc = STORE_OK;
    if (row && row[0]) *v = strtoll(row[0], NULL, 10);
    else *v = -1; /* no row: rollup_state emptied (struct rollup_ops: a rebuild) */
    mysql_free_result(res);
    return rc;
}

static int mr_get_watermark(void *ctx, int64_t *id, char *err, size_t errlen)
{
    return mr_int(ctx, "SELECT last_check_id FROM rollup_state WHERE id = 1", id, err, errlen);
}

static int mr_max_id(void *ctx, int64_t *id, char *err, size_t errlen)
{
    return mr_int(ctx, "SELECT COALESCE(MAX(id), 0) FROM checks", id, err, errlen);
}

static int mr_set_watermark(void *ctx, int64_t id, char *err, size_t errlen)
{
    struct my_rollup *r = ctx;
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE rollup_state SET last_check_id = %" PRId64 " WHERE id = 1", id);
    return my_exec(r->db, sql, "roll-ups: write the watermark", err, errlen);
}

static int mr_exec_op(void *ctx, const char *sql, char *err, size_t errlen)
{
    struct my_rollup *r = ctx;
    return my_exec(r->db, sql, "roll-ups: rebuild", err, errlen);
}

static int mr_begin(void *ctx, char *err, size_t errlen)
{
    struct my_rollup *r = ctx;
    return my_exec(r->db, "START TRANSACTION", "roll-ups: begin", err, errlen);
}

static int mr_commit(void *ctx, char *err, size_t errlen)
{
    struct my_rollup *r = ctx;
    return mysql_commit(r->db->conn) == 0 ? STORE_OK : my_fail(r->db, "roll-ups: commit", err, errlen);
}

static void mr_rollback(void *ctx)
{
    struct my_rollup *r = ctx;
    my_rollback(r->db);
}

static bool mr_idle(void *ctx)
{
    struct my_rollup *r = ctx;
    return mysql_ping(r->db->conn) == 0; /* autocommit between batches: up is idle */
}

static void mr_free(void *ctx);

static const struct rollup_ops mr_ops = {
    .read_rows = mr_read_rows,
    .get = mr_get,
    .put = mr_put,
    .get_many = mr_get_many,
    .put_many = mr_put_many,
    .count_above = mr_count_above,
    .get_watermark = mr_get_watermark,
    .max_id = mr_max_id,
    .exec = mr_exec_op,
    .set_watermark = mr_set_watermark,
    .begin = mr_begin,
    .commit = mr_commit,
    .rollback = mr_rollback,
    .idle = mr_idle,
    .destroy = mr_free,
};

static void mr_free(void *ctx)
{
    struct my_rollup *r = ctx;
    for (int i = 0; i < 2; i++) {
        if (r->get[i]) mysql_stmt_close(r->get[i]);
        if (r->put[i]) mysql_stmt_close(r->put[i]);
    }
    if (r->many) mysql_free_result(r->many);
    cw_buf_free(&r->sql);
    rollup_free(&r->engine);
    free(r);
}

int my_rollup_open(struct store_db *db, char *err, size_t errlen)
{
    if (db->roll) return STORE_OK;
    struct my_rollup *r = cw_xcalloc(1, sizeof *r);
    r->db = db;
    rollup_init(&r->engine, &mr_ops, r, db->where);
    if (db->raw != CW_RAW_ALL) rollup_set_direct(&r->engine); /* database.raw: every batch folds its checks */
    rollup_enable_staging(&r->engine);
    int rc = STORE_OK;
    if (!(r->get[ROLLUP_HOUR] = my_prepare(r->db, MR_GET("checks_hourly"), &rc, err, errlen)) ||
        !(r->get[ROLLUP_DAY] = my_prepare(r->db, MR_GET("checks_daily"), &rc, err, errlen)) ||
        !(r->put[ROLLUP_HOUR] = my_prepare(r->db, MR_PUT("checks_hourly"), &rc, err, errlen)) ||
        !(r->put[ROLLUP_DAY] = my_prepare(r->db, MR_PUT("checks_daily"), &rc, err, errlen))) {
        mr_free(r);
        return rc;
    }
    if ((rc = rollup_catch_up(&r->engine, err, errlen)) != STORE_OK) {
        mr_free(r);
        return rc;
    }
    db->roll = &r->engine;
    return STORE_OK;
}
