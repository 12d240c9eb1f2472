/* tests/unit/test_urlindex.c — the storer's compact tables of issue 18: the URL index over a configuration's
 * endpoints (storer/urlindex.h: lookups, probing past collisions, a large table, duplicates and endpoints without a
 * URL) and the url -> endpoints.id cache bound to it (storer/backend.h store_ep_cache: ids by index, URLs not
 * configured beside, a rebind after a reload that reorders, removes and adds endpoints carries every id by URL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base/util.h"
#include "storer/backend.h"
#include "storer/urlindex.h"

/* n endpoints with URLs http://host/<base + i> (owned; free with free_eps). */
static struct cw_endpoint *make_eps(size_t n, int base)
{
    struct cw_endpoint *eps = calloc(n ? n : 1, sizeof *eps);
    for (size_t i = 0; i < n; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://host/%d", base + (int)i);
        eps[i].url = strdup(url);
    }
    return eps;
}

static void free_eps(struct cw_endpoint *eps, size_t n)
{
    for (size_t i = 0; i < n; i++) free(eps[i].url);
    free(eps);
}

static void test_index_lookups(void **state)
{
    (void)state;
    struct url_index x = { 0 };
    assert_int_equal(url_index_find(&x, "http://host/1"), -1); /* never built */
    struct cw_endpoint *eps = make_eps(12, 0);                  /* 12 in 32 slots: some probe past others */
    url_index_build(&x, eps, 12);
    assert_int_equal(x.mask + 1, 32);
    for (size_t i = 0; i < 12; i++) assert_int_equal(url_index_find(&x, eps[i].url), (long)i);
    assert_int_equal(url_index_find(&x, "http://host/12"), -1);
    assert_int_equal(url_index_find(&x, "http://host/1x"), -1);
    assert_int_equal(url_index_find(&x, NULL), -1);
    url_index_free(&x);
    assert_int_equal(url_index_find(&x, "http://host/1"), -1);
    free_eps(eps, 12);
}

/* Every slot probed: with all but one slot full every lookup of a missing URL walks to the empty one. */
static void test_index_collisions_and_growth(void **state)
{
    (void)state;
    size_t n = 200000;
    struct cw_endpoint *eps = make_eps(n, 0);
    struct url_index x = { 0 };
    url_index_build(&x, eps, n);
    assert_true(x.mask + 1 >= 2 * n);
    size_t probes_over_one = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(url_index_find(&x, eps[i].url), (long)i);
        probes_over_one += (x.slot[(size_t)cw_hash64(eps[i].url) & x.mask] != i + 1);
    }
    assert_true(probes_over_one > 0); /* the table did have collisions, and found through them */
    char url[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(url, sizeof url, "http://host/%d", (int)n + i);
        assert_int_equal(url_index_find(&x, url), -1);
    }
    url_index_build(&x, eps, 3); /* built again smaller: the old slots go */
    assert_int_equal(x.mask + 1, 16);
    assert_int_equal(url_index_find(&x, eps[2].url), 2);
    assert_int_equal(url_index_find(&x, eps[3].url), -1);
    url_index_free(&x);
    free_eps(eps, n);
}

static void test_index_duplicates_and_no_url(void **state)
{
    (void)state;
    struct cw_endpoint eps[4] = { { .url = "http://a/" }, { .url = NULL }, { .url = "http://a/" }, { .url = "b" } };
    struct url_index x = { 0 };
    url_index_build(&x, eps, 4);
    assert_int_equal(url_index_find(&x, "http://a/"), 0); /* the first */
    assert_int_equal(url_index_find(&x, "b"), 3);
    url_index_free(&x);
}

static void test_cache_bound(void **state)
{
    (void)state;
    struct cw_endpoint *eps = make_eps(100, 0);
    struct store_ep_cache c = { 0 };
    store_ep_cache_bind(&c, eps, 100);
    int64_t id = 0;
    assert_false(store_ep_cache_get(&c, eps[5].url, &id)); /* bound, nothing known yet */
    for (int i = 0; i < 100; i++) store_ep_cache_put(&c, eps[i].url, 1000 + i);
    store_ep_cache_put(&c, eps[5].url, 5); /* an update */
    store_ep_cache_put(&c, "http://gone/", 77);  /* not configured: beside */
    assert_int_equal(c.n, 101);
    assert_int_equal(c.n_others, 1); /* only the one beside */
    char probe[] = "http://host/5";  /* found by its bytes, not its pointer */
    assert_true(store_ep_cache_get(&c, probe, &id));
    assert_int_equal(id, 5);
    assert_true(store_ep_cache_get(&c, "http://gone/", &id));
    assert_int_equal(id, 77);
    store_ep_cache_clear(&c); /* forgets the ids, stays bound */
    assert_int_equal(c.n, 0);
    assert_false(store_ep_cache_get(&c, eps[7].url, &id));
    assert_false(store_ep_cache_get(&c, "http://gone/", &id));
    store_ep_cache_put(&c, eps[7].url, 7);
    assert_int_equal(c.n_others, 0);
    assert_true(store_ep_cache_get(&c, eps[7].url, &id));
    store_ep_cache_free(&c);
    free_eps(eps, 100);
}

/* A reload: the new configuration reverses the order, drops 0..9, adds 100..109, and configures a URL that was
 * beside; every id follows its URL, the removed ones' stay known (beside), the new ones are unknown. */
static void test_cache_rebind(void **state)
{
    (void)state;
    struct cw_endpoint *old = make_eps(100, 0);
    struct store_ep_cache c = { 0 };
    store_ep_cache_bind(&c, old, 100);
    for (int i = 0; i < 100; i++) store_ep_cache_put(&c, old[i].url, 1000 + i);
    store_ep_cache_put(&c, "http://host/105", 5105); /* beside until the reload configures it */
    struct cw_endpoint *fresh = make_eps(100, 10);
    for (size_t i = 0; i < 50; i++) { /* reversed */
        char *t = fresh[i].url;
        fresh[i].url = fresh[99 - i].url;
        fresh[99 - i].url = t;
    }
    store_ep_cache_bind(&c, fresh, 100);
    free_eps(old, 100); /* the old configuration may go now */
    int64_t id = 0;
    char url[64];
    for (int i = 0; i < 110; i++) {
        snprintf(url, sizeof url, "http://host/%d", i);
        bool known = store_ep_cache_get(&c, url, &id);
        if (i == 105) {
            assert_true(known);
            assert_int_equal(id, 5105);
        } else if (i < 100) {
            assert_true(known);
            assert_int_equal(id, 1000 + i);
        } else {
            assert_false(known);
        }
    }
    assert_int_equal(c.n, 101);
    assert_int_equal(url_index_find(&c.idx, "http://host/105"), 4); /* bound: in place, not beside */
    assert_int_equal(c.ids[4], 5105);
    assert_int_equal(c.n_others, 10); /* the removed 0..9 */
    store_ep_cache_free(&c);
    free_eps(fresh, 100);
}

/* A reload in place: every third URL of 30,000 replaced (one of them by a URL that was beside); the index re-lists
 * only those (the slots stay the same array), finds every new URL and none of the replaced; the ids of the others
 * stay, the replaced ones' go beside. */
static void test_cache_rebind_in_place(void **state)
{
    (void)state;
    size_t n = 30000;
    struct cw_endpoint *old = make_eps(n, 0);
    struct store_ep_cache c = { 0 };
    store_ep_cache_bind(&c, old, n);
    for (size_t i = 0; i < n; i++) store_ep_cache_put(&c, old[i].url, 1000 + (int64_t)i);
    store_ep_cache_put(&c, "http://host/x3", 333); /* beside until the reload configures it */
    uint32_t *slots = c.idx.slot;
    struct cw_endpoint *fresh = make_eps(n, 0);
    for (size_t i = 0; i < n; i += 3) {
        char url[64];
        snprintf(url, sizeof url, "http://host/x%zu", i);
        free(fresh[i].url);
        fresh[i].url = strdup(url);
    }
    store_ep_cache_bind(&c, fresh, n);
    assert_ptr_equal(c.idx.slot, slots); /* in place: not built again */
    free_eps(old, n);
    int64_t id = 0;
    char url[64];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(url_index_find(&c.idx, fresh[i].url), (long)i);
        bool known = store_ep_cache_get(&c, fresh[i].url, &id);
        if (i == 3) {
            assert_true(known);
            assert_int_equal(id, 333);
        } else if (i % 3 == 0) {
            assert_false(known);
        } else {
            assert_true(known);
            assert_int_equal(id, 1000 + (int64_t)i);
        }
        snprintf(url, sizeof url, "http://host/%zu", i); /* the replaced: beside, with their ids */
        if (i % 3 == 0) {
            assert_int_equal(url_index_find(&c.idx, url), -1);
            assert_true(store_ep_cache_get(&c, url, &id));
            assert_int_equal(id, 1000 + (int64_t)i);
        }
    }
    assert_int_equal(c.n_others, n / 3);
    assert_int_equal(c.n, n - n / 3 + 1 + n / 3);
    store_ep_cache_free(&c);
    free_eps(fresh, n);
}

/* An URL that moved to another index is not a reload in place: nothing changes, the caller builds. */
static void test_index_rebind_refuses_a_move(void **state)
{
    (void)state;
    struct cw_endpoint *eps = make_eps(10, 0), *next = make_eps(10, 0);
    struct url_index x = { 0 };
    url_index_build(&x, eps, 10);
    free(next[2].url);
    next[2].url = strdup(eps[5].url);
    size_t k = 0;
    assert_null(url_index_rebind(&x, next, 10, &k));
    assert_int_equal(k, SIZE_MAX);
    assert_ptr_equal(x.eps, eps);
    assert_null(url_index_rebind(&x, next, 9, &k)); /* another count */
    free(next[2].url);
    next[2].url = strdup("http://elsewhere/");
    size_t *changed = url_index_rebind(&x, next, 10, &k); /* now it applies: one changed */
    assert_int_equal(k, 1);
    assert_non_null(changed);
    assert_int_equal(changed[0], 2);
    free(changed);
    assert_int_equal(url_index_find(&x, "http://elsewhere/"), 2);
    assert_int_equal(url_index_find(&x, "http://host/2"), -1);
    for (size_t i = 0; i < 10; i++) assert_int_equal(url_index_find(&x, next[i].url), (long)i);
    url_index_free(&x);
    free_eps(eps, 10);
    free_eps(next, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_lookups),
        cmocka_unit_test(test_index_collisions_and_growth),
        cmocka_unit_test(test_index_duplicates_and_no_url),
        cmocka_unit_test(test_cache_bound),
        cmocka_unit_test(test_cache_rebind),
        cmocka_unit_test(test_cache_rebind_in_place),
        cmocka_unit_test(test_index_rebind_refuses_a_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
