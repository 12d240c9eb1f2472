/* storer/postgres.c — the PostgreSQL backend of the storer (libpq), behind storer/backend.h.
 *
 * DESIGN
 * One connection per storer. open() connects with PQconnectdbParams (host or Unix-socket directory, port,
 * dbname, user, password, sslmode — default "prefer": TLS when the server offers it —, sslrootcert,
 * connect_timeout, application_name=clockwerk, TCP keepalives). migrate() creates or checks the schema of
 * docs/schema.md in one transaction under an advisory lock.
 *
 * write_batch() is one transaction of four round trips:
 *     BEGIN;
 *     INSERT INTO endpoints(url) SELECT DISTINCT ... FROM unnest($1::text[]) ... ON CONFLICT DO NOTHING;
 *     INSERT INTO checks(...) SELECT e.id, ... FROM unnest($1::text[], $2::timestamptz[], ... $13::bigint[])
 *         JOIN endpoints e ON e.url = u.url ON CONFLICT (worker, boot_id, seq) DO NOTHING;
 *     (one prepared upsert per alert); COMMIT;
 * i.e. one prepared insert whose rows travel as one array parameter per column (values are data, never SQL
 * text); faster than COPY into a temporary table (~42k vs ~36k rows/s, docs/databases.md). Endpoint ids are
 * resolved inside the server (no client-side url->id cache); with the roll-ups staging, the endpoints insert
 * returns them as one array and the inserted count goes to storer/rollup.h.
 * ON CONFLICT on UNIQUE (worker, boot_id, seq) makes a repeated batch (after a commit whose outcome was
 * lost with the connection) a no-op. Prepared statements live with the connection: they are prepared
 * lazily on the first write after every open, i.e. after every reconnect.
 *
 * Errors: a broken connection or a server that is shutting down, starting, overloaded or out of
 * connections is STORE_RETRY; so is every failure to connect (wrong password, unknown database,
 * unreachable host): the storer keeps retrying with backoff. SQL errors that retrying cannot fix
 * (undefined table, syntax) are STORE_FATAL. Every message names postgresql://user@host:port/db and the
 * server's own text on one line; the password is never part of it. */
#include "storer/backend.h"
#include "storer/migrate.h"
#include "storer/pg_prune.h"
#include "storer/pg_schema.h"
#include "storer/pg_rollup.h"
#include "storer/reader.h"
#include "storer/rollup.h"

#include <postgresql/libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/log.h"
#include "common/base/util.h"

#define PG_COLS 17 /* columns of checks written per row (the url stands in for endpoint_id) */

struct store_db {
    PGconn *conn;
    char where[600];            /* postgresql://user@host:port/db, for messages */
    bool ready;                 /* the prepared statements exist on this connection */
    struct cw_buf arr[PG_COLS]; /* the array parameters of the current batch, reused */
    struct cw_buf types;        /* endpoints.type of each check's endpoint (its kind), for new endpoints */
    struct rollup *roll;        /* the roll-ups (storer/pg_rollup.c), after migrate */
    enum cw_db_raw raw;         /* database.raw: not "all", every batch folds its checks (rollup_fold_batch) */
    struct cw_buf urls;         /* ... with the URLs of all its checks (arr[0]: those of the raw rows) */
};

/* ---- messages ---------------------------------------------------------------------------------------- */

static void pg_fail(const struct store_db *db, const char *what, const char *msg, char *err, size_t errlen)
{
    char line[1024];
    store_one_line(msg, line, sizeof line);
    snprintf(err, errlen, "%s: %s%s%s", db->where, what ? what : "", what ? ": " : "",
             line[0] ? line : "unknown error");
}

/* The server's primary message of a failed result, or the connection's message. */
static const char *pg_result_message(const struct store_db *db, const PGresult *res)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    return m && *m ? m : PQerrorMessage(db->conn);
}

/* STORE_RETRY for conditions that go away (connection, server state, resources, conflicts between
 * transactions); STORE_FATAL for the rest (schema or programming errors). */
int pg_error_class(PGconn *conn, const PGresult *res)
{
    if (PQstatus(conn) != CONNECTION_OK) return STORE_RETRY;
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!st || strlen(st) != 5)
        return STORE_RETRY;      /* no SQLSTATE: the client library failed (connection lost, out of memory) */
    if (!strncmp(st, "08", 2)    /* connection exception */
        || !strncmp(st, "53", 2) /* insufficient resources: disk full, too many connections */
        || !strncmp(st, "57", 2) /* operator intervention: shutdown, cannot connect now, cancel */
        || !strncmp(st, "58", 2) /* system error (I/O) */
        || !strcmp(st, "40001")  /* serialization failure */
        || !strcmp(st, "40P01")  /* deadlock */
        || !strcmp(st, "55P03")  /* lock not available */
        || !strcmp(st, "25006")  /* read-only transaction: a standby during a failover */
        || !strcmp(st, "42501")) /* insufficient privilege: the operator's GRANT fixes it */
        return STORE_RETRY;
    return STORE_FATAL;
}

static int pg_classify(const struct store_db *db, const PGresult *res) { return pg_error_class(db->conn, res); }

static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    char line[512];
    store_one_line(message, line, sizeof line);
    log_debug("postgresql: %s", line);
}

/* ---- statements -------------------------------------------------------------------------------------- */

/* Runs a statement without parameters that returns no rows. STORE_OK or the classified error. */
static int pg_exec(struct store_db *db, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(res);
        return STORE_OK;
    }
    int rc = pg_classify(db, res);
    pg_fail(db, what, pg_result_message(db, res), err, errlen);
    PQclear(res);
    return rc;
}

/* A prepared statement's execution (text parameters). */
/* Runs a prepared statement; *rows (unless NULL) gets the rows it inserted, updated or deleted. */
static int pg_exec_prepared(struct store_db *db, const char *name, int n, const char *const *vals, int64_t *rows,
                            char *err, size_t errlen)
{
    PGresult *res = PQexecPrepared(db->conn, name, n, vals, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (rows) *rows = strtoll(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        return STORE_OK;
    }
    int rc = pg_classify(db, res);
    pg_fail(db, name, pg_result_message(db, res), err, errlen);
    PQclear(res);
    return rc;
}

static void pg_rollback(struct store_db *db)
{
    if (PQstatus(db->conn) != CONNECTION_OK) return;
    if (PQtransactionStatus(db->conn) == PQTRANS_IDLE) return;
    PGresult *res = PQexec(db->conn, "ROLLBACK");
    PQclear(res);
}

/* ---- open / close ------------------------------------------------------------------------------------ */

static struct store_db *pg_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    struct store_db *db = cw_xcalloc(1, sizeof *db);
    db->raw = cfg->db_raw;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->db_port > 0 ? cfg->db_port : 5432);
    const char *host = cfg->db_host && *cfg->db_host ? cfg->db_host : "localhost";
    const char *user = cfg->db_user && *cfg->db_user ? cfg->db_user : NULL;
    const char *dbname = cfg->db_name && *cfg->db_name ? cfg->db_name : "clockwerk";
    snprintf(db->where, sizeof db->where, "postgresql://%.64s%s%.300s:%s/%.128s", user ? user : "", user ? "@" : "",
             host, port, dbname);

    /* TLS: "prefer" unless told otherwise; a CA file without a mode asks for full verification. */
    const char *sslmode = cfg->db_sslmode && *cfg->db_sslmode
                              ? cfg->db_sslmode
                              : (cfg->db_ca_file && *cfg->db_ca_file ? "verify-full" : "prefer");

    const char *keys[20], *vals[20];
    int k = 0;
    keys[k] = "host";
    vals[k++] = host;
    keys[k] = "port";
    vals[k++] = port;
    keys[k] = "dbname";
    vals[k++] = dbname;
    if (user) {
        keys[k] = "user";
        vals[k++] = user;
    }
    if (cfg->db_password && *cfg->db_password) {
        keys[k] = "password";
        vals[k++] = cfg->db_password;
    }
    keys[k] = "sslmode";
    vals[k++] = sslmode;
    if (cfg->db_ca_file && *cfg->db_ca_file) {
        keys[k] = "sslrootcert";
        vals[k++] = cfg->db_ca_file;
    }
    keys[k] = "connect_timeout";
    vals[k++] = "10";
    keys[k] = "application_name";
    vals[k++] = "clockwerk";
    keys[k] = "client_encoding";
    vals[k++] = "UTF8";
    keys[k] = "keepalives";
    vals[k++] = "1";
    keys[k] = "keepalives_idle";
    vals[k++] = "30";
    keys[k] = "keepalives_interval";
    vals[k++] = "10";
    keys[k] = "keepalives_count";
    vals[k++] = "3";
    keys[k] = "tcp_user_timeout";
    vals[k++] = "60000";
    keys[k] = NULL;
    vals[k] = NULL;

    db->conn = PQconnectdbParams(keys, vals, 0);
    if (!db->conn) {
        snprintf(err, errlen, "%s: out of memory", db->where);
        goto fail;
    }
    if (PQstatus(db->conn) != CONNECTION_OK) {
        pg_fail(db, NULL, PQerrorMessage(db->conn), err, errlen);
        goto fail;
    }
    PQsetNoticeProcessor(db->conn, pg_notice, NULL);
    /* UTC on the session, so that checked_at reads back in UTC from psql and friends of this session. */
    if (pg_exec(db, "SET TIME ZONE 'UTC'", "set time zone", err, errlen) != STORE_OK) goto fail;
    log_info("postgresql: connected to %s (server %d, %s)", db->where, PQserverVersion(db->conn),
             PQsslInUse(db->conn) ? "TLS" : "no TLS");
    *rc = STORE_OK;
    return db;
fail:
    /* Every failure to connect may go away (server starting, password being fixed, database being
     * created): the storer retries with backoff and says why each time. */
    *rc = STORE_RETRY;
    PQfinish(db->conn);
    free(db);
    return NULL;
}

struct pg_conn *pg_store_conn(struct store_db *db) { return db->conn; }

static void pg_close(struct store_db *db)
{
    if (!db) return;
    rollup_close(db->roll);
    PQfinish(db->conn);
    for (int j = 0; j < PG_COLS; j++) cw_buf_free(&db->arr[j]);
    cw_buf_free(&db->types);
    cw_buf_free(&db->urls);
    free(db);
}

/* ---- schema ------------------------------------------------------------------------------------------ */

/* ---- migration: the primitives of storer/migrate.c; one transaction under an advisory lock */

static int pg_query_int(struct store_db *db, const char *sql, const char *what, long long *value, bool *is_null,
                        char *err, size_t errlen)
{
    PGresult *res = PQexec(db->conn, sql);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = pg_classify(db, res);
        pg_fail(db, what, pg_result_message(db, res), err, errlen);
        PQclear(res);
        return rc;
    }
    *is_null = PQntuples(res) < 1 || PQgetisnull(res, 0, 0);
    *value = *is_null ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return STORE_OK;
}

static int pg_migrate_begin(struct store_db *db, char *err, size_t errlen)
{
    int rc = pg_exec(db, "BEGIN", "begin", err, errlen);
    if (rc != STORE_OK) return rc;
    /* Two storers starting at once must not both create the schema. */
    rc = pg_exec(db, "SELECT pg_advisory_xact_lock(7305486147123105792)", "lock", err, errlen);
    if (rc != STORE_OK) pg_rollback(db);
    return rc;
}

static int pg_migrate_commit(struct store_db *db, char *err, size_t errlen)
{
    return pg_exec(db, "COMMIT", "commit", err, errlen);
}

static const struct store_migrate_step pg_steps[] = {
    { .version = 1, .what = "create schema", .sql = pg_schema_v1 },
    { .version = 2, .what = "add checks.tls_expires_at", .sql = pg_schema_v2 },
    { .version = 3, .what = "add the roll-up tables", .sql = pg_schema_v3 },
    { .version = 4, .what = "add endpoints.type and checks.details", .sql = pg_schema_v4 },
    { .version = 5, .what = "add checks.maintenance and alerts.muted/incident_id/deliveries", .sql = pg_schema_v5 },
    { .version = 6, .what = "add checks.location and key the roll-ups by location", .sql = pg_schema_v6 },
};

static const struct store_migrate_ops pg_migrate_ops = {
    .version_table_sql = "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)",
    .steps = pg_steps,
    .n_steps = sizeof pg_steps / sizeof pg_steps[0],
    .exec = pg_exec,
    .query_int = pg_query_int,
    .begin = pg_migrate_begin,
    .commit = pg_migrate_commit,
    .rollback = pg_rollback,
};

static int pg_migrate(struct store_db *db, char *err, size_t errlen)
{
    int rc = store_migrate(db, &pg_migrate_ops, db->where, err, errlen);
    if (rc == STORE_OK && !db->roll && !(db->roll = pg_rollup_open(db->conn, db->where, &rc, err, errlen))) return rc;
    if (rc == STORE_OK && db->raw != CW_RAW_ALL) rollup_set_direct(db->roll);
    return rc;
}

/* The statements write_batch needs: prepared once after every (re)connect. */
static int pg_prepare(struct store_db *db, char *err, size_t errlen)
{
    static const struct {
        const char *name, *sql;
    } stmts[] = {
        /* URLs not seen before; the NOT EXISTS keeps known URLs away from the insert (no speculative
         * insertion and no sequence value burnt per known URL and batch). */
        { "cw_new_endpoints", "INSERT INTO endpoints (url, type) SELECT DISTINCT ON (u.url) u.url, u.type"
                              " FROM unnest($1::text[], $2::text[]) AS u(url, type)"
                              " WHERE NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.url = u.url)"
                              " ORDER BY u.url ON CONFLICT (url) DO NOTHING" },
        /* Every check of the batch: one array per column, unnested into rows; the URL resolves to the
         * endpoint's id in the join; a (worker, boot_id, seq) already stored is skipped. */
        { "cw_insert_checks",
          "INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, error, dns_ms, connect_ms,"
          " tls_ms, ttfb_ms, worker, boot_id, seq, tls_expires_at, details, maintenance, location)"
          " SELECT e.id, u.checked_at, u.status_code, u.latency_ms, u.ok, u.error, u.dns_ms, u.connect_ms,"
          " u.tls_ms, u.ttfb_ms, u.worker, u.boot_id, u.seq, u.tls_expires_at, u.details, u.maintenance, u.location"
          " FROM unnest($1::text[], $2::timestamptz[], $3::integer[], $4::float8[], $5::boolean[], $6::text[],"
          " $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::integer[], $12::bigint[], $13::bigint[],"
          " $14::timestamptz[], $15::text[], $16::boolean[], $17::text[])"
          " WITH ORDINALITY AS u(url, checked_at, status_code, latency_ms, ok, error, dns_ms, connect_ms, tls_ms,"
          " ttfb_ms, worker, boot_id, seq, tls_expires_at, details, maintenance, location, n)"
          " JOIN endpoints e ON e.url = u.url"
          " ORDER BY u.n" /* ids in the order the results arrived, as in every backend */
          " ON CONFLICT (worker, boot_id, seq) DO NOTHING" },
        { "cw_alert_endpoint", "INSERT INTO endpoints (url) VALUES ($1::text) ON CONFLICT (url) DO NOTHING" },
        { "cw_upsert_alert",
          "INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state, webhook_state, muted,"
          " incident_id, deliveries) SELECT $1::bigint, e.id, $3::timestamptz, $4::text, $5::text, $6::text,"
          " $7::text, $8::text, $9::bigint, $10::text FROM endpoints e WHERE e.url = $2::text"
          /* states only forward, as in every backend (storer/backend.h STORE_ALERT_UPSERT_SET) */
          " ON CONFLICT (alert_id) DO UPDATE SET " STORE_ALERT_UPSERT_SET("EXCLUDED.", "", "alerts.") },
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        PGresult *res = PQprepare(db->conn, stmts[i].name, stmts[i].sql, 0, NULL);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            int rc = pg_classify(db, res);
            pg_fail(db, stmts[i].name, pg_result_message(db, res), err, errlen);
            PQclear(res);
            return rc;
        }
        PQclear(res);
    }
    db->ready = true;
    return STORE_OK;
}

/* ---- values ------------------------------------------------------------------------------------------ */

/* UTC wall-clock microseconds as `2026-11-25 04:05:06.123+00` (milliseconds, truncated, like every
 * backend stores them). */
static void pg_format_time(int64_t us, char *out, size_t len)
{
    struct tm tm;
    int frac;
    if (!store_utc_ms(us, &tm, &frac)) {
        snprintf(out, len, "1970-01-01 00:00:00.000+00");
        return;
    }
    snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* ---- writing ----------------------------------------------------------------------------------------- */

/* Appends s to an array literal as a quoted element: valid UTF-8 only (a stray byte becomes '?', the
 * database would reject the whole batch for it), with '"' and '\' escaped. */
void pg_arr_text(struct cw_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    cw_buf_put(b, "\"", 1);
    while (*p) {
        size_t n = cw_utf8_seq_len(p);
        if (n == 0) {
            cw_buf_put(b, "?", 1);
            p++;
            continue;
        }
        if (n == 1 && (*p == '"' || *p == '\\')) cw_buf_put(b, "\\", 1);
        cw_buf_put(b, p, n);
        p += n;
    }
    cw_buf_put(b, "\"", 1);
}

/* Milliseconds from microseconds (exact to the microsecond), or NULL for a phase that was not reached. */
static void pg_arr_ms(struct cw_buf *b, int64_t us)
{
    if (us < 0) cw_buf_put(b, "NULL", 4);
    else cw_buf_printf(b, "%.3f", (double)us / 1000.0);
}

/* Writes the checks of a batch (inside the batch's transaction): the values travel as 17 array
 * parameters of two prepared statements — one round trip for new endpoints, one for the checks. database.raw not
 * "all": only the raw rows kept go in, the endpoints of every check do, and every check is folded. */
static int pg_write_checks(struct store_db *db, const struct store_batch *batch, char *err, size_t errlen)
{
    bool direct = db->raw != CW_RAW_ALL;
    for (int j = 0; j < PG_COLS; j++) {
        cw_buf_reset(&db->arr[j]);
        cw_buf_put(&db->arr[j], "{", 1);
    }
    cw_buf_reset(&db->types);
    cw_buf_put(&db->types, "{", 1);
    cw_buf_reset(&db->urls);
    cw_buf_put(&db->urls, "{", 1);
    size_t n_raw = 0;
    for (size_t i = 0; i < batch->n_checks; i++) {
        const struct cw_result *r = &batch->checks[i].r;
        char when[48];
        cw_buf_printf(&db->types, "%s%s", i ? "," : "", store_type_name(r->kind));
        if (direct) {
            if (i) cw_buf_put(&db->urls, ",", 1);
            pg_arr_text(&db->urls, r->url);
        }
        if (direct && !batch->checks[i].raw) continue;
        if (n_raw++)
            for (int j = 0; j < PG_COLS; j++) cw_buf_put(&db->arr[j], ",", 1);
        pg_arr_text(&db->arr[0], r->url);
        pg_format_time(r->checked_at_us, when, sizeof when);
        cw_buf_printf(&db->arr[1], "\"%s\"", when);
        cw_buf_printf(&db->arr[2], "%u", (unsigned)r->status_code);
        pg_arr_ms(&db->arr[3], r->latency_us);
        cw_buf_put(&db->arr[4], r->ok ? "t" : "f", 1);
        if (r->ok || !r->error) cw_buf_put(&db->arr[5], "NULL", 4);
        else pg_arr_text(&db->arr[5], r->error);
        pg_arr_ms(&db->arr[6], r->dns_us);
        pg_arr_ms(&db->arr[7], r->connect_us);
        pg_arr_ms(&db->arr[8], r->tls_us);
        pg_arr_ms(&db->arr[9], r->ttfb_us);
        cw_buf_printf(&db->arr[10], "%u", (unsigned)r->worker);
        cw_buf_printf(&db->arr[11], "%lld", (long long)(int64_t)r->boot_id); /* the u64's bits as a signed BIGINT */
        cw_buf_printf(&db->arr[12], "%lld", (long long)(int64_t)r->seq);
        if (r->tls_expires_at_us != 0) {
            pg_format_time(r->tls_expires_at_us, when, sizeof when);
            cw_buf_printf(&db->arr[13], "\"%s\"", when);
        } else {
            cw_buf_put(&db->arr[13], "NULL", 4);
        }
        if (r->figures && r->figures[0]) pg_arr_text(&db->arr[14], r->figures);
        else cw_buf_put(&db->arr[14], "NULL", 4);
        cw_buf_put(&db->arr[15], batch->checks[i].maintenance ? "t" : "f", 1);
        pg_arr_text(&db->arr[16], r->location ? r->location : "");
    }
    const char *v[PG_COLS];
    for (int j = 0; j < PG_COLS; j++) {
        cw_buf_put(&db->arr[j], "}", 2); /* with the NUL */
        v[j] = (const char *)db->arr[j].data;
    }
    cw_buf_put(&db->types, "}", 2);
    cw_buf_put(&db->urls, "}", 2);
    const char *eps[2] = { direct ? (const char *)db->urls.data : v[0], (const char *)db->types.data };
    const int64_t *ids = NULL; /* with the roll-ups staging (storer/rollup.h) or direct: every check's endpoint id */
    int rc = rollup_staging(db->roll) || direct
                 ? pg_rollup_new_endpoints(db->roll, eps[0], eps[1], batch->n_checks, &ids, err, errlen)
                 : pg_exec_prepared(db, "cw_new_endpoints", 2, eps, NULL, err, errlen);
    int64_t inserted = 0; /* rows actually inserted: not the replayed ones */
    if (rc == STORE_OK && n_raw) rc = pg_exec_prepared(db, "cw_insert_checks", PG_COLS, v, &inserted, err, errlen);
    if (rc == STORE_OK && !direct) rollup_stage(db->roll, batch, 0, batch->n_checks, inserted, ids);
    if (rc == STORE_OK && direct) rc = rollup_fold_batch(db->roll, batch, ids, n_raw > 0, err, errlen);
    return rc;
}

static int pg_write_alert(struct store_db *db, const struct cw_alert *a, char *err, size_t errlen)
{
    char id[32], when[48], incident[32];
    snprintf(id, sizeof id, "%lld", (long long)(int64_t)a->alert_id);
    snprintf(incident, sizeof incident, "%lld", (long long)(int64_t)a->incident_id);
    const char *muted = proto_mute_name(a->muted);
    pg_format_time(a->raised_at_us, when, sizeof when);
    const char *kind = proto_alert_kind_name(a->kind);
    const char *email = proto_delivery_name(a->email_state);
    const char *hook = proto_delivery_name(a->webhook_state);
    char *url = store_clean_text_dup(a->url, NULL);
    char *message = store_clean_text_dup(a->message ? a->message : "", NULL);

    const char *ep[1] = { url };
    int rc = pg_exec_prepared(db, "cw_alert_endpoint", 1, ep, NULL, err, errlen);
    if (rc == STORE_OK) {
        const char *v[10] = { id,
                              url,
                              when,
                              kind ? kind : "unknown",
                              message,
                              email ? email : "none",
                              hook ? hook : "none",
                              muted ? muted : "none",
                              a->incident_id ? incident : NULL,
                              a->deliveries ? a->deliveries : "" };
        rc = pg_exec_prepared(db, "cw_upsert_alert", 10, v, NULL, err, errlen);
    }
    free(url);
    free(message);
    return rc;
}

static int pg_write_batch(struct store_db *db, const struct store_batch *batch, char *err, size_t errlen)
{
    int rc;
    if (batch->n_checks == 0 && batch->n_alerts == 0) return STORE_OK;
    if (PQstatus(db->conn) != CONNECTION_OK) {
        pg_fail(db, NULL, PQerrorMessage(db->conn), err, errlen);
        return STORE_RETRY;
    }
    if (!db->ready && (rc = pg_prepare(db, err, errlen)) != STORE_OK) return rc;
    if ((rc = pg_exec(db, "BEGIN", "begin", err, errlen)) != STORE_OK) return rc;
    if (batch->n_checks > 0 && (rc = pg_write_checks(db, batch, err, errlen)) != STORE_OK) goto fail;
    for (size_t i = 0; i < batch->n_alerts; i++)
        if ((rc = pg_write_alert(db, &batch->alerts[i].a, err, errlen)) != STORE_OK) goto fail;
    if ((rc = rollup_fold_if_due(db->roll, err, errlen)) != STORE_OK) goto fail;
    rc = pg_exec(db, "COMMIT", "commit", err, errlen);
    rollup_txn_end(db->roll, rc == STORE_OK);
    return rc;
fail:
    pg_rollback(db);
    rollup_txn_end(db->roll, false);
    return rc;
}

/* ---- configured endpoints ---------------------------------------------------------------------------- */

#define PG_SYNC_CHUNK 500

static int pg_sync_endpoints(struct store_db *db, const struct cw_endpoint *eps, size_t n, char *err, size_t errlen)
{
    int rc;
    if ((rc = pg_exec(db, "BEGIN", "begin", err, errlen)) != STORE_OK) return rc;
    struct cw_buf sql = { 0 };
    const char **vals = cw_xcalloc(3 * PG_SYNC_CHUNK, sizeof *vals);
    char **owned = cw_xcalloc(3 * PG_SYNC_CHUNK, sizeof *owned);
    for (size_t off = 0; off < n; off += PG_SYNC_CHUNK) {
        size_t m = n - off < PG_SYNC_CHUNK ? n - off : PG_SYNC_CHUNK;
        cw_buf_reset(&sql);
        cw_buf_printf(&sql, "%s", "INSERT INTO endpoints (url, name, type) VALUES ");
        for (size_t i = 0; i < m; i++) {
            cw_buf_printf(&sql, "%s($%zu::text, $%zu::text, $%zu::text)", i ? ", " : "", 3 * i + 1, 3 * i + 2,
                          3 * i + 3);
            owned[3 * i] = store_clean_text_dup(eps[off + i].url, NULL);
            owned[3 * i + 1] = eps[off + i].name ? store_clean_text_dup(eps[off + i].name, NULL) : NULL;
            vals[3 * i] = owned[3 * i];
            vals[3 * i + 1] = owned[3 * i + 1];
            vals[3 * i + 2] = store_type_name(eps[off + i].type);
        }
        cw_buf_printf(&sql, "%s",
                      " ON CONFLICT (url) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type"
                      " WHERE endpoints.name IS DISTINCT FROM EXCLUDED.name OR endpoints.type <> EXCLUDED.type");
        cw_buf_put(&sql, "", 1);
        PGresult *res = PQexecParams(db->conn, (const char *)sql.data, (int)(3 * m), NULL, vals, NULL, NULL, 0);
        for (size_t i = 0; i < 3 * m; i++) {
            free(owned[i]);
            owned[i] = NULL;
        }
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = pg_classify(db, res);
            pg_fail(db, "sync endpoints", pg_result_message(db, res), err, errlen);
            PQclear(res);
            goto fail;
        }
        PQclear(res);
    }
    free(vals);
    free(owned);
    cw_buf_free(&sql);
    return pg_exec(db, "COMMIT", "commit", err, errlen);
fail:
    free(vals);
    free(owned);
    cw_buf_free(&sql);
    pg_rollback(db);
    return rc;
}

static int pg_prune_step(struct store_db *db, const struct prune_req *req, struct prune_res *res, char *err,
                         size_t errlen)
{
    return pg_prune(db->conn, db->where, req, res, err, errlen);
}

const struct store_backend store_backend_postgres = {
    .name = "postgresql",
    .open = pg_open,
    .migrate = pg_migrate,
    .sync_endpoints = pg_sync_endpoints,
    .write_batch = pg_write_batch,
    .close = pg_close,
    .prune = pg_prune_step,
};
