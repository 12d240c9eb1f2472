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

struct endpoint *endpoints_find(const struct endpoints *t, const char *url)
{
    struct endpoint *e = NULL;
    HASH_FIND_STR(t->by_url, url, e);
    return e;
}

/* Takes over what old knew about the same endpoint (its error text moves). */
static void take_over(struct endpoint *e, struct endpoint *old)
{
    e->st = old->st;
    e->last = old->last;
    old->last.error = NULL;
    e->inc = old->inc;
    memset(&old->inc, 0, sizeof old->inc);
    e->flap = old->flap;
    e->held_by = old->held_by;
    e->last_down = old->last_down;
}

static void drop_all(struct endpoints *t)
{
    HASH_CLEAR(hh, t->by_url);
    for (size_t k = 0; k < t->n; k++) {
        free(t->all[k].last.error);
        incident_free(&t->all[k].inc);
    }
    free(t->all);
    t->all = NULL;
    t->n = 0;
}

void endpoints_build(struct endpoints *t, const struct cw_config *cfg)
{
    size_t n = cfg->n_endpoints;
    struct endpoint *all = cw_xcalloc(n ? n : 1, sizeof *all), *by_url = NULL;
    for (size_t k = 0; k < n; k++) {
        struct endpoint *e = &all[k];
        e->ep = &cfg->endpoints[k];
        params_of(cfg, e->ep, &e->p);
        struct endpoint *old = endpoints_find(t, e->ep->url);
        if (old) take_over(e, old);
        else astate_init(&e->st);
        HASH_ADD_KEYPTR(hh, by_url, e->ep->url, strlen(e->ep->url), e);
    }
    drop_all(t);
    t->all = all;
    t->n = n;
    t->by_url = by_url;
    t->cfg = cfg;
    t->fingerprint = statefile_fingerprint(cfg->endpoints, n);
    size_t workers = cfg->workers > 0 ? (size_t)cfg->workers : 0; /* slots kept across a reload keep their time */
    t->worker_last_us = cw_xrealloc(t->worker_last_us, (workers + 1) * sizeof *t->worker_last_us);
    for (size_t k = t->n_workers; k < workers; k++) t->worker_last_us[k] = 0;
    t->n_workers = workers;
}

/* ---- one result */

/* The incident's part of a new alert; false when it is not raised at all. A DOWN or UP touches the incident only
 * when it is told, at its release (incident_decide). */
static bool incident_part(struct endpoint *e, struct alert_rec *al)
{
    struct incident *inc = &e->inc;
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
    if (detail) {
        free(al->detail);
        al->detail = cw_xstrdup(detail);
    }
    if (ev->kind == CW_ALERT_ESCALATION) al->escalation = ev->seq;
    al->flap_end = flap_end;
    al->severity = (uint8_t)(e->ep->severity >= CW_SEV_INFO && e->ep->severity <= CW_SEV_CRITICAL ? e->ep->severity
                                                                                                  : CW_SEV_CRITICAL);
    al->last_status = e->ep->type == CW_CHECK_HTTP ? e->last.status : 0; /* an HTTP status means nothing else */
    al->last_latency_us = e->last.latency_us;
    al->threshold_us = e->p.latency_threshold_us;
    alert_update_message(al);
    dispatch_raise(t->d, t->cfg, al, e->ep->interval, now_mono);
}

void endpoints_raise(struct endpoints *t, struct endpoint *e, const struct astate_event *ev, const char *detail,
                     int64_t now_mono)
{
    raise_alert(t, e, ev, detail, false, now_mono);
}

/* Flapping, judged before the state machine's events are raised: its start raises one FLAPPING alert (after
 * them); its end exactly one alert of the final state: the state change of the same check when it made one
 * (marked stable again), else one of its own. */
static void judge_flapping(struct endpoints *t, struct endpoint *e, const struct cw_result *r,
                           const struct astate_event *ev, unsigned n, int64_t now_mono)
{
    double percent = 0;
    const struct cw_endpoint *ep = e->ep;
    enum flap_change change = flap_feed(&e->flap, ep->flap_window, ep->flap_high, ep->flap_low, r->ok, &percent);
    bool changed_state = false;
    for (unsigned i = 0; i < n; i++) {
        bool state = ev[i].kind == CW_ALERT_DOWN || ev[i].kind == CW_ALERT_UP;
        bool ends = change == FLAP_STOPPED && state;
        if (ev[i].kind == CW_ALERT_UP) {
            e->last_down.duration_us = ev[i].duration_us;
            e->last_down.failed = ev[i].count;
        }
        raise_alert(t, e, &ev[i], ends ? "stable again after flapping" : NULL, ends, now_mono);
        changed_state |= state;
    }
    int64_t at = r->checked_at_us;
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
                                   .duration_us = down ? 0 : e->last_down.duration_us,
                                   .count = down ? e->st.failed_count : e->last_down.failed,
                                   .seq = ++e->inc.resends };
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

enum intake_verdict endpoints_apply(void *ctx, const struct cw_result *r, int64_t now_mono)
{
    struct endpoints *t = ctx;
    struct endpoint *e = endpoints_find(t, r->url);
    if (!e) {
        t->unknown_urls++;
        return INTAKE_IGNORED;
    }
    if (r->boot_id != e->last.boot_id && r->checked_at_us < e->last.checked_us) return INTAKE_LATE;
    e->last.checked_us = r->checked_at_us;
    if (r->worker < t->n_workers && r->checked_at_us > t->worker_last_us[r->worker])
        t->worker_last_us[r->worker] = r->checked_at_us;
    e->last.boot_id = r->boot_id;
    e->last.status = r->status_code;
    e->last.latency_us = r->latency_us;
    note_error(e, r);
    if (!r->ok && e->inc.open) e->inc.failed++;
    struct astate_event ev[ASTATE_MAX_EVENTS];
    unsigned n = astate_feed(&e->st, &e->p, r->ok, r->latency_us, r->checked_at_us, ev);
    judge_flapping(t, e, r, ev, n, now_mono);
    if (astate_feed_tls(&e->st, &e->p, r->tls_expires_at_us, r->checked_at_us, ev))
        endpoints_raise(t, e, &ev[0], NULL, now_mono);
    return INTAKE_APPLIED;
}

void endpoints_free(struct endpoints *t)
{
    drop_all(t);
    free(t->worker_last_us);
    t->worker_last_us = NULL;
    t->n_workers = 0;
}
