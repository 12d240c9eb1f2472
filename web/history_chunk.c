/* web/history_chunk.c — one chunk of endpoints of clockwerk-web's history (web/history_chunk.h), like `clockwerk
 * report` (report/report.c), one query per table over the chunk's id range:
 *  - checks_daily over the 90 days: the uptime bar's past days and the windows' whole days (history/window.h
 *    win_split). With several locations (issue 16) a day has a cell per location: its counts are their sum, its p95
 *    that of their merged histograms (the cells come ordered by endpoint and period, so a day's cells are merged as
 *    they come, without keeping their blobs);
 *  - checks_hourly over the windows' ragged hours and today's hours (disjoint ranges, each read once);
 *  - the raw rows above the watermark (not folded yet) of the whole 90 days;
 *  - the down/up alerts: the windows' and days' downtime and incidents (history/downtime.h), the incident list
 *    and the state the last alert left;
 *  - each push endpoint's newest raw row (storer/reader.h last_checks): the last call it tells, so that a web that
 *    starts again shows "last call N ago" rather than "no call yet" until the next call.
 * Only the latency histogram of a cell is read (each blob decoded once, whatever windows it counts in): the
 * snapshot shows no phase. The current day (days[WEB_DAYS - 1]) comes from today's hourly cells and raw rows,
 * never from its partial daily cell, so it counts exactly what the 24 h window's last hours count. */
#include "web/history_chunk.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"
#include "history/downtime.h"
#include "web/figures.h"
#include "web/model.h"

#define ALERT_SLACK_MS WIN_DAY_MS /* an UP raised a little after now still ends its interval (as the report) */
#define HOUR_RANGES (2 * WEB_WINDOWS + 1)

static void whist_clear(struct whist *h)
{
    if (h->lo <= h->hi) memset(&h->bucket[h->lo], 0, (h->hi - h->lo + 1) * sizeof h->bucket[0]);
    h->total = 0;
    h->lo = LAT_BUCKETS;
    h->hi = 0;
}

static void whist_add(struct whist *h, unsigned b, uint64_t c)
{
    h->bucket[b] += c;
    h->total += c;
    if (b < h->lo) h->lo = b;
    if (b > h->hi) h->hi = b;
}

/* The bucket + 1 of the nearest-rank percentile as lat_hist_percentile finds it; 0 when nothing was added. */
static uint16_t whist_code(const struct whist *h, unsigned permille)
{
    if (h->total == 0) return 0;
    uint64_t rank = (h->total * permille + 999) / 1000, seen = 0;
    if (rank == 0) rank = 1;
    unsigned b = h->lo;
    for (; b < h->hi; b++) {
        seen += h->bucket[b];
        if (seen >= rank) break;
    }
    return (uint16_t)(b + 1);
}

static bool in_range(const struct win_range *r, int64_t t) { return t >= r->from && t < r->to; }

/* The index in the chunk of database id, -1 when it is not one of the chunk's. */
static long chunk_index(const struct snap_read *s, int64_t id)
{
    size_t a = s->lo, b = s->lo + s->n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (s->known[m].db_id == id) return (long)(m - s->lo);
        if (s->known[m].db_id < id) a = m + 1;
        else b = m;
    }
    return -1;
}

/* The day being merged ends: its p95 (a day whose cells came apart, not from this database's order, keeps the
 * larger of its parts' p95s). */
static void day_flush(struct snap_read *s)
{
    struct day_acc *a = &s->acc;
    if (a->k < 0) return;
    struct web_day *d = &s->work[a->k].days[a->day];
    uint32_t p95 = (uint32_t)web_latency_us(whist_code(&a->lat, 950));
    if (p95 > d->p95_us) d->p95_us = p95;
    whist_clear(&a->lat);
    a->k = -1;
}

static int on_cell(void *ctx, int64_t endpoint_id, int64_t start_s, const struct rollup_stored *cell)
{
    struct snap_read *s = ctx;
    long k = chunk_index(s, endpoint_id);
    if (k < 0) return 0;
    struct ep_work *w = &s->work[k];
    int64_t t = start_s * 1000;
    bool into[WEB_WINDOWS + 1] = { false };
    for (int i = 0; i < WEB_WINDOWS; i++) {
        const struct win_split *sp = &s->split[i];
        into[i] = s->reading_days ? in_range(&sp->days, t) : in_range(&sp->head, t) || in_range(&sp->tail, t);
    }
    into[CHUNK_TODAY] = !s->reading_days && t >= s->today0;
    bool day = s->reading_days && t >= s->day0 && t < s->today0;
    int d = day ? (int)((t - s->day0) / WIN_DAY_MS) : -1;
    if (day && (s->acc.k != k || s->acc.day != d)) {
        day_flush(s);
        s->acc.k = k;
        s->acc.day = d;
    }
    for (int i = 0; i <= WEB_WINDOWS; i++)
        if (into[i]) w->checks[i] += (uint64_t)cell->checks, w->ok[i] += (uint64_t)cell->ok;
    if (day) {
        w->days[d].checks += (uint32_t)cell->checks;
        w->days[d].ok += (uint32_t)cell->ok;
    }
    if (!cell->len[0]) return 0;
    uint16_t bucket[LAT_BUCKETS];
    uint32_t count[LAT_BUCKETS];
    int n = lat_hist_blob_entries(cell->blob[0], cell->len[0], bucket, count, NULL);
    for (int e = 0; e < n; e++) { /* a blob that cannot be read is left out, its counts kept (history/tally.c) */
        for (int i = 0; i <= WEB_WINDOWS; i++)
            if (into[i]) whist_add(&w->lat[i], bucket[e], count[e]);
        if (day) whist_add(&s->acc.lat, bucket[e], count[e]);
    }
    return 0;
}

static int on_row(void *ctx, const struct rollup_row *row, int64_t at_ms)
{
    struct snap_read *s = ctx;
    long k = chunk_index(s, row->endpoint_id);
    if (k < 0) return 0;
    struct ep_work *w = &s->work[k];
    unsigned b = row->us[0] >= 0 ? lat_hist_bucket_of(row->us[0]) : 0;
    for (int i = 0; i <= WEB_WINDOWS; i++) {
        bool in = i == CHUNK_TODAY ? at_ms >= s->today0 && at_ms < s->hours_end : in_range(&s->split[i].hours, at_ms);
        if (!in) continue;
        w->checks[i]++;
        w->ok[i] += row->ok;
        if (row->us[0] >= 0) whist_add(&w->lat[i], b, 1);
    }
    return 0;
}

/* message with every `masked` (the URL as the alerter wrote it: credentials hidden, not the query) replaced by the
 * web's label of it (web_url_label: the query as "?***"): a token in a query never reaches a page (owned). */
static char *shown_message(const char *message, const char *masked, const char *url)
{
    char label[CW_URL_MAX + 8];
    web_url_label(url, label, sizeof label);
    size_t mlen = strlen(masked);
    if (!mlen || strcmp(masked, label) == 0 || !strstr(message, masked)) return cw_xstrdup(message);
    struct cw_buf b = { 0 };
    for (const char *p = message, *hit; *p; p = hit + mlen) {
        hit = strstr(p, masked);
        if (!hit) {
            cw_buf_put(&b, p, strlen(p));
            break;
        }
        cw_buf_put(&b, p, (size_t)(hit - p));
        cw_buf_put(&b, label, strlen(label));
    }
    cw_buf_put(&b, "", 1);
    return (char *)b.data; /* owned by the caller now */
}

static int on_alert(void *ctx, int64_t endpoint_id, bool down, int64_t raised_at_ms, const char *message)
{
    struct snap_read *s = ctx;
    long k = chunk_index(s, endpoint_id);
    if (k < 0) return 0;
    struct ep_work *w = &s->work[k];
    const struct cw_endpoint *ep = s->known[s->lo + (size_t)k].ep;
    char masked[CW_URL_MAX + 1];
    cw_mask_url(ep->url, masked, sizeof masked);
    if (w->n_ev == w->cap_ev) {
        w->cap_ev = w->cap_ev ? 2 * w->cap_ev : 8;
        w->ev = cw_xrealloc(w->ev, w->cap_ev * sizeof *w->ev);
    }
    size_t i = w->n_ev++;
    w->ev[i] = (struct alert_ev){ .at_ms = dt_event_time(message, ep->name, masked, down, raised_at_ms),
                                  .down = down,
                                  .seq = i,
                                  .message = shown_message(message, masked, ep->url) };
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    int64_t x = ((const struct win_range *)a)->from, y = ((const struct win_range *)b)->from;
    return (x > y) - (x < y);
}

/* The hourly cells to read: every window's ragged hours and today's, sorted and merged (each cell read once). */
static size_t hour_ranges(const struct snap_read *s, struct win_range *out)
{
    size_t n = 0;
    out[n++] = (struct win_range){ s->today0, s->hours_end };
    for (int i = 0; i < WEB_WINDOWS; i++) {
        if (s->split[i].head.from < s->split[i].head.to) out[n++] = s->split[i].head;
        if (s->split[i].tail.from < s->split[i].tail.to) out[n++] = s->split[i].tail;
    }
    qsort(out, n, sizeof *out, cmp_range);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && out[i].from <= out[m - 1].to) {
            if (out[i].to > out[m - 1].to) out[m - 1].to = out[i].to;
        } else out[m++] = out[i];
    }
    return m;
}

/* A push endpoint's newest stored check: its last call (a call's time, or a silence's time less its gap). */
static int on_push_check(void *ctx, const struct store_read_check *c)
{
    int64_t *last_call_ms = ctx;
    struct web_figures f;
    web_figures_parse(c->details, &f);
    *last_call_ms = web_push_last_call_us(&f, c->at_ms * 1000) / 1000;
    return 0;
}

int chunk_read(struct snap_read *s, const struct store_read_backend *b, struct store_reader *r, char *err,
               size_t errlen)
{
    int64_t lo = s->known[s->lo].db_id, hi = s->known[s->lo + s->n - 1].db_id;
    int64_t days_from = s->day0, days_to = s->today0, rows_from = s->today0;
    for (int i = 0; i < WEB_WINDOWS; i++) {
        const struct win_split *sp = &s->split[i];
        if (sp->days.from < sp->days.to && sp->days.from < days_from) days_from = sp->days.from;
        if (sp->days.from < sp->days.to && sp->days.to > days_to) days_to = sp->days.to;
        if (sp->hours.from < rows_from) rows_from = sp->hours.from;
    }
    s->reading_days = true;
    s->acc.k = -1;
    int rc = b->cells(r, ROLLUP_DAY, days_from / 1000, days_to / 1000, lo, hi, on_cell, s, err, errlen);
    day_flush(s);
    s->reading_days = false;
    struct win_range ranges[HOUR_RANGES];
    size_t n_ranges = hour_ranges(s, ranges);
    for (size_t i = 0; i < n_ranges && rc == STORE_OK; i++)
        rc = b->cells(r, ROLLUP_HOUR, ranges[i].from / 1000, ranges[i].to / 1000, lo, hi, on_cell, s, err, errlen);
    if (rc == STORE_OK) rc = b->recent(r, rows_from, s->hours_end, lo, hi, on_row, s, err, errlen);
    if (rc == STORE_OK) rc = b->alerts(r, s->alerts_from, s->now_ms + ALERT_SLACK_MS, lo, hi, on_alert, s, err, errlen);
    for (size_t k = 0; k < s->n && rc == STORE_OK; k++) /* the page's "last call" after a restart of the web */
        if (s->known[s->lo + k].ep->type == CW_CHECK_PUSH && s->last_call_ms)
            rc = b->last_checks(r, s->known[s->lo + k].db_id, 1, on_push_check, &s->last_call_ms[k], err, errlen);
    return rc;
}

static int cmp_event(const void *a, const void *b)
{
    const struct alert_ev *x = a, *y = b;
    if (x->at_ms != y->at_ms) return (x->at_ms > y->at_ms) - (x->at_ms < y->at_ms);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The DOWN intervals overlapping [since, now) as history/downtime.c counts them, newest first; at most
 * WEB_INCIDENTS_MAX kept (their messages moved out of ev), the rest counted. */
static void build_incidents(struct web_ep_history *eh, struct alert_ev *ev, size_t n, int64_t since, int64_t now)
{
    size_t n_all = 0, start = 0, *downs = cw_xcalloc(n ? n : 1, sizeof *downs);
    int64_t *ends = cw_xcalloc(n ? n : 1, sizeof *ends);
    bool down = false;
    for (size_t i = 0; i < n && ev[i].at_ms < now; i++) {
        if (ev[i].down && !down) {
            down = true;
            start = i;
        } else if (!ev[i].down && down) {
            down = false;
            if (ev[i].at_ms > since) downs[n_all] = start, ends[n_all++] = ev[i].at_ms;
        }
    }
    if (down) downs[n_all] = start, ends[n_all++] = 0;
    size_t keep = n_all < WEB_INCIDENTS_MAX ? n_all : WEB_INCIDENTS_MAX;
    if (n_all) {
        struct web_ep_more *x = web_ep_more_get(eh);
        x->incidents = cw_xcalloc(keep, sizeof *x->incidents);
        for (size_t i = 0; i < keep; i++) {
            struct alert_ev *d = &ev[downs[n_all - 1 - i]];
            x->incidents[i] = (struct web_incident){ d->at_ms, ends[n_all - 1 - i], d->message };
            d->message = NULL; /* moved */
        }
        x->n_incidents = (uint8_t)keep;
        x->incidents_older = n_all - keep > UINT16_MAX ? UINT16_MAX : (uint16_t)(n_all - keep);
    }
    free(downs);
    free(ends);
}

static void pack_window(struct web_window_cell *c, const struct ep_work *w, int i, const struct dt_result *dt)
{
    int64_t down_ms = dt->down_ms > 0 ? dt->down_ms : 0;
    *c = (struct web_window_cell){ .checks = w->checks[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)w->checks[i],
                                   .ok = w->ok[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)w->ok[i],
                                   .down_s = (uint32_t)(down_ms / 1000),
                                   .down_ms_rem = (uint16_t)(down_ms % 1000),
                                   .incidents = dt->incidents > UINT16_MAX ? UINT16_MAX : (uint16_t)dt->incidents,
                                   .p50 = whist_code(&w->lat[i], 500),
                                   .p95 = whist_code(&w->lat[i], 950) };
}

/* The days' downtime and incidents from the alerts; the days with incidents noted beside eh's bar. */
static void day_alerts(struct snap_read *s, struct ep_work *w, struct dt_event *dt, struct web_ep_history *eh)
{
    struct dt_result res;
    unsigned notes = 0;
    for (int d = 0; d < WEB_DAYS && w->n_ev; d++) {
        int64_t from = s->day0 + d * WIN_DAY_MS, to = from + WIN_DAY_MS < s->now_ms ? from + WIN_DAY_MS : s->now_ms;
        dt_compute(dt, w->n_ev, from, to, s->now_ms, &res);
        w->days[d].down_s = (uint32_t)(res.down_ms / 1000) & 0x1ffff;
        w->days[d].incidents = res.incidents > WEB_DAY_INCIDENTS_MAX ? WEB_DAY_INCIDENTS_MAX : res.incidents;
        notes += res.incidents > 0;
    }
    if (!eh || !notes) return;
    struct web_ep_more *x = web_ep_more_get(eh);
    x->notes = cw_xcalloc(notes, sizeof *x->notes);
    for (int d = 0; d < WEB_DAYS; d++)
        if (w->days[d].incidents) x->notes[x->n_notes++] = (struct web_day_note){ (uint8_t)d, w->days[d].incidents };
}

void chunk_finish(struct snap_read *s, size_t k, struct web_ep_history *eh)
{
    struct ep_work *w = &s->work[k];
    if (w->n_ev > 1) qsort(w->ev, w->n_ev, sizeof *w->ev, cmp_event); /* by time; the database's order breaks ties */
    struct dt_event *dt = cw_xcalloc(w->n_ev ? w->n_ev : 1, sizeof *dt);
    for (size_t i = 0; i < w->n_ev; i++) dt[i] = (struct dt_event){ w->ev[i].at_ms, w->ev[i].down };
    struct dt_result res;
    for (int i = 0; i < WEB_WINDOWS && eh; i++) {
        dt_compute(dt, w->n_ev, s->now_ms - web_window_ms(i), s->now_ms, s->now_ms, &res);
        pack_window(&eh->win[i], w, i, &res);
    }
    day_alerts(s, w, dt, eh);
    struct web_day *today = &w->days[WEB_DAYS - 1];
    today->checks = (uint32_t)w->checks[CHUNK_TODAY];
    today->ok = (uint32_t)w->ok[CHUNK_TODAY];
    today->p95_us = (uint32_t)web_latency_us(whist_code(&w->lat[CHUNK_TODAY], 950));
    for (int d = 0; d < WEB_DAYS && eh; d++) web_bar_pack(eh->bar[d], &w->days[d]);
    if (eh && w->n_ev) {
        struct web_ep_more *x = web_ep_more_get(eh);
        eh->state_known = true;
        eh->down = w->ev[w->n_ev - 1].down;
        x->state_since_ms = w->ev[w->n_ev - 1].at_ms;
        for (size_t i = w->n_ev - 1; i > 0 && w->ev[i - 1].down == eh->down; i--)
            x->state_since_ms = w->ev[i - 1].at_ms;
    }
    if (eh) build_incidents(eh, w->ev, w->n_ev, s->now_ms - web_window_ms(WEB_WIN_90D), s->now_ms);
    for (size_t i = 0; i < w->n_ev; i++) free(w->ev[i].message);
    free(w->ev);
    w->ev = NULL;
    w->n_ev = w->cap_ev = 0;
    free(dt);
}

void chunk_clear(struct snap_read *s)
{
    for (size_t k = 0; k < s->n; k++) {
        struct ep_work *w = &s->work[k];
        for (size_t i = 0; i < w->n_ev; i++) free(w->ev[i].message);
        free(w->ev);
        for (int i = 0; i <= WEB_WINDOWS; i++) whist_clear(&w->lat[i]);
        memset(w->checks, 0, sizeof w->checks);
        memset(w->ok, 0, sizeof w->ok);
        memset(w->days, 0, sizeof w->days);
        w->ev = NULL;
        w->n_ev = w->cap_ev = 0;
    }
    whist_clear(&s->acc.lat);
    s->acc.k = -1;
}

void chunk_set_times(struct snap_read *s, int64_t now_ms)
{
    s->now_ms = now_ms;
    s->today0 = win_floor(now_ms, WIN_DAY_MS);
    s->day0 = s->today0 - (WEB_DAYS - 1) * WIN_DAY_MS;
    s->hours_end = win_floor(now_ms, WIN_HOUR_MS) + WIN_HOUR_MS;
    /* the earliest time any figure looks at (the 90-day window, the bar's first day), less the slack by which
     * an alert's "since" may precede its raised_at */
    int64_t earliest = now_ms - web_window_ms(WEB_WIN_90D) < s->day0 ? now_ms - web_window_ms(WEB_WIN_90D) : s->day0;
    s->alerts_from = earliest - ALERT_SLACK_MS;
    for (int i = 0; i < WEB_WINDOWS; i++) win_split(now_ms - web_window_ms(i), now_ms, &s->split[i]);
}
