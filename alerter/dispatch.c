/* alerter/dispatch.c — alerts from raised to delivered: the grouping window, the decision at its release,
 * outbox jobs per channel, delivery reports (see dispatch.h). */
#include "alerter/dispatch.h"

#include "alerter/mail.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"

void dispatch_init(struct dispatch *d, struct outbox *ob, struct storeq *rec)
{
    d->ob = ob;
    d->rec = rec;
    d->unsaved = SAVE_NONE;
    if (!d->queue) d->queue = channel_queue;
    const char *host = mail_local_host();
    snprintf(d->hostname, sizeof d->hostname, "%s", host ? host : "clockwerk");
}

void dispatch_note_unsaved(struct dispatch *d, enum save_need need) { d->unsaved = save_need_max(d->unsaved, need); }

enum save_need dispatch_take_unsaved(struct dispatch *d)
{
    enum save_need need = d->unsaved;
    d->unsaved = SAVE_NONE;
    return need;
}

/* ---------------------------------------------------------------- alerts in memory */

static struct alert_rec *find_alert(const struct dispatch *d, uint64_t id, size_t *at)
{
    for (size_t i = 0; i < d->n_alerts; i++)
        if (d->alerts[i]->id == id) {
            if (at) *at = i;
            return d->alerts[i];
        }
    return NULL;
}

struct alert_rec *dispatch_find(const struct dispatch *d, uint64_t id) { return find_alert(d, id, NULL); }

static void push_ptr(struct alert_rec ***arr, size_t *n, size_t *cap, struct alert_rec *al)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *arr = cw_xrealloc(*arr, *cap * sizeof **arr);
    }
    (*arr)[(*n)++] = al;
}

/* Forgets an alert once no channel has work left for it. */
static void maybe_forget(struct dispatch *d, struct alert_rec *al)
{
    size_t at;
    if (alert_pending(al) || al->held || !find_alert(d, al->id, &at)) return;
    memmove(&d->alerts[at], &d->alerts[at + 1], (d->n_alerts - at - 1) * sizeof *d->alerts);
    d->n_alerts--;
    alert_free(al);
    dispatch_note_unsaved(d, SAVE_NOW);
}

static void record(struct dispatch *d, struct alert_rec *al)
{
    alert_update_deliveries(al);
    storeq_record(d->rec, al);
}

void dispatch_raise(struct dispatch *d, const struct cw_config *cfg, struct alert_rec *al, double interval_s,
                    int64_t now_mono)
{
    bool any_email = false, any_other = false;
    for (size_t c = 0; c < cfg->n_channels; c++) {
        if (cfg->channels[c].type == CW_CHAN_EMAIL) any_email = true;
        else any_other = true;
    }
    al->email_state = any_email ? CW_DELIVERY_PENDING : CW_DELIVERY_NONE; /* until routed at release */
    al->webhook_state = any_other ? CW_DELIVERY_PENDING : CW_DELIVERY_NONE;
    push_ptr(&d->alerts, &d->n_alerts, &d->cap_alerts, al);
    push_ptr(&d->held, &d->n_held, &d->cap_held, al);
    al->held = true;
    agroup_add(&d->group, now_mono, interval_s);
    d->c.alerts_raised++;
    dispatch_note_unsaved(d, SAVE_SOON); /* no message goes out before the window closes, and that saves first */
    log_info("alert %016" PRIx64 ": %s", al->id, al->message);
    record(d, al);
}

/* ---------------------------------------------------------------- grouping window -> decision -> jobs */

/* Decides al (muted or not, its channels) and gives it one delivery per channel. */
static void decide(struct dispatch *d, const struct cw_config *cfg, struct alert_rec *al, size_t *chans)
{
    size_t n = 0;
    if (d->decide) {
        n = d->decide(d->decide_ctx, cfg, al, chans);
    } else {
        for (size_t c = 0; c < cfg->n_channels; c++) chans[n++] = c;
    }
    if (n == 0 && cfg->n_channels > 0 && al->muted == CW_MUTE_NONE) al->muted = CW_MUTE_NO_ROUTE;
    uint8_t state = al->muted != CW_MUTE_NONE ? CW_DELIVERY_MUTED : CW_DELIVERY_PENDING;
    for (size_t i = 0; i < n; i++) {
        const struct cw_channel *ch = &cfg->channels[chans[i]];
        if (!alert_delivery_of(al, ch->name)) alert_add_delivery(al, ch->name, ch->type == CW_CHAN_EMAIL, state);
    }
    if (n == 0) { /* nothing to aggregate: no channel at all (NONE), or muted everywhere */
        uint8_t none = al->muted != CW_MUTE_NONE && cfg->n_channels > 0 ? CW_DELIVERY_MUTED : CW_DELIVERY_NONE;
        al->email_state = al->email_state == CW_DELIVERY_NONE ? CW_DELIVERY_NONE : none;
        al->webhook_state = al->webhook_state == CW_DELIVERY_NONE ? CW_DELIVERY_NONE : none;
    }
    if (al->muted != CW_MUTE_NONE) {
        d->c.alerts_muted++;
        const char *why = proto_mute_name(al->muted);
        log_info("alert %016" PRIx64 " muted (%s): not sent", al->id, why ? why : "?");
    }
}

static void outbox_full(struct dispatch *d, const char *chan, size_t n)
{
    d->c.outbox_full++;
    log_error("outbox full (%d undelivered jobs): channel %s, %zu alert(s) NOT queued; they are recorded as failed",
              OUTBOX_MAX_JOBS, chan, n);
}

/* Queues the message(s) about list[0..n) (all pending on channel ch) and notes each alert's job. */
static void queue_on(struct dispatch *d, const struct cw_config *cfg, size_t ch, struct alert_rec **list, size_t n)
{
    const struct cw_channel *c = &cfg->channels[ch];
    struct chan_ctx ctx = { .hostname = d->hostname, .time_zone = cfg->alert_time_zone, .now_wall_us = cw_wall_us() };
    bool queued = d->queue(d->ob, cfg, ch, list, n, &ctx) != NULL;
    if (!queued) outbox_full(d, c->name, n);
    for (size_t i = 0; i < n; i++) {
        struct alert_delivery *dl = alert_delivery_of(list[i], c->name);
        if (queued) {
            dl->pending++;
        } else {
            dl->failed++;
            dl->state = CW_DELIVERY_FAILED;
        }
    }
}

/* The alerts of list[0..n) that go out on channel ch (pending there, no job yet), into sub; how many. */
static size_t going_to(const struct cw_channel *c, struct alert_rec *const *list, size_t n, struct alert_rec **sub)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const struct alert_delivery *dl = alert_delivery_of(list[i], c->name);
        if (dl && dl->state == CW_DELIVERY_PENDING && dl->pending == 0 && dl->failed == 0) sub[m++] = list[i];
    }
    return m;
}

/* A reminder released together with the UP of its incident is stale: true when list[0..n) holds that UP. */
static bool superseded_by_up(struct alert_rec *const *list, size_t n, const struct alert_rec *al)
{
    if (al->kind != CW_ALERT_REMINDER || !al->url) return false;
    for (size_t i = 0; i < n; i++)
        if (list[i]->kind == CW_ALERT_UP && list[i]->url && !strcmp(list[i]->url, al->url) &&
            list[i]->incident_id == al->incident_id)
            return true;
    return false;
}

/* Takes the stale reminders out of list (recorded as not sent: no channel, not muted, then forgotten); the count
 * left. */
static size_t drop_stale_reminders(struct dispatch *d, struct alert_rec **list, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        struct alert_rec *al = list[i];
        if (!superseded_by_up(list, n, al)) {
            list[kept++] = al;
            continue;
        }
        log_info("alert %016" PRIx64 " (reminder) not sent: the up of its incident is in the same release", al->id);
        al->email_state = al->webhook_state = CW_DELIVERY_NONE;
        record(d, al);
        maybe_forget(d, al);
    }
    return kept;
}

/* The summary decision is per channel: the unmuted alerts of this release routed to a channel, more than
 * group_threshold of them -> one summary there, else one message each. The storm period (group.c) follows the
 * largest of those counts. */
void dispatch_release(struct dispatch *d, const struct cw_config *cfg, int64_t now_mono)
{
    size_t n = d->n_held;
    if (n == 0) {
        agroup_release(&d->group, now_mono, 0, cfg->group_threshold);
        return;
    }
    struct alert_rec **list = cw_xcalloc(n, sizeof *list), **sub = cw_xcalloc(n, sizeof *sub);
    size_t *chans = cw_xcalloc(cfg->n_channels ? cfg->n_channels : 1, sizeof *chans);
    memcpy(list, d->held, n * sizeof *list);
    d->n_held = 0;
    for (size_t i = 0; i < n; i++) list[i]->held = false;
    n = drop_stale_reminders(d, list, n);
    for (size_t i = 0; i < n; i++) decide(d, cfg, list[i], chans);
    size_t largest = 0;
    for (size_t ch = 0; ch < cfg->n_channels; ch++) {
        size_t m = going_to(&cfg->channels[ch], list, n, sub);
        if (m > largest) largest = m;
    }
    agroup_release(&d->group, now_mono, largest, cfg->group_threshold);
    for (size_t ch = 0; ch < cfg->n_channels; ch++) {
        size_t m = going_to(&cfg->channels[ch], list, n, sub);
        if (m == 0) continue;
        if (agroup_is_summary(m, cfg->group_threshold)) {
            log_info("channel %s: %zu state changes within the grouping window: one summary", cfg->channels[ch].name,
                     m);
            queue_on(d, cfg, ch, sub, m);
        } else {
            for (size_t i = 0; i < m; i++) queue_on(d, cfg, ch, &sub[i], 1);
        }
    }
    for (size_t i = 0; i < n; i++) record(d, list[i]);
    for (size_t i = 0; i < n; i++) maybe_forget(d, list[i]);
    dispatch_note_unsaved(d, SAVE_NOW);
    free(chans);
    free(sub);
    free(list);
}

/* A job is done with the alerts it carries: sent, or failed for good on its channel. */
static void job_done(struct dispatch *d, const struct outbox_job *job, bool delivered)
{
    for (size_t i = 0; i < job->n_ids; i++) {
        struct alert_rec *al = find_alert(d, job->alert_ids[i], NULL);
        if (!al) continue;
        struct alert_delivery *dl = alert_delivery_of(al, job->chan);
        if (!dl) continue; /* a job of before channels (an older state file): nothing to follow */
        if (!delivered) dl->failed++;
        if (dl->pending) dl->pending--;
        if (dl->pending == 0) {
            dl->state = dl->failed ? CW_DELIVERY_FAILED : CW_DELIVERY_SENT;
            record(d, al);
        }
        maybe_forget(d, al);
    }
}

void dispatch_on_delivery(void *ctx, const struct outbox_job *job, const struct outbox_report *r)
{
    struct dispatch *d = ctx;
    bool mail = job->channel == OUTBOX_MAIL;
    d->c.mail_refused += (int64_t)r->refused;
    if (r->outcome == OUTBOX_RETRY) {
        if (mail) d->c.mail_failures++;
        else d->c.webhook_failures++;
        /* the attempt count (light); recipients that have it now or refused it for good must be in the file
         * before a restart could send it to them again */
        dispatch_note_unsaved(d, job->sent.n || job->refused.n ? SAVE_NOW : SAVE_LIGHT);
        return;
    }
    if (r->outcome == OUTBOX_DELIVERED && mail) d->c.mails_sent++;
    else if (r->outcome == OUTBOX_DELIVERED) d->c.webhooks_sent++;
    else if (mail) d->c.mail_failures++;
    else d->c.webhook_failures++;
    job_done(d, job, r->outcome == OUTBOX_DELIVERED);
    dispatch_note_unsaved(d, SAVE_NOW);
}

/* ---------------------------------------------------------------- from the state file */

/* Queues a job of the state file again (its bytes, recipients and channel taken); false when the outbox is full. */
static bool requeue(struct dispatch *d, struct statefile_job *j)
{
    struct outbox_job *oj =
        outbox_add(d->ob, j->channel, j->target, j->key, j->payload, j->payload_len, j->ids, j->n_ids, j->attempts);
    if (!oj) {
        outbox_full(d, j->chan ? j->chan : "(none)", j->n_ids);
        return false;
    }
    outbox_job_restore_chan(oj, &j->chan, &j->method, &j->headers, &j->n_headers, j->dest);
    oj->sent = j->sent; /* who has it already, who refused it: now the outbox's */
    oj->refused = j->refused;
    j->sent = (struct outbox_rcpts){ 0 };
    j->refused = (struct outbox_rcpts){ 0 };
    for (size_t k = 0; k < oj->n_ids; k++) {
        struct alert_rec *al = find_alert(d, oj->alert_ids[k], NULL);
        struct alert_delivery *dl = al ? alert_delivery_of(al, oj->chan) : NULL;
        if (dl) dl->pending++;
    }
    j->payload = NULL; /* now the outbox's */
    j->ids = NULL;
    return true;
}

size_t dispatch_restore(struct dispatch *d, const struct cw_config *cfg, struct statefile_data *sd, int64_t now_mono)
{
    (void)cfg; /* jobs of channels no longer configured are dropped by the outbox, with a report */
    for (size_t i = 0; i < sd->n_alerts; i++) {
        struct alert_rec *al = sd->alerts[i];
        sd->alerts[i] = NULL;
        for (size_t k = 0; k < al->n_dl; k++) al->dl[k].pending = 0;
        push_ptr(&d->alerts, &d->n_alerts, &d->cap_alerts, al);
        if (sd->alert_held[i]) {
            push_ptr(&d->held, &d->n_held, &d->cap_held, al);
            al->held = true;
            agroup_add(&d->group, now_mono, 0);
        }
    }
    size_t jobs = 0;
    for (size_t i = 0; i < sd->n_jobs; i++) jobs += requeue(d, &sd->jobs[i]);
    /* Alerts with no job left and not held are done; a channel still pending lost its job. */
    for (size_t i = d->n_alerts; i-- > 0;) {
        struct alert_rec *al = d->alerts[i];
        if (al->held || alert_pending(al)) continue;
        bool lost = false;
        for (size_t k = 0; k < al->n_dl; k++)
            if (al->dl[k].state == CW_DELIVERY_PENDING) al->dl[k].state = CW_DELIVERY_FAILED, lost = true;
        if (al->n_dl == 0 && al->email_state == CW_DELIVERY_PENDING) al->email_state = CW_DELIVERY_FAILED, lost = true;
        if (al->n_dl == 0 && al->webhook_state == CW_DELIVERY_PENDING)
            al->webhook_state = CW_DELIVERY_FAILED, lost = true;
        if (lost) record(d, al);
        maybe_forget(d, al);
    }
    return jobs;
}

void dispatch_free(struct dispatch *d)
{
    for (size_t i = 0; i < d->n_alerts; i++) alert_free(d->alerts[i]);
    free(d->alerts);
    free(d->held);
}
