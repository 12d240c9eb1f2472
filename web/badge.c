/* web/badge.c — the badges (see web/badge.h): status (the live state), uptime over 30 days (the history
 * snapshot) and latency (the p95 over 24 h from the history, else the last check's). Layout of shields.io's flat
 * style: height 20, 5 px padding each side of each text, the label on #555, the message on its colour, corners
 * rounded 3, a faint gradient, texts drawn at 10x size and scaled by .1 with a shadow 1 px below, textLength
 * fixing each text to its computed width; role="img", aria-label and <title> "label: message". Colours as Gatus
 * and shields name them; a text on a light colour is dark (#333). */
#include "web/badge.h"

#include "web/html.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PADDING 5
#define BRIGHTGREEN "#4c1"
#define GREEN "#97ca00"
#define YELLOWGREEN "#a4a61d"
#define YELLOW "#dfb317"
#define ORANGE "#fe7d37"
#define RED "#e05d44"
#define LIGHTGREY "#9f9f9f"

unsigned web_badge_text_width(const char *s)
{
    unsigned w = (unsigned)ceil(web_text_width_verdana11(s));
    return w % 2 ? w : w + 1;
}

/* Perceived brightness 0..1 of "#rgb" / "#rrggbb" (0 when unreadable). */
static double brightness(const char *color)
{
    unsigned r = 0, g = 0, b = 0;
    size_t n = strlen(color);
    if (n == 4 && sscanf(color, "#%1x%1x%1x", &r, &g, &b) == 3) {
        r *= 17;
        g *= 17;
        b *= 17;
    } else if (n != 7 || sscanf(color, "#%2x%2x%2x", &r, &g, &b) != 3) {
        return 0;
    }
    return (r * 299 + g * 587 + b * 114) / 255000.0;
}

/* A text centred at x (pixels) with its shadow. */
static void text(struct cw_buf *b, const char *s, double center, unsigned width, const char *fill)
{
    cw_buf_printf(b,
                  "<text aria-hidden=\"true\" x=\"%.0f\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" "
                  "transform=\"scale(.1)\" textLength=\"%u\">",
                  center * 10, width * 10);
    web_html_text(b, s);
    cw_buf_printf(b, "</text><text x=\"%.0f\" y=\"140\" transform=\"scale(.1)\" fill=\"%s\" textLength=\"%u\">",
                  center * 10, fill, width * 10);
    web_html_text(b, s);
    put_cstr(b, "</text>");
}

void web_badge_svg(struct cw_buf *b, const char *label, const char *message, const char *color)
{
    unsigned lw = web_badge_text_width(label), mw = web_badge_text_width(message);
    unsigned left = lw + 2 * PADDING, right = mw + 2 * PADDING, total = left + right;
    put_cstr(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"");
    cw_buf_printf(b, "%u\" height=\"20\" role=\"img\" aria-label=\"", total);
    web_html_text(b, label);
    put_cstr(b, ": ");
    web_html_text(b, message);
    put_cstr(b, "\"><title>");
    web_html_text(b, label);
    put_cstr(b, ": ");
    web_html_text(b, message);
    put_cstr(b, "</title><linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" "
                "stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>");
    cw_buf_printf(b, "<clipPath id=\"r\"><rect width=\"%u\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>", total);
    cw_buf_printf(b, "<g clip-path=\"url(#r)\"><rect width=\"%u\" height=\"20\" fill=\"#555\"/>", left);
    cw_buf_printf(b, "<rect x=\"%u\" width=\"%u\" height=\"20\" fill=\"", left, right);
    web_html_text(b, color);
    cw_buf_printf(b, "\"/><rect width=\"%u\" height=\"20\" fill=\"url(#s)\"/></g>", total);
    put_cstr(b, "<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" "
                "text-rendering=\"geometricPrecision\" font-size=\"110\">");
    text(b, label, left / 2.0, lw, "#fff");
    text(b, message, left + right / 2.0, mw, brightness(color) > 0.69 ? "#333" : "#fff");
    put_cstr(b, "</g></svg>");
}

static const char *status_message(const struct web_live *l, const char **color)
{
    static const char *const colors[] = { [WEB_STATE_UNKNOWN] = LIGHTGREY,
                                          [WEB_STATE_UP] = BRIGHTGREEN,
                                          [WEB_STATE_FAILING] = ORANGE,
                                          [WEB_STATE_DOWN] = RED };
    if (l->state == WEB_STATE_UP && l->slow) {
        *color = YELLOW;
        return "slow";
    }
    *color = (unsigned)l->state < sizeof colors / sizeof colors[0] ? colors[l->state] : LIGHTGREY;
    return web_state_name(l->state);
}

static const char *uptime_message(const struct web_endpoint *e, char *buf, size_t len, const char **color)
{
    struct web_window_figures fig, *w = e->hist ? &fig : NULL;
    web_ep_window(e->hist, WEB_WIN_30D, &fig);
    *color = LIGHTGREY;
    if (!w || w->checks <= 0) return "no data";
    double pct = 100.0 * (double)w->ok / (double)w->checks; /* the colour only */
    char num[WEB_NUM_MAX];
    snprintf(buf, len, "%s%%", web_fmt_uptime(num, sizeof num, w->checks, w->ok, 2));
    *color = pct >= 99.9 ? BRIGHTGREEN
             : pct >= 99 ? GREEN
             : pct >= 97 ? YELLOWGREEN
             : pct >= 95 ? YELLOW
             : pct >= 90 ? ORANGE
                         : RED;
    return buf;
}

static const char *latency_message(const struct web_endpoint *e, char *buf, size_t len, const char **color)
{
    struct web_window_figures fig, *w = e->hist ? &fig : NULL;
    web_ep_window(e->hist, WEB_WIN_24H, &fig);
    double ms;
    if (w && w->has_latency) ms = w->p95_ms;
    else if (e->live.has_check && web_us(e->live.last.latency) >= 0) ms = (double)web_us(e->live.last.latency) / 1000.0;
    else {
        *color = LIGHTGREY;
        return "no data";
    }
    web_fmt_latency(buf, len, ms);
    *color = ms < 50    ? BRIGHTGREEN
             : ms < 200 ? GREEN
             : ms < 300 ? YELLOWGREEN
             : ms < 500 ? YELLOW
             : ms < 750 ? ORANGE
                        : RED;
    return buf;
}

static void not_found(struct web_reply *rp)
{
    rp->status = 404;
    rp->content_type = "text/plain; charset=utf-8";
    put_cstr(&rp->body, "not found\n");
}

void web_badge_page(const struct web_request *rq, struct web_reply *rp)
{
    const char *slash, *label, *message, *color;
    const struct web_endpoint *e = web_model_by_path(rq->model, rq->rest, &slash);
    if (!e || *slash != '/') return not_found(rp);
    const char *name = slash + 1;
    char buf[64];
    if (strcmp(name, "status.svg") == 0) {
        label = "status";
        message = status_message(&e->live, &color);
    } else if (strcmp(name, "uptime-30d.svg") == 0) {
        label = "uptime 30d";
        message = uptime_message(e, buf, sizeof buf, &color);
    } else if (strcmp(name, "latency.svg") == 0) {
        label = e->hist && e->hist->win[WEB_WIN_24H].p95 ? "p95 24h" : "latency";
        message = latency_message(e, buf, sizeof buf, &color);
    } else {
        return not_found(rp);
    }
    rp->content_type = "image/svg+xml";
    rp->cache = WEB_BADGE_CACHE;
    web_badge_svg(&rp->body, label, message, color);
}
