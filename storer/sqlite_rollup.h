/* storer/sqlite_rollup.h — the SQLite backend's roll-ups (storer/rollup.h): the schema step to version 3 and
 * the primitives of the fold on the backend's connection. Used by storer/sqlite.c only. */
#ifndef CW_STORER_SQLITE_ROLLUP_H
#define CW_STORER_SQLITE_ROLLUP_H

#include <sqlite3.h>
#include <stddef.h>

/* 2 -> 3: checks_hourly, checks_daily, rollup_state (docs/schema.md); the roll-ups of the rows already there
 * are built after the migration, by sq_rollup_open's catch-up. */
extern const char *const sq_schema_v3[];

/* 5 -> 6 (storer/sqlite.c): a roll-up table keyed by endpoint, period and location, and the columns a copy takes
 * over from the table of before. */
#define SQ_ROLLUP_TABLE_V6(name)                                                       \
    "CREATE TABLE " name " ("                                                          \
    " endpoint_id INTEGER NOT NULL REFERENCES endpoints(id),"                          \
    " period_start TEXT NOT NULL,"                                                     \
    " location TEXT NOT NULL DEFAULT '',"                                              \
    " checks INTEGER NOT NULL, ok INTEGER NOT NULL, failures INTEGER NOT NULL,"        \
    " latency_hist BLOB NOT NULL, dns_hist BLOB NOT NULL, connect_hist BLOB NOT NULL," \
    " tls_hist BLOB NOT NULL, ttfb_hist BLOB NOT NULL,"                                \
    " PRIMARY KEY (endpoint_id, period_start, location)) WITHOUT ROWID;"
#define SQ_ROLLUP_VALUES "checks, ok, failures, latency_hist, dns_hist, connect_hist, tls_hist, ttfb_hist"

/* After the migration: the roll-up engine on this connection (storer/rollup.h), its statements prepared and
 * everything pending folded (in chunks, with progress in the log). NULL with err set and *rc STORE_RETRY or
 * STORE_FATAL. sqlite.c folds with rollup_fold_if_due and ends it with rollup_close. */
struct rollup *sq_rollup_open(sqlite3 *db, const char *path, int *rc, char *err, size_t errlen);

/* sqlite.c: an SQLite result code's class, STORE_RETRY or STORE_FATAL (storer/backend.h). */
int sq_error_class(int code);

#endif
