/* alerter/channel.c — channel_queue (see channel.h): a message about some alerts built in the format of one
 * channel and queued in the outbox as the job(s) of that channel; and what the formatters share. */
#include "alerter/channel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/channel_int.h"
#include "alerter/events.h"
#include "alerter/mail.h"
#include "common/base/clock.h"
#include "common/base/log.h"

/* ---------------------------------------------------------------- helpers of the formatters */

void chan_json_body(struct outbox_request *req, json_object *root)
{
    size_t len = 0;
    const char *s =
        json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (!s) fatal(1, "out of memory (json)");
    free(req->body);
    req->body = cw_xmalloc(len + 1);
    memcpy(req->body, s, len + 1);
    req->body_len = len;
    json_object_put(root);
}

size_t chan_utf8_cut(const char *s, size_t len, size_t max)
{
    if (max == 0 || len <= max) return len;
    size_t at = max;
    while (at > 0 && ((unsigned char)s[at] & 0xC0) == 0x80) at--;
    return at;
}

void chan_json_str(json_object *o, const char *key, const char *value, size_t max)
{
    const char *v = value ? value : "";
    json_object *s = json_object_new_string_len(v, (int)chan_utf8_cut(v, strlen(v), max));
    if (!s) fatal(1, "out of memory (json)");
    json_object_object_add(o, key, s);
}

char *chan_url_join(const char *base, const char *path)
{
    size_t bl = strlen(base ? base : "");
    while (bl > 0 && base[bl - 1] == '/') bl--;
    size_t n = bl + strlen(path) + 1;
    char *url = cw_xmalloc(n);
    snprintf(url, n, "%.*s%s", (int)bl, base ? base : "", path);
    return url;
}

void chan_title(struct cw_buf *out, struct alert_rec *const *alerts, size_t n, bool prefixed)
{
    if (prefixed) cw_buf_printf(out, "[clockwerk] ");
    if (n == 1) {
        cw_buf_printf(out, "%s: %s", events_word(alerts[0]->kind), alerts[0]->message ? alerts[0]->message : "");
        return;
    }
    char title[256];
    mail_summary_title(alerts, n, title, sizeof title);
    cw_buf_printf(out, "%s", title);
}

void chan_lines(struct cw_buf *out, struct alert_rec *const *alerts, size_t n, size_t max_lines)
{
    for (size_t i = 0; i < n && i < max_lines; i++)
        cw_buf_printf(out, "%s%s: %s", i ? "\n" : "", events_word(alerts[i]->kind),
                      alerts[i]->message ? alerts[i]->message : "");
    if (n > max_lines) cw_buf_printf(out, "\n... and %zu more", n - max_lines);
}

char *chan_title_text(struct alert_rec *const *alerts, size_t n, bool prefixed)
{
    struct cw_buf b = { 0 };
    chan_title(&b, alerts, n, prefixed);
    char *text = chan_buf_copy(&b);
    cw_buf_free(&b);
    return text;
}

char *chan_lines_text(struct alert_rec *const *alerts, size_t n, size_t max_lines)
{
    struct cw_buf b = { 0 };
    chan_lines(&b, alerts, n, max_lines);
    char *text = chan_buf_copy(&b);
    cw_buf_free(&b);
    return text;
}

static int urgency(unsigned kind)
{
    switch (kind) {
    case CW_ALERT_DOWN:
        return 5;
    case CW_ALERT_REMINDER:
    case CW_ALERT_ESCALATION:
        return 4;
    case CW_ALERT_FLAPPING:
        return 3;
    case CW_ALERT_SLOW:
    case CW_ALERT_TLS_EXPIRY:
        return 2;
    default:
        return 1;
    }
}

unsigned chan_main_kind(struct alert_rec *const *alerts, size_t n)
{
    unsigned kind = n ? alerts[0]->kind : 0;
    for (size_t i = 1; i < n; i++)
        if (urgency(alerts[i]->kind) > urgency(kind)) kind = alerts[i]->kind;
    return kind;
}

enum cw_severity chan_max_severity(struct alert_rec *const *alerts, size_t n)
{
    unsigned sev = CW_SEV_INFO;
    for (size_t i = 0; i < n; i++)
        if (alerts[i]->severity > sev && alerts[i]->severity <= CW_SEV_CRITICAL) sev = alerts[i]->severity;
    return (enum cw_severity)sev;
}

void chan_display_name(const struct alert_rec *a, char *out, size_t len)
{
    if (a->name && a->name[0]) snprintf(out, len, "%s", a->name);
    else cw_mask_url(a->url ? a->url : "", out, len);
}

char *chan_buf_copy(const struct cw_buf *b)
{
    char *p = cw_xmalloc(b->len + 1);
    if (b->len) memcpy(p, b->data, b->len);
    p[b->len] = '\0';
    return p;
}

size_t chan_facts(const struct alert_rec *a, const struct chan_ctx *ctx, struct chan_fact *out)
{
    size_t n = 0;
    char when[32];
    chan_display_name(a, out[n].value, sizeof out[n].value), out[n++].title = "Endpoint";
    cw_mask_url(a->url ? a->url : "", out[n].value, sizeof out[n].value), out[n++].title = "URL";
    snprintf(out[n].value, sizeof out[n].value, "%s", cw_format_iso8601(a->since_us, when, sizeof when));
    out[n++].title = a->kind == CW_ALERT_TLS_EXPIRY ? "Expires" : "Since";
    if (a->last_status) snprintf(out[n].value, sizeof out[n].value, "%u", a->last_status), out[n++].title = "Status";
    if (a->error && a->error[0]) snprintf(out[n].value, sizeof out[n].value, "%s", a->error), out[n++].title = "Error";
    if (a->detail && a->detail[0])
        snprintf(out[n].value, sizeof out[n].value, "%s", a->detail), out[n++].title = "Detail";
    if (a->incident_id)
        snprintf(out[n].value, sizeof out[n].value, "%016" PRIx64, a->incident_id), out[n++].title = "Incident";
    const char *sev = config_severity_name((enum cw_severity)a->severity);
    snprintf(out[n].value, sizeof out[n].value, "%s", sev ? sev : "critical"), out[n++].title = "Severity";
    if (ctx->hostname && ctx->hostname[0])
        snprintf(out[n].value, sizeof out[n].value, "%s", ctx->hostname), out[n++].title = "Monitored from";
    return n;
}

int chan_gravity(unsigned kind)
{
    int u = urgency(kind);
    return u >= 4 ? 2 : u >= 2 ? 1 : 0;
}

int chan_priority5(unsigned kind, enum cw_severity sev)
{
    switch (chan_gravity(kind)) {
    case 2:
        return sev == CW_SEV_CRITICAL ? 5 : sev == CW_SEV_ERROR ? 4 : sev == CW_SEV_WARNING ? 3 : 2;
    case 1:
        return sev >= CW_SEV_ERROR ? 4 : 3;
    default:
        return 3;
    }
}

unsigned chan_colour(unsigned kind)
{
    static const unsigned colours[] = { 0x2EB886, 0xDAA038, 0xD00000 }; /* green, amber, red */
    return colours[chan_gravity(kind)];
}

void chan_header_value(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && o + 1 < len; p++)
        out[o++] = *p < 0x20 || *p == 0x7f ? ' ' : *p >= 0x80 ? '?' : (char)*p;
    if (len) out[o] = '\0';
}

/* ---------------------------------------------------------------- building */

static const chan_format_fn formatters[CW_CHAN_TYPE_MAX + 1] = {
    [CW_CHAN_WEBHOOK] = chan_fmt_webhook,   [CW_CHAN_SLACK] = chan_fmt_slack,
    [CW_CHAN_DISCORD] = chan_fmt_discord,   [CW_CHAN_TEAMS] = chan_fmt_teams,
    [CW_CHAN_MATTERMOST] = chan_fmt_slack,  [CW_CHAN_NTFY] = chan_fmt_ntfy,
    [CW_CHAN_TELEGRAM] = chan_fmt_telegram, [CW_CHAN_PAGERDUTY] = chan_fmt_pagerduty,
    [CW_CHAN_OPSGENIE] = chan_fmt_opsgenie, [CW_CHAN_GOTIFY] = chan_fmt_gotify,
};

bool channel_one_per_alert(enum cw_channel_type type) { return type == CW_CHAN_PAGERDUTY || type == CW_CHAN_OPSGENIE; }

/* Appends to out[*at..len), clamping *at at the end when cut. */
static void summary_put(char *out, size_t len, size_t *at, const char *a, const char *b)
{
    if (*at + 1 >= len) return;
    int w = snprintf(out + *at, len - *at, "%s%s", a, b);
    *at = w < 0 || (size_t)w >= len - *at ? len - 1 : *at + (size_t)w;
}

void channel_summary(const struct cw_config *cfg, char *out, size_t len)
{
    if (len == 0) return;
    out[0] = 0;
    if (cfg->n_channels == 0) {
        snprintf(out, len, "no channel");
        return;
    }
    int w = snprintf(out, len, "%zu channel%s (", cfg->n_channels, cfg->n_channels == 1 ? "" : "s");
    size_t at = w < 0 || (size_t)w >= len ? len - 1 : (size_t)w;
    bool first_type = true;
    for (int t = 0; t <= CW_CHAN_TYPE_MAX; t++) {
        bool first = true;
        for (size_t i = 0; i < cfg->n_channels; i++) {
            if ((int)cfg->channels[i].type != t) continue;
            if (first) {
                const char *tn = config_channel_type_name((enum cw_channel_type)t);
                summary_put(out, len, &at, first_type ? "" : "; ", tn ? tn : "?");
                summary_put(out, len, &at, ": ", "");
            }
            summary_put(out, len, &at, first ? "" : ", ", cfg->channels[i].name);
            first = first_type = false;
        }
    }
    summary_put(out, len, &at, ")", "");
}

size_t channel_jobs(enum cw_channel_type type, size_t n) { return channel_one_per_alert(type) ? n : (n ? 1 : 0); }

void channel_build_mail(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                        const struct chan_ctx *ctx, struct cw_buf *out)
{
    struct mail_params mp = { .from = c->email_from,
                              .to = c->email_to,
                              .n_to = c->n_email_to,
                              .date_us = ctx->now_wall_us,
                              .hostname = ctx->hostname,
                              .time_zone = ctx->time_zone };
    mail_build(out, &mp, alerts, n);
}

int channel_build_request(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                          const struct chan_ctx *ctx, struct outbox_request *req)
{
    *req = (struct outbox_request){ 0 };
    if ((unsigned)c->type > CW_CHAN_TYPE_MAX || !formatters[c->type] || n == 0) return -1;
    if (channel_one_per_alert(c->type) && n != 1) return -1;
    formatters[c->type](c, alerts, n, ctx, req);
    if (!req->method) req->method = "POST";
    return 0;
}

/* ---------------------------------------------------------------- queueing */

static uint64_t *ids_of(struct alert_rec *const *list, size_t n)
{
    uint64_t *ids = cw_xcalloc(n ? n : 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = list[i]->id;
    return ids;
}

static struct outbox_job *queue_mail(struct outbox *ob, const struct cw_channel *c, struct alert_rec *const *alerts,
                                     size_t n, const struct chan_ctx *ctx)
{
    struct cw_buf b = { 0 };
    channel_build_mail(c, alerts, n, ctx, &b);
    char *payload = chan_buf_copy(&b);
    size_t len = b.len;
    cw_buf_free(&b);
    uint64_t *ids = ids_of(alerts, n);
    struct outbox_job *j = outbox_add_mail(ob, c->name, mail_message_key(alerts, n), payload, len, ids, n);
    if (!j) {
        free(payload);
        free(ids);
    }
    return j;
}

static struct outbox_job *queue_http(struct outbox *ob, const struct cw_channel *c, struct alert_rec *const *alerts,
                                     size_t n, const struct chan_ctx *ctx)
{
    struct outbox_request req;
    if (channel_build_request(c, alerts, n, ctx, &req) != 0) {
        log_error("channel %s (%s): cannot build a message about %zu alert(s)", c->name,
                  config_channel_type_name(c->type) ? config_channel_type_name(c->type) : "?", n);
        return NULL;
    }
    uint64_t *ids = ids_of(alerts, n);
    struct outbox_job *j = outbox_add_http(ob, c->name, outbox_chan_dest(c), mail_message_key(alerts, n), &req, ids, n);
    if (!j) {
        free(ids);
        outbox_request_free(&req);
    }
    return j;
}

/* The event that resolves the flapping's key (channel_dedup_key) of a, which ends it: a job of a's on c, counted
 * in a's delivery there (the caller counts the job channel_queue returns). */
static void queue_flap_resolve(struct outbox *ob, const struct cw_channel *c, struct alert_rec *a,
                               const struct chan_ctx *ctx)
{
    struct alert_rec end = *a; /* a shallow copy: only read */
    end.kind = CW_ALERT_FLAPPING;
    end.flap_end = true;
    struct alert_rec *one[1] = { &end };
    if (!queue_http(ob, c, one, 1, ctx)) return;
    struct alert_delivery *dl = alert_delivery_of(a, c->name);
    if (dl) dl->pending++;
}

struct outbox_job *channel_queue(struct outbox *ob, const struct cw_config *cfg, size_t ch,
                                 struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx)
{
    if (ch >= cfg->n_channels || n == 0) return NULL;
    const struct cw_channel *c = &cfg->channels[ch];
    if (c->type == CW_CHAN_EMAIL) return queue_mail(ob, c, alerts, n, ctx);
    if (!channel_one_per_alert(c->type)) return queue_http(ob, c, alerts, n, ctx);
    /* PagerDuty, Opsgenie: one event per alert (their dedup key / alias is per incident), and one resolving the
     * flapping's key for an alert that ends flapping: all or none */
    size_t jobs = n;
    for (size_t i = 0; i < n; i++) jobs += alerts[i]->flap_end;
    if (outbox_room(ob) < jobs) return NULL;
    struct outbox_job *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (alerts[i]->flap_end) queue_flap_resolve(ob, c, alerts[i], ctx);
        struct outbox_job *j = queue_http(ob, c, &alerts[i], 1, ctx);
        if (j) last = j;
    }
    return last;
}
