/* storer/sqlite_rollup.h — the SQLite backend's roll-ups (storer/rollup.h): the schema step to version 3 and
 * the primitives of the fold on the backend's connection. Used by storer/sqlite.c only. */
#ifndef CW_STORER_SQLITE_ROLLUP_H
#define CW_STORER_SQLITE_ROLLUP_H

#include <sqlite3.h>
#include <stddef.h>

/* 2 -> 3: checks_hourly, checks_daily, rollup_state (docs/schema.md); the roll-ups of the rows already there
 * are built after the migration, by sq_rollup_open's catch-up. */
extern const char *const sq_schema_v3[];

struct sq_rollup;

/* After the migration: prepares the statements and folds everything pending (in chunks, with progress in
 * the log). NULL with err set and *rc STORE_RETRY or STORE_FATAL. */
struct sq_rollup *sq_rollup_open(sqlite3 *db, const char *path, int *rc, char *err, size_t errlen);
/* Inside the open transaction of a batch: folds pending rows when due (storer/rollup.h). */
int sq_rollup_fold_if_due(struct sq_rollup *r, char *err, size_t errlen);
/* Folds what is pending (best effort: an error is logged), then frees. NULL is fine. */
void sq_rollup_close(struct sq_rollup *r);

/* sqlite.c: an SQLite result code's class, STORE_RETRY or STORE_FATAL (storer/backend.h). */
int sq_error_class(int code);

#endif
