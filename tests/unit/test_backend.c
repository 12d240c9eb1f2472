/* tests/unit/test_backend.c — the helpers the database backends share (storer/backend.c): a server's
 * message on one line, text made valid UTF-8 and cut between characters, UTC times truncated to the
 * millisecond (also before 1970), and the url -> endpoints.id cache (lookups, updates, growth, clear); and
 * the migration runner (storer/migrate.c) against a fake database: a new one gets every step, an older one
 * the missing steps, a current one none, a newer one is refused, a failing step rolls back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storer/backend.h"
#include "storer/migrate.h"

static void test_one_line(void **state)
{
    (void)state;
    char out[64];
    store_one_line("  ERROR:  relation \"checks\"\n\tdoes not exist \r\n", out, sizeof out);
    assert_string_equal(out, "ERROR: relation \"checks\" does not exist");
    store_one_line(NULL, out, sizeof out);
    assert_string_equal(out, "");
    store_one_line("abc def", out, 4); /* cut output stays terminated, no trailing blank */
    assert_string_equal(out, "abc");
}

static void test_clean_text(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(store_clean_text("a\xff"
                                      "b\xc3\xa9",
                                      out, sizeof out),
                     5); /* stray byte -> '?' */
    assert_string_equal(out, "a?b\xc3\xa9");
    assert_int_equal(store_clean_text("abcde\xe2\x82\xac", out, 8), 5); /* € does not fit: cut before it */
    assert_string_equal(out, "abcde");
    size_t len = 0;
    char *dup = store_clean_text_dup("caf\xc3\xa9 \xc0\xaf", &len); /* overlong '/' -> two '?' */
    assert_string_equal(dup, "caf\xc3\xa9 ??");
    assert_int_equal(len, strlen(dup));
    free(dup);
    dup = store_clean_text_dup("", NULL);
    assert_string_equal(dup, "");
    free(dup);
}

static void test_utc_ms(void **state)
{
    (void)state;
    struct tm tm;
    int ms = -1;
    assert_true(store_utc_ms(1795665906123999LL, &tm, &ms)); /* 2026-11-26 04:05:06.123999 -> .123 */
    assert_int_equal(tm.tm_year + 1900, 2026);
    assert_int_equal(tm.tm_mon + 1, 11);
    assert_int_equal(tm.tm_mday, 26);
    assert_int_equal(tm.tm_hour, 4);
    assert_int_equal(tm.tm_min, 5);
    assert_int_equal(tm.tm_sec, 6);
    assert_int_equal(ms, 123);
    assert_true(store_utc_ms(-1500, &tm, &ms)); /* 1969-12-31 23:59:59.998 (floor) */
    assert_int_equal(tm.tm_year + 1900, 1969);
    assert_int_equal(tm.tm_sec, 59);
    assert_int_equal(ms, 998);
}

static void test_ep_cache(void **state)
{
    (void)state;
    struct store_ep_cache c = { 0 };
    int64_t id = 0;
    assert_false(store_ep_cache_get(&c, "http://a/", &id)); /* empty */
    store_ep_cache_put(&c, "http://a/", 7);
    store_ep_cache_put(&c, "http://a/", 8); /* an update, not a second entry */
    assert_int_equal(c.n, 1);
    assert_true(store_ep_cache_get(&c, "http://a/", &id));
    assert_int_equal(id, 8);
    char url[64];
    for (int i = 0; i < 3000; i++) { /* grows (uthash doubles its buckets) */
        snprintf(url, sizeof url, "http://host/%d", i);
        store_ep_cache_put(&c, url, 100 + i);
    }
    assert_int_equal(c.n, 3001);
    for (int i = 0; i < 3000; i++) {
        snprintf(url, sizeof url, "http://host/%d", i);
        assert_true(store_ep_cache_get(&c, url, &id));
        assert_int_equal(id, 100 + i);
    }
    assert_false(store_ep_cache_get(&c, "http://host/3000", &id));
    store_ep_cache_clear(&c);
    assert_int_equal(c.n, 0);
    assert_false(store_ep_cache_get(&c, "http://a/", &id));
}

/* ---- the migration runner against a fake database that logs what it is asked to do */

struct store_db {
    long long version;   /* max(version) in the fake schema_version; 0: none */
    char log[512];       /* what ran, each item followed by ';' */
    const char *fail_on; /* a statement that fails (STORE_FATAL) */
    bool fail_begin;
};

static void fake_log(struct store_db *db, const char *item)
{
    size_t len = strlen(db->log);
    snprintf(db->log + len, sizeof db->log - len, "%s;", item);
}

static int fake_exec(struct store_db *db, const char *sql, const char *what, char *err, size_t errlen)
{
    if (db->fail_on && !strcmp(sql, db->fail_on)) {
        snprintf(err, errlen, "fake: %s: boom", what);
        return STORE_FATAL;
    }
    int v;
    if (sscanf(sql, "INSERT INTO schema_version (version) VALUES (%d)", &v) == 1) {
        db->version = v > db->version ? v : db->version;
        char item[16];
        snprintf(item, sizeof item, "v%d", v);
        fake_log(db, item);
        return STORE_OK;
    }
    fake_log(db, sql);
    return STORE_OK;
}

static int fake_query_int(struct store_db *db, const char *sql, const char *what, long long *value, bool *is_null,
                          char *err, size_t errlen)
{
    (void)sql;
    (void)what;
    (void)err;
    (void)errlen;
    *is_null = db->version == 0;
    *value = db->version;
    fake_log(db, "read");
    return STORE_OK;
}

static int fake_begin(struct store_db *db, char *err, size_t errlen)
{
    if (db->fail_begin) {
        snprintf(err, errlen, "fake: lock not granted");
        return STORE_RETRY;
    }
    fake_log(db, "begin");
    return STORE_OK;
}

static int fake_commit(struct store_db *db, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    fake_log(db, "commit");
    return STORE_OK;
}

static void fake_rollback(struct store_db *db) { fake_log(db, "rollback"); }

static int fake_step_code(struct store_db *db, char *err, size_t errlen)
{
    return fake_exec(db, "code", "step 2", err, errlen);
}

static const char *const fake_v1[] = { "create a", "create b", NULL };
static const char *const fake_v3[] = { "create c", NULL };
static const char *const fake_v4[] = { "alter d", NULL };
static const char *const fake_v5[] = { "alter e", NULL };
static const char *const fake_v6[] = { "alter f", NULL };
static const struct store_migrate_step fake_steps[] = {
    { .version = 1, .what = "create schema", .sql = fake_v1 },
    { .version = 2, .what = "step 2", .run = fake_step_code },
    { .version = 3, .what = "step 3", .sql = fake_v3 },
    { .version = 4, .what = "step 4", .sql = fake_v4 },
    { .version = 5, .what = "step 5", .sql = fake_v5 },
    { .version = 6, .what = "step 6", .sql = fake_v6 },
};
static const struct store_migrate_ops fake_ops = {
    .version_table_sql = "table",
    .steps = fake_steps,
    .n_steps = 6,
    .exec = fake_exec,
    .query_int = fake_query_int,
    .begin = fake_begin,
    .commit = fake_commit,
    .rollback = fake_rollback,
};

static void test_migrate_runner(void **state)
{
    (void)state;
    assert_int_equal(STORE_SCHEMA_VERSION, 6); /* the fake's steps go to 6: extend them with the schema */
    char err[256] = "";
    struct store_db fresh = { 0 };
    assert_int_equal(store_migrate(&fresh, &fake_ops, "fake://db", err, sizeof err), STORE_OK);
    assert_string_equal(
        fresh.log,
        "begin;table;read;create a;create b;v1;code;v2;create c;v3;alter d;v4;alter e;v5;alter f;v6;commit;");

    struct store_db old = { .version = 1 };
    assert_int_equal(store_migrate(&old, &fake_ops, "fake://db", err, sizeof err), STORE_OK);
    assert_string_equal(old.log, "begin;table;read;code;v2;create c;v3;alter d;v4;alter e;v5;alter f;v6;commit;");

    struct store_db current = { .version = 6 };
    assert_int_equal(store_migrate(&current, &fake_ops, "fake://db", err, sizeof err), STORE_OK);
    assert_string_equal(current.log, "begin;table;read;commit;");
}

static void test_migrate_runner_refuses(void **state)
{
    (void)state;
    char err[256] = "";
    struct store_db newer = { .version = 7 };
    assert_int_equal(store_migrate(&newer, &fake_ops, "fake://db", err, sizeof err), STORE_FATAL);
    assert_string_equal(newer.log, "begin;table;read;rollback;");
    assert_string_equal(err, "fake://db: database schema version 7 is newer than this release supports (6): "
                             "use a newer Clockwerk or another database");

    struct store_db failing = { .fail_on = "create b" };
    assert_int_equal(store_migrate(&failing, &fake_ops, "fake://db", err, sizeof err), STORE_FATAL);
    assert_string_equal(failing.log, "begin;table;read;create a;rollback;"); /* no version row, no step 2 */
    assert_string_equal(err, "fake: create schema: boom");

    struct store_db locked = { .fail_begin = true };
    assert_int_equal(store_migrate(&locked, &fake_ops, "fake://db", err, sizeof err), STORE_RETRY);
    assert_string_equal(locked.log, ""); /* nothing ran, nothing to undo */
    assert_string_equal(err, "fake: lock not granted");

    struct store_migrate_ops short_ops = fake_ops; /* steps that stop short of STORE_SCHEMA_VERSION */
    short_ops.n_steps = 1;
    struct store_db any = { 0 };
    assert_int_equal(store_migrate(&any, &short_ops, "fake://db", err, sizeof err), STORE_FATAL);
    assert_string_equal(any.log, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_line),       cmocka_unit_test(test_clean_text),
        cmocka_unit_test(test_utc_ms),         cmocka_unit_test(test_ep_cache),
        cmocka_unit_test(test_migrate_runner), cmocka_unit_test(test_migrate_runner_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
