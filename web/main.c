/* web/main.c — clockwerk-web: the status page, the JSON API, Prometheus /metrics and badges (docs/web.md).
 *
 * Started by the supervisor when the configuration has a `web` group (`clockwerk: web`). One loop: a
 * subscription to the relay's XPUB (like clockwerk-tap: results, alerts, stats; best effort) feeds the live model
 * (web/model.h), and libmicrohttpd in external epoll mode answers from that model on the same loop:
 *     wait(SUB socket, epoll{signalfd, libmicrohttpd's epoll fd, the history's eventfd}, libmicrohttpd's timeout)
 *     -> signals -> drain the SUB (bounded) -> take the history's results -> MHD_run (always, after every wait).
 * The history (web/history.h) is read by a thread of its own (web/history.c) when the configuration stores
 * results: its snapshots are swapped into the model here, its details answer suspended requests.
 * Handlers only render from memory, so one slow client never holds up the bus. SIGTERM stops (every connection
 * closed), SIGHUP reads the snapshot again (the title, the endpoints, which keep their state; a changed listen address, TLS or limit takes
 * a restart, which the supervisor does whenever what the web reads changed: supervisor/reload.h). Exit 2 on a configuration it cannot use, 1 when it
 * cannot serve (the supervisor restarts it with backoff); checks, storage and alerts never depend on it. */
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/bus/bus.h"
#include "common/config/config.h"
#include "common/proc/proc.h"
#include "web/history_thread.h"
#include "web/history_wait.h"
#include "web/http.h"
#include "web/model.h"
#include "web/push.h"

#define WAIT_MAX_MS 1000
#define WEB_MMAP_THRESHOLD (256 * 1024)
#define DRAIN_MAX 256 /* bus messages per pass: HTTP gets its turn in between */
#define WEB_NICE 5    /* the web's CPU priority (docs/web.md, "Caching") */

struct web {
    struct proc p;
    struct web_model model;
    struct web_http http;
    struct web_history_loop history;
    struct bus_socket *sub;
    int epoll_fd; /* {signalfd, libmicrohttpd's epoll fd} */
    bool stop;
};

static void build_model(struct web *w)
{
    char err[512];
    if (web_ids_build(&w->model, w->p.cfg, err, sizeof err) != 0) fatal(2, "%s", err);
}

static void reload(struct web *w)
{
    char err[512];
    int64_t t0 = cw_mono_ns(), c0 = cw_thread_cpu_ns();
    struct cw_config *old = proc_reload(&w->p, err, sizeof err);
    if (!old) {
        log_warn("reload: %s; keeping the previous configuration", err);
        return;
    }
    size_t n_urls = 0;
    int rc = web_ids_update(&w->model, w->p.cfg, &n_urls, err, sizeof err); /* the same endpoints, a few edited */
    if (rc < 0) fatal(2, "%s", err);
    if (rc > 0) {
        struct web_model next;
        if (web_ids_build(&next, w->p.cfg, err, sizeof err) != 0) fatal(2, "%s", err);
        web_ids_carry(&next, &w->model); /* the endpoints that stay keep their last check and state */
        next.history = w->model.history;
        next.history_error = w->model.history_error;
        next.history_off = w->model.history_off;
        web_ids_free(&w->model);
        w->model = next; /* each endpoint kept its `hist` (web_ids_carry): the snapshot is indexed by the old order */
    } /* in place: the same order, so each `hist` stays right; a changed URL's was dropped (web_ids_update) */
    w->http.cfg = w->p.cfg;
    w->http.model = &w->model;
    if (web_push_configure(w->p.bus, w->p.cfg, err, sizeof err) != 0) log_warn("reload: push calls: %s", err);
    if (w->history.thread) web_history_reconfigure(w->history.thread, w->p.cfg, old); /* it frees old */
    else config_free(old);
    log_info("reloaded: %zu endpoint%s in %.2f s (%.2f s CPU; a changed listen address, TLS or limit takes a restart)",
             w->model.n, cw_plural((long long)w->model.n), (double)(cw_mono_ns() - t0) / 1e9,
             (double)(cw_thread_cpu_ns() - c0) / 1e9);
}

static void drain_bus(struct web *w)
{
    for (int i = 0; i < DRAIN_MAX; i++) {
        struct bus_msg m;
        int rc = bus_recv(w->sub, &m, 0);
        if (rc < 0) fatal(1, "cannot receive from %s: %s", w->p.cfg->tap_address, strerror(errno));
        if (rc == 0) return;
        web_live_apply(&w->model, m.type, m.data, m.len, cw_mono_ns());
        bus_msg_release(&m);
    }
}

static void run(struct web *w)
{
    while (!w->stop) {
        int ready = bus_wait(&w->sub, 1, w->epoll_fd, web_http_timeout_ms(&w->http, WAIT_MAX_MS));
        if (ready < 0 && errno != EINTR) fatal(1, "cannot wait: %s", strerror(errno));
        unsigned sig = proc_signals(w->p.sigfd);
        if (sig & PROC_SIG_TERM) w->stop = true;
        if (sig & PROC_SIG_HUP) reload(w);
        if (ready > 0 && (ready & BUS_WAIT_SOCKET)) drain_bus(w);
        web_history_poll(&w->history, &w->model);
        web_http_run(&w->http);
    }
}

static void add_to_epoll(int ep, int fd, const char *what)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) fatal(1, "cannot watch %s: %s", what, strerror(errno));
}

int main(void)
{
    struct web w = { 0 };
    /* the history's snapshots (~2 KB an endpoint) come and go whole: a fixed mmap threshold gives their memory
     * back at each swap (glibc's moving threshold would keep them in the heap, two at a time) */
    mallopt(M_MMAP_THRESHOLD, WEB_MMAP_THRESHOLD);
    /* the checks come first: when the CPU is contended (a crowd on the page) the web yields it to the worker; set
     * before any thread starts, as the nice value is per thread and inherited (an idle machine serves at full speed) */
    errno = 0;
    bool niced = setpriority(PRIO_PROCESS, 0, WEB_NICE) == 0;
    int nice_errno = errno;
    proc_init(&w.p, &(struct proc_opts){ .name = "web", .open_bus = true });
    if (!niced) log_warn("cannot lower the web's CPU priority to nice %d: %s", WEB_NICE, strerror(nice_errno));
    if (!config_wants_web(w.p.cfg)) fatal(2, "the configuration has no `web` group");
    build_model(&w);
    char err[512];
    if (!(w.sub = bus_open(w.p.bus, BUS_SUBSCRIBE, w.p.cfg->tap_address, err, sizeof err))) fatal(1, "%s", err);
    if (web_http_start(&w.http, w.p.cfg, &w.model, err, sizeof err) != 0) fatal(1, "%s", err);
    if (web_push_configure(w.p.bus, w.p.cfg, err, sizeof err) != 0) fatal(1, "push calls: %s", err);
    w.http.bus_open = true;
    w.http.history = &w.history;
    w.model.history_off = !w.p.cfg->db_activation;
    if (!w.model.history_off && !(w.history.thread = web_history_start(w.p.cfg, err, sizeof err))) fatal(1, "%s", err);
    if ((w.epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0) fatal(1, "epoll_create1: %s", strerror(errno));
    add_to_epoll(w.epoll_fd, w.p.sigfd, "signals");
    add_to_epoll(w.epoll_fd, w.http.epoll_fd, "libmicrohttpd's descriptor");
    if (w.history.thread) add_to_epoll(w.epoll_fd, web_history_fd(w.history.thread), "the history's eventfd");
    log_info("serving %s on %s%s (%zu endpoint%s)", w.p.cfg->web_title,
             w.p.cfg->web_tls_cert_file ? "https://" : "http://", w.p.cfg->web_listen, w.model.n,
             cw_plural((long long)w.model.n));
    proc_ready(&w.p);

    run(&w);

    log_info("stopping: %llu requests served", (unsigned long long)w.http.requests);
    web_http_stop(&w.http);
    web_push_stop();
    web_history_stop(w.history.thread);
    web_history_loop_free(&w.history, &w.model);
    close(w.epoll_fd);
    bus_close(w.sub);
    web_ids_free(&w.model);
    proc_close(&w.p);
    return 0;
}
