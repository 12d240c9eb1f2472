/* worker/probe.h — one HTTP(S) check: setting up a pooled libcurl easy handle, watching the body for the
 * keyword (the matcher is worker/probe_kw.h), and turning a finished transfer into a struct cw_result.
 *
 * DESIGN
 * - Easy handles exist only for checks in flight: a pool of at most `max` checks, each handle created the
 *   first time its slot is used and afterwards reused with curl_easy_reset (its buffers survive), so
 *   100,000 endpoints cost nothing here. Every check opens a fresh connection (FRESH_CONNECT,
 *   FORBID_REUSE) and never resumes a TLS session, so connect and TLS times are honest.
 * - The body is not stored for a plain check: the write callback feeds the keyword matcher (worker/probe_kw.h).
 * - A body is read up to the endpoint's body_limit (PROBE_BODY_CAP, 1 MiB, when it sets none; decoded bytes);
 *   there the transfer is stopped. That is not a failure: the check is judged on what was read (status, and
 *   the keyword if any must be within the first body_limit bytes: "keyword \"x\" not found in the first
 *   1 MiB of the body"). The latency is then the time until the limit was reached. (libcurl 7.88's
 *   MAXFILESIZE would not stop a chunked or compressed body: the write callback counts.)
 * - An endpoint with extras — request options or assertions (worker/http_assert.h, worker/probe_extra.h) —
 *   has them compiled once at start (probe_pool_prepare) and set up on every hop; a plain endpoint has none
 *   and costs what it always did (no body buffer, no header look-up, no regex, the plain handle profile).
 * - A check's connection is closed with a reset (SO_LINGER 0) once the transfer is over, so the prober
 *   leaves no TIME_WAIT sockets: at thousands of checks per second against one host they would exhaust
 *   the ephemeral ports (see on_socket in probe.c).
 * - No proxy from the environment is used (CURLOPT_PROXY ""): a monitor measures the endpoint itself.
 * - Redirects (follow_redirects) are followed here, not by libcurl: probe_finish starts each next request
 *   on the same handle, with the credential headers only when it goes to the endpoint's own origin
 *   (worker/redirect.h says why); one check, one result, its phase times summed over its requests.
 * - probe_classify is a pure function (tested on its own): curl error, then status, then keyword.
 * - TLS: peer and host verification stay on (libcurl's default) unless the endpoint says verify_tls =
 *   false; ca_file replaces the system CAs. https checks ask libcurl for the certificate chain
 *   (CURLOPT_CERTINFO) and report the leaf's "Expire date" as tls_expires_at_us. Cost, measured with 400
 *   sequential fresh-connection checks against a local RSA-2048 server: ~0.88 ms CPU per https check
 *   without, ~0.95-0.98 ms with (+8-11 %, libcurl printing every field of the chain); plain http checks
 *   do not ask for it. A failed verification yields no certificate info (the handshake stopped). */
#ifndef CW_WORKER_PROBE_H
#define CW_WORKER_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/config/config.h"
#include "common/wire/protocol.h"
#include "worker/probe_kw.h"

#define PROBE_BODY_CAP (1024 * 1024) /* an endpoint's body_limit when it sets none */
/* Bytes of body the worker's checks may hold in memory at once, for the assertions that need a body whole
 * (worker/body_buf.h); CLOCKWERK_BODY_BUDGET_BYTES overrides it. */
#define PROBE_BODY_BUDGET (256ULL * 1024 * 1024)

/* ---- classification */
struct probe_outcome {
    int curl_code;          /* CURLcode; CURLE_OK when the transfer completed */
    const char *curl_error; /* curl's error text when curl_code != CURLE_OK */
    long status;            /* 0: no response */
    bool status_expected;   /* config_status_expected(ep, status) */
    const char *keyword;    /* NULL when none */
    bool keyword_found;
    bool body_capped;             /* the body was stopped at PROBE_BODY_CAP (curl then reports a write error) */
    long tls_verify;              /* CURLINFO_SSL_VERIFYRESULT: OpenSSL's X509_V_* code (0: ok or not reached) */
    const char *host;             /* host name the certificate had to match (for the error text); may be NULL */
    const struct cw_endpoint *ep; /* for the accepted statuses and the body limit in the text; may be NULL */
};
/* Returns whether the check is ok; when not, writes the reason (credentials in URLs masked) into err.
 * A certificate that fails verification (CURLE_PEER_FAILED_VERIFICATION) is named by what is wrong with it,
 * from tls_verify, instead of libcurl's generic text: "TLS certificate expired", "TLS certificate is
 * self-signed", "TLS certificate not trusted (unknown CA)", "TLS certificate does not match host H" (a
 * verified chain that curl's host check refused), ...; libcurl's own text follows after ": ". */
bool probe_classify(const struct probe_outcome *o, char *err, size_t errlen);

/* The TLS verification failure text for OpenSSL verify code `verify` ("TLS certificate expired", ...);
 * verify 0 means the chain was fine, so the host name did not match. */
void probe_tls_reason(long verify, const char *host, char *out, size_t outlen);

/* Parses a certificate time as libcurl's certinfo shows it ("Jan  2 00:00:00 2020 GMT", OpenSSL's
 * ASN1_TIME_print form) into microseconds since the epoch; 0 when it cannot be parsed. */
int64_t probe_parse_cert_time(const char *text);

/* Copies text to out with the `user:password@` of every URL in it replaced by `***@`. Always terminates. */
void probe_mask_text(const char *text, char *out, size_t outlen);

/* ---- the pool of checks in flight */
struct probe_pool;
struct probe_check;

/* NULL when max is 0 or memory is short. The pool adds its handles to multi and removes them. */
struct probe_pool *probe_pool_new(CURLM *multi, unsigned max);
/* Abandons whatever is still in flight and frees every handle. NULL is fine. */
void probe_pool_free(struct probe_pool *p);
/* Compiles the extras (request options and assertions: worker/http_assert.h) of the HTTP endpoints eps[0..n), whose
 * ids are their indices; eps is borrowed for the pool's life. 0, or -1 with the reason (naming the URL) in err. */
int probe_pool_prepare(struct probe_pool *p, const struct cw_endpoint *eps, size_t n, char *err, size_t errlen);
/* A reload in place (worker/remap.h): the compiled extras of the previous endpoints, taken out of the pool (which
 * then has none: probe_pool_prepare compiles the new ones). Checks in flight keep using theirs: the caller frees them
 * (probe_asserts_free) once no check started before the reload is in flight. */
struct http_assert;
struct probe_asserts {
    struct http_assert **v;
    size_t n;
};
void probe_pool_take_asserts(struct probe_pool *p, struct probe_asserts *out);
void probe_asserts_free(struct probe_asserts *a);
/* The id of every check in flight whose id is below n_map becomes map[id] (a reload in place renumbers the
 * endpoints); the check itself goes on under the endpoint it started with. */
void probe_remap(struct probe_pool *p, const uint32_t *map, size_t n_map);
unsigned probe_in_flight(const struct probe_pool *p);
unsigned probe_capacity(const struct probe_pool *p);

/* The request headers of an endpoint as a curl list (NULL when it has none). Built once per endpoint at
 * start-up; the caller frees it with curl_slist_free_all after the pool is gone. Out of memory is fatal. */
struct curl_slist *probe_headers_new(const struct cw_endpoint *ep);
/* Only the lines that may leave the endpoint's origin (redirect_header_may_leave): what a redirect to another
 * origin is sent (worker/redirect.h); NULL when none is left. */
struct curl_slist *probe_public_headers_new(const struct cw_endpoint *ep);

/* Starts a check of ep (the caller's endpoint id `id`, due at due_ns, starting now at start_ns / wall_us),
 * with a timeout of timeout_ms (0: the endpoint's own).
 * ep and headers are borrowed until the check is released. Returns 0, or -1 with a reason in err (no free
 * slot, or libcurl refused the handle): the caller reports the check as failed. */
int probe_start(struct probe_pool *p, const struct cw_endpoint *ep, struct curl_slist *headers, uint32_t id,
                long timeout_ms, int64_t due_ns, int64_t start_ns, int64_t wall_us, char *err, size_t errlen);

/* For a CURLMSG_DONE message of the pool's multi: fills out (all but worker, boot_id and seq) and *id, and
 * returns the check. NULL when the handle is not one of the pool's, or when the transfer was a redirect the
 * check follows: its next request is then in flight, and a later message finishes the check. out->url and
 * out->error point into the endpoint and the check: valid until probe_release. */
struct probe_check *probe_finish(struct probe_pool *p, const CURLMsg *msg, struct cw_result *out, uint32_t *id);
/* Removes the finished check's handle from the multi and returns its slot to the pool. */
void probe_release(struct probe_pool *p, struct probe_check *c);

/* Fills out for a check that could not even start (probe_start failed), with why as its error. */
void probe_failed_result(const struct cw_endpoint *ep, int64_t lateness_us, int64_t wall_us, const char *why,
                         char *errbuf, size_t errlen, struct cw_result *out);

#endif
