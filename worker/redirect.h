/* worker/redirect.h — what the worker needs to follow an endpoint's redirects itself instead of letting
 * libcurl do it: the origin test, the method after a redirect, and the phase times summed over the hops
 * (the headers that may leave the endpoint's origin: probe_public_headers_new).
 *
 * DESIGN
 * libcurl's own CURLOPT_FOLLOWLOCATION sends every CURLOPT_HTTPHEADER line to whatever host a redirect
 * names; it withholds only Authorization and Cookie (and the URL's user:password) on a change of host, port
 * or scheme. An operator's `X-Api-Key`, `Proxy-Authorization` or session token would reach any host the
 * endpoint redirects to. So probe.c follows redirects itself (libcurl's CURLINFO_REDIRECT_URL gives the
 * absolute target): every hop is a fresh transfer on the same handle, with all the endpoint's headers when
 * the target has the endpoint's own origin (scheme, host and port of the configured URL) and otherwise only
 * those of a short allowlist (redirect_header_may_leave, probe_public_headers_new): a list of credential
 * names can never be complete (every vendor names its key), a list of harmless ones can. An https endpoint
 * redirected to http:// changes origin, so a downgrade never carries a credential either. */
#ifndef CW_WORKER_REDIRECT_H
#define CW_WORKER_REDIRECT_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/config/config.h"

#define REDIRECT_MAX 10 /* redirects followed per check; the next one fails it, as libcurl's MAXREDIRS did */

/* Whether two absolute URLs have one origin: the same scheme and host (both case-insensitive) and the same
 * port (the scheme's default when none is written). False when either cannot be parsed. */
bool redirect_same_origin(const char *a, const char *b);

/* Whether a configured header line may go to another origin than the endpoint's: only the names of a short
 * list that describe the request and never authenticate it (Accept, Accept-Charset, Accept-Encoding,
 * Accept-Language, Cache-Control, Content-Type, If-Match, If-Modified-Since, If-None-Match,
 * If-Unmodified-Since, Pragma, User-Agent; any case). Every other header — a credential by name or not
 * (X-Functions-Key, a vendor's subscription key) — stays on the endpoint's origin. */
bool redirect_header_may_leave(const char *line);

/* The method of the request that follows a redirect with this status: a POST answered with 301 or 302, and any
 * method but HEAD answered with 303, becomes a GET without a body (libcurl's default, and browsers'); 307 and 308
 * keep it; HEAD stays HEAD. */
enum cw_method redirect_method(enum cw_method method, long status);

/* The phases of a check, in microseconds, -1 for a phase no hop reached. Each hop opens its own
 * connection, so the check's time in a phase is the sum of its hops' times in it: dns + connect + tls + ttfb
 * never exceeds latency, and latency is the whole chain. */
struct redirect_phases {
    int64_t latency_us, dns_us, connect_us, tls_us, ttfb_us;
};
/* One finished transfer's phases from libcurl's timers (total; name lookup; connect after the lookup; TLS
 * after the connect; first byte after the request was sent). latency_us is 0 when libcurl has no total. */
void redirect_phases_of(CURL *easy, struct redirect_phases *out);
/* acc += hop, phase by phase; a phase stays -1 until a hop reaches it. acc starts as all -1 but latency 0. */
void redirect_phases_add(struct redirect_phases *acc, const struct redirect_phases *hop);
void redirect_phases_init(struct redirect_phases *acc);

#endif
