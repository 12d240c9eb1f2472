/* tests/unit/test_web_metrics.c — clockwerk-web's /metrics and badges as pure functions of a fabricated model:
 * the exposition text (each family's HELP and TYPE once and before its samples, families contiguous, no series
 * twice, histograms cumulative with +Inf equal to _count, label values escaped, the URL masked on _info only,
 * resent alerts counted once, process counters mapped through the table, unknown ones counted), a stream cut
 * short by a reload, the size and time at 10,000 endpoints; badge text widths, layout and escaping, and the
 * badge routes (404 for an unknown ID or name). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/base/clock.h"
#include "common/wire/protocol.h"
#include "web/badge.h"
#include "web/metrics.h"
#include "web/model.h"
#include "web/route.h"

#define AT_US 1795579506123000LL

static char *render(const struct web_model *m, int64_t now_mono_ns)
{
    struct web_request rq = { .model = m, .now_mono_ns = now_mono_ns };
    struct cw_buf b = { 0 };
    web_metrics_render(&rq, &b);
    cw_buf_put(&b, "", 1);
    return (char *)b.data;
}

static char *label_value(const char *s)
{
    struct cw_buf b = { 0 };
    web_metrics_label_value(&b, s);
    cw_buf_put(&b, "", 1);
    return (char *)b.data;
}

static void test_label_escaping(void **state)
{
    (void)state;
    const char *cases[][2] = {
        { "plain", "plain" },
        { "a\\b\"c\nd", "a\\\\b\\\"c\\nd" },
        { "tab\there\r", "tab\xEF\xBF\xBDhere\xEF\xBF\xBD" },
        { "caf\xC3\xA9", "caf\xC3\xA9" },
        { "bad\xFFutf", "bad\xEF\xBF\xBDutf" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = label_value(cases[i][0]);
        assert_string_equal(got, cases[i][1]);
        free(got);
    }
    struct cw_buf b = { 0 };
    web_metrics_us_as_seconds(&b, 1250000);
    cw_buf_put(&b, " ", 1);
    web_metrics_us_as_seconds(&b, -1);
    cw_buf_put(&b, " ", 1);
    web_metrics_i64(&b, INT64_MIN);
    cw_buf_put(&b, " ", 1);
    web_metrics_u64(&b, UINT64_MAX);
    cw_buf_put(&b, "", 1);
    assert_string_equal((char *)b.data, "1.250000 -0.000001 -9223372036854775808 18446744073709551615");
    cw_buf_free(&b);
}

static struct cw_endpoint eps[3] = {
    { .url = "http://127.0.0.1:1/a", .name = "Alpha", .group = "G" },
    { .url = "http://user:pw@127.0.0.1:1/b?token=secret", .group = "quote\" back\\ nl\n" },
    { .url = "http://127.0.0.1:1/c", .name = "Gamma \"c\"\nline" },
};

static void build(struct web_model *m, struct cw_endpoint *list, size_t n)
{
    static struct cw_config cfg;
    cfg.endpoints = list;
    cfg.n_endpoints = n;
    char err[256];
    assert_int_equal(web_ids_build(m, &cfg, err, sizeof err), 0);
}

static void send_result(struct web_model *m, const char *url, bool ok, uint64_t seq, int64_t latency_us)
{
    struct cw_result r = { .worker = 1,
                           .boot_id = 77,
                           .seq = seq,
                           .checked_at_us = AT_US + (int64_t)seq,
                           .latency_us = latency_us,
                           .dns_us = 10,
                           .connect_us = 20000,
                           .tls_us = strncmp(url, "https:", 6) == 0 ? 15000 : -1,
                           .ttfb_us = latency_us / 2,
                           .status_code = (uint16_t)(ok ? 200 : 500),
                           .ok = ok,
                           .url = url,
                           .error = ok ? "" : "HTTP 500",
                           .tls_expires_at_us = ok ? AT_US + 86400000000LL : 0 };
    struct cw_buf b = { 0 };
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    web_live_apply(m, CW_MSG_RESULT, b.data, b.len, 1000);
    cw_buf_free(&b);
}

static void send_alert(struct web_model *m, const char *url, uint8_t kind, uint64_t id, uint8_t email_state)
{
    struct cw_alert a = { .alert_id = id,
                          .raised_at_us = AT_US + 5,
                          .kind = kind,
                          .email_state = email_state,
                          .url = url,
                          .name = "",
                          .message = "m" };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_alert_encode(&b, &a), 0);
    web_live_apply(m, CW_MSG_ALERT, b.data, b.len, 2000);
    cw_buf_free(&b);
}

static void send_stats(struct web_model *m, const char *role, uint32_t id, const struct cw_stat *items, unsigned n,
                       int64_t now)
{
    struct cw_stats st = { .role = role, .id = id, .boot_id = 1, .at_us = AT_US, .count = n };
    memcpy(st.items, items, n * sizeof *items);
    struct cw_buf b = { 0 };
    assert_int_equal(proto_stats_encode(&b, &st), 0);
    web_live_apply(m, CW_MSG_STATS, b.data, b.len, now);
    cw_buf_free(&b);
}

/* The family a sample line belongs to: its name without _bucket/_sum/_count when that is a histogram's. */
static void family_of(const char *line, char *out, size_t len, const char *histogram)
{
    size_t n = strcspn(line, "{ ");
    snprintf(out, len, "%.*s", (int)n, line);
    size_t h = strlen(histogram);
    if (strncmp(out, histogram, h) == 0 &&
        (!strcmp(out + h, "_bucket") || !strcmp(out + h, "_sum") || !strcmp(out + h, "_count")))
        out[h] = '\0';
}

/* Every family: one HELP, one TYPE, before its samples, all its lines together; no series twice. */
static void check_structure(char *text)
{
    char seen[128][96], series[4096][300];
    size_t n_seen = 0, n_series = 0;
    char current[96] = "";
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char fam[96];
        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
            snprintf(fam, sizeof fam, "%.*s", (int)strcspn(line + 7, " "), line + 7);
            if (line[2] == 'H') {
                for (size_t i = 0; i < n_seen; i++) assert_string_not_equal(seen[i], fam); /* once */
                assert_true(n_seen < 128);
                snprintf(seen[n_seen++], sizeof seen[0], "%s", fam);
            } else {
                assert_string_equal(fam, seen[n_seen - 1]); /* TYPE right after its HELP */
            }
            snprintf(current, sizeof current, "%s", fam);
            continue;
        }
        assert_true(line[0] != '#');
        family_of(line, fam, sizeof fam, "clockwerk_check_duration_seconds");
        if (strcmp(fam, current) != 0) family_of(line, fam, sizeof fam, "clockwerk_group_check_duration_seconds");
        assert_string_equal(fam, current); /* under its own header: contiguous */
        size_t key = (size_t)(strrchr(line, ' ') - line); /* the value follows the last space (a label may hold one) */
        if (n_series < 4096) {
            snprintf(series[n_series], sizeof series[0], "%.*s", (int)key, line);
            for (size_t i = 0; i < n_series; i++) assert_string_not_equal(series[i], series[n_series]);
            n_series++;
        }
    }
    assert_true(n_seen > 15);
}

/* The value of the sample whose name and labels are exactly `series`; -1 when absent. */
static double sample(const char *text, const char *series)
{
    char needle[400];
    snprintf(needle, sizeof needle, "\n%s ", series);
    const char *p = strstr(text, needle);
    return p ? strtod(p + strlen(needle), NULL) : -1;
}

static void check_histogram(const char *text, const char *id, const char *phase, double want_count)
{
    static const char *const les[] = { "0.01", "0.05", "0.25", "1", "5", "+Inf" };
    double last = 0;
    char series[300];
    for (size_t i = 0; i < sizeof les / sizeof les[0]; i++) {
        snprintf(series, sizeof series,
                 "clockwerk_check_duration_seconds_bucket{endpoint=\"%s\",phase=\"%s\",le=\"%s\"}", id, phase, les[i]);
        double v = sample(text, series);
        assert_true(v >= last); /* cumulative */
        last = v;
    }
    snprintf(series, sizeof series, "clockwerk_check_duration_seconds_count{endpoint=\"%s\",phase=\"%s\"}", id, phase);
    assert_true(sample(text, series) == last); /* +Inf == count */
    assert_true(last == want_count);
}

static void test_exposition(void **state)
{
    (void)state;
    struct web_model m;
    build(&m, eps, 3);
    int64_t now = cw_mono_ns();
    send_result(&m, eps[0].url, true, 1, 30000);  /* 30 ms */
    send_result(&m, eps[0].url, true, 2, 300000); /* 300 ms */
    send_result(&m, eps[1].url, false, 3, 5000000);
    send_alert(&m, eps[1].url, CW_ALERT_DOWN, 41, CW_DELIVERY_PENDING);
    send_alert(&m, eps[1].url, CW_ALERT_DOWN, 41, CW_DELIVERY_SENT); /* the same alert, delivered: not a change */
    send_alert(&m, eps[0].url, CW_ALERT_SLOW, 42, CW_DELIVERY_NONE);
    struct cw_stat worker[] = { { "checks", 3 },        { "checks_ok", 2 },
                                { "in_flight", 4 },     { "lateness_p99_us", 2500 },
                                { "a_new_counter", 1 }, { "last_batch_ms", 7 } };
    send_stats(&m, "worker", 0, worker, 6, now);
    struct cw_stat sup[] = { { "restarts_web", 2 }, { "restarts_worker", 0 } };
    send_stats(&m, "supervisor", 0, sup, 2, now);
    struct cw_stat gone[] = { { "in_flight", 9 } };
    send_stats(&m, "worker", 5, gone, 1, now - WEB_STATS_STALE_NS - 1); /* silent for too long: left out */

    char *text = render(&m, now);
    assert_true(sample(text, "clockwerk_endpoint_up{endpoint=\"alpha\"}") == 1);
    assert_true(sample(text, "clockwerk_endpoint_up{endpoint=\"127-0-0-1-1-b\"}") == 0);
    assert_null(strstr(text, "clockwerk_endpoint_up{endpoint=\"gamma-c-line\"}")); /* no check yet: absent */
    assert_true(sample(text, "clockwerk_checks_total{endpoint=\"alpha\",result=\"ok\"}") == 2);
    assert_true(sample(text, "clockwerk_checks_total{endpoint=\"127-0-0-1-1-b\",result=\"failed\"}") == 1);
    assert_true(sample(text, "clockwerk_state_changes_total{endpoint=\"127-0-0-1-1-b\",kind=\"down\"}") == 1);
    assert_true(sample(text, "clockwerk_state_changes_total{endpoint=\"alpha\",kind=\"slow\"}") == 1);
    assert_true(sample(text, "clockwerk_tls_cert_expiry_timestamp_seconds{endpoint=\"alpha\"}") ==
                (double)((AT_US + 86400000000LL) / 1000000));
    assert_null(strstr(text, "clockwerk_tls_cert_expiry_timestamp_seconds{endpoint=\"127"));
    check_histogram(text, "alpha", "total", 2);
    assert_null(strstr(text, "phase=\"tls\"")); /* never reached: no series */
    check_histogram(text, "127-0-0-1-1-b", "total", 1);
    assert_true(
        sample(text, "clockwerk_check_duration_seconds_bucket{endpoint=\"alpha\",phase=\"total\",le=\"0.01\"}") == 0);
    assert_true(
        sample(text, "clockwerk_check_duration_seconds_bucket{endpoint=\"alpha\",phase=\"total\",le=\"0.05\"}") == 1);
    assert_true(
        sample(text, "clockwerk_check_duration_seconds_bucket{endpoint=\"alpha\",phase=\"total\",le=\"0.25\"}") == 1);
    assert_non_null(
        strstr(text, "clockwerk_check_duration_seconds_sum{endpoint=\"alpha\",phase=\"total\"} 0.330000\n"));
    assert_true(
        sample(text, "clockwerk_check_duration_seconds_bucket{endpoint=\"127-0-0-1-1-b\",phase=\"total\",le=\"1\"}") ==
        0);
    /* _info: the URL masked (no credentials, no query), every label value escaped */
    assert_non_null(strstr(text,
                           "clockwerk_endpoint_info{endpoint=\"127-0-0-1-1-b\",name=\"\",group=\"quote\\\" back\\\\ "
                           "nl\\n\",url=\"http://***@127.0.0.1:1/b?***\",type=\"http\"} 1\n"));
    assert_non_null(strstr(text, "name=\"Gamma \\\"c\\\"\\nline\""));
    assert_null(strstr(text, "pw@"));
    assert_null(strstr(text, "secret"));
    /* process counters through the table */
    assert_true(sample(text, "clockwerk_worker_check_lateness_p99_seconds{role=\"worker\",slot=\"0\"}") == 0.0025);
    assert_non_null(strstr(text, "_p99_seconds{role=\"worker\",slot=\"0\"} 0.002500\n"));
    assert_true(sample(text, "clockwerk_storer_last_batch_seconds{role=\"worker\",slot=\"0\"}") == 0.007);
    assert_true(sample(text, "clockwerk_worker_checks_total{role=\"worker\",slot=\"0\",result=\"ok\"}") == 2);
    assert_true(sample(text, "clockwerk_checks_in_flight{role=\"worker\",slot=\"0\"}") == 4);
    assert_true(sample(text, "clockwerk_process_restarts_total{role=\"web\"}") == 2);
    assert_null(strstr(text, "slot=\"5\""));
    assert_null(strstr(text, "a_new_counter"));
    assert_true(sample(text, "clockwerk_web_stats_unknown_keys_total") == 1);
    assert_true(sample(text, "clockwerk_web_bus_records_total{kind=\"alert\"}") == 3);
    assert_non_null(strstr(text, "# TYPE clockwerk_check_duration_seconds histogram\n"));
    assert_true(text[strlen(text) - 1] == '\n');
    check_structure(text);
    free(text);
    web_ids_free(&m);
}

/* A reload between two parts: the stream ends with an error instead of reading the freed endpoints. */
static void test_stream_ends_on_reload(void **state)
{
    (void)state;
    enum { N = 2000 };
    static struct cw_endpoint many[N];
    static char urls[N][40];
    for (size_t i = 0; i < N; i++) {
        snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:1/%zu", i);
        many[i] = (struct cw_endpoint){ .url = urls[i] };
    }
    struct web_model m;
    build(&m, many, N);
    struct web_request rq = { .model = &m, .now_mono_ns = cw_mono_ns() };
    struct web_reply rp = { 0 };
    web_metrics_page(&rq, &rp);
    assert_string_equal(rp.content_type, "text/plain; version=0.0.4; charset=utf-8");
    struct cw_buf part = { 0 };
    assert_int_equal(rp.stream.next(rp.stream.state, &part), 1); /* more to come: 2000 endpoints > one part */
    assert_int_equal(rp.stream.next(rp.stream.state, &part), 1);
    struct web_model next;
    build(&next, many, N / 2);
    web_ids_carry(&next, &m);
    web_ids_free(&m);
    m = next; /* as web/main.c reloads */
    assert_int_equal(rp.stream.next(rp.stream.state, &part), -1);
    rp.stream.done(rp.stream.state);
    cw_buf_free(&part);
    web_ids_free(&m);
}

/* The size and time of /metrics at 10,000 endpoints (printed: docs/web.md quotes them). */
static void test_size_at_10k(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct cw_endpoint *list = calloc(N, sizeof *list);
    char(*urls)[64] = calloc(N, sizeof *urls);
    for (size_t i = 0; i < N; i++) {
        snprintf(urls[i], sizeof urls[i], "https://service-%05zu.example.com/health", i);
        list[i] = (struct cw_endpoint){ .url = urls[i], .group = "Production" };
    }
    struct web_model m;
    build(&m, list, N);
    for (size_t i = 0; i < N; i++) send_result(&m, urls[i], i % 7 != 0, i + 1, (int64_t)(i % 3000) * 1000);
    struct web_request rq = { .model = &m, .now_mono_ns = cw_mono_ns() };
    struct cw_buf b = { 0 };
    int64_t t0 = cw_mono_ns();
    web_metrics_render(&rq, &b);
    double ms = (double)(cw_mono_ns() - t0) / 1e6;
    printf("/metrics at %d endpoints: %.1f MB rendered in %.0f ms\n", N, (double)b.len / 1e6, ms);
    assert_true(b.len < 60 * 1000 * 1000);
    cw_buf_free(&b);
    web_ids_free(&m);
    free(urls);
    free(list);
}

static void test_badge_widths_and_svg(void **state)
{
    (void)state;
    /* Verdana 11 px: s t a t u s = 520+394+600+394+632+520 thousandths = 33.66 px -> 34 -> odd: 35 */
    assert_int_equal(web_badge_text_width("status"), 35);
    assert_int_equal(web_badge_text_width("up"), 15);       /* 632+623 -> 13.8 -> 14 -> 15 */
    assert_int_equal(web_badge_text_width(""), 1);          /* 0 -> odd: 1 */
    assert_int_equal(web_badge_text_width("\xC3\xA9"), 11); /* one wide character: 10.69 -> 11 */
    assert_true(web_text_width_verdana11("W") > web_text_width_verdana11("i"));
    struct cw_buf b = { 0 };
    web_badge_svg(&b, "st<a>tus", "d&wn \"x\"", "#e05d44");
    cw_buf_put(&b, "", 1);
    const char *svg = (const char *)b.data;
    assert_non_null(strstr(svg, "role=\"img\" aria-label=\"st&lt;a&gt;tus: d&amp;wn &quot;x&quot;\""));
    assert_non_null(strstr(svg, "<title>st&lt;a&gt;tus: d&amp;wn &quot;x&quot;</title>"));
    assert_null(strstr(svg, "<a>"));
    unsigned lw = web_badge_text_width("st<a>tus"), mw = web_badge_text_width("d&wn \"x\"");
    char want[64];
    snprintf(want, sizeof want, "width=\"%u\" height=\"20\"", lw + mw + 20);
    assert_non_null(strstr(svg, want));
    snprintf(want, sizeof want, "<rect width=\"%u\" height=\"20\" fill=\"#555\"/>", lw + 10);
    assert_non_null(strstr(svg, want));
    snprintf(want, sizeof want, "textLength=\"%u\">st&lt;a&gt;tus</text>", lw * 10);
    assert_non_null(strstr(svg, want));
    cw_buf_free(&b);
    web_badge_svg(&b, "status", "light", "#eee"); /* a light colour: dark text */
    cw_buf_put(&b, "", 1);
    assert_non_null(strstr((char *)b.data, "fill=\"#333\""));
    cw_buf_free(&b);
}

static struct web_reply badge(const struct web_model *m, const char *rest)
{
    struct web_request rq = { .model = m, .rest = rest };
    struct web_reply rp = { .status = 200 };
    web_badge_page(&rq, &rp);
    cw_buf_put(&rp.body, "", 1);
    return rp;
}

static void test_badge_routes(void **state)
{
    (void)state;
    struct web_model m;
    build(&m, eps, 3);
    const char *bad[] = { "nope/status.svg",    "alpha/status.png",         "alpha", "alpha/", "/status.svg",
                          "alpha/status.svg/x", "alpha/../alpha/status.svg" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct web_reply rp = badge(&m, bad[i]);
        assert_int_equal(rp.status, 404);
        cw_buf_free(&rp.body);
    }
    struct web_reply rp = badge(&m, "alpha/status.svg");
    assert_int_equal(rp.status, 200);
    assert_string_equal(rp.content_type, "image/svg+xml");
    assert_string_equal(rp.cache, "no-cache, no-store, must-revalidate");
    assert_non_null(strstr((char *)rp.body.data, "status: unknown"));
    cw_buf_free(&rp.body);
    send_result(&m, eps[0].url, true, 1, 30000);
    rp = badge(&m, "alpha/status.svg");
    assert_non_null(strstr((char *)rp.body.data, "status: up"));
    assert_non_null(strstr((char *)rp.body.data, "#4c1"));
    cw_buf_free(&rp.body);
    send_alert(&m, eps[0].url, CW_ALERT_DOWN, 1, 0);
    rp = badge(&m, "alpha/status.svg");
    assert_non_null(strstr((char *)rp.body.data, "status: down"));
    assert_non_null(strstr((char *)rp.body.data, "#e05d44"));
    cw_buf_free(&rp.body);
    rp = badge(&m, "alpha/uptime-30d.svg");
    assert_non_null(strstr((char *)rp.body.data, "uptime 30d: no data")); /* no history yet */
    cw_buf_free(&rp.body);
    rp = badge(&m, "alpha/latency.svg");
    assert_non_null(strstr((char *)rp.body.data, "latency: 30 ms")); /* the last check */
    cw_buf_free(&rp.body);
    struct web_ep_history h = { 0 };
    web_window_pack(&h.win[WEB_WIN_30D], &(struct web_window_figures){ .checks = 200, .ok = 199 });
    web_window_pack(&h.win[WEB_WIN_24H],
                    &(struct web_window_figures){ .checks = 10, .ok = 10, .has_latency = true, .p95_ms = 812.4 });
    m.endpoints[0].hist = &h;
    rp = badge(&m, "alpha/uptime-30d.svg");
    assert_non_null(strstr((char *)rp.body.data, "uptime 30d: 99.50%"));
    assert_non_null(strstr((char *)rp.body.data, "#97ca00"));
    cw_buf_free(&rp.body);
    h.win[WEB_WIN_30D].ok = 199999;
    h.win[WEB_WIN_30D].checks = 200000;
    rp = badge(&m, "alpha/uptime-30d.svg");
    assert_non_null(strstr((char *)rp.body.data, "uptime 30d: 99.99%")); /* never rounded up to 100% */
    cw_buf_free(&rp.body);
    rp = badge(&m, "alpha/latency.svg");
    /* the snapshot keeps a percentile as its bucket: 812.4 ms is in the one whose midpoint is 802.8 ms */
    assert_non_null(strstr((char *)rp.body.data, "p95 24h: 803 ms"));
    assert_non_null(strstr((char *)rp.body.data, "#e05d44"));
    cw_buf_free(&rp.body);
    web_ids_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_escaping),        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_stream_ends_on_reload), cmocka_unit_test(test_size_at_10k),
        cmocka_unit_test(test_badge_widths_and_svg),  cmocka_unit_test(test_badge_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
