/* tests/unit/test_web_maint.c — maintenance on clockwerk-web (docs/web.md "Maintenance") over a fabricated model
 * whose configuration has a window open now over one endpoint: /metrics has clockwerk_endpoint_maintenance 1 for
 * it and 0 for the other, /api its window's name and end (null for the other), the pages' mark its name and end;
 * nothing once the window is over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base/clock.h"
#include "web/api_json.h"
#include "web/metrics.h"
#include "web/model.h"
#include "web/page_common.h"
#include "web/route.h"

static struct cw_endpoint eps[2] = { { .url = "http://127.0.0.1:1/a", .name = "Alpha" },
                                     { .url = "http://127.0.0.1:1/b", .name = "Beta" } };
static size_t only_alpha[] = { 0 };
static struct cw_maintenance window = { .name = "deploy <1>", .endpoints = only_alpha, .n_endpoints = 1 };
static struct cw_config cfg = { .endpoints = eps, .n_endpoints = 2, .maintenance = &window, .n_maintenance = 1 };

static char *text_of(struct cw_buf *b)
{
    cw_buf_put(b, "", 1);
    return (char *)b->data;
}

static void test_window_open(void **state)
{
    (void)state;
    int64_t now = cw_wall_us();
    window.start_us = now - 60 * 1000000LL;
    window.duration = 3600;
    struct web_model m = { 0 };
    char err[256];
    assert_int_equal(web_ids_build(&m, &cfg, err, sizeof err), 0);

    struct web_request rq = { .model = &m, .now_mono_ns = 1000 };
    struct cw_buf b = { 0 };
    web_metrics_render(&rq, &b);
    char *metrics = text_of(&b);
    assert_non_null(strstr(metrics, "# TYPE clockwerk_endpoint_maintenance gauge\n"));
    assert_non_null(strstr(metrics, "clockwerk_endpoint_maintenance{endpoint=\"alpha\"} 1\n"));
    assert_non_null(strstr(metrics, "clockwerk_endpoint_maintenance{endpoint=\"beta\"} 0\n"));
    cw_buf_free(&b);

    api_put_endpoint(&b, &m.endpoints[0]);
    char *api = text_of(&b);
    assert_non_null(strstr(api, "\"maintenance\":{\"name\":\"deploy <1>\",\"until\":\""));
    cw_buf_free(&b);
    api_put_endpoint(&b, &m.endpoints[1]);
    assert_non_null(strstr(text_of(&b), "\"maintenance\":null"));
    cw_buf_free(&b);

    page_put_maintenance(&b, &m.endpoints[0], now);
    char *html = text_of(&b);
    assert_non_null(strstr(html, "<span class=\"maintenance\">maintenance deploy &lt;1&gt; until "));
    cw_buf_free(&b);
    page_put_maintenance(&b, &m.endpoints[1], now);
    assert_string_equal(text_of(&b), "");
    cw_buf_free(&b);

    /* over: nothing anywhere */
    window.start_us = now - 7200 * 1000000LL;
    page_put_maintenance(&b, &m.endpoints[0], now);
    assert_string_equal(text_of(&b), "");
    cw_buf_free(&b);
    web_metrics_render(&rq, &b);
    assert_non_null(strstr(text_of(&b), "clockwerk_endpoint_maintenance{endpoint=\"alpha\"} 0\n"));
    cw_buf_free(&b);
    web_ids_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_window_open) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
