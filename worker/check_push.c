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
 * - A call: ok with latency = the time since the previous call as the web received them (-1 for the first since
 *   the worker started), or failed "status=down: MSG"; the next deadline is the call + interval + grace.
 * - A silence: when the deadline passes, one failed result "no call within 60 s + 6 s grace (last call
 *   2026-12-05T08:31:02Z)", and the next deadline one interval later: one failure per silent interval.
 * - After a worker start the first deadline is start + interval + grace: nothing is kept on disk, so a restart
 *   delays the detection of a silence by up to one interval and never raises a false failure.
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

#define PUSH_PENDING 8           /* calls of one endpoint waiting for a check slot */
#define PUSH_DRAIN_MAX 256       /* messages read per wake-up (the rest at once after) */
#define PUSH_RETRY_NS 10000000LL /* a call or silence that found no free slot is tried again this soon */

struct push_call {
    int64_t received_at_us;
    bool down;
    char msg[CW_PUSH_MSG_MAX + 1];
};

struct push_ep {
    const struct cw_endpoint *ep;
    uint32_t id;
    int64_t deadline_ns;  /* monotonic: when a silence fails */
    int64_t last_call_us; /* wall clock of the previous call as the web received it; 0: none yet */
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
} M = { .watch = -1, .timer = -1 };

static int64_t window_ns(const struct cw_endpoint *ep) { return (int64_t)llround((ep->interval + ep->grace) * 1e9); }

/* Starts a check of p (a call waits, or a silence is due); false when no slot is free (tried again soon). */
static bool start_check(struct push_ep *p, int64_t now)
{
    char err[256];
    if (engine_start(M.eng, p->ep, p->id, 0, now, now, cw_wall_us(), err, sizeof err) == 0) return true;
    if (ratelimit_allow(&M.rl, now)) log_warn("push: %s", err);
    return false;
}

/* The module timer at the earliest deadline (or soon, when something waits for a slot). */
static void arm_timer(int64_t now)
{
    int64_t at = -1;
    for (size_t i = 0; i < M.n; i++) {
        struct push_ep *p = &M.eps[i];
        int64_t t = (p->n_pending || p->silent) ? now + PUSH_RETRY_NS : p->deadline_ns;
        if (at < 0 || t < at) at = t;
    }
    engine_timer_set(M.eng, M.timer, at);
}

static void on_timer(struct engine *e, void *arg, int64_t now)
{
    (void)e;
    (void)arg;
    for (size_t i = 0; i < M.n; i++) {
        struct push_ep *p = &M.eps[i];
        if (!p->silent && now >= p->deadline_ns) p->silent = true;
        while ((p->n_pending || p->silent) && start_check(p, now)) {
        }
    }
    arm_timer(now);
}

static void take_call(const struct cw_push_call *call, int64_t now)
{
    struct push_ep *p = NULL;
    HASH_FIND_STR(M.by_url, call->url, p);
    if (!p) { /* a web with a newer configuration than this worker: the next restart settles it */
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

static void on_pull(struct engine *e, void *arg, int fd, uint32_t events)
{
    (void)e;
    (void)arg;
    (void)fd;
    (void)events;
    int64_t now = cw_mono_ns();
    for (int i = 0; i < PUSH_DRAIN_MAX && bus_readable(M.pull); i++) {
        struct bus_msg m;
        if (bus_recv(M.pull, &m, 0) != 1) break;
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
    if (bus_readable(M.pull)) engine_timer_set(M.eng, M.timer, now); /* the edge is spent: read on at once */
    else arm_timer(now);
}

/* ---- the check type */

static void utc_text(int64_t wall_us, char *out, size_t outlen)
{
    time_t t = (time_t)(wall_us / 1000000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(out, outlen, "?");
}

static void report_call(struct check *c, struct push_ep *p)
{
    struct push_call call = p->pending[0];
    memmove(p->pending, p->pending + 1, (p->n_pending - 1) * sizeof p->pending[0]);
    p->n_pending--;
    int64_t gap_us =
        p->last_call_us && call.received_at_us >= p->last_call_us ? call.received_at_us - p->last_call_us : -1;
    p->last_call_us = call.received_at_us;
    p->deadline_ns = cw_mono_ns() + window_ns(p->ep);
    p->silent = false; /* a call settles a silence not yet reported */
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
    char last[40] = "none since the worker started";
    if (p->last_call_us) utc_text(p->last_call_us, last, sizeof last);
    figures_str(&c->fig, "status", "missing");
    if (p->last_call_us) figures_num(&c->fig, "gap_s", (double)(cw_wall_us() - p->last_call_us) / 1e6, 3);
    check_fail(c, "no call within %g s + %g s grace (last call %s)", p->ep->interval, p->ep->grace, last);
}

static void push_start(struct check *c)
{
    struct push_ep *p = M.by_id && c->id < engine_config(c->eng)->n_endpoints ? M.by_id[c->id] : NULL;
    if (p && p->n_pending) report_call(c, p);
    else if (p && p->silent) report_silence(c, p);
    else check_fail(c, "push checks are not scheduled: a call to the web's /push/TOKEN is the check");
}

static void push_release(struct check *c) { (void)c; }

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
    int64_t now = cw_mono_ns();
    for (size_t i = 0, k = 0; i < cfg->n_endpoints; i++) {
        if (cfg->endpoints[i].type != CW_CHECK_PUSH) continue;
        struct push_ep *p = &M.eps[k++];
        p->ep = &cfg->endpoints[i];
        p->id = (uint32_t)i;
        p->deadline_ns = now + window_ns(p->ep);
        M.by_id[i] = p;
        HASH_ADD_KEYPTR(hh, M.by_url, p->ep->url, strlen(p->ep->url), p);
    }
    unsigned slot = proc_env_uint("CLOCKWERK_SLOT", 100000, true, 0);
    char address[CW_URL_MAX];
    snprintf(address, sizeof address, "ipc://%s/push-%u.sock", cfg->run_dir, slot);
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

static void push_close(struct engine *e)
{
    (void)e;
    if (M.watch >= 0) engine_unwatch(M.eng, M.watch);
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
    .start = push_start,
    .release = push_release,
};
