/* tests/unit/test_report_location.c — locations in `clockwerk report` (docs/report.md "Locations"): through a fake
 * reader giving cells and rows of three locations, a report across locations sums them (JSON location null), one
 * of a location keeps its own (and its maintenance counts), and the rows of --by-location are an endpoint's row
 * per location that has checks or where it is configured (report_ep_shown), with the location in the JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/output.h"
#include "report/report.h"

#define T0 INT64_C(1790812800000) /* 2026-10-01T00:00:00Z in ms */

static int fake_endpoints(struct store_reader *r, store_read_endpoint_fn fn, void *ctx, char *err, size_t errlen)
{
    (void)r, (void)err, (void)errlen;
    return fn(ctx, 1, "http://a.example/", "http") || fn(ctx, 2, "http://b.example/", "http");
}

/* Endpoint 1: a daily cell of 10 checks (9 ok) at fra and one of 4 (4 ok) at nyc; endpoint 2: 3 (1 ok) at fra. */
static int fake_cells(struct store_reader *r, enum rollup_period p, int64_t from_s, int64_t to_s, int64_t ep_lo,
                      int64_t ep_hi, store_read_cell_fn fn, void *ctx, char *err, size_t errlen)
{
    (void)r, (void)ep_lo, (void)ep_hi, (void)err, (void)errlen;
    static const unsigned char empty[] = { 1, 0, 0 };
    struct rollup_stored c = { 0 };
    for (int i = 0; i < ROLLUP_HISTS; i++) c.blob[i] = empty, c.len[i] = sizeof empty;
    int64_t day = T0 / 1000 + 86400;
    if (p != ROLLUP_DAY || day < from_s || day >= to_s) return 0;
    static const struct {
        int64_t ep, checks, ok;
        const char *loc;
    } cells[] = { { 1, 10, 9, "fra" }, { 1, 4, 4, "nyc" }, { 2, 3, 1, "fra" } };
    for (size_t i = 0; i < 3; i++) {
        c.checks = cells[i].checks, c.ok = cells[i].ok, c.location = cells[i].loc;
        if (fn(ctx, cells[i].ep, day, &c)) return STORE_FATAL;
    }
    return STORE_OK;
}

/* One raw row above the watermark: endpoint 1, failed, at "" (stored before locations). */
static int fake_recent(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                       store_read_row_fn fn, void *ctx, char *err, size_t errlen)
{
    (void)r, (void)ep_lo, (void)ep_hi, (void)err, (void)errlen;
    int64_t at = T0 + 2 * WIN_DAY_MS + 5000;
    if (at < from_ms || at >= to_ms) return 0;
    struct rollup_row row = { .endpoint_id = 1, .ok = false, .us = { 1000, -1, -1, -1, -1 }, .location = "" };
    return fn(ctx, &row, at);
}

static int fake_alerts(struct store_reader *r, int64_t from_ms, int64_t before_ms, int64_t ep_lo, int64_t ep_hi,
                       store_read_alert_fn fn, void *ctx, char *err, size_t errlen)
{
    (void)r, (void)from_ms, (void)before_ms, (void)ep_lo, (void)ep_hi, (void)fn, (void)ctx, (void)err, (void)errlen;
    return STORE_OK;
}

/* Endpoint 1: 2 checks in maintenance at nyc, both ok. */
static int fake_maintenance(struct store_reader *r, int64_t from_ms, int64_t to_ms, int64_t ep_lo, int64_t ep_hi,
                            store_read_maint_fn fn, void *ctx, char *err, size_t errlen)
{
    (void)r, (void)from_ms, (void)to_ms, (void)ep_lo, (void)ep_hi, (void)err, (void)errlen;
    return fn(ctx, 1, 2, 2, "nyc");
}

static const struct store_read_backend fake = { .endpoints = fake_endpoints,
                                                .cells = fake_cells,
                                                .recent = fake_recent,
                                                .alerts = fake_alerts,
                                                .maintenance = fake_maintenance };

static char *a_locs[] = { "fra", "nyc", "sgp" }, *b_locs[] = { "fra" };
static struct cw_endpoint eps[2] = {
    { .url = "http://a.example/", .name = "a", .locations = a_locs, .n_locations = 3 },
    { .url = "http://b.example/", .name = "b", .locations = b_locs, .n_locations = 1 }
};
static struct cw_config cfg = { .endpoints = eps, .n_endpoints = 2, .location = "central" };

static void collect(struct report *rep, const char *location)
{
    char err[256];
    assert_int_equal(report_init(rep, &cfg, NULL, T0, T0 + 3 * WIN_DAY_MS), 0);
    rep->now_ms = T0 + 3 * WIN_DAY_MS;
    rep->location = location;
    assert_int_equal(report_collect(rep, &fake, NULL, err, sizeof err), STORE_OK);
}

/* The report printed as JSON, in a malloc'ed string. */
static char *json_of(const struct report *const *reps, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(report_print(f, reps, n, REPORT_JSON), 0);
    fclose(f);
    return text;
}

static void test_across_and_one(void **state)
{
    (void)state;
    struct report all, fra, nyc;
    collect(&all, NULL);
    assert_int_equal(all.eps[0].t.checks, 15); /* 10 + 4 + the raw row */
    assert_int_equal(all.eps[0].t.ok, 13);
    assert_int_equal(all.n_seen, 3); /* fra, nyc and "" */
    collect(&fra, "fra");
    assert_int_equal(fra.eps[0].t.checks, 10);
    assert_int_equal(fra.eps[1].t.checks, 3);
    assert_int_equal(fra.eps[0].maint_checks[0] + fra.eps[0].maint_checks[1], 0);
    collect(&nyc, "nyc");
    assert_int_equal(nyc.eps[0].t.checks, 4);
    assert_int_equal(nyc.eps[0].maint_checks[0] + nyc.eps[0].maint_checks[1], 2);
    const struct report *one[1] = { &all };
    char *text = json_of(one, 1);
    assert_non_null(strstr(text, "\"url\":\"http://a.example/\",\"location\":null,\"checks\":15"));
    free(text);
    report_free(&all);
    report_free(&fra);
    report_free(&nyc);
}

static void test_by_location_rows(void **state)
{
    (void)state;
    struct report r[4];
    const char *names[4] = { "", "fra", "nyc", "sgp" };
    const struct report *list[4];
    for (int i = 0; i < 4; i++) collect(&r[i], names[i]), list[i] = &r[i];
    /* a: "" (its raw row), fra, nyc (checks), sgp (configured, none); b: fra only */
    assert_true(report_ep_shown(&r[3], &r[3].eps[0]));
    assert_false(report_ep_shown(&r[2], &r[2].eps[1]));
    assert_false(report_ep_shown(&r[0], &r[0].eps[1]));
    char *text = json_of(list, 4);
    const char *want[] = { "\"name\":\"a\",\"url\":\"http://a.example/\",\"location\":\"\",\"checks\":1,",
                           "\"name\":\"a\",\"url\":\"http://a.example/\",\"location\":\"fra\",\"checks\":10,",
                           "\"name\":\"a\",\"url\":\"http://a.example/\",\"location\":\"nyc\",\"checks\":4,",
                           "\"name\":\"a\",\"url\":\"http://a.example/\",\"location\":\"sgp\",\"checks\":0,",
                           "\"name\":\"b\",\"url\":\"http://b.example/\",\"location\":\"fra\",\"checks\":3," };
    const char *at = text;
    for (size_t i = 0; i < 5; i++) { /* in this order, and nothing else */
        const char *hit = strstr(at, want[i]);
        assert_non_null(hit);
        at = hit + strlen(want[i]);
    }
    int rows = 0;
    for (const char *p = text; (p = strstr(p, "\"name\":")) != NULL; p++) rows++;
    assert_int_equal(rows, 5);
    free(text);
    for (int i = 0; i < 4; i++) report_free(&r[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_across_and_one),
        cmocka_unit_test(test_by_location_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
