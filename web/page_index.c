/* web/page_index.c — `/`, the status page: the overall banner and counts, a search form, the endpoints with a
 * problem first (a compact list), a summary per group (web/page_groups.c), then one page of endpoints (`?page=N`,
 * INDEX_PAGE_SIZE each) in their groups — the groups in the order they first appear in the configuration,
 * endpoints in the file's order, ungrouped ones under "Other" last — each with its state, 90-day bar, uptimes,
 * last latency and certificate expiry. `?q=`, `?state=` and `?group=` (web/layout.h) narrow the endpoints listed;
 * the banner, counts and problems stay those of every endpoint.
 *
 * Budget (issues 13 and 18): under 300 KB and 100 ms, at 10,000 endpoints and at 500,000. A page holds at most
 * INDEX_PAGE_SIZE bars (~6 KB each), the problem list INDEX_PROBLEMS_MAX lines, the group summary PAGE_GROUPS_MAX
 * rows; the order is the model's layout (built once per configuration), so the work per request is one pass over
 * the model to count the states (and, with a filter, to match) plus the page itself. */
#include "web/pages.h"

#include "common/base/clock.h"
#include "history/window.h"
#include "web/html.h"
#include "web/layout.h"
#include "web/page_common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_PAGE_SIZE 40
#define INDEX_PROBLEMS_MAX 20
#define INDEX_REFRESH_S 60
#define CERT_WARN_DAYS 14

static void put_endpoint_link(struct cw_buf *b, const struct web_endpoint *e)
{
    char label[PAGE_LABEL_MAX];
    cw_buf_printf(b, "<a href=\"/endpoint/%s\">", e->id); /* IDs are [a-z0-9-] */
    web_html_text(b, web_endpoint_label(e, label, sizeof label));
    put_cstr(b, "</a>");
}

static void put_banner(struct cw_buf *b, const size_t states[4], size_t n)
{
    size_t bad = states[WEB_STATE_DOWN] + states[WEB_STATE_FAILING];
    if (n == 0) {
        put_cstr(b, "<div class=\"banner unknown\">No endpoint is configured</div>");
    } else if (bad == 0 && states[WEB_STATE_UNKNOWN] == n) {
        put_cstr(b, "<div class=\"banner unknown\">Waiting for the first checks</div>");
    } else if (bad == 0) {
        put_cstr(b, "<div class=\"banner up\">All systems up</div>");
    } else if (bad < n) {
        cw_buf_printf(b, "<div class=\"banner degraded\">Partly degraded: %zu of %zu endpoints failing or down</div>",
                      bad, n);
    } else {
        cw_buf_printf(b, "<div class=\"banner down\">Down: all %zu endpoints failing or down</div>", n);
    }
    /* each count links to the endpoints in that state */
    cw_buf_printf(b,
                  "<p class=\"muted\" id=\"counts\"><a href=\"/?state=up\">%zu up</a> \xC2\xB7 <a "
                  "href=\"/?state=failing\">%zu failing</a> \xC2\xB7 <a href=\"/?state=down\">%zu down</a> \xC2\xB7 <a "
                  "href=\"/?state=unknown\">%zu unknown</a></p>\n",
                  states[WEB_STATE_UP], states[WEB_STATE_FAILING], states[WEB_STATE_DOWN], states[WEB_STATE_UNKNOWN]);
}

static void put_state(struct cw_buf *b, const struct web_live *l)
{
    const char *state = web_state_name(l->state);
    cw_buf_printf(b, "<span class=\"state %s\">%s%s</span>", state, state, l->slow ? " (slow)" : "");
}

/* Down first, then failing, in the file's order; at most INDEX_PROBLEMS_MAX, then a link to them all. */
static void put_problems(struct cw_buf *b, const struct web_model *m, const size_t states[4])
{
    size_t bad = states[WEB_STATE_DOWN] + states[WEB_STATE_FAILING], shown = 0;
    if (bad == 0) return;
    put_cstr(b, "<h2>Problems</h2><ul class=\"problems\">");
    static const enum web_state order[] = { WEB_STATE_DOWN, WEB_STATE_FAILING };
    for (size_t k = 0; k < 2; k++) {
        size_t left = states[order[k]]; /* stop the walk once every one of this state is listed */
        for (size_t i = 0; i < m->n && shown < INDEX_PROBLEMS_MAX && left > 0; i++) {
            const struct web_endpoint *e = &m->endpoints[i];
            if (e->live.state != order[k]) continue;
            shown++;
            left--;
            put_cstr(b, "<li>");
            put_endpoint_link(b, e);
            put_cstr(b, " ");
            put_state(b, &e->live);
            if (e->live.state_since_us > 0) {
                put_cstr(b, " since ");
                page_put_time_ms(b, e->live.state_since_us / 1000, false);
            }
            if (e->live.has_check && e->live.last.error) {
                put_cstr(b, " <span class=\"muted\">");
                web_html_text(b, e->live.last.error);
                put_cstr(b, "</span>");
            }
            put_cstr(b, "</li>");
        }
    }
    if (bad > shown) cw_buf_printf(b, "<li><a href=\"/?state=down,failing\">and %zu more</a></li>", bad - shown);
    put_cstr(b, "</ul>\n");
}

static void put_cert(struct cw_buf *b, const struct web_live *l, int64_t now_ms)
{
    if (!l->has_check || l->last.tls_expires_at_us <= 0) {
        put_cstr(b, "<td class=\"n\"></td>");
        return;
    }
    int64_t expires_ms = l->last.tls_expires_at_us / 1000, left_ms = expires_ms - now_ms, days = left_ms / WIN_DAY_MS;
    cw_buf_printf(b, "<td class=\"n%s\" title=\"certificate expires ", days < CERT_WARN_DAYS ? " down" : "");
    page_put_time_ms(b, expires_ms, false);
    if (left_ms < 0) put_cstr(b, "\">expired</td>");
    else if (days == 0) cw_buf_printf(b, "\">%" PRId64 " h</td>", left_ms / WIN_HOUR_MS);
    else cw_buf_printf(b, "\">%" PRId64 " d</td>", days);
}

static void put_row(struct cw_buf *b, const struct web_model *m, const struct web_endpoint *e, int64_t day0_ms,
                    int64_t now_ms)
{
    const struct web_live *l = &e->live;
    const char *state = web_state_name(l->state);
    cw_buf_printf(b, "<tr id=\"ep-%s\"><td>", e->id);
    put_endpoint_link(b, e);
    page_put_kind(b, e, now_ms);
    /* exactly class="state S">S< (tests/e2e/test_web.py looks for it); the since is on the endpoint's page */
    cw_buf_printf(b, "</td><td class=\"state %s\">%s%s", state, state, l->slow ? " (slow)" : "");
    page_put_maintenance(b, e, now_ms * 1000);
    page_put_location_chips(b, m, e);
    put_cstr(b, "</td><td>");
    page_put_bar(b, e->hist, day0_ms);
    put_cstr(b, "</td>");
    for (int w = 0; w < WEB_WINDOWS; w++) {
        put_cstr(b, "<td class=\"n\">");
        if (e->hist) page_put_uptime(b, e->hist->win[w].checks, e->hist->win[w].ok); /* the cell's counts */
        else page_put_uptime(b, 0, 0);
        put_cstr(b, "</td>");
    }
    put_cstr(b, "<td class=\"n\">");
    int64_t latency_us = web_us(l->last.latency);
    page_put_latency_ms(b, l->has_check && latency_us >= 0 ? latency_us / 1000.0 : -1);
    put_cstr(b, "</td>");
    put_cert(b, l, now_ms);
    put_cstr(b, "</tr>\n");
}

static void put_legend(struct cw_buf *b, const struct web_model *m)
{
    put_cstr(b, "<p class=\"legend muted\">Days (UTC):<i class=\"c1\"></i>100%<i class=\"c2\"></i>\xE2\x89\xA5 99%"
                "<i class=\"c3\"></i>\xE2\x89\xA5 95%<i class=\"c4\"></i>\xE2\x89\xA5 80%<i class=\"c5\"></i>below"
                "<i class=\"c0\"></i>no data. ");
    if (m->history) {
        put_cstr(b, "History as of ");
        page_put_time_ms(b, m->history->read_at_ms, false);
    } else {
        put_cstr(b, "History not read yet: states are live, uptimes come with the first read.");
    }
    put_cstr(b, "</p>\n");
}

static void put_table_head(struct cw_buf *b, const struct web_model *m, size_t group)
{
    cw_buf_printf(b, "<h2 id=\"g%zu\">", group);
    page_put_group_link(b, m->layout.groups[group].name);
    put_cstr(
        b, "</h2><div class=\"eps\"><table><thead><tr><th>Endpoint</th><th>State</th><th>Last 90 days</th><th>24 h</th>"
           "<th>7 d</th><th>30 d</th><th>90 d</th><th>Latency</th><th>Cert</th></tr></thead><tbody>\n");
}

/* The search form: q, state and (on a group's view) the group kept. */
static void put_search(struct cw_buf *b, const struct web_filter *f)
{
    static const char *const states[] = { "up", "failing", "down", "unknown", "slow", "down,failing" };
    put_cstr(b, "<form class=\"search\" method=\"get\" action=\"/\"><input type=\"search\" name=\"q\" "
                "maxlength=\"100\" placeholder=\"Name, ID or group\" aria-label=\"Search endpoints\" value=\"");
    web_html_text(b, f->q_raw ? f->q_raw : "");
    put_cstr(b, "\"> <select name=\"state\" aria-label=\"State\"><option value=\"\">any state</option>");
    for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
        bool selected = f->state_raw && strcmp(f->state_raw, states[k]) == 0;
        cw_buf_printf(b, "<option%s>%s</option>", selected ? " selected" : "", states[k]);
    }
    put_cstr(b, "</select>");
    if (f->group_raw) {
        put_cstr(b, "<input type=\"hidden\" name=\"group\" value=\"");
        web_html_text(b, f->group_raw);
        put_cstr(b, "\">");
    }
    put_cstr(b, " <button type=\"submit\">Search</button></form>\n");
}

/* What a filtered view says above its list: how many match, and a way back. */
static void put_filter_note(struct cw_buf *b, const struct web_model *m, const struct web_filter *f, size_t matched,
                            const size_t *gstates)
{
    if (f->has_group) {
        const struct web_group *g = &m->layout.groups[f->group];
        const size_t *st = &gstates[4 * f->group];
        put_cstr(b, "<h2>Group ");
        web_html_text(b, g->name ? g->name : "Other");
        cw_buf_printf(b, "</h2><p class=\"muted\">%u endpoints: %zu up \xC2\xB7 %zu failing \xC2\xB7 %zu down \xC2\xB7 "
                         "%zu unknown</p>",
                      (unsigned)g->count, st[WEB_STATE_UP], st[WEB_STATE_FAILING], st[WEB_STATE_DOWN],
                      st[WEB_STATE_UNKNOWN]);
    }
    cw_buf_printf(b, "<p id=\"matches\">%zu of %zu endpoints match. <a href=\"/\">All endpoints</a></p>\n", matched,
                  m->n);
}

/* The model indexes of page `page` (INDEX_PAGE_SIZE at most) into rows, in page order; returns how many match. */
static size_t select_rows(const struct web_model *m, const struct web_filter *f, size_t page, uint32_t *rows,
                          size_t *n_rows)
{
    size_t from = (page - 1) * INDEX_PAGE_SIZE;
    *n_rows = 0;
    if (!web_filter_active(f)) {
        for (size_t k = from; k < m->n && *n_rows < INDEX_PAGE_SIZE; k++) rows[(*n_rows)++] = m->layout.order[k];
        return m->n;
    }
    bool *group_match = cw_xcalloc(m->layout.n_groups + 1, sizeof *group_match);
    web_filter_groups(f, m, group_match);
    size_t matched = 0, k0 = 0, k1 = m->n;
    if (f->has_group) { /* only that group's range of the order */
        k0 = m->layout.groups[f->group].first;
        k1 = k0 + m->layout.groups[f->group].count;
    }
    for (size_t k = k0; k < k1; k++) {
        uint32_t i = m->layout.order[k];
        if (!web_filter_match(f, m, i, group_match)) continue;
        if (matched >= from && *n_rows < INDEX_PAGE_SIZE) rows[(*n_rows)++] = i;
        matched++;
    }
    free(group_match);
    return matched;
}

void page_index(const struct web_request *rq, struct web_reply *rp)
{
    const struct web_model *m = rq->model;
    struct web_filter f;
    const char *why;
    int bad = web_filter_parse(rq, m, &f, &why);
    if (bad) {
        page_error(rq, rp, bad, why);
        return;
    }
    /* the page's rows first: the page number is checked against the pages of what matches */
    const char *arg = web_request_arg(rq, "page");
    size_t want = 1, n_rows;
    if (arg && page_number_arg(rq, SIZE_MAX / INDEX_PAGE_SIZE, &want) == 400) {
        page_error(rq, rp, 400, "Bad page number: ?page=N, N from 1");
        return;
    }
    uint32_t rows[INDEX_PAGE_SIZE];
    size_t matched = select_rows(m, &f, want ? want : 1, rows, &n_rows);
    size_t page, pages;
    if (!page_pick(rq, rp, matched, INDEX_PAGE_SIZE, "endpoints", &page, &pages)) return;
    size_t states[4], *gstates = page_count_states(m, states);
    struct cw_buf *b = &rp->body, query = { 0 };
    web_filter_query(&query, &f);
    cw_buf_put(&query, "", 1);
    rp->content_type = "text/html; charset=utf-8";
    page_begin(b, rq, NULL, INDEX_REFRESH_S);
    put_banner(b, states, m->n);
    put_search(b, &f);
    put_problems(b, m, states);
    page_put_locations_box(b, m, rq->now_mono_ns);
    if (web_filter_active(&f)) put_filter_note(b, m, &f, matched, gstates);
    else page_put_groups(b, m, gstates);
    int64_t day0_ms = page_day0_ms(m), now_ms = cw_wall_us() / 1000;
    page_put_pager(b, "/", (const char *)query.data, page, pages);
    size_t open_group = SIZE_MAX;
    for (size_t k = 0; k < n_rows; k++) {
        size_t i = rows[k];
        if (m->layout.group_of[i] != open_group) {
            if (open_group != SIZE_MAX) put_cstr(b, "</tbody></table></div>\n");
            open_group = m->layout.group_of[i];
            put_table_head(b, m, open_group);
        }
        put_row(b, m, &m->endpoints[i], day0_ms, now_ms);
    }
    if (open_group != SIZE_MAX) put_cstr(b, "</tbody></table></div>\n");
    page_put_pager(b, "/", (const char *)query.data, page, pages);
    put_legend(b, m);
    page_end(b);
    cw_buf_free(&query);
    free(gstates);
}
