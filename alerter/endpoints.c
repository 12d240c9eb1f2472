/* alerter/endpoints.c — the endpoint table and what one result does to its endpoint (see endpoints.h). */
#include "alerter/endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/alert.h"
#include "alerter/statefile.h"
#include "common/base/clock.h"

void endpoints_init(struct endpoints *t, struct dispatch *d)
{
    memset(t, 0, sizeof *t);
    t->d = d;
}

static void params_of(const struct cw_config *cfg, const struct cw_endpoint *ep, struct astate_params *p)
{
    p->alert_threshold = ep->alert_threshold > 0 ? (uint32_t)ep->alert_threshold : 1;
    p->recovery_threshold = ep->recovery_threshold > 0    ? (uint32_t)ep->recovery_threshold
                            : cfg->recovery_threshold > 0 ? (uint32_t)cfg->recovery_threshold
                                                          : 1;
    /* A push check's latency is the gap since the job's previous call, not a speed: never SLOW (and 0, no
     * threshold, for every type: the state machine then never judges speed). */
    p->latency_threshold_us = ep->type == CW_CHECK_PUSH ? 0 : (int64_t)(ep->latency_threshold * 1e6);
    p->renotify_us = (int64_t)(cfg->renotify * 1e6);
    p->tls_expiry_us = cfg->tls_expiry_days > 0 ? (int64_t)cfg->tls_expiry_days * 86400 * 1000000 : 0;
}

/* ---- the URL index: open addressing over t->all by ep->url, linear probing, slot = index + 1 (0: empty) */

static size_t url_slot(const struct endpoints *t, const char *url) { return (size_t)cw_hash64(url) & t->url_mask; }

/* The slot that holds url, or the empty slot where it would go. */
static size_t url_probe(const struct endpoints *t, const char *url)
{
    size_t s = url_slot(t, url);
    while (t->by_url[s] && strcmp(t->all[t->by_url[s] - 1].ep->url, url) != 0) s = (s + 1) & t->url_mask;
    return s;
}

struct endpoint *endpoints_find(const struct endpoints *t, const char *url)
{
    if (!t->by_url || !url) return NULL;
    uint32_t at = t->by_url[url_probe(t, url)];
    return at ? &t->all[at - 1] : NULL;
}

/* Lists t->all[k] under its URL (a URL already listed keeps its first entry: config_load refuses duplicates). */
static void url_add(struct endpoints *t, size_t k)
{
    size_t s = url_probe(t, t->all[k].ep->url);
    if (!t->by_url[s]) t->by_url[s] = (uint32_t)k + 1;
}

/* Unlists t->all[k] (under its URL now), shifting back the entries probed past it so that none is lost. */
static void url_remove(struct endpoints *t, size_t k)
{
    size_t s = url_probe(t, t->all[k].ep->url);
    if (t->by_url[s] != k + 1) return;
    for (size_t j = (s + 1) & t->url_mask; t->by_url[j]; j = (j + 1) & t->url_mask) {
        size_t home = url_slot(t, t->all[t->by_url[j] - 1].ep->url);
        bool stays = s < j ? home > s && home <= j : home > s || home <= j; /* home in (s, j], cyclically */
        if (stays) continue;
        t->by_url[s] = t->by_url[j];
        s = j;
    }
    t->by_url[s] = 0;
}

/* A fresh index over t->all[0..t->n). */
static void url_index(struct endpoints *t)
{
    size_t cap = 16;
    while (cap < 2 * t->n) cap *= 2;
    free(t->by_url);
    t->by_url = cw_xcalloc(cap, sizeof *t->by_url);
    t->url_mask = cap - 1;
    for (size_t k = 0; k < t->n; k++) url_add(t, k);
}

/* ---- the incident, allocated while it holds something */

static const struct incident no_incident;

const struct incident *endpoint_incident(const struct endpoint *e) { return e->inc ? e->inc : &no_incident; }

struct incident *endpoint_incident_mut(struct endpoint *e)
{
    if (!e->inc) e->inc = cw_xcalloc(1, sizeof *e->inc);
    return e->inc;
}

void endpoint_incident_release(struct endpoint *e)
{
    if (!e->inc || e->inc->open || e->inc->n_children) return;
    incident_free(e->inc);
    free(e->inc);
    e->inc = NULL;
}

static void incident_drop(struct endpoint *e)
{
    if (!e->inc) return;
    incident_free(e->inc);
    free(e->inc);
    e->inc = NULL;
}

/* A multi-location endpoint's votes, one per location (a single location: none, fed directly). */
static void make_votes(struct endpoint *e)
{
    const struct cw_endpoint *ep = e->ep;
    if (ep->n_locations < 2) return;
    e->votes = cw_xcalloc(ep->n_locations, sizeof *e->votes);
    e->n_votes = (uint8_t)ep->n_locations; /* at most CW_LOCATIONS_MAX (config_load) */
    for (size_t i = 0; i < ep->n_locations; i++) e->votes[i].location = ep->locations[i];
}

/* A location's vote from before it came back from silence (what it checked meanwhile arrived late, never voted)
 * says nothing any more: it counts as unknown, and its next result starts a fresh vote. */
static bool vote_stale(const struct endpoints *t, const struct endpoint_vote *v)
{
    return v->v.vote != QUORUM_UNKNOWN &&
           locations_is_late(t->locs, locations_find(t->locs, v->location), v->v.last_at_us);
}

static uint8_t vote_now(const struct endpoints *t, const struct endpoint_vote *v)
{
    return vote_stale(t, v) ? QUORUM_UNKNOWN : v->v.vote;
}

static struct endpoint_vote *vote_of(const struct endpoint *e, const char *location)
{
    for (size_t i = 0; i < e->n_votes; i++)
        if (strcmp(e->votes[i].location, location) == 0) return &e->votes[i];
    return NULL;
}

static bool same_locations(const struct cw_endpoint *a, const struct cw_endpoint *b)
{
    if (a->n_locations != b->n_locations) return false;
    for (size_t i = 0; i < a->n_locations; i++)
        if (strcmp(a->locations[i], b->locations[i]) != 0) return false;
    return true;
}

/* Takes over what old knew about the same endpoint (its error text moves; the votes of locations still listed).
 * When its locations changed, the last result's boot and time (another location's, perhaps) are not kept: they
 * would make the results of the locations left look late. */
static void take_over(struct endpoint *e, struct endpoint *old)
{
    for (size_t i = 0; i < e->n_votes; i++) {
        const struct endpoint_vote *was = vote_of(old, e->votes[i].location);
        if (!was) continue;
        const char *name = e->votes[i].location;
        e->votes[i] = *was;
        e->votes[i].location = name;
    }
    e->verdict = old->verdict;
    e->saved_hash = old->saved_hash;
    old->saved_hash = 0; /* taken over: not gone */
    e->st = old->st;
    e->last = old->last;
    old->last.error = NULL;
    if (!same_locations(e->ep, old->ep)) e->last.boot_id = 0, e->last.checked_us = 0;
    e->last_status = old->last_status;
    e->inc = old->inc;
    old->inc = NULL;
    e->notified = old->notified;
    e->resends = old->resends;
    e->flap = old->flap;
    e->held_by = old->held_by;
    e->last_down_us = old->last_down_us;
    e->last_down_failed = old->last_down_failed;
}

void endpoints_gone_add(struct endpoints *t, const char *url)
{
    t->gone = cw_xrealloc(t->gone, (t->n_gone + 1) * sizeof *t->gone);
    t->gone[t->n_gone++] = cw_xstrdup(url);
}

void endpoints_gone_clear(struct endpoints *t)
{
    for (size_t i = 0; i < t->n_gone; i++) free(t->gone[i]);
    free(t->gone);
    t->gone = NULL, t->n_gone = 0;
}

static void drop_all(struct endpoints *t)
{
    for (size_t k = 0; k < t->n; k++) {
        if (t->all[k].saved_hash) endpoints_gone_add(t, t->all[k].ep->url); /* not taken over: gone */
        free(t->all[k].last.error);
        free(t->all[k].votes);
        incident_drop(&t->all[k]);
    }
    free(t->all);
    free(t->by_url);
    t->all = NULL;
    t->by_url = NULL;
    t->n = 0;
}

/* Whether cfg has t's endpoints in place: as many, and every URL that changed at an index is new (not another
 * index's before, whose state would then move with it). */
static bool in_place(const struct endpoints *t, const struct cw_config *cfg)
{
    if (cfg->n_endpoints != t->n || !t->by_url) return false;
    for (size_t k = 0; k < t->n; k++)
        if (strcmp(t->all[k].ep->url, cfg->endpoints[k].url) != 0 && endpoints_find(t, cfg->endpoints[k].url))
            return false;
    return true;
}

/* e (of the same URL) for ep: its thresholds again, and its votes re-pointed at ep's locations, or made again with
 * what the locations still listed knew (take_over's rules). */
static void update_entry(const struct cw_config *cfg, struct endpoint *e, const struct cw_endpoint *ep)
{
    if (same_locations(ep, e->ep)) {
        for (size_t i = 0; i < e->n_votes; i++) e->votes[i].location = ep->locations[i];
    } else {
        struct endpoint fresh = { .ep = ep };
        make_votes(&fresh);
        for (size_t i = 0; i < fresh.n_votes; i++) {
            const struct endpoint_vote *was = vote_of(e, fresh.votes[i].location);
            if (!was) continue;
            const char *name = fresh.votes[i].location;
            fresh.votes[i] = *was;
            fresh.votes[i].location = name;
        }
        free(e->votes);
        e->votes = fresh.votes;
        e->n_votes = fresh.n_votes;
        e->last.boot_id = 0, e->last.checked_us = 0;
    }
    e->ep = ep; /* its key in the URL index: the same bytes, now in the new configuration */
}

/* A new URL at e's index: e starts afresh, as a new endpoint does in endpoints_build. */
static void replace_entry(struct endpoints *t, const struct cw_config *cfg, struct endpoint *e,
                          const struct cw_endpoint *ep)
{
    size_t k = (size_t)(e - t->all);
    url_remove(t, k); /* under its old URL, still alive (the previous configuration) */
    if (e->saved_hash) endpoints_gone_add(t, e->ep->url);
    free(e->last.error);
    free(e->votes);
    incident_drop(e);
    memset(e, 0, sizeof *e);
    e->ep = ep;
    make_votes(e);
    astate_init(&e->st);
    url_add(t, k);
}

/* The table kept where it is for cfg when its endpoints stayed in place (a reload that edits a few of 500,000: no
 * table of 500,000 built again). False when it does not apply. */
static bool update_in_place(struct endpoints *t, const struct cw_config *cfg)
{
    if (!in_place(t, cfg)) return false;
    for (size_t k = 0; k < t->n; k++) {
        struct endpoint *e = &t->all[k];
        if (strcmp(e->ep->url, cfg->endpoints[k].url) == 0) update_entry(cfg, e, &cfg->endpoints[k]);
        else replace_entry(t, cfg, e, &cfg->endpoints[k]);
    }
    return true;
}

/* What follows a build or an update: the configuration, its fingerprint, the worker slots. */
static void built_for(struct endpoints *t, const struct cw_config *cfg)
{
    t->cfg = cfg;
    t->fingerprint = statefile_fingerprint(cfg->endpoints, cfg->n_endpoints);
    size_t workers = cfg->workers > 0 ? (size_t)cfg->workers : 0; /* slots kept across a reload keep their time */
    t->worker_last_us = cw_xrealloc(t->worker_last_us, (workers + 1) * sizeof *t->worker_last_us);
    for (size_t k = t->n_workers; k < workers; k++) t->worker_last_us[k] = 0;
    t->n_workers = workers;
    t->tick_all = true; /* a new configuration may give any endpoint tick work (escalation steps, channels) */
}

bool endpoints_build(struct endpoints *t, const struct cw_config *cfg)
{
    if (update_in_place(t, cfg)) {
        built_for(t, cfg);
        return true;
    }
    size_t n = cfg->n_endpoints;
    struct endpoint *all = cw_xcalloc(n ? n : 1, sizeof *all);
    for (size_t k = 0; k < n; k++) {
        struct endpoint *e = &all[k];
        e->ep = &cfg->endpoints[k];
        make_votes(e);
        /* the same index first: a reload that edits a few endpoints finds the others there, without a lookup */
        struct endpoint *old = k < t->n && strcmp(t->all[k].ep->url, e->ep->url) == 0 ? &t->all[k]
                                                                                      : endpoints_find(t, e->ep->url);
        if (old) take_over(e, old);
        else astate_init(&e->st);
    }
    drop_all(t);
    t->all = all;
    t->n = n;
    url_index(t);
    t->tick_in = cw_xrealloc(t->tick_in, n ? n : 1); /* the indexes changed: none is listed for a tick */
    memset(t->tick_in, 0, n ? n : 1);
    t->n_tick = 0;
    built_for(t, cfg);
    return false;
}

/* ---- one result */

/* The incident's part of a new alert; false when it is not raised at all. A DOWN or UP touches the incident only
 * when it is told, at its release (incident_decide). */
static bool incident_part(struct endpoint *e, struct alert_rec *al)
{
    const struct incident *inc = endpoint_incident(e);
    switch (al->kind) {
    case CW_ALERT_REMINDER:
    case CW_ALERT_ESCALATION:
        if (inc->open && inc->acked) return false; /* acknowledged: no more of them */
        break;
    case CW_ALERT_FLAPPING:
        if (!inc->open) return true;
        break;
    default:
        return true;
    }
    al->incident_id = inc->id;
    al->steps_reached = inc->steps;
    return true;
}

/* The detail of e's alert: who sees what, for an availability alert of a multi-location endpoint, then detail. */
static void alert_detail(const struct endpoints *t, const struct endpoint *e, unsigned kind, const char *detail,
                         char *out, size_t len)
{
    out[0] = '\0';
    bool avail =
        kind == CW_ALERT_DOWN || kind == CW_ALERT_UP || kind == CW_ALERT_REMINDER || kind == CW_ALERT_ESCALATION;
    if (avail && e->n_votes) endpoints_location_summary(t, e, out, len);
    if (!detail || !detail[0]) return;
    size_t used = strlen(out);
    snprintf(out + used, len - used, "%s%s", used ? "; " : "", detail);
}

/* endpoints_raise; flap_end: the alert tells the end of flapping (alert_rec.flap_end). */
static void raise_alert(struct endpoints *t, struct endpoint *e, const struct astate_event *ev, const char *detail,
                        bool flap_end, int64_t now_mono)
{
    bool failing = ev->kind == CW_ALERT_DOWN || ev->kind == CW_ALERT_REMINDER || ev->kind == CW_ALERT_ESCALATION;
    struct alert_rec *al = alert_new(ev->kind, e->ep->url, e->ep->name, failing ? e->last.error : NULL, ev->since_us,
                                     ev->at_us, ev->duration_us, ev->count, ev->seq, cw_wall_us());
    if (dispatch_find(t->d, al->id)) { /* the same state change again (a replay): already on its way */
        alert_free(al);
        return;
    }
    if (!incident_part(e, al)) {
        alert_free(al);
        return;
    }
    char text[CW_MESSAGE_MAX / 2];
    alert_detail(t, e, ev->kind, detail, text, sizeof text);
    if (text[0]) {
        free(al->detail);
        al->detail = cw_xstrdup(text);
    }
    if (ev->kind == CW_ALERT_ESCALATION) al->escalation = ev->seq;
    al->flap_end = flap_end;
    al->severity =
        (uint8_t)(e->ep->severity <= CW_SEV_CRITICAL ? e->ep->severity : CW_SEV_CRITICAL); /* uint8_t: >= INFO */
    al->last_status = e->ep->type == CW_CHECK_HTTP ? e->last_status : 0; /* an HTTP status means nothing else */
    al->last_latency_us = e->last.latency_us;
    struct astate_params p;
    params_of(t->cfg, e->ep, &p);
    al->threshold_us = p.latency_threshold_us;
    alert_update_message(al);
    dispatch_raise(t->d, t->cfg, al, e->ep->interval, now_mono);
}

void endpoints_raise(struct endpoints *t, struct endpoint *e, const struct astate_event *ev, const char *detail,
                     int64_t now_mono)
{
    raise_alert(t, e, ev, detail, false, now_mono);
    endpoints_tick_note(t, e);
}

/* Flapping, judged before the state machine's events are raised: its start raises one FLAPPING alert (after
 * them); its end exactly one alert of the final state: the state change of the same check when it made one
 * (marked stable again), else one of its own. outcome: 1 up, 0 down, -1 nothing to feed (the events are raised). */
static void judge_flapping(struct endpoints *t, struct endpoint *e, int outcome, int64_t at,
                           const struct astate_event *ev, unsigned n, int64_t now_mono)
{
    double percent = 0;
    const struct cw_endpoint *ep = e->ep;
    enum flap_change change =
        outcome < 0 ? FLAP_SAME : flap_feed(&e->flap, ep->flap_window, ep->flap_high, ep->flap_low, outcome, &percent);
    bool changed_state = false;
    for (unsigned i = 0; i < n; i++) {
        bool state = ev[i].kind == CW_ALERT_DOWN || ev[i].kind == CW_ALERT_UP;
        bool ends = change == FLAP_STOPPED && state;
        if (ev[i].kind == CW_ALERT_UP) {
            e->last_down_us = ev[i].duration_us;
            e->last_down_failed = ev[i].count;
        }
        raise_alert(t, e, &ev[i], ends ? "stable again after flapping" : NULL, ends, now_mono);
        changed_state |= state;
    }
    if (change == FLAP_STARTED) {
        char detail[128];
        snprintf(detail, sizeof detail, "flapping: %.0f%% state changes over the last %d checks", percent,
                 ep->flap_window);
        struct astate_event fe = { .kind = CW_ALERT_FLAPPING, .since_us = at, .at_us = at };
        endpoints_raise(t, e, &fe, detail, now_mono);
    } else if (change == FLAP_STOPPED && !changed_state && e->st.avail != ASTATE_UNKNOWN) {
        bool down = e->st.avail == ASTATE_DOWN;
        struct astate_event se = { .kind = down ? CW_ALERT_DOWN : CW_ALERT_UP,
                                   .since_us = e->st.state_since_us,
                                   .at_us = at,
                                   .duration_us = down ? 0 : e->last_down_us,
                                   .count = down ? e->st.failed_count : e->last_down_failed,
                                   .seq = ++e->resends };
        raise_alert(t, e, &se, "stable again after flapping", true, now_mono);
    }
}

/* Keeps the failure's error text (at most ENDPOINT_ERROR_KEEP bytes) while failing, none once ok. */
static void note_error(struct endpoint *e, const struct cw_result *r)
{
    if (r->ok) {
        free(e->last.error);
        e->last.error = NULL;
        return;
    }
    const char *text = r->error && r->error[0] ? r->error : "check failed";
    if (e->last.error && strncmp(e->last.error, text, ENDPOINT_ERROR_KEEP) == 0) return;
    free(e->last.error);
    size_t n = strnlen(text, ENDPOINT_ERROR_KEEP);
    e->last.error = cw_xmalloc(n + 1);
    memcpy(e->last.error, text, n);
    e->last.error[n] = '\0';
}

void endpoints_location_summary(const struct endpoints *t, const struct endpoint *e, char *out, size_t len)
{
    static const struct {
        uint8_t vote;
        const char *words;
    } groups[] = { { QUORUM_DOWN, "DOWN from " }, { QUORUM_UP, "up from " }, { QUORUM_UNKNOWN, "no result from " } };
    size_t used = 0;
    out[0] = '\0';
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        bool first = true;
        for (size_t i = 0; i < e->n_votes && used < len; i++) {
            const struct endpoint_vote *v = &e->votes[i];
            if (!locations_live(t->locs, locations_find(t->locs, v->location)) || vote_now(t, v) != groups[g].vote)
                continue;
            const char *sep = first ? (used ? "; " : "") : ", ";
            used += (size_t)snprintf(out + used, len - used, "%s%s%s", sep, first ? groups[g].words : "", v->location);
            first = false;
        }
    }
    for (size_t i = 0; i < e->n_votes && used < len; i++) {
        const char *name = e->votes[i].location;
        const struct location *l = locations_find(t->locs, name);
        if (locations_live(t->locs, l)) continue;
        const char *what = l && l->state == CW_LOCATION_UNKNOWN ? "not heard yet" : "silent";
        used += (size_t)snprintf(out + used, len - used, "%s%s %s", used ? "; " : "", name, what);
    }
}

/* The location of a result: its own, or the alerter's (a result of a worker before locations: ""). */
static const char *location_of(const struct endpoints *t, const struct cw_result *r)
{
    if (r->location && r->location[0]) return r->location;
    return t->cfg && t->cfg->location ? t->cfg->location : "";
}

/* The k-th smallest (from 0) of n times (n <= CW_LOCATIONS_MAX); 0 when there are not that many. */
static int64_t kth_smallest(const int64_t *v, size_t n, size_t k)
{
    int64_t sorted[CW_LOCATIONS_MAX];
    if (k >= n) return 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && sorted[j - 1] > v[i]; j--) sorted[j] = sorted[j - 1];
        sorted[j] = v[i];
    }
    return sorted[k];
}

/* The verdict of e's live votes, with its times from the votes (see alerter/state.h, astate_verdict). */
static void verdict_of(const struct endpoints *t, const struct endpoint *e, struct astate_verdict *out)
{
    struct quorum_ballot b[CW_LOCATIONS_MAX] = { { 0 } };
    int64_t down_since[CW_LOCATIONS_MAX], slow_since[CW_LOCATIONS_MAX];
    size_t n = e->n_votes < CW_LOCATIONS_MAX ? e->n_votes : CW_LOCATIONS_MAX, n_down = 0, n_slow = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const struct quorum_voter *v = &e->votes[i].v;
        b[i] = (struct quorum_ballot){ .vote = vote_now(t, &e->votes[i]),
                                       .live = locations_live(t->locs, locations_find(t->locs, e->votes[i].location)) };
        if (!b[i].live || b[i].vote == QUORUM_UNKNOWN) continue;
        if (v->vote == QUORUM_DOWN) down_since[n_down++] = v->since_us, out->count += v->fail_run;
        if (v->vote == QUORUM_UP && v->since_us > out->since_us) out->since_us = v->since_us;
        if (v->vote != QUORUM_UP) continue;
        if (v->speed == QUORUM_SLOW) slow_since[n_slow++] = v->speed_since_us, out->slow_count += v->slow_run;
        if (v->speed == QUORUM_FAST && v->speed_since_us > out->speed_since_us) out->speed_since_us = v->speed_since_us;
    }
    unsigned need = config_quorum_required(e->ep); /* from the configuration: not kept per endpoint */
    if (need == 0) need = 1;
    out->avail = (uint8_t)quorum_verdict(b, n, need, e->st.avail);
    if (out->avail == QUORUM_DOWN) out->since_us = kth_smallest(down_since, n_down, need - 1);
    for (size_t i = 0; i < n; i++) b[i].vote = b[i].vote == QUORUM_UP ? e->votes[i].v.speed : QUORUM_SPEED_UNKNOWN;
    out->speed = (uint8_t)quorum_speed_verdict(b, n, need, e->st.speed);
    if (out->speed == QUORUM_SLOW) out->speed_since_us = kth_smallest(slow_since, n_slow, need - 1);
}

/* One result of location loc on a multi-location endpoint: its vote, then the verdict drives the state. */
static enum intake_verdict apply_vote(struct endpoints *t, struct endpoint *e, const struct astate_params *p,
                                      struct endpoint_vote *v, const struct cw_result *r, struct astate_event *ev,
                                      unsigned *n)
{
    if (r->boot_id != v->boot_id && r->checked_at_us < v->checked_us) return INTAKE_LATE;
    v->boot_id = r->boot_id;
    v->checked_us = r->checked_at_us;
    if (vote_stale(t, v)) memset(&v->v, 0, sizeof v->v);
    struct quorum_params qp = { .alert_threshold = p->alert_threshold,
                                .recovery_threshold = p->recovery_threshold,
                                .latency_threshold_us = p->latency_threshold_us,
                                .endpoint_down = e->st.avail == ASTATE_DOWN };
    quorum_voter_feed(&v->v, &qp, r->ok, r->latency_us, r->checked_at_us);
    struct astate_verdict verdict;
    verdict_of(t, e, &verdict);
    e->verdict = verdict.avail;
    *n = astate_feed_verdict(&e->st, p, &verdict, r->ok, r->checked_at_us, ev);
    return INTAKE_APPLIED;
}

enum intake_verdict endpoints_apply(void *ctx, const struct cw_result *r, int64_t now_mono)
{
    struct endpoints *t = ctx;
    struct endpoint *e = endpoints_find(t, r->url);
    if (!e) {
        t->unknown_urls++;
        return INTAKE_IGNORED;
    }
    const char *loc = location_of(t, r);
    struct endpoint_vote *vote = e->n_votes ? vote_of(e, loc) : NULL;
    if (e->n_votes ? !vote : !config_endpoint_at(e->ep, loc)) {
        t->other_location_results++;
        return INTAKE_IGNORED;
    }
    if (locations_is_late(t->locs, locations_find(t->locs, loc), r->checked_at_us)) {
        t->late_location_results++; /* it tells the past: history only */
        return INTAKE_IGNORED;
    }
    struct astate_event ev[ASTATE_MAX_EVENTS];
    unsigned n = 0;
    struct astate_params p; /* from the configuration at each result: not kept per endpoint (issue 18) */
    params_of(t->cfg, e->ep, &p);
    if (vote) {
        if (apply_vote(t, e, &p, vote, r, ev, &n) == INTAKE_LATE) return INTAKE_LATE;
    } else if (r->boot_id != e->last.boot_id && r->checked_at_us < e->last.checked_us) {
        return INTAKE_LATE;
    }
    e->last.checked_us = r->checked_at_us;
    bool own = !t->cfg || !t->cfg->location || strcmp(loc, t->cfg->location) == 0; /* worker slots are the own */
    if (own && r->worker < t->n_workers && r->checked_at_us > t->worker_last_us[r->worker])
        t->worker_last_us[r->worker] = r->checked_at_us;
    e->last.boot_id = r->boot_id;
    e->last_status = r->status_code;
    e->last.latency_us = r->latency_us;
    note_error(e, r);
    if (!r->ok && e->inc && e->inc->open) e->inc->failed++;
    int outcome = r->ok; /* flapping judges the endpoint's state after the verdict, not one location; nothing while
                          * the verdict is unknown (it would count as up) */
    if (vote) outcome = e->verdict == QUORUM_UNKNOWN || e->st.avail == ASTATE_UNKNOWN ? -1 : e->st.avail == ASTATE_UP;
    else n = astate_feed(&e->st, &p, r->ok, r->latency_us, r->checked_at_us, ev);
    judge_flapping(t, e, outcome, r->checked_at_us, ev, n, now_mono);
    if (astate_feed_tls(&e->st, &p, r->tls_expires_at_us, r->checked_at_us, ev))
        endpoints_raise(t, e, &ev[0], NULL, now_mono);
    endpoints_tick_note(t, e);
    return INTAKE_APPLIED;
}

void endpoints_free(struct endpoints *t)
{
    drop_all(t);
    endpoints_gone_clear(t);
    free(t->tick_list);
    free(t->tick_in);
    free(t->worker_last_us);
    t->tick_list = NULL, t->tick_in = NULL, t->worker_last_us = NULL;
    t->n_tick = t->cap_tick = t->n_workers = 0;
}
