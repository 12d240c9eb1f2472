/* web/pages.c — `/` (a small HTML page: the title and every endpoint with its state and last check, escaped, no
 * JavaScript, nothing from another host), `/healthz` and `/favicon.ico` (see web/pages.h). */
#include "web/pages.h"

#include "common/base/clock.h"
#include "web/html.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define FAVICON_SVG                                                                                      \
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"8\" cy=\"8\" r=\"7\" " \
    "fill=\"#2a7\"/><path d=\"M8 3v5l3 2\" stroke=\"#fff\" stroke-width=\"1.5\" fill=\"none\"/></svg>"

static void put_cstr(struct cw_buf *b, const char *s) { cw_buf_put(b, s, strlen(s)); }

/* "2026-12-05 02:30:00 UTC" from wall-clock microseconds. */
static void put_time(struct cw_buf *b, int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    char s[40];
    if (!gmtime_r(&t, &tm) || strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) return;
    put_cstr(b, s);
}

static void index_row(struct cw_buf *b, const struct web_endpoint *e)
{
    char label[CW_URL_MAX + 8];
    const struct web_live *l = &e->live;
    const char *state = web_state_name(l->state);
    cw_buf_printf(b, "<tr id=\"ep-%s\"><td>", e->id);
    web_html_text(b, web_endpoint_label(e, label, sizeof label));
    cw_buf_printf(b, "</td><td>");
    web_html_text(b, e->cfg->group ? e->cfg->group : "Other");
    cw_buf_printf(b, "</td><td class=\"state %s\">%s%s</td><td>", state, state, l->slow ? " (slow)" : "");
    if (l->has_check) {
        if (l->last.status_code) cw_buf_printf(b, "%u, ", (unsigned)l->last.status_code);
        cw_buf_printf(b, "%.1f ms, ", (double)l->last.latency_us / 1000.0);
        put_time(b, l->last.checked_at_us);
        if (l->last.error) {
            put_cstr(b, ": ");
            web_html_text(b, l->last.error);
        }
    } else {
        put_cstr(b, "no check yet");
    }
    put_cstr(b, "</td></tr>\n");
}

void page_index(const struct web_request *rq, struct web_reply *rp)
{
    struct cw_buf *b = &rp->body;
    rp->content_type = "text/html; charset=utf-8";
    put_cstr(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    web_html_text(b, rq->cfg->web_title);
    put_cstr(b, "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                "td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}.up{color:#1a7f37}"
                ".down{color:#c2290a}.failing{color:#b35900}.unknown{color:#777}</style></head><body><h1>");
    web_html_text(b, rq->cfg->web_title);
    cw_buf_printf(b, "</h1>\n<table><thead><tr><th>Endpoint</th><th>Group</th><th>State</th><th>Last check</th>"
                     "</tr></thead><tbody>\n");
    for (size_t i = 0; i < rq->model->n; i++) index_row(b, &rq->model->endpoints[i]);
    put_cstr(b, "</tbody></table></body></html>\n");
}

/* The history's line of /healthz; false when it is too old (or was never read after the grace). */
static bool healthz_history(const struct web_request *rq, struct cw_buf *b)
{
    const struct web_model *m = rq->model;
    if (m->history_off) return true;
    double period = rq->cfg->web_history_refresh > 0 ? rq->cfg->web_history_refresh : CW_WEB_DEFAULT_HISTORY_REFRESH;
    double limit = WEB_HISTORY_STALE_PERIODS * period;
    bool fresh;
    if (m->history) {
        double age = (double)(cw_wall_us() / 1000 - m->history->read_at_ms) / 1e3;
        fresh = age <= limit;
        cw_buf_printf(b, "history: %zu endpoint%s, read %.0f s ago%s\n", m->history->n,
                      cw_plural((long long)m->history->n), age < 0 ? 0.0 : age, fresh ? "" : " (too old)");
    } else {
        fresh = (double)(rq->now_mono_ns - rq->started_mono_ns) / 1e9 <= limit;
        put_cstr(b, fresh ? "history: not read yet\n" : "history: never read\n");
    }
    if (m->history_error) put_cstr(b, "history: the last read failed (the web's log says why)\n"); /* not public */
    return fresh;
}

void page_healthz(const struct web_request *rq, struct web_reply *rp)
{
    rp->content_type = "text/plain; charset=utf-8";
    const struct web_model *m = rq->model;
    int64_t since = m->bus.last_message_mono_ns ? m->bus.last_message_mono_ns : rq->started_mono_ns;
    struct cw_buf history = { 0 };
    bool history_ok = healthz_history(rq, &history);
    if (!rq->bus_open) {
        rp->status = 503;
        put_cstr(&rp->body, "not subscribed to the bus\n");
    } else if (rq->now_mono_ns - since > WEB_BUS_QUIET_NS) {
        rp->status = 503;
        cw_buf_printf(&rp->body, "no message from the bus for %.0f s\n", (double)(rq->now_mono_ns - since) / 1e9);
    } else if (!history_ok) {
        rp->status = 503;
        put_cstr(&rp->body, "the history is too old\n");
    } else {
        put_cstr(&rp->body, "ok\n");
    }
    if (history.len) cw_buf_put(&rp->body, history.data, history.len);
    cw_buf_free(&history);
}

void page_favicon(const struct web_request *rq, struct web_reply *rp)
{
    (void)rq;
    rp->content_type = "image/svg+xml";
    rp->cache = "public, max-age=86400";
    put_cstr(&rp->body, FAVICON_SVG);
}
