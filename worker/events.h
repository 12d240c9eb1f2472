/* worker/events.h — the worker's one wait: libcurl's socket interface on an epoll set, which also watches
 * the skeleton's signalfd and the ZMQ_FD of each reliable bus socket.
 *
 * DESIGN
 * libcurl says through CURLMOPT_SOCKETFUNCTION which of a transfer's sockets wait for what, and those go
 * into the epoll set; a wake-up hands libcurl only the sockets that fired (curl_multi_socket_action), so it
 * costs in proportion to what happened, not to the number of transfers in flight (curl_multi_poll +
 * curl_multi_perform walked all of them at every wake-up: twice the CPU per check at 200 in flight).
 * Each epoll entry carries a tag in the upper half of its data: what the descriptor is. epoll_pwait2 waits
 * with a nanosecond timeout, so checks start on time to within tens of microseconds; epoll_wait (ms) where
 * the kernel lacks it. */
#ifndef CW_WORKER_EVENTS_H
#define CW_WORKER_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/proc/proc.h"

struct worker_events {
    CURLM *multi;
    int epfd;
    bool have_pwait2;      /* epoll_pwait2 (ns timeouts) works here; else epoll_wait (ms) */
    int64_t curl_timer_ns; /* when libcurl wants its timeout action; -1: no timer */
    uint8_t *unwatched;    /* per descriptor < n_unwatched: libcurl no longer wants it, but it may still be
                             * in the epoll set (see on_curl_socket) */
    size_t n_unwatched;
};

/* What events_wait saw besides libcurl's sockets (those it hands to libcurl itself). */
enum { EVENTS_SIGNAL = 1u << 0, EVENTS_BUS = 1u << 1 };

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

#endif
