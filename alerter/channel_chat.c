/* alerter/channel_chat.c — the chat channels (docs/alerts.md "Channels"), each POSTing JSON to its incoming
 * webhook URL:
 *   slack, mattermost: {"text", "attachments": [{"fallback", "color": "#rrggbb", "title", "text", "fields":
 *     [{"title", "value", "short"}], "footer", "ts"}]} (Slack's legacy attachments, which Mattermost's incoming
 *     webhooks take as they are);
 *   discord: {"content" (<= 2000 characters), "embeds": [{"title" (<= 256), "description" (<= 4096), "color",
 *     "timestamp", "fields": [{"name", "value" (<= 1024), "inline"}] (<= 25), "footer": {"text"}}],
 *     "allowed_mentions": {"parse": []}} (no @everyone from an endpoint's name);
 *   teams: {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
 *     "contentUrl": null, "content": an AdaptiveCard 1.4 with a TextBlock title coloured by kind, a FactSet per
 *     alert (at most CHAN_TEXT_LINES alerts), the list's remainder as a TextBlock}]}.
 * One alert: its title and facts; a summary: the summary title and one line (or fact set) per alert, capped. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/channel_int.h"
#include "common/base/clock.h"
#include "common/base/log.h"

#define DISCORD_CONTENT_MAX 2000
#define DISCORD_TITLE_MAX 256
#define DISCORD_DESCRIPTION_MAX 4096
#define DISCORD_FIELD_MAX 1024
#define SLACK_TEXT_MAX 3000 /* Slack truncates longer texts; a summary's list goes in the attachment */
#define TEAMS_CARDS_MAX 10  /* fact sets in one card: the rest is listed as lines */

/* title, then the summary's lines (n > 1), as one text. */
static char *summary_text(struct alert_rec *const *alerts, size_t n, bool prefixed)
{
    struct cw_buf b = { 0 };
    chan_title(&b, alerts, n, prefixed);
    if (n > 1) {
        cw_buf_printf(&b, "\n");
        chan_lines(&b, alerts, n, CHAN_TEXT_LINES);
    }
    char *text = chan_buf_copy(&b);
    cw_buf_free(&b);
    return text;
}

/* "clockwerk on HOST": the footer of a card. */
static void footer_text(const struct chan_ctx *ctx, char *out, size_t len)
{
    snprintf(out, len, "clockwerk%s%s", ctx->hostname ? " on " : "", ctx->hostname ? ctx->hostname : "");
}

static void set_url(const struct cw_channel *c, struct outbox_request *req)
{
    req->method = "POST";
    req->url = cw_xstrdup(c->url ? c->url : "");
    outbox_request_header(req, "Content-Type", "application/json");
}

/* ---------------------------------------------------------------- slack, mattermost */

void chan_fmt_slack(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                    struct outbox_request *req)
{
    json_object *root = cw_jnew(json_object_new_object()), *att = cw_jnew(json_object_new_object());
    char *title = chan_title_text(alerts, n, true);
    chan_json_str(root, "text", title, SLACK_TEXT_MAX);
    char colour[16];
    snprintf(colour, sizeof colour, "#%06X", chan_colour(chan_main_kind(alerts, n)));
    chan_json_str(att, "color", colour, 0);
    if (n == 1) { /* the fallback (notifications show it after text): the facts, not the title again */
        struct chan_fact facts[CHAN_FACTS_MAX];
        size_t k = chan_facts(alerts[0], ctx, facts);
        json_object *fields = cw_jnew(json_object_new_array());
        struct cw_buf fallback = { 0 };
        for (size_t i = 0; i < k; i++)
            cw_buf_printf(&fallback, "%s%s: %s", i ? ", " : "", facts[i].title, facts[i].value);
        cw_buf_put(&fallback, "", 1);
        chan_json_str(att, "fallback", (const char *)fallback.data, SLACK_TEXT_MAX);
        cw_buf_free(&fallback);
        for (size_t i = 0; i < k; i++) {
            json_object *f = cw_jnew(json_object_new_object());
            chan_json_str(f, "title", facts[i].title, 0);
            chan_json_str(f, "value", facts[i].value, 0);
            json_object_object_add(f, "short", cw_jnew(json_object_new_boolean(strlen(facts[i].value) < 40)));
            json_object_array_add(fields, f);
        }
        json_object_object_add(att, "fields", fields);
    } else {
        char *lines = chan_lines_text(alerts, n, CHAN_TEXT_LINES);
        chan_json_str(att, "fallback", lines, SLACK_TEXT_MAX);
        chan_json_str(att, "text", lines, 0);
        free(lines);
    }
    char footer[300];
    footer_text(ctx, footer, sizeof footer);
    chan_json_str(att, "footer", footer, 0);
    json_object_object_add(att, "ts", cw_jnew(json_object_new_int64(alerts[0]->raised_at_us / 1000000)));
    json_object *list = cw_jnew(json_object_new_array());
    json_object_array_add(list, att);
    json_object_object_add(root, "attachments", list);
    free(title);
    set_url(c, req);
    chan_json_body(req, root);
}

/* ---------------------------------------------------------------- discord */

static json_object *discord_field(const char *name, const char *value, bool inline_)
{
    json_object *f = cw_jnew(json_object_new_object());
    chan_json_str(f, "name", name, DISCORD_TITLE_MAX);
    chan_json_str(f, "value", value && value[0] ? value : "-", DISCORD_FIELD_MAX);
    json_object_object_add(f, "inline", cw_jnew(json_object_new_boolean(inline_)));
    return f;
}

void chan_fmt_discord(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                      struct outbox_request *req)
{
    json_object *root = cw_jnew(json_object_new_object()), *embed = cw_jnew(json_object_new_object());
    char *text = summary_text(alerts, n, true);
    chan_json_str(root, "content", text, DISCORD_CONTENT_MAX);
    char *title = chan_title_text(alerts, n, false);
    chan_json_str(embed, "title", title, DISCORD_TITLE_MAX);
    json_object_object_add(embed, "color", cw_jnew(json_object_new_int64(chan_colour(chan_main_kind(alerts, n)))));
    char when[32];
    chan_json_str(embed, "timestamp", cw_format_iso8601(alerts[0]->raised_at_us, when, sizeof when), 0);
    if (n == 1) {
        struct chan_fact facts[CHAN_FACTS_MAX];
        size_t k = chan_facts(alerts[0], ctx, facts);
        json_object *fields = cw_jnew(json_object_new_array());
        for (size_t i = 0; i < k; i++)
            json_object_array_add(fields, discord_field(facts[i].title, facts[i].value, strlen(facts[i].value) < 40));
        json_object_object_add(embed, "fields", fields);
    } else {
        char *lines = chan_lines_text(alerts, n, CHAN_TEXT_LINES);
        chan_json_str(embed, "description", lines, DISCORD_DESCRIPTION_MAX);
        free(lines);
    }
    json_object *footer = cw_jnew(json_object_new_object());
    char foot[300];
    footer_text(ctx, foot, sizeof foot);
    chan_json_str(footer, "text", foot, DISCORD_TITLE_MAX);
    json_object_object_add(embed, "footer", footer);
    json_object *embeds = cw_jnew(json_object_new_array()), *mentions = cw_jnew(json_object_new_object());
    json_object_array_add(embeds, embed);
    json_object_object_add(root, "embeds", embeds);
    json_object_object_add(mentions, "parse", cw_jnew(json_object_new_array()));
    json_object_object_add(root, "allowed_mentions", mentions);
    free(title);
    free(text);
    set_url(c, req);
    chan_json_body(req, root);
}

/* ---------------------------------------------------------------- teams (Adaptive Card 1.4) */

static json_object *text_block(const char *text, const char *weight, const char *size, const char *colour)
{
    json_object *t = cw_jnew(json_object_new_object());
    chan_json_str(t, "type", "TextBlock", 0);
    chan_json_str(t, "text", text, 0);
    json_object_object_add(t, "wrap", cw_jnew(json_object_new_boolean(true)));
    if (weight) chan_json_str(t, "weight", weight, 0);
    if (size) chan_json_str(t, "size", size, 0);
    if (colour) chan_json_str(t, "color", colour, 0);
    return t;
}

static json_object *fact_set(const struct alert_rec *a, const struct chan_ctx *ctx)
{
    struct chan_fact facts[CHAN_FACTS_MAX];
    size_t k = chan_facts(a, ctx, facts);
    json_object *set = cw_jnew(json_object_new_object()), *list = cw_jnew(json_object_new_array());
    chan_json_str(set, "type", "FactSet", 0);
    for (size_t i = 0; i < k; i++) {
        json_object *f = cw_jnew(json_object_new_object());
        chan_json_str(f, "title", facts[i].title, 0);
        chan_json_str(f, "value", facts[i].value, 0);
        json_object_array_add(list, f);
    }
    json_object_object_add(set, "facts", list);
    return set;
}

static json_object *teams_card(struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx)
{
    static const char *const colours[] = { "Good", "Warning", "Attention" };
    json_object *card = cw_jnew(json_object_new_object()), *body = cw_jnew(json_object_new_array());
    chan_json_str(card, "$schema", "http://adaptivecards.io/schemas/adaptive-card.json", 0);
    chan_json_str(card, "type", "AdaptiveCard", 0);
    chan_json_str(card, "version", "1.4", 0);
    char *title = chan_title_text(alerts, n, true);
    json_object_array_add(body,
                          text_block(title, "Bolder", "Medium", colours[chan_gravity(chan_main_kind(alerts, n))]));
    free(title);
    size_t cards = n < TEAMS_CARDS_MAX ? n : TEAMS_CARDS_MAX;
    for (size_t i = 0; i < cards; i++) {
        if (n > 1) {
            char *line = chan_lines_text(&alerts[i], 1, 1);
            json_object_array_add(body, text_block(line, "Bolder", NULL, NULL));
            free(line);
        }
        json_object_array_add(body, fact_set(alerts[i], ctx));
    }
    if (n > cards) {
        char *rest = chan_lines_text(&alerts[cards], n - cards, CHAN_TEXT_LINES);
        json_object_array_add(body, text_block(rest, NULL, "Small", NULL));
        free(rest);
    }
    json_object_object_add(card, "body", body);
    return card;
}

void chan_fmt_teams(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n, const struct chan_ctx *ctx,
                    struct outbox_request *req)
{
    json_object *root = cw_jnew(json_object_new_object()), *att = cw_jnew(json_object_new_object());
    chan_json_str(root, "type", "message", 0);
    chan_json_str(att, "contentType", "application/vnd.microsoft.card.adaptive", 0);
    json_object_object_add(att, "contentUrl", NULL);
    json_object_object_add(att, "content", teams_card(alerts, n, ctx));
    json_object *list = cw_jnew(json_object_new_array());
    json_object_array_add(list, att);
    json_object_object_add(root, "attachments", list);
    set_url(c, req);
    chan_json_body(req, root);
}
