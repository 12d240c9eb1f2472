/* tests/unit/test_web_scale.c — the status page, the API and /metrics for many endpoints (issue 18), rendered from
 * a fabricated model (no server): the search matcher and the filters' validation (400, 404), `/?q=`, `?state=`,
 * `?group=` and their paging (links keep the filter, escaped), the group summary beyond 100 groups (problems
 * first, a link to /groups) and /groups itself, /api/v1/endpoints' default page, its cap, `next` and filters, and
 * web.metrics_per_endpoint both ways with the aggregates by group. Sizes are asserted; times only in make bench. */
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
#include "common/config/config_web.h"
#include "web/api.h"
#include "web/layout.h"
#include "web/metrics.h"
#include "web/model.h"
#include "web/pages.h"
#include "web/route.h"

#define GROUP_SIZE 4
#define HOSTILE_GROUP "<b>\"'" /* no '&': call() splits the query at it */

struct fixture {
    struct cw_config cfg;
    struct cw_endpoint *eps;
    char **strings;
    size_t n;
    struct web_model m;
};

/* n endpoints "Service N" in groups "G NNN" of GROUP_SIZE (group 1 named HOSTILE_GROUP), the last 3 ungrouped;
 * every 10th down, every 7th failing, the others up. */
static void fx_build(struct fixture *f, size_t n)
{
    memset(f, 0, sizeof *f);
    f->n = n;
    f->eps = calloc(n, sizeof *f->eps);
    f->strings = calloc(3 * n, sizeof *f->strings);
    for (size_t i = 0; i < n; i++) {
        char s[64];
        snprintf(s, sizeof s, "http://127.0.0.1:1/e%zu", i);
        f->eps[i].url = f->strings[3 * i] = strdup(s);
        snprintf(s, sizeof s, "Service %05zu", i);
        f->eps[i].name = f->strings[3 * i + 1] = strdup(s);
        snprintf(s, sizeof s, "G %03zu", i / GROUP_SIZE);
        f->eps[i].group = i + 3 >= n ? NULL : i / GROUP_SIZE == 1 ? HOSTILE_GROUP : (f->strings[3 * i + 2] = strdup(s));
    }
    f->cfg.endpoints = f->eps;
    f->cfg.n_endpoints = n;
    f->cfg.web_title = "Scale";
    char err[256];
    assert_int_equal(web_ids_build(&f->m, &f->cfg, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++)
        f->m.endpoints[i].live.state = i % 10 == 0 ? WEB_STATE_DOWN : i % 7 == 0 ? WEB_STATE_FAILING : WEB_STATE_UP;
}

static void fx_free(struct fixture *f)
{
    web_ids_free(&f->m);
    for (size_t i = 0; i < 3 * f->n; i++) free(f->strings[i]);
    free(f->strings);
    free(f->eps);
}

/* The handler for path?query (key=value&…, values as they arrive: decoded); the body NUL-terminated. */
static struct web_reply call(struct fixture *f, web_handler fn, const char *path, const char *query)
{
    static char qbuf[512];
    struct web_request rq = { .path = path, .rest = "", .model = &f->m, .cfg = &f->cfg };
    snprintf(qbuf, sizeof qbuf, "%s", query ? query : "");
    for (char *save = NULL, *kv = strtok_r(qbuf, "&", &save); kv && rq.n_args < WEB_ARGS_MAX;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq) *eq = '\0';
        rq.args[rq.n_args++] = (struct web_arg){ .key = kv, .value = eq ? eq + 1 : NULL };
    }
    struct web_reply rp = { .status = 200 };
    fn(&rq, &rp);
    if (rp.stream.next) { /* /metrics: the whole stream */
        while (rp.stream.next(rp.stream.state, &rp.body) > 0) {
        }
        rp.stream.done(rp.stream.state);
    }
    cw_buf_put(&rp.body, "", 1);
    rp.body.len--;
    return rp;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static int status_of(struct fixture *f, web_handler fn, const char *path, const char *query)
{
    struct web_reply rp = call(f, fn, path, query);
    cw_buf_free(&rp.body);
    return rp.status;
}

static void test_matcher_and_validation(void **state)
{
    (void)state;
    assert_true(web_contains_nocase("Service 00012", "vice 0001", 9));
    assert_true(web_contains_nocase("SERVICE", "service", 7));
    assert_true(web_contains_nocase("abc", "", 0));
    assert_false(web_contains_nocase("Serv", "service", 7));
    assert_false(web_contains_nocase("aab", "abb", 3));
    assert_true(web_contains_nocase("aaab", "aab", 3));
    struct cw_buf b = { 0 };
    web_url_encode(&b, "G 1&x=<\"/");
    cw_buf_put(&b, "", 1);
    assert_string_equal((char *)b.data, "G%201%26x%3D%3C%22%2F");
    cw_buf_free(&b);

    struct fixture f;
    fx_build(&f, 40);
    static const struct {
        const char *query;
        int status;
    } cases[] = { { "state=up", 200 },     { "state=down,failing", 200 }, { "state=", 200 },  { "q=", 200 },
                  { "state=broken", 400 }, { "state=up,", 200 },          { "state=,", 400 }, { "q=%01", 200 },
                  { "group=nope", 404 },   { "group=G 002", 200 },        { "group=", 200 },  { "q=x&page=2", 404 },
                  { "page=abc", 400 },     { "q=Service&page=1", 200 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = status_of(&f, page_index, "/", cases[i].query);
        if (got != cases[i].status) print_message("%s: %d\n", cases[i].query, got);
        assert_int_equal(got, cases[i].status);
    }
    char q[200] = "q=";
    memset(q + 2, 'a', 101);
    assert_int_equal(status_of(&f, page_index, "/", q), 400); /* over 100 bytes */
    q[2] = '\x01';
    q[3] = '\0';
    assert_int_equal(status_of(&f, page_index, "/", q), 400); /* a control character */
    assert_int_equal(status_of(&f, api_endpoints, "/api/v1/endpoints", "state=nope"), 400);
    assert_int_equal(status_of(&f, api_endpoints, "/api/v1/endpoints", "group=nope"), 404);
    fx_free(&f);
}

static void test_index_filters(void **state)
{
    (void)state;
    struct fixture f;
    fx_build(&f, 1000); /* 250 groups */
    struct web_reply rp = call(&f, page_index, "/", "q=SERVICE 0001");
    const char *page = (const char *)rp.body.data;
    assert_int_equal(rp.status, 200);
    assert_int_equal(count(page, "<tr id=\"ep-"), 10); /* Service 00010 .. 00019 */
    assert_non_null(strstr(page, "10 of 1000 endpoints match"));
    assert_non_null(strstr(page, "value=\"SERVICE 0001\""));
    assert_non_null(strstr(page, "class=\"banner degraded\"")); /* the banner stays everyone's */
    cw_buf_free(&rp.body);

    rp = call(&f, page_index, "/", "state=down"); /* 100 down: 3 pages, the links keep the filter */
    page = (const char *)rp.body.data;
    assert_int_equal(count(page, "<tr id=\"ep-"), 40);
    assert_int_equal(count(page, "<td class=\"state down\">down<"), 40);
    assert_non_null(strstr(page, "Page 1 of 3"));
    assert_non_null(strstr(page, "href=\"/?state=down&amp;page=3\""));
    cw_buf_free(&rp.body);
    rp = call(&f, page_index, "/", "state=down&page=3");
    assert_int_equal(count((const char *)rp.body.data, "<tr id=\"ep-"), 20);
    cw_buf_free(&rp.body);

    rp = call(&f, page_index, "/", "group=" HOSTILE_GROUP); /* its own view; the name escaped everywhere */
    page = (const char *)rp.body.data;
    assert_int_equal(rp.status, 200);
    assert_int_equal(count(page, "<tr id=\"ep-"), GROUP_SIZE);
    assert_null(strstr(page, "<b>"));
    assert_non_null(strstr(page, "<h2>Group &lt;b&gt;&quot;&#39;</h2>"));
    assert_non_null(strstr(page, "href=\"/?group=%3Cb%3E%22%27\""));
    assert_non_null(strstr(page, "name=\"group\" value=\"&lt;b&gt;&quot;&#39;\""));
    cw_buf_free(&rp.body);
    rp = call(&f, page_index, "/", "group=&q=service"); /* the ungrouped, "Other" */
    assert_int_equal(count((const char *)rp.body.data, "<tr id=\"ep-"), 3);
    cw_buf_free(&rp.body);
    rp = call(&f, page_index, "/", "q=g 002"); /* a group's name matches its endpoints */
    assert_int_equal(count((const char *)rp.body.data, "<tr id=\"ep-"), GROUP_SIZE);
    assert_non_null(strstr((const char *)rp.body.data, "4 of 1000 endpoints match"));
    cw_buf_free(&rp.body);
    fx_free(&f);
}

static void test_group_summary_and_groups_page(void **state)
{
    (void)state;
    struct fixture f;
    fx_build(&f, 1000); /* 250 groups + Other */
    for (size_t i = 0; i < 1000; i++) f.m.endpoints[i].live.state = WEB_STATE_UP;
    f.m.endpoints[997].live.state = WEB_STATE_DOWN; /* in group 249: listed first though it comes last */
    struct web_reply rp = call(&f, page_index, "/", NULL);
    const char *page = (const char *)rp.body.data, *groups = strstr(page, "<h2>Groups</h2>");
    assert_non_null(groups);
    assert_true(strstr(groups, "G 249") < strstr(groups, "G 000"));
    assert_non_null(strstr(page, "and 151 more groups"));
    assert_non_null(strstr(page, "<a href=\"/groups\">all 251 groups</a>"));
    assert_true(rp.body.len < 300 * 1024);
    cw_buf_free(&rp.body);
    rp = call(&f, page_groups, "/groups", "page=3");
    page = (const char *)rp.body.data;
    assert_int_equal(rp.status, 200);
    assert_int_equal(count(page, "<tr><td><a href=\"/?group="), 51);
    assert_non_null(strstr(page, "href=\"/?group=\">Other</a>"));
    cw_buf_free(&rp.body);
    rp = call(&f, page_groups, "/groups", "q=g 24");
    assert_int_equal(count((const char *)rp.body.data, "<tr><td><a href=\"/?group="), 10);
    cw_buf_free(&rp.body);
    assert_int_equal(status_of(&f, page_groups, "/groups", "page=4"), 404);
    assert_int_equal(status_of(&f, page_groups, "/groups", "page=x"), 400);
    fx_free(&f);
}

static json_object *api(struct fixture *f, const char *query)
{
    struct web_reply rp = call(f, api_endpoints, "/api/v1/endpoints", query);
    assert_int_equal(rp.status, 200);
    json_object *o = json_tokener_parse((const char *)rp.body.data);
    assert_non_null(o);
    cw_buf_free(&rp.body);
    return o;
}

static void test_api_pages(void **state)
{
    (void)state;
    struct fixture f;
    fx_build(&f, 12000);
    json_object *o = api(&f, NULL);
    assert_int_equal(json_object_array_length(json_object_object_get(o, "endpoints")), API_ENDPOINTS_DEFAULT);
    assert_int_equal(json_object_get_int(json_object_object_get(o, "limit")), API_ENDPOINTS_DEFAULT);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "next")),
                        "/api/v1/endpoints?limit=1000&offset=1000");
    json_object_put(o);
    o = api(&f, "limit=1000000&offset=1000"); /* cut to the maximum; the rest is `next` */
    assert_int_equal(json_object_array_length(json_object_object_get(o, "endpoints")), API_ENDPOINTS_MAX);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "next")),
                        "/api/v1/endpoints?limit=10000&offset=11000");
    json_object_put(o);
    o = api(&f, "limit=10000&offset=10000"); /* the last page */
    assert_int_equal(json_object_array_length(json_object_object_get(o, "endpoints")), 2000);
    assert_true(json_object_get_type(json_object_object_get(o, "next")) == json_type_null);
    json_object_put(o);
    o = api(&f, "state=down&q=service 1&limit=5&offset=5"); /* filters: total is what matches */
    json_object *list = json_object_object_get(o, "endpoints");
    assert_int_equal(json_object_get_int(json_object_object_get(o, "total")), 200); /* 10000-11999, every 10th */
    assert_int_equal(json_object_array_length(list), 5);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(list, 0), "id")),
                        "service-10050");
    assert_string_equal(json_object_get_string(json_object_object_get(o, "next")),
                        "/api/v1/endpoints?q=service%201&state=down&limit=5&offset=10");
    json_object_put(o);
    o = api(&f, "group=G 007");
    assert_int_equal(json_object_get_int(json_object_object_get(o, "total")), GROUP_SIZE);
    json_object_put(o);
    fx_free(&f);
}

static size_t metrics_has(struct fixture *f, const char *what)
{
    struct web_reply rp = call(f, web_metrics_page, "/metrics", NULL);
    if (getenv("SHOW")) fwrite(rp.body.data, 1, rp.body.len > 6000 ? 6000 : rp.body.len, stderr);
    size_t n = count((const char *)rp.body.data, what);
    cw_buf_free(&rp.body);
    return n;
}

static void test_metrics_switch(void **state)
{
    (void)state;
    struct fixture f;
    fx_build(&f, CW_WEB_METRICS_AUTO_MAX + 1);
    assert_false(cw_web_metrics_per_endpoint(CW_WEB_METRICS_AUTO, CW_WEB_METRICS_AUTO_MAX + 1));
    assert_true(cw_web_metrics_per_endpoint(CW_WEB_METRICS_AUTO, CW_WEB_METRICS_AUTO_MAX));
    assert_int_equal(metrics_has(&f, "clockwerk_endpoint_info{"), 0); /* auto, over 10,000: aggregates only */
    assert_int_equal(metrics_has(&f, "clockwerk_endpoints{group=\"G 000\",type=\"http\",state=\"down\"} 1\n"), 1);
    assert_int_equal(metrics_has(&f, "clockwerk_endpoints{group=\"\",type=\"http\",state=\"up\"} 2\n"), 1);
    assert_int_equal(metrics_has(&f, "clockwerk_group_checks_total{group=\"G 001\""), 0); /* that one is HOSTILE */
    assert_int_equal(metrics_has(&f, "clockwerk_group_checks_total{group=\"<b>\\\"'\",result=\"ok\"} 0\n"), 1);
    assert_int_equal(metrics_has(&f, "clockwerk_group_check_duration_seconds_bucket{group=\"G 002\",le=\"+Inf\"} 0"),
                     1);
    f.cfg.web_metrics_per_endpoint = CW_WEB_METRICS_ON;
    assert_int_equal(metrics_has(&f, "clockwerk_endpoint_info{"), CW_WEB_METRICS_AUTO_MAX + 1);
    fx_free(&f);
    fx_build(&f, 10);
    assert_int_equal(metrics_has(&f, "clockwerk_endpoint_info{"), 10); /* auto, few: per endpoint too */
    f.cfg.web_metrics_per_endpoint = CW_WEB_METRICS_OFF;
    assert_int_equal(metrics_has(&f, "clockwerk_endpoint_info{"), 0);
    assert_int_equal(metrics_has(&f, "# TYPE clockwerk_endpoints gauge\n"), 1);
    fx_free(&f);
}

/* Issue 18: a location's dns/connect/tls/ttfb histograms are kept only when the model exports the per-endpoint
 * series (128 B a location at 500,000 endpoints otherwise); the group aggregates come from the total one, kept
 * always, so they count alike both ways. */
static void test_phase_histograms_only_per_endpoint(void **state)
{
    (void)state;
    struct cw_result r = { .ok = true,
                           .checked_at_us = 1000,
                           .latency_us = 30000,
                           .dns_us = 2000,
                           .connect_us = 4000,
                           .tls_us = -1,
                           .ttfb_us = 20000 };
    for (int on = 0; on < 2; on++) {
        struct fixture f;
        fx_build(&f, on ? 10 : CW_WEB_METRICS_AUTO_MAX + 1);
        assert_int_equal(f.m.per_endpoint_metrics, on);
        for (size_t i = 0; i < f.n; i++) {
            if (on) assert_non_null(f.m.endpoints[i].live.locs[0].phases);
            else assert_null(f.m.endpoints[i].live.locs[0].phases);
        }
        struct web_endpoint *e = &f.m.endpoints[0]; /* group "G 000" */
        assert_true(web_loc_apply(&e->live.locs[0], &r, e->cfg, false));
        assert_int_equal(
            metrics_has(&f, "clockwerk_group_check_duration_seconds_bucket{group=\"G 000\",le=\"0.01\"} 0\n"), 1);
        assert_int_equal(
            metrics_has(&f, "clockwerk_group_check_duration_seconds_bucket{group=\"G 000\",le=\"0.05\"} 1\n"), 1);
        assert_int_equal(metrics_has(&f, "clockwerk_group_check_duration_seconds_sum{group=\"G 000\"} 0.030000\n"), 1);
        f.cfg.web_metrics_per_endpoint = CW_WEB_METRICS_ON; /* asked after the model was built: total only */
        assert_int_equal(metrics_has(&f, "phase=\"total\",le=\"0.05\"} 1\n"), 1);
        assert_int_equal(metrics_has(&f, "phase=\"dns\",le=\"0.01\"} 1\n"), on);
        assert_int_equal(metrics_has(&f, "phase=\"tls\""), 0); /* not reached: no series either way */
        fx_free(&f);
    }
}

/* Issue 18 (web-diet): what the web holds per endpoint at 500,000: the model's entry, its one location (in the
 * model's pool, no malloc each), its part of the snapshot; the durations in 32 bits lose nothing a check can take
 * (its timeout, an hour at most). */
static void test_model_sizes_and_durations(void **state)
{
    (void)state;
    assert_true(sizeof(struct web_endpoint) <= 144);   /* 232 before */
    assert_true(sizeof(struct web_loc) <= 96);         /* 176 before, and malloc'd one by one */
    assert_true(sizeof(struct web_ep_history) <= 360); /* 392 before */
    assert_int_equal(web_us(web_us_pack(-1)), -1);
    assert_int_equal(web_us(web_us_pack(0)), 0);
    assert_int_equal(web_us(web_us_pack(3600LL * 1000000)), 3600LL * 1000000);  /* the longest timeout */
    assert_int_equal(web_us(web_us_pack(INT64_MAX)), (int64_t)WEB_US_NONE - 1); /* capped, still "reached" */
}

/* The pool of single locations through a reload in place: a new URL reuses its entry, an endpoint that gains
 * locations gets its own array, one that loses them an allocated one; the errors they held are freed once (ASan). */
static void test_loc_pool_reload(void **state)
{
    (void)state;
    const char *two[] = { "fra", "nyc" };
    struct cw_endpoint e1[3] = { { .url = "http://127.0.0.1:1/a" },
                                 { .url = "http://127.0.0.1:1/b" },
                                 { .url = "http://127.0.0.1:1/c", .locations = (char **)two, .n_locations = 2 } };
    struct cw_config c1 = { .endpoints = e1, .n_endpoints = 3 };
    struct web_model m;
    char err[256];
    assert_int_equal(web_ids_build(&m, &c1, err, sizeof err), 0);
    assert_true(m.endpoints[0].live.locs_pooled && m.endpoints[1].live.locs_pooled);
    assert_false(m.endpoints[2].live.locs_pooled);
    assert_ptr_equal(m.endpoints[1].live.locs, &m.loc_pool[1]);
    struct cw_result r = { .ok = false, .checked_at_us = 1000, .latency_us = -1, .error = "HTTP 500" };
    for (int i = 0; i < 2; i++) assert_true(web_loc_apply(&m.endpoints[i].live.locs[0], &r, m.endpoints[i].cfg, false));
    struct cw_endpoint e2[3] = { { .url = "http://127.0.0.1:1/a", .locations = (char **)two, .n_locations = 2 },
                                 { .url = "http://127.0.0.1:1/b2" },
                                 { .url = "http://127.0.0.1:1/c" } };
    struct cw_config c2 = { .endpoints = e2, .n_endpoints = 3 };
    size_t n_urls = 0;
    assert_int_equal(web_ids_update(&m, &c2, &n_urls, err, sizeof err), 0);
    assert_int_equal(n_urls, 1);
    assert_false(m.endpoints[0].live.locs_pooled); /* two locations now: its own array */
    assert_int_equal(m.endpoints[0].live.n_locs, 2);
    assert_ptr_equal(m.endpoints[1].live.locs, &m.loc_pool[1]); /* a new URL: its pool entry, afresh */
    assert_null(m.endpoints[1].live.locs[0].error);
    assert_int_equal(m.endpoints[2].live.n_locs, 1); /* one location now: allocated, not pooled */
    assert_false(m.endpoints[2].live.locs_pooled);
    struct web_model next;
    assert_int_equal(web_ids_build(&next, &c1, err, sizeof err), 0);
    web_ids_carry(&next, &m);
    web_ids_free(&m);
    web_ids_free(&next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matcher_and_validation),
        cmocka_unit_test(test_index_filters),
        cmocka_unit_test(test_group_summary_and_groups_page),
        cmocka_unit_test(test_api_pages),
        cmocka_unit_test(test_metrics_switch),
        cmocka_unit_test(test_phase_histograms_only_per_endpoint),
        cmocka_unit_test(test_model_sizes_and_durations),
        cmocka_unit_test(test_loc_pool_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
