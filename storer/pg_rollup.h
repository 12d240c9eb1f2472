/* storer/pg_rollup.h — the PostgreSQL backend's roll-ups (storer/rollup.h): the schema step to version 3 and
 * the primitives of the fold on the backend's connection. Used by storer/postgres.c only. */
#ifndef CW_STORER_PG_ROLLUP_H
#define CW_STORER_PG_ROLLUP_H

#include <postgresql/libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* 2 -> 3: checks_hourly, checks_daily, rollup_state (docs/schema.md). */
extern const char *const pg_schema_v3[];

/* After the migration: the roll-up engine on this connection (storer/rollup.h), its statements prepared and
 * everything pending folded. NULL with err set and *rc STORE_RETRY or STORE_FATAL; where names the
 * database. postgres.c folds with rollup_fold_if_due and ends it with rollup_close. */
struct rollup *pg_rollup_open(PGconn *conn, const char *where, int *rc, char *err, size_t errlen);

/* Inside the batch's transaction, while the roll-ups stage (rollup_staging): inserts the batch's new endpoints
 * (urls: its text[] parameter, one URL per check; types: the text[] of each check's endpoints.type) and sets *ids
 * to every check's endpoint id, in order, or NULL when the answer is not one id per check (the roll-ups then read
 * back). Valid until the next call. */
int pg_rollup_new_endpoints(struct rollup *roll, const char *urls, const char *types, size_t n, const int64_t **ids,
                            char *err, size_t errlen);

/* postgres.c: appends s to an array literal as a quoted element (valid UTF-8, '"' and '\\' escaped). */
struct cw_buf;
void pg_arr_text(struct cw_buf *b, const char *s);

/* postgres.c: a failed result's class, STORE_RETRY or STORE_FATAL (storer/backend.h). */
int pg_error_class(PGconn *conn, const PGresult *res);

#endif
