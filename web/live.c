/* web/live.c — the live half of the web model (web/model.h): `result`, `alert`, `stats` and `locations` messages
 * from the bus
 * (the relay's XPUB, like clockwerk-tap) applied to the endpoints. Decoding is the protocol's defensive decoders
 * (common/wire/protocol.h): a malformed message is counted and dropped, an URL that is not configured is counted
 * and dropped, gaps in the workers' sequence numbers are counted (common/wire/seqgap.h). */
#include "web/model.h"

#include "common/base/util.h"
#include "history/downtime.h"
#include "web/figures.h"
#include "web/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *web_state_name(enum web_state state)
{
    switch (state) {
    case WEB_STATE_UP:
        return "up";
    case WEB_STATE_FAILING:
        return "failing";
    case WEB_STATE_DOWN:
        return "down";
    case WEB_STATE_UNKNOWN:
        break;
    }
    return "unknown";
}

/* Whether url is a key the configuration synthesized for a check type beyond HTTP (tcp://, tls://, dns://,
 * icmp://, push://): its query and `#NAME` say what is checked (?type=AAAA, ?starttls=smtp, ?sni=NAME) and never
 * hold a secret (a push key is push://NAME, its token is elsewhere). */
static bool synthesized_key(const char *url)
{
    static const char *const schemes[] = { "tcp://", "tls://", "dns://", "icmp://", "push://" };
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0) return true;
    return false;
}

const char *web_url_label(const char *url, char *buf, size_t len)
{
    cw_mask_url(url, buf, len);
    if (synthesized_key(url)) return buf;
    char *query = strpbrk(buf, "?#"); /* an http(s) query may carry a token: shown as "?***" */
    if (query && (size_t)(query - buf) + 5 <= len) memcpy(query, "?***", 5);
    return buf;
}

const char *web_endpoint_label(const struct web_endpoint *e, char *buf, size_t len)
{
    return e->cfg->name ? e->cfg->name : web_url_label(e->cfg->url, buf, len);
}

static void malformed(struct web_model *m, const char *why)
{
    m->bus.malformed++;
    m->bus.last_malformed = why ? why : "malformed";
}

static void set_state(struct web_live *e, enum web_state state, int64_t at_us)
{
    if (e->state == state) return;
    e->state = state;
    e->state_since_us = at_us;
}

/* The bounds of /metrics' duration buckets (see web/metrics.c for the choice). */
const int64_t web_hist_bounds_us[WEB_HIST_BOUNDS] = { 10000, 50000, 250000, 1000000, 5000000 };

/* The endpoint's last check, whichever location made it (the row's latency, the figures, the certificate). */
static void keep_last(struct web_live *e, const struct cw_result *r)
{
    if (e->has_check && r->checked_at_us < e->last.checked_at_us) return; /* an older check, reordered */
    free(e->last.error);
    if (e->last.fig) free(e->last.fig->raw);
    free(e->last.fig);
    e->has_check = true;
    e->last = (struct web_check){ .kind = r->kind,
                                  .ok = r->ok,
                                  .status_code = r->status_code,
                                  .checked_at_us = r->checked_at_us,
                                  .latency = web_us_pack(r->latency_us),
                                  .phase = { web_us_pack(r->dns_us), web_us_pack(r->connect_us), web_us_pack(r->tls_us),
                                             web_us_pack(r->ttfb_us) },
                                  .tls_expires_at_us = r->tls_expires_at_us,
                                  .error = (!r->ok && r->error && r->error[0]) ? cw_xstrdup(r->error) : NULL };
    if (r->figures && r->figures[0]) { /* 80 B an endpoint only where there are figures (not http's) */
        e->last.fig = cw_xmalloc(sizeof *e->last.fig);
        web_figures_parse(r->figures, e->last.fig);
        e->last.fig->raw = cw_xstrdup(r->figures);
    }
    int64_t call_us = r->kind == CW_CHECK_PUSH ? web_push_last_call_us(web_check_fig(&e->last), r->checked_at_us) : 0;
    if (call_us > e->last_call_us) e->last_call_us = call_us;
}

/* The endpoint's state after a result of one of its locations. Checked in one place: the last check, and DOWN
 * holds until the alerter's `up` (the recovery threshold is its call). In several: the quorum verdict of the
 * locations' votes (web_locs_state), which is what drives the alerter; "unknown" keeps what the alerts said. */
static void update_state(const struct web_model *m, struct web_endpoint *found, const struct cw_result *r)
{
    struct web_live *e = &found->live;
    if (e->n_locs < 2) {
        if (e->state != WEB_STATE_DOWN) set_state(e, r->ok ? WEB_STATE_UP : WEB_STATE_FAILING, r->checked_at_us);
        return;
    }
    enum web_state verdict = web_locs_state(m, e, found->cfg);
    if (verdict != WEB_STATE_UNKNOWN) set_state(e, verdict, r->checked_at_us);
}

static void apply_result(struct web_model *m, struct web_endpoint *found, const struct cw_result *r)
{
    struct web_loc *loc = web_loc_find(m, &found->live, r->location);
    if (!loc) {
        m->bus.unknown_locations++; /* not checked there (a location it no longer lists, a wrong one) */
        return;
    }
    if (!web_loc_apply(loc, r, found->cfg, found->live.state == WEB_STATE_DOWN)) return;
    keep_last(&found->live, r);
    update_state(m, found, r);
}

static void on_results(struct web_model *m, const void *data, size_t len)
{
    const char *why = NULL;
    int n = proto_results_decode(data, len, m->scratch, CW_RESULT_BATCH_MAX, &why);
    if (n < 0) {
        malformed(m, why);
        return;
    }
    for (int i = 0; i < n; i++) {
        const struct cw_result *r = &m->scratch[i];
        m->bus.results++;
        seqgap_note(&m->gaps, r->worker, r->boot_id, r->seq);
        struct web_endpoint *e = web_model_by_url(m, r->url);
        if (e) apply_result(m, e, r);
        else m->bus.unknown_urls++;
    }
}

/* A location going silent or coming back changes the verdict of the endpoints checked there (its votes are left
 * out or count again): judged again at once, as the alerter does. */
static void on_locations(struct web_model *m, const struct cw_locations_msg *msg, int64_t now_mono_ns)
{
    if (!web_locations_apply(m, msg, now_mono_ns)) return;
    for (size_t i = 0; i < m->n; i++) {
        struct web_live *e = &m->endpoints[i].live;
        if (e->n_locs < 2) continue;
        enum web_state verdict = web_locs_state(m, e, m->endpoints[i].cfg);
        /* unknown: too few live locations left to judge (says so), unless none told anything yet (a restart:
         * what the alerts and the history said stays) */
        if (verdict != WEB_STATE_UNKNOWN || e->has_check) set_state(e, verdict, msg->at_us);
    }
}

/* A state change counted once per alert id: the alerter sends an alert again when a delivery state changes. */
static void count_change(struct web_live *e, const struct cw_alert *a)
{
    int kind = a->kind == CW_ALERT_DOWN   ? WEB_CHANGE_DOWN
               : a->kind == CW_ALERT_UP   ? WEB_CHANGE_UP
               : a->kind == CW_ALERT_SLOW ? WEB_CHANGE_SLOW
               : a->kind == CW_ALERT_FAST ? WEB_CHANGE_FAST
                                          : -1;
    if (kind < 0) return;
    if (!e->alerts) e->alerts = cw_xcalloc(1, sizeof *e->alerts);
    struct web_alerts *x = e->alerts;
    const size_t n = sizeof x->recent_alert_ids / sizeof x->recent_alert_ids[0];
    for (size_t i = 0; i < n; i++)
        if (x->recent_alert_ids[i] == a->alert_id) return;
    memmove(&x->recent_alert_ids[1], &x->recent_alert_ids[0], (n - 1) * sizeof x->recent_alert_ids[0]);
    x->recent_alert_ids[0] = a->alert_id;
    x->changes[kind]++;
}

uint32_t web_live_changes(const struct web_live *e, int k)
{
    return e->alerts && k >= 0 && k < WEB_CHANGE_KINDS ? e->alerts->changes[k] : 0;
}

void web_live_free(struct web_live *e)
{
    free(e->last.error);
    if (e->last.fig) free(e->last.fig->raw);
    free(e->last.fig);
    free(e->alerts);
    e->last.error = NULL;
    e->last.fig = NULL;
    e->alerts = NULL;
}

/* When the alert's state change happened (its message's "since", as the snapshot counts it: history/downtime.h). */
static int64_t change_us(const struct web_endpoint *found, const struct cw_alert *a)
{
    char masked[CW_URL_MAX + 1];
    cw_mask_url(found->cfg->url, masked, sizeof masked);
    bool down = a->kind == CW_ALERT_DOWN;
    return dt_event_time(a->message, found->cfg->name, masked, down, a->raised_at_us / 1000) * 1000;
}

void web_live_seed(struct web_live *e, const struct web_ep_history *h)
{
    const struct web_ep_more *x = web_ep_more(h);
    if (x->last_call_ms * 1000 > e->last_call_us) e->last_call_us = x->last_call_ms * 1000;
    if (!h || !h->state_known || x->state_since_ms * 1000 <= e->last_alert_us) return;
    e->last_alert_us = x->state_since_ms * 1000;
    if (h->down) set_state(e, WEB_STATE_DOWN, e->last_alert_us);
    else if (e->state == WEB_STATE_DOWN || e->state == WEB_STATE_UNKNOWN) /* a failed check since says more */
        set_state(e, WEB_STATE_UP, e->last_alert_us);
}

static void on_alert(struct web_model *m, const void *data, size_t len)
{
    struct cw_alert a;
    const char *why = NULL;
    if (proto_alert_decode(data, len, &a, &why) < 0) {
        malformed(m, why);
        return;
    }
    m->bus.alerts++;
    struct web_endpoint *found = web_model_by_url(m, a.url);
    if (!found) {
        m->bus.unknown_urls++;
        return;
    }
    struct web_live *e = &found->live;
    count_change(e, &a);
    switch (a.kind) {
    case CW_ALERT_DOWN:
        set_state(e, WEB_STATE_DOWN, a.raised_at_us);
        e->last_alert_us = change_us(found, &a);
        break;
    case CW_ALERT_UP:
        set_state(e, WEB_STATE_UP, a.raised_at_us);
        e->last_alert_us = change_us(found, &a);
        break;
    case CW_ALERT_SLOW:
        e->slow = true;
        break;
    case CW_ALERT_FAST:
        e->slow = false;
        break;
    default: /* tls expiry, reminders: no change of state (the expiry comes with every result) */
        break;
    }
}

void web_live_apply(struct web_model *m, enum cw_msg_type type, const void *data, size_t len, int64_t now_mono_ns)
{
    m->bus.messages++;
    m->bus.last_message_mono_ns = now_mono_ns;
    switch (type) {
    case CW_MSG_RESULT:
        on_results(m, data, len);
        break;
    case CW_MSG_ALERT:
        on_alert(m, data, len);
        break;
    case CW_MSG_STATS: {
        struct cw_stats s;
        const char *why = NULL;
        if (proto_stats_decode(data, len, &s, &why) < 0) malformed(m, why);
        else {
            m->bus.stats++;
            web_stats_apply(&m->procs, &s, now_mono_ns);
        }
        break;
    }
    case CW_MSG_LOCATIONS: {
        struct cw_locations_msg msg;
        const char *why = NULL;
        if (proto_locations_decode(data, len, &msg, &why) < 0) malformed(m, why);
        else on_locations(m, &msg, now_mono_ns);
        break;
    }
    default:
        malformed(m, "wrong frames or unknown topic");
        break;
    }
}
