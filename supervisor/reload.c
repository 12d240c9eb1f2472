/* supervisor/reload.c — comparing two configurations for a reload (see reload.h). */
#include "supervisor/reload.h"

#include "common/base/le.h"
#include "common/base/util.h"
#include "supervisor/fingerprint.h"

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

/* ---- what a worker reads of an endpoint, as bytes: reload_endpoint_equal compares them, a shard's fingerprint
 * (reload_print_make) hashes them. Every value is written with its length or in a fixed width, so two different
 * endpoints never give the same bytes. A double by its bits: -0 and 0 differ (a restart, never a stale worker). */

/* Appends n bytes to the scratch buffer, which is reused for every endpoint (it grows a few times in all): inline, a
 * fingerprint of 500,000 endpoints writes some 40 million fields. In host byte order: the bytes never leave us. */
static inline void put_raw(struct cw_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) cw_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void put_u64(struct cw_buf *b, uint64_t v) { put_raw(b, &v, sizeof v); }
static inline void put_u8(struct cw_buf *b, uint8_t v) { put_raw(b, &v, 1); }
static inline void put_i64(struct cw_buf *b, long long v) { put_u64(b, (uint64_t)v); }

static inline void put_f64(struct cw_buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    put_u64(b, u);
}

/* n bytes of s, or NULL (distinct from ""). */
static inline void put_bytes(struct cw_buf *b, const char *s, size_t n)
{
    if (!s) {
        put_u8(b, 0);
        return;
    }
    put_u8(b, 1);
    put_u64(b, n);
    put_raw(b, s, n);
}

static inline void put_str(struct cw_buf *b, const char *s) { put_bytes(b, s, s ? strlen(s) : 0); }

static void put_strv(struct cw_buf *b, char *const *v, size_t n)
{
    put_u64(b, n);
    for (size_t i = 0; i < n; i++) put_str(b, v[i]);
}

static void put_conditions(struct cw_buf *b, const struct cw_condition *c, size_t n)
{
    put_u64(b, n);
    for (size_t i = 0; i < n; i++) {
        put_str(b, c[i].text);
        put_str(b, c[i].subject);
        put_i64(b, c[i].op);
        put_i64(b, c[i].value_kind);
        put_str(b, c[i].value);
    }
}

/* The fields of the check types beyond HTTP (the push token is left out: a worker never holds it, the web does
 * and restarts when it changes: reload_web_changed). */
static void put_check_fields(struct cw_buf *b, const struct cw_endpoint *x, const struct cw_check_spec *sp)
{
    put_i64(b, x->type);
    put_str(b, x->host);
    put_i64(b, x->port);
    put_bytes(b, sp->send, sp->send_len);
    put_str(b, sp->expect);
    put_str(b, sp->server_name);
    put_i64(b, sp->starttls);
    put_i64(b, sp->min_cert_days);
    put_i64(b, sp->record_type);
    put_str(b, sp->dns_server);
    put_i64(b, sp->expect_rcode);
    put_strv(b, sp->expect_answers, sp->n_expect_answers);
    put_i64(b, sp->icmp_count);
    put_f64(b, sp->packet_interval);
    put_f64(b, sp->max_loss);
    put_f64(b, sp->grace);
}

/* The HTTP assertions and request options of issue 14. */
static void put_assertions(struct cw_buf *b, const struct cw_check_spec *sp)
{
    put_u64(b, sp->n_status_ranges);
    for (size_t i = 0; i < sp->n_status_ranges; i++) {
        put_i64(b, sp->status_ranges[i].lo);
        put_i64(b, sp->status_ranges[i].hi);
    }
    put_bytes(b, sp->body, sp->body_len);
    put_strv(b, sp->keywords, sp->n_keywords);
    put_strv(b, sp->keywords_absent, sp->n_keywords_absent);
    put_strv(b, sp->body_regex, sp->n_body_regex);
    put_strv(b, sp->body_regex_absent, sp->n_body_regex_absent);
    put_conditions(b, sp->json_conditions, sp->n_json_conditions);
    put_conditions(b, sp->header_conditions, sp->n_header_conditions);
    put_f64(b, sp->max_response_time);
    put_i64(b, sp->http_version);
    put_u8(b, sp->fail_if_not_tls);
    put_u8(b, sp->compressed);
    put_i64(b, sp->body_limit);
    put_str(b, sp->client_cert);
    put_str(b, sp->client_key);
    put_str(b, sp->client_key_password);
    put_str(b, sp->proxy);
    put_str(b, sp->address);
    put_u8(b, sp->cookies);
}

void reload_endpoint_put(struct cw_buf *b, const struct cw_endpoint *x)
{
    /* the probe's details are the shared spec's (a hand-built endpoint may have none: the all-zero spec) */
    const struct cw_check_spec *sp = x->spec ? x->spec : &cw_check_spec_none;
    put_str(b, x->url);
    put_str(b, x->name);
    put_i64(b, sp->method);
    put_str(b, sp->body);
    put_f64(b, x->timeout);
    put_f64(b, x->interval);
    put_f64(b, x->latency_threshold);
    put_i64(b, x->alert_threshold);
    put_i64(b, x->recovery_threshold);
    put_u8(b, sp->verify_tls);
    put_u8(b, sp->follow_redirects);
    put_str(b, sp->keyword);
    put_str(b, sp->ca_file);
    put_u64(b, sp->n_expect_status);
    for (size_t i = 0; i < sp->n_expect_status; i++) put_i64(b, sp->expect_status[i]);
    put_strv(b, sp->headers, sp->n_headers);
    put_check_fields(b, x, sp);
    put_assertions(b, sp);
}

bool reload_endpoint_equal(const struct cw_endpoint *x, const struct cw_endpoint *y)
{
    struct cw_buf bx = { 0 }, by = { 0 };
    reload_endpoint_put(&bx, x);
    reload_endpoint_put(&by, y);
    bool same = bx.len == by.len && memcmp(bx.data, by.data, bx.len) == 0;
    explicit_bzero(bx.data, bx.cap); /* a client key's password; never empty: the url's marker at least */
    explicit_bzero(by.data, by.cap);
    cw_buf_free(&bx);
    cw_buf_free(&by);
    return same;
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

/* An endpoint as `reader` sees it, as bytes: its key, name and type, and the fields the reader uses (the fields of
 * the snapshot record each reader decodes: two endpoints alike here are alike in every reader's record). */
static void put_view(struct cw_buf *b, const struct cw_endpoint *e, enum reader reader, bool groups)
{
    put_str(b, e->url);
    put_str(b, e->name);
    put_i64(b, e->type);
    if (reader != READER_STORER) { /* the alerter votes with them, the web shows them (docs/config.md "Locations") */
        put_strv(b, e->locations, e->n_locations);
        put_i64(b, e->quorum);
    }
    if (reader == READER_WEB) {
        put_str(b, e->group);
        put_str(b, e->push_token);
        return;
    }
    /* the alerter's thresholds and staleness (alerter/endpoints.c, status.c) */
    put_f64(b, e->timeout);
    put_f64(b, e->interval);
    put_f64(b, e->latency_threshold);
    put_i64(b, e->alert_threshold);
    put_i64(b, e->recovery_threshold);
    if (groups) put_str(b, e->group); /* maintenance windows and silences name groups */
    if (reader != READER_ALERTER) return;
    put_u64(b, e->n_notify);
    for (size_t i = 0; i < e->n_notify; i++) put_u64(b, e->notify[i]);
    put_i64(b, e->severity);
    put_str(b, e->depends_on);
    put_i64(b, e->depends_on ? e->depends_on_idx : -1); /* as the snapshot: a hand-built endpoint leaves it 0 */
    put_u64(b, e->n_escalate);
    for (size_t i = 0; i < e->n_escalate; i++) {
        put_f64(b, e->escalate[i].after);
        put_u64(b, e->escalate[i].n_channels);
        for (size_t k = 0; k < e->escalate[i].n_channels; k++) put_u64(b, e->escalate[i].channels[k]);
    }
    put_i64(b, e->flap_window);
    put_f64(b, e->flap_high);
    put_f64(b, e->flap_low);
}

/* A shallow copy of cfg's settings with what `reader` does not read zeroed, without the endpoints (their part is the
 * fingerprints'). It borrows cfg's strings: free it with free(), never config_free. */
static struct cw_config *view_of(const struct cw_config *cfg, enum reader reader)
{
    struct cw_config *v = cw_xcalloc(1, sizeof *v);
    *v = *cfg;
    v->arena = NULL;
    v->n_endpoints = 0;
    v->endpoints = NULL;
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

/* Whether the settings of a and b differ for `reader` (config_same of the two views: a new global key is compared
 * unless a view zeroes it). */
static bool globals_changed(const struct cw_config *a, const struct cw_config *b, enum reader reader)
{
    struct cw_config *va = view_of(a, reader), *vb = view_of(b, reader);
    bool same = config_same(va, vb);
    free(va);
    free(vb);
    return !same;
}

/* ---- fingerprints */

#define SEED_URL 0x75726c0000000001ull
#define SEED_WORKER 0x776f726b00000002ull
#define SEED_READER 0x7265616400000003ull

/* Streams the bytes put into the scratch buffer b into st, and empties b for the next. */
static inline void stream(struct fp_state *st, struct cw_buf *b)
{
    fp_add(st, b->data, b->len);
    b->len = 0;
}

void reload_print_make(struct reload_print *p, const struct cw_config *cfg)
{
    memset(p, 0, sizeof *p);
    p->n_endpoints = cfg->n_endpoints;
    p->slots = cfg->workers > 0 ? (unsigned)cfg->workers : 0;
    p->shards = cw_xcalloc((size_t)p->slots + 1, sizeof *p->shards);
    p->modules = cw_xcalloc((size_t)p->slots + 1, sizeof *p->modules);
    p->urls = cw_xcalloc(cfg->n_endpoints + 1, sizeof *p->urls);
    /* one stream per shard and per reader: each endpoint's bytes are self-delimiting, so a stream is its sequence */
    struct fp_state *shard = cw_xcalloc((size_t)p->slots + 1, sizeof *shard), reader[3];
    for (unsigned s = 0; s < p->slots; s++) fp_init(&shard[s], SEED_WORKER);
    uint64_t n = cfg->n_endpoints;
    for (int r = READER_STORER; r <= READER_WEB; r++) {
        fp_init(&reader[r], SEED_READER + (uint64_t)r);
        fp_add(&reader[r], &n, sizeof n);
    }
    bool groups = cfg->n_maintenance > 0;
    struct cw_buf b = { 0 };
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct cw_endpoint *e = &cfg->endpoints[i];
        p->urls[i] = fp_bytes(e->url, strlen(e->url), SEED_URL).lo;
        if (p->slots && config_endpoint_at(e, cfg->location)) { /* a worker reads only its location's */
            unsigned s = cw_shard_of(e->url, p->slots);
            reload_endpoint_put(&b, e);
            stream(&shard[s], &b);
            if (e->type == CW_CHECK_ICMP) p->modules[s] |= RELOAD_SHARD_ICMP;
            if (e->type == CW_CHECK_PUSH) p->modules[s] |= RELOAD_SHARD_PUSH;
        }
        for (int r = READER_STORER; r <= READER_WEB; r++) {
            put_view(&b, e, (enum reader)r, r == READER_ALERTER || groups);
            stream(&reader[r], &b);
        }
    }
    for (unsigned s = 0; s < p->slots; s++) p->shards[s] = fp_end(&shard[s]);
    for (int r = READER_STORER; r <= READER_WEB; r++) p->readers[r] = fp_end(&reader[r]);
    if (b.data) explicit_bzero(b.data, b.cap); /* a push token, a client key's password */
    explicit_bzero(shard, ((size_t)p->slots + 1) * sizeof *shard); /* their tails: bytes of those */
    explicit_bzero(reader, sizeof reader);
    free(shard);
    cw_buf_free(&b);
}

void reload_print_free(struct reload_print *p)
{
    free(p->shards);
    free(p->modules);
    free(p->urls);
    memset(p, 0, sizeof *p);
}

size_t reload_print_bytes(const struct reload_print *p)
{
    return sizeof *p + ((size_t)p->slots + 1) * (sizeof *p->shards + sizeof *p->modules) +
           (p->n_endpoints + 1) * sizeof *p->urls;
}

void reload_print_shards(const struct reload_print *a, const struct reload_print *b, unsigned slots, bool *changed)
{
    for (unsigned s = 0; s < slots; s++)
        changed[s] = a->slots != slots || b->slots != slots || !fp_eq(a->shards[s], b->shards[s]);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* The URL fingerprints of p that are not at the same index in other (all of them past other's end), sorted; *n their
 * count. A reload that edits a few endpoints sorts a few, not every one. */
static uint64_t *sorted_urls(const struct reload_print *p, const struct reload_print *other, size_t *n)
{
    uint64_t *v = cw_xcalloc(p->n_endpoints + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < p->n_endpoints; i++)
        if (i >= other->n_endpoints || p->urls[i] != other->urls[i]) v[k++] = p->urls[i];
    qsort(v, k, sizeof *v, cmp_u64);
    *n = k;
    return v;
}

void reload_print_count(const struct reload_print *a, const struct reload_print *b, size_t *added, size_t *removed)
{
    size_t na, nb;
    uint64_t *va = sorted_urls(a, b, &na), *vb = sorted_urls(b, a, &nb);
    size_t i = 0, j = 0, add = 0, rem = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && va[i] == vb[j]) {
            i++;
            j++;
        } else if (j == nb || (i < na && va[i] < vb[j])) {
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

void reload_print_readers(const struct cw_config *a, const struct reload_print *pa, const struct cw_config *b,
                          const struct reload_print *pb, struct reload_readers *out)
{
    bool curve = reload_curve_changed(a, b);
    struct reload_reader_diff *d[3] = { &out->storer, &out->alerter, &out->web };
    for (int r = READER_STORER; r <= READER_WEB; r++)
        *d[r] = (struct reload_reader_diff){ globals_changed(a, b, (enum reader)r) || curve,
                                             !fp_eq(pa->readers[r], pb->readers[r]) };
}

/* ---- the same for two whole configurations (tests, bench/reload_cpu): their fingerprints made and compared */

void reload_changed_shards(const struct cw_config *a, const struct cw_config *b, unsigned slots, bool *changed)
{
    struct reload_print pa, pb;
    reload_print_make(&pa, a);
    reload_print_make(&pb, b);
    if (pa.slots != slots || pb.slots != slots) { /* shards of another count than the files': not the supervisor's */
        struct cw_config va = *a, vb = *b;
        va.workers = vb.workers = (int)slots;
        reload_print_free(&pa);
        reload_print_free(&pb);
        reload_print_make(&pa, &va);
        reload_print_make(&pb, &vb);
    }
    reload_print_shards(&pa, &pb, slots, changed);
    reload_print_free(&pa);
    reload_print_free(&pb);
}

void reload_count_endpoints(const struct cw_config *a, const struct cw_config *b, size_t *added, size_t *removed)
{
    struct reload_print pa, pb;
    reload_print_make(&pa, a);
    reload_print_make(&pb, b);
    reload_print_count(&pa, &pb, added, removed);
    reload_print_free(&pa);
    reload_print_free(&pb);
}

void reload_readers_diff(const struct cw_config *a, const struct cw_config *b, struct reload_readers *out)
{
    struct reload_print pa, pb;
    reload_print_make(&pa, a);
    reload_print_make(&pb, b);
    reload_print_readers(a, &pa, b, &pb, out);
    reload_print_free(&pa);
    reload_print_free(&pb);
}

bool reload_storer_changed(const struct cw_config *a, const struct cw_config *b)
{
    struct reload_readers d;
    reload_readers_diff(a, b, &d);
    return d.storer.globals || d.storer.endpoints;
}

bool reload_alerter_changed(const struct cw_config *a, const struct cw_config *b)
{
    struct reload_readers d;
    reload_readers_diff(a, b, &d);
    return d.alerter.globals || d.alerter.endpoints;
}

bool reload_pipeline_changed(const struct cw_config *a, const struct cw_config *b)
{
    return reload_storer_changed(a, b) || reload_alerter_changed(a, b);
}

bool reload_web_changed(const struct cw_config *a, const struct cw_config *b)
{
    struct reload_readers d;
    reload_readers_diff(a, b, &d);
    return d.web.globals || d.web.endpoints;
}
