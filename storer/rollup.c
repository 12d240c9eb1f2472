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
    r->cap_rows = ROLLUP_CHUNK;
    r->rows = cw_xcalloc(r->cap_rows, sizeof *r->rows);
    r->order = cw_xcalloc(r->cap_rows, sizeof *r->order);
    r->cell = cw_xcalloc(ROLLUP_HISTS, sizeof *r->cell);
    r->cells = cw_xcalloc(ROLLUP_CELLS_PER_CALL, sizeof *r->cells);
    r->offs = cw_xcalloc(ROLLUP_CELLS_PER_CALL, sizeof *r->offs);
}

void rollup_free(struct rollup *r)
{
    free(r->rows);
    free(r->order);
    free(r->cell);
    free(r->cells);
    cw_buf_free(&r->arena);
    free(r->offs);
    for (uint32_t i = 0; i < r->n_locs; i++) free(r->loc_names[i]);
    free(r->loc_names);
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

uint32_t rollup_location(struct rollup *r, const char *name, size_t len)
{
    if (r->last_loc < r->n_locs && !strncmp(r->loc_names[r->last_loc], name, len) &&
        r->loc_names[r->last_loc][len] == '\0')
        return r->last_loc;
    for (uint32_t i = 0; i < r->n_locs; i++)
        if (!strncmp(r->loc_names[i], name, len) && r->loc_names[i][len] == '\0') return r->last_loc = i;
    if (r->n_locs == r->cap_locs) {
        r->cap_locs = r->cap_locs ? 2 * r->cap_locs : 8;
        r->loc_names = cw_xrealloc(r->loc_names, r->cap_locs * sizeof *r->loc_names);
    }
    char *copy = cw_xmalloc(len + 1);
    memcpy(copy, name, len);
    copy[len] = '\0';
    r->loc_names[r->n_locs] = copy;
    return r->last_loc = r->n_locs++;
}

/* -1, 0, 1 as (endpoint, location, time) of x is before, at, after y's. */
static int row_order(const struct rollup_row *x, const struct rollup_row *y)
{
    if (x->endpoint_id != y->endpoint_id) return x->endpoint_id < y->endpoint_id ? -1 : 1;
    if (x->loc != y->loc) return x->loc < y->loc ? -1 : 1;
    return x->at_s < y->at_s ? -1 : x->at_s > y->at_s;
}

/* qsort_r's order of row indexes by endpoint, location, then time; ctx is the fold's struct rollup. Sorted so,
 * the rows of one cell are contiguous for both periods (a period's start only grows with the time). */
static int by_endpoint_time(const void *a, const void *b, void *ctx)
{
    const struct rollup *r = ctx;
    return row_order(&r->rows[*(const size_t *)a], &r->rows[*(const size_t *)b]);
}

/* r->order[0..n) gets the rows in (endpoint, time) order. Endpoint ids are small and dense in practice, so a
 * counting sort by endpoint (stable: rows come in time order already, mostly) then a check of each run beats
 * qsort by far; ids spread wider than the rows fall back to qsort_r. */
static void sort_rows(struct rollup *r, size_t n)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (r->rows[i].endpoint_id < lo) lo = r->rows[i].endpoint_id;
        if (r->rows[i].endpoint_id > hi) hi = r->rows[i].endpoint_id;
    }
    if (n == 0) return;
    if ((uint64_t)hi - (uint64_t)lo >= 4 * (uint64_t)n + 1024) {
        for (size_t i = 0; i < n; i++) r->order[i] = i;
        qsort_r(r->order, n, sizeof *r->order, by_endpoint_time, r);
        return;
    }
    size_t span = (size_t)(hi - lo) + 2, *start = cw_xcalloc(span, sizeof *start);
    for (size_t i = 0; i < n; i++) start[r->rows[i].endpoint_id - lo + 1]++;
    for (size_t k = 1; k < span; k++) start[k] += start[k - 1];
    for (size_t i = 0; i < n; i++) r->order[start[r->rows[i].endpoint_id - lo]++] = i;
    free(start);
    for (size_t from = 0, to; from < n; from = to) { /* each endpoint's run: sorted unless it is not */
        bool sorted = true;
        for (to = from + 1; to < n && r->rows[r->order[to]].endpoint_id == r->rows[r->order[from]].endpoint_id; to++)
            if (row_order(&r->rows[r->order[to]], &r->rows[r->order[to - 1]]) < 0) sorted = false;
        if (!sorted) qsort_r(r->order + from, to - from, sizeof *r->order, by_endpoint_time, r);
    }
}

/* The end of the cell that starts at order[from] (sorted rows, n of them). */
static size_t cell_end(const struct rollup *r, enum rollup_period p, size_t from, size_t n)
{
    const struct rollup_row *a = &r->rows[r->order[from]];
    int64_t start = period_start(a->at_s, p);
    size_t to = from + 1;
    while (to < n && r->rows[r->order[to]].endpoint_id == a->endpoint_id && r->rows[r->order[to]].loc == a->loc &&
           period_start(r->rows[r->order[to]].at_s, p) == start)
        to++;
    return to;
}

/* r->cell = the stored cell (or empty when there is none; a blob that does not decode is replaced by an empty
 * histogram, said in the log: the counts stay right, that histogram restarts), plus rows order[from..to);
 * *checks and *ok likewise. */
static void merge_cell(struct rollup *r, int64_t ep, int64_t start, bool found, const struct rollup_stored *st,
                       size_t from, size_t to, int64_t *checks, int64_t *ok)
{
    *checks = found ? st->checks : 0;
    *ok = found ? st->ok : 0;
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        const char *why = NULL;
        if (!found) lat_hist_reset(&r->cell[i]);
        else if (!lat_hist_decode(&r->cell[i], st->blob[i], st->len[i], &why) && r->corrupt++ < 10)
            log_warn("%s: roll-up of endpoint %" PRId64 " at %" PRId64 ": stored histogram %d refused (%s): "
                     "it restarts empty",
                     r->where, ep, start, i, why);
    }
    for (size_t k = from; k < to; k++) {
        const struct rollup_row *row = &r->rows[r->order[k]];
        ++*checks;
        *ok += row->ok;
        for (int i = 0; i < ROLLUP_HISTS; i++)
            if (row->us[i] >= 0) lat_hist_add(&r->cell[i], row->us[i]);
    }
}

/* Appends the five histograms of r->cell to out, their offsets in off[]. */
static int encode_cell(struct rollup *r, int64_t ep, struct cw_buf *out, size_t off[ROLLUP_HISTS], char *err,
                       size_t errlen)
{
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        off[i] = out->len;
        if (lat_hist_encode(&r->cell[i], out) != 0) {
            snprintf(err, errlen, "%s: roll-up of endpoint %" PRId64 ": a histogram bucket overflows 32 bits", r->where,
                     ep);
            return STORE_FATAL;
        }
    }
    return STORE_OK;
}

/* Cell by cell (a backend without get_many): read, merge, write back. */
static int fold_cell(struct rollup *r, enum rollup_period p, size_t from, size_t to, char *err, size_t errlen)
{
    const struct rollup_row *first = &r->rows[r->order[from]];
    int64_t start = period_start(first->at_s, p);
    struct rollup_stored st, out;
    bool found = false;
    const char *location = r->loc_names[first->loc];
    int rc = r->ops->get(r->ctx, p, first->endpoint_id, location, start, &st, &found, err, errlen);
    if (rc != STORE_OK) return rc;
    merge_cell(r, first->endpoint_id, start, found, &st, from, to, &out.checks, &out.ok);
    size_t off[ROLLUP_HISTS];
    cw_buf_reset(&r->arena);
    if ((rc = encode_cell(r, first->endpoint_id, &r->arena, off, err, errlen)) != STORE_OK) return rc;
    for (int i = 0; i < ROLLUP_HISTS; i++) {
        out.blob[i] = r->arena.data + off[i];
        out.len[i] = (i + 1 < ROLLUP_HISTS ? off[i + 1] : r->arena.len) - off[i];
    }
    out.location = location;
    return r->ops->put(r->ctx, p, first->endpoint_id, location, start, &out, err, errlen);
}

/* Up to ROLLUP_CELLS_PER_CALL cells from order[*from] on, with one get_many and one put_many. */
static int fold_cells(struct rollup *r, enum rollup_period p, size_t *from, size_t n, char *err, size_t errlen)
{
    size_t m = 0;
    for (size_t at = *from; at < n && m < ROLLUP_CELLS_PER_CALL; m++) {
        struct rollup_cell *c = &r->cells[m];
        const struct rollup_row *a = &r->rows[r->order[at]];
        c->endpoint_id = a->endpoint_id;
        c->loc = a->loc;
        c->location = r->loc_names[a->loc];
        c->start_s = period_start(a->at_s, p);
        c->found = false;
        c->from = at;
        c->to = at = cell_end(r, p, at, n);
    }
    *from = r->cells[m - 1].to;
    int rc = r->ops->get_many(r->ctx, p, r->cells, m, err, errlen);
    cw_buf_reset(&r->arena);
    size_t(*offs)[ROLLUP_HISTS] = r->offs;
    for (size_t k = 0; rc == STORE_OK && k < m; k++) {
        struct rollup_cell *c = &r->cells[k];
        merge_cell(r, c->endpoint_id, c->start_s, c->found, &c->st, c->from, c->to, &c->st.checks, &c->st.ok);
        c->st.location = c->location;
        rc = encode_cell(r, c->endpoint_id, &r->arena, offs[k], err, errlen);
    }
    if (rc != STORE_OK) return rc;
    for (size_t k = 0; k < m; k++) /* the arena has stopped moving: the blobs' addresses */
        for (int i = 0; i < ROLLUP_HISTS; i++) {
            size_t end = i + 1 < ROLLUP_HISTS ? offs[k][i + 1] : k + 1 < m ? offs[k + 1][0] : r->arena.len;
            r->cells[k].st.blob[i] = r->arena.data + offs[k][i];
            r->cells[k].st.len[i] = end - offs[k][i];
        }
    return r->ops->put_many(r->ctx, p, r->cells, m, err, errlen);
}

/* Folds rows[0..n) into their hourly and daily cells. */
static int fold_rows(struct rollup *r, size_t n, char *err, size_t errlen)
{
    sort_rows(r, n);
    int rc = STORE_OK;
    for (int p = ROLLUP_HOUR; p <= ROLLUP_DAY; p++)
        for (size_t from = 0; rc == STORE_OK && from < n;) {
            if (r->ops->get_many) {
                rc = fold_cells(r, (enum rollup_period)p, &from, n, err, errlen);
            } else {
                size_t to = cell_end(r, (enum rollup_period)p, from, n);
                rc = fold_cell(r, (enum rollup_period)p, from, to, err, errlen);
                from = to;
            }
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

/* Forgets the rows in memory: the next fold reads the raw rows back. */
static void drop_memory(struct rollup *r, const char *why)
{
    if (r->mem_valid) log_debug("%s: roll-ups: %s: the next fold reads the raw rows back", r->where, why);
    r->mem_valid = false;
    r->pending = r->staged = 0;
}

/* The fold from memory when the pending and staged rows are exactly the raw rows above the watermark mark
 * (storer/rollup.h); *used false (memory dropped) when they are not. */
static int fold_memory(struct rollup *r, int64_t mark, size_t *n, bool *used, char *err, size_t errlen)
{
    int64_t count = 0, top = mark;
    *used = false;
    int rc = r->ops->count_above(r->ctx, mark, &count, &top, err, errlen);
    if (rc != STORE_OK) return rc;
    size_t have = r->pending + r->staged;
    if (count < 0 || (uint64_t)count != have) {
        drop_memory(r, "the raw rows above the watermark are not the rows in memory");
        return STORE_OK;
    }
    *used = true;
    *n = have;
    r->folded_all = true;
    if (have == 0) return STORE_OK;
    size_t kept = drop_bad_times(r, have);
    rc = fold_rows(r, kept, err, errlen);
    if (rc == STORE_OK) rc = r->ops->set_watermark(r->ctx, top, err, errlen);
    if (rc == STORE_OK) log_debug("%s: roll-ups: %zu rows folded from memory, watermark %" PRId64, r->where, have, top);
    return rc;
}

/* One fold in the open transaction: from memory, or up to ROLLUP_CHUNK rows read back; *n gets how many, and
 * r->folded_all whether any raw row is left above the watermark. */
static int fold_chunk(struct rollup *r, size_t *n, char *err, size_t errlen)
{
    int64_t mark = 0;
    *n = 0;
    r->folded_in_txn = true;
    r->folded_all = false;
    int rc = r->ops->get_watermark(r->ctx, &mark, err, errlen);
    if (rc == STORE_OK && mark < 0) {
        /* emptied while running: the reopen that follows a retry rebuilds (rollup_catch_up) */
        snprintf(err, errlen, "%s: rollup_state has no row: the roll-ups are rebuilt at the reopen", r->where);
        return STORE_RETRY;
    }
    if (rc == STORE_OK && r->mem_valid) {
        bool used = false;
        rc = fold_memory(r, mark, n, &used, err, errlen);
        if (rc != STORE_OK || used) return rc;
    }
    if (rc == STORE_OK) rc = r->ops->read_rows(r->ctx, mark, ROLLUP_CHUNK, r->rows, n, err, errlen);
    if (rc != STORE_OK) return rc;
    r->folded_all = *n < ROLLUP_CHUNK;
    if (*n == 0) return STORE_OK;
    int64_t last_id = r->rows[*n - 1].id;
    size_t kept = drop_bad_times(r, *n);
    rc = fold_rows(r, kept, err, errlen);
    if (rc == STORE_OK) rc = r->ops->set_watermark(r->ctx, last_id, err, errlen);
    return rc;
}

int rollup_fold_if_due(struct rollup *r, char *err, size_t errlen)
{
    if (r->direct) return STORE_OK; /* every batch folds its own checks (rollup_fold_batch) */
    int64_t now = cw_mono_ns();
    bool full = r->mem_valid && r->pending + r->staged >= ROLLUP_CHUNK;
    if (!r->on || (now < r->next_ns && !full)) return STORE_OK;
    size_t n = 0;
    int rc = fold_chunk(r, &n, err, errlen);
    /* a full chunk read back: more may be pending, fold again with the next batch */
    r->next_ns = rc == STORE_OK && !r->folded_all ? now : now + r->every_ns;
    return rc;
}

void rollup_enable_staging(struct rollup *r) { r->stages = !r->direct && r->ops->get_many && r->ops->count_above; }

void rollup_set_direct(struct rollup *r)
{
    if (!r) return;
    r->direct = true;
    r->stages = false;
    drop_memory(r, "database.raw is not all");
}

void rollup_put_i64(struct cw_buf *b, int64_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0) *--p = '-';
    cw_buf_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

struct rollup_cell *rollup_cell_find(const struct rollup *r, struct rollup_cell *cells, size_t n, int64_t endpoint_id,
                                     const char *location, size_t location_len, int64_t start_s)
{
    uint32_t loc = r->n_locs;
    for (uint32_t i = 0; i < r->n_locs && loc == r->n_locs; i++)
        if (!strncmp(r->loc_names[i], location, location_len) && r->loc_names[i][location_len] == '\0') loc = i;
    if (loc == r->n_locs) return NULL; /* a location no cell asked for */
    struct rollup_row key = { .endpoint_id = endpoint_id, .loc = loc, .at_s = start_s };
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct rollup_cell *c = &cells[mid];
        struct rollup_row at = { .endpoint_id = c->endpoint_id, .loc = c->loc, .at_s = c->start_s };
        int o = row_order(&at, &key);
        if (o == 0) return c;
        if (o < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* A raw row as a fold needs it, from the result it is written from. */
static void row_of(struct rollup *r, struct rollup_row *row, const struct cw_result *res, int64_t endpoint_id)
{
    int64_t us[ROLLUP_HISTS] = { res->latency_us, res->dns_us, res->connect_us, res->tls_us, res->ttfb_us };
    row->id = 0;
    row->endpoint_id = endpoint_id;
    const char *location = res->location ? res->location : "";
    row->loc = rollup_location(r, location, strlen(location));
    /* checked_at as stored: milliseconds truncated toward -inf (store_utc_ms), whole seconds likewise */
    row->at_s = res->checked_at_us / 1000000 - (res->checked_at_us % 1000000 < 0);
    row->ok = res->ok;
    /* what reading the stored milliseconds ((double)us / 1000) back gives: us itself below 2^51 µs (the
     * double's error times 1000 stays under half a µs), else the same conversion */
    for (int k = 0; k < ROLLUP_HISTS; k++)
        row->us[k] = us[k] < 0 ? -1 : us[k] < (INT64_C(1) << 51) ? us[k] : rollup_ms_to_us((double)us[k] / 1000.0);
}

int rollup_fold_batch(struct rollup *r, const struct store_batch *batch, const int64_t *ids, bool raw_written,
                      char *err, size_t errlen)
{
    if (!r || !r->direct || !r->on) return STORE_OK;
    size_t n = 0;
    for (size_t i = 0; i < batch->n_checks; i++) {
        if (!batch->checks[i].fold) continue;
        if (n == r->cap_rows) { /* a batch is at most a spool chunk: never in practice */
            r->cap_rows *= 2;
            r->rows = cw_xrealloc(r->rows, r->cap_rows * sizeof *r->rows);
            r->order = cw_xrealloc(r->order, r->cap_rows * sizeof *r->order);
        }
        row_of(r, &r->rows[n++], &batch->checks[i].r, ids[i]);
    }
    int rc = n ? fold_rows(r, n, err, errlen) : STORE_OK;
    if (rc == STORE_OK && raw_written)
        rc = r->ops->exec(r->ctx,
                          "UPDATE rollup_state SET last_check_id = (SELECT COALESCE(MAX(id), 0) FROM checks) WHERE id = 1",
                          err, errlen);
    return rc;
}

bool rollup_staging(const struct rollup *r) { return r && r->on && r->mem_valid; }

void rollup_stage(struct rollup *r, const struct store_batch *batch, size_t from, size_t n, int64_t inserted,
                  const int64_t *ids)
{
    if (!r || !r->on || !r->mem_valid) return;
    if (inserted != (int64_t)n || !ids) {
        drop_memory(r, "a batch held rows stored before, or rows of unknown endpoints");
        return;
    }
    size_t at = r->pending + r->staged;
    if (at + n > r->cap_rows) {
        if (at + n > 4 * (size_t)ROLLUP_CHUNK) {
            drop_memory(r, "too many rows in memory");
            return;
        }
        r->cap_rows = 2 * (at + n);
        r->rows = cw_xrealloc(r->rows, r->cap_rows * sizeof *r->rows);
        r->order = cw_xrealloc(r->order, r->cap_rows * sizeof *r->order);
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0) {
            drop_memory(r, "an endpoint id is not known");
            return;
        }
        row_of(r, &r->rows[at + i], &batch->checks[from + i].r, ids[i]);
    }
    r->staged += n;
}

void rollup_txn_end(struct rollup *r, bool committed)
{
    if (!r) return;
    if (r->folded_in_txn) {
        r->folded_in_txn = false;
        r->pending = r->staged = 0;
        r->mem_valid = committed && r->stages && r->folded_all;
        return;
    }
    if (committed) r->pending += r->staged;
    r->staged = 0;
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
    drop_memory(r, "rebuild");
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
    if (rc != STORE_OK) return rc;
    if (top <= mark) { /* nothing above the watermark: memory starts (again) empty */
        drop_memory(r, "nothing above the watermark");
        r->mem_valid = r->stages;
        return STORE_OK;
    }
    bool big = top - mark > ROLLUP_LOG_ROWS && !r->mem_valid; /* from memory it is quick */
    if (big)
        log_info("%s: building roll-ups from the raw rows with ids %" PRId64 "..%" PRId64, r->where, mark + 1, top);
    uint64_t total = 0;
    do {
        size_t n = 0;
        if ((rc = r->ops->begin(r->ctx, err, errlen)) != STORE_OK) return rc;
        rc = fold_chunk(r, &n, err, errlen);
        if (rc == STORE_OK) rc = r->ops->commit(r->ctx, err, errlen);
        if (rc != STORE_OK) {
            r->ops->rollback(r->ctx);
            rollup_txn_end(r, false);
            return rc;
        }
        rollup_txn_end(r, true);
        total += n;
        int64_t now = cw_mono_ns();
        if (big && n && now - last_log >= PROGRESS_EVERY_NS) {
            int64_t at = r->rows[n - 1].id;
            log_info("%s: roll-ups built up to id %" PRId64 " of %" PRId64 " (%.0f%%)", r->where, at, top,
                     100.0 * (double)(at - mark) / (double)(top - mark));
            last_log = now;
        }
    } while (!r->folded_all);
    if (big)
        log_info("%s: roll-ups built from %" PRIu64 " raw rows in %.1f s", r->where, total,
                 (double)(cw_mono_ns() - start) / 1e9);
    r->next_ns = cw_mono_ns() + r->every_ns;
    return STORE_OK;
}
