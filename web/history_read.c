/* web/history_read.c — the snapshot of clockwerk-web's history (web/history_read.h): the configured endpoints the
 * database knows, sorted by database id, read WEB_HISTORY_CHUNK at a time (one id range per chunk, so only one
 * chunk's tallies sit in memory). Per chunk, one query per table like `clockwerk report` (report/report.c):
 *  - checks_daily over the 90 days: the uptime bar's past days and the windows' whole days (history/window.h
 *    win_split). With several locations (issue 16) a day has a cell per location: its counts are their sum, its p95
 *    that of their merged histograms (the blobs of the day's cells are kept until the chunk's days are read);
 *  - checks_hourly over the windows' ragged hours and today's hours (disjoint ranges, each read once);
 *  - the raw rows above the watermark (not folded yet) of the whole 90 days;
 *  - the down/up alerts: the windows' and days' downtime and incidents (history/downtime.h), the incident list
 *    and the state the last alert left;
 *  - each push endpoint's newest raw row (storer/reader.h last_checks): the last call it tells, so that a web that
 *    starts again shows "last call N ago" rather than "no call yet" until the next call.
 * The current day (days[WEB_DAYS - 1]) comes from today's hourly cells and raw rows, never from its partial daily
 * cell, so it counts exactly what the 24 h window's last hours count. */
#include "web/history_read.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/le.h"
#include "common/base/util.h"
#include "history/downtime.h"
#include "history/tally.h"
#include "history/window.h"
#include "web/figures.h"
#include "web/model.h"

#define ALERT_SLACK_MS WIN_DAY_MS /* an UP raised a little after now still ends its interval (as the report) */
#define HOUR_RANGES (2 * WEB_WINDOWS + 1)

struct alert_ev {
    int64_t at_ms;
    bool down;
    size_t seq;    /* the order the database gave */
    char *message; /* owned */
};

/* What one endpoint of the chunk gathers. */
struct ep_work {
    struct tally win[WEB_WINDOWS];
    struct tally today;
    struct cw_buf day_lat[WEB_DAYS - 1]; /* per past day: its cells' latency blobs, each after its u32 length */
    struct alert_ev *ev;
    size_t n_ev, cap_ev;
};

/* A configured endpoint the database knows. */
struct known {
    int64_t db_id;
    const struct cw_endpoint *ep;
};

struct snap_read {
    const struct cw_config *cfg;
    int64_t now_ms, today0, day0, hours_end;
    int64_t alerts_from; /* the alerts read: from here, plus each endpoint's last one before (its state then) */
    struct win_split split[WEB_WINDOWS];
    struct known *known; /* sorted by db_id */
    size_t n_known, cap_known;
    size_t lo, n;          /* the chunk: known[lo .. lo + n) */
    struct ep_work *work;  /* WEB_HISTORY_CHUNK */
    struct web_history *h; /* h->ep[i] belongs to known[i] */
    bool reading_days;
};

static int cmp_known(const void *a, const void *b)
{
    int64_t x = ((const struct known *)a)->db_id, y = ((const struct known *)b)->db_id;
    return (x > y) - (x < y);
}

static int cmp_url(const void *a, const void *b)
{
    return strcmp(((const struct web_history_id *)a)->url, ((const struct web_history_id *)b)->url);
}

/* The configured endpoint of url in the configuration's endpoints sorted by URL (sorted: n of them). */
static const struct cw_endpoint *config_by_url(const struct cw_endpoint **sorted, size_t n, const char *url)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        int c = strcmp(sorted[m]->url, url);
        if (c == 0) return sorted[m];
        if (c < 0) a = m + 1;
        else b = m;
    }
    return NULL;
}

static int cmp_ep_url(const void *a, const void *b)
{
    return strcmp((*(const struct cw_endpoint *const *)a)->url, (*(const struct cw_endpoint *const *)b)->url);
}

struct ep_scan {
    struct snap_read *s;
    const struct cw_endpoint **sorted;
};

static int on_endpoint(void *ctx, int64_t id, const char *url, const char *type)
{
    (void)type; /* the configuration's type is the one shown */
    struct ep_scan *e = ctx;
    const struct cw_endpoint *ep = config_by_url(e->sorted, e->s->cfg->n_endpoints, url);
    if (!ep) return 0; /* removed from the configuration: not shown */
    struct snap_read *s = e->s;
    if (s->n_known == s->cap_known) {
        s->cap_known = s->cap_known ? 2 * s->cap_known : 256;
        s->known = cw_xrealloc(s->known, s->cap_known * sizeof *s->known);
    }
    s->known[s->n_known++] = (struct known){ id, ep };
    return 0;
}

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

static bool in_range(const struct win_range *r, int64_t t) { return t >= r->from && t < r->to; }

/* A past day's cell (one per location): counts added now, its latency blob kept for the day's p95 (day_p95). */
static void add_day_cell(struct web_day *day, struct cw_buf *lat, const struct rollup_stored *cell)
{
    day->checks += (uint32_t)cell->checks;
    day->ok += (uint32_t)cell->ok;
    if (!cell->len[0]) return;
    uint8_t len[4];
    le_put_u32(len, (uint32_t)cell->len[0]);
    cw_buf_put(lat, len, sizeof len);
    cw_buf_put(lat, cell->blob[0], cell->len[0]);
}

/* The p95 of a past day from the merged histograms of its cells (add_day_cell's blobs); 0 without latency. */
static uint32_t day_p95(const struct cw_buf *lat)
{
    struct tally t = { 0 };
    struct le_reader r = le_reader_of(lat->data, lat->len);
    while (r.left && !r.why) {
        struct rollup_stored cell = { 0 };
        cell.len[0] = le_read_u32(&r);
        cell.blob[0] = le_read_bytes(&r, cell.len[0]);
        if (cell.blob[0]) tally_add_cell(&t, &cell);
    }
    struct tally_figures tf;
    tally_figures(&t, &tf);
    return tf.has_latency ? (uint32_t)(tf.p95_ms * 1000.0 + 0.5) : 0;
}

static int on_cell(void *ctx, int64_t endpoint_id, int64_t start_s, const struct rollup_stored *cell)
{
    struct snap_read *s = ctx;
    long k = chunk_index(s, endpoint_id);
    if (k < 0) return 0;
    struct ep_work *w = &s->work[k];
    int64_t t = start_s * 1000;
    for (int i = 0; i < WEB_WINDOWS; i++) {
        const struct win_split *sp = &s->split[i];
        bool in = s->reading_days ? in_range(&sp->days, t) : in_range(&sp->head, t) || in_range(&sp->tail, t);
        if (in) tally_add_cell(&w->win[i], cell);
    }
    if (s->reading_days && t >= s->day0 && t < s->today0) {
        size_t d = (size_t)((t - s->day0) / WIN_DAY_MS);
        add_day_cell(&s->h->ep[s->lo + (size_t)k].days[d], &w->day_lat[d], cell);
    } else if (!s->reading_days && t >= s->today0) tally_add_cell(&w->today, cell);
    return 0;
}

static int on_row(void *ctx, const struct rollup_row *row, int64_t at_ms)
{
    struct snap_read *s = ctx;
    long k = chunk_index(s, row->endpoint_id);
    if (k < 0) return 0;
    struct ep_work *w = &s->work[k];
    for (int i = 0; i < WEB_WINDOWS; i++)
        if (in_range(&s->split[i].hours, at_ms)) tally_add_row(&w->win[i], row);
    if (at_ms >= s->today0 && at_ms < s->hours_end) tally_add_row(&w->today, row);
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

/* The chunk's four reads, limited to its id range. */
/* A push endpoint's newest stored check: its last call (a call's time, or a silence's time less its gap). */
static int on_push_check(void *ctx, const struct store_read_check *c)
{
    struct web_ep_history *eh = ctx;
    struct web_figures f;
    web_figures_parse(c->details, &f);
    eh->last_call_ms = web_push_last_call_us(&f, c->at_ms * 1000) / 1000;
    return 0;
}

static int read_chunk(struct snap_read *s, const struct store_read_backend *b, struct store_reader *r, char *err,
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
    int rc = b->cells(r, ROLLUP_DAY, days_from / 1000, days_to / 1000, lo, hi, on_cell, s, err, errlen);
    s->reading_days = false;
    struct win_range ranges[HOUR_RANGES];
    size_t n_ranges = hour_ranges(s, ranges);
    for (size_t i = 0; i < n_ranges && rc == STORE_OK; i++)
        rc = b->cells(r, ROLLUP_HOUR, ranges[i].from / 1000, ranges[i].to / 1000, lo, hi, on_cell, s, err, errlen);
    if (rc == STORE_OK) rc = b->recent(r, rows_from, s->hours_end, lo, hi, on_row, s, err, errlen);
    if (rc == STORE_OK) rc = b->alerts(r, s->alerts_from, s->now_ms + ALERT_SLACK_MS, lo, hi, on_alert, s, err, errlen);
    for (size_t k = 0; k < s->n && rc == STORE_OK; k++) /* the page's "last call" after a restart of the web */
        if (s->known[s->lo + k].ep->type == CW_CHECK_PUSH)
            rc = b->last_checks(r, s->known[s->lo + k].db_id, 1, on_push_check, &s->h->ep[s->lo + k], err, errlen);
    return rc;
}

static int cmp_event(const void *a, const void *b)
{
    const struct alert_ev *x = a, *y = b;
    if (x->at_ms != y->at_ms) return (x->at_ms > y->at_ms) - (x->at_ms < y->at_ms);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void add_incident(struct web_incident **all, size_t *n, size_t *cap, struct alert_ev *down, int64_t end)
{
    if (*n == *cap) *all = cw_xrealloc(*all, (*cap = *cap ? 2 * *cap : 8) * sizeof **all);
    (*all)[(*n)++] = (struct web_incident){ down->at_ms, end, down->message };
    down->message = NULL; /* moved */
}

/* The DOWN intervals overlapping [since, now) as history/downtime.c counts them, newest first; at most
 * WEB_INCIDENTS_MAX kept, the rest counted. */
static void build_incidents(struct web_ep_history *eh, struct alert_ev *ev, size_t n, int64_t since, int64_t now)
{
    struct web_incident *all = NULL;
    size_t n_all = 0, cap = 0, start = 0;
    bool down = false;
    for (size_t i = 0; i < n && ev[i].at_ms < now; i++) {
        if (ev[i].down && !down) {
            down = true;
            start = i;
        } else if (!ev[i].down && down) {
            down = false;
            if (ev[i].at_ms > since) add_incident(&all, &n_all, &cap, &ev[start], ev[i].at_ms);
        }
    }
    if (down) add_incident(&all, &n_all, &cap, &ev[start], 0);
    size_t keep = n_all < WEB_INCIDENTS_MAX ? n_all : WEB_INCIDENTS_MAX;
    eh->incidents = keep ? cw_xcalloc(keep, sizeof *eh->incidents) : NULL;
    for (size_t i = 0; i < n_all; i++) {
        if (i < keep) eh->incidents[i] = all[n_all - 1 - i];
        else free(all[n_all - 1 - i].message);
    }
    eh->n_incidents = keep;
    eh->incidents_older = (unsigned)(n_all - keep);
    free(all);
}

static void window_figures(struct web_window_figures *f, const struct tally *t, const struct dt_result *dt)
{
    struct tally_figures tf;
    tally_figures(t, &tf);
    *f = (struct web_window_figures){ .checks = t->checks,
                                      .ok = t->ok,
                                      .down_ms = dt->down_ms,
                                      .incidents = dt->incidents,
                                      .has_latency = tf.has_latency,
                                      .p50_ms = tf.p50_ms,
                                      .p95_ms = tf.p95_ms };
}

/* The chunk's endpoint k from what it gathered. */
static void finish_endpoint(struct snap_read *s, size_t k)
{
    struct ep_work *w = &s->work[k];
    struct web_ep_history *eh = &s->h->ep[s->lo + k];
    if (w->n_ev > 1) qsort(w->ev, w->n_ev, sizeof *w->ev, cmp_event); /* by time; the database's order breaks ties */
    struct dt_event *dt = cw_xcalloc(w->n_ev ? w->n_ev : 1, sizeof *dt);
    for (size_t i = 0; i < w->n_ev; i++) dt[i] = (struct dt_event){ w->ev[i].at_ms, w->ev[i].down };
    struct dt_result res;
    for (int i = 0; i < WEB_WINDOWS; i++) {
        dt_compute(dt, w->n_ev, s->now_ms - web_window_ms(i), s->now_ms, s->now_ms, &res);
        window_figures(&eh->win[i], &w->win[i], &res);
    }
    for (int d = 0; d < WEB_DAYS && w->n_ev; d++) {
        int64_t from = s->day0 + d * WIN_DAY_MS, to = from + WIN_DAY_MS < s->now_ms ? from + WIN_DAY_MS : s->now_ms;
        dt_compute(dt, w->n_ev, from, to, s->now_ms, &res);
        eh->days[d].down_s = (uint32_t)(res.down_ms / 1000) & 0x1ffff;
        eh->days[d].incidents = res.incidents > WEB_DAY_INCIDENTS_MAX ? WEB_DAY_INCIDENTS_MAX : res.incidents;
    }
    for (int d = 0; d < WEB_DAYS - 1; d++) {
        eh->days[d].p95_us = day_p95(&w->day_lat[d]);
        cw_buf_free(&w->day_lat[d]);
    }
    struct web_day *today = &eh->days[WEB_DAYS - 1];
    struct tally_figures tf;
    tally_figures(&w->today, &tf);
    today->checks = (uint32_t)w->today.checks;
    today->ok = (uint32_t)w->today.ok;
    today->p95_us = tf.has_latency ? (uint32_t)(tf.p95_ms * 1000.0 + 0.5) : 0;
    if (w->n_ev) {
        eh->state_known = true;
        eh->down = w->ev[w->n_ev - 1].down;
        eh->state_since_ms = w->ev[w->n_ev - 1].at_ms;
        for (size_t i = w->n_ev - 1; i > 0 && w->ev[i - 1].down == eh->down; i--)
            eh->state_since_ms = w->ev[i - 1].at_ms;
    }
    build_incidents(eh, w->ev, w->n_ev, s->now_ms - web_window_ms(WEB_WIN_90D), s->now_ms);
    for (size_t i = 0; i < w->n_ev; i++) free(w->ev[i].message);
    free(w->ev);
    w->ev = NULL;
    w->n_ev = w->cap_ev = 0;
    free(dt);
}

static void fill_ids(const struct snap_read *s, struct web_history_ids *ids)
{
    web_history_ids_free(ids);
    ids->v = cw_xcalloc(s->n_known ? s->n_known : 1, sizeof *ids->v);
    for (size_t i = 0; i < s->n_known; i++)
        ids->v[ids->n++] = (struct web_history_id){ cw_xstrdup(s->known[i].ep->url), s->known[i].db_id };
    if (ids->n > 1) qsort(ids->v, ids->n, sizeof *ids->v, cmp_url);
}

/* The times of the snapshot: today's midnight, the bar's first day, the windows' cuts. */
static void set_times(struct snap_read *s, int64_t now_ms)
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

static int read_known(struct snap_read *s, const struct store_read_backend *b, struct store_reader *r, char *err,
                      size_t errlen)
{
    size_t n = s->cfg->n_endpoints;
    struct ep_scan scan = { s, cw_xcalloc(n ? n : 1, sizeof *scan.sorted) };
    for (size_t i = 0; i < n; i++) scan.sorted[i] = &s->cfg->endpoints[i];
    qsort(scan.sorted, n, sizeof *scan.sorted, cmp_ep_url);
    int rc = b->endpoints(r, on_endpoint, &scan, err, errlen);
    free(scan.sorted);
    if (rc == STORE_OK && s->n_known > 1) qsort(s->known, s->n_known, sizeof *s->known, cmp_known);
    return rc;
}

static void free_work(struct snap_read *s)
{
    for (size_t k = 0; k < s->n; k++) {
        for (size_t i = 0; i < s->work[k].n_ev; i++) free(s->work[k].ev[i].message);
        free(s->work[k].ev);
        for (int d = 0; d < WEB_DAYS - 1; d++) cw_buf_free(&s->work[k].day_lat[d]);
    }
    free(s->work);
    free(s->known);
}

struct web_history *web_history_read(const struct store_read_backend *b, struct store_reader *r,
                                     const struct cw_config *cfg, int64_t now_ms, struct web_history_ids *ids,
                                     const struct web_history_pause *pause, int *rc, char *err, size_t errlen)
{
    struct snap_read s = { .cfg = cfg };
    set_times(&s, now_ms);
    *rc = read_known(&s, b, r, err, errlen);
    s.h = cw_xcalloc(1, sizeof *s.h);
    s.h->read_at_ms = now_ms;
    s.h->day0_ms = s.day0;
    s.h->ep = cw_xcalloc(s.n_known ? s.n_known : 1, sizeof *s.h->ep);
    s.h->n = s.n_known;
    for (size_t i = 0; i < s.n_known; i++) s.h->ep[i].url = cw_xstrdup(s.known[i].ep->url);
    s.work = cw_xmalloc(WEB_HISTORY_CHUNK * sizeof *s.work);
    for (s.lo = 0; *rc == STORE_OK && s.lo < s.n_known; s.lo += s.n) {
        s.n = s.n_known - s.lo < WEB_HISTORY_CHUNK ? s.n_known - s.lo : WEB_HISTORY_CHUNK;
        memset(s.work, 0, s.n * sizeof *s.work);
        *rc = read_chunk(&s, b, r, err, errlen);
        for (size_t k = 0; *rc == STORE_OK && k < s.n; k++) finish_endpoint(&s, k);
        if (*rc == STORE_OK && pause && s.lo + s.n < s.n_known) pause->fn(pause->ctx, b, r);
    }
    if (*rc == STORE_OK && ids) fill_ids(&s, ids);
    free_work(&s);
    if (*rc == STORE_OK) return s.h;
    web_history_free(s.h);
    return NULL;
}

struct find_url {
    const char *url;
    int64_t id;
};

static int on_find_url(void *ctx, int64_t id, const char *url, const char *type)
{
    (void)type;
    struct find_url *f = ctx;
    if (f->id < 0 && strcmp(url, f->url) == 0) f->id = id;
    return 0;
}

int64_t web_history_find_id(const struct store_read_backend *b, struct store_reader *r,
                            const struct web_history_ids *ids, const char *url, int *rc, char *err, size_t errlen)
{
    *rc = STORE_OK;
    if (ids && ids->n) {
        struct web_history_id key = { .url = (char *)url };
        const struct web_history_id *hit = bsearch(&key, ids->v, ids->n, sizeof *ids->v, cmp_url);
        if (hit) return hit->db_id;
    }
    struct find_url f = { url, -1 };
    *rc = b->endpoints(r, on_find_url, &f, err, errlen);
    return *rc == STORE_OK ? f.id : -2;
}

void web_history_ids_free(struct web_history_ids *ids)
{
    if (!ids) return;
    for (size_t i = 0; i < ids->n; i++) free(ids->v[i].url);
    free(ids->v);
    *ids = (struct web_history_ids){ 0 };
}
