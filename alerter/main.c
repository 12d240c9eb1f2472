/* alerter/main.c — bin/clockwerk-alerter: turns the results of every check into alerts (down, up, slow,
 * fast, reminders) and delivers them by mail and webhooks, without spam and without losing any
 * (docs/alerts.md).
 *
 * DESIGN
 * One thread, one loop, in the shape of the worker's: curl_multi_poll on the outbox's multi handle with the
 * bus socket's fd and a signalfd as extra fds. Each pass: drain the bus (results -> per-endpoint state
 * machine -> new alerts, held for the grouping window), release the window when it is due (one job per
 * alert, or one summary job), save the state file if anything that matters changed, run the outbox (start
 * due deliveries, collect finished ones), save again if a delivery changed something, flush alert records
 * to the storer, publish stats once a second. Jobs start only after the state file that holds them is
 * written, so a mail is never sent for an alert the next start would not know about; the only resend that
 * cannot be ruled out is a kill between the server's acceptance and the save that records it, and it is
 * the same message (same Message-ID).
 * Alerts are recorded with the storer (CW_MSG_ALERT, reliable) when raised and again on each delivery-state
 * change, and published (masked URL) for the tap. An alert is forgotten once every channel is done with it.
 * `--test-alert` sends one test mail and one test call per webhook synchronously and reports each outcome.
 * The parts: alerter/intake.c takes the results in (dedup, gaps, acks), alerter/dispatch.c takes alerts from
 * raised to delivered, alerter/storeq.c records them with the storer and the tap; this file keeps the
 * endpoints, the state file, the stats and the loop. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "alerter/alert.h"
#include "alerter/dispatch.h"
#include "alerter/group.h"
#include "alerter/intake.h"
#include "alerter/mail.h"
#include "alerter/outbox.h"
#include "alerter/state.h"
#include "alerter/statefile.h"
#include "alerter/storeq.h"
#include "alerter/webhook.h"
#include "common/ackq.h"
#include "common/bus.h"
#include "common/bus_keys.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/util.h"

#define LIGHT_SAVE_US (5 * 1000000LL)      /* counters-only changes are saved at most this often */
#define SOON_SAVE_US 250000LL              /* new alerts (still held) are saved at most this late */
#define ACK_SAVE_US 1000000LL              /* with acks waiting, the state is saved at least this often */
#define STATS_US 1000000LL
#define ERROR_KEEP 512                     /* bytes of a check's error text kept per endpoint */

struct ep_slot {
    const struct cw_endpoint *ep;
    struct astate st;
    struct astate_params p;
    uint16_t last_status;
    int64_t last_latency_us;
    int64_t last_checked_us;   /* checked_at of the newest result applied, and its worker boot (in memory) */
    uint64_t last_boot_id;
    char *last_error;          /* last failure's error text while failing; NULL otherwise */
};

struct counters {
    int64_t unknown_urls, state_saves, state_errors;
};

struct alerter {
    struct cw_config *cfg;
    const char *snapshot;
    char state_path[PATH_MAX];
    uint64_t boot_id;

    struct ep_slot *eps;
    size_t n_eps;
    uint32_t *index;           /* open addressing over url hashes: slot + 1, 0 = empty */
    size_t index_cap;

    struct bus *bus;
    struct bus_socket *pub;
    struct outbox *ob;

    struct intake in;          /* results from the workers, and their acks */
    struct dispatch d;         /* alerts raised and not yet done on every channel */
    struct storeq storeq;      /* alert records to the storer and the tap */

    struct counters c;
    struct dispatch_dirty dirty; /* what the next save_state must write, and how soon */
    int64_t last_save_us;
    struct cw_buf scratch;
};

/* ---------------------------------------------------------------- endpoints */

static void params_of(const struct cw_config *cfg, const struct cw_endpoint *ep, struct astate_params *p)
{
    p->alert_threshold = ep->alert_threshold > 0 ? (uint32_t)ep->alert_threshold : 1;
    p->recovery_threshold = ep->recovery_threshold > 0 ? (uint32_t)ep->recovery_threshold
                            : cfg->recovery_threshold > 0 ? (uint32_t)cfg->recovery_threshold : 1;
    p->latency_threshold_us = (int64_t)(ep->latency_threshold * 1e6);
    p->renotify_us = (int64_t)(cfg->renotify * 1e6);
    p->tls_expiry_us = cfg->tls_expiry_days > 0 ? (int64_t)cfg->tls_expiry_days * 86400 * 1000000 : 0;
}

static struct ep_slot *find_ep(struct alerter *a, const char *url)
{
    if (!a->index_cap) return NULL;
    size_t mask = a->index_cap - 1;
    for (size_t i = cw_hash64(url) & mask;; i = (i + 1) & mask) {
        uint32_t v = a->index[i];
        if (!v) return NULL;
        if (strcmp(a->eps[v - 1].ep->url, url) == 0) return &a->eps[v - 1];
    }
}

/* Builds the slots and the index for cfg's endpoints, taking over the state of endpoints already known
 * (by URL) from the previous table. */
static void build_endpoints(struct alerter *a, struct cw_config *cfg)
{
    size_t n = cfg->n_endpoints, cap = 16;
    while (cap < 2 * n) cap *= 2;
    struct ep_slot *eps = cw_xcalloc(n ? n : 1, sizeof *eps);
    uint32_t *index = cw_xcalloc(cap, sizeof *index);
    for (size_t k = 0; k < n; k++) {
        struct ep_slot *s = &eps[k];
        s->ep = &cfg->endpoints[k];
        params_of(cfg, s->ep, &s->p);
        struct ep_slot *old = find_ep(a, s->ep->url);
        if (old) {
            s->st = old->st;
            s->last_status = old->last_status;
            s->last_latency_us = old->last_latency_us;
            s->last_checked_us = old->last_checked_us;
            s->last_boot_id = old->last_boot_id;
            s->last_error = old->last_error;
            old->last_error = NULL;
        } else {
            astate_init(&s->st);
        }
        size_t i = cw_hash64(s->ep->url) & (cap - 1);
        while (index[i]) i = (i + 1) & (cap - 1);
        index[i] = (uint32_t)k + 1;
    }
    for (size_t k = 0; k < a->n_eps; k++) free(a->eps[k].last_error);
    free(a->eps);
    free(a->index);
    a->eps = eps;
    a->n_eps = n;
    a->index = index;
    a->index_cap = cap;
}

/* ---------------------------------------------------------------- results */

static void raise_alert(struct alerter *a, struct ep_slot *s, const struct astate_event *ev, const struct cw_result *r,
                        int64_t now_mono)
{
    bool failing = ev->kind == CW_ALERT_DOWN || ev->kind == CW_ALERT_REMINDER;
    struct alert_rec *al = alert_new(ev->kind, s->ep->url, s->ep->name, failing ? s->last_error : NULL, ev->since_us,
                                     ev->at_us, ev->duration_us, ev->count, ev->seq, cw_wall_us());
    if (dispatch_find(&a->d, al->id)) { /* the same state change again (a replay): already on its way */
        alert_free(al);
        return;
    }
    al->last_status = r->status_code;
    al->last_latency_us = r->latency_us;
    al->threshold_us = s->p.latency_threshold_us;
    alert_update_message(al);
    dispatch_raise(&a->d, a->cfg, al, s->ep->interval, now_mono);
}

/* Applies one new result (intake_apply_fn): false when it is late. */
static bool handle_result(void *ctx, const struct cw_result *r, int64_t now_mono)
{
    struct alerter *a = ctx;
    struct ep_slot *s = find_ep(a, r->url);
    if (!s) {
        a->c.unknown_urls++;
        return true;
    }
    /* a result of another worker boot older than one applied (a predecessor's spool replayed after its
     * successor's results) would make the endpoint flap: not applied. Within a boot, seqwin keeps the order
     * (and a wall-clock step back then changes nothing). */
    if (r->boot_id != s->last_boot_id && r->checked_at_us < s->last_checked_us) return false;
    s->last_checked_us = r->checked_at_us;
    s->last_boot_id = r->boot_id;
    s->last_status = r->status_code;
    s->last_latency_us = r->latency_us;
    if (!r->ok) {
        const char *e = r->error && r->error[0] ? r->error : "check failed";
        if (!s->last_error || strncmp(s->last_error, e, ERROR_KEEP) != 0) {
            free(s->last_error);
            size_t n = strnlen(e, ERROR_KEEP);
            s->last_error = cw_xmalloc(n + 1);
            memcpy(s->last_error, e, n);
            s->last_error[n] = '\0';
        }
    } else if (s->last_error) {
        free(s->last_error);
        s->last_error = NULL;
    }
    struct astate_event ev[ASTATE_MAX_EVENTS];
    unsigned n = astate_feed(&s->st, &s->p, r->ok, r->latency_us, r->checked_at_us, ev);
    for (unsigned i = 0; i < n; i++) raise_alert(a, s, &ev[i], r, now_mono);
    if (astate_feed_tls(&s->st, &s->p, r->tls_expires_at_us, r->checked_at_us, ev)) raise_alert(a, s, &ev[0], r, now_mono);
    a->dirty.light = true;
    return true;
}

/* ---------------------------------------------------------------- state file */

static void save_state(struct alerter *a, int64_t now_mono)
{
    struct statefile_data d = { 0 };
    d.eps = cw_xcalloc(a->n_eps ? a->n_eps : 1, sizeof *d.eps);
    for (size_t i = 0; i < a->n_eps; i++) {
        const struct ep_slot *s = &a->eps[i];
        /* An endpoint plainly up (and not slow, no run under way) behaves exactly like an unknown one
         * after a restart: it is left out, so the file holds only endpoints with something to remember. */
        bool plain = (s->st.avail == ASTATE_UNKNOWN || s->st.avail == ASTATE_UP) && s->st.speed != ASTATE_SLOW &&
                     s->st.fail_run == 0 && s->st.slow_run == 0 && s->st.tls_notified_us == 0;
        if (plain) continue;
        struct statefile_endpoint *e = &d.eps[d.n_eps++];
        e->url = s->ep->url;
        e->st = s->st;
        e->last_status = s->last_status;
        e->last_latency_us = s->last_latency_us;
        e->last_error = s->last_error;
    }
    d.alerts = a->d.alerts;
    d.n_alerts = a->d.n_alerts;
    d.alert_held = cw_xcalloc(a->d.n_alerts ? a->d.n_alerts : 1, sizeof *d.alert_held);
    for (size_t i = 0; i < a->d.n_alerts; i++) d.alert_held[i] = a->d.alerts[i]->held;
    size_t nj = outbox_count(a->ob);
    d.jobs = cw_xcalloc(nj ? nj : 1, sizeof *d.jobs);
    for (size_t i = 0; i < nj; i++) {
        const struct outbox_job *j = outbox_job_at(a->ob, i);
        d.jobs[i] = (struct statefile_job){ .key = j->key, .channel = j->channel, .target = j->target,
                                            .ids = j->alert_ids, .n_ids = j->n_ids, .payload = j->payload,
                                            .payload_len = j->payload_len, .attempts = j->attempts };
    }
    d.n_jobs = nj;
    char err[PATH_MAX + 256];
    if (statefile_save(a->state_path, &d, err, sizeof err) != 0) {
        a->c.state_errors++;
        log_error("cannot save the alerter state: %s", err);
    } else {
        a->c.state_saves++;
        /* then the applied seqs (a crash in between may apply a resend twice; never lose one) */
        if (intake_commit(&a->in, err, sizeof err) != 0) {
            a->c.state_errors++;
            log_error("cannot save the applied sequence numbers: %s", err);
        }
    }
    free(d.eps);
    free(d.alert_held);
    free(d.jobs);
    a->dirty.now = a->dirty.soon = a->dirty.light = false;
    a->last_save_us = now_mono;
}

static void load_state(struct alerter *a, int64_t now_mono)
{
    struct statefile_data d;
    char err[PATH_MAX + 256];
    int rc = statefile_load(a->state_path, &d, err, sizeof err);
    if (rc < 0) {
        char aside[PATH_MAX + 8];
        snprintf(aside, sizeof aside, "%s.bad", a->state_path);
        log_error("%s; moved aside to %s, starting with no state", err, aside);
        if (rename(a->state_path, aside) != 0) log_error("cannot rename %s: %s", a->state_path, strerror(errno));
        return;
    }
    if (rc == 0) {
        log_info("no state file %s: every endpoint starts unknown", a->state_path);
        return;
    }
    size_t restored = 0, down = 0;
    for (size_t i = 0; i < d.n_eps; i++) {
        struct ep_slot *s = find_ep(a, d.eps[i].url);
        if (!s) continue;
        s->st = d.eps[i].st;
        s->last_status = d.eps[i].last_status;
        s->last_latency_us = d.eps[i].last_latency_us;
        if (d.eps[i].last_error && d.eps[i].last_error[0]) s->last_error = cw_xstrdup(d.eps[i].last_error);
        restored++;
        down += s->st.avail == ASTATE_DOWN;
    }
    size_t jobs = dispatch_restore(&a->d, a->cfg, &d, now_mono);
    statefile_data_free(&d);
    log_info("state restored from %s: %zu endpoints (%zu down), %zu alerts, %zu undelivered messages", a->state_path,
             restored, down, a->d.n_alerts, jobs);
}

/* ---------------------------------------------------------------- stats */

static void publish_stats(struct alerter *a)
{
    if (!a->pub) return;
    struct cw_stats st = { .role = "alerter", .id = 0, .boot_id = a->boot_id, .at_us = cw_wall_us() };
    const struct storeq *sq = &a->storeq;
    const struct { const char *name; int64_t value; } items[] = {
        { "results", a->in.c.results },
        { "malformed", a->in.c.malformed },
        { "gaps", a->in.c.gaps },
        { "unknown_urls", a->c.unknown_urls },
        { "alerts_raised", a->d.c.alerts_raised },
        { "mails_sent", a->d.c.mails_sent },
        { "mail_failures", a->d.c.mail_failures },
        { "webhooks_sent", a->d.c.webhooks_sent },
        { "webhook_failures", a->d.c.webhook_failures },
        { "outbox", (int64_t)outbox_count(a->ob) },
        { "outbox_full", a->d.c.outbox_full },
        { "alerts_pending", (int64_t)a->d.n_alerts },
        { "store_queue", sq->has_q ? (int64_t)ackq_pending_results(&sq->q) : 0 },
        { "store_spool_bytes", sq->has_q ? (int64_t)ackq_spool_bytes(&sq->q) : 0 },
        { "store_acked", sq->has_q ? (int64_t)sq->q.acked : 0 },
        { "store_resent", sq->has_q ? (int64_t)sq->q.resent : 0 },
        { "store_dropped", sq->has_q ? (int64_t)sq->q.dropped : 0 },
        { "duplicates", a->in.c.duplicates },
        { "late", a->in.c.late },
        { "state_saves", a->c.state_saves },
        { "state_errors", a->c.state_errors },
        { "acked", a->in.c.acked },
        { "ack_messages", a->in.c.ack_messages },
        { "acks_waiting", (int64_t)a->in.n_acks },
        { "dropped_malformed", a->in.c.malformed },
        { "bus_refused", (int64_t)bus_refused_clients(a->bus) },
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0] && i < CW_STATS_MAX; i++) {
        st.items[i].name = items[i].name;
        st.items[i].value = items[i].value;
        st.count++;
    }
    cw_buf_reset(&a->scratch);
    if (proto_stats_encode(&a->scratch, &st) == 0) (void)bus_send(a->pub, CW_MSG_STATS, a->scratch.data, a->scratch.len);
}

/* ---------------------------------------------------------------- setup, reload, loop */

static struct cw_config *read_snapshot(const char *path)
{
    char err[PATH_MAX + 256];
    struct cw_config *cfg = config_snapshot_read(path, 0, 0, err, sizeof err);
    if (!cfg) log_error("cannot read the configuration snapshot: %s", err);
    return cfg;
}

static void reload(struct alerter *a)
{
    log_info("SIGHUP: rereading %s", a->snapshot);
    struct cw_config *next = read_snapshot(a->snapshot);
    if (!next) {
        log_warn("keeping the previous configuration");
        return;
    }
    build_endpoints(a, next);
    outbox_configure(a->ob, next);
    config_free(a->cfg);
    a->cfg = next;
    log_set_level((enum log_level)next->log_level);
    log_info("configuration reloaded: %zu endpoints", a->n_eps);
    a->dirty.now = true;
}

static int open_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) fatal(1, "sigprocmask: %s", strerror(errno));
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) fatal(1, "signalfd: %s", strerror(errno));
    return fd;
}

/* Reads pending signals: returns 1 on SIGTERM (and sets *hup on SIGHUP). */
static int read_signals(int fd, bool *hup)
{
    int term = 0;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM) term = 1;
        else if (si.ssi_signo == SIGHUP) *hup = true;
    }
    return term;
}

static long min_timeout(long a, long b)
{
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
}

static long until_ms(int64_t deadline_us, int64_t now_us)
{
    if (deadline_us == INT64_MAX) return -1;
    int64_t d = deadline_us - now_us;
    return d <= 0 ? 0 : (long)((d + 999) / 1000);
}

static int run(struct alerter *a, int sigfd)
{
    int zfd = bus_fd(a->in.sock);
    if (zfd < 0) fatal(1, "cannot get the bus socket's fd");
    int64_t next_stats = cw_mono_us();
    for (;;) {
        int64_t now = cw_mono_us();
        intake_drain(&a->in);
        now = cw_mono_us();
        if (agroup_due(&a->d.group, now)) dispatch_release(&a->d, a->cfg, now);
        if (a->dirty.now) save_state(a, now); /* before any delivery of what it holds */
        outbox_run(a->ob, now);
        now = cw_mono_us();
        const struct dispatch_dirty *dt = &a->dirty;
        if (dt->now || (dt->soon && now - a->last_save_us >= SOON_SAVE_US) ||
            (dt->light && now - a->last_save_us >= LIGHT_SAVE_US) ||
            (a->in.n_acks && (dt->soon || dt->light) && now - a->last_save_us >= ACK_SAVE_US))
            save_state(a, now);
        if (a->in.n_acks && !dt->now && !dt->soon && !dt->light) intake_flush_acks(&a->in); /* nothing to record */
        storeq_flush(&a->storeq);
        if (now >= next_stats) {
            publish_stats(a);
            next_stats = now + STATS_US;
        }

        long t = outbox_timeout_ms(a->ob, now);
        t = min_timeout(t, until_ms(agroup_deadline(&a->d.group), now));
        t = min_timeout(t, until_ms(next_stats, now));
        if (dt->soon) t = min_timeout(t, until_ms(a->last_save_us + SOON_SAVE_US, now));
        else if (dt->light) t = min_timeout(t, until_ms(a->last_save_us + LIGHT_SAVE_US, now));
        if (a->in.n_acks) t = min_timeout(t, until_ms(a->last_save_us + ACK_SAVE_US, now));
        t = min_timeout(t, storeq_timeout_ms(&a->storeq));
        if (bus_readable(a->in.sock)) t = 0; /* ZMQ_FD is edge-triggered: never sleep on a ready socket */
        if (t < 0 || t > 1000) t = 1000;
        struct curl_waitfd extra[3] = { { .fd = zfd, .events = CURL_WAIT_POLLIN },
                                        { .fd = sigfd, .events = CURL_WAIT_POLLIN },
                                        { .fd = storeq_fd(&a->storeq), .events = CURL_WAIT_POLLIN } };
        int nfds = 0;
        CURLMcode mc = curl_multi_poll(outbox_multi(a->ob), extra, extra[2].fd >= 0 ? 3 : 2, (int)t, &nfds);
        if (mc != CURLM_OK) log_error("curl_multi_poll: %s", curl_multi_strerror(mc));
        bool hup = false;
        if (read_signals(sigfd, &hup)) {
            log_info("SIGTERM: saving state and stopping (%zu undelivered messages stay in %s)", outbox_count(a->ob),
                     a->state_path);
            save_state(a, cw_mono_us());
            storeq_drain(&a->storeq);
            publish_stats(a); /* the supervisor logs the last counters it saw */
            return 0;
        }
        if (hup) reload(a);
    }
}

static void free_alerter(struct alerter *a)
{
    outbox_free(a->ob);
    dispatch_free(&a->d);
    storeq_free(&a->storeq);
    intake_free(&a->in);
    for (size_t k = 0; k < a->n_eps; k++) free(a->eps[k].last_error);
    free(a->eps);
    free(a->index);
    cw_buf_free(&a->scratch);
    bus_free(a->bus);
    config_free(a->cfg);
}

/* ---------------------------------------------------------------- --test-alert */

static int test_alert(struct cw_config *cfg)
{
    int failures = 0, tried = 0;
    char err[1024];
    struct cw_buf b = { 0 };
    if (cfg->email_enabled) {
        struct mail_params mp = { .from = cfg->email_from, .to = cfg->email_to, .n_to = cfg->n_email_to,
                                  .date_us = cw_wall_us() };
        mail_build_test(&b, &mp, cw_boot_id());
        tried++;
        printf("test mail to %zu recipient(s) via %s://%s:%d: ", cfg->n_email_to,
               cfg->smtp_tls == CW_SMTP_TLS ? "smtps" : "smtp", cfg->smtp_host, cfg->smtp_port);
        fflush(stdout);
        if (outbox_send_now(cfg, OUTBOX_MAIL, NULL, (const char *)b.data, b.len, 70000, err, sizeof err) == 0) {
            printf("OK\n");
        } else {
            printf("FAILED: %s\n", err);
            failures++;
        }
    }
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        char masked[CW_URL_MAX + 1];
        cw_mask_url(cfg->webhooks[i].url, masked, sizeof masked);
        const char *host = strstr(masked, "://");
        int keep = host ? (int)(host + 3 - masked + (long)strcspn(host + 3, "/?#")) : (int)strlen(masked);
        webhook_build_test(&b, cw_wall_us());
        tried++;
        printf("test webhook call to %.*s/...: ", keep, masked);
        fflush(stdout);
        if (outbox_send_now(cfg, OUTBOX_WEBHOOK, cfg->webhooks[i].url, (const char *)b.data, b.len, 40000, err,
                            sizeof err) == 0) {
            printf("OK\n");
        } else {
            printf("FAILED: %s\n", err);
            failures++;
        }
    }
    cw_buf_free(&b);
    if (!tried) printf("nothing to test: neither email nor webhooks are configured\n");
    fflush(stdout);
    return (failures || !tried) ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    bool test_mode = false;
    const char *snapshot = getenv("CLOCKWERK_SNAPSHOT");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--test-alert") == 0) test_mode = true;
        else if (strcmp(argv[i], "--version") == 0) {
            printf("clockwerk-alerter %s\n", CW_VERSION);
            return 0;
        } else if (test_mode && argv[i][0] != '-') snapshot = argv[i];
        else {
            fprintf(stderr, "usage: CLOCKWERK_SNAPSHOT=FILE clockwerk-alerter [--test-alert [SNAPSHOT]]\n");
            return 2;
        }
    }
    log_init("alerter", LOG_LVL_INFO);
    if (!snapshot || !snapshot[0]) fatal(2, "CLOCKWERK_SNAPSHOT is not set: the supervisor starts this program");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fatal(1, "cannot initialise libcurl");
    struct alerter a;
    memset(&a, 0, sizeof a);
    a.snapshot = snapshot;
    a.cfg = read_snapshot(snapshot);
    if (!a.cfg) return 2;
    log_set_level((enum log_level)a.cfg->log_level);
    if (test_mode) {
        int rc = test_alert(a.cfg);
        config_free(a.cfg);
        curl_global_cleanup();
        return rc;
    }

    signal(SIGINT, SIG_IGN); /* the supervisor orders the shutdown */
    signal(SIGPIPE, SIG_IGN);
    int sigfd = open_signalfd();
    a.boot_id = cw_boot_id();
    if (snprintf(a.state_path, sizeof a.state_path, "%s/%s", a.cfg->run_dir, STATEFILE_NAME) >= (int)sizeof a.state_path)
        fatal(2, "run_dir is too long");
    char err[512];
    a.bus = bus_new_for(a.cfg, err, sizeof err);
    if (!a.bus) fatal(a.cfg->curve_key_file ? 2 : 1, "%s", err);
    intake_open(&a.in, a.bus, a.cfg->alert_address, handle_result, &a);
    storeq_open(&a.storeq, a.bus, a.cfg);
    a.pub = bus_open(a.bus, BUS_PUBLISH, a.cfg->publish_address, err, sizeof err);
    if (!a.pub) log_warn("no stats or alerts for the tap: %s", err);
    a.storeq.pub = a.pub;
    build_endpoints(&a, a.cfg);
    a.ob = outbox_new(a.cfg, dispatch_on_delivery, &a.d);
    dispatch_init(&a.d, a.ob, &a.storeq, &a.dirty);
    intake_load(&a.in, a.cfg->run_dir);
    load_state(&a, cw_mono_us());
    log_info("alerter running: %zu endpoints, email %s, %zu webhook(s), group_threshold %d, renotify %.0f s",
             a.n_eps, a.cfg->email_enabled ? "on" : "off", a.cfg->n_webhooks, a.cfg->group_threshold, a.cfg->renotify);
    int rc = run(&a, sigfd);
    close(sigfd);
    free_alerter(&a);
    curl_global_cleanup();
    return rc;
}
