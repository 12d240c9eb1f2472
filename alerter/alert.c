/* alerter/alert.c — alert records: ids, the one-line message, durations (see alert.h). */
#include "alerter/alert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/events.h"
#include "common/base/clock.h"
#include "common/base/util.h"

uint64_t alert_make_id(const char *url, unsigned kind, int64_t since_us, uint32_t seq)
{
    /* FNV-1a 64 over url, then the numbers as text: stable across machines and releases. */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    char tail[96];
    int n = snprintf(tail, sizeof tail, "|%u|%" PRId64 "|%" PRIu32, kind, since_us, seq);
    for (int i = 0; i < n && i < (int)sizeof tail; i++) {
        h ^= (unsigned char)tail[i];
        h *= 0x100000001b3ULL;
    }
    return h ? h : 1;
}

void alert_format_duration(int64_t us, char *out, size_t len)
{
    if (us < 0) us = 0;
    int64_t s = us / 1000000;
    if (s < 60) snprintf(out, len, "%.1fs", (double)us / 1e6);
    else if (s < 3600) snprintf(out, len, "%" PRId64 "m %02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400) snprintf(out, len, "%" PRId64 "h %02" PRId64 "m %02" PRId64 "s", s / 3600, s / 60 % 60, s % 60);
    else snprintf(out, len, "%" PRId64 "d %02" PRId64 "h %02" PRId64 "m", s / 86400, s / 3600 % 24, s / 60 % 60);
}

void alert_display_name(const struct alert_rec *a, char *out, size_t len)
{
    if (a->name && a->name[0]) snprintf(out, len, "%s", a->name);
    else cw_mask_url(a->url, out, len);
}

void alert_last_result(const struct alert_rec *a, const char *sep, bool with_latency, char *out, size_t len)
{
    char lat[48] = "";
    if (with_latency && a->last_latency_us >= 0)
        snprintf(lat, sizeof lat, ", %.1f ms", (double)a->last_latency_us / 1e3);
    if (a->error[0] && a->last_status) snprintf(out, len, "HTTP %u%s%.*s", a->last_status, sep, CW_ERROR_MAX, a->error);
    else if (a->error[0]) snprintf(out, len, "%.*s", CW_ERROR_MAX, a->error);
    else if (a->last_status) snprintf(out, len, "HTTP %u%s", a->last_status, lat);
    else snprintf(out, len, "ok%s", lat); /* an ok check of a type without an HTTP status (tcp, dns, push, ...) */
}

void alert_update_message(struct alert_rec *a)
{
    char masked[CW_URL_MAX + 1], since[32], dur[48], what[CW_URL_MAX + CW_NAME_MAX + 8];
    cw_mask_url(a->url, masked, sizeof masked);
    if (a->name && a->name[0]) snprintf(what, sizeof what, "%s (%s)", a->name, masked);
    else snprintf(what, sizeof what, "%s", masked);
    cw_format_iso8601(a->since_us, since, sizeof since);
    alert_format_duration(a->duration_us, dur, sizeof dur);
    char last[CW_ERROR_MAX + 64];
    alert_last_result(a, ": ", false, last, sizeof last);

    char buf[CW_MESSAGE_MAX];
    switch (a->kind) {
    case CW_ALERT_DOWN:
        snprintf(buf, sizeof buf, "%s is DOWN since %s: %" PRIu32 " check%s failed, last: %s", what, since, a->count,
                 cw_plural(a->count), last);
        break;
    case CW_ALERT_UP:
        snprintf(buf, sizeof buf, "%s is UP again since %s after %s down (%" PRIu32 " check%s failed)", what, since,
                 dur, a->count, cw_plural(a->count));
        break;
    case CW_ALERT_SLOW:
        snprintf(buf, sizeof buf, "%s is SLOW since %s: %" PRIu32 " check%s in a row above %.0f ms, last %.1f ms", what,
                 since, a->count, cw_plural(a->count), (double)a->threshold_us / 1000.0,
                 (double)a->last_latency_us / 1000.0);
        break;
    case CW_ALERT_FAST:
        snprintf(buf, sizeof buf, "%s is FAST again since %s after %s slow, last %.1f ms", what, since, dur,
                 (double)a->last_latency_us / 1000.0);
        break;
    case CW_ALERT_TLS_EXPIRY: {
        char left[48];
        /* INT64_MIN has no positive twin: clamp before negating. */
        int64_t ago = a->duration_us < -INT64_MAX ? INT64_MAX : a->duration_us;
        alert_format_duration(ago < 0 ? -ago : ago, left, sizeof left);
        if (a->duration_us > 0)
            snprintf(buf, sizeof buf, "%s has a TLS certificate that expires at %s (in %s)", what, since, left);
        else snprintf(buf, sizeof buf, "%s has a TLS certificate that EXPIRED at %s (%s ago)", what, since, left);
        break;
    }
    case CW_ALERT_REMINDER:
        snprintf(buf, sizeof buf, "%s is still DOWN since %s (%s, %" PRIu32 " check%s failed), last: %s", what, since,
                 dur, a->count, cw_plural(a->count), last);
        break;
    case CW_ALERT_FLAPPING:
        snprintf(buf, sizeof buf, "%s is FLAPPING since %s", what, since);
        break;
    case CW_ALERT_ESCALATION:
        snprintf(buf, sizeof buf, "%s is still DOWN since %s (%s) and not acknowledged: escalation step %" PRIu32, what,
                 since, dur, a->escalation);
        break;
    case CW_ALERT_LOCATION_SILENT: /* issue 16: url "location:NAME", name NAME; detail: the last clock offset */
        snprintf(buf, sizeof buf, "location %s silent: nothing heard since %s", a->name, since);
        break;
    case CW_ALERT_LOCATION_BACK:
        snprintf(buf, sizeof buf, "location %s back after %s", a->name, dur);
        break;
    default:
        snprintf(buf, sizeof buf, "%s %s since %s", what, events_phrase(a->kind), since);
        break;
    }
    if (a->detail && a->detail[0]) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, " (%s)", a->detail);
    }
    free(a->message);
    a->message = cw_xstrdup(buf);
}

struct alert_rec *alert_new(uint8_t kind, const char *url, const char *name, const char *error, int64_t since_us,
                            int64_t at_us, int64_t duration_us, uint32_t count, uint32_t seq, int64_t raised_at_us)
{
    struct alert_rec *a = cw_xcalloc(1, sizeof *a);
    a->kind = kind;
    a->url = cw_xstrdup(url);
    a->name = cw_xstrdup(name ? name : "");
    a->error = cw_xstrdup(error ? error : "");
    a->since_us = since_us;
    a->at_us = at_us;
    a->duration_us = duration_us;
    a->count = count;
    a->seq = seq;
    a->raised_at_us = raised_at_us;
    a->last_latency_us = -1; /* not known until the caller sets it from the last check */
    a->detail = cw_xstrdup("");
    a->deliveries = cw_xstrdup("");
    a->id = alert_make_id(url, kind, since_us, seq);
    alert_update_message(a);
    return a;
}

void alert_free(struct alert_rec *a)
{
    if (!a) return;
    free(a->url);
    free(a->name);
    free(a->error);
    free(a->message);
    for (size_t i = 0; i < a->n_children; i++) {
        free(a->children[i].name);
        free(a->children[i].url);
    }
    free(a->children);
    free(a->detail);
    for (size_t i = 0; i < a->n_dl; i++) free(a->dl[i].chan);
    free(a->dl);
    free(a->deliveries);
    free(a);
}

void alert_to_wire(const struct alert_rec *a, struct cw_alert *w)
{
    memset(w, 0, sizeof *w);
    w->alert_id = a->id;
    w->raised_at_us = a->raised_at_us;
    w->kind = a->kind;
    w->email_state = a->email_state;
    w->webhook_state = a->webhook_state;
    w->url = a->url;
    w->name = a->name;
    w->message = a->message;
    w->incident_id = a->incident_id;
    w->muted = a->muted;
    w->deliveries = a->deliveries ? a->deliveries : "";
}

struct alert_delivery *alert_add_delivery(struct alert_rec *a, const char *chan, bool email, uint8_t state)
{
    a->dl = cw_xrealloc(a->dl, (a->n_dl + 1) * sizeof *a->dl);
    struct alert_delivery *d = &a->dl[a->n_dl++];
    *d = (struct alert_delivery){ .chan = cw_xstrdup(chan), .email = email, .state = state };
    return d;
}

struct alert_delivery *alert_delivery_of(const struct alert_rec *a, const char *chan)
{
    for (size_t i = 0; chan && i < a->n_dl; i++)
        if (strcmp(a->dl[i].chan, chan) == 0) return &a->dl[i];
    return NULL;
}

bool alert_pending(const struct alert_rec *a)
{
    for (size_t i = 0; i < a->n_dl; i++)
        if (a->dl[i].pending) return true;
    return false;
}

/* The aggregate state of the deliveries whose email flag is email. */
static uint8_t aggregate(const struct alert_rec *a, bool email)
{
    size_t n = 0, pending = 0, muted = 0, failed = 0;
    for (size_t i = 0; i < a->n_dl; i++) {
        if (a->dl[i].email != email) continue;
        n++;
        pending += a->dl[i].state == CW_DELIVERY_PENDING;
        muted += a->dl[i].state == CW_DELIVERY_MUTED;
        failed += a->dl[i].state == CW_DELIVERY_FAILED;
    }
    if (n == 0) return CW_DELIVERY_NONE;
    if (pending) return CW_DELIVERY_PENDING;
    if (muted == n) return CW_DELIVERY_MUTED;
    return failed ? CW_DELIVERY_FAILED : CW_DELIVERY_SENT;
}

void alert_update_deliveries(struct alert_rec *a)
{
    if (a->n_dl) {
        a->email_state = aggregate(a, true);
        a->webhook_state = aggregate(a, false);
    }
    struct cw_buf b = { 0 };
    for (size_t i = 0; i < a->n_dl; i++) {
        const char *state = proto_delivery_name(a->dl[i].state);
        if (i) cw_buf_put(&b, ",", 1);
        cw_buf_put(&b, a->dl[i].chan, strlen(a->dl[i].chan));
        cw_buf_put(&b, "=", 1);
        cw_buf_put(&b, state ? state : "?", strlen(state ? state : "?"));
    }
    free(a->deliveries);
    a->deliveries = cw_xmalloc(b.len + 1);
    if (b.len) memcpy(a->deliveries, b.data, b.len);
    a->deliveries[b.len] = '\0';
    cw_buf_free(&b);
}
