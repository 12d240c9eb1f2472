/* tests/unit/test_mute.c — muting (alerter/mute.c): the order of the reasons, which kinds each one mutes, and
 * the DOWN ancestor along depends_on, replayed from plain facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "alerter/mute.h"

static void nothing_mutes(void **state)
{
    (void)state;
    struct mute_facts f = { 0 };
    for (unsigned k = 1; k <= CW_ALERT_ESCALATION; k++) assert_int_equal(mute_reason(&f, k), CW_MUTE_NONE);
}

static void order_of_reasons(void **state)
{
    (void)state;
    struct mute_facts f = { true, true, true, true, true };
    assert_int_equal(mute_reason(&f, CW_ALERT_REMINDER), CW_MUTE_MAINTENANCE);
    f.maintenance = false;
    assert_int_equal(mute_reason(&f, CW_ALERT_REMINDER), CW_MUTE_SILENCE);
    f.silenced = false;
    assert_int_equal(mute_reason(&f, CW_ALERT_REMINDER), CW_MUTE_DEPENDENCY);
    f.ancestor_down = false;
    assert_int_equal(mute_reason(&f, CW_ALERT_REMINDER), CW_MUTE_FLAPPING);
    f.flapping = false;
    assert_int_equal(mute_reason(&f, CW_ALERT_REMINDER), CW_MUTE_ACKNOWLEDGED);
}

static void flapping_lets_its_own_alert_through(void **state)
{
    (void)state;
    struct mute_facts f = { .flapping = true };
    assert_int_equal(mute_reason(&f, CW_ALERT_FLAPPING), CW_MUTE_NONE);
    assert_int_equal(mute_reason(&f, CW_ALERT_DOWN), CW_MUTE_FLAPPING);
    assert_int_equal(mute_reason(&f, CW_ALERT_UP), CW_MUTE_FLAPPING);
    f.silenced = true; /* but a silence mutes it */
    assert_int_equal(mute_reason(&f, CW_ALERT_FLAPPING), CW_MUTE_SILENCE);
}

static void ack_mutes_only_repeats(void **state)
{
    (void)state;
    struct mute_facts f = { .acked = true };
    assert_int_equal(mute_reason(&f, CW_ALERT_REMINDER), CW_MUTE_ACKNOWLEDGED);
    assert_int_equal(mute_reason(&f, CW_ALERT_ESCALATION), CW_MUTE_ACKNOWLEDGED);
    assert_int_equal(mute_reason(&f, CW_ALERT_UP), CW_MUTE_NONE);
    assert_int_equal(mute_reason(&f, CW_ALERT_DOWN), CW_MUTE_NONE);
}

static bool down_in(void *ctx, size_t idx) { return ((const bool *)ctx)[idx]; }

static void topmost_down_ancestor(void **state)
{
    (void)state;
    /* 0 <- 1 <- 2 <- 3 (3 depends on 2 ...), 4 alone */
    struct cw_endpoint eps[5];
    memset(eps, 0, sizeof eps);
    long parents[5] = { -1, 0, 1, 2, -1 };
    for (int i = 0; i < 5; i++) eps[i].depends_on_idx = parents[i];
    struct cw_config cfg = { 0 };
    cfg.endpoints = eps;
    cfg.n_endpoints = 5;
    bool down[5] = { false, false, false, false, false };
    assert_int_equal(mute_down_ancestor(&cfg, 3, down_in, down), -1);
    down[2] = true;
    assert_int_equal(mute_down_ancestor(&cfg, 3, down_in, down), 2);
    assert_int_equal(mute_down_ancestor(&cfg, 2, down_in, down), -1); /* itself does not count */
    down[0] = true;
    assert_int_equal(mute_down_ancestor(&cfg, 3, down_in, down), 0);
    assert_int_equal(mute_down_ancestor(&cfg, 4, down_in, down), -1);
    eps[0].depends_on_idx = 3; /* a cycle (refused at load): still ends */
    (void)mute_down_ancestor(&cfg, 3, down_in, down);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_mutes),
        cmocka_unit_test(order_of_reasons),
        cmocka_unit_test(flapping_lets_its_own_alert_through),
        cmocka_unit_test(ack_mutes_only_repeats),
        cmocka_unit_test(topmost_down_ancestor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
