/* tests/unit/test_rollup_sqlite.c — the roll-ups (storer/rollup.c) through the SQLite backend, against a real
 * database file: a fold is part of the batch's transaction (a fold that fails takes the batch's raw rows
 * with it, and the retried batch is counted once), a replayed batch (the acked delivery's resend) is never
 * counted twice, hours and days are cut in UTC, and the histograms hold the stored values. Folds are made due
 * at every batch (CLOCKWERK_ROLLUP_EVERY_MS=1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/base/log.h"
#include "common/wire/lathist.h"
#include "storer/backend.h"
#include "storer/batch.h"
#include "sqlite_fx_util.h"

static int setup(void **state)
{
    log_init("test", LOG_LVL_ERROR);
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1);
    *state = sqlite_fx_new("cw-rollup");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    sqlite_fx_free(*state);
    return 0;
}

#define T0 1796342400000000LL /* 2026-12-04T00:00:00Z */

/* n results of url from seq first, one a minute from `at`, every third one failed; latency 10 ms + seq µs */
static void fill(struct store_batch *b, const char *url, uint64_t first, int n, int64_t at)
{
    for (int i = 0; i < n; i++) {
        struct cw_result r;
        memset(&r, 0, sizeof r);
        r.url = (char *)url;
        r.worker = 1;
        r.boot_id = 77;
        r.seq = first + (uint64_t)i;
        r.checked_at_us = at + (int64_t)i * 60000000LL;
        r.ok = r.seq % 3 != 0;
        r.status_code = r.ok ? 200 : 500;
        r.error = r.ok ? NULL : "HTTP 500";
        r.latency_us = 10000 + (int64_t)r.seq;
        r.dns_us = 100;
        r.connect_us = 200;
        r.tls_us = -1;
        r.ttfb_us = 5000;
        store_batch_add_check(b, &r);
    }
}

static void write_ok(struct sqlite_fx *f, const struct store_batch *b)
{
    char err[512];
    usleep(2000); /* the fold period (1 ms) passes: every batch folds */
    assert_int_equal(f->be->write_batch(f->db, b, err, sizeof err), STORE_OK);
}

static void test_counts_hours_days_and_replays(void **state)
{
    struct sqlite_fx *f = *state;
    struct store_batch b;
    store_batch_init(&b);
    fill(&b, "http://a.example/", 1, 150, T0 + 22 * 3600000000LL); /* 22:00 .. 00:29 the next day */
    write_ok(f, &b);
    write_ok(f, &b); /* a replay of the same results: skipped as raw rows, so never folded */
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks"), 150);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), 150);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_daily"), 150);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks_hourly"), 3);
    assert_int_equal(sqlite_fx_int(f, "SELECT checks FROM checks_hourly WHERE period_start = '2026-12-04T22:00:00.000Z'"), 60);
    assert_int_equal(sqlite_fx_int(f, "SELECT checks FROM checks_hourly WHERE period_start = '2026-12-05T00:00:00.000Z'"), 30);
    assert_int_equal(sqlite_fx_int(f, "SELECT checks FROM checks_daily WHERE period_start = '2026-12-04T00:00:00.000Z'"), 120);
    assert_int_equal(sqlite_fx_int(f, "SELECT ok FROM checks_daily WHERE period_start = '2026-12-05T00:00:00.000Z'"), 20);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(failures) FROM checks_hourly"), 50);
    assert_int_equal(sqlite_fx_int(f, "SELECT last_check_id FROM rollup_state"), sqlite_fx_int(f, "SELECT max(id) FROM checks"));

    /* the histograms: the latency of 22:00's 60 rows, and no TLS value at all */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->peek,
                                        "SELECT latency_hist, tls_hist FROM checks_hourly "
                                        "WHERE period_start = '2026-12-04T22:00:00.000Z'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    static struct lat_hist h, want;
    assert_true(lat_hist_decode(&h, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), NULL));
    lat_hist_reset(&want);
    for (int s = 1; s <= 60; s++) lat_hist_add(&want, 10000 + s);
    assert_memory_equal(&h, &want, sizeof h);
    assert_true(lat_hist_decode(&h, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), NULL));
    assert_int_equal(h.total, 0);
    sqlite3_finalize(st);
    store_batch_free(&b);
}

/* A fold that fails fails the batch: its raw rows are rolled back with it, and the batch written again later
 * is counted once. */
static void test_fold_shares_the_transaction(void **state)
{
    struct sqlite_fx *f = *state;
    struct store_batch b;
    store_batch_init(&b);
    fill(&b, "http://b.example/", 1000, 10, T0);
    write_ok(f, &b);
    store_batch_clear(&b);
    fill(&b, "http://b.example/", 2000, 10, T0 + 600000000LL);
    assert_int_equal(sqlite3_exec(f->peek,
                                  "CREATE TRIGGER no_rollups BEFORE UPDATE ON checks_hourly "
                                  "BEGIN SELECT RAISE(ABORT, 'roll-ups refused'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    char err[512];
    usleep(2000);
    assert_int_not_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    assert_non_null(strstr(err, "roll-ups refused"));
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks"), 10); /* the batch's rows went with the fold */
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), 10);
    assert_int_equal(sqlite3_exec(f->peek, "DROP TRIGGER no_rollups", NULL, NULL, NULL), SQLITE_OK);
    write_ok(f, &b);
    write_ok(f, &b);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks"), 20);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), 20);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_daily"), 20);
    store_batch_free(&b);
}

/* Rows left above the watermark (a stop right after a batch) are folded at close, or at the next open. */
static void test_pending_rows_folded_at_close(void **state)
{
    struct sqlite_fx *f = *state;
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "3600000", 1);
    sqlite_fx_reopen(f);
    char err[512];
    struct store_batch b;
    store_batch_init(&b);
    fill(&b, "http://c.example/", 1, 7, T0);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks_hourly"), 0); /* not due */
    f->be->close(f->db);
    f->db = NULL;
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), 7);
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1);
    store_batch_free(&b);
}

/* An operator's `DELETE FROM rollup_state` (the documented way to rebuild): a running storer's next fold asks for
 * a reopen (STORE_RETRY, not a fatal exit), and the reopen empties both tables and rebuilds them from the raw
 * rows, each counted once (fails before: STORE_FATAL, and the storer exited 2 at the reopen). */
static void test_emptied_state_rebuilds(void **state)
{
    struct sqlite_fx *f = *state;
    char err[512];
    struct store_batch b;
    store_batch_init(&b);
    fill(&b, "http://d.example/", 1, 40, T0);
    write_ok(f, &b);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), 40);
    assert_int_equal(sqlite3_exec(f->peek, "DELETE FROM rollup_state", NULL, NULL, NULL), SQLITE_OK);
    store_batch_clear(&b);
    fill(&b, "http://d.example/", 41, 5, T0 + 40 * 60000000LL);
    usleep(2000);
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_RETRY);
    assert_non_null(strstr(err, "rollup_state has no row"));
    sqlite_fx_reopen(f);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), 40);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_daily"), 40);
    write_ok(f, &b);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), 45);
    assert_int_equal(sqlite_fx_int(f, "SELECT last_check_id FROM rollup_state"), sqlite_fx_int(f, "SELECT max(id) FROM checks"));
    store_batch_free(&b);
}

/* A raw row whose checked_at was edited into another form is left out (logged), the others are folded and the
 * watermark passes it. */
static void test_unreadable_time_left_out(void **state)
{
    struct sqlite_fx *f = *state;
    struct store_batch b;
    store_batch_init(&b);
    fill(&b, "http://e.example/", 1, 10, T0);
    write_ok(f, &b);
    assert_int_equal(sqlite3_exec(f->peek,
                                  "INSERT INTO checks (endpoint_id, checked_at, status_code, latency_ms, ok, worker, "
                                  "boot_id, seq) SELECT endpoint_id, 'yesterday', 200, 1e300, 1, 9, 9, 9 FROM checks "
                                  "LIMIT 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    store_batch_clear(&b);
    fill(&b, "http://e.example/", 11, 3, T0 + 10 * 60000000LL);
    write_ok(f, &b);
    assert_int_equal(sqlite_fx_int(f, "SELECT sum(checks) FROM checks_hourly"), 13);
    assert_int_equal(sqlite_fx_int(f, "SELECT last_check_id FROM rollup_state"), sqlite_fx_int(f, "SELECT max(id) FROM checks"));
    store_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_hours_days_and_replays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fold_shares_the_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_rows_folded_at_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emptied_state_rebuilds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_time_left_out, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
