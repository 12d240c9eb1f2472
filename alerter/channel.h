/* alerter/channel.h — the channels an alert goes out on (`alerts.channels`, docs/alerts.md "Channels"): the
 * message each channel type expects, built from alerts, and queued in the outbox as one job.
 *
 * DESIGN
 * One entry point for the dispatch: channel_queue builds the message about alerts[0..n) (one alert, or a
 * summary of several) in the format of cfg->channels[ch] — an RFC 5322 mail for `email`, the service's
 * published JSON (or text, for ntfy) for the others — and adds it to the outbox as one job that names its
 * channel, so the dispatch's delivery reports (dispatch_on_delivery) know which channel an attempt was for.
 * The formatters are pure functions of (channel, alerts, context) -> (method, URL, headers, body), unit-tested
 * against each service's documented schema; secrets (tokens, routing keys, smtp passwords) are in the
 * request, never in a log line. */
#ifndef CW_ALERTER_CHANNEL_H
#define CW_ALERTER_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "alerter/alert.h"
#include "alerter/outbox.h"
#include "common/config/config.h"

/* What every formatter may need beyond the alerts. */
struct chan_ctx {
    const char *hostname;  /* the monitoring host (gethostname) */
    const char *time_zone; /* alerts.time_zone; NULL: UTC only */
    int64_t now_wall_us;   /* the Date of a mail, "raised_at" of a test */
};

/* Queues one message about alerts[0..n) (n == 1: one alert; n > 1: a summary) on channel ch of cfg.
 * Returns the job (its alert ids are the alerts'), or NULL when the outbox is full (logged by the caller). */
struct outbox_job *channel_queue(struct outbox *ob, const struct cw_config *cfg, size_t ch,
                                 struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx);

#endif
