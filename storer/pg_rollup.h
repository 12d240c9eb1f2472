/* storer/pg_rollup.h — the PostgreSQL backend's roll-ups (storer/rollup.h): the schema step to version 3 and
 * the primitives of the fold on the backend's connection. Used by storer/postgres.c only. */
#ifndef CW_STORER_PG_ROLLUP_H
#define CW_STORER_PG_ROLLUP_H

#include <postgresql/libpq-fe.h>
#include <stddef.h>

/* 2 -> 3: checks_hourly, checks_daily, rollup_state (docs/schema.md). */
extern const char *const pg_schema_v3[];

struct pg_rollup;

/* After the migration: prepares the statements and folds everything pending (in chunks, with progress in
 * the log). NULL with err set and *rc STORE_RETRY or STORE_FATAL. where names the database. */
struct pg_rollup *pg_rollup_open(PGconn *conn, const char *where, int *rc, char *err, size_t errlen);
/* Inside the open transaction of a batch: folds pending rows when due (storer/rollup.h). */
int pg_rollup_fold_if_due(struct pg_rollup *r, char *err, size_t errlen);
/* Folds what is pending when the connection is idle (best effort: an error is logged), then frees. */
void pg_rollup_close(struct pg_rollup *r);

/* postgres.c: a failed result's class, STORE_RETRY or STORE_FATAL (storer/backend.h). */
int pg_error_class(PGconn *conn, const PGresult *res);

#endif
