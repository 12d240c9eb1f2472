/* tests/unit/engine_test_util.h — an engine (worker/check.h) on an epoll set of its own for unit tests: the
 * worker's events without a worker (a curl multi nobody uses, an eventfd for the signalfd), and one pass of a
 * loop like worker/main.c's. */
#ifndef CW_ENGINE_TEST_UTIL_H
#define CW_ENGINE_TEST_UTIL_H

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "worker/check.h"
#include "worker/events.h"

struct rig {
    struct worker_events ev;
    CURLM *multi;
    int sigfd;
    struct engine *e;
};

static inline void rig_open(struct rig *g)
{
    memset(g, 0, sizeof *g);
    g->multi = curl_multi_init();
    g->sigfd = eventfd(0, EFD_CLOEXEC);
    events_open(&g->ev, g->multi, g->sigfd, 1024);
    g->e = engine_new(NULL, &g->ev, 4);
}

static inline void rig_close(struct rig *g)
{
    engine_free(g->e);
    events_close(&g->ev);
    curl_multi_cleanup(g->multi);
    close(g->sigfd);
}

/* One pass: the engine's timers, then a wait of at most wait_ns (or until the engine's next instant). */
static inline void rig_pass(struct rig *g, int64_t wait_ns)
{
    int64_t now = cw_mono_ns();
    engine_run_timers(g->e, now);
    struct proc_wake wake;
    proc_wake_init(&wake, now + wait_ns);
    int64_t at = engine_next_wakeup(g->e, now);
    if (at >= 0) proc_wake_at(&wake, at);
    events_wait(&g->ev, &wake, now);
    engine_run_timers(g->e, cw_mono_ns());
}

#endif
