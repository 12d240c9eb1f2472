/* supervisor/reload.c — comparing two configurations for a reload (see reload.h). */
#include "supervisor/reload.h"

#include "common/base/util.h"

#include <stdlib.h>
#include <string.h>

static bool str_eq(const char *x, const char *y)
{
    if (!x || !y) return x == y;
    return strcmp(x, y) == 0;
}

static bool strv_eq(char *const *x, size_t nx, char *const *y, size_t ny)
{
    if (nx != ny) return false;
    for (size_t i = 0; i < nx; i++)
        if (!str_eq(x[i], y[i])) return false;
    return true;
}

bool reload_endpoint_equal(const struct cw_endpoint *x, const struct cw_endpoint *y)
{
    /* the push token is left out: a worker never holds it, the web does and restarts when it changes
     * (reload_web_changed); the probe's details are the spec's, compared deeply (issue 18: two configs' specs are
     * never one pointer) */
    return str_eq(x->url, y->url) && str_eq(x->name, y->name) && x->timeout == y->timeout &&
           x->interval == y->interval && x->latency_threshold == y->latency_threshold &&
           x->alert_threshold == y->alert_threshold && x->recovery_threshold == y->recovery_threshold &&
           x->type == y->type && str_eq(x->host, y->host) && x->port == y->port &&
           cw_check_spec_equal(x->spec, y->spec);
}

bool reload_curve_changed(const struct cw_config *a, const struct cw_config *b)
{
    return !str_eq(a->curve_key_file, b->curve_key_file) || !str_eq(a->curve_public_key, b->curve_public_key) ||
           !str_eq(a->curve_server_key, b->curve_server_key) ||
           !strv_eq(a->curve_allowed_keys, a->n_curve_allowed_keys, b->curve_allowed_keys, b->n_curve_allowed_keys);
}

/* The probe hosts the bus servers admit (their keys join the allow-list: common/proc/bus_config.c). */
static bool admitted_changed(const struct cw_config *a, const struct cw_config *b)
{
    if (a->n_locations != b->n_locations) return true;
    for (size_t i = 0; i < a->n_locations; i++)
        if (!str_eq(a->locations[i].name, b->locations[i].name) || !str_eq(a->locations[i].key, b->locations[i].key))
            return true;
    return false;
}

bool reload_worker_globals_changed(const struct cw_config *a, const struct cw_config *b)
{
    /* supervisor.location: every result carries it */
    return a->workers != b->workers || !str_eq(a->run_dir, b->run_dir) || a->log_level != b->log_level ||
           a->log_target != b->log_target || !str_eq(a->location, b->location) || !str_eq(a->user, b->user) ||
           !str_eq(a->store_address, b->store_address) || !str_eq(a->alert_address, b->alert_address) ||
           !str_eq(a->publish_address, b->publish_address) || !str_eq(a->tap_address, b->tap_address) ||
           a->check_interval != b->check_interval || a->latency_threshold != b->latency_threshold ||
           a->tls_expiry_days != b->tls_expiry_days || config_wants_storer(a) != config_wants_storer(b) ||
           reload_curve_changed(a, b);
}

bool reload_relay_changed(const struct cw_config *a, const struct cw_config *b)
{
    return !str_eq(a->publish_address, b->publish_address) || !str_eq(a->tap_address, b->tap_address) ||
           a->log_level != b->log_level || a->log_target != b->log_target || !str_eq(a->location, b->location) ||
           admitted_changed(a, b) || reload_curve_changed(a, b);
}

/* Indices of the endpoints cfg's own workers check (those of its location: a worker reads no other) grouped by
 * shard: order[start[s] .. start[s+1]) are shard s's, in file order. Caller frees *order and *start. */
static void group_by_shard(const struct cw_config *cfg, unsigned slots, size_t **order, size_t **start)
{
    size_t *shard = cw_xcalloc(cfg->n_endpoints + 1, sizeof *shard);
    size_t *st = cw_xcalloc((size_t)slots + 1, sizeof *st);
    size_t *ord = cw_xcalloc(cfg->n_endpoints + 1, sizeof *ord);
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        shard[i] = config_endpoint_at(&cfg->endpoints[i], cfg->location) ? cw_shard_of(cfg->endpoints[i].url, slots)
                                                                         : slots; /* not here: no shard */
        if (shard[i] < slots) st[shard[i] + 1]++;
    }
    for (unsigned s = 0; s < slots; s++) st[s + 1] += st[s];
    size_t *fill = cw_xcalloc((size_t)slots + 1, sizeof *fill);
    memcpy(fill, st, ((size_t)slots + 1) * sizeof *fill);
    for (size_t i = 0; i < cfg->n_endpoints; i++)
        if (shard[i] < slots) ord[fill[shard[i]]++] = i;
    free(fill);
    free(shard);
    *order = ord;
    *start = st;
}

void reload_changed_shards(const struct cw_config *a, const struct cw_config *b, unsigned slots, bool *changed)
{
    if (slots == 0) return;
    size_t *oa, *sa, *ob, *sb;
    group_by_shard(a, slots, &oa, &sa);
    group_by_shard(b, slots, &ob, &sb);
    for (unsigned s = 0; s < slots; s++) {
        size_t na = sa[s + 1] - sa[s], nb = sb[s + 1] - sb[s];
        changed[s] = na != nb;
        for (size_t k = 0; !changed[s] && k < na; k++)
            changed[s] = !reload_endpoint_equal(&a->endpoints[oa[sa[s] + k]], &b->endpoints[ob[sb[s] + k]]);
    }
    free(oa);
    free(sa);
    free(ob);
    free(sb);
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* The URLs of cfg that are not at the same index in other (all of them past other's end), sorted; *n their count.
 * A reload that edits a few endpoints sorts a few URLs, not every one. */
static const char **sorted_urls(const struct cw_config *cfg, const struct cw_config *other, size_t *n)
{
    const char **v = cw_xcalloc(cfg->n_endpoints + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_endpoints; i++)
        if (i >= other->n_endpoints || strcmp(cfg->endpoints[i].url, other->endpoints[i].url) != 0)
            v[k++] = cfg->endpoints[i].url;
    qsort(v, k, sizeof *v, cmp_str);
    *n = k;
    return v;
}

void reload_count_endpoints(const struct cw_config *a, const struct cw_config *b, size_t *added, size_t *removed)
{
    size_t na, nb;
    const char **va = sorted_urls(a, b, &na), **vb = sorted_urls(b, a, &nb);
    size_t i = 0, j = 0, add = 0, rem = 0;
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(va[i], vb[j]);
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            rem++;
            i++;
        } else {
            add++;
            j++;
        }
    }
    free(va);
    free(vb);
    *added = add;
    *removed = rem;
}

/* ---- what the storer, the alerter and the web read */

enum reader { READER_STORER, READER_ALERTER, READER_WEB };

/* What only the alerter reads: the channels (the legacy ones' email and webhooks settings too), the routing, the
 * escalation, flapping and time zone settings, the group settings. The maintenance windows stay (every reader but
 * the workers reads them). */
static void drop_alerting(struct cw_config *v)
{
    v->email_enabled = false;
    v->smtp_host = v->email_from = v->smtp_user = v->smtp_password = v->smtp_ca_file = NULL;
    v->smtp_port = 0;
    v->email_to = NULL;
    v->n_email_to = 0;
    v->smtp_tls = 0;
    v->webhooks = NULL;
    v->n_webhooks = 0;
    v->renotify = 0;
    v->group_threshold = 0;
    v->channels = NULL;
    v->n_channels = 0;
    v->default_notify = NULL;
    v->n_default_notify = 0;
    v->escalate = NULL;
    v->n_escalate = 0;
    v->flap_window = 0;
    v->flap_high = v->flap_low = 0;
    v->alert_time_zone = NULL;
    v->group_settings = NULL;
    v->n_group_settings = 0;
}

/* The web's own settings, for the storer's and the alerter's views. */
static void drop_web(struct cw_config *v)
{
    v->web_enabled = v->web_allow_plain_http = false;
    v->web_listen = v->web_title = v->web_tls_cert_file = v->web_tls_key_file = NULL;
    v->web_auth_user = v->web_auth_password = NULL;
    v->web_max_connections = v->web_max_connections_per_ip = 0;
    v->web_connection_timeout = v->web_history_refresh = 0;
    v->web_metrics_per_endpoint = 0;
}

/* An endpoint as `reader` sees it: its key, name and type, and the fields the reader uses. */
static void endpoint_view(const struct cw_endpoint *e, struct cw_endpoint *o, enum reader reader, bool groups)
{
    o->url = e->url;
    o->name = e->name;
    o->type = e->type;
    o->depends_on_idx = -1;
    if (reader != READER_STORER) { /* the alerter votes with them, the web shows them (docs/config.md "Locations") */
        o->locations = e->locations;
        o->n_locations = e->n_locations;
        o->quorum = e->quorum;
    }
    if (reader == READER_WEB) {
        o->group = e->group;
        o->push_token = e->push_token;
        return;
    }
    /* the alerter's thresholds and staleness (alerter/endpoints.c, status.c) */
    o->timeout = e->timeout;
    o->interval = e->interval;
    o->latency_threshold = e->latency_threshold;
    o->alert_threshold = e->alert_threshold;
    o->recovery_threshold = e->recovery_threshold;
    if (groups) o->group = e->group; /* maintenance windows and silences name groups */
    if (reader != READER_ALERTER) return;
    o->notify = e->notify;
    o->n_notify = e->n_notify;
    o->severity = e->severity;
    o->depends_on = e->depends_on;
    o->depends_on_idx = e->depends_on_idx;
    o->escalate = e->escalate;
    o->n_escalate = e->n_escalate;
    o->flap_window = e->flap_window;
    o->flap_high = e->flap_high;
    o->flap_low = e->flap_low;
}

/* A shallow copy of cfg with what `reader` does not read zeroed: every endpoint keeps only its key, name and type
 * and the fields the reader uses; the web's copy also drops the mail, alert, retention and monitor defaults. It
 * borrows cfg's strings: free it with view_free, never config_free. */
static struct cw_config *view_of(const struct cw_config *cfg, enum reader reader, bool with_endpoints)
{
    struct cw_config *v = cw_xcalloc(1, sizeof *v);
    *v = *cfg;
    v->arena = NULL;
    v->n_endpoints = with_endpoints ? cfg->n_endpoints : 0;
    v->endpoints = cw_xcalloc(v->n_endpoints + 1, sizeof *v->endpoints);
    bool groups = reader == READER_ALERTER || cfg->n_maintenance > 0;
    for (size_t i = 0; i < v->n_endpoints; i++) endpoint_view(&cfg->endpoints[i], &v->endpoints[i], reader, groups);
    if (reader != READER_ALERTER) drop_alerting(v);
    if (reader == READER_ALERTER) v->db_raw = CW_RAW_ALL; /* the storer's and the web's (what the pages say) */
    if (reader != READER_WEB) drop_web(v);
    /* the supervisor's own (it serves or fetches the configuration); alerts.quorum is in each endpoint's quorum;
     * the alerter alone judges silence. location and `locations` stay: every reader knows the locations (the
     * storer and the alerter check that a probe host's key sends only its location's results). */
    v->config_address = v->central_address = NULL;
    v->quorum = 0;
    if (reader != READER_ALERTER) v->location_silent_after = 0;
    if (reader == READER_WEB) {
        v->recovery_threshold = 0;
        v->retention_raw_days = v->retention_hourly_days = v->retention_daily_days = 0;
        v->check_interval = v->latency_threshold = 0;
        v->tls_expiry_days = 0;
    }
    return v;
}

static void view_free(struct cw_config *v)
{
    free(v->endpoints);
    free(v);
}

/* Whether the views of a and b for `reader` differ (compared with the endpoints' groups: a view holds them only
 * when its reader reads them). */
static bool view_changed(const struct cw_config *a, const struct cw_config *b, enum reader reader, bool with_endpoints)
{
    struct cw_config *va = view_of(a, reader, with_endpoints), *vb = view_of(b, reader, with_endpoints);
    bool same = config_same(va, vb);
    view_free(va);
    view_free(vb);
    return !same;
}

bool reload_storer_changed(const struct cw_config *a, const struct cw_config *b)
{
    return view_changed(a, b, READER_STORER, true) || reload_curve_changed(a, b);
}

bool reload_alerter_changed(const struct cw_config *a, const struct cw_config *b)
{
    return view_changed(a, b, READER_ALERTER, true) || reload_curve_changed(a, b);
}

bool reload_pipeline_changed(const struct cw_config *a, const struct cw_config *b)
{
    return reload_storer_changed(a, b) || reload_alerter_changed(a, b);
}

bool reload_web_changed(const struct cw_config *a, const struct cw_config *b)
{
    return view_changed(a, b, READER_WEB, true) || reload_curve_changed(a, b);
}

/* ---- the same per reader, split into the globals and the endpoints, without copying 500,000 endpoints */

/* Whether endpoint x of a and y of b differ as `reader` sees them. */
static bool endpoint_view_changed(const struct cw_config *a, const struct cw_endpoint *x, const struct cw_config *b,
                                  const struct cw_endpoint *y, enum reader reader, struct cw_buf *bx, struct cw_buf *by)
{
    struct cw_endpoint vx = { 0 }, vy = { 0 };
    endpoint_view(x, &vx, reader, reader == READER_ALERTER || a->n_maintenance > 0);
    endpoint_view(y, &vy, reader, reader == READER_ALERTER || b->n_maintenance > 0);
    return !config_endpoint_same(&vx, &vy, bx, by);
}

/* For each reader, whether one of the endpoints differs as it sees them (their count and order included). Pairs at
 * the same index are compared whole first: the same record bytes are the same for every reader. */
static void endpoints_changed(const struct cw_config *a, const struct cw_config *b, bool changed[3])
{
    if (a->n_endpoints != b->n_endpoints) {
        changed[READER_STORER] = changed[READER_ALERTER] = changed[READER_WEB] = true;
        return;
    }
    struct cw_buf x = { 0 }, y = { 0 };
    for (size_t i = 0; i < a->n_endpoints; i++) {
        const struct cw_endpoint *ea = &a->endpoints[i], *eb = &b->endpoints[i];
        if (config_endpoint_same(ea, eb, &x, &y)) continue;
        bool all = true;
        for (int r = READER_STORER; r <= READER_WEB; r++) {
            if (!changed[r]) changed[r] = endpoint_view_changed(a, ea, b, eb, (enum reader)r, &x, &y);
            all = all && changed[r];
        }
        if (all) break;
    }
    explicit_bzero(x.data, x.cap); /* an endpoint's record may hold a password */
    explicit_bzero(y.data, y.cap);
    cw_buf_free(&x);
    cw_buf_free(&y);
}

void reload_readers_diff(const struct cw_config *a, const struct cw_config *b, struct reload_readers *out)
{
    bool curve = reload_curve_changed(a, b), eps[3] = { false, false, false };
    endpoints_changed(a, b, eps);
    out->storer = (struct reload_reader_diff){ view_changed(a, b, READER_STORER, false) || curve, eps[READER_STORER] };
    out->alerter =
        (struct reload_reader_diff){ view_changed(a, b, READER_ALERTER, false) || curve, eps[READER_ALERTER] };
    out->web = (struct reload_reader_diff){ view_changed(a, b, READER_WEB, false) || curve, eps[READER_WEB] };
}
