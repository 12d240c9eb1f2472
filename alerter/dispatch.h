/* alerter/dispatch.h — the alerts on their way out: each raised alert is held for the grouping window
 * (alerter/group.h); at its release the conductor decides, per alert, whether it goes out and to which channels
 * (routing, alerter/route.h; muting, alerter/mute.h: the decide function), and the alerts that go out become
 * outbox jobs per channel (alerter/channel.h: one message about each alert, or one summary per channel of the
 * alerts released together that route to it), followed through the outbox's reports to their final delivery
 * state on each channel, recorded (alerter/storeq.h) at every change, and forgotten once every channel is done
 * with them. A muted alert is recorded with every channel it would have gone to MUTED and no job. At start, the
 * alerts and jobs of the state file are taken back (dispatch_restore).
 *
 * Known weaknesses: alert lookups by id are linear (alerts in memory are only the undelivered ones); the
 * outbox bound marks overflowing alerts "failed" rather than folding them into a summary. */
#ifndef CW_ALERTER_DISPATCH_H
#define CW_ALERTER_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/alert.h"
#include "alerter/channel.h"
#include "alerter/group.h"
#include "alerter/outbox.h"
#include "alerter/savepolicy.h"
#include "alerter/statefile.h"
#include "alerter/storeq.h"
#include "common/config/config.h"

/* Decides at release whether al goes out: sets al->muted (enum cw_mute) and may fill its children and detail;
 * writes the channels it goes to, or would go to when muted, into chans (room for cfg->n_channels) and returns
 * how many. */
typedef size_t (*dispatch_decide_fn)(void *ctx, const struct cw_config *cfg, struct alert_rec *al, size_t *chans);

/* Queues one message about alerts[0..n) on channel ch (channel_queue; a test's fake). */
typedef struct outbox_job *(*dispatch_queue_fn)(struct outbox *ob, const struct cw_config *cfg, size_t ch,
                                                struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx);

struct dispatch {
    struct outbox *ob;         /* the caller's; its reports come to dispatch_on_delivery */
    struct storeq *rec;        /* where every change of an alert is recorded */
    enum save_need unsaved;    /* what changed here since the conductor last asked (dispatch_take_unsaved) */
    dispatch_decide_fn decide; /* NULL: every alert to every channel */
    void *decide_ctx;
    dispatch_queue_fn queue; /* channel_queue unless a test sets another */
    char hostname[256];      /* for the messages (chan_ctx) */

    struct alert_rec **alerts; /* raised and not yet done on every channel */
    size_t n_alerts, cap_alerts;
    struct alert_rec **held; /* in the grouping window (also in alerts) */
    size_t n_held, cap_held;
    struct agroup group;

    struct {
        int64_t alerts_raised, mails_sent, mail_failures, webhooks_sent, webhook_failures, outbox_full;
        int64_t mail_refused; /* recipients that refused a mail for good (SMTP 5xx at RCPT TO) */
        int64_t alerts_muted; /* alerts recorded muted (no job) */
    } c;
};

void dispatch_init(struct dispatch *d, struct outbox *ob, struct storeq *rec);

/* What changed here that the state file does not hold yet (alerts raised: SAVE_SOON; jobs queued, deliveries
 * recorded, alerts forgotten: SAVE_NOW; a failed attempt: SAVE_LIGHT), since the last call; then SAVE_NONE.
 * The conductor asks after each step that may change it and gives the answer to its savepolicy. */
enum save_need dispatch_take_unsaved(struct dispatch *d);

/* Notes a change the state file must hold (an acknowledgement, an incident's step). */
void dispatch_note_unsaved(struct dispatch *d, enum save_need need);

/* The alert in memory with that id, or NULL. */
struct alert_rec *dispatch_find(const struct dispatch *d, uint64_t id);

/* Takes a new alert (the caller's until now, not known yet: dispatch_find) of an endpoint checked every
 * interval_s: held for the grouping window, logged and recorded. */
void dispatch_raise(struct dispatch *d, const struct cw_config *cfg, struct alert_rec *al, double interval_s,
                    int64_t now_mono);

/* Closes the grouping window (when agroup_due): its alerts are decided, then become outbox jobs per channel,
 * one each or one summary per channel (decided per channel from its unmuted alerts). */
void dispatch_release(struct dispatch *d, const struct cw_config *cfg, int64_t now_mono);

/* The outbox's report on one attempt (an outbox_done_fn; ctx is the struct dispatch). */
void dispatch_on_delivery(void *ctx, const struct outbox_job *job, const struct outbox_report *r);

/* Takes over the alerts and jobs of a loaded state file (sd keeps what is not taken: statefile_data_free).
 * Returns the jobs queued again. */
size_t dispatch_restore(struct dispatch *d, const struct cw_config *cfg, struct statefile_data *sd, int64_t now_mono);

void dispatch_free(struct dispatch *d);

#endif
