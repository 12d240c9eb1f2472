/* tests/unit/sqlite_fx_util.h — the fixture of the unit tests that drive the SQLite backend against a real
 * database file (test_rollup_sqlite.c, test_prune_sqlite.c): a private directory, the backend's connection
 * (open + migrate, as the storer's dbconn_open does), a second connection to look at the tables, and the
 * cleanup of the file with SQLite's two companions. */
#ifndef CW_TESTS_SQLITE_FX_UTIL_H
#define CW_TESTS_SQLITE_FX_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "storer/backend.h"

struct sqlite_fx {
    char dir[64], path[128];
    struct cw_config cfg;
    const struct store_backend *be;
    struct store_db *db;
    sqlite3 *peek;
};

/* (Re)opens the backend's connection: open + migrate (the fold period is read here). */
static inline void sqlite_fx_reopen(struct sqlite_fx *f)
{
    char err[512];
    int rc;
    if (f->db) f->be->close(f->db);
    f->db = f->be->open(&f->cfg, &rc, err, sizeof err);
    assert_non_null(f->db);
    assert_int_equal(f->be->migrate(f->db, err, sizeof err), STORE_OK);
}

/* A new database in a new directory /tmp/PREFIX-XXXXXX: a calloc'ed fixture, or NULL. */
static inline struct sqlite_fx *sqlite_fx_new(const char *prefix)
{
    struct sqlite_fx *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    snprintf(f->dir, sizeof f->dir, "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(f->dir)) return NULL;
    snprintf(f->path, sizeof f->path, "%s/clockwerk.db", f->dir);
    f->cfg = (struct cw_config){ .db_driver = CW_DB_SQLITE, .db_name = f->path };
    f->be = store_backend_for(CW_DB_SQLITE);
    sqlite_fx_reopen(f);
    return sqlite3_open(f->path, &f->peek) == SQLITE_OK ? f : NULL;
}

/* Closes both connections, removes the database file, its -wal and -shm, the directory; frees f. */
static inline void sqlite_fx_free(struct sqlite_fx *f)
{
    if (f->db) f->be->close(f->db);
    sqlite3_close(f->peek);
    char name[160];
    for (const char *const *tail = (const char *const[]){ "", "-wal", "-shm", NULL }; *tail; tail++)
        if (snprintf(name, sizeof name, "%s%s", f->path, *tail) < (int)sizeof name) unlink(name);
    rmdir(f->dir);
    free(f);
}

/* The first column of the first row of a query (printf-style), -1 when there is no row. */
static inline long long sqlite_fx_int(struct sqlite_fx *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->peek, sql, -1, &st, NULL), SQLITE_OK);
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

#endif
