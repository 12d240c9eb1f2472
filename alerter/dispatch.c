/* alerter/dispatch.c — alerts from raised to delivered: the grouping window, outbox jobs, delivery reports
 * (see dispatch.h). */
#include "alerter/dispatch.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/mail.h"
#include "alerter/webhook.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"

void dispatch_init(struct dispatch *d, struct outbox *ob, struct storeq *rec)
{
    d->ob = ob;
    d->rec = rec;
    d->unsaved = SAVE_NONE;
}

static void changed(struct dispatch *d, enum save_need need) { d->unsaved = save_need_max(d->unsaved, need); }

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
    if (al->mail_pending || al->hook_pending || al->held || !find_alert(d, al->id, &at)) return;
    memmove(&d->alerts[at], &d->alerts[at + 1], (d->n_alerts - at - 1) * sizeof *d->alerts);
    d->n_alerts--;
    alert_free(al);
    changed(d, SAVE_NOW);
}

void dispatch_raise(struct dispatch *d, const struct cw_config *cfg, struct alert_rec *al, double interval_s,
                    int64_t now_mono)
{
    al->email_state = cfg->email_enabled ? CW_DELIVERY_PENDING : CW_DELIVERY_NONE;
    al->webhook_state = cfg->n_webhooks ? CW_DELIVERY_PENDING : CW_DELIVERY_NONE;
    push_ptr(&d->alerts, &d->n_alerts, &d->cap_alerts, al);
    push_ptr(&d->held, &d->n_held, &d->cap_held, al);
    al->held = true;
    agroup_add(&d->group, now_mono, interval_s);
    d->c.alerts_raised++;
    changed(d, SAVE_SOON); /* no message goes out before the window closes, and that saves first */
    log_info("alert %016" PRIx64 ": %s", al->id, al->message);
    storeq_record(d->rec, al);
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

static void outbox_full(struct dispatch *d, const char *channel, size_t n)
{
    d->c.outbox_full++;
    log_error("outbox full (%d undelivered jobs): %s about %zu alert(s) NOT queued; they are recorded as failed",
              OUTBOX_MAX_JOBS, channel, n);
}

/* Queues the mail and the webhook calls about list[0..n) (one alert, or a summary). */
static void queue_jobs(struct dispatch *d, const struct cw_config *cfg, struct alert_rec *const *list, size_t n)
{
    struct cw_buf b = { 0 };
    if (cfg->email_enabled) {
        struct mail_params mp = {
            .from = cfg->email_from, .to = cfg->email_to, .n_to = cfg->n_email_to, .date_us = cw_wall_us()
        };
        mp.hostname = mail_local_host(), mp.time_zone = cfg->alert_time_zone; /* issue 15 (cw-mail) */
        mail_build(&b, &mp, list, n);
        char *payload = payload_copy(&b);
        uint64_t *ids = ids_of(list, n);
        if (outbox_add(d->ob, OUTBOX_MAIL, NULL, mail_message_key(list, n), payload, b.len, ids, n, 0)) {
            for (size_t i = 0; i < n; i++) list[i]->mail_pending++;
        } else {
            free(payload);
            free(ids);
            outbox_full(d, "mail", n);
            for (size_t i = 0; i < n; i++) {
                if (list[i]->mail_pending) continue;
                list[i]->email_state = CW_DELIVERY_FAILED;
                storeq_record(d->rec, list[i]);
            }
        }
    }
    if (cfg->n_webhooks) {
        webhook_build(&b, list, n);
        for (size_t w = 0; w < cfg->n_webhooks; w++) {
            char *payload = payload_copy(&b);
            uint64_t *ids = ids_of(list, n);
            if (outbox_add(d->ob, OUTBOX_WEBHOOK, cfg->webhooks[w].url, mail_message_key(list, n), payload, b.len, ids,
                           n, 0)) {
                for (size_t i = 0; i < n; i++) list[i]->hook_pending++;
            } else {
                free(payload);
                free(ids);
                outbox_full(d, "webhook call", n);
                for (size_t i = 0; i < n; i++) list[i]->hook_failed++;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (list[i]->hook_pending == 0 && list[i]->webhook_state == CW_DELIVERY_PENDING) {
                list[i]->webhook_state = CW_DELIVERY_FAILED;
                storeq_record(d->rec, list[i]);
            }
        }
    }
    cw_buf_free(&b);
    changed(d, SAVE_NOW);
}

void dispatch_release(struct dispatch *d, const struct cw_config *cfg, int64_t now_mono)
{
    size_t n = d->n_held;
    bool summary = agroup_release(&d->group, now_mono, n, cfg->group_threshold);
    if (n == 0) return;
    struct alert_rec **list = cw_xcalloc(n, sizeof *list);
    memcpy(list, d->held, n * sizeof *list);
    d->n_held = 0;
    for (size_t i = 0; i < n; i++) list[i]->held = false;
    if (summary) {
        log_info("%zu state changes within the grouping window: one summary instead of %zu messages", n, n);
        queue_jobs(d, cfg, list, n);
    } else {
        for (size_t i = 0; i < n; i++) queue_jobs(d, cfg, &list[i], 1);
    }
    for (size_t i = 0; i < n; i++) maybe_forget(d, list[i]);
    free(list);
}

/* A job is done with the alerts it carries: sent, or failed for good on that channel. */
static void job_done(struct dispatch *d, const struct outbox_job *job, bool delivered)
{
    bool mail = job->channel == OUTBOX_MAIL;
    for (size_t i = 0; i < job->n_ids; i++) {
        struct alert_rec *al = find_alert(d, job->alert_ids[i], NULL);
        if (!al) continue;
        if (mail) {
            if (!delivered) al->mail_failed++;
            if (al->mail_pending) al->mail_pending--;
            if (al->mail_pending == 0) {
                al->email_state = al->mail_failed ? CW_DELIVERY_FAILED : CW_DELIVERY_SENT;
                storeq_record(d->rec, al);
            }
        } else {
            if (!delivered) al->hook_failed++;
            if (al->hook_pending) al->hook_pending--;
            if (al->hook_pending == 0) {
                al->webhook_state = al->hook_failed ? CW_DELIVERY_FAILED : CW_DELIVERY_SENT;
                storeq_record(d->rec, al);
            }
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
        changed(d, job->sent.n || job->refused.n ? SAVE_NOW : SAVE_LIGHT);
        return;
    }
    if (r->outcome == OUTBOX_DELIVERED && mail) d->c.mails_sent++;
    else if (r->outcome == OUTBOX_DELIVERED) d->c.webhooks_sent++;
    else if (mail) d->c.mail_failures++;
    else d->c.webhook_failures++;
    job_done(d, job, r->outcome == OUTBOX_DELIVERED);
    changed(d, SAVE_NOW);
}

/* ---------------------------------------------------------------- from the state file */

static bool webhook_configured(const struct cw_config *cfg, const char *url)
{
    for (size_t i = 0; url && i < cfg->n_webhooks; i++)
        if (strcmp(cfg->webhooks[i].url, url) == 0) return true;
    return false;
}

size_t dispatch_restore(struct dispatch *d, const struct cw_config *cfg, struct statefile_data *sd, int64_t now_mono)
{
    for (size_t i = 0; i < sd->n_alerts; i++) {
        struct alert_rec *al = sd->alerts[i];
        sd->alerts[i] = NULL;
        al->mail_pending = al->hook_pending = 0;
        push_ptr(&d->alerts, &d->n_alerts, &d->cap_alerts, al);
        if (sd->alert_held[i]) {
            push_ptr(&d->held, &d->n_held, &d->cap_held, al);
            al->held = true;
            agroup_add(&d->group, now_mono, 0);
        }
    }
    size_t jobs = 0, dropped_mail = 0, dropped_hook = 0;
    for (size_t i = 0; i < sd->n_jobs; i++) {
        struct statefile_job *j = &sd->jobs[i];
        if (!j->chan && j->channel == OUTBOX_MAIL && !cfg->email_enabled) { /* email no longer configured */
            dropped_mail++;
            continue;
        }
        if (!j->chan && j->channel == OUTBOX_WEBHOOK && !webhook_configured(cfg, j->target)) { /* hook removed */
            dropped_hook++;
            for (size_t k = 0; k < j->n_ids; k++) {
                struct alert_rec *al = find_alert(d, j->ids[k], NULL);
                if (al) al->hook_failed++;
            }
            continue;
        }
        struct outbox_job *oj =
            outbox_add(d->ob, j->channel, j->target, j->key, j->payload, j->payload_len, j->ids, j->n_ids, j->attempts);
        if (!oj) {
            outbox_full(d, j->channel == OUTBOX_MAIL ? "mail" : "webhook call", j->n_ids);
            continue;
        }
        outbox_job_restore_chan(oj, &j->chan, &j->method, &j->headers, &j->n_headers, j->dest); /* issue 15 */
        oj->sent = j->sent; /* who has it already, who refused it: now the outbox's */
        oj->refused = j->refused;
        j->sent = (struct outbox_rcpts){ 0 };
        j->refused = (struct outbox_rcpts){ 0 };
        for (size_t k = 0; k < j->n_ids; k++) {
            struct alert_rec *al = find_alert(d, j->ids[k], NULL);
            if (!al) continue;
            if (j->channel == OUTBOX_MAIL) al->mail_pending++;
            else al->hook_pending++;
        }
        j->payload = NULL; /* now the outbox's */
        j->ids = NULL;
        jobs++;
    }
    if (dropped_mail)
        log_warn("%zu undelivered mail(s) of the state file dropped: email is no longer configured", dropped_mail);
    if (dropped_hook)
        log_warn("%zu undelivered webhook call(s) of the state file dropped: their webhook is no longer configured",
                 dropped_hook);
    /* Alerts with no job left and not held are done; one still pending lost its channel to a new config. */
    for (size_t i = d->n_alerts; i-- > 0;) {
        struct alert_rec *al = d->alerts[i];
        if (al->held || al->mail_pending || al->hook_pending) continue;
        bool changed = false;
        if (al->email_state == CW_DELIVERY_PENDING) al->email_state = CW_DELIVERY_FAILED, changed = true;
        if (al->webhook_state == CW_DELIVERY_PENDING) al->webhook_state = CW_DELIVERY_FAILED, changed = true;
        if (changed) storeq_record(d->rec, al);
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
