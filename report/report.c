/* report/report.c — gathering `clockwerk report`'s figures through a read backend (report.h): one query per
 * table (checks_daily for the whole days, checks_hourly for the ragged hours, checks above the watermark,
 * alerts), each row added to its endpoint's tally, found by endpoints.id in a hash. */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"
#include "common/wire/protocol.h"
#include "report/maint.h"

int report_init(struct report *rep, const struct cw_config *cfg, const char *only, int64_t since_ms, int64_t until_ms)
{
    memset(rep, 0, sizeof *rep);
    rep->cfg = cfg;
    rep->since_ms = since_ms;
    rep->until_ms = until_ms;
    rep->now_ms = INT64_MAX;
    win_split(since_ms, until_ms, &rep->split);
    rep->eps = cw_xcalloc(cfg->n_endpoints ? cfg->n_endpoints : 1, sizeof *rep->eps);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct cw_endpoint *ep = &cfg->endpoints[i];
        char masked[CW_URL_MAX + 1];
        cw_mask_url(ep->url, masked, sizeof masked);
        if (only && strcmp(ep->url, only) != 0 && strcmp(masked, only) != 0 && !(ep->name && !strcmp(ep->name, only)))
            continue;
        struct report_ep *e = &rep->eps[rep->n++];
        e->ep = ep;
        e->db_id = -1;
        e->last_check_ms = INT64_MIN;
        e->masked_url = cw_xstrdup(masked);
        HASH_ADD_KEYPTR(by_url, rep->url_table, ep->url, strlen(ep->url), e);
    }
    return rep->n ? 0 : -1;
}

static int on_endpoint(void *ctx, int64_t id, const char *url, const char *type)
{
    (void)type;
    struct report *rep = ctx;
    struct report_ep *e = NULL;
    HASH_FIND(by_url, rep->url_table, url, strlen(url), e);
    if (e && e->db_id < 0) {
        e->db_id = id;
        HASH_ADD(by_id, rep->id_table, db_id, sizeof e->db_id, e);
    }
    return 0;
}

static struct report_ep *find_id(struct report *rep, int64_t id)
{
    struct report_ep *e = NULL;
    HASH_FIND(by_id, rep->id_table, &id, sizeof id, e);
    return e;
}

/* The endpoint's last known check: at_ms (from a daily cell: day), as far as the report can see. */
static void saw_check(struct report_ep *e, int64_t at_ms, bool day)
{
    if (at_ms <= e->last_check_ms) return;
    e->last_check_ms = at_ms;
    e->last_check_is_day = day;
}

/* A cell's checks end at the end of its period at the latest. */
static int64_t cell_end_ms(const struct report *rep, int64_t start_s)
{
    return start_s * 1000 + (rep->reading_days ? WIN_DAY_MS : WIN_HOUR_MS);
}

/* Into the endpoint's tally, or the one of the hour holding a past until while that is read. */
static struct tally *tally_of(const struct report *rep, struct report_ep *e)
{
    return rep->reading_late ? &e->late : &e->t;
}

/* Whether a read's location counts in this report; the locations met are remembered (--by-location's rows). */
static bool take_location(struct report *rep, const char *location)
{
    if (!location) location = "";
    bool known = false;
    for (size_t i = 0; i < rep->n_seen && !known; i++) known = !strcmp(rep->seen[i], location);
    if (!known) {
        rep->seen = cw_xrealloc(rep->seen, (rep->n_seen + 1) * sizeof *rep->seen);
        rep->seen[rep->n_seen++] = cw_xstrdup(location);
    }
    return store_read_location_match(rep->location, location);
}

bool report_ep_shown(const struct report *rep, const struct report_ep *e)
{
    if (!rep->location || e->t.checks > 0) return true;
    for (size_t i = 0; i < e->ep->n_locations; i++)
        if (e->ep->locations[i] && !strcmp(e->ep->locations[i], rep->location)) return true;
    const char *own = config_own_location(rep->cfg);
    return e->ep->n_locations == 0 && !strcmp(own, rep->location);
}

static int on_cell(void *ctx, int64_t endpoint_id, int64_t start_s, const struct rollup_stored *cell)
{
    struct report_ep *e = find_id(ctx, endpoint_id);
    if (!e || !take_location(ctx, cell->location)) return 0;
    if (((struct report *)ctx)->reading_before) { /* the hour before the window: only whether it was checked */
        e->checked_before |= cell->checks > 0;
        return 0;
    }
    tally_add_cell(tally_of(ctx, e), cell);
    if (cell->checks > 0) saw_check(e, cell_end_ms(ctx, start_s), ((struct report *)ctx)->reading_days);
    return 0;
}

static int on_row(void *ctx, const struct rollup_row *row, int64_t at_ms)
{
    struct report_ep *e = find_id(ctx, row->endpoint_id);
    if (!e || !take_location(ctx, row->location)) return 0;
    tally_add_row(tally_of(ctx, e), row);
    saw_check(e, at_ms + 1, false);
    return 0;
}

static int on_alert(void *ctx, int64_t endpoint_id, bool down, int64_t raised_at_ms, const char *message)
{
    struct report_ep *e = find_id(ctx, endpoint_id);
    if (!e) return 0;
    if (e->n_ev == e->cap_ev) {
        e->cap_ev = e->cap_ev ? 2 * e->cap_ev : 8;
        e->ev = cw_xrealloc(e->ev, e->cap_ev * sizeof *e->ev);
    }
    e->ev[e->n_ev++] =
        (struct dt_event){ .at_ms = dt_event_time(message, e->ep->name, e->masked_url, down, raised_at_ms),
                           .down = down };
    return 0;
}

/* The endpoint ids to read: one endpoint's, or all. */
static void id_range(const struct report *rep, int64_t *lo, int64_t *hi)
{
    *lo = 0;
    *hi = INT64_MAX;
    if (rep->n == 1 && rep->eps[0].db_id >= 0) *lo = *hi = rep->eps[0].db_id;
}

/* An UP alert is raised a few checks after the state it announces began: alerts raised up to this long after
 * until are read too, so that an UP whose "since" lies before until ends its interval there. */
#define REPORT_ALERT_SLACK_MS (WIN_DAY_MS)

/* The hourly cells of [from, to) into the tallies; the hour holding a past until (from late on) apart. */
static int read_hours(struct report *rep, const struct store_read_backend *b, struct store_reader *r, int64_t from,
                      int64_t to, int64_t late, int64_t lo, int64_t hi, char *err, size_t errlen)
{
    int rc = STORE_OK;
    int64_t cut = late < to ? (late > from ? late : from) : to;
    if (from < cut) rc = b->cells(r, ROLLUP_HOUR, from / 1000, cut / 1000, lo, hi, on_cell, rep, err, errlen);
    if (rc == STORE_OK && cut < to) {
        rep->reading_late = true;
        rc = b->cells(r, ROLLUP_HOUR, cut / 1000, to / 1000, lo, hi, on_cell, rep, err, errlen);
        rep->reading_late = false;
    }
    return rc;
}

static int read_all(struct report *rep, const struct store_read_backend *b, struct store_reader *r, char *err,
                    size_t errlen)
{
    int64_t lo, hi;
    id_range(rep, &lo, &hi);
    const struct win_split *s = &rep->split;
    /* a past until inside an hour: that hour's cells may hold checks after until (see report_collect) */
    int64_t late = rep->until_ms < rep->now_ms && rep->until_ms % WIN_HOUR_MS ? s->hours.to - WIN_HOUR_MS : INT64_MAX;
    int64_t rows_to = late == INT64_MAX ? s->hours.to : rep->until_ms;
    int rc = STORE_OK;
    rep->reading_days = true;
    if (s->days.from < s->days.to)
        rc = b->cells(r, ROLLUP_DAY, s->days.from / 1000, s->days.to / 1000, lo, hi, on_cell, rep, err, errlen);
    rep->reading_days = false;
    if (rc == STORE_OK) rc = read_hours(rep, b, r, s->head.from, s->head.to, late, lo, hi, err, errlen);
    if (rc == STORE_OK) rc = read_hours(rep, b, r, s->tail.from, s->tail.to, late, lo, hi, err, errlen);
    if (rc == STORE_OK && late == s->hours.from) { /* no earlier hour in the window: was it checked just before? */
        rep->reading_before = true;
        rc = b->cells(r, ROLLUP_HOUR, (late - WIN_HOUR_MS) / 1000, late / 1000, lo, hi, on_cell, rep, err, errlen);
        rep->reading_before = false;
    }
    if (rc == STORE_OK) rc = b->recent(r, s->hours.from, rows_to, lo, hi, on_row, rep, err, errlen);
    if (rc == STORE_OK && rows_to < s->hours.to) {
        rep->reading_late = true;
        rc = b->recent(r, rows_to, s->hours.to, lo, hi, on_row, rep, err, errlen);
        rep->reading_late = false;
    }
    if (rc == STORE_OK)
        rc = b->alerts(r, STORE_READ_ALL_ALERTS, rep->until_ms + REPORT_ALERT_SLACK_MS, lo, hi, on_alert, rep, err,
                       errlen);
    return rc;
}

struct hour_end {
    const struct report *rep;
    int64_t end;
};

/* The end of the last hourly cell with checks (cells of one endpoint, one day) of the report's location(s). */
static int on_hour_end(void *ctx, int64_t endpoint_id, int64_t start_s, const struct rollup_stored *cell)
{
    (void)endpoint_id;
    struct hour_end *h = ctx;
    if (!store_read_location_match(h->rep->location, cell->location)) return 0;
    if (cell->checks > 0 && start_s * 1000 + WIN_HOUR_MS > h->end) h->end = start_s * 1000 + WIN_HOUR_MS;
    return 0;
}

/* An endpoint whose last known check is the end of a daily cell (the window holds that whole day) and whose last
 * down/up alert is a DOWN: its open downtime would run to the end of that day. Its hourly cells of that day (one
 * endpoint, one day: a primary-key range) bring the end to the hour; without them (pruned) the day's end stays. */
static int refine_day_ends(struct report *rep, const struct store_read_backend *b, struct store_reader *r, char *err,
                           size_t errlen)
{
    for (size_t i = 0; i < rep->n; i++) {
        struct report_ep *e = &rep->eps[i];
        if (!e->last_check_is_day || e->db_id < 0 || e->n_ev == 0 || !e->ev[e->n_ev - 1].down) continue;
        int64_t day_from = e->last_check_ms - WIN_DAY_MS;
        struct hour_end h = { .rep = rep, .end = INT64_MIN };
        int rc = b->cells(r, ROLLUP_HOUR, day_from / 1000, e->last_check_ms / 1000, e->db_id, e->db_id, on_hour_end, &h,
                          err, errlen);
        if (rc != STORE_OK) return rc;
        if (h.end != INT64_MIN) e->last_check_ms = h.end;
    }
    return STORE_OK;
}

/* The checks count whole hours, but the cell of the hour holding a past until (until < now, not on an hour)
 * cannot tell the checks before until from those after it: it counts only for an endpoint known to have been
 * checked before until (a check in an earlier hour of the window or, when the window has none, in the hour
 * before it; a row not folded yet before until; a down/up alert before until). A window that ends before an
 * endpoint's first check thus shows 0 checks, never the checks that came after until. */
int report_collect(struct report *rep, const struct store_read_backend *b, struct store_reader *r, char *err,
                   size_t errlen)
{
    int rc = b->endpoints(r, on_endpoint, rep, err, errlen);
    if (rc == STORE_OK && rep->id_table) rc = read_all(rep, b, r, err, errlen);
    if (rc == STORE_OK && rep->id_table) rc = refine_day_ends(rep, b, r, err, errlen);
    if (rc == STORE_OK) rc = report_read_maintenance(rep, b, r, err, errlen);
    if (rc != STORE_OK) return rc;
    for (size_t i = 0; i < rep->n; i++) {
        struct report_ep *e = &rep->eps[i];
        /* DOWN at until is known only as far as the checks go: never past now, nor past the last check */
        int64_t open_end = e->last_check_ms < rep->now_ms ? e->last_check_ms : rep->now_ms;
        dt_compute(e->ev, e->n_ev, rep->since_ms, rep->until_ms, open_end, &e->dt);
        e->late_counted = e->t.checks > 0 || e->checked_before || e->dt.known;
        if (e->late_counted) tally_merge(&e->t, &e->late);
        tally_figures(&e->t, &e->fig);
        rep->bad_blobs += e->t.bad_blobs;
    }
    return STORE_OK;
}

const char *report_state(const struct report_ep *e)
{
    if (e->dt.down_at_until) return "down";
    if (e->dt.known || e->t.ok > 0) return "up";
    return "unknown";
}

void report_free(struct report *rep)
{
    HASH_CLEAR(by_id, rep->id_table);
    HASH_CLEAR(by_url, rep->url_table);
    for (size_t i = 0; i < rep->n; i++) {
        free(rep->eps[i].ev);
        free(rep->eps[i].masked_url);
    }
    free(rep->eps);
    for (size_t i = 0; i < rep->n_seen; i++) free(rep->seen[i]);
    free(rep->seen);
    memset(rep, 0, sizeof *rep);
}
