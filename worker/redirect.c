/* worker/redirect.c — the origin test, the method after a redirect and the phase sums
 * used when the worker follows redirects itself (see redirect.h). */
#include "worker/redirect.h"

#include <string.h>
#include <strings.h>

/* scheme, host and port of url into the three outputs (curl_free them); false when url does not parse. */
static bool origin_parts(const char *url, char **scheme, char **host, char **port)
{
    *scheme = *host = *port = NULL;
    CURLU *u = curl_url();
    if (!u) return false;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    curl_url_cleanup(u);
    return ok;
}

bool redirect_same_origin(const char *a, const char *b)
{
    char *sa, *ha, *pa, *sb, *hb, *pb;
    bool ok_a = origin_parts(a, &sa, &ha, &pa);
    bool ok_b = origin_parts(b, &sb, &hb, &pb);
    bool same = ok_a && ok_b && strcasecmp(sa, sb) == 0 && strcasecmp(ha, hb) == 0 && strcmp(pa, pb) == 0;
    curl_free(sa);
    curl_free(ha);
    curl_free(pa);
    curl_free(sb);
    curl_free(hb);
    curl_free(pb);
    return same;
}

bool redirect_header_may_leave(const char *line)
{
    static const char *const harmless[] = {
        "accept",   "accept-charset",    "accept-encoding", "accept-language",     "cache-control", "content-type",
        "if-match", "if-modified-since", "if-none-match",   "if-unmodified-since", "pragma",        "user-agent",
        NULL
    };
    size_t n = strcspn(line, ":");
    while (n && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    for (int i = 0; harmless[i]; i++)
        if (strlen(harmless[i]) == n && strncasecmp(line, harmless[i], n) == 0) return true;
    return false;
}

enum cw_method redirect_method(enum cw_method method, long status)
{
    if (method == CW_METHOD_POST && (status == 301 || status == 302)) return CW_METHOD_GET;
    if (method != CW_METHOD_HEAD && status == 303) return CW_METHOD_GET; /* "see other": any method looks with GET */
    return method;
}

static int64_t info_time(CURL *e, CURLINFO what)
{
    curl_off_t v = 0;
    if (curl_easy_getinfo(e, what, &v) != CURLE_OK) return 0;
    return (int64_t)v;
}

void redirect_phases_of(CURL *easy, struct redirect_phases *out)
{
    int64_t total = info_time(easy, CURLINFO_TOTAL_TIME_T);
    int64_t lookup = info_time(easy, CURLINFO_NAMELOOKUP_TIME_T);
    int64_t connect = info_time(easy, CURLINFO_CONNECT_TIME_T);
    int64_t appconnect = info_time(easy, CURLINFO_APPCONNECT_TIME_T);
    int64_t pretransfer = info_time(easy, CURLINFO_PRETRANSFER_TIME_T);
    int64_t starttransfer = info_time(easy, CURLINFO_STARTTRANSFER_TIME_T);
    /* libcurl reports at least 1 us for every phase it reached and 0 for the others. */
    out->latency_us = total > 0 ? total : 0;
    out->dns_us = lookup > 0 ? lookup : -1;
    out->connect_us = connect > 0 ? connect - (lookup > 0 ? lookup : 0) : -1;
    if (out->connect_us < -1) out->connect_us = -1;
    out->tls_us = (appconnect > 0 && connect > 0 && appconnect >= connect) ? appconnect - connect : -1;
    out->ttfb_us = (starttransfer > 0 && starttransfer >= pretransfer) ? starttransfer - pretransfer : -1;
}

void redirect_phases_init(struct redirect_phases *acc)
{
    acc->latency_us = 0;
    acc->dns_us = acc->connect_us = acc->tls_us = acc->ttfb_us = -1;
}

static void add_phase(int64_t *acc, int64_t hop)
{
    if (hop < 0) return;
    *acc = *acc < 0 ? hop : *acc + hop;
}

void redirect_phases_add(struct redirect_phases *acc, const struct redirect_phases *hop)
{
    acc->latency_us += hop->latency_us;
    add_phase(&acc->dns_us, hop->dns_us);
    add_phase(&acc->connect_us, hop->connect_us);
    add_phase(&acc->tls_us, hop->tls_us);
    add_phase(&acc->ttfb_us, hop->ttfb_us);
}
