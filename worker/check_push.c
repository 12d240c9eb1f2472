/* worker/check_push.c — the push (heartbeat) check type: nothing is probed; a job calls /push/TOKEN on the web
 * (web/push.c), which hands the call to this worker (the `push` message, common/wire/pushmsg.h), and each call, and
 * each silence longer than the interval plus the grace, becomes a result at once.
 *
 * DESIGN
 * - A module of the engine (worker/check.h): when the worker's shard has push endpoints, ops->open binds a PULL at
 *   ipc://<run_dir>/push-<slot>.sock (the web connects a PUSH per worker slot and sends each call to the slot of
 *   the endpoint's key: cw_shard_of, as the supervisor shards) and watches its ZMQ_FD; one module timer wakes
 *   the loop at the earliest silence deadline.
 * - Push endpoints are not on the worker's schedule (worker/main.c skips them): a check is started here, with
 *   engine_start, for each call and for each silent interval, and finishes inside its start.
 * - A call: ok with latency = the time since the previous call as the web received them (-1 for the first one
 *   recorded), or failed "status=down: MSG"; the next deadline is the call + interval + grace.
 * - A silence: when the deadline passes, one failed result "no call within 60 s + 6 s grace (last call
 *   2026-12-05T08:31:02.412Z)" ("last call none recorded" before the first), and the next deadline one interval
 *   later: one failure per silent interval.
 * - A restart keeps the deadline: each endpoint's last call (or when watching it began) and its silences since are
 *   kept in run_dir (worker/push_state.h), and a new worker's deadline is the last call + interval + grace (+ one
 *   interval per silence already reported). A deadline that passed while no worker watched (the restart itself,
 *   clockwerk stopped) fails PUSH_RESTART_SLACK_NS after the start (at most interval + grace), giving a job's
 *   `curl --retry` time to get a call through that met a 503 or a refused connection. The state is saved when it
 *   changes, at most once per PUSH_SAVE_EVERY_NS per endpoint (a crash forgets at most that), and on stopping.
 * - A reload in place (push_reload) keeps each endpoint that stays as it is in memory — deadline, state, calls
 *   waiting — by URL; an interval or grace changed moves its deadline at once, as a restart would.
 * - The socket is drained: at most PUSH_DRAIN_MAX messages per pass, the next pass at once on the module timer
 *   until ZMQ_EVENTS says nothing is left (ZMQ_FD is edge-triggered: it does not wake the loop again for a
 *   backlog).
 * - Figures: {"status":"up"|"down"|"missing","msg":"...","gap_s":12.5} (gap_s null for a first call).
 * - Calls wait here (at most PUSH_PENDING per endpoint) only while every check slot is in use. */
#include "worker/check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "common/base/clock.h"
#include "common/base/hash.h"
#include "common/base/log.h"
#include "common/base/ratelimit.h"
#include "common/bus/bus.h"
#include "common/proc/proc.h"
#include "common/wire/pushmsg.h"
#include "worker/push_state.h"

#define PUSH_PENDING 8           /* calls of one endpoint waiting for a check slot */
#define PUSH_DRAIN_MAX 256       /* messages read per wake-up (the rest at once after) */
#define PUSH_RETRY_NS 10000000LL /* a call or silence that found no free slot is tried again this soon */
#define PUSH_RESTART_SLACK_NS (30 * 1000000000LL) /* see DESIGN */
#define PUSH_SAVE_EVERY_NS 1000000000LL

struct push_call {
    int64_t received_at_us;
    bool down;
    char msg[CW_PUSH_MSG_MAX + 1];
};

struct push_ep {
    const struct cw_endpoint *ep;
    uint32_t id;
    int64_t deadline_ns;  /* monotonic: when a silence fails */
    struct push_state st; /* the last call (st.last_call_us, 0: none) and what the deadline counts from */
    bool dirty;           /* st changed since it was saved */
    int64_t saved_at_ns;  /* monotonic: when st was last saved (0: never) */
    bool silent;          /* a silence result is due (its check not started yet) */
    struct push_call pending[PUSH_PENDING];
    unsigned n_pending;
    UT_hash_handle hh; /* by ep->url */
};

static struct {
    struct engine *eng;
    struct bus *bus;
    struct bus_socket *pull;
    int watch, timer;
    struct push_ep *eps; /* the shard's push endpoints */
    size_t n;
    struct push_ep *by_url;
    struct push_ep **by_id; /* per endpoint id of the shard (NULL: not push) */
    struct ratelimit rl;
    uint64_t malformed, unknown, dropped;
    char dir[CW_URL_MAX]; /* run_dir/push: the endpoints' states ("" : none kept) */
    unsigned slot;
} M = { .watch = -1, .timer = -1 };

static int64_t window_ns(const struct cw_endpoint *ep)
{
    return (int64_t)llround((ep->interval + ep->spec->grace) * 1e9);
}

/* Starts a check of p (a call waits, or a silence is due); false when no slot is free (tried again soon). */
static bool start_check(struct push_ep *p, int64_t now)
{
    char err[256];
    if (engine_start(M.eng, p->ep, p->id, 0, now, now, cw_wall_us(), err, sizeof err) == 0) return true;
    if (ratelimit_allow(&M.rl, now)) log_warn("push: %s", err);
    return false;
}

/* Saves p's state now, or marks it for the timer when it was saved less than PUSH_SAVE_EVERY_NS ago. */
static void save_state(struct push_ep *p, int64_t now, bool force)
{
    p->dirty = true;
    if (!M.dir[0] || (!force && p->saved_at_ns && now - p->saved_at_ns < PUSH_SAVE_EVERY_NS)) return;
    char err[300];
    if (push_state_save(M.dir, p->ep->url, M.slot, &p->st, err, sizeof err) != 0 && ratelimit_allow(&M.rl, now))
        log_warn("push: %s (a restart would delay this endpoint's silence detection)", err);
    p->dirty = false;
    p->saved_at_ns = now;
}

/* The module timer at the earliest deadline (or soon, when something waits for a slot or a save). */
static void arm_timer(int64_t now)
{
    int64_t at = -1;
    for (size_t i = 0; i < M.n; i++) {
        struct push_ep *p = &M.eps[i];
        int64_t t = (p->n_pending || p->silent) ? now + PUSH_RETRY_NS : p->deadline_ns;
        if (p->dirty && p->saved_at_ns + PUSH_SAVE_EVERY_NS < t) t = p->saved_at_ns + PUSH_SAVE_EVERY_NS;
        if (at < 0 || t < at) at = t;
    }
    engine_timer_set(M.eng, M.timer, at);
}

static bool drain(int64_t now);

static void on_timer(struct engine *e, void *arg, int64_t now)
{
    (void)e;
    (void)arg;
    if (M.pull && !drain(now)) { /* a backlog: the rest on the next pass, the loop's other work between */
        engine_timer_set(M.eng, M.timer, now);
        return;
    }
    for (size_t i = 0; i < M.n; i++) {
        struct push_ep *p = &M.eps[i];
        if (!p->silent && now >= p->deadline_ns) p->silent = true;
        while ((p->n_pending || p->silent) && start_check(p, now)) {
        }
        if (p->dirty) save_state(p, now, false);
    }
    arm_timer(now);
}

static void take_call(const struct cw_push_call *call, int64_t now)
{
    struct push_ep *p = NULL;
    HASH_FIND_STR(M.by_url, call->url, p);
    if (!p) { /* a web with a newer configuration than this worker: the worker's reload settles it */
        M.unknown++;
        if (ratelimit_allow(&M.rl, now)) log_warn("push: a call for an endpoint this worker does not have");
        return;
    }
    if (p->n_pending == PUSH_PENDING) { /* every slot busy for a while: the newest calls count */
        memmove(p->pending, p->pending + 1, (PUSH_PENDING - 1) * sizeof p->pending[0]);
        p->n_pending--;
        M.dropped++;
    }
    struct push_call *c = &p->pending[p->n_pending++];
    c->received_at_us = call->received_at_us;
    c->down = call->down;
    snprintf(c->msg, sizeof c->msg, "%s", call->msg);
    while (p->n_pending && start_check(p, now)) {
    }
}

/* Reads at most PUSH_DRAIN_MAX call messages; true when the socket has nothing left (ZMQ_EVENTS). */
static bool drain(int64_t now)
{
    for (int i = 0; i < PUSH_DRAIN_MAX; i++) {
        if (!bus_readable(M.pull)) return true;
        struct bus_msg m;
        if (bus_recv(M.pull, &m, 0) != 1) return !bus_readable(M.pull);
        struct cw_push_call call;
        const char *why = "not a push message";
        if (m.type == CW_MSG_PUSH && proto_push_decode(m.data, m.len, &call, &why) == 0) {
            take_call(&call, now);
        } else {
            M.malformed++;
            if (ratelimit_allow(&M.rl, now)) log_warn("push: a malformed call message dropped: %s", why);
        }
        bus_msg_release(&m);
    }
    return !bus_readable(M.pull);
}

static void on_pull(struct engine *e, void *arg, int fd, uint32_t events)
{
    (void)e;
    (void)arg;
    (void)fd;
    (void)events;
    int64_t now = cw_mono_ns();
    if (!drain(now)) engine_timer_set(M.eng, M.timer, now); /* the edge is spent: on_timer reads on */
    else arm_timer(now);
}

/* ---- the check type */

static void report_call(struct check *c, struct push_ep *p)
{
    struct push_call call = p->pending[0];
    memmove(p->pending, p->pending + 1, (p->n_pending - 1) * sizeof p->pending[0]);
    p->n_pending--;
    int64_t last = p->st.last_call_us;
    int64_t gap_us = last && call.received_at_us >= last ? call.received_at_us - last : -1;
    int64_t now = cw_mono_ns();
    p->st = (struct push_state){ .base_us = call.received_at_us, .last_call_us = call.received_at_us };
    p->deadline_ns = now + window_ns(p->ep);
    p->silent = false; /* a call settles a silence not yet reported */
    save_state(p, now, false);
    c->r.checked_at_us = call.received_at_us;
    c->r.latency_us = gap_us;
    figures_str(&c->fig, "status", call.down ? "down" : "up");
    figures_str(&c->fig, "msg", call.msg);
    figures_num(&c->fig, "gap_s", gap_us >= 0 ? (double)gap_us / 1e6 : NAN, 3);
    if (!call.down) check_succeed(c);
    else if (call.msg[0]) check_fail(c, "status=down: %s", call.msg);
    else check_fail(c, "status=down");
}

static void report_silence(struct check *c, struct push_ep *p)
{
    p->silent = false;
    p->deadline_ns += (int64_t)llround(p->ep->interval * 1e9);
    p->st.silences++;
    save_state(p, cw_mono_ns(), false);
    int64_t last_us = p->st.last_call_us;
    char last[40] = "none recorded";
    if (last_us) cw_format_iso8601(last_us, last, sizeof last);
    figures_str(&c->fig, "status", "missing");
    if (last_us) figures_num(&c->fig, "gap_s", (double)(cw_wall_us() - last_us) / 1e6, 3);
    check_fail(c, "no call within %g s + %g s grace (last call %s)", p->ep->interval, p->ep->spec->grace, last);
}

static void push_start(struct check *c)
{
    struct push_ep *p = M.by_id && c->id < engine_config(c->eng)->n_endpoints ? M.by_id[c->id] : NULL;
    if (p && p->n_pending) report_call(c, p);
    else if (p && p->silent) report_silence(c, p);
    else check_fail(c, "push checks are not scheduled: a call to the web's /push/TOKEN is the check");
}

static void push_release(struct check *c) { (void)c; }

/* p's first deadline from its kept state (see DESIGN); a first start keeps one from now. */
static void first_deadline(struct push_ep *p, int64_t now, int64_t wall_us)
{
    int64_t window = window_ns(p->ep), interval = (int64_t)llround(p->ep->interval * 1e9);
    if (!push_state_load(M.dir, p->ep->url, &p->st)) {
        p->st = (struct push_state){ .base_us = wall_us };
        p->deadline_ns = now + window;
        save_state(p, now, true);
        return;
    }
    int64_t due_ns = (p->st.base_us - wall_us) * 1000 + window + (int64_t)p->st.silences * interval;
    if (due_ns > 0) {
        p->deadline_ns = now + due_ns;
        return;
    }
    /* passed while no worker watched: the missed intervals count as reported, one failure comes soon */
    int64_t missed = interval > 0 ? -due_ns / interval : 0;
    p->st.silences += missed > (int64_t)UINT32_MAX - p->st.silences ? 0 : (uint32_t)missed;
    p->deadline_ns = now + (window < PUSH_RESTART_SLACK_NS ? window : PUSH_RESTART_SLACK_NS);
    p->dirty = true;
}

static int push_open(struct engine *e, char *err, size_t errlen)
{
    const struct cw_config *cfg = engine_config(e);
    memset(&M, 0, sizeof M);
    M.watch = M.timer = -1;
    M.eng = e;
    M.rl = (struct ratelimit){ .what = "push messages" };
    if (!cfg) return 0; /* an engine without a configuration (unit tests): no endpoints */
    for (size_t i = 0; i < cfg->n_endpoints; i++) M.n += cfg->endpoints[i].type == CW_CHECK_PUSH;
    if (M.n == 0) return 0;
    M.eps = cw_xcalloc(M.n, sizeof *M.eps);
    M.by_id = cw_xcalloc(cfg->n_endpoints, sizeof *M.by_id);
    M.slot = proc_env_uint("CLOCKWERK_SLOT", 100000, true, 0);
    if (push_state_dir(cfg->run_dir, M.dir, sizeof M.dir, err, errlen) != 0) return -1;
    push_state_prune(M.dir, cw_wall_us());
    int64_t now = cw_mono_ns();
    for (size_t i = 0, k = 0; i < cfg->n_endpoints; i++) {
        if (cfg->endpoints[i].type != CW_CHECK_PUSH) continue;
        struct push_ep *p = &M.eps[k++];
        p->ep = &cfg->endpoints[i];
        p->id = (uint32_t)i;
        first_deadline(p, now, cw_wall_us());
        M.by_id[i] = p;
        HASH_ADD_KEYPTR(hh, M.by_url, p->ep->url, strlen(p->ep->url), p);
    }
    char address[CW_URL_MAX];
    snprintf(address, sizeof address, "ipc://%s/push-%u.sock", cfg->run_dir, M.slot);
    if (!(M.bus = bus_new(err, errlen))) return -1;
    if (!(M.pull = bus_open(M.bus, BUS_PULL_CALLS, address, err, errlen))) return -1;
    M.timer = engine_timer_new(e, on_timer, NULL);
    M.watch = engine_watch(e, bus_fd(M.pull), EPOLLIN | EPOLLET, on_pull, NULL);
    if (M.timer < 0 || M.watch < 0) {
        snprintf(err, errlen, "cannot watch %s", address);
        return -1;
    }
    arm_timer(now);
    log_info("push: %zu endpoint%s, calls on %s", M.n, cw_plural((long long)M.n), address);
    return 0;
}

/* p (kept across a reload in place) whose interval or grace changed: its deadline from its state with the new ones
 * (push_state.h: a change applies at once); a deadline already passed fails at once. */
static void redo_deadline(struct push_ep *p, const struct cw_endpoint *was, int64_t now, int64_t wall_us)
{
    if (was->interval == p->ep->interval && was->spec->grace == p->ep->spec->grace) return;
    int64_t interval = (int64_t)llround(p->ep->interval * 1e9);
    int64_t due_ns = (p->st.base_us - wall_us) * 1000 + window_ns(p->ep) + (int64_t)p->st.silences * interval;
    p->deadline_ns = now + (due_ns > 0 ? due_ns : 0);
}

/* A reload in place (ops->reload): the shard's push endpoints again, by URL. One kept keeps its state, deadline and
 * waiting calls (under its new definition); an added one starts as at start (its state in run_dir, if any); a removed
 * one's state is saved now (a later configuration that brings it back finds it). A shard that had no push endpoint
 * has no socket: the supervisor restarts such a worker rather than signal it (supervisor/apply.c). */
static void push_reload(struct engine *e)
{
    const struct cw_config *cfg = engine_config(e);
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_endpoints; i++) n += cfg->endpoints[i].type == CW_CHECK_PUSH;
    if (!M.pull) {
        if (n) log_warn("push: %zu endpoint%s added by a reload: no calls are taken until this worker restarts", n,
                        cw_plural((long long)n));
        return;
    }
    struct push_ep *eps = cw_xcalloc(n ? n : 1, sizeof *eps), *by_url = NULL;
    struct push_ep **by_id = cw_xcalloc(cfg->n_endpoints ? cfg->n_endpoints : 1, sizeof *by_id);
    int64_t now = cw_mono_ns(), wall_us = cw_wall_us();
    for (size_t i = 0, k = 0; i < cfg->n_endpoints; i++) {
        if (cfg->endpoints[i].type != CW_CHECK_PUSH) continue;
        struct push_ep *p = &eps[k++], *was = NULL;
        HASH_FIND_STR(M.by_url, cfg->endpoints[i].url, was);
        if (was) {
            *p = *was;
            was->dirty = false; /* it lives on in p */
            p->ep = &cfg->endpoints[i];
            redo_deadline(p, was->ep, now, wall_us);
        } else {
            p->ep = &cfg->endpoints[i];
            first_deadline(p, now, wall_us);
        }
        p->id = (uint32_t)i;
        memset(&p->hh, 0, sizeof p->hh);
        by_id[i] = p;
        HASH_ADD_KEYPTR(hh, by_url, p->ep->url, strlen(p->ep->url), p);
    }
    for (size_t i = 0; i < M.n; i++) /* removed: the old configuration is still valid here */
        if (M.eps[i].dirty) save_state(&M.eps[i], now, true);
    HASH_CLEAR(hh, M.by_url);
    free(M.eps);
    free(M.by_id);
    M.eps = eps;
    M.n = n;
    M.by_id = by_id;
    M.by_url = by_url;
    arm_timer(now);
}

static void push_close(struct engine *e)
{
    (void)e;
    if (M.watch >= 0) engine_unwatch(M.eng, M.watch);
    int64_t now = cw_mono_ns();
    for (size_t i = 0; i < M.n; i++)
        if (M.eps[i].dirty) save_state(&M.eps[i], now, true);
    HASH_CLEAR(hh, M.by_url);
    bus_close(M.pull);
    bus_free(M.bus);
    free(M.eps);
    free(M.by_id);
    if (M.malformed || M.unknown || M.dropped)
        log_info("push: %llu malformed, %llu for unknown endpoints, %llu dropped while every slot was busy",
                 (unsigned long long)M.malformed, (unsigned long long)M.unknown, (unsigned long long)M.dropped);
    memset(&M, 0, sizeof M);
    M.watch = M.timer = -1;
}

const struct check_ops check_push_ops = {
    .name = "push",
    .open = push_open,
    .close = push_close,
    .reload = push_reload,
    .start = push_start,
    .release = push_release,
};
