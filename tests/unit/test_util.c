/* tests/unit/test_util.c — the small shared helpers of common/base/util.c: the UTF-8 validator every text
 * sanitiser uses (tap JSON, PostgreSQL and MariaDB text), credential masking in URLs, the stable hash
 * that sharding depends on, printf into a byte buffer (short and longer than any stack scratch), and the
 * atomic file write behind the config snapshot and the alerter's state file (content, mode 0600, no
 * temporary file left, the failing step named). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/base/clock.h"
#include "common/base/util.h"

static size_t seq(const char *s) { return cw_utf8_seq_len((const unsigned char *)s); }

static void test_utf8_valid_sequences(void **state)
{
    (void)state;
    assert_int_equal(seq("a"), 1);
    assert_int_equal(seq("\xc3\xa9"), 2);         /* é */
    assert_int_equal(seq("\xe2\x82\xac"), 3);     /* € */
    assert_int_equal(seq("\xf0\x9f\x98\x80"), 4); /* U+1F600 */
    assert_int_equal(seq("\xed\x9f\xbf"), 3);     /* U+D7FF, just below the surrogates */
    assert_int_equal(seq("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF, the last code point */
}

static void test_utf8_invalid_sequences(void **state)
{
    (void)state;
    assert_int_equal(seq("\x80"), 0);             /* stray continuation byte */
    assert_int_equal(seq("\xc0\xaf"), 0);         /* overlong '/' */
    assert_int_equal(seq("\xe0\x80\xaf"), 0);     /* overlong, 3 bytes */
    assert_int_equal(seq("\xf0\x80\x80\xaf"), 0); /* overlong, 4 bytes */
    assert_int_equal(seq("\xed\xa0\x80"), 0);     /* surrogate U+D800 */
    assert_int_equal(seq("\xf4\x90\x80\x80"), 0); /* above U+10FFFF */
    assert_int_equal(seq("\xf5\x80\x80\x80"), 0);
    assert_int_equal(seq("\xff"), 0);
    assert_int_equal(seq("\xe2\x82"), 0); /* cut by the terminator */
    assert_int_equal(seq("\xc3"), 0);
    assert_int_equal(seq("\xc3"
                         "a"),
                     0); /* a lead byte followed by ASCII */
}

static void test_mask_url(void **state)
{
    (void)state;
    char out[256];
    cw_mask_url("http://user:secret@host/p?q=1", out, sizeof out);
    assert_string_equal(out, "http://***@host/p?q=1");
    cw_mask_url("https://a@b:pw@host:8443/", out, sizeof out); /* the last '@' ends the userinfo */
    assert_string_equal(out, "https://***@host:8443/");
    /* a '/' in the userinfo (not percent-encoded): curl would read "user:pa" as the authority; masked anyway */
    cw_mask_url("http://user:pa/ss@proxy:3128", out, sizeof out);
    assert_string_equal(out, "http://***@proxy:3128");
    /* so an '@' in the path cannot be told from one: masked too (never less than the authority's userinfo) */
    cw_mask_url("http://host/path@not-userinfo", out, sizeof out);
    assert_string_equal(out, "http://***@not-userinfo");
    cw_mask_url("http://u:p@host/a@b/c", out, sizeof out);
    assert_string_equal(out, "http://***@b/c");
    /* the query and the fragment are no userinfo: an address in them leaves the host shown */
    cw_mask_url("https://host/x?to=ops@example.com#a@b", out, sizeof out);
    assert_string_equal(out, "https://host/x?to=ops@example.com#a@b");
    cw_mask_url("https://u:p@host/x?to=ops@example.com", out, sizeof out);
    assert_string_equal(out, "https://***@host/x?to=ops@example.com");
    cw_mask_url("http://host/", out, sizeof out);
    assert_string_equal(out, "http://host/");
    cw_mask_url("http://user:secret@host/", out, 10); /* cut output stays terminated */
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

static void test_buf_printf(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    cw_buf_printf(&b, "%s=%d", "a", 42);
    cw_buf_printf(&b, "%s", "");
    cw_buf_printf(&b, " %.1fms", 1.5);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "a=42 1.5ms", 10);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cw_buf_reset(&b);
    cw_buf_printf(&b, "<%s>", big); /* longer than any scratch: not cut */
    assert_int_equal(b.len, sizeof big + 1);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[b.len - 2], 'x');
    assert_int_equal(b.data[b.len - 1], '>');
    cw_buf_free(&b);
}

static void test_write_file_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-util-XXXXXX", path[64], tmp[64], sub[64], buf[16];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    snprintf(tmp, sizeof tmp, "%s/f.tmp", dir);
    const char *step = NULL;
    assert_int_equal(cw_write_file_atomic(path, tmp, "first", 5, true, &step), 0);
    assert_int_equal(cw_write_file_atomic(path, tmp, "second", 6, true, &step), 0); /* replaces the old file */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, 6);
    assert_memory_equal(buf, "second", 6);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary file left */

    snprintf(sub, sizeof sub, "%s/no/such", dir); /* cannot create tmp */
    assert_int_equal(cw_write_file_atomic(sub, sub, "x", 1, true, &step), -1);
    assert_int_equal(errno, ENOENT);
    assert_string_equal(step, "create");

    snprintf(sub, sizeof sub, "%s/d", dir); /* cannot rename over a dir */
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(cw_write_file_atomic(sub, tmp, "x", 1, true, &step), -1);
    assert_string_equal(step, "rename");
    assert_int_equal(access(tmp, F_OK), -1); /* removed after a failure */

    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* The reference: what cw_format_iso8601 printed with gmtime_r + snprintf before it was made fast. */
static void iso_reference(int64_t us, char *out, size_t len)
{
    time_t secs = (time_t)(us / 1000000);
    int ms = (int)((us % 1000000) / 1000);
    if (us < 0 && us % 1000000) {
        secs -= 1;
        ms = (int)((us % 1000000 + 1000000) / 1000);
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ms);
}

static void test_iso8601(void **state)
{
    (void)state;
    char got[80], want[80];
    assert_string_equal(cw_format_iso8601(1764043506123456LL, got, sizeof got), "2025-11-25T04:05:06.123Z");
    assert_string_equal(cw_format_iso8601(0, got, sizeof got), "1970-01-01T00:00:00.000Z");
    assert_string_equal(cw_format_iso8601(-1, got, sizeof got), "1969-12-31T23:59:59.999Z");
    assert_string_equal(cw_format_iso8601(951782400000000LL, got, sizeof got), "2000-02-29T00:00:00.000Z");
    assert_string_equal(cw_format_iso8601(253402300799999999LL, got, sizeof got), "9999-12-31T23:59:59.999Z");
    /* the per-thread cache of the last second: the same second again, then the next, then back */
    static const int64_t seq[] = { 1764043506000000LL, 1764043506999999LL, 1764043507000000LL,
                                   1764043506500000LL, -86400000001LL,     1764043506001000LL };
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        iso_reference(seq[i], want, sizeof want);
        assert_string_equal(cw_format_iso8601(seq[i], got, sizeof got), want);
    }
    /* a pseudo-random walk over 300 years, against the reference */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t us = (int64_t)(x % 9467280000000000ULL) - 946728000000000LL * 2;
        iso_reference(us, want, sizeof want);
        assert_string_equal(cw_format_iso8601(us, got, sizeof got), want);
    }
    /* a buffer too small for the whole form is still terminated */
    char small[10];
    cw_format_iso8601(1764043506123456LL, small, sizeof small);
    assert_int_equal(strlen(small), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_sequences),
        cmocka_unit_test(test_utf8_invalid_sequences),
        cmocka_unit_test(test_mask_url),
        cmocka_unit_test(test_hash_is_stable),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_buf_printf),
        cmocka_unit_test(test_write_file_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
