/* alerter/channel_int.h — what the channel formatters (alerter/channel_*.c) share; nobody else includes it.
 * Each HTTP channel type has one formatter: a pure function of (channel, alerts, context) that fills an
 * outbox_request (method, URL, headers, body). */
#ifndef CW_ALERTER_CHANNEL_INT_H
#define CW_ALERTER_CHANNEL_INT_H

#include <json-c/json.h>

#include "alerter/channel.h"
#include "common/base/util.h"

#define CHAN_TEXT_LINES 50 /* a summary's text lists at most this many alerts, then "... and N more" */

typedef void (*chan_format_fn)(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                               const struct chan_ctx *ctx, struct outbox_request *req);

/* channel_webhook.c */
void chan_fmt_webhook(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                      struct outbox_request *req);
/* channel_chat.c */
void chan_fmt_slack(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                    struct outbox_request *req);
void chan_fmt_discord(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                      struct outbox_request *req);
void chan_fmt_teams(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                    struct outbox_request *req);
/* channel_push.c */
void chan_fmt_ntfy(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                   struct outbox_request *req);
void chan_fmt_telegram(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                       const struct chan_ctx *ctx, struct outbox_request *req);
void chan_fmt_gotify(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                     struct outbox_request *req);
/* channel_incident.c (one alert per request) */
void chan_fmt_pagerduty(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                        const struct chan_ctx *ctx, struct outbox_request *req);
void chan_fmt_opsgenie(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                       const struct chan_ctx *ctx, struct outbox_request *req);

/* channel.c: helpers */
/* o, or the process exits (out of memory) when it is NULL. */
#include "common/wire/jsonnew.h" /* cw_jnew: every builder here uses it */
/* The length of the longest prefix of s[0..len) of at most max bytes that does not split a UTF-8 sequence. */
size_t chan_utf8_cut(const char *s, size_t len, size_t max);
/* The body of req: root serialised (plain, no slash escapes), root freed. */
void chan_json_body(struct outbox_request *req, json_object *root);
/* Adds key: value (NULL -> ""), value cut to at most max bytes (0: no cap) at a UTF-8 boundary. */
void chan_json_str(json_object *o, const char *key, const char *value, size_t max);
/* base (its trailing '/' dropped) followed by path. */
char *chan_url_join(const char *base, const char *path);
/* The title of a message about alerts[0..n): "DOWN: billing (https://...) is DOWN since ...": the alert's
 * message for one, the summary title for several; with "[clockwerk] " in front when prefixed. */
void chan_title(struct cw_buf *out, struct alert_rec *const *alerts, size_t n, bool prefixed);
/* One line per alert ("DOWN: message"), at most max_lines, then "... and N more"; lines joined by "\n". */
void chan_lines(struct cw_buf *out, struct alert_rec *const *alerts, size_t n, size_t max_lines);
/* chan_title's and chan_lines' text as a NUL-terminated string (the caller frees it). */
char *chan_title_text(struct alert_rec *const *alerts, size_t n, bool prefixed);
char *chan_lines_text(struct alert_rec *const *alerts, size_t n, size_t max_lines);
/* The kind the message is about: the alert's, or for several the most urgent (DOWN > reminder/escalation >
 * flapping > slow/tls > up/fast). */
unsigned chan_main_kind(struct alert_rec *const *alerts, size_t n);
/* The highest severity among the alerts. */
enum cw_severity chan_max_severity(struct alert_rec *const *alerts, size_t n);
/* The endpoint's name, or its masked URL when it has none. */
void chan_display_name(const struct alert_rec *a, char *out, size_t len);
/* A NUL-terminated copy of b's bytes. */
char *chan_buf_copy(const struct cw_buf *b);

/* The facts a chat card shows about one alert: Endpoint, URL (masked), Since, Status, Error, Detail, Incident,
 * Severity, Monitored from (those that have a value). Returns how many were written (at most CHAN_FACTS_MAX). */
#define CHAN_FACTS_MAX 9
struct chan_fact {
    const char *title;
    char value[512];
};
size_t chan_facts(const struct alert_rec *a, const struct chan_ctx *ctx, struct chan_fact *out);

/* How a kind reads on a scale: 2 a problem (down, reminder, escalation), 1 a warning (slow, TLS expiry,
 * flapping), 0 good news or a test (up, fast). */
int chan_gravity(unsigned kind);
/* The urgency 1 ... 5 of a message (ntfy's priorities): problems by severity (critical 5, error 4, warning 3,
 * info 2), warnings 4 (critical, error) or 3, good news 3. */
int chan_priority5(unsigned kind, enum cw_severity sev);
/* An RGB colour by gravity: red, amber, green. */
unsigned chan_colour(unsigned kind);
/* The value of a header, safe: control characters (CR, LF) become spaces, non-ASCII bytes '?', at most
 * len - 1 bytes. */
void chan_header_value(const char *in, char *out, size_t len);

#endif
