/* tests/unit/test_report.c — the pure parts of `clockwerk report` (report/): durations and dates, the window
 * cut into whole days and ragged hours, DOWN intervals from down/up alerts clipped to the window (across the
 * start, open at the end, out of order, a message without its time), percentiles and the slowest phase from
 * summed histogram blobs and raw rows, and CSV quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "history/downtime.h"
#include "report/output.h"
#include "history/tally.h"
#include "history/window.h"

#define T0 INT64_C(1790812800000) /* 2026-10-01T00:00:00Z in ms */
#define H WIN_HOUR_MS
#define D WIN_DAY_MS

static void test_durations(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(win_parse_duration("24h", &ms) && ms == 24 * H);
    assert_true(win_parse_duration("90d", &ms) && ms == 90 * D);
    assert_true(win_parse_duration("2w", &ms) && ms == 14 * D);
    assert_true(win_parse_duration("15m", &ms) && ms == 15 * 60000);
    assert_true(win_parse_duration("30s", &ms) && ms == 30000);
    const char *bad[] = { "", "h", "0h", "24", "24x", "24hh", "-1d", " 1d", "99999999999d", NULL };
    for (int i = 0; bad[i]; i++) assert_false(win_parse_duration(bad[i], &ms));
}

static void test_dates(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(win_parse_date("2026-10-01", &ms) && ms == T0);
    assert_true(win_parse_date("2026-10-01T06:30", &ms) && ms == T0 + 6 * H + 30 * 60000);
    assert_true(win_parse_date("2026-10-01 06:30:05", &ms) && ms == T0 + 6 * H + 30 * 60000 + 5000);
    assert_true(win_parse_date("2026-10-01T06:30:05.123Z", &ms) && ms == T0 + 6 * H + 30 * 60000 + 5123);
    assert_true(win_parse_date("2026-10-01T06:30:05.5", &ms) && ms == T0 + 6 * H + 30 * 60000 + 5500);
    const char *bad[] = { "2026-13-01",       "2026-02-30",
                          "2026-10-01T24:00", "2026-10-01T06",
                          "2026-10-01+02:00", "2026-10-01T06:30:05.Z",
                          "26-10-01",         "2026-10-01x",
                          "yesterday",        NULL };
    for (int i = 0; bad[i]; i++) assert_false(win_parse_date(bad[i], &ms));
    assert_true(win_parse_when("now", T0, &ms) && ms == T0);
    assert_true(win_parse_when("7d", T0, &ms) && ms == T0 - 7 * D);
    assert_true(win_parse_when("2026-10-01", 0, &ms) && ms == T0);
}

static void test_floor_ceil(void **state)
{
    (void)state;
    assert_int_equal(win_floor(T0 + 1, H), T0);
    assert_int_equal(win_ceil(T0 + 1, H), T0 + H);
    assert_int_equal(win_ceil(T0, H), T0);
    assert_int_equal(win_floor(-1, H), -H);
    assert_int_equal(win_ceil(-1, H), 0);
}

static void test_split(void **state)
{
    (void)state;
    struct win_split s;
    /* ragged at both ends: 06:30 on day 1 .. 18:00 on day 4 */
    win_split(T0 + D + 6 * H + 30 * 60000, T0 + 4 * D + 18 * H, &s);
    assert_int_equal(s.hours.from, T0 + D + 6 * H);
    assert_int_equal(s.hours.to, T0 + 4 * D + 18 * H);
    assert_int_equal(s.head.from, T0 + D + 6 * H);
    assert_int_equal(s.head.to, T0 + 2 * D);
    assert_int_equal(s.days.from, T0 + 2 * D);
    assert_int_equal(s.days.to, T0 + 4 * D);
    assert_int_equal(s.tail.from, T0 + 4 * D);
    assert_int_equal(s.tail.to, T0 + 4 * D + 18 * H);
    /* an until inside an hour takes the whole hour */
    win_split(T0, T0 + 2 * D + 1, &s);
    assert_int_equal(s.hours.to, T0 + 2 * D + H);
    assert_int_equal(s.days.from, T0);
    assert_int_equal(s.days.to, T0 + 2 * D);
    assert_int_equal(s.head.from, s.head.to);
    assert_int_equal(s.tail.from, T0 + 2 * D);
    assert_int_equal(s.tail.to, T0 + 2 * D + H);
    /* no whole day: everything from the hourly cells */
    win_split(T0 + 5 * H, T0 + D + 3 * H, &s);
    assert_int_equal(s.days.from, s.days.to);
    assert_int_equal(s.head.from, T0 + 5 * H);
    assert_int_equal(s.head.to, T0 + D + 3 * H);
    assert_int_equal(s.tail.from, s.tail.to);
}

static void test_event_time(void **state)
{
    (void)state;
    assert_int_equal(dt_event_time("api (http://x/) is DOWN since 2026-10-01T06:30:05.123Z: 3 checks failed, last: "
                                   "HTTP 500",
                                   "api", "http://x/", true, 1),
                     T0 + 6 * H + 30 * 60000 + 5123);
    assert_int_equal(dt_event_time("http://x/ is UP again since 2026-10-01T00:00:00.000Z after 5m 00s down", NULL,
                                   "http://x/", false, 1),
                     T0);
    /* a name holding the marker and a time: only the alerter's whole prefix counts (review 25, bug 2) */
    const char *trap = "trap is DOWN since 2026-10-01T00:00:00.000Z: x";
    char msg[256];
    snprintf(msg, sizeof msg, "%s (http://t/) is DOWN since 2026-10-01T01:00:00.000Z: 3 checks failed", trap);
    assert_int_equal(dt_event_time(msg, trap, "http://t/", true, 1), T0 + H);
    assert_int_equal(dt_event_time(msg, "renamed", "http://t/", true, 42), 42); /* another name: raised_at */
    assert_int_equal(dt_event_time("went down", "a", "http://x/", true, 42), 42);
    assert_int_equal(dt_event_time("a (http://x/) is DOWN since 2026-10-01", "a", "http://x/", true, 42), 42);
    assert_int_equal(
        dt_event_time("a (http://x/) is UP again since 2026-10-01T00:00:00.000Z", "a", "http://x/", true, 42),
        42); /* wrong kind */
}

static void test_downtime(void **state)
{
    (void)state;
    struct dt_result r;
    int64_t since = T0 + 10 * H, until = T0 + 20 * H;
    /* down across the start (counts from since), one inside, one open at until */
    struct dt_event ev[] = { { T0 + 9 * H, true },  { T0 + 11 * H, false }, { T0 + 12 * H, true },
                             { T0 + 13 * H, true }, { T0 + 14 * H, false }, { T0 + 19 * H, true } };
    dt_compute(ev, 6, since, until, INT64_MAX, &r);
    assert_int_equal(r.down_ms, 1 * H + 2 * H + 1 * H);
    assert_int_equal(r.incidents, 3);
    assert_true(r.known && r.down_at_until);
    /* out of order (an alerter restart): sorted first; an up without a down is ignored */
    struct dt_event ev2[] = { { T0 + 16 * H, false }, { T0 + 15 * H, true }, { T0 + 17 * H, false } };
    dt_compute(ev2, 3, since, until, INT64_MAX, &r);
    assert_int_equal(r.down_ms, H);
    assert_int_equal(r.incidents, 1);
    assert_false(r.down_at_until);
    /* entirely before or after the window */
    struct dt_event ev3[] = { { T0, true }, { T0 + H, false }, { T0 + 20 * H, true } };
    dt_compute(ev3, 3, since, until, INT64_MAX, &r);
    assert_int_equal(r.down_ms, 0);
    assert_int_equal(r.incidents, 0);
    assert_true(r.known);
    assert_false(r.down_at_until);
    /* an interval ending exactly at since does not overlap */
    struct dt_event ev4[] = { { T0, true }, { since, false } };
    dt_compute(ev4, 2, since, until, INT64_MAX, &r);
    assert_int_equal(r.incidents, 0);
    dt_compute(NULL, 0, since, until, INT64_MAX, &r);
    assert_false(r.known);
    /* open at until, but nothing is known after open_end (now, the last check): counts to there (bug 3) */
    struct dt_event ev5[] = { { T0 + 18 * H, true } };
    dt_compute(ev5, 1, since, until, T0 + 18 * H + 30 * 60000, &r);
    assert_int_equal(r.down_ms, 30 * 60000);
    assert_int_equal(r.incidents, 1);
    assert_true(r.down_at_until);
    dt_compute(ev5, 1, since, until, T0 + 17 * H, &r); /* known to end before it began: 0, still an incident */
    assert_int_equal(r.down_ms, 0);
    assert_int_equal(r.incidents, 1);
}

static void put_blob(struct cw_buf *b, const int64_t *us, size_t n)
{
    struct lat_hist h;
    lat_hist_reset(&h);
    for (size_t i = 0; i < n; i++) lat_hist_add(&h, us[i]);
    cw_buf_reset(b);
    assert_int_equal(lat_hist_encode(&h, b), 0);
}

static void test_tally(void **state)
{
    (void)state;
    struct tally *t = calloc(1, sizeof *t);
    struct cw_buf blob[ROLLUP_HISTS] = { { 0 } };
    int64_t lat[100], dns[100], ttfb[100];
    for (int i = 0; i < 100; i++) {
        lat[i] = 1000 * (i + 1); /* 1 .. 100 ms */
        dns[i] = 2000;
        ttfb[i] = 30000;
    }
    /* two cells of the same 100 values, then one raw row */
    put_blob(&blob[0], lat, 100);
    put_blob(&blob[1], dns, 100);
    put_blob(&blob[4], ttfb, 100);
    struct rollup_stored c = { .checks = 100, .ok = 90 };
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        c.blob[i] = blob[i].data;
        c.len[i] = blob[i].len;
    }
    tally_add_cell(t, &c);
    tally_add_cell(t, &c);
    struct rollup_row row = { .ok = false, .us = { 100000, 500000, -1, -1, -1 } };
    tally_add_row(t, &row);
    assert_int_equal(t->checks, 201);
    assert_int_equal(t->ok, 180);
    assert_int_equal(t->lat.total, 201);
    struct tally_figures f;
    tally_figures(t, &f);
    assert_true(f.has_latency);
    /* exact nearest-rank: p50 of 1..100 twice + 100 -> 50 (rank 101: the 51st smallest of pairs) */
    assert_true(f.p50_ms > 51 * 0.968 && f.p50_ms < 51 * 1.032);
    assert_true(f.p99_ms > 100 * 0.968 && f.p99_ms < 100 * 1.032);
    /* dns mean: (200 * 2 ms + 500 ms) / 201 = 4.48 ms; ttfb 30 ms: ttfb is the slowest */
    assert_int_equal(f.slowest, 3);
    assert_string_equal(tally_phase_name(f.slowest), "ttfb");
    assert_true(f.slowest_ms > 30 * 0.968 && f.slowest_ms < 30 * 1.032);
    /* a corrupt blob is left out and counted, the counts stay */
    static const unsigned char junk[] = { 9, 1, 0 };
    c.blob[0] = junk;
    c.len[0] = sizeof junk;
    tally_add_cell(t, &c);
    assert_int_equal(t->bad_blobs, 1);
    assert_int_equal(t->checks, 301);
    assert_int_equal(t->lat.total, 201);
    for (int i = 0; i < ROLLUP_HISTS; i++) cw_buf_free(&blob[i]);
    free(t);
    struct tally empty = { 0 };
    tally_figures(&empty, &f);
    assert_false(f.has_latency);
    assert_int_equal(f.slowest, -1);
}

static void test_csv_and_durations(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    report_csv_field(f, "plain");
    fputc('|', f);
    report_csv_field(f, "a,b");
    fputc('|', f);
    report_csv_field(f, "say \"hi\"\r\n");
    fclose(f);
    assert_string_equal(text, "plain|\"a,b\"|\"say \"\"hi\"\"\r\n\"");
    free(text);
    char d[48];
    report_format_duration(0, d, sizeof d);
    assert_string_equal(d, "0s");
    report_format_duration(12300, d, sizeof d);
    assert_string_equal(d, "12.3s");
    report_format_duration(250000, d, sizeof d);
    assert_string_equal(d, "4m 10s");
    report_format_duration(3723000, d, sizeof d);
    assert_string_equal(d, "1h 02m 03s");
    report_format_duration(2 * D + 3 * H + 60000, d, sizeof d);
    assert_string_equal(d, "2d 03h 01m");
    report_format_duration(20000, d, sizeof d); /* one form in a column: 20.0s beside 18.4s */
    assert_string_equal(d, "20.0s");
}

/* Review 25: uptime never rounds up to 100% with a failure; small means keep their digits; widths count code
 * points. */
static void test_figures_text(void **state)
{
    (void)state;
    static const struct {
        int64_t ok, checks;
        int decimals;
        const char *want;
    } pcts[] = { { 300278, 300279, 3, "99.999" },
                 { 300279, 300279, 3, "100.000" },
                 { INT64_C(999999999999), INT64_C(1000000000000), 6, "99.999999" },
                 { 2, 3, 3, "66.666" },
                 { 0, 10, 3, "0.000" } };
    char t[48];
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        report_format_pct(pcts[i].ok, pcts[i].checks, pcts[i].decimals, t, sizeof t);
        assert_string_equal(t, pcts[i].want);
    }
    static const struct {
        double ms;
        const char *want;
    } mss[] = { { 0.028, "0.028" }, { 4.25, "4.25" }, { 240.127, "240.1" } };
    for (size_t i = 0; i < sizeof mss / sizeof mss[0]; i++) {
        report_format_ms(mss[i].ms, t, sizeof t);
        assert_string_equal(t, mss[i].want);
    }
    assert_int_equal(report_display_width("caf\xc3\xa9"), 4);
    assert_int_equal(report_display_width("\xe6\x9c\x8d\xe5\x8b\x99"), 4); /* two wide characters */
    assert_int_equal(report_display_width(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),    cmocka_unit_test(test_dates),
        cmocka_unit_test(test_floor_ceil),   cmocka_unit_test(test_split),
        cmocka_unit_test(test_event_time),   cmocka_unit_test(test_downtime),
        cmocka_unit_test(test_tally),        cmocka_unit_test(test_csv_and_durations),
        cmocka_unit_test(test_figures_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
