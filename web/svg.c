/* web/svg.c — the response-time chart (see web/svg.h). The plot is a fixed 960×280 viewBox scaled by CSS; each
 * run of hours with data is drawn as closed paths through the hours' centres (a run's ends reach the edges of its
 * first and last hour, so a lone hour is a short flat segment, not an invisible point). Coordinates have one
 * decimal: 30 days (720 hours) make about 60 KB of SVG. */
#include "web/svg.h"
#include "history/window.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define W 960.0
#define H 280.0
#define X0 60.0
#define X1 (W - 12.0)
#define Y0 12.0
#define Y1 (H - 26.0)
#define AXIS (-1)      /* put_path bottom: the x axis */
#define LINE_ONLY (-2) /* put_path bottom: a line, no area */

static const char *const PHASE_COLOUR[WEB_PHASES] = { "#8250df", "#1f6feb", "#bf8700", "#2da44e" };

struct chart {
    struct cw_buf *b;
    const struct web_detail_hour *h;
    size_t n;
    double max_us; /* the top of the y axis */
};

/* A series' value at hour i: which = 0..3 the phases stacked up to it, 4 p50, 5 p95. */
static double value_us(const struct web_detail_hour *h, int which)
{
    if (which == 4) return h->p50_us;
    if (which == 5) return h->p95_us;
    double sum = 0;
    for (int k = 0; k <= which; k++) sum += h->phase_mean_us[k];
    return sum;
}

static double x_of(const struct chart *c, double slot) { return X0 + slot * (X1 - X0) / (double)c->n; }
static double y_of(const struct chart *c, double us)
{
    return Y1 - (us > c->max_us ? c->max_us : us) / c->max_us * (Y1 - Y0);
}

/* The points of series `which` over hours [a, b], left to right (forward) or right to left. */
static void put_edge(const struct chart *c, size_t a, size_t b, int which, bool forward, bool first)
{
    for (size_t k = 0; k <= b - a + 1 + 1; k++) {
        size_t j = forward ? k : b - a + 2 - k; /* 0: the run's left edge, 1..len: centres, len+1: right edge */
        size_t i = j == 0 ? a : j == b - a + 2 ? b : a + j - 1;
        double slot = j == 0 ? (double)a : j == b - a + 2 ? (double)b + 1.0 : (double)i + 0.5;
        double v = which == AXIS ? 0 : value_us(&c->h[i], which);
        cw_buf_printf(c->b, "%s%.1f %.1f", first && k == 0 ? "M" : "L", x_of(c, slot), y_of(c, v));
    }
}

/* The next run of hours with a latency at or after *a: true with [*a, *b], false when there is none. */
static bool next_run(const struct chart *c, size_t *a, size_t *b)
{
    while (*a < c->n && !c->h[*a].has_latency) (*a)++;
    if (*a >= c->n) return false;
    *b = *a;
    while (*b + 1 < c->n && c->h[*b + 1].has_latency) (*b)++;
    return true;
}

/* One closed area between series `top` and `bottom` (AXIS: the x axis) for each run of hours with a latency; or, when
 * bottom is LINE_ONLY, the line of series `top`, broken where hours have no latency. */
static void put_path(const struct chart *c, int top, int bottom, const char *attrs)
{
    cw_buf_printf(c->b, "<path %s%s d=\"", bottom == LINE_ONLY ? "fill=\"none\" " : "", attrs);
    for (size_t a = 0, b; next_run(c, &a, &b); a = b + 1) {
        put_edge(c, a, b, top, true, true);
        if (bottom == LINE_ONLY) continue;
        put_edge(c, a, b, bottom, false, false);
        cw_buf_printf(c->b, "Z");
    }
    cw_buf_printf(c->b, "\"/>");
}

/* The smallest of 1, 2 or 5 times a power of ten (in microseconds) of which four steps cover max_us. */
static double nice_step(double max_us)
{
    static const double mult[] = { 1, 2, 5 };
    for (double s = 1; s < 1e13; s *= 10)
        for (int k = 0; k < 3; k++)
            if (s * mult[k] * 4 >= max_us) return s * mult[k];
    return max_us / 4;
}

static void put_y_axis(const struct chart *c, double step)
{
    for (double v = 0; v <= c->max_us + 0.5; v += step) {
        double y = y_of(c, v);
        cw_buf_printf(c->b, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#d0d7de\"/>", X0, X1, y, y);
        if (v >= 1e6) cw_buf_printf(c->b, "<text x=\"%.0f\" y=\"%.1f\">%g s</text>", X0 - 6, y + 4, v / 1e6);
        else cw_buf_printf(c->b, "<text x=\"%.0f\" y=\"%.1f\">%g ms</text>", X0 - 6, y + 4, v / 1e3);
    }
}

static void put_x_axis(const struct chart *c, int64_t first_hour_ms)
{
    int64_t tick = c->n <= 48 ? 6 * WIN_HOUR_MS : c->n <= 24 * 10 ? WIN_DAY_MS : 5 * WIN_DAY_MS;
    cw_buf_printf(c->b, "<g text-anchor=\"middle\">");
    for (size_t i = 0; i <= c->n; i++) {
        int64_t t = first_hour_ms + (int64_t)i * WIN_HOUR_MS;
        if (t % tick != 0) continue;
        double x = x_of(c, (double)i);
        time_t secs = (time_t)(t / 1000);
        struct tm tm;
        char label[16];
        if (!gmtime_r(&secs, &tm) || !strftime(label, sizeof label, tick < WIN_DAY_MS ? "%H:%M" : "%m-%d", &tm))
            continue;
        cw_buf_printf(c->b,
                      "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#eaeef2\"/>"
                      "<text x=\"%.1f\" y=\"%.0f\">%s</text>",
                      x, x, Y0, Y1, x, H - 8, label);
    }
    cw_buf_printf(c->b, "</g>");
}

void web_svg_latency(struct cw_buf *b, const struct web_detail_hour *hours, size_t n, int64_t first_hour_ms)
{
    struct chart c = { .b = b, .h = hours, .n = n };
    for (size_t i = 0; i < n; i++) {
        if (!hours[i].has_latency) continue;
        for (int which = 3; which <= 5; which++)
            if (value_us(&hours[i], which) > c.max_us) c.max_us = value_us(&hours[i], which);
    }
    if (c.max_us <= 0) {
        cw_buf_printf(b, "<p class=\"muted\" id=\"no-chart\">No latency was recorded in this window.</p>");
        return;
    }
    double step = nice_step(c.max_us), top = step;
    while (top < c.max_us) top += step;
    c.max_us = top;
    cw_buf_printf(b,
                  "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
                  "role=\"img\" aria-label=\"response time per hour\" font-size=\"11\" fill=\"#57606a\">"
                  "<title>Response time per hour: phases stacked, p50 to p95 band</title><g text-anchor=\"end\">",
                  W, H);
    put_y_axis(&c, step);
    cw_buf_printf(b, "</g>");
    put_x_axis(&c, first_hour_ms);
    char attrs[64];
    for (int k = 0; k < WEB_PHASES; k++) {
        snprintf(attrs, sizeof attrs, "class=\"phase\" fill=\"%s\" fill-opacity=\".55\"", PHASE_COLOUR[k]);
        put_path(&c, k, k - 1, attrs);
    }
    put_path(&c, 5, 4, "class=\"band\" fill=\"#cf222e\" fill-opacity=\".15\"");
    put_path(&c, 4, LINE_ONLY, "class=\"p50\" stroke=\"#1f2328\" stroke-width=\"1.5\"");
    put_path(&c, 5, LINE_ONLY, "class=\"p95\" stroke=\"#cf222e\" stroke-width=\"1.2\"");
    cw_buf_printf(b, "</svg>");
}
