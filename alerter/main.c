/* alerter/main.c — bin/clockwerk-alerter: turns the results of every check into alerts (down, up, slow,
 * fast, reminders) and delivers them by mail and webhooks, without spam and without losing any
 * (docs/alerts.md).
 *
 * DESIGN
 * One thread, one loop on the skeleton common/proc/proc.h: curl_multi_poll on the outbox's multi handle with the
 * bus socket's fd and the signalfd as extra fds. The result path runs straight, and this file only conducts
 * it: intake (alerter/intake.c: dedup, gaps, acks) -> the endpoint table and its state machines
 * (alerter/endpoints.c) -> dispatch (alerter/dispatch.c: the grouping window, alerts from raised to
 * delivered) -> outbox (alerter/outbox.c: mail and webhook deliveries). Each pass: drain the bus (results ->
 * per-endpoint state machine -> new alerts, held for the grouping window), release the window when it is
 * due (one job per alert, or one summary job), save the state file if anything that matters changed, run
 * the outbox (start due deliveries, collect finished ones), save again if a delivery changed something,
 * flush alert records to the storer, publish stats once a second. Every part says what it changed as a
 * value, and alerter/savepolicy.h decides when the state file (alerter/persist.c assembles it) is written.
 * Jobs start only after the state file that holds them is written, so a mail is never sent for an alert the
 * next start would not know about; the only resend that cannot be ruled out is a kill between the server's
 * acceptance and the save that records it, and it is the same message (same Message-ID).
 * Alerts are recorded with the storer (CW_MSG_ALERT, reliable) when raised and again on each delivery-state
 * change, and published (masked URL) for the tap (alerter/storeq.c). An alert is forgotten once every
 * channel is done with it.
 * Locations (issue 16, alerter/locwatch.h): HELLOs on the results' socket are answered at once (HELLO_ECHO) and
 * make their location heard, result batches are admitted by their sender's key, each pass judges silence (one
 * LOCATION_SILENT / LOCATION_BACK alert through the dispatch), and CW_MSG_LOCATIONS goes out with the stats.
 * SIGHUP rereads the snapshot: the endpoint table is rebuilt (known endpoints keep their state) and the
 * outbox takes the new delivery settings. SIGTERM saves the state (undelivered messages stay in it), waits
 * briefly for the storer's acks, publishes the last stats and exits 0. Exit 2 for an unusable snapshot,
 * run_dir or keys, 1 for runtime failures (common/proc/proc.h).
 * `--test-alert` sends one test mail and one test call per webhook synchronously and reports each outcome
 * (alerter/testalert.c); `--status -c FILE [--json]` prints the running system's endpoint states from the
 * state file (alerter/status.c, run by `clockwerk status`). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/dispatch.h"
#include "alerter/endpoints.h"
#include "alerter/group.h"
#include "alerter/incident.h"
#include "alerter/intake.h"
#include "alerter/locwatch.h"
#include "alerter/outbox.h"
#include "alerter/persist.h"
#include "alerter/savepolicy.h"
#include "alerter/silenceops.h"
#include "alerter/status.h"
#include "alerter/storeq.h"
#include "alerter/testalert.h"
#include "common/bus/ackq.h"
#include "common/bus/bus.h"
#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/proc/proc.h"
#include "common/wire/protocol.h"
#include "common/base/util.h"

#define STATS_EVERY_NS 1000000000LL
#define WAIT_MAX_NS 1000000000LL /* the loop looks around at least once a second */

struct alerter {
    struct proc p;          /* the configuration, the bus, the signalfd */
    struct bus_socket *pub; /* stats and alerts for the tap; may be NULL */
    struct intake in;       /* results from the workers, and their acks */
    struct endpoints eps;   /* the endpoints' states: results in, alerts out */
    struct locwatch lw;     /* the locations: HELLOs, liveness, key check, location alerts (issue 16) */
    struct dispatch d;      /* alerts raised and not yet done on every channel */
    struct outbox *ob;      /* deliveries */
    struct storeq storeq;   /* alert records to the storer and the tap */
    struct persist keep;    /* the state file */
    struct savepolicy save; /* when it is written */
    struct silencectl sctl; /* the silences and the control socket (alerter/silenceops.h) */
    struct proc_period stats;
    struct cw_buf scratch;
    unsigned sig_held; /* PROC_SIG_TERM read in a pass (take_reload), for run() */
};

static int64_t ns_of_us(int64_t us) { return us > INT64_MAX / 1000 ? INT64_MAX : us * 1000; }

/* ---- setup and teardown */

static void on_hello(void *ctx, const struct bus_msg *m, int64_t now_mono) { locwatch_hello(ctx, m, now_mono); }

static bool admit(void *ctx, const struct bus_msg *m, const struct cw_result *r, int n, int64_t now_mono)
{
    return locwatch_admit(ctx, m, r, n, now_mono);
}

static void alerter_init(struct alerter *a)
{
    memset(a, 0, sizeof *a);
    proc_init(&a->p, &(struct proc_opts){ .name = "alerter", .open_bus = true });
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fatal(1, "cannot initialise libcurl");
    const struct cw_config *cfg = a->p.cfg;
    persist_init(&a->keep, cfg->run_dir);
    endpoints_init(&a->eps, &a->d);
    intake_open(&a->in, a->p.bus, cfg->alert_address, endpoints_apply, &a->eps);
    storeq_open(&a->storeq, a->p.bus, cfg);
    char err[512];
    a->pub = bus_open(a->p.bus, BUS_PUBLISH, cfg->publish_address, err, sizeof err);
    if (!a->pub) log_warn("no stats or alerts for the tap: %s", err);
    a->storeq.pub = a->pub;
    endpoints_build(&a->eps, cfg);
    locwatch_init(&a->lw, &a->d, a->in.sock);
    locwatch_configure(&a->lw, cfg, cw_mono_us());
    a->eps.locs = &a->lw.locs;
    a->in.on_hello = on_hello;
    a->in.admit = admit;
    a->in.loc_ctx = &a->lw;
    a->ob = outbox_new(cfg, dispatch_on_delivery, &a->d);
    dispatch_init(&a->d, a->ob, &a->storeq);
    a->d.decide = incident_decide; /* muting, routing and children at the release of the grouping window */
    a->d.decide_ctx = &a->eps;
    intake_load(&a->in, cfg->run_dir);
    persist_load(&a->keep, &a->eps, &a->d, cfg, cw_mono_us());
    silencectl_open(&a->sctl, cfg->run_dir, &a->p.cfg);
    a->eps.silences = &a->sctl.silences;
    a->sctl.ctl.ops.ack = incident_ack_cb; /* `clockwerk ack` */
    a->sctl.ctl.ops.ack_ctx = &a->eps;
    char chans[512];
    channel_summary(cfg, chans, sizeof chans); /* names by type: no URL, no token */
    log_info("alerter running: %zu endpoint%s, %s, group_threshold %d, renotify %.0f s%s", a->eps.n,
             cw_plural((long long)a->eps.n), chans, cfg->group_threshold, cfg->renotify,
             config_has_alert_channel(cfg) ? "" : " (no channel: alerts are recorded, nothing is sent)");
    proc_ready(&a->p);
}

static void alerter_free(struct alerter *a)
{
    silencectl_close(&a->sctl);
    outbox_free(a->ob);
    dispatch_free(&a->d);
    storeq_free(&a->storeq);
    intake_free(&a->in);
    endpoints_free(&a->eps);
    persist_free(&a->keep);
    locwatch_free(&a->lw);
    cw_buf_free(&a->scratch);
    proc_close(&a->p); /* the bus, with its sockets, the configuration and the signalfd */
    curl_global_cleanup();
}

/* ---- events */

/* A save, and right after it (what is in memory is then what the files hold) the compaction's next chunk. */
static void save(struct alerter *a, int64_t now_us)
{
    if (persist_save(&a->keep, &a->eps, &a->d, a->ob, &a->in) != 0) {
        savepolicy_failed(&a->save, now_us);
        return;
    }
    savepolicy_saved(&a->save, now_us);
    persist_compact_step(&a->keep, &a->eps, &a->d, a->ob);
}

static void publish_stats(struct alerter *a)
{
    if (!a->pub) return;
    const struct storeq *sq = &a->storeq;
    struct proc_stats st;
    proc_stats_begin(&st, "alerter", 0, a->p.boot_id);
    proc_stats_add(&st, "results", a->in.c.results);
    proc_stats_add(&st, "malformed", a->in.c.malformed);
    proc_stats_add(&st, "refused", (int64_t)a->in.acks.refused);
    proc_stats_add(&st, "gaps", (int64_t)a->in.gaps.gaps); /* gap events; the results in them: missing */
    proc_stats_add(&st, "missing", (int64_t)a->in.gaps.missing);
    proc_stats_add(&st, "seq_jumps", (int64_t)a->in.gaps.jumps);
    proc_stats_add(&st, "unknown_urls", a->eps.unknown_urls);
    proc_stats_add(&st, "alerts_raised", a->d.c.alerts_raised);
    proc_stats_add(&st, "alerts_muted", a->d.c.alerts_muted);
    proc_stats_add(&st, "mails_sent", a->d.c.mails_sent);
    proc_stats_add(&st, "mail_failures", a->d.c.mail_failures);
    proc_stats_add(&st, "mail_refused", a->d.c.mail_refused);
    proc_stats_add(&st, "webhooks_sent", a->d.c.webhooks_sent);
    proc_stats_add(&st, "webhook_failures", a->d.c.webhook_failures);
    proc_stats_add(&st, "outbox", (int64_t)outbox_count(a->ob));
    proc_stats_add(&st, "outbox_full", a->d.c.outbox_full);
    proc_stats_add(&st, "alerts_pending", (int64_t)a->d.n_alerts);
    proc_stats_add(&st, "store_queue", sq->has_q ? (int64_t)ackq_pending_results(&sq->q) : 0);
    proc_stats_add(&st, "store_spool_bytes", sq->has_q ? (int64_t)ackq_spool_bytes(&sq->q) : 0);
    proc_stats_add(&st, "store_acked", sq->has_q ? (int64_t)sq->q.acked : 0);
    proc_stats_add(&st, "store_resent", sq->has_q ? (int64_t)sq->q.resent : 0);
    proc_stats_add(&st, "store_dropped", sq->has_q ? (int64_t)sq->q.dropped : 0);
    proc_stats_add(&st, "duplicates", a->in.c.duplicates);
    proc_stats_add(&st, "late", a->in.c.late);
    proc_stats_add(&st, "state_saves", a->keep.saves);
    proc_stats_add(&st, "state_errors", a->keep.errors);
    proc_stats_add(&st, "state_lines", a->keep.lines);
    proc_stats_add(&st, "state_compactions", a->keep.compactions);
    proc_stats_add(&st, "state_base_writes", a->keep.base_writes);
    proc_stats_add(&st, "acked", a->in.c.acked);
    proc_stats_add(&st, "ack_messages", a->in.c.ack_messages);
    proc_stats_add(&st, "acks_waiting", (int64_t)a->in.n_acks);
    proc_stats_add(&st, "dropped_malformed", a->in.c.malformed);
    proc_stats_add(&st, "bus_refused", (int64_t)bus_refused_clients(a->p.bus));
    proc_stats_add(&st, "hellos", a->lw.hellos); /* issue 16 */
    proc_stats_add(&st, "hello_echoes", a->lw.echoes);
    proc_stats_add(&st, "malformed_hellos", a->lw.malformed_hellos);
    proc_stats_add(&st, "wrong_location", a->lw.wrong_location);
    proc_stats_add(&st, "refused_batches", a->in.c.refused_batches);
    proc_stats_add(&st, "refused_workers", a->in.c.refused_workers);
    proc_stats_add(&st, "unknown_location", a->lw.unknown_location);
    proc_stats_add(&st, "late_location_results", a->eps.late_location_results);
    proc_stats_add(&st, "other_location_results", a->eps.other_location_results);
    if (proc_stats_encode(&st, &a->scratch) == 0) (void)bus_send(a->pub, CW_MSG_STATS, a->scratch.data, a->scratch.len);
    locwatch_publish(&a->lw, a->pub, cw_mono_us()); /* CW_MSG_LOCATIONS, once a second too */
}

static void reload(struct alerter *a)
{
    log_info("SIGHUP: rereading the configuration snapshot");
    char err[512];
    int64_t t0 = cw_mono_us(), c0 = cw_thread_cpu_ns();
    struct cw_config *old = proc_reload(&a->p, err, sizeof err);
    if (!old) {
        log_error("cannot read the configuration snapshot: %s", err);
        log_warn("keeping the previous configuration");
        return;
    }
    /* finds the known endpoints in the old table, which points into old */
    if (!endpoints_build(&a->eps, a->p.cfg)) persist_reconfigured(&a->keep);
    locwatch_configure(&a->lw, a->p.cfg, cw_mono_us());
    outbox_configure(a->ob, a->p.cfg);
    config_free(old);
    log_info("configuration reloaded: %zu endpoint%s in %.2f s (%.2f s CPU)", a->eps.n, cw_plural((long long)a->eps.n),
             (double)(cw_mono_us() - t0) / 1e6, (double)(cw_thread_cpu_ns() - c0) / 1e9);
    savepolicy_note(&a->save, SAVE_NOW);
}

static void stop(struct alerter *a)
{
    log_info("SIGTERM: saving state and stopping (%zu undelivered messages stay in %s)", outbox_count(a->ob),
             a->keep.path);
    save(a, cw_mono_us());
    storeq_drain(&a->storeq);
    publish_stats(a); /* the supervisor logs the last counters it saw */
}

/* ---- the loop */

/* One pass along the result path; every step's changes go to the save policy, asked before the outbox
 * runs (it must not deliver what the file does not hold) and after. */
/* A SIGHUP is done at once, between the results drained and the state saved (a save of 500,000 endpoints' states
 * takes seconds: the reload is not to wait for it, and the one save after it covers both); a SIGTERM is kept for
 * run(). */
static void take_reload(struct alerter *a)
{
    unsigned sig = proc_signals(a->p.sigfd);
    a->sig_held |= sig & ~(unsigned)PROC_SIG_HUP;
    if (sig & PROC_SIG_HUP) reload(a);
}

static void pass(struct alerter *a)
{
    if (intake_drain(&a->in)) savepolicy_note(&a->save, SAVE_LIGHT);
    take_reload(a);
    int64_t now = cw_mono_us();
    savepolicy_heartbeat(&a->save, now); /* saved_at stays fresh for `clockwerk status` */
    if (persist_compacting(&a->keep)) savepolicy_note(&a->save, SAVE_LIGHT); /* its chunks come after saves */
    bool silence_ended = silencectl_run(&a->sctl, now) > 0;
    locwatch_tick(&a->lw, now); /* a location silent: its alert */
    bool released = agroup_due(&a->d.group, now);
    if (released) dispatch_release(&a->d, a->p.cfg, now);
    incident_tick(&a->eps, silence_ended || released, now); /* escalations; alerts held back by a mute that ended */
    savepolicy_note(&a->save, dispatch_take_unsaved(&a->d));
    if (a->save.need == SAVE_NOW && savepolicy_due(&a->save, now, false)) save(a, now);
    outbox_run(a->ob, now);
    now = cw_mono_us();
    savepolicy_note(&a->save, dispatch_take_unsaved(&a->d));
    if (savepolicy_due(&a->save, now, a->in.n_acks != 0 || persist_compacting(&a->keep))) save(a, now);
    if (a->in.n_acks && a->save.need == SAVE_NONE) intake_flush_acks(&a->in); /* nothing to record */
    storeq_flush(&a->storeq);
    if (proc_period_due(&a->stats, ns_of_us(now))) publish_stats(a);
}

static void wake_at_us(struct proc_wake *w, int64_t at_us)
{
    if (at_us != INT64_MAX) proc_wake_at(w, ns_of_us(at_us));
}

static void wake_in_ms(struct proc_wake *w, int64_t now_us, long ms)
{
    if (ms >= 0) proc_wake_at(w, ns_of_us(now_us) + (int64_t)ms * 1000000);
}

/* Sleeps until the bus, the signalfd, the storer's socket or a transfer has something, or the earliest of
 * the outbox's, the grouping window's, the stats', the save policy's and the storer queue's deadlines. */
static void wait_for_work(struct alerter *a, int bus_sock_fd)
{
    int64_t now = cw_mono_us();
    struct proc_wake w;
    proc_wake_init(&w, ns_of_us(now) + WAIT_MAX_NS);
    wake_in_ms(&w, now, outbox_timeout_ms(a->ob, now));
    wake_at_us(&w, agroup_deadline(&a->d.group));
    proc_wake_at(&w, a->stats.next);
    wake_at_us(&w, savepolicy_deadline(&a->save, a->in.n_acks != 0 || persist_compacting(&a->keep)));
    wake_in_ms(&w, now, storeq_timeout_ms(&a->storeq));
    wake_at_us(&w, silencectl_deadline(&a->sctl, now));
    if (bus_readable(a->in.sock)) proc_wake_at(&w, ns_of_us(now)); /* ZMQ_FD is edge-triggered: no sleep */
    struct curl_waitfd extra[3 + 1 + CONTROL_CONNS_MAX] = { { .fd = bus_sock_fd, .events = CURL_WAIT_POLLIN },
                                                            { .fd = a->p.sigfd, .events = CURL_WAIT_POLLIN },
                                                            { .fd = storeq_fd(&a->storeq),
                                                              .events = CURL_WAIT_POLLIN } };
    unsigned n_extra = extra[2].fd >= 0 ? 3 : 2;
    n_extra += (unsigned)control_waitfds(&a->sctl.ctl, extra + n_extra, 1 + CONTROL_CONNS_MAX);
    int nfds = 0;
    CURLMcode mc = curl_multi_poll(outbox_multi(a->ob), extra, n_extra, proc_wake_ms(&w, ns_of_us(now)), &nfds);
    if (mc != CURLM_OK) log_error("curl_multi_poll: %s", curl_multi_strerror(mc));
}

/* Runs until SIGTERM; returns the exit code. */
static int run(struct alerter *a)
{
    int bus_sock_fd = bus_fd(a->in.sock);
    if (bus_sock_fd < 0) fatal(1, "cannot get the bus socket's fd");
    int64_t now_ns = ns_of_us(cw_mono_us());
    proc_period_start(&a->stats, now_ns - STATS_EVERY_NS, STATS_EVERY_NS); /* the first stats at once */
    for (;;) {
        pass(a);
        wait_for_work(a, bus_sock_fd);
        unsigned sig = proc_signals(a->p.sigfd) | a->sig_held;
        a->sig_held = 0;
        if (sig & PROC_SIG_TERM) {
            stop(a);
            return 0;
        }
        if (sig & PROC_SIG_HUP) reload(a);
    }
}

/* ---- main */

static _Noreturn void usage(void)
{
    fprintf(stderr, "usage: CLOCKWERK_SNAPSHOT=FILE clockwerk-alerter [--test-alert [SNAPSHOT]]\n"
                    "       clockwerk-alerter --status -c FILE [--json]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    bool test_mode = false;
    const char *snapshot = getenv("CLOCKWERK_SNAPSHOT");
    if (argc >= 2 && strcmp(argv[1], "--status") == 0) return status_run(argc - 2, argv + 2);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--test-alert") == 0) {
            test_mode = true;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("clockwerk-alerter %s\n", CW_VERSION);
            return 0;
        } else if (test_mode && argv[i][0] != '-') {
            snapshot = argv[i];
        } else {
            usage();
        }
    }
    if (test_mode) {
        log_init("alerter", LOG_LVL_INFO);
        return testalert_run(snapshot);
    }
    static struct alerter alerter;
    alerter_init(&alerter);
    int rc = run(&alerter);
    alerter_free(&alerter);
    return rc;
}
