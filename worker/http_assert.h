/* worker/http_assert.h — what an HTTP check does beyond the plain one (docs/config.md "HTTP assertions"): the
 * request options (any method, a body of any bytes, compression, HTTP version, client certificate, proxy,
 * pinned address, cookies) and the assertions on the response (status ranges, keywords present and absent,
 * body regexes, JSON and header conditions, response time, certificate lifetime, HTTP version, TLS at the end
 * of the redirects), judged by a pure function of what was seen.
 *
 * DESIGN
 * - Built once per endpoint when the worker starts (http_assert_new), NULL for an endpoint that sets none of
 *   it: such a check costs what it cost before (no body buffer, no header look-up, the plain handle profile).
 * - Regexes (body_regex, body_regex_absent, the `~` of conditions) are PCRE2 patterns compiled here, once,
 *   JIT-compiled when PCRE2 has a JIT, and matched under a match limit (HTTP_ASSERT_MATCH_LIMIT): a
 *   catastrophic pattern fails its check ("exceeded its match limit") in about a millisecond, never stalls
 *   the worker's loop.
 * - JSON conditions read the body parsed strictly (worker/http_json.h) at the RFC 6901 pointer the configuration
 *   made of the `$.a.b[2]` path (`/a/b/2`); comparisons are typed: a number compares with a number (two integers
 *   exactly, as 64-bit integers; otherwise as doubles), a string with a string, true/false/null with themselves.
 * - A value that is missing (an absent header, a JSON path that leads nowhere) fails every condition but
 *   `!exists` and `!=`: it is not equal to anything, so `X-Debug != "on"` holds when X-Debug is absent.
 * - Header conditions look at the last response of the check (after redirects): libcurl keeps its headers
 *   (curl_easy_header), so nothing is captured for an endpoint without them.
 * - A body the worker's budget refused (body_refused) fails with that text first; the keywords that must be
 *   there are not judged on it (the transfer stopped at the refusal).
 * - The error names the first assertion that failed and what was seen, and how many others failed:
 *   `json $.status == "UP": got "DOWN" (and 2 more)`. */
#ifndef CW_WORKER_HTTP_ASSERT_H
#define CW_WORKER_HTTP_ASSERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/config/config.h"

#define HTTP_ASSERT_MATCH_LIMIT 100000 /* PCRE2 match limit per regex per check (~1 ms of backtracking) */
#define HTTP_ASSERT_DEPTH_LIMIT 10000
#define HTTP_ASSERT_JSON_DEPTH 64 /* nesting json-c accepts */

struct http_assert;

/* Whether the endpoint sets anything beyond a plain check (an option of the request or an assertion). */
bool http_assert_wanted(const struct cw_endpoint *ep);

/* The compiled extras of an HTTP endpoint (borrowed: ep outlives it). *out is NULL when the endpoint wants none.
 * 0, or -1 with the reason in err (a regex that does not compile: `-t` refuses it first). */
int http_assert_new(const struct cw_endpoint *ep, struct http_assert **out, char *err, size_t errlen);
void http_assert_free(struct http_assert *a);

/* What the assertions need from a transfer. */
bool http_assert_needs_body(const struct http_assert *a);    /* a regex or a JSON condition: buffer the body */
bool http_assert_needs_headers(const struct http_assert *a); /* header conditions */
/* The pinned address as CURLOPT_CONNECT_TO lines (host of the URL, any port, to the address); NULL: none. */
struct curl_slist *http_assert_connect_to(const struct http_assert *a);

/* The accepted statuses as text for an error: "2xx, 301" ("200-399" when nothing is set). */
void http_status_wanted_text(const struct cw_endpoint *ep, char *out, size_t outlen);

/* One response header looked up by name (case-insensitive): 0 and *value, or -1 when absent. */
typedef int (*http_header_fn)(void *ctx, const char *name, const char **value);

/* What one check saw, for http_assert_check. */
struct http_observed {
    long status;
    int64_t latency_us;
    const char *body; /* the decoded body (needs_body), NULL otherwise */
    size_t body_len;
    bool body_capped;          /* the body was cut at the endpoint's body_limit */
    const char *body_refused;  /* non-NULL: the body could not be buffered (why: the worker's budget) */
    const bool *keyword_found; /* per ep->keywords[i] */
    const bool *absent_found;  /* per ep->keywords_absent[i] */
    http_header_fn header;     /* NULL: no headers (needs_headers false) */
    void *header_ctx;
    long http_version;         /* CURLINFO_HTTP_VERSION: CURL_HTTP_VERSION_1_0, _1_1, _2_0, _3; 0 unknown */
    const char *final_url;     /* the URL the check ended on (after redirects) */
    int64_t tls_expires_at_us; /* 0 unknown */
    int64_t now_us;            /* wall clock, for the certificate's days left */
    size_t body_limit;         /* what the body was cut at (for the error text) */
};

/* Judges every assertion of a. True when all pass; else false with the first failure's text in err, followed by
 * " (and N more)" when more failed. a NULL: true. Status and the single `keyword` are judged by probe_classify,
 * before this. */
bool http_assert_check(const struct http_assert *a, const struct http_observed *o, char *err, size_t errlen);

/* "1 MiB", "64 KiB", "1000 bytes": a body limit as an error text says it. */
void http_size_text(size_t bytes, char *out, size_t outlen);

#endif
