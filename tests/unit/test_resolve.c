/* tests/unit/test_resolve.c — the dns checks' channels (worker/resolve.c): every dns_server spelling the
 * configuration accepts gives a channel with the address and port c-ares was meant to get ("[::1]" included,
 * which c-ares 1.18's csv parser refuses as written), spellings of one server share a channel, and a server
 * that cannot be set up is not set up again at every check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "engine_test_util.h"
#include "worker/resolve.h"

/* The one server of ch as "family addr port". */
static void server_of(ares_channel ch, char *out, size_t len)
{
    struct ares_addr_port_node *list = NULL;
    assert_int_equal(ares_get_servers_ports(ch, &list), ARES_SUCCESS);
    assert_non_null(list);
    assert_null(list->next);
    char addr[INET6_ADDRSTRLEN];
    inet_ntop(list->family, &list->addr, addr, sizeof addr);
    snprintf(out, len, "%s %s %d", list->family == AF_INET6 ? "v6" : "v4", addr, list->udp_port);
    ares_free_data(list);
}

static void test_server_spellings(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct resolver *r = engine_resolver(g.e);
    char err[256] = "", got[128];
    static const struct {
        const char *server, *want;
    } cases[] = {
        { "[::1]", "v6 ::1 53" },
        { "[::1]:5353", "v6 ::1 5353" },
        { "::1", "v6 ::1 53" },
        { "127.0.0.1", "v4 127.0.0.1 53" },
        { "127.0.0.1:5300", "v4 127.0.0.1 5300" },
        { "[2001:db8::53]:53", "v6 2001:db8::53 53" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ares_channel ch = resolver_channel(r, cases[i].server, ARES_FLAG_NOCHECKRESP, err, sizeof err);
        if (!ch) fprintf(stderr, "%s: %s\n", cases[i].server, err);
        assert_non_null(ch);
        server_of(ch, got, sizeof got);
        assert_string_equal(got, cases[i].want);
    }
    ares_channel a = resolver_channel(r, "[::1]", ARES_FLAG_NOCHECKRESP, err, sizeof err);
    assert_ptr_equal(a, resolver_channel(r, "::1", ARES_FLAG_NOCHECKRESP, err, sizeof err));
    assert_ptr_equal(a, resolver_channel(r, "[::1]:53", ARES_FLAG_NOCHECKRESP, err, sizeof err));
    rig_close(&g);
}

static void test_failure_is_kept(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct resolver *r = engine_resolver(g.e);
    char err[256] = "", again[256] = "";
    assert_null(resolver_channel(r, "192.0.2.1:99999", ARES_FLAG_NOCHECKRESP, err, sizeof err));
    assert_non_null(strstr(err, "cannot set up a resolver for 192.0.2.1:99999"));
    unsigned setups = resolver_setups(r);
    for (int i = 0; i < 100; i++)
        assert_null(resolver_channel(r, "192.0.2.1:99999", ARES_FLAG_NOCHECKRESP, again, sizeof again));
    assert_string_equal(again, err);
    assert_int_equal(resolver_setups(r), setups);
    rig_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_spellings),
        cmocka_unit_test(test_failure_is_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
