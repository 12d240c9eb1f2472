/* storer/migrate.h — the one schema migration runner of the storer's database backends (storer/sqlite.c,
 * storer/postgres.c, storer/mysql.c). A backend hands it a table of steps (SQL text, or a function for a
 * step that needs code) and a small set of primitives; the runner does the rest, the same way for every
 * database (docs/schema.md, "Creation and migration"):
 *
 *   begin (a transaction where the database allows, and a lock that keeps two storers apart);
 *   CREATE TABLE IF NOT EXISTS schema_version; read max(version) (none: 0);
 *   newer than STORE_SCHEMA_VERSION: refused, STORE_FATAL;
 *   every step whose version is above it, in order: its statements (or its function), then the row
 *   INSERT INTO schema_version (version) VALUES (N);
 *   commit — or, on any failure, rollback and the step's error.
 *
 * Return values and messages follow storer/backend.h: the primitives classify their own errors (STORE_RETRY
 * or STORE_FATAL) and write err; the runner adds only the refusal of a newer schema. */
#ifndef CW_STORER_MIGRATE_H
#define CW_STORER_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "storer/backend.h"

/* One step: brings the schema from version - 1 to version. Exactly one of sql and run is set. */
struct store_migrate_step {
    int version;
    const char *what;       /* names the step in error messages: "create schema", "add checks.…" */
    const char *const *sql; /* statements run in order, NULL-terminated */
    int (*run)(struct store_db *db, char *err, size_t errlen); /* a step that needs code */
};

/* A backend's primitives and steps. Every function returns STORE_OK, STORE_RETRY or STORE_FATAL and on
 * failure writes one line to err that names the database (storer/backend.h). */
struct store_migrate_ops {
    const char *version_table_sql;          /* CREATE TABLE IF NOT EXISTS schema_version (version ...) */
    const struct store_migrate_step *steps; /* versions 1 .. STORE_SCHEMA_VERSION, ascending */
    size_t n_steps;
    /* A statement without parameters; what names it in err. */
    int (*exec)(struct store_db *db, const char *sql, const char *what, char *err, size_t errlen);
    /* The first column of the first row of sql as an integer; *is_null when there is no row or it is NULL. */
    int (*query_int)(struct store_db *db, const char *sql, const char *what, long long *value, bool *is_null, char *err,
                     size_t errlen);
    /* Opens the migration: its transaction and/or lock. On failure it leaves nothing open behind it. */
    int (*begin)(struct store_db *db, char *err, size_t errlen);
    int (*commit)(struct store_db *db, char *err, size_t errlen);
    /* After a failure between begin and commit: undo what can be undone, release the lock. */
    void (*rollback)(struct store_db *db);
};

/* Brings db's schema to STORE_SCHEMA_VERSION (see above). where names the database in the runner's own
 * messages and log lines (the primitives name it themselves). */
int store_migrate(struct store_db *db, const struct store_migrate_ops *ops, const char *where, char *err,
                  size_t errlen);

#endif
