/* storer/rollup.c — folding raw rows into the hourly and daily roll-ups (storer/rollup.h has the design). */
#include "storer/rollup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/proc/proc.h"
#include "storer/backend.h"

#define PROGRESS_EVERY_NS 5000000000LL
#define ROLLUP_LOG_ROWS 100000 /* a catch-up of more rows than this is logged */

void rollup_init(struct rollup *r, const struct rollup_ops *ops, void *ctx, const char *where)
{
    memset(r, 0, sizeof *r);
    r->ops = ops;
    r->ctx = ctx;
    r->where = where;
    const char *off = getenv("CLOCKWERK_ROLLUPS");
    r->on = !(off && !strcmp(off, "off"));
    r->every_ns = (int64_t)proc_env_u64("CLOCKWERK_ROLLUP_EVERY_MS", 1, ROLLUP_EVERY_MS) * 1000000;
    r->next_ns = cw_mono_ns() + r->every_ns;
    r->rows = cw_xcalloc(ROLLUP_CHUNK, sizeof *r->rows);
    r->order = cw_xcalloc(ROLLUP_CHUNK, sizeof *r->order);
    r->cell = cw_xcalloc(ROLLUP_HISTS, sizeof *r->cell);
}

void rollup_free(struct rollup *r)
{
    free(r->rows);
    free(r->order);
    free(r->cell);
    for (int i = 0; i < ROLLUP_HISTS; i++) cw_buf_free(&r->blob[i]);
    memset(r, 0, sizeof *r);
}

/* floor(t / len) * len, also for times before the epoch */
static int64_t period_start(int64_t t, enum rollup_period p)
{
    int64_t len = p == ROLLUP_HOUR ? 3600 : 86400;
    int64_t q = t / len;
    if (t % len < 0) q--;
    return q * len;
}

/* qsort_r's order of row indexes by cell (endpoint, period start), then id; ctx is the fold's struct rollup
 * with r->sorting the period being sorted. */
static int by_cell(const void *a, const void *b, void *ctx)
{
    const struct rollup *r = ctx;
    const struct rollup_row *x = &r->rows[*(const size_t *)a], *y = &r->rows[*(const size_t *)b];
    if (x->endpoint_id != y->endpoint_id) return x->endpoint_id < y->endpoint_id ? -1 : 1;
    int64_t sx = period_start(x->at_s, r->sorting), sy = period_start(y->at_s, r->sorting);
    if (sx != sy) return sx < sy ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Loads the stored cell into r->cell (a blob that does not decode is replaced by an empty histogram, said in
 * the log: the counts stay right, that histogram restarts). */
static int load_cell(struct rollup *r, enum rollup_period p, int64_t ep, int64_t start, int64_t *checks, int64_t *ok,
                     char *err, size_t errlen)
{
    struct rollup_stored st;
    bool found = false;
    int rc = r->ops->get(r->ctx, p, ep, start, &st, &found, err, errlen);
    if (rc != STORE_OK) return rc;
    *checks = found ? st.checks : 0;
    *ok = found ? st.ok : 0;
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        const char *why = NULL;
        if (!found) lat_hist_reset(&r->cell[i]);
        else if (!lat_hist_decode(&r->cell[i], st.blob[i], st.len[i], &why) && r->corrupt++ < 10)
            log_warn("%s: roll-up of endpoint %" PRId64 " at %" PRId64 ": stored histogram %d refused (%s): "
                     "it restarts empty",
                     r->where, ep, start, i, why);
    }
    return STORE_OK;
}

/* Adds rows order[from..to) (one cell) to the stored cell and writes it back. */
static int fold_cell(struct rollup *r, enum rollup_period p, size_t from, size_t to, char *err, size_t errlen)
{
    const struct rollup_row *first = &r->rows[r->order[from]];
    int64_t start = period_start(first->at_s, p), checks, ok;
    int rc = load_cell(r, p, first->endpoint_id, start, &checks, &ok, err, errlen);
    if (rc != STORE_OK) return rc;
    for (size_t k = from; k < to; k++) {
        const struct rollup_row *row = &r->rows[r->order[k]];
        checks++;
        ok += row->ok;
        for (int i = 0; i < ROLLUP_HISTS; i++)
            if (row->us[i] >= 0) lat_hist_add(&r->cell[i], row->us[i]);
    }
    struct rollup_stored out = { .checks = checks, .ok = ok };
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        cw_buf_reset(&r->blob[i]);
        if (lat_hist_encode(&r->cell[i], &r->blob[i]) != 0) {
            snprintf(err, errlen, "%s: roll-up of endpoint %" PRId64 ": a histogram bucket overflows 32 bits", r->where,
                     first->endpoint_id);
            return STORE_FATAL;
        }
        out.blob[i] = r->blob[i].data;
        out.len[i] = r->blob[i].len;
    }
    return r->ops->put(r->ctx, p, first->endpoint_id, start, &out, err, errlen);
}

/* Folds n rows into the cells of one period. */
static int fold_period(struct rollup *r, size_t n, enum rollup_period p, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) r->order[i] = i;
    r->sorting = p;
    qsort_r(r->order, n, sizeof *r->order, by_cell, r);
    int rc = STORE_OK;
    for (size_t from = 0, to; rc == STORE_OK && from < n; from = to) {
        const struct rollup_row *a = &r->rows[r->order[from]];
        for (to = from + 1; to < n; to++) {
            const struct rollup_row *b = &r->rows[r->order[to]];
            if (b->endpoint_id != a->endpoint_id || period_start(b->at_s, p) != period_start(a->at_s, p)) break;
        }
        rc = fold_cell(r, p, from, to, err, errlen);
    }
    return rc;
}

/* Leaves out of the first n rows those whose checked_at could not be read (at_s < 0: a row edited by hand; the
 * storer writes only the one form), counted and logged: they pass the watermark unfolded. Returns the rows kept. */
static size_t drop_bad_times(struct rollup *r, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (r->rows[i].at_s >= 0) r->rows[kept++] = r->rows[i];
    if (kept < n && r->bad_times++ < 10)
        log_warn("%s: %zu raw row%s with an unreadable checked_at left out of the roll-ups (ids up to %" PRId64 ")",
                 r->where, n - kept, cw_plural((long long)(n - kept)), r->rows[n - 1].id);
    return kept;
}

/* One fold in the open transaction: up to ROLLUP_CHUNK rows; *n gets how many. */
static int fold_chunk(struct rollup *r, size_t *n, char *err, size_t errlen)
{
    int64_t mark = 0;
    *n = 0;
    int rc = r->ops->get_watermark(r->ctx, &mark, err, errlen);
    if (rc == STORE_OK && mark < 0) {
        /* emptied while running: the reopen that follows a retry rebuilds (rollup_catch_up) */
        snprintf(err, errlen, "%s: rollup_state has no row: the roll-ups are rebuilt at the reopen", r->where);
        return STORE_RETRY;
    }
    if (rc == STORE_OK) rc = r->ops->read_rows(r->ctx, mark, ROLLUP_CHUNK, r->rows, n, err, errlen);
    if (rc != STORE_OK || *n == 0) return rc;
    int64_t last_id = r->rows[*n - 1].id;
    size_t kept = drop_bad_times(r, *n);
    rc = fold_period(r, kept, ROLLUP_HOUR, err, errlen);
    if (rc == STORE_OK) rc = fold_period(r, kept, ROLLUP_DAY, err, errlen);
    if (rc == STORE_OK) rc = r->ops->set_watermark(r->ctx, last_id, err, errlen);
    return rc;
}

int rollup_fold_if_due(struct rollup *r, char *err, size_t errlen)
{
    int64_t now = cw_mono_ns();
    if (!r->on || now < r->next_ns) return STORE_OK;
    size_t n = 0;
    int rc = fold_chunk(r, &n, err, errlen);
    /* a full chunk: more may be pending, fold again with the next batch */
    r->next_ns = rc == STORE_OK && n == ROLLUP_CHUNK ? now : now + r->every_ns;
    return rc;
}

void rollup_close(struct rollup *r)
{
    if (!r) return;
    char err[512];
    if (r->ops->idle(r->ctx) && rollup_catch_up(r, err, sizeof err) != STORE_OK)
        log_warn("%s (folded at the next start)", err);
    r->ops->destroy(r->ctx);
}

/* rollup_state without its row: both tables emptied and the watermark back at 0, in one transaction. */
static int rebuild_from_zero(struct rollup *r, char *err, size_t errlen)
{
    static const char *const steps[] = { "DELETE FROM checks_hourly", "DELETE FROM checks_daily",
                                         "DELETE FROM rollup_state",
                                         "INSERT INTO rollup_state (id, last_check_id) VALUES (1, 0)", NULL };
    log_warn("%s: rollup_state has no row: emptying checks_hourly and checks_daily and rebuilding them from the "
             "raw rows",
             r->where);
    int rc = r->ops->begin(r->ctx, err, errlen);
    for (int i = 0; rc == STORE_OK && steps[i]; i++) rc = r->ops->exec(r->ctx, steps[i], err, errlen);
    if (rc == STORE_OK) rc = r->ops->commit(r->ctx, err, errlen);
    if (rc != STORE_OK) r->ops->rollback(r->ctx);
    return rc;
}

int rollup_catch_up(struct rollup *r, char *err, size_t errlen)
{
    if (!r->on) return STORE_OK;
    int64_t mark = 0, top = 0, start = cw_mono_ns(), last_log = start;
    int rc = r->ops->get_watermark(r->ctx, &mark, err, errlen);
    if (rc == STORE_OK && mark < 0 && (rc = rebuild_from_zero(r, err, errlen)) == STORE_OK) mark = 0;
    if (rc == STORE_OK) rc = r->ops->max_id(r->ctx, &top, err, errlen);
    if (rc != STORE_OK || top <= mark) return rc;
    bool big = top - mark > ROLLUP_LOG_ROWS;
    if (big)
        log_info("%s: building roll-ups from the raw rows with ids %" PRId64 "..%" PRId64, r->where, mark + 1, top);
    uint64_t total = 0;
    for (size_t n = ROLLUP_CHUNK; n == ROLLUP_CHUNK;) {
        if ((rc = r->ops->begin(r->ctx, err, errlen)) != STORE_OK) return rc;
        rc = fold_chunk(r, &n, err, errlen);
        if (rc == STORE_OK) rc = r->ops->commit(r->ctx, err, errlen);
        if (rc != STORE_OK) {
            r->ops->rollback(r->ctx);
            return rc;
        }
        total += n;
        int64_t now = cw_mono_ns();
        if (big && n && now - last_log >= PROGRESS_EVERY_NS) {
            int64_t at = r->rows[n - 1].id;
            log_info("%s: roll-ups built up to id %" PRId64 " of %" PRId64 " (%.0f%%)", r->where, at, top,
                     100.0 * (double)(at - mark) / (double)(top - mark));
            last_log = now;
        }
    }
    if (big)
        log_info("%s: roll-ups built from %" PRIu64 " raw rows in %.1f s", r->where, total,
                 (double)(cw_mono_ns() - start) / 1e9);
    r->next_ns = cw_mono_ns() + r->every_ns;
    return STORE_OK;
}
