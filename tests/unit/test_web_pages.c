/* tests/unit/test_web_pages.c — clockwerk-web's pages and JSON API rendered from a fabricated model and history
 * (no server): the 90 cells of the bar, escaping of a hostile name and error, the banner's states, paging of `/`
 * at 10,000 endpoints within the 300 KB budget, the endpoint page with and without the detail (and a failed
 * one: 503), and every API answer parsed as JSON (json-c) with its 400/404/503 cases and incident order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "common/base/clock.h"
#include "common/config/config.h"
#include "web/api.h"
#include "web/html.h"
#include "web/model.h"
#include "web/pages.h"
#include "web/route.h"

#define DAY_MS INT64_C(86400000)
#define READ_AT_MS INT64_C(1795579506123)
#define HOSTILE "<script>alert(1)</script>\"'&x"

struct fixture {
    struct cw_config cfg;
    struct cw_endpoint *eps;
    char **strings;
    struct web_model m;
    struct web_history hist;
};

static char *fx_str(struct fixture *f, size_t i, const char *fmt, size_t n)
{
    char *s = malloc(64);
    snprintf(s, 64, fmt, n);
    f->strings[i] = s;
    return s;
}

/* n endpoints: "ep-N" named "Endpoint N" (the 2nd named HOSTILE, the 3rd unnamed with credentials), groups "A"
 * for even N, none for odd; a snapshot where every day has checks (day 10 failing half) and one incident each. */
static void fx_build(struct fixture *f, size_t n, bool with_history)
{
    memset(f, 0, sizeof *f);
    f->eps = calloc(n, sizeof *f->eps);
    f->strings = calloc(2 * n, sizeof *f->strings);
    for (size_t i = 0; i < n; i++) {
        f->eps[i].url = fx_str(f, 2 * i, "http://user:pw@127.0.0.1:1/e%zu?token=secret", i);
        f->eps[i].name = i == 1 ? HOSTILE : i == 2 ? NULL : fx_str(f, 2 * i + 1, "Endpoint %zu", i);
        f->eps[i].group = i % 2 == 0 ? "A & B" : NULL;
    }
    f->cfg.endpoints = f->eps;
    f->cfg.n_endpoints = n;
    f->cfg.web_title = "Status <test>";
    char err[256];
    assert_int_equal(web_ids_build(&f->m, &f->cfg, err, sizeof err), 0);
    if (!with_history) return;
    f->hist = (struct web_history){ .read_at_ms = READ_AT_MS, .day0_ms = READ_AT_MS / DAY_MS * DAY_MS - 89 * DAY_MS };
    f->hist.ep = calloc(n, sizeof *f->hist.ep);
    f->hist.n = n;
    for (size_t i = 0; i < n; i++) {
        struct web_ep_history *h = &f->hist.ep[i];
        for (int d = 0; d < WEB_DAYS; d++)
            web_bar_pack(h->bar[d], &(struct web_day){ .checks = 1440,
                                                       .ok = d == 10 ? 720 : 1440,
                                                       .p95_us = 123456,
                                                       .incidents = d == 10 });
        struct web_ep_more *x = web_ep_more_get(h);
        x->notes = calloc(1, sizeof *x->notes);
        x->notes[0] = (struct web_day_note){ .day = 10, .incidents = 1 };
        x->n_notes = 1;
        for (int w = 0; w < WEB_WINDOWS; w++)
            web_window_pack(&h->win[w], &(struct web_window_figures){ .checks = 1000,
                                                     .ok = 999,
                                                     .down_ms = 60000,
                                                     .incidents = 1,
                                                     .has_latency = true,
                                                     .p50_ms = 12.5,
                                                     .p95_ms = 80.25 });
        x->incidents = calloc(1, sizeof *x->incidents);
        x->incidents[0] = (struct web_incident){ .start_ms = READ_AT_MS - (int64_t)(i + 1) * 60000,
                                                 .end_ms = i % 3 ? READ_AT_MS - (int64_t)i * 60000 : 0,
                                                 .message = strdup(i == 1 ? HOSTILE : "HTTP 500") };
        x->n_incidents = 1;
        f->m.endpoints[i].hist = h;
    }
    f->m.history = &f->hist;
}

static void fx_free(struct fixture *f)
{
    for (size_t i = 0; i < f->hist.n; i++) web_ep_history_clear(&f->hist.ep[i]);
    free(f->hist.ep);
    web_ids_free(&f->m);
    for (size_t i = 0; i < 2 * f->cfg.n_endpoints; i++) free(f->strings[i]);
    free(f->strings);
    free(f->eps);
}

static void set_state(struct fixture *f, size_t i, enum web_state st)
{
    f->m.endpoints[i].live.state = st;
    f->m.endpoints[i].live.state_since_us = READ_AT_MS * 1000;
}

/* n endpoints, the 2nd (the hostile name) down; returns its ID. */
static const char *fx_one_down(struct fixture *f, size_t n, bool with_history)
{
    fx_build(f, n, with_history);
    set_state(f, 1, WEB_STATE_DOWN);
    return f->m.endpoints[1].id;
}

/* Calls the handler for path?query (the query as key=value&… without escapes); the body NUL-terminated. */
static struct web_reply call(struct fixture *f, web_handler fn, const char *path, const char *rest, const char *query,
                             const struct web_detail *detail)
{
    static char qbuf[256];
    struct web_request rq = { .path = path, .rest = rest, .model = &f->m, .cfg = &f->cfg, .detail = detail };
    snprintf(qbuf, sizeof qbuf, "%s", query ? query : "");
    for (char *save = NULL, *kv = strtok_r(qbuf, "&", &save); kv && rq.n_args < WEB_ARGS_MAX;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq) *eq = '\0';
        rq.args[rq.n_args++] = (struct web_arg){ .key = kv, .value = eq ? eq + 1 : NULL };
    }
    struct web_reply rp = { .status = 200 };
    fn(&rq, &rp);
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

static void test_index_bars_escaping_groups(void **state)
{
    (void)state;
    struct fixture f;
    fx_one_down(&f, 4, true);
    set_state(&f, 0, WEB_STATE_UP);
    set_state(&f, 2, WEB_STATE_FAILING);
    struct web_reply rp = call(&f, page_index, "/", "", NULL, NULL);
    const char *page = (const char *)rp.body.data;
    assert_int_equal(rp.status, 200);
    assert_int_equal(count(page, "<div class=\"bar\">"), 4);
    for (const char *bar = strstr(page, "<div class=\"bar\">"); bar; bar = strstr(bar + 1, "<div class=\"bar\">")) {
        const char *end = strstr(bar, "</div>");
        size_t cells = 0;
        for (const char *c = strstr(bar, "<i "); c && c < end; c = strstr(c + 1, "<i ")) cells++;
        assert_int_equal(cells, WEB_DAYS);
    }
    assert_null(strstr(page, "<script"));
    assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;x"));
    assert_null(strstr(page, "pw@"));
    assert_null(strstr(page, "secret"));
    assert_non_null(strstr(page, "<title>Status &lt;test&gt;</title>"));
    assert_non_null(strstr(page, "class=\"banner degraded\""));
    assert_non_null(strstr(page, "class=\"state down\">down<"));
    assert_non_null(strstr(page, "class=\"state failing\">failing<"));
    /* the snapshot keeps a day's p95 as its latency bucket: a percentile is a bucket's midpoint (124,927 µs) */
    assert_non_null(strstr(page, ": 50.00%, 1 incident, p95 125 ms\""));
    /* groups in first-appearance order, "Other" last; the problems list before them */
    const char *group_a = strstr(page, ">A &amp; B</a></h2>"), *other = strstr(page, ">Other</a></h2>");
    const char *problems = strstr(page, "<h2>Problems</h2>");
    assert_non_null(group_a);
    assert_non_null(other);
    assert_true(problems && problems < group_a && group_a < other);
    assert_non_null(strstr(page, "<td class=\"n\">99.90%</td>"));
    cw_buf_free(&rp.body);
    fx_free(&f);
}

static void banner_is(struct fixture *f, const char *want)
{
    struct web_reply rp = call(f, page_index, "/", "", NULL, NULL);
    assert_non_null(strstr((const char *)rp.body.data, want));
    cw_buf_free(&rp.body);
}

static void test_banner_states(void **state)
{
    (void)state;
    struct fixture f;
    fx_build(&f, 3, false);
    banner_is(&f, "class=\"banner unknown\"");
    for (size_t i = 0; i < 3; i++) set_state(&f, i, WEB_STATE_UP);
    banner_is(&f, "class=\"banner up\"");
    set_state(&f, 1, WEB_STATE_FAILING);
    banner_is(&f, "class=\"banner degraded\">Partly degraded: 1 of 3");
    for (size_t i = 0; i < 3; i++) set_state(&f, i, WEB_STATE_DOWN);
    banner_is(&f, "class=\"banner down\"");
    /* without history: 90 grey cells per bar, uptimes unknown, the page says so */
    struct web_reply rp = call(&f, page_index, "/", "", NULL, NULL);
    const char *page = (const char *)rp.body.data;
    assert_int_equal(count(page, "<i class=\"c0\" title="), 3 * WEB_DAYS);
    assert_non_null(strstr(page, "History not read yet"));
    cw_buf_free(&rp.body);
    fx_free(&f);
}

static double ms_since(struct timespec t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

static void test_index_paging_10k(void **state)
{
    (void)state;
    struct fixture f;
    fx_build(&f, 10000, true);
    for (size_t i = 0; i < 10000; i += 7) set_state(&f, i, WEB_STATE_DOWN);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct web_reply rp = call(&f, page_index, "/", "", NULL, NULL);
    print_message("/ at 10,000 endpoints: %zu bytes in %.1f ms\n", rp.body.len, ms_since(t0));
    assert_true(rp.body.len < 300 * 1024);
    assert_int_equal(count((const char *)rp.body.data, "<tr id=\"ep-"), 40);
    assert_non_null(strstr((const char *)rp.body.data, "and 1409 more</a></li>")); /* 1429 down, 20 listed */
    assert_non_null(strstr((const char *)rp.body.data, "Page 1 of 250"));
    cw_buf_free(&rp.body);
    rp = call(&f, page_index, "/", "", "page=250", NULL);
    assert_int_equal(rp.status, 200);
    assert_int_equal(count((const char *)rp.body.data, "<tr id=\"ep-"), 40);
    assert_true(rp.body.len < 300 * 1024);
    cw_buf_free(&rp.body);
    static const struct {
        const char *query;
        int status;
    } bad[] = { { "page=251", 404 }, { "page=0", 404 }, { "page=abc", 400 }, { "page=-1", 400 }, { "page=1x", 400 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rp = call(&f, page_index, "/", "", bad[i].query, NULL);
        assert_int_equal(rp.status, bad[i].status);
        cw_buf_free(&rp.body);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rp = call(&f, api_endpoints, "/api/v1/endpoints", "", NULL, NULL);
    print_message("/api/v1/endpoints at 10,000 endpoints: %zu bytes in %.1f ms\n", rp.body.len, ms_since(t0));
    json_object *all = json_tokener_parse((const char *)rp.body.data);
    assert_non_null(all); /* a page of 1000 by default (issue 18), and where the next one is */
    assert_int_equal(json_object_array_length(json_object_object_get(all, "endpoints")), 1000);
    assert_int_equal(json_object_get_int(json_object_object_get(all, "total")), 10000);
    assert_string_equal(json_object_get_string(json_object_object_get(all, "next")),
                        "/api/v1/endpoints?limit=1000&offset=1000");
    json_object_put(all);
    cw_buf_free(&rp.body);
    rp = call(&f, api_incidents, "/api/v1/incidents", "", "limit=1000", NULL);
    all = json_tokener_parse((const char *)rp.body.data);
    json_object *list = json_object_object_get(all, "incidents");
    assert_int_equal(json_object_array_length(list), 1000);
    assert_int_equal(json_object_get_int(json_object_object_get(all, "total")), 10000);
    const char *prev = NULL; /* newest first: ISO strings of one format compare as times */
    for (size_t i = 0; i < 1000; i++) {
        const char *start = json_object_get_string(json_object_object_get(json_object_array_get_idx(list, i), "start"));
        if (prev) assert_true(strcmp(prev, start) >= 0);
        prev = start;
    }
    json_object_put(all);
    cw_buf_free(&rp.body);
    fx_free(&f);
}

static struct web_detail *fake_detail(void)
{
    struct web_detail *d = calloc(1, sizeof *d);
    d->read_at_ms = READ_AT_MS;
    for (int i = 0; i < WEB_DETAIL_HOURS; i++) {
        struct web_detail_hour *h = &d->hours[i];
        h->start_ms = READ_AT_MS / 3600000 * 3600000 - (int64_t)(WEB_DETAIL_HOURS - 1 - i) * 3600000;
        if (i % 50 == 7) continue; /* a gap */
        *h = (struct web_detail_hour){ .start_ms = h->start_ms,
                                       .checks = 60,
                                       .ok = 59,
                                       .has_latency = true,
                                       .p50_us = 20000 + (uint32_t)i * 10,
                                       .p95_us = 90000,
                                       .phase_mean_us = { 1000, 2000, 5000, 9000 } };
    }
    d->has_days = true; /* the exact days (the API's res=day) */
    for (int i = 0; i < WEB_DAYS; i++)
        d->days[i] = (struct web_day){ .checks = 1440, .ok = i == 10 ? 720 : 1440, .p95_us = 124927 };
    d->n_checks = 2;
    d->checks[0] = (struct web_detail_check){ .checked_at_ms = READ_AT_MS - 1000,
                                              .ok = false,
                                              .status_code = 500,
                                              .latency_us = 30000,
                                              .phase_us = { 100, 200, -1, 25000 },
                                              .error = strdup(HOSTILE) };
    d->checks[1] = (struct web_detail_check){ .checked_at_ms = READ_AT_MS - 61000,
                                              .ok = true,
                                              .status_code = 200,
                                              .latency_us = 25000,
                                              .phase_us = { 100, 200, 300, 20000 } };
    return d;
}

/* How often needle is on the endpoint page of id with the detail d. */
static int count_on_page(struct fixture *f, const char *id, const struct web_detail *d, const char *needle)
{
    struct web_reply rp = call(f, page_endpoint, "/endpoint/x", id, NULL, d);
    cw_buf_put(&rp.body, "", 1);
    int n = count((const char *)rp.body.data, needle);
    cw_buf_free(&rp.body);
    return n;
}

static void test_endpoint_page(void **state)
{
    (void)state;
    struct fixture f;
    const char *id = fx_one_down(&f, 3, true);
    struct web_reply rp = call(&f, page_endpoint, "/endpoint/x", id, NULL, NULL); /* no detail: no chart */
    const char *page = (const char *)rp.body.data;
    assert_int_equal(rp.status, 200);
    assert_non_null(strstr(page, "id=\"no-history\""));
    assert_null(strstr(page, "<svg"));
    assert_null(strstr(page, "<script"));
    assert_int_equal(count(page, "<i class=\"c"), WEB_DAYS);
    assert_non_null(strstr(page, "<table id=\"incidents\">"));
    assert_non_null(strstr(page, "<td class=\"n\">1 min</td>")); /* 60 s down in each window */
    cw_buf_free(&rp.body);

    struct web_detail *d = fake_detail();
    static const char *const windows[] = { NULL, "window=24h", "window=7d", "window=30d" };
    for (size_t w = 0; w < 4; w++) {
        rp = call(&f, page_endpoint, "/endpoint/x", id, windows[w], d);
        page = (const char *)rp.body.data;
        assert_int_equal(rp.status, 200);
        assert_int_equal(count(page, "<svg class=\"chart\""), 1);
        assert_int_equal(count(page, "class=\"phase\""), 4);
        static const char *const present[] = { "class=\"band\"", "class=\"p50\"", "class=\"p95\"",
                                               "<table id=\"checks\">" };
        for (size_t k = 0; k < sizeof present / sizeof present[0]; k++) assert_non_null(strstr(page, present[k]));
        assert_int_equal(count(page, "<script") + count(page, "nan") + count(page, "inf"), 0);
        cw_buf_free(&rp.body);
    }
    assert_int_equal(count_on_page(&f, id, d, "<th>HTTP</th>"), 1);
    assert_int_equal(count_on_page(&f, id, d, "<td class=\"n\">500</td>"), 1);
    /* a check of another type has no HTTP status: no such column */
    const struct web_endpoint *we = web_model_by_id(&f.m, id);
    f.eps[we->cfg - f.eps].type = CW_CHECK_TCP;
    assert_int_equal(count_on_page(&f, id, d, "<th>HTTP</th>") + count_on_page(&f, id, d, "<td class=\"n\">500</td>"),
                     0);
    f.eps[we->cfg - f.eps].type = CW_CHECK_HTTP;
    d->error = "database is locked";
    rp = call(&f, page_endpoint, "/endpoint/x", id, NULL, d);
    assert_int_equal(rp.status, 503);
    assert_non_null(strstr((const char *)rp.body.data, "database is locked"));
    cw_buf_free(&rp.body);
    d->error = NULL;
    rp = call(&f, page_endpoint, "/endpoint/x", "no-such-id", NULL, d);
    assert_int_equal(rp.status, 404);
    cw_buf_free(&rp.body);
    rp = call(&f, page_endpoint, "/endpoint/x", id, "window=90d", d);
    assert_int_equal(rp.status, 400);
    cw_buf_free(&rp.body);
    web_detail_free(d);
    fx_free(&f);
}

static json_object *parse_reply(struct web_reply *rp, int status)
{
    assert_int_equal(rp->status, status);
    assert_string_equal(rp->content_type, "application/json");
    json_object *o = json_tokener_parse((const char *)rp->body.data);
    assert_non_null(o);
    cw_buf_free(&rp->body);
    return o;
}

static void api_status(struct fixture *f, web_handler fn, const char *rest, const char *query,
                       const struct web_detail *d, int status)
{
    struct web_reply rp = call(f, fn, "/api", rest, query, d);
    json_object *o = parse_reply(&rp, status);
    if (status != 200) assert_non_null(json_object_object_get(o, "error"));
    json_object_put(o);
}

static void test_api_answers(void **state)
{
    (void)state;
    struct fixture f;
    fx_one_down(&f, 3, false); /* no snapshot yet: every history field null */
    struct web_reply rp = call(&f, api_endpoints, "/api/v1/endpoints", "", NULL, NULL);
    json_object *o = parse_reply(&rp, 200), *eps = json_object_object_get(o, "endpoints");
    assert_int_equal(json_object_array_length(eps), 3);
    json_object *e1 = json_object_array_get_idx(eps, 1);
    assert_string_equal(json_object_get_string(json_object_object_get(e1, "name")), HOSTILE);
    assert_string_equal(json_object_get_string(json_object_object_get(e1, "state")), "down");
    assert_string_equal(json_object_get_string(json_object_object_get(e1, "url")), "http://***@127.0.0.1:1/e1?***");
    assert_true(json_object_is_type(json_object_object_get(e1, "windows"), json_type_null));
    assert_true(json_object_is_type(json_object_object_get(o, "history_at"), json_type_null));
    json_object_put(o);
    api_status(&f, api_endpoints, "", "limit=0", NULL, 400);
    api_status(&f, api_endpoints, "", "limit=x", NULL, 400);
    api_status(&f, api_endpoints, "", "offset=-1", NULL, 400);
    api_status(&f, api_endpoints, "", "limit", NULL, 400);
    rp = call(&f, api_endpoints, "/api/v1/endpoints", "", "limit=1&offset=2", NULL);
    o = parse_reply(&rp, 200);
    assert_int_equal(json_object_array_length(json_object_object_get(o, "endpoints")), 1);
    assert_int_equal(json_object_get_int(json_object_object_get(o, "total")), 3);
    json_object_put(o);
    const char *id = f.m.endpoints[1].id;
    char hist[CW_SLUG_MAX + 16];
    snprintf(hist, sizeof hist, "%s/history", id);
    api_status(&f, api_endpoint, id, NULL, NULL, 200);
    api_status(&f, api_endpoint, "nope", NULL, NULL, 404);
    api_status(&f, api_endpoint, "nope/history", NULL, NULL, 404);
    api_status(&f, api_endpoint, hist, "res=week", NULL, 400);
    api_status(&f, api_endpoint, hist, "res=hour", NULL, 503); /* no detail in this web */
    api_status(&f, api_incidents, "", "limit=1001", NULL, 400);
    rp = call(&f, api_endpoint, "/api", hist, "res=day", NULL);
    o = parse_reply(&rp, 200);
    assert_int_equal(json_object_array_length(json_object_object_get(o, "points")), 0);
    json_object_put(o);
    fx_free(&f);

    fx_build(&f, 3, true);
    id = f.m.endpoints[1].id;
    snprintf(hist, sizeof hist, "%s/history", id);
    struct web_detail *d = fake_detail();
    rp = call(&f, api_endpoint, "/api", id, NULL, d);
    o = parse_reply(&rp, 200);
    json_object *checks = json_object_object_get(o, "last_checks");
    assert_int_equal(json_object_array_length(checks), 2);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(checks, 0), "error")),
                        HOSTILE);
    assert_int_equal(json_object_array_length(json_object_object_get(o, "incidents")), 1);
    json_object_put(o);
    rp = call(&f, api_endpoint, "/api", hist, "res=hour", d);
    o = parse_reply(&rp, 200);
    assert_int_equal(json_object_array_length(json_object_object_get(o, "points")), WEB_DETAIL_HOURS);
    json_object_put(o);
    rp = call(&f, api_endpoint, "/api", hist, NULL, d);
    o = parse_reply(&rp, 200);
    json_object *days = json_object_object_get(o, "points");
    assert_int_equal(json_object_array_length(days), WEB_DAYS);
    assert_int_equal(
        json_object_get_double(json_object_object_get(json_object_array_get_idx(days, 10), "uptime_percent")), 50);
    json_object_put(o);
    d->error = "database is locked";
    api_status(&f, api_endpoint, hist, "res=hour", d, 503);
    api_status(&f, api_endpoint, hist, "res=day", d, 503); /* the exact days are the detail's */
    api_status(&f, api_endpoint, id, NULL, d, 200); /* the endpoint itself needs no detail */
    web_detail_free(d);
    fx_free(&f);
}

static void test_json_string(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    web_json_string(&b, "a\"b\\c\n\x01\x7f\xff\xc3\xa9");
    web_json_string(&b, NULL);
    cw_buf_put(&b, "", 1);
    assert_string_equal((const char *)b.data, "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\xEF\xBF\xBD\xc3\xa9\"null");
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_bars_escaping_groups),
        cmocka_unit_test(test_banner_states),
        cmocka_unit_test(test_index_paging_10k),
        cmocka_unit_test(test_endpoint_page),
        cmocka_unit_test(test_api_answers),
        cmocka_unit_test(test_json_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
