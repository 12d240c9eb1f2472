/* tests/unit/test_prune.c — the retention engine (storer/prune.c) against an in-memory fake of a backend's
 * primitive: exactly the raw rows older than the bound and at or below the cap go (never one above the
 * watermark, never the newest row, nothing while rollup_state has no row), a late row waits for the rows before
 * it, roll-up cells go by whole periods (also an endpoint with more old cells than one statement deletes), a
 * cell phase whose bound has not moved is skipped, errors abandon the pass, the step sizes adapt to the
 * measured time within their bounds, and a pause a backend asks for is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base/log.h"
#include "storer/backend.h"
#include "storer/prune.h"

#define DAY 86400
#define NOW 1800000000LL /* wall clock of the tests, UTC s (2027-01-15T08:00:00Z) */
#define MAXROWS 20000
#define MAXCELLS 12000

struct row {
    int64_t id, at;
    bool gone;
};
struct cell {
    int64_t ep, start;
    int period;
    bool gone;
};
struct fake {
    struct row rows[MAXROWS];
    size_t n_rows;
    int64_t watermark; /* -1: rollup_state has no row */
    struct cell cells[MAXCELLS];
    size_t n_cells;
    int64_t eps[8];
    size_t n_eps;
    unsigned calls[4];
    size_t biggest_raw;   /* the largest max a RAW request asked for */
    int fail_on;          /* an op that fails with STORE_RETRY, -1: none */
    int64_t raw_pause_ns; /* the pause a RAW request asks for (prune_res.pause_ns) */
};

static int fake_prune(void *ctx, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen)
{
    struct fake *f = ctx;
    *res = (struct prune_res){ 0 };
    f->calls[req->op]++;
    if ((int)req->op == f->fail_on) {
        snprintf(err, errlen, "fake: gone");
        return STORE_RETRY;
    }
    switch (req->op) {
    case PRUNE_OP_CAP: {
        int64_t top = -1;
        for (size_t i = 0; i < f->n_rows; i++)
            if (!f->rows[i].gone && f->rows[i].id > top) top = f->rows[i].id;
        res->value = f->watermark < 0 || top < 0 ? -1 : f->watermark < top - 1 ? f->watermark : top - 1;
        return STORE_OK;
    }
    case PRUNE_OP_RAW: {
        if (req->max > f->biggest_raw) f->biggest_raw = req->max;
        int64_t hi = req->after;
        for (size_t i = 0; i < f->n_rows && res->n < req->max; i++) /* rows are in id order */
            if (!f->rows[i].gone && f->rows[i].id > req->after && f->rows[i].id <= req->cap) {
                res->n++;
                hi = f->rows[i].id;
            }
        res->value = hi;
        for (size_t i = 0; i < f->n_rows && res->n; i++)
            if (!f->rows[i].gone && f->rows[i].id > req->after && f->rows[i].id <= hi &&
                f->rows[i].at < req->before_s) {
                f->rows[i].gone = true;
                res->deleted++;
            }
        res->pause_ns = f->raw_pause_ns;
        return STORE_OK;
    }
    case PRUNE_OP_ENDPOINTS:
        for (size_t i = 0; i < f->n_eps && res->n < req->max; i++)
            if (f->eps[i] > req->after) req->ids[res->n++] = f->eps[i];
        return STORE_OK;
    case PRUNE_OP_CELLS:
        for (size_t i = 0; i < f->n_cells && res->deleted < req->max; i++) {
            struct cell *c = &f->cells[i];
            if (!c->gone && c->ep == req->endpoint_id && c->period == (int)req->period && c->start < req->before_s) {
                c->gone = true;
                res->deleted++;
            }
        }
        return STORE_OK;
    }
    return STORE_FATAL;
}

static void add_row(struct fake *f, int64_t at)
{
    f->rows[f->n_rows] = (struct row){ .id = (int64_t)f->n_rows + 1, .at = at };
    f->n_rows++;
}

static void add_cell(struct fake *f, int64_t ep, enum rollup_period p, int64_t start)
{
    f->cells[f->n_cells++] = (struct cell){ .ep = ep, .start = start, .period = (int)p };
}

/* Runs steps (each "taking" took_ns) until the pass ends; returns the steps. */
static unsigned run_pass(struct prune *p, struct fake *f, int64_t *now, int64_t took_ns)
{
    unsigned steps = 0;
    *now = prune_due_at(p) > *now ? prune_due_at(p) : *now;
    uint64_t passes = p->passes;
    char err[256];
    while (p->passes == passes && steps < 100000) {
        assert_int_equal(prune_step(p, fake_prune, f, *now, NOW, err, sizeof err), STORE_OK);
        prune_took(p, took_ns);
        steps++;
        *now = prune_due_at(p) > *now ? prune_due_at(p) : *now;
    }
    return steps;
}

static int setup(void **state)
{
    log_init("test", LOG_LVL_ERROR);
    struct fake *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->fail_on = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static size_t gone_rows(const struct fake *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_rows; i++) n += f->rows[i].gone;
    return n;
}

/* 10,000 rows a minute apart ending now, raw_days = 3: the first ~5,680 are older than the bound. */
static void test_raw_exact(void **state)
{
    struct fake *f = *state;
    for (int i = 0; i < 10000; i++) add_row(f, NOW - (10000 - i) * 60LL);
    f->watermark = 9000;
    struct prune p;
    prune_init(&p, 0);
    prune_configure(&p, 3, 0, 0);
    int64_t now = 0;
    run_pass(&p, f, &now, 1000000);
    for (size_t i = 0; i < f->n_rows; i++) {
        bool old = f->rows[i].at < NOW - 3 * DAY;
        if (f->rows[i].gone != old)
            fail_msg("row %lld (at %lld): gone %d", (long long)f->rows[i].id, (long long)f->rows[i].at,
                     f->rows[i].gone);
    }
    assert_int_equal(p.total.raw, gone_rows(f));
    assert_int_equal(p.total.raw, 10000 - 3 * 24 * 60);
    prune_free(&p);
}

static void test_raw_cap(void **state)
{
    struct fake *f = *state;
    for (int i = 0; i < 100; i++) add_row(f, NOW - 40 * DAY + i); /* all older than the bound */
    struct prune p;
    prune_init(&p, 0);
    prune_configure(&p, 30, 0, 0);
    int64_t now = 0;
    f->watermark = -1; /* rollup_state without its row: a rebuild is pending, nothing goes */
    run_pass(&p, f, &now, 1000000);
    assert_int_equal(gone_rows(f), 0);
    f->watermark = 60; /* only folded rows go */
    run_pass(&p, f, &now, 1000000);
    assert_int_equal(gone_rows(f), 60);
    assert_false(f->rows[60].gone);
    f->watermark = 100; /* everything folded: all but the newest row */
    run_pass(&p, f, &now, 1000000);
    assert_int_equal(gone_rows(f), 99);
    assert_false(f->rows[99].gone);
    prune_free(&p);
}

/* A late row (old time, stored after newer ones) goes only when the walk reaches it; nothing newer ever goes. */
static void test_raw_late_row(void **state)
{
    struct fake *f = *state;
    for (int i = 0; i < 50; i++) add_row(f, NOW - 40 * DAY);
    for (int i = 0; i < 5000; i++) add_row(f, NOW - DAY); /* inside */
    add_row(f, NOW - 40 * DAY);                           /* late */
    for (int i = 0; i < 10; i++) add_row(f, NOW);
    f->watermark = (int64_t)f->n_rows;
    struct prune p;
    prune_init(&p, 0);
    prune_configure(&p, 30, 0, 0);
    int64_t now = 0;
    run_pass(&p, f, &now, 1000000);
    for (size_t i = 0; i < f->n_rows; i++)
        if (i != 5050) assert_int_equal(f->rows[i].gone, i < 50);
    assert_int_equal(gone_rows(f), 50 + f->rows[5050].gone);
    prune_free(&p);
}

static void test_cells(void **state)
{
    struct fake *f = *state;
    f->n_eps = 3;
    f->eps[0] = 1, f->eps[1] = 2, f->eps[2] = 7;
    int64_t hour0 = NOW / 3600 * 3600, day0 = NOW / DAY * DAY;
    for (int h = 0; h < 24 * 12; h++) /* 12 days of hours for endpoints 1 and 7 */
        for (int e = 0; e < 3; e += 2) add_cell(f, f->eps[e], ROLLUP_HOUR, hour0 - h * 3600LL);
    for (int h = 0; h < PRUNE_CELLS_MAX + 500; h++) add_cell(f, 2, ROLLUP_HOUR, hour0 - h * 3600LL); /* many */
    for (int d = 0; d < 40; d++) add_cell(f, 1, ROLLUP_DAY, day0 - d * (int64_t)DAY);
    struct prune p;
    prune_init(&p, 0);
    prune_configure(&p, 0, 10, 30);
    int64_t now = 0, hb = prune_cell_bound(NOW, 10, ROLLUP_HOUR), db = prune_cell_bound(NOW, 30, ROLLUP_DAY);
    assert_int_equal(hb, (NOW - 10 * DAY) / 3600 * 3600);
    run_pass(&p, f, &now, 1000000);
    size_t hourly = 0, daily = 0;
    for (size_t i = 0; i < f->n_cells; i++) {
        const struct cell *c = &f->cells[i];
        int64_t bound = c->period == ROLLUP_HOUR ? hb : db;
        assert_int_equal(c->gone, c->start < bound); /* whole periods ended at or before the bound */
        if (c->gone) ++*(c->period == ROLLUP_HOUR ? &hourly : &daily);
    }
    assert_int_equal(p.total.hourly, hourly);
    assert_int_equal(p.total.daily, daily);
    assert_true(hourly > PRUNE_CELLS_MAX); /* endpoint 2's were more than one statement deletes */
    assert_int_equal(daily, 40 - 31);      /* the day that holds the bound is partly inside: kept */
    /* the same bounds: the next pass does not walk the endpoints again; a new configuration does */
    unsigned before = f->calls[PRUNE_OP_ENDPOINTS];
    run_pass(&p, f, &now, 1000000);
    assert_int_equal(f->calls[PRUNE_OP_ENDPOINTS], before);
    prune_configure(&p, 0, 5, 30);
    run_pass(&p, f, &now, 1000000);
    assert_true(f->calls[PRUNE_OP_ENDPOINTS] > before);
    prune_free(&p);
}

static void test_sizes_adapt(void **state)
{
    struct fake *f = *state;
    assert_int_equal(prune_adapt(2000, 1000000, PRUNE_ROWS_MIN, PRUNE_ROWS_MAX), 3000);
    assert_int_equal(prune_adapt(2000, 2 * PRUNE_TARGET_NS, PRUNE_ROWS_MIN, PRUNE_ROWS_MAX), 1000);
    assert_int_equal(prune_adapt(2000, PRUNE_TARGET_NS * 3 / 4, PRUNE_ROWS_MIN, PRUNE_ROWS_MAX), 2000);
    assert_int_equal(prune_adapt(PRUNE_ROWS_MAX, 0, PRUNE_ROWS_MIN, PRUNE_ROWS_MAX), PRUNE_ROWS_MAX);
    assert_int_equal(prune_adapt(150, 5000000000LL, PRUNE_ROWS_MIN, PRUNE_ROWS_MAX), PRUNE_ROWS_MIN);
    /* slow steps: every request stays at the floor's order, and a pause as long as the step follows each */
    for (int i = 0; i < 15000; i++) add_row(f, NOW - 40 * DAY);
    f->watermark = 15000;
    struct prune p;
    prune_init(&p, 0);
    prune_configure(&p, 30, 0, 0);
    int64_t now = 0;
    unsigned steps = run_pass(&p, f, &now, 400000000); /* 400 ms a step */
    assert_int_equal(f->biggest_raw, PRUNE_ROWS_START);
    assert_true(steps >= 15000 / PRUNE_ROWS_START);
    assert_int_equal(gone_rows(f), 14999);
    prune_free(&p);
}

/* A backend that asks for a pause longer than the step (PostgreSQL pacing its WAL) gets it; a step that took
 * longer than the pause asked for is still followed by a pause as long as itself. */
static void test_backend_pause(void **state)
{
    struct fake *f = *state;
    for (int i = 0; i < 10000; i++) add_row(f, NOW - 40 * DAY);
    f->watermark = 10000;
    f->raw_pause_ns = 3000000000LL;
    struct prune p;
    prune_init(&p, 0);
    prune_configure(&p, 30, 0, 0);
    char err[256];
    assert_int_equal(prune_step(&p, fake_prune, f, 10, NOW, err, sizeof err), STORE_OK);
    prune_took(&p, 1000000);
    assert_int_equal(p.phase, PRUNE_RAW);
    assert_int_equal(prune_due_at(&p), 10 + 3000000000LL);
    int64_t now = prune_due_at(&p);
    assert_int_equal(prune_step(&p, fake_prune, f, now, NOW, err, sizeof err), STORE_OK);
    prune_took(&p, 5000000000LL);
    assert_int_equal(prune_due_at(&p), now + 5000000000LL);
    f->raw_pause_ns = 0; /* a step that asks for nothing: the engine's own pause */
    now = prune_due_at(&p);
    assert_int_equal(prune_step(&p, fake_prune, f, now, NOW, err, sizeof err), STORE_OK);
    prune_took(&p, 2000000);
    assert_int_equal(prune_due_at(&p), now + 2000000);
    prune_free(&p);
}

static void test_error_abandons_pass(void **state)
{
    struct fake *f = *state;
    for (int i = 0; i < 10; i++) add_row(f, NOW - 40 * DAY);
    f->watermark = 10;
    f->fail_on = PRUNE_OP_RAW;
    struct prune p;
    prune_init(&p, 0);
    prune_configure(&p, 30, 0, 0);
    char err[256];
    assert_int_equal(prune_step(&p, fake_prune, f, 5, NOW, err, sizeof err), STORE_RETRY);
    assert_int_equal(p.phase, PRUNE_IDLE);
    assert_true(prune_due_at(&p) >= 5 + (int64_t)PRUNE_EVERY_MS * 1000000);
    assert_int_equal(gone_rows(f), 0);
    prune_configure(&p, 0, 0, 0); /* forever: nothing to do */
    assert_false(prune_enabled(&p));
    prune_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_raw_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_late_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cells, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizes_adapt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_pause, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_abandons_pass, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
