/* worker/events.h — the worker's one wait: libcurl's socket interface on an epoll set, which also watches
 * the skeleton's signalfd and the ZMQ_FD of each reliable bus socket.
 *
 * DESIGN
 * libcurl says through CURLMOPT_SOCKETFUNCTION which of a transfer's sockets wait for what, and those go
 * into the epoll set; a wake-up hands libcurl only the sockets that fired (curl_multi_socket_action), so it
 * costs in proportion to what happened, not to the number of transfers in flight (curl_multi_poll +
 * curl_multi_perform walked all of them at every wake-up: twice the CPU per check at 200 in flight).
 * Each epoll entry carries a tag in the top byte of its data: what the descriptor is (libcurl's socket, the
 * signalfd, a bus socket, or one of the engine's: a check's socket, a c-ares socket, a module's socket such as
 * an ICMP socket or a ZeroMQ PULL's ZMQ_FD); the other 56 bits are the tag's payload (the descriptor for libcurl
 * and the bus; what the engine chose for its own tags: worker/check.h). The engine's tags go to the handler
 * set for the tag (events_set_handler), called from events_wait. epoll_pwait2 waits
 * with a nanosecond timeout, so checks start on time to within tens of microseconds; epoll_wait (ms) where
 * the kernel lacks it. */
#ifndef CW_WORKER_EVENTS_H
#define CW_WORKER_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/proc/proc.h"

/* Called from events_wait for a descriptor of an engine tag: its payload (events_add), the epoll events. */
typedef void (*events_handler)(void *arg, uint64_t payload, uint32_t epoll_events);

struct worker_events {
    CURLM *multi;
    int epfd;
    bool have_pwait2;      /* epoll_pwait2 (ns timeouts) works here; else epoll_wait (ms) */
    int64_t curl_timer_ns; /* when libcurl wants its timeout action; -1: no timer */
    uint8_t *unwatched;    /* per descriptor < n_unwatched: libcurl no longer wants it, but it may still be
                             * in the epoll set (see on_curl_socket) */
    size_t n_unwatched;
    struct {
        events_handler fn;
        void *arg;
    } handlers[8]; /* per enum events_tag */
};

/* What events_wait saw besides libcurl's sockets (those it hands to libcurl itself). */
enum { EVENTS_SIGNAL = 1u << 0, EVENTS_BUS = 1u << 1 };

/* The tags of the engine's descriptors (those of libcurl, the signalfd and the bus are events.c's own). */
enum events_tag {
    EVENTS_TAG_CHECK = 4,  /* a check's own socket (tcp, tls): payload = slot and watch number (worker/engine.c) */
    EVENTS_TAG_ARES = 5,   /* a c-ares socket: payload = the descriptor (worker/resolve.c) */
    EVENTS_TAG_MODULE = 6, /* a module's socket shared by its checks (ICMP, push): payload = the watch's index */
    EVENTS_TAG_MAX = 7
};
#define EVENTS_PAYLOAD_MASK ((1ULL << 56) - 1)

/* Creates the epoll set with sigfd in it and takes over multi's socket and timer callbacks. n_fds: the
 * descriptor limit (the size of the unwatched table). Failures are fatal (exit 1). */
void events_open(struct worker_events *e, CURLM *multi, int sigfd, size_t n_fds);
/* Watches a bus socket's ZMQ_FD (edge-triggered; name for the message should it fail). */
void events_watch_bus(struct worker_events *e, int fd, const char *name);
/* Runs libcurl's timeout action when it is due at now. */
void events_run_curl_timer(struct worker_events *e, int64_t now);
/* Waits until wake (or a descriptor fires), hands the sockets of the checks to libcurl, and returns the
 * EVENTS_* bits of what else fired (0: the time ran out, or a signal interrupted the wait). */
unsigned events_wait(struct worker_events *e, const struct proc_wake *wake, int64_t now);
void events_close(struct worker_events *e);

/* Sets the handler of an engine tag (one per tag). */
void events_set_handler(struct worker_events *e, enum events_tag tag, events_handler fn, void *arg);
/* Puts fd in the epoll set with tag and payload (< 2^56), waiting for epoll_events (EPOLLIN, EPOLLOUT, ...), or
 * changes what it waits for when it is there already. Returns 0, or -1 with errno set. */
int events_add(struct worker_events *e, int fd, enum events_tag tag, uint64_t payload, uint32_t epoll_events);
/* Changes what fd (already in the set with this tag) waits for: one epoll_ctl instead of events_add's two. */
int events_mod(struct worker_events *e, int fd, enum events_tag tag, uint64_t payload, uint32_t epoll_events);
/* Takes fd out of the epoll set (closing a descriptor does that too, for free). */
void events_del(struct worker_events *e, int fd);

#endif
