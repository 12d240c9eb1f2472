/* worker/main.c — bin/clockwerk-worker: the prober. Reads its shard of the endpoints from the supervisor's
 * snapshot, checks every endpoint on its own schedule — HTTP with libcurl's multi interface, every other type
 * (tcp, tls, dns, icmp, push) with the engine (worker/check.h) — and sends the results in batches over the bus
 * (storer and alerter reliably, the relay best effort).
 *
 * DESIGN
 * One thread, one CURLM, one engine, one epoll set, one loop. libcurl's socket interface puts the sockets of the
 * HTTP checks in flight into the epoll set, the engine those of its checks and of c-ares; the set also watches
 * the skeleton's signalfd (common/proc/proc.h) and the ZMQ_FD
 * of each reliable bus socket (edge-triggered: output_due says when the bus may have something): a
 * wake-up costs in proportion to what happened, not to the number of transfers in flight, and checks start
 * on time to within tens of microseconds (worker/events.h).
 *   start due checks (bounded in flight) -> curl's due timers -> collect finished checks into the open
 *   batch (sent when 256 results or 20 ms old) -> acks and resends, when the bus may have something
 *   (output_due) -> stats once a second -> epoll
 * Environment (set by the supervisor): CLOCKWERK_SNAPSHOT, CLOCKWERK_SLOT, CLOCKWERK_SLOTS; optionally
 * CLOCKWERK_MAX_IN_FLIGHT (the bound on transfers in flight, default WORKER_MAX_IN_FLIGHT).
 * Signals: SIGINT changes nothing; SIGHUP (from the supervisor, when only this worker's shard changed) is a reload
 * in place (reload below, worker/remap.h): the shard of the supervisor's current snapshot (run_dir/config.snap)
 * replaces the old one without a restart — every endpoint kept keeps its place in the schedule, a changed one takes
 * its new definition from its next check on, the checks in flight finish under the definition they started with
 * (the old configuration is kept until the last of them is collected), a removed endpoint's check in flight is
 * still reported. On SIGTERM no new check starts, checks in flight get up to one second, the results are handed to the bus,
 * and the process exits 0. Checks still running then are abandoned without a result (they get no sequence
 * number, so receivers see no gap). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/bus/bus.h"
#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/proc/proc.h"
#include "common/wire/protocol.h"
#include "common/base/ratelimit.h"
#include "common/base/util.h"
#include "worker/probe.h"
#include "worker/schedule.h"
#include "common/wire/lathist.h"
#include "worker/alive.h"
#include "worker/output.h"
#include "worker/events.h"
#include "worker/check.h"
#include "worker/figures.h"
#include "worker/hello.h"
#include "worker/worker.h"

#define WORKER_MAX_IN_FLIGHT 1024 /* default bound on transfers in flight */
#define WORKER_MIN_IN_FLIGHT 16
/* Acknowledged delivery (worker/output.h): per reliable destination, unacknowledged results are kept in
 * memory up to WORKER_OUTBOX_BYTES of payload (CLOCKWERK_OUTBOX_MAX_BYTES overrides it), then spooled to
 * run_dir/worker-<slot>-<destination>.spool. */
#define WORKER_OUTBOX_BYTES (64u * 1024 * 1024)
#define WORKER_ORPHAN_SCAN_PERIODS 10 /* slot 0 looks for orphan spools every this many stats periods */
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
 * so a light worker starts its checks on time and a busy one spends its lateness budget (p99 under
 * 20 ms) on CPU. Measured at 5,000 checks/s against nginx: 1 ms slack ~82 us of worker CPU per check, 3 ms
 * ~80, 5 ms ~77 (and waking exactly on every due time ~12% more than 1 ms). The lateness is reported like
 * any other. */
#define WORKER_SLACK_MAX_NS 5000000LL
/* Missed checks are reported at warn level at most this often (the first time at once: worker/schedule.h). */
#define WORKER_MISSED_REPORT_NS 60000000000LL
#define WORKER_SLACK_PER_CHECK_S 1e-6

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

/* Checks in flight, HTTP and the others: one bound (max_in_flight) over both. */
static unsigned in_flight(const struct worker *w) { return probe_in_flight(w->pool) + engine_in_flight(w->engine); }

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
    r->location = w->location;
    const char *figures_problem;
    const char *problem = figures_result_problem(r, &figures_problem);
    if (figures_problem) { /* a bug of the check's figures: the result goes without them */
        w->figures_dropped++;
        if (ratelimit_allow(&w->figures_log, cw_mono_ns())) {
            char url[CW_URL_MAX + 1];
            cw_mask_url(r->url, url, sizeof url);
            log_error("figures of %s left out: %s", url, figures_problem);
        }
    }
    if (problem) {
        /* every receiver would refuse it, and its whole batch with it: it is dropped here, counted, and its
         * seq left out (receivers count the gap); the cause is almost always the clock (1970 before NTP) */
        w->results_invalid++;
        if (ratelimit_allow(&w->invalid_log, cw_mono_ns())) {
            char url[CW_URL_MAX + 1];
            cw_mask_url(r->url, url, sizeof url);
            log_error("result of %s not sent: %s (checked_at %" PRId64 " us since 1970: is the system clock set?)", url,
                      problem, r->checked_at_us);
        }
        return;
    }
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

/* engine_collect's callback: one finished check of the engine. */
static void engine_done(void *arg, struct cw_result *r, uint32_t id)
{
    struct worker *w = arg;
    emit(w, r);
    worker_check_over(w, id);
}

static void collect_done(struct worker *w)
{
    engine_collect(w->engine, engine_done, w);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left))) {
        struct cw_result r;
        uint32_t id;
        struct probe_check *c = probe_finish(w->pool, msg, &r, &id);
        if (!c) continue;
        emit(w, &r);
        probe_release(w->pool, c);
        worker_check_over(w, id);
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
    proc_stats_add(&s, "reloads", (int64_t)w->reloads);
    proc_stats_add(&s, "retired_shards", (int64_t)retire_count(w->retired));
    proc_stats_add(&s, "in_flight", in_flight(w));
    proc_stats_add(&s, "in_flight_limit", w->max_in_flight);
    proc_stats_add(&s, "max_in_flight", w->peak_in_flight);
    proc_stats_add(&s, "checks", (int64_t)w->checks);
    proc_stats_add(&s, "checks_ok", (int64_t)w->checks_ok);
    proc_stats_add(&s, "checks_failed", (int64_t)w->checks_failed);
    proc_stats_add(&s, "missed", (int64_t)w->missed);
    proc_stats_add(&s, "results_sent", (int64_t)sent);
    proc_stats_add(&s, "results_acked", (int64_t)acked);
    proc_stats_add(&s, "results_resent", (int64_t)t.resent);
    proc_stats_add(&s, "results_refused", (int64_t)t.refused);
    proc_stats_add(&s, "results_invalid", (int64_t)w->results_invalid);
    proc_stats_add(&s, "figures_dropped", (int64_t)w->figures_dropped);
    proc_stats_add(&s, "results_spooled", (int64_t)t.spooled);
    proc_stats_add(&s, "spool_bytes", (int64_t)t.spool_bytes);
    proc_stats_add(&s, "pending_batches", (int64_t)t.pending_batches);
    proc_stats_add(&s, "dropped", (int64_t)t.dropped);
    proc_stats_add(&s, "spool_full_dropped", (int64_t)t.spool_full_dropped);
    proc_stats_add(&s, "dropped_malformed", (int64_t)t.acks_malformed);
    proc_stats_add(&s, "gaps", 0);
    proc_stats_add(&s, "hellos_sent", (int64_t)w->hello.sent);
    proc_stats_add(&s, "hellos_dropped", (int64_t)w->hello.dropped);
    proc_stats_add(&s, "hello_echoes", (int64_t)w->hello.echoes);
    proc_stats_add(&s, "hello_echoes_ignored", (int64_t)w->hello.echoes_ignored);
    struct hello_sample clock;
    if (hello_best(&w->hello, &clock)) { /* only once measured */
        proc_stats_add(&s, "clock_offset_us", clock.offset_us);
        proc_stats_add(&s, "clock_rtt_us", clock.rtt_us);
    }
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
              w->checks, w->checks_ok, w->checks_failed, w->missed, in_flight(w),
              lat_hist_percentile(&w->lateness, 990), t.pending_batches, t.dropped);
    lat_hist_reset(&w->lateness);
    w->peak_in_flight = in_flight(w);
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
            uint64_t skipped = 1 + sched_advance(&w->sched, now);
            w->missed += skipped;
            sched_misses_add(&w->misses, SCHED_MISS_BUSY, skipped);
            continue;
        }
        if (in_flight(w) >= w->max_in_flight) { /* wait: lateness will show it */
            w->cap_blocked = true;
            return;
        }
        const struct cw_endpoint *ep = &w->cfg->endpoints[id];
        int64_t due = top->due_ns;
        int64_t wall = cw_wall_us();
        char why[256];
        long timeout_ms = sched_check_timeout_ms(ep->timeout, top->interval_ns, due, now);
        int started = ep->type == CW_CHECK_HTTP
                          ? probe_start(w->pool, ep, w->headers[id], id, timeout_ms, due, now, wall, why, sizeof why)
                          : engine_start(w->engine, ep, id, timeout_ms, due, now, wall, why, sizeof why);
        if (started == 0) {
            w->busy[id] = w->gen;
            unsigned n = in_flight(w);
            if (n > w->peak_in_flight) w->peak_in_flight = n;
        } else {
            struct cw_result r;
            char err[CW_ERROR_MAX + 1];
            probe_failed_result(ep, (now - due) / 1000, wall, why, err, sizeof err, &r);
            r.kind = (uint8_t)ep->type;
            emit(w, &r);
        }
        w->misses.started++;
        uint64_t passed = sched_advance(&w->sched, now);
        w->missed += passed;
        /* occurrences passed over while this one waited: for a slot under the cap, or for the loop (CPU) */
        sched_misses_add(&w->misses, w->cap_blocked ? SCHED_MISS_CAP : SCHED_MISS_LATE, passed);
    }
    w->cap_blocked = false; /* caught up: nothing due waits */
}

/* At most once a minute: how many checks were missed, and why. */
static void report_missed(struct worker *w, int64_t now)
{
    char line[512];
    if (sched_misses_report(&w->misses, now, WORKER_MISSED_REPORT_NS, w->max_in_flight, line, sizeof line))
        log_warn("%s", line);
}

/* ---- the loop */

#define WORKER_OUTPUT_POLL_NS 50000000LL /* while output waits for a socket, look at least this often */

/* The next instant the loop must wake at, whatever happens on the descriptors. */
static void next_wakeup(const struct worker *w, int64_t now, struct proc_wake *wake)
{
    proc_wake_init(wake, w->stats_period.next);
    const struct sched_entry *top = sched_peek(&w->sched);
    if (!w->stopping && top && in_flight(w) < w->max_in_flight) proc_wake_at(wake, top->due_ns + w->timer_slack_ns);
    if (w->ev.curl_timer_ns >= 0) proc_wake_at(wake, w->ev.curl_timer_ns);
    int64_t engine_at = engine_next_wakeup(w->engine, now);
    if (engine_at >= 0) proc_wake_at(wake, engine_at);
    if (w->batch_since_ns) proc_wake_at(wake, w->batch_since_ns + WORKER_BATCH_DELAY_NS);
    if (!w->stopping) proc_wake_at(wake, hello_next_ns(&w->hello));
    /* ZMQ_FD is edge-triggered: while output waits, look again now and then whatever the fd says */
    if (w->out.due) proc_wake_at(wake, now); /* input left after a capped pass: its edge is gone */
    if (w->stopping || output_pending(&w->out)) proc_wake_at(wake, now + WORKER_OUTPUT_POLL_NS);
    proc_wake_at(wake, output_next_deadline(&w->out));
}

/* SIGTERM starts the stop; SIGHUP is a reload in place (not while stopping). */
static void read_signals(struct worker *w)
{
    unsigned sig = proc_signals(w->p.sigfd);
    if ((sig & PROC_SIG_TERM) && !w->stopping) {
        log_info("SIGTERM: finishing %u checks in flight, then stopping", in_flight(w));
        w->stopping = true;
    }
    if ((sig & PROC_SIG_HUP) && !w->stopping) {
        collect_done(w); /* what finished goes out under the ids it started with; nothing of the push module waits */
        worker_reload(w);
    }
}

static void run(struct worker *w)
{
    proc_period_start(&w->stats_period, cw_mono_ns(), WORKER_STATS_PERIOD_NS);
    int64_t stop_deadline = 0;
    for (;;) {
        if (!w->stopping) start_due(w);
        int64_t now = cw_mono_ns();
        events_run_curl_timer(&w->ev, now);
        engine_run_timers(w->engine, now);
        collect_done(w);
        if (!w->stopping) hello_tick(&w->hello, now);
        if (w->stopping || output_due(&w->out, now)) output_service(&w->out);
        now = cw_mono_ns();
        if (proc_period_due(&w->stats_period, now)) {
            if (w->slot == 0 && ++w->orphan_scans >= WORKER_ORPHAN_SCAN_PERIODS) {
                w->orphan_scans = 0;
                output_adopt_orphans(&w->out, w->cfg->run_dir, w->p.slots, false);
            }
            publish_stats(w);
            report_missed(w, now);
        }
        if (w->stopping) {
            if (!stop_deadline) stop_deadline = now + WORKER_STOP_GRACE_NS;
            if (in_flight(w) == 0 || now >= stop_deadline) break;
        }
        struct proc_wake wake;
        next_wakeup(w, now, &wake);
        unsigned seen = events_wait(&w->ev, &wake, now);
        if (seen & EVENTS_SIGNAL) read_signals(w);
        if (seen & EVENTS_BUS) output_mark_due(&w->out); /* output_service reads the acks */
    }
    unsigned abandoned = in_flight(w);
    if (abandoned) log_info("abandoning %u checks still in flight", abandoned);
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
    w->nofile = (size_t)nofile;
    w->outbox_bytes = proc_env_uint("CLOCKWERK_OUTBOX_MAX_BYTES", 1u << 31, false, WORKER_OUTBOX_BYTES);
    w->spool_max_bytes = proc_env_u64("CLOCKWERK_SPOOL_MAX_BYTES", 4096, ACKQ_SPOOL_MAX_DEFAULT);
}

/* The headers of every endpoint of the shard, built once (and at each reload), and the timer slack for the load. */
void worker_set_headers(struct worker *w)
{
    size_t n = w->cfg->n_endpoints;
    w->headers = cw_xcalloc(n ? n : 1, sizeof *w->headers);
    double per_second = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cw_endpoint *ep = &w->cfg->endpoints[i];
        if (ep->interval > 0 && ep->type != CW_CHECK_PUSH) per_second += 1.0 / ep->interval;
        if (ep->type != CW_CHECK_PUSH && ep->spec->n_headers) w->headers[i] = probe_headers_new(ep);
    }
    double slack = per_second * WORKER_SLACK_PER_CHECK_S * 1e9;
    w->timer_slack_ns = slack > (double)WORKER_SLACK_MAX_NS ? WORKER_SLACK_MAX_NS : (int64_t)slack;
}

/* Every endpoint of the shard on the schedule. */
static void set_schedule(struct worker *w)
{
    size_t n = w->cfg->n_endpoints;
    w->busy = cw_xcalloc(n ? n : 1, sizeof *w->busy);
    w->gen = 1;
    w->n_ids = n;
    worker_set_headers(w);
    sched_init(&w->sched, n);
    int64_t now_mono = cw_mono_ns(), now_wall = cw_wall_us() * 1000;
    for (size_t i = 0; i < n; i++) {
        const struct cw_endpoint *ep = &w->cfg->endpoints[i];
        if (ep->type == CW_CHECK_PUSH) continue; /* not probed: calls and silences are its checks (check_push.c) */
        int64_t interval = sched_seconds_to_ns(ep->interval);
        sched_add(&w->sched, (uint32_t)i, interval, sched_first_due(ep->url, interval, now_mono, now_wall));
    }
}

/* The location every result carries, and the HELLOs to the alerter (when there is one), whose echoes come back on
 * the alerter's queue. */
static void open_hello(struct worker *w)
{
    const char *location = config_own_location(w->cfg);
    if (!proto_location_valid(location))
        fatal(2, "supervisor.location \"%s\" is not a location name (1..32 of A-Z a-z 0-9 _ . -)", location);
    snprintf(w->location_buf, sizeof w->location_buf, "%s", location); /* valid: it fits */
    w->location = w->location_buf;
    struct ackq *alerter = output_queue(&w->out, "alerter");
    hello_open(&w->hello, alerter ? alerter->sock : NULL, w->location, w->slot, w->p.boot_id,
               (uint32_t)w->cfg->n_endpoints);
    if (alerter) ackq_set_other(alerter, hello_on_message, &w->hello);
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
    char why[640];
    if (probe_pool_prepare(w->pool, w->cfg->endpoints, w->cfg->n_endpoints, why, sizeof why) != 0) fatal(2, "%s", why);
    set_schedule(w);
    w->misses.since_ns = cw_mono_ns();
    alive_open(&w->alive, w->cfg, w->slot, w->p.boot_id);
    output_open(&w->out, w->p.bus, w->cfg, w->slot, w->outbox_bytes, w->spool_max_bytes);
    if (w->slot == 0) output_adopt_orphans(&w->out, w->cfg->run_dir, w->p.slots, true);
    open_hello(w);
    events_open(&w->ev, w->multi, w->p.sigfd, w->nofile);
    w->engine = engine_new(w->cfg, &w->ev, w->max_in_flight);
    for (unsigned i = 0; i < w->out.n; i++) events_watch_bus(&w->ev, bus_fd(w->out.q[i].sock), w->out.q[i].name);
    proto_results_begin(&w->batch);
    log_info("checking %zu endpoint%s (at most %u at once), boot id %016" PRIx64, w->cfg->n_endpoints,
             cw_plural((long long)w->cfg->n_endpoints), w->max_in_flight, w->p.boot_id);
    proc_ready(&w->p);
}

/* After the loop: the last results out, what is not acknowledged spooled, everything freed. */
static void finish(struct worker *w)
{
    probe_pool_free(w->pool); /* abandons what is still in flight */
    w->pool = NULL;
    engine_free(w->engine); /* the same for the other checks */
    w->engine = NULL;
    send_batch(w);
    output_drain(&w->out);
    log_info("stopped after %" PRIu64 " checks (%" PRIu64 " failed, %" PRIu64 " missed)", w->checks, w->checks_failed,
             w->missed);

    hello_close(&w->hello);
    output_close(&w->out);
    alive_close(&w->alive);
    curl_multi_cleanup(w->multi);
    events_close(&w->ev);
    for (size_t i = 0; i < w->cfg->n_endpoints; i++) curl_slist_free_all(w->headers[i]);
    free(w->headers);
    free(w->busy);
    worker_free_retired(w); /* the checks that held them were abandoned above */
    sched_free(&w->sched);
    cw_buf_free(&w->batch);
    cw_buf_free(&w->stats_buf);
    proc_close(&w->p); /* the bus (linger 0: what was not acknowledged is in the spools), the configuration */
    curl_global_cleanup();
}

int main(void)
{
    struct worker w = { .ev = { .epfd = -1 },
                        .invalid_log = { .what = "invalid results" },
                        .figures_log = { .what = "figures left out" } };
    init(&w);
    run(&w);
    finish(&w);
    return w.exit_code;
}
