/* web/page_common.c — the page frame, the stylesheet, the 90-day bar and the formats the HTML pages share (see
 * web/page_common.h). */
#include "web/page_common.h"

#include "history/window.h"
#include "common/base/clock.h"
#include "web/figures.h"
#include "web/html.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Compact on purpose: `/` carries 90 cells per endpoint. Cells: .c0 no data, .c1 100 %, .c2 >= 99 %, .c3 >= 95 %,
 * .c4 >= 80 %, .c5 below. */
static const char STYLE[] =
    "body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 1em 2em;color:#1f2328}"
    "a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}"
    "header{display:flex;justify-content:space-between;align-items:baseline;border-bottom:1px solid #d0d7de}"
    "header h1{font-size:1.4em;margin:.6em 0}h2{font-size:1.15em;margin:1.4em 0 .4em}"
    ".banner{padding:.8em 1em;border-radius:6px;font-weight:600;margin:1em 0;color:#fff}"
    ".banner.up{background:#1a7f37}.banner.degraded{background:#bf8700}.banner.down{background:#cf222e}"
    ".banner.unknown{background:#6e7781}"
    "table{border-collapse:collapse;width:100%}th,td{padding:.3em .5em;border-bottom:1px solid #eaeef2;"
    "text-align:left;vertical-align:middle}th{font-weight:600;font-size:.85em;color:#57606a}"
    ".eps table{table-layout:fixed}.eps th:nth-child(1){width:21%}.eps th:nth-child(2){width:7%}"
    ".eps th:nth-child(3){width:34%}.eps th:nth-child(n+4),.grp th:nth-child(n+2){text-align:right}"
    ".eps td:first-child{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
    "td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
    ".state{font-weight:600;white-space:nowrap}.up{color:#1a7f37}.down{color:#cf222e}.failing{color:#bc4c00}"
    ".unknown{color:#6e7781}.muted,.kind{color:#6e7781;font-size:.85em}.maintenance{color:#7d4e00;font-size:.85em}"
    ".bar{display:flex;gap:1px;min-width:180px;height:22px}.bar i{flex:1;border-radius:1px}"
    ".big .bar{height:34px}"
    ".c0{background:#d0d7de}.c1{background:#2da44e}.c2{background:#8ccf7e}.c3{background:#d4a72c}"
    ".c4{background:#e16f24}.c5{background:#cf222e}"
    ".legend i{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 .8em;border-radius:2px}"
    "nav.pages a,nav.pages b{margin-right:.6em}.win a,.win b{margin-right:.8em}"
    "ul.problems{padding-left:1.2em}svg.chart{width:100%;height:auto;max-width:960px}"
    ".l-dns{background:#8250df}.l-connect{background:#1f6feb}.l-tls{background:#bf8700}.l-ttfb{background:#2da44e}"
    ".l-band{background:#f3c5c8}.legend i.l-p50,.legend i.l-p95{height:.25em}.l-p50{background:#1f2328}"
    ".l-p95{background:#cf222e}code{font-size:.9em}"
    ".chips{white-space:normal;font-weight:400}.chip{display:inline-block;font-size:.75em;padding:0 .45em;"
    "margin:1px 2px 0 0;border:1px solid currentColor;border-radius:9px;white-space:nowrap}.chip.silent{opacity:.5}"
    ".loc-live{color:#1a7f37}.loc-silent{color:#cf222e}.loc-unknown{color:#6e7781}"
    ".clockwarn{color:#bc4c00;font-weight:600}#locations th:nth-child(n+3){text-align:right}";

void page_style(const struct web_request *rq, struct web_reply *rp)
{
    (void)rq;
    rp->content_type = "text/css; charset=utf-8";
    rp->cache = "public, max-age=300";
    cw_buf_put(&rp->body, STYLE, sizeof STYLE - 1);
}

void page_begin(struct cw_buf *b, const struct web_request *rq, const char *title, int refresh_s)
{
    const char *site = rq->cfg->web_title ? rq->cfg->web_title : "Clockwerk";
    put_cstr(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    if (refresh_s > 0) cw_buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%d\">", refresh_s);
    put_cstr(b, "<title>");
    if (title) {
        web_html_text(b, title);
        put_cstr(b, " \xE2\x80\x94 ");
    }
    web_html_text(b, site);
    put_cstr(b, "</title><link rel=\"stylesheet\" href=\"/style.css\"><link rel=\"icon\" href=\"/favicon.ico\">"
                "</head><body><header><h1><a href=\"/\">");
    web_html_text(b, site);
    put_cstr(b, "</a></h1><span class=\"muted\">Clockwerk</span></header>\n");
}

void page_end(struct cw_buf *b) { put_cstr(b, "</body></html>\n"); }

void page_error(const struct web_request *rq, struct web_reply *rp, int status, const char *text)
{
    rp->status = status;
    rp->content_type = "text/html; charset=utf-8";
    cw_buf_reset(&rp->body);
    page_begin(&rp->body, rq, text, 0);
    put_cstr(&rp->body, "<p>");
    web_html_text(&rp->body, text);
    put_cstr(&rp->body, "</p><p><a href=\"/\">All endpoints</a></p>");
    page_end(&rp->body);
}

void page_put_time_ms(struct cw_buf *b, int64_t ms, bool date_only)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    char s[40];
    if (!gmtime_r(&t, &tm) || strftime(s, sizeof s, date_only ? "%Y-%m-%d" : "%Y-%m-%d %H:%M UTC", &tm) == 0) return;
    put_cstr(b, s);
}

void page_put_duration_ms(struct cw_buf *b, int64_t ms)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;
    static const struct {
        int64_t seconds;
        const char *name;
    } units[] = { { 86400, "d" }, { 3600, "h" }, { 60, "min" }, { 1, "s" } };
    for (size_t k = 0; k < 3; k++) { /* the two largest units that apply; the smaller one left out when 0 */
        if (s < units[k].seconds) continue;
        int64_t rest = s % units[k].seconds / units[k + 1].seconds;
        cw_buf_printf(b, "%" PRId64 " %s", s / units[k].seconds, units[k].name);
        if (rest) cw_buf_printf(b, " %" PRId64 " %s", rest, units[k + 1].name);
        return;
    }
    cw_buf_printf(b, "%" PRId64 " s", s);
}

void page_put_uptime(struct cw_buf *b, int64_t checks, int64_t ok)
{
    char num[WEB_NUM_MAX];
    if (checks <= 0) put_cstr(b, "\xE2\x80\x93"); /* – */
    else cw_buf_printf(b, "%s%%", web_fmt_uptime(num, sizeof num, checks, ok, 2));
}

void page_put_kind(struct cw_buf *b, const struct web_endpoint *e, int64_t now_ms)
{
    if (e->cfg->type == CW_CHECK_HTTP) return;
    const char *type = config_check_type_name(e->cfg->type);
    char headline[WEB_HEADLINE_MAX];
    web_headline(e, now_ms, headline, sizeof headline);
    cw_buf_printf(b, " <span class=\"kind\">%s", type ? type : "?");
    if (headline[0]) {
        put_cstr(b, " \xC2\xB7 ");  /* U+00B7 middle dot */
        web_html_text(b, headline); /* rcode and version come from the wire */
    }
    put_cstr(b, "</span>");
}

void page_put_latency_ms(struct cw_buf *b, double ms)
{
    char num[WEB_NUM_MAX];
    put_cstr(b, web_fmt_latency(num, sizeof num, ms));
}

int64_t page_day0_ms(const struct web_model *m)
{
    if (m->history) return m->history->day0_ms;
    int64_t today = cw_wall_us() / 1000 / WIN_DAY_MS * WIN_DAY_MS;
    return today - (WEB_DAYS - 1) * WIN_DAY_MS;
}

static int cell_class(const struct web_bar *d)
{
    if (!d->data) return 0;
    if (d->per10k >= 10000) return 1;
    return d->per10k >= 9900 ? 2 : d->per10k >= 9500 ? 3 : d->per10k >= 8000 ? 4 : 5;
}

void page_put_bar(struct cw_buf *b, const struct web_ep_history *h, int64_t day0_ms)
{
    put_cstr(b, "<div class=\"bar\">");
    for (int i = 0; i < WEB_DAYS; i++) {
        struct web_bar day, *d = &day;
        web_bar_day(h, i, d);
        cw_buf_printf(b, "<i class=\"c%d\" title=\"", cell_class(d));
        page_put_time_ms(b, day0_ms + i * WIN_DAY_MS, true);
        if (!d->data) {
            put_cstr(b, ": no data\"></i>");
            continue;
        }
        put_cstr(b, ": "); /* the uptime as page_put_uptime gives it: floor, two decimals, 100 only when all ok */
        if (d->per10k >= 10000) put_cstr(b, "100%");
        else cw_buf_printf(b, "%u.%02u%%", d->per10k / 100u, d->per10k % 100u);
        if (d->incidents) cw_buf_printf(b, ", %u incident%s", d->incidents, d->incidents > 1 ? "s" : "");
        if (d->p95_us) {
            put_cstr(b, ", p95 ");
            page_put_latency_ms(b, d->p95_us / 1000.0);
        }
        put_cstr(b, "\"></i>");
    }
    put_cstr(b, "</div>");
}
