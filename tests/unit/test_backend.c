/* tests/unit/test_backend.c — the helpers the database backends share (storer/backend.c): a server's
 * message on one line, text made valid UTF-8 and cut between characters, UTC times truncated to the
 * millisecond (also before 1970), and the url -> endpoints.id cache (lookups, updates, growth, clear). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storer/backend.h"

static void test_one_line(void **state)
{
    (void)state;
    char out[64];
    store_one_line("  ERROR:  relation \"checks\"\n\tdoes not exist \r\n", out, sizeof out);
    assert_string_equal(out, "ERROR: relation \"checks\" does not exist");
    store_one_line(NULL, out, sizeof out);
    assert_string_equal(out, "");
    store_one_line("abc def", out, 4);                 /* cut output stays terminated, no trailing blank */
    assert_string_equal(out, "abc");
}

static void test_clean_text(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(store_clean_text("a\xff" "b\xc3\xa9", out, sizeof out), 5);   /* stray byte -> '?' */
    assert_string_equal(out, "a?b\xc3\xa9");
    assert_int_equal(store_clean_text("abcde\xe2\x82\xac", out, 8), 5);           /* € does not fit: cut before it */
    assert_string_equal(out, "abcde");
    size_t len = 0;
    char *dup = store_clean_text_dup("caf\xc3\xa9 \xc0\xaf", &len);             /* overlong '/' -> two '?' */
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
    assert_true(store_utc_ms(1795665906123999LL, &tm, &ms));  /* 2026-11-26 04:05:06.123999 -> .123 */
    assert_int_equal(tm.tm_year + 1900, 2026);
    assert_int_equal(tm.tm_mon + 1, 11);
    assert_int_equal(tm.tm_mday, 26);
    assert_int_equal(tm.tm_hour, 4);
    assert_int_equal(tm.tm_min, 5);
    assert_int_equal(tm.tm_sec, 6);
    assert_int_equal(ms, 123);
    assert_true(store_utc_ms(-1500, &tm, &ms));                  /* 1969-12-31 23:59:59.998 (floor) */
    assert_int_equal(tm.tm_year + 1900, 1969);
    assert_int_equal(tm.tm_sec, 59);
    assert_int_equal(ms, 998);
}

static void test_ep_cache(void **state)
{
    (void)state;
    struct store_ep_cache c = { 0 };
    int64_t id = 0;
    assert_false(store_ep_cache_get(&c, "http://a/", &id));   /* empty */
    store_ep_cache_put(&c, "http://a/", 7);
    store_ep_cache_put(&c, "http://a/", 8);                   /* an update, not a second entry */
    assert_int_equal(c.n, 1);
    assert_true(store_ep_cache_get(&c, "http://a/", &id));
    assert_int_equal(id, 8);
    char url[64];
    for (int i = 0; i < 3000; i++) {                          /* grows (uthash doubles its buckets) */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_line),
        cmocka_unit_test(test_clean_text),
        cmocka_unit_test(test_utc_ms),
        cmocka_unit_test(test_ep_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
