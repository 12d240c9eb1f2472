/* worker/events.c — the worker's wait: libcurl's sockets, the signalfd and the bus on one epoll set (see
 * events.h). */
#include "worker/events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"

#define EV_CURL 1ULL
#define EV_SIGNAL 2ULL
#define EV_BUS 3ULL
#define EV_DATA(tag, fd) (((tag) << 56) | (uint32_t)(fd))
#define WORKER_MAX_EVENTS 256

/* CURLMOPT_SOCKETFUNCTION: libcurl says which events a socket of a transfer waits for. socketp is non-NULL
 * once the socket is in the epoll set (curl_multi_assign). Returning -1 fails that transfer only: running
 * out of descriptors or memory is a check result, not a crash.
 * A removed socket is not taken out of the epoll set here: libcurl closes it right after (a fresh connection
 * per check), and the close takes it out for free — one epoll_ctl less per check. The descriptor is marked
 * unwatched instead; should an event still come for it (a socket libcurl keeps open), events_wait takes it
 * out then. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct worker_events *e = userp;
    if (what == CURL_POLL_REMOVE) {
        if (socketp) {
            if (s >= 0 && (size_t)s < e->n_unwatched) e->unwatched[s] = 1;
            else (void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL); /* ENOENT/EBADF: gone with the close */
            (void)curl_multi_assign(e->multi, s, NULL);
        }
        return 0;
    }
    if (s >= 0 && (size_t)s < e->n_unwatched) e->unwatched[s] = 0;
    struct epoll_event ev = { .events = 0, .data.u64 = EV_DATA(EV_CURL, s) };
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(e->epfd, op, s, &ev) != 0) {
        /* a descriptor number reused behind our back: try the other operation once */
        op = (errno == EEXIST) ? EPOLL_CTL_MOD : (errno == ENOENT) ? EPOLL_CTL_ADD : -1;
        if (op < 0 || epoll_ctl(e->epfd, op, s, &ev) != 0) {
            log_warn("cannot watch a check's socket: %s", strerror(errno));
            return -1;
        }
    }
    if (!socketp && curl_multi_assign(e->multi, s, e) != CURLM_OK) return -1;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT) next. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct worker_events *e = userp;
    e->curl_timer_ns = timeout_ms < 0 ? -1 : cw_mono_ns() + (int64_t)timeout_ms * 1000000;
    return 0;
}

static void socket_action(struct worker_events *e, curl_socket_t s, int flags)
{
    int running;
    CURLMcode mc = curl_multi_socket_action(e->multi, s, flags, &running);
    if (mc != CURLM_OK && mc != CURLM_BAD_SOCKET) fatal(1, "curl_multi_socket_action: %s", curl_multi_strerror(mc));
}

void events_run_curl_timer(struct worker_events *e, int64_t now)
{
    if (e->curl_timer_ns < 0 || e->curl_timer_ns > now) return;
    e->curl_timer_ns = -1; /* the call below may set a new one */
    socket_action(e, CURL_SOCKET_TIMEOUT, 0);
}

unsigned events_wait(struct worker_events *e, const struct proc_wake *wake, int64_t now)
{
    struct epoll_event evs[WORKER_MAX_EVENTS];
    int64_t wait_ns = proc_wake_ns(wake, now);
    int n;
    if (e->have_pwait2) {
        struct timespec ts = { .tv_sec = (time_t)(wait_ns / 1000000000), .tv_nsec = (long)(wait_ns % 1000000000) };
        n = epoll_pwait2(e->epfd, evs, WORKER_MAX_EVENTS, &ts, NULL);
        if (n < 0 && errno == ENOSYS) {
            e->have_pwait2 = false;
            return 0;
        }
    } else {
        n = epoll_wait(e->epfd, evs, WORKER_MAX_EVENTS, proc_wake_ms(wake, now));
    }
    if (n < 0) {
        if (errno == EINTR) return 0;
        fatal(1, "epoll_wait: %s", strerror(errno));
    }
    unsigned seen = 0;
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64 >> 56;
        int fd = (int)(uint32_t)evs[i].data.u64;
        if (tag == EV_SIGNAL) {
            seen |= EVENTS_SIGNAL;
        } else if (tag == EV_CURL) {
            if (fd >= 0 && (size_t)fd < e->n_unwatched && e->unwatched[fd]) {
                (void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL); /* left open by libcurl: no longer ours */
                e->unwatched[fd] = 0;
                continue;
            }
            int flags = 0;
            if (evs[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
            socket_action(e, fd, flags);
        } else if (tag == EV_BUS) {
            seen |= EVENTS_BUS;
        } else if (tag < EVENTS_TAG_MAX && e->handlers[tag].fn) {
            e->handlers[tag].fn(e->handlers[tag].arg, evs[i].data.u64 & EVENTS_PAYLOAD_MASK, evs[i].events);
        }
    }
    return seen;
}

void events_open(struct worker_events *e, CURLM *multi, int sigfd, size_t n_fds)
{
    e->multi = multi;
    e->curl_timer_ns = -1;
    e->have_pwait2 = true;
    e->n_unwatched = n_fds < (1u << 20) ? n_fds : (1u << 20);
    e->unwatched = cw_xcalloc(e->n_unwatched, 1);
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) fatal(1, "cannot create an epoll set: %s", strerror(errno));
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_DATA(EV_SIGNAL, sigfd) };
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, sigfd, &ev) != 0) fatal(1, "cannot watch signals: %s", strerror(errno));
    CURLMcode mc = curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    if (mc == CURLM_OK) mc = curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, (void *)e);
    if (mc == CURLM_OK) mc = curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    if (mc == CURLM_OK) mc = curl_multi_setopt(multi, CURLMOPT_TIMERDATA, (void *)e);
    if (mc != CURLM_OK) fatal(1, "cannot set up the curl multi handle: %s", curl_multi_strerror(mc));
}

void events_watch_bus(struct worker_events *e, int fd, const char *name)
{
    if (fd < 0) fatal(1, "cannot get the descriptor of the %s socket", name);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = EV_DATA(EV_BUS, fd) };
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) fatal(1, "cannot watch the bus: %s", strerror(errno));
}

void events_close(struct worker_events *e)
{
    if (e->epfd >= 0) close(e->epfd);
    e->epfd = -1;
    free(e->unwatched);
    e->unwatched = NULL;
}

void events_set_handler(struct worker_events *e, enum events_tag tag, events_handler fn, void *arg)
{
    if ((unsigned)tag >= EVENTS_TAG_MAX) fatal(1, "events_set_handler: no tag %d", (int)tag);
    e->handlers[tag].fn = fn;
    e->handlers[tag].arg = arg;
}

/* epoll_ctl with op (EPOLL_CTL_ADD or _MOD), then the other one when the descriptor is (not) in the set after all. */
static int ctl(struct worker_events *e, int op, int fd, enum events_tag tag, uint64_t payload, uint32_t epoll_events)
{
    struct epoll_event ev = { .events = epoll_events,
                              .data.u64 = ((uint64_t)tag << 56) | (payload & EVENTS_PAYLOAD_MASK) };
    if (epoll_ctl(e->epfd, op, fd, &ev) == 0) return 0;
    if (errno != (op == EPOLL_CTL_ADD ? EEXIST : ENOENT)) return -1;
    return epoll_ctl(e->epfd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
}

int events_add(struct worker_events *e, int fd, enum events_tag tag, uint64_t payload, uint32_t epoll_events)
{
    return ctl(e, EPOLL_CTL_ADD, fd, tag, payload, epoll_events);
}

int events_mod(struct worker_events *e, int fd, enum events_tag tag, uint64_t payload, uint32_t epoll_events)
{
    return ctl(e, EPOLL_CTL_MOD, fd, tag, payload, epoll_events);
}

void events_del(struct worker_events *e, int fd)
{
    (void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT, EBADF: not there (any more) */
}
