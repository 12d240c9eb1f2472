/* tests/unit/test_config_retention.c — database.retention (common/config/config_database.c): the defaults, values
 * read, every bad value refused with its FILE:LINE, the warnings of an inconsistent choice, and the values
 * surviving the snapshot the storer reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"

static void test_defaults(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, "database = { db_activation = true; };\n");
    assert_non_null(c);
    assert_int_equal(c->retention_raw_days, 30);
    assert_int_equal(c->retention_hourly_days, 400);
    assert_int_equal(c->retention_daily_days, 0);
    config_free(c);
    c = ct_load(t, "database = { retention = { hourly_days = 500; }; };\n"); /* each key optional */
    assert_non_null(c);
    assert_int_equal(c->retention_raw_days, 30);
    assert_int_equal(c->retention_hourly_days, 500);
    assert_int_equal(c->retention_daily_days, 0);
    config_free(c);
}

static void test_values_and_snapshot(void **state)
{
    struct ct *t = *state;
    struct cw_config *c =
        ct_load(t, "database = {\n retention = { raw_days = 7; hourly_days = 0; daily_days = 0; };\n};\n");
    assert_non_null(c);
    assert_int_equal(c->retention_raw_days, 7);
    assert_int_equal(c->retention_hourly_days, 0);
    char snap[300], err[512];
    snprintf(snap, sizeof snap, "%s/snap", t->dir);
    assert_int_equal(config_snapshot_write(c, snap, err, sizeof err), 0);
    struct cw_config *r = config_snapshot_read(snap, 0, 0, err, sizeof err);
    if (!r) fprintf(stderr, "%s\n", err);
    assert_non_null(r);
    assert_int_equal(r->retention_raw_days, 7);
    assert_int_equal(r->retention_hourly_days, 0);
    assert_int_equal(r->retention_daily_days, 0);
    config_free(r);
    config_free(c);
}

static void test_bad_values(void **state)
{
    struct ct *t = *state;
    ct_expect_refused(t, "database = {\n retention = {\n raw_days = -1; }; };\n", 3,
                      "database.retention.raw_days: must be between 0 and 36500 (got -1)");
    ct_expect_refused(t, "database = {\n retention = {\n hourly_days = 36501; }; };\n", 3,
                      "database.retention.hourly_days: must be between 0 and 36500");
    ct_expect_refused(t, "database = {\n retention = {\n daily_days = 1.5; }; };\n", 3,
                      "database.retention.daily_days: expected a whole number");
    ct_expect_refused(t, "database = {\n retention = {\n raw_days = \"30\"; }; };\n", 3,
                      "database.retention.raw_days: expected an integer, got a string");
    ct_expect_refused(t, "database = {\n retention = {\n raw_dayz = 3; }; };\n", 3,
                      "unknown key 'raw_dayz' in database.retention");
    ct_expect_refused(t, "database = {\n retention = 30; };\n", 2, "database.retention: expected a group");
    ct_expect_refused(t, "database = {\n retention = {\n raw_days = 4294967306; }; };\n", 3,
                      "must be between 0 and 36500 (got 4294967306)");
}

static void collect_warning(void *ctx, const char *message) { ct_collect(ctx, message); }

static void test_warnings(void **state)
{
    struct ct *t = *state;
    t->n_msgs = 0;
    ct_write(t, "c.conf", "database = {\n retention = { raw_days = 90; hourly_days = 30;\n daily_days = 10; };\n};\n",
             0600);
    struct config_load_options o = { .report = ct_collect, .warn = collect_warning, .ctx = t };
    struct cw_config *c = config_load_with(t->path, &o);
    assert_non_null(c); /* a warning, the file loads */
    assert_true(ct_find(t, 2, "hourly_days (30) keeps less than raw_days (90)") >= 0);
    assert_true(ct_find(t, 2, "daily_days (10) keeps less than hourly_days (30)") >= 0);
    config_free(c);
    t->n_msgs = 0;
    ct_write(t, "c.conf", "database = {\n retention = { raw_days = 0; };\n};\n", 0600);
    c = config_load_with(t->path, &o);
    assert_non_null(c);
    assert_true(ct_find(t, 2, "hourly_days (400) keeps less than raw_days (0: forever)") >= 0);
    config_free(c);
    t->n_msgs = 0; /* the defaults warn about nothing */
    ct_write(t, "c.conf",
             "database = { retention = { }; };\nmonitor = { endpoints = ( { url = \"http://a/\"; } ); };\n", 0600);
    c = config_load_with(t->path, &o);
    assert_non_null(c);
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], "retention"));
    config_free(c);
}

/* database.raw: the default, the three values through the snapshot, a bad value refused, raw_days warned about
 * with "none" (only when set by hand) */
static void test_raw_mode(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, "database = { db_activation = true; };\n");
    assert_non_null(c);
    assert_int_equal(c->db_raw, CW_RAW_ALL);
    config_free(c);
    const char *names[] = { "all", "failures", "none" };
    for (int m = 0; m < 3; m++) {
        char text[200], snap[300], err[512];
        snprintf(text, sizeof text, "database = { raw = \"%s\"; };\n", names[m]);
        c = ct_load(t, text);
        assert_non_null(c);
        assert_int_equal(c->db_raw, m);
        assert_string_equal(config_raw_name(c->db_raw), names[m]);
        snprintf(snap, sizeof snap, "%s/snap", t->dir);
        assert_int_equal(config_snapshot_write(c, snap, err, sizeof err), 0);
        struct cw_config *r = config_snapshot_read(snap, 0, 0, err, sizeof err);
        assert_non_null(r);
        assert_int_equal(r->db_raw, m);
        config_free(r);
        config_free(c);
    }
    ct_expect_refused(t, "database = {\n raw = \"failure\"; };\n", 2,
                      "database.raw: 'failure' is not all, failures or none");
    ct_expect_refused(t, "database = {\n raw = 1; };\n", 2, "database.raw");
    t->n_msgs = 0;
    struct config_load_options o = { .report = ct_collect, .warn = collect_warning, .ctx = t };
    ct_write(t, "c.conf", "database = {\n raw = \"none\";\n retention = {\n raw_days = 7; }; };\n", 0600);
    c = config_load_with(t->path, &o);
    assert_non_null(c);
    assert_true(ct_find(t, 4, "raw_days: set, but database.raw is \"none\"") >= 0);
    config_free(c);
    t->n_msgs = 0; /* the default raw_days with "none": no warning */
    ct_write(t, "c.conf", "database = {\n raw = \"none\"; };\n", 0600);
    c = config_load_with(t->path, &o);
    assert_non_null(c);
    for (int i = 0; i < t->n_msgs && i < CT_MAX_MSGS; i++) assert_null(strstr(t->msgs[i], "raw_days"));
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_values_and_snapshot, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_warnings, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_raw_mode, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
