/* alerter/mail.c — RFC 5322 alert mails: headers, the body of one alert or a summary (see mail.h). */
#include "alerter/mail.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alerter/events.h"
#include "alerter/state.h"
#include "common/base/clock.h"
#include "common/config/config.h"

#define LINE_MAX_BYTES 998 /* RFC 5322 2.1.1, without CRLF */
#define FOLD_AT 76

/* Appends text for the body: control characters (CR, LF included) become spaces; UTF-8 is kept. */
static void put_body_text(struct cw_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char c = (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p;
        cw_buf_put(b, &c, 1);
    }
}

static void put_str(struct cw_buf *b, const char *s) { cw_buf_put(b, s, strlen(s)); }

/* One body line "Label: value" (value cleaned), CRLF-terminated. */
static void put_field(struct cw_buf *b, const char *label, const char *value)
{
    cw_buf_printf(b, "%-14s ", label);
    put_body_text(b, value);
    put_str(b, "\r\n");
}

static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

void mail_format_date(int64_t wall_us, char *out, size_t len)
{
    time_t t = (time_t)(wall_us / 1000000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 +0000");
        return;
    }
    snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", wday[tm.tm_wday % 7], tm.tm_mday, month[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

uint64_t mail_message_key(struct alert_rec *const *alerts, size_t n)
{
    if (n == 1) return alerts[0]->id;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 8; k++) {
            h ^= (alerts[i]->id >> (8 * k)) & 0xff;
            h *= 0x100000001b3ULL;
        }
    }
    return h ? h : 1;
}

/* The To: field, folded before FOLD_AT columns, CRLF-terminated. */
static void put_to(struct cw_buf *b, char *const *to, size_t n_to)
{
    char clean[MAIL_HEADER_VALUE_MAX + 1];
    put_str(b, "To: ");
    size_t col = 4;
    for (size_t i = 0; i < n_to; i++) {
        mail_sanitize_header(to[i], clean, sizeof clean);
        size_t w = strlen(clean);
        if (i > 0) {
            if (col + w + 2 > FOLD_AT) {
                put_str(b, ",\r\n ");
                col = 1;
            } else {
                put_str(b, ", ");
                col += 2;
            }
        }
        put_str(b, clean);
        col += w;
    }
    put_str(b, "\r\n");
}

/* Where the To: field starts in the header block msg[0..end), or SIZE_MAX. */
static size_t find_to_field(const char *msg, size_t end)
{
    for (size_t i = 0; i + 3 <= end; i++) {
        bool line_start = i == 0 || (i >= 2 && msg[i - 2] == '\r' && msg[i - 1] == '\n');
        if (line_start && strncasecmp(msg + i, "To:", 3) == 0) return i;
    }
    return SIZE_MAX;
}

bool mail_rewrite_to(struct cw_buf *out, const char *msg, size_t len, char *const *to, size_t n_to)
{
    cw_buf_reset(out);
    const char *blank = memmem(msg, len, "\r\n\r\n", 4);
    size_t header_end = blank ? (size_t)(blank - msg) + 2 : len;
    size_t start = find_to_field(msg, header_end);
    if (start == SIZE_MAX) return false;
    size_t stop = start; /* past the field's CRLF and its folded continuation lines */
    do {
        const char *crlf = memmem(msg + stop, header_end - stop, "\r\n", 2);
        stop = crlf ? (size_t)(crlf - msg) + 2 : header_end;
    } while (stop < header_end && (msg[stop] == ' ' || msg[stop] == '\t'));
    cw_buf_put(out, msg, start);
    put_to(out, to, n_to);
    size_t field_len = out->len - start;
    bool same = field_len == stop - start && memcmp(out->data + start, msg + start, field_len) == 0;
    cw_buf_put(out, msg + stop, len - stop);
    return !same;
}

/* Date, Message-ID, In-Reply-To and References (reply_to != 0), From, To, Subject (the last two folded) and the
 * MIME headers, then the blank line. */
static void put_headers(struct cw_buf *b, const struct mail_params *mp, const char *msgid, uint64_t reply_to,
                        const char *subject)
{
    char date[40], host[256];
    mail_format_date(mp->date_us, date, sizeof date);
    cw_buf_printf(b, "Date: %s\r\n", date);
    cw_buf_printf(b, "Message-ID: %s\r\n", msgid);
    if (reply_to) {
        mail_clean_host(mp->hostname, host, sizeof host);
        cw_buf_printf(b, "In-Reply-To: <%016" PRIx64 "@%s>\r\n", reply_to, host);
        cw_buf_printf(b, "References: <%016" PRIx64 "@%s>\r\n", reply_to, host);
    }
    mail_put_from(b, mp->from);
    put_to(b, mp->to, mp->n_to);
    mail_put_unstructured(b, "Subject", subject);
    put_str(b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
               "Auto-Submitted: auto-generated\r\nX-Mailer: clockwerk " CW_VERSION "\r\n\r\n");
}

/* The Message-ID of the mail known by key: "<KEY@HOST>" (prefix "test-" for the test mail). */
static void format_msgid(const struct mail_params *mp, const char *prefix, uint64_t key, char *out, size_t len)
{
    char host[256];
    mail_clean_host(mp->hostname, host, sizeof host);
    snprintf(out, len, "<%s%016" PRIx64 "@%s>", prefix, key, host);
}

/* The children folded into a parent's incident (depends_on), with their state when the alert was made. */
static void put_children(struct cw_buf *b, const struct alert_rec *a)
{
    if (a->n_children == 0) return;
    cw_buf_printf(b, "\r\n%s (%zu, depending on it):\r\n",
                  a->kind == CW_ALERT_UP ? "Folded into this incident" : "Also affected", a->n_children);
    for (size_t i = 0; i < a->n_children; i++) {
        const struct alert_child *c = &a->children[i];
        char masked[CW_URL_MAX + 1];
        cw_mask_url(c->url ? c->url : "", masked, sizeof masked);
        put_str(b, "  - ");
        put_body_text(b, c->name && c->name[0] ? c->name : masked);
        if (c->name && c->name[0]) {
            put_str(b, " (");
            put_body_text(b, masked);
            put_str(b, ")");
        }
        put_str(b, c->avail == ASTATE_DOWN ? ": DOWN\r\n" : c->avail == ASTATE_UP ? ": UP\r\n" : ": unknown\r\n");
    }
}

/* The "State:" line: what the endpoint is and since when. */
static void put_state(struct cw_buf *b, const struct alert_rec *a, const char *zone)
{
    char tmp[CW_ERROR_MAX + 128], since[64], left[64];
    mail_format_time(a->since_us, zone, since, sizeof since);
    if (a->kind == CW_ALERT_TLS_EXPIRY) { /* since is the certificate's expiry date */
        mail_format_left(a->duration_us, left, sizeof left);
        if (a->duration_us > 0) snprintf(tmp, sizeof tmp, "TLS certificate expires in %s, at %s", left, since);
        else snprintf(tmp, sizeof tmp, "TLS certificate expired %s ago, at %s", left, since);
    } else if (a->kind == CW_ALERT_REMINDER || a->kind == CW_ALERT_ESCALATION) {
        snprintf(tmp, sizeof tmp, "DOWN since %s", since);
    } else {
        snprintf(tmp, sizeof tmp, "%s since %s", events_word(a->kind), since);
    }
    put_field(b, "State:", tmp);
}

/* The lines of a kind: failed checks, downtime, latency. */
static void put_kind_fields(struct cw_buf *b, const struct alert_rec *a)
{
    char tmp[CW_ERROR_MAX + 64];
    bool down = a->kind == CW_ALERT_DOWN || a->kind == CW_ALERT_REMINDER || a->kind == CW_ALERT_ESCALATION;
    if (down || a->kind == CW_ALERT_UP || a->kind == CW_ALERT_FLAPPING) {
        if (a->kind == CW_ALERT_ESCALATION && a->escalation) {
            snprintf(tmp, sizeof tmp, "step %" PRIu32, a->escalation);
            put_field(b, "Escalation:", tmp);
        }
        if ((a->kind == CW_ALERT_REMINDER || a->kind == CW_ALERT_ESCALATION) && a->duration_us > 0) {
            alert_format_duration(a->duration_us, tmp, sizeof tmp);
            put_field(b, "Down for:", tmp);
        } else if (a->kind == CW_ALERT_UP) {
            alert_format_duration(a->duration_us, tmp, sizeof tmp);
            put_field(b, "Downtime:", tmp);
        }
        if (a->kind != CW_ALERT_FLAPPING) {
            snprintf(tmp, sizeof tmp, "%" PRIu32, a->count);
            put_field(b, "Failed checks:", tmp);
        }
        alert_last_result(a, ", ", true, tmp, sizeof tmp);
        put_field(b, "Last result:", tmp);
    } else if (a->kind == CW_ALERT_SLOW || a->kind == CW_ALERT_FAST) {
        snprintf(tmp, sizeof tmp, "%.1f ms (threshold %.1f ms)", (double)a->last_latency_us / 1e3,
                 (double)a->threshold_us / 1e3);
        put_field(b, "Latency:", tmp);
        if (a->kind == CW_ALERT_SLOW) {
            snprintf(tmp, sizeof tmp, "%" PRIu32, a->count);
            put_field(b, "Slow checks:", tmp);
        } else {
            alert_format_duration(a->duration_us, tmp, sizeof tmp);
            put_field(b, "Slow for:", tmp);
        }
    }
}

/* The fields of one alert in the body. */
static void put_alert_fields(struct cw_buf *b, const struct alert_rec *a, const char *zone)
{
    char masked[CW_URL_MAX + 1], tmp[64];
    cw_mask_url(a->url, masked, sizeof masked);
    put_field(b, "URL:", masked);
    if (a->name[0]) put_field(b, "Name:", a->name);
    put_state(b, a, zone);
    put_kind_fields(b, a);
    if (a->detail && a->detail[0]) put_field(b, "Detail:", a->detail);
    mail_format_time(a->at_us, zone, tmp, sizeof tmp);
    put_field(b, "Detected at:", tmp);
    if (a->incident_id && a->incident_id != a->id) {
        snprintf(tmp, sizeof tmp, "%016" PRIx64, a->incident_id);
        put_field(b, "Incident id:", tmp);
    }
    snprintf(tmp, sizeof tmp, "%016" PRIx64, a->id);
    put_field(b, "Alert id:", tmp);
    put_children(b, a);
}

/* Rewrites body lines longer than LINE_MAX_BYTES by inserting CRLF (body starts at `from`). */
static void wrap_long_lines(struct cw_buf *b, size_t from)
{
    size_t run = 0;
    bool needed = false;
    for (size_t i = from; i < b->len; i++) {
        if (b->data[i] == '\n') run = 0;
        else if (++run > LINE_MAX_BYTES - 2) needed = true;
    }
    if (!needed) return;
    struct cw_buf out = { 0 };
    cw_buf_put(&out, b->data, from);
    run = 0;
    for (size_t i = from; i < b->len; i++) {
        if (b->data[i] == '\n') run = 0;
        else if (b->data[i] != '\r' && run >= LINE_MAX_BYTES - 2) {
            cw_buf_put(&out, "\r\n", 2);
            run = 0;
        }
        if (b->data[i] != '\n' && b->data[i] != '\r') run++;
        cw_buf_put(&out, &b->data[i], 1);
    }
    cw_buf_free(b);
    *b = out;
}

/* "Monitored from: HOST": which installation saw it (the host name as given, cleaned for the body). */
static void put_monitored_from(struct cw_buf *b, const struct mail_params *mp)
{
    put_str(b, "\r\nMonitored from: ");
    put_body_text(b, mp->hostname && mp->hostname[0] ? mp->hostname : "clockwerk");
    put_str(b, "\r\n");
}

/* A state change (DOWN, UP, SLOW, FAST), as opposed to a reminder or a certificate expiry. */
static bool changes_state(unsigned kind)
{
    return kind == CW_ALERT_DOWN || kind == CW_ALERT_UP || kind == CW_ALERT_SLOW || kind == CW_ALERT_FAST;
}

void mail_summary_title(struct alert_rec *const *alerts, size_t n, char *out, size_t len)
{
    unsigned per_kind[CW_ALERT_KIND_MAX + 1] = { 0 };
    bool all_change = true;
    for (size_t i = 0; i < n; i++) {
        if (alerts[i]->kind <= CW_ALERT_KIND_MAX) per_kind[alerts[i]->kind]++;
        if (!changes_state(alerts[i]->kind)) all_change = false;
    }
    if (n > 0 && per_kind[CW_ALERT_REMINDER] == n) {
        snprintf(out, len, "%zu endpoints still down", n);
        return;
    }
    if (n > 0 && per_kind[CW_ALERT_TLS_EXPIRY] == n) {
        snprintf(out, len, "%zu TLS certificates expire soon", n);
        return;
    }
    int used = snprintf(out, len, all_change ? "%zu endpoints changed state:" : "%zu alerts:", n);
    const char *sep = " ";
    for (unsigned k = 1; k <= CW_ALERT_KIND_MAX && used > 0 && (size_t)used < len; k++) {
        if (!per_kind[k]) continue;
        used += snprintf(out + used, len - (size_t)used, "%s%u %s", sep, per_kind[k], events_word(k));
        sep = ", ";
    }
}

/* The subject of a mail about one alert: "[clockwerk] WORD: name (masked url)"; the endpoint text is the same
 * for every alert of an endpoint, so a DOWN and its follow-ups read as one conversation. */
static void one_alert_subject(const struct alert_rec *a, char *out, size_t len)
{
    char masked[CW_URL_MAX + 1], what[CW_URL_MAX + CW_NAME_MAX + 8], word[96], left[64];
    cw_mask_url(a->url, masked, sizeof masked);
    if (a->name[0]) snprintf(what, sizeof what, "%s (%s)", a->name, masked);
    else snprintf(what, sizeof what, "%s", masked);
    if (a->kind == CW_ALERT_TLS_EXPIRY) { /* how long is left first: a long URL may be cut */
        mail_format_left(a->duration_us, left, sizeof left);
        if (a->duration_us > 0) snprintf(word, sizeof word, "TLS EXPIRY in %s", left);
        else snprintf(word, sizeof word, "TLS EXPIRED %s ago", left);
    } else {
        snprintf(word, sizeof word, "%s", events_word(a->kind));
    }
    snprintf(out, len, "[clockwerk] %s: %s", word, what);
}

void mail_build(struct cw_buf *out, const struct mail_params *mp, struct alert_rec *const *alerts, size_t n)
{
    cw_buf_reset(out);
    char msgid[300], subject[CW_URL_MAX + CW_NAME_MAX + 128];
    format_msgid(mp, "", mail_message_key(alerts, n), msgid, sizeof msgid);
    if (n == 1) {
        one_alert_subject(alerts[0], subject, sizeof subject);
    } else {
        char title[256];
        mail_summary_title(alerts, n, title, sizeof title);
        snprintf(subject, sizeof subject, "[clockwerk] %s", title);
    }
    put_headers(out, mp, msgid, n == 1 ? mail_thread_key(alerts[0]) : 0, subject);
    size_t body = out->len;
    if (n == 1) {
        const struct alert_rec *a = alerts[0];
        char who[CW_URL_MAX + 1];
        alert_display_name(a, who, sizeof who);
        put_body_text(out, who);
        cw_buf_printf(out, " %s.\r\n\r\n", events_phrase(a->kind));
        put_alert_fields(out, a, mp->time_zone);
    } else {
        cw_buf_printf(out, "%zu alerts within one check interval, listed together instead of one mail each.\r\n", n);
        for (size_t i = 0; i < n; i++) {
            char who[CW_URL_MAX + 1];
            alert_display_name(alerts[i], who, sizeof who);
            cw_buf_printf(out, "\r\n%zu. %s: ", i + 1, events_word(alerts[i]->kind));
            put_body_text(out, who);
            put_str(out, "\r\n");
            put_alert_fields(out, alerts[i], mp->time_zone);
        }
    }
    put_monitored_from(out, mp);
    put_str(out, "\r\n-- \r\nclockwerk alerter\r\n");
    wrap_long_lines(out, body);
}

void mail_build_test(struct cw_buf *out, const struct mail_params *mp, uint64_t nonce)
{
    cw_buf_reset(out);
    char msgid[300], when[64];
    format_msgid(mp, "test-", nonce, msgid, sizeof msgid);
    put_headers(out, mp, msgid, 0, "[clockwerk] test alert");
    mail_format_time(mp->date_us, mp->time_zone, when, sizeof when);
    cw_buf_printf(out,
                  "This is a test mail sent by `clockwerk --test-alert` at %s.\r\n"
                  "If you can read it, the mail settings of Clockwerk work.\r\n",
                  when);
    put_monitored_from(out, mp);
    put_str(out, "\r\n-- \r\nclockwerk alerter\r\n");
}
