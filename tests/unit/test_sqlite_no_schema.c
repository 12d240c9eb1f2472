/* tests/unit/test_sqlite_no_schema.c — the SQLite reader on a database the storer has not created the schema in
 * yet (an empty file, or one without any table): "waiting for the storer to create the schema" (STORE_RETRY,
 * clockwerk-web says it at info level), while a file that holds another database's tables is still "not a
 * Clockwerk database" (issue 17's operator trial). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "storer/reader.h"

struct fx {
    char dir[64], path[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/cw-noschema.XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/clockwerk.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* err of opening a reader on the fixture's file (which must fail), and its return code in *rc. */
static void open_fails(struct fx *f, int *rc, char *err, size_t errlen)
{
    struct cw_config cfg = { .db_driver = CW_DB_SQLITE, .db_name = f->path };
    const struct store_read_backend *b = store_read_backend_for(CW_DB_SQLITE);
    struct store_reader *r = b->open(&cfg, rc, err, errlen);
    assert_null(r);
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_empty_file_waits_for_the_storer(void **state)
{
    struct fx *f = *state;
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fclose(fp);
    char err[512] = "", want[256];
    int rc = 0;
    open_fails(f, &rc, err, sizeof err);
    snprintf(want, sizeof want, "sqlite %s: %s", f->path, STORE_READ_NOT_CREATED);
    assert_string_equal(err, want);
    assert_int_equal(rc, STORE_RETRY);
    assert_true(store_read_not_created(err));
}

static void test_no_tables_waits_for_the_storer(void **state)
{
    struct fx *f = *state;
    exec_sql(f->path, "PRAGMA journal_mode = WAL; PRAGMA user_version = 0;"); /* a database file, no table */
    char err[512] = "";
    int rc = 0;
    open_fails(f, &rc, err, sizeof err);
    assert_true(store_read_not_created(err));
    assert_int_equal(rc, STORE_RETRY);
    unlink(f->path);
}

static void test_another_database_still_refused(void **state)
{
    struct fx *f = *state;
    exec_sql(f->path, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);");
    char err[512] = "";
    int rc = 0;
    open_fails(f, &rc, err, sizeof err);
    assert_non_null(strstr(err, "not a Clockwerk database (no schema_version)"));
    assert_false(store_read_not_created(err));
    assert_int_equal(rc, STORE_FATAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_file_waits_for_the_storer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_tables_waits_for_the_storer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_database_still_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
