/* web/route.h — what clockwerk-web answers: the request and reply as the handlers see them (no libmicrohttpd
 * type: handlers are pure functions of the model, testable alone), and the route table (web/route.c).
 *
 * Routing: a path matches an entry exactly, or an entry marked `prefix` ("/endpoint/") and then `rest` is what
 * follows it. The path is matched as libmicrohttpd gives it (percent-decoded, NOT normalised: "/../x" is just
 * an unknown path): no handler ever opens a file named by a request. Methods: GET and HEAD (HEAD: the same
 * headers, no body — libmicrohttpd drops it); anything else on a known path is 405 with `Allow: GET, HEAD`;
 * an unknown path is 404 whatever the method. Paths under /api/ and /metrics need basic auth when web.auth_user
 * is set (web_route_needs_auth), checked before the lookup so that an unauthorised client learns nothing. */
#ifndef CW_WEB_ROUTE_H
#define CW_WEB_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/base/util.h"
#include "common/config/config.h"
#include "web/model.h"

#define WEB_ARGS_MAX 8

struct web_arg {
    const char *key, *value; /* value NULL for "?key" without "=" */
};

struct web_http;

struct web_request {
    const char *method;                /* "GET", "HEAD", "POST", "DELETE" (what the route takes) */
    const char *path;                  /* as received (percent-decoded, no query) */
    struct web_arg args[WEB_ARGS_MAX]; /* the query's first WEB_ARGS_MAX arguments (decoded) */
    size_t n_args;
    const struct web_detail *detail; /* routes with needs_detail: the endpoint's detail (web/history.h); NULL when
                                        the ID is no endpoint's (answer 404) or no database is configured */
    const char *rest;                /* prefix routes: the part after the prefix; else "" */
    const struct web_model *model;   /* the live model */
    const struct cw_config *cfg;     /* the web's configuration (title, ...) */
    bool bus_open;                   /* the subscription to the relay exists */
    int64_t now_mono_ns;             /* cw_mono_ns */
    int64_t started_mono_ns;         /* when the web started */
    const struct web_http *http;     /* the server's own counters (/metrics); outlives every request */
    const char *authorization;       /* the Authorization header, NULL when none (web/push.h: Bearer) */
    const char *host;                /* the Host header, NULL when none */
    const char *origin;              /* the Origin header (browsers send it on cross-site writes), NULL when none */
    const char *fetch_site;          /* the Sec-Fetch-Site header, NULL when none */
};

/* A body produced in parts (a large answer, /metrics): `next` appends the next part to out and returns 1, or 0
 * when it is the last (out may hold a last part), or -1 to cut the answer short (the client sees a truncated
 * chunked reply); `done` frees state (always called, also when the client went away). The parts are asked for
 * on the loop between other work: a stream must check that what it reads still exists (web/metrics.c). */
struct web_stream {
    int (*next)(void *state, struct cw_buf *out);
    void (*done)(void *state);
    void *state;
};

struct web_reply {
    int status;               /* HTTP status; 200 unless set */
    const char *content_type; /* static string */
    struct cw_buf body;       /* owned; handed to libmicrohttpd */
    const char *cache;        /* Cache-Control; NULL: "no-store" */
    struct web_stream stream; /* .next set: the body comes from it, not from `body` (web/metrics_stream.c) */
};

/* The value of the query argument key, NULL when absent (or given without "="). */
const char *web_request_arg(const struct web_request *rq, const char *key);

typedef void (*web_handler)(const struct web_request *rq, struct web_reply *rp);

struct web_route {
    const char *path;
    bool prefix; /* path is a prefix ("/endpoint/"); rest = what follows, never empty */
    web_handler fn;
    /* prefix routes on an endpoint ID (rest starts with the ID, up to a '/' or the end): whether this request
     * (its rest and query) uses the endpoint's detail; then the handler is called with rq->detail, read on the
     * reader thread. NULL: never. A request answered 400 or 404 without it, or from the snapshot, costs no read. */
    bool (*needs_detail)(const struct web_request *rq);
};

enum web_route_result { WEB_ROUTE_FOUND, WEB_ROUTE_NOT_FOUND, WEB_ROUTE_BAD_METHOD };

#define WEB_ALLOWED_METHODS "GET, HEAD"

/* The route for method and path; *rest is set for prefix routes. WEB_ROUTE_BAD_METHOD: the path exists but the
 * method is not GET or HEAD, or for the push routes not GET or POST (answer 405 with Allow: web_route_allow). */
enum web_route_result web_route_find(const char *method, const char *path, const struct web_route **route,
                                     const char **rest);
/* The methods a route takes, for a 405's Allow header: "GET, POST" for /push, else WEB_ALLOWED_METHODS. */
const char *web_route_allow(const struct web_route *route);
/* Whether path is one that basic auth guards when configured: /api, /api/..., /metrics. */
bool web_route_needs_auth(const char *path);

#endif
