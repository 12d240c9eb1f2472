/* storer/mysql_write.c — the MySQL/MariaDB backend's writing half (storer/mysql.c holds the connection and
 * the schema): batches of checks and alerts, and the configured endpoints.
 *
 * DESIGN
 * write_batch(): endpoint ids come from a url->id cache filled by sync_endpoints; an URL not cached is
 * inserted (INSERT IGNORE) and looked up before the batch's transaction, in autocommit, so the cache never
 * holds the id of a row that a rollback removed. Then one transaction: the checks go in with multi-row
 * prepared INSERTs (statements for 256, 128, ... 1 rows, prepared on first use on each connection, so a
 * batch of 500 is a few round trips), each `ON DUPLICATE KEY UPDATE id = id`: a row already stored under
 * UNIQUE (worker, boot_id, seq) is skipped, while any other error still fails the batch (INSERT IGNORE
 * would silently drop rows with a bad foreign key too). Alerts are upserted on alert_id with delivery
 * states that only move forward. Bound parameters only. */
#include "storer/mysql_db.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/util.h"

/* ---- values ------------------------------------------------------------------------------------------ */

/* A fresh valid-UTF-8 copy of s (utf8mb4 columns reject a stray byte; caller frees), its length in *len. */
static char *my_clean_dup(const char *s, unsigned long *len)
{
    size_t n;
    char *out = store_clean_text_dup(s, &n);
    *len = (unsigned long)n;
    return out;
}

/* UTC wall-clock microseconds as a DATETIME with milliseconds (truncated, like every backend). */
static void my_time(int64_t us, MYSQL_TIME *t)
{
    struct tm tm;
    int ms;
    memset(t, 0, sizeof *t);
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
    if (!store_utc_ms(us, &tm, &ms)) {
        t->year = 1970;
        t->month = t->day = 1;
        return;
    }
    t->year = (unsigned)tm.tm_year + 1900;
    t->month = (unsigned)tm.tm_mon + 1;
    t->day = (unsigned)tm.tm_mday;
    t->hour = (unsigned)tm.tm_hour;
    t->minute = (unsigned)tm.tm_min;
    t->second = (unsigned)tm.tm_sec;
    t->second_part = (unsigned long)ms * 1000;
}

static void my_ms(int64_t us, double *v, my_bool *is_null)
{
    *is_null = us < 0;
    *v = us < 0 ? 0.0 : (double)us / 1000.0;
}

/* ---- statements -------------------------------------------------------------------------------------- */

MYSQL_STMT *my_prepare(struct store_db *db, const char *sql, int *rc, char *err, size_t errlen)
{
    MYSQL_STMT *st = mysql_stmt_init(db->conn);
    if (!st) {
        *rc = my_fail(db, "prepare", err, errlen);
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        *rc = my_stmt_fail(db, st, "prepare", err, errlen);
        mysql_stmt_close(st);
        return NULL;
    }
    *rc = STORE_OK;
    return st;
}

/* The multi-row insert of checks for 1 << k rows, prepared on first use. */
static MYSQL_STMT *my_insert_stmt(struct store_db *db, int k, int *rc, char *err, size_t errlen)
{
    if (db->insert[k]) {
        *rc = STORE_OK;
        return db->insert[k];
    }
    static const char head[] = "INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, error,"
                               " dns_ms, connect_ms, tls_ms, ttfb_ms, worker, boot_id, seq, tls_expires_at,"
                               " details, maintenance, location) VALUES ";
    static const char row[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    static const char tail[] = " ON DUPLICATE KEY UPDATE id = id";
    size_t n = (size_t)1 << k;
    size_t len = sizeof head + n * sizeof row + sizeof tail;
    char *sql = cw_xmalloc(len);
    size_t o = 0;
    memcpy(sql, head, sizeof head - 1);
    o += sizeof head - 1;
    for (size_t i = 0; i < n; i++) {
        if (i) sql[o++] = ',';
        memcpy(sql + o, row, sizeof row - 1);
        o += sizeof row - 1;
    }
    memcpy(sql + o, tail, sizeof tail);
    db->insert[k] = my_prepare(db, sql, rc, err, errlen);
    free(sql);
    return db->insert[k];
}

static void bind_value(MYSQL_BIND *b, enum enum_field_types type, void *buf, my_bool *is_null)
{
    memset(b, 0, sizeof *b);
    b->buffer_type = type;
    b->buffer = buf;
    b->is_null = is_null;
}

/* The id of url in endpoints (inserted with name NULL and the type given when new). Runs in autocommit, outside
 * any batch. */
static int my_endpoint_id(struct store_db *db, const char *url, const char *type, int64_t *id, char *err, size_t errlen)
{
    if (store_ep_cache_get(&db->cache, url, id)) return STORE_OK;
    int rc;
    if (!db->ep_insert &&
        !(db->ep_insert = my_prepare(db, "INSERT IGNORE INTO endpoints (url, type) VALUES (?, ?)", &rc, err, errlen)))
        return rc;
    if (!db->ep_select && !(db->ep_select = my_prepare(
                                db, "SELECT id FROM endpoints WHERE url_hash = UNHEX(SHA2(?, 256))", &rc, err, errlen)))
        return rc;
    unsigned long len;
    char *clean = my_clean_dup(url, &len);
    unsigned long type_len = strlen(type);
    MYSQL_BIND in[2];
    memset(in, 0, sizeof in);
    in[0].buffer_type = MYSQL_TYPE_STRING;
    in[0].buffer = clean;
    in[0].buffer_length = len;
    in[0].length = &len;
    in[1].buffer_type = MYSQL_TYPE_STRING;
    in[1].buffer = (char *)type;
    in[1].buffer_length = type_len;
    in[1].length = &type_len;
    rc = STORE_OK;
    if (mysql_stmt_bind_param(db->ep_insert, in) != 0 || mysql_stmt_execute(db->ep_insert) != 0)
        rc = my_stmt_fail(db, db->ep_insert, "insert endpoint", err, errlen);
    if (rc == STORE_OK && (mysql_stmt_bind_param(db->ep_select, in) != 0 || mysql_stmt_execute(db->ep_select) != 0 ||
                           mysql_stmt_store_result(db->ep_select) != 0))
        rc = my_stmt_fail(db, db->ep_select, "find endpoint", err, errlen);
    if (rc == STORE_OK) {
        long long v = 0;
        MYSQL_BIND out;
        memset(&out, 0, sizeof out);
        out.buffer_type = MYSQL_TYPE_LONGLONG;
        out.buffer = &v;
        if (mysql_stmt_bind_result(db->ep_select, &out) != 0) {
            rc = my_stmt_fail(db, db->ep_select, "find endpoint", err, errlen);
        } else {
            int f = mysql_stmt_fetch(db->ep_select);
            if (f == 0 || f == MYSQL_DATA_TRUNCATED) {
                *id = v;
                store_ep_cache_put(&db->cache, url, v);
            } else if (f == MYSQL_NO_DATA) {
                snprintf(err, errlen, "%s: endpoint %s vanished right after it was inserted", db->where, clean);
                rc = STORE_RETRY;
            } else {
                rc = my_stmt_fail(db, db->ep_select, "find endpoint", err, errlen);
            }
        }
        mysql_stmt_free_result(db->ep_select);
    }
    free(clean);
    return rc;
}

static int my_write_checks(struct store_db *db, const struct store_batch *batch, size_t from, int k, char *err,
                           size_t errlen)
{
    int rc;
    MYSQL_STMT *st = my_insert_stmt(db, k, &rc, err, errlen);
    if (!st) return rc;
    size_t n = (size_t)1 << k;
    for (size_t i = 0; i < n; i++) {
        const struct cw_result *r = &batch->checks[from + i].r;
        struct my_row *w = &db->rows[i];
        MYSQL_BIND *b = db->binds + i * MY_COLS;
        if ((rc = my_endpoint_id(db, r->url, store_type_name(r->kind), &w->endpoint_id, err, errlen)) != STORE_OK)
            return rc;
        my_time(r->checked_at_us, &w->at);
        w->status = r->status_code;
        my_ms(r->latency_us, &w->ms[0], &w->ms_null[0]);
        my_ms(r->dns_us, &w->ms[1], &w->ms_null[1]);
        my_ms(r->connect_us, &w->ms[2], &w->ms_null[2]);
        my_ms(r->tls_us, &w->ms[3], &w->ms_null[3]);
        my_ms(r->ttfb_us, &w->ms[4], &w->ms_null[4]);
        w->ok = r->ok ? 1 : 0;
        w->err_null = r->ok || !r->error;
        w->err_len = w->err_null ? 0 : store_clean_text(r->error, w->err, sizeof w->err);
        w->worker = r->worker;
        w->boot_id = (long long)(int64_t)r->boot_id; /* the u64's bit pattern as a signed BIGINT */
        w->seq = (long long)(int64_t)r->seq;
        w->expires_null = r->tls_expires_at_us == 0;
        if (!w->expires_null) my_time(r->tls_expires_at_us, &w->expires);
        w->details_null = !r->figures || !r->figures[0];
        w->details_len = w->details_null ? 0 : store_clean_text(r->figures, w->details, sizeof w->details);

        bind_value(&b[0], MYSQL_TYPE_LONGLONG, &w->endpoint_id, NULL);
        bind_value(&b[1], MYSQL_TYPE_DATETIME, &w->at, NULL);
        bind_value(&b[2], MYSQL_TYPE_LONG, &w->status, NULL);
        bind_value(&b[3], MYSQL_TYPE_DOUBLE, &w->ms[0], &w->ms_null[0]);
        bind_value(&b[4], MYSQL_TYPE_TINY, &w->ok, NULL);
        bind_value(&b[5], MYSQL_TYPE_STRING, w->err, &w->err_null);
        b[5].buffer_length = sizeof w->err;
        b[5].length = &w->err_len;
        for (int j = 1; j < 5; j++) bind_value(&b[5 + j], MYSQL_TYPE_DOUBLE, &w->ms[j], &w->ms_null[j]);
        bind_value(&b[10], MYSQL_TYPE_LONG, &w->worker, NULL);
        b[10].is_unsigned = 1;
        bind_value(&b[11], MYSQL_TYPE_LONGLONG, &w->boot_id, NULL);
        bind_value(&b[12], MYSQL_TYPE_LONGLONG, &w->seq, NULL);
        bind_value(&b[13], MYSQL_TYPE_DATETIME, &w->expires, &w->expires_null);
        bind_value(&b[14], MYSQL_TYPE_STRING, w->details, &w->details_null);
        b[14].buffer_length = sizeof w->details;
        b[14].length = &w->details_len;
        w->maintenance = batch->checks[from + i].maintenance ? 1 : 0;
        bind_value(&b[15], MYSQL_TYPE_TINY, &w->maintenance, NULL);
        w->location_len = store_clean_text(r->location ? r->location : "", w->location, sizeof w->location);
        bind_value(&b[16], MYSQL_TYPE_STRING, w->location, NULL);
        b[16].buffer_length = sizeof w->location;
        b[16].length = &w->location_len;
    }
    if (mysql_stmt_bind_param(st, db->binds) != 0 || mysql_stmt_execute(st) != 0)
        return my_stmt_fail(db, st, "insert checks", err, errlen);
    /* rows inserted: 1 each; a row already stored counts 0 (`id = id` changes nothing; no CLIENT_FOUND_ROWS).
     * The roll-ups keep the rows of a whole statement in memory (storer/rollup.h). */
    if (rollup_staging(db->roll)) {
        for (size_t i = 0; i < n; i++) db->stage_ids[i] = db->rows[i].endpoint_id;
        rollup_stage(db->roll, batch, from, n, (int64_t)mysql_stmt_affected_rows(st), db->stage_ids);
    }
    return STORE_OK;
}

static int my_write_alert(struct store_db *db, const struct cw_alert *a, char *err, size_t errlen)
{
    int rc;
    int64_t ep;
    if ((rc = my_endpoint_id(db, a->url, "http", &ep, err, errlen)) != STORE_OK) return rc;
    if (!db->alert &&
        !(db->alert = my_prepare(db,
                                 "INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state,"
                                 " webhook_state, muted, incident_id, deliveries)"
                                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
                                 /* states only forward, as in every backend */
                                 STORE_ALERT_UPSERT_SET("VALUES(", ")", ""),
                                 &rc, err, errlen)))
        return rc;
    long long id = (long long)(int64_t)a->alert_id;
    MYSQL_TIME at;
    my_time(a->raised_at_us, &at);
    const char *kind = proto_alert_kind_name(a->kind), *email = proto_delivery_name(a->email_state),
               *hook = proto_delivery_name(a->webhook_state);
    kind = kind ? kind : "unknown";
    email = email ? email : "none";
    hook = hook ? hook : "none";
    unsigned long msg_len, kind_len = strlen(kind), email_len = strlen(email), hook_len = strlen(hook);
    char *msg = my_clean_dup(a->message ? a->message : "", &msg_len);
    const char *muted = proto_mute_name(a->muted), *deliveries = a->deliveries ? a->deliveries : "";
    muted = muted ? muted : "none";
    unsigned long muted_len = strlen(muted), deliveries_len = strlen(deliveries);
    long long incident = (long long)(int64_t)a->incident_id;
    my_bool no_incident = a->incident_id == 0;
    MYSQL_BIND b[10];
    bind_value(&b[0], MYSQL_TYPE_LONGLONG, &id, NULL);
    bind_value(&b[1], MYSQL_TYPE_LONGLONG, &ep, NULL);
    bind_value(&b[2], MYSQL_TYPE_DATETIME, &at, NULL);
    bind_value(&b[3], MYSQL_TYPE_STRING, (void *)kind, NULL);
    b[3].length = &kind_len;
    bind_value(&b[4], MYSQL_TYPE_STRING, msg, NULL);
    b[4].length = &msg_len;
    bind_value(&b[5], MYSQL_TYPE_STRING, (void *)email, NULL);
    b[5].length = &email_len;
    bind_value(&b[6], MYSQL_TYPE_STRING, (void *)hook, NULL);
    b[6].length = &hook_len;
    bind_value(&b[7], MYSQL_TYPE_STRING, (void *)muted, NULL);
    b[7].length = &muted_len;
    bind_value(&b[8], MYSQL_TYPE_LONGLONG, &incident, &no_incident);
    bind_value(&b[9], MYSQL_TYPE_STRING, (void *)deliveries, NULL);
    b[9].length = &deliveries_len;
    rc = STORE_OK;
    if (mysql_stmt_bind_param(db->alert, b) != 0 || mysql_stmt_execute(db->alert) != 0)
        rc = my_stmt_fail(db, db->alert, "upsert alert", err, errlen);
    free(msg);
    return rc;
}

int my_write_batch(struct store_db *db, const struct store_batch *batch, char *err, size_t errlen)
{
    int rc;
    if (batch->n_checks == 0 && batch->n_alerts == 0) return STORE_OK;
    bool direct = db->raw != CW_RAW_ALL; /* database.raw: only the raw rows kept go in, every check is folded */
    if (direct && batch->n_checks > db->cap_ids) {
        db->cap_ids = batch->n_checks;
        db->ids = cw_xrealloc(db->ids, db->cap_ids * sizeof *db->ids);
    }
    /* Endpoints first, in autocommit: the cache only ever holds committed ids. */
    int64_t id;
    for (size_t i = 0; i < batch->n_checks; i++) {
        if ((rc = my_endpoint_id(db, batch->checks[i].r.url, store_type_name(batch->checks[i].r.kind), &id, err,
                                 errlen)) != STORE_OK)
            return rc;
        if (direct) db->ids[i] = id;
    }
    for (size_t i = 0; i < batch->n_alerts; i++)
        if ((rc = my_endpoint_id(db, batch->alerts[i].a.url, "http", &id, err, errlen)) != STORE_OK) return rc;
    const struct store_batch *rows = batch;
    if (direct) {
        store_batch_raw_view(batch, &db->view);
        rows = &db->view;
    }

    if ((rc = my_exec(db, "START TRANSACTION", "begin", err, errlen)) != STORE_OK) return rc;
    size_t done = 0;
    while (done < rows->n_checks) {
        size_t left = rows->n_checks - done;
        int k = MY_SIZES - 1;
        while (((size_t)1 << k) > left) k--;
        if ((rc = my_write_checks(db, rows, done, k, err, errlen)) != STORE_OK) goto fail;
        done += (size_t)1 << k;
    }
    for (size_t i = 0; i < batch->n_alerts; i++)
        if ((rc = my_write_alert(db, &batch->alerts[i].a, err, errlen)) != STORE_OK) goto fail;
    if (direct && batch->n_checks &&
        (rc = rollup_fold_batch(db->roll, batch, db->ids, rows->n_checks > 0, err, errlen)) != STORE_OK)
        goto fail;
    if ((rc = rollup_fold_if_due(db->roll, err, errlen)) != STORE_OK) goto fail;
    if (mysql_commit(db->conn) != 0) {
        rc = my_fail(db, "commit", err, errlen);
        goto fail;
    }
    rollup_txn_end(db->roll, true);
    return STORE_OK;
fail:
    my_rollback(db);
    rollup_txn_end(db->roll, false);
    return rc;
}

/* ---- configured endpoints ---------------------------------------------------------------------------- */

#define MY_SYNC_CHUNK 256

int my_sync_endpoints(struct store_db *db, const struct cw_endpoint *eps, size_t n, char *err, size_t errlen)
{
    int rc = my_exec(db, "START TRANSACTION", "begin", err, errlen);
    if (rc != STORE_OK) return rc;
    MYSQL_BIND *b = cw_xcalloc(3 * MY_SYNC_CHUNK, sizeof *b);
    char **vals = cw_xcalloc(3 * MY_SYNC_CHUNK, sizeof *vals);
    unsigned long *lens = cw_xcalloc(3 * MY_SYNC_CHUNK, sizeof *lens);
    my_bool *nulls = cw_xcalloc(3 * MY_SYNC_CHUNK, sizeof *nulls);
    struct cw_buf sql = { 0 };
    for (size_t off = 0; rc == STORE_OK && off < n; off += MY_SYNC_CHUNK) {
        size_t m = n - off < MY_SYNC_CHUNK ? n - off : MY_SYNC_CHUNK;
        cw_buf_reset(&sql);
        static const char head[] = "INSERT INTO endpoints (url, name, type) VALUES ";
        static const char tail[] = " ON DUPLICATE KEY UPDATE name = VALUES(name), type = VALUES(type)";
        cw_buf_put(&sql, head, sizeof head - 1);
        for (size_t i = 0; i < m; i++) {
            cw_buf_put(&sql, i ? ",(?,?,?)" : "(?,?,?)", i ? 8 : 7);
            const struct cw_endpoint *ep = &eps[off + i];
            vals[3 * i] = my_clean_dup(ep->url, &lens[3 * i]);
            nulls[3 * i] = 0;
            nulls[3 * i + 1] = ep->name == NULL;
            vals[3 * i + 1] = my_clean_dup(ep->name ? ep->name : "", &lens[3 * i + 1]);
            nulls[3 * i + 2] = 0;
            vals[3 * i + 2] = my_clean_dup(store_type_name(ep->type), &lens[3 * i + 2]);
            for (int j = 0; j < 3; j++) {
                bind_value(&b[3 * i + j], MYSQL_TYPE_STRING, vals[3 * i + j], &nulls[3 * i + j]);
                b[3 * i + j].length = &lens[3 * i + j];
            }
        }
        cw_buf_put(&sql, tail, sizeof tail); /* with the NUL */
        MYSQL_STMT *st = my_prepare(db, (const char *)sql.data, &rc, err, errlen);
        if (st) {
            if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0)
                rc = my_stmt_fail(db, st, "sync endpoints", err, errlen);
            mysql_stmt_close(st);
        }
        for (size_t i = 0; i < 3 * m; i++) {
            free(vals[i]);
            vals[i] = NULL;
        }
    }
    free(b);
    free(vals);
    free(lens);
    free(nulls);
    cw_buf_free(&sql);
    if (rc == STORE_OK && mysql_commit(db->conn) != 0) rc = my_fail(db, "commit", err, errlen);
    if (rc != STORE_OK) {
        my_rollback(db);
        return rc;
    }
    /* Fill the url -> id cache with every known endpoint: the first batches need no lookups. */
    if (mysql_real_query(db->conn, "SELECT id, url FROM endpoints", strlen("SELECT id, url FROM endpoints")) != 0)
        return my_fail(db, "read endpoints", err, errlen);
    MYSQL_RES *res = mysql_use_result(db->conn);
    if (!res) return my_fail(db, "read endpoints", err, errlen);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL)
        if (row[0] && row[1]) store_ep_cache_put(&db->cache, row[1], strtoll(row[0], NULL, 10));
    rc = mysql_errno(db->conn) ? my_fail(db, "read endpoints", err, errlen) : STORE_OK;
    mysql_free_result(res);
    return rc;
}
