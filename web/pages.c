/* web/pages.c — `/healthz` and `/favicon.ico` (see web/pages.h); the status page is web/page_index.c. */
#include "web/pages.h"

#include "common/base/clock.h"
#include "web/html.h"

#include <stdio.h>
#include <string.h>

#define FAVICON_SVG                                                                                      \
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"8\" cy=\"8\" r=\"7\" " \
    "fill=\"#2a7\"/><path d=\"M8 3v5l3 2\" stroke=\"#fff\" stroke-width=\"1.5\" fill=\"none\"/></svg>"

/* The history's line of /healthz; false when it is too old (or was never read after the grace). */
static bool healthz_history(const struct web_request *rq, struct cw_buf *b)
{
    const struct web_model *m = rq->model;
    if (m->history_off) return true;
    double period = rq->cfg->web_history_refresh > 0 ? rq->cfg->web_history_refresh : CW_WEB_DEFAULT_HISTORY_REFRESH;
    double limit = WEB_HISTORY_STALE_PERIODS * web_history_period(period, m->history ? m->history->read_seconds : 0);
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
