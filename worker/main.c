/* worker/main.c — bin/clockwerk-worker: the prober. Reads its shard of the endpoints from the supervisor's
 * snapshot, checks every endpoint on its own schedule with libcurl's multi interface, and sends the
 * results in batches over the bus (storer and alerter reliably, the relay best effort).
 *
 * DESIGN
 * One thread, one CURLM, one epoll set, one loop. libcurl's socket interface (curl_multi_socket_action with
 * CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION) puts the sockets of the checks in flight into the epoll set, so a
 * wake-up costs in proportion to what happened, not to the number of transfers in flight: with
 * curl_multi_poll + curl_multi_perform every wake-up polled and walked all of them, which at 200 in flight
 * doubled the CPU per check and spoilt the latency figures. The same epoll set watches the skeleton's signalfd
 * (common/proc.h) and the ZMQ_FD of each reliable bus socket (edge-triggered: bus_writable() is asked after every
 * wake-up while output waits). epoll_pwait2 waits with a nanosecond timeout, so checks start on time to
 * within tens of microseconds rather than the next millisecond.
 *   start due checks (bounded in flight) -> curl's due timers -> collect finished checks into the open
 *   batch (sent when 256 results or 20 ms old) -> acks and resends, when the bus may have something
 *   (output_due) -> stats once a second -> epoll
 * Environment (set by the supervisor): CLOCKWERK_SNAPSHOT, CLOCKWERK_SLOT, CLOCKWERK_SLOTS; optionally
 * CLOCKWERK_MAX_IN_FLIGHT (the bound on transfers in flight, default WORKER_MAX_IN_FLIGHT).
 * Signals: SIGINT and SIGHUP change nothing (the supervisor orders shutdowns and reloads, by SIGTERM); on
 * SIGTERM no new check starts, checks in flight get up to one second, the results are handed to the bus,
 * and the process exits 0. Checks still running then are abandoned without a result (they get no sequence
 * number, so receivers see no gap). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/bus.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/protocol.h"
#include "common/util.h"
#include "worker/probe.h"
#include "worker/schedule.h"
#include "worker/lathist.h"
#include "worker/alive.h"
#include "worker/output.h"

#define WORKER_MAX_IN_FLIGHT 1024   /* default bound on transfers in flight */
#define WORKER_MIN_IN_FLIGHT 16
/* Acknowledged delivery (worker/output.h): per reliable destination, unacknowledged results are kept in
 * memory up to WORKER_OUTBOX_BYTES of payload (CLOCKWERK_OUTBOX_MAX_BYTES overrides it), then spooled to
 * run_dir/worker-<slot>-<destination>.spool. */
#define WORKER_OUTBOX_BYTES (64u * 1024 * 1024)
#define WORKER_ORPHAN_SCAN_PERIODS 10  /* slot 0 looks for orphan spools every this many stats periods */
#define WORKER_STOP_GRACE_NS 1000000000LL
#define WORKER_STATS_PERIOD_NS 1000000000LL
/* Results are held up to this long (or until WORKER_BATCH_RESULTS are waiting) before they go out as one
 * message: at a paced load a pass of curl_multi_info_read yields one or two results, and a bus message per
 * result would wake ZeroMQ's I/O thread per check (measured: ~40% more CPU per check). */
#define WORKER_BATCH_DELAY_NS 20000000LL
#define WORKER_BATCH_RESULTS 256
/* The loop wakes for a due check up to `timer_slack_ns` after its due time, and then starts every check due
 * by then: at thousands of checks per second one wake-up starts several checks, whose connects then
 * complete together too, so the kernel and libcurl work per wake-up is shared. The slack grows with the
 * worker's load — WORKER_SLACK_PER_CHECK_S of lateness per check per second, at most WORKER_SLACK_MAX_NS —
 * so a light worker starts its checks on time and a busy one spends its lateness budget (issue 3: p99 under
 * 20 ms) on CPU. Measured at 5,000 checks/s against nginx: 1 ms slack ~82 us of worker CPU per check, 3 ms
 * ~80, 5 ms ~77 (and waking exactly on every due time ~12% more than 1 ms). The lateness is reported like
 * any other. */
#define WORKER_SLACK_MAX_NS 5000000LL
#define WORKER_SLACK_PER_CHECK_S 1e-6

struct worker {
    struct proc p;                 /* the skeleton: configuration, slot/slots, boot id, bus, signalfd */
    const struct cw_config *cfg;   /* p.cfg (the worker never reloads) */
    unsigned slot;                 /* p.slot */
    uint64_t seq;

    CURLM *multi;
    struct probe_pool *pool;
    unsigned max_in_flight;
    int64_t timer_slack_ns;        /* see WORKER_SLACK_MAX_NS */
    size_t outbox_bytes;
    uint64_t spool_max_bytes;      /* disk bound per spool file (CLOCKWERK_SPOOL_MAX_BYTES) */
    unsigned orphan_scans;         /* stats periods since the last look for orphan spools (slot 0) */
    struct sched sched;
    uint8_t *busy;                 /* per endpoint: a check is in flight */
    struct curl_slist **headers;   /* per endpoint, NULL when none */

    struct worker_output out;

    struct cw_buf batch;
    int64_t batch_since_ns;        /* when the first result of the open batch came; 0 when empty */
    uint64_t batch_first_seq;      /* seq of the open batch's first result (its seqs are consecutive) */
    struct cw_buf stats_buf;
    int epfd;
    bool have_pwait2;              /* epoll_pwait2 (ns timeouts) works here; else epoll_wait (ms) */
    int64_t curl_timer_ns;         /* when libcurl wants its timeout action; -1: no timer */
    uint8_t *unwatched;            /* per descriptor < n_unwatched: libcurl no longer wants it, but it may
                                    * still be in the epoll set (see on_curl_socket) */
    size_t n_unwatched;
    bool stopping;

    /* counters since start */
    uint64_t checks, checks_ok, checks_failed, missed, results_emitted;
    /* over the current stats period */
    struct lat_hist lateness;
    unsigned peak_in_flight;
    struct proc_period stats_period;
    struct worker_alive alive;
};

/* Raises the descriptor limit to the hard limit; returns the soft limit now in force. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            log_warn("cannot raise the descriptor limit to %llu: %s", (unsigned long long)want, strerror(errno));
            if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
        }
    }
    return rl.rlim_cur;
}

/* SIGTERM starts the stop; SIGHUP (proc_signals_open blocks it for every child) changes nothing here. */
static void read_signals(struct worker *w)
{
    if ((proc_signals(w->p.sigfd) & PROC_SIG_TERM) && !w->stopping) {
        log_info("SIGTERM: finishing %u checks in flight, then stopping", probe_in_flight(w->pool));
        w->stopping = true;
    }
}

/* ---- output */

static void send_batch(struct worker *w)
{
    unsigned n = proto_results_count(&w->batch);
    if (n == 0) return;
    output_push(&w->out, w->batch.data, w->batch.len, w->slot, w->p.boot_id, w->batch_first_seq,
                w->batch_first_seq + n - 1, n);
    w->results_emitted += n;
    proto_results_begin(&w->batch);
    w->batch_since_ns = 0;
}

static void emit(struct worker *w, struct cw_result *r)
{
    r->worker = w->slot;
    r->boot_id = w->p.boot_id;
    r->seq = ++w->seq;
    if (proto_results_add(&w->batch, r) != 0) {
        send_batch(w);
        if (proto_results_add(&w->batch, r) != 0) fatal(1, "cannot encode a result into an empty batch");
    }
    if (proto_results_count(&w->batch) == 1) w->batch_first_seq = r->seq;
    if (!w->batch_since_ns) w->batch_since_ns = cw_mono_ns();
    w->checks++;
    if (r->ok) w->checks_ok++;
    else w->checks_failed++;
    lat_hist_add(&w->lateness, r->lateness_us);
}

static void collect_done(struct worker *w)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left))) {
        struct cw_result r;
        uint32_t id;
        struct probe_check *c = probe_finish(w->pool, msg, &r, &id);
        if (!c) continue;
        emit(w, &r);
        w->busy[id] = 0;
        probe_release(w->pool, c);
    }
    if (proto_results_count(&w->batch) >= WORKER_BATCH_RESULTS ||
        (w->batch_since_ns && cw_mono_ns() - w->batch_since_ns >= WORKER_BATCH_DELAY_NS))
        send_batch(w);
}

/* ---- stats */

static void publish_stats(struct worker *w)
{
    struct proc_stats s;
    proc_stats_begin(&s, "worker", w->slot, w->p.boot_id);
    struct output_totals t;
    output_totals(&w->out, &t);
    /* results_sent / results_acked: for the first reliable destination (the storer when there is one), or,
     * with none, what was handed to the publisher. */
    uint64_t sent = w->out.n ? w->out.q[0].sent : w->results_emitted;
    uint64_t acked = w->out.n ? w->out.q[0].acked : 0;
    proc_stats_add(&s, "endpoints", (int64_t)w->cfg->n_endpoints);
    proc_stats_add(&s, "in_flight", probe_in_flight(w->pool));
    proc_stats_add(&s, "in_flight_limit", w->max_in_flight);
    proc_stats_add(&s, "max_in_flight", w->peak_in_flight);
    proc_stats_add(&s, "checks", (int64_t)w->checks);
    proc_stats_add(&s, "checks_ok", (int64_t)w->checks_ok);
    proc_stats_add(&s, "checks_failed", (int64_t)w->checks_failed);
    proc_stats_add(&s, "missed", (int64_t)w->missed);
    proc_stats_add(&s, "results_sent", (int64_t)sent);
    proc_stats_add(&s, "results_acked", (int64_t)acked);
    proc_stats_add(&s, "results_resent", (int64_t)t.resent);
    proc_stats_add(&s, "results_spooled", (int64_t)t.spooled);
    proc_stats_add(&s, "spool_bytes", (int64_t)t.spool_bytes);
    proc_stats_add(&s, "pending_batches", (int64_t)t.pending_batches);
    proc_stats_add(&s, "dropped", (int64_t)t.dropped);
    proc_stats_add(&s, "spool_full_dropped", (int64_t)t.spool_full_dropped);
    proc_stats_add(&s, "dropped_malformed", (int64_t)t.acks_malformed);
    proc_stats_add(&s, "gaps", 0);
    proc_stats_add(&s, "lateness_samples", (int64_t)w->lateness.total);
    proc_stats_add(&s, "lateness_p50_us", lat_hist_percentile(&w->lateness, 500));
    proc_stats_add(&s, "lateness_p99_us", lat_hist_percentile(&w->lateness, 990));
    proc_stats_add(&s, "lateness_max_us", lat_hist_percentile(&w->lateness, 1000));
    if (proc_stats_encode(&s, &w->stats_buf) != 0) {
        log_warn("cannot encode stats");
    } else {
        output_publish_stats(&w->out, w->stats_buf.data, w->stats_buf.len);
    }
    log_debug("checks=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64 " missed=%" PRIu64 " in_flight=%u "
              "lateness_p99=%" PRId64 "us pending=%" PRIu64 " dropped=%" PRIu64,
              w->checks, w->checks_ok, w->checks_failed, w->missed, probe_in_flight(w->pool),
              lat_hist_percentile(&w->lateness, 990), t.pending_batches, t.dropped);
    lat_hist_reset(&w->lateness);
    w->peak_in_flight = probe_in_flight(w->pool);
    alive_touch(&w->alive);
}

/* ---- scheduling */

static void start_due(struct worker *w)
{
    const struct sched_entry *top;
    while ((top = sched_peek(&w->sched))) {
        int64_t now = cw_mono_ns();
        if (top->due_ns > now) break;
        uint32_t id = top->id;
        if (w->busy[id]) {
            /* the previous check is still running: skip this occurrence, do not pile up */
            w->missed += 1 + sched_advance(&w->sched, now);
            continue;
        }
        if (probe_in_flight(w->pool) >= w->max_in_flight) break; /* wait: lateness will show it */
        const struct cw_endpoint *ep = &w->cfg->endpoints[id];
        int64_t due = top->due_ns;
        int64_t wall = cw_wall_us();
        char why[256];
        long timeout_ms = sched_check_timeout_ms(ep->timeout, top->interval_ns, due, now);
        if (probe_start(w->pool, ep, w->headers[id], id, timeout_ms, due, now, wall, why, sizeof why) == 0) {
            w->busy[id] = 1;
            unsigned n = probe_in_flight(w->pool);
            if (n > w->peak_in_flight) w->peak_in_flight = n;
        } else {
            struct cw_result r;
            char err[CW_ERROR_MAX + 1];
            probe_failed_result(ep, (now - due) / 1000, wall, why, err, sizeof err, &r);
            emit(w, &r);
        }
        w->missed += sched_advance(&w->sched, now);
    }
}

/* ---- the event loop: libcurl's socket interface on an epoll set
 * Each epoll entry carries a tag in the upper half of its data: what the descriptor is. */
#define EV_CURL 1ULL
#define EV_SIGNAL 2ULL
#define EV_BUS 3ULL
#define EV_DATA(tag, fd) (((tag) << 32) | (uint32_t)(fd))
#define WORKER_MAX_EVENTS 256
#define WORKER_OUTPUT_POLL_NS 50000000LL /* while output waits for a socket, look at least this often */

/* CURLMOPT_SOCKETFUNCTION: libcurl says which events a socket of a transfer waits for. socketp is non-NULL
 * once the socket is in the epoll set (curl_multi_assign). Returning -1 fails that transfer only: running
 * out of descriptors or memory is a check result, not a crash.
 * A removed socket is not taken out of the epoll set here: libcurl closes it right after (a fresh connection
 * per check), and the close takes it out for free — one epoll_ctl less per check. The descriptor is marked
 * unwatched instead; should an event still come for it (a socket libcurl keeps open), wait_events takes it
 * out then. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct worker *w = userp;
    if (what == CURL_POLL_REMOVE) {
        if (socketp) {
            if (s >= 0 && (size_t)s < w->n_unwatched) w->unwatched[s] = 1;
            else (void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL); /* ENOENT/EBADF: gone with the close */
            (void)curl_multi_assign(w->multi, s, NULL);
        }
        return 0;
    }
    if (s >= 0 && (size_t)s < w->n_unwatched) w->unwatched[s] = 0;
    struct epoll_event ev = { .events = 0, .data.u64 = EV_DATA(EV_CURL, s) };
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(w->epfd, op, s, &ev) != 0) {
        /* a descriptor number reused behind our back: try the other operation once */
        op = (errno == EEXIST) ? EPOLL_CTL_MOD : (errno == ENOENT) ? EPOLL_CTL_ADD : -1;
        if (op < 0 || epoll_ctl(w->epfd, op, s, &ev) != 0) {
            log_warn("cannot watch a check's socket: %s", strerror(errno));
            return -1;
        }
    }
    if (!socketp && curl_multi_assign(w->multi, s, w) != CURLM_OK) return -1;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT) next. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct worker *w = userp;
    w->curl_timer_ns = timeout_ms < 0 ? -1 : cw_mono_ns() + (int64_t)timeout_ms * 1000000;
    return 0;
}

static void socket_action(struct worker *w, curl_socket_t s, int flags)
{
    int running;
    CURLMcode mc = curl_multi_socket_action(w->multi, s, flags, &running);
    if (mc != CURLM_OK && mc != CURLM_BAD_SOCKET)
        fatal(1, "curl_multi_socket_action: %s", curl_multi_strerror(mc));
}

static void run_curl_timer(struct worker *w, int64_t now)
{
    if (w->curl_timer_ns < 0 || w->curl_timer_ns > now) return;
    w->curl_timer_ns = -1; /* the call below may set a new one */
    socket_action(w, CURL_SOCKET_TIMEOUT, 0);
}

/* The next instant the loop must wake at, whatever happens on the descriptors. */
static void next_wakeup(const struct worker *w, int64_t now, struct proc_wake *wake)
{
    proc_wake_init(wake, w->stats_period.next);
    const struct sched_entry *top = sched_peek(&w->sched);
    if (!w->stopping && top && probe_in_flight(w->pool) < w->max_in_flight)
        proc_wake_at(wake, top->due_ns + w->timer_slack_ns);
    if (w->curl_timer_ns >= 0) proc_wake_at(wake, w->curl_timer_ns);
    if (w->batch_since_ns) proc_wake_at(wake, w->batch_since_ns + WORKER_BATCH_DELAY_NS);
    /* ZMQ_FD is edge-triggered: while output waits, look again now and then whatever the fd says */
    if (w->out.due) proc_wake_at(wake, now); /* input left after a capped pass: its edge is gone */
    if (w->stopping || output_pending(&w->out)) proc_wake_at(wake, now + WORKER_OUTPUT_POLL_NS);
    proc_wake_at(wake, output_next_deadline(&w->out));
}

static void wait_events(struct worker *w, const struct proc_wake *wake, int64_t now)
{
    struct epoll_event evs[WORKER_MAX_EVENTS];
    int64_t wait_ns = proc_wake_ns(wake, now);
    int n;
    if (w->have_pwait2) {
        struct timespec ts = { .tv_sec = (time_t)(wait_ns / 1000000000), .tv_nsec = (long)(wait_ns % 1000000000) };
        n = epoll_pwait2(w->epfd, evs, WORKER_MAX_EVENTS, &ts, NULL);
        if (n < 0 && errno == ENOSYS) {
            w->have_pwait2 = false;
            return;
        }
    } else {
        n = epoll_wait(w->epfd, evs, WORKER_MAX_EVENTS, proc_wake_ms(wake, now));
    }
    if (n < 0) {
        if (errno == EINTR) return;
        fatal(1, "epoll_wait: %s", strerror(errno));
    }
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64 >> 32;
        int fd = (int)(uint32_t)evs[i].data.u64;
        if (tag == EV_SIGNAL) {
            read_signals(w);
        } else if (tag == EV_CURL) {
            if (fd >= 0 && (size_t)fd < w->n_unwatched && w->unwatched[fd]) {
                (void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL); /* left open by libcurl: no longer ours */
                w->unwatched[fd] = 0;
                continue;
            }
            int flags = 0;
            if (evs[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
            socket_action(w, fd, flags);
        } else if (tag == EV_BUS) {
            output_mark_due(&w->out); /* output_service reads the acks */
        }
    }
}

static void run(struct worker *w)
{
    proc_period_start(&w->stats_period, cw_mono_ns(), WORKER_STATS_PERIOD_NS);
    int64_t stop_deadline = 0;
    for (;;) {
        if (!w->stopping) start_due(w);
        int64_t now = cw_mono_ns();
        run_curl_timer(w, now);
        collect_done(w);
        if (w->stopping || output_due(&w->out, now)) output_service(&w->out);
        now = cw_mono_ns();
        if (proc_period_due(&w->stats_period, now)) {
            if (w->slot == 0 && ++w->orphan_scans >= WORKER_ORPHAN_SCAN_PERIODS) {
                w->orphan_scans = 0;
                output_adopt_orphans(&w->out, w->cfg->run_dir, w->p.slots, false);
            }
            publish_stats(w);
        }
        if (w->stopping) {
            if (!stop_deadline) stop_deadline = now + WORKER_STOP_GRACE_NS;
            if (probe_in_flight(w->pool) == 0 || now >= stop_deadline) break;
        }
        struct proc_wake wake;
        next_wakeup(w, now, &wake);
        wait_events(w, &wake, now);
    }
    unsigned abandoned = probe_in_flight(w->pool);
    if (abandoned) log_info("abandoning %u checks still in flight", abandoned);
}

static void setup_loop(struct worker *w)
{
    w->curl_timer_ns = -1;
    w->have_pwait2 = true;

    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) fatal(1, "cannot create an epoll set: %s", strerror(errno));
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_DATA(EV_SIGNAL, w->p.sigfd) };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->p.sigfd, &ev) != 0)
        fatal(1, "cannot watch signals: %s", strerror(errno));
    for (unsigned i = 0; i < w->out.n; i++) {
        int fd = bus_fd(w->out.q[i].sock);
        if (fd < 0) fatal(1, "cannot get the descriptor of the %s socket", w->out.q[i].name);
        ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = EV_DATA(EV_BUS, fd) };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) fatal(1, "cannot watch the bus: %s", strerror(errno));
    }
    CURLMcode mc = curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    if (mc == CURLM_OK) mc = curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, (void *)w);
    if (mc == CURLM_OK) mc = curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    if (mc == CURLM_OK) mc = curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, (void *)w);
    if (mc != CURLM_OK) fatal(1, "cannot set up the curl multi handle: %s", curl_multi_strerror(mc));
}

/* The bounds from the environment: transfers in flight (and the descriptor limit they need), the outbox's
 * memory and the spool's disk per destination. */
static void set_limits(struct worker *w)
{
    rlim_t nofile = raise_nofile();
    unsigned limit = proc_env_uint("CLOCKWERK_MAX_IN_FLIGHT", 1000000, false, WORKER_MAX_IN_FLIGHT);
    /* up to 3 descriptors per check (socket, resolver's socketpair), and room for the bus */
    rlim_t by_fds = nofile > 256 ? (nofile - 128) / 3 : WORKER_MIN_IN_FLIGHT;
    if (limit > by_fds) limit = (unsigned)by_fds;
    if (limit < WORKER_MIN_IN_FLIGHT) limit = WORKER_MIN_IN_FLIGHT;
    w->max_in_flight = limit;
    w->n_unwatched = nofile < (1u << 20) ? (size_t)nofile : (1u << 20);
    w->unwatched = cw_xcalloc(w->n_unwatched, 1);
    w->outbox_bytes = proc_env_uint("CLOCKWERK_OUTBOX_MAX_BYTES", 1u << 31, false, WORKER_OUTBOX_BYTES);
    w->spool_max_bytes = proc_env_u64("CLOCKWERK_SPOOL_MAX_BYTES", 4096, ACKQ_SPOOL_MAX_DEFAULT);
}

/* Every endpoint of the shard on the schedule, its headers built once, and the timer slack for the load. */
static void set_schedule(struct worker *w)
{
    size_t n = w->cfg->n_endpoints;
    w->busy = cw_xcalloc(n ? n : 1, 1);
    w->headers = cw_xcalloc(n ? n : 1, sizeof *w->headers);
    sched_init(&w->sched, n);
    double per_second = 0;
    for (size_t i = 0; i < n; i++)
        if (w->cfg->endpoints[i].interval > 0) per_second += 1.0 / w->cfg->endpoints[i].interval;
    double slack = per_second * WORKER_SLACK_PER_CHECK_S * 1e9;
    w->timer_slack_ns = slack > (double)WORKER_SLACK_MAX_NS ? WORKER_SLACK_MAX_NS : (int64_t)slack;
    int64_t now_mono = cw_mono_ns(), now_wall = cw_wall_us() * 1000;
    for (size_t i = 0; i < n; i++) {
        const struct cw_endpoint *ep = &w->cfg->endpoints[i];
        int64_t interval = sched_seconds_to_ns(ep->interval);
        sched_add(&w->sched, (uint32_t)i, interval, sched_first_due(ep->url, interval, now_mono, now_wall));
        if (ep->n_headers) w->headers[i] = probe_headers_new(ep);
    }
}

static void init(struct worker *w)
{
    proc_init(&w->p, &(struct proc_opts){ .name = "worker", .sharded = true, .open_bus = true });
    w->cfg = w->p.cfg;
    w->slot = w->p.slot;
    if (w->cfg->n_endpoints > UINT32_MAX) fatal(2, "too many endpoints");
    set_limits(w);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fatal(1, "cannot initialise libcurl");
    w->multi = curl_multi_init();
    if (!w->multi) fatal(1, "cannot create a curl multi handle");
    w->pool = probe_pool_new(w->multi, w->max_in_flight);
    if (!w->pool) fatal(1, "out of memory for %u checks in flight", w->max_in_flight);
    set_schedule(w);
    alive_open(&w->alive, w->cfg, w->slot, w->p.boot_id);
    output_open(&w->out, w->p.bus, w->cfg, w->slot, w->outbox_bytes, w->spool_max_bytes);
    if (w->slot == 0) output_adopt_orphans(&w->out, w->cfg->run_dir, w->p.slots, true);
    setup_loop(w);
    proto_results_begin(&w->batch);
    log_info("checking %zu endpoints (at most %u at once), boot id %016" PRIx64, w->cfg->n_endpoints,
             w->max_in_flight, w->p.boot_id);
}

/* After the loop: the last results out, what is not acknowledged spooled, everything freed. */
static void finish(struct worker *w)
{
    probe_pool_free(w->pool); /* abandons what is still in flight */
    w->pool = NULL;
    send_batch(w);
    output_drain(&w->out);
    log_info("stopped after %" PRIu64 " checks (%" PRIu64 " failed, %" PRIu64 " missed)", w->checks,
             w->checks_failed, w->missed);

    output_close(&w->out);
    alive_close(&w->alive);
    curl_multi_cleanup(w->multi);
    close(w->epfd);
    for (size_t i = 0; i < w->cfg->n_endpoints; i++) curl_slist_free_all(w->headers[i]);
    free(w->headers);
    free(w->busy);
    free(w->unwatched);
    sched_free(&w->sched);
    cw_buf_free(&w->batch);
    cw_buf_free(&w->stats_buf);
    proc_close(&w->p); /* the bus (linger 0: what was not acknowledged is in the spools), the configuration */
    curl_global_cleanup();
}

int main(void)
{
    struct worker w = { .epfd = -1 };
    init(&w);
    run(&w);
    finish(&w);
    return 0;
}
