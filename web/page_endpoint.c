/* web/page_endpoint.c — `/endpoint/ID`, one endpoint: its live state and last check, uptime and latency per
 * window (the snapshot), the 90-day bar, the response-time chart over 24 h / 7 d / 30 d (`?window=`, from the
 * detail: web/svg.h), its incidents (the snapshot) and its last stored checks (the detail).
 *
 * The route needs the detail (web/route.h): rq->detail is the endpoint's, read on the reader thread. NULL (no
 * reader, or the snapshot not read yet) gives the page without chart and stored checks; detail->error gives the
 * page with the reason and status 503. An unknown ID is 404, a bad window 400. */
#include "web/pages.h"

#include "history/window.h"
#include "common/base/clock.h"
#include "web/html.h"
#include "web/page_common.h"
#include "web/svg.h"

#include <inttypes.h>
#include <string.h>

static void put_phases(struct cw_buf *b, const int64_t us[WEB_PHASES])
{
    static const char *const names[WEB_PHASES] = { "dns", "connect", "tls", "ttfb" };
    bool any = false;
    for (int k = 0; k < WEB_PHASES; k++) {
        if (us[k] < 0) continue;
        cw_buf_printf(b, "%s%s ", any ? ", " : "", names[k]);
        page_put_latency_ms(b, us[k] / 1000.0);
        any = true;
    }
}

static void put_summary(struct cw_buf *b, const struct web_endpoint *e)
{
    char url[PAGE_LABEL_MAX];
    const struct web_live *l = &e->live;
    const char *state = web_state_name(l->state);
    cw_buf_printf(b, "<p>State: <span class=\"state %s\" id=\"state\">%s%s</span>", state, state,
                  l->slow ? " (slow)" : "");
    if (l->state_since_us > 0) {
        put_cstr(b, " since ");
        page_put_time_ms(b, l->state_since_us / 1000, false);
    }
    page_put_maintenance(b, e, cw_wall_us());
    put_cstr(b, e->cfg->type == CW_CHECK_HTTP ? "<br>URL: <code>" : "<br>Key: <code>"); /* tcp://, dns://... */
    web_html_text(b, web_url_label(e->cfg->url, url, sizeof url));
    put_cstr(b, "</code><br>Group: ");
    web_html_text(b, e->cfg->group ? e->cfg->group : "Other");
    page_put_kind(b, e, cw_wall_us() / 1000);
    put_cstr(b, "<br>Last check: ");
    if (!l->has_check) {
        put_cstr(b, "none since the web started</p>\n");
        return;
    }
    page_put_time_ms(b, l->last.checked_at_us / 1000, false);
    cw_buf_printf(b, ", %s", l->last.ok ? "ok" : "failed");
    if (l->last.status_code && e->cfg->type == CW_CHECK_HTTP)
        cw_buf_printf(b, ", HTTP %u", (unsigned)l->last.status_code);
    if (web_us(l->last.latency) >= 0) {
        put_cstr(b, ", ");
        page_put_latency_ms(b, web_us(l->last.latency) / 1000.0);
        int64_t phases[WEB_PHASES];
        for (int i = 0; i < WEB_PHASES; i++) phases[i] = web_us(l->last.phase[i]);
        put_cstr(b, " (");
        put_phases(b, phases);
        put_cstr(b, ")");
    }
    if (l->last.error) {
        put_cstr(b, ": ");
        web_html_text(b, l->last.error);
    }
    if (l->last.tls_expires_at_us > 0) {
        put_cstr(b, "<br>Certificate expires: ");
        page_put_time_ms(b, l->last.tls_expires_at_us / 1000, false);
    }
    put_cstr(b, "</p>\n");
}

static void put_windows(struct cw_buf *b, const struct web_ep_history *h)
{
    put_cstr(b, "<h2>Uptime</h2>");
    if (!h) {
        put_cstr(b, "<p class=\"muted\">No history read yet.</p>\n");
        return;
    }
    put_cstr(b, "<table id=\"windows\"><thead><tr><th>Window</th><th>Uptime</th><th>Checks</th><th>Down</th>"
                "<th>Incidents</th><th>p50</th><th>p95</th></tr></thead><tbody>");
    for (int w = 0; w < WEB_WINDOWS; w++) {
        struct web_window_figures fig, *f = &fig;
        web_ep_window(h, (enum web_window)w, f);
        cw_buf_printf(b, "<tr><td>%s</td><td class=\"n\">", web_window_name((enum web_window)w));
        page_put_uptime(b, f->checks, f->ok);
        cw_buf_printf(b, "</td><td class=\"n\">%" PRId64 "</td><td class=\"n\">", f->checks);
        page_put_duration_ms(b, f->down_ms);
        cw_buf_printf(b, "</td><td class=\"n\">%u</td><td class=\"n\">", f->incidents);
        page_put_latency_ms(b, f->has_latency ? f->p50_ms : -1);
        put_cstr(b, "</td><td class=\"n\">");
        page_put_latency_ms(b, f->has_latency ? f->p95_ms : -1);
        put_cstr(b, "</td></tr>");
    }
    put_cstr(b, "</tbody></table>\n");
}

static void put_chart(struct cw_buf *b, const struct web_request *rq, const struct web_endpoint *e, int window)
{
    static const int windows[] = { WEB_WIN_24H, WEB_WIN_7D, WEB_WIN_30D };
    put_cstr(b, "<h2>Response time</h2><p class=\"win\">");
    for (size_t k = 0; k < 3; k++) {
        const char *name = web_window_name((enum web_window)windows[k]);
        if (windows[k] == window) cw_buf_printf(b, "<b>%s</b>", name);
        else cw_buf_printf(b, "<a href=\"/endpoint/%s?window=%s\">%s</a>", e->id, name, name);
    }
    put_cstr(b, "</p>");
    const struct web_detail *d = rq->detail;
    if (!d) {
        put_cstr(b, "<p class=\"muted\" id=\"no-history\">History not available: this web reads no history "
                    "(yet).</p>\n");
        return;
    }
    if (d->error) {
        put_cstr(b, "<p class=\"down\" id=\"history-error\">History could not be read: ");
        web_html_text(b, d->error);
        put_cstr(b, "</p>\n");
        return;
    }
    size_t n = (size_t)(web_window_ms((enum web_window)window) / WIN_HOUR_MS);
    int64_t last_hour = d->read_at_ms / WIN_HOUR_MS * WIN_HOUR_MS;
    web_svg_latency(b, &d->hours[WEB_DETAIL_HOURS - n], n, last_hour - (int64_t)(n - 1) * WIN_HOUR_MS);
    put_cstr(b, "<p class=\"legend muted\"><i class=\"l-dns\"></i>dns<i class=\"l-connect\"></i>connect"
                "<i class=\"l-tls\"></i>tls<i class=\"l-ttfb\"></i>ttfb (hourly means, stacked)"
                "<i class=\"l-band\"></i>p50 to p95<i class=\"l-p50\"></i>p50<i class=\"l-p95\"></i>p95</p>\n");
}

static void put_incidents(struct cw_buf *b, const struct web_ep_history *h, int64_t now_ms)
{
    const struct web_ep_more *x = web_ep_more(h);
    put_cstr(b, "<h2>Incidents</h2>");
    if (!h || x->n_incidents == 0) {
        put_cstr(b, h ? "<p class=\"muted\">None in the last 90 days.</p>\n"
                      : "<p class=\"muted\">No history read "
                        "yet.</p>\n");
        return;
    }
    put_cstr(b, "<table id=\"incidents\"><thead><tr><th>Start</th><th>End</th><th>Duration</th><th>Error</th>"
                "</tr></thead><tbody>");
    for (size_t i = 0; i < x->n_incidents; i++) {
        const struct web_incident *in = &x->incidents[i];
        put_cstr(b, "<tr><td>");
        page_put_time_ms(b, in->start_ms, false);
        put_cstr(b, "</td><td>");
        if (in->end_ms) page_put_time_ms(b, in->end_ms, false);
        else put_cstr(b, "<span class=\"state down\">ongoing</span>");
        put_cstr(b, "</td><td class=\"n\">");
        page_put_duration_ms(b, (in->end_ms ? in->end_ms : now_ms) - in->start_ms);
        put_cstr(b, "</td><td>");
        web_html_text(b, in->message);
        put_cstr(b, "</td></tr>");
    }
    put_cstr(b, "</tbody></table>");
    if (x->incidents_older) cw_buf_printf(b, "<p class=\"muted\">and %u older ones</p>", x->incidents_older);
    put_cstr(b, "\n");
}

/* The last checks (the newest raw rows); the HTTP status column only for an http check (the other types have none:
 * their code is 0). database.raw (docs/web.md) says which raw rows there are: the heading says it too. */
static void put_checks(struct cw_buf *b, const struct web_detail *d, bool http, enum cw_db_raw raw)
{
    if (raw == CW_RAW_NONE) {
        put_cstr(b, "<h2>Last checks</h2><p class=\"muted\" id=\"raw-mode\">Not kept: the database keeps no "
                    "check of its own (database.raw = none), only the hourly and daily figures above.</p>\n");
        return;
    }
    if (!d || d->error) return;
    if (raw == CW_RAW_FAILURES)
        put_cstr(b, "<h2>Recent failures and state changes</h2><p class=\"muted\" id=\"raw-mode\">Kept checks "
                    "only (database.raw = failures): failed and slow ones, each change of state, and one an "
                    "hour.</p>");
    else put_cstr(b, "<h2>Last checks</h2>");
    if (d->n_checks == 0) {
        put_cstr(b, "<p class=\"muted\">None stored.</p>\n");
        return;
    }
    put_cstr(b, "<table id=\"checks\"><thead><tr><th>Time</th><th>Result</th>");
    if (http) put_cstr(b, "<th>HTTP</th>");
    put_cstr(b, "<th>Latency</th><th>Phases</th><th>Error</th></tr></thead><tbody>");
    for (size_t i = 0; i < d->n_checks && i < WEB_DETAIL_CHECKS; i++) {
        const struct web_detail_check *c = &d->checks[i];
        put_cstr(b, "<tr><td>");
        page_put_time_ms(b, c->checked_at_ms, false);
        cw_buf_printf(b, "</td><td class=\"state %s\">%s</td><td class=\"n\">", c->ok ? "up" : "down",
                      c->ok ? "ok" : "failed");
        if (http && c->status_code) cw_buf_printf(b, "%d", c->status_code);
        if (http) put_cstr(b, "</td><td class=\"n\">");
        page_put_latency_ms(b, c->latency_us >= 0 ? c->latency_us / 1000.0 : -1);
        put_cstr(b, "</td><td>");
        put_phases(b, c->phase_us);
        put_cstr(b, "</td><td>");
        web_html_text(b, c->error);
        put_cstr(b, "</td></tr>");
    }
    put_cstr(b, "</tbody></table>\n");
}

/* ?window: 24h (the default), 7d or 30d; -1 for anything else (400). */
static int chart_window(const struct web_request *rq)
{
    const char *win_arg = web_request_arg(rq, "window");
    int window = win_arg ? web_window_parse(win_arg) : WEB_WIN_24H;
    return window == WEB_WIN_90D ? -1 : window;
}

bool page_endpoint_needs_detail(const struct web_request *rq)
{
    return !strchr(rq->rest, '/') && chart_window(rq) >= 0;
}

void page_endpoint(const struct web_request *rq, struct web_reply *rp)
{
    const char *after;
    const struct web_endpoint *e = web_model_by_path(rq->model, rq->rest, &after);
    if (!e || *after) {
        page_error(rq, rp, 404, "No such endpoint");
        return;
    }
    int window = chart_window(rq);
    if (window < 0) {
        page_error(rq, rp, 400, "Bad window: ?window=24h, 7d or 30d");
        return;
    }
    char label[PAGE_LABEL_MAX];
    const char *name = web_endpoint_label(e, label, sizeof label);
    struct cw_buf *b = &rp->body;
    rp->content_type = "text/html; charset=utf-8";
    if (rq->detail && rq->detail->error) rp->status = 503;
    page_begin(b, rq, name, 0);
    put_cstr(b, "<p><a href=\"/\">\xE2\x86\x90 All endpoints</a></p><h2 id=\"name\">");
    web_html_text(b, name);
    put_cstr(b, "</h2>");
    put_summary(b, e);
    page_put_location_table(b, rq->model, e);
    put_cstr(b, "<h2>Last 90 days</h2><div class=\"big\">");
    page_put_bar(b, e->hist, page_day0_ms(rq->model));
    put_cstr(b, "</div>");
    put_windows(b, e->hist);
    put_chart(b, rq, e, window);
    put_incidents(b, e->hist, rq->model->history ? rq->model->history->read_at_ms : cw_wall_us() / 1000);
    put_checks(b, rq->detail, e->cfg->type == CW_CHECK_HTTP, rq->cfg ? rq->cfg->db_raw : CW_RAW_ALL);
    page_end(b);
}
