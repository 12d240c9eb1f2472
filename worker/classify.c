/* worker/classify.c — turning a finished transfer into ok or an error text (probe_classify), the TLS
 * verification reasons, the certificate time parser and the masking of credentials in texts (see probe.h:
 * pure functions of their arguments, tested on their own). */
#include "common/base/util.h"
#include "worker/probe.h"

#include "worker/http_assert.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void probe_mask_text(const char *text, char *out, size_t outlen)
{
    if (outlen == 0) return;
    size_t o = 0;
    const char *p = text;
    while (*p && o + 1 < outlen) {
        const char *sep = strstr(p, "://");
        if (!sep) break;
        const char *auth = sep + 3;
        /* the URL ends at white space or a quote; its userinfo by cw_mask_url's rule (a '/' in a password is
         * masked with it) */
        size_t full = strcspn(auth, " \t\r\n\"'<>");
        const char *at = cw_url_userinfo_end(auth, full);
        if (!at) full = strcspn(auth, "/?# \t\r\n\"'<>");
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
        char wanted[256];
        if (o->ep && o->ep->spec->n_status_ranges) http_status_wanted_text(o->ep, wanted, sizeof wanted);
        if (o->ep && o->ep->spec->n_status_ranges) snprintf(raw, sizeof raw, "status %ld not in %s", o->status, wanted);
        else snprintf(raw, sizeof raw, "unexpected status %ld", o->status);
    } else if (o->keyword && !o->keyword_found) {
        char limit[32];
        http_size_text(o->ep && o->ep->spec->body_limit ? o->ep->spec->body_limit : PROBE_BODY_CAP, limit,
                       sizeof limit);
        if (o->body_capped)
            snprintf(raw, sizeof raw, "keyword \"%.200s\" not found in the first %s of the body", o->keyword, limit);
        else snprintf(raw, sizeof raw, "keyword \"%.200s\" not found", o->keyword);
    } else {
        if (errlen) err[0] = '\0';
        return true;
    }
    probe_mask_text(raw, err, errlen);
    return false;
}
