/* storer/mysql_db.h — what the two halves of the MySQL/MariaDB backend share (storer/mysql.c: connection,
 * error classes, schema; storer/mysql_write.c: batches and configured endpoints): the connection's state and
 * the helpers that turn the client library's errors into STORE_RETRY/STORE_FATAL with one line in err.
 * Private to those two files. */
#ifndef CW_STORER_MYSQL_DB_H
#define CW_STORER_MYSQL_DB_H

#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "storer/backend.h"
#include "storer/rollup.h"

#define MY_SIZES 9 /* multi-row statements for 1 << 8 = 256 rows down to 1 */
#define MY_MAX_ROWS (1 << (MY_SIZES - 1))
#define MY_COLS 17 /* parameters per row of checks */
#define MY_ERR_CAP (CW_ERROR_MAX + 1)

/* The bound values of one row of checks. */
struct my_row {
    int64_t endpoint_id;
    signed char maintenance; /* checks.maintenance, TINYINT(1) */
    MYSQL_TIME at;
    int status;
    double ms[5]; /* latency, dns, connect, tls, ttfb */
    my_bool ms_null[5];
    signed char ok;
    char err[MY_ERR_CAP];
    unsigned long err_len;
    my_bool err_null;
    unsigned int worker;
    long long boot_id, seq;
    MYSQL_TIME expires; /* tls_expires_at */
    my_bool expires_null;
    char details[CW_FIGURES_MAX + 1]; /* the figures */
    unsigned long details_len;
    my_bool details_null;
    char location[CW_LOCATION_NAME_MAX + 1]; /* checks.location, VARCHAR(32) (schema 6) */
    unsigned long location_len;
};

struct store_db {
    MYSQL *conn;
    char where[600];              /* mysql://user@host:port/db, for messages */
    MYSQL_STMT *insert[MY_SIZES]; /* insert[k]: 1 << k rows */
    MYSQL_STMT *ep_insert, *ep_select, *alert;
    MYSQL_BIND *binds;              /* MY_MAX_ROWS * MY_COLS */
    struct my_row *rows;            /* MY_MAX_ROWS */
    int64_t stage_ids[MY_MAX_ROWS]; /* the endpoint ids of a statement's rows, for the roll-ups */
    struct store_ep_cache cache;    /* url -> endpoints.id */
    struct rollup *roll;            /* the roll-ups (storer/mysql_rollup.c), after migrate */
    enum cw_db_raw raw;             /* database.raw: not "all", every batch folds its checks (rollup_fold_batch) */
    struct store_batch view;        /* ... and writes only its raw rows (store_batch_raw_view) */
    int64_t *ids;                   /* ... with the endpoint id of each check */
    size_t cap_ids;
};

/* A connection (NULL with *rc and err set when it cannot): the backend's open (writer) or a reader's (storer/
 * mysql_read.c: no url -> id cache, no row buffers). */
struct store_db *my_connect(const struct cw_config *cfg, bool writer, int *rc, char *err, size_t errlen);
/* err gets `mysql://user@host:port/db: what: <server's message> (code)`; returns the error's class. */
int my_fail(const struct store_db *db, const char *what, char *err, size_t errlen);
int my_stmt_fail(const struct store_db *db, MYSQL_STMT *st, const char *what, char *err, size_t errlen);
/* A statement without parameters or rows. */
int my_exec(struct store_db *db, const char *sql, const char *what, char *err, size_t errlen);
/* storer/mysql_write.c: a prepared statement (NULL with *rc and err set on failure). */
MYSQL_STMT *my_prepare(struct store_db *db, const char *sql, int *rc, char *err, size_t errlen);
/* Rolls the open transaction back (errors ignored: a broken connection is reopened anyway). */
void my_rollback(struct store_db *db);

/* storer/mysql_write.c: the backend's write_batch and sync_endpoints (storer/backend.h). */
int my_write_batch(struct store_db *db, const struct store_batch *batch, char *err, size_t errlen);
int my_sync_endpoints(struct store_db *db, const struct cw_endpoint *eps, size_t n, char *err, size_t errlen);

/* storer/mysql_rollup.c: the roll-ups (storer/rollup.h). The schema step 2 -> 3; after the migration, open
 * prepares and folds everything pending and sets db->roll (mysql_write.c folds with rollup_fold_if_due, the
 * close ends it with rollup_close). */
int my_add_rollup_tables(struct store_db *db, char *err, size_t errlen);
int my_rollup_open(struct store_db *db, char *err, size_t errlen);

#endif
