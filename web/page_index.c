/* web/page_index.c — `/`, the status page: the overall banner, the endpoints with a problem first (a compact
 * list), a summary per group, then one page of endpoints (`?page=N`, INDEX_PAGE_SIZE each) in their groups — the
 * groups in the order they first appear in the configuration, endpoints in the file's order, ungrouped ones
 * under "Other" last — each with its state, 90-day bar, uptimes, last latency and certificate expiry.
 *
 * Budget (issue 13): under 300 KB and 100 ms at 10,000 endpoints. A page holds at most INDEX_PAGE_SIZE bars
 * (~6 KB each), the problem list INDEX_PROBLEMS_MAX lines, the group summary INDEX_GROUPS_MAX rows; the work per
 * request is one pass over the model to count and order (a uthash of the group names) plus the page itself. */
#include "web/pages.h"

#include "common/base/clock.h"
#include "common/base/hash.h"
#include "history/window.h"
#include "web/html.h"
#include "web/page_common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_PAGE_SIZE 40
#define INDEX_PROBLEMS_MAX 20
#define INDEX_GROUPS_MAX 100
#define INDEX_REFRESH_S 60
#define CERT_WARN_DAYS 14

struct group {
    const char *name; /* NULL: "Other" */
    size_t index;     /* order of first appearance; "Other" after all */
    size_t first;     /* position of its first endpoint in the page order */
    size_t count;
    size_t states[4]; /* by enum web_state */
    UT_hash_handle hh;
};

/* The model's endpoints in page order (grouped), and the groups. */
struct layout {
    struct group *groups; /* n_groups, by index */
    size_t n_groups;
    size_t *order;    /* model indexes in page order */
    size_t *group_of; /* per model index: its group's index */
    size_t states[4]; /* over every endpoint */
};

static void layout_free(struct layout *l)
{
    free(l->groups);
    free(l->order);
    free(l->group_of);
}

static void layout_build(struct layout *l, const struct web_model *m)
{
    memset(l, 0, sizeof *l);
    l->groups = cw_xmalloc((m->n + 1) * sizeof *l->groups);
    l->order = cw_xmalloc((m->n + 1) * sizeof *l->order);
    l->group_of = cw_xmalloc((m->n + 1) * sizeof *l->group_of);
    struct group *by_name = NULL, *other = NULL;
    for (size_t i = 0; i < m->n; i++) { /* named groups by first appearance */
        const char *name = m->endpoints[i].cfg->group;
        if (!name) continue;
        struct group *g;
        HASH_FIND_STR(by_name, name, g);
        if (!g) {
            g = &l->groups[l->n_groups];
            *g = (struct group){ .name = name, .index = l->n_groups++ };
            HASH_ADD_KEYPTR(hh, by_name, name, strlen(name), g);
        }
        l->group_of[i] = g->index;
    }
    HASH_CLEAR(hh, by_name);
    for (size_t i = 0; i < m->n; i++) {
        if (!m->endpoints[i].cfg->group) {
            if (!other) {
                other = &l->groups[l->n_groups];
                *other = (struct group){ .name = NULL, .index = l->n_groups++ };
            }
            l->group_of[i] = other->index;
        }
        struct group *g = &l->groups[l->group_of[i]];
        enum web_state st = m->endpoints[i].live.state;
        g->count++;
        g->states[st]++;
        l->states[st]++;
    }
    size_t at = 0;
    for (size_t k = 0; k < l->n_groups; k++) {
        l->groups[k].first = at;
        at += l->groups[k].count;
    }
    size_t *fill = cw_xmalloc((l->n_groups + 1) * sizeof *fill);
    for (size_t k = 0; k < l->n_groups; k++) fill[k] = l->groups[k].first;
    for (size_t i = 0; i < m->n; i++) l->order[fill[l->group_of[i]]++] = i;
    free(fill);
}

static void put_banner(struct cw_buf *b, const struct layout *l, size_t n)
{
    size_t bad = l->states[WEB_STATE_DOWN] + l->states[WEB_STATE_FAILING];
    if (n == 0) {
        put_cstr(b, "<div class=\"banner unknown\">No endpoint is configured</div>");
    } else if (bad == 0 && l->states[WEB_STATE_UNKNOWN] == n) {
        put_cstr(b, "<div class=\"banner unknown\">Waiting for the first checks</div>");
    } else if (bad == 0) {
        put_cstr(b, "<div class=\"banner up\">All systems up</div>");
    } else if (bad < n) {
        cw_buf_printf(b, "<div class=\"banner degraded\">Partly degraded: %zu of %zu endpoints failing or down</div>",
                      bad, n);
    } else {
        cw_buf_printf(b, "<div class=\"banner down\">Down: all %zu endpoints failing or down</div>", n);
    }
    cw_buf_printf(b,
                  "<p class=\"muted\" id=\"counts\">%zu up \xC2\xB7 %zu failing \xC2\xB7 %zu down \xC2\xB7 %zu "
                  "unknown</p>\n",
                  l->states[WEB_STATE_UP], l->states[WEB_STATE_FAILING], l->states[WEB_STATE_DOWN],
                  l->states[WEB_STATE_UNKNOWN]);
}

static void put_endpoint_link(struct cw_buf *b, const struct web_endpoint *e)
{
    char label[PAGE_LABEL_MAX];
    cw_buf_printf(b, "<a href=\"/endpoint/%s\">", e->id); /* IDs are [a-z0-9-] */
    web_html_text(b, web_endpoint_label(e, label, sizeof label));
    put_cstr(b, "</a>");
}

static void put_state(struct cw_buf *b, const struct web_live *l)
{
    const char *state = web_state_name(l->state);
    cw_buf_printf(b, "<span class=\"state %s\">%s%s</span>", state, state, l->slow ? " (slow)" : "");
}

/* Down first, then failing, in the file's order; at most INDEX_PROBLEMS_MAX. */
static void put_problems(struct cw_buf *b, const struct web_model *m, const struct layout *l)
{
    size_t bad = l->states[WEB_STATE_DOWN] + l->states[WEB_STATE_FAILING], shown = 0;
    if (bad == 0) return;
    put_cstr(b, "<h2>Problems</h2><ul class=\"problems\">");
    static const enum web_state order[] = { WEB_STATE_DOWN, WEB_STATE_FAILING };
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < m->n && shown < INDEX_PROBLEMS_MAX; i++) {
            const struct web_endpoint *e = &m->endpoints[i];
            if (e->live.state != order[k]) continue;
            shown++;
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
    if (bad > shown) cw_buf_printf(b, "<li>and %zu more</li>", bad - shown);
    put_cstr(b, "</ul>\n");
}

static void put_group_name(struct cw_buf *b, const struct group *g) { web_html_text(b, g->name ? g->name : "Other"); }

static void put_groups(struct cw_buf *b, const struct layout *l)
{
    if (l->n_groups < 2) return;
    put_cstr(
        b,
        "<h2>Groups</h2><div class=\"grp\"><table><thead><tr><th>Group</th><th>Endpoints</th><th>Up</th><th>Failing</th>"
        "<th>Down</th><th>Unknown</th></tr></thead><tbody>");
    for (size_t k = 0; k < l->n_groups && k < INDEX_GROUPS_MAX; k++) {
        const struct group *g = &l->groups[k];
        cw_buf_printf(b, "<tr><td><a href=\"/?page=%zu#g%zu\">", g->first / INDEX_PAGE_SIZE + 1, k);
        put_group_name(b, g);
        cw_buf_printf(b,
                      "</a></td><td class=\"n\">%zu</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
                      "<td class=\"n\">%zu</td><td class=\"n\">%zu</td></tr>",
                      g->count, g->states[WEB_STATE_UP], g->states[WEB_STATE_FAILING], g->states[WEB_STATE_DOWN],
                      g->states[WEB_STATE_UNKNOWN]);
    }
    put_cstr(b, "</tbody></table></div>");
    if (l->n_groups > INDEX_GROUPS_MAX)
        cw_buf_printf(b, "<p class=\"muted\">and %zu more groups</p>", l->n_groups - INDEX_GROUPS_MAX);
    put_cstr(b, "\n");
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
        if (e->hist) page_put_uptime(b, e->hist->win[w].checks, e->hist->win[w].ok);
        else page_put_uptime(b, 0, 0);
        put_cstr(b, "</td>");
    }
    put_cstr(b, "<td class=\"n\">");
    page_put_latency_ms(b, l->has_check && l->last.latency_us >= 0 ? l->last.latency_us / 1000.0 : -1);
    put_cstr(b, "</td>");
    put_cert(b, l, now_ms);
    put_cstr(b, "</tr>\n");
}

static void put_table_head(struct cw_buf *b, const struct group *g)
{
    cw_buf_printf(b, "<h2 id=\"g%zu\">", g->index);
    put_group_name(b, g);
    put_cstr(
        b, "</h2><div class=\"eps\"><table><thead><tr><th>Endpoint</th><th>State</th><th>Last 90 days</th><th>24 h</th>"
           "<th>7 d</th><th>30 d</th><th>90 d</th><th>Latency</th><th>Cert</th></tr></thead><tbody>\n");
}

static void put_page_link(struct cw_buf *b, size_t page, size_t current)
{
    if (page == current) cw_buf_printf(b, "<b>%zu</b>", page);
    else cw_buf_printf(b, "<a href=\"/?page=%zu\">%zu</a>", page, page);
}

/* "Page 3 of 250: 1 … 2 3 4 … 250" — the first, the last and three around the current one. */
static void put_pager(struct cw_buf *b, size_t page, size_t pages)
{
    if (pages < 2) return;
    cw_buf_printf(b, "<nav class=\"pages\">Page %zu of %zu: ", page, pages);
    size_t lo = page > 3 ? page - 3 : 1, hi = page + 3 < pages ? page + 3 : pages;
    if (lo > 1) put_page_link(b, 1, page);
    if (lo > 2) put_cstr(b, "\xE2\x80\xA6 ");
    for (size_t p = lo; p <= hi; p++) put_page_link(b, p, page);
    if (hi + 1 < pages) put_cstr(b, "\xE2\x80\xA6 ");
    if (hi < pages) put_page_link(b, pages, page);
    put_cstr(b, "</nav>\n");
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

/* The page number from ?page= into *page (1 when absent): 0, or 400 when it is not a number, 404 when there is no
 * such page. */
static int page_number(const struct web_request *rq, size_t pages, size_t *page)
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

void page_index(const struct web_request *rq, struct web_reply *rp)
{
    const struct web_model *m = rq->model;
    size_t pages = m->n ? (m->n + INDEX_PAGE_SIZE - 1) / INDEX_PAGE_SIZE : 1;
    size_t page;
    int bad = page_number(rq, pages, &page);
    if (bad) {
        page_error(rq, rp, bad, bad == 404 ? "No such page of endpoints" : "Bad page number: ?page=N, N from 1");
        return;
    }
    struct layout l;
    layout_build(&l, m);
    struct cw_buf *b = &rp->body;
    rp->content_type = "text/html; charset=utf-8";
    page_begin(b, rq, NULL, INDEX_REFRESH_S);
    put_banner(b, &l, m->n);
    put_problems(b, m, &l);
    page_put_locations_box(b, m, rq->now_mono_ns);
    put_groups(b, &l);
    int64_t day0_ms = page_day0_ms(m), now_ms = cw_wall_us() / 1000;
    size_t from = (page - 1) * INDEX_PAGE_SIZE, to = from + INDEX_PAGE_SIZE < m->n ? from + INDEX_PAGE_SIZE : m->n;
    put_pager(b, page, pages);
    size_t open_group = SIZE_MAX;
    for (size_t k = from; k < to; k++) {
        size_t i = l.order[k];
        if (l.group_of[i] != open_group) {
            if (open_group != SIZE_MAX) put_cstr(b, "</tbody></table></div>\n");
            open_group = l.group_of[i];
            put_table_head(b, &l.groups[open_group]);
        }
        put_row(b, m, &m->endpoints[i], day0_ms, now_ms);
    }
    if (open_group != SIZE_MAX) put_cstr(b, "</tbody></table></div>\n");
    put_pager(b, page, pages);
    put_legend(b, m);
    page_end(b);
    layout_free(&l);
}
