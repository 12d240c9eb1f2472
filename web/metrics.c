/* web/metrics.c — /metrics: the Prometheus text exposition (format 0.0.4) of the live model (docs/web.md,
 * "Metrics"). Names follow the Prometheus naming guide and the blackbox exporter: prefix clockwerk_, base units
 * (seconds), _total on counters, _info for metadata, _timestamp_seconds for times.
 *
 * Per endpoint (label `endpoint` = its ID, a slug: bounded, never the URL; the URL, masked, only on
 * clockwerk_endpoint_info): up, checks by result, the duration histogram per phase, state changes, the TLS
 * certificate's expiry. Then every process's counters (web/metrics_stats.c) and the web's own.
 *
 * SIZE AND STREAMING. The histogram dominates: per phase 5 bounds + +Inf + _sum + _count = 8 lines, a phase
 * never reached (tls of an http:// endpoint) has none; ~5 kB per https endpoint with a 32-character ID. At
 * 10,000 such endpoints the body is 51 MB, rendered in ~75 ms (tests/unit/test_web_metrics.c prints both; with
 * 8 bounds it was 68 MB); over HTTP, 10,000 http:// endpoints (25 MB) took 42-76 ms per scrape (docs/web.md).
 * Five bounds, 5x apart (10 ms, 50 ms, 250 ms, 1 s, 5 s), span a DNS answer from a cache to a check near its
 * timeout with one bucket per "kind" of latency: cheap enough at 10k endpoints for a 15 s scrape, and precise
 * percentiles are the history's job (the API's p50/p95, within ~3%). Every extra bound costs ~6 MB per scrape
 * at 10k. The body is never built whole (it would double the web's memory): it is a chunked stream, rendered
 * ~64 kB at a time as libmicrohttpd has room to send.
 * RELOADS. The parts are rendered on the loop, between bus messages and other requests; a reload (SIGHUP)
 * replaces the model's endpoints and frees the old ones. A stream remembers the model's generation and ends
 * with an error at its next part when it changed: the scrape fails (Prometheus retries at the next interval)
 * instead of reading freed memory. Bus messages between parts only move counters forward: each endpoint's
 * lines are rendered in one part, so one series is never torn.
 * COUNTERS FROM THE BUS start at 0 when the web starts and miss what the relay dropped (best effort): the web
 * exports how many results it knows it missed (clockwerk_web_bus_missing_results_total). */
#include "web/metrics.h"

#include "common/base/clock.h"

#include "web/html.h"
#include "web/http.h"

#include <stdlib.h>
#include <string.h>

#define PART_BYTES (64 * 1024)

static const char *const phase_names[WEB_HIST_PHASES] = { "total", "dns", "connect", "tls", "ttfb" };
static const char *const change_names[WEB_CHANGE_KINDS] = { "down", "up", "slow", "fast" };
static const char *const le_names[WEB_HIST_BUCKETS] = { "0.01", "0.05", "0.25", "1", "5", "+Inf" };

void web_metrics_u64(struct cw_buf *b, uint64_t v)
{
    char s[24];
    size_t i = sizeof s;
    do {
        s[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    cw_buf_put(b, s + i, sizeof s - i);
}

void web_metrics_i64(struct cw_buf *b, int64_t v)
{
    if (v < 0) {
        put_cstr(b, "-");
        web_metrics_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        web_metrics_u64(b, (uint64_t)v);
    }
}

void web_metrics_us_as_seconds(struct cw_buf *b, int64_t us)
{
    uint64_t mag = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    if (us < 0) put_cstr(b, "-");
    web_metrics_u64(b, mag / 1000000);
    char frac[8] = ".000000";
    uint64_t f = mag % 1000000;
    for (int i = 6; i >= 1; i--, f /= 10) frac[i] = (char)('0' + f % 10);
    cw_buf_put(b, frac, 7);
}

void web_metrics_label_value(struct cw_buf *b, const char *s)
{
    if (!s) return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '\\' || *p == '"') {
            char esc[2] = { '\\', (char)*p };
            cw_buf_put(b, esc, 2);
            p++;
        } else if (*p == '\n') {
            put_cstr(b, "\\n");
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            put_cstr(b, "\xEF\xBF\xBD");
            p++;
        } else {
            size_t n = cw_utf8_seq_len(p);
            if (n == 0) put_cstr(b, "\xEF\xBF\xBD");
            else cw_buf_put(b, p, n);
            p += n ? n : 1;
        }
    }
}

void web_metrics_header(struct cw_buf *b, const char *name, const char *type, const char *help)
{
    put_cstr(b, "# HELP ");
    put_cstr(b, name);
    put_cstr(b, " ");
    put_cstr(b, help);
    put_cstr(b, "\n# TYPE ");
    put_cstr(b, name);
    put_cstr(b, " ");
    put_cstr(b, type);
    put_cstr(b, "\n");
}

/* `name{endpoint="ID"`. An ID is a slug (a-z, 0-9, '-': config_web.h), nothing to escape: written as is, which
 * matters at ~500,000 lines per scrape. */
static void open_series(struct cw_buf *b, const char *name, const struct web_endpoint *e)
{
    put_cstr(b, name);
    put_cstr(b, "{endpoint=\"");
    put_cstr(b, e->id);
    put_cstr(b, "\"");
}

static void info_line(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    (void)by_location;
    char url[CW_URL_MAX + 8];
    open_series(b, "clockwerk_endpoint_info", e);
    put_cstr(b, ",name=\"");
    web_metrics_label_value(b, e->cfg->name ? e->cfg->name : "");
    put_cstr(b, "\",group=\"");
    web_metrics_label_value(b, e->cfg->group ? e->cfg->group : "");
    put_cstr(b, "\",url=\"");
    web_metrics_label_value(b, web_url_label(e->cfg->url, url, sizeof url));
    const char *type = config_check_type_name(e->cfg->type);
    put_cstr(b, "\",type=\"");
    put_cstr(b, type ? type : "http"); /* a fixed word: nothing to escape */
    put_cstr(b, "\"} 1\n");
}

static void up_line(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    (void)by_location;
    if (e->live.state == WEB_STATE_UNKNOWN) return; /* no check, no stored alert: no sample (absent, not 0) */
    open_series(b, "clockwerk_endpoint_up", e);
    put_cstr(b, e->live.state == WEB_STATE_UP ? "} 1\n" : "} 0\n");
}

/* `name{endpoint="ID"` and, when the configuration has several locations, `,location="NAME"` (a location name is
 * [A-Za-z0-9_.-]: nothing to escape). */
static void open_loc_series(struct cw_buf *b, const char *name, const struct web_endpoint *e, const struct web_loc *loc,
                            bool by_location)
{
    open_series(b, name, e);
    if (!by_location) return;
    put_cstr(b, ",location=\"");
    put_cstr(b, loc->name);
    put_cstr(b, "\"");
}

static void checks_lines(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    for (size_t k = 0; k < e->live.n_locs; k++) {
        const struct web_loc *loc = &e->live.locs[k];
        open_loc_series(b, "clockwerk_checks_total", e, loc, by_location);
        put_cstr(b, ",result=\"ok\"} ");
        web_metrics_u64(b, loc->checks_ok);
        put_cstr(b, "\n");
        open_loc_series(b, "clockwerk_checks_total", e, loc, by_location);
        put_cstr(b, ",result=\"failed\"} ");
        web_metrics_u64(b, loc->checks_failed);
        put_cstr(b, "\n");
    }
}

static void histogram_phase(struct cw_buf *b, const struct web_endpoint *e, const struct web_loc *loc, int ph,
                            bool by_location)
{
    const struct web_hist *h = web_loc_hist(loc, ph);
    if (!h) return; /* not kept: the model was built with the per-endpoint series off */
    uint64_t cumulative = 0, observed = 0;
    for (int i = 0; i < WEB_HIST_BUCKETS; i++) observed += h->bucket[i];
    if (observed == 0) return; /* a phase never reached (tls of an http:// endpoint): no series */
    for (int i = 0; i < WEB_HIST_BUCKETS; i++) {
        cumulative += h->bucket[i];
        open_loc_series(b, "clockwerk_check_duration_seconds_bucket", e, loc, by_location);
        put_cstr(b, ",phase=\"");
        put_cstr(b, phase_names[ph]);
        put_cstr(b, "\",le=\"");
        put_cstr(b, le_names[i]);
        put_cstr(b, "\"} ");
        web_metrics_u64(b, cumulative);
        put_cstr(b, "\n");
    }
    open_loc_series(b, "clockwerk_check_duration_seconds_sum", e, loc, by_location);
    put_cstr(b, ",phase=\"");
    put_cstr(b, phase_names[ph]);
    put_cstr(b, "\"} ");
    web_metrics_us_as_seconds(b, (int64_t)h->sum_us);
    put_cstr(b, "\n");
    open_loc_series(b, "clockwerk_check_duration_seconds_count", e, loc, by_location);
    put_cstr(b, ",phase=\"");
    put_cstr(b, phase_names[ph]);
    put_cstr(b, "\"} ");
    web_metrics_u64(b, cumulative);
    put_cstr(b, "\n");
}

static void histogram_lines(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    for (size_t k = 0; k < e->live.n_locs; k++)
        for (int ph = 0; ph < WEB_HIST_PHASES; ph++) histogram_phase(b, e, &e->live.locs[k], ph, by_location);
}

/* Each location's own state of the endpoint (its vote: web_loc_state), with several locations only. */
static void location_up_lines(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    if (!by_location) return;
    for (size_t k = 0; k < e->live.n_locs; k++) {
        enum web_state st = web_loc_state(&e->live.locs[k]);
        if (st == WEB_STATE_UNKNOWN) continue;
        open_loc_series(b, "clockwerk_endpoint_location_up", e, &e->live.locs[k], true);
        put_cstr(b, st == WEB_STATE_UP ? "} 1\n" : "} 0\n");
    }
}

static void changes_lines(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    (void)by_location;
    for (int k = 0; k < WEB_CHANGE_KINDS; k++) {
        open_series(b, "clockwerk_state_changes_total", e);
        put_cstr(b, ",kind=\"");
        put_cstr(b, change_names[k]);
        put_cstr(b, "\"} ");
        web_metrics_u64(b, web_live_changes(&e->live, k));
        put_cstr(b, "\n");
    }
}

static void tls_line(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    (void)by_location;
    if (!e->live.has_check || e->live.last.tls_expires_at_us <= 0) return;
    open_series(b, "clockwerk_tls_cert_expiry_timestamp_seconds", e);
    put_cstr(b, "} ");
    web_metrics_i64(b, e->live.last.tls_expires_at_us / 1000000);
    put_cstr(b, "\n");
}

/* The last dns check's answers (blackbox_exporter's probe_dns_answer_rrs), dns endpoints only. */
static void dns_answers_line(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    (void)by_location;
    if (e->cfg->type != CW_CHECK_DNS || !e->live.has_check || web_check_fig(&e->live.last)->answers < 0) return;
    open_series(b, "clockwerk_dns_answers", e);
    put_cstr(b, "} ");
    web_metrics_i64(b, web_check_fig(&e->live.last)->answers);
    put_cstr(b, "\n");
}

/* The last icmp check's lost share of its echo requests, 0..1, icmp endpoints only. */
static void icmp_loss_line(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    (void)by_location;
    if (e->cfg->type != CW_CHECK_ICMP || !e->live.has_check || web_check_fig(&e->live.last)->loss_pct < 0) return;
    open_series(b, "clockwerk_icmp_loss_ratio", e);
    cw_buf_printf(b, "} %g\n", web_check_fig(&e->live.last)->loss_pct / 100.0);
}

static void maintenance_line(struct cw_buf *b, const struct web_endpoint *e, bool by_location)
{
    (void)by_location;
    open_series(b, "clockwerk_endpoint_maintenance", e);
    put_cstr(b, web_maintenance(e, cw_wall_us(), NULL) ? "} 1\n" : "} 0\n");
}

/* One metric family over every endpoint: its header once, then a line (or lines) per endpoint. */
struct endpoint_family {
    const char *name, *type, *help;
    void (*lines)(struct cw_buf *b, const struct web_endpoint *e, bool by_location);
};

static const struct endpoint_family endpoint_families[] = {
    { "clockwerk_endpoint_info", "gauge",
      "Constant 1 per endpoint: its name, group, URL (without credentials; a query shown as ?***) and check type.",
      info_line },
    { "clockwerk_endpoint_up", "gauge",
      "1 when the endpoint is up (last check ok, or the alerter's up), 0 when failing or down; absent while its "
      "state is unknown.",
      up_line },
    { "clockwerk_endpoint_location_up", "gauge",
      "Per location of an endpoint checked in several: 1 when that location sees it up, 0 when failing or down "
      "there (its own alert_threshold); absent before its first check there.",
      location_up_lines },
    { "clockwerk_endpoint_maintenance", "gauge",
      "1 while a maintenance window (the configuration's `maintenance`) covers the endpoint, else 0.",
      maintenance_line },
    { "clockwerk_checks_total", "counter",
      "Checks seen on the bus by result (and location, with several), since the web started (misses what the "
      "relay dropped).",
      checks_lines },
    { "clockwerk_check_duration_seconds", "histogram",
      "Check durations by phase (total, dns, connect, tls, ttfb; a phase not reached is not observed) and "
      "location (with several), since the web started.",
      histogram_lines },
    { "clockwerk_state_changes_total", "counter",
      "State changes from the alerter's alerts (down, up, slow, fast), since the web started.", changes_lines },
    { "clockwerk_tls_cert_expiry_timestamp_seconds", "gauge",
      "When the endpoint's TLS certificate expires (Unix time), from its last check.", tls_line },
    { "clockwerk_dns_answers", "gauge", "Answers in the last check's DNS reply (dns endpoints).", dns_answers_line },
    { "clockwerk_icmp_loss_ratio", "gauge",
      "Share of the last check's echo requests without a reply, 0..1 (icmp "
      "endpoints).",
      icmp_loss_line },
};
#define ENDPOINT_FAMILIES (sizeof endpoint_families / sizeof endpoint_families[0])

static void counter(struct cw_buf *b, const char *name, const char *help, const char *labels, uint64_t v)
{
    if (help) web_metrics_header(b, name, "counter", help);
    put_cstr(b, name);
    put_cstr(b, labels);
    put_cstr(b, " ");
    web_metrics_u64(b, v);
    put_cstr(b, "\n");
}

/* The web's own counters (small: rendered in one part). */
static void web_lines(struct cw_buf *b, const struct web_model *m, const struct web_http *h)
{
    if (h) {
        counter(b, "clockwerk_web_http_requests_total", "HTTP requests answered by the web, by outcome.",
                "{outcome=\"served\"}", h->requests - h->unauthorised - h->not_found - h->bad_method);
        counter(b, "clockwerk_web_http_requests_total", NULL, "{outcome=\"unauthorised\"}", h->unauthorised);
        counter(b, "clockwerk_web_http_requests_total", NULL, "{outcome=\"not_found\"}", h->not_found);
        counter(b, "clockwerk_web_http_requests_total", NULL, "{outcome=\"bad_method\"}", h->bad_method);
    }
    counter(b, "clockwerk_web_bus_messages_total", "Messages the web received from the bus (the relay's stream).", "",
            m->bus.messages);
    counter(b, "clockwerk_web_bus_records_total", "Records the web received from the bus, by kind.",
            "{kind=\"result\"}", m->bus.results);
    counter(b, "clockwerk_web_bus_records_total", NULL, "{kind=\"alert\"}", m->bus.alerts);
    counter(b, "clockwerk_web_bus_records_total", NULL, "{kind=\"stats\"}", m->bus.stats);
    counter(b, "clockwerk_web_bus_records_total", NULL, "{kind=\"locations\"}", m->bus.locations);
    counter(b, "clockwerk_web_bus_malformed_messages_total", "Bus messages the web dropped: not decodable.", "",
            m->bus.malformed);
    counter(b, "clockwerk_web_bus_unknown_urls_total",
            "Results and alerts for an URL the web's configuration does not have (dropped).", "", m->bus.unknown_urls);
    counter(b, "clockwerk_web_bus_unknown_locations_total",
            "Results of a location their endpoint is not checked from (ignored).", "", m->bus.unknown_locations);
    counter(b, "clockwerk_web_bus_missing_results_total",
            "Results the web missed (gaps in the workers' sequence numbers): what its counters lack.", "",
            m->gaps.missing);
    counter(b, "clockwerk_web_stats_unknown_keys_total",
            "Process counters this web does not know (skipped: a newer process?).", "", m->procs.unknown_keys);
    counter(b, "clockwerk_web_stats_dropped_total",
            "Stats messages dropped: more than 512 processes, or a role over 24 bytes.", "", m->procs.dropped);
}

enum { SECTION_WEB, SECTION_PROCS, SECTION_LOCATIONS, SECTION_GROUPS, SECTION_ENDPOINTS };

struct metrics_stream {
    const struct web_model *m;
    const struct web_http *http;
    uint64_t generation;
    int64_t now_mono_ns;
    size_t section; /* SECTION_*, then SECTION_ENDPOINTS + family */
    size_t next_endpoint;
    bool per_endpoint;                 /* web.metrics_per_endpoint, resolved for this model */
    struct web_metrics_groups *groups; /* the aggregates, summed when their section begins */
};

static void stream_done(void *state)
{
    struct metrics_stream *st = state;
    web_metrics_groups_free(st->groups);
    free(st);
}

static int stream_next(void *state, struct cw_buf *out)
{
    struct metrics_stream *st = state;
    const struct web_model *m = st->m;
    if (m->generation != st->generation) return -1; /* reloaded: the endpoints we walked are gone */
    bool by_location = web_model_has_locations(m);
    const size_t end = out->len + PART_BYTES;
    while (out->len < end) {
        if (st->section == SECTION_WEB) {
            web_lines(out, m, st->http);
        } else if (st->section == SECTION_PROCS) {
            web_metrics_procs(out, &m->procs, st->now_mono_ns);
        } else if (st->section == SECTION_LOCATIONS) {
            web_metrics_locations(out, m, st->now_mono_ns);
        } else if (st->section == SECTION_GROUPS) {
            if (!st->groups) st->groups = web_metrics_groups_new(m);
            if (web_metrics_groups_next(st->groups, m, out, end)) return 1;
        } else if (st->per_endpoint && st->section - SECTION_ENDPOINTS < ENDPOINT_FAMILIES) {
            const struct endpoint_family *f = &endpoint_families[st->section - SECTION_ENDPOINTS];
            if (st->next_endpoint == 0) web_metrics_header(out, f->name, f->type, f->help);
            while (st->next_endpoint < m->n && out->len < end)
                f->lines(out, &m->endpoints[st->next_endpoint++], by_location);
            if (st->next_endpoint < m->n) return 1;
            st->next_endpoint = 0;
        } else {
            return 0;
        }
        st->section++;
    }
    return 1;
}

void web_metrics_page(const struct web_request *rq, struct web_reply *rp)
{
    struct metrics_stream *st = cw_xcalloc(1, sizeof *st);
    *st =
        (struct metrics_stream){ .m = rq->model,
                                 .http = rq->http,
                                 .generation = rq->model->generation,
                                 .now_mono_ns = rq->now_mono_ns,
                                 .per_endpoint = cw_web_metrics_per_endpoint(
                                     rq->cfg ? rq->cfg->web_metrics_per_endpoint : CW_WEB_METRICS_AUTO, rq->model->n) };
    rp->content_type = WEB_METRICS_CONTENT_TYPE;
    rp->stream = (struct web_stream){ .next = stream_next, .done = stream_done, .state = st };
}

void web_metrics_render(const struct web_request *rq, struct cw_buf *out)
{
    struct web_reply rp = { 0 };
    web_metrics_page(rq, &rp);
    while (rp.stream.next(rp.stream.state, out) > 0) {
    }
    rp.stream.done(rp.stream.state);
}
