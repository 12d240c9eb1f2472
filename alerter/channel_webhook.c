/* alerter/channel_webhook.c — the `webhook` channel: today's JSON body (alerter/webhook.c) or the channel's
 * body_template with its {{placeholders}} substituted, POSTed to url with the channel's headers; and the
 * template check cw-aconfig runs at load (docs/alerts.md "Channels"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/channel_int.h"
#include "alerter/mail.h"
#include "alerter/webhook.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/config/config_template.h"

/* A template is checked where `clockwerk -t` runs (config_template_check); the list of placeholders and the
 * scanner are common/config/config_template.h's, for that check and for render_template below alike. */

/* The value of placeholder i for the message about alerts[0..n) into out (reset first). */
static void placeholder_value(int i, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                              struct cw_buf *out)
{
    const struct alert_rec *a = alerts[0];
    const char *name = config_template_fields[i];
    char buf[CW_URL_MAX + 1];
    cw_buf_reset(out);
    const char *kind = n > 1 ? "summary" : proto_alert_kind_name(a->kind);
    if (!strcmp(name, "kind")) cw_buf_printf(out, "%s", kind ? kind : "test"); /* kind 0: --test-alert */
    else if (!strcmp(name, "name")) cw_buf_printf(out, "%s", a->name ? a->name : "");
    else if (!strcmp(name, "url")) cw_mask_url(a->url ? a->url : "", buf, sizeof buf), cw_buf_printf(out, "%s", buf);
    else if (!strcmp(name, "message") && n > 1) chan_title(out, alerts, n, false);             /* a summary's title */
    else if (!strcmp(name, "message")) cw_buf_printf(out, "%s", a->message ? a->message : ""); /* as the JSON's */
    else if (!strcmp(name, "since")) cw_buf_printf(out, "%s", cw_format_iso8601(a->since_us, buf, sizeof buf));
    else if (!strcmp(name, "at")) cw_buf_printf(out, "%s", cw_format_iso8601(a->at_us, buf, sizeof buf));
    else if (!strcmp(name, "alert_id")) cw_buf_printf(out, "%016" PRIx64, mail_message_key(alerts, n));
    else if (!strcmp(name, "incident_id")) {
        if (a->incident_id) cw_buf_printf(out, "%016" PRIx64, a->incident_id);
    } else if (!strcmp(name, "severity")) {
        const char *sev = config_severity_name(chan_max_severity(alerts, n));
        cw_buf_printf(out, "%s", sev ? sev : "");
    } else if (!strcmp(name, "error")) cw_buf_printf(out, "%s", a->error ? a->error : "");
    else if (!strcmp(name, "status")) cw_buf_printf(out, "%u", (unsigned)a->last_status);
    else if (!strcmp(name, "text")) {
        chan_title(out, alerts, n, true);
        if (n > 1) cw_buf_printf(out, "\n"), chan_lines(out, alerts, n, CHAN_TEXT_LINES);
    } else if (!strcmp(name, "hostname")) cw_buf_printf(out, "%s", ctx->hostname ? ctx->hostname : "");
}

/* value as the inside of a JSON string. */
static void put_json_escaped(struct cw_buf *out, const char *value)
{
    json_object *s = json_object_new_string(value);
    if (!s) fatal(1, "out of memory (json)");
    const char *text = json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(text);
    cw_buf_put(out, text + 1, len - 2); /* without its quotes */
    json_object_put(s);
}

/* The template with every placeholder substituted (a template that fails the check is copied as is: the
 * configuration refused it already). */
static void render_template(const char *tpl, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                            struct cw_buf *out)
{
    struct cw_buf value = { 0 };
    const char *p = tpl, *open, *name, *close;
    size_t len;
    while (config_template_next(p, &open, &name, &len, &close) == 1) {
        cw_buf_put(out, p, (size_t)(open - p));
        bool json;
        int i = config_template_field(name, len, &json);
        if (i < 0) {
            cw_buf_put(out, open, (size_t)(close - open));
        } else {
            placeholder_value(i, alerts, n, ctx, &value);
            cw_buf_put(&value, "", 1);
            if (json) put_json_escaped(out, (const char *)value.data);
            else cw_buf_put(out, value.data, value.len - 1);
        }
        p = close;
    }
    cw_buf_put(out, p, strlen(p));
    cw_buf_free(&value);
}

static bool has_header(const struct cw_channel *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < c->n_headers; i++)
        if (strncasecmp(c->headers[i], name, n) == 0 && c->headers[i][n] == ':') return true;
    return false;
}

void chan_fmt_webhook(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                      struct outbox_request *req)
{
    struct cw_buf b = { 0 };
    if (c->body_template) render_template(c->body_template, alerts, n, ctx, &b);
    else webhook_build_host(&b, alerts, n, ctx->hostname);
    req->body = chan_buf_copy(&b);
    req->body_len = b.len;
    cw_buf_free(&b);
    req->method = "POST";
    req->url = cw_xstrdup(c->url ? c->url : "");
    if (!has_header(c, "Content-Type")) outbox_request_header(req, "Content-Type", "application/json");
    for (size_t i = 0; i < c->n_headers; i++) {
        req->headers = cw_xrealloc(req->headers, (req->n_headers + 1) * sizeof *req->headers);
        req->headers[req->n_headers++] = cw_xstrdup(c->headers[i]);
    }
}
