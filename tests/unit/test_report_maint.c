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
#include "report/report.h"
#include "storer/reader.h"

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

/* A fake reader: one marked check of endpoint 7 in every range asked, counted in calls. */
static int fake_calls;
static int fake_maintenance(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                            store_read_maint_fn fn, void *ctx, char *err, size_t errlen)
{
    (void)r, (void)from_ms, (void)to_ms, (void)ep_lo, (void)ep_hi, (void)err, (void)errlen;
    fake_calls++;
    return fn(ctx, 7, 1, 0, "local");
}

/* Checks marked in maintenance stay out of the uptime after their window left the configuration (a one-off window
 * removed once it is over): the report reads the marks whatever windows the file has now. */
static void test_marks_read_without_windows(void **state)
{
    (void)state;
    struct cw_endpoint ep = { .url = "http://a/", .name = "a" };
    struct cw_config cfg = { .endpoints = &ep, .n_endpoints = 1 }; /* no window any more */
    struct report rep = { .cfg = &cfg, .since_ms = MON_MS, .until_ms = MON_MS + 24 * H_MS, .now_ms = INT64_MAX };
    struct report_ep e = { .ep = &ep, .db_id = 7 };
    rep.eps = &e;
    rep.n = 1;
    HASH_ADD(by_id, rep.id_table, db_id, sizeof e.db_id, &e);
    win_split(rep.since_ms, rep.until_ms, &rep.split);
    struct store_read_backend b = { .maintenance = fake_maintenance };
    char err[128];
    fake_calls = 0;
    assert_int_equal(report_read_maintenance(&rep, &b, NULL, err, sizeof err), 0);
    assert_true(fake_calls >= 1);
    assert_int_equal(e.maint_checks[0] + e.maint_checks[1], fake_calls);
    HASH_CLEAR(by_id, rep.id_table);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_time_in_maintenance),
                                        cmocka_unit_test(test_uptime_counts),
                                        cmocka_unit_test(test_marks_read_without_windows) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
