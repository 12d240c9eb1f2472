/* worker/probe.c — pooled libcurl checks, the streaming keyword matcher and the classification of a
 * finished transfer (see probe.h). */
#include "worker/probe.h"

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

#define PROBE_USER_AGENT "Clockwerk/" CW_VERSION

/* ---- keyword matcher */

void probe_kw_init(struct probe_kw *m) { memset(m, 0, sizeof *m); }

void probe_kw_free(struct probe_kw *m)
{
    free(m->scratch);
    memset(m, 0, sizeof *m);
}

void probe_kw_reset(struct probe_kw *m, const char *kw)
{
    m->kw = kw;
    m->klen = kw ? strlen(kw) : 0;
    m->found = kw && m->klen == 0;
    m->tlen = 0;
    size_t need = m->klen ? 2 * (m->klen - 1) + 1 : 1;
    if (kw && need > m->cap) {
        free(m->scratch);
        m->scratch = cw_xmalloc(need);
        m->cap = need;
    }
}

void probe_kw_feed(struct probe_kw *m, const char *data, size_t n)
{
    if (!m->kw || m->found || n == 0) return;
    size_t keep = m->klen - 1; /* bytes of tail that may start a match */
    /* A match that starts in the tail ends within the first `keep` bytes of this chunk. */
    size_t head = n < keep ? n : keep;
    if (m->tlen && head) {
        memcpy(m->scratch + m->tlen, data, head);
        if (memmem(m->scratch, m->tlen + head, m->kw, m->klen)) {
            m->found = true;
            return;
        }
    }
    if (memmem(data, n, m->kw, m->klen)) {
        m->found = true;
        return;
    }
    if (keep == 0) return;
    /* New tail: the last `keep` bytes of tail + chunk. */
    if (n >= keep) {
        memcpy(m->scratch, data + n - keep, keep);
        m->tlen = keep;
    } else {
        /* scratch holds tail (tlen) followed by the whole chunk (head == n) when tlen > 0 */
        if (m->tlen == 0) memcpy(m->scratch, data, n);
        size_t total = m->tlen + n;
        if (total > keep) {
            memmove(m->scratch, m->scratch + total - keep, keep);
            total = keep;
        }
        m->tlen = total;
    }
}

/* ---- classification */

void probe_mask_text(const char *text, char *out, size_t outlen)
{
    if (outlen == 0) return;
    size_t o = 0;
    const char *p = text;
    while (*p && o + 1 < outlen) {
        const char *sep = strstr(p, "://");
        if (!sep) break;
        const char *auth = sep + 3;
        const char *at = NULL;
        /* the userinfo ends at the last '@' before the path */
        size_t full = strcspn(auth, "/?# \t\r\n\"'<>");
        for (size_t i = 0; i < full; i++)
            if (auth[i] == '@') at = auth + i;
        const char *upto = at ? auth : auth + full;
        size_t chunk = (size_t)(upto - p);
        if (chunk > outlen - 1 - o) chunk = outlen - 1 - o;
        memcpy(out + o, p, chunk);
        o += chunk;
        if (at) {
            static const char stars[] = "***";
            size_t s = sizeof stars - 1;
            if (s > outlen - 1 - o) s = outlen - 1 - o;
            memcpy(out + o, stars, s);
            o += s;
            p = at; /* continue with "@host..." */
        } else {
            p = upto;
        }
    }
    size_t rest = strlen(p);
    if (rest > outlen - 1 - o) rest = outlen - 1 - o;
    memcpy(out + o, p, rest);
    o += rest;
    out[o] = '\0';
}

/* OpenSSL's X509_V_ERR_* values (stable numbers, part of OpenSSL's ABI); the worker does not link OpenSSL. */
void probe_tls_reason(long verify, const char *host, char *out, size_t outlen)
{
    const char *what;
    switch (verify) {
    case 0:
        snprintf(out, outlen, "TLS certificate does not match host %.255s", host && host[0] ? host : "(unknown)");
        return;
    case 9:
        what = "TLS certificate is not yet valid";
        break; /* CERT_NOT_YET_VALID */
    case 10:
        what = "TLS certificate expired";
        break; /* CERT_HAS_EXPIRED */
    case 18:
        what = "TLS certificate is self-signed";
        break; /* DEPTH_ZERO_SELF_SIGNED_CERT */
    case 19:
        what = "TLS certificate not trusted (self-signed CA in the chain)";
        break;
    case 2:  /* UNABLE_TO_GET_ISSUER_CERT */
    case 20: /* ..._LOCALLY */
    case 21:
        what = "TLS certificate not trusted (unknown CA)";
        break; /* UNABLE_TO_VERIFY_LEAF_SIGNATURE */
    case 23:
        what = "TLS certificate revoked";
        break;
    case 62:
    case 64:
        snprintf(out, outlen, "TLS certificate does not match host %.255s", host && host[0] ? host : "(unknown)");
        return;
    default:
        snprintf(out, outlen, "TLS certificate rejected (verify code %ld)", verify);
        return;
    }
    snprintf(out, outlen, "%s", what);
}

int64_t probe_parse_cert_time(const char *text)
{
    static const char months[][4] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    char mon[4];
    int day, hh, mm, ss, year;
    char zone[4];
    if (!text || sscanf(text, "%3s %d %d:%d:%d %d %3s", mon, &day, &hh, &mm, &ss, &year, zone) != 7) return 0;
    if (strcmp(zone, "GMT") != 0) return 0;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcasecmp(mon, months[i]) == 0) m = i;
    if (m < 0 || day < 1 || day > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 || year < 1950 ||
        year > 9999)
        return 0;
    struct tm tm = { .tm_year = year - 1900, .tm_mon = m, .tm_mday = day, .tm_hour = hh, .tm_min = mm, .tm_sec = ss };
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || t == 0) return 0;
    return (int64_t)t * 1000000;
}

bool probe_classify(const struct probe_outcome *o, char *err, size_t errlen)
{
    char raw[CW_ERROR_MAX + 1];
    bool completed = o->curl_code == CURLE_OK || (o->curl_code == CURLE_WRITE_ERROR && o->body_capped);
    if (!completed) {
        const char *text =
            o->curl_error && o->curl_error[0] ? o->curl_error : curl_easy_strerror((CURLcode)o->curl_code);
        if (o->curl_code == CURLE_PEER_FAILED_VERIFICATION) {
            char reason[320];
            /* curl checks the host name itself once the chain verified; OpenSSL's code is then 0 or 1
             * (unspecified), and curl's text names the "target host name" */
            bool host_mismatch = o->tls_verify == 0 || strstr(text, "target host name") != NULL;
            probe_tls_reason(host_mismatch ? 0 : o->tls_verify, o->host, reason, sizeof reason);
            snprintf(raw, sizeof raw, "%s: %s", reason, text);
        } else {
            snprintf(raw, sizeof raw, "%s", text);
        }
        /* curl's messages end with a newline now and then */
        size_t n = strlen(raw);
        while (n && (raw[n - 1] == '\n' || raw[n - 1] == '\r')) raw[--n] = '\0';
    } else if (!o->status_expected) {
        snprintf(raw, sizeof raw, "unexpected status %ld", o->status);
    } else if (o->keyword && !o->keyword_found) {
        snprintf(raw, sizeof raw, "keyword \"%.200s\" not found%s", o->keyword,
                 o->body_capped ? " in the first 1 MiB of the body" : "");
    } else {
        if (errlen) err[0] = '\0';
        return true;
    }
    probe_mask_text(raw, err, errlen);
    return false;
}

/* ---- the pool */

/* What a slot's easy handle is set up for. A plain check (GET, no redirects, verification with the system's
 * CAs, no extra headers) of the same scheme as the handle's last one needs only its URL and timeout set
 * again: libcurl keeps the options between transfers, and a plain transfer changes none. Anything else goes
 * through curl_easy_reset and the whole setup (measured: 1.1 us against 0.05 us per check). */
enum probe_profile { PROFILE_NONE = 0, PROFILE_CUSTOM, PROFILE_PLAIN_HTTP, PROFILE_PLAIN_HTTPS };

struct probe_check {
    CURL *easy;                 /* NULL until the slot is first used */
    enum probe_profile profile; /* what easy is set up for (PROFILE_NONE: nothing yet) */
    struct probe_pool *pool;
    const struct cw_endpoint *ep;
    uint32_t id;
    bool busy;
    bool capped;
    bool https; /* the URL is https:// (certificate expiry wanted) */
    size_t body_bytes;
    int64_t due_ns, start_ns, wall_us;
    struct probe_kw kw;
    char curl_err[CURL_ERROR_SIZE];
    char error[CW_ERROR_MAX + 1];
};

struct probe_pool {
    CURLM *multi;
    unsigned max, in_flight;
    struct probe_check *checks;
    unsigned *free_stack; /* indices of idle slots */
    unsigned n_free;
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
        probe_kw_free(&c->kw);
    }
    free(p->checks);
    free(p->free_stack);
    free(p);
}

unsigned probe_in_flight(const struct probe_pool *p) { return p->in_flight; }
unsigned probe_capacity(const struct probe_pool *p) { return p->max; }

struct curl_slist *probe_headers_new(const struct cw_endpoint *ep)
{
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < ep->n_headers; i++) {
        struct curl_slist *next = curl_slist_append(list, ep->headers[i]);
        if (!next) {
            curl_slist_free_all(list);
            fatal(1, "out of memory building request headers");
        }
        list = next;
    }
    return list;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct probe_check *c = userdata;
    size_t len = size * nmemb;
    size_t room = PROBE_BODY_CAP - c->body_bytes;
    size_t take = len < room ? len : room;
    probe_kw_feed(&c->kw, data, take);
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

static CURLcode setup(struct probe_check *c, const struct cw_endpoint *ep, struct curl_slist *headers, long timeout_ms)
{
    CURL *e = c->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                           \
    do {                                                        \
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); \
    } while (0)
    timeout_ms = effective_timeout_ms(ep, timeout_ms);
    SET(CURLOPT_URL, ep->url);
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
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (ep->follow_redirects) {
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, 10L);
    }
    if (!ep->verify_tls) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (ep->ca_file) SET(CURLOPT_CAINFO, ep->ca_file);
    if (c->https) SET(CURLOPT_CERTINFO, 1L); /* the leaf's expiry, read in probe_finish */
    if (headers) SET(CURLOPT_HTTPHEADER, headers);
    switch (ep->method) {
    case CW_METHOD_HEAD:
        SET(CURLOPT_NOBODY, 1L);
        break;
    case CW_METHOD_POST: {
        const char *body = ep->body ? ep->body : "";
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        break;
    }
    case CW_METHOD_GET:
    default:
        break;
    }
#undef SET
    return rc;
}

static enum probe_profile profile_of(const struct cw_endpoint *ep, bool https, const struct curl_slist *headers)
{
    if (ep->method != CW_METHOD_GET || ep->follow_redirects || !ep->verify_tls || ep->ca_file || headers)
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
    enum probe_profile profile = profile_of(ep, https, headers);
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
    c->curl_err[0] = '\0';
    c->error[0] = '\0';
    probe_kw_reset(&c->kw, ep->method == CW_METHOD_HEAD ? NULL : ep->keyword);
    CURLcode rc = again ? setup_again(c, ep, timeout_ms) : setup(c, ep, headers, timeout_ms);
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

static int64_t info_time(CURL *e, CURLINFO what)
{
    curl_off_t v = 0;
    if (curl_easy_getinfo(e, what, &v) != CURLE_OK) return 0;
    return (int64_t)v;
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
    int64_t total = info_time(e, CURLINFO_TOTAL_TIME_T);
    int64_t lookup = info_time(e, CURLINFO_NAMELOOKUP_TIME_T);
    int64_t connect = info_time(e, CURLINFO_CONNECT_TIME_T);
    int64_t appconnect = info_time(e, CURLINFO_APPCONNECT_TIME_T);
    int64_t pretransfer = info_time(e, CURLINFO_PRETRANSFER_TIME_T);
    int64_t starttransfer = info_time(e, CURLINFO_STARTTRANSFER_TIME_T);
    /* libcurl reports at least 1 us for every phase it reached and 0 for the others. */
    memset(out, 0, sizeof *out);
    out->checked_at_us = c->wall_us;
    out->lateness_us = (c->start_ns - c->due_ns) / 1000;
    out->latency_us = total > 0 ? total : (cw_mono_ns() - c->start_ns) / 1000;
    out->dns_us = lookup > 0 ? lookup : -1;
    out->connect_us = connect > 0 ? connect - (lookup > 0 ? lookup : 0) : -1;
    out->tls_us = (appconnect > 0 && connect > 0 && appconnect >= connect) ? appconnect - connect : -1;
    out->ttfb_us = (starttransfer > 0 && starttransfer >= pretransfer) ? starttransfer - pretransfer : -1;
    if (out->connect_us < -1) out->connect_us = -1;
    out->status_code = (uint16_t)status;
    out->url = ep->url;

    if (c->https) out->tls_expires_at_us = cert_expiry(e);
    long verify = 0;
    char host[256] = "";
    if (msg->data.result == CURLE_PEER_FAILED_VERIFICATION) {
        if (curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &verify) != CURLE_OK) verify = 0;
        effective_host(e, host, sizeof host);
    }
    struct probe_outcome o = {
        .curl_code = (int)msg->data.result,
        .curl_error = c->curl_err,
        .status = status,
        .status_expected = status > 0 && config_status_expected(ep, (int)status),
        .keyword = c->kw.kw,
        .keyword_found = c->kw.found,
        .body_capped = c->capped,
        .tls_verify = verify,
        .host = host,
    };
    out->ok = probe_classify(&o, c->error, sizeof c->error);
    out->error = out->ok ? NULL : c->error;
    *id = c->id;
    return c;
}

void probe_release(struct probe_pool *p, struct probe_check *c)
{
    if (!c || !c->busy) return;
    curl_multi_remove_handle(p->multi, c->easy);
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
