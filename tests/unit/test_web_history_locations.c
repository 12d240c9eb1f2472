/* tests/unit/test_web_history_locations.c — clockwerk-web's history read with several locations (issue 16): a past
 * day of the uptime bar holds one daily cell per location, and its p95 is that of the day's merged histogram, not
 * the last location's (web/history_read.c); an hour of the endpoint's detail holds one hourly cell per location,
 * and its counts and percentiles are their sum (web/history_detail.c). Against a real SQLite file written by the
 * storer's backend. */
#include "sqlite_fx_util.h"

#include <string.h>

#include "storer/batch.h"
#include "storer/reader.h"
#include "web/history_read.h"

#define URL "http://a.example/"
#define HOUR_MS 3600000LL
#define AT_MS (1796342400000LL + 10 * HOUR_MS) /* the checks: from 2026-12-04T10:00:00Z, one a minute */
#define NOW_MS (AT_MS + 50 * HOUR_MS + 30000)  /* 2026-12-06T12:00:30Z: 2026-12-04 is days[WEB_DAYS - 3] */

static int setup(void **state)
{
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1); /* a fold at every batch */
    return (*state = sqlite_fx_new("cw-webhistloc")) ? 0 : -1;
}
static int teardown(void **state) { return sqlite_fx_free(*state), 0; }

/* n checks one a minute from at (ms), from location, latency latency_us, seq first.., every one ok but the first. */
static void write_checks(struct sqlite_fx *f, const char *location, uint64_t first, int n, int64_t at,
                         int64_t latency_us)
{
    struct store_batch b;
    store_batch_init(&b);
    for (int i = 0; i < n; i++) {
        struct cw_result r = { .url = URL,
                               .worker = 1,
                               .boot_id = 77,
                               .seq = first + (uint64_t)i,
                               .checked_at_us = (at + i * 60000LL) * 1000,
                               .ok = i > 0,
                               .status_code = i > 0 ? 200 : 500,
                               .error = i > 0 ? NULL : "HTTP 500",
                               .latency_us = latency_us,
                               .dns_us = -1,
                               .connect_us = -1,
                               .tls_us = -1,
                               .ttfb_us = -1,
                               .location = location };
        store_batch_add_check(&b, &r);
    }
    char err[512];
    usleep(3000); /* past the fold period of 1 ms: this batch folds */
    assert_int_equal(f->be->write_batch(f->db, &b, err, sizeof err), STORE_OK);
    store_batch_free(&b);
}

/* Two days ago, 10:00: fra checks 60 times at 100 ms, then nyc 10 times at 10 ms (the second cell of the day and
 * of the hour read last or first: either way one location's alone is wrong). */
static void fill(struct sqlite_fx *f)
{
    write_checks(f, "fra", 1, 60, AT_MS, 100000);
    write_checks(f, "nyc", 101, 10, AT_MS, 10000);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks_daily"), 2);
    assert_int_equal(sqlite_fx_int(f, "SELECT count(*) FROM checks_hourly"), 2);
}

/* The web's history snapshot of URL at NOW_MS, and the reader it was read with (*r, for a detail; close it). */
static struct cw_endpoint ep = { .url = URL };
static struct web_history *read_history(struct sqlite_fx *f, struct store_reader **r)
{
    static struct cw_config cfg = { .db_driver = CW_DB_SQLITE, .endpoints = &ep, .n_endpoints = 1 };
    cfg.db_name = f->path;
    char err[512] = "";
    int rc;
    *r = store_read_sqlite.open(&cfg, &rc, err, sizeof err);
    assert_non_null(*r);
    struct web_history *h = web_history_read(&store_read_sqlite, *r, &cfg, NOW_MS, NULL, NULL, &rc, err, sizeof err);
    assert_int_equal(rc, STORE_OK);
    assert_int_equal(h->n, 1);
    return h;
}

/* Between 97 and 103 ms: the midpoint of 100 ms's bucket (lathist: within ~3.2%). */
static bool near_100ms(uint32_t us) { return us >= 97000 && us <= 103000; }

static void test_day_of_two_locations(void **state)
{
    struct sqlite_fx *f = *state;
    fill(f);
    struct store_reader *r;
    struct web_history *h = read_history(f, &r);
    struct web_bar bar;
    web_bar_day(&h->ep[0], WEB_DAYS - 3, &bar); /* 2026-12-04 */
    assert_int_equal(bar.per10k, 68 * 10000 / 70);
    /* 60 of 70 at 100 ms: the day's 95th percentile is 100 ms (nyc's cell alone: 10 ms; the next test has the
     * cells the other way round, so that the last cell read alone fails one of the two) */
    assert_true(near_100ms(bar.p95_us));
    assert_int_equal(h->ep[0].win[WEB_WIN_7D].checks, 70);

    /* the detail's hour 10:00 of that day: both cells summed; the exact day */
    struct web_detail *det = web_detail_read(&store_read_sqlite, r, 1, &ep, NOW_MS);
    assert_null(det->error);
    const struct web_day *d = &det->days[WEB_DAYS - 3];
    assert_int_equal(d->checks, 70);
    assert_int_equal(d->ok, 68);
    assert_true(near_100ms(d->p95_us));
    const struct web_detail_hour *hour = NULL;
    for (int i = 0; i < WEB_DETAIL_HOURS; i++)
        if (det->hours[i].start_ms == AT_MS) hour = &det->hours[i];
    assert_non_null(hour);
    assert_int_equal(hour->checks, 70);
    assert_int_equal(hour->ok, 68);
    assert_true(hour->has_latency);
    assert_true(near_100ms(hour->p50_us));
    assert_true(near_100ms(hour->p95_us));
    web_detail_free(det);
    store_read_sqlite.close(r);
    web_history_free(h);
}

/* The same day with the slow checks at nyc: 10 of 70 at 300 ms, more than 5%: the day's p95 is 300 ms (fra's cell
 * alone: 10 ms). */
static void test_day_p95_from_the_slower_location(void **state)
{
    struct sqlite_fx *f = *state;
    write_checks(f, "nyc", 101, 10, AT_MS, 300000);
    write_checks(f, "fra", 1, 60, AT_MS, 10000);
    struct store_reader *r;
    struct web_history *h = read_history(f, &r);
    struct web_bar bar;
    web_bar_day(&h->ep[0], WEB_DAYS - 3, &bar);
    assert_true(bar.data);
    assert_true(bar.p95_us >= 291000 && bar.p95_us <= 309000);
    store_read_sqlite.close(r);
    web_history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_day_of_two_locations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_p95_from_the_slower_location, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
