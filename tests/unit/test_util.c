/* tests/unit/test_util.c — the small shared helpers of common/util.c: the UTF-8 validator every text
 * sanitiser uses (tap JSON, PostgreSQL and MariaDB text), credential masking in URLs, and the stable hash
 * that sharding depends on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"

static size_t seq(const char *s) { return cw_utf8_seq_len((const unsigned char *)s); }

static void test_utf8_valid_sequences(void **state)
{
    (void)state;
    assert_int_equal(seq("a"), 1);
    assert_int_equal(seq("\xc3\xa9"), 2);             /* é */
    assert_int_equal(seq("\xe2\x82\xac"), 3);         /* € */
    assert_int_equal(seq("\xf0\x9f\x98\x80"), 4);     /* U+1F600 */
    assert_int_equal(seq("\xed\x9f\xbf"), 3);         /* U+D7FF, just below the surrogates */
    assert_int_equal(seq("\xf4\x8f\xbf\xbf"), 4);     /* U+10FFFF, the last code point */
}

static void test_utf8_invalid_sequences(void **state)
{
    (void)state;
    assert_int_equal(seq("\x80"), 0);                 /* stray continuation byte */
    assert_int_equal(seq("\xc0\xaf"), 0);             /* overlong '/' */
    assert_int_equal(seq("\xe0\x80\xaf"), 0);         /* overlong, 3 bytes */
    assert_int_equal(seq("\xf0\x80\x80\xaf"), 0);     /* overlong, 4 bytes */
    assert_int_equal(seq("\xed\xa0\x80"), 0);         /* surrogate U+D800 */
    assert_int_equal(seq("\xf4\x90\x80\x80"), 0);     /* above U+10FFFF */
    assert_int_equal(seq("\xf5\x80\x80\x80"), 0);
    assert_int_equal(seq("\xff"), 0);
    assert_int_equal(seq("\xe2\x82"), 0);             /* cut by the terminator */
    assert_int_equal(seq("\xc3"), 0);
    assert_int_equal(seq("\xc3" "a"), 0);             /* a lead byte followed by ASCII */
}

static void test_mask_url(void **state)
{
    (void)state;
    char out[256];
    cw_mask_url("http://user:secret@host/p?q=1", out, sizeof out);
    assert_string_equal(out, "http://***@host/p?q=1");
    cw_mask_url("https://a@b:pw@host:8443/", out, sizeof out);   /* the last '@' ends the userinfo */
    assert_string_equal(out, "https://***@host:8443/");
    cw_mask_url("http://host/path@not-userinfo", out, sizeof out);
    assert_string_equal(out, "http://host/path@not-userinfo");
    cw_mask_url("http://host/", out, sizeof out);
    assert_string_equal(out, "http://host/");
    cw_mask_url("http://user:secret@host/", out, 10);             /* cut output stays terminated */
    assert_int_equal(strlen(out), 9);
    assert_null(strstr(out, "secret"));
}

static void test_hash_is_stable(void **state)
{
    (void)state;
    /* FNV-1a 64: published reference values. Sharding of existing installations depends on these. */
    assert_true(cw_hash64("") == 0xcbf29ce484222325ULL);
    assert_true(cw_hash64("a") == 0xaf63dc4c8601ec8cULL);
    assert_int_equal(cw_shard_of("http://x/", 1), 0);
    assert_true(cw_shard_of("http://x/", 7) < 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_sequences),
        cmocka_unit_test(test_utf8_invalid_sequences),
        cmocka_unit_test(test_mask_url),
        cmocka_unit_test(test_hash_is_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
