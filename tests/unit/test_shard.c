/* tests/unit/test_shard.c — sharding of endpoints among workers: cw_shard_of is stable (fixed values that
 * an independent FNV-1a implementation agrees on, so a release or another machine moves nothing) and
 * balanced, and reading a snapshot shard by shard hands every endpoint to exactly one worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/config/config.h"
#include "common/base/util.h"

static void test_stable_values(void **state)
{
    (void)state;
    /* computed with a separate FNV-1a 64 implementation (Python) */
    assert_true(cw_hash64("") == 14695981039346656037ULL);
    assert_true(cw_hash64("http://127.0.0.1:8080/health") == 6967457251391067793ULL);
    assert_true(cw_hash64("https://example.com/") == 903888511234722068ULL);
    assert_true(cw_hash64("http://10.0.0.7:8080/") == 10365148996876965738ULL);
    assert_int_equal(cw_shard_of("http://127.0.0.1:8080/health", 4), 1);
    assert_int_equal(cw_shard_of("http://127.0.0.1:8080/health", 7), 5);
    assert_int_equal(cw_shard_of("https://example.com/", 4), 0);
    assert_int_equal(cw_shard_of("https://example.com/", 7), 6);
    assert_int_equal(cw_shard_of("http://10.0.0.7:8080/", 4), 2);
    assert_int_equal(cw_shard_of("http://10.0.0.7:8080/", 7), 6);
    /* one worker (or a nonsensical 0) owns everything */
    assert_int_equal(cw_shard_of("https://example.com/", 1), 0);
    assert_int_equal(cw_shard_of("https://example.com/", 0), 0);
}

static void test_balanced(void **state)
{
    (void)state;
    enum { N = 100000 };
    static const unsigned slot_counts[] = { 2, 3, 4, 8, 16 };
    char url[96];
    for (size_t si = 0; si < sizeof slot_counts / sizeof slot_counts[0]; si++) {
        unsigned slots = slot_counts[si];
        unsigned counts[16] = { 0 };
        for (int i = 0; i < N; i++) {
            snprintf(url, sizeof url, "http://127.0.0.1:8080/health?i=%d", i);
            unsigned s = cw_shard_of(url, slots);
            assert_true(s < slots);
            assert_int_equal(cw_shard_of(url, slots), s); /* same answer every time */
            counts[s]++;
        }
        for (unsigned s = 0; s < slots; s++) {
            double share = (double)counts[s] / (N / slots);
            assert_true(share > 0.95 && share < 1.05);
        }
    }
}

static void report(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "config: %s\n", message);
}

/* Writes a config with n endpoints, loads it, snapshots it, and reads it back shard by shard. */
static void test_every_endpoint_in_exactly_one_shard(void **state)
{
    (void)state;
    enum { N = 3000 };
    char dir[] = "/tmp/cw-test-shard-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char conf[256], snap[256];
    snprintf(conf, sizeof conf, "%s/clockwerk.conf", dir);
    snprintf(snap, sizeof snap, "%s/snapshot", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "supervisor = { workers = 4; run_dir = \"%s/run\"; };\nmonitor = { check_interval = 5; endpoints = (\n",
            dir);
    for (int i = 0; i < N; i++)
        fprintf(f, "  { url = \"http://127.0.0.1:%d/p?i=%d\"; timeout = 1.5; }%s\n", 1000 + i % 50000, i,
                i + 1 < N ? "," : "");
    fprintf(f, "); };\n");
    assert_int_equal(fclose(f), 0);

    struct cw_config *cfg = config_load(conf, report, NULL);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_endpoints, N);
    char err[256];
    assert_int_equal(config_snapshot_write(cfg, snap, err, sizeof err), 0);

    static const unsigned slot_counts[] = { 1, 3, 4, 7 };
    unsigned char *seen = calloc(N, 1);
    assert_non_null(seen);
    for (size_t si = 0; si < sizeof slot_counts / sizeof slot_counts[0]; si++) {
        unsigned slots = slot_counts[si];
        memset(seen, 0, N);
        size_t total = 0;
        for (unsigned slot = 0; slot < slots; slot++) {
            struct cw_config *part = config_snapshot_read(snap, slot, slots, err, sizeof err);
            assert_non_null(part);
            total += part->n_endpoints;
            for (size_t k = 0; k < part->n_endpoints; k++) {
                const struct cw_endpoint *ep = &part->endpoints[k];
                assert_int_equal(cw_shard_of(ep->url, slots), slot);
                const char *q = strstr(ep->url, "?i=");
                assert_non_null(q);
                int i = atoi(q + 3);
                assert_true(i >= 0 && i < N);
                assert_int_equal(seen[i], 0); /* not in two shards */
                seen[i] = 1;
                assert_string_equal(ep->url, cfg->endpoints[i].url);
                assert_true(ep->interval == 5.0 && ep->timeout == 1.5);
            }
            config_free(part);
        }
        assert_int_equal(total, N);
        for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1); /* none lost */
    }
    free(seen);
    config_free(cfg);
    unlink(snap);
    unlink(conf);
    char run[256];
    snprintf(run, sizeof run, "%s/run", dir);
    rmdir(run);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_values),
        cmocka_unit_test(test_balanced),
        cmocka_unit_test(test_every_endpoint_in_exactly_one_shard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
