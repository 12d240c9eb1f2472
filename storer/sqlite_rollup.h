/* storer/sqlite_rollup.h — the SQLite backend's roll-ups (storer/rollup.h): the schema step to version 3 and
 * the primitives of the fold on the backend's connection. Used by storer/sqlite.c only. */
#ifndef CW_STORER_SQLITE_ROLLUP_H
#define CW_STORER_SQLITE_ROLLUP_H

#include <sqlite3.h>
#include <stddef.h>

/* 2 -> 3: checks_hourly, checks_daily, rollup_state (docs/schema.md); the roll-ups of the rows already there
 * are built after the migration, by sq_rollup_open's catch-up. */
extern const char *const sq_schema_v3[];

/* After the migration: the roll-up engine on this connection (storer/rollup.h), its statements prepared and
 * everything pending folded (in chunks, with progress in the log). NULL with err set and *rc STORE_RETRY or
 * STORE_FATAL. sqlite.c folds with rollup_fold_if_due and ends it with rollup_close. */
struct rollup *sq_rollup_open(sqlite3 *db, const char *path, int *rc, char *err, size_t errlen);

/* sqlite.c: an SQLite result code's class, STORE_RETRY or STORE_FATAL (storer/backend.h). */
int sq_error_class(int code);

#endif
