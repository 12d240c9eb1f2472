/* worker/check.h — the engine's interface: how a check type other than HTTP (tcp, tls, dns, icmp, push) runs
 * inside the worker's one loop. HTTP stays with libcurl (worker/probe.h); worker/main.c hands every other
 * endpoint to the engine (engine_start) by its `type`.
 *
 * DESIGN
 * - A check type is one table of functions (struct check_ops) in its own file (worker/check_tcp.c, ...) and one
 *   line in the registry (worker/engine_registry.c: `[CW_CHECK_DNS] = &check_dns_ops,`). Nothing else knows
 *   the type.
 * - A check in flight is a slot of the engine (struct check): the endpoint, its times, the result being built
 *   (r, error text, figures), and the type's own state (ops->state_size bytes, zeroed at each start). Slots
 *   are allocated the first time they are used and reused afterwards (100,000 endpoints cost nothing here;
 *   memory follows the checks in flight).
 * - Life of a check: engine_start -> ops->start; then ops->on_fd for the events of its descriptor
 *   (check_watch), ops->on_timer for its timer (check_set_timer), ops->on_timeout at its deadline, callbacks of
 *   its name lookup (check_resolve) — until the type calls check_succeed or check_fail. Then, at once,
 *   ops->finish (phases and figures into r, optional) and ops->release (close descriptors, free what the
 *   state holds); the result waits in the slot until worker/main.c collects it (engine_collect).
 *   ops->release is also called for a check abandoned at shutdown: it must work at any point after start.
 * - The deadline: the engine arms the check's timer to deadline_ns (start + the check's timeout). When it
 *   comes without a result, ops->on_timeout (if any) fails the check saying what it was doing ("timed out after
 *   2 s connecting"); if the check is still open after it, the engine fails it "timed out after 2 s".
 * - Late events never reach a finished or reused slot: a check's epoll entry carries its slot and a watch
 *   number that changes with each descriptor it watches; a name lookup's callback carries the slot's
 *   generation (c-ares 1.18 has no per-query cancel: worker/resolve.h).
 * - Modules: a type whose checks share something (one ICMP socket for all echo requests, the ZMQ_FD of a PULL
 *   socket for push calls) opens it in ops->open and watches it with engine_watch (its callback gets every
 *   event), with timers of its own from engine_timer_new. Such a type finds its checks again by slot
 *   (engine_check) and generation.
 * - Everything runs on the worker's one thread; no callback may block. */
#ifndef CW_WORKER_CHECK_H
#define CW_WORKER_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/config/config.h"
#include "common/wire/protocol.h"
#include "worker/figures.h"
#include "worker/resolve.h"

struct engine;
struct worker_events;
struct check;

/* What check_resolve calls with the answer (below). */
typedef void (*check_resolved_fn)(struct check *c, const struct resolve_result *res);

struct check {
    /* set by the engine at start; read-only for the type */
    struct engine *eng;
    const struct cw_endpoint *ep;
    uint32_t id;         /* the endpoint's index in the configuration */
    uint32_t slot;       /* 0 .. max in flight - 1 */
    uint32_t gen;        /* the slot's generation: changes at every start */
    int64_t due_ns;      /* scheduled (monotonic) */
    int64_t start_ns;    /* started (monotonic) */
    int64_t deadline_ns; /* start_ns + timeout_ns */
    int64_t timeout_ns;  /* the check's timeout */
    /* the result: the engine sets url, kind (= ep->type), checked_at_us, lateness_us, every phase -1, ok false;
     * the type sets the phases (latency_us, dns_us, connect_us, tls_us, ttfb_us), tls_expires_at_us, status;
     * check_succeed/check_fail set ok and error; figures (below) becomes r.figures when it has a member */
    struct cw_result r;
    struct figures fig; /* begun by the engine: figures_str(&c->fig, "reply", ...) */
    void *state;        /* the type's state: ops->state_size bytes, zeroed at each start */
    /* the engine's own */
    bool done;
    int fd;                       /* the descriptor watched with check_watch, -1: none */
    uint32_t watch;               /* its watch number (epoll payload), 0: none */
    int64_t timer_ns;             /* the type's timer (check_set_timer), -1: none */
    check_resolved_fn resolve_fn; /* the lookup in flight (check_resolve), NULL: none */
    char error[CW_ERROR_MAX + 1];
    char figures_buf[CW_FIGURES_MAX + 1];
};

struct check_ops {
    const char *name;  /* "tcp", ... (messages) */
    size_t state_size; /* bytes of c->state */
    /* Once, when the worker starts (NULL: nothing): open shared sockets, module watches and timers. Returns 0, or
     * -1 with the reason in err: the worker then stops with it (exit 1). */
    int (*open)(struct engine *e, char *err, size_t errlen);
    /* A reload in place (NULL: nothing): engine_config(e) is the new shard's configuration, the old one stays valid
     * until the checks in flight that hold its endpoints finished. Called with no finished check uncollected. */
    void (*reload)(struct engine *e);
    /* At shutdown, after every check was released (NULL: nothing). */
    void (*close)(struct engine *e);
    /* Starts the check. It may finish it at once (check_fail: a bad address, no descriptor left, ...). */
    void (*start)(struct check *c);
    /* An event (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP) of the descriptor watched with check_watch. */
    void (*on_fd)(struct check *c, uint32_t epoll_events);
    /* The type's timer (check_set_timer) is due (NULL: the type sets none). */
    void (*on_timer)(struct check *c, int64_t now);
    /* The deadline came without a result (NULL: the engine says "timed out after T"). */
    void (*on_timeout)(struct check *c);
    /* Right after check_succeed/check_fail: the last word on r and the figures (NULL: nothing). */
    void (*finish)(struct check *c);
    /* Frees what the check holds (closes its descriptors: closing takes them out of the epoll set). Called after
     * finish, and for a check abandoned at shutdown at any point after start. */
    void (*release)(struct check *c);
};

/* The registry: ops per enum cw_check_type (NULL: not a type of the engine). worker/engine_registry.c. */
extern const struct check_ops *const check_registry[CW_CHECK_TYPE_MAX + 1];
extern const struct check_ops check_tcp_ops, check_tls_ops, check_dns_ops, check_icmp_ops, check_push_ops;

/* ---- for the check types */

/* The check's result is ok. */
void check_succeed(struct check *c);
/* The check failed, why in printf form (cut at CW_ERROR_MAX bytes). */
void check_fail(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_vfail(struct check *c, const char *fmt, va_list ap);
/* Watches fd (the check's one descriptor at a time) for epoll_events; called again with the same fd it changes
 * the events, with another fd the previous one is forgotten (close it before: closing takes it out of the set).
 * Returns 0, or -1 with errno. */
int check_watch(struct check *c, int fd, uint32_t epoll_events);
/* Forgets the watched descriptor (the caller closes it, or it is taken out of the set when keep_open). */
void check_unwatch(struct check *c, bool keep_open);
/* Sets the type's timer to at_ns (monotonic); -1 cancels it. The deadline is separate and always armed. */
void check_set_timer(struct check *c, int64_t at_ns);
/* "2 s", "1.5 s", "250 ms": the check's timeout for error texts. */
const char *check_timeout_text(const struct check *c, char *buf, size_t len);
/* Microseconds since the check started. */
int64_t check_elapsed_us(const struct check *c, int64_t now);

/* Looks host up (an IP literal answers at once, inside this call; a name through c-ares: worker/resolve.h),
 * then calls fn with the addresses (port set in each), or with the failure (res->status != 0, res->error).
 * c->r.dns_us is set before fn runs. A check finished or abandoned meanwhile never sees the answer.
 * family: AF_UNSPEC, AF_INET or AF_INET6. One lookup at a time per check. */
void check_resolve(struct check *c, const char *host, int port, int family, check_resolved_fn fn);

/* ---- for modules (types whose checks share a descriptor or need timers of their own) */

const struct cw_config *engine_config(const struct engine *e);
struct resolver *engine_resolver(struct engine *e);
struct worker_events *engine_events(struct engine *e);
/* The check in flight in slot with generation gen; NULL when it finished or the slot holds another check. */
struct check *engine_check(struct engine *e, uint32_t slot, uint32_t gen);

typedef void (*engine_fd_fn)(struct engine *e, void *arg, int fd, uint32_t epoll_events);
/* Watches fd for epoll_events (EPOLLET allowed) and calls fn for each event. Returns a watch id >= 0 or -1. */
int engine_watch(struct engine *e, int fd, uint32_t epoll_events, engine_fd_fn fn, void *arg);
int engine_watch_mod(struct engine *e, int watch, uint32_t epoll_events);
void engine_unwatch(struct engine *e, int watch);

typedef void (*engine_timer_fn)(struct engine *e, void *arg, int64_t now);
#define ENGINE_MODULE_TIMERS 32
/* A timer of a module (at most ENGINE_MODULE_TIMERS in all): returns its id >= 0, or -1. */
int engine_timer_new(struct engine *e, engine_timer_fn fn, void *arg);
/* Sets (at_ns >= 0) or cancels (-1) the timer. */
void engine_timer_set(struct engine *e, int timer, int64_t at_ns);

/* ---- for worker/main.c */

/* The engine for up to max checks in flight; opens every registered type (ops->open; a failure is fatal). */
struct engine *engine_new(const struct cw_config *cfg, struct worker_events *ev, unsigned max);
/* Abandons the checks in flight (released without a result), closes the types, frees everything. NULL is ok. */
void engine_free(struct engine *e);
/* Whether the engine runs checks of this type. */
bool engine_handles(enum cw_check_type type);
/* Starts a check of ep (endpoint id, due at due_ns, starting at start_ns / wall_us) with a timeout of timeout_ms
 * (0: the endpoint's own). Returns 0 (in flight, or already finished: engine_collect yields it), or -1 with the
 * reason in err (no type, no free slot): the caller reports the check as failed. */
int engine_start(struct engine *e, const struct cw_endpoint *ep, uint32_t id, long timeout_ms, int64_t due_ns,
                 int64_t start_ns, int64_t wall_us, char *err, size_t errlen);
unsigned engine_in_flight(const struct engine *e);
/* A reload in place (worker/remap.h): the id of every check in flight below n_map becomes map[id] (the check goes on
 * under the endpoint it started with); then engine_set_config hands the modules the new configuration (ops->reload).
 * The caller keeps the old configuration until those checks are collected. */
void engine_remap(struct engine *e, const uint32_t *map, size_t n_map);
void engine_set_config(struct engine *e, const struct cw_config *cfg);
/* Runs the timers due at now (checks' timers and deadlines, modules' timers, c-ares's timeouts). */
void engine_run_timers(struct engine *e, int64_t now);
/* The next instant the engine needs the loop to wake at (-1: none). Asks c-ares (ares_timeout) once per channel
 * in use: call it once per loop pass. */
int64_t engine_next_wakeup(struct engine *e, int64_t now);
/* Hands every finished check's result to fn (r and its strings valid during the call), then frees its slot. */
typedef void (*engine_result_fn)(void *arg, struct cw_result *r, uint32_t id);
void engine_collect(struct engine *e, engine_result_fn fn, void *arg);

#endif
