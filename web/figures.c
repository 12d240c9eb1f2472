/* web/figures.c — the figures of a check as the web shows them (web/figures.h): json-c parses them once per result
 * of a type beyond HTTP (an http result has none: no cost for it); the headline and the API value read the parsed
 * copy. */
#include "web/figures.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/wire/jsonshape.h"
#include "history/window.h"

static void copy_string(struct json_object *o, const char *key, char *out, size_t len)
{
    struct json_object *v = NULL;
    if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        snprintf(out, len, "%s", json_object_get_string(v));
}

static double number(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v)) return -1;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) return -1;
    return json_object_get_double(v);
}

const struct web_figures *web_check_fig(const struct web_check *c)
{
    static const struct web_figures none = { .answers = -1, .loss_pct = -1, .rtt_avg_ms = -1, .push_gap_s = -1 };
    return c->fig ? c->fig : &none;
}

void web_figures_parse(const char *figures, struct web_figures *f)
{
    *f = (struct web_figures){ .answers = -1, .loss_pct = -1, .rtt_avg_ms = -1, .push_gap_s = -1 };
    if (!figures || !figures[0]) return;
    struct json_object *o = json_tokener_parse(figures);
    if (!o) return;
    if (json_object_is_type(o, json_type_object)) {
        /* the reply's answers: the kept array is at most 64 and within the figures' budget; answers_total says
         * how many the reply had when the check kept fewer, answers_cut how many the budget left out */
        struct json_object *a = NULL;
        if (json_object_object_get_ex(o, "answers", &a) && json_object_is_type(a, json_type_array)) {
            double cut = number(o, "answers_cut");
            f->answers = (int32_t)json_object_array_length(a) + (cut > 0 && cut < 65536 ? (int32_t)cut : 0);
        }
        double total = number(o, "answers_total");
        if (total >= 0 && total < 65536) f->answers = (int32_t)total;
        copy_string(o, "rcode", f->rcode, sizeof f->rcode);
        copy_string(o, "version", f->tls_version, sizeof f->tls_version);
        f->loss_pct = number(o, "loss_pct");
        f->rtt_avg_ms = number(o, "rtt_avg_ms");
        copy_string(o, "status", f->push_status, sizeof f->push_status);
        f->push_gap_s = number(o, "gap_s");
    }
    json_object_put(o);
}

/* Milliseconds in three significant digits ("0.052", "1.23", "123"), whole ones from 1,000 on. */
static void fmt_ms(char *out, size_t len, double ms)
{
    if (ms >= 1000) snprintf(out, len, "%.0f", ms);
    else snprintf(out, len, "%.3g", ms);
}

/* "N s", "N min", "N h", "N days" for an age in milliseconds. */
static void fmt_age(char *out, size_t len, int64_t ms)
{
    int64_t s = ms > 0 ? ms / 1000 : 0;
    if (s < 120) snprintf(out, len, "%" PRId64 " s", s);
    else if (s < 7200) snprintf(out, len, "%" PRId64 " min", s / 60);
    else if (s < 172800) snprintf(out, len, "%" PRId64 " h", s / 3600);
    else snprintf(out, len, "%" PRId64 " days", s / 86400);
}

static void tls_headline(const struct web_check *c, int64_t now_ms, char *buf, size_t len)
{
    const struct web_figures *fg = web_check_fig(c);
    char left[48] = "";
    if (c->tls_expires_at_us > 0) {
        int64_t ms = c->tls_expires_at_us / 1000 - now_ms;
        if (ms < 0) snprintf(left, sizeof left, "expired");
        else if (ms < WIN_DAY_MS) snprintf(left, sizeof left, "%" PRId64 " h left", ms / WIN_HOUR_MS);
        else snprintf(left, sizeof left, "%" PRId64 " days left", ms / WIN_DAY_MS);
    }
    snprintf(buf, len, "%s%s%s", fg->tls_version, fg->tls_version[0] && left[0] ? ", " : "", left);
}

static void icmp_headline(const struct web_check *c, char *buf, size_t len)
{
    const struct web_figures *fg = web_check_fig(c);
    char loss[24] = "", avg[24];
    if (fg->loss_pct >= 0)
        snprintf(loss, sizeof loss, fg->loss_pct == (double)(int64_t)fg->loss_pct ? "%.0f%% loss" : "%.1f%% loss",
                 fg->loss_pct);
    if (fg->rtt_avg_ms < 0 || fg->loss_pct >= 100) {
        snprintf(buf, len, "%s", loss);
        return;
    }
    fmt_ms(avg, sizeof avg, fg->rtt_avg_ms);
    snprintf(buf, len, "%s%savg %s ms", loss, loss[0] ? ", " : "", avg);
}

int64_t web_push_last_call_us(const struct web_figures *f, int64_t checked_at_us)
{
    if (strcmp(f->push_status, "up") == 0 || strcmp(f->push_status, "down") == 0) return checked_at_us;
    if (strcmp(f->push_status, "missing") == 0 && f->push_gap_s >= 0 && f->push_gap_s * 1e6 < (double)checked_at_us)
        return checked_at_us - (int64_t)(f->push_gap_s * 1e6 + 0.5);
    return 0;
}

const char *web_headline(const struct web_endpoint *e, int64_t now_ms, char *buf, size_t len)
{
    const struct web_live *l = &e->live;
    const struct web_check *c = &l->last;
    const struct web_figures *fg = web_check_fig(c);
    char num[32];
    buf[0] = '\0';
    if (e->cfg->type == CW_CHECK_PUSH) {
        if (!l->last_call_us) snprintf(buf, len, "no call yet");
        else fmt_age(num, sizeof num, now_ms - l->last_call_us / 1000), snprintf(buf, len, "last call %s ago", num);
        return buf;
    }
    if (!l->has_check) return buf;
    switch (e->cfg->type) {
    case CW_CHECK_TCP: {
        int64_t us = web_us(c->phase[1]) >= 0 ? web_us(c->phase[1]) : web_us(c->latency); /* connect, else total */
        if (us >= 0) fmt_ms(num, sizeof num, (double)us / 1000.0), snprintf(buf, len, "connect %s ms", num);
        break;
    }
    case CW_CHECK_TLS:
        tls_headline(c, now_ms, buf, len);
        break;
    case CW_CHECK_DNS:
        if (fg->answers >= 0)
            snprintf(buf, len, "%s%s%d answer%s", fg->rcode, fg->rcode[0] ? ", " : "", (int)fg->answers,
                     fg->answers == 1 ? "" : "s");
        else snprintf(buf, len, "%s", fg->rcode);
        break;
    case CW_CHECK_ICMP:
        icmp_headline(c, buf, len);
        break;
    default:
        break;
    }
    return buf;
}

void web_put_details(struct cw_buf *b, const char *figures)
{
    size_t n = figures ? strlen(figures) : 0;
    if (n > 0 && json_is_object(figures, n)) cw_buf_put(b, figures, n);
    else cw_buf_put(b, "null", 4);
}
