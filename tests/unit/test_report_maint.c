/* tests/unit/test_report_maint.c — maintenance in `clockwerk report` (docs/report.md "Maintenance"): the time an
 * endpoint spent in the configuration's windows over the report's window (one-off windows cut at both ends, a
 * recurring one every night, windows of other endpoints not counted, overlapping windows counted once), and the
 * uptime's counts without the checks in maintenance (the late hour's only when the tally counts it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report/maint.h"

#define MON_MS 1796601600000LL /* 2026-12-07 00:00:00 UTC, a Monday */
#define H_MS 3600000LL

static void test_time_in_maintenance(void **state)
{
    (void)state;
    struct cw_endpoint eps[2] = { { .url = "http://a/", .name = "a" }, { .url = "http://b/", .name = "b" } };
    size_t only_a[] = { 0 }, only_b[] = { 1 };
    struct cw_maintenance ms[3] = {
        /* a: Monday 10:00-12:00 */
        { .name = "upgrade",
          .endpoints = only_a,
          .n_endpoints = 1,
          .start_us = (MON_MS + 10 * H_MS) * 1000,
          .duration = 7200 },
        /* a: Monday 11:00-11:30, inside the first: counted once */
        { .name = "inner",
          .endpoints = only_a,
          .n_endpoints = 1,
          .start_us = (MON_MS + 11 * H_MS) * 1000,
          .duration = 1800 },
        /* b: every night 23:00-01:00 UTC */
        { .name = "nightly", .endpoints = only_b, .n_endpoints = 1, .days = 0x7f, .from_min = 23 * 60, .to_min = 60 },
    };
    struct cw_config cfg = { .endpoints = eps, .n_endpoints = 2, .maintenance = ms, .n_maintenance = 3 };
    assert_int_equal(report_maintenance_ms(&cfg, &eps[0], MON_MS, MON_MS + 24 * H_MS), 2 * H_MS);
    assert_int_equal(report_maintenance_ms(&cfg, &eps[0], MON_MS + 11 * H_MS, MON_MS + 24 * H_MS), H_MS); /* cut */
    assert_int_equal(report_maintenance_ms(&cfg, &eps[0], MON_MS, MON_MS + 10 * H_MS + 60000), 60000);
    assert_int_equal(report_maintenance_ms(&cfg, &eps[0], MON_MS + 13 * H_MS, MON_MS + 20 * H_MS), 0);
    /* b over a week from Monday 00:00: 1 h (Sunday's night) + 6 whole nights + Sunday 23:00-24:00 = 14 h */
    assert_int_equal(report_maintenance_ms(&cfg, &eps[1], MON_MS, MON_MS + 7 * 24 * H_MS), 14 * H_MS);
    struct cw_config none = { .endpoints = eps, .n_endpoints = 2 };
    assert_int_equal(report_maintenance_ms(&none, &eps[1], MON_MS, MON_MS + 7 * 24 * H_MS), 0);
}

static void test_uptime_counts(void **state)
{
    (void)state;
    struct report_ep e = { .t = { .checks = 100, .ok = 90 } };
    e.maint_checks[0] = 10;
    e.maint_ok[0] = 2;
    e.maint_checks[1] = 5;
    e.maint_ok[1] = 5;
    int64_t checks, ok;
    report_uptime_counts(&e, &checks, &ok);
    assert_int_equal(checks, 90);
    assert_int_equal(ok, 88);
    e.late_counted = true;
    report_uptime_counts(&e, &checks, &ok);
    assert_int_equal(checks, 85);
    assert_int_equal(ok, 83);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_time_in_maintenance),
                                        cmocka_unit_test(test_uptime_counts) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
