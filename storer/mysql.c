/* storer/mysql.c — the MySQL/MariaDB backend of the storer (mariadb-connector-c), behind storer/backend.h:
 * connecting (TLS), error classes, the schema and its migration steps.
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
 * Writing batches and the configured endpoints: storer/mysql_write.c (its own DESIGN note).
 *
 * Errors: failures to connect (refused, unknown host, wrong password, unknown database, too many
 * connections) and a connection lost or a server shutting down are STORE_RETRY; the storer reopens with
 * backoff, and statements are prepared again on the new connection. Errors of the SQL itself are
 * STORE_FATAL. Messages read `mysql://user@host:port/db: <server's message>`, never the password. */
#include "storer/mysql_db.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/base/log.h"
#include "common/base/util.h"
#include "storer/migrate.h"
#include "storer/mysql_prune.h"

/* ---- messages and error classes ---------------------------------------------------------------------- */

static bool my_retryable(unsigned code)
{
    if (code >= CR_MIN_ERROR && code <= CR_MAX_ERROR)
        return true; /* the client library: cannot connect, server gone, lost connection, out of sync, TLS */
    if (code >= 5000 && code < 6000) return true; /* Connector/C's own errors (plugins, TLS) */
    switch (code) {
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_ACCESS_DENIED_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
    case ER_HOST_IS_BLOCKED:
    case ER_HOST_NOT_PRIVILEGED:
    case ER_SERVER_SHUTDOWN:
    case ER_ABORTING_CONNECTION:
    case ER_NET_READ_ERROR:
    case ER_NET_READ_INTERRUPTED:
    case ER_NET_ERROR_ON_WRITE:
    case ER_NET_WRITE_INTERRUPTED:
    case ER_NET_PACKETS_OUT_OF_ORDER:
    case ER_ERROR_DURING_COMMIT:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK:
    case ER_QUERY_INTERRUPTED:
    case ER_OPTION_PREVENTS_STATEMENT:
    case ER_READ_ONLY_MODE:
    case ER_CONNECTION_KILLED:
    case ER_DISK_FULL:
    case 1114: /* ER_RECORD_FILE_FULL: the table is full (disk) */
    case 1142:
    case 1143:
    case 1227: /* table, column, privilege access denied: a GRANT fixes it */
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

int my_fail(const struct store_db *db, const char *what, char *err, size_t errlen)
{
    return my_report(db, what, mysql_errno(db->conn), mysql_error(db->conn), err, errlen);
}

int my_stmt_fail(const struct store_db *db, MYSQL_STMT *st, const char *what, char *err, size_t errlen)
{
    return my_report(db, what, mysql_stmt_errno(st), mysql_stmt_error(st), err, errlen);
}

/* A statement without parameters or rows. */
int my_exec(struct store_db *db, const char *sql, const char *what, char *err, size_t errlen)
{
    if (mysql_real_query(db->conn, sql, strlen(sql)) != 0) return my_fail(db, what, err, errlen);
    MYSQL_RES *res = mysql_store_result(db->conn); /* NULL for statements without rows */
    mysql_free_result(res);
    return STORE_OK;
}

void my_rollback(struct store_db *db)
{
    (void)mysql_rollback(db->conn); /* a broken connection fails here too: the storer reopens anyway */
}

/* ---- open / close ------------------------------------------------------------------------------------ */

static void my_close(struct store_db *db)
{
    if (!db) return;
    rollup_close(db->roll);
    db->roll = NULL;
    for (int k = 0; k < MY_SIZES; k++)
        if (db->insert[k]) mysql_stmt_close(db->insert[k]);
    if (db->ep_insert) mysql_stmt_close(db->ep_insert);
    if (db->ep_select) mysql_stmt_close(db->ep_select);
    if (db->alert) mysql_stmt_close(db->alert);
    if (db->conn) mysql_close(db->conn);
    store_ep_cache_free(&db->cache);
    store_batch_view_free(&db->view);
    free(db->ids);
    free(db->binds);
    free(db->rows);
    free(db);
}

/* The client library's options: timeouts, TCP or the socket, utf8mb4, UTC, no silent reconnect, and TLS as
 * sslmode asks. false when the library refused one. */
static bool my_set_options(MYSQL *conn, const struct cw_config *cfg, bool socket, const char *sslmode)
{
    unsigned connect_timeout = 10, rw_timeout = 60;
    unsigned protocol = socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    my_bool yes = 1, no = 0;
    int bad = mysql_optionsv(conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) |
              mysql_optionsv(conn, MYSQL_OPT_READ_TIMEOUT, &rw_timeout) |
              mysql_optionsv(conn, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout) |
              mysql_optionsv(conn, MYSQL_OPT_PROTOCOL, &protocol) |
              mysql_optionsv(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4") |
              mysql_optionsv(conn, MYSQL_OPT_RECONNECT, &no) /* a silent reconnect loses statements */
              | mysql_optionsv(conn, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00'");
    if (strcmp(sslmode, "disable") != 0) bad |= mysql_optionsv(conn, MYSQL_OPT_SSL_ENFORCE, &yes);
    if (!strncmp(sslmode, "verify", 6)) {
        bad |= mysql_optionsv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
        if (cfg->db_ca_file && *cfg->db_ca_file) bad |= mysql_optionsv(conn, MYSQL_OPT_SSL_CA, cfg->db_ca_file);
    }
    return !bad;
}

struct store_db *my_connect(const struct cw_config *cfg, bool writer, int *rc, char *err, size_t errlen)
{
    struct store_db *db = cw_xcalloc(1, sizeof *db);
    db->raw = cfg->db_raw;
    /* the write path's url -> id cache and row buffers: a reader (web, report) opening at every refresh would build
     * an index of every endpoint (~70 ms and 12 MB at 500,000) it never uses */
    if (writer) store_ep_cache_bind(&db->cache, cfg->endpoints, cfg->n_endpoints);
    const char *host = cfg->db_host && *cfg->db_host ? cfg->db_host : "localhost";
    const char *user = cfg->db_user && *cfg->db_user ? cfg->db_user : NULL;
    const char *dbname = cfg->db_name && *cfg->db_name ? cfg->db_name : "clockwerk";
    unsigned port = cfg->db_port > 0 ? (unsigned)cfg->db_port : 3306;
    char sock[1024] = "";
    if (host[0] == '/') {
        struct stat sb;
        if (stat(host, &sb) == 0 && S_ISDIR(sb.st_mode)) snprintf(sock, sizeof sock, "%s/mysqld.sock", host);
        else snprintf(sock, sizeof sock, "%s", host);
        snprintf(db->where, sizeof db->where, "mysql://%.64s%s%.300s/%.128s", user ? user : "", user ? "@" : "", sock,
                 dbname);
    } else {
        snprintf(db->where, sizeof db->where, "mysql://%.64s%s%.300s:%u/%.128s", user ? user : "", user ? "@" : "",
                 host, port, dbname);
    }
    const char *sslmode = cfg->db_sslmode && *cfg->db_sslmode
                              ? cfg->db_sslmode
                              : (cfg->db_ca_file && *cfg->db_ca_file ? "verify-full" : "prefer");
    bool need_tls = !strcmp(sslmode, "require") || !strncmp(sslmode, "verify", 6);

    *rc = STORE_RETRY;
    db->conn = mysql_init(NULL);
    if (!db->conn) {
        snprintf(err, errlen, "%s: out of memory", db->where);
        goto fail;
    }
    if (!my_set_options(db->conn, cfg, sock[0] != '\0', sslmode)) {
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
    if (writer) {
        db->binds = cw_xcalloc((size_t)MY_MAX_ROWS * MY_COLS, sizeof *db->binds);
        db->rows = cw_xcalloc(MY_MAX_ROWS, sizeof *db->rows);
    }
    log_info("mysql: connected to %s (server %s, %s)", db->where, mysql_get_server_info(db->conn),
             cipher ? "TLS" : "no TLS");
    *rc = STORE_OK;
    return db;
fail:
    my_close(db);
    return NULL;
}

static struct store_db *my_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    return my_connect(cfg, true, rc, err, errlen);
}

/* ---- schema ------------------------------------------------------------------------------------------ */

/* Version 1. IF NOT EXISTS: DDL commits on its own here, so a first start interrupted half-way may have left
 * some tables; only the missing ones are made. */
static const char *const my_schema_v1[] = {
    "CREATE TABLE IF NOT EXISTS endpoints ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " url TEXT NOT NULL,"
    " name TEXT NULL,"
    " url_hash BINARY(32) AS (UNHEX(SHA2(url, 256))) STORED,"
    " UNIQUE KEY endpoints_url (url_hash)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS checks ("
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
    "CREATE TABLE IF NOT EXISTS alerts ("
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
static int my_query_int(struct store_db *db, const char *sql, const char *what, long long *v, bool *isnull, char *err,
                        size_t errlen)
{
    if (mysql_real_query(db->conn, sql, strlen(sql)) != 0) return my_fail(db, what, err, errlen);
    MYSQL_RES *res = mysql_store_result(db->conn);
    if (!res) return my_fail(db, what, err, errlen);
    MYSQL_ROW row = mysql_fetch_row(res);
    *isnull = !row || !row[0];
    *v = *isnull ? 0 : strtoll(row[0], NULL, 10);
    mysql_free_result(res);
    return STORE_OK;
}

/* Adds table.column with its definition unless it is there. An ALTER commits on its own, so a step interrupted
 * between the ALTER and the version row is finished next time: the column is added only when it is missing.
 * table and column are the constants below, never input. */
static int my_add_column(struct store_db *db, const char *table, const char *column, const char *definition, char *err,
                         size_t errlen)
{
    char sql[512], what[96];
    snprintf(what, sizeof what, "add %s.%s", table, column);
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
             " AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'",
             table, column);
    long long have = 0;
    bool isnull = true;
    int rc = my_query_int(db, sql, what, &have, &isnull, err, errlen);
    if (rc != STORE_OK || (!isnull && have > 0)) return rc;
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, definition);
    return my_exec(db, sql, what, err, errlen);
}

/* 1 -> 2: the certificate expiry of https checks (NULL for the rows of version 1). */
static int my_add_tls_expires_at(struct store_db *db, char *err, size_t errlen)
{
    return my_add_column(db, "checks", "tls_expires_at", "DATETIME(3) NULL", err, errlen);
}

/* 3 -> 4: the check types (docs/schema.md): every endpoint known so far is an http one; details is TEXT, not
 * JSON, so that a figure never fails an insert. */
static int my_add_types(struct store_db *db, char *err, size_t errlen)
{
    int rc = my_add_column(db, "endpoints", "type", "VARCHAR(16) NOT NULL DEFAULT 'http'", err, errlen);
    return rc == STORE_OK ? my_add_column(db, "checks", "details", "TEXT NULL", err, errlen) : rc;
}

/* 4 -> 5: maintenance and alert muting, incidents and channels (docs/schema.md). */
static int my_add_maintenance(struct store_db *db, char *err, size_t errlen)
{
    int rc = my_add_column(db, "checks", "maintenance", "TINYINT(1) NOT NULL DEFAULT 0", err, errlen);
    if (rc == STORE_OK) rc = my_add_column(db, "alerts", "muted", "VARCHAR(16) NOT NULL DEFAULT 'none'", err, errlen);
    if (rc == STORE_OK) rc = my_add_column(db, "alerts", "incident_id", "BIGINT NULL", err, errlen);
    if (rc == STORE_OK)
        rc = my_add_column(db, "alerts", "deliveries", "VARCHAR(4096) NOT NULL DEFAULT ''", err, errlen);
    return rc;
}

/* 5 -> 6: locations (docs/schema.md): checks.location ('' in existing rows) and the roll-ups keyed by endpoint,
 * period and location. Each roll-up table's column and key change in one ALTER (atomic), made only while the
 * column is missing: a step interrupted between the tables completes at the next start. */
static int my_add_location(struct store_db *db, char *err, size_t errlen)
{
    static const char key[] = "VARCHAR(32) NOT NULL DEFAULT '', DROP PRIMARY KEY,"
                              " ADD PRIMARY KEY (endpoint_id, period_start, location)";
    int rc = my_add_column(db, "checks", "location", "VARCHAR(32) NOT NULL DEFAULT ''", err, errlen);
    if (rc == STORE_OK) rc = my_add_column(db, "checks_hourly", "location", key, err, errlen);
    if (rc == STORE_OK) rc = my_add_column(db, "checks_daily", "location", key, err, errlen);
    return rc;
}

/* ---- migration: the primitives of storer/migrate.c. DDL commits implicitly in MySQL, so a named lock (not a
 * transaction) keeps two storers apart, and "rollback" only releases it. */

static int my_migrate_begin(struct store_db *db, char *err, size_t errlen)
{
    long long granted = 0;
    bool isnull = true;
    int rc = my_query_int(db, "SELECT GET_LOCK('clockwerk_migrate', 60)", "lock", &granted, &isnull, err, errlen);
    if (rc == STORE_OK && (isnull || granted != 1)) {
        snprintf(err, errlen, "%s: another storer is migrating the schema (lock not granted)", db->where);
        rc = STORE_RETRY;
    }
    return rc;
}

static void my_migrate_release(struct store_db *db)
{
    long long v;
    bool isnull;
    char ignore[256];
    (void)my_query_int(db, "SELECT RELEASE_LOCK('clockwerk_migrate')", "unlock", &v, &isnull, ignore, sizeof ignore);
}

static int my_migrate_commit(struct store_db *db, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    my_migrate_release(db);
    return STORE_OK;
}

static const struct store_migrate_step my_steps[] = {
    { .version = 1, .what = "create schema", .sql = my_schema_v1 },
    { .version = 2, .what = "add checks.tls_expires_at", .run = my_add_tls_expires_at },
    { .version = 3, .what = "add the roll-up tables", .run = my_add_rollup_tables },
    { .version = 4, .what = "add endpoints.type and checks.details", .run = my_add_types },
    { .version = 5,
      .what = "add checks.maintenance and alerts.muted/incident_id/deliveries",
      .run = my_add_maintenance },
    { .version = 6, .what = "add checks.location and key the roll-ups by location", .run = my_add_location },
};

static const struct store_migrate_ops my_migrate_ops = {
    .version_table_sql = "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL) ENGINE=InnoDB",
    .steps = my_steps,
    .n_steps = sizeof my_steps / sizeof my_steps[0],
    .exec = my_exec,
    .query_int = my_query_int,
    .begin = my_migrate_begin,
    .commit = my_migrate_commit,
    .rollback = my_migrate_release,
};

static int my_migrate(struct store_db *db, char *err, size_t errlen)
{
    int rc = store_migrate(db, &my_migrate_ops, db->where, err, errlen);
    return rc == STORE_OK ? my_rollup_open(db, err, errlen) : rc;
}

static void my_bind(struct store_db *db, const struct cw_config *cfg)
{
    store_ep_cache_bind(&db->cache, cfg->endpoints, cfg->n_endpoints);
}

const struct store_backend store_backend_mysql = {
    .name = "mysql",
    .open = my_open,
    .migrate = my_migrate,
    .sync_endpoints = my_sync_endpoints,
    .write_batch = my_write_batch,
    .close = my_close,
    .prune = my_prune,
    .bind = my_bind,
};
