/* alerter/incident_run.c — the conductor's side of incidents: the decision at the release of the grouping
 * window (muting, routing, a parent's children), the escalations due and the alerts that bring the channels
 * level with an endpoint whose mute ended (see incident.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/alert.h"
#include "alerter/endpoints.h"
#include "alerter/incident.h"
#include "alerter/mute.h"
#include "alerter/route.h"
#include "alerter/silences.h"
#include "common/base/clock.h"
#include "common/base/util.h"
#include "common/config/maintenance.h"

#define TICK_EVERY_US 1000000LL

static bool is_down(void *ctx, size_t idx)
{
    const struct endpoints *t = ctx;
    return idx < t->n && t->all[idx].st.avail == ASTATE_DOWN;
}

static size_t index_of(const struct endpoints *t, const struct endpoint *e) { return (size_t)(e - t->all); }

/* The facts about e now; *ancestor gets its topmost DOWN ancestor (-1: none). */
static struct mute_facts facts_of(struct endpoints *t, const struct endpoint *e, int64_t now_wall, long *ancestor)
{
    const struct cw_config *cfg = t->cfg;
    long anc = mute_down_ancestor(cfg, index_of(t, e), is_down, t);
    if (ancestor) *ancestor = anc;
    return (struct mute_facts){ .maintenance = maintenance_find(cfg, e->ep, now_wall) != NULL,
                                .silenced = t->silences && silences_match(t->silences, e->ep, now_wall),
                                .ancestor_down = anc >= 0,
                                .flapping = e->flap.flapping,
                                .acked = endpoint_incident(e)->open && endpoint_incident(e)->acked };
}

static void add_child(struct alert_rec *al, const struct endpoint *child)
{
    al->children = cw_xrealloc(al->children, (al->n_children + 1) * sizeof *al->children);
    char name[CW_URL_MAX + 1];
    if (child->ep->name && child->ep->name[0]) snprintf(name, sizeof name, "%s", child->ep->name);
    else cw_mask_url(child->ep->url, name, sizeof name);
    al->children[al->n_children++] =
        (struct alert_child){ .name = cw_xstrdup(name), .url = cw_xstrdup(child->ep->url), .avail = child->st.avail };
}

/* A parent's DOWN that goes out: every descendant DOWN now (failed with it, or before it) is folded in. */
static void fold_children_down(struct endpoints *t, struct endpoint *parent, struct alert_rec *al)
{
    size_t idx = index_of(t, parent);
    for (size_t j = 0; j < t->n; j++) {
        struct endpoint *c = &t->all[j];
        if (j == idx || c->st.avail != ASTATE_DOWN || mute_down_ancestor(t->cfg, j, is_down, t) != (long)idx) continue;
        incident_add_child(endpoint_incident_mut(parent), c->ep->url);
        add_child(al, c);
    }
}

/* A parent's REMINDER, ESCALATION or UP that goes out: every child folded into the incident (down with it, or
 * since), with its state now. The UP tells the ones that are up again (tells_up): they get no UP of their own. */
static void list_children(struct endpoints *t, struct endpoint *parent, struct alert_rec *al, bool tells_up)
{
    const struct incident *inc = endpoint_incident(parent);
    for (size_t i = 0; i < inc->n_children; i++) {
        struct endpoint *c = endpoints_find(t, inc->children[i]);
        if (!c) continue;
        add_child(al, c);
        if (tells_up && c->st.avail == ASTATE_UP && c->notified == ASTATE_DOWN) c->notified = ASTATE_UP;
        endpoints_tick_note(t, c);
    }
}

/* What the channels now know of e after al went out (or was muted for a reason that is not about e's state). */
static void note_told(struct endpoints *t, struct endpoint *e, struct alert_rec *al)
{
    if (al->kind == CW_ALERT_DOWN) {
        e->notified = ASTATE_DOWN;
        struct incident *inc = endpoint_incident_mut(e);
        if (al->id == inc->id || inc->opened_wall_us == 0) inc->opened_wall_us = cw_wall_us();
        if (al->muted == CW_MUTE_NONE) fold_children_down(t, e, al);
    } else if (al->kind == CW_ALERT_UP) {
        e->notified = ASTATE_UP;
        if (al->muted == CW_MUTE_NONE) list_children(t, e, al, true);
    } else if ((al->kind == CW_ALERT_REMINDER || al->kind == CW_ALERT_ESCALATION) && al->muted == CW_MUTE_NONE &&
               al->n_children == 0) {
        list_children(t, e, al, false); /* a child folded after the DOWN went out is heard of here */
    }
    endpoints_tick_note(t, e);
}

static bool is_state_mute(uint8_t muted)
{
    return muted == CW_MUTE_MAINTENANCE || muted == CW_MUTE_SILENCE || muted == CW_MUTE_DEPENDENCY ||
           muted == CW_MUTE_FLAPPING;
}

/* The incident a folded child's alert belongs to: its ancestor's told incident, or the DOWN it is telling. */
static uint64_t ancestor_incident(const struct endpoints *t, long ancestor)
{
    const struct endpoint *a = &t->all[ancestor];
    if (a->inc && a->inc->open && a->notified == ASTATE_DOWN) return a->inc->id;
    return alert_make_id(a->ep->url, CW_ALERT_DOWN, a->st.state_since_us, 0);
}

/* A REMINDER, ESCALATION or UP of a DOWN the channels never heard is held back like that DOWN was (its mute has
 * just ended: incident_tick brings them level with a DOWN); a flap-end alert tells its state anyway. */
static uint8_t mute_unheard(const struct endpoint *e, const struct alert_rec *al)
{
    bool follow_up =
        al->kind == CW_ALERT_REMINDER || al->kind == CW_ALERT_ESCALATION || (al->kind == CW_ALERT_UP && !al->flap_end);
    if (!follow_up || e->notified == ASTATE_DOWN) return CW_MUTE_NONE;
    return e->held_by ? e->held_by : CW_MUTE_MAINTENANCE;
}

/* An UP told closes the incident: it says the downtime from the DOWN the channels heard and the failed checks
 * since (an UP sent when a mute or flapping ended has nothing of its own to say). */
static void close_incident(const struct endpoint *e, struct incident *inc, struct alert_rec *al)
{
    inc->open = false;
    if (e->notified != ASTATE_DOWN || al->since_us < inc->since_us) return;
    al->duration_us = al->since_us - inc->since_us;
    al->count = inc->failed;
    alert_update_message(al);
}

/* The incident's part of a DOWN or UP at its release: a DOWN told to channels that had not heard DOWN opens a
 * new incident, an UP told closes it; a muted one leaves it alone (and a folded child's names its parent's). */
static void incident_at_release(struct endpoints *t, struct endpoint *e, struct alert_rec *al, long ancestor)
{
    bool told = !is_state_mute(al->muted);
    if (al->kind == CW_ALERT_DOWN || al->kind == CW_ALERT_UP) {
        struct incident *inc = e->inc;
        if (al->kind == CW_ALERT_DOWN && told && e->notified != ASTATE_DOWN) {
            inc = endpoint_incident_mut(e);
            incident_open(inc, al->id, al->since_us);
            bool same_down = e->st.avail == ASTATE_DOWN && e->st.state_since_us == al->since_us;
            inc->failed = same_down ? e->st.failed_count : al->count;
        }
        al->incident_id = inc && inc->open ? inc->id : 0;
        al->steps_reached = inc ? inc->steps : 0;
        if (al->kind == CW_ALERT_UP && told && inc && inc->open) close_incident(e, inc, al);
    }
    if (al->muted == CW_MUTE_DEPENDENCY) al->incident_id = ancestor_incident(t, ancestor);
}

size_t incident_decide(void *ctx, const struct cw_config *cfg, struct alert_rec *al, size_t *chans)
{
    struct endpoints *t = ctx;
    struct endpoint *e = endpoints_find(t, al->url);
    if (!e && strncmp(al->url, "location:", 9) == 0) return route_default(cfg, al->kind, al->severity, chans);
    if (!e) return 0; /* its endpoint was removed from the configuration */
    long ancestor = -1;
    struct mute_facts f = facts_of(t, e, cw_wall_us(), &ancestor);
    al->muted = (uint8_t)mute_reason(&f, al->kind);
    if (al->muted == CW_MUTE_NONE) al->muted = mute_unheard(e, al);
    if (al->muted == CW_MUTE_DEPENDENCY && al->kind == CW_ALERT_DOWN)
        incident_add_child(endpoint_incident_mut(&t->all[ancestor]), e->ep->url); /* the parent's UP will list it */
    if (al->kind == CW_ALERT_DOWN && is_state_mute(al->muted)) e->held_by = al->muted;
    incident_at_release(t, e, al, ancestor);
    struct route_query q = {
        .ep = e->ep, .kind = al->kind, .steps_reached = al->steps_reached, .escalation_step = al->escalation
    };
    size_t n = route_channels(cfg, &q, chans);
    if (!is_state_mute(al->muted)) note_told(t, e, al); /* nobody routed (NO_ROUTE) counts as told */
    endpoint_incident_release(e); /* closed and childless: nothing to keep (alerter/endpoints.h) */
    return n;
}

/* Raises the escalation steps of e's incident that are due at now_wall. */
static void escalate(struct endpoints *t, struct endpoint *e, const struct mute_facts *f, int64_t now_wall,
                     int64_t now_mono)
{
    struct incident *inc = e->inc;
    if (!inc || !inc->open || inc->acked || e->notified != ASTATE_DOWN || inc->opened_wall_us == 0) return;
    if (f->maintenance || f->silenced || e->st.avail != ASTATE_DOWN) return;
    while (inc->steps < e->ep->n_escalate) {
        const struct cw_escalation *s = &e->ep->escalate[inc->steps];
        if (now_wall - inc->opened_wall_us < (int64_t)(s->after * 1e6)) break;
        uint32_t step = inc->steps + 1;
        char detail[96];
        snprintf(detail, sizeof detail, "escalated: not acknowledged after %.0f s (step %u)", s->after, step);
        struct astate_event ev = { .kind = CW_ALERT_ESCALATION,
                                   .since_us = inc->since_us,
                                   .at_us = e->last.checked_us,
                                   .duration_us = now_wall - inc->since_us,
                                   .count = e->st.failed_count,
                                   .seq = step };
        endpoints_raise(t, e, &ev, detail, now_mono);
        inc->steps = step; /* once, even when its alert is muted at release */
        if (t->d) dispatch_note_unsaved(t->d, SAVE_NOW);
    }
}

/* Sends the one alert that brings the channels level with e, when no mute holds it back any more. */
static void reconcile(struct endpoints *t, struct endpoint *e, const struct mute_facts *f, int64_t now_mono)
{
    struct mute_facts state_facts = *f;
    state_facts.acked = false;
    if (mute_reason(&state_facts, CW_ALERT_DOWN) != CW_MUTE_NONE) return;
    bool down = e->st.avail == ASTATE_DOWN;
    if (down == (e->notified == ASTATE_DOWN) || e->st.avail == ASTATE_UNKNOWN) return;
    struct astate_event ev = { .kind = down ? CW_ALERT_DOWN : CW_ALERT_UP,
                               .since_us = e->st.state_since_us,
                               .at_us = e->last.checked_us,
                               .count = e->st.failed_count,
                               .seq = ++e->resends };
    endpoints_raise(t, e, &ev, down ? "down after its alert was held back" : "up after its alert was held back",
                    now_mono);
    /* the channels hear of the outage now: the reminder clock (state.c, renotify) starts from this DOWN, not
     * from the last reminder muted while it was held back */
    if (down) e->st.last_notify_us = e->last.checked_us;
    if (t->d) dispatch_note_unsaved(t->d, SAVE_SOON);
}

/* Whether the tick has anything to do for e: channels not level with its availability, or an escalation step
 * still ahead of an outage. Most endpoints have neither, and are passed over without their mute facts. */
static bool tick_has_work(const struct endpoint *e)
{
    bool down = e->st.avail == ASTATE_DOWN;
    if (down != (e->notified == ASTATE_DOWN)) return true;
    return down && endpoint_incident(e)->steps < e->ep->n_escalate;
}

/* Marks the endpoints that have an alert in the grouping window (not decided yet): held[i]. */
static bool *mark_held(const struct endpoints *t)
{
    bool *held = cw_xcalloc(t->n ? t->n : 1, sizeof *held);
    for (size_t i = 0; t->d && i < t->d->n_held; i++) {
        const struct endpoint *e = endpoints_find(t, t->d->held[i]->url);
        if (e) held[index_of(t, e)] = true;
    }
    return held;
}

/* Whether e or an endpoint it depends on has an alert in the grouping window: a parent's UP still held would
 * list e, so e waits for its decision. */
static bool waits_for_held(const struct endpoints *t, size_t idx, const bool *held)
{
    for (size_t steps = 0; steps <= t->n && idx < t->n; steps++) {
        if (held[idx]) return true;
        long up = t->all[idx].ep->depends_on_idx;
        if (up < 0) return false;
        idx = (size_t)up;
    }
    return false;
}

void endpoints_tick_note(struct endpoints *t, const struct endpoint *e)
{
    size_t i = index_of(t, e);
    if (i >= t->n || !t->tick_in || t->tick_in[i] || !tick_has_work(e)) return;
    if (t->n_tick == t->cap_tick) {
        t->cap_tick = t->cap_tick ? 2 * t->cap_tick : 64;
        t->tick_list = cw_xrealloc(t->tick_list, t->cap_tick * sizeof *t->tick_list);
    }
    t->tick_in[i] = 1;
    t->tick_list[t->n_tick++] = i;
}

static int by_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The endpoints the tick looks at, in the table's order: every one after a build (tick_all), else the listed
 * ones (endpoints_tick_note: every change that can give an endpoint tick work lists it). */
static void gather_work(struct endpoints *t)
{
    if (t->tick_all) {
        t->tick_all = false;
        for (size_t i = 0; i < t->n; i++) endpoints_tick_note(t, &t->all[i]);
    }
    if (t->n_tick > 1) qsort(t->tick_list, t->n_tick, sizeof *t->tick_list, by_index); /* none: the list may be NULL */
}

/* Walks the listed endpoints only: the cost is that of the endpoints with work, not of the table. An endpoint
 * stays listed while it has work (one waiting for a held alert, or of unknown state, is passed over as before). */
void incident_tick(struct endpoints *t, bool force, int64_t now_mono)
{
    if (!force && now_mono - t->tick_mono_us < TICK_EVERY_US) return;
    t->tick_mono_us = now_mono;
    gather_work(t);
    if (t->n_tick == 0) return;
    int64_t now_wall = cw_wall_us();
    bool *held = mark_held(t);
    size_t n = t->n_tick; /* those listed during the walk (a child told) are walked at the next tick */
    for (size_t k = 0; k < n; k++) {
        struct endpoint *e = &t->all[t->tick_list[k]];
        if (e->st.avail == ASTATE_UNKNOWN || !tick_has_work(e) || waits_for_held(t, t->tick_list[k], held)) continue;
        struct mute_facts f = facts_of(t, e, now_wall, NULL);
        reconcile(t, e, &f, now_mono);
        escalate(t, e, &f, now_wall, now_mono);
    }
    free(held);
    size_t kept = 0; /* the ones without work any more leave the list */
    for (size_t k = 0; k < t->n_tick; k++) {
        size_t i = t->tick_list[k];
        if (tick_has_work(&t->all[i])) t->tick_list[kept++] = i;
        else t->tick_in[i] = 0;
    }
    t->n_tick = kept;
}

int incident_ack_cb(void *ctx, uint64_t alert_id, const char *who, char *msg, size_t len)
{
    return incident_ack(ctx, alert_id, who, msg, len);
}
