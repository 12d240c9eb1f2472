/* storer/reader.h — the read side of the storer's backends: the table of functions through which a reader
 * (clockwerk-report, later the web process) gets the history out of SQLite, PostgreSQL or MySQL/MariaDB, one
 * file per database (storer/sqlite_read.c, storer/pg_read.c, storer/mysql_read.c). It never writes.
 *
 * Contract for every read backend:
 *  - open connects read-only where the database allows it (SQLite: SQLITE_OPEN_READONLY and query_only, so it
 *    works beside a storer writing in WAL mode and never creates a file; PostgreSQL: a READ ONLY transaction;
 *    MySQL/MariaDB: START TRANSACTION READ ONLY), checks that the schema is version 6 or newer (an older one is
 *    refused with "start the storer once to migrate it") and opens ONE read snapshot (SQLite: a read
 *    transaction; PostgreSQL: REPEATABLE READ; InnoDB: WITH CONSISTENT SNAPSHOT). Every read until close sees
 *    that snapshot, so the roll-ups and the raw rows above the watermark always add up to the raw rows (the
 *    promise of docs/schema.md "Roll-ups"), even while the storer folds.
 *  - Locations (schema 6, issue 16): cells, rows and maintenance counts are per endpoint AND location; each carries
 *    its location's name (struct rollup_stored.location, struct rollup_row.location, the maintenance callback's
 *    location; "" for what was stored before schema 6), valid during the callback only. A reader that wants an
 *    endpoint's figures across its locations (`clockwerk report` by default, the web's history) adds the cells
 *    of every location up — they are counts and histograms, so the sum is exact —; one that wants a location's
 *    keeps the cells of that location (store_read_location_match).
 *  - Each read is ONE query over its table (never one per endpoint), streamed row by row into the callback:
 *    a large window does not sit in memory twice. Endpoint ids are limited to [ep_lo, ep_hi] (all: 0,
 *    INT64_MAX). Times are UTC seconds (periods) or milliseconds (rows, alerts) since the epoch; the backend
 *    turns them into its stored form (SQLite: the `…T…Z` text, compared as text in the same form).
 *  - cells: the roll-up cells of one table with period_start in [from_s, to_s); the callback gets the period's
 *    start, the counts, the five blobs exactly as stored and the location (struct rollup_stored, valid during the
 *    call only): one call per endpoint, location and period, ordered by endpoint and period (a period's cells of
 *    several locations come together: clockwerk-web merges a day's as they come).
 *  - recent: the raw rows of checks ABOVE the watermark (id > rollup_state.last_check_id), with checked_at in
 *    [from_ms, to_ms): the rows the roll-ups do not hold yet (at most the last fold period), with checked_at.
 *  - alerts: the `down` and `up` alerts raised in [from_ms, before_ms) and, per endpoint, the last one raised
 *    before from_ms (the state at from_ms), ordered by endpoint and raised_at, with its message (which carries
 *    the state's "since" time, alerter/alert.c). from_ms STORE_READ_ALL_ALERTS: every one before before_ms
 *    (`clockwerk report`); alerts are never pruned, so clockwerk-web's refreshes read from a bound.
 *  - endpoints: every row of endpoints with its type (schema 4; the reader needs version 5: checks.maintenance).
 *  - last_checks: the n newest raw rows of one endpoint with their details, newest first (clockwerk-web's endpoint
 *    page): the index
 *    checks_endpoint_time (endpoint_id, checked_at) read backwards, so n rows are read whatever the table holds.
 *  - Return values like storer/backend.h: STORE_OK, STORE_RETRY (unreachable, connection lost), STORE_FATAL;
 *    err gets one line that names the database and never the password. A callback that returns non-zero
 *    stops the read, which then returns STORE_FATAL with err left as the callback set it. */
#ifndef CW_STORER_READER_H
#define CW_STORER_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "storer/backend.h"
#include "storer/rollup.h"

#define STORE_READ_ALL_ALERTS INT64_MIN /* alerts' from_ms: no lower bound */
/* open's err (with STORE_RETRY) on a database that holds no table yet (an empty or new file): the storer has not
 * created the schema; clockwerk-web says it at info level, it is not a problem (a first start). */
#define STORE_READ_NOT_CREATED "waiting for the storer to create the schema (no tables yet)"

struct store_reader; /* a backend's read connection */

/* type: endpoints.type ("http", "tcp", ...: schema 4). */
typedef int (*store_read_endpoint_fn)(void *ctx, int64_t id, const char *url, const char *type);
/* start_s: the cell's period_start in UTC seconds. */
typedef int (*store_read_cell_fn)(void *ctx, int64_t endpoint_id, int64_t start_s, const struct rollup_stored *cell);
/* row->at_s is not filled: at_ms is checked_at in UTC milliseconds; row->us[] is -1 for NULL. */
typedef int (*store_read_row_fn)(void *ctx, const struct rollup_row *row, int64_t at_ms);
typedef int (*store_read_alert_fn)(void *ctx, int64_t endpoint_id, bool down, int64_t raised_at_ms,
                                   const char *message);
/* checks, ok: an endpoint's raw checks marked maintenance (schema 5) in the window, and how many of them were ok, at
 * one location (schema 6: a call per endpoint and location). */
typedef int (*store_read_maint_fn)(void *ctx, int64_t endpoint_id, int64_t checks, int64_t ok, const char *location);

/* One raw row of checks as last_checks gives it (valid during the call only). */
struct store_read_check {
    int64_t at_ms; /* checked_at, UTC milliseconds */
    bool ok;
    int status_code;          /* 0: no HTTP response */
    int64_t us[ROLLUP_HISTS]; /* latency, dns, connect, tls, ttfb in µs; -1 for NULL */
    const char *error;        /* NULL when the column is NULL */
    const char *details;      /* the figures (a JSON object as the worker sent it); NULL when none */
};
typedef int (*store_read_check_fn)(void *ctx, const struct store_read_check *c);

struct store_read_backend {
    const char *name;
    /* NULL with err set (and *rc STORE_RETRY or STORE_FATAL) when it cannot. */
    struct store_reader *(*open)(const struct cw_config *cfg, int *rc, char *err, size_t errlen);
    int (*endpoints)(struct store_reader *r, store_read_endpoint_fn fn, void *ctx, char *err, size_t errlen);
    int (*cells)(struct store_reader *r, enum rollup_period p, int64_t from_s, int64_t to_s, int64_t ep_lo,
                 int64_t ep_hi, store_read_cell_fn fn, void *ctx, char *err, size_t errlen);
    int (*recent)(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                  store_read_row_fn fn, void *ctx, char *err, size_t errlen);
    int (*alerts)(struct store_reader *r, int64_t from_ms, int64_t before_ms, int64_t ep_lo, int64_t ep_hi,
                  store_read_alert_fn fn, void *ctx, char *err, size_t errlen);
    int (*last_checks)(struct store_reader *r, int64_t endpoint_id, int n, store_read_check_fn fn, void *ctx, char *err,
                       size_t errlen);
    /* Per endpoint of [ep_lo, ep_hi] with any: its raw checks with maintenance set and checked_at in [from_ms,
     * to_ms), counted (one row per endpoint; schema 5). Raw rows past retention.raw_days are gone: not counted. */
    int (*maintenance)(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                       store_read_maint_fn fn, void *ctx, char *err, size_t errlen);
    /* Ends the snapshot and disconnects. NULL is fine. */
    void (*close)(struct store_reader *r);
};

extern const struct store_read_backend store_read_sqlite;
extern const struct store_read_backend store_read_postgres;
extern const struct store_read_backend store_read_mysql;

const struct store_read_backend *store_read_backend_for(enum cw_db_driver driver);
/* Whether err is open's STORE_READ_NOT_CREATED. */
bool store_read_not_created(const char *err);

/* Whether a cell's, row's or count's location belongs to a read of `wanted` (NULL: every location, the sum). */
bool store_read_location_match(const char *wanted, const char *location);

/* What the databases' SQL differs in for the reads they share: the form of a time literal (SQLite and PostgreSQL
 * `'…T…Z'`, MySQL `'… …'`), what follows it (PostgreSQL `::timestamptz`), and the expression of raised_at in UTC
 * milliseconds. */
struct store_read_dialect {
    bool mysql_form;
    const char *time_cast;
    const char *raised_ms;
    const char *checked_ms;       /* the same of checked_at */
    const char *maintenance_true; /* checks.maintenance is set (SQLite: as its partial index says it) */
};
/* The statement of `recent` (the rows above the watermark) and of `alerts` (storer/reader.h's contract), appended
 * to sql with its NUL. Only numbers and times formatted here are pasted in. */
void store_read_sql_recent(struct cw_buf *sql, const struct store_read_dialect *d, int64_t from_ms, int64_t to_ms,
                           int64_t ep_lo, int64_t ep_hi);
void store_read_sql_alerts(struct cw_buf *sql, const struct store_read_dialect *d, int64_t from_ms, int64_t before_ms,
                           int64_t ep_lo, int64_t ep_hi);
/* The statement of `maintenance`: endpoint_id, checks, ok. */
void store_read_sql_maintenance(struct cw_buf *sql, const struct store_read_dialect *d, int64_t from_ms, int64_t to_ms,
                                int64_t ep_lo, int64_t ep_hi);
/* The statement of `last_checks`: checked_at (ms), ok, status_code, the five durations (ms), error, details. */
void store_read_sql_last_checks(struct cw_buf *sql, const struct store_read_dialect *d, int64_t endpoint_id, int n);

/* The libpq connection of a handle of store_backend_postgres (storer/postgres.c), which storer/pg_read.c opens
 * to connect exactly as the storer does (the same parameters, TLS and timeouts). */
struct pg_conn *pg_store_conn(struct store_db *db);

/* UTC milliseconds as the stored text form `2026-11-25T04:05:06.123Z` (SQLite) or, with sep ' ' and no zone,
 * `2026-11-25 04:05:06.123` (a MySQL DATETIME literal, PostgreSQL accepts both with a zone). out >= 32. */
void store_read_format_ms(int64_t ms, bool mysql_form, char *out, size_t outlen);

#endif
