/* common/config/config_endpoints.c — the `monitor` section (see config_endpoints.h): its defaults and the list of
 * endpoints, each checked key by key, with duplicate URLs, names, web IDs and push tokens found through sets of
 * indexes (config_keyset.h). 500,000 endpoints must load in well under a second: no O(n^2) pass, no malloc per
 * endpoint (strings go to the config's arena; each set is two arrays sized once). */
#include "common/config/config_check.h"
#include "common/config/config_endpoints.h"
#include "common/config/config_ep.h"
#include "common/config/config_keyset.h"
#include "common/config/config_secrets.h"
#include "common/config/config_spec.h"
#include "common/config/config_web.h"
#include "common/wire/protocol.h"
#include "common/base/util.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_INTERVAL 86400.0 /* a day */
#define MIN_INTERVAL 0.1     /* a check every 100 ms at most: below, a typo (0.0000001) would spin a worker */
#define MAX_TIMEOUT 3600.0
#define MIN_TIMEOUT 0.01 /* libcurl's multi interface cannot cut a transfer near its 1 ms resolution */
#define MAX_LATENCY 3600.0
#define MAX_THRESHOLD 1000000
#define MAX_LIST 64 /* entries of a list key */
#define DEFAULT_ICMP_COUNT 3
#define DEFAULT_PACKET_INTERVAL 0.2
#define DEFAULT_MAX_LOSS 99.0
#define DEFAULT_TIMEOUT 10.0
#define DEFAULT_ALERT_THRESHOLD 3

static const char *const monitor_keys[] = { "check_interval", "latency_threshold", "tls_expiry_days", "endpoints",
                                            NULL };

/* v holds a byte below 0x20 or 0x7f. */
static bool has_control(const char *v)
{
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return true;
    return false;
}

/* The sets of what must be unique among the endpoints, each entry by the endpoint's index in cfg->endpoints. The
 * URL's key: the URL with its scheme and host in lower case (they are case-insensitive: HTTP://Example.com/a is
 * http://example.com/a), or the check's key (identity_key). */
struct seen_tables {
    struct cfg_keyset urls, names, ids, tokens;
};

/* The URL with its scheme and host (not its userinfo, path or query) in lower case: url itself when they are
 * already (nearly always: no copy), else a copy in the arena. */
static const char *url_key(struct cw_arena *arena, const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep) return url;
    const char *auth = sep + 3, *end = auth + strcspn(auth, "/?#"), *at = memchr(auth, '@', (size_t)(end - auth));
    bool lowered = true;
    for (const char *c = url; c < sep && lowered; c++) lowered = tolower((unsigned char)*c) == (unsigned char)*c;
    for (const char *c = at ? at + 1 : auth; c < end && lowered; c++)
        lowered = tolower((unsigned char)*c) == (unsigned char)*c;
    if (lowered) return url;
    char *k = cw_arena_strdup(arena, url);
    for (char *c = k; c < k + (sep - url); c++) *c = (char)tolower((unsigned char)*c);
    for (char *c = k + ((at ? at + 1 : auth) - url); c < k + (end - url); c++) *c = (char)tolower((unsigned char)*c);
    return k;
}

/* What duplicates are found by: an HTTP URL's url_key, a push check's key as it is (its name), the others' key in
 * lower case (host names and DNS names are case-insensitive). */
static const char *identity_key(struct cw_arena *arena, const struct cw_endpoint *ep)
{
    if (ep->type == CW_CHECK_HTTP) return url_key(arena, ep->url);
    char *k = cw_arena_strdup(arena, ep->url);
    if (ep->type != CW_CHECK_PUSH)
        for (char *c = k; *c; c++) *c = (char)tolower((unsigned char)*c);
    return k;
}

/* The entry of key in set, or -1; *hash gets key's hash (for the cfg_keyset_add that follows when it is kept).
 * The caller reports a duplicate (report_duplicate): its message is only made then, never for the 500,000
 * endpoints that are not one. */
static long seen_before(const struct cfg_keyset *set, const char *key, uint64_t *hash)
{
    *hash = cfg_keyset_hash(key);
    return cfg_keyset_find(set, key, *hash);
}

/* Reports what (at `at`) as a duplicate of set's entry dup, naming where that was first. */
static void report_duplicate(struct cfg_parser *p, const struct cfg_keyset *set, long dup, const config_setting_t *at,
                             const char *what)
{
    char first[PATH_MAX + 32];
    cfgp_problem(p, at, "%s (first at %s)", what, cfgp_other_place(p, at, set->entry[dup].line, first, sizeof first));
}

/* Strings (one string or a list/array of them) into an arena vector. Returns false after reporting. */
bool cfgp_string_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, char ***out, size_t *n)
{
    char name[256];
    if (s->type == CONFIG_TYPE_STRING) {
        *out = cw_arena_alloc(p->arena, sizeof(char *));
        (*out)[0] = cw_arena_strdup(p->arena, config_setting_get_string(s));
        *n = 1;
        return true;
    }
    if (s->type != CONFIG_TYPE_ARRAY && s->type != CONFIG_TYPE_LIST) {
        cfgp_problem(p, s, "%s: expected a list of strings", cfgp_name(w, s, name, sizeof name));
        return false;
    }
    int len = config_setting_length(s);
    if (len > MAX_LIST) {
        cfgp_problem(p, s, "%s: at most %d entries (got %d)", cfgp_name(w, s, name, sizeof name), MAX_LIST, len);
        return false;
    }
    char **v = cw_arena_alloc(p->arena, (size_t)(len ? len : 1) * sizeof *v);
    for (int i = 0; i < len; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (e->type != CONFIG_TYPE_STRING) {
            cfgp_problem(p, e, "%s[%d]: expected a string", cfgp_name(w, s, name, sizeof name), i);
            return false;
        }
        v[i] = cw_arena_strdup(p->arena, config_setting_get_string(e));
    }
    *out = v;
    *n = (size_t)len;
    return true;
}

/* A name or group: a non-empty string of at most CW_NAME_MAX bytes without control characters (it reaches
 * terminals — report, status —, pages, mail and webhooks verbatim), in the arena; NULL after reporting. */
static char *short_text(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s)
{
    char name[256];
    const char *v = cfgp_string(p, w, s, true);
    if (v && strlen(v) > CW_NAME_MAX) {
        cfgp_problem(p, s, "%s: longer than %d bytes", cfgp_name(w, s, name, sizeof name), CW_NAME_MAX);
        return NULL;
    }
    if (v && has_control(v)) {
        cfgp_problem(p, s, "%s: contains a control character (a byte below 0x20 or 0x7f)",
                     cfgp_name(w, s, name, sizeof name));
        return NULL;
    }
    return v ? cw_arena_strdup(p->arena, v) : NULL;
}

/* One key of an endpoint: refused when it belongs to no type or to another type; the common keys here, the
 * others by their family's parser (a table-like parser: one case per key). */
static void endpoint_key(struct cfg_parser *p, struct ep_parse *e, const config_setting_t *s, struct cw_endpoint *ep)
{
    struct cfg_where w = e->w;
    int key = cfgp_ep_key(s->name);
    if (key < 0) {
        cfgp_unknown(p, w, s);
        return;
    }
    if (!cfgp_ep_key_of(key, ep->type)) {
        const char *tn = config_check_type_name(ep->type);
        cfgp_problem(p, s, "monitor.endpoints[%ld]: '%s' is not a key of %s %s check", e->idx, s->name,
                     tn[0] == 'h' || tn[0] == 'i' ? "an" : "a", tn);
        return;
    }
    e->at[key] = s;
    switch (key) {
    case EPK_TYPE:
        break; /* read first, by endpoint_type */
    case EPK_NAME:
        ep->name = short_text(p, w, s);
        break;
    case EPK_TIMEOUT:
        e->has_timeout = cfgp_seconds_from(p, w, s, MIN_TIMEOUT, MAX_TIMEOUT, &ep->timeout);
        break;
    case EPK_ALERT_THRESHOLD:
        cfgp_int(p, w, s, 1, MAX_THRESHOLD, &ep->alert_threshold);
        break;
    case EPK_RECOVERY_THRESHOLD:
        cfgp_int(p, w, s, 1, MAX_THRESHOLD, &ep->recovery_threshold);
        break;
    case EPK_CHECK_INTERVAL:
        cfgp_seconds_from(p, w, s, MIN_INTERVAL, MAX_INTERVAL, &ep->interval);
        break;
    case EPK_LATENCY_THRESHOLD:
        cfgp_seconds(p, w, s, 0, MAX_LATENCY, &ep->latency_threshold);
        break;
    case EPK_GROUP:
        ep->group = short_text(p, w, s);
        break;
    case EPK_NOTIFY:
    case EPK_SEVERITY:
    case EPK_DEPENDS_ON:
    case EPK_ESCALATE:
    case EPK_FLAP_WINDOW:
    case EPK_FLAP_HIGH:
    case EPK_FLAP_LOW:
    case EPK_LOCATIONS:
    case EPK_QUORUM:
        break; /* cfgp_alerting (config_routing.c), once every channel and location is known */
    default:
        if (!cfgp_http_key(p, e, s, key, ep)) cfgp_type_key(p, e, s, key, ep);
    }
}

/* The endpoint's `type` (http when not set); false after reporting a bad one. */
static bool endpoint_type(struct cfg_parser *p, struct ep_parse *e, struct cw_endpoint *ep)
{
    static const char *const names[] = { "http", "tcp", "tls", "dns", "icmp", "push" };
    const config_setting_t *s = config_setting_get_member(e->g, "type");
    ep->type = CW_CHECK_HTTP;
    if (!s) return true;
    int t = cfgp_one_of(p, e->w, s, names, CW_CHECK_TYPE_MAX + 1, "http, tcp, tls, dns, icmp, push");
    if (t < 0) return false;
    ep->type = (enum cw_check_type)t;
    return true;
}

/* The endpoint's keys into ep and its scratch spec (ep->spec). */
static void endpoint_read(struct cfg_parser *p, const config_setting_t *g, long idx, struct cw_endpoint *ep)
{
    struct cw_config *cfg = p->cfg;
    struct ep_parse e = { .w = { "monitor.endpoints", idx }, .idx = idx, .g = g };
    char name[256];

    CFGP_SPEC(ep)->method = CW_METHOD_GET;
    ep->interval = cfg->check_interval;
    ep->latency_threshold = cfg->latency_threshold;
    ep->alert_threshold = DEFAULT_ALERT_THRESHOLD;
    ep->recovery_threshold = cfg->recovery_threshold;
    CFGP_SPEC(ep)->verify_tls = true;
    CFGP_SPEC(ep)->follow_redirects = false;
    ep->depends_on_idx = -1;
    ep->severity = CW_SEV_CRITICAL;

    if (g->type != CONFIG_TYPE_GROUP) {
        cfgp_problem(p, g, "monitor.endpoints[%ld]: expected a group { url = \"...\"; ... }", idx);
        return;
    }
    if (!endpoint_type(p, &e, ep)) return;
    if (ep->type == CW_CHECK_DNS) CFGP_SPEC(ep)->record_type = 1; /* A */
    if (ep->type == CW_CHECK_ICMP) {
        CFGP_SPEC(ep)->icmp_count = DEFAULT_ICMP_COUNT;
        CFGP_SPEC(ep)->packet_interval = DEFAULT_PACKET_INTERVAL;
        CFGP_SPEC(ep)->max_loss = DEFAULT_MAX_LOSS;
    }
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) endpoint_key(p, &e, config_setting_get_elem(g, (unsigned)i), ep);
    const config_setting_t *timeout = e.at[EPK_TIMEOUT];
    if (e.has_timeout && ep->timeout > ep->interval)
        cfgp_problem(p, timeout, "%s: %g s is longer than the check interval (%g s)",
                     cfgp_name(e.w, timeout, name, sizeof name), ep->timeout, ep->interval);
    if (!e.has_timeout) ep->timeout = DEFAULT_TIMEOUT < ep->interval ? DEFAULT_TIMEOUT : ep->interval;
    if (ep->type == CW_CHECK_HTTP) cfgp_http_finish(p, &e, ep);
    else cfgp_type_finish(p, &e, ep);
}

/* One endpoint: read with its strings in the scratch arena, then its own strings copied into the config's arena and
 * its spec interned there (issue 18: a spec equal to one kept leaves nothing behind). */
static void endpoint(struct cfg_parser *p, const config_setting_t *g, long idx, struct cw_endpoint *ep)
{
    struct cw_check_spec sp = { 0 };
    struct cw_arena *kept = p->arena;
    cw_arena_reset(p->scratch);
    p->arena = p->scratch;
    ep->spec = &sp;
    endpoint_read(p, g, idx, ep);
    p->arena = kept;
    char **own[] = { &ep->url, &ep->name, &ep->group, &ep->host, &ep->push_token };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) *own[i] = cw_arena_strdup(kept, *own[i]);
    ep->spec = cw_spec_set_intern(p->specs, kept, &sp);
}

/* The setting a duplicate of ep is reported at: its url, or what its key was made of. */
static const config_setting_t *key_setting(const struct cw_endpoint *ep, const config_setting_t *g)
{
    const config_setting_t *at = config_setting_get_member(g, ep->type == CW_CHECK_HTTP   ? "url"
                                                              : ep->type == CW_CHECK_PUSH ? "name"
                                                                                          : "host");
    return at ? at : g;
}

static bool same_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    if (!a || !b) return a == b;
    return na == nb && memcmp(a, b, na) == 0;
}

static bool same_text(const char *a, const char *b) { return same_bytes(a, a ? strlen(a) : 0, b, b ? strlen(b) : 0); }

/* Whether two checks of one type and key differ in what they send or expect (the checks beyond HTTP). */
static bool expect_other_things(const struct cw_endpoint *a, const struct cw_endpoint *b)
{
    switch (a->type) {
    case CW_CHECK_TCP:
        return !same_bytes(a->spec->send, a->spec->send_len, b->spec->send, b->spec->send_len) ||
               !same_text(a->spec->expect, b->spec->expect);
    case CW_CHECK_TLS:
        return a->spec->min_cert_days != b->spec->min_cert_days;
    case CW_CHECK_DNS:
        if (a->spec->expect_rcode != b->spec->expect_rcode || a->spec->n_expect_answers != b->spec->n_expect_answers)
            return true;
        for (size_t i = 0; i < a->spec->n_expect_answers; i++)
            if (!same_text(a->spec->expect_answers[i], b->spec->expect_answers[i])) return true;
        return false;
    case CW_CHECK_ICMP:
        return a->spec->icmp_count != b->spec->icmp_count || a->spec->packet_interval != b->spec->packet_interval ||
               a->spec->max_loss != b->spec->max_loss;
    default:
        return false;
    }
}

/* Two tcp, tls, dns or icmp checks of one key that send or expect other things are two checks: the later one's
 * key gets "#NAME" (docs/config.md "Check types"). Returns the key to use. */
static const char *distinct_key(struct cfg_parser *p, struct cw_arena *keys, const struct cfg_keyset *urls,
                                struct cw_endpoint *ep, const char *key)
{
    if (ep->type == CW_CHECK_HTTP || ep->type == CW_CHECK_PUSH || !ep->name) return key; /* before the lookup */
    long first = cfg_keyset_find(urls, key, cfg_keyset_hash(key));
    if (first < 0) return key;
    const struct cw_endpoint *other = &p->cfg->endpoints[first];
    if (other->type != ep->type || !expect_other_things(other, ep)) return key;
    size_t n = strlen(ep->url) + strlen(ep->name) + 2;
    char *url = cw_arena_alloc(p->arena, n);
    snprintf(url, n, "%s#%s", ep->url, ep->name);
    ep->url = url;
    return url_key(keys, url);
}

/* An endpoint's web ID (config_web.h) and its hash, made with its URL's key: the lookups of both then wait for
 * memory together (two sets of 8 MiB at 500,000 endpoints, probed at random). len 0: none (no letter or digit). */
struct web_id {
    char id[CW_SLUG_MAX + 1];
    size_t len;
    uint64_t hash;
};

static void web_id_of(const struct cfg_keyset *ids, const struct cw_endpoint *ep, struct web_id *w)
{
    w->len = cw_endpoint_slug(ep->name, ep->url, w->id, sizeof w->id);
    if (!w->len) return;
    w->hash = cfg_keyset_hash(w->id);
    cfg_keyset_prefetch(ids, w->hash);
}

/* The endpoint just parsed into eps[kept] is a duplicate (of its URL or key, of its name or of its push token):
 * reported, true. Otherwise its URL's key, name and token are added to the sets (looked up first, added only
 * when it is kept: nothing to take back), false. */
static bool duplicate(struct cfg_parser *p, struct cw_arena *keys, struct seen_tables *t, size_t kept, size_t i,
                      const config_setting_t *g, struct web_id *wid)
{
    struct cw_endpoint *ep = &p->cfg->endpoints[kept];
    char what[CW_URL_MAX + 128], masked[CW_URL_MAX + 1];
    const char *key = distinct_key(p, keys, &t->urls, ep, identity_key(keys, ep));
    if (p->cfg->web_enabled) web_id_of(&t->ids, ep, wid); /* its ID is of the URL just settled */
    const config_setting_t *at = key_setting(ep, g), *name_at = g, *token_at = g;
    uint64_t hu, hn = 0, ht = 0;
    long dup = seen_before(&t->urls, key, &hu);
    if (dup >= 0) {
        cw_mask_url(ep->url, masked, sizeof masked);
        if (ep->type == CW_CHECK_HTTP)
            snprintf(what, sizeof what, "monitor.endpoints[%zu].url: duplicate url '%.200s'", i, masked);
        else
            snprintf(what, sizeof what, "monitor.endpoints[%zu]: the same %s check as another (its key '%.200s')", i,
                     config_check_type_name(ep->type), masked);
        report_duplicate(p, &t->urls, dup, at, what);
        return true;
    }
    if (ep->name) {
        const config_setting_t *s = config_setting_get_member(g, "name");
        if (s) name_at = s;
        if ((dup = seen_before(&t->names, ep->name, &hn)) >= 0) {
            snprintf(what, sizeof what, "monitor.endpoints[%zu].name: duplicate name '%.200s'", i, ep->name);
            report_duplicate(p, &t->names, dup, name_at, what);
            return true;
        }
    }
    if (ep->push_token) {
        const config_setting_t *s = config_setting_get_member(g, "token");
        if (!s) s = config_setting_get_member(g, "token_file");
        if (s) token_at = s;
        if ((dup = seen_before(&t->tokens, ep->push_token, &ht)) >= 0) {
            snprintf(what, sizeof what, "monitor.endpoints[%zu]: the same push token as another push check", i);
            report_duplicate(p, &t->tokens, dup, token_at, what);
            return true;
        }
    }
    cfg_keyset_add(&t->urls, key, hu, kept, at->line);
    if (ep->name) cfg_keyset_add(&t->names, ep->name, hn, kept, name_at->line);
    if (ep->push_token) cfg_keyset_add(&t->tokens, ep->push_token, ht, kept, token_at->line);
    return false;
}

/* With the web on, the endpoint's ID (config_web.h) must be its own: two IDs alike are reported. */
static void web_id_unique(struct cfg_parser *p, struct cw_arena *keys, struct cfg_keyset *ids, size_t kept,
                          const struct web_id *wid, const struct cw_endpoint *ep, size_t i, const config_setting_t *g)
{
    char what[256];
    const char *id = wid->id;
    const config_setting_t *at = config_setting_get_member(g, ep->name ? "name" : "url");
    if (wid->len == 0) {
        cfgp_problem(p, at ? at : g, "monitor.endpoints[%zu]: no letter or digit for its web ID; give it a name", i);
        return;
    }
    long dup = cfg_keyset_find(ids, id, wid->hash);
    if (dup < 0) {
        cfg_keyset_add(ids, cw_arena_strndup(keys, id, wid->len), wid->hash, kept, (at ? at : g)->line);
        return;
    }
    snprintf(what, sizeof what,
             "monitor.endpoints[%zu]: its web ID '%s' is another endpoint's too; rename one of them (docs/web.md)", i,
             id);
    report_duplicate(p, ids, dup, at ? at : g, what);
}

static void endpoints(struct cfg_parser *p, const config_setting_t *s)
{
    struct cw_config *cfg = p->cfg;
    if (s->type != CONFIG_TYPE_LIST) {
        cfgp_problem(p, s, "monitor.endpoints: expected a list of groups ( { url = \"...\"; }, ... )");
        return;
    }
    size_t n = (size_t)config_setting_length(s);
    cfg->endpoints = cw_arena_alloc(p->arena, (n ? n : 1) * sizeof *cfg->endpoints);
    struct seen_tables t;
    cfg_keyset_init(&t.urls, n);
    cfg_keyset_init(&t.names, n);
    cfg_keyset_init(&t.ids, n);
    cfg_keyset_init(&t.tokens, n);
    struct cw_arena *keys = cw_arena_new();
    size_t kept = 0;
    p->ep_groups = cw_arena_alloc(p->arena, (n ? n : 1) * sizeof *p->ep_groups);
    p->ep_index = cw_arena_alloc(p->arena, (n ? n : 1) * sizeof *p->ep_index);
    p->specs = cw_spec_set_new();
    p->scratch = cw_arena_new();
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        struct cw_endpoint *ep = &cfg->endpoints[kept];
        memset(ep, 0, sizeof *ep);
        endpoint(p, g, (long)i, ep);
        struct web_id wid;
        if (!ep->url || duplicate(p, keys, &t, kept, i, g, &wid)) continue;
        if (cfg->web_enabled) web_id_unique(p, keys, &t.ids, kept, &wid, ep, i, g);
        p->ep_index[kept] = (long)i;
        p->ep_groups[kept++] = g;
    }
    cfg_keyset_free(&t.ids);
    cfg_keyset_free(&t.urls);
    cfg_keyset_free(&t.names);
    cfg_keyset_free(&t.tokens);
    cw_arena_free(keys);
    cw_arena_reset(p->scratch); /* zeroed: it held the last endpoint's secrets */
    cw_arena_free(p->scratch);
    p->scratch = NULL;
    cw_spec_set_free(p->specs);
    p->specs = NULL;
    cfg->n_endpoints = kept;
}

void cfgp_monitor(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "monitor", -1 };
    const config_setting_t *list = NULL;
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        switch (cfgp_key(monitor_keys, s->name)) {
        case 0:
            cfgp_seconds_from(p, w, s, MIN_INTERVAL, MAX_INTERVAL, &cfg->check_interval);
            break;
        case 1:
            cfgp_seconds(p, w, s, 0, MAX_LATENCY, &cfg->latency_threshold);
            break;
        case 2:
            cfgp_int(p, w, s, 0, 3650, &cfg->tls_expiry_days);
            break;
        case 3:
            list = s;
            break;
        default:
            cfgp_unknown(p, w, s);
        }
    }
    if (list) endpoints(p, list);
}
