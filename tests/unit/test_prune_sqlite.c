/* tests/unit/test_prune_sqlite.c — retention through the SQLite backend's primitive (storer/sqlite_prune.c)
 * and the engine (storer/prune.c), against a real database file written by the backend's own write_batch:
 * exactly the raw rows older than raw_days go, none above the roll-ups' watermark and never the newest row,
 * and the hourly and daily cells whose whole period is older than their bound; the roll-ups of what stays
 * are untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "storer/backend.h"
#include "storer/batch.h"
#include "storer/prune.h"
#include "sqlite_fx_util.h"

#define DAY_US 86400000000LL
#define STEP_US 600000000LL /* a check every 10 minutes */

static int64_t now_s; /* the tests' "now", UTC seconds, read once per test */

static int setup(void **state)
{
    log_init("test", LOG_LVL_ERROR);
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1);
    now_s = cw_wall_us() / 1000000;
    *state = sqlite_fx_new("cw-prune");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    sqlite_fx_free(*state);
    return 0;
}

/* days of history for url up to now, one check every 10 minutes, in batches of 500 (each folds) */
static void history(struct sqlite_fx *f, const char *url, int days, uint64_t boot)
{
    struct store_batch b;
    store_batch_init(&b);
    int64_t n = days * DAY_US / STEP_US, start = now_s * 1000000 - n * STEP_US;
    char err[512];
    for (int64_t i = 0; i < n; i++) {
        struct cw_result r = { .url = (char *)url,
                               .worker = 0,
                               .boot_id = boot,
                               .seq = (uint64_t)i + 1,
                               .checked_at_us = start + i * STEP_US,
                               .ok = true,
                               .status_code = 200,
                               .latency_us = 1000,
                               .dns_us = -1,
                               .connect_us = 10,
                               .tls_us = -1,
                               .ttfb_us = 500 };
        store_batch_add_check(&b, &r);
        if (store_batch_rows(&b) == 500 || i == n - 1) {
            usleep(2000);
            assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
            store_batch_clear(&b);
        }
    }
    store_batch_free(&b);
}

static int on_backend(void *ctx, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen)
{
    struct sqlite_fx *f = ctx;
    return f->be->prune(f->db, req, res, err, errlen);
}

static void prune_all(struct sqlite_fx *f, int raw, int hourly, int daily, struct prune_counts *out)
{
    struct prune p;
    prune_init(&p, 0);
    prune_configure(&p, raw, hourly, daily);
    char err[512];
    int64_t now = 0;
    for (int i = 0; i < 100000 && p.passes == 0; i++) {
        int rc = prune_step(&p, on_backend, f, now, now_s, err, sizeof err);
        if (rc != STORE_OK) fail_msg("%s", err);
        prune_took(&p, 1000000);
        now = prune_due_at(&p);
    }
    assert_int_equal(p.passes, 1);
    *out = p.total;
    prune_free(&p);
}

static void iso(int64_t s, char *out, size_t len) { cw_format_iso8601(s * 1000000, out, len); }

static void test_exact_bounds(void **state)
{
    struct sqlite_fx *f = *state;
    history(f, "http://a.example/", 12, 1);
    history(f, "http://b.example/", 12, 2);
    long long rows = sqlite_fx_int(f, "SELECT count(*) FROM checks"), top = sqlite_fx_int(f, "SELECT max(id) FROM checks");
    assert_int_equal(sqlite_fx_int(f, "SELECT last_check_id FROM rollup_state"), top);
    char rb[40], hb[40], db[40];
    iso(now_s - 3 * 86400, rb, sizeof rb);
    iso(prune_cell_bound(now_s, 5, ROLLUP_HOUR), hb, sizeof hb);
    iso(prune_cell_bound(now_s, 8, ROLLUP_DAY), db, sizeof db);
    long long old_raw = sqlite_fx_int(f, "SELECT count(*) FROM checks WHERE checked_at < '%s'", rb);
    long long old_h = sqlite_fx_int(f, "SELECT count(*) FROM checks_hourly WHERE period_start < '%s'", hb);
    long long old_d = sqlite_fx_int(f, "SELECT count(*) FROM checks_daily WHERE period_start < '%s'", db);
    long long kept_h = sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly WHERE period_start >= '%s'", hb);
    long long n_h = sqlite_fx_int(f, "SELECT count(*) FROM checks_hourly"), n_d = sqlite_fx_int(f, "SELECT count(*) FROM checks_daily");
    assert_true(old_raw > 1000 && old_h > 100 && old_d >= 6);

    struct prune_counts c;
    prune_all(f, 3, 5, 8, &c);
    assert_int_equal(c.raw, old_raw);
    assert_int_equal(c.hourly, old_h);
    assert_int_equal(c.daily, old_d);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks"), rows - old_raw);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks WHERE checked_at < '%s'", rb), 0);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks_hourly"), n_h - old_h);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks_daily"), n_d - old_d);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), kept_h);
    assert_int_equal(sqlite_fx_int(f, "SELECT max(id) FROM checks"), top);
}

static void test_watermark_and_newest(void **state)
{
    struct sqlite_fx *f = *state;
    history(f, "http://a.example/", 5, 1);
    long long top = sqlite_fx_int(f, "SELECT max(id) FROM checks");
    /* rows above the watermark are never pruned: put it back below rows that are all older than the bound */
    assert_int_equal(sqlite3_exec(f->peek, "UPDATE rollup_state SET last_check_id = 100", NULL, NULL, NULL), SQLITE_OK);
    struct prune_counts c;
    prune_all(f, 1, 0, 0, &c);
    assert_int_equal(c.raw, 100);
    assert_int_equal(sqlite_fx_int(f, "SELECT min(id) FROM checks"), 101);
    /* everything older than the bound, watermark at the top: all but the newest row */
    assert_int_equal(
        sqlite3_exec(f->peek, "UPDATE rollup_state SET last_check_id = (SELECT max(id) FROM checks)", NULL, NULL, NULL),
        SQLITE_OK);
    now_s += 30 * 86400; /* a month later */
    prune_all(f, 1, 0, 0, &c);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks"), 1);
    assert_int_equal(sqlite_fx_int(f, "SELECT max(id) FROM checks"), top);
    /* rollup_state without its row (a rebuild pending): nothing */
    assert_int_equal(sqlite3_exec(f->peek, "DELETE FROM rollup_state", NULL, NULL, NULL), SQLITE_OK);
    prune_all(f, 1, 0, 0, &c);
    assert_int_equal(c.raw, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exact_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watermark_and_newest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
