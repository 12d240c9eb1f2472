/* web/pages.c — `/healthz` and `/favicon.ico` (see web/pages.h); the status page is web/page_index.c. */
#include "web/pages.h"

#include <string.h>

#define FAVICON_SVG                                                                                      \
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><circle cx=\"8\" cy=\"8\" r=\"7\" " \
    "fill=\"#2a7\"/><path d=\"M8 3v5l3 2\" stroke=\"#fff\" stroke-width=\"1.5\" fill=\"none\"/></svg>"

static void put_cstr(struct cw_buf *b, const char *s) { cw_buf_put(b, s, strlen(s)); }

void page_healthz(const struct web_request *rq, struct web_reply *rp)
{
    rp->content_type = "text/plain; charset=utf-8";
    const struct web_model *m = rq->model;
    int64_t since = m->bus.last_message_mono_ns ? m->bus.last_message_mono_ns : rq->started_mono_ns;
    if (!rq->bus_open) {
        rp->status = 503;
        put_cstr(&rp->body, "not subscribed to the bus\n");
    } else if (rq->now_mono_ns - since > WEB_BUS_QUIET_NS) {
        rp->status = 503;
        cw_buf_printf(&rp->body, "no message from the bus for %.0f s\n", (double)(rq->now_mono_ns - since) / 1e9);
    } else {
        put_cstr(&rp->body, "ok\n");
    }
}

void page_favicon(const struct web_request *rq, struct web_reply *rp)
{
    (void)rq;
    rp->content_type = "image/svg+xml";
    rp->cache = "public, max-age=86400";
    put_cstr(&rp->body, FAVICON_SVG);
}
