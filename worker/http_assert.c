/* worker/http_assert.c — the extras of an HTTP endpoint compiled at worker start and the assertions judged on
 * what a check saw (see http_assert.h); the conditions' comparisons are in http_cond.c. */
#include "worker/http_assert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "common/base/log.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"
#include "worker/http_cond.h"
#include "worker/http_json.h"

struct http_assert {
    const struct cw_endpoint *ep;
    pcre2_match_context *mctx;
    pcre2_match_data *md;
    pcre2_code **body_re;   /* n_body_regex */
    pcre2_code **absent_re; /* n_body_regex_absent */
    pcre2_code **json_re;   /* per json condition: its `~` pattern, else NULL */
    pcre2_code **header_re; /* per header condition */
    struct curl_slist *connect_to;
};

bool http_assert_wanted(const struct cw_endpoint *ep)
{
    return ep->spec->n_status_ranges || ep->spec->n_keywords || ep->spec->n_keywords_absent || ep->spec->n_body_regex ||
           ep->spec->n_body_regex_absent || ep->spec->n_json_conditions || ep->spec->n_header_conditions ||
           ep->spec->max_response_time > 0 || ep->spec->min_cert_days > 0 || ep->spec->http_version != CW_HTTP_ANY ||
           ep->spec->fail_if_not_tls || ep->spec->compressed || ep->spec->client_cert || ep->spec->proxy ||
           ep->spec->address || ep->spec->cookies ||
           (ep->spec->method != CW_METHOD_GET && ep->spec->method != CW_METHOD_HEAD &&
            ep->spec->method != CW_METHOD_POST);
}

/* Compiles each of n patterns into out (allocated); -1 with the reason in err. */
static int compile_all(char *const *patterns, size_t n, pcre2_code ***out, const char *key, char *err, size_t errlen)
{
    *out = n ? cw_xcalloc(n, sizeof **out) : NULL;
    for (size_t i = 0; i < n; i++)
        if (!patterns[i] || !((*out)[i] = http_regex_compile(patterns[i], key, err, errlen))) return -1;
    return 0;
}

static int compile_conditions(const struct cw_condition *c, size_t n, pcre2_code ***out, const char *key, char *err,
                              size_t errlen)
{
    *out = n ? cw_xcalloc(n, sizeof **out) : NULL;
    for (size_t i = 0; i < n; i++)
        if (c[i].op == CW_OP_MATCHES &&
            !((*out)[i] = http_regex_compile(c[i].value ? c[i].value : "", key, err, errlen)))
            return -1;
    return 0;
}

/* "host::addr:" — the URL's host on any port goes to the pinned address, same port ([v6] in brackets). */
static struct curl_slist *connect_to_new(const struct cw_endpoint *ep)
{
    CURLU *u = curl_url();
    char *host = NULL;
    struct curl_slist *list = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, ep->url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        bool v6 = strchr(ep->spec->address, ':') != NULL && ep->spec->address[0] != '[';
        char line[600];
        snprintf(line, sizeof line, "%s::%s%s%s:", host, v6 ? "[" : "", ep->spec->address, v6 ? "]" : "");
        list = curl_slist_append(NULL, line);
        if (!list) fatal(1, "out of memory for the pinned address");
    }
    curl_free(host);
    curl_url_cleanup(u);
    return list;
}

int http_assert_new(const struct cw_endpoint *ep, struct http_assert **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!http_assert_wanted(ep)) return 0;
    struct http_assert *a = cw_xcalloc(1, sizeof *a);
    a->ep = ep;
    if (compile_all(ep->spec->body_regex, ep->spec->n_body_regex, &a->body_re, "body_regex", err, errlen) != 0 ||
        compile_all(ep->spec->body_regex_absent, ep->spec->n_body_regex_absent, &a->absent_re, "body_regex_absent", err,
                    errlen) != 0 ||
        compile_conditions(ep->spec->json_conditions, ep->spec->n_json_conditions, &a->json_re, "json", err, errlen) !=
            0 ||
        compile_conditions(ep->spec->header_conditions, ep->spec->n_header_conditions, &a->header_re,
                           "header_conditions", err, errlen) != 0) {
        http_assert_free(a);
        return -1;
    }
    a->mctx = pcre2_match_context_create(NULL);
    a->md = pcre2_match_data_create(1, NULL);
    if (!a->mctx || !a->md) fatal(1, "out of memory for the regexes of %s", ep->url);
    pcre2_set_match_limit(a->mctx, HTTP_ASSERT_MATCH_LIMIT);
    pcre2_set_depth_limit(a->mctx, HTTP_ASSERT_DEPTH_LIMIT);
    if (ep->spec->address) a->connect_to = connect_to_new(ep);
    *out = a;
    return 0;
}

static void free_codes(pcre2_code **codes, size_t n)
{
    if (!codes) return;
    for (size_t i = 0; i < n; i++) pcre2_code_free(codes[i]);
    free(codes);
}

void http_assert_free(struct http_assert *a)
{
    if (!a) return;
    free_codes(a->body_re, a->ep->spec->n_body_regex);
    free_codes(a->absent_re, a->ep->spec->n_body_regex_absent);
    free_codes(a->json_re, a->ep->spec->n_json_conditions);
    free_codes(a->header_re, a->ep->spec->n_header_conditions);
    pcre2_match_context_free(a->mctx);
    pcre2_match_data_free(a->md);
    curl_slist_free_all(a->connect_to);
    free(a);
}

bool http_assert_needs_body(const struct http_assert *a)
{
    return a && (a->ep->spec->n_body_regex || a->ep->spec->n_body_regex_absent || a->ep->spec->n_json_conditions);
}
bool http_assert_needs_headers(const struct http_assert *a) { return a && a->ep->spec->n_header_conditions; }
struct curl_slist *http_assert_connect_to(const struct http_assert *a) { return a ? a->connect_to : NULL; }

/* ---- status */

void http_status_wanted_text(const struct cw_endpoint *ep, char *out, size_t outlen)
{
    struct cw_buf b = { 0 };
    for (size_t i = 0; i < ep->spec->n_status_ranges; i++) {
        const struct cw_status_range *r = &ep->spec->status_ranges[i];
        if (b.len) cw_buf_printf(&b, ", ");
        if (r->lo % 100 == 0 && r->hi == r->lo + 99) cw_buf_printf(&b, "%dxx", r->lo / 100);
        else cw_buf_printf(&b, "%d-%d", r->lo, r->hi);
    }
    for (size_t i = 0; i < ep->spec->n_expect_status; i++)
        cw_buf_printf(&b, "%s%d", b.len ? ", " : "", ep->spec->expect_status[i]);
    if (b.len) snprintf(out, outlen, "%.*s", (int)b.len, (const char *)b.data);
    else snprintf(out, outlen, "200-399");
    cw_buf_free(&b);
}

void http_size_text(size_t bytes, char *out, size_t outlen)
{
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) snprintf(out, outlen, "%zu MiB", bytes / (1024 * 1024));
    else if (bytes >= 1024 && bytes % 1024 == 0) snprintf(out, outlen, "%zu KiB", bytes / 1024);
    else snprintf(out, outlen, "%zu bytes", bytes);
}

/* ---- the failures of one check: the first one's text and how many */

struct failures {
    char *err;
    size_t errlen;
    unsigned n;
};

__attribute__((format(printf, 2, 3))) static void fail(struct failures *f, const char *fmt, ...)
{
    if (f->n++ > 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, f->errlen, fmt, ap);
    va_end(ap);
}

/* present: whether the keywords that must be there are judged (not on a body read only in part) */
static void check_keywords(const struct cw_endpoint *ep, const struct http_observed *o, bool present,
                           struct failures *f)
{
    char limit[32];
    http_size_text(o->body_limit, limit, sizeof limit);
    for (size_t i = 0; present && i < ep->spec->n_keywords; i++)
        if (!o->keyword_found || !o->keyword_found[i])
            fail(f, "keyword \"%.200s\" not found%s%s%s", ep->spec->keywords[i], o->body_capped ? " in the first " : "",
                 o->body_capped ? limit : "", o->body_capped ? " of the body" : "");
    for (size_t i = 0; i < ep->spec->n_keywords_absent; i++)
        if (o->absent_found && o->absent_found[i])
            fail(f, "keywords_absent \"%.200s\" found", ep->spec->keywords_absent[i]);
}

static void check_regexes(const struct http_assert *a, const struct http_observed *o, struct failures *f)
{
    const struct cw_endpoint *ep = a->ep;
    char limit[32];
    http_size_text(o->body_limit, limit, sizeof limit);
    const char *body = o->body ? o->body : "";
    for (size_t i = 0; i < ep->spec->n_body_regex; i++) {
        int rc = http_regex_match(a->body_re[i], body, o->body_len, a->mctx, a->md);
        if (rc == HTTP_RE_LIMIT) fail(f, "body_regex \"%.200s\" exceeded its match limit", ep->spec->body_regex[i]);
        else if (rc != HTTP_RE_MATCH)
            fail(f, "body_regex \"%.200s\" not found in the %s%s%s", ep->spec->body_regex[i],
                 o->body_capped ? "first " : "body", o->body_capped ? limit : "", o->body_capped ? " of the body" : "");
    }
    for (size_t i = 0; i < ep->spec->n_body_regex_absent; i++) {
        int rc = http_regex_match(a->absent_re[i], body, o->body_len, a->mctx, a->md);
        if (rc == HTTP_RE_LIMIT)
            fail(f, "body_regex_absent \"%.200s\" exceeded its match limit", ep->spec->body_regex_absent[i]);
        else if (rc == HTTP_RE_MATCH) fail(f, "body_regex_absent \"%.200s\" matched", ep->spec->body_regex_absent[i]);
    }
}

static void check_json(const struct http_assert *a, const struct http_observed *o, struct failures *f)
{
    const struct cw_endpoint *ep = a->ep;
    json_object *doc = NULL;
    char why[120];
    bool parsed =
        http_json_parse(o->body, o->body_len, o->body_capped, HTTP_ASSERT_JSON_DEPTH, &doc, why, sizeof why) == 0;
    for (size_t i = 0; i < ep->spec->n_json_conditions; i++) {
        const struct cw_condition *c = &ep->spec->json_conditions[i];
        if (!parsed) {
            fail(f, "json %.200s: the body is not JSON (%s)", c->text, why);
            continue;
        }
        json_object *v = NULL;
        bool found = http_json_at(doc, c->subject, &v);
        struct http_seen seen;
        http_seen_json(found ? v : NULL, found, &seen);
        char got[200];
        if (!http_cond_holds(c, a->json_re[i], a->mctx, a->md, &seen, got, sizeof got))
            fail(f, "json %.200s: %s", c->text, got);
    }
    json_object_put(doc);
}

static void check_headers(const struct http_assert *a, const struct http_observed *o, struct failures *f)
{
    const struct cw_endpoint *ep = a->ep;
    for (size_t i = 0; i < ep->spec->n_header_conditions; i++) {
        const struct cw_condition *c = &ep->spec->header_conditions[i];
        const char *value = NULL;
        bool found = o->header && o->header(o->header_ctx, c->subject, &value) == 0 && value;
        struct http_seen seen;
        http_seen_text(found ? value : NULL, &seen);
        char got[200];
        if (!http_cond_holds(c, a->header_re[i], a->mctx, a->md, &seen, got, sizeof got))
            fail(f, "header %.200s: %s", c->text, got);
    }
}

static const char *version_name(long v)
{
    switch (v) {
    case CURL_HTTP_VERSION_1_0:
        return "HTTP/1.0";
    case CURL_HTTP_VERSION_1_1:
        return "HTTP/1.1";
    case CURL_HTTP_VERSION_2_0:
        return "HTTP/2";
    case CURL_HTTP_VERSION_3:
        return "HTTP/3";
    }
    return "an unknown HTTP version";
}

static long wanted_version(enum cw_http_version v)
{
    return v == CW_HTTP_1_0 ? CURL_HTTP_VERSION_1_0 : v == CW_HTTP_1_1 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2_0;
}

/* Response time, certificate lifetime, HTTP version, TLS at the end. */
static void check_transfer(const struct cw_endpoint *ep, const struct http_observed *o, struct failures *f)
{
    if (ep->spec->max_response_time > 0 && (double)o->latency_us > ep->spec->max_response_time * 1e6)
        fail(f, "response time %.2f s > %g s", (double)o->latency_us / 1e6, ep->spec->max_response_time);
    bool tls = o->final_url && strncasecmp(o->final_url, "https://", 8) == 0;
    if (ep->spec->min_cert_days > 0 && tls && o->tls_expires_at_us > 0) {
        int64_t left_us = o->tls_expires_at_us - o->now_us;
        long long days = (long long)(left_us / (86400LL * 1000000));
        if (left_us < 0) fail(f, "TLS certificate expired (min_cert_days %d)", ep->spec->min_cert_days);
        else if (left_us < (int64_t)ep->spec->min_cert_days * 86400LL * 1000000)
            fail(f, "TLS certificate expires in %lld day%s (< %d)", days, days == 1 ? "" : "s",
                 ep->spec->min_cert_days);
    }
    if (ep->spec->http_version != CW_HTTP_ANY && o->http_version != wanted_version(ep->spec->http_version))
        fail(f, "%s (wanted %s)", version_name(o->http_version), version_name(wanted_version(ep->spec->http_version)));
    if (ep->spec->fail_if_not_tls && !tls) {
        char masked[300];
        cw_mask_url(o->final_url ? o->final_url : "", masked, sizeof masked);
        fail(f, "not TLS: the check ended on %s", masked);
    }
}

bool http_assert_check(const struct http_assert *a, const struct http_observed *o, char *err, size_t errlen)
{
    if (errlen) err[0] = '\0';
    if (!a) return true;
    const struct cw_endpoint *ep = a->ep;
    char first[CW_ERROR_MAX + 1] = "";
    struct failures f = { .err = first, .errlen = sizeof first };
    if (http_assert_needs_body(a) && o->body_refused) { /* first: nothing after the refusal was read */
        fail(&f, "%s", o->body_refused);
        check_keywords(ep, o, false, &f);
    } else {
        check_keywords(ep, o, true, &f);
        check_regexes(a, o, &f);
        if (ep->spec->n_json_conditions) check_json(a, o, &f);
    }
    check_headers(a, o, &f);
    check_transfer(ep, o, &f);
    if (f.n == 0) return true;
    if (f.n == 1) snprintf(err, errlen, "%s", first);
    else snprintf(err, errlen, "%.900s (and %u more)", first, f.n - 1);
    return false;
}
