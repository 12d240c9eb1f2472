/* alerter/webhook.c — JSON bodies of webhook calls (see webhook.h for the format). */
#include "alerter/webhook.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "alerter/events.h"
#include "alerter/mail.h"
#include "alerter/state.h"
#include "common/config/config.h"
#include "common/base/clock.h"
#include "common/base/log.h"

static void add_str(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, json_object_new_string(value ? value : ""));
}

static void add_time(json_object *o, const char *key, int64_t us)
{
    char buf[32];
    add_str(o, key, cw_format_iso8601(us, buf, sizeof buf));
}

/* A number given in thousandths, written with at most 3 decimals and at least one ("120.0", "1.235"), so that
 * no binary float noise (119.99989100000001) reaches the receiver. */
static void add_thousandths(json_object *o, const char *key, int64_t thousandths)
{
    char text[48];
    int64_t whole = thousandths / 1000, frac = thousandths % 1000;
    if (frac < 0) frac = -frac;
    int n =
        snprintf(text, sizeof text, "%s%" PRId64 ".%03" PRId64, thousandths < 0 && whole == 0 ? "-" : "", whole, frac);
    while (n > 0 && text[n - 1] == '0' && text[n - 2] != '.') text[--n] = '\0';
    json_object *v = json_object_new_double_s((double)thousandths / 1000.0, text);
    if (!v) fatal(1, "out of memory (json)");
    json_object_object_add(o, key, v);
}

/* The issue-15 fields: incident_id (null: none), severity, detail, the children folded into the incident. */
static void add_incident_fields(json_object *o, const struct alert_rec *a)
{
    char id[24];
    snprintf(id, sizeof id, "%016" PRIx64, a->incident_id);
    if (a->incident_id) add_str(o, "incident_id", id);
    else json_object_object_add(o, "incident_id", NULL);
    const char *sev = config_severity_name((enum cw_severity)a->severity);
    add_str(o, "severity", sev ? sev : "critical");
    add_str(o, "detail", a->detail);
    json_object *kids = json_object_new_array();
    if (!kids) fatal(1, "out of memory (json)");
    for (size_t i = 0; i < a->n_children; i++) {
        json_object *k = json_object_new_object();
        char masked[CW_URL_MAX + 1];
        if (!k) fatal(1, "out of memory (json)");
        cw_mask_url(a->children[i].url ? a->children[i].url : "", masked, sizeof masked);
        add_str(k, "name", a->children[i].name);
        add_str(k, "url", masked);
        add_str(k, "state", astate_avail_name(a->children[i].avail));
        json_object_array_add(kids, k);
    }
    json_object_object_add(o, "children", kids);
}

static json_object *alert_object(const struct alert_rec *a)
{
    char masked[CW_URL_MAX + 1], id[24];
    json_object *o = json_object_new_object();
    if (!o) fatal(1, "out of memory (json)");
    snprintf(id, sizeof id, "%016" PRIx64, a->id);
    cw_mask_url(a->url, masked, sizeof masked);
    add_str(o, "kind", proto_alert_kind_name(a->kind));
    add_str(o, "alert_id", id);
    add_str(o, "url", masked);
    add_str(o, "name", a->name);
    add_time(o, "since", a->since_us);
    add_time(o, "at", a->at_us);
    add_time(o, "raised_at", a->raised_at_us);
    add_str(o, "message", a->message);
    json_object_object_add(o, "status", json_object_new_int(a->last_status));
    if (a->error && a->error[0]) add_str(o, "error", a->error);
    else json_object_object_add(o, "error", NULL); /* null: no error */
    json_object_object_add(o, "count", json_object_new_int64(a->count));
    add_thousandths(o, "duration_s", (a->duration_us + 500) / 1000); /* ms precision */
    add_thousandths(o, "latency_ms", a->last_latency_us);
    add_incident_fields(o, a);
    return o;
}

static void finish(struct cw_buf *out, json_object *root)
{
    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!s) fatal(1, "out of memory (json)");
    cw_buf_reset(out);
    cw_buf_put(out, s, strlen(s) + 1);
    out->len--; /* keep the NUL outside len */
    json_object_put(root);
}

void webhook_build(struct cw_buf *out, struct alert_rec *const *alerts, size_t n)
{
    webhook_build_host(out, alerts, n, NULL);
}

void webhook_build_host(struct cw_buf *out, struct alert_rec *const *alerts, size_t n, const char *hostname)
{
    json_object *root;
    struct cw_buf text = { 0 };
    if (n == 1) {
        root = alert_object(alerts[0]);
        cw_buf_put(&text, "[clockwerk] ", 12);
        cw_buf_put(&text, events_word(alerts[0]->kind), strlen(events_word(alerts[0]->kind)));
        cw_buf_put(&text, ": ", 2);
        cw_buf_put(&text, alerts[0]->message, strlen(alerts[0]->message));
    } else {
        root = json_object_new_object();
        json_object *list = json_object_new_array();
        if (!root || !list) fatal(1, "out of memory (json)");
        char title[256], id[24];
        mail_summary_title(alerts, n, title, sizeof title);
        cw_buf_put(&text, "[clockwerk] ", 12);
        cw_buf_put(&text, title, strlen(title));
        for (size_t i = 0; i < n; i++) {
            json_object_array_add(list, alert_object(alerts[i]));
            if (i == WEBHOOK_TEXT_LINES) {
                char more[64];
                int m = snprintf(more, sizeof more, "\n... and %zu more", n - i);
                cw_buf_put(&text, more, (size_t)m);
            }
            if (i >= WEBHOOK_TEXT_LINES) continue;
            const char *w = events_word(alerts[i]->kind);
            cw_buf_put(&text, "\n", 1);
            cw_buf_put(&text, w, strlen(w));
            cw_buf_put(&text, ": ", 2);
            cw_buf_put(&text, alerts[i]->message, strlen(alerts[i]->message));
        }
        add_str(root, "kind", "summary");
        snprintf(id, sizeof id, "%016" PRIx64, mail_message_key(alerts, n));
        add_str(root, "alert_id", id);
        json_object_object_add(root, "count", json_object_new_int64((int64_t)n));
        json_object_object_add(root, "alerts", list);
    }
    cw_buf_put(&text, "", 1);
    add_str(root, "text", (const char *)text.data);
    if (hostname) add_str(root, "hostname", hostname);
    cw_buf_free(&text);
    finish(out, root);
}

void webhook_build_test(struct cw_buf *out, int64_t now_us)
{
    json_object *root = json_object_new_object();
    if (!root) fatal(1, "out of memory (json)");
    char when[32], text[128];
    snprintf(text, sizeof text, "[clockwerk] test alert sent by `clockwerk --test-alert` at %s",
             cw_format_iso8601(now_us, when, sizeof when));
    add_str(root, "text", text);
    add_str(root, "kind", "test");
    add_time(root, "raised_at", now_us);
    finish(out, root);
}
