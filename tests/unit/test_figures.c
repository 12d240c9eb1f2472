/* tests/unit/test_figures.c — a check's figures (worker/figures.c): valid JSON (parsed back with json-c)
 * whatever is written, strings escaped (quotes, controls, bytes that are not UTF-8), never more than the budget,
 * members and array elements beyond it dropped and counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "common/wire/jsonshape.h"
#include "worker/figures.h"

static json_object *parse(const char *text)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
    enum json_tokener_error err = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (err != json_tokener_success || !o || !json_object_is_type(o, json_type_object)) {
        fprintf(stderr, "not a JSON object: %s\n", text);
        fail();
    }
    return o;
}

static void test_members(void **state)
{
    (void)state;
    char buf[CW_FIGURES_MAX + 1];
    struct figures f;
    figures_begin(&f, buf, sizeof buf);
    assert_string_equal(figures_end(&f), "{}");
    figures_begin(&f, buf, sizeof buf);
    assert_true(figures_str(&f, "version", "TLSv1.3"));
    assert_true(figures_int(&f, "rcode", 3));
    assert_true(figures_num(&f, "loss_pct", 33.3333, 2));
    assert_true(figures_num(&f, "rtt_ms", 2.0, 3));
    assert_true(figures_bool(&f, "verified", false));
    assert_string_equal(figures_end(&f),
                        "{\"version\":\"TLSv1.3\",\"rcode\":3,\"loss_pct\":33.33,\"rtt_ms\":2,\"verified\":false}");
    json_object_put(parse(buf));
}

static void test_escaping(void **state)
{
    (void)state;
    char buf[CW_FIGURES_MAX + 1];
    struct figures f;
    figures_begin(&f, buf, sizeof buf);
    const char reply[] = "-ERR \"x\"\\\r\n\x01\x7f caf\xc3\xa9 \xff\xfe\x00z";
    assert_true(figures_strn(&f, "reply", reply, sizeof reply - 1));
    figures_end(&f);
    assert_string_equal(buf,
                        "{\"reply\":\"-ERR \\\"x\\\"\\\\\\r\\n\\u0001\\u007f caf\xc3\xa9 \\u00ff\\u00fe\\u2400z\"}");
    json_object *o = parse(buf);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "reply", &v));
    /* é stays 2 bytes; \u00ff and \u00fe 2 bytes each of UTF-8, the NUL as U+2400 3 bytes */
    assert_int_equal(json_object_get_string_len(v), 28);
    json_object_put(o);
}

static void test_array_budget(void **state)
{
    (void)state;
    char buf[CW_FIGURES_MAX + 1];
    struct figures f;
    figures_begin(&f, buf, sizeof buf);
    figures_int(&f, "rcode", 0);
    figures_array_begin(&f, "answers");
    unsigned kept = 0;
    char answer[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(answer, sizeof answer, "192.0.2.%d some padding text", i);
        if (figures_array_str(&f, answer)) kept++;
    }
    figures_array_end(&f);
    figures_str(&f, "server", "127.0.0.1:53");
    figures_end(&f);
    assert_true(strlen(buf) <= CW_FIGURES_MAX);
    assert_true(kept > 20 && kept < 1000);
    json_object *o = parse(buf);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "answers", &v));
    assert_int_equal(json_object_array_length(v), kept);
    assert_true(json_object_object_get_ex(o, "answers_cut", &v));
    assert_int_equal(json_object_get_int(v), 1000 - kept);
    json_object_put(o);
}

/* Whatever is thrown at it, in a small budget: always a valid object within the budget. */
static void test_always_valid(void **state)
{
    (void)state;
    char buf[CW_FIGURES_MAX + 1];
    char value[3000];
    uint64_t seed = 99;
    for (int round = 0; round < 300; round++) {
        size_t cap = 64 + (size_t)(round * 7) % (CW_FIGURES_MAX + 1 - 64);
        struct figures f;
        figures_begin(&f, buf, cap);
        for (int m = 0; m < 12; m++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t n = (size_t)(seed >> 33) % 400;
            for (size_t i = 0; i < n; i++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                value[i] = (char)(seed >> 56);
            }
            switch ((seed >> 20) % 4) {
            case 0:
                figures_strn(&f, "s", value, n);
                break;
            case 1:
                figures_int(&f, "i", (int64_t)seed);
                break;
            case 2:
                figures_array_begin(&f, "a");
                for (int k = 0; k < 5; k++) {
                    value[n / (k + 1)] = '\0';
                    figures_array_str(&f, value);
                }
                break;
            default:
                figures_num(&f, "n", (double)(seed >> 11) / 1e3, 3);
                break;
            }
        }
        figures_end(&f);
        assert_true(strlen(buf) < cap);
        json_object_put(parse(buf));
    }
}

static void test_cut_members_counted(void **state)
{
    (void)state;
    char buf[128];
    struct figures f;
    figures_begin(&f, buf, sizeof buf);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(figures_str(&f, "reply", big));
    assert_true(figures_int(&f, "n", 1));
    figures_end(&f);
    assert_string_equal(buf, "{\"n\":1,\"figures_cut\":1}");
    figures_begin(&f, buf, sizeof buf);
    assert_false(figures_str(&f, "reply", big));
    figures_end(&f);
    assert_string_equal(buf, "{\"figures_cut\":1}");
}

/* Every byte value, alone and in a run of all 256, gives figures that pass the receivers' check (jsonshape: no
 * \u0000, which PostgreSQL's jsonb refuses) and that json-c parses back. */
static void test_every_byte_passes_jsonshape(void **state)
{
    (void)state;
    char buf[CW_FIGURES_MAX + 1];
    struct figures f;
    char all[256];
    for (int b = 0; b < 256; b++) {
        all[b] = (char)b;
        char one[3] = { 'a', (char)b, 'z' };
        figures_begin(&f, buf, sizeof buf);
        assert_true(figures_strn(&f, "reply", one, sizeof one));
        figures_end(&f);
        if (!json_is_object(buf, strlen(buf))) {
            fprintf(stderr, "byte 0x%02x: %s\n", b, buf);
            fail();
        }
        json_object_put(parse(buf));
    }
    figures_begin(&f, buf, sizeof buf);
    assert_true(figures_strn(&f, "reply", all, sizeof all));
    figures_end(&f);
    assert_true(json_is_object(buf, strlen(buf)));
    json_object_put(parse(buf));
}

/* A result whose only problem is its figures is sent without them (the problem said); one with another problem
 * is not sendable, its figures kept. */
static void test_result_without_bad_figures(void **state)
{
    (void)state;
    struct cw_result r = { .url = "tcp://127.0.0.1:3306",
                           .seq = 1,
                           .boot_id = 7,
                           .checked_at_us = 1700000000000000LL,
                           .kind = 1,
                           .figures = "{\"reply\":\"J\\u0000\"}" };
    const char *why = NULL;
    assert_null(figures_result_problem(&r, &why));
    assert_null(r.figures);
    assert_string_equal(why, "figures are not a JSON object");

    r.figures = "{\"reply\":\"J\"}";
    why = NULL;
    assert_null(figures_result_problem(&r, &why));
    assert_non_null(r.figures);
    assert_null(why);

    r.figures = "{\"reply\":\"J\\u0000\"}";
    r.checked_at_us = 1;
    why = NULL;
    assert_string_equal(figures_result_problem(&r, &why), "check time out of range");
    assert_non_null(r.figures);
    assert_null(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_array_budget),
        cmocka_unit_test(test_always_valid),
        cmocka_unit_test(test_cut_members_counted),
        cmocka_unit_test(test_every_byte_passes_jsonshape),
        cmocka_unit_test(test_result_without_bad_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
