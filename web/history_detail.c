/* web/history_detail.c — the detail of one endpoint (web/history_read.h web_detail_read): its hourly points of the
 * last 30 days from checks_hourly (one endpoint: a range of the primary key) plus the raw rows above the watermark
 * (the hours not folded yet), and its last WEB_DETAIL_CHECKS checks (storer/reader.h last_checks: the index
 * (endpoint_id, checked_at) read backwards). Each hour gets one tally that its raw rows and its cells are added to: with
 * several locations (issue 16) an hour has a cell per location, and the hour's figures are their sum. */
#include "web/history_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"
#include "history/tally.h"
#include "history/window.h"

struct detail_read {
    struct web_detail *d;
    int64_t h0;                                /* the first hour's start */
    struct tally *hours[WEB_DETAIL_HOURS]; /* hours that rows or cells touched; NULL for the others */
};

static long hour_index(const struct detail_read *x, int64_t t_ms)
{
    if (t_ms < x->h0) return -1;
    int64_t i = (t_ms - x->h0) / WIN_HOUR_MS;
    return i < WEB_DETAIL_HOURS ? (long)i : -1;
}

static void fill_hour(struct web_detail_hour *h, const struct tally *t)
{
    struct tally_figures f;
    tally_figures(t, &f);
    h->checks = (uint32_t)t->checks;
    h->ok = (uint32_t)t->ok;
    h->has_latency = f.has_latency;
    h->p50_us = f.has_latency ? (uint32_t)(f.p50_ms * 1000.0 + 0.5) : 0;
    h->p95_us = f.has_latency ? (uint32_t)(f.p95_ms * 1000.0 + 0.5) : 0;
    for (int p = 0; p < WEB_PHASES; p++)
        h->phase_mean_us[p] = t->phase_n[p] ? (uint32_t)(t->phase_sum_us[p] / (double)t->phase_n[p] + 0.5) : 0;
}

static struct tally *hour_tally(struct detail_read *x, long i)
{
    if (!x->hours[i]) x->hours[i] = cw_xcalloc(1, sizeof *x->hours[i]);
    return x->hours[i];
}

static int on_row(void *ctx, const struct rollup_row *row, int64_t at_ms)
{
    struct detail_read *x = ctx;
    long i = hour_index(x, at_ms);
    if (i >= 0) tally_add_row(hour_tally(x, i), row);
    return 0;
}

static int on_cell(void *ctx, int64_t endpoint_id, int64_t start_s, const struct rollup_stored *cell)
{
    struct detail_read *x = ctx;
    (void)endpoint_id;
    long i = hour_index(x, start_s * 1000);
    if (i >= 0) tally_add_cell(hour_tally(x, i), cell);
    return 0;
}

static int on_check(void *ctx, const struct store_read_check *c)
{
    struct web_detail *d = ctx;
    if (d->n_checks >= WEB_DETAIL_CHECKS) return 0;
    struct web_detail_check *k = &d->checks[d->n_checks++];
    *k = (struct web_detail_check){ .checked_at_ms = c->at_ms,
                                    .ok = c->ok,
                                    .status_code = c->status_code,
                                    .latency_us = c->us[0],
                                    .error = c->error ? cw_xstrdup(c->error) : NULL,
                                    .details = c->details ? cw_xstrdup(c->details) : NULL };
    for (int p = 0; p < WEB_PHASES; p++) k->phase_us[p] = c->us[1 + p];
    return 0;
}

static int read_detail(struct detail_read *x, const struct store_read_backend *b, struct store_reader *r, int64_t db_id,
                       int64_t end, char *err, size_t errlen)
{
    int rc = b->recent(r, x->h0, end, db_id, db_id, on_row, x, err, errlen);
    if (rc == STORE_OK) rc = b->cells(r, ROLLUP_HOUR, x->h0 / 1000, end / 1000, db_id, db_id, on_cell, x, err, errlen);
    if (rc == STORE_OK) rc = b->last_checks(r, db_id, WEB_DETAIL_CHECKS, on_check, x->d, err, errlen);
    return rc;
}

struct web_detail *web_detail_read(const struct store_read_backend *b, struct store_reader *r, int64_t db_id,
                                   const struct cw_endpoint *ep, int64_t now_ms)
{
    struct detail_read *x = cw_xcalloc(1, sizeof *x);
    struct web_detail *d = x->d = cw_xcalloc(1, sizeof *d);
    int64_t end = win_floor(now_ms, WIN_HOUR_MS) + WIN_HOUR_MS;
    x->h0 = end - WEB_DETAIL_HOURS * WIN_HOUR_MS;
    d->read_at_ms = now_ms;
    for (int i = 0; i < WEB_DETAIL_HOURS; i++) d->hours[i].start_ms = x->h0 + i * WIN_HOUR_MS;
    char err[512] = "";
    int rc = db_id >= 0 ? read_detail(x, b, r, db_id, end, err, sizeof err) : STORE_OK;
    if (rc == STORE_OK && db_id >= 0 && ep) {
        rc = web_history_days_read(b, r, ep, db_id, now_ms, d->days, err, sizeof err);
        d->has_days = rc == STORE_OK;
    }
    for (int i = 0; i < WEB_DETAIL_HOURS; i++) {
        if (x->hours[i]) fill_hour(&d->hours[i], x->hours[i]);
        free(x->hours[i]);
    }
    free(x);
    if (rc != STORE_OK) {
        for (size_t i = 0; i < d->n_checks; i++) {
            free(d->checks[i].error);
            free(d->checks[i].details);
        }
        d->n_checks = 0;
        memset(d->hours, 0, sizeof d->hours);
        memset(d->days, 0, sizeof d->days);
        d->has_days = false;
        d->error = d->error_owned = cw_xstrdup(err[0] ? err : "the history could not be read");
    }
    return d;
}
