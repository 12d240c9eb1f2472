/* tests/unit/test_config_parsers.c — the small parsers behind issue 14's keys, on their own: JSON paths into
 * RFC 6901 pointers, json/header conditions, status ranges, `send` escapes and `dns_server` forms (the keys
 * themselves, in a loaded file, are tests/unit/test_config_types.c's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/config/config.h"
#include "common/config/config_types.h"

/* the spec of a hand-built endpoint, written by the test (a loaded one is immutable) */
#define MUT(spec) ((struct cw_check_spec *)(spec))

static void test_json_paths(void **state)
{
    (void)state;
    static const struct {
        const char *path, *pointer;
    } good[] = {
        { "$", "" },
        { "$.status", "/status" },
        { "$.queue.depth", "/queue/depth" },
        { "$.items[1].id", "/items/1/id" },
        { "$[0]", "/0" },
        { "$['odd.key']", "/odd.key" },
        { "$[\"a b\"].c", "/a b/c" },
        { "$['a/b~c']", "/a~1b~0c" },
        { "$.x~y", "/x~0y" },
    };
    char out[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const char *why = cw_json_path_to_pointer(good[i].path, out, sizeof out);
        if (why) fprintf(stderr, "%s: %s\n", good[i].path, why);
        assert_null(why);
        assert_string_equal(out, good[i].pointer);
    }
    static const char *const bad[] = { "", "status", "$.", "$..a", "$[01]", "$[-1]", "$[*]", "$['a]", "$.a b" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_non_null(cw_json_path_to_pointer(bad[i], out, sizeof out));
    assert_non_null(cw_json_path_to_pointer("$.abcdefgh", out, 6)); /* too long for out */
}

static void test_conditions(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new();
    struct cw_condition c;
    assert_null(cw_parse_condition(a, "$.status == \"UP\"", true, &c));
    assert_string_equal(c.subject, "/status");
    assert_int_equal(c.op, CW_OP_EQ);
    assert_int_equal(c.value_kind, CW_VALUE_STRING);
    assert_string_equal(c.value, "UP");
    assert_string_equal(c.text, "$.status == \"UP\"");
    assert_null(cw_parse_condition(a, "$.q.depth<=-1.5e2", true, &c));
    assert_int_equal(c.op, CW_OP_LE);
    assert_int_equal(c.value_kind, CW_VALUE_NUMBER);
    assert_string_equal(c.value, "-1.5e2");
    assert_null(cw_parse_condition(a, "$.items exists", true, &c));
    assert_int_equal(c.op, CW_OP_EXISTS);
    assert_null(c.value);
    assert_null(cw_parse_condition(a, "$.items !exists", true, &c));
    assert_int_equal(c.op, CW_OP_NOT_EXISTS);
    assert_null(cw_parse_condition(a, "$.name ~ \"^a\\\"b\"", true, &c));
    assert_int_equal(c.op, CW_OP_MATCHES);
    assert_string_equal(c.value, "^a\"b");
    assert_null(cw_parse_condition(a, "$.ok != true", true, &c));
    assert_int_equal(c.value_kind, CW_VALUE_BOOL);
    assert_int_equal(c.op, CW_OP_NE);
    assert_null(cw_parse_condition(a, "$.gone == null", true, &c));
    assert_int_equal(c.value_kind, CW_VALUE_NULL);
    assert_null(cw_parse_condition(a, "$.tags contains \"x\"", true, &c));
    assert_int_equal(c.op, CW_OP_CONTAINS);
    assert_null(cw_parse_condition(a, "$['a b'] >= 3", true, &c));
    assert_string_equal(c.subject, "/a b");
    assert_int_equal(c.op, CW_OP_GE);
    assert_null(cw_parse_condition(a, "Content-Type ~ ^application/json", false, &c));
    assert_string_equal(c.subject, "Content-Type");
    assert_int_equal(c.op, CW_OP_MATCHES);
    assert_int_equal(c.value_kind, CW_VALUE_STRING);
    assert_string_equal(c.value, "^application/json");
    assert_null(cw_parse_condition(a, "X-Version == 2", false, &c));
    assert_string_equal(c.value, "2");
    assert_null(cw_parse_condition(a, "X-Debug !exists", false, &c));
    assert_int_equal(c.op, CW_OP_NOT_EXISTS);
    assert_null(cw_parse_condition(a, "Server == \"a b\"", false, &c));
    assert_string_equal(c.value, "a b");
    assert_non_null(cw_parse_condition(a, "$.a ==", true, &c));
    assert_non_null(cw_parse_condition(a, "$.a ~ 5", true, &c));
    assert_non_null(cw_parse_condition(a, "$.a contains true", true, &c));
    assert_non_null(cw_parse_condition(a, "$.a == \"x", true, &c));
    assert_non_null(cw_parse_condition(a, "== 1", false, &c));
    assert_non_null(cw_parse_condition(a, "$.a existsx", true, &c));
    cw_arena_free(a);
}

static void test_status_ranges(void **state)
{
    (void)state;
    struct cw_status_range r;
    assert_true(cw_parse_status_range("2xx", &r));
    assert_int_equal(r.lo, 200);
    assert_int_equal(r.hi, 299);
    assert_true(cw_parse_status_range("5XX", &r));
    assert_int_equal(r.lo, 500);
    assert_true(cw_parse_status_range("200-204", &r));
    assert_int_equal(r.hi, 204);
    assert_true(cw_parse_status_range("301-301", &r));
    static const char *const bad[] = { "6xx",     "0xx",  "2x",   "2xxx",     "200",      "300-200", "99-200",
                                       "200-600", "200-", "-200", "2 00-300", "200-3000", "abc" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cw_parse_status_range(bad[i], &r)) fprintf(stderr, "accepted '%s'\n", bad[i]);
        assert_false(cw_parse_status_range(bad[i], &r));
    }
    struct cw_check_spec spec = { 0 };
    struct cw_endpoint ep = { .spec = &spec };
    struct cw_status_range ranges[] = { { 200, 299 } };
    MUT(ep.spec)->status_ranges = ranges;
    MUT(ep.spec)->n_status_ranges = 1;
    assert_true(config_status_expected(&ep, 250));
    assert_false(config_status_expected(&ep, 302)); /* ranges alone replace the default 200..399 */
}

static void test_escapes_and_servers(void **state)
{
    (void)state;
    char out[64];
    size_t n = 0;
    assert_int_equal(cw_decode_escapes("a\\r\\n\\t\\\\\\x00\\x7f", out, &n), -1);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "a\r\n\t\\\0\x7f", 7);
    assert_int_equal(cw_decode_escapes("ab\\", out, &n), 3);
    assert_int_equal(cw_decode_escapes("\\xg0", out, &n), 1);
    assert_int_equal(cw_decode_escapes("\\x-1", out, &n), 1);
    assert_int_equal(cw_decode_escapes("\\x 4", out, &n), 1);
    assert_int_equal(cw_decode_escapes("\\x4", out, &n), 1);
    assert_int_equal(cw_decode_escapes("\\xAb", out, &n), -1);
    assert_int_equal(n, 1);
    assert_int_equal((unsigned char)out[0], 0xab);
    char ip[64];
    int port;
    bool v6;
    assert_true(cw_parse_dns_server("9.9.9.9", ip, sizeof ip, &port, &v6));
    assert_string_equal(ip, "9.9.9.9");
    assert_int_equal(port, 53);
    assert_false(v6);
    assert_true(cw_parse_dns_server("127.0.0.1:5353", ip, sizeof ip, &port, &v6));
    assert_int_equal(port, 5353);
    assert_true(cw_parse_dns_server("[::1]:5353", ip, sizeof ip, &port, &v6));
    assert_string_equal(ip, "::1");
    assert_true(v6);
    assert_true(cw_parse_dns_server("2001:db8::1", ip, sizeof ip, &port, &v6));
    assert_int_equal(port, 53);
    static const char *const bad[] = { "",     "x",      "1.2.3.4:",  "1.2.3.4:65536", "1.2.3.4:+5",
                                       "[::1", "[::1]x", "[1.2.3.4]", "1.2.3:53",      "::g" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(cw_parse_dns_server(bad[i], ip, sizeof ip, &port, &v6));
    assert_true(cw_push_token_ok("0123456789abcdef"));
    assert_false(cw_push_token_ok("0123456789abcde"));
    assert_false(cw_push_token_ok("0123456789abcdef/"));
    assert_string_equal(cw_dns_type_name(33), "SRV");
    assert_null(cw_dns_type_name(12));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_paths),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_status_ranges),
        cmocka_unit_test(test_escapes_and_servers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
