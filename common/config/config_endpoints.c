/* common/config/config_endpoints.c — the `monitor` section (see config_endpoints.h): its defaults and the list of
 * endpoints, each checked key by key, with duplicate URLs found through a hash table (uthash, the project's
 * one hash table). 100,000 endpoints must load in a fraction of a second: no O(n^2) pass, no malloc per
 * endpoint (strings go to the config's arena; the table's entries are one array). */
#include "common/config/config_check.h"
#include "common/config/config_endpoints.h"
#include "common/config/config_secrets.h"
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

/* A Bloom filter of 2^20 bits (128 KiB) before the buckets: nearly every URL is new, and a miss that the
 * filter answers walks no bucket chain (100,000 endpoints load as fast as with the former open table). */
#define HASH_BLOOM 20
#include "common/base/hash.h"

#define MAX_INTERVAL 86400.0 /* a day */
#define MIN_INTERVAL 0.1     /* a check every 100 ms at most: below, a typo (0.0000001) would spin a worker */
#define MAX_TIMEOUT 3600.0
#define MIN_TIMEOUT 0.01 /* libcurl's multi interface cannot cut a transfer near its 1 ms resolution */
#define MAX_LATENCY 3600.0
#define MAX_THRESHOLD 1000000
#define MAX_LIST 64 /* headers, expect_status entries */
#define MAX_HEADER 8192
#define MAX_BODY (1024 * 1024)
#define DEFAULT_TIMEOUT 10.0
#define DEFAULT_ALERT_THRESHOLD 3

static const char *const monitor_keys[] = { "check_interval", "latency_threshold", "tls_expiry_days", "endpoints",
                                            NULL };

enum {
    EP_URL,
    EP_NAME,
    EP_TIMEOUT,
    EP_ALERT_THRESHOLD,
    EP_RECOVERY_THRESHOLD,
    EP_METHOD,
    EP_BODY,
    EP_EXPECT_STATUS,
    EP_CHECK_INTERVAL,
    EP_LATENCY_THRESHOLD,
    EP_VERIFY_TLS,
    EP_FOLLOW_REDIRECTS,
    EP_KEYWORD,
    EP_HEADERS,
    EP_CA_FILE,
    EP_GROUP
};
static const char *const endpoint_keys[] = { "url",
                                             "name",
                                             "timeout",
                                             "alert_threshold",
                                             "recovery_threshold",
                                             "method",
                                             "body",
                                             "expect_status",
                                             "check_interval",
                                             "latency_threshold",
                                             "verify_tls",
                                             "follow_redirects",
                                             "keyword",
                                             "headers",
                                             "ca_file",
                                             "group",
                                             NULL };

/* v holds a byte below 0x20 or 0x7f. */
static bool has_control(const char *v)
{
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return true;
    return false;
}

/* A URL or a name seen so far in monitor.endpoints, for duplicates. The key: the URL with its scheme and host in
 * lower case (they are case-insensitive: HTTP://Example.com/a is http://example.com/a), or the name. */
struct url_seen {
    UT_hash_handle hh;
    const char *key;
    unsigned line; /* of the setting that has it first, in the whole text */
};

/* The URL with its scheme and host (not its userinfo, path or query) in lower case, in the arena. */
static char *url_key(struct cw_arena *arena, const char *url)
{
    char *k = cw_arena_strdup(arena, url);
    char *host = strstr(k, "://");
    if (!host) return k;
    for (char *c = k; c < host; c++) *c = (char)tolower((unsigned char)*c);
    host += 3;
    size_t authority = strcspn(host, "/?#");
    char *at = memchr(host, '@', authority);
    char *from = at ? at + 1 : host;
    for (char *c = from; c < host + authority; c++) *c = (char)tolower((unsigned char)*c);
    return k;
}

/* Whether key was seen (reports the duplicate at `at`, naming where it was first); else remembers it. */
static bool seen_before(struct cfg_parser *p, struct url_seen **table, struct url_seen *slot, const char *key,
                        const config_setting_t *at, const char *what)
{
    struct url_seen *dup;
    unsigned len = (unsigned)strlen(key), hash;
    HASH_VALUE(key, len, hash);
    HASH_FIND_BYHASHVALUE(hh, *table, key, len, hash, dup);
    if (dup) {
        char first[PATH_MAX + 32];
        cfgp_problem(p, at, "%s (first at %s)", what, cfgp_other_place(p, at, dup->line, first, sizeof first));
        return true;
    }
    slot->key = key;
    slot->line = at->line;
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, *table, slot->key, len, hash, slot);
    return false;
}

/* Strings (one string or a list/array of them) into an arena vector. Returns false after reporting. */
static bool string_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, char ***out, size_t *n)
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

static bool status_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256];
    int len = 1;
    const config_setting_t *one = s;
    if (s->type == CONFIG_TYPE_ARRAY || s->type == CONFIG_TYPE_LIST) {
        len = config_setting_length(s);
        if (len == 0 || len > MAX_LIST) {
            cfgp_problem(p, s, "%s: expected 1 to %d status codes (got %d)", cfgp_name(w, s, name, sizeof name),
                         MAX_LIST, len);
            return false;
        }
        one = NULL;
    }
    int *codes = cw_arena_alloc(p->arena, (size_t)len * sizeof *codes);
    for (int i = 0; i < len; i++) {
        const config_setting_t *e = one ? one : config_setting_get_elem(s, (unsigned)i);
        if (e->type != CONFIG_TYPE_INT && e->type != CONFIG_TYPE_INT64) {
            cfgp_problem(p, e, "%s: expected a status code or a list of them (integers 100..599)",
                         cfgp_name(w, s, name, sizeof name));
            return false;
        }
        long long c = config_setting_get_int64(e);
        if (c < 100 || c > 599) {
            cfgp_problem(p, e, "%s: status code %lld is not between 100 and 599", cfgp_name(w, s, name, sizeof name),
                         c);
            return false;
        }
        codes[i] = (int)c;
    }
    ep->expect_status = codes;
    ep->n_expect_status = (size_t)len;
    return true;
}

/* monitor.endpoints[i].url: an http(s) URL; one with a password in it needs a private file. */
static void endpoint_url(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256], masked[CW_URL_MAX + 1];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    const char *why = cw_check_http_url(v);
    if (why) {
        cw_mask_url(v, masked, sizeof masked);
        cfgp_problem(p, s, "%s: '%.200s' %s", cfgp_name(w, s, name, sizeof name), masked, why);
        return;
    }
    if (cw_url_has_password(v)) cfgp_check_private(p, s, cfgp_name(w, s, name, sizeof name));
    ep->url = cw_arena_strdup(p->arena, v);
}

/* monitor.endpoints[i].headers: "Name: value" lines; one that carries a credential needs a private file. */
static void endpoint_headers(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s,
                             struct cw_endpoint *ep)
{
    char name[256];
    char **h;
    size_t nh;
    if (!string_list(p, w, s, &h, &nh)) return;
    bool ok = true;
    for (size_t j = 0; j < nh; j++) {
        const char *hw = strlen(h[j]) > MAX_HEADER ? "is longer than 8192 bytes" : cw_check_header(h[j]);
        if (hw) {
            /* only the header's name: its value may be a secret */
            cfgp_problem(p, s, "%s[%zu]: header line '%.*s...' %s", cfgp_name(w, s, name, sizeof name), j,
                         (int)strcspn(h[j], ":\r\n"), h[j], hw);
            ok = false;
        }
    }
    if (!ok) return;
    ep->headers = h;
    ep->n_headers = nh;
    for (size_t j = 0; j < nh; j++)
        if (cw_header_is_secret(h[j])) {
            cfgp_check_private(p, s, cfgp_name(w, s, name, sizeof name));
            break;
        }
}

/* The keys of one endpoint that later checks need to point at. */
struct endpoint_keys_at {
    const config_setting_t *url, *timeout, *body, *keyword;
    bool has_timeout;
};

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

/* One key of an endpoint (a table-like parser: one case per key). */
static void endpoint_key(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep,
                         struct endpoint_keys_at *at)
{
    char name[256];
    const char *v;
    switch (cfgp_key(endpoint_keys, s->name)) {
    case EP_URL:
        at->url = s;
        endpoint_url(p, w, s, ep);
        break;
    case EP_NAME:
        ep->name = short_text(p, w, s);
        break;
    case EP_TIMEOUT:
        at->timeout = s;
        at->has_timeout = cfgp_seconds_from(p, w, s, MIN_TIMEOUT, MAX_TIMEOUT, &ep->timeout);
        break;
    case EP_ALERT_THRESHOLD:
        cfgp_int(p, w, s, 1, MAX_THRESHOLD, &ep->alert_threshold);
        break;
    case EP_RECOVERY_THRESHOLD:
        cfgp_int(p, w, s, 1, MAX_THRESHOLD, &ep->recovery_threshold);
        break;
    case EP_METHOD:
        if (!(v = cfgp_string(p, w, s, true))) break;
        if (strcasecmp(v, "GET") == 0) ep->method = CW_METHOD_GET;
        else if (strcasecmp(v, "HEAD") == 0) ep->method = CW_METHOD_HEAD;
        else if (strcasecmp(v, "POST") == 0) ep->method = CW_METHOD_POST;
        else cfgp_problem(p, s, "%s: '%s' is not GET, HEAD or POST", cfgp_name(w, s, name, sizeof name), v);
        break;
    case EP_BODY:
        at->body = s;
        if (!(v = cfgp_string(p, w, s, false))) break;
        if (strlen(v) > MAX_BODY)
            cfgp_problem(p, s, "%s: longer than %d bytes", cfgp_name(w, s, name, sizeof name), MAX_BODY);
        else ep->body = cw_arena_strdup(p->arena, v);
        break;
    case EP_EXPECT_STATUS:
        status_list(p, w, s, ep);
        break;
    case EP_CHECK_INTERVAL:
        cfgp_seconds_from(p, w, s, MIN_INTERVAL, MAX_INTERVAL, &ep->interval);
        break;
    case EP_LATENCY_THRESHOLD:
        cfgp_seconds(p, w, s, 0, MAX_LATENCY, &ep->latency_threshold);
        break;
    case EP_VERIFY_TLS:
        cfgp_bool(p, w, s, &ep->verify_tls);
        break;
    case EP_FOLLOW_REDIRECTS:
        cfgp_bool(p, w, s, &ep->follow_redirects);
        break;
    case EP_KEYWORD:
        at->keyword = s;
        if ((v = cfgp_string(p, w, s, true))) ep->keyword = cw_arena_strdup(p->arena, v);
        break;
    case EP_HEADERS:
        endpoint_headers(p, w, s, ep);
        break;
    case EP_CA_FILE:
        ep->ca_file = cfgp_readable_file(p, w, s);
        break;
    case EP_GROUP:
        ep->group = short_text(p, w, s);
        break;
    default:
        cfgp_unknown(p, w, s);
    }
}

static void endpoint(struct cfg_parser *p, const config_setting_t *g, long idx, struct cw_endpoint *ep)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "monitor.endpoints", idx };
    struct endpoint_keys_at at = { 0 };
    char name[256];

    ep->method = CW_METHOD_GET;
    ep->interval = cfg->check_interval;
    ep->latency_threshold = cfg->latency_threshold;
    ep->alert_threshold = DEFAULT_ALERT_THRESHOLD;
    ep->recovery_threshold = cfg->recovery_threshold;
    ep->verify_tls = true;
    ep->follow_redirects = false;

    if (g->type != CONFIG_TYPE_GROUP) {
        cfgp_problem(p, g, "monitor.endpoints[%ld]: expected a group { url = \"...\"; ... }", idx);
        return;
    }
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) endpoint_key(p, w, config_setting_get_elem(g, (unsigned)i), ep, &at);
    if (!at.url) cfgp_problem(p, g, "monitor.endpoints[%ld]: missing url", idx);
    if (at.has_timeout && ep->timeout > ep->interval)
        cfgp_problem(p, at.timeout, "%s: %g s is longer than the check interval (%g s)",
                     cfgp_name(w, at.timeout, name, sizeof name), ep->timeout, ep->interval);
    if (!at.has_timeout) ep->timeout = DEFAULT_TIMEOUT < ep->interval ? DEFAULT_TIMEOUT : ep->interval;
    if (at.body && ep->method != CW_METHOD_POST)
        cfgp_problem(p, at.body, "%s: a body is only sent with method POST", cfgp_name(w, at.body, name, sizeof name));
    if (at.keyword && ep->method == CW_METHOD_HEAD)
        cfgp_problem(p, at.keyword, "%s: method HEAD has no body to search for the keyword",
                     cfgp_name(w, at.keyword, name, sizeof name));
}

/* The endpoint just parsed into eps[kept] is a duplicate (of its URL or of its name): reported, true. */
static bool duplicate(struct cfg_parser *p, struct cw_arena *keys, struct url_seen **urls, struct url_seen **names,
                      struct url_seen *slots, size_t kept, size_t i, const config_setting_t *g)
{
    const struct cw_endpoint *ep = &p->cfg->endpoints[kept];
    char what[CW_URL_MAX + 128], masked[CW_URL_MAX + 1];
    const config_setting_t *at = config_setting_get_member(g, "url");
    cw_mask_url(ep->url, masked, sizeof masked);
    snprintf(what, sizeof what, "monitor.endpoints[%zu].url: duplicate url '%.200s'", i, masked);
    if (seen_before(p, urls, &slots[3 * kept], url_key(keys, ep->url), at ? at : g, what)) return true;
    if (!ep->name) return false;
    at = config_setting_get_member(g, "name");
    snprintf(what, sizeof what, "monitor.endpoints[%zu].name: duplicate name '%.200s'", i, ep->name);
    if (!seen_before(p, names, &slots[3 * kept + 1], ep->name, at ? at : g, what)) return false;
    HASH_DELETE(hh, *urls, &slots[3 * kept]); /* the endpoint is not kept: neither is its URL */
    return true;
}

/* With the web on, the endpoint's ID (config_web.h) must be its own: two IDs alike are reported. */
static void web_id_unique(struct cfg_parser *p, struct cw_arena *keys, struct url_seen **ids, struct url_seen *slot,
                          const struct cw_endpoint *ep, size_t i, const config_setting_t *g)
{
    char id[CW_SLUG_MAX + 1], what[256];
    const config_setting_t *at = config_setting_get_member(g, ep->name ? "name" : "url");
    if (cw_endpoint_slug(ep->name, ep->url, id, sizeof id) == 0) {
        cfgp_problem(p, at ? at : g, "monitor.endpoints[%zu]: no letter or digit for its web ID; give it a name", i);
        return;
    }
    snprintf(what, sizeof what,
             "monitor.endpoints[%zu]: its web ID '%s' is another endpoint's too; rename one of them (docs/web.md)", i,
             id);
    seen_before(p, ids, slot, cw_arena_strdup(keys, id), at ? at : g, what);
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
    struct url_seen *slots = cw_xmalloc((n ? n : 1) * 3 * sizeof *slots), *by_url = NULL, *by_name = NULL;
    struct url_seen *by_id = NULL;
    struct cw_arena *keys = cw_arena_new();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        struct cw_endpoint *ep = &cfg->endpoints[kept];
        memset(ep, 0, sizeof *ep);
        endpoint(p, g, (long)i, ep);
        if (!ep->url || duplicate(p, keys, &by_url, &by_name, slots, kept, i, g)) continue;
        if (cfg->web_enabled) web_id_unique(p, keys, &by_id, &slots[3 * kept + 2], ep, i, g);
        kept++;
    }
    HASH_CLEAR(hh, by_id);
    HASH_CLEAR(hh, by_url);
    HASH_CLEAR(hh, by_name);
    cw_arena_free(keys);
    free(slots);
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
