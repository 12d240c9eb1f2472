/* web/locations.c — the web's side of locations (issue 16, docs/web.md "Locations"): each endpoint's last check
 * and vote per location (struct web_loc), its state from the votes and its quorum, and the alerter's view of the
 * locations (CW_MSG_LOCATIONS). The vote and the verdict are common/base/quorum.h's, the alerter's own logic: the
 * page says what the alerter decides. */
#include "web/model.h"

#include "common/base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void observe(struct web_hist *h, int64_t us)
{
    if (us < 0) return; /* the phase was not reached */
    size_t i = 0;
    while (i < WEB_HIST_BOUNDS && us > web_hist_bounds_us[i]) i++;
    h->bucket[i]++;
    h->sum_us += (uint64_t)us;
}

void web_locs_build(struct web_live *l, const struct cw_endpoint *ep, const char *own_location, bool phases,
                    struct web_loc *slot)
{
    l->n_locs = ep->n_locations ? ep->n_locations : 1;
    l->locs_pooled = slot && l->n_locs == 1;
    if (l->locs_pooled) *(l->locs = slot) = (struct web_loc){ 0 };
    else l->locs = cw_xcalloc(l->n_locs, sizeof *l->locs);
    for (size_t i = 0; i < l->n_locs; i++) {
        l->locs[i].name = ep->n_locations ? ep->locations[i] : own_location;
        l->locs[i].latency = WEB_US_NONE;
        if (phases) l->locs[i].phases = cw_xcalloc(WEB_HIST_PHASES - 1, sizeof *l->locs[i].phases);
    }
}

void web_locs_free(struct web_live *l)
{
    for (size_t i = 0; i < l->n_locs; i++) {
        free(l->locs[i].error);
        free(l->locs[i].phases);
    }
    if (!l->locs_pooled) free(l->locs);
    l->locs = NULL;
    l->n_locs = 0;
    l->locs_pooled = false;
}

void web_locs_carry(struct web_live *to, struct web_live *from)
{
    for (size_t i = 0; i < to->n_locs; i++) {
        struct web_loc *n = &to->locs[i];
        for (size_t k = 0; k < from->n_locs; k++) {
            struct web_loc *o = &from->locs[k];
            if (!o->name || strcmp(o->name, n->name) != 0) continue;
            const char *name = n->name;          /* the new configuration's: the old one is freed after the reload */
            struct web_hist *phases = n->phases; /* kept or not as the new model says */
            if (phases && o->phases) memcpy(phases, o->phases, (WEB_HIST_PHASES - 1) * sizeof *phases);
            free(n->error);
            free(o->phases);
            *n = *o;
            n->name = name;
            n->phases = phases;
            o->phases = NULL;
            o->error = NULL; /* moved */
            o->name = NULL;  /* taken: a location appears once */
            break;
        }
    }
}

struct web_loc *web_loc_find(const struct web_model *m, struct web_live *l, const char *name)
{
    if (!name || !name[0]) name = m->own_location;
    for (size_t i = 0; i < l->n_locs; i++)
        if (l->locs[i].name && name && strcmp(l->locs[i].name, name) == 0) return &l->locs[i];
    return NULL;
}

bool web_loc_apply(struct web_loc *loc, const struct cw_result *r, const struct cw_endpoint *ep, bool endpoint_down)
{
    if (loc->has_check && r->checked_at_us < loc->checked_at_us) return false; /* an older check, reordered */
    free(loc->error);
    loc->has_check = true;
    loc->ok = r->ok;
    loc->checked_at_us = r->checked_at_us;
    loc->latency = web_us_pack(r->latency_us);
    loc->error = (!r->ok && r->error && r->error[0]) ? cw_xstrdup(r->error) : NULL;
    if (r->ok) loc->checks_ok++;
    else loc->checks_failed++;
    observe(&loc->total, r->latency_us);
    if (loc->phases) {
        observe(&loc->phases[WEB_PHASE_DNS - 1], r->dns_us);
        observe(&loc->phases[WEB_PHASE_CONNECT - 1], r->connect_us);
        observe(&loc->phases[WEB_PHASE_TLS - 1], r->tls_us);
        observe(&loc->phases[WEB_PHASE_TTFB - 1], r->ttfb_us);
    }
    struct quorum_params params = {
        .alert_threshold = ep->alert_threshold > 0 ? (uint32_t)ep->alert_threshold : 1,
        .recovery_threshold = ep->recovery_threshold > 0 ? (uint32_t)ep->recovery_threshold : 1,
        .latency_threshold_us = 0, /* speed comes from the alerter's slow/fast alerts */
        .endpoint_down = endpoint_down,
    };
    /* The vote depends on the vote and the two runs only (the times a voter keeps change none of it). */
    struct quorum_voter v = { .vote = loc->vote, .fail_run = loc->fail_run, .ok_run = loc->ok_run };
    quorum_voter_feed(&v, &params, r->ok, r->latency_us, r->checked_at_us);
    loc->vote = v.vote;
    loc->fail_run = v.fail_run;
    loc->ok_run = v.ok_run;
    return true;
}

bool web_locations_apply(struct web_model *m, const struct cw_locations_msg *msg, int64_t now_mono_ns)
{
    struct web_locations *w = &m->locations;
    bool silent_before[CW_LOCATIONS_MAX] = { false };
    unsigned n_before = w->n;
    char names_before[CW_LOCATIONS_MAX][CW_LOCATION_NAME_MAX + 1];
    for (unsigned i = 0; i < n_before; i++) {
        silent_before[i] = w->v[i].state == CW_LOCATION_SILENT;
        memcpy(names_before[i], w->v[i].name, sizeof names_before[i]);
    }
    w->n = 0;
    for (unsigned i = 0; i < msg->count && i < CW_LOCATIONS_MAX; i++) {
        const struct cw_location_state *s = &msg->loc[i];
        struct web_location *d = &w->v[w->n++];
        snprintf(d->name, sizeof d->name, "%s", s->name ? s->name : "");
        d->state = s->state <= CW_LOCATION_SILENT ? s->state : CW_LOCATION_UNKNOWN;
        d->last_heard_us = s->last_heard_us;
        d->offset_us = s->offset_us;
        d->rtt_us = s->rtt_us;
        d->workers = s->workers;
    }
    w->at_us = msg->at_us;
    w->received_mono_ns = now_mono_ns;
    m->bus.locations++;
    bool changed = n_before != w->n;
    for (unsigned i = 0; i < w->n && !changed; i++)
        changed =
            strcmp(names_before[i], w->v[i].name) != 0 || silent_before[i] != (w->v[i].state == CW_LOCATION_SILENT);
    return changed;
}

const struct web_location *web_location_find(const struct web_model *m, const char *name)
{
    for (unsigned i = 0; name && i < m->locations.n; i++)
        if (strcmp(m->locations.v[i].name, name) == 0) return &m->locations.v[i];
    return NULL;
}

size_t web_location_rows(const struct web_model *m, struct web_location *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_config_locations && n < max; i++) {
        const struct web_location *known = web_location_find(m, m->config_locations[i]);
        if (known) out[n++] = *known;
        else {
            out[n] =
                (struct web_location){ .state = CW_LOCATION_UNKNOWN, .offset_us = CW_OFFSET_UNKNOWN, .rtt_us = -1 };
            snprintf(out[n++].name, sizeof out->name, "%s", m->config_locations[i]);
        }
    }
    for (unsigned k = 0; k < m->locations.n && n < max; k++) {
        bool listed = false;
        for (size_t i = 0; i < m->n_config_locations && !listed; i++)
            listed = strcmp(m->config_locations[i], m->locations.v[k].name) == 0;
        if (!listed) out[n++] = m->locations.v[k];
    }
    return n;
}

bool web_model_has_locations(const struct web_model *m) { return m->n_config_locations > 1 || m->locations.n > 1; }

enum web_state web_locs_state(const struct web_model *m, const struct web_live *l, const struct cw_endpoint *ep)
{
    struct quorum_ballot ballots[CW_LOCATIONS_MAX + 1];
    size_t n = 0, failing = 0;
    for (size_t i = 0; i < l->n_locs && n < CW_LOCATIONS_MAX + 1; i++, n++) {
        const struct web_location *known = web_location_find(m, l->locs[i].name);
        ballots[n] =
            (struct quorum_ballot){ .vote = l->locs[i].vote, .live = !known || known->state != CW_LOCATION_SILENT };
        if (ballots[n].live && l->locs[i].has_check && !l->locs[i].ok) failing++;
    }
    unsigned required = config_quorum_required(ep);
    unsigned current = l->state == WEB_STATE_DOWN      ? QUORUM_DOWN
                       : l->state == WEB_STATE_UNKNOWN ? QUORUM_UNKNOWN
                                                       : QUORUM_UP;
    switch (quorum_verdict(ballots, n, required, current)) {
    case QUORUM_DOWN:
        return WEB_STATE_DOWN;
    case QUORUM_UP:
        return failing >= required ? WEB_STATE_FAILING : WEB_STATE_UP;
    default:
        return failing >= required ? WEB_STATE_FAILING : WEB_STATE_UNKNOWN;
    }
}

enum web_state web_loc_state(const struct web_loc *loc)
{
    if (!loc->has_check) return WEB_STATE_UNKNOWN;
    if (loc->vote == QUORUM_DOWN) return WEB_STATE_DOWN;
    return loc->ok ? WEB_STATE_UP : WEB_STATE_FAILING;
}
