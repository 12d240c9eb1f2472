/* worker/probe_extra.h — a check of an endpoint with extras (worker/http_assert.h) on its way through the pool:
 * the request options set on each hop, the keyword matchers and the body buffer fed as the body streams, and the
 * judgement once the transfer is over. A plain endpoint (no extras) never reaches any of this.
 *
 * DESIGN
 * - Any method: CURLOPT_CUSTOMREQUEST, the body (any bytes, body_len) with POSTFIELDS; PUT and PATCH without a
 *   body send Content-Length: 0.
 * - Pinned address: CURLOPT_CONNECT_TO ("host::address:"), not CURLOPT_RESOLVE. A RESOLVE entry goes into the DNS
 *   cache, which belongs to the multi handle (shared by every transfer of the worker, and kept by
 *   curl_easy_reset): another endpoint of the same host and port would be sent to the pinned address while the
 *   entry lives. CONNECT_TO is an option of the transfer: curl_easy_reset clears it, and the URL's host still
 *   names the request (Host, SNI, the certificate's name).
 * - Cookies: the cookie engine (COOKIEFILE "") on for every request of a cookies endpoint, and the cookies carried
 *   from one request to the next across the curl_easy_reset of a redirect (taken out before it, given back after:
 *   libcurl 7.88 leaks the engine's file list at a reset), so a cookie set by a redirect goes with the next request. The cookies of an easy handle survive curl_easy_reset, so a handle that has held
 *   cookies is never handed to another check: probe_start replaces it (worker/probe.c, cookie_jar).
 * - Proxy: CURLOPT_PROXY from the endpoint (the environment's proxy is still never used); client certificates:
 *   SSLCERT, SSLKEY, KEYPASSWD; compressed: ACCEPT_ENCODING "" (every encoding libcurl has: gzip, deflate, br,
 *   zstd here), so the matchers and the body_limit see the decoded bytes. */
#ifndef CW_WORKER_PROBE_EXTRA_H
#define CW_WORKER_PROBE_EXTRA_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "common/config/config.h"
#include "common/wire/protocol.h"
#include "worker/body_buf.h"
#include "worker/http_assert.h"
#include "worker/probe.h"

struct probe_extra {
    const struct http_assert *xa; /* NULL: a plain check (nothing else here is in use) */
    const struct cw_endpoint *ep;
    struct probe_kw *kws; /* ep->keywords, then ep->keywords_absent */
    bool *found;
    size_t n_kws, cap_kws;
    struct body_buf body; /* only with http_assert_needs_body */
    bool refused;         /* the worker's body budget had no room */
    size_t budget_max;    /* its size then (for the error) */
};

/* The bytes of the endpoint's request body (body_len, or the string's length). */
size_t probe_body_len(const struct cw_endpoint *ep);

/* A check of ep starts (xa: its extras, NULL for none). */
void probe_extra_start(struct probe_extra *x, const struct cw_endpoint *ep, const struct http_assert *xa);
/* A redirect is followed: the matchers and the body start again. */
void probe_extra_next_hop(struct probe_extra *x);
/* Body bytes (decoded) as they arrive; -1 when the budget has no room for them (the check fails). */
int probe_extra_feed(struct probe_extra *x, struct body_budget *budget, const char *data, size_t n);
/* The options of ep's extras for one hop made with method. */
CURLcode probe_extra_setup(CURL *e, const struct cw_endpoint *ep, const struct http_assert *xa, enum cw_method method);
/* Around the curl_easy_reset of a redirect: the cookies of a cookies endpoint taken out of the handle (its engine
 * and file list freed: libcurl 7.88 leaks the list at a reset), and given back to the reset handle after its set-up.
 * NULL when ep does not keep cookies; give frees the list. */
struct curl_slist *probe_extra_cookies_take(CURL *e, const struct cw_endpoint *ep);
CURLcode probe_extra_cookies_give(CURL *e, struct curl_slist *cookies);
/* The assertions on the finished transfer e with result r (ok so far); false with the error in err. capped: the
 * body was cut at its limit. */
bool probe_extra_judge(struct probe_extra *x, CURL *e, const struct cw_result *r, bool capped, char *err,
                       size_t errlen);
/* The check is over: the body's memory goes back to the budget. */
void probe_extra_release(struct probe_extra *x, struct body_budget *budget);
void probe_extra_free(struct probe_extra *x, struct body_budget *budget);

#endif
