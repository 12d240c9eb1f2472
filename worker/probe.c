/* worker/probe.c — pooled libcurl checks, the streaming keyword matcher and the classification of a
 * finished transfer (see probe.h). */
#include "worker/probe.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "common/config/config_check.h"
#include "common/proc/proc.h"
#include "worker/http_assert.h"
#include "worker/probe_extra.h"
#include "worker/redirect.h"

#define PROBE_USER_AGENT "Clockwerk/" CW_VERSION

/* ---- the pool */

/* What a slot's easy handle is set up for. A plain check (GET, no redirects, verification with the system's
 * CAs, no extra headers) of the same scheme as the handle's last one needs only its URL and timeout set
 * again: libcurl keeps the options between transfers, and a plain transfer changes none. Anything else goes
 * through curl_easy_reset and the whole setup (measured: 1.1 us against 0.05 us per check). */
enum probe_profile { PROFILE_NONE = 0, PROFILE_CUSTOM, PROFILE_PLAIN_HTTP, PROFILE_PLAIN_HTTPS };

struct probe_check {
    CURL *easy;                 /* NULL until the slot is first used */
    bool cookie_jar;            /* easy has held cookies: the next check gets a new handle (probe_extra.h) */
    enum probe_profile profile; /* what easy is set up for (PROFILE_NONE: nothing yet) */
    struct probe_pool *pool;
    const struct cw_endpoint *ep;
    uint32_t id;
    bool busy;
    bool capped;
    bool https; /* the URL of this hop is https:// (certificate expiry wanted) */
    size_t body_bytes;
    int64_t due_ns, start_ns, wall_us;
    long timeout_ms;                   /* for the whole check, every redirect included */
    unsigned hops;                     /* redirects followed so far (see redirect.h) */
    enum cw_method method;             /* of this hop: a POST may become a GET after a redirect */
    struct curl_slist *headers;        /* the endpoint's, borrowed */
    struct curl_slist *public_headers; /* owned: those that may go to another origin, made when needed */
    struct redirect_phases phases;     /* of the hops before this one */
    struct probe_kw kw;
    struct probe_extra extra; /* what an endpoint with assertions needs (probe_extra.h); unused otherwise */
    char curl_err[CURL_ERROR_SIZE];
    char error[CW_ERROR_MAX + 1];
};

struct probe_pool {
    CURLM *multi;
    unsigned max, in_flight;
    struct probe_check *checks;
    unsigned *free_stack; /* indices of idle slots */
    unsigned n_free;
    struct http_assert **asserts; /* per endpoint id, NULL for a plain one (probe_pool_prepare) */
    size_t n_asserts;
    struct body_budget budget; /* the bodies buffered by all checks (body_buf.h) */
};

struct probe_pool *probe_pool_new(CURLM *multi, unsigned max)
{
    if (!multi || max == 0) return NULL;
    struct probe_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->checks = calloc(max, sizeof *p->checks);
    p->free_stack = calloc(max, sizeof *p->free_stack);
    if (!p->checks || !p->free_stack) {
        free(p->checks);
        free(p->free_stack);
        free(p);
        return NULL;
    }
    p->multi = multi;
    p->max = max;
    for (unsigned i = 0; i < max; i++) {
        p->checks[i].pool = p;
        probe_kw_init(&p->checks[i].kw);
        p->free_stack[i] = max - 1 - i; /* slot 0 on top: the same few handles get reused when idle */
    }
    p->n_free = max;
    return p;
}

void probe_pool_free(struct probe_pool *p)
{
    if (!p) return;
    for (unsigned i = 0; i < p->max; i++) {
        struct probe_check *c = &p->checks[i];
        if (c->busy) curl_multi_remove_handle(p->multi, c->easy);
        if (c->easy) curl_easy_cleanup(c->easy);
        curl_slist_free_all(c->public_headers);
        probe_kw_free(&c->kw);
        probe_extra_free(&c->extra, &p->budget);
    }
    for (size_t i = 0; i < p->n_asserts; i++) http_assert_free(p->asserts[i]);
    free(p->asserts);
    free(p->checks);
    free(p->free_stack);
    free(p);
}

int probe_pool_prepare(struct probe_pool *p, const struct cw_endpoint *eps, size_t n, char *err, size_t errlen)
{
    p->budget.max = proc_env_u64("CLOCKWERK_BODY_BUDGET_BYTES", 1024 * 1024, PROBE_BODY_BUDGET);
    p->asserts = n ? cw_xcalloc(n, sizeof *p->asserts) : NULL;
    p->n_asserts = n;
    for (size_t i = 0; i < n; i++) {
        if (eps[i].type != CW_CHECK_HTTP) continue;
        char why[512];
        if (http_assert_new(&eps[i], &p->asserts[i], why, sizeof why) != 0) {
            char url[CW_URL_MAX + 1];
            cw_mask_url(eps[i].url, url, sizeof url);
            snprintf(err, errlen, "%s: %s", url, why);
            return -1;
        }
    }
    return 0;
}

void probe_pool_take_asserts(struct probe_pool *p, struct probe_asserts *out)
{
    out->v = p->asserts;
    out->n = p->n_asserts;
    p->asserts = NULL;
    p->n_asserts = 0;
}

void probe_asserts_free(struct probe_asserts *a)
{
    for (size_t i = 0; i < a->n; i++) http_assert_free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

void probe_remap(struct probe_pool *p, const uint32_t *map, size_t n_map)
{
    for (unsigned i = 0; i < p->max; i++) {
        struct probe_check *c = &p->checks[i];
        if (c->busy && c->id < n_map) c->id = map[c->id];
    }
}

unsigned probe_in_flight(const struct probe_pool *p) { return p->in_flight; }
unsigned probe_capacity(const struct probe_pool *p) { return p->max; }

/* The endpoint's header lines as a curl list; all of them for its own origin, else only those that may leave it
 * (redirect_header_may_leave). */
static struct curl_slist *headers_new(const struct cw_endpoint *ep, bool own_origin)
{
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < ep->spec->n_headers; i++) {
        if (!own_origin && !redirect_header_may_leave(ep->spec->headers[i])) continue;
        struct curl_slist *next = curl_slist_append(list, ep->spec->headers[i]);
        if (!next) {
            curl_slist_free_all(list);
            fatal(1, "out of memory building request headers");
        }
        list = next;
    }
    return list;
}

struct curl_slist *probe_headers_new(const struct cw_endpoint *ep) { return headers_new(ep, true); }
struct curl_slist *probe_public_headers_new(const struct cw_endpoint *ep) { return headers_new(ep, false); }

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct probe_check *c = userdata;
    size_t len = size * nmemb;
    size_t limit = c->ep->spec->body_limit ? c->ep->spec->body_limit : PROBE_BODY_CAP;
    size_t room = limit - c->body_bytes;
    size_t take = len < room ? len : room;
    probe_kw_feed(&c->kw, data, take);
    if (c->extra.xa && probe_extra_feed(&c->extra, &c->pool->budget, data, take) != 0) {
        c->capped = true; /* the budget has no room: stop here; the check fails with extra.refused */
        return 0;
    }
    c->body_bytes += take;
    if (take < len) {
        c->capped = true;
        return 0; /* stops the transfer: CURLE_WRITE_ERROR, which probe_finish knows is ours */
    }
    return len;
}

/* Every check's socket closes with a reset instead of a FIN handshake (SO_LINGER 0, as HAProxy's health
 * checks do): the response has been read by then, and the prober leaves no TIME_WAIT socket behind. At
 * thousands of checks per second against one host, TIME_WAIT sockets would otherwise fill the ephemeral
 * port range within seconds (60 s each) and connects would stall. */
static int on_socket(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    (void)clientp;
    if (purpose == CURLSOCKTYPE_IPCXN) {
        struct linger l = { .l_onoff = 1, .l_linger = 0 };
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l); /* best effort: a FIN works too */
    }
    return CURL_SOCKOPT_OK;
}

/* The caller's timeout for this check, or the endpoint's own when it gives none; at least 1 ms. */
static long effective_timeout_ms(const struct cw_endpoint *ep, long timeout_ms)
{
    if (timeout_ms <= 0) timeout_ms = (long)llround(ep->timeout * 1000.0);
    return timeout_ms < 1 ? 1 : timeout_ms;
}

/* Sets up the handle for one request of the check (the first or a redirect's): url, method, headers. */
static CURLcode setup(struct probe_check *c, const char *url, struct curl_slist *headers, long timeout_ms)
{
    CURL *e = c->easy;
    const struct cw_endpoint *ep = c->ep;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                           \
    do {                                                        \
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PRIVATE, (void *)c);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FRESH_CONNECT, 1L);
    SET(CURLOPT_FORBID_REUSE, 1L);
    SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(CURLOPT_ERRORBUFFER, c->curl_err);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)c);
    SET(CURLOPT_USERAGENT, PROBE_USER_AGENT);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_SOCKOPTFUNCTION, on_socket);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    /* no CURLOPT_FOLLOWLOCATION: probe_finish follows redirects (redirect.h says why) */
    if (!ep->spec->verify_tls) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (ep->spec->ca_file) SET(CURLOPT_CAINFO, ep->spec->ca_file);
    if (c->https) SET(CURLOPT_CERTINFO, 1L); /* the leaf's expiry, read in probe_finish */
    if (headers) SET(CURLOPT_HTTPHEADER, headers);
    if (c->method == CW_METHOD_HEAD) SET(CURLOPT_NOBODY, 1L);
    else if (c->method == CW_METHOD_POST) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, ep->spec->body ? ep->spec->body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)probe_body_len(ep));
    }
#undef SET
    if (rc == CURLE_OK && c->extra.xa) rc = probe_extra_setup(e, ep, c->extra.xa, c->method);
    return rc;
}

static enum probe_profile profile_of(const struct cw_endpoint *ep, bool https, const struct curl_slist *headers,
                                     const struct http_assert *xa)
{
    if (ep->spec->method != CW_METHOD_GET || ep->spec->follow_redirects || !ep->spec->verify_tls || ep->spec->ca_file ||
        headers || xa)
        return PROFILE_CUSTOM;
    return https ? PROFILE_PLAIN_HTTPS : PROFILE_PLAIN_HTTP;
}

/* The options a plain check of the handle's profile sets anew. */
static CURLcode setup_again(struct probe_check *c, const struct cw_endpoint *ep, long timeout_ms)
{
    timeout_ms = effective_timeout_ms(ep, timeout_ms);
    CURLcode rc = curl_easy_setopt(c->easy, CURLOPT_URL, ep->url);
    if (rc == CURLE_OK) rc = curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    return rc;
}

int probe_start(struct probe_pool *p, const struct cw_endpoint *ep, struct curl_slist *headers, uint32_t id,
                long timeout_ms, int64_t due_ns, int64_t start_ns, int64_t wall_us, char *err, size_t errlen)
{
    if (p->n_free == 0) {
        snprintf(err, errlen, "no free check slot");
        return -1;
    }
    struct probe_check *c = &p->checks[p->free_stack[p->n_free - 1]];
    bool https = strncasecmp(ep->url, "https://", 8) == 0;
    const struct http_assert *xa = id < p->n_asserts ? p->asserts[id] : NULL;
    enum probe_profile profile = profile_of(ep, https, headers, xa);
    if (c->easy && c->cookie_jar) { /* cookies survive curl_easy_reset: such a handle is not handed on */
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
        c->cookie_jar = false;
        c->profile = PROFILE_NONE;
    }
    bool again = c->easy && profile != PROFILE_CUSTOM && profile == c->profile;
    if (!c->easy) {
        c->easy = curl_easy_init();
        if (!c->easy) {
            snprintf(err, errlen, "cannot create a curl handle");
            return -1;
        }
    } else if (!again) {
        curl_easy_reset(c->easy);
    }
    c->ep = ep;
    c->id = id;
    c->capped = false;
    c->https = https;
    c->body_bytes = 0;
    c->due_ns = due_ns;
    c->start_ns = start_ns;
    c->wall_us = wall_us;
    c->timeout_ms = effective_timeout_ms(ep, timeout_ms);
    c->hops = 0;
    c->method = ep->spec->method;
    c->headers = headers;
    curl_slist_free_all(c->public_headers);
    c->public_headers = NULL;
    redirect_phases_init(&c->phases);
    c->curl_err[0] = '\0';
    c->error[0] = '\0';
    probe_kw_reset(&c->kw, ep->spec->method == CW_METHOD_HEAD ? NULL : ep->spec->keyword);
    probe_extra_start(&c->extra, ep, xa);
    c->cookie_jar = ep->spec->cookies;
    CURLcode rc = again ? setup_again(c, ep, timeout_ms) : setup(c, ep->url, headers, c->timeout_ms);
    c->profile = rc == CURLE_OK ? profile : PROFILE_NONE; /* a failed setup leaves the handle to a reset */
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "cannot set up the check: %s", curl_easy_strerror(rc));
        return -1;
    }
    CURLMcode mrc = curl_multi_add_handle(p->multi, c->easy);
    if (mrc != CURLM_OK) {
        snprintf(err, errlen, "cannot start the check: %s", curl_multi_strerror(mrc));
        return -1;
    }
    c->busy = true;
    p->n_free--;
    p->in_flight++;
    return 0;
}

/* The leaf certificate's "Expire date" from libcurl's certinfo (asked for with CURLOPT_CERTINFO); 0 when
 * libcurl has none (the handshake failed before the chain was looked at, or a plain http check). */
static int64_t cert_expiry(CURL *e)
{
    struct curl_certinfo *ci = NULL;
    if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1 || !ci->certinfo)
        return 0;
    for (struct curl_slist *f = ci->certinfo[0]; f; f = f->next)
        if (strncmp(f->data, "Expire date:", 12) == 0) return probe_parse_cert_time(f->data + 12);
    return 0;
}

/* The host name of the URL the check ended on, for a host-mismatch error text (into out, "" if unknown). */
static void effective_host(CURL *e, char *out, size_t outlen)
{
    out[0] = '\0';
    char *eff = NULL;
    if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &eff) != CURLE_OK || !eff) return;
    CURLU *u = curl_url();
    if (!u) return;
    char *host = NULL;
    if (curl_url_set(u, CURLUPART_URL, eff, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        snprintf(out, outlen, "%s", host);
    curl_free(host);
    curl_url_cleanup(u);
}

/* The configured URL's user:password go along to its own origin (as they did when libcurl followed), unless
 * the redirect's URL names its own. */
static CURLcode keep_userinfo(struct probe_check *c, const char *url)
{
    CURLU *cfg = curl_url(), *next = curl_url();
    char *user = NULL, *password = NULL, *next_user = NULL;
    CURLcode rc = CURLE_OK;
    if (cfg && next && curl_url_set(next, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(next, CURLUPART_USER, &next_user, 0) == CURLUE_NO_USER &&
        curl_url_set(cfg, CURLUPART_URL, c->ep->url, 0) == CURLUE_OK &&
        curl_url_get(cfg, CURLUPART_USER, &user, CURLU_URLDECODE) == CURLUE_OK) {
        rc = curl_easy_setopt(c->easy, CURLOPT_USERNAME, user);
        if (rc == CURLE_OK && curl_url_get(cfg, CURLUPART_PASSWORD, &password, CURLU_URLDECODE) == CURLUE_OK)
            rc = curl_easy_setopt(c->easy, CURLOPT_PASSWORD, password);
    }
    curl_free(user);
    curl_free(password);
    curl_free(next_user);
    curl_url_cleanup(cfg);
    curl_url_cleanup(next);
    return rc;
}

/* Starts the request that follows a redirect (status, to location) on the same handle: every header of the
 * endpoint to its own origin, only those without a credential elsewhere; what is left of the timeout. 0, or
 * -1 with *code and c->curl_err saying why the check ends here. */
static int follow(struct probe_pool *p, struct probe_check *c, const char *location, long status, int *code)
{
    int64_t elapsed_ms = (cw_mono_ns() - c->start_ns) / 1000000;
    if (c->hops >= REDIRECT_MAX) {
        snprintf(c->curl_err, sizeof c->curl_err, "Maximum (%d) redirects followed", REDIRECT_MAX);
        *code = CURLE_TOO_MANY_REDIRECTS;
        return -1;
    }
    if (elapsed_ms >= c->timeout_ms) {
        snprintf(c->curl_err, sizeof c->curl_err, "Operation timed out after %" PRId64 " milliseconds (%u redirects)",
                 elapsed_ms, c->hops);
        *code = CURLE_OPERATION_TIMEDOUT;
        return -1;
    }
    bool same_origin = redirect_same_origin(c->ep->url, location);
    if (!same_origin && c->headers && !c->public_headers) c->public_headers = probe_public_headers_new(c->ep);
    char *url = cw_xstrdup(location); /* location belongs to the handle, which the reset clears */
    curl_multi_remove_handle(p->multi, c->easy);
    struct curl_slist *cookies = probe_extra_cookies_take(c->easy, c->ep); /* NULL unless a cookies endpoint */
    curl_easy_reset(c->easy);
    c->profile = PROFILE_NONE; /* set up for a redirect: the next check resets it */
    c->hops++;
    c->method = redirect_method(c->method, status);
    c->https = strncasecmp(url, "https://", 8) == 0;
    c->capped = false;
    c->body_bytes = 0;
    c->curl_err[0] = '\0';
    probe_kw_reset(&c->kw, c->method == CW_METHOD_HEAD ? NULL : c->ep->spec->keyword);
    probe_extra_next_hop(&c->extra);
    CURLcode rc = setup(c, url, same_origin ? c->headers : c->public_headers, (long)(c->timeout_ms - elapsed_ms));
    if (rc == CURLE_OK && same_origin) rc = keep_userinfo(c, url);
    CURLcode crc = probe_extra_cookies_give(c->easy, cookies);
    if (rc == CURLE_OK) rc = crc;
    free(url);
    CURLMcode mrc = rc == CURLE_OK ? curl_multi_add_handle(p->multi, c->easy) : CURLM_OK;
    if (rc != CURLE_OK || mrc != CURLM_OK) {
        snprintf(c->curl_err, sizeof c->curl_err, "cannot follow the redirect: %s",
                 rc != CURLE_OK ? curl_easy_strerror(rc) : curl_multi_strerror(mrc));
        *code = rc != CURLE_OK ? (int)rc : CURLE_FAILED_INIT;
        return -1;
    }
    return 0;
}

struct probe_check *probe_finish(struct probe_pool *p, const CURLMsg *msg, struct cw_result *out, uint32_t *id)
{
    if (msg->msg != CURLMSG_DONE) return NULL;
    char *priv = NULL;
    if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) != CURLE_OK || !priv) return NULL;
    struct probe_check *c = (struct probe_check *)(void *)priv;
    if (c < p->checks || c >= p->checks + p->max || !c->busy) return NULL;
    CURL *e = c->easy;
    const struct cw_endpoint *ep = c->ep;

    long status = 0;
    if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) status = 0;
    if (status < 0 || status > 65535) status = 0;
    struct redirect_phases hop;
    redirect_phases_of(e, &hop);
    redirect_phases_add(&c->phases, &hop);
    int code = (int)msg->data.result;
    char *location = NULL;
    if (ep->spec->follow_redirects && status >= 300 && status < 400 &&
        (code == CURLE_OK || (code == CURLE_WRITE_ERROR && c->capped)) &&
        curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location &&
        follow(p, c, location, status, &code) == 0)
        return NULL; /* the check goes on: its next request is in flight */

    memset(out, 0, sizeof *out);
    out->checked_at_us = c->wall_us;
    out->lateness_us = (c->start_ns - c->due_ns) / 1000;
    out->latency_us = c->phases.latency_us > 0 ? c->phases.latency_us : (cw_mono_ns() - c->start_ns) / 1000;
    out->dns_us = c->phases.dns_us;
    out->connect_us = c->phases.connect_us;
    out->tls_us = c->phases.tls_us;
    out->ttfb_us = c->phases.ttfb_us;
    out->status_code = (uint16_t)status;
    out->url = ep->url;

    if (c->https) out->tls_expires_at_us = cert_expiry(e);
    long verify = 0;
    char host[256] = "";
    if (code == CURLE_PEER_FAILED_VERIFICATION) {
        if (curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &verify) != CURLE_OK) verify = 0;
        effective_host(e, host, sizeof host);
    }
    bool refused = c->extra.xa && c->extra.refused;
    struct probe_outcome o = {
        .curl_code = code,
        .curl_error = c->curl_err,
        .status = status,
        .status_expected = status > 0 && config_status_expected(ep, (int)status),
        .ep = ep,
        .keyword = refused ? NULL : c->kw.kw, /* the budget's refusal is the error (probe_extra_judge) */
        .keyword_found = c->kw.found,
        .body_capped = c->capped,
        .tls_verify = verify,
        .host = host,
    };
    out->ok = probe_classify(&o, c->error, sizeof c->error);
    if (out->ok && c->extra.xa) out->ok = probe_extra_judge(&c->extra, e, out, c->capped, c->error, sizeof c->error);
    out->error = out->ok ? NULL : c->error;
    *id = c->id;
    return c;
}

void probe_release(struct probe_pool *p, struct probe_check *c)
{
    if (!c || !c->busy) return;
    curl_multi_remove_handle(p->multi, c->easy);
    probe_extra_release(&c->extra, &p->budget);
    c->busy = false;
    c->ep = NULL;
    p->free_stack[p->n_free++] = (unsigned)(c - p->checks);
    p->in_flight--;
}

void probe_failed_result(const struct cw_endpoint *ep, int64_t lateness_us, int64_t wall_us, const char *why,
                         char *errbuf, size_t errlen, struct cw_result *out)
{
    memset(out, 0, sizeof *out);
    out->checked_at_us = wall_us;
    out->lateness_us = lateness_us;
    out->latency_us = out->dns_us = out->connect_us = out->tls_us = out->ttfb_us = -1;
    out->url = ep->url;
    probe_mask_text(why, errbuf, errlen);
    out->error = errbuf;
    out->ok = false;
}
