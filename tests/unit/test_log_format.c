/* tests/unit/test_log_format.c — the pure part of logging (common/base/log_format.c): each target's line (stderr
 * with its timestamp, stderr read by journald with a <N> priority and no timestamp, the bare line of syslog and
 * the journal), control characters escaped in every style, cutting to the buffer, the level -> priority map, the
 * JOURNAL_STREAM match, and the names of targets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/base/log.h"
#include "common/base/log_format.h"

static const char STAMP[] = "2026-11-25T04:05:06.123Z";

static void test_plain_is_todays_format(void **state)
{
    (void)state;
    char out[256];
    struct log_fields f = { STAMP, "worker 0/4", 1234, LOG_LVL_WARN, "slow: 2.5 s" };
    size_t n = log_format(out, sizeof out, LOG_STYLE_PLAIN, &f);
    assert_string_equal(out, "2026-11-25T04:05:06.123Z clockwerk[worker 0/4] 1234 warn: slow: 2.5 s");
    assert_int_equal(n, strlen(out));
}

static void test_priority_prefix_and_no_timestamp(void **state)
{
    (void)state;
    char out[256];
    static const struct {
        enum log_level level;
        const char *want;
    } cases[] = {
        { LOG_LVL_DEBUG, "<7>clockwerk[storer] 9 debug: m" },
        { LOG_LVL_INFO, "<6>clockwerk[storer] 9 info: m" },
        { LOG_LVL_WARN, "<4>clockwerk[storer] 9 warn: m" },
        { LOG_LVL_ERROR, "<3>clockwerk[storer] 9 error: m" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct log_fields f = { STAMP, "storer", 9, cases[i].level, "m" };
        log_format(out, sizeof out, LOG_STYLE_PRIORITY, &f);
        assert_string_equal(out, cases[i].want);
        assert_null(strstr(out, "2026"));
    }
}

static void test_bare_for_syslog_and_journal(void **state)
{
    (void)state;
    char out[256];
    struct log_fields f = { STAMP, "alerter", 77, LOG_LVL_ERROR, "mail refused" };
    log_format(out, sizeof out, LOG_STYLE_BARE, &f);
    assert_string_equal(out, "[alerter] error: mail refused"); /* syslog/journald add time, ident and pid */
}

static void test_controls_escaped_in_every_style(void **state)
{
    (void)state;
    char out[256];
    struct log_fields f = { STAMP, "worker\n0", 1, LOG_LVL_INFO, "a\nb\rc\td\x1b[31me\x7f" };
    for (int style = LOG_STYLE_PLAIN; style <= LOG_STYLE_BARE; style++) {
        log_format(out, sizeof out, (enum log_style)style, &f);
        for (const char *c = out; *c; c++) assert_true(((unsigned char)*c >= 0x20 && *c != 0x7f) || *c == '\t');
        assert_non_null(strstr(out, "a?b?c\td?[31me?"));
        assert_non_null(strstr(out, "[worker?0]"));
    }
}

static void test_cut_to_the_buffer(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct log_fields f = { STAMP, "relay", 5, LOG_LVL_INFO, big };
    char out[64];
    size_t n = log_format(out, sizeof out, LOG_STYLE_PLAIN, &f);
    assert_int_equal(n, sizeof out - 1);
    assert_int_equal(strlen(out), n);
    assert_memory_equal(out, "2026-11-25T04:05:06.123Z clockwerk[relay] 5 info: xxx", 53);
    char tiny[8];
    n = log_format(tiny, sizeof tiny, LOG_STYLE_PRIORITY, &f); /* even the prefix cut */
    assert_string_equal(tiny, "<6>cloc");
    assert_int_equal(n, 7);
    char one[1];
    assert_int_equal(log_format(one, sizeof one, LOG_STYLE_BARE, &f), 0);
    assert_string_equal(one, "");
}

static void test_priorities(void **state)
{
    (void)state;
    assert_int_equal(log_priority(LOG_LVL_DEBUG), 7);
    assert_int_equal(log_priority(LOG_LVL_INFO), 6);
    assert_int_equal(log_priority(LOG_LVL_WARN), 4);
    assert_int_equal(log_priority(LOG_LVL_ERROR), 3);
}

static void test_journal_stream_match(void **state)
{
    (void)state;
    assert_true(log_journal_stream_is("8:1234", 8, 1234));
    assert_true(log_journal_stream_is("2049:18446744073709551615", 2049, 18446744073709551615ull));
    assert_false(log_journal_stream_is("8:1235", 8, 1234)); /* stderr redirected since: another file */
    assert_false(log_journal_stream_is("9:1234", 8, 1234));
    assert_false(log_journal_stream_is(NULL, 8, 1234));
    assert_false(log_journal_stream_is("", 8, 1234));
    assert_false(log_journal_stream_is("8", 8, 1234));
    assert_false(log_journal_stream_is("8:", 8, 1234));
    assert_false(log_journal_stream_is(":1234", 8, 1234));
    assert_false(log_journal_stream_is("8:1234x", 8, 1234));
    assert_false(log_journal_stream_is("8:1234:5", 8, 1234));
    assert_false(log_journal_stream_is("-8:1234", 8, 1234));
    assert_false(log_journal_stream_is("8:-1234", 8, 1234));
    assert_false(log_journal_stream_is(" 8:1234", 8, 1234));
    assert_false(log_journal_stream_is("8:99999999999999999999999", 8, 1234)); /* overflow */
}

static void test_target_names(void **state)
{
    (void)state;
    assert_int_equal(log_target_parse("stderr"), LOG_TARGET_STDERR);
    assert_int_equal(log_target_parse("SysLog"), LOG_TARGET_SYSLOG);
    assert_int_equal(log_target_parse("journal"), LOG_TARGET_JOURNAL);
    assert_int_equal(log_target_parse("journald"), -1);
    assert_int_equal(log_target_parse(""), -1);
    assert_int_equal(log_target_parse(NULL), -1);
    assert_string_equal(log_target_name(LOG_TARGET_JOURNAL), "journal");
    assert_string_equal(log_target_name((enum log_target)7), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_is_todays_format),      cmocka_unit_test(test_priority_prefix_and_no_timestamp),
        cmocka_unit_test(test_bare_for_syslog_and_journal), cmocka_unit_test(test_controls_escaped_in_every_style),
        cmocka_unit_test(test_cut_to_the_buffer),           cmocka_unit_test(test_priorities),
        cmocka_unit_test(test_journal_stream_match),        cmocka_unit_test(test_target_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
