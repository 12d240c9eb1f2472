/* storer/mysql.c — the MySQL/MariaDB backend of the storer (mariadb-connector-c), behind storer/backend.h.
 *
 * DESIGN
 * One connection per storer, TCP to db_host:db_port (also for "localhost", unlike the client library's
 * habit of using its compiled-in socket there), or the Unix socket when db_host starts with '/' (a socket
 * file, or a directory holding mysqld.sock). The session runs in UTC (time_zone '+00:00') and utf8mb4.
 * TLS: "prefer" (default) asks for TLS and falls back to plain text when the server offers none;
 * "require" refuses a connection without TLS; "verify-ca"/"verify-full" also verify the server's
 * certificate (against db_ca_file) and its name; "disable" never asks.
 *
 * Tables (docs/schema.md): the same names and columns as every backend; checked_at/raised_at are
 * DATETIME(3) in UTC, milliseconds as DOUBLE, ok TINYINT(1), boot_id/alert_id BIGINT holding the bit
 * pattern of the u64. endpoints.url is TEXT with a UNIQUE key on a stored SHA-256 of it (url_hash): an
 * index on the URL itself would exceed InnoDB's key length, and the hash compares bytes exactly where a
 * case-insensitive collation would fold case. The same definition works on MariaDB and on MySQL 8 (where
 * MariaDB's `UNIQUE ... USING HASH` does not exist). endpoint_id has no FOREIGN KEY here (docs/schema.md):
 * the storer derives it from endpoints itself, and InnoDB would check it row by row.
 *
 * write_batch(): endpoint ids come from a url->id cache filled by sync_endpoints; an URL not cached is
 * inserted (INSERT IGNORE) and looked up before the batch's transaction, in autocommit, so the cache never
 * holds the id of a row that a rollback removed. Then one transaction: the checks go in with multi-row
 * prepared INSERTs (statements for 256, 128, ... 1 rows, prepared on first use on each connection, so a
 * batch of 500 is a few round trips), each `ON DUPLICATE KEY UPDATE id = id`: a row already stored under
 * UNIQUE (worker, boot_id, seq) is skipped, while any other error still fails the batch (INSERT IGNORE
 * would silently drop rows with a bad foreign key too). Alerts are upserted on alert_id with delivery
 * states that only move forward. Bound parameters only.
 *
 * Errors: failures to connect (refused, unknown host, wrong password, unknown database, too many
 * connections) and a connection lost or a server shutting down are STORE_RETRY; the storer reopens with
 * backoff, and statements are prepared again on the new connection. Errors of the SQL itself are
 * STORE_FATAL. Messages read `mysql://user@host:port/db: <server's message>`, never the password. */
#include "storer/backend.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"

#define MY_SIZES 9                         /* multi-row statements for 1 << 8 = 256 rows down to 1 */
#define MY_MAX_ROWS (1 << (MY_SIZES - 1))
#define MY_COLS 14                         /* parameters per row of checks */
#define MY_ERR_CAP (CW_ERROR_MAX + 1)

/* The bound values of one row of checks. */
struct my_row {
    int64_t endpoint_id;
    MYSQL_TIME at;
    int status;
    double ms[5];            /* latency, dns, connect, tls, ttfb */
    my_bool ms_null[5];
    signed char ok;
    char err[MY_ERR_CAP];
    unsigned long err_len;
    my_bool err_null;
    unsigned int worker;
    long long boot_id, seq;
    MYSQL_TIME expires;      /* tls_expires_at */
    my_bool expires_null;
};

struct store_db {
    MYSQL *conn;
    char where[600];                 /* mysql://user@host:port/db, for messages */
    MYSQL_STMT *insert[MY_SIZES];    /* insert[k]: 1 << k rows */
    MYSQL_STMT *ep_insert, *ep_select, *alert;
    MYSQL_BIND *binds;               /* MY_MAX_ROWS * MY_COLS */
    struct my_row *rows;             /* MY_MAX_ROWS */
    struct store_ep_cache cache;     /* url -> endpoints.id */
};

/* ---- messages and error classes ---------------------------------------------------------------------- */

static bool my_retryable(unsigned code)
{
    if (code >= CR_MIN_ERROR && code <= CR_MAX_ERROR)
        return true; /* the client library: cannot connect, server gone, lost connection, out of sync, TLS */
    if (code >= 5000 && code < 6000)
        return true; /* Connector/C's own errors (plugins, TLS) */
    switch (code) {
    case ER_CON_COUNT_ERROR: case ER_TOO_MANY_USER_CONNECTIONS: case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR: case ER_BAD_DB_ERROR: case ER_HOST_IS_BLOCKED: case ER_HOST_NOT_PRIVILEGED:
    case ER_SERVER_SHUTDOWN: case ER_ABORTING_CONNECTION: case ER_NET_READ_ERROR: case ER_NET_READ_INTERRUPTED:
    case ER_NET_ERROR_ON_WRITE: case ER_NET_WRITE_INTERRUPTED: case ER_NET_PACKETS_OUT_OF_ORDER:
    case ER_ERROR_DURING_COMMIT: case ER_LOCK_WAIT_TIMEOUT: case ER_LOCK_DEADLOCK: case ER_QUERY_INTERRUPTED:
    case ER_OPTION_PREVENTS_STATEMENT: case ER_READ_ONLY_MODE: case ER_CONNECTION_KILLED: case ER_DISK_FULL:
    case 1114: /* ER_RECORD_FILE_FULL: the table is full (disk) */
    case 1142: case 1143: case 1227: /* table, column, privilege access denied: a GRANT fixes it */
    case 4031: /* MySQL 8: disconnected by the server because of inactivity */
        return true;
    default:
        return false;
    }
}

static int my_report(const struct store_db *db, const char *what, unsigned code, const char *msg, char *err,
                     size_t errlen)
{
    char line[1024];
    store_one_line(msg, line, sizeof line);
    snprintf(err, errlen, "%s: %s%s%s (%u)", db->where, what ? what : "", what ? ": " : "",
             line[0] ? line : "unknown error", code);
    return my_retryable(code) ? STORE_RETRY : STORE_FATAL;
}

static int my_fail(const struct store_db *db, const char *what, char *err, size_t errlen)
{
    return my_report(db, what, mysql_errno(db->conn), mysql_error(db->conn), err, errlen);
}

static int my_stmt_fail(const struct store_db *db, MYSQL_STMT *st, const char *what, char *err, size_t errlen)
{
    return my_report(db, what, mysql_stmt_errno(st), mysql_stmt_error(st), err, errlen);
}

/* A statement without parameters or rows. */
static int my_exec(struct store_db *db, const char *sql, const char *what, char *err, size_t errlen)
{
    if (mysql_real_query(db->conn, sql, strlen(sql)) != 0)
        return my_fail(db, what, err, errlen);
    MYSQL_RES *res = mysql_store_result(db->conn); /* NULL for statements without rows */
    mysql_free_result(res);
    return STORE_OK;
}

static void my_rollback(struct store_db *db)
{
    (void)mysql_rollback(db->conn); /* a broken connection fails here too: the storer reopens anyway */
}

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

/* ---- open / close ------------------------------------------------------------------------------------ */

static void my_close(struct store_db *db)
{
    if (!db)
        return;
    for (int k = 0; k < MY_SIZES; k++)
        if (db->insert[k])
            mysql_stmt_close(db->insert[k]);
    if (db->ep_insert)
        mysql_stmt_close(db->ep_insert);
    if (db->ep_select)
        mysql_stmt_close(db->ep_select);
    if (db->alert)
        mysql_stmt_close(db->alert);
    if (db->conn)
        mysql_close(db->conn);
    store_ep_cache_clear(&db->cache);
    free(db->binds);
    free(db->rows);
    free(db);
}

static struct store_db *my_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    struct store_db *db = cw_xcalloc(1, sizeof *db);
    const char *host = cfg->db_host && *cfg->db_host ? cfg->db_host : "localhost";
    const char *user = cfg->db_user && *cfg->db_user ? cfg->db_user : NULL;
    const char *dbname = cfg->db_name && *cfg->db_name ? cfg->db_name : "clockwerk";
    unsigned port = cfg->db_port > 0 ? (unsigned)cfg->db_port : 3306;
    char sock[1024] = "";
    if (host[0] == '/') {
        struct stat sb;
        if (stat(host, &sb) == 0 && S_ISDIR(sb.st_mode))
            snprintf(sock, sizeof sock, "%s/mysqld.sock", host);
        else
            snprintf(sock, sizeof sock, "%s", host);
        snprintf(db->where, sizeof db->where, "mysql://%.64s%s%.300s/%.128s", user ? user : "", user ? "@" : "", sock, dbname);
    } else {
        snprintf(db->where, sizeof db->where, "mysql://%.64s%s%.300s:%u/%.128s", user ? user : "", user ? "@" : "", host, port,
                 dbname);
    }
    const char *sslmode = cfg->db_sslmode && *cfg->db_sslmode ? cfg->db_sslmode
                          : (cfg->db_ca_file && *cfg->db_ca_file ? "verify-full" : "prefer");
    bool want_tls = strcmp(sslmode, "disable") != 0;
    bool need_tls = !strcmp(sslmode, "require") || !strncmp(sslmode, "verify", 6);
    bool verify = !strncmp(sslmode, "verify", 6);

    *rc = STORE_RETRY;
    db->conn = mysql_init(NULL);
    if (!db->conn) {
        snprintf(err, errlen, "%s: out of memory", db->where);
        goto fail;
    }
    unsigned connect_timeout = 10, rw_timeout = 60;
    unsigned protocol = sock[0] ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    my_bool yes = 1, no = 0;
    int bad = mysql_optionsv(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout)
              | mysql_optionsv(db->conn, MYSQL_OPT_READ_TIMEOUT, &rw_timeout)
              | mysql_optionsv(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout)
              | mysql_optionsv(db->conn, MYSQL_OPT_PROTOCOL, &protocol)
              | mysql_optionsv(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4")
              | mysql_optionsv(db->conn, MYSQL_OPT_RECONNECT, &no) /* a silent reconnect loses statements */
              | mysql_optionsv(db->conn, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (want_tls)
        bad |= mysql_optionsv(db->conn, MYSQL_OPT_SSL_ENFORCE, &yes);
    if (verify) {
        bad |= mysql_optionsv(db->conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
        if (cfg->db_ca_file && *cfg->db_ca_file)
            bad |= mysql_optionsv(db->conn, MYSQL_OPT_SSL_CA, cfg->db_ca_file);
    }
    if (bad) {
        snprintf(err, errlen, "%s: the client library refused an option: %s", db->where, mysql_error(db->conn));
        goto fail;
    }
    if (!mysql_real_connect(db->conn, sock[0] ? NULL : host, user, cfg->db_password, dbname, sock[0] ? 0 : port,
                            sock[0] ? sock : NULL, 0)) {
        my_fail(db, NULL, err, errlen); /* every failure to connect may go away: STORE_RETRY */
        goto fail;
    }
    const char *cipher = mysql_get_ssl_cipher(db->conn);
    if (need_tls && !cipher) {
        snprintf(err, errlen, "%s: db_sslmode is %s but the server does not offer TLS", db->where, sslmode);
        goto fail;
    }
    db->binds = cw_xcalloc((size_t)MY_MAX_ROWS * MY_COLS, sizeof *db->binds);
    db->rows = cw_xcalloc(MY_MAX_ROWS, sizeof *db->rows);
    log_info("mysql: connected to %s (server %s, %s)", db->where, mysql_get_server_info(db->conn),
             cipher ? "TLS" : "no TLS");
    *rc = STORE_OK;
    return db;
fail:
    my_close(db);
    return NULL;
}

/* ---- schema ------------------------------------------------------------------------------------------ */

static const char *const my_schema_v1[] = {
    "CREATE TABLE endpoints ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " url TEXT NOT NULL,"
    " name TEXT NULL,"
    " url_hash BINARY(32) AS (UNHEX(SHA2(url, 256))) STORED,"
    " UNIQUE KEY endpoints_url (url_hash)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE checks ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " endpoint_id BIGINT NOT NULL,"
    " checked_at DATETIME(3) NOT NULL,"
    " status_code INT NOT NULL,"
    " latency_ms DOUBLE NULL,"
    " ok TINYINT(1) NOT NULL,"
    " error TEXT NULL,"
    " dns_ms DOUBLE NULL,"
    " connect_ms DOUBLE NULL,"
    " tls_ms DOUBLE NULL,"
    " ttfb_ms DOUBLE NULL,"
    " worker INT NOT NULL,"
    " boot_id BIGINT NOT NULL,"
    " seq BIGINT NOT NULL,"
    " UNIQUE KEY checks_origin (worker, boot_id, seq),"
    " KEY checks_endpoint_time (endpoint_id, checked_at)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE alerts ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " alert_id BIGINT NOT NULL,"
    " endpoint_id BIGINT NOT NULL,"
    " raised_at DATETIME(3) NOT NULL,"
    " kind VARCHAR(16) NOT NULL,"
    " message TEXT NOT NULL,"
    " email_state VARCHAR(16) NOT NULL,"
    " webhook_state VARCHAR(16) NOT NULL,"
    " UNIQUE KEY alerts_alert_id (alert_id),"
    " KEY alerts_endpoint_time (endpoint_id, raised_at)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    NULL,
};

/* The first column of the first row of sql as an integer; *isnull when there is no row or it is NULL. */
static int my_query_int(struct store_db *db, const char *sql, long long *v, bool *isnull, char *err, size_t errlen)
{
    if (mysql_real_query(db->conn, sql, strlen(sql)) != 0)
        return my_fail(db, sql, err, errlen);
    MYSQL_RES *res = mysql_store_result(db->conn);
    if (!res)
        return my_fail(db, sql, err, errlen);
    MYSQL_ROW row = mysql_fetch_row(res);
    *isnull = !row || !row[0];
    *v = *isnull ? 0 : strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    return STORE_OK;
}

static int my_migrate(struct store_db *db, char *err, size_t errlen)
{
    long long v = 0;
    bool isnull = true;
    /* DDL commits implicitly in MySQL, so a named lock (not a transaction) keeps two storers apart. */
    int rc = my_query_int(db, "SELECT GET_LOCK('clockwerk_migrate', 60)", &v, &isnull, err, errlen);
    if (rc != STORE_OK)
        return rc;
    if (isnull || v != 1) {
        snprintf(err, errlen, "%s: another storer is migrating the schema (lock not granted)", db->where);
        return STORE_RETRY;
    }
    rc = my_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL) ENGINE=InnoDB",
                 "create schema_version", err, errlen);
    if (rc == STORE_OK)
        rc = my_query_int(db, "SELECT MAX(version) FROM schema_version", &v, &isnull, err, errlen);
    if (rc == STORE_OK) {
        long long version = isnull ? 0 : v;
        if (version > STORE_SCHEMA_VERSION) {
            snprintf(err, errlen, "%s: schema version %lld is newer than this storer's %d; refusing to write",
                     db->where, version, STORE_SCHEMA_VERSION);
            rc = STORE_FATAL;
        } else if (version == 0) {
            /* A first start interrupted half-way may have left some tables: only missing ones are made. */
            for (size_t i = 0; rc == STORE_OK && my_schema_v1[i]; i++) {
                char sql[2048];
                snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS %s", my_schema_v1[i] + strlen("CREATE TABLE "));
                rc = my_exec(db, sql, "create schema", err, errlen);
            }
            if (rc == STORE_OK)
                rc = my_exec(db, "INSERT INTO schema_version (version) VALUES (1)", "write schema_version", err,
                             errlen);
            if (rc == STORE_OK)
                log_info("mysql: created schema version %d in %s", STORE_SCHEMA_VERSION, db->where);
        }
        /* 1 -> 2: the certificate expiry of https checks (NULL for the rows of version 1). DDL commits on its
         * own here, so a step interrupted between the ALTER and the version row is finished next time: the
         * column is added only when it is not there yet. */
        if (rc == STORE_OK && version < 2) {
            long long have = 0;
            bool hnull = true;
            rc = my_query_int(db,
                              "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
                              " AND TABLE_NAME = 'checks' AND COLUMN_NAME = 'tls_expires_at'",
                              &have, &hnull, err, errlen);
            if (rc == STORE_OK && (hnull || have == 0))
                rc = my_exec(db, "ALTER TABLE checks ADD COLUMN tls_expires_at DATETIME(3) NULL",
                             "add checks.tls_expires_at", err, errlen);
            if (rc == STORE_OK)
                rc = my_exec(db, "INSERT INTO schema_version (version) VALUES (2)", "write schema_version", err,
                             errlen);
            if (rc == STORE_OK && version == 1)
                log_info("mysql: schema upgraded from version 1 to 2 in %s", db->where);
        }
    }
    char ignore[256];
    (void)my_query_int(db, "SELECT RELEASE_LOCK('clockwerk_migrate')", &v, &isnull, ignore, sizeof ignore);
    return rc;
}

/* ---- statements -------------------------------------------------------------------------------------- */

static MYSQL_STMT *my_prepare(struct store_db *db, const char *sql, int *rc, char *err, size_t errlen)
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
                               " dns_ms, connect_ms, tls_ms, ttfb_ms, worker, boot_id, seq, tls_expires_at) VALUES ";
    static const char row[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    static const char tail[] = " ON DUPLICATE KEY UPDATE id = id";
    size_t n = (size_t)1 << k;
    size_t len = sizeof head + n * sizeof row + sizeof tail;
    char *sql = cw_xmalloc(len);
    size_t o = 0;
    memcpy(sql, head, sizeof head - 1);
    o += sizeof head - 1;
    for (size_t i = 0; i < n; i++) {
        if (i)
            sql[o++] = ',';
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

/* The id of url in endpoints (inserted with name NULL when new). Runs in autocommit, outside any batch. */
static int my_endpoint_id(struct store_db *db, const char *url, int64_t *id, char *err, size_t errlen)
{
    if (store_ep_cache_get(&db->cache, url, id))
        return STORE_OK;
    int rc;
    if (!db->ep_insert && !(db->ep_insert = my_prepare(db, "INSERT IGNORE INTO endpoints (url) VALUES (?)", &rc, err,
                                                       errlen)))
        return rc;
    if (!db->ep_select && !(db->ep_select = my_prepare(db, "SELECT id FROM endpoints WHERE url_hash = UNHEX(SHA2(?, 256))",
                                                       &rc, err, errlen)))
        return rc;
    unsigned long len;
    char *clean = my_clean_dup(url, &len);
    MYSQL_BIND in;
    memset(&in, 0, sizeof in);
    in.buffer_type = MYSQL_TYPE_STRING;
    in.buffer = clean;
    in.buffer_length = len;
    in.length = &len;
    rc = STORE_OK;
    if (mysql_stmt_bind_param(db->ep_insert, &in) != 0 || mysql_stmt_execute(db->ep_insert) != 0)
        rc = my_stmt_fail(db, db->ep_insert, "insert endpoint", err, errlen);
    if (rc == STORE_OK && (mysql_stmt_bind_param(db->ep_select, &in) != 0 || mysql_stmt_execute(db->ep_select) != 0
                           || mysql_stmt_store_result(db->ep_select) != 0))
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
    if (!st)
        return rc;
    size_t n = (size_t)1 << k;
    for (size_t i = 0; i < n; i++) {
        const struct cw_result *r = &batch->checks[from + i].r;
        struct my_row *w = &db->rows[i];
        MYSQL_BIND *b = db->binds + i * MY_COLS;
        if ((rc = my_endpoint_id(db, r->url, &w->endpoint_id, err, errlen)) != STORE_OK)
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
        if (!w->expires_null)
            my_time(r->tls_expires_at_us, &w->expires);

        bind_value(&b[0], MYSQL_TYPE_LONGLONG, &w->endpoint_id, NULL);
        bind_value(&b[1], MYSQL_TYPE_DATETIME, &w->at, NULL);
        bind_value(&b[2], MYSQL_TYPE_LONG, &w->status, NULL);
        bind_value(&b[3], MYSQL_TYPE_DOUBLE, &w->ms[0], &w->ms_null[0]);
        bind_value(&b[4], MYSQL_TYPE_TINY, &w->ok, NULL);
        bind_value(&b[5], MYSQL_TYPE_STRING, w->err, &w->err_null);
        b[5].buffer_length = sizeof w->err;
        b[5].length = &w->err_len;
        for (int j = 1; j < 5; j++)
            bind_value(&b[5 + j], MYSQL_TYPE_DOUBLE, &w->ms[j], &w->ms_null[j]);
        bind_value(&b[10], MYSQL_TYPE_LONG, &w->worker, NULL);
        b[10].is_unsigned = 1;
        bind_value(&b[11], MYSQL_TYPE_LONGLONG, &w->boot_id, NULL);
        bind_value(&b[12], MYSQL_TYPE_LONGLONG, &w->seq, NULL);
        bind_value(&b[13], MYSQL_TYPE_DATETIME, &w->expires, &w->expires_null);
    }
    if (mysql_stmt_bind_param(st, db->binds) != 0 || mysql_stmt_execute(st) != 0)
        return my_stmt_fail(db, st, "insert checks", err, errlen);
    return STORE_OK;
}

static int my_write_alert(struct store_db *db, const struct cw_alert *a, char *err, size_t errlen)
{
    int rc;
    int64_t ep;
    if ((rc = my_endpoint_id(db, a->url, &ep, err, errlen)) != STORE_OK)
        return rc;
    if (!db->alert &&
        !(db->alert = my_prepare(db,
                                 "INSERT INTO alerts (alert_id, endpoint_id, raised_at, kind, message, email_state,"
                                 " webhook_state) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE"
                                 /* delivery states only move forward: 'sent' and 'failed' are final */
                                 " email_state = IF(email_state IN ('sent', 'failed'), email_state,"
                                 " VALUES(email_state)),"
                                 " webhook_state = IF(webhook_state IN ('sent', 'failed'), webhook_state,"
                                 " VALUES(webhook_state))",
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
    MYSQL_BIND b[7];
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
    rc = STORE_OK;
    if (mysql_stmt_bind_param(db->alert, b) != 0 || mysql_stmt_execute(db->alert) != 0)
        rc = my_stmt_fail(db, db->alert, "upsert alert", err, errlen);
    free(msg);
    return rc;
}

static int my_write_batch(struct store_db *db, const struct store_batch *batch, char *err, size_t errlen)
{
    int rc;
    if (batch->n_checks == 0 && batch->n_alerts == 0)
        return STORE_OK;
    /* Endpoints first, in autocommit: the cache only ever holds committed ids. */
    int64_t id;
    for (size_t i = 0; i < batch->n_checks; i++)
        if ((rc = my_endpoint_id(db, batch->checks[i].r.url, &id, err, errlen)) != STORE_OK)
            return rc;
    for (size_t i = 0; i < batch->n_alerts; i++)
        if ((rc = my_endpoint_id(db, batch->alerts[i].a.url, &id, err, errlen)) != STORE_OK)
            return rc;

    if ((rc = my_exec(db, "START TRANSACTION", "begin", err, errlen)) != STORE_OK)
        return rc;
    size_t done = 0;
    while (done < batch->n_checks) {
        size_t left = batch->n_checks - done;
        int k = MY_SIZES - 1;
        while (((size_t)1 << k) > left)
            k--;
        if ((rc = my_write_checks(db, batch, done, k, err, errlen)) != STORE_OK)
            goto fail;
        done += (size_t)1 << k;
    }
    for (size_t i = 0; i < batch->n_alerts; i++)
        if ((rc = my_write_alert(db, &batch->alerts[i].a, err, errlen)) != STORE_OK)
            goto fail;
    if (mysql_commit(db->conn) != 0) {
        rc = my_fail(db, "commit", err, errlen);
        goto fail;
    }
    return STORE_OK;
fail:
    my_rollback(db);
    return rc;
}

/* ---- configured endpoints ---------------------------------------------------------------------------- */

#define MY_SYNC_CHUNK 256

static int my_sync_endpoints(struct store_db *db, const struct cw_endpoint *eps, size_t n, char *err, size_t errlen)
{
    int rc = my_exec(db, "START TRANSACTION", "begin", err, errlen);
    if (rc != STORE_OK)
        return rc;
    MYSQL_BIND *b = cw_xcalloc(2 * MY_SYNC_CHUNK, sizeof *b);
    char **vals = cw_xcalloc(2 * MY_SYNC_CHUNK, sizeof *vals);
    unsigned long *lens = cw_xcalloc(2 * MY_SYNC_CHUNK, sizeof *lens);
    my_bool *nulls = cw_xcalloc(2 * MY_SYNC_CHUNK, sizeof *nulls);
    struct cw_buf sql = { 0 };
    for (size_t off = 0; rc == STORE_OK && off < n; off += MY_SYNC_CHUNK) {
        size_t m = n - off < MY_SYNC_CHUNK ? n - off : MY_SYNC_CHUNK;
        cw_buf_reset(&sql);
        static const char head[] = "INSERT INTO endpoints (url, name) VALUES ";
        static const char tail[] = " ON DUPLICATE KEY UPDATE name = VALUES(name)";
        cw_buf_put(&sql, head, sizeof head - 1);
        for (size_t i = 0; i < m; i++) {
            cw_buf_put(&sql, i ? ",(?,?)" : "(?,?)", i ? 6 : 5);
            const struct cw_endpoint *ep = &eps[off + i];
            vals[2 * i] = my_clean_dup(ep->url, &lens[2 * i]);
            nulls[2 * i] = 0;
            nulls[2 * i + 1] = ep->name == NULL;
            vals[2 * i + 1] = my_clean_dup(ep->name ? ep->name : "", &lens[2 * i + 1]);
            for (int j = 0; j < 2; j++) {
                bind_value(&b[2 * i + j], MYSQL_TYPE_STRING, vals[2 * i + j], &nulls[2 * i + j]);
                b[2 * i + j].length = &lens[2 * i + j];
            }
        }
        cw_buf_put(&sql, tail, sizeof tail); /* with the NUL */
        MYSQL_STMT *st = my_prepare(db, (const char *)sql.data, &rc, err, errlen);
        if (st) {
            if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0)
                rc = my_stmt_fail(db, st, "sync endpoints", err, errlen);
            mysql_stmt_close(st);
        }
        for (size_t i = 0; i < 2 * m; i++) {
            free(vals[i]);
            vals[i] = NULL;
        }
    }
    free(b);
    free(vals);
    free(lens);
    free(nulls);
    cw_buf_free(&sql);
    if (rc == STORE_OK && mysql_commit(db->conn) != 0)
        rc = my_fail(db, "commit", err, errlen);
    if (rc != STORE_OK) {
        my_rollback(db);
        return rc;
    }
    /* Fill the url -> id cache with every known endpoint: the first batches need no lookups. */
    if (mysql_real_query(db->conn, "SELECT id, url FROM endpoints", strlen("SELECT id, url FROM endpoints")) != 0)
        return my_fail(db, "read endpoints", err, errlen);
    MYSQL_RES *res = mysql_use_result(db->conn);
    if (!res)
        return my_fail(db, "read endpoints", err, errlen);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL)
        if (row[0] && row[1])
            store_ep_cache_put(&db->cache, row[1], strtoll(row[0], NULL, 10));
    rc = mysql_errno(db->conn) ? my_fail(db, "read endpoints", err, errlen) : STORE_OK;
    mysql_free_result(res);
    return rc;
}

const struct store_backend store_backend_mysql = {
    .name = "mysql",
    .open = my_open,
    .migrate = my_migrate,
    .sync_endpoints = my_sync_endpoints,
    .write_batch = my_write_batch,
    .close = my_close,
};
