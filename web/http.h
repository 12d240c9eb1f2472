/* web/http.h — clockwerk-web's HTTP server: libmicrohttpd in external-polling mode with epoll (no thread of its
 * own: every request runs on the web's loop, beside the bus), started from the `web` configuration.
 *
 * Safety defaults (docs/web.md): the connection limit and the per-IP limit (web.max_connections,
 * web.max_connections_per_ip), an inactivity timeout (web.connection_timeout), 32 KiB of memory per connection
 * (libmicrohttpd answers 431 to larger headers and 414 to longer URLs), TLS from tls_cert_file/tls_key_file,
 * basic auth for /api and /metrics (constant-time compare), security headers on every answer, a capped socket
 * send buffer per connection (a client that does not read holds little kernel memory), and libmicrohttpd's own
 * messages through one rate-limited logger (a hostile client cannot flood the log). The costly answers (`/`, the
 * API's lists) are rendered at most once a second per query and shared (web/cache.h). */
#ifndef CW_WEB_HTTP_H
#define CW_WEB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/ratelimit.h"
#include "common/config/config.h"
#include "web/cache.h"
#include "web/form.h"
#include "web/history_wait.h"
#include "web/model.h"

struct MHD_Daemon;

struct web_http {
    struct MHD_Daemon *daemon;
    int epoll_fd;                     /* libmicrohttpd's: readable when it has work */
    const struct cw_config *cfg;      /* the web's configuration (may be replaced on reload) */
    const struct web_model *model;    /* rendered by the handlers */
    struct web_history_loop *history; /* needs_detail routes wait on its reader thread; NULL: no detail */
    bool bus_open;
    int64_t started_mono_ns;
    struct ratelimit rl_log; /* libmicrohttpd's messages */
    bool starting;           /* in web_http_start: libmicrohttpd's messages are kept in start_msg, not logged */
    char start_msg[300];     /* its last one then ("Failed to bind to port 0: ..."): the start's error says it better */
    uint64_t requests, unauthorised, not_found, bad_method;
    struct web_cache cache;  /* whole answers of the costly routes, for a second (web/cache.h) */
    struct cw_buf cache_key; /* the current request's key (reused) */
    struct web_forms *forms; /* POST form bodies being read (web/form.h) */
};

/* Starts listening on cfg->web_listen. 0, or -1 with a one-line reason in err (address in use, unreadable or bad
 * TLS files). The TLS key is wiped from memory once libmicrohttpd has it. */
int web_http_start(struct web_http *h, const struct cw_config *cfg, const struct web_model *model, char *err,
                   size_t errlen);
/* Closes every connection and the listening socket. */
void web_http_stop(struct web_http *h);
/* Milliseconds until libmicrohttpd must run again (a connection's timeout), at most max_ms. */
int web_http_timeout_ms(struct web_http *h, int max_ms);
/* Lets libmicrohttpd do what is due (accept, read, answer, time out); call after every wait. */
void web_http_run(struct web_http *h);

/* Whether the given secret equals the expected one, in time that depends only on the given one's length. */
bool web_secret_equal(const char *given, const char *expected);

#endif
