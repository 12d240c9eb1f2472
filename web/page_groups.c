/* web/page_groups.c — the groups of the status page (issue 18): the Groups box of `/` (bounded: at most
 * PAGE_GROUPS_MAX rows, the groups with a problem first when they do not all fit) and `/groups`, every group with
 * its count per state, paged and searchable by name; each group links to its own view `/?group=NAME`. Also the
 * pieces `/` and `/groups` share: the count per state, the page number, the pager. See web/page_common.h. */
#include "web/page_common.h"

#include "web/html.h"
#include "web/layout.h"
#include "web/pages.h"

#include <stdlib.h>
#include <string.h>

size_t *page_count_states(const struct web_model *m, size_t states[4])
{
    const struct web_layout *l = &m->layout;
    size_t *g = cw_xcalloc(4 * l->n_groups + 1, sizeof *g);
    memset(states, 0, 4 * sizeof *states);
    for (size_t i = 0; i < m->n; i++) {
        unsigned st = m->endpoints[i].live.state & 3;
        states[st]++;
        g[4 * (size_t)l->group_of[i] + st]++;
    }
    return g;
}

int page_number_arg(const struct web_request *rq, size_t pages, size_t *page)
{
    const char *s = web_request_arg(rq, "page");
    *page = 1;
    if (!s) return 0;
    char *end;
    if (*s < '0' || *s > '9' || strlen(s) > 9) return 400;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0') return 400;
    if (v < 1 || v > pages) return 404;
    *page = (size_t)v;
    return 0;
}

bool page_pick(const struct web_request *rq, struct web_reply *rp, size_t n_items, size_t per_page, const char *what,
               size_t *page, size_t *pages)
{
    *pages = n_items ? (n_items + per_page - 1) / per_page : 1;
    int bad = page_number_arg(rq, *pages, page);
    if (!bad) return true;
    char text[96];
    snprintf(text, sizeof text, "No such page of %s", what);
    page_error(rq, rp, bad, bad == 404 ? text : "Bad page number: ?page=N, N from 1");
    return false;
}

static void put_page_link(struct cw_buf *b, const char *path, const char *query, size_t page, size_t current)
{
    if (page == current) {
        cw_buf_printf(b, "<b>%zu</b>", page);
        return;
    }
    cw_buf_printf(b, "<a href=\"%s?", path);
    if (*query) {
        web_html_text(b, query); /* percent-encoded: only its '&' needs the entity */
        put_cstr(b, "&amp;");
    }
    cw_buf_printf(b, "page=%zu\">%zu</a>", page, page);
}

void page_put_pager(struct cw_buf *b, const char *path, const char *query, size_t page, size_t pages)
{
    if (pages < 2) return;
    cw_buf_printf(b, "<nav class=\"pages\">Page %zu of %zu: ", page, pages);
    size_t lo = page > 3 ? page - 3 : 1, hi = page + 3 < pages ? page + 3 : pages;
    if (lo > 1) put_page_link(b, path, query, 1, page);
    if (lo > 2) put_cstr(b, "\xE2\x80\xA6 ");
    for (size_t p = lo; p <= hi; p++) put_page_link(b, path, query, p, page);
    if (hi + 1 < pages) put_cstr(b, "\xE2\x80\xA6 ");
    if (hi < pages) put_page_link(b, path, query, pages, page);
    put_cstr(b, "</nav>\n");
}

void page_put_group_link(struct cw_buf *b, const char *name)
{
    put_cstr(b, "<a href=\"/?group=");
    if (name) web_url_encode(b, name); /* percent-encoded: nothing left to escape in the attribute */
    put_cstr(b, "\">");
    web_html_text(b, name ? name : "Other");
    put_cstr(b, "</a>");
}

static void put_table_start(struct cw_buf *b)
{
    put_cstr(b, "<div class=\"grp\"><table><thead><tr><th>Group</th><th>Endpoints</th><th>Up</th><th>Failing</th>"
                "<th>Down</th><th>Unknown</th></tr></thead><tbody>");
}

static void put_group_row(struct cw_buf *b, const struct web_group *g, const size_t *st)
{
    put_cstr(b, "<tr><td>");
    page_put_group_link(b, g->name);
    cw_buf_printf(b,
                  "</td><td class=\"n\">%u</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
                  "<td class=\"n\">%zu</td><td class=\"n\">%zu</td></tr>",
                  (unsigned)g->count, st[WEB_STATE_UP], st[WEB_STATE_FAILING], st[WEB_STATE_DOWN],
                  st[WEB_STATE_UNKNOWN]);
}

static bool has_problem(const size_t *st) { return st[WEB_STATE_DOWN] + st[WEB_STATE_FAILING] > 0; }

void page_put_groups(struct cw_buf *b, const struct web_model *m, const size_t *gstates)
{
    const struct web_layout *l = &m->layout;
    if (l->n_groups < 2) return;
    put_cstr(b, "<h2>Groups</h2>");
    put_table_start(b);
    size_t shown = 0;
    bool all_fit = l->n_groups <= PAGE_GROUPS_MAX;
    for (int pass = all_fit ? 1 : 0; pass < 2; pass++) /* more than fit: those with a problem first */
        for (size_t k = 0; k < l->n_groups && shown < PAGE_GROUPS_MAX; k++) {
            bool problem = has_problem(&gstates[4 * k]);
            if (!all_fit && problem != (pass == 0)) continue;
            put_group_row(b, &l->groups[k], &gstates[4 * k]);
            shown++;
        }
    put_cstr(b, "</tbody></table></div>");
    if (!all_fit)
        cw_buf_printf(b,
                      "<p class=\"muted\">and %zu more groups (those with a failing or down endpoint first): "
                      "<a href=\"/groups\">all %zu groups</a></p>",
                      l->n_groups - shown, l->n_groups);
    put_cstr(b, "\n");
}

static void put_search(struct cw_buf *b, const char *q)
{
    put_cstr(b, "<form class=\"search\" method=\"get\" action=\"/groups\"><input type=\"search\" name=\"q\" "
                "maxlength=\"100\" placeholder=\"Group name\" aria-label=\"Search groups\" value=\"");
    web_html_text(b, q ? q : "");
    put_cstr(b, "\"> <button type=\"submit\">Search</button></form>\n");
}

void page_groups(const struct web_request *rq, struct web_reply *rp)
{
    const struct web_model *m = rq->model;
    struct web_filter f;
    const char *why;
    struct web_request only_q = *rq; /* /groups takes q and page only: state and group mean nothing here */
    only_q.n_args = 0;
    for (size_t i = 0; i < rq->n_args; i++)
        if (strcmp(rq->args[i].key, "q") == 0) only_q.args[only_q.n_args++] = rq->args[i];
    if (web_filter_parse(&only_q, m, &f, &why)) {
        page_error(rq, rp, 400, why);
        return;
    }
    const struct web_layout *l = &m->layout;
    bool *match = cw_xcalloc(l->n_groups + 1, sizeof *match);
    web_filter_groups(&f, m, match);
    size_t n_match = 0;
    for (size_t k = 0; k < l->n_groups; k++) n_match += match[k];
    size_t page, pages;
    if (!page_pick(rq, rp, n_match, PAGE_GROUPS_MAX, "groups", &page, &pages)) {
        free(match);
        return;
    }
    size_t states[4], *gstates = page_count_states(m, states);
    struct cw_buf *b = &rp->body, query = { 0 };
    web_filter_query(&query, &f);
    cw_buf_put(&query, "", 1);
    rp->content_type = "text/html; charset=utf-8";
    page_begin(b, rq, "Groups", 60);
    cw_buf_printf(b, "<h2>Groups</h2><p class=\"muted\">%zu of %zu groups", n_match, l->n_groups);
    put_cstr(b, f.q_len ? " match. <a href=\"/groups\">All groups</a></p>\n" : ".</p>\n");
    put_search(b, f.q_raw);
    page_put_pager(b, "/groups", (const char *)query.data, page, pages);
    put_table_start(b);
    for (size_t k = 0, seen = 0; k < l->n_groups; k++) {
        if (!match[k]) continue;
        if (seen++ / PAGE_GROUPS_MAX + 1 == page) put_group_row(b, &l->groups[k], &gstates[4 * k]);
    }
    put_cstr(b, "</tbody></table></div>\n");
    page_put_pager(b, "/groups", (const char *)query.data, page, pages);
    page_end(b);
    cw_buf_free(&query);
    free(gstates);
    free(match);
}
