/* tests/unit/test_flap.c — flap detection (alerter/flap.c): the weighted percent state change over replayed
 * sequences of check outcomes, judged once the window is full, with hysteresis between high and low. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/flap.h"

/* Feeds a pattern ('o' ok, 'F' failed); returns the last change seen other than FLAP_SAME (or FLAP_SAME) and
 * counts starts and stops. */
struct replay {
    struct flap_hist h;
    int starts, stops;
    double percent;
};

static void feed(struct replay *r, int window, double high, double low, const char *pattern)
{
    for (const char *c = pattern; *c; c++) {
        enum flap_change ch = flap_feed(&r->h, window, high, low, *c == 'o', &r->percent);
        r->starts += ch == FLAP_STARTED;
        r->stops += ch == FLAP_STOPPED;
    }
}

static void percent_extremes(void **state)
{
    (void)state;
    struct replay r = { 0 };
    feed(&r, 21, 50, 25, "oooooooooooooooooooooo");
    assert_true(r.percent == 0.0);
    feed(&r, 21, 101, 0, "oFoFoFoFoFoFoFoFoFoFoF"); /* high above 100: never starts */
    assert_true(r.percent > 99.99 && r.percent < 100.01);
    assert_int_equal(r.starts, 0);
}

static void newer_changes_weigh_more(void **state)
{
    (void)state;
    struct flap_hist old = { 0 }, recent = { 0 };
    const char *a = "oFooooooooo", *b = "ooooooooooF"; /* one blip, early or late, over 11 checks */
    for (const char *c = a; *c; c++) flap_feed(&old, 11, 200, 0, *c == 'o', NULL);
    for (const char *c = b; *c; c++) flap_feed(&recent, 11, 200, 0, *c == 'o', NULL);
    double p_old = flap_percent(&old, 11), p_recent = flap_percent(&recent, 11);
    /* early blip: changes 0 and 1 of 10 (0.8 + 0.844); late: only change 9 (1.2) */
    assert_true(p_old > 16.4 && p_old < 16.5);
    assert_true(p_recent > 11.9 && p_recent < 12.1);
}

static void judged_only_when_full(void **state)
{
    (void)state;
    struct replay r = { 0 };
    feed(&r, 21, 50, 25, "oFoFoFoFoFoFoFoFoFoF"); /* 20 outcomes: window of 21 not full */
    assert_int_equal(r.starts, 0);
    assert_false(r.h.flapping);
    feed(&r, 21, 50, 25, "o");
    assert_int_equal(r.starts, 1);
    assert_true(r.h.flapping);
}

static void hysteresis_then_stable(void **state)
{
    (void)state;
    struct replay r = { 0 };
    feed(&r, 10, 50, 25, "oFoFoFoFoF");
    assert_int_equal(r.starts, 1);
    feed(&r, 10, 50, 25, "ooo"); /* below high, not below low yet: still flapping */
    assert_true(r.h.flapping);
    assert_int_equal(r.stops, 0);
    feed(&r, 10, 50, 25, "oooooooo");
    assert_int_equal(r.stops, 1);
    assert_false(r.h.flapping);
    assert_int_equal(r.starts, 1); /* one start, one stop: no repeats */
}

static void steady_failure_is_not_flapping(void **state)
{
    (void)state;
    struct replay r = { 0 };
    feed(&r, 5, 50, 25, "ooooFFFFFFFFFFFFFFF");
    assert_int_equal(r.starts, 0);
}

static void window_off_stops(void **state)
{
    (void)state;
    struct replay r = { 0 };
    feed(&r, 5, 50, 25, "oFoFoF");
    assert_true(r.h.flapping);
    feed(&r, 0, 50, 25, "F");
    assert_false(r.h.flapping);
    assert_int_equal(r.stops, 1);
}

static void history_is_capped(void **state)
{
    (void)state;
    struct replay r = { 0 };
    for (int i = 0; i < 100; i++) feed(&r, 64, 50, 25, "o");
    assert_int_equal(r.h.n, FLAP_WINDOW_MAX);
    feed(&r, 64, 50, 25, "F");
    assert_true(r.percent > 1.8 && r.percent < 1.95); /* one newest change of 63: 1.2 / 63 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(percent_extremes),
        cmocka_unit_test(newer_changes_weigh_more),
        cmocka_unit_test(judged_only_when_full),
        cmocka_unit_test(hysteresis_then_stable),
        cmocka_unit_test(steady_failure_is_not_flapping),
        cmocka_unit_test(window_off_stops),
        cmocka_unit_test(history_is_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
