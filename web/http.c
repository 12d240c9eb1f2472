/* web/http.c — the HTTP server of clockwerk-web on libmicrohttpd (see web/http.h): start and stop from the
 * configuration, the access handler (auth, route, reply with the security headers), the logger. */
#include "web/http.h"

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/config/config_web.h"
#include "web/api_json.h"
#include "web/form.h"
#include "web/metrics.h"
#include "web/route.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEMORY_LIMIT (32 * 1024) /* per connection: larger headers get 431, longer URLs 414 */
#define SEND_BUFFER (128 * 1024) /* SO_SNDBUF per connection (Linux doubles it): see on_connection */
#define PEM_MAX (1024 * 1024)
#define CSP                                                                                                      \
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; script-src 'self'; base-uri 'none'; " \
    "form-action 'self'; frame-ancestors 'none'"

static char request_marker; /* *con_cls after the first call of a request */
static char forms_busy;     /* *con_cls of a form POST that found the pool full (answered 503) */

bool web_secret_equal(const char *given, const char *expected)
{
    size_t n = strlen(given), m = strlen(expected);
    volatile unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(given[i] ^ (m ? expected[i % m] : 0));
    return diff == 0;
}

/* libmicrohttpd's messages, one line each, rate limited. */
static void http_log(void *cls, const char *fmt, va_list ap)
{
    struct web_http *h = cls;
    char line[300];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = '\0';
    if (h->starting) snprintf(h->start_msg, sizeof h->start_msg, "%s", line); /* its port is 0: web.listen is ours */
    else if (ratelimit_allow(&h->rl_log, cw_mono_ns())) log_warn("http: %s", line);
}

static void add_common_headers(struct MHD_Response *r, const char *content_type, const char *cache)
{
    if (content_type) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache ? cache : "no-store");
}

/* A reply as a libmicrohttpd response (NULL when it cannot be made); its body moves to libmicrohttpd (freed with
 * free() when the response's last reference goes). */
static struct MHD_Response *make_response(struct web_reply *rp, const char *allow, const char *retry_after)
{
    struct MHD_Response *r;
    if (rp->stream.next) r = web_stream_response(&rp->stream); /* takes the stream, also on failure */
    else if (rp->body.len) r = MHD_create_response_from_buffer(rp->body.len, rp->body.data, MHD_RESPMEM_MUST_FREE);
    else r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        cw_buf_free(&rp->body);
        return NULL;
    }
    if (rp->body.len) rp->body = (struct cw_buf){ 0 }; /* libmicrohttpd owns it now */
    else cw_buf_free(&rp->body);
    add_common_headers(r, rp->content_type, rp->cache);
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (retry_after) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry_after);
    return r;
}

/* Queues a reply (see make_response). */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct web_reply *rp, const char *allow,
                                  const char *retry_after)
{
    struct MHD_Response *r = make_response(rp, allow, retry_after);
    if (!r) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the cache of whole answers (web/cache.h) */
static void release_response(void *r) { MHD_destroy_response(r); }

static struct web_cache_stamp cache_stamp(const struct web_http *h)
{
    const struct web_history *hist = h->model->history;
    return (struct web_cache_stamp){ .generation = h->model->generation,
                                     .history = hist,
                                     .history_read_at_ms = hist ? hist->read_at_ms : 0,
                                     .cfg = h->cfg };
}

/* Queues the cached answer for the request's key when there is one (*ret: the result). */
static bool send_cached(struct web_http *h, struct MHD_Connection *c, enum MHD_Result *ret)
{
    int64_t now = cw_mono_ns();
    struct web_cache_stamp stamp = cache_stamp(h);
    web_cache_sweep(&h->cache, &stamp, now);
    unsigned status;
    struct MHD_Response *r = web_cache_get(&h->cache, &h->cache_key, now, &status);
    if (!r) return false;
    *ret = MHD_queue_response(c, status, r); /* its own reference: the cache keeps the entry's */
    return true;
}

/* Queues a rendered reply and keeps it in the cache when it can be shared. */
static enum MHD_Result send_and_cache(struct web_http *h, struct MHD_Connection *c, struct web_reply *rp)
{
    bool shareable = rp->status == MHD_HTTP_OK && !rp->stream.next;
    size_t bytes = rp->body.len;
    struct MHD_Response *r = make_response(rp, NULL, NULL);
    if (!r) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rp->status, r);
    if (!shareable || !web_cache_put(&h->cache, &h->cache_key, r, MHD_HTTP_OK, bytes, cw_mono_ns()))
        MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, int status, const char *text, const char *allow)
{
    struct web_reply rp = { .status = status, .content_type = "text/plain; charset=utf-8" };
    cw_buf_put(&rp.body, text, strlen(text));
    return send_reply(c, &rp, allow, NULL);
}

/* Whether the request carries the configured user and password (basic auth). */
static bool authorised(const struct web_http *h, struct MHD_Connection *c)
{
    char *password = NULL;
    char *user = MHD_basic_auth_get_username_password(c, &password);
    bool ok = user && password && web_secret_equal(user, h->cfg->web_auth_user) &&
              web_secret_equal(password, h->cfg->web_auth_password ? h->cfg->web_auth_password : "");
    if (password) {
        explicit_bzero(password, strlen(password));
        MHD_free(password);
    }
    if (user) MHD_free(user);
    return ok;
}

static enum MHD_Result refuse_unauthorised(struct web_http *h, struct MHD_Connection *c)
{
    h->unauthorised++;
    static const char body[] = "authentication required\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    add_common_headers(r, "text/plain; charset=utf-8", NULL);
    enum MHD_Result ret = MHD_queue_basic_auth_fail_response(c, "clockwerk", r);
    MHD_destroy_response(r);
    return ret;
}

/* A needs_detail route (web/history_wait.h): true when answered here or suspended (*ret: the result), false
 * when the handler is to answer: with *detail (NULL for an ID no endpoint has: it answers 404). */
static bool detail_wait(struct web_http *h, struct MHD_Connection *c, const char *url, const char *rest, void **con_cls,
                        const struct web_detail **detail, enum MHD_Result *ret)
{
    void *slot = *con_cls == &request_marker ? NULL : *con_cls;
    enum web_detail_step step = web_history_detail_step(h->history, h->model, c, rest, &slot, detail);
    if (slot) *con_cls = slot;
    if (step == WEB_DETAIL_READY) return false;
    if (step == WEB_DETAIL_SUSPENDED) {
        *ret = MHD_YES;
    } else {
        struct web_reply rp = { .status = MHD_HTTP_SERVICE_UNAVAILABLE, .content_type = "text/plain; charset=utf-8" };
        static const char busy[] = "too many requests wait for the history; try again";
        if (strncmp(url, "/api/", 5) == 0) api_error(&rp, MHD_HTTP_SERVICE_UNAVAILABLE, busy); /* the API: JSON */
        else cw_buf_printf(&rp.body, "%s\n", busy);
        *ret = send_reply(c, &rp, NULL, WEB_DETAIL_RETRY_AFTER);
    }
    return true;
}

/* libmicrohttpd's end of a request: a detail wait (web/history_wait.c) is freed. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct web_http *h = cls;
    (void)c;
    (void)toe;
    if (web_form_owns(h->forms, *con_cls)) {
        web_form_give(*con_cls);
        *con_cls = NULL;
    } else if (*con_cls && *con_cls != &request_marker && *con_cls != &forms_busy) {
        web_history_detail_completed(h->history, con_cls);
    }
}

/* libmicrohttpd's news of a new connection: its socket's send buffer is capped, so a client that does not read
 * holds at most ~2 x SEND_BUFFER of kernel memory (the kernel's autotuning would grow it to tcp_wmem's maximum,
 * 4 MB: 200 such clients held 283 MB of a 1.4 MB page). A fast client is not slowed: the loop refills it as it
 * drains. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct web_http *h = cls;
    (void)socket_context;
    if (code != MHD_CONNECTION_NOTIFY_STARTED) return;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    int size = SEND_BUFFER;
    if (!info || setsockopt(info->connect_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) != 0)
        if (ratelimit_allow(&h->rl_log, cw_mono_ns()))
            log_warn("http: cannot cap a connection's send buffer: %s", info ? strerror(errno) : "no descriptor");
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct web_request *rq = cls;
    (void)kind;
    if (rq->n_args >= WEB_ARGS_MAX) return MHD_NO; /* the rest are ignored */
    rq->args[rq->n_args++] = (struct web_arg){ .key = key, .value = value };
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct web_http *h = cls;
    (void)version;
    (void)upload;
    if (*con_cls == NULL) { /* the headers are in; answer once the body (if any) has been read */
        *con_cls = &request_marker;
        if (strcmp(method, "POST") == 0 &&
            web_form_wanted(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE))) {
            struct web_form *f = web_form_take(h->forms);
            *con_cls = f ? (void *)f : (void *)&forms_busy;
        }
        return MHD_YES;
    }
    struct web_form *form = web_form_owns(h->forms, *con_cls) ? *con_cls : NULL;
    if (*upload_size) { /* a body: only a form is kept (web/form.h); skip the rest */
        if (form) web_form_feed(form, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (*con_cls == &request_marker || form || *con_cls == &forms_busy) h->requests++; /* not again when resumed */
    if (h->cfg->web_auth_user && web_route_needs_auth(url) && !authorised(h, c)) return refuse_unauthorised(h, c);
    const struct web_route *route;
    const char *rest;
    switch (web_route_find(method, url, &route, &rest)) {
    case WEB_ROUTE_NOT_FOUND:
        h->not_found++;
        return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
    case WEB_ROUTE_BAD_METHOD:
        h->bad_method++;
        return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", web_route_allow(route));
    case WEB_ROUTE_FOUND:
        break;
    }
    struct web_request rq = { .method = method,
                              .path = url,
                              .rest = rest,
                              .model = h->model,
                              .cfg = h->cfg,
                              .bus_open = h->bus_open,
                              .now_mono_ns = cw_mono_ns(),
                              .started_mono_ns = h->started_mono_ns,
                              .http = h,
                              .authorization =
                                  MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                              .host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
                              .origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
                              .fetch_site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site") };
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &rq);
    if (*con_cls == &forms_busy)
        return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many form bodies at once\n", NULL);
    if (form && form->too_big) return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "form body over 4096 bytes\n", NULL);
    if (form) rq.n_args = web_form_args(form, rq.args, rq.n_args, WEB_ARGS_MAX);
    bool wants_detail = route->needs_detail && route->needs_detail(&rq);
    enum MHD_Result waited;
    if (wants_detail && detail_wait(h, c, url, rest, con_cls, &rq.detail, &waited)) return waited;
    bool cached =
        !route->needs_detail && web_cache_route(route->path) && web_cache_key(&h->cache_key, url, rq.args, rq.n_args);
    if (cached && send_cached(h, c, &waited)) return waited;
    struct web_reply rp = { .status = MHD_HTTP_OK };
    route->fn(&rq, &rp);
    if (wants_detail && *con_cls != &request_marker) web_history_detail_release(con_cls);
    return cached ? send_and_cache(h, c, &rp) : send_reply(c, &rp, NULL, NULL);
}

/* A PEM file into memory (NUL-terminated, malloc'd); NULL with a reason in err. */
static char *read_pem(const char *path, const char *what, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > PEM_MAX) {
        snprintf(err, errlen, "cannot read web.%s '%s': %s", what, path,
                 fd < 0 ? strerror(errno) : "not a regular file of 1 byte to 1 MiB");
        if (fd >= 0) close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *pem = cw_xmalloc(size + 1);
    while (got < size) {
        ssize_t r = read(fd, pem + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    pem[got] = '\0';
    return pem;
}

static void free_pem(char *pem)
{
    if (!pem) return;
    explicit_bzero(pem, strlen(pem));
    free(pem);
}

/* The daemon with the configured limits, on the parsed address; TLS when both PEMs are given. */
static struct MHD_Daemon *start_daemon(struct web_http *h, const struct sockaddr_storage *sa, const char *cert,
                                       const char *key)
{
    const struct cw_config *cfg = h->cfg;
    unsigned flags =
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | (sa->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    if (cert) flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = { { cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cert },
                                    { MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key },
                                    { MHD_OPTION_END, 0, NULL } };
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, http_log, h,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
                            h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)cfg->web_max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned)cfg->web_max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)(cfg->web_connection_timeout + 0.5), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)MEMORY_LIMIT, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

int web_http_start(struct web_http *h, const struct cw_config *cfg, const struct web_model *model, char *err,
                   size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->forms = cw_xcalloc(1, sizeof *h->forms);
    h->cfg = cfg;
    h->model = model;
    h->epoll_fd = -1;
    h->started_mono_ns = cw_mono_ns();
    h->rl_log.what = "http messages";
    web_cache_init(&h->cache, release_response);
    struct sockaddr_storage sa;
    socklen_t salen;
    bool loopback;
    const char *why = cw_web_listen_parse(cfg->web_listen, &sa, &salen, &loopback);
    if (why) {
        snprintf(err, errlen, "web.listen '%s' %s", cfg->web_listen, why);
        return -1;
    }
    char *cert = NULL, *key = NULL;
    if (cfg->web_tls_cert_file) {
        if (!(cert = read_pem(cfg->web_tls_cert_file, "tls_cert_file", err, errlen))) return -1;
        if (!(key = read_pem(cfg->web_tls_key_file, "tls_key_file", err, errlen))) {
            free_pem(cert);
            return -1;
        }
    }
    errno = 0;
    h->starting = true;
    h->start_msg[0] = '\0';
    h->daemon = start_daemon(h, &sa, cert, key);
    int saved = errno;
    h->starting = false;
    free_pem(key);
    free_pem(cert);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot serve HTTP%s on %s: %s", cfg->web_tls_cert_file ? "S" : "", cfg->web_listen,
                 saved             ? strerror(saved)
                 : h->start_msg[0] ? h->start_msg
                                   : "libmicrohttpd refused (a bad certificate or key?)");
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        MHD_stop_daemon(h->daemon);
        h->daemon = NULL;
        snprintf(err, errlen, "libmicrohttpd gives no epoll descriptor");
        return -1;
    }
    h->epoll_fd = info->epoll_fd;
    return 0;
}

void web_http_stop(struct web_http *h)
{
    if (h->daemon && h->history) web_history_resume_all(h->history); /* none may stay suspended at the stop */
    if (h->daemon) MHD_stop_daemon(h->daemon);
    web_cache_free(&h->cache);
    cw_buf_free(&h->cache_key);
    free(h->forms);
    h->forms = NULL;
    h->daemon = NULL;
    h->epoll_fd = -1;
}

int web_http_timeout_ms(struct web_http *h, int max_ms)
{
    MHD_UNSIGNED_LONG_LONG t;
    if (h->daemon && MHD_get_timeout(h->daemon, &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)max_ms) return (int)t;
    return max_ms;
}

void web_http_run(struct web_http *h)
{
    if (!h->daemon) return;
    struct web_cache_stamp stamp = cache_stamp(h); /* a reload or a new snapshot drops the cache at once */
    web_cache_sweep(&h->cache, &stamp, cw_mono_ns());
    MHD_run(h->daemon);
}
