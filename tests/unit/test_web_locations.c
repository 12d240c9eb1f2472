/* tests/unit/test_web_locations.c — clockwerk-web with locations (issue 16), on a hand-filled configuration (a
 * central "central" with its own workers and two probe locations, fra and nyc): results of several locations kept
 * apart per (endpoint, location), each location's vote and the endpoint's state by the quorum (common/base/quorum.h),
 * a silent location left out, results of an unlisted location ignored and of an old worker (no location) taken as
 * the own one, a reload carrying each location's last check; the chips on `/` and the endpoint page, the Locations
 * box (clock offset warning above 1 s), /api/v1 (endpoint `locations`, /api/v1/locations) parsed as JSON, and
 * /metrics' `location` label and location gauges. */
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
#include "web/metrics.h"
#include "web/model.h"
#include "web/pages.h"
#include "web/route.h"

#define AT_US 1795579506123000LL
#define S_US 1000000LL

static char *three[] = { "central", "fra", "nyc" };
static char *only_central[] = { "central" };
static struct cw_location probes[] = { { .name = "fra", .key = "k1" }, { .name = "nyc", .key = "k2" } };
static struct cw_endpoint eps[2] = {
    { .url = "http://127.0.0.1:1/shop",
      .name = "Shop",
      .alert_threshold = 2,
      .recovery_threshold = 1,
      .locations = three,
      .n_locations = 3,
      .quorum = CW_QUORUM_MAJORITY },
    { .url = "http://127.0.0.1:1/home",
      .name = "Home",
      .alert_threshold = 2,
      .recovery_threshold = 1,
      .locations = only_central,
      .n_locations = 1,
      .quorum = CW_QUORUM_MAJORITY },
};
static struct cw_config cfg = { .endpoints = eps,
                                .n_endpoints = 2,
                                .location = "central",
                                .workers = 1,
                                .locations = probes,
                                .n_locations = 2,
                                .web_title = "T" };

static void build(struct web_model *m)
{
    char err[256];
    assert_int_equal(web_ids_build(m, &cfg, err, sizeof err), 0);
}

static uint64_t seq;

static void send_result(struct web_model *m, const char *url, const char *location, bool ok, int64_t at,
                        int64_t latency)
{
    struct cw_result r = { .worker = 1,
                           .boot_id = 7,
                           .seq = ++seq,
                           .checked_at_us = at,
                           .latency_us = latency,
                           .dns_us = -1,
                           .connect_us = -1,
                           .tls_us = -1,
                           .ttfb_us = -1,
                           .status_code = (uint16_t)(ok ? 200 : 500),
                           .ok = ok,
                           .url = url,
                           .error = ok ? "" : "HTTP 500",
                           .location = location };
    struct cw_buf b = { 0 };
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    web_live_apply(m, CW_MSG_RESULT, b.data, b.len, 1000);
    cw_buf_free(&b);
}

static void send_locations(struct web_model *m, const uint8_t states[3], int64_t nyc_offset_us)
{
    struct cw_locations_msg msg = { .at_us = AT_US, .count = 3 };
    const char *names[3] = { "central", "fra", "nyc" };
    for (unsigned i = 0; i < 3; i++)
        msg.loc[i] = (struct cw_location_state){ .name = names[i],
                                                 .state = states[i],
                                                 .last_heard_us = AT_US - S_US,
                                                 .offset_us = i == 2 ? nyc_offset_us : 1500,
                                                 .rtt_us = i == 2 && nyc_offset_us == CW_OFFSET_UNKNOWN ? -1 : 800,
                                                 .workers = 2 };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_locations_encode(&b, &msg), 0);
    web_live_apply(m, CW_MSG_LOCATIONS, b.data, b.len, 5000);
    cw_buf_free(&b);
}

static const char *shop = "http://127.0.0.1:1/shop";

/* nyc fails twice (its alert_threshold): its vote is DOWN, but one of three is no majority: the endpoint is up.
 * fra fails twice too: two of three, DOWN. */
static void test_votes_and_quorum(void **state)
{
    (void)state;
    struct web_model m;
    build(&m);
    assert_int_equal(m.n_config_locations, 3);
    struct web_endpoint *e = &m.endpoints[0];
    assert_int_equal(e->live.n_locs, 3);
    assert_int_equal(m.endpoints[1].live.n_locs, 1);
    send_result(&m, shop, "central", true, AT_US, 12000);
    send_result(&m, shop, "fra", true, AT_US, 30000);
    send_result(&m, shop, "nyc", false, AT_US, 90000);
    assert_int_equal(e->live.state, WEB_STATE_UP);
    assert_int_equal(web_loc_state(&e->live.locs[2]), WEB_STATE_FAILING);
    send_result(&m, shop, "nyc", false, AT_US + S_US, 90000);
    assert_int_equal(web_loc_state(&e->live.locs[2]), WEB_STATE_DOWN);
    assert_int_equal(e->live.state, WEB_STATE_UP);
    send_result(&m, shop, "fra", false, AT_US + S_US, 30000);
    assert_int_equal(e->live.state, WEB_STATE_FAILING); /* two last checks failed: not yet fra's threshold */
    send_result(&m, shop, "fra", false, AT_US + 2 * S_US, 30000);
    assert_int_equal(e->live.state, WEB_STATE_DOWN);
    assert_int_equal(e->live.locs[1].checks_failed, 2);
    assert_int_equal(e->live.locs[1].checks_ok, 1);
    assert_int_equal(e->live.locs[0].checks_failed + e->live.locs[1].checks_failed + e->live.locs[2].checks_failed, 4);
    assert_string_equal(e->live.locs[1].error, "HTTP 500");
    /* fra goes silent: its vote is left out; 1 DOWN of 2 live votes is no quorum of 2, but one UP vote of the
     * two that would end it (3 - 2 + 1): DOWN holds, as the alerter's (common/base/quorum.h) */
    send_locations(&m, (uint8_t[]){ CW_LOCATION_LIVE, CW_LOCATION_SILENT, CW_LOCATION_LIVE }, 0);
    assert_int_equal(e->live.state, WEB_STATE_DOWN);
    send_locations(&m, (uint8_t[]){ CW_LOCATION_LIVE, CW_LOCATION_SILENT, CW_LOCATION_SILENT }, 0);
    assert_int_equal(e->live.state, WEB_STATE_DOWN);
    /* all back; nyc sees it up again: two UP votes of three, DOWN cannot be reached any more */
    send_locations(&m, (uint8_t[]){ CW_LOCATION_LIVE, CW_LOCATION_LIVE, CW_LOCATION_LIVE }, 0);
    assert_int_equal(e->live.state, WEB_STATE_DOWN);
    send_result(&m, shop, "nyc", true, AT_US + 3 * S_US, 90000);
    assert_int_equal(e->live.state, WEB_STATE_UP);
    /* fra and nyc silent: one live location, fewer than the quorum: unknown, not DOWN */
    send_locations(&m, (uint8_t[]){ CW_LOCATION_LIVE, CW_LOCATION_SILENT, CW_LOCATION_SILENT }, 0);
    assert_int_equal(e->live.state, WEB_STATE_UNKNOWN);
    web_ids_free(&m);
}

/* An old worker's result (no location) is the own location's; a location the endpoint is not checked from is
 * counted and ignored; a reload carries each location's last check by name. */
static void test_unlisted_old_and_reload(void **state)
{
    (void)state;
    struct web_model m;
    build(&m);
    struct web_endpoint *home = &m.endpoints[1];
    send_result(&m, home->cfg->url, NULL, true, AT_US, 5000);
    assert_true(home->live.locs[0].has_check);
    send_result(&m, home->cfg->url, "fra", false, AT_US + S_US, 5000);
    assert_int_equal(m.bus.unknown_locations, 1);
    assert_int_equal(home->live.state, WEB_STATE_UP);
    send_result(&m, shop, "nyc", true, AT_US, 77000);
    struct web_model next;
    build(&next);
    web_ids_carry(&next, &m);
    web_ids_free(&m);
    struct web_live *l = &next.endpoints[0].live;
    assert_true(l->locs[2].has_check);
    assert_int_equal(web_us(l->locs[2].latency), 77000);
    assert_false(l->locs[1].has_check);
    assert_string_equal(l->locs[2].name, "nyc");
    web_ids_free(&next);
}

static void render(struct web_model *m, web_handler fn, const char *rest, struct web_reply *rp)
{
    struct web_request rq = {
        .method = "GET", .path = "/", .rest = rest, .model = m, .cfg = &cfg, .now_mono_ns = 6000
    };
    memset(rp, 0, sizeof *rp);
    rp->status = 200;
    fn(&rq, rp);
    cw_buf_put(&rp->body, "", 1);
}

static void test_pages(void **state)
{
    (void)state;
    struct web_model m;
    build(&m);
    send_result(&m, shop, "central", true, AT_US, 12000);
    send_result(&m, shop, "fra", true, AT_US, 30000);
    send_result(&m, shop, "nyc", false, AT_US, 90000);
    send_result(&m, shop, "nyc", false, AT_US + S_US, 90000);
    struct web_reply rp;
    render(&m, page_index, "", &rp);
    const char *html = (const char *)rp.body.data;
    assert_non_null(strstr(html, "<td class=\"state up\">up"));
    assert_non_null(strstr(html, "<span class=\"chip down\""));
    assert_non_null(strstr(html, ">nyc down</span>"));
    assert_non_null(strstr(html, ">fra 30 ms</span>"));
    assert_non_null(strstr(html, "<h2>Locations</h2>"));
    assert_non_null(strstr(html, "id=\"locations-none\""));                 /* no word from the alerter yet */
    assert_null(strstr(strstr(html, "id=\"ep-home\""), "class=\"chips\"")); /* one location: no chips */
    cw_buf_free(&rp.body);
    send_locations(&m, (uint8_t[]){ CW_LOCATION_LIVE, CW_LOCATION_LIVE, CW_LOCATION_SILENT }, 2500000);
    render(&m, page_index, "", &rp);
    html = (const char *)rp.body.data;
    assert_null(strstr(html, "id=\"locations-none\""));
    assert_non_null(strstr(html, "<td class=\"state loc-silent\">silent</td>"));
    assert_non_null(strstr(html, "<td class=\"n clockwarn\""));
    assert_non_null(strstr(html, "+2.500 s"));
    assert_non_null(strstr(html, "+0.002 s</td>")); /* 1.5 ms: no warning */
    assert_non_null(strstr(html, "chip down silent"));
    cw_buf_free(&rp.body);
    render(&m, page_endpoint, "shop", &rp);
    html = (const char *)rp.body.data;
    assert_non_null(strstr(html, "id=\"ep-locations\""));
    assert_non_null(strstr(html, "Down when 2 of its 3 locations see it down"));
    assert_non_null(strstr(html, "<td class=\"state down\">down (silent)</td>"));
    cw_buf_free(&rp.body);
    web_ids_free(&m);
}

static void test_api(void **state)
{
    (void)state;
    struct web_model m;
    build(&m);
    send_result(&m, shop, "fra", false, AT_US, 30000);
    send_locations(&m, (uint8_t[]){ CW_LOCATION_LIVE, CW_LOCATION_LIVE, CW_LOCATION_UNKNOWN }, -1200000);
    struct web_reply rp;
    render(&m, api_endpoints, "", &rp);
    struct json_object *root = json_tokener_parse((const char *)rp.body.data), *v;
    assert_non_null(root);
    struct json_object *ep0 = json_object_array_get_idx(json_object_object_get(root, "endpoints"), 0);
    assert_int_equal(json_object_get_int(json_object_object_get(ep0, "quorum")), 2);
    struct json_object *locs = json_object_object_get(ep0, "locations");
    assert_int_equal(json_object_array_length(locs), 3);
    struct json_object *fra = json_object_array_get_idx(locs, 1);
    assert_string_equal(json_object_get_string(json_object_object_get(fra, "name")), "fra");
    assert_string_equal(json_object_get_string(json_object_object_get(fra, "state")), "failing");
    assert_string_equal(json_object_get_string(json_object_object_get(fra, "error")), "HTTP 500");
    assert_true(json_object_get_double(json_object_object_get(fra, "latency_ms")) == 30.0);
    assert_non_null(json_object_get_string(json_object_object_get(fra, "checked_at")));
    assert_true(json_object_object_get_ex(json_object_array_get_idx(locs, 0), "latency_ms", &v) && v == NULL);
    json_object_put(root);
    cw_buf_free(&rp.body);
    render(&m, api_locations, "", &rp);
    root = json_tokener_parse((const char *)rp.body.data);
    assert_non_null(root);
    struct json_object *all = json_object_object_get(root, "locations");
    assert_int_equal(json_object_array_length(all), 3);
    struct json_object *nyc = json_object_array_get_idx(all, 2);
    assert_string_equal(json_object_get_string(json_object_object_get(nyc, "state")), "unknown");
    assert_true(json_object_get_double(json_object_object_get(nyc, "clock_offset_seconds")) == -1.2);
    assert_true(json_object_get_boolean(json_object_object_get(nyc, "clock_warning")));
    assert_false(json_object_get_boolean(json_object_object_get(json_object_array_get_idx(all, 0), "clock_warning")));
    json_object_put(root);
    cw_buf_free(&rp.body);
    web_ids_free(&m);
}

static void test_metrics(void **state)
{
    (void)state;
    struct web_model m;
    build(&m);
    send_result(&m, shop, "fra", true, AT_US, 30000);
    send_result(&m, shop, "nyc", false, AT_US, 90000);
    send_result(&m, eps[1].url, "central", true, AT_US, 5000);
    struct web_request rq = {
        .method = "GET", .path = "/metrics", .rest = "", .model = &m, .cfg = &cfg, .now_mono_ns = 6000
    };
    struct cw_buf out = { 0 };
    web_metrics_render(&rq, &out);
    cw_buf_put(&out, "", 1);
    const char *text = (const char *)out.data;
    assert_non_null(strstr(text, "clockwerk_checks_total{endpoint=\"shop\",location=\"fra\",result=\"ok\"} 1\n"));
    assert_non_null(strstr(text, "clockwerk_checks_total{endpoint=\"shop\",location=\"nyc\",result=\"failed\"} 1\n"));
    assert_non_null(strstr(text, "clockwerk_checks_total{endpoint=\"home\",location=\"central\",result=\"ok\"} 1\n"));
    assert_non_null(
        strstr(text, "clockwerk_check_duration_seconds_count{endpoint=\"shop\",location=\"nyc\",phase=\"total\"} 1\n"));
    assert_non_null(strstr(text, "clockwerk_endpoint_location_up{endpoint=\"shop\",location=\"nyc\"} 0\n"));
    assert_null(strstr(text, "clockwerk_location_up{")); /* no word from the alerter yet */
    cw_buf_free(&out);
    send_locations(&m, (uint8_t[]){ CW_LOCATION_LIVE, CW_LOCATION_SILENT, CW_LOCATION_UNKNOWN }, CW_OFFSET_UNKNOWN);
    rq.now_mono_ns = 6000;
    web_metrics_render(&rq, &out);
    cw_buf_put(&out, "", 1);
    text = (const char *)out.data;
    assert_non_null(strstr(text, "clockwerk_location_up{location=\"central\"} 1\n"));
    assert_non_null(strstr(text, "clockwerk_location_up{location=\"fra\"} 0\n"));
    assert_null(strstr(text, "clockwerk_location_up{location=\"nyc\"}"));
    assert_non_null(strstr(text, "clockwerk_location_clock_offset_seconds{location=\"fra\"} 0.001500\n"));
    assert_null(strstr(text, "clockwerk_location_clock_offset_seconds{location=\"nyc\"}"));
    assert_non_null(
        strstr(text, "clockwerk_location_last_heard_timestamp_seconds{location=\"fra\"} 1795579505.123000\n"));
    cw_buf_free(&out);
    /* stale: the alerter has not published for over 30 s */
    rq.now_mono_ns = 5000 + WEB_STATS_STALE_NS + 1;
    web_metrics_render(&rq, &out);
    cw_buf_put(&out, "", 1);
    assert_null(strstr((const char *)out.data, "clockwerk_location_up{"));
    cw_buf_free(&out);
    web_ids_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_votes_and_quorum),
        cmocka_unit_test(test_unlisted_old_and_reload),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_api),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
