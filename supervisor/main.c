/* supervisor/main.c — bin/clockwerk, the supervisor: loads and validates the configuration, takes the
 * run_dir lock, writes the snapshot, fork+execs the children and keeps them running; reloads on SIGHUP,
 * stops everything in order on SIGTERM/SIGINT. It does no data work (docs/operations.md).
 * main() reads: the command line (cli.c), then start -> run (the loop) -> clean up. Reloads are applied by
 * apply.c, the ordered stop is shutdown.c's, the snapshot files snapshot.c's.
 *
 * DESIGN
 * One thread, one loop. Signal handlers only set the flags below; the handled signals stay blocked
 * except while the loop sleeps in sig_wait() (ppoll with a mask), so every event is handled here, in
 * order: run_dir and its lock still in place (rundir.c: recreated when deleted), stop (first of the
 * signals, so that children ended by a group-wide signal are not taken for crashes), reap children,
 * reload, the children's readiness messages and what systemd is told (readiness.h, notify.h: before a stop
 * can end the loop), start what is due, then sleep until the next due start or deadline (at most 1 s). */
#include "common/base/util.h"
#include "common/config/config.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/proc/proc.h"

#include "supervisor/apply.h"
#include "supervisor/children.h"
#include "supervisor/cli.h"
#include "supervisor/confetch.h"
#include "supervisor/confserve.h"
#include "supervisor/counters.h"
#include "supervisor/pidfile.h"
#include "supervisor/icmp_fds.h"
#include "supervisor/notify.h"
#include "supervisor/privs.h"
#include "supervisor/readiness.h"
#include "supervisor/rundir.h"
#include "supervisor/self.h"
#include "supervisor/shutdown.h"
#include "supervisor/signals.h"
#include "supervisor/snapshot.h"
#include "supervisor/supervisor.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The only mutable globals: set by the signal handler, read and cleared by the main loop. */
static volatile sig_atomic_t got_chld, got_hup, got_stop;

static void on_signal(int sig)
{
    switch (sig) {
    case SIGCHLD:
        got_chld = 1;
        break;
    case SIGHUP:
        got_hup = 1;
        break;
    case SIGTERM:
    case SIGINT:
        got_stop = sig;
        break;
    default:
        break;
    }
}

#define STOP_REAP_POLL_NS (250000000LL) /* while stopping, the loop turns (and reaps) at least this often */
#define RELOAD_STOP_NS (8000000000LL)   /* a child stopped for a reload gets this long before SIGKILL */

static void log_summary(const struct supervisor *s, int64_t now)
{
    const struct children *ch = &s->ch;
    unsigned long total = 0;
    for (int k = 0; k < CHILD_KINDS; k++) total += ch->restarts[k];
    log_info("stopped after %.1f s: %lu restarts (relay %lu, storer %lu, alerter %lu, workers %lu, web %lu), %lu "
             "crashes, %lu fatal exits, %lu reloads (%lu refused)",
             (double)(now - s->started_ns) / 1e9, total, ch->restarts[CHILD_RELAY], ch->restarts[CHILD_STORER],
             ch->restarts[CHILD_ALERTER], ch->restarts[CHILD_WORKER], ch->restarts[CHILD_WEB], ch->crashes,
             ch->fatal_exits, s->reloads, s->reloads_failed);
}

/* The supervisor's own counters as it publishes them. */
static void own_stats(const struct supervisor *s, struct proc_stats *st)
{
    static const char *const restarts[CHILD_KINDS] = { "restarts_relay", "restarts_storer", "restarts_alerter",
                                                       "restarts_worker", "restarts_web" };
    proc_stats_begin(st, "supervisor", 0, s->counters.boot_id);
    for (int k = 0; k < CHILD_KINDS; k++) proc_stats_add(st, restarts[k], (int64_t)s->ch.restarts[k]);
    proc_stats_add(st, "crashes", (int64_t)s->ch.crashes);
    proc_stats_add(st, "fatal_exits", (int64_t)s->ch.fatal_exits);
    proc_stats_add(st, "reloads", (int64_t)s->reloads);
    proc_stats_add(st, "reloads_failed", (int64_t)s->reloads_failed);
    if (s->serve) { /* a central host: its probe hosts' requests (supervisor/confserve.h) */
        proc_stats_add(st, "config_requests", (int64_t)s->serve->requests);
        proc_stats_add(st, "config_sent_new", (int64_t)s->serve->sent_new);
        proc_stats_add(st, "config_sent_unchanged", (int64_t)s->serve->sent_unchanged);
        proc_stats_add(st, "config_refused", (int64_t)s->serve->refused);
        proc_stats_add(st, "config_malformed", (int64_t)s->serve->malformed);
    }
}

/* The supervisor's own counters on the bus, once a second (counters.h): restarts for /metrics. */
static void publish_stats(struct supervisor *s, int64_t now)
{
    if (!counters_publish_due(&s->counters, now)) return;
    struct proc_stats st;
    own_stats(s, &st);
    counters_publish(&s->counters, &st, now);
}

/* The signals that arrived since the last turn, in order: stop, children, reload. */
static void handle_signals(struct supervisor *s, int64_t now)
{
    /* A stop first: children that a group-wide signal ended are then not mistaken for crashes. */
    if (got_stop) {
        int sig = got_stop;
        got_stop = 0;
        if (s->stop.phase == STOP_NONE) shutdown_begin(&s->stop, &s->ch, sig == SIGINT ? "SIGINT" : "SIGTERM", now);
        else log_debug("already stopping (signal %d ignored)", sig);
    }
    /* Reaped on every turn, not only after a SIGCHLD: a child whose SIGCHLD was lost is still reaped (and said).
     * A child that exited since the last sleep has its SIGCHLD pending (blocked until ppoll): that is no loss. */
    bool signalled = got_chld;
    got_chld = 0;
    size_t reaped = children_reap(&s->ch, now);
    if (reaped > 0 && !signalled && !sig_pending(SIGCHLD))
        log_warn("reaped %zu child%s without a SIGCHLD", reaped, reaped == 1 ? "" : "ren");
    if ((signalled || reaped > 0) && !s->run_dir_lost) snapshot_gc(&s->ch, s->cfg->run_dir, s->gen, &s->gen_lo);
    if (got_hup) {
        got_hup = 0;
        if (s->stop.phase == STOP_NONE) {
            unsigned long refused = s->reloads_failed;
            notify_reload_begin(&s->notify, now);
            apply_reload(s, now);
            notify_reload_end(&s->notify, s->reloads_failed != refused);
        } else {
            log_info("SIGHUP ignored: stopping");
        }
    }
}

/* run_dir could not be recreated, or another supervisor holds its lock now (rundir.h): our children are
 * killed at once — they must not write their spools and state into a directory another supervisor's
 * children use — and we exit 1. */
static void lose_run_dir(struct supervisor *s, int64_t now)
{
    s->run_dir_lost = true;
    for (size_t i = 0; i < s->ch.n; i++) s->ch.v[i].respawn = false;
    size_t n = children_kill_kind(&s->ch, CHILD_KINDS, false);
    log_error("run_dir %s lost: %zu children killed, exiting 1", s->cfg->run_dir, n);
    shutdown_begin(&s->stop, &s->ch, "run_dir lost", now);
}

static void log_start(struct supervisor *s)
{
    const struct cw_config *c = s->cfg;
    if (s->fetch) {
        char d[200];
        confetch_describe(s->fetch, d, sizeof d);
        log_info("clockwerk %s running: probe host %s of %s: %zu endpoint%s, %d worker%s, run_dir %s; %s", CW_VERSION,
                 c->location, c->central_address, s->print.n_endpoints, cw_plural(s->print.n_endpoints), c->workers,
                 cw_plural(c->workers), c->run_dir, s->probe_waiting ? "waiting for the central host" : d);
        return;
    }
    log_info("clockwerk %s running: %zu endpoint%s, %d worker%s, storer %s, alerter %s, web %s, run_dir %s", CW_VERSION,
             s->print.n_endpoints, cw_plural(s->print.n_endpoints), c->workers, cw_plural(c->workers),
             config_wants_storer(c) ? "on" : "off", children_find(&s->ch, CHILD_ALERTER, 0) ? "on" : "off",
             children_find(&s->ch, CHILD_WEB, 0) ? c->web_listen : "off", c->run_dir);
}

/* The locations' sockets (supervisor/confserve.h, confetch.h): requests answered, the poll sent, a configuration
 * from the central applied. Returns when something is due next (`now`: at once, more is waiting). */
static int64_t serve_and_fetch(struct supervisor *s, int64_t now)
{
    int64_t next = INT64_MAX;
    if (s->serve && confserve_drain(s->serve)) next = now;
    if (s->serve && s->stop.phase == STOP_NONE) {
        int64_t retry = confserve_tick(s->serve, s->cfg, now);
        if (retry < next) next = retry;
    }
    if (!s->fetch || s->stop.phase != STOP_NONE) return next;
    struct cw_config *central = confetch_drain(s->fetch, now);
    if (central) {
        char what[96];
        snprintf(what, sizeof what, "configuration %016llx from the central host",
                 (unsigned long long)s->fetch->pending.hash);
        confetch_applied(s->fetch, apply_next(s, central, now, what));
    }
    int64_t due = confetch_tick(s->fetch, now);
    return due < next ? due : next;
}

static int run(struct supervisor *s)
{
    int64_t now = cw_mono_ns();
    s->started_ns = now;
    apply_initial(s, now);
    log_start(s);

    for (;;) {
        now = cw_mono_ns();
        if (s->stop.phase == STOP_NONE && rundir_keep(s, now) != 0) lose_run_dir(s, now);
        handle_signals(s, now);
        now = cw_mono_ns(); /* a reload takes seconds at 500,000 endpoints: starts and deadlines count from now */
        struct proc_wake wake; /* INT64_MAX: nothing due, sleep until a signal or a stats message */
        proc_wake_init(&wake, INT64_MAX);
        readiness_drain(&s->ready, &s->ch, now);
        proc_wake_at(&wake, notify_tick(&s->notify, s, now)); /* before a stop can end the loop: STOPPING=1 */
        if (s->stop.phase == STOP_NONE) {
            proc_wake_at(&wake, children_start_due(&s->ch, s->snapshot, s->gen, now));
            proc_wake_at(&wake, children_enforce_stop(&s->ch, now, RELOAD_STOP_NS));
            proc_wake_at(&wake, now + RUNDIR_CHECK_NS);
            snapshot_gc(&s->ch, s->cfg->run_dir, s->gen, &s->gen_lo);
        } else {
            proc_wake_at(&wake, shutdown_advance(&s->stop, &s->ch, now));
            proc_wake_at(&wake, now + STOP_REAP_POLL_NS); /* a lost SIGCHLD costs at most this while stopping */
            if (s->stop.phase == STOP_DONE) break;
        }
        /* The sockets' descriptors are edge-triggered: drain before every sleep. */
        counters_drain(&s->counters);
        publish_stats(s, now);
        proc_wake_at(&wake, serve_and_fetch(s, now));
        struct pollfd pfd[4];
        nfds_t n = 0;
        int fds[4] = { counters_fd(&s->counters), s->serve ? confserve_fd(s->serve) : -1,
                       s->fetch ? confetch_fd(s->fetch) : -1, s->ready.fd };
        for (int i = 0; i < 4; i++)
            if (fds[i] >= 0) pfd[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
        int64_t timeout = wake.at == INT64_MAX ? -1 : proc_wake_ns(&wake, now);
        if (sig_wait(pfd, n, timeout, &s->wait_mask) < 0 && errno != EINTR) {
            log_error("ppoll: %s", strerror(errno));
            return 1;
        }
    }
    now = cw_mono_ns();
    counters_drain(&s->counters);
    if (s->counters.sub) { /* its own final line: the figures now, as the summary's, not the copy the bus brought */
        struct proc_stats own;
        own_stats(s, &own);
        counters_keep(&s->counters, &own.s);
    }
    if (!s->fetch) counters_log(&s->counters, (unsigned)s->cfg->workers); /* a probe host's go to its central */
    log_summary(s, now);
    return children_running(&s->ch, CHILD_KINDS) == 0 && !s->run_dir_lost ? 0 : 1;
}

/* Everything before the loop once the configuration is loaded: the children's user, the lock, run_dir, the
 * first snapshot, the signals. 0, or -1 after logging why (main then cleans up). */
static int start(struct supervisor *s)
{
    char err[512];
    if (privs_resolve(s->cfg->user, getuid(), &s->ch.privs, err, sizeof err) != 0 ||
        privs_check_readable(&s->ch.privs, s->cfg->curve_key_file, "bus.curve_key_file", err, sizeof err) != 0) {
        log_error("%s: not starting", err);
        return -1;
    }
    if (pidfile_make_dir(s->cfg->run_dir, err, sizeof err) != 0 ||
        pidfile_acquire(&s->pf, s->cfg->run_dir, err, sizeof err) != 0) {
        log_error("%s: not starting", err);
        return -1;
    }
    snapshot_remove_all(s->cfg->run_dir);
    if (privs_prepare_run_dir(&s->ch.privs, s->cfg->run_dir, err, sizeof err) != 0 ||
        privs_prepare_sqlite(&s->ch.privs, s->cfg, err, sizeof err) != 0 ||
        readiness_open(&s->ready, s->cfg->run_dir, &s->ch.privs, err, sizeof err) != 0) {
        log_error("%s: not starting", err);
        return -1;
    }
    s->ch.ready_env = s->ready.env;
    notify_open(&s->notify);
    icmp_fds_plan(&s->ch.icmp, s->cfg, &s->ch.privs);
    s->gen = s->gen_lo = 1;
    if (snapshot_write(s->cfg, &s->ch.privs, s->gen, s->snapshot, sizeof s->snapshot) != 0) return -1;
    (void)snapshot_link(s->cfg->run_dir, s->gen); /* without it, the first reload restarts the readers */
    if (sig_setup(on_signal, &s->wait_mask) != 0) {
        log_error("cannot set up signals: %s", strerror(errno));
        return -1;
    }
    /* Logged once the signals are handled: a SIGTERM after the first line of the log is an ordered stop. */
    if (s->ch.privs.active)
        log_info("children run as %s (uid %u, gid %u)", s->ch.privs.name, (unsigned)s->ch.privs.uid,
                 (unsigned)s->ch.privs.gid);
    else if (geteuid() == 0) /* docs/security: the service should not run its children as root */
        log_warn("running as root without supervisor.user: every child runs as root; set supervisor.user or run "
                 "clockwerk under a dedicated user (the systemd unit does)");
    return 0;
}

/* A probe host (bus.central_address): its configuration comes from the central host (supervisor/confetch.h); it
 * starts with the last one received (central.snap) when there is one. 0, or -1 after logging why. */
static int probe_begin(struct supervisor *s)
{
    char err[600];
    struct cw_config *local = apply_load(s->cfg->path), *start = NULL;
    if (!local) return -1;
    s->fetch = cw_xcalloc(1, sizeof *s->fetch);
    if (confetch_open(s->fetch, local, &start, err, sizeof err) != 0) {
        log_error("%s: not starting", err);
        return -1;
    }
    s->probe_waiting = start == NULL;
    if (!start) return 0;
    config_free(s->cfg);
    s->cfg = start;
    icmp_fds_plan(&s->ch.icmp, s->cfg, &s->ch.privs);
    if (snapshot_write(s->cfg, &s->ch.privs, s->gen, s->snapshot, sizeof s->snapshot) != 0) return -1;
    (void)snapshot_link(s->cfg->run_dir, s->gen);
    return 0;
}

/* After the signals are set up (ZeroMQ's threads inherit the blocked mask): the counters, and the locations'
 * configuration served (a central host) or fetched (a probe host). 0, or -1 after logging why. */
static int open_sockets(struct supervisor *s)
{
    if (config_is_probe_host(s->cfg)) return probe_begin(s);
    apply_open_counters(s, s->cfg);
    apply_confserve(s, NULL);
    if (s->cfg->config_address && !s->serve) {
        log_error("cannot serve the locations' configuration on %s (see above): not starting", s->cfg->config_address);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_arg = NULL;
    int rc = cli_run(argc, argv, &config_arg);
    if (rc >= 0) return rc;

    log_init("supervisor", LOG_LVL_INFO);
    /* as in every child but the workers (common/proc/proc.h): a large block freed goes back to the system — a
     * reload's second configuration, the snapshot's encoding (issue 18); a hint, unreported when not taken (a
     * sanitizer's allocator does not) */
    (void)mallopt(M_MMAP_THRESHOLD, PROC_MMAP_THRESHOLD);
    struct supervisor s;
    memset(&s, 0, sizeof s);
    s.pf.fd = -1;
    s.snap_fd = -1;
    readiness_init(&s.ready);
    s.cfg = apply_load(config_arg);
    if (!s.cfg) {
        log_error("%s is invalid (see above): not starting", config_arg);
        return 1;
    }
    log_set_level((enum log_level)s.cfg->log_level);
    apply_log_target(s.cfg); /* stderr until here */

    char err[512], programs_dir[PATH_MAX];
    if (self_programs_dir(programs_dir, sizeof programs_dir) != 0) {
        log_error("cannot find the directory of our programs (from /proc/self/exe): %s", strerror(errno));
        config_free(s.cfg);
        return 1;
    }
    if (children_init(&s.ch, programs_dir, err, sizeof err) != 0) {
        log_error("%s", err);
        config_free(s.cfg);
        return 1;
    }
    rc = 1;
    if (start(&s) == 0) {
        self_set_title(argc, argv, "clockwerk: supervisor");
        if (open_sockets(&s) == 0) {
            apply_settle(&s, NULL); /* from here on, no endpoint in memory: only their fingerprints */
            rc = run(&s);
        }
    }
    if (s.gen && !s.run_dir_lost) snapshot_remove_generations(s.cfg->run_dir, s.gen_lo, s.gen);
    if (s.run_dir_lost) s.ready.path = NULL; /* the socket is closed, its file (maybe another supervisor's) kept */
    readiness_close(&s.ready);
    counters_free(&s.counters);
    if (s.serve) confserve_free(s.serve);
    if (s.fetch) confetch_free(s.fetch);
    free(s.serve);
    free(s.fetch);
    pidfile_release(&s.pf);
    children_free(&s.ch);
    config_free(s.cfg);
    reload_print_free(&s.print);
    if (s.snap_fd >= 0) close(s.snap_fd);
    return rc;
}
