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
 *
 * Known weaknesses: alert lookups by id are linear (alerts in memory are only the undelivered ones); the
 * outbox bound marks overflowing alerts "failed" rather than folding them into a summary. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "alerter/alert.h"
#include "alerter/group.h"
#include "alerter/mail.h"
#include "alerter/outbox.h"
#include "alerter/seqwin.h"
#include "alerter/state.h"
#include "alerter/statefile.h"
#include "alerter/webhook.h"
#include "common/ackq.h"
#include "common/bus.h"
#include "common/bus_keys.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/util.h"

#define DRAIN_MAX 1000                     /* bus messages per pass before the outbox gets a turn */
#define LIGHT_SAVE_US (5 * 1000000LL)      /* counters-only changes are saved at most this often */
#define SOON_SAVE_US 250000LL              /* new alerts (still held) are saved at most this late */
#define STATS_US 1000000LL
#define STORE_OUTBOX_BYTES (16u << 20)     /* unacked alert records in memory; beyond: the spool */
#define STORE_OUTBOX_WINDOW 1024           /* alert records in flight to the storer */
#define STORE_RESEND_NS (5 * 1000000000LL) /* unacked alert records are sent again after this */
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

struct worker_seq {
    uint32_t worker;
    uint64_t boot_id;
    uint64_t last_seq;
};

struct counters {
    int64_t results, malformed, gaps, unknown_urls, alerts_raised, mails_sent, mail_failures, webhooks_sent,
        webhook_failures, outbox_full, state_saves, state_errors, acked, ack_messages, duplicates, late;
};

/* Results applied to the state but not yet in the state file: acked (common/ackq.h) after the next save. */
struct alerter_ack {
    struct bus_peer peer;
    struct ackq_range r;
};
#define ACK_SAVE_US 1000000LL      /* with acks waiting, the state is saved at least this often */

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
    struct bus_socket *in, *store, *pub;
    struct outbox *ob;

    struct alert_rec **alerts; /* raised and not yet done on every channel */
    size_t n_alerts, cap_alerts;
    struct alert_rec **held;   /* in the grouping window (also in alerts) */
    size_t n_held, cap_held;
    struct agroup group;

    struct ackq storeq;        /* alert records to the storer, kept until acked (common/ackq.h) */
    bool has_storeq;
    struct seqwin seen;        /* results already applied: a resend is acked, not applied again */
    char seen_path[PATH_MAX];

    struct worker_seq *seqs;
    size_t n_seqs;

    struct counters c;
    bool dirty;                /* save before the outbox runs (jobs created, deliveries recorded) */
    bool dirty_soon;           /* save within SOON_SAVE_US (alerts raised, held in the window) */
    bool dirty_light;          /* save within LIGHT_SAVE_US (counters only) */
    int64_t last_save_us;
    struct alerter_ack *acks;
    size_t n_acks, cap_acks;
    struct ackq_range ack_ranges[ACKQ_RANGES_MAX];
    struct cw_result results[CW_RESULT_BATCH_MAX];
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

/* ---------------------------------------------------------------- alert records to the storer and the tap */

static void storeq_flush(struct alerter *a)
{
    if (a->has_storeq) ackq_service(&a->storeq, cw_mono_ns());
}

/* Sends the alert's current state to the storer (reliable, queued) and the tap (best effort, URL masked). */
static void record_alert(struct alerter *a, const struct alert_rec *al)
{
    struct cw_alert w;
    alert_to_wire(al, &w);
    if (a->store) {
        cw_buf_reset(&a->scratch);
        uint64_t v = ackq_alert_version(w.email_state, w.webhook_state);
        if (proto_alert_encode(&a->scratch, &w) == 0 && a->has_storeq)
            ackq_push(&a->storeq, a->scratch.data, a->scratch.len, ACKQ_ALERT_WORKER, w.alert_id, v, v, 1);
    }
    if (a->pub) {
        char masked[CW_URL_MAX + 1];
        cw_mask_url(al->url, masked, sizeof masked);
        w.url = masked;
        cw_buf_reset(&a->scratch);
        if (proto_alert_encode(&a->scratch, &w) == 0) (void)bus_send(a->pub, CW_MSG_ALERT, a->scratch.data, a->scratch.len);
    }
}

/* ---------------------------------------------------------------- alerts in memory */

static struct alert_rec *find_alert(struct alerter *a, uint64_t id, size_t *at)
{
    for (size_t i = 0; i < a->n_alerts; i++)
        if (a->alerts[i]->id == id) {
            if (at) *at = i;
            return a->alerts[i];
        }
    return NULL;
}

static void push_ptr(struct alert_rec ***arr, size_t *n, size_t *cap, struct alert_rec *al)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *arr = cw_xrealloc(*arr, *cap * sizeof **arr);
    }
    (*arr)[(*n)++] = al;
}

/* Forgets an alert once no channel has work left for it. */
static void maybe_forget(struct alerter *a, struct alert_rec *al)
{
    size_t at;
    if (al->mail_pending || al->hook_pending || al->held || !find_alert(a, al->id, &at)) return;
    memmove(&a->alerts[at], &a->alerts[at + 1], (a->n_alerts - at - 1) * sizeof *a->alerts);
    a->n_alerts--;
    alert_free(al);
    a->dirty = true;
}

static void raise_alert(struct alerter *a, struct ep_slot *s, const struct astate_event *ev, const struct cw_result *r,
                        int64_t now_mono)
{
    bool failing = ev->kind == CW_ALERT_DOWN || ev->kind == CW_ALERT_REMINDER;
    struct alert_rec *al = alert_new(ev->kind, s->ep->url, s->ep->name, failing ? s->last_error : NULL, ev->since_us,
                                     ev->at_us, ev->duration_us, ev->count, ev->seq, cw_wall_us());
    if (find_alert(a, al->id, NULL)) { /* the same state change again (a replay): already on its way */
        alert_free(al);
        return;
    }
    al->last_status = r->status_code;
    al->last_latency_us = r->latency_us;
    al->threshold_us = s->p.latency_threshold_us;
    alert_update_message(al);
    al->email_state = a->cfg->email_enabled ? CW_DELIVERY_PENDING : CW_DELIVERY_NONE;
    al->webhook_state = a->cfg->n_webhooks ? CW_DELIVERY_PENDING : CW_DELIVERY_NONE;
    push_ptr(&a->alerts, &a->n_alerts, &a->cap_alerts, al);
    push_ptr(&a->held, &a->n_held, &a->cap_held, al);
    al->held = true;
    agroup_add(&a->group, now_mono, s->ep->interval);
    a->c.alerts_raised++;
    a->dirty_soon = true; /* no message goes out before the window closes, and that saves first */
    log_info("alert %016" PRIx64 ": %s", al->id, al->message);
    record_alert(a, al);
}

/* ---------------------------------------------------------------- grouping window -> outbox jobs */

static uint64_t *ids_of(struct alert_rec *const *list, size_t n)
{
    uint64_t *ids = cw_xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = list[i]->id;
    return ids;
}

static char *payload_copy(const struct cw_buf *b)
{
    char *p = cw_xmalloc(b->len + 1);
    memcpy(p, b->data, b->len);
    p[b->len] = '\0';
    return p;
}

static void outbox_full(struct alerter *a, const char *channel, size_t n)
{
    a->c.outbox_full++;
    log_error("outbox full (%d undelivered jobs): %s about %zu alert(s) NOT queued; they are recorded as failed",
              OUTBOX_MAX_JOBS, channel, n);
}

/* Queues the mail and the webhook calls about list[0..n) (one alert, or a summary). */
static void queue_jobs(struct alerter *a, struct alert_rec *const *list, size_t n)
{
    const struct cw_config *cfg = a->cfg;
    struct cw_buf b = { 0 };
    if (cfg->email_enabled) {
        struct mail_params mp = { .from = cfg->email_from, .to = cfg->email_to, .n_to = cfg->n_email_to,
                                  .date_us = cw_wall_us() };
        mail_build(&b, &mp, list, n);
        char *payload = payload_copy(&b);
        uint64_t *ids = ids_of(list, n);
        if (outbox_add(a->ob, OUTBOX_MAIL, NULL, mail_message_key(list, n), payload, b.len, ids, n, 0) == 0) {
            for (size_t i = 0; i < n; i++) list[i]->mail_pending++;
        } else {
            free(payload);
            free(ids);
            outbox_full(a, "mail", n);
            for (size_t i = 0; i < n; i++) {
                if (list[i]->mail_pending) continue;
                list[i]->email_state = CW_DELIVERY_FAILED;
                record_alert(a, list[i]);
            }
        }
    }
    if (cfg->n_webhooks) {
        webhook_build(&b, list, n);
        for (size_t w = 0; w < cfg->n_webhooks; w++) {
            char *payload = payload_copy(&b);
            uint64_t *ids = ids_of(list, n);
            if (outbox_add(a->ob, OUTBOX_WEBHOOK, cfg->webhooks[w].url, mail_message_key(list, n), payload, b.len, ids,
                           n, 0) == 0) {
                for (size_t i = 0; i < n; i++) list[i]->hook_pending++;
            } else {
                free(payload);
                free(ids);
                outbox_full(a, "webhook call", n);
                for (size_t i = 0; i < n; i++) list[i]->hook_failed++;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (list[i]->hook_pending == 0 && list[i]->webhook_state == CW_DELIVERY_PENDING) {
                list[i]->webhook_state = CW_DELIVERY_FAILED;
                record_alert(a, list[i]);
            }
        }
    }
    cw_buf_free(&b);
    a->dirty = true;
}

static void release_group(struct alerter *a, int64_t now_mono)
{
    size_t n = a->n_held;
    bool summary = agroup_release(&a->group, now_mono, n, a->cfg->group_threshold);
    if (n == 0) return;
    struct alert_rec **list = cw_xcalloc(n, sizeof *list);
    memcpy(list, a->held, n * sizeof *list);
    a->n_held = 0;
    for (size_t i = 0; i < n; i++) list[i]->held = false;
    if (summary) {
        log_info("%zu state changes within the grouping window: one summary instead of %zu messages", n, n);
        queue_jobs(a, list, n);
    } else {
        for (size_t i = 0; i < n; i++) queue_jobs(a, &list[i], 1);
    }
    for (size_t i = 0; i < n; i++) maybe_forget(a, list[i]);
    free(list);
}

/* The outbox's report on one attempt. */
static void on_delivery(void *ctx, const struct outbox_job *job, bool delivered, const char *error)
{
    struct alerter *a = ctx;
    bool mail = job->channel == OUTBOX_MAIL;
    if (!delivered) {
        if (mail) a->c.mail_failures++;
        else a->c.webhook_failures++;
        a->dirty_light = true; /* the attempt count */
        return;
    }
    if (mail) a->c.mails_sent++;
    else a->c.webhooks_sent++;
    for (size_t i = 0; i < job->n_ids; i++) {
        struct alert_rec *al = find_alert(a, job->alert_ids[i], NULL);
        if (!al) continue;
        if (mail) {
            if (al->mail_pending) al->mail_pending--;
            if (al->mail_pending == 0) {
                al->email_state = CW_DELIVERY_SENT;
                record_alert(a, al);
            }
        } else {
            if (al->hook_pending) al->hook_pending--;
            if (al->hook_pending == 0) {
                al->webhook_state = al->hook_failed ? CW_DELIVERY_FAILED : CW_DELIVERY_SENT;
                record_alert(a, al);
            }
        }
        maybe_forget(a, al);
    }
    a->dirty = true;
}

/* ---------------------------------------------------------------- results */

static void count_gap(struct alerter *a, const struct cw_result *r)
{
    struct worker_seq *w = NULL;
    for (size_t i = 0; i < a->n_seqs; i++)
        if (a->seqs[i].worker == r->worker) w = &a->seqs[i];
    if (!w) {
        a->seqs = cw_xrealloc(a->seqs, (a->n_seqs + 1) * sizeof *a->seqs);
        w = &a->seqs[a->n_seqs++];
        w->worker = r->worker;
        w->boot_id = r->boot_id;
        w->last_seq = r->seq;
        return;
    }
    if (w->boot_id != r->boot_id) { /* a restarted worker: a new sequence */
        w->boot_id = r->boot_id;
        w->last_seq = r->seq;
        return;
    }
    if (r->seq > w->last_seq + 1) {
        uint64_t missing = r->seq - w->last_seq - 1;
        a->c.gaps += (int64_t)missing;
        log_warn("gap: %" PRIu64 " result(s) missing from worker %" PRIu32 " (seq %" PRIu64 " after %" PRIu64 ")",
                 missing, r->worker, r->seq, w->last_seq);
    }
    if (r->seq > w->last_seq) w->last_seq = r->seq;
}

static void handle_result(struct alerter *a, const struct cw_result *r, int64_t now_mono)
{
    a->c.results++;
    count_gap(a, r);
    struct ep_slot *s = find_ep(a, r->url);
    if (!s) {
        a->c.unknown_urls++;
        return;
    }
    /* a result of another worker boot older than one applied (a predecessor's spool replayed after its
     * successor's results) would make the endpoint flap: not applied. Within a boot, seqwin keeps the order
     * (and a wall-clock step back then changes nothing). */
    if (r->boot_id != s->last_boot_id && r->checked_at_us < s->last_checked_us) {
        a->c.late++;
        return;
    }
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
    a->dirty_light = true;
}

static void ack_add(struct alerter *a, const struct bus_peer *peer, const struct cw_result *r)
{
    if (!peer->len || r->seq == 0) return;
    if (a->n_acks) {
        struct alerter_ack *last = &a->acks[a->n_acks - 1];
        if (last->peer.len == peer->len && memcmp(last->peer.id, peer->id, peer->len) == 0 &&
            last->r.worker == r->worker && last->r.boot_id == r->boot_id && last->r.last + 1 == r->seq) {
            last->r.last = r->seq;
            return;
        }
    }
    if (a->n_acks == a->cap_acks) {
        a->cap_acks = a->cap_acks ? a->cap_acks * 2 : 256;
        a->acks = cw_xrealloc(a->acks, a->cap_acks * sizeof *a->acks);
    }
    a->acks[a->n_acks++] = (struct alerter_ack){ .peer = *peer, .r = { r->worker, r->boot_id, r->seq, r->seq } };
}

/* Sends every waiting ack (the state they depend on is recorded), one message per sender. */
static void acks_flush(struct alerter *a)
{
    while (a->n_acks) {
        const struct bus_peer peer = a->acks[0].peer;
        size_t n = 0, k = 0;
        for (size_t j = 0; j < a->n_acks; j++) {
            struct alerter_ack *x = &a->acks[j];
            if (n < ACKQ_RANGES_MAX && x->peer.len == peer.len && memcmp(x->peer.id, peer.id, peer.len) == 0) {
                a->ack_ranges[n++] = x->r;
                a->c.acked += (int64_t)(x->r.last - x->r.first + 1);
            } else {
                a->acks[k++] = *x;
            }
        }
        a->n_acks = k;
        if (ackq_ack_encode(&a->scratch, a->ack_ranges, n) == 0) {
            if (bus_send_to(a->in, &peer, CW_MSG_ACK, a->scratch.data, a->scratch.len) == BUS_ERROR)
                log_warn("cannot send an ack: %s", strerror(errno));
            a->c.ack_messages++;
        }
    }
}

static void handle_message(struct alerter *a, const struct bus_msg *m, int64_t now_mono)
{
    const char *why = "wrong frames or unknown topic";
    if (m->type == CW_MSG_RESULT) {
        int n = proto_results_decode(m->data, m->len, a->results, CW_RESULT_BATCH_MAX, &why);
        if (n > 0) {
            for (int i = 0; i < n; i++) {
                const struct cw_result *r = &a->results[i];
                /* each (worker, boot_id, seq) at most once, and in order: a resend of what was applied is a
                 * duplicate; one overtaken by a later result (sent after a reconnect, before the resend of
                 * what was in flight) is late: both are acked, neither applied */
                enum seqwin_verdict v = seqwin_accept(&a->seen, r->worker, r->boot_id, r->seq);
                if (v == SEQWIN_NEW) handle_result(a, r, now_mono);
                else if (v == SEQWIN_DUP) a->c.duplicates++;
                else a->c.late++;
                ack_add(a, &m->peer, r);
            }
            return;
        }
    } else if (m->type != CW_MSG_INVALID) {
        why = "unexpected message type";
    }
    a->c.malformed++;
    if (a->c.malformed <= 10 || a->c.malformed % 1000 == 0)
        log_warn("malformed message dropped (%" PRId64 " so far): %s", a->c.malformed, why);
}

static void drain_bus(struct alerter *a)
{
    for (int i = 0; i < DRAIN_MAX; i++) {
        struct bus_msg m;
        int rc = bus_recv(a->in, &m, 0);
        if (rc < 0) {
            log_error("receiving results: %s", strerror(errno));
            return;
        }
        if (rc == 0) return;
        handle_message(a, &m, cw_mono_us());
        bus_msg_release(&m);
    }
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
    d.alerts = a->alerts;
    d.n_alerts = a->n_alerts;
    d.alert_held = cw_xcalloc(a->n_alerts ? a->n_alerts : 1, sizeof *d.alert_held);
    for (size_t i = 0; i < a->n_alerts; i++) d.alert_held[i] = a->alerts[i]->held;
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
        if (a->seen.dirty && seqwin_save(&a->seen, a->seen_path, err, sizeof err) != 0) {
            a->c.state_errors++;
            log_error("cannot save the applied sequence numbers: %s", err);
        } else {
            acks_flush(a); /* what they acknowledge is in the files now */
        }
    }
    free(d.eps);
    free(d.alert_held);
    free(d.jobs);
    a->dirty = a->dirty_soon = a->dirty_light = false;
    a->last_save_us = now_mono;
}

static bool webhook_configured(const struct cw_config *cfg, const char *url)
{
    for (size_t i = 0; url && i < cfg->n_webhooks; i++)
        if (strcmp(cfg->webhooks[i].url, url) == 0) return true;
    return false;
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
    for (size_t i = 0; i < d.n_alerts; i++) {
        struct alert_rec *al = d.alerts[i];
        d.alerts[i] = NULL;
        al->mail_pending = al->hook_pending = 0;
        push_ptr(&a->alerts, &a->n_alerts, &a->cap_alerts, al);
        if (d.alert_held[i]) {
            push_ptr(&a->held, &a->n_held, &a->cap_held, al);
            al->held = true;
            agroup_add(&a->group, now_mono, 0);
        }
    }
    size_t jobs = 0;
    for (size_t i = 0; i < d.n_jobs; i++) {
        struct statefile_job *j = &d.jobs[i];
        if (j->channel == OUTBOX_MAIL && !a->cfg->email_enabled) continue; /* email no longer configured */
        if (j->channel == OUTBOX_WEBHOOK && !webhook_configured(a->cfg, j->target)) continue; /* hook removed */
        if (outbox_add(a->ob, j->channel, j->target, j->key, j->payload, j->payload_len, j->ids, j->n_ids,
                       j->attempts) != 0) {
            outbox_full(a, j->channel == OUTBOX_MAIL ? "mail" : "webhook call", j->n_ids);
            continue;
        }
        for (size_t k = 0; k < j->n_ids; k++) {
            struct alert_rec *al = find_alert(a, j->ids[k], NULL);
            if (!al) continue;
            if (j->channel == OUTBOX_MAIL) al->mail_pending++;
            else al->hook_pending++;
        }
        j->payload = NULL; /* now the outbox's */
        j->ids = NULL;
        jobs++;
    }
    /* Alerts with no job left and not held are done; one still pending lost its channel to a new config. */
    for (size_t i = a->n_alerts; i-- > 0;) {
        struct alert_rec *al = a->alerts[i];
        if (al->held || al->mail_pending || al->hook_pending) continue;
        bool changed = false;
        if (al->email_state == CW_DELIVERY_PENDING) al->email_state = CW_DELIVERY_FAILED, changed = true;
        if (al->webhook_state == CW_DELIVERY_PENDING) al->webhook_state = CW_DELIVERY_FAILED, changed = true;
        if (changed) record_alert(a, al);
        maybe_forget(a, al);
    }
    statefile_data_free(&d);
    log_info("state restored from %s: %zu endpoints (%zu down), %zu alerts, %zu undelivered messages", a->state_path,
             restored, down, a->n_alerts, jobs);
}

/* ---------------------------------------------------------------- stats */

static void publish_stats(struct alerter *a)
{
    if (!a->pub) return;
    struct cw_stats st = { .role = "alerter", .id = 0, .boot_id = a->boot_id, .at_us = cw_wall_us() };
    const struct { const char *name; int64_t value; } items[] = {
        { "results", a->c.results },
        { "malformed", a->c.malformed },
        { "gaps", a->c.gaps },
        { "unknown_urls", a->c.unknown_urls },
        { "alerts_raised", a->c.alerts_raised },
        { "mails_sent", a->c.mails_sent },
        { "mail_failures", a->c.mail_failures },
        { "webhooks_sent", a->c.webhooks_sent },
        { "webhook_failures", a->c.webhook_failures },
        { "outbox", (int64_t)outbox_count(a->ob) },
        { "outbox_full", a->c.outbox_full },
        { "alerts_pending", (int64_t)a->n_alerts },
        { "store_queue", a->has_storeq ? (int64_t)ackq_pending_results(&a->storeq) : 0 },
        { "store_spool_bytes", a->has_storeq ? (int64_t)ackq_spool_bytes(&a->storeq) : 0 },
        { "store_acked", a->has_storeq ? (int64_t)a->storeq.acked : 0 },
        { "store_resent", a->has_storeq ? (int64_t)a->storeq.resent : 0 },
        { "store_dropped", a->has_storeq ? (int64_t)a->storeq.dropped : 0 },
        { "duplicates", a->c.duplicates },
        { "late", a->c.late },
        { "state_saves", a->c.state_saves },
        { "state_errors", a->c.state_errors },
        { "acked", a->c.acked },
        { "ack_messages", a->c.ack_messages },
        { "acks_waiting", (int64_t)a->n_acks },
        { "dropped_malformed", a->c.malformed },
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
    a->dirty = true;
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

/* At SIGTERM: up to a second for the storer's acks, then what is unacked goes to the spool (replayed at
 * the next start). */
static void drain_storeq(struct alerter *a)
{
    if (!a->has_storeq) return;
    int64_t deadline = cw_mono_ns() + 1000000000LL;
    while (!ackq_idle(&a->storeq) && cw_mono_ns() < deadline) {
        struct bus_msg m;
        if (bus_recv(a->store, &m, 20) > 0) {
            if (m.type == CW_MSG_ACK) (void)ackq_on_ack(&a->storeq, m.data, m.len);
            bus_msg_release(&m);
        }
        ackq_service(&a->storeq, cw_mono_ns());
    }
    if (ackq_idle(&a->storeq)) return;
    uint64_t waiting = ackq_pending_results(&a->storeq);
    uint64_t lost = ackq_spill(&a->storeq);
    log_warn("stopping with %" PRIu64 " alert records not acknowledged by the storer: kept in %s for the next start",
             waiting, a->storeq.spool_path ? a->storeq.spool_path : "(no spool)");
    if (lost) log_error("%" PRIu64 " alert records for the storer are lost", lost);
}

static int run(struct alerter *a, int sigfd)
{
    int zfd = bus_fd(a->in);
    if (zfd < 0) fatal(1, "cannot get the bus socket's fd");
    int64_t next_stats = cw_mono_us();
    for (;;) {
        int64_t now = cw_mono_us();
        drain_bus(a);
        now = cw_mono_us();
        if (agroup_due(&a->group, now)) release_group(a, now);
        if (a->dirty) save_state(a, now); /* before any delivery of what it holds */
        outbox_run(a->ob, now);
        now = cw_mono_us();
        if (a->dirty || (a->dirty_soon && now - a->last_save_us >= SOON_SAVE_US) ||
            (a->dirty_light && now - a->last_save_us >= LIGHT_SAVE_US) ||
            (a->n_acks && (a->dirty_soon || a->dirty_light) && now - a->last_save_us >= ACK_SAVE_US))
            save_state(a, now);
        if (a->n_acks && !a->dirty && !a->dirty_soon && !a->dirty_light) acks_flush(a); /* nothing to record */
        storeq_flush(a);
        if (now >= next_stats) {
            publish_stats(a);
            next_stats = now + STATS_US;
        }

        long t = outbox_timeout_ms(a->ob, now);
        t = min_timeout(t, until_ms(agroup_deadline(&a->group), now));
        t = min_timeout(t, until_ms(next_stats, now));
        if (a->dirty_soon) t = min_timeout(t, until_ms(a->last_save_us + SOON_SAVE_US, now));
        else if (a->dirty_light) t = min_timeout(t, until_ms(a->last_save_us + LIGHT_SAVE_US, now));
        if (a->n_acks) t = min_timeout(t, until_ms(a->last_save_us + ACK_SAVE_US, now));
        if (a->has_storeq) {
            const struct ackq *q = &a->storeq;
            if ((q->nsent < q->count && q->inflight < q->window) || ackq_spool_bytes(q)) t = min_timeout(t, 100);
            int64_t d = ackq_next_deadline(q);
            if (d != INT64_MAX) t = min_timeout(t, until_ms(d / 1000, cw_mono_us()));
            if (bus_readable(a->store)) t = 0;
        }
        if (bus_readable(a->in)) t = 0; /* ZMQ_FD is edge-triggered: never sleep on a ready socket */
        if (t < 0 || t > 1000) t = 1000;
        struct curl_waitfd extra[3] = { { .fd = zfd, .events = CURL_WAIT_POLLIN },
                                        { .fd = sigfd, .events = CURL_WAIT_POLLIN },
                                        { .fd = a->has_storeq ? bus_fd(a->store) : -1, .events = CURL_WAIT_POLLIN } };
        int nfds = 0;
        CURLMcode mc = curl_multi_poll(outbox_multi(a->ob), extra, a->has_storeq && extra[2].fd >= 0 ? 3 : 2, (int)t,
                                       &nfds);
        if (mc != CURLM_OK) log_error("curl_multi_poll: %s", curl_multi_strerror(mc));
        bool hup = false;
        if (read_signals(sigfd, &hup)) {
            log_info("SIGTERM: saving state and stopping (%zu undelivered messages stay in %s)", outbox_count(a->ob),
                     a->state_path);
            save_state(a, cw_mono_us());
            drain_storeq(a);
            publish_stats(a); /* the supervisor logs the last counters it saw */
            return 0;
        }
        if (hup) reload(a);
    }
}

static void free_alerter(struct alerter *a)
{
    outbox_free(a->ob);
    for (size_t i = 0; i < a->n_alerts; i++) alert_free(a->alerts[i]);
    free(a->alerts);
    free(a->held);
    if (a->has_storeq) ackq_free(&a->storeq);
    seqwin_free(&a->seen);
    for (size_t k = 0; k < a->n_eps; k++) free(a->eps[k].last_error);
    free(a->eps);
    free(a->index);
    free(a->seqs);
    free(a->acks);
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
    a.in = bus_open(a.bus, BUS_RECV_RELIABLE, a.cfg->alert_address, err, sizeof err);
    if (!a.in) fatal(1, "%s", err);
    if (config_wants_storer(a.cfg)) {
        a.store = bus_open(a.bus, BUS_SEND_RELIABLE, a.cfg->store_address, err, sizeof err);
        if (!a.store) fatal(1, "%s", err);
        char spool[PATH_MAX];
        if (snprintf(spool, sizeof spool, "%s/alerter-storer.spool", a.cfg->run_dir) >= (int)sizeof spool)
            fatal(2, "run_dir is too long");
        if (ackq_init(&a.storeq, a.store, "storer", STORE_OUTBOX_BYTES, STORE_OUTBOX_WINDOW, STORE_RESEND_NS, spool,
                      err, sizeof err) != 0)
            fatal(1, "alert records spool: %s", err);
        a.storeq.msg_type = CW_MSG_ALERT;
        ackq_set_spool_max(&a.storeq, ACKQ_SPOOL_MAX_DEFAULT);
        a.has_storeq = true;
    }
    a.pub = bus_open(a.bus, BUS_PUBLISH, a.cfg->publish_address, err, sizeof err);
    if (!a.pub) log_warn("no stats or alerts for the tap: %s", err);
    build_endpoints(&a, a.cfg);
    a.ob = outbox_new(a.cfg, on_delivery, &a);
    if (snprintf(a.seen_path, sizeof a.seen_path, "%s/%s", a.cfg->run_dir, SEQWIN_FILE) >= (int)sizeof a.seen_path)
        fatal(2, "run_dir is too long");
    if (seqwin_load(&a.seen, a.seen_path, err, sizeof err) < 0)
        log_error("%s: starting with no record of applied results (a resend may be applied twice)", err);
    load_state(&a, cw_mono_us());
    log_info("alerter running: %zu endpoints, email %s, %zu webhook(s), group_threshold %d, renotify %.0f s",
             a.n_eps, a.cfg->email_enabled ? "on" : "off", a.cfg->n_webhooks, a.cfg->group_threshold, a.cfg->renotify);
    int rc = run(&a, sigfd);
    close(sigfd);
    free_alerter(&a);
    curl_global_cleanup();
    return rc;
}
