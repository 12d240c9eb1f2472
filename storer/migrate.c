/* storer/migrate.c — the schema migration runner shared by the storer's database backends
 * (storer/migrate.h): reads the schema version, refuses a newer one, applies the missing steps in order and
 * records each version, inside the backend's begin/commit. */
#include "storer/migrate.h"

#include <stdio.h>

#include "common/base/log.h"

/* Applies one step and records its version. */
static int apply_step(struct store_db *db, const struct store_migrate_ops *ops, const struct store_migrate_step *step,
                      char *err, size_t errlen)
{
    int rc = STORE_OK;
    if (step->run) rc = step->run(db, err, errlen);
    for (size_t i = 0; rc == STORE_OK && step->sql && step->sql[i]; i++)
        rc = ops->exec(db, step->sql[i], step->what, err, errlen);
    if (rc != STORE_OK) return rc;
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO schema_version (version) VALUES (%d)", step->version);
    return ops->exec(db, sql, "write schema_version", err, errlen);
}

/* Everything between begin and commit: the version table, the version, the refusal, the steps. The version
 * found is left in *found. */
static int migrate_locked(struct store_db *db, const struct store_migrate_ops *ops, const char *where, int *found,
                          char *err, size_t errlen)
{
    int rc = ops->exec(db, ops->version_table_sql, "create schema_version", err, errlen);
    long long version = 0;
    bool is_null = true;
    if (rc == STORE_OK)
        rc = ops->query_int(db, "SELECT MAX(version) FROM schema_version", "read schema_version", &version, &is_null,
                            err, errlen);
    if (rc != STORE_OK) return rc;
    if (is_null) version = 0;
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "%s: database schema version %lld is newer than this release supports (%d): "
                 "use a newer Clockwerk or another database",
                 where, version, STORE_SCHEMA_VERSION);
        return STORE_FATAL;
    }
    *found = (int)version;
    for (size_t i = 0; rc == STORE_OK && i < ops->n_steps; i++)
        if (ops->steps[i].version > version) rc = apply_step(db, ops, &ops->steps[i], err, errlen);
    return rc;
}

int store_migrate(struct store_db *db, const struct store_migrate_ops *ops, const char *where, char *err, size_t errlen)
{
    if (ops->n_steps == 0 || ops->steps[ops->n_steps - 1].version != STORE_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s: the backend's migration steps do not end at schema version %d (a bug)", where,
                 STORE_SCHEMA_VERSION);
        return STORE_FATAL;
    }
    int rc = ops->begin(db, err, errlen);
    if (rc != STORE_OK) return rc;
    int found = 0;
    rc = migrate_locked(db, ops, where, &found, err, errlen);
    if (rc == STORE_OK) rc = ops->commit(db, err, errlen);
    if (rc != STORE_OK) {
        ops->rollback(db);
        return rc;
    }
    if (found == 0) log_info("%s: created schema version %d", where, STORE_SCHEMA_VERSION);
    else if (found < STORE_SCHEMA_VERSION)
        log_info("%s: schema upgraded from version %d to %d", where, found, STORE_SCHEMA_VERSION);
    return STORE_OK;
}
