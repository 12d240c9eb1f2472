/* tests/unit/test_web_kinds.c — clockwerk-web and the check types beyond HTTP (issue 14), on a fabricated model fed
 * with encoded results: the live model keeps each check's kind and figures; the headline figure of each type
 * (web/figures.c); the index page shows a type and a headline only for the types other than http (an http row is
 * byte for byte what it was); the API gives `type` on endpoints and `details` (the figures) on checks; /metrics
 * labels clockwerk_endpoint_info with the type and gives DNS answers and ICMP loss per endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "common/config/config.h"
#include "common/wire/protocol.h"
#include "web/api.h"
#include "web/figures.h"
#include "web/metrics.h"
#include "web/model.h"
#include "web/pages.h"
#include "web/route.h"

#define AT_US 1795579506123000LL
#define DAY_US (86400LL * 1000000)

static struct cw_endpoint eps[6] = {
    { .url = "http://127.0.0.1:1/plain", .name = "Plain" },
    { .url = "tcp://127.0.0.1:25", .name = "SMTP", .type = CW_CHECK_TCP },
    { .url = "tls://127.0.0.1:465", .name = "SMTPS", .type = CW_CHECK_TLS },
    { .url = "dns://127.0.0.1:5353/example.test?type=MX", .name = "MX", .type = CW_CHECK_DNS },
    { .url = "icmp://192.0.2.1", .name = "Ping", .type = CW_CHECK_ICMP },
    { .url = "push://nightly-backup", .name = "Backup", .type = CW_CHECK_PUSH },
};

static struct cw_result result(int i, uint64_t seq, int64_t at_us)
{
    static const char *const figures[6] = {
        NULL,
        NULL,
        "{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"verify\":\"ok\"}",
        "{\"rcode\":\"NOERROR\",\"answers\":[\"10 mx1.example.test.\",\"20 mx2.example.test.\"]}",
        "{\"sent\":4,\"received\":3,\"loss_pct\":25,\"rtt_avg_ms\":0.052,\"method\":\"dgram\"}",
        "{\"status\":\"up\",\"gap_s\":3600.5}",
    };
    struct cw_result r = { .worker = 1,
                           .boot_id = 7,
                           .seq = seq,
                           .checked_at_us = at_us,
                           .latency_us = 1500,
                           .dns_us = -1,
                           .connect_us = i == 1 ? 1234 : -1,
                           .tls_us = -1,
                           .ttfb_us = -1,
                           .status_code = i == 0 ? 200 : 0,
                           .ok = true,
                           .url = eps[i].url,
                           .kind = (uint8_t)eps[i].type,
                           .figures = figures[i] };
    if (i == 2) r.tls_expires_at_us = at_us + 30 * DAY_US + 3600000000LL;
    return r;
}

static void feed(struct web_model *m, const struct cw_result *rs, size_t n)
{
    struct cw_buf b = { 0 };
    proto_results_begin(&b);
    for (size_t i = 0; i < n; i++) assert_int_equal(proto_results_add(&b, &rs[i]), 0);
    web_live_apply(m, CW_MSG_RESULT, b.data, b.len, 1000);
    cw_buf_free(&b);
}

static void build_fed(struct web_model *m, struct cw_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->endpoints = eps;
    cfg->n_endpoints = 6;
    char err[256];
    assert_int_equal(web_ids_build(m, cfg, err, sizeof err), 0);
    struct cw_result rs[6];
    for (int i = 0; i < 6; i++) rs[i] = result(i, 1 + (uint64_t)i, AT_US);
    feed(m, rs, 6);
}

static void test_live_keeps_kind_and_figures(void **state)
{
    (void)state;
    struct web_model m;
    struct cw_config cfg;
    build_fed(&m, &cfg);
    assert_int_equal(m.bus.malformed, 0);
    const struct web_check *dns = &m.endpoints[3].live.last;
    assert_int_equal(dns->kind, CW_CHECK_DNS);
    assert_non_null(web_check_figures(dns));
    assert_non_null(strstr(web_check_figures(dns), "mx2.example.test."));
    assert_null(web_check_figures(&m.endpoints[0].live.last));
    /* a push that missed its call (without figures): the last call stays */
    struct cw_result missed = result(5, 7, AT_US + 7200 * 1000000LL);
    missed.ok = false, missed.error = "no call within 3600 s + 360 s grace", missed.figures = NULL;
    missed.latency_us = -1;
    feed(&m, &missed, 1);
    assert_int_equal(m.endpoints[5].live.last_call_us, AT_US);
    assert_null(web_check_figures(&m.endpoints[5].live.last));
    /* a call with status=down is a call */
    struct cw_result down = result(5, 8, AT_US + 7300 * 1000000LL);
    down.ok = false, down.error = "status=down: disk full",
    down.figures = "{\"status\":\"down\",\"msg\":\"disk full\"}";
    feed(&m, &down, 1);
    assert_int_equal(m.endpoints[5].live.last_call_us, AT_US + 7300 * 1000000LL);
    /* a silence tells its last call by its gap; an older one never moves it back */
    struct cw_result silent = result(5, 9, AT_US + 9000 * 1000000LL);
    silent.ok = false, silent.error = "no call within 3600 s",
    silent.figures = "{\"status\":\"missing\",\"gap_s\":8000}";
    feed(&m, &silent, 1);
    assert_int_equal(m.endpoints[5].live.last_call_us, AT_US + 7300 * 1000000LL);
    struct web_figures f;
    web_figures_parse("{\"status\":\"missing\",\"gap_s\":100.5}", &f);
    assert_int_equal(web_push_last_call_us(&f, 1000 * 1000000LL), 899500000LL);
    web_figures_parse("{\"status\":\"missing\"}", &f); /* none recorded */
    assert_int_equal(web_push_last_call_us(&f, 1000 * 1000000LL), 0);
    web_ids_free(&m);
}

static void test_headlines(void **state)
{
    (void)state;
    struct web_model m;
    struct cw_config cfg;
    build_fed(&m, &cfg);
    char buf[WEB_HEADLINE_MAX];
    int64_t now_ms = AT_US / 1000 + 42000;
    assert_string_equal(web_headline(&m.endpoints[0], now_ms, buf, sizeof buf), "");
    assert_string_equal(web_headline(&m.endpoints[1], now_ms, buf, sizeof buf), "connect 1.23 ms");
    assert_string_equal(web_headline(&m.endpoints[2], now_ms, buf, sizeof buf), "TLSv1.3, 30 days left");
    assert_string_equal(web_headline(&m.endpoints[3], now_ms, buf, sizeof buf), "NOERROR, 2 answers");
    assert_string_equal(web_headline(&m.endpoints[4], now_ms, buf, sizeof buf), "25% loss, avg 0.052 ms");
    assert_string_equal(web_headline(&m.endpoints[5], now_ms, buf, sizeof buf), "last call 42 s ago");
    struct web_endpoint fresh = { .cfg = &eps[5] };
    assert_string_equal(web_headline(&fresh, now_ms, buf, sizeof buf), "no call yet");
    struct cw_result lost = result(4, 8, AT_US + 1);
    lost.ok = false, lost.latency_us = -1, lost.error = "100% packet loss";
    lost.figures = "{\"sent\":4,\"received\":0,\"loss_pct\":100}";
    feed(&m, &lost, 1);
    assert_string_equal(web_headline(&m.endpoints[4], now_ms, buf, sizeof buf), "100% loss");
    web_ids_free(&m);
}

static struct web_reply call(struct web_model *m, struct cw_config *cfg, web_handler fn, const char *path)
{
    struct web_request rq = { .path = path, .rest = "", .model = m, .cfg = cfg };
    struct web_reply rp = { .status = 200 };
    fn(&rq, &rp);
    cw_buf_put(&rp.body, "", 1);
    return rp;
}

static void test_index_and_api(void **state)
{
    (void)state;
    struct web_model m;
    struct cw_config cfg;
    build_fed(&m, &cfg);
    struct web_reply rp = call(&m, &cfg, page_index, "/");
    const char *html = (const char *)rp.body.data;
    assert_non_null(strstr(html, "<span class=\"kind\">dns · NOERROR, 2 answers</span>"));
    assert_non_null(strstr(html, "<span class=\"kind\">tcp · connect 1.23 ms</span>"));
    assert_non_null(strstr(html, "<span class=\"kind\">push · last call "));
    /* the http row carries no type: an installation of http checks gets the page it had */
    const char *plain = strstr(html, "<tr id=\"ep-plain\">");
    assert_non_null(plain);
    const char *end = strstr(plain, "</tr>");
    for (const char *k = strstr(plain, "class=\"kind\""); k; k = NULL) assert_true(k > end);
    cw_buf_free(&rp.body);

    rp = call(&m, &cfg, api_endpoints, "/api/v1/endpoints");
    json_object *o = json_tokener_parse((const char *)rp.body.data), *list = NULL;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "endpoints", &list));
    static const char *const types[6] = { "http", "tcp", "tls", "dns", "icmp", "push" };
    for (int i = 0; i < 6; i++) {
        json_object *e = json_object_array_get_idx(list, (size_t)i), *t = NULL, *lc = NULL, *d = NULL;
        assert_true(json_object_object_get_ex(e, "type", &t));
        assert_string_equal(json_object_get_string(t), types[i]);
        assert_true(json_object_object_get_ex(e, "last_check", &lc));
        assert_true(json_object_object_get_ex(lc, "details", &d));
        if (i == 3) {
            json_object *rcode = NULL;
            assert_true(json_object_is_type(d, json_type_object));
            assert_true(json_object_object_get_ex(d, "rcode", &rcode));
            assert_string_equal(json_object_get_string(rcode), "NOERROR");
        }
        if (i < 2) assert_null(d);
    }
    json_object_put(o);
    cw_buf_free(&rp.body);
    web_ids_free(&m);
}

static void test_metrics(void **state)
{
    (void)state;
    struct web_model m;
    struct cw_config cfg;
    build_fed(&m, &cfg);
    struct web_request rq = { .model = &m, .now_mono_ns = 2000 };
    struct cw_buf b = { 0 };
    web_metrics_render(&rq, &b);
    cw_buf_put(&b, "", 1);
    const char *t = (const char *)b.data;
    assert_non_null(strstr(t,
                           "clockwerk_endpoint_info{endpoint=\"mx\",name=\"MX\",group=\"\",url=\"dns://127.0.0.1:5353"
                           "/example.test?type=MX\",type=\"dns\"} 1\n"));
    assert_non_null(strstr(t, ",type=\"http\"} 1\n"));
    assert_non_null(strstr(t, "# TYPE clockwerk_dns_answers gauge\nclockwerk_dns_answers{endpoint=\"mx\"} 2\n"));
    assert_non_null(strstr(t, "# TYPE clockwerk_icmp_loss_ratio gauge\nclockwerk_icmp_loss_ratio{endpoint=\"ping\"} "
                              "0.25\n"));
    assert_null(strstr(t, "clockwerk_dns_answers{endpoint=\"plain\"}"));
    cw_buf_free(&b);
    web_ids_free(&m);
}

/* The number of answers is the reply's, not the kept array's: answers_total when the check wrote it (more than it
 * keeps), else the array plus the answers the figures budget left out (answers_cut). */
static void test_dns_answers_count_is_the_replys(void **state)
{
    (void)state;
    struct web_figures f;
    web_figures_parse("{\"rcode\":\"NOERROR\",\"answers_total\":300,\"answers\":[\"192.0.2.1\",\"192.0.2.2\"],"
                      "\"answers_cut\":40}",
                      &f);
    assert_int_equal(f.answers, 300);
    web_figures_parse("{\"rcode\":\"NOERROR\",\"answers\":[\"192.0.2.1\",\"192.0.2.2\"],\"answers_cut\":40}", &f);
    assert_int_equal(f.answers, 42);
    web_figures_parse("{\"rcode\":\"NOERROR\",\"answers\":[\"192.0.2.1\"]}", &f);
    assert_int_equal(f.answers, 1);
    web_figures_parse("{\"rcode\":\"NOERROR\",\"answers_total\":\"x\",\"answers\":[\"192.0.2.1\"]}", &f);
    assert_int_equal(f.answers, 1);
    web_figures_parse("{\"rcode\":\"NXDOMAIN\"}", &f);
    assert_int_equal(f.answers, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_keeps_kind_and_figures),
        cmocka_unit_test(test_headlines),
        cmocka_unit_test(test_index_and_api),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_dns_answers_count_is_the_replys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
