/* tests/unit/test_maintenance.c — maintenance windows (common/config/maintenance.h) on configs built by hand: a
 * one-off window's bounds, a recurring window crossing midnight (the day it starts counts, not the day it ends),
 * both DST days in Europe/Berlin (the skipped hour makes "02:00-03:00" empty, the repeated one makes it two hours
 * long), what a window covers (endpoint by index or by name, group, everything), the first window found, the end
 * of the open occurrence, the next change, and that the caller's TZ is left as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config/maintenance.h"

#define S 1000000LL /* µs per second */
#define H (3600 * S)
#define MON_2026_12_07 1796601600LL /* 2026-12-07 00:00:00 UTC, a Monday */
#define SPRING_2026 1774742400LL    /* 2026-03-29 00:00:00 UTC: Europe/Berlin skips 02:00-03:00 at 01:00 UTC */
#define FALL_2026 1792886400LL      /* 2026-10-25 00:00:00 UTC: Europe/Berlin repeats 02:00-03:00 (01:00 UTC) */

static struct cw_maintenance recurring(uint8_t days, int from_min, int to_min, const char *zone)
{
    return (struct cw_maintenance){
        .name = "nightly", .days = days, .from_min = from_min, .to_min = to_min, .time_zone = (char *)zone
    };
}

static void test_one_off(void **state)
{
    (void)state;
    int64_t start = MON_2026_12_07 * S + 22 * H;
    struct cw_maintenance m = { .name = "db-upgrade", .start_us = start, .duration = 7200 };
    assert_false(maintenance_active(&m, start - 1));
    assert_true(maintenance_active(&m, start));
    assert_true(maintenance_active(&m, start + 2 * H - 1));
    assert_false(maintenance_active(&m, start + 2 * H));
    assert_true(maintenance_end(&m, start + H) == start + 2 * H);
    assert_true(maintenance_end(&m, start + 3 * H) == 0);
}

static void test_recurring_across_midnight(void **state)
{
    (void)state;
    struct cw_maintenance m = recurring(1u << 1, 22 * 60, 2 * 60, NULL); /* Mondays 22:00 to Tuesday 02:00 UTC */
    int64_t mon = MON_2026_12_07 * S;
    assert_false(maintenance_active(&m, mon + 1 * H)); /* Monday 01:00: Sunday's would be, Sunday is not set */
    assert_false(maintenance_active(&m, mon + 22 * H - 1));
    assert_true(maintenance_active(&m, mon + 22 * H));
    assert_true(maintenance_active(&m, mon + 25 * H)); /* Tuesday 01:00 */
    assert_true(maintenance_end(&m, mon + 25 * H) == mon + 26 * H);
    assert_false(maintenance_active(&m, mon + 26 * H));             /* Tuesday 02:00 */
    assert_false(maintenance_active(&m, mon + 46 * H + H / 2));     /* Tuesday 22:30 */
    assert_true(maintenance_active(&m, mon + 7 * 24 * H + 23 * H)); /* the next Monday */
    /* queried backwards after forwards (the cache must not answer for another span) */
    assert_false(maintenance_active(&m, mon - 2 * H));
    assert_true(maintenance_active(&m, mon - 7 * 24 * H + 23 * H));
}

static void test_time_zone(void **state)
{
    (void)state;
    /* every day 09:00-10:00 Berlin = 08:00-09:00 UTC in December (CET, +01:00) */
    struct cw_maintenance m = recurring(0x7f, 9 * 60, 10 * 60, "Europe/Berlin");
    int64_t mon = MON_2026_12_07 * S;
    assert_false(maintenance_active(&m, mon + 9 * H));
    assert_true(maintenance_active(&m, mon + 8 * H));
    assert_true(maintenance_end(&m, mon + 8 * H) == mon + 9 * H);
}

static void test_dst_spring_forward(void **state)
{
    (void)state;
    struct cw_maintenance m = recurring(0x7f, 2 * 60, 3 * 60, "Europe/Berlin");
    int64_t sun = SPRING_2026 * S;
    /* Saturday: CET, 02:00 local = 01:00 UTC */
    assert_true(maintenance_active(&m, sun - 23 * H));
    assert_false(maintenance_active(&m, sun - 22 * H));
    /* Sunday: 02:00-03:00 does not exist: not open at any instant of the night */
    for (int64_t t = sun - 2 * H; t < sun + 4 * H; t += 10 * 60 * S) assert_false(maintenance_active(&m, t));
    /* Monday: CEST, 02:00 local = 00:00 UTC */
    assert_true(maintenance_active(&m, sun + 24 * H));
    assert_false(maintenance_active(&m, sun + 25 * H));
    /* 02:00-04:00 that Sunday: from the jump (03:00 CEST = 01:00 UTC) to 04:00 CEST = 02:00 UTC */
    struct cw_maintenance longer = recurring(1u << 0, 2 * 60, 4 * 60, "Europe/Berlin");
    assert_false(maintenance_active(&longer, sun + H - 1));
    assert_true(maintenance_active(&longer, sun + H));
    assert_true(maintenance_end(&longer, sun + H) == sun + 2 * H);
    assert_false(maintenance_active(&longer, sun + 2 * H));
}

static void test_dst_fall_back(void **state)
{
    (void)state;
    /* 02:00-03:00 happens twice: from the first 02:00 (CEST, 00:00 UTC) to 03:00 CET (02:00 UTC) */
    struct cw_maintenance m = recurring(1u << 0, 2 * 60, 3 * 60, "Europe/Berlin");
    int64_t sun = FALL_2026 * S;
    assert_false(maintenance_active(&m, sun - 1));
    assert_true(maintenance_active(&m, sun));
    assert_true(maintenance_active(&m, sun + H + H / 2));
    assert_true(maintenance_end(&m, sun) == sun + 2 * H);
    assert_false(maintenance_active(&m, sun + 2 * H));
    assert_true(maintenance_next_change(&(struct cw_config){ .maintenance = &m, .n_maintenance = 1 }, sun - H) == sun);
}

static void test_covers(void **state)
{
    (void)state;
    struct cw_endpoint eps[3] = { { .url = "http://a/", .name = "billing", .group = "db" },
                                  { .url = "http://b/", .group = "db" },
                                  { .url = "http://c/", .name = "web" } };
    struct cw_config cfg = { .endpoints = eps, .n_endpoints = 3 };
    size_t only_c[] = { 2 };
    char *db[] = { "db" };
    struct cw_maintenance by_ep = { .name = "e", .endpoints = only_c, .n_endpoints = 1, .days = 0x7f };
    struct cw_maintenance by_group = { .name = "g", .groups = db, .n_groups = 1, .days = 0x7f };
    struct cw_maintenance all = { .name = "all", .days = 0x7f };
    assert_true(maintenance_covers(&cfg, &by_ep, &eps[2]));
    assert_false(maintenance_covers(&cfg, &by_ep, &eps[0]));
    struct cw_endpoint copy = { .url = "http://c/", .name = "web" }; /* another config's endpoint: by name */
    assert_true(maintenance_covers(&cfg, &by_ep, &copy));
    struct cw_endpoint unnamed = { .url = "http://b/" };
    size_t only_b[] = { 1 };
    struct cw_maintenance by_url = { .name = "u", .endpoints = only_b, .n_endpoints = 1, .days = 0x7f };
    assert_true(maintenance_covers(&cfg, &by_url, &unnamed));
    assert_true(maintenance_covers(&cfg, &by_group, &eps[0]));
    assert_true(maintenance_covers(&cfg, &by_group, &eps[1]));
    assert_false(maintenance_covers(&cfg, &by_group, &eps[2]));
    for (int i = 0; i < 3; i++) assert_true(maintenance_covers(&cfg, &all, &eps[i]));
}

static void test_find_and_next_change(void **state)
{
    (void)state;
    struct cw_endpoint eps[2] = { { .url = "http://a/", .name = "billing" }, { .url = "http://b/", .name = "web" } };
    size_t only_a[] = { 0 };
    int64_t mon = MON_2026_12_07 * S;
    struct cw_maintenance ms[2] = {
        { .name = "upgrade", .endpoints = only_a, .n_endpoints = 1, .start_us = mon + 10 * H, .duration = 1800 },
        recurring(1u << 2, 3 * 60, 4 * 60, NULL), /* Tuesdays 03:00-04:00 UTC, everything */
    };
    struct cw_config cfg = { .endpoints = eps, .n_endpoints = 2, .maintenance = ms, .n_maintenance = 2 };
    assert_null(maintenance_find(&cfg, &eps[0], mon + 9 * H));
    assert_ptr_equal(maintenance_find(&cfg, &eps[0], mon + 10 * H), &ms[0]);
    assert_null(maintenance_find(&cfg, &eps[1], mon + 10 * H));
    assert_ptr_equal(maintenance_find(&cfg, &eps[1], mon + 27 * H), &ms[1]);
    assert_true(maintenance_next_change(&cfg, mon) == mon + 10 * H);
    assert_true(maintenance_next_change(&cfg, mon + 10 * H) == mon + 10 * H + H / 2);
    assert_true(maintenance_next_change(&cfg, mon + 11 * H) == mon + 27 * H);
    assert_true(maintenance_next_change(&cfg, mon + 27 * H) == mon + 28 * H);
    struct cw_config none = { .endpoints = eps, .n_endpoints = 2 };
    assert_true(maintenance_next_change(&none, mon) == INT64_MAX);
    cfg.n_maintenance = 1;
    assert_true(maintenance_next_change(&cfg, mon + 11 * H) == INT64_MAX);
}

static void test_tz_left_alone(void **state)
{
    (void)state;
    setenv("TZ", "America/New_York", 1);
    struct cw_maintenance m = recurring(0x7f, 2 * 60, 3 * 60, "Asia/Tokyo");
    (void)maintenance_active(&m, MON_2026_12_07 * S + 12345 * S);
    assert_string_equal(getenv("TZ"), "America/New_York");
    unsetenv("TZ");
    (void)maintenance_active(&m, MON_2026_12_07 * S + 99999 * S);
    assert_null(getenv("TZ"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_off),
        cmocka_unit_test(test_recurring_across_midnight),
        cmocka_unit_test(test_time_zone),
        cmocka_unit_test(test_dst_spring_forward),
        cmocka_unit_test(test_dst_fall_back),
        cmocka_unit_test(test_covers),
        cmocka_unit_test(test_find_and_next_change),
        cmocka_unit_test(test_tz_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
