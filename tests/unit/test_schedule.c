/* tests/unit/test_schedule.c — the worker's schedule (worker/schedule.c): due times never drift, first
 * checks are spread over the interval and keep their wall-clock slot, the heap always yields the earliest
 * entry with mixed intervals, and a late or still-running check never piles occurrences up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "worker/schedule.h"

#define SEC 1000000000LL

static void test_no_drift(void **state)
{
    (void)state;
    struct sched s;
    sched_init(&s, 1);
    const int64_t interval = 1500 * 1000000LL; /* 1.5 s */
    const int64_t due0 = 123456789;
    sched_add(&s, 7, interval, due0);
    uint64_t seed = 42;
    for (int64_t k = 0; k < 100000; k++) {
        const struct sched_entry *top = sched_peek(&s);
        assert_non_null(top);
        assert_int_equal(top->id, 7);
        assert_int_equal(top->due_ns, due0 + k * interval); /* exactly, after 100,000 intervals */
        /* the check starts somewhat late (less than an interval): no occurrence is passed over */
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t late = (int64_t)((seed >> 33) % (uint64_t)(interval - 1));
        assert_int_equal(sched_advance(&s, top->due_ns + late), 0);
    }
    sched_free(&s);
}

static void test_seconds_to_ns(void **state)
{
    (void)state;
    assert_int_equal(sched_seconds_to_ns(1), SEC);
    assert_int_equal(sched_seconds_to_ns(2.5), 2500000000LL);
    assert_int_equal(sched_seconds_to_ns(0.1), 100000000LL);
    assert_int_equal(sched_seconds_to_ns(60), 60 * SEC);
    assert_int_equal(sched_seconds_to_ns(0), 1000000); /* never below 1 ms */
    assert_int_equal(sched_seconds_to_ns(-3), 1000000);
}

/* First due times of 10,000 endpoints: all within [now, now + interval), and no tenth of the interval holds
 * more than twice (or less than half) its share. Done for a few intervals and start times. */
static void test_first_checks_spread(void **state)
{
    (void)state;
    const int n = 10000;
    const int64_t intervals[] = { 1 * SEC, 10 * SEC, 60 * SEC, 7 * SEC + 300000000LL };
    const int64_t walls[] = { 1764043506LL * SEC + 123456789, 1764043507LL * SEC, 5 };
    char url[128];
    for (size_t ii = 0; ii < sizeof intervals / sizeof intervals[0]; ii++) {
        for (size_t wi = 0; wi < sizeof walls / sizeof walls[0]; wi++) {
            int64_t interval = intervals[ii], now_mono = 1000 * SEC + 17, now_wall = walls[wi];
            int bins[10] = { 0 };
            for (int i = 0; i < n; i++) {
                snprintf(url, sizeof url, "http://127.0.0.1:8080/health?i=%d", i);
                int64_t due = sched_first_due(url, interval, now_mono, now_wall);
                assert_true(due >= now_mono);
                assert_true(due < now_mono + interval);
                bins[(due - now_mono) * 10 / interval]++;
            }
            for (int b = 0; b < 10; b++) {
                assert_true(bins[b] <= 2 * n / 10);
                assert_true(bins[b] >= n / 10 / 2);
            }
        }
    }
}

/* The phase is tied to the wall clock: started at different moments, an endpoint's first check falls on
 * the same wall-clock slot (modulo the interval). */
static void test_first_due_keeps_wall_slot(void **state)
{
    (void)state;
    const int64_t interval = 10 * SEC;
    const char *url = "https://example.com/health";
    int64_t phase = sched_phase(url, interval);
    assert_true(phase >= 0 && phase < interval);
    for (int64_t start = 0; start < 30 * SEC; start += 777777777) {
        int64_t now_mono = 50 * SEC + start, now_wall = 1764043506LL * SEC + start * 3;
        int64_t due = sched_first_due(url, interval, now_mono, now_wall);
        int64_t due_wall = now_wall + (due - now_mono);
        assert_int_equal(due_wall % interval, phase);
    }
    /* and the phase itself is stable */
    assert_int_equal(sched_phase(url, interval), phase);
}

static int64_t brute_min_due(const struct sched *s, uint32_t *id)
{
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < s->n; i++)
        if (s->heap[i].due_ns < best || (s->heap[i].due_ns == best && s->heap[i].id < *id)) {
            best = s->heap[i].due_ns;
            *id = s->heap[i].id;
        }
    return best;
}

/* Mixed intervals: the heap's top is always the earliest entry, pops come out in time order, and every
 * endpoint's occurrences are exactly first + k * interval. */
static void test_heap_order_mixed_intervals(void **state)
{
    (void)state;
    enum { N = 1000 };
    static const int64_t choices[] = { 1 * SEC, 2 * SEC, 3 * SEC, 5 * SEC, 7 * SEC, 10 * SEC, 250000000LL };
    int64_t first[N], interval[N], count[N] = { 0 };
    struct sched s;
    sched_init(&s, 4); /* grows */
    char url[64];
    for (int i = 0; i < N; i++) {
        interval[i] = choices[i % 7];
        snprintf(url, sizeof url, "http://h%d.example/", i);
        first[i] = sched_first_due(url, interval[i], 0, 1764043506LL * SEC);
        sched_add(&s, (uint32_t)i, interval[i], first[i]);
    }
    assert_int_equal(s.n, N);
    int64_t last = -1;
    for (int step = 0; step < 50000; step++) {
        const struct sched_entry *top = sched_peek(&s);
        uint32_t bid = UINT32_MAX;
        int64_t bmin = brute_min_due(&s, &bid);
        assert_int_equal(top->due_ns, bmin);
        assert_int_equal(top->id, bid);
        assert_true(top->due_ns >= last);
        last = top->due_ns;
        uint32_t id = top->id;
        assert_int_equal(top->due_ns, first[id] + count[id] * interval[id]);
        count[id]++;
        assert_int_equal(sched_advance(&s, top->due_ns), 0); /* on time */
    }
    /* after ~ the same span of time, every endpoint ran in proportion to its rate */
    for (int i = 0; i < N; i++) assert_true(count[i] >= 1);
    sched_free(&s);
}

/* A check that starts 3.5 intervals late passes over 3 occurrences (counted) and the next due time is the
 * first one after now, still on the original grid; nothing piles up. */
static void test_late_check_does_not_pile_up(void **state)
{
    (void)state;
    struct sched s;
    sched_init(&s, 2);
    const int64_t due0 = 10 * SEC;
    sched_add(&s, 1, SEC, due0);
    sched_add(&s, 2, 60 * SEC, due0 + 30 * SEC);
    int64_t now = due0 + 3 * SEC + SEC / 2;
    assert_int_equal(sched_peek(&s)->id, 1);
    assert_int_equal(sched_advance(&s, now), 3);
    const struct sched_entry *top = sched_peek(&s);
    assert_int_equal(top->id, 1);
    assert_int_equal(top->due_ns, due0 + 4 * SEC);
    assert_true(top->due_ns > now);
    /* exactly one interval late: the next one is passed over too (it is due now) */
    now = top->due_ns + SEC;
    assert_int_equal(sched_advance(&s, now), 1);
    assert_int_equal(sched_peek(&s)->due_ns, due0 + 6 * SEC);
    /* a huge stall (a suspended machine) costs one step, not a loop per occurrence */
    now = due0 + 6 * SEC + 1000000 * SEC + 1;
    assert_int_equal(sched_advance(&s, now), 1000000);
    assert_int_equal(sched_peek(&s)->id, 2);
    /* an endpoint whose check is still running when due again (the worker skips it with the same call):
     * one occurrence skipped, due stays on the grid */
    struct sched t;
    sched_init(&t, 1);
    sched_add(&t, 9, 2 * SEC, 0);
    assert_int_equal(sched_advance(&t, 0), 0);           /* started on time */
    assert_int_equal(sched_peek(&t)->due_ns, 2 * SEC);   /* due again while still running: */
    assert_int_equal(1 + sched_advance(&t, 2 * SEC), 1); /* the worker counts 1 missed */
    assert_int_equal(sched_peek(&t)->due_ns, 4 * SEC);
    sched_free(&t);
    sched_free(&s);
}

/* A check's timeout is cut so that it ends before the endpoint's next occurrence. */
static void test_check_timeout(void **state)
{
    (void)state;
    const int64_t ms = 1000000;
    /* timeout well below the interval: unchanged, even when a little late */
    assert_int_equal(sched_check_timeout_ms(2.0, 60 * SEC, 0, 0), 2000);
    assert_int_equal(sched_check_timeout_ms(2.5, 10 * SEC, 0, 50 * ms), 2500);
    /* timeout == interval: ends 1% of the interval (5..100 ms) before the next due time */
    assert_int_equal(sched_check_timeout_ms(10.0, 10 * SEC, 0, 0), 9900);
    assert_int_equal(sched_check_timeout_ms(10.0, 10 * SEC, 0, 30 * ms), 9870);
    assert_int_equal(sched_check_timeout_ms(1.0, 1 * SEC, 5 * SEC, 5 * SEC + 2 * ms), 988);
    /* the margin is at most 100 ms */
    assert_int_equal(sched_check_timeout_ms(60.0, 60 * SEC, 0, 0), 59900);
    /* very late: never below half the configured timeout */
    assert_int_equal(sched_check_timeout_ms(10.0, 10 * SEC, 0, 8 * SEC), 5000);
    /* silly values stay sane */
    assert_int_equal(sched_check_timeout_ms(0.0, 10 * SEC, 0, 0), 1);
    assert_true(sched_check_timeout_ms(0.0004, 1 * ms, 0, 0) >= 1);
}

static void test_empty(void **state)
{
    (void)state;
    struct sched s;
    sched_init(&s, 0);
    assert_null(sched_peek(&s));
    assert_int_equal(sched_advance(&s, 5), 0);
    sched_free(&s);
}

/* The missed-checks report: nothing when nothing was missed; the first at once, then at most once per period;
 * each reason with its count, the share of the due checks; a new tally after each report. */
static void test_misses_report(void **state)
{
    (void)state;
    const int64_t s = 1000000000LL, minute = 60 * s;
    struct sched_misses m = { .since_ns = 10 * s };
    char line[512];
    m.started = 20;
    assert_false(sched_misses_report(&m, 11 * s, minute, 16, line, sizeof line));
    sched_misses_add(&m, SCHED_MISS_CAP, 70);
    sched_misses_add(&m, SCHED_MISS_LATE, 5);
    sched_misses_add(&m, SCHED_MISS_BUSY, 5);
    assert_true(sched_misses_report(&m, 12 * s, minute, 16, line, sizeof line));
    assert_string_equal(line, "missed 80 of 100 checks due in the last 2.0 s (80%): 70 waited for the in-flight cap "
                              "(16), 5 came late: the worker's loop ran behind (short of CPU), 5 skipped: the "
                              "endpoint's previous check was still running");
    assert_true(m.started == 0 && m.missed[SCHED_MISS_CAP] == 0 && m.since_ns == 12 * s);
    sched_misses_add(&m, SCHED_MISS_LATE, 3);
    m.started = 1;
    assert_false(sched_misses_report(&m, 12 * s + minute - 1, minute, 16, line, sizeof line));
    assert_true(sched_misses_report(&m, 12 * s + minute, minute, 16, line, sizeof line));
    assert_string_equal(line, "missed 3 of 4 checks due in the last 60.0 s (75%): 3 came late: the worker's loop ran "
                              "behind (short of CPU)");
    char tiny[8];
    sched_misses_add(&m, SCHED_MISS_CAP, 1);
    assert_true(sched_misses_report(&m, 13 * s + 2 * minute, minute, 16, tiny, sizeof tiny)); /* cut, no overrun */
    assert_string_equal(tiny, "missed ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_drift),
        cmocka_unit_test(test_seconds_to_ns),
        cmocka_unit_test(test_first_checks_spread),
        cmocka_unit_test(test_first_due_keeps_wall_slot),
        cmocka_unit_test(test_heap_order_mixed_intervals),
        cmocka_unit_test(test_late_check_does_not_pile_up),
        cmocka_unit_test(test_check_timeout),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_misses_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
