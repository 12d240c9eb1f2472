/* tests/unit/test_check_spec.c — the interned check spec (issue 18, common/config/config_spec.c): equal details are
 * one spec, in config_load's result and in a snapshot's reader; cw_check_spec_equal compares deeply; the snapshot's
 * spec table is refused when an endpoint names a spec it does not hold; a reader's spec keeps the secrets of the
 * probe only for a worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest_util.h"
#include "common/base/le.h"
#include "common/config/config.h"
#include "common/config/config_arena.h"
#include "common/config/config_priv.h"
#include "common/config/config_spec.h"

static const char *CONF = "monitor = { endpoints = (\n"
                          " { url = \"http://a.test/\"; headers = [\"X-A: 1\"]; keyword = \"ok\"; },\n"
                          " { url = \"http://b.test/\"; headers = [\"X-A: 1\"]; keyword = \"ok\"; },\n"
                          " { url = \"http://c.test/\"; headers = [\"X-A: 1\"]; keyword = \"ok\"; timeout = 3.0; },\n"
                          " { url = \"http://d.test/\"; headers = [\"X-A: 2\"]; keyword = \"ok\"; },\n"
                          " { type = \"tcp\"; name = \"t1\"; host = \"e.test\"; port = 25; expect = \"220\"; },\n"
                          " { type = \"tcp\"; name = \"t2\"; host = \"f.test\"; port = 25; expect = \"220\"; }\n"
                          "); };\n";

static void check_sharing(const struct cw_config *c)
{
    assert_int_equal(c->n_endpoints, 6);
    const struct cw_endpoint *e = c->endpoints;
    for (size_t i = 0; i < c->n_endpoints; i++) assert_non_null(e[i].spec);
    assert_ptr_equal(e[0].spec, e[1].spec);
    assert_ptr_equal(e[0].spec, e[2].spec); /* timeout is the endpoint's */
    assert_ptr_not_equal(e[0].spec, e[3].spec);
    assert_ptr_equal(e[4].spec, e[5].spec); /* host and port too */
    assert_string_equal(e[3].spec->headers[0], "X-A: 2");
    assert_string_equal(e[4].spec->expect, "220");
    assert_string_equal(e[5].host, "f.test");
}

static void test_load_interns(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, CONF);
    assert_non_null(c);
    check_sharing(c);
    /* and a snapshot's readers share them the same way */
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(config_snapshot_encode(c, &buf, &len, err, sizeof err), 0);
    struct cw_config *r = config_snapshot_decode(buf, len, err, sizeof err);
    assert_non_null(r);
    check_sharing(r);
    for (size_t i = 0; i < c->n_endpoints; i++)
        assert_true(cw_check_spec_equal(c->endpoints[i].spec, r->endpoints[i].spec));
    assert_false(cw_check_spec_equal(c->endpoints[0].spec, r->endpoints[3].spec));
    config_free(r);
    free(buf);
    config_free(c);
}

static void test_equal_and_hash(void **state)
{
    (void)state;
    char *h1[] = { "A: 1", "B: 2" }, *h2[] = { "A: 1", "B: 3" };
    char a1[] = "A: 1", b2[] = "B: 2";
    char *h3[] = { a1, b2 }; /* equal text, other pointers */
    struct cw_check_spec x = { .method = CW_METHOD_GET, .headers = h1, .n_headers = 2, .verify_tls = true };
    struct cw_check_spec y = x, z = x;
    y.headers = h3;
    z.headers = h2;
    assert_true(cw_check_spec_equal(&x, &y));
    assert_int_equal(cw_check_spec_hash(&x), cw_check_spec_hash(&y));
    assert_false(cw_check_spec_equal(&x, &z));
    assert_true(cw_check_spec_equal(NULL, &cw_check_spec_none));
    assert_false(cw_check_spec_equal(NULL, &x));
    struct cw_check_spec body = { .body = "a\0b", .body_len = 3 }, body2 = { .body = "a\0c", .body_len = 3 };
    assert_false(cw_check_spec_equal(&body, &body2)); /* the bytes past a NUL count */
    struct cw_check_spec pw = x;
    pw.client_key_password = "secret";
    assert_false(cw_check_spec_equal(&x, &pw));

    struct cw_spec_set *set = cw_spec_set_new();
    struct cw_arena *arena = cw_arena_new();
    const struct cw_check_spec *kx = cw_spec_set_intern(set, arena, &x);
    assert_ptr_not_equal(kx, &x); /* a copy */
    assert_ptr_equal(cw_spec_set_intern(set, arena, &y), kx);
    assert_ptr_not_equal(cw_spec_set_intern(set, arena, &z), kx);
    for (int i = 0; i < 1000; i++) { /* the table grows */
        struct cw_check_spec s = { .icmp_count = i };
        cw_spec_set_intern(set, arena, &s);
    }
    assert_int_equal(cw_spec_set_count(set), 1002);
    assert_ptr_equal(cw_spec_set_intern(set, arena, &x), kx);
    cw_spec_set_free(set);
    cw_arena_free(arena);
}

/* The offset of the u32 spec index in the record of the endpoint whose url is url (its name unset). */
static size_t spec_index_at(const unsigned char *buf, size_t len, const char *url)
{
    size_t n = strlen(url);
    for (size_t i = 32; i + n + 9 < len; i++)
        if (memcmp(buf + i, url, n) == 0 && buf[i + n] == 0 && le_get_u32(buf + i - 4) == n)
            return i + n + 1 + 4; /* after the url's NUL and the name's NULL marker */
    fail();
    return 0;
}

static void test_index_checked(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, CONF);
    assert_non_null(c);
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(config_snapshot_encode(c, &buf, &len, err, sizeof err), 0);
    size_t at = spec_index_at(buf, len, "http://d.test/");
    assert_int_equal(le_get_u32(buf + at), 1);
    le_put_u32(buf + at, 0); /* another spec that exists: read as it says */
    le_put_u64(buf + 24, cw_snapshot_checksum(buf + 32, len - 32));
    struct cw_config *r = config_snapshot_decode(buf, len, err, sizeof err);
    assert_non_null(r);
    assert_ptr_equal(r->endpoints[3].spec, r->endpoints[0].spec);
    config_free(r);
    le_put_u32(buf + at, 3); /* the table holds 3 */
    le_put_u64(buf + 24, cw_snapshot_checksum(buf + 32, len - 32));
    assert_null(config_snapshot_decode(buf, len, err, sizeof err));
    assert_non_null(strstr(err, "malformed"));
    free(buf);
    config_free(c);
}

static void test_worker_secrets(void **state)
{
    struct ct *t = *state;
    ct_write(t, "key.pass", "hunter2\n", 0600);
    ct_write(t, "c.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    ct_write(t, "k.pem", "-----BEGIN PRIVATE KEY-----\n", 0600);
    char conf[4096];
    snprintf(conf, sizeof conf,
             "monitor = { endpoints = (\n"
             " { url = \"https://a.test/\"; client_cert = \"%s/c.pem\"; client_key = \"%s/k.pem\";"
             " client_key_password_file = \"key.pass\"; proxy = \"http://u:pw@proxy.test:3128\"; },\n"
             " { url = \"https://b.test/\"; client_cert = \"%s/c.pem\"; client_key = \"%s/k.pem\";"
             " client_key_password_file = \"key.pass\"; proxy = \"http://u:pw@proxy.test:3128\"; }\n"
             "); };\n",
             t->dir, t->dir, t->dir, t->dir);
    struct cw_config *c = ct_load(t, conf);
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_ptr_equal(c->endpoints[0].spec, c->endpoints[1].spec);
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/config.snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    setenv("CLOCKWERK_SECRETS", "web", 1);
    struct cw_config *web = config_snapshot_read(path, 0, 0, err, sizeof err);
    struct cw_config *worker = config_snapshot_read(path, 0, 1, err, sizeof err);
    unsetenv("CLOCKWERK_SECRETS");
    assert_non_null(web);
    assert_non_null(worker);
    assert_null(web->endpoints[0].spec->client_key_password);
    assert_null(web->endpoints[0].spec->proxy);
    assert_non_null(strstr(web->endpoints[0].spec->client_cert, "/c.pem"));
    assert_string_equal(worker->endpoints[0].spec->client_key_password, "hunter2");
    assert_non_null(worker->endpoints[1].spec->proxy);
    config_free(web);
    config_free(worker);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_interns, ct_setup, ct_teardown),
        cmocka_unit_test(test_equal_and_hash),
        cmocka_unit_test_setup_teardown(test_index_checked, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_worker_secrets, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
