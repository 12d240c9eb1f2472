/* alerter/channel_incident.c — the incident services (docs/alerts.md "Channels"), one alert per request:
 *   pagerduty (Events API v2): POST {url or https://events.pagerduty.com}/v2/enqueue, JSON {"routing_key" (the
 *     channel's token), "event_action": "trigger" | "resolve", "dedup_key", "client": "Clockwerk", and for a
 *     trigger "payload": {"summary" (<= 1024), "source" (the endpoint's host), "severity" (critical | error |
 *     warning | info), "timestamp", "component" (the endpoint's name), "group" (the monitoring host), "class"
 *     (the kind), "custom_details" (the webhook body's fields of the alert)}};
 *   opsgenie (Alert API v2): with "Authorization: GenieKey KEY", POST {url or https://api.opsgenie.com}/v2/alerts
 *     JSON {"message" (<= 130), "alias" (the dedup key), "description" (<= 15000), "priority" P1 ... P5 by
 *     severity, "source", "entity", "tags", "details" (string values)}; to close: POST
 *     {base}/v2/alerts/{alias}/close?identifierType=alias JSON {"source", "note"}.
 * The dedup key (alias) of an alert: "clockwerk-" + its incident id in 16 hex digits (DOWN, REMINDER,
 * ESCALATION, UP: the UP resolves the DOWN's incident); "clockwerk-flap-" + a hash of the endpoint's URL for
 * FLAPPING (the alert that ends flapping resolves it: channel_queue adds that event); "clockwerk-ep-" + a hash of the endpoint's URL
 * when the alert has no incident id; "clockwerk-slow-" + that hash for SLOW (triggered) and FAST (resolves it);
 * "clockwerk-tls-" + that hash for TLS_EXPIRY. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/channel_int.h"
#include "alerter/webhook.h"
#include "common/base/clock.h"
#include "common/base/log.h"

#define PD_SUMMARY_MAX 1024
#define OG_MESSAGE_MAX 130
#define OG_DESCRIPTION_MAX 15000
#define OG_SOURCE_MAX 100
#define OG_ENTITY_MAX 512

void channel_dedup_key(const struct alert_rec *a, char *out, size_t len)
{
    uint64_t ep = cw_hash64(a->url ? a->url : "");
    if (a->kind == CW_ALERT_SLOW || a->kind == CW_ALERT_FAST) snprintf(out, len, "clockwerk-slow-%016" PRIx64, ep);
    else if (a->kind == CW_ALERT_FLAPPING) snprintf(out, len, "clockwerk-flap-%016" PRIx64, ep);
    else if (a->kind == CW_ALERT_TLS_EXPIRY) snprintf(out, len, "clockwerk-tls-%016" PRIx64, ep);
    else if (a->incident_id) snprintf(out, len, "clockwerk-%016" PRIx64, a->incident_id);
    else snprintf(out, len, "clockwerk-ep-%016" PRIx64, ep);
}

bool channel_resolves(unsigned kind) { return kind == CW_ALERT_UP || kind == CW_ALERT_FAST; }

/* Whether a's event resolves (closes) its key: an UP, a FAST, the end of flapping (a FLAPPING with flap_end, as
 * channel_queue makes it for the alert that ends flapping). */
static bool resolves(const struct alert_rec *a)
{
    return channel_resolves(a->kind) || (a->kind == CW_ALERT_FLAPPING && a->flap_end);
}

/* The severity the service is told: the endpoint's, at most "warning" for a warning (slow, TLS expiry,
 * flapping), "info" for good news and tests. */
static enum cw_severity event_severity(const struct alert_rec *a)
{
    enum cw_severity sev = a->severity <= CW_SEV_CRITICAL ? (enum cw_severity)a->severity : CW_SEV_CRITICAL;
    int g = chan_gravity(a->kind);
    if (g == 0) return CW_SEV_INFO;
    if (g == 1 && sev > CW_SEV_WARNING) return CW_SEV_WARNING;
    return sev;
}

/* The endpoint's host (from its masked URL, without credentials or port), or "clockwerk". */
static void endpoint_host(const struct alert_rec *a, char *out, size_t len)
{
    char masked[CW_URL_MAX + 1];
    cw_mask_url(a->url ? a->url : "", masked, sizeof masked);
    const char *h = strstr(masked, "://");
    h = h ? h + 3 : masked;
    const char *at = strchr(h, '@'), *end = h + strcspn(h, "/?#");
    if (at && at < end) h = at + 1;
    size_t n = (size_t)(end - h);
    if (n == 0) snprintf(out, len, "clockwerk");
    else snprintf(out, len, "%.*s", (int)n, h);
}

/* The webhook body's object of alert a (without "text"): the custom details. */
static json_object *alert_details(struct alert_rec *a, const struct chan_ctx *ctx)
{
    struct cw_buf b = { 0 };
    struct alert_rec *one[1] = { a };
    webhook_build_host(&b, one, 1, ctx->hostname);
    json_object *o = json_tokener_parse((const char *)b.data);
    cw_buf_free(&b);
    if (!o) fatal(1, "cannot read back the webhook body");
    json_object_object_del(o, "text");
    return o;
}

static void one_line(const struct alert_rec *a, char *out, size_t len)
{
    struct alert_rec *const one[1] = { (struct alert_rec *)a };
    char *title = chan_title_text(one, 1, true);
    snprintf(out, len, "%s", title);
    free(title);
}

void chan_fmt_pagerduty(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                        const struct chan_ctx *ctx, struct outbox_request *req)
{
    (void)n;
    struct alert_rec *a = alerts[0];
    char key[64], line[2048];
    channel_dedup_key(a, key, sizeof key);
    json_object *root = cw_jnew(json_object_new_object());
    chan_json_str(root, "routing_key", c->token, 0);
    chan_json_str(root, "event_action", resolves(a) ? "resolve" : "trigger", 0);
    chan_json_str(root, "dedup_key", key, 0);
    chan_json_str(root, "client", "Clockwerk", 0);
    if (!resolves(a)) {
        json_object *p = cw_jnew(json_object_new_object());
        char host[256], name[512], when[32];
        one_line(a, line, sizeof line);
        endpoint_host(a, host, sizeof host);
        chan_display_name(a, name, sizeof name);
        chan_json_str(p, "summary", line, PD_SUMMARY_MAX);
        chan_json_str(p, "source", host, 0);
        chan_json_str(p, "severity", config_severity_name(event_severity(a)), 0);
        chan_json_str(p, "timestamp", cw_format_iso8601(a->raised_at_us, when, sizeof when), 0);
        chan_json_str(p, "component", name, 0);
        chan_json_str(p, "group", ctx->hostname && ctx->hostname[0] ? ctx->hostname : "clockwerk", 0);
        const char *kind = proto_alert_kind_name(a->kind);
        chan_json_str(p, "class", kind ? kind : "test", 0);
        json_object_object_add(p, "custom_details", alert_details(a, ctx));
        json_object_object_add(root, "payload", p);
    }
    req->method = "POST";
    req->url = chan_url_join(c->url && c->url[0] ? c->url : "https://events.pagerduty.com", "/v2/enqueue");
    outbox_request_header(req, "Content-Type", "application/json");
    chan_json_body(req, root);
}

/* Opsgenie's "source": clockwerk@HOST. */
static void opsgenie_source(const struct chan_ctx *ctx, char *out, size_t len)
{
    snprintf(out, len, "clockwerk%s%s", ctx->hostname ? "@" : "", ctx->hostname ? ctx->hostname : "");
}

static const char *opsgenie_priority(enum cw_severity sev)
{
    static const char *const p[] = { "P5", "P3", "P2", "P1" }; /* info, warning, error, critical */
    return p[sev <= CW_SEV_CRITICAL ? sev : CW_SEV_CRITICAL];
}

static json_object *opsgenie_create(struct alert_rec *a, const struct chan_ctx *ctx, const char *key)
{
    json_object *root = cw_jnew(json_object_new_object());
    char line[2048], name[512], source[OG_SOURCE_MAX + 1];
    one_line(a, line, sizeof line);
    chan_display_name(a, name, sizeof name);
    opsgenie_source(ctx, source, sizeof source);
    chan_json_str(root, "message", line, OG_MESSAGE_MAX);
    chan_json_str(root, "alias", key, 0);
    struct cw_buf desc = { 0 };
    struct chan_fact facts[CHAN_FACTS_MAX];
    size_t k = chan_facts(a, ctx, facts);
    cw_buf_printf(&desc, "%s", a->message ? a->message : "");
    json_object *details = cw_jnew(json_object_new_object());
    for (size_t i = 0; i < k; i++) {
        cw_buf_printf(&desc, "\n%s: %s", facts[i].title, facts[i].value);
        chan_json_str(details, facts[i].title, facts[i].value, 0);
    }
    cw_buf_put(&desc, "", 1);
    chan_json_str(root, "description", (const char *)desc.data, OG_DESCRIPTION_MAX);
    cw_buf_free(&desc);
    chan_json_str(root, "priority", opsgenie_priority(event_severity(a)), 0);
    chan_json_str(root, "source", source, OG_SOURCE_MAX);
    chan_json_str(root, "entity", name, OG_ENTITY_MAX);
    json_object *tags = cw_jnew(json_object_new_array());
    const char *kind = proto_alert_kind_name(a->kind);
    json_object_array_add(tags, cw_jnew(json_object_new_string("clockwerk")));
    json_object_array_add(tags, cw_jnew(json_object_new_string(kind ? kind : "test")));
    json_object_object_add(root, "tags", tags);
    json_object_object_add(root, "details", details);
    return root;
}

void chan_fmt_opsgenie(const struct cw_channel *c, struct alert_rec *const *alerts, size_t n,
                       const struct chan_ctx *ctx, struct outbox_request *req)
{
    (void)n;
    struct alert_rec *a = alerts[0];
    char key[64], path[160];
    channel_dedup_key(a, key, sizeof key);
    const char *base = c->url && c->url[0] ? c->url : "https://api.opsgenie.com";
    json_object *root;
    if (resolves(a)) {
        char line[2048], source[OG_SOURCE_MAX + 1];
        one_line(a, line, sizeof line);
        opsgenie_source(ctx, source, sizeof source);
        root = cw_jnew(json_object_new_object());
        chan_json_str(root, "source", source, OG_SOURCE_MAX);
        chan_json_str(root, "note", line, 0);
        snprintf(path, sizeof path, "/v2/alerts/%s/close?identifierType=alias", key); /* the key is URL-safe */
    } else {
        root = opsgenie_create(a, ctx, key);
        snprintf(path, sizeof path, "/v2/alerts");
    }
    req->method = "POST";
    req->url = chan_url_join(base, path);
    outbox_request_header(req, "Content-Type", "application/json");
    char value[512], auth[540];
    chan_header_value(c->token, value, sizeof value);
    snprintf(auth, sizeof auth, "GenieKey %s", value);
    outbox_request_header(req, "Authorization", auth);
    chan_json_body(req, root);
}
