/* tests/unit/test_rawkeep.c — database.raw (storer/rawkeep.c): the pure decision of which check becomes a raw row
 * (every mode, every reason), SLOW against the threshold, and rawkeep_mark/rawkeep_commit over batches: the state
 * per endpoint and location, the hourly heartbeat, a URL the configuration does not have, and a resent check folded
 * once (after its batch committed, and twice in one batch), while an uncommitted one is folded again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "storer/batch.h"
#include "storer/rawkeep.h"

#define HOUR_US (3600LL * 1000000LL)

static void test_decide(void **state)
{
    (void)state;
    struct rawkeep_prev up = { .known = true, .ok = true, .slow = false, .kept_hour = 10 };
    /* all: everything; none: nothing, not even a failure */
    assert_true(rawkeep_decide(CW_RAW_ALL, &up, true, false, false, 10));
    assert_true(rawkeep_decide(CW_RAW_ALL, NULL, true, false, false, 10));
    assert_false(rawkeep_decide(CW_RAW_NONE, &up, false, true, true, 11));
    /* failures: a healthy check in the same hour as the last kept row is not kept */
    assert_false(rawkeep_decide(CW_RAW_FAILURES, &up, true, false, false, 10));
    assert_true(rawkeep_decide(CW_RAW_FAILURES, &up, false, false, false, 10)); /* failed */
    assert_true(rawkeep_decide(CW_RAW_FAILURES, &up, true, true, false, 10));   /* slow */
    assert_true(rawkeep_decide(CW_RAW_FAILURES, &up, true, false, true, 10));   /* maintenance */
    assert_true(rawkeep_decide(CW_RAW_FAILURES, &up, true, false, false, 11));  /* the hour's heartbeat */
    struct rawkeep_prev down = up;
    down.ok = false;
    assert_true(rawkeep_decide(CW_RAW_FAILURES, &down, true, false, false, 10)); /* the recovery */
    struct rawkeep_prev slow = up;
    slow.slow = true;
    assert_true(rawkeep_decide(CW_RAW_FAILURES, &slow, true, false, false, 10)); /* fast again */
    struct rawkeep_prev unknown = { .kept_hour = -1 };
    assert_true(rawkeep_decide(CW_RAW_FAILURES, &unknown, true, false, false, 10)); /* first since start */
    /* a URL not configured: only failures and maintenance */
    assert_false(rawkeep_decide(CW_RAW_FAILURES, NULL, true, false, false, 10));
    assert_true(rawkeep_decide(CW_RAW_FAILURES, NULL, false, false, false, 10));
    assert_true(rawkeep_decide(CW_RAW_FAILURES, NULL, true, false, true, 10));
    /* note: the state follows; the kept hour only moves with a kept row */
    struct rawkeep_prev p = { .kept_hour = -1 };
    rawkeep_note(&p, true, false, 5, false);
    assert_true(p.known && p.ok && !p.slow);
    assert_int_equal(p.kept_hour, -1);
    rawkeep_note(&p, false, true, 6, true);
    assert_true(!p.ok && p.slow);
    assert_int_equal(p.kept_hour, 6);
}

static void test_slow(void **state)
{
    (void)state;
    assert_false(rawkeep_slow(CW_CHECK_HTTP, 1000000, 1.0)); /* at the threshold: not over it */
    assert_true(rawkeep_slow(CW_CHECK_HTTP, 1000001, 1.0));
    assert_false(rawkeep_slow(CW_CHECK_PUSH, 99000000, 1.0)); /* a push is never SLOW */
    assert_false(rawkeep_slow(CW_CHECK_ICMP, -1, 1.0));       /* not measured */
    assert_false(rawkeep_slow(CW_CHECK_HTTP, 5000000, 0));    /* no threshold */
}

static struct cw_endpoint eps[2];
static struct cw_config cfg;

static void setup_cfg(enum cw_db_raw mode)
{
    memset(eps, 0, sizeof eps);
    memset(&cfg, 0, sizeof cfg);
    eps[0].url = "http://a/";
    eps[0].latency_threshold = 0.5;
    eps[1].url = "http://b/";
    eps[1].latency_threshold = 0.5;
    cfg.endpoints = eps;
    cfg.n_endpoints = 2;
    cfg.db_raw = mode;
}

static void add(struct store_batch *b, const char *url, uint64_t seq, bool ok, int64_t latency_us, int64_t at_us,
                const char *location)
{
    struct cw_result r = { .url = url, .worker = 1, .boot_id = 77, .seq = seq, .ok = ok, .latency_us = latency_us,
                           .dns_us = -1, .connect_us = -1, .tls_us = -1, .ttfb_us = -1, .checked_at_us = at_us,
                           .location = location, .error = ok ? NULL : "boom" };
    store_batch_add_check(b, &r);
}

static void test_mark_failures(void **state)
{
    (void)state;
    setup_cfg(CW_RAW_FAILURES);
    struct rawkeep k = { 0 };
    rawkeep_set(&k, &cfg);
    struct store_batch b;
    store_batch_init(&b);
    int64_t t = 1000 * HOUR_US;
    add(&b, "http://a/", 1, true, 1000, t, "local");             /* first since start: kept */
    add(&b, "http://a/", 2, true, 1000, t + 1000000, "local");   /* nothing new */
    add(&b, "http://a/", 3, false, 1000, t + 2000000, "local");  /* failed */
    add(&b, "http://a/", 4, true, 1000, t + 3000000, "local");   /* recovered */
    add(&b, "http://a/", 5, true, 900000, t + 4000000, "local"); /* SLOW */
    add(&b, "http://a/", 6, true, 1000, t + 5000000, "local");   /* fast again */
    add(&b, "http://a/", 7, true, 1000, t + 6000000, "local");
    add(&b, "http://a/", 8, true, 1000, t + 7000000, "fra");     /* another location: its own state */
    add(&b, "http://a/", 9, true, 1000, t + HOUR_US, "local");   /* the next hour's heartbeat */
    add(&b, "http://gone/", 10, true, 1000, t, "local");         /* not configured, ok */
    add(&b, "http://gone/", 11, false, 1000, t, "local");        /* not configured, failed */
    rawkeep_mark(&k, &b);
    const bool want[] = { true, false, true, true, true, true, false, true, true, false, true };
    for (size_t i = 0; i < b.n_checks; i++) {
        assert_int_equal(b.checks[i].raw, want[i]);
        assert_true(b.checks[i].fold);
    }
    /* marked again (a retried write): the decisions stay */
    rawkeep_mark(&k, &b);
    for (size_t i = 0; i < b.n_checks; i++) assert_int_equal(b.checks[i].raw, want[i]);
    rawkeep_commit(&k, &b);
    assert_int_equal(k.folded, 11);

    /* a resend of seq 3 and 9 and a new seq 12 twice in one batch: only 12, once */
    store_batch_clear(&b);
    add(&b, "http://a/", 3, false, 1000, t + 2000000, "local");
    add(&b, "http://a/", 12, true, 1000, t + HOUR_US + 1, "local");
    add(&b, "http://a/", 9, true, 1000, t + HOUR_US, "local");
    add(&b, "http://a/", 12, true, 1000, t + HOUR_US + 1, "local");
    rawkeep_mark(&k, &b);
    assert_false(b.checks[0].fold);
    assert_true(b.checks[1].fold);
    assert_false(b.checks[2].fold);
    assert_false(b.checks[3].fold);
    /* not committed (the write failed): marked again, 12 is still to fold */
    rawkeep_mark(&k, &b);
    assert_true(b.checks[1].fold);
    rawkeep_commit(&k, &b);
    store_batch_clear(&b);
    add(&b, "http://a/", 12, true, 1000, t + HOUR_US + 1, "local");
    rawkeep_mark(&k, &b);
    assert_false(b.checks[0].fold);
    store_batch_free(&b);
    rawkeep_free(&k);
}

/* "failures" mode, a and b each checked once at t: both kept (the first since start) and committed. */
static void start_with_a_and_b(struct rawkeep *k, int64_t t)
{
    setup_cfg(CW_RAW_FAILURES);
    rawkeep_set(k, &cfg);
    struct store_batch b;
    store_batch_init(&b);
    add(&b, "http://a/", 1, true, 1000, t, "local");
    add(&b, "http://b/", 2, true, 1000, t, "local");
    rawkeep_mark(k, &b);
    assert_true(b.checks[0].raw && b.checks[1].raw);
    rawkeep_commit(k, &b);
    store_batch_free(&b);
}

/* A reload (issue 18's in-place SIGHUP): each endpoint's state follows its URL to its new index, a new URL starts
 * afresh, and the mode stays the first set's. Before, every state was dropped, so the next check of every endpoint
 * (500,000 raw rows at that scale) was kept after any reload. */
static void test_reload_keeps_states(void **state)
{
    (void)state;
    struct rawkeep k = { 0 };
    int64_t t = 1000 * HOUR_US;
    struct store_batch b;
    start_with_a_and_b(&k, t);

    /* the new configuration: a and b swapped places, c new, mode "all" (ignored: a change takes a restart) */
    static struct cw_endpoint next_eps[3];
    static struct cw_config next;
    memset(next_eps, 0, sizeof next_eps);
    next_eps[0].url = "http://b/";
    next_eps[1].url = "http://a/";
    next_eps[2].url = "http://c/";
    for (int i = 0; i < 3; i++) next_eps[i].latency_threshold = 0.5;
    next = cfg;
    next.endpoints = next_eps;
    next.n_endpoints = 3;
    next.db_raw = CW_RAW_ALL;
    rawkeep_set(&k, &next);
    assert_int_equal(k.mode, CW_RAW_FAILURES);

    store_batch_init(&b);
    add(&b, "http://a/", 3, true, 1000, t + 60 * 1000000LL, "local"); /* nothing new for a: not kept */
    add(&b, "http://b/", 4, true, 1000, t + 60 * 1000000LL, "local"); /* nor for b */
    add(&b, "http://c/", 5, true, 1000, t + 60 * 1000000LL, "local"); /* c is new: kept */
    add(&b, "http://b/", 6, false, 1000, t + 61 * 1000000LL, "local"); /* b fails: kept */
    rawkeep_mark(&k, &b);
    assert_false(b.checks[0].raw);
    assert_false(b.checks[1].raw);
    assert_true(b.checks[2].raw);
    assert_true(b.checks[3].raw);
    assert_true(b.checks[0].fold && b.checks[1].fold && b.checks[2].fold && b.checks[3].fold);
    store_batch_free(&b);
    rawkeep_free(&k);
}

/* A reload in place (the same count, b's URL replaced by c's): a keeps its state where it is (the index re-lists only
 * c), c starts afresh, b is no longer configured. */
static void test_reload_in_place(void **state)
{
    (void)state;
    struct rawkeep k = { 0 };
    int64_t t = 1000 * HOUR_US;
    struct store_batch b;
    start_with_a_and_b(&k, t);
    uint32_t *slots = k.by_url.slot;
    struct rawkeep_prev *states = k.by_loc[0];
    static struct cw_endpoint next_eps[2];
    static struct cw_config next;
    memcpy(next_eps, eps, sizeof next_eps);
    next_eps[0].url = "http://a/"; /* the same bytes elsewhere */
    next_eps[1].url = "http://c/";
    next = cfg;
    next.endpoints = next_eps;
    rawkeep_set(&k, &next);
    assert_ptr_equal(k.by_url.slot, slots); /* in place: neither the index nor the states built again */
    assert_ptr_equal(k.by_loc[0], states);
    assert_ptr_equal(k.cfg, &next);
    store_batch_init(&b);
    add(&b, "http://a/", 3, true, 1000, t + 60 * 1000000LL, "local"); /* nothing new for a: not kept */
    add(&b, "http://c/", 4, true, 1000, t + 60 * 1000000LL, "local"); /* c is new: kept */
    add(&b, "http://b/", 5, true, 1000, t + 60 * 1000000LL, "local"); /* b is gone: an ok check is not kept */
    rawkeep_mark(&k, &b);
    assert_false(b.checks[0].raw);
    assert_true(b.checks[1].raw);
    assert_false(b.checks[2].raw);
    store_batch_free(&b);
    rawkeep_free(&k);
}

static void test_mark_modes(void **state)
{
    (void)state;
    for (int m = CW_RAW_ALL; m <= CW_RAW_NONE; m++) {
        setup_cfg((enum cw_db_raw)m);
        struct rawkeep k = { 0 };
        rawkeep_set(&k, &cfg);
        struct store_batch b;
        store_batch_init(&b);
        add(&b, "http://b/", 1, false, 1000, 0, "local");
        add(&b, "http://b/", 1, false, 1000, 0, "local"); /* "all" leaves duplicates to UNIQUE */
        rawkeep_mark(&k, &b);
        assert_int_equal(b.checks[0].raw, m != CW_RAW_NONE);
        assert_true(b.checks[0].fold);
        assert_int_equal(b.checks[1].fold, m == CW_RAW_ALL);
        store_batch_free(&b);
        rawkeep_free(&k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_slow),
        cmocka_unit_test(test_mark_failures),
        cmocka_unit_test(test_mark_modes),
        cmocka_unit_test(test_reload_keeps_states),
        cmocka_unit_test(test_reload_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
