/* tests/unit/test_channel_formats.c — the message of each channel type (alerter/channel_*.c), field by field
 * against the service's published schema: method, URL, headers, body; lengths capped; secrets only where the
 * service wants them; the PagerDuty/Opsgenie trigger-resolve cycle on one key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "alerter/channel.h"
#include "tests/unit/alert_test_util.h"

#define S 1000000LL

static const struct chan_ctx ctx = { .hostname = "mon1", .now_wall_us = 1795579500 * S };

static struct cw_channel chan(enum cw_channel_type type, const char *url, const char *token)
{
    return (struct cw_channel){
        .name = "c", .type = type, .kinds = CW_KINDS_ALL, .url = (char *)url, .token = (char *)token, .verify_tls = true
    };
}

/* One DOWN alert of incident 0xabc on https://u:pw@api.example.test/health, severity error. */
static struct alert_rec *down_alert(void)
{
    struct alert_rec *a = alert_new(CW_ALERT_DOWN, "https://u:pw@api.example.test:8443/health", "billing api",
                                    "HTTP 500", 1795579400 * S, 1795579420 * S, 0, 3, 0, 1795579421 * S);
    a->incident_id = 0xabc;
    a->severity = CW_SEV_ERROR;
    a->last_status = 500;
    return a;
}

static json_object *build(const struct cw_channel *c, struct alert_rec **list, size_t n, struct outbox_request *req)
{
    assert_int_equal(channel_build_request(c, list, n, &ctx, req), 0);
    assert_string_equal(req->method, "POST");
    assert_int_equal(strlen(req->body), req->body_len);
    assert_null(strstr(req->body, ":pw@")); /* endpoint credentials masked everywhere */
    return json_tokener_parse(req->body);
}

static json_object *get(json_object *o, const char *path)
{
    char key[64];
    const char *p = path;
    while (o && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        json_object *v = NULL;
        if (json_object_is_type(o, json_type_array)) v = json_object_array_get_idx(o, (size_t)atoi(key));
        else if (!json_object_object_get_ex(o, key, &v)) v = NULL;
        o = v;
        p += n + (p[n] == '.');
    }
    return o;
}

static const char *str(json_object *o, const char *path)
{
    json_object *v = get(o, path);
    assert_non_null(v);
    assert_true(json_object_is_type(v, json_type_string));
    return json_object_get_string(v);
}

static bool has_header(const struct outbox_request *r, const char *line)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i], line) == 0) return true;
    return false;
}

/* How many times needle occurs in hay: the alert's sentence shows once per message. */
static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void slack_and_mattermost(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert();
    struct cw_channel c = chan(CW_CHAN_SLACK, "https://hooks.slack.test/services/T/B/X", NULL);
    struct outbox_request r;
    json_object *o = build(&c, &a, 1, &r);
    assert_string_equal(r.url, "https://hooks.slack.test/services/T/B/X");
    assert_true(has_header(&r, "Content-Type: application/json"));
    assert_non_null(strstr(str(o, "text"), "[clockwerk] DOWN: billing api"));
    assert_int_equal(occurrences(r.body, "is DOWN since"), 1); /* the title once (fallback: the facts) */
    assert_string_equal(str(o, "attachments.0.color"), "#D00000");
    assert_string_equal(str(o, "attachments.0.fields.0.title"), "Endpoint");
    assert_string_equal(str(o, "attachments.0.fields.0.value"), "billing api");
    assert_string_equal(str(o, "attachments.0.fields.1.value"), "https://***@api.example.test:8443/health");
    assert_true(json_object_is_type(get(o, "attachments.0.fields.0.short"), json_type_boolean));
    assert_true(json_object_is_type(get(o, "attachments.0.ts"), json_type_int));
    json_object_put(o);
    outbox_request_free(&r);
    a->kind = CW_ALERT_UP;
    c.type = CW_CHAN_MATTERMOST;
    o = build(&c, &a, 1, &r);
    assert_string_equal(str(o, "attachments.0.color"), "#2EB886");
    json_object_put(o);
    outbox_request_free(&r);
    alert_free(a);
}

static void discord_caps(void **state)
{
    (void)state;
    struct alert_rec *list[80];
    make_alerts(list, 80, CW_ALERT_DOWN, "long-path-name-for-a-long-line-");
    struct cw_channel c = chan(CW_CHAN_DISCORD, "https://discord.test/api/webhooks/1/tok", NULL);
    struct outbox_request r;
    json_object *o = build(&c, list, 80, &r);
    assert_true(strlen(str(o, "content")) <= 2000);
    assert_true(strlen(str(o, "embeds.0.title")) <= 256);
    assert_true(strlen(str(o, "embeds.0.description")) <= 4096);
    assert_non_null(strstr(str(o, "embeds.0.title"), "80 endpoints"));
    assert_int_equal(json_object_get_int64(get(o, "embeds.0.color")), 0xD00000);
    assert_non_null(get(o, "allowed_mentions.parse"));
    assert_int_equal(json_object_array_length(get(o, "allowed_mentions.parse")), 0);
    json_object_put(o);
    outbox_request_free(&r);
    struct alert_rec *a = down_alert();
    o = build(&c, &a, 1, &r);
    assert_string_equal(str(o, "embeds.0.fields.0.name"), "Endpoint");
    assert_string_equal(str(o, "embeds.0.timestamp"), "2026-11-25T04:03:41.000Z");
    json_object_put(o);
    outbox_request_free(&r);
    alert_free(a);
    free_alerts(list, 80);
}

static void teams_adaptive_card(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert();
    struct cw_channel c = chan(CW_CHAN_TEAMS, "https://example.webhook.office.test/x", NULL);
    struct outbox_request r;
    json_object *o = build(&c, &a, 1, &r);
    assert_string_equal(str(o, "type"), "message");
    assert_string_equal(str(o, "attachments.0.contentType"), "application/vnd.microsoft.card.adaptive");
    assert_true(json_object_object_get_ex(get(o, "attachments.0"), "contentUrl", NULL));
    assert_string_equal(str(o, "attachments.0.content.type"), "AdaptiveCard");
    assert_string_equal(str(o, "attachments.0.content.version"), "1.4");
    assert_string_equal(str(o, "attachments.0.content.body.0.type"), "TextBlock");
    assert_string_equal(str(o, "attachments.0.content.body.0.color"), "Attention");
    assert_string_equal(str(o, "attachments.0.content.body.1.type"), "FactSet");
    assert_string_equal(str(o, "attachments.0.content.body.1.facts.0.title"), "Endpoint");
    json_object_put(o);
    outbox_request_free(&r);
    alert_free(a);
}

static void ntfy_headers(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert();
    free(a->name);
    a->name = strdup("evil\r\nX-Injected: 1");
    alert_update_message(a);
    struct cw_channel c = chan(CW_CHAN_NTFY, "https://ntfy.test/alerts", "tk_secret");
    struct outbox_request r;
    assert_int_equal(channel_build_request(&c, &a, 1, &ctx, &r), 0);
    assert_string_equal(r.url, "https://ntfy.test/alerts");
    assert_non_null(strstr(r.body, "Endpoint: "));
    assert_null(strstr(r.body, "is DOWN since")); /* the sentence is the Title, not repeated in the body */
    assert_true(has_header(&r, "Priority: 4")); /* DOWN of an `error` endpoint */
    assert_true(has_header(&r, "Tags: rotating_light,clockwerk,down"));
    assert_true(has_header(&r, "Authorization: Bearer tk_secret"));
    for (size_t i = 0; i < r.n_headers; i++) {
        assert_null(strchr(r.headers[i], '\r'));
        assert_null(strchr(r.headers[i], '\n'));
    }
    outbox_request_free(&r);
    a->severity = CW_SEV_CRITICAL;
    c.token = NULL;
    assert_int_equal(channel_build_request(&c, &a, 1, &ctx, &r), 0);
    assert_true(has_header(&r, "Priority: 5"));
    for (size_t i = 0; i < r.n_headers; i++) assert_null(strstr(r.headers[i], "Authorization"));
    outbox_request_free(&r);
    alert_free(a);
}

static void telegram_send_message(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert();
    struct cw_channel c = chan(CW_CHAN_TELEGRAM, NULL, "123:ABC");
    c.chat_id = "-1001234";
    struct outbox_request r;
    json_object *o = build(&c, &a, 1, &r);
    assert_string_equal(r.url, "https://api.telegram.org/bot123:ABC/sendMessage");
    assert_int_equal(json_object_get_int64(get(o, "chat_id")), -1001234);
    assert_true(json_object_get_boolean(get(o, "disable_web_page_preview")));
    assert_null(get(o, "parse_mode")); /* plain text: nothing read as markup */
    assert_non_null(strstr(str(o, "text"), "DOWN: billing api"));
    assert_int_equal(occurrences(str(o, "text"), "is DOWN since"), 1); /* the title, then the facts */
    json_object_put(o);
    outbox_request_free(&r);
    c.chat_id = "@ops_channel";
    c.url = "http://127.0.0.1:9/tg/";
    o = build(&c, &a, 1, &r);
    assert_string_equal(r.url, "http://127.0.0.1:9/tg/bot123:ABC/sendMessage");
    assert_string_equal(str(o, "chat_id"), "@ops_channel");
    json_object_put(o);
    outbox_request_free(&r);
    alert_free(a);
}

static void gotify_message(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert();
    struct cw_channel c = chan(CW_CHAN_GOTIFY, "https://gotify.test/", "AppTok");
    struct outbox_request r;
    json_object *o = build(&c, &a, 1, &r);
    assert_string_equal(r.url, "https://gotify.test/message");
    assert_true(has_header(&r, "X-Gotify-Key: AppTok"));
    assert_non_null(strstr(str(o, "title"), "DOWN"));
    assert_non_null(strstr(str(o, "message"), "Error: HTTP 500"));
    assert_int_equal(json_object_get_int(get(o, "priority")), 7);
    json_object_put(o);
    outbox_request_free(&r);
    alert_free(a);
}

/* Builds a's PagerDuty event on c: its action; its key into key when key is "", else checked equal to it. */
static void expect_event(const struct cw_channel *c, struct alert_rec *a, const char *action, char *key, size_t len)
{
    struct outbox_request r;
    json_object *o = build(c, &a, 1, &r);
    assert_string_equal(str(o, "event_action"), action);
    if (key[0]) assert_string_equal(str(o, "dedup_key"), key);
    else snprintf(key, len, "%s", str(o, "dedup_key"));
    json_object_put(o);
    outbox_request_free(&r);
}

static void pagerduty_cycle(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert();
    struct cw_channel c = chan(CW_CHAN_PAGERDUTY, NULL, "R0UT1NG");
    struct outbox_request r;
    json_object *o = build(&c, &a, 1, &r);
    assert_string_equal(r.url, "https://events.pagerduty.com/v2/enqueue");
    assert_string_equal(str(o, "routing_key"), "R0UT1NG");
    assert_string_equal(str(o, "event_action"), "trigger");
    assert_string_equal(str(o, "dedup_key"), "clockwerk-0000000000000abc");
    assert_non_null(strstr(str(o, "payload.summary"), "DOWN: billing api"));
    assert_string_equal(str(o, "payload.source"), "api.example.test:8443");
    assert_string_equal(str(o, "payload.severity"), "error");
    assert_string_equal(str(o, "payload.timestamp"), "2026-11-25T04:03:41.000Z");
    assert_string_equal(str(o, "payload.component"), "billing api");
    assert_string_equal(str(o, "payload.group"), "mon1");
    assert_string_equal(str(o, "payload.class"), "down");
    assert_string_equal(str(o, "payload.custom_details.kind"), "down");
    json_object_put(o);
    outbox_request_free(&r);

    a->kind = CW_ALERT_UP; /* the UP of the same incident resolves the same key, without a payload */
    o = build(&c, &a, 1, &r);
    assert_string_equal(str(o, "event_action"), "resolve");
    assert_string_equal(str(o, "dedup_key"), "clockwerk-0000000000000abc");
    assert_null(get(o, "payload"));
    json_object_put(o);
    outbox_request_free(&r);

    a->kind = CW_ALERT_SLOW; /* slow: its own key, a warning at most; fast resolves it */
    char slow_key[64];
    o = build(&c, &a, 1, &r);
    snprintf(slow_key, sizeof slow_key, "%s", str(o, "dedup_key"));
    assert_non_null(strstr(slow_key, "clockwerk-slow-"));
    assert_string_equal(str(o, "payload.severity"), "warning");
    json_object_put(o);
    outbox_request_free(&r);
    a->kind = CW_ALERT_FAST;
    o = build(&c, &a, 1, &r);
    assert_string_equal(str(o, "event_action"), "resolve");
    assert_string_equal(str(o, "dedup_key"), slow_key);
    json_object_put(o);
    outbox_request_free(&r);

    a->kind = CW_ALERT_FLAPPING; /* flapping: its own key, whatever the incident */
    char flap_key[64] = "";
    expect_event(&c, a, "trigger", flap_key, sizeof flap_key);
    assert_non_null(strstr(flap_key, "clockwerk-flap-"));
    a->flap_end = true; /* the flapping's end resolves that key */
    expect_event(&c, a, "resolve", flap_key, sizeof flap_key);
    a->flap_end = false;

    /* no summary: two alerts are refused by the builder (channel_queue makes one job each) */
    struct alert_rec *two[2] = { a, a };
    assert_int_equal(channel_build_request(&c, two, 2, &ctx, &r), -1);
    assert_int_equal(channel_jobs(CW_CHAN_PAGERDUTY, 2), 2);
    assert_int_equal(channel_jobs(CW_CHAN_SLACK, 2), 1);
    alert_free(a);
}

static void opsgenie_cycle(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert();
    a->severity = CW_SEV_CRITICAL;
    struct cw_channel c = chan(CW_CHAN_OPSGENIE, "https://api.eu.opsgenie.test", "G3N1E");
    struct outbox_request r;
    json_object *o = build(&c, &a, 1, &r);
    assert_string_equal(r.url, "https://api.eu.opsgenie.test/v2/alerts");
    assert_true(has_header(&r, "Authorization: GenieKey G3N1E"));
    assert_null(strstr(r.body, "G3N1E")); /* the key only in the header */
    assert_true(strlen(str(o, "message")) <= 130);
    assert_string_equal(str(o, "alias"), "clockwerk-0000000000000abc");
    assert_string_equal(str(o, "priority"), "P1");
    assert_string_equal(str(o, "entity"), "billing api");
    assert_string_equal(str(o, "tags.0"), "clockwerk");
    assert_string_equal(str(o, "tags.1"), "down");
    assert_string_equal(str(o, "details.Status"), "500");
    assert_non_null(strstr(str(o, "description"), "HTTP 500"));
    json_object_put(o);
    outbox_request_free(&r);
    a->kind = CW_ALERT_UP;
    o = build(&c, &a, 1, &r);
    assert_string_equal(r.url,
                        "https://api.eu.opsgenie.test/v2/alerts/clockwerk-0000000000000abc/close?identifierType=alias");
    assert_string_equal(str(o, "source"), "clockwerk@mon1");
    assert_non_null(strstr(str(o, "note"), "UP"));
    json_object_put(o);
    outbox_request_free(&r);
    alert_free(a);
}

static void webhook_headers_and_default(void **state)
{
    (void)state;
    struct alert_rec *a = down_alert();
    char *headers[] = { "content-type: text/plain", "X-Key: k" };
    struct cw_channel c = chan(CW_CHAN_WEBHOOK, "http://127.0.0.1:9/h", NULL);
    c.headers = headers;
    c.n_headers = 2;
    c.body_template = "{{kind}}: {{name}} ({{severity}}, incident {{incident_id}}, {{status}})";
    struct outbox_request r;
    assert_int_equal(channel_build_request(&c, &a, 1, &ctx, &r), 0);
    assert_string_equal(r.body, "down: billing api (error, incident 0000000000000abc, 500)");
    assert_int_equal(r.n_headers, 2); /* the channel's own Content-Type replaces the JSON one */
    outbox_request_free(&r);
    alert_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slack_and_mattermost),
        cmocka_unit_test(discord_caps),
        cmocka_unit_test(teams_adaptive_card),
        cmocka_unit_test(ntfy_headers),
        cmocka_unit_test(telegram_send_message),
        cmocka_unit_test(gotify_message),
        cmocka_unit_test(pagerduty_cycle),
        cmocka_unit_test(opsgenie_cycle),
        cmocka_unit_test(webhook_headers_and_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
