/* worker/engine.c — the engine of the checks that are not HTTP: slots of checks in flight, their timers and
 * deadlines, their descriptors in the worker's epoll set, module watches and timers, name lookups (see
 * check.h). */
#include "worker/check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "worker/deadline.h"
#include "worker/events.h"

#define SLOT_BITS 24 /* epoll payload of a check: slot (low 24 bits) and watch number (32 bits above) */

struct engine_watch {
    int fd; /* -1: a free entry */
    engine_fd_fn fn;
    void *arg;
};

struct engine_timer {
    engine_timer_fn fn;
    void *arg;
};

struct engine {
    const struct cw_config *cfg;
    struct worker_events *ev;
    struct resolver *res;
    unsigned max;
    struct check **slots; /* allocated on first use */
    uint32_t *free_slots; /* slots allocated and free */
    unsigned n_free;
    unsigned n_allocated; /* slots 0..n_allocated-1 have been allocated */
    unsigned in_flight;   /* started and not collected */
    uint32_t *done;       /* slots with a result waiting for engine_collect, in order */
    unsigned n_done;
    size_t state_size; /* the largest ops->state_size */
    uint32_t next_watch;
    struct deadline_heap timers; /* owners: slots 0..max-1, then the module timers */
    struct engine_timer mtimers[ENGINE_MODULE_TIMERS];
    unsigned n_mtimers;
    struct engine_watch *watches;
    size_t n_watches;
};

bool engine_handles(enum cw_check_type type)
{
    return (unsigned)type <= CW_CHECK_TYPE_MAX && check_registry[type] != NULL;
}

const struct cw_config *engine_config(const struct engine *e) { return e->cfg; }
struct resolver *engine_resolver(struct engine *e) { return e->res; }
struct worker_events *engine_events(struct engine *e) { return e->ev; }
unsigned engine_in_flight(const struct engine *e) { return e ? e->in_flight : 0; }

struct check *engine_check(struct engine *e, uint32_t slot, uint32_t gen)
{
    if (slot >= e->n_allocated) return NULL;
    struct check *c = e->slots[slot];
    return (c && c->gen == gen && !c->done && c->ep) ? c : NULL;
}

static const struct check_ops *ops_of(const struct check *c) { return check_registry[c->ep->type]; }

/* ---- the check's epoll entry */

static void on_check_fd(void *arg, uint64_t payload, uint32_t epoll_events)
{
    struct engine *e = arg;
    uint32_t slot = (uint32_t)(payload & ((1u << SLOT_BITS) - 1));
    uint32_t watch = (uint32_t)(payload >> SLOT_BITS);
    if (slot >= e->n_allocated) return;
    struct check *c = e->slots[slot];
    if (!c || c->done || !c->ep || c->watch != watch) return; /* a descriptor closed since */
    ops_of(c)->on_fd(c, epoll_events);
}

int check_watch(struct check *c, int fd, uint32_t epoll_events)
{
    struct engine *e = c->eng;
    if (fd == c->fd && c->watch) /* in the set already */
        return events_mod(e->ev, fd, EVENTS_TAG_CHECK, ((uint64_t)c->watch << SLOT_BITS) | c->slot, epoll_events);
    if (++e->next_watch == 0) e->next_watch = 1;
    c->watch = e->next_watch;
    c->fd = fd;
    return events_add(e->ev, fd, EVENTS_TAG_CHECK, ((uint64_t)c->watch << SLOT_BITS) | c->slot, epoll_events);
}

void check_unwatch(struct check *c, bool keep_open)
{
    if (keep_open && c->fd >= 0) events_del(c->eng->ev, c->fd);
    c->fd = -1;
    c->watch = 0;
}

/* ---- timers */

static void arm(struct check *c)
{
    int64_t at = c->deadline_ns;
    if (c->timer_ns >= 0 && c->timer_ns < at) at = c->timer_ns;
    deadline_set(&c->eng->timers, c->slot, at);
}

void check_set_timer(struct check *c, int64_t at_ns)
{
    if (c->done) return;
    c->timer_ns = at_ns;
    arm(c);
}

int engine_timer_new(struct engine *e, engine_timer_fn fn, void *arg)
{
    if (e->n_mtimers >= ENGINE_MODULE_TIMERS) return -1;
    e->mtimers[e->n_mtimers] = (struct engine_timer){ .fn = fn, .arg = arg };
    return (int)e->n_mtimers++;
}

void engine_timer_set(struct engine *e, int timer, int64_t at_ns)
{
    if (timer < 0 || (unsigned)timer >= e->n_mtimers) return;
    uint32_t owner = e->max + (uint32_t)timer;
    if (at_ns < 0) deadline_cancel(&e->timers, owner);
    else deadline_set(&e->timers, owner, at_ns);
}

static void check_timer_due(struct engine *e, struct check *c, int64_t now)
{
    const struct check_ops *ops = ops_of(c);
    if (c->timer_ns >= 0 && c->timer_ns <= now) {
        c->timer_ns = -1;
        if (ops->on_timer) ops->on_timer(c, now);
    }
    if (!c->done && now >= c->deadline_ns) {
        if (ops->on_timeout) ops->on_timeout(c);
        if (!c->done) {
            char t[32];
            check_fail(c, "timed out after %s", check_timeout_text(c, t, sizeof t));
        }
    }
    if (!c->done && !deadline_pending(&e->timers, c->slot)) arm(c);
}

void engine_run_timers(struct engine *e, int64_t now)
{
    uint32_t owner;
    while (deadline_pop_due(&e->timers, now, &owner)) {
        if (owner >= e->max) {
            struct engine_timer *t = &e->mtimers[owner - e->max];
            t->fn(e, t->arg, now);
            continue;
        }
        struct check *c = owner < e->n_allocated ? e->slots[owner] : NULL;
        if (c && c->ep && !c->done) check_timer_due(e, c, now);
    }
    resolver_run_timeouts(e->res, now);
}

int64_t engine_next_wakeup(struct engine *e, int64_t now)
{
    int64_t next = deadline_next(&e->timers);
    int64_t ares = resolver_next_wakeup(e->res, now);
    if (ares >= 0 && (next < 0 || ares < next)) next = ares;
    return next;
}

/* ---- module watches */

static void on_module_fd(void *arg, uint64_t payload, uint32_t epoll_events)
{
    struct engine *e = arg;
    if (payload >= e->n_watches || e->watches[payload].fd < 0) return;
    struct engine_watch *w = &e->watches[payload];
    w->fn(e, w->arg, w->fd, epoll_events);
}

int engine_watch(struct engine *e, int fd, uint32_t epoll_events, engine_fd_fn fn, void *arg)
{
    size_t i = 0;
    while (i < e->n_watches && e->watches[i].fd >= 0) i++;
    if (i == e->n_watches) e->watches = cw_xrealloc(e->watches, ++e->n_watches * sizeof *e->watches);
    if (events_add(e->ev, fd, EVENTS_TAG_MODULE, i, epoll_events) != 0) {
        e->watches[i].fd = -1;
        return -1;
    }
    e->watches[i] = (struct engine_watch){ .fd = fd, .fn = fn, .arg = arg };
    return (int)i;
}

int engine_watch_mod(struct engine *e, int watch, uint32_t epoll_events)
{
    if (watch < 0 || (size_t)watch >= e->n_watches || e->watches[watch].fd < 0) return -1;
    return events_add(e->ev, e->watches[watch].fd, EVENTS_TAG_MODULE, (uint64_t)watch, epoll_events);
}

void engine_unwatch(struct engine *e, int watch)
{
    if (watch < 0 || (size_t)watch >= e->n_watches || e->watches[watch].fd < 0) return;
    events_del(e->ev, e->watches[watch].fd);
    e->watches[watch].fd = -1;
}

/* ---- finishing */

static void finish_check(struct check *c, bool ok)
{
    if (c->done) return;
    struct engine *e = c->eng;
    const struct check_ops *ops = ops_of(c);
    c->done = true;
    c->r.ok = ok;
    c->r.error = ok ? NULL : c->error;
    deadline_cancel(&e->timers, c->slot);
    if (ops->finish) ops->finish(c);
    if (c->fig.len > 1 || c->fig.cut) c->r.figures = figures_end(&c->fig);
    ops->release(c);
    c->fd = -1;
    c->watch = 0;
    e->done[e->n_done++] = c->slot;
}

void check_succeed(struct check *c) { finish_check(c, true); }

void check_vfail(struct check *c, const char *fmt, va_list ap)
{
    if (c->done) return;
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    finish_check(c, false);
}

void check_fail(struct check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    check_vfail(c, fmt, ap);
    va_end(ap);
}

const char *check_timeout_text(const struct check *c, char *buf, size_t len)
{
    int64_t ms = c->timeout_ns / 1000000;
    if (ms < 1000) snprintf(buf, len, "%lld ms", (long long)ms);
    else if (ms % 1000 == 0) snprintf(buf, len, "%lld s", (long long)(ms / 1000));
    else snprintf(buf, len, "%.1f s", (double)ms / 1000.0);
    return buf;
}

int64_t check_elapsed_us(const struct check *c, int64_t now) { return (now - c->start_ns) / 1000; }

/* ---- name lookups */

static void on_resolved(void *arg, uint64_t token, const struct resolve_result *res)
{
    struct engine *e = arg;
    struct check *c = engine_check(e, (uint32_t)(token >> 32), (uint32_t)token);
    if (!c) return; /* finished or abandoned meanwhile: c-ares 1.18 cannot cancel one query */
    c->r.dns_us = check_elapsed_us(c, cw_mono_ns());
    check_resolved_fn fn = c->resolve_fn;
    c->resolve_fn = NULL;
    if (fn) fn(c, res);
}

void check_resolve(struct check *c, const char *host, int port, int family, check_resolved_fn fn)
{
    c->resolve_fn = fn;
    resolver_lookup(c->eng->res, host, port, family, on_resolved, c->eng, ((uint64_t)c->slot << 32) | c->gen);
}

/* ---- starting, collecting */

static struct check *take_slot(struct engine *e)
{
    if (e->n_free) return e->slots[e->free_slots[--e->n_free]];
    if (e->n_allocated >= e->max) return NULL;
    struct check *c = cw_xcalloc(1, sizeof *c);
    c->state = e->state_size ? cw_xcalloc(1, e->state_size) : NULL;
    c->slot = e->n_allocated;
    c->eng = e;
    c->fd = -1;
    e->slots[e->n_allocated++] = c;
    return c;
}

int engine_start(struct engine *e, const struct cw_endpoint *ep, uint32_t id, long timeout_ms, int64_t due_ns,
                 int64_t start_ns, int64_t wall_us, char *err, size_t errlen)
{
    if (!engine_handles(ep->type)) {
        const char *name = config_check_type_name(ep->type);
        snprintf(err, errlen, "%s checks are not supported by this worker", name ? name : "unknown");
        return -1;
    }
    struct check *c = take_slot(e);
    if (!c) {
        snprintf(err, errlen, "no free slot for the check (%u in flight)", e->in_flight);
        return -1;
    }
    const struct check_ops *ops = check_registry[ep->type];
    c->ep = ep;
    c->id = id;
    c->gen++;
    c->done = false;
    c->fd = -1;
    c->watch = 0;
    c->timer_ns = -1;
    c->resolve_fn = NULL;
    c->due_ns = due_ns;
    c->start_ns = start_ns;
    c->timeout_ns = (timeout_ms > 0 ? (int64_t)timeout_ms : (int64_t)(ep->timeout * 1000.0)) * 1000000;
    if (c->timeout_ns <= 0) c->timeout_ns = 1000000;
    c->deadline_ns = start_ns + c->timeout_ns;
    c->error[0] = '\0';
    memset(&c->r, 0, sizeof c->r);
    c->r.url = ep->url;
    c->r.kind = (uint8_t)ep->type;
    c->r.checked_at_us = wall_us;
    c->r.lateness_us = (start_ns - due_ns) / 1000;
    c->r.latency_us = c->r.dns_us = c->r.connect_us = c->r.tls_us = c->r.ttfb_us = -1;
    figures_begin(&c->fig, c->figures_buf, sizeof c->figures_buf);
    if (ops->state_size) memset(c->state, 0, ops->state_size);
    e->in_flight++;
    arm(c);
    ops->start(c);
    return 0;
}

void engine_collect(struct engine *e, engine_result_fn fn, void *arg)
{
    for (unsigned i = 0; i < e->n_done; i++) {
        struct check *c = e->slots[e->done[i]];
        fn(arg, &c->r, c->id);
        c->ep = NULL;
        e->free_slots[e->n_free++] = c->slot;
        e->in_flight--;
    }
    e->n_done = 0;
}

void engine_remap(struct engine *e, const uint32_t *map, size_t n_map)
{
    for (unsigned i = 0; i < e->n_allocated; i++) {
        struct check *c = e->slots[i];
        if (c->ep && c->id < n_map) c->id = map[c->id];
    }
}

void engine_set_config(struct engine *e, const struct cw_config *cfg)
{
    e->cfg = cfg;
    for (unsigned t = 0; t <= CW_CHECK_TYPE_MAX; t++)
        if (check_registry[t] && check_registry[t]->reload) check_registry[t]->reload(e);
}

/* ---- the engine */

struct engine *engine_new(const struct cw_config *cfg, struct worker_events *ev, unsigned max)
{
    if (max == 0 || max >= (1u << SLOT_BITS)) fatal(1, "the engine cannot hold %u checks in flight", max);
    struct engine *e = cw_xcalloc(1, sizeof *e);
    e->cfg = cfg;
    e->ev = ev;
    e->max = max;
    e->slots = cw_xcalloc(max, sizeof *e->slots);
    e->free_slots = cw_xcalloc(max, sizeof *e->free_slots);
    e->done = cw_xcalloc(max, sizeof *e->done);
    deadline_init(&e->timers, (size_t)max + ENGINE_MODULE_TIMERS);
    e->res = resolver_new(ev);
    events_set_handler(ev, EVENTS_TAG_CHECK, on_check_fd, e);
    events_set_handler(ev, EVENTS_TAG_MODULE, on_module_fd, e);
    for (unsigned t = 0; t <= CW_CHECK_TYPE_MAX; t++) {
        const struct check_ops *ops = check_registry[t];
        if (!ops) continue;
        if (ops->state_size > e->state_size) e->state_size = ops->state_size;
        char err[512] = "";
        if (ops->open && ops->open(e, err, sizeof err) != 0) fatal(1, "%s checks: %s", ops->name, err);
    }
    return e;
}

void engine_free(struct engine *e)
{
    if (!e) return;
    unsigned abandoned = 0;
    for (unsigned i = 0; i < e->n_allocated; i++) {
        struct check *c = e->slots[i];
        if (!c->ep || c->done) continue;
        c->done = true;
        check_registry[c->ep->type]->release(c);
        abandoned++;
    }
    resolver_free(e->res); /* pending lookups are answered ARES_EDESTRUCTION: every check is done */
    for (unsigned t = 0; t <= CW_CHECK_TYPE_MAX; t++)
        if (check_registry[t] && check_registry[t]->close) check_registry[t]->close(e);
    for (unsigned i = 0; i < e->n_allocated; i++) {
        free(e->slots[i]->state);
        free(e->slots[i]);
    }
    if (abandoned) log_debug("engine: %u checks abandoned", abandoned);
    deadline_free(&e->timers);
    free(e->watches);
    free(e->slots);
    free(e->free_slots);
    free(e->done);
    free(e);
}
