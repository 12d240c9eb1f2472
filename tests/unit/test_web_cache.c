/* tests/unit/test_web_cache.c — clockwerk-web's cache of whole answers (web/cache.c) with counted fake values: a
 * hit within the TTL and a miss after it, keys (path and arguments, a value given without '=', too long a key),
 * the bounds in entries and bytes (oldest out first, a hostile client cycling queries never grows it), and the
 * drop of everything on a new stamp (a reload, a new history snapshot). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "web/cache.h"

#define NOW INT64_C(1000000000000)

static int released[1024];
static int values[1024]; /* fake values: &values[i] */

static void count_release(void *v) { released[(int *)v - values]++; }

static void setup_cache(struct web_cache *c, struct web_cache_stamp *stamp)
{
    memset(released, 0, sizeof released);
    web_cache_init(c, count_release);
    *stamp = (struct web_cache_stamp){ .generation = 1, .history = &values[0], .history_read_at_ms = 5, .cfg = c };
    web_cache_sweep(c, stamp, NOW);
}

static void key_of(struct cw_buf *k, const char *path, const char *page)
{
    struct web_arg args[1] = { { "page", page } };
    assert_true(web_cache_key(k, path, args, page ? 1 : 0));
}

static void test_hit_then_expiry(void **state)
{
    (void)state;
    struct web_cache c;
    struct web_cache_stamp st;
    setup_cache(&c, &st);
    struct cw_buf k = { 0 };
    key_of(&k, "/", "2");
    unsigned status = 0;
    assert_null(web_cache_get(&c, &k, NOW, &status));
    assert_true(web_cache_put(&c, &k, &values[1], 200, 1000, NOW));
    assert_ptr_equal(web_cache_get(&c, &k, NOW + WEB_CACHE_TTL_NS - 1, &status), &values[1]);
    assert_int_equal(status, 200);
    assert_int_equal(released[1], 0);
    assert_null(web_cache_get(&c, &k, NOW + WEB_CACHE_TTL_NS, &status)); /* expired: dropped, released once */
    assert_int_equal(released[1], 1);
    assert_int_equal(c.n, 0);
    assert_int_equal(c.bytes, 0);
    /* the sweep drops expired entries too, in the order they were made */
    assert_true(web_cache_put(&c, &k, &values[2], 200, 10, NOW));
    key_of(&k, "/", "3");
    assert_true(web_cache_put(&c, &k, &values[3], 200, 10, NOW + 500000000));
    web_cache_sweep(&c, &st, NOW + WEB_CACHE_TTL_NS);
    assert_int_equal(released[2], 1);
    assert_int_equal(released[3], 0);
    assert_int_equal(c.n, 1);
    web_cache_free(&c);
    assert_int_equal(released[3], 1);
    cw_buf_free(&k);
}

static void test_keys(void **state)
{
    (void)state;
    struct web_cache c;
    struct web_cache_stamp st;
    setup_cache(&c, &st);
    struct cw_buf a = { 0 }, b = { 0 };
    struct web_arg with_value[1] = { { "page", "" } }, without[1] = { { "page", NULL } };
    assert_true(web_cache_key(&a, "/", with_value, 1)); /* ?page= */
    assert_true(web_cache_key(&b, "/", without, 1));    /* ?page */
    assert_false(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    struct web_arg ab[2] = { { "a", "b" }, { "c", NULL } }, a_bc[1] = { { "a", "b\0c" } }; /* "b" then key "c" */
    assert_true(web_cache_key(&a, "/x", ab, 2));
    assert_true(web_cache_key(&b, "/x", a_bc, 1));
    assert_false(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    unsigned status;
    assert_true(web_cache_put(&c, &a, &values[1], 200, 1, NOW));
    assert_null(web_cache_get(&c, &b, NOW, &status));
    key_of(&b, "/api/v1/endpoints", NULL);
    assert_null(web_cache_get(&c, &b, NOW, &status));
    assert_ptr_equal(web_cache_get(&c, &a, NOW, &status), &values[1]);
    /* too long a key: not a key */
    char big[WEB_CACHE_KEY_MAX + 1];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct web_arg long_arg[1] = { { "page", big } };
    assert_false(web_cache_key(&a, "/", long_arg, 1));
    assert_false(web_cache_put(&c, &a, &values[2], 200, 1, NOW));
    assert_true(web_cache_route("/"));
    assert_true(web_cache_route("/api/v1/endpoints"));
    assert_false(web_cache_route("/healthz"));
    assert_false(web_cache_route("/metrics"));
    web_cache_free(&c);
    cw_buf_free(&a);
    cw_buf_free(&b);
}

static void test_bounds(void **state)
{
    (void)state;
    struct web_cache c;
    struct web_cache_stamp st;
    setup_cache(&c, &st);
    struct cw_buf k = { 0 };
    char page[16];
    /* a client cycling through 1000 queries: never more than the bound, the oldest go first */
    for (int i = 0; i < 1000; i++) {
        snprintf(page, sizeof page, "%d", i);
        key_of(&k, "/", page);
        assert_true(web_cache_put(&c, &k, &values[i], 200, 100, NOW + i));
        assert_true(c.n <= WEB_CACHE_MAX_ENTRIES);
    }
    assert_int_equal(c.n, WEB_CACHE_MAX_ENTRIES);
    for (int i = 0; i < 1000 - WEB_CACHE_MAX_ENTRIES; i++) assert_int_equal(released[i], 1);
    for (int i = 1000 - WEB_CACHE_MAX_ENTRIES; i < 1000; i++) assert_int_equal(released[i], 0);
    assert_int_equal(c.evicted, 1000 - WEB_CACHE_MAX_ENTRIES);
    web_cache_free(&c);
    /* bytes: three answers of 40% of the bound fit two at a time; one over the bound is refused */
    setup_cache(&c, &st);
    size_t big = WEB_CACHE_MAX_BYTES / 5 * 2;
    for (int i = 0; i < 3; i++) {
        snprintf(page, sizeof page, "%d", i);
        key_of(&k, "/", page);
        assert_true(web_cache_put(&c, &k, &values[i], 200, big, NOW));
        assert_true(c.bytes <= WEB_CACHE_MAX_BYTES);
    }
    assert_int_equal(c.n, 2);
    assert_int_equal(released[0], 1);
    key_of(&k, "/", "huge");
    assert_false(web_cache_put(&c, &k, &values[9], 200, WEB_CACHE_MAX_BYTES, NOW));
    assert_int_equal(released[9], 0); /* the caller keeps it */
    assert_int_equal(c.n, 2);
    /* the same key again replaces its entry */
    key_of(&k, "/", "2");
    assert_true(web_cache_put(&c, &k, &values[5], 200, 10, NOW));
    assert_int_equal(released[2], 1);
    assert_int_equal(c.n, 2);
    web_cache_free(&c);
    cw_buf_free(&k);
}

static void test_invalidation(void **state)
{
    (void)state;
    struct web_cache c;
    struct web_cache_stamp st;
    setup_cache(&c, &st);
    struct cw_buf k = { 0 };
    unsigned status;
    struct web_cache_stamp next[4] = { st, st, st, st };
    next[0].generation++;         /* a reload */
    next[1].history = &values[1]; /* a new snapshot */
    next[2].history_read_at_ms++; /* a new snapshot at a freed one's address */
    next[3].cfg = &k;             /* a new configuration */
    for (int i = 0; i < 4; i++) {
        key_of(&k, "/", NULL);
        assert_true(web_cache_put(&c, &k, &values[10 + i], 200, 10, NOW));
        web_cache_sweep(&c, &st, NOW + 1); /* the same stamp: kept */
        assert_ptr_equal(web_cache_get(&c, &k, NOW + 1, &status), &values[10 + i]);
        web_cache_sweep(&c, &next[i], NOW + 2);
        assert_int_equal(released[10 + i], 1);
        assert_int_equal(c.n, 0);
        assert_null(web_cache_get(&c, &k, NOW + 2, &status));
        web_cache_sweep(&c, &st, NOW + 2); /* back to the first stamp for the next round */
    }
    assert_int_equal(c.dropped, 4);
    web_cache_free(&c);
    cw_buf_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_then_expiry),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_invalidation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
