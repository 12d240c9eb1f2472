/* web/metrics_groups.c — the aggregate series of /metrics (issue 18; docs/web.md "Metrics"): per group (the
 * configuration's `group`, "" for the ungrouped) the endpoints by check type and state, the checks by result, the
 * whole check's duration histogram, the state changes and the earliest certificate expiry. Always exported: their
 * size grows with the number of groups, not of endpoints, so they are what a Prometheus server scrapes at 500,000
 * endpoints, where the per-endpoint series (web.metrics_per_endpoint) are off by default.
 *
 * One pass over the model sums everything at the scrape's first part (web_metrics_groups_new): the figures are one
 * moment's, whatever arrives from the bus while the parts are sent. Counters are sums of the endpoints' own (since
 * the web started, every location's): a reload that removes endpoints from a group makes its sum go down, which
 * Prometheus reads as a counter reset. */
#include "web/metrics.h"

#include "web/html.h"
#include "web/layout.h"

#include <stdlib.h>
#include <string.h>

#define TYPES 6 /* enum cw_check_type: http .. push */
static const char *const state_names[4] = { "unknown", "up", "failing", "down" };
static const char *const kind_names[WEB_CHANGE_KINDS] = { "down", "up", "slow", "fast" };
static const char *const le_names[WEB_HIST_BUCKETS] = { "0.01", "0.05", "0.25", "1", "5", "+Inf" };

struct group_sum {
    uint32_t states[TYPES][4]; /* endpoints by type and state */
    uint64_t ok, failed;
    struct web_hist total; /* the whole check's duration, every endpoint and location of the group */
    uint64_t changes[WEB_CHANGE_KINDS];
    int64_t cert_min_us; /* the earliest certificate expiry known; 0: none */
};

struct web_metrics_groups {
    struct group_sum *g;
    size_t n, family, next; /* what is rendered next: family index, group index */
};

static void add_endpoint(struct group_sum *s, const struct web_endpoint *e)
{
    unsigned type = e->cfg->type < TYPES ? (unsigned)e->cfg->type : 0;
    s->states[type][e->live.state & 3]++;
    for (size_t k = 0; k < e->live.n_locs; k++) {
        const struct web_loc *loc = &e->live.locs[k];
        s->ok += loc->checks_ok;
        s->failed += loc->checks_failed;
        const struct web_hist *h = &loc->total;
        for (int b = 0; b < WEB_HIST_BUCKETS; b++) s->total.bucket[b] += h->bucket[b];
        s->total.sum_us += h->sum_us;
    }
    for (int k = 0; k < WEB_CHANGE_KINDS; k++) s->changes[k] += web_live_changes(&e->live, k);
    int64_t exp = e->live.has_check ? e->live.last.tls_expires_at_us : 0;
    if (exp > 0 && (s->cert_min_us == 0 || exp < s->cert_min_us)) s->cert_min_us = exp;
}

struct web_metrics_groups *web_metrics_groups_new(const struct web_model *m)
{
    struct web_metrics_groups *a = cw_xcalloc(1, sizeof *a);
    a->n = m->layout.n_groups;
    a->g = cw_xcalloc(a->n + 1, sizeof *a->g);
    for (size_t i = 0; i < m->n; i++) add_endpoint(&a->g[m->layout.group_of[i]], &m->endpoints[i]);
    return a;
}

void web_metrics_groups_free(struct web_metrics_groups *a)
{
    if (!a) return;
    free(a->g);
    free(a);
}

static void open_group(struct cw_buf *b, const char *name, const struct web_group *g)
{
    put_cstr(b, name);
    put_cstr(b, "{group=\"");
    web_metrics_label_value(b, g->name ? g->name : "");
    put_cstr(b, "\"");
}

static void value_line(struct cw_buf *b, uint64_t v)
{
    put_cstr(b, "} ");
    web_metrics_u64(b, v);
    put_cstr(b, "\n");
}

static void endpoints_lines(struct cw_buf *b, const struct web_group *g, const struct group_sum *s)
{
    for (unsigned t = 0; t < TYPES; t++) {
        if (!s->states[t][0] && !s->states[t][1] && !s->states[t][2] && !s->states[t][3]) continue; /* no such type */
        for (int st = 0; st < 4; st++) {
            open_group(b, "clockwerk_endpoints", g);
            put_cstr(b, ",type=\"");
            put_cstr(b, config_check_type_name((enum cw_check_type)t));
            put_cstr(b, "\",state=\"");
            put_cstr(b, state_names[st]);
            put_cstr(b, "\"");
            value_line(b, s->states[t][st]);
        }
    }
}

static void checks_lines(struct cw_buf *b, const struct web_group *g, const struct group_sum *s)
{
    open_group(b, "clockwerk_group_checks_total", g);
    put_cstr(b, ",result=\"ok\"");
    value_line(b, s->ok);
    open_group(b, "clockwerk_group_checks_total", g);
    put_cstr(b, ",result=\"failed\"");
    value_line(b, s->failed);
}

static void duration_lines(struct cw_buf *b, const struct web_group *g, const struct group_sum *s)
{
    uint64_t cumulative = 0;
    for (int i = 0; i < WEB_HIST_BUCKETS; i++) {
        cumulative += s->total.bucket[i];
        open_group(b, "clockwerk_group_check_duration_seconds_bucket", g);
        put_cstr(b, ",le=\"");
        put_cstr(b, le_names[i]);
        put_cstr(b, "\"");
        value_line(b, cumulative);
    }
    open_group(b, "clockwerk_group_check_duration_seconds_sum", g);
    put_cstr(b, "} ");
    web_metrics_us_as_seconds(b, (int64_t)s->total.sum_us);
    put_cstr(b, "\n");
    open_group(b, "clockwerk_group_check_duration_seconds_count", g);
    value_line(b, cumulative);
}

static void changes_lines(struct cw_buf *b, const struct web_group *g, const struct group_sum *s)
{
    for (int k = 0; k < WEB_CHANGE_KINDS; k++) {
        open_group(b, "clockwerk_group_state_changes_total", g);
        put_cstr(b, ",kind=\"");
        put_cstr(b, kind_names[k]);
        put_cstr(b, "\"");
        value_line(b, s->changes[k]);
    }
}

static void cert_line(struct cw_buf *b, const struct web_group *g, const struct group_sum *s)
{
    if (s->cert_min_us <= 0) return;
    open_group(b, "clockwerk_group_tls_cert_earliest_expiry_timestamp_seconds", g);
    put_cstr(b, "} ");
    web_metrics_i64(b, s->cert_min_us / 1000000);
    put_cstr(b, "\n");
}

static const struct {
    const char *name, *type, *help;
    void (*lines)(struct cw_buf *b, const struct web_group *g, const struct group_sum *s);
} families[] = {
    { "clockwerk_endpoints", "gauge",
      "Endpoints by group (\"\" for the ungrouped), check type and state (unknown, up, failing, down).",
      endpoints_lines },
    { "clockwerk_group_checks_total", "counter",
      "Checks seen on the bus by group and result, every location's, since the web started.", checks_lines },
    { "clockwerk_group_check_duration_seconds", "histogram",
      "The whole check's duration by group, every endpoint and location of it, since the web started.",
      duration_lines },
    { "clockwerk_group_state_changes_total", "counter",
      "State changes from the alerter's alerts by group (down, up, slow, fast), since the web started.",
      changes_lines },
    { "clockwerk_group_tls_cert_earliest_expiry_timestamp_seconds", "gauge",
      "The earliest expiry (Unix time) of the TLS certificates the group's endpoints' last checks saw.", cert_line },
};

int web_metrics_groups_next(struct web_metrics_groups *a, const struct web_model *m, struct cw_buf *out, size_t end)
{
    while (a->family < sizeof families / sizeof families[0]) {
        if (a->next == 0) web_metrics_header(out, families[a->family].name, families[a->family].type,
                                             families[a->family].help);
        while (a->next < a->n && out->len < end) {
            families[a->family].lines(out, &m->layout.groups[a->next], &a->g[a->next]);
            a->next++;
        }
        if (a->next < a->n) return 1;
        a->family++;
        a->next = 0;
    }
    return 0;
}
