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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/alert.h"
#include "alerter/outbox.h"
#include "common/base/util.h"
#include "common/config/config.h"

/* What every formatter may need beyond the alerts. */
struct chan_ctx {
    const char *hostname;  /* the monitoring host (gethostname) */
    const char *time_zone; /* alerts.time_zone; NULL: UTC only */
    int64_t now_wall_us;   /* the Date of a mail, "raised_at" of a test */
};

/* Queues one message about alerts[0..n) (n == 1: one alert; n > 1: a summary) on channel ch of cfg.
 * Returns the job (its alert ids are the alerts'), or NULL when the outbox is full (logged by the caller).
 * PagerDuty and Opsgenie have no summary (their dedup key / alias is per incident): for n > 1 it queues n jobs
 * of one alert each, all or none (NULL: none), and returns the last; channel_jobs says how many it makes. */
struct outbox_job *channel_queue(struct outbox *ob, const struct cw_config *cfg, size_t ch,
                                 struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx);
/* How many jobs channel_queue makes for n alerts on a channel of this type: 1, or n (pagerduty, opsgenie). */
size_t channel_jobs(enum cw_channel_type type, size_t n);
/* True for the types that take one alert per message (pagerduty, opsgenie). */
bool channel_one_per_alert(enum cw_channel_type type);

/* The configured channels by type, for the start line: "N channels (email: a, b; slack: c)", "no channel"; names
 * only, never a URL or token; cut to fit len (terminated). */
void channel_summary(const struct cw_config *cfg, char *out, size_t len);

/* The pure builders behind channel_queue (unit-tested): the mail of an email channel into out (reset first),
 * and the HTTP request of any other channel into req (method, URL, headers, body; free with
 * outbox_request_free). channel_build_request returns -1 for a type without a formatter, or n != 1 on a
 * one-per-alert type. */
void channel_build_mail(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                        const struct chan_ctx *ctx, struct cw_buf *out);
int channel_build_request(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                          const struct chan_ctx *ctx, struct outbox_request *req);

/* PagerDuty's dedup_key, Opsgenie's alias of alert a (docs/alerts.md "Channels"): "clockwerk-" + the incident id
 * in hex; "clockwerk-slow-", "clockwerk-tls-" or (no incident) "clockwerk-ep-" + a hash of the URL. */
void channel_dedup_key(const struct alert_rec *a, char *out, size_t len);
/* True for the kinds that resolve (PagerDuty) or close (Opsgenie) their key: UP, FAST. */
bool channel_resolves(unsigned kind);


#endif
