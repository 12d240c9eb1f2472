/* worker/probe_extra.c — the request options, streaming matchers, body buffer and judgement of a check with
 * extras (see probe_extra.h). */
#include "worker/probe_extra.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/util.h"

size_t probe_body_len(const struct cw_endpoint *ep)
{
    if (!ep->spec->body) return 0;
    return ep->spec->body_len ? ep->spec->body_len : strlen(ep->spec->body);
}

void probe_extra_start(struct probe_extra *x, const struct cw_endpoint *ep, const struct http_assert *xa)
{
    x->xa = xa;
    x->ep = ep;
    x->refused = false;
    body_buf_clear(&x->body);
    if (!xa) return;
    size_t n = ep->spec->n_keywords + ep->spec->n_keywords_absent;
    if (n > x->cap_kws) {
        x->kws = cw_xrealloc(x->kws, n * sizeof *x->kws);
        x->found = cw_xrealloc(x->found, n * sizeof *x->found);
        for (size_t i = x->cap_kws; i < n; i++) probe_kw_init(&x->kws[i]);
        x->cap_kws = n;
    }
    x->n_kws = n;
    probe_extra_next_hop(x);
}

void probe_extra_next_hop(struct probe_extra *x)
{
    if (!x->xa) return;
    const struct cw_endpoint *ep = x->ep;
    for (size_t i = 0; i < x->n_kws; i++)
        probe_kw_reset(&x->kws[i], i < ep->spec->n_keywords ? ep->spec->keywords[i]
                                                            : ep->spec->keywords_absent[i - ep->spec->n_keywords]);
    body_buf_clear(&x->body);
    x->refused = false; /* a redirect's body refused: this hop's body is read anew */
}

int probe_extra_feed(struct probe_extra *x, struct body_budget *budget, const char *data, size_t n)
{
    for (size_t i = 0; i < x->n_kws; i++) probe_kw_feed(&x->kws[i], data, n);
    if (n == 0 || x->refused || !http_assert_needs_body(x->xa)) return 0;
    size_t limit = x->ep->spec->body_limit ? x->ep->spec->body_limit : PROBE_BODY_CAP;
    if (body_buf_append(&x->body, budget, limit, data, n) != 0) {
        x->refused = true;
        x->budget_max = budget->max;
        return -1;
    }
    return 0;
}

static const char *custom_method(enum cw_method m)
{
    return m == CW_METHOD_PUT       ? "PUT"
           : m == CW_METHOD_PATCH   ? "PATCH"
           : m == CW_METHOD_DELETE  ? "DELETE"
           : m == CW_METHOD_OPTIONS ? "OPTIONS"
                                    : NULL;
}

CURLcode probe_extra_setup(CURL *e, const struct cw_endpoint *ep, const struct http_assert *xa, enum cw_method method)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                           \
    do {                                                        \
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); \
    } while (0)
    const char *custom = custom_method(method);
    if (custom) {
        SET(CURLOPT_CUSTOMREQUEST, custom);
        if (ep->spec->body || method == CW_METHOD_PUT || method == CW_METHOD_PATCH) {
            SET(CURLOPT_POSTFIELDS, ep->spec->body ? ep->spec->body : "");
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)probe_body_len(ep));
        }
    }
    if (ep->spec->compressed) SET(CURLOPT_ACCEPT_ENCODING, "");
    if (ep->spec->http_version == CW_HTTP_1_0) SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_0);
    else if (ep->spec->http_version == CW_HTTP_1_1) SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    else if (ep->spec->http_version == CW_HTTP_2) SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_0);
    if (ep->spec->client_cert) SET(CURLOPT_SSLCERT, ep->spec->client_cert);
    if (ep->spec->client_key) SET(CURLOPT_SSLKEY, ep->spec->client_key);
    if (ep->spec->client_key_password) SET(CURLOPT_KEYPASSWD, ep->spec->client_key_password);
    if (ep->spec->proxy) SET(CURLOPT_PROXY, ep->spec->proxy);
    if (http_assert_connect_to(xa)) SET(CURLOPT_CONNECT_TO, http_assert_connect_to(xa));
    if (ep->spec->cookies) SET(CURLOPT_COOKIEFILE, ""); /* the engine on, no file read */
#undef SET
    return rc;
}

struct curl_slist *probe_extra_cookies_take(CURL *e, const struct cw_endpoint *ep)
{
    if (!ep->spec->cookies) return NULL;
    struct curl_slist *list = NULL;
    if (curl_easy_getinfo(e, CURLINFO_COOKIELIST, &list) != CURLE_OK) list = NULL;
    (void)curl_easy_setopt(e, CURLOPT_COOKIEFILE, NULL); /* frees the file list and the engine */
    return list;
}

CURLcode probe_extra_cookies_give(CURL *e, struct curl_slist *cookies)
{
    CURLcode rc = CURLE_OK;
    for (struct curl_slist *l = cookies; l && rc == CURLE_OK; l = l->next)
        rc = curl_easy_setopt(e, CURLOPT_COOKIELIST, l->data);
    curl_slist_free_all(cookies);
    return rc;
}

/* The last response's header `name` (the first of its values), through libcurl's header store. */
static int last_header(void *ctx, const char *name, const char **value)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(ctx, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h) return -1;
    *value = h->value;
    return 0;
}

bool probe_extra_judge(struct probe_extra *x, CURL *e, const struct cw_result *r, bool capped, char *err, size_t errlen)
{
    const struct cw_endpoint *ep = x->ep;
    for (size_t i = 0; i < x->n_kws; i++) x->found[i] = x->kws[i].found;
    char *final_url = NULL;
    if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &final_url) != CURLE_OK) final_url = NULL;
    long version = 0;
    if (curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version) != CURLE_OK) version = 0;
    char refused[160], budget[32];
    http_size_text(x->budget_max, budget, sizeof budget);
    snprintf(refused, sizeof refused, "body buffer budget exhausted (the worker's checks hold %s of bodies)", budget);
    struct http_observed o = {
        .status = r->status_code,
        .latency_us = r->latency_us,
        .body = x->body.data,
        .body_len = x->body.len,
        .body_capped = capped && !x->refused,
        .body_refused = x->refused ? refused : NULL,
        .keyword_found = x->found,
        .absent_found = x->found + ep->spec->n_keywords,
        .header = http_assert_needs_headers(x->xa) ? last_header : NULL,
        .header_ctx = e,
        .http_version = version,
        .final_url = final_url ? final_url : ep->url,
        .tls_expires_at_us = r->tls_expires_at_us,
        .now_us = cw_wall_us(),
        .body_limit = ep->spec->body_limit ? ep->spec->body_limit : PROBE_BODY_CAP,
    };
    char raw[CW_ERROR_MAX + 1];
    if (http_assert_check(x->xa, &o, raw, sizeof raw)) return true;
    probe_mask_text(raw, err, errlen);
    return false;
}

void probe_extra_release(struct probe_extra *x, struct body_budget *budget)
{
    body_buf_release(&x->body, budget);
    x->xa = NULL;
}

void probe_extra_free(struct probe_extra *x, struct body_budget *budget)
{
    body_buf_release(&x->body, budget);
    for (size_t i = 0; i < x->cap_kws; i++) probe_kw_free(&x->kws[i]);
    free(x->kws);
    free(x->found);
    memset(x, 0, sizeof *x);
}
