/* web/api.c — the JSON API (see web/api.h): the shared JSON pieces (web/api_json.h), the endpoint list and the
 * incidents. Answers are written straight into the reply's buffer (no tree of objects: 10,000 endpoints in well
 * under 100 ms). */
#include "web/api.h"

#include "common/base/clock.h"
#include "web/api_json.h"
#include "web/figures.h"
#include "web/html.h"
#include "web/layout.h"
#include "web/page_common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void api_error(struct web_reply *rp, int status, const char *message)
{
    rp->status = status;
    rp->content_type = "application/json";
    cw_buf_reset(&rp->body);
    put_cstr(&rp->body, "{\"error\":");
    web_json_string(&rp->body, message);
    put_cstr(&rp->body, "}\n");
}

void api_put_time_ms(struct cw_buf *b, int64_t ms)
{
    char s[40];
    if (ms <= 0) put_cstr(b, "null");
    else cw_buf_printf(b, "\"%s\"", cw_format_iso8601(ms * 1000, s, sizeof s));
}

void api_put_ms(struct cw_buf *b, double ms, bool known)
{
    if (known && ms >= 0 && ms < 1e12) cw_buf_printf(b, "%.3f", ms);
    else put_cstr(b, "null");
}

void api_put_uptime(struct cw_buf *b, int64_t checks, int64_t ok)
{
    if (checks <= 0) put_cstr(b, "null");
    else {
        char num[WEB_NUM_MAX];
        put_cstr(b, web_fmt_uptime(num, sizeof num, checks, ok, 4));
    }
}

void api_put_phases(struct cw_buf *b, const int64_t us[WEB_PHASES])
{
    cw_buf_printf(b, "{\"dns\":");
    api_put_ms(b, us[0] / 1000.0, us[0] >= 0);
    put_cstr(b, ",\"connect\":");
    api_put_ms(b, us[1] / 1000.0, us[1] >= 0);
    put_cstr(b, ",\"tls\":");
    api_put_ms(b, us[2] / 1000.0, us[2] >= 0);
    put_cstr(b, ",\"ttfb\":");
    api_put_ms(b, us[3] / 1000.0, us[3] >= 0);
    put_cstr(b, "}");
}

void api_begin(const struct web_request *rq, struct web_reply *rp)
{
    rp->content_type = "application/json";
    put_cstr(&rp->body, "{\"generated_at\":");
    api_put_time_ms(&rp->body, cw_wall_us() / 1000);
    put_cstr(&rp->body, ",\"history_at\":");
    api_put_time_ms(&rp->body, rq->model->history ? rq->model->history->read_at_ms : 0);
}

/* The last check the bus told, or null. */
static void put_last_check(struct cw_buf *b, const struct web_live *l)
{
    if (!l->has_check) {
        put_cstr(b, "null");
        return;
    }
    const struct web_check *c = &l->last;
    put_cstr(b, "{\"at\":");
    api_put_time_ms(b, c->checked_at_us / 1000);
    cw_buf_printf(b, ",\"ok\":%s,\"status_code\":", c->ok ? "true" : "false");
    if (c->status_code) cw_buf_printf(b, "%u", (unsigned)c->status_code);
    else put_cstr(b, "null");
    put_cstr(b, ",\"latency_ms\":");
    api_put_ms(b, web_us(c->latency) / 1000.0, web_us(c->latency) >= 0);
    int64_t phases[WEB_PHASES];
    for (int i = 0; i < WEB_PHASES; i++) phases[i] = web_us(c->phase[i]);
    put_cstr(b, ",\"phases_ms\":");
    api_put_phases(b, phases);
    put_cstr(b, ",\"error\":");
    web_json_string(b, c->error);
    put_cstr(b, ",\"tls_expires_at\":");
    api_put_time_ms(b, c->tls_expires_at_us / 1000);
    put_cstr(b, ",\"details\":");
    web_put_details(b, web_check_figures(c));
    put_cstr(b, "}");
}

static void put_windows(struct cw_buf *b, const struct web_ep_history *h)
{
    if (!h) {
        put_cstr(b, "null");
        return;
    }
    for (int w = 0; w < WEB_WINDOWS; w++) {
        struct web_window_figures fig, *f = &fig;
        web_ep_window(h, (enum web_window)w, f);
        cw_buf_printf(b, "%s\"%s\":{\"checks\":%" PRId64 ",\"ok\":%" PRId64 ",\"uptime_percent\":", w ? "," : "{",
                      web_window_name((enum web_window)w), f->checks, f->ok);
        api_put_uptime(b, f->checks, f->ok);
        cw_buf_printf(b, ",\"down_seconds\":%.3f,\"incidents\":%u,\"p50_ms\":", f->down_ms / 1000.0, f->incidents);
        api_put_ms(b, f->p50_ms, f->has_latency);
        put_cstr(b, ",\"p95_ms\":");
        api_put_ms(b, f->p95_ms, f->has_latency);
        put_cstr(b, "}");
    }
    put_cstr(b, "}");
}

void api_put_endpoint(struct cw_buf *b, const struct web_endpoint *e)
{
    char url[PAGE_LABEL_MAX];
    const struct web_live *l = &e->live;
    cw_buf_printf(b, "{\"id\":\"%s\",\"name\":", e->id); /* IDs are [a-z0-9-] */
    web_json_string(b, e->cfg->name);
    put_cstr(b, ",\"group\":");
    web_json_string(b, e->cfg->group);
    put_cstr(b, ",\"url\":");
    web_json_string(b, web_url_label(e->cfg->url, url, sizeof url));
    const char *type = config_check_type_name(e->cfg->type);
    cw_buf_printf(b, ",\"type\":\"%s\"", type ? type : "http");
    cw_buf_printf(b, ",\"state\":\"%s\",\"slow\":%s,\"since\":", web_state_name(l->state), l->slow ? "true" : "false");
    api_put_time_ms(b, l->state_since_us / 1000);
    int64_t maint_end_us;
    const struct cw_maintenance *maint = web_maintenance(e, cw_wall_us(), &maint_end_us);
    put_cstr(b, ",\"maintenance\":");
    if (maint) {
        put_cstr(b, "{\"name\":");
        web_json_string(b, maint->name);
        put_cstr(b, ",\"until\":");
        api_put_time_ms(b, maint_end_us / 1000);
        put_cstr(b, "}");
    } else {
        put_cstr(b, "null");
    }
    put_cstr(b, ",\"last_check\":");
    put_last_check(b, l);
    api_put_endpoint_locations(b, e);
    put_cstr(b, ",\"windows\":");
    put_windows(b, e->hist);
    put_cstr(b, "}");
}

bool api_arg_given(const struct web_request *rq, const char *key)
{
    for (size_t i = 0; i < rq->n_args; i++)
        if (strcmp(rq->args[i].key, key) == 0) return true;
    return false;
}

int api_arg_uint(const struct web_request *rq, const char *key, uint64_t max, uint64_t *out)
{
    const char *s = web_request_arg(rq, key);
    if (!s) return api_arg_given(rq, key) ? -1 : 0;
    if (*s < '0' || *s > '9' || strlen(s) > 18) return -1;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v > max) return -1;
    *out = v;
    return 0;
}

/* The endpoints to list: config order, filtered (web/layout.h), [offset, offset + limit) of those that match; *total
 * gets how many match. Without a filter the page is cut out directly (no pass over the model). */
static size_t select_endpoints(const struct web_model *m, const struct web_filter *f, size_t offset, size_t limit,
                               size_t *total, void (*put)(struct cw_buf *, const struct web_endpoint *),
                               struct cw_buf *b)
{
    size_t listed = 0;
    if (!web_filter_active(f)) {
        *total = m->n;
        for (size_t i = offset; i < m->n && listed < limit; i++, listed++) {
            if (listed) put_cstr(b, ",\n");
            put(b, &m->endpoints[i]);
        }
        return listed;
    }
    bool *group_match = cw_xcalloc(m->layout.n_groups + 1, sizeof *group_match);
    web_filter_groups(f, m, group_match);
    size_t k0 = 0, k1 = m->n, matched = 0;
    if (f->has_group) { /* that group's range of the layout: its endpoints in the configuration's order */
        k0 = m->layout.groups[f->group].first;
        k1 = k0 + m->layout.groups[f->group].count;
    }
    for (size_t k = k0; k < k1; k++) {
        size_t i = f->has_group ? m->layout.order[k] : k;
        if (!web_filter_match(f, m, i, group_match)) continue;
        if (matched++ < offset || listed >= limit) continue;
        if (listed++) put_cstr(b, ",\n");
        put(b, &m->endpoints[i]);
    }
    free(group_match);
    *total = matched;
    return listed;
}

void api_endpoints(const struct web_request *rq, struct web_reply *rp)
{
    const struct web_model *m = rq->model;
    uint64_t limit = API_ENDPOINTS_DEFAULT, offset = 0;
    if (api_arg_uint(rq, "limit", 1000000, &limit) != 0 || limit == 0) {
        api_error(rp, 400, "limit must be a whole number from 1 to 1000000");
        return;
    }
    if (limit > API_ENDPOINTS_MAX) limit = API_ENDPOINTS_MAX; /* a page at most; `next` says where the rest is */
    if (api_arg_uint(rq, "offset", UINT32_MAX, &offset) != 0) {
        api_error(rp, 400, "offset must be a whole number from 0");
        return;
    }
    struct web_filter f;
    const char *why;
    int bad = web_filter_parse(rq, m, &f, &why);
    if (bad) {
        api_error(rp, bad, bad == 404 ? "no such group" : why);
        return;
    }
    struct cw_buf *b = &rp->body, rows = { 0 }, next = { 0 };
    size_t total, listed = select_endpoints(m, &f, (size_t)offset, (size_t)limit, &total, api_put_endpoint, &rows);
    api_begin(rq, rp);
    size_t from = offset < total ? (size_t)offset : total;
    cw_buf_printf(b, ",\"total\":%zu,\"offset\":%zu,\"limit\":%" PRIu64 ",\"next\":", total, from, limit);
    if (from + listed < total) {
        put_cstr(&next, "/api/v1/endpoints?");
        web_filter_query(&next, &f);
        cw_buf_printf(&next, "%slimit=%" PRIu64 "&offset=%zu", web_filter_active(&f) ? "&" : "", limit, from + listed);
        cw_buf_put(&next, "", 1);
        web_json_string(b, (const char *)next.data);
    } else {
        put_cstr(b, "null");
    }
    put_cstr(b, ",\"endpoints\":[");
    if (rows.len) cw_buf_put(b, rows.data, rows.len);
    put_cstr(b, "]}\n");
    cw_buf_free(&rows);
    cw_buf_free(&next);
}

void api_put_incident(struct cw_buf *b, const struct web_incident *in, const char *endpoint_id, int64_t now_ms)
{
    put_cstr(b, "{");
    if (endpoint_id) cw_buf_printf(b, "\"endpoint\":\"%s\",", endpoint_id);
    put_cstr(b, "\"start\":");
    api_put_time_ms(b, in->start_ms);
    put_cstr(b, ",\"end\":");
    api_put_time_ms(b, in->end_ms);
    int64_t end = in->end_ms ? in->end_ms : now_ms;
    cw_buf_printf(b, ",\"ongoing\":%s,\"duration_seconds\":%.3f,\"message\":", in->end_ms ? "false" : "true",
                  end > in->start_ms ? (end - in->start_ms) / 1000.0 : 0.0);
    web_json_string(b, in->message);
    put_cstr(b, "}");
}

/* A max-heap of endpoints by the start of their next incident (each endpoint's list is newest first). */
struct cursor {
    int64_t start_ms;
    size_t ep, next;
};

static void sift_down(struct cursor *h, size_t n, size_t i)
{
    for (;;) {
        size_t big = i, l = 2 * i + 1, r = l + 1;
        if (l < n && h[l].start_ms > h[big].start_ms) big = l;
        if (r < n && h[r].start_ms > h[big].start_ms) big = r;
        if (big == i) return;
        struct cursor t = h[i];
        h[i] = h[big];
        h[big] = t;
        i = big;
    }
}

void api_incidents(const struct web_request *rq, struct web_reply *rp)
{
    const struct web_model *m = rq->model;
    uint64_t limit = API_INCIDENTS_DEFAULT;
    if (api_arg_uint(rq, "limit", API_INCIDENTS_MAX, &limit) != 0 || limit == 0) {
        api_error(rp, 400, "limit must be a whole number from 1 to 1000");
        return;
    }
    struct cursor *heap = cw_xmalloc((m->n + 1) * sizeof *heap);
    size_t n = 0, total = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct web_ep_more *x = web_ep_more(m->endpoints[i].hist);
        if (x->n_incidents == 0) continue;
        total += x->n_incidents;
        heap[n++] = (struct cursor){ .start_ms = x->incidents[0].start_ms, .ep = i, .next = 0 };
    }
    for (size_t i = n / 2; i-- > 0;) sift_down(heap, n, i);
    struct cw_buf *b = &rp->body;
    int64_t now_ms = m->history ? m->history->read_at_ms : cw_wall_us() / 1000;
    api_begin(rq, rp);
    cw_buf_printf(b, ",\"total\":%zu,\"limit\":%" PRIu64 ",\"incidents\":[", total, limit);
    for (uint64_t k = 0; k < limit && n > 0; k++) {
        const struct web_endpoint *e = &m->endpoints[heap[0].ep];
        if (k) put_cstr(b, ",\n");
        const struct web_ep_more *x = web_ep_more(e->hist);
        api_put_incident(b, &x->incidents[heap[0].next], e->id, now_ms);
        if (++heap[0].next < x->n_incidents) heap[0].start_ms = x->incidents[heap[0].next].start_ms;
        else heap[0] = heap[--n];
        sift_down(heap, n, 0);
    }
    put_cstr(b, "]}\n");
    free(heap);
}
