/* tests/unit/test_config_keyset.c — the set of what must be unique among the endpoints (common/config/config_keyset.h):
 * keys found by equality (not by pointer), absent keys not found, entries at the caller's indexes with their lines,
 * many keys alike but their tail (the shape of a 500,000-endpoint file), an empty set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config/config_keyset.h"

static void test_empty(void **state)
{
    (void)state;
    struct cfg_keyset k;
    cfg_keyset_init(&k, 0);
    assert_int_equal(cfg_keyset_find(&k, "x", cfg_keyset_hash("x")), -1);
    cfg_keyset_prefetch(&k, 1); /* nothing allocated yet: a no-op */
    cfg_keyset_free(&k);
    cfg_keyset_init(&k, 1);
    cfg_keyset_add(&k, "", cfg_keyset_hash(""), 0, 9);
    assert_int_equal(cfg_keyset_find(&k, "", cfg_keyset_hash("")), 0);
    assert_int_equal(k.entry[0].line, 9);
    cfg_keyset_free(&k);
}

static void test_many_alike(void **state)
{
    (void)state;
    enum { N = 200000 };
    struct cfg_keyset k;
    cfg_keyset_init(&k, N);
    char(*keys)[40] = malloc(N * sizeof *keys);
    assert_non_null(keys);
    /* entries at the caller's indexes, not in order of addition: odd ones first */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = (size_t)(1 - pass); i < N; i += 2) {
            snprintf(keys[i], sizeof keys[i], "http://127.0.0.2:9/e/e/%zu", i);
            uint64_t h = cfg_keyset_hash(keys[i]);
            assert_int_equal(cfg_keyset_find(&k, keys[i], h), -1);
            cfg_keyset_add(&k, keys[i], h, i, (unsigned)i + 1);
        }
    char probe[40];
    for (size_t i = 0; i < N; i++) {
        snprintf(probe, sizeof probe, "http://127.0.0.2:9/e/e/%zu", i); /* an equal key at another address */
        long at = cfg_keyset_find(&k, probe, cfg_keyset_hash(probe));
        assert_int_equal(at, (long)i);
        assert_int_equal(k.entry[at].line, i + 1);
        assert_ptr_equal(k.entry[at].key, keys[i]);
    }
    for (size_t i = N; i < 2 * N; i++) {
        snprintf(probe, sizeof probe, "http://127.0.0.2:9/e/e/%zu", i);
        assert_int_equal(cfg_keyset_find(&k, probe, cfg_keyset_hash(probe)), -1);
    }
    assert_int_equal(cfg_keyset_find(&k, "http://127.0.0.2:9/e/e/", cfg_keyset_hash("http://127.0.0.2:9/e/e/")), -1);
    cfg_keyset_free(&k);
    assert_null(k.slot);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_many_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
