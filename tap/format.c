/* tap/format.c — the tap's output lines: plain text for people, one JSON object per line (built with
 * json-c, never by hand) for programs. Keys of a result object are the `checks` columns of the database
 * plus `url`, `type` ("result") and `check_type` (endpoints.type); `details` is the figures as a JSON object;
 * durations are milliseconds as numbers, null for a phase that was not reached. */
#include "tap/format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/base/clock.h"
#include "common/config/config.h"

#define SHOWN_URL_MAX (CW_URL_MAX + 16) /* masking may lengthen a very short userinfo ("a@" -> "***@") */

void tap_shown_url(const char *url, char *out, size_t outlen) { cw_mask_url(url ? url : "", out, outlen); }

/* ---- plain text */

/* Appends s with control characters (and DEL) shown as '?': nothing from the wire can move the cursor,
 * clear the screen or start a new line. */
static void put_clean(struct cw_buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        unsigned char c = (*p < 0x20 || *p == 0x7f) ? '?' : *p;
        cw_buf_put(out, &c, 1);
    }
}

static void put_ms(struct cw_buf *out, int64_t us)
{
    if (us < 0) cw_buf_printf(out, "-");
    else cw_buf_printf(out, "%.1fms", (double)us / 1000.0);
}

static int finish_line(struct cw_buf *out)
{
    cw_buf_put(out, "\n", 1);
    return (int)out->len;
}

/* ---- JSON helpers: each returns 0, or -1 when json-c could not allocate */

static int add(struct json_object *o, const char *key, struct json_object *v)
{
    if (!v) return -1;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

static int add_null(struct json_object *o, const char *key) { return json_object_object_add(o, key, NULL); }

/* Wire text made valid UTF-8 for JSON (strings and object keys). JSON is UTF-8: a byte that is not part of
 * valid UTF-8 (a Latin-1 name, a cut sequence from an old sender) becomes U+FFFD, so that every consumer can
 * parse every line. Returns s itself when it is valid, else the cleaned copy in tmp (NUL-terminated). */
static const char *utf8_clean(const char *s, struct cw_buf *tmp)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t i = 0, len = strlen((const char *)p);
    while (i < len) {
        size_t n = cw_utf8_seq_len(p + i);
        if (!n) break;
        i += n;
    }
    if (i == len) return (const char *)p;
    cw_buf_put(tmp, p, i); /* the valid start */
    while (i < len) {
        size_t n = cw_utf8_seq_len(p + i);
        if (n) {
            cw_buf_put(tmp, p + i, n);
            i += n;
        } else {
            cw_buf_put(tmp, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    cw_buf_put(tmp, "", 1);
    return (const char *)tmp->data;
}

static int add_str(struct json_object *o, const char *key, const char *s)
{
    struct cw_buf clean = { 0 };
    int rc = add(o, key, json_object_new_string(utf8_clean(s, &clean)));
    cw_buf_free(&clean);
    return rc;
}

static int add_time(struct json_object *o, const char *key, int64_t wall_us)
{
    char stamp[40];
    return add_str(o, key, cw_format_iso8601(wall_us, stamp, sizeof stamp));
}

static int add_hex(struct json_object *o, const char *key, uint64_t v)
{
    char hex[24];
    snprintf(hex, sizeof hex, "%016" PRIx64, v);
    return add_str(o, key, hex);
}

/* Milliseconds with microsecond precision ("12.345"), or null when the phase was not reached (-1). */
static int add_signed_ms(struct json_object *o, const char *key, int64_t us)
{
    char text[40];
    double ms = (double)us / 1000.0;
    snprintf(text, sizeof text, "%.3f", ms);
    return add(o, key, json_object_new_double_s(ms, text));
}

static int add_ms(struct json_object *o, const char *key, int64_t us)
{
    return us < 0 ? add_null(o, key) : add_signed_ms(o, key, us);
}

/* Serialises obj as one line into out, and releases obj. */
static int json_line(struct cw_buf *out, struct json_object *obj, int rc)
{
    if (rc == 0) {
        const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s) rc = -1;
        else cw_buf_put(out, s, strlen(s));
    }
    json_object_put(obj);
    if (rc != 0) return -1;
    return finish_line(out);
}

/* ---- results */

/* The check type's name ("http", "dns", ...; "?" for a kind this build does not know). */
static const char *kind_name(uint8_t kind)
{
    const char *name = config_check_type_name((enum cw_check_type)kind);
    return name ? name : "?";
}

/* The result's figures as a json-c object (NULL when it has none: the decoder let only one JSON object through,
 * so a parse failure means memory ran out). */
static struct json_object *figures_of(const struct cw_result *r, int *rc)
{
    if (!r->figures || !r->figures[0]) return NULL;
    struct json_object *f = json_tokener_parse(r->figures);
    if (!f) *rc = -1;
    return f;
}

/* Plain text: " KIND FIGURES" (compact JSON on one line) for every result but an http one without figures, which
 * prints as it always did. */
static int put_kind_figures(struct cw_buf *out, const struct cw_result *r)
{
    if (r->kind == 0 && (!r->figures || !r->figures[0])) return 0;
    cw_buf_printf(out, " %s", kind_name(r->kind));
    int rc = 0;
    struct json_object *f = figures_of(r, &rc);
    if (f) {
        const char *s = json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (s) {
            cw_buf_put(out, " ", 1);
            put_clean(out, s); /* control characters are escaped by json-c already */
        } else {
            rc = -1;
        }
        json_object_put(f);
    }
    return rc;
}

int tap_format_result(struct cw_buf *out, const struct cw_result *r, bool json)
{
    char url[SHOWN_URL_MAX];
    char stamp[40];
    tap_shown_url(r->url, url, sizeof url);
    cw_format_iso8601(r->checked_at_us, stamp, sizeof stamp);
    bool has_error = !r->ok && r->error && r->error[0];
    cw_buf_reset(out);
    if (!json) {
        cw_buf_printf(out, "%s ", stamp);
        put_clean(out, url);
        cw_buf_printf(out, " %u ", (unsigned)r->status_code);
        put_ms(out, r->latency_us);
        if (r->location && r->location[0] && strcmp(r->location, "local") != 0) {
            cw_buf_put(out, " location=", 10);
            put_clean(out, r->location);
        }
        if (put_kind_figures(out, r) != 0) return -1;
        cw_buf_printf(out, " %s", r->ok ? "OK" : "FAIL");
        if (has_error) {
            cw_buf_put(out, " ", 1);
            put_clean(out, r->error);
        }
        return finish_line(out);
    }
    struct json_object *o = json_object_new_object();
    if (!o) return -1;
    int rc = add_str(o, "type", "result");
    rc = rc ? rc : add_time(o, "checked_at", r->checked_at_us);
    rc = rc ? rc : add_str(o, "url", url);
    rc = rc ? rc : add(o, "status_code", json_object_new_int(r->status_code));
    rc = rc ? rc : add_ms(o, "latency_ms", r->latency_us);
    rc = rc ? rc : add(o, "ok", json_object_new_boolean(r->ok));
    rc = rc ? rc : (has_error ? add_str(o, "error", r->error) : add_null(o, "error"));
    rc = rc ? rc : add_ms(o, "dns_ms", r->dns_us);
    rc = rc ? rc : add_ms(o, "connect_ms", r->connect_us);
    rc = rc ? rc : add_ms(o, "tls_ms", r->tls_us);
    rc = rc ? rc : add_ms(o, "ttfb_ms", r->ttfb_us);
    rc = rc ? rc : add(o, "worker", json_object_new_int64(r->worker));
    rc = rc ? rc : add_hex(o, "boot_id", r->boot_id);
    rc = rc ? rc : add(o, "seq", json_object_new_uint64(r->seq));
    rc = rc ? rc
            : (r->tls_expires_at_us > 0 ? add_time(o, "tls_expires_at", r->tls_expires_at_us)
                                        : add_null(o, "tls_expires_at"));
    rc = rc ? rc : add_str(o, "check_type", kind_name(r->kind));
    rc = rc ? rc : add_str(o, "location", r->location ? r->location : "");
    struct json_object *figures = rc ? NULL : figures_of(r, &rc);
    rc = rc ? rc : (figures ? add(o, "details", figures) : add_null(o, "details"));
    return json_line(out, o, rc);
}

/* ---- alerts */

int tap_format_alert(struct cw_buf *out, const struct cw_alert *a, bool json)
{
    char url[SHOWN_URL_MAX];
    char stamp[40];
    tap_shown_url(a->url, url, sizeof url);
    cw_format_iso8601(a->raised_at_us, stamp, sizeof stamp);
    const char *kind = proto_alert_kind_name(a->kind);
    const char *email = proto_delivery_name(a->email_state);
    const char *webhook = proto_delivery_name(a->webhook_state);
    const char *muted = proto_mute_name(a->muted);
    cw_buf_reset(out);
    if (!json) {
        cw_buf_printf(out, "%s ALERT %s ", stamp, kind ? kind : "?");
        put_clean(out, url);
        if (a->name && a->name[0]) {
            cw_buf_put(out, " (", 2);
            put_clean(out, a->name);
            cw_buf_put(out, ")", 1);
        }
        cw_buf_printf(out, " email=%s webhook=%s", email ? email : "?", webhook ? webhook : "?");
        if (a->muted != CW_MUTE_NONE) cw_buf_printf(out, " muted=%s", muted ? muted : "?");
        if (a->incident_id && a->incident_id != a->alert_id)
            cw_buf_printf(out, " incident=%016" PRIx64, a->incident_id);
        if (a->deliveries && a->deliveries[0]) {
            cw_buf_put(out, " deliveries=", 12);
            put_clean(out, a->deliveries);
        }
        cw_buf_put(out, ": ", 2);
        put_clean(out, a->message);
        return finish_line(out);
    }
    struct json_object *o = json_object_new_object();
    if (!o) return -1;
    int rc = add_str(o, "type", "alert");
    rc = rc ? rc : add_hex(o, "alert_id", a->alert_id);
    rc = rc ? rc : add_time(o, "raised_at", a->raised_at_us);
    rc = rc ? rc : add_str(o, "kind", kind ? kind : "?");
    rc = rc ? rc : add_str(o, "url", url);
    rc = rc ? rc : add_str(o, "name", a->name);
    rc = rc ? rc : add_str(o, "message", a->message);
    rc = rc ? rc : add_str(o, "email_state", email ? email : "?");
    rc = rc ? rc : add_str(o, "webhook_state", webhook ? webhook : "?");
    rc = rc ? rc : add_str(o, "muted", muted ? muted : "?");
    rc = rc ? rc : (a->incident_id ? add_hex(o, "incident_id", a->incident_id) : add_null(o, "incident_id"));
    rc = rc ? rc : add_str(o, "deliveries", a->deliveries ? a->deliveries : "");
    return json_line(out, o, rc);
}

/* ---- stats */

int tap_format_stats(struct cw_buf *out, const struct cw_stats *s, bool json)
{
    char stamp[40];
    cw_format_iso8601(s->at_us, stamp, sizeof stamp);
    cw_buf_reset(out);
    if (!json) {
        cw_buf_printf(out, "stats ");
        put_clean(out, s->role);
        cw_buf_printf(out, " %u boot %016" PRIx64 ":", (unsigned)s->id, s->boot_id);
        for (unsigned i = 0; i < s->count && i < CW_STATS_MAX; i++) {
            cw_buf_put(out, " ", 1);
            put_clean(out, s->items[i].name);
            cw_buf_printf(out, "=%" PRId64, s->items[i].value);
        }
        return finish_line(out);
    }
    struct json_object *o = json_object_new_object();
    if (!o) return -1;
    int rc = add_str(o, "type", "stats");
    rc = rc ? rc : add_str(o, "role", s->role);
    rc = rc ? rc : add(o, "id", json_object_new_int64(s->id));
    rc = rc ? rc : add_hex(o, "boot_id", s->boot_id);
    rc = rc ? rc : add_time(o, "at", s->at_us);
    struct json_object *counters = rc ? NULL : json_object_new_object();
    if (!rc && !counters) rc = -1;
    for (unsigned i = 0; !rc && i < s->count && i < CW_STATS_MAX; i++) {
        struct cw_buf clean = { 0 }; /* a counter name is a key: valid UTF-8 like every string */
        rc = add(counters, utf8_clean(s->items[i].name, &clean), json_object_new_int64(s->items[i].value));
        cw_buf_free(&clean);
    }
    if (counters) {
        if (rc == 0) rc = add(o, "counters", counters);
        else json_object_put(counters);
    }
    return json_line(out, o, rc);
}

/* ---- locations (issue 16) */

/* " (2 workers, offset +0.1ms, rtt 0.4ms, heard 2026-...)": what is known of one location. */
static void put_location_detail(struct cw_buf *out, const struct cw_location_state *l)
{
    const char *sep = " (";
    if (l->workers) {
        cw_buf_printf(out, "%s%u worker%s", sep, (unsigned)l->workers, cw_plural(l->workers));
        sep = ", ";
    }
    if (l->offset_us != CW_OFFSET_UNKNOWN) {
        cw_buf_printf(out, "%soffset %+.1fms, rtt %.1fms", sep, (double)l->offset_us / 1000.0,
                      (double)l->rtt_us / 1000.0);
        sep = ", ";
    }
    if (l->last_heard_us) {
        char stamp[40];
        cw_buf_printf(out, "%sheard %s", sep, cw_format_iso8601(l->last_heard_us, stamp, sizeof stamp));
        sep = ", ";
    }
    if (sep[0] == ',') cw_buf_put(out, ")", 1);
}

static int add_location(struct json_object *list, const struct cw_location_state *l)
{
    struct json_object *o = json_object_new_object();
    if (!o) return -1;
    int rc = add_str(o, "name", l->name);
    rc = rc ? rc : add_str(o, "state", proto_location_state_name(l->state));
    rc = rc ? rc : (l->last_heard_us ? add_time(o, "last_heard", l->last_heard_us) : add_null(o, "last_heard"));
    rc = rc ? rc
            : (l->offset_us != CW_OFFSET_UNKNOWN ? add_signed_ms(o, "offset_ms", l->offset_us)
                                                 : add_null(o, "offset_ms"));
    rc = rc ? rc : (l->rtt_us >= 0 ? add_ms(o, "rtt_ms", l->rtt_us) : add_null(o, "rtt_ms"));
    rc = rc ? rc : add(o, "workers", json_object_new_int64(l->workers));
    if (rc == 0 && json_object_array_add(list, o) == 0) return 0;
    json_object_put(o);
    return -1;
}

int tap_format_locations(struct cw_buf *out, const struct cw_locations_msg *m, bool json)
{
    char stamp[40];
    cw_format_iso8601(m->at_us, stamp, sizeof stamp);
    cw_buf_reset(out);
    if (!json) {
        cw_buf_printf(out, "%s LOCATIONS", stamp);
        for (unsigned i = 0; i < m->count && i < CW_LOCATIONS_MAX; i++) {
            cw_buf_put(out, i ? "; " : " ", i ? 2 : 1);
            put_clean(out, m->loc[i].name);
            cw_buf_printf(out, " %s", proto_location_state_name(m->loc[i].state));
            put_location_detail(out, &m->loc[i]);
        }
        if (m->count == 0) cw_buf_printf(out, " (none)");
        return finish_line(out);
    }
    struct json_object *o = json_object_new_object();
    if (!o) return -1;
    int rc = add_str(o, "type", "locations");
    rc = rc ? rc : add_time(o, "at", m->at_us);
    struct json_object *list = rc ? NULL : json_object_new_array();
    if (!rc && !list) rc = -1;
    for (unsigned i = 0; !rc && i < m->count && i < CW_LOCATIONS_MAX; i++) rc = add_location(list, &m->loc[i]);
    if (list) {
        if (rc == 0) rc = add(o, "locations", list);
        else json_object_put(list);
    }
    return json_line(out, o, rc);
}
