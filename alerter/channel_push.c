/* alerter/channel_push.c — the push channels (docs/alerts.md "Channels"):
 *   ntfy: POST url (server + "/" + topic), the body the message text (at most NTFY_BODY_MAX bytes: ntfy turns a
 *     longer one into an attachment), headers Title, Priority (1 ... 5, chan_priority5), Tags (an emoji
 *     short code by kind, "clockwerk", the kind's name), Authorization: Bearer TOKEN when a token is set;
 *   telegram: POST {url or https://api.telegram.org}/bot{token}/sendMessage, JSON {"chat_id" (a number when it
 *     is one, else "@channel"), "text" (plain text, at most TELEGRAM_TEXT_MAX bytes), "disable_web_page_preview":
 *     true} — no parse_mode, so nothing in an endpoint's name or error is read as markup;
 *   gotify: POST {url}/message with X-Gotify-Key: TOKEN, JSON {"title", "message", "priority" (0 ... 10)}.
 * Header values never carry a CR or LF (chan_header_value). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/channel_int.h"
#include "common/base/log.h"

#define NTFY_BODY_MAX 4096
#define TELEGRAM_TEXT_MAX 4096
#define TITLE_MAX 250

/* The title (the alert's or the summary's, with the prefix) and the body (the alert's facts, or the summary's
 * lines): the title's sentence is not repeated in the body. */
static void title_and_body(struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx, struct cw_buf *title,
                           struct cw_buf *body)
{
    chan_title(title, alerts, n, true);
    cw_buf_put(title, "", 1);
    if (n > 1) {
        chan_lines(body, alerts, n, CHAN_TEXT_LINES);
    } else {
        struct chan_fact facts[CHAN_FACTS_MAX];
        size_t k = chan_facts(alerts[0], ctx, facts);
        for (size_t i = 0; i < k; i++) cw_buf_printf(body, "%s%s: %s", i ? "\n" : "", facts[i].title, facts[i].value);
    }
    cw_buf_put(body, "", 1);
}

static const char *ntfy_emoji(unsigned kind)
{
    switch (kind) {
    case CW_ALERT_DOWN:
        return "rotating_light";
    case CW_ALERT_UP:
        return "white_check_mark";
    case CW_ALERT_SLOW:
        return "hourglass";
    case CW_ALERT_FAST:
        return "zap";
    case CW_ALERT_TLS_EXPIRY:
        return "lock";
    case CW_ALERT_REMINDER:
        return "bell";
    case CW_ALERT_FLAPPING:
        return "warning";
    case CW_ALERT_ESCALATION:
        return "sos";
    default:
        return "information_source";
    }
}

void chan_fmt_ntfy(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                   struct outbox_request *req)
{
    struct cw_buf title = { 0 }, body = { 0 };
    title_and_body(alerts, n, ctx, &title, &body);
    unsigned kind = chan_main_kind(alerts, n);
    char value[TITLE_MAX + 1], prio[8], tags[128];
    const char *kind_name = n > 1 ? "summary" : proto_alert_kind_name(kind);
    req->method = "POST";
    req->url = cw_xstrdup(c->url ? c->url : "");
    size_t len = chan_utf8_cut((const char *)body.data, body.len - 1, NTFY_BODY_MAX);
    req->body = cw_xmalloc(len + 1);
    memcpy(req->body, body.data, len);
    req->body[len] = '\0';
    req->body_len = len;
    chan_header_value((const char *)title.data, value, sizeof value);
    outbox_request_header(req, "Content-Type", "text/plain; charset=utf-8");
    outbox_request_header(req, "Title", value);
    snprintf(prio, sizeof prio, "%d", chan_priority5(kind, chan_max_severity(alerts, n)));
    outbox_request_header(req, "Priority", prio);
    snprintf(tags, sizeof tags, "%s,clockwerk,%s", ntfy_emoji(kind), kind_name ? kind_name : "test");
    outbox_request_header(req, "Tags", tags);
    if (c->token && c->token[0]) {
        char bearer[512];
        chan_header_value(c->token, bearer, sizeof bearer);
        char auth[540];
        snprintf(auth, sizeof auth, "Bearer %s", bearer);
        outbox_request_header(req, "Authorization", auth);
    }
    cw_buf_free(&title);
    cw_buf_free(&body);
}

/* A chat id of digits (with a leading '-'): a number; anything else ("@channel"): a string. */
static json_object *chat_id_value(const char *id)
{
    const char *p = id ? id : "";
    const char *d = *p == '-' ? p + 1 : p;
    bool number = *d && strspn(d, "0123456789") == strlen(d) && strlen(d) < 19;
    return number ? cw_jnew(json_object_new_int64(strtoll(p, NULL, 10))) : cw_jnew(json_object_new_string(p));
}

void chan_fmt_telegram(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                       const struct chan_ctx *ctx, struct outbox_request *req)
{
    struct cw_buf title = { 0 }, body = { 0 }, text = { 0 };
    title_and_body(alerts, n, ctx, &title, &body);
    cw_buf_printf(&text, "%s\n\n%s", (const char *)title.data, (const char *)body.data);
    cw_buf_put(&text, "", 1);
    json_object *root = cw_jnew(json_object_new_object());
    json_object_object_add(root, "chat_id", chat_id_value(c->chat_id));
    chan_json_str(root, "text", (const char *)text.data, TELEGRAM_TEXT_MAX);
    json_object_object_add(root, "disable_web_page_preview", cw_jnew(json_object_new_boolean(true)));
    char path[600];
    snprintf(path, sizeof path, "/bot%s/sendMessage", c->token ? c->token : "");
    req->method = "POST";
    req->url = chan_url_join(c->url && c->url[0] ? c->url : "https://api.telegram.org", path);
    outbox_request_header(req, "Content-Type", "application/json");
    chan_json_body(req, root);
    cw_buf_free(&title);
    cw_buf_free(&body);
    cw_buf_free(&text);
}

void chan_fmt_gotify(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                     struct outbox_request *req)
{
    static const int gotify_priority[6] = { 0, 1, 3, 5, 7, 8 }; /* by chan_priority5: 8+ is "high" in Gotify */
    struct cw_buf title = { 0 }, body = { 0 };
    title_and_body(alerts, n, ctx, &title, &body);
    json_object *root = cw_jnew(json_object_new_object());
    chan_json_str(root, "title", (const char *)title.data, TITLE_MAX);
    chan_json_str(root, "message", (const char *)body.data, 0);
    int p5 = chan_priority5(chan_main_kind(alerts, n), chan_max_severity(alerts, n));
    json_object_object_add(root, "priority", cw_jnew(json_object_new_int(gotify_priority[p5])));
    req->method = "POST";
    req->url = chan_url_join(c->url, "/message");
    outbox_request_header(req, "Content-Type", "application/json");
    char key[512];
    chan_header_value(c->token, key, sizeof key);
    outbox_request_header(req, "X-Gotify-Key", key);
    chan_json_body(req, root);
    cw_buf_free(&title);
    cw_buf_free(&body);
}
