/* alerter/locations.c — the locations' liveness, clock offsets and silence transitions (see locations.h). */
#include "alerter/locations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

void locations_build(struct locations *t, const char *const *names, size_t n, double silent_after, int64_t now_mono,
                     int64_t now_wall)
{
    struct location *all = cw_xcalloc(n ? n : 1, sizeof *all);
    for (size_t i = 0; i < n; i++) {
        struct location *old = locations_find(t, names[i]);
        if (old) {
            all[i] = *old;
            continue;
        }
        snprintf(all[i].name, sizeof all[i].name, "%s", names[i]);
        all[i].state = CW_LOCATION_UNKNOWN;
        all[i].offset_us = CW_OFFSET_UNKNOWN;
        all[i].rtt_us = -1;
    }
    free(t->all);
    t->all = all;
    t->n = n;
    t->silent_after_us = (int64_t)((silent_after > 0 ? silent_after : 10) * 1e6);
    bool was_judged = t->judged;
    t->judged = n > 1;
    if (t->judged && !was_judged) { /* "not heard within silent_after of the start" counts from here */
        t->start_mono_us = now_mono;
        t->start_wall_us = now_wall;
    }
}

struct location *locations_find(const struct locations *t, const char *name)
{
    if (!t || !name || !name[0]) return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->all[i].name, name) == 0) return &t->all[i];
    return NULL;
}

static struct location_worker *worker_slot(struct location *l, uint32_t worker)
{
    for (size_t i = 0; i < l->n_w; i++)
        if (l->w[i].worker == worker) return &l->w[i];
    if (l->n_w < LOCATION_WORKERS_MAX) {
        struct location_worker *w = &l->w[l->n_w++];
        *w = (struct location_worker){ .worker = worker, .offset_us = CW_OFFSET_UNKNOWN, .rtt_us = -1 };
        return w;
    }
    struct location_worker *oldest = &l->w[0]; /* beyond the bound: the least recently heard makes room */
    for (size_t i = 1; i < l->n_w; i++)
        if (l->w[i].heard_mono_us < oldest->heard_mono_us) oldest = &l->w[i];
    *oldest = (struct location_worker){ .worker = worker, .offset_us = CW_OFFSET_UNKNOWN, .rtt_us = -1 };
    return oldest;
}

static int64_t settle_of(const struct locations *t, const struct location *l)
{
    return l->settle_us > 0 ? l->settle_us : t->silent_after_us;
}

unsigned locations_heard(struct locations *t, struct location *l, uint32_t worker, int64_t now_mono, int64_t now_wall,
                         struct location_event *ev)
{
    worker_slot(l, worker)->heard_mono_us = now_mono;
    int64_t previous = l->heard_mono_us;
    l->heard_mono_us = now_mono;
    int64_t before = l->silent_since_us ? l->silent_since_us : l->heard_wall_us;
    l->heard_wall_us = now_wall;
    if (l->state != CW_LOCATION_SILENT || !t->judged) {
        l->state = CW_LOCATION_LIVE;
        return 0;
    }
    if (!l->returning_us || !previous || now_mono - previous > t->silent_after_us) l->returning_us = now_mono;
    if (now_mono - l->returning_us < settle_of(t, l)) return 0; /* not yet heard long enough without a break */
    l->returning_us = 0;
    l->state = CW_LOCATION_LIVE;
    l->back_at_us = now_wall;
    l->back_mono_us = now_mono;
    memset(ev, 0, sizeof *ev);
    ev->kind = LOCATION_CAME_BACK;
    ev->idx = (size_t)(l - t->all);
    ev->since_us = now_wall;
    ev->duration_us = before && now_wall > before ? now_wall - before : 0;
    return 1;
}

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

int locations_clock(struct locations *t, struct location *l, uint32_t worker, int64_t offset_us, int64_t rtt_us,
                    int64_t now_mono)
{
    struct location_worker *w = worker_slot(l, worker);
    w->heard_mono_us = now_mono;
    w->offset_us = offset_us;
    w->rtt_us = offset_us == CW_OFFSET_UNKNOWN ? -1 : rtt_us;
    const struct location_worker *best = NULL;
    for (size_t i = 0; i < l->n_w; i++) {
        const struct location_worker *c = &l->w[i];
        if (c->offset_us == CW_OFFSET_UNKNOWN || c->rtt_us < 0 || now_mono - c->heard_mono_us > t->silent_after_us)
            continue;
        if (!best || c->rtt_us < best->rtt_us) best = c;
    }
    if (!best) return 0;
    l->offset_us = best->offset_us;
    l->rtt_us = best->rtt_us;
    if (!l->skewed && abs64(l->offset_us) > CW_CLOCK_SKEW_WARN_US) {
        l->skewed = true;
        return 1;
    }
    if (l->skewed && abs64(l->offset_us) < LOCATION_SKEW_CLEAR_US) {
        l->skewed = false;
        return -1;
    }
    return 0;
}

size_t locations_tick(struct locations *t, int64_t now_mono, int64_t now_wall, struct location_event *ev, size_t max)
{
    size_t n = 0;
    if (!t->judged) return 0;
    for (size_t i = 0; i < t->n && n < max; i++) {
        struct location *l = &t->all[i];
        if (l->state == CW_LOCATION_SILENT) continue;
        int64_t heard = l->state == CW_LOCATION_LIVE ? l->heard_mono_us : t->start_mono_us;
        if (now_mono - heard <= t->silent_after_us) continue;
        l->state = CW_LOCATION_SILENT;
        l->silent_since_us = l->heard_wall_us ? l->heard_wall_us : t->start_wall_us;
        l->returning_us = 0;
        bool flapping = l->back_mono_us && now_mono - l->back_mono_us < LOCATION_FLAP_WINDOW_US;
        int64_t doubled = settle_of(t, l) * 2;
        l->settle_us = !flapping ? 0 : doubled < LOCATION_SETTLE_MAX_US ? doubled : LOCATION_SETTLE_MAX_US;
        ev[n++] = (struct location_event){ .kind = LOCATION_WENT_SILENT, .idx = i, .since_us = l->silent_since_us };
    }
    (void)now_wall;
    return n;
}

bool locations_live(const struct locations *t, const struct location *l)
{
    if (!t || !t->judged || !l) return true;
    return l->state == CW_LOCATION_LIVE;
}

bool locations_is_late(const struct locations *t, const struct location *l, int64_t checked_at_us)
{
    if (!t || !t->judged || !l) return false;
    if (l->state == CW_LOCATION_SILENT) return true; /* heard again, but not back yet (settling) */
    if (l->back_at_us == 0) return false;
    int64_t offset = l->offset_us == CW_OFFSET_UNKNOWN ? 0 : l->offset_us;
    return checked_at_us - offset < l->back_at_us;
}

uint32_t locations_workers(const struct locations *t, const struct location *l, int64_t now_mono)
{
    uint32_t n = 0;
    for (size_t i = 0; i < l->n_w; i++)
        n += l->w[i].heard_mono_us && now_mono - l->w[i].heard_mono_us <= t->silent_after_us;
    return n;
}

void locations_to_msg(const struct locations *t, int64_t now_mono, int64_t now_wall, struct cw_locations_msg *m)
{
    memset(m, 0, sizeof *m);
    m->at_us = now_wall;
    for (size_t i = 0; i < t->n && m->count < CW_LOCATIONS_MAX; i++) {
        const struct location *l = &t->all[i];
        m->loc[m->count++] = (struct cw_location_state){ .name = l->name,
                                                         .state = l->state,
                                                         .last_heard_us = l->heard_wall_us,
                                                         /* measured in this run only (a restored offset has
                                                          * no round trip) */
                                                         .offset_us = l->rtt_us >= 0 ? l->offset_us : CW_OFFSET_UNKNOWN,
                                                         .rtt_us = l->rtt_us >= 0 ? l->rtt_us : -1,
                                                         .workers = locations_workers(t, l, now_mono) };
    }
}

void locations_free(struct locations *t)
{
    free(t->all);
    memset(t, 0, sizeof *t);
}
