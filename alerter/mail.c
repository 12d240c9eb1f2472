/* alerter/mail.c — RFC 5322 alert mails and header sanitising (see mail.h). */
#include "alerter/mail.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alerter/events.h"
#include "common/base/clock.h"
#include "common/config/config.h"

#define LINE_MAX_BYTES 998 /* RFC 5322 2.1.1, without CRLF */
#define FOLD_AT 76

void mail_sanitize_header(const char *in, char *out, size_t len)
{
    if (len == 0) return;
    size_t cap = len - 1;
    if (cap > MAIL_HEADER_VALUE_MAX) cap = MAIL_HEADER_VALUE_MAX;
    size_t o = 0;
    bool space = true; /* drop leading spaces */
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && o < cap; p++) {
        unsigned char c = *p;
        if (c < 0x20 || c == 0x7f || c == ' ') {
            if (!space) out[o++] = ' ';
            space = true;
            continue;
        }
        out[o++] = c >= 0x80 ? '?' : (char)c;
        space = false;
    }
    while (o > 0 && out[o - 1] == ' ') o--;
    out[o] = '\0';
}

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

/* From, To (folded), Date, Message-ID, Subject and the MIME headers, then the blank line. */
static void put_headers(struct cw_buf *b, const struct mail_params *mp, const char *msgid, const char *subject)
{
    char date[40], clean[MAIL_HEADER_VALUE_MAX + 1];
    mail_format_date(mp->date_us, date, sizeof date);
    cw_buf_printf(b, "Date: %s\r\n", date);
    cw_buf_printf(b, "Message-ID: %s\r\n", msgid);
    mail_sanitize_header(mp->from, clean, sizeof clean);
    cw_buf_printf(b, "From: %s\r\n", clean);
    put_to(b, mp->to, mp->n_to);
    mail_sanitize_header(subject, clean, sizeof clean);
    cw_buf_printf(b, "Subject: %s\r\n", clean);
    put_str(b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
               "Auto-Submitted: auto-generated\r\nX-Mailer: clockwerk " CW_VERSION "\r\n\r\n");
}

/* The fields of one alert in the body. */
static void put_alert_fields(struct cw_buf *b, const struct alert_rec *a)
{
    char masked[CW_URL_MAX + 1], tmp[CW_ERROR_MAX + 64], since[32], at[32];
    cw_mask_url(a->url, masked, sizeof masked);
    cw_format_iso8601(a->since_us, since, sizeof since);
    cw_format_iso8601(a->at_us, at, sizeof at);
    put_field(b, "URL:", masked);
    if (a->name[0]) put_field(b, "Name:", a->name);
    if (a->kind == CW_ALERT_TLS_EXPIRY) /* since is the certificate's expiry date */
        snprintf(tmp, sizeof tmp, "TLS certificate %s %s", a->duration_us > 0 ? "expires at" : "expired at", since);
    else snprintf(tmp, sizeof tmp, "%s since %s", a->kind == CW_ALERT_REMINDER ? "DOWN" : events_word(a->kind), since);
    put_field(b, "State:", tmp);
    switch (a->kind) {
    case CW_ALERT_DOWN:
    case CW_ALERT_REMINDER:
        snprintf(tmp, sizeof tmp, "%" PRIu32, a->count);
        put_field(b, "Failed checks:", tmp);
        if (a->kind == CW_ALERT_REMINDER) {
            alert_format_duration(a->duration_us, tmp, sizeof tmp);
            put_field(b, "Down for:", tmp);
        }
        alert_last_result(a, ", ", true, tmp, sizeof tmp);
        put_field(b, "Last result:", tmp);
        break;
    case CW_ALERT_UP:
        alert_format_duration(a->duration_us, tmp, sizeof tmp);
        put_field(b, "Downtime:", tmp);
        snprintf(tmp, sizeof tmp, "%" PRIu32, a->count);
        put_field(b, "Failed checks:", tmp);
        alert_last_result(a, ", ", true, tmp, sizeof tmp);
        put_field(b, "Last result:", tmp);
        break;
    case CW_ALERT_SLOW:
    case CW_ALERT_FAST:
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
        break;
    default:
        break;
    }
    put_field(b, "Detected at:", at);
    snprintf(tmp, sizeof tmp, "%016" PRIx64, a->id);
    put_field(b, "Alert id:", tmp);
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

void mail_build(struct cw_buf *out, const struct mail_params *mp, struct alert_rec *const *alerts, size_t n)
{
    cw_buf_reset(out);
    char msgid[64], subject[CW_URL_MAX + CW_NAME_MAX + 128], masked[CW_URL_MAX + 1];
    snprintf(msgid, sizeof msgid, "<%016" PRIx64 "@clockwerk>", mail_message_key(alerts, n));
    if (n == 1) {
        const struct alert_rec *a = alerts[0];
        cw_mask_url(a->url, masked, sizeof masked);
        if (a->name[0])
            snprintf(subject, sizeof subject, "[clockwerk] %s: %s (%s)", events_word(a->kind), a->name, masked);
        else snprintf(subject, sizeof subject, "[clockwerk] %s: %s", events_word(a->kind), masked);
    } else {
        char title[256];
        mail_summary_title(alerts, n, title, sizeof title);
        snprintf(subject, sizeof subject, "[clockwerk] %s", title);
    }
    put_headers(out, mp, msgid, subject);
    size_t body = out->len;
    if (n == 1) {
        const struct alert_rec *a = alerts[0];
        char who[CW_URL_MAX + 1];
        alert_display_name(a, who, sizeof who);
        put_body_text(out, who);
        cw_buf_printf(out, " %s.\r\n\r\n", events_phrase(a->kind));
        put_alert_fields(out, a);
    } else {
        cw_buf_printf(out, "%zu alerts within one check interval, listed together instead of one mail each.\r\n", n);
        for (size_t i = 0; i < n; i++) {
            char who[CW_URL_MAX + 1];
            alert_display_name(alerts[i], who, sizeof who);
            cw_buf_printf(out, "\r\n%zu. %s: ", i + 1, events_word(alerts[i]->kind));
            put_body_text(out, who);
            put_str(out, "\r\n");
            put_alert_fields(out, alerts[i]);
        }
    }
    put_str(out, "\r\n-- \r\nclockwerk alerter\r\n");
    wrap_long_lines(out, body);
}

void mail_build_test(struct cw_buf *out, const struct mail_params *mp, uint64_t nonce)
{
    cw_buf_reset(out);
    char msgid[64], when[32];
    snprintf(msgid, sizeof msgid, "<test-%016" PRIx64 "@clockwerk>", nonce);
    put_headers(out, mp, msgid, "[clockwerk] test alert");
    cw_format_iso8601(mp->date_us, when, sizeof when);
    cw_buf_printf(out,
                  "This is a test mail sent by `clockwerk --test-alert` at %s.\r\n"
                  "If you can read it, the mail settings of Clockwerk work.\r\n\r\n-- \r\nclockwerk alerter\r\n",
                  when);
}
