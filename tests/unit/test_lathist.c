/* tests/unit/test_lathist.c — the latency histogram (common/wire/lathist.h): bucket bounds without gaps,
 * p50/p95/p99 against the exact nearest-rank percentiles of synthetic distributions (uniform, log-normal-like,
 * bimodal) within 5%, merge equals adding everything, the serialised form byte by byte and in round trips,
 * and corrupt blobs refused. (The worker's lateness statistics use the same histogram.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/wire/lathist.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact nearest-rank percentile of sorted v. */
static int64_t exact(const int64_t *v, size_t n, unsigned permille)
{
    size_t rank = (n * permille + 999) / 1000;
    if (rank == 0) rank = 1;
    return v[rank - 1];
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void check_accuracy(int64_t *v, size_t n)
{
    struct lat_hist *h = malloc(sizeof *h);
    assert_non_null(h);
    lat_hist_reset(h);
    for (size_t i = 0; i < n; i++) lat_hist_add(h, v[i]);
    qsort(v, n, sizeof *v, cmp_i64);
    const unsigned ps[] = { 10, 500, 900, 950, 990, 999, 1000 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        int64_t want = exact(v, n, ps[i]), got = lat_hist_percentile(h, ps[i]);
        double rel = want ? (double)(got - want) / (double)want : (double)got;
        if (rel < -0.05 || rel > 0.05)
            fail_msg("p%u: exact %lld, from the buckets %lld", ps[i], (long long)want, (long long)got);
    }
    free(h);
}

static void test_percentile_accuracy(void **state)
{
    (void)state;
    enum { N = 100000 };
    int64_t *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < N; i++) v[i] = 100 + (int64_t)(next_rand() % 120000000); /* uniform 0.1 ms .. 120 s */
    check_accuracy(v, N);
    for (size_t i = 0; i < N; i++) { /* log-uniform 0.1 ms .. 100 s: every octave equally */
        double e = (double)(next_rand() % 1000000) / 1000000.0 * 20.0;
        v[i] = (int64_t)(100.0 * __builtin_exp2(e));
    }
    check_accuracy(v, N);
    for (size_t i = 0; i < N; i++) /* bimodal: fast ~2 ms, a slow tail ~800 ms */
        v[i] = i % 20 ? 1800 + (int64_t)(next_rand() % 400) : 700000 + (int64_t)(next_rand() % 200000);
    check_accuracy(v, N);
    for (size_t i = 0; i < N; i++) v[i] = (int64_t)(next_rand() % 16); /* below 16 µs: exact */
    check_accuracy(v, N);
    free(v);
}

static void test_buckets(void **state)
{
    (void)state;
    for (unsigned b = 0; b < LAT_OVERFLOW; b++) {
        assert_int_equal(lat_hist_bucket_of(lat_hist_bucket_low(b)), b);
        assert_int_equal(lat_hist_bucket_of(lat_hist_bucket_high(b)), b);
        assert_int_equal(lat_hist_bucket_high(b) + 1, lat_hist_bucket_low(b + 1));
        /* no bucket wider than 1/16 of its lower bound */
        assert_true((lat_hist_bucket_high(b) - lat_hist_bucket_low(b)) * 16 <= lat_hist_bucket_low(b) + 16);
    }
    assert_int_equal(lat_hist_bucket_of(-5), 0);
    assert_true(lat_hist_bucket_of(120000000) < LAT_OVERFLOW); /* 120 s is still measured */
    assert_int_equal(lat_hist_bucket_of((int64_t)1 << 27), LAT_OVERFLOW);
    assert_int_equal(lat_hist_bucket_of(INT64_MAX), LAT_OVERFLOW);
    struct lat_hist h;
    lat_hist_reset(&h);
    assert_int_equal(lat_hist_percentile(&h, 990), 0);
    lat_hist_add(&h, INT64_MAX);
    assert_int_equal(lat_hist_percentile(&h, 500), (int64_t)1 << 27);
}

static void test_merge_is_add_all(void **state)
{
    (void)state;
    static struct lat_hist hours[24], day, all;
    lat_hist_reset(&all);
    for (int i = 0; i < 24; i++) {
        lat_hist_reset(&hours[i]);
        for (int k = 0; k < 1000 + i; k++) {
            int64_t v = (int64_t)(next_rand() % 5000000);
            lat_hist_add(&hours[i], v);
            lat_hist_add(&all, v);
        }
    }
    lat_hist_reset(&day);
    for (int i = 0; i < 24; i++) lat_hist_merge(&day, &hours[i]);
    assert_memory_equal(&day, &all, sizeof day);
}

static void test_serialised_form(void **state)
{
    (void)state;
    static struct lat_hist h, back;
    struct cw_buf b = { 0 };
    lat_hist_reset(&h);
    assert_int_equal(lat_hist_encode(&h, &b), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "\x01\x00\x00", 3);
    lat_hist_add(&h, 3);
    lat_hist_add(&h, 3);
    lat_hist_add(&h, 1000); /* 512..1023 in 16: bucket (9-4+1)*16 + (1000>>5 & 15) = 96 + 15 = 111 */
    cw_buf_reset(&b);
    assert_int_equal(lat_hist_encode(&h, &b), 0);
    assert_int_equal(b.len, 3 + 12);
    assert_memory_equal(b.data,
                        "\x01\x02\x00"
                        "\x03\x00\x02\x00\x00\x00"
                        "\x6f\x00\x01\x00\x00\x00",
                        15);
    const char *why = NULL;
    assert_true(lat_hist_decode(&back, b.data, b.len, &why));
    assert_memory_equal(&back, &h, sizeof h);
    for (int k = 0; k < 50000; k++) lat_hist_add(&h, (int64_t)(next_rand() % 300000000));
    cw_buf_reset(&b);
    assert_int_equal(lat_hist_encode(&h, &b), 0);
    assert_true(b.len <= LAT_BLOB_MAX);
    assert_true(lat_hist_decode(&back, b.data, b.len, &why));
    assert_memory_equal(&back, &h, sizeof h);
    h.bucket[7] = (uint64_t)UINT32_MAX + 1;
    cw_buf_reset(&b);
    assert_int_equal(lat_hist_encode(&h, &b), -1);
    assert_int_equal(b.len, 0);
    cw_buf_free(&b);
}

static void refused(const char *blob, size_t len, const char *reason)
{
    static struct lat_hist h;
    const char *why = NULL;
    h.total = 99;
    assert_false(lat_hist_decode(&h, blob, len, &why));
    assert_string_equal(why, reason);
    assert_int_equal(h.total, 0);
}

static void test_corrupt_blobs_refused(void **state)
{
    (void)state;
    refused("", 0, "truncated");
    refused("\x01\x00", 2, "truncated");
    refused("\x02\x00\x00", 3, "unknown histogram version");
    refused("\x01\x01\x00", 3, "length does not match the entries");
    refused("\x01\x00\x00\x00", 4, "length does not match the entries");
    refused("\x01\xff\xff", 3, "more entries than buckets");
    refused("\x01\x01\x00\x81\x01\x01\x00\x00\x00", 9, "bucket out of range");
    refused("\x01\x02\x00\x05\x00\x01\x00\x00\x00\x05\x00\x01\x00\x00\x00", 15, "buckets out of order");
    refused("\x01\x02\x00\x06\x00\x01\x00\x00\x00\x05\x00\x01\x00\x00\x00", 15, "buckets out of order");
    refused("\x01\x01\x00\x05\x00\x00\x00\x00\x00", 9, "empty bucket listed");
    static struct lat_hist h;
    assert_false(lat_hist_decode(&h, NULL, 10, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_percentile_accuracy),
        cmocka_unit_test(test_merge_is_add_all),
        cmocka_unit_test(test_serialised_form),
        cmocka_unit_test(test_corrupt_blobs_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
