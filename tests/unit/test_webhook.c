/* tests/unit/test_webhook.c — the JSON body of webhook calls (alerter/webhook.c): valid JSON, Slack "text",
 * the structured fields, masked credentials, summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "alerter/alert.h"
#include "tests/unit/alert_test_util.h"
#include "alerter/webhook.h"

#define S 1000000LL

static json_object *parse(const struct cw_buf *b)
{
    assert_int_equal(b->data[b->len], '\0');
    json_object *o = json_tokener_parse((const char *)b->data);
    assert_non_null(o);
    return o;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

static void single_alert(void **state)
{
    (void)state;
    struct alert_rec *a = alert_new(CW_ALERT_DOWN, "https://u:topsecret@h.example.test/x", "api \"main\"\n", "timeout",
                                    1795579400 * S, 1795579420 * S, 0, 3, 0, 1795579421 * S);
    struct cw_buf b = { 0 };
    struct alert_rec *list[] = { a };
    webhook_build(&b, list, 1);
    assert_null(strstr((const char *)b.data, "topsecret"));
    json_object *o = parse(&b);
    assert_string_equal(get_str(o, "kind"), "down");
    assert_string_equal(get_str(o, "url"), "https://***@h.example.test/x");
    assert_string_equal(get_str(o, "name"), "api \"main\"\n");
    assert_string_equal(get_str(o, "since"), "2026-11-25T04:03:20.000Z");
    assert_string_equal(get_str(o, "message"), a->message);
    char id[24];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)a->id);
    assert_string_equal(get_str(o, "alert_id"), id);
    assert_non_null(strstr(get_str(o, "text"), "DOWN"));
    assert_non_null(strstr(get_str(o, "text"), "timeout"));
    json_object_put(o);
    cw_buf_free(&b);
    alert_free(a);
}

static void summary(void **state)
{
    (void)state;
    struct alert_rec *list[7];
    for (int i = 0; i < 7; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:9/ep%d", i);
        list[i] = alert_new(CW_ALERT_DOWN, url, NULL, "refused", (100 + i) * S, (110 + i) * S, 0, 2, 0, 120 * S);
    }
    struct cw_buf b = { 0 };
    webhook_build(&b, list, 7);
    json_object *o = parse(&b);
    assert_string_equal(get_str(o, "kind"), "summary");
    json_object *arr;
    assert_true(json_object_object_get_ex(o, "alerts", &arr));
    assert_int_equal(json_object_array_length(arr), 7);
    assert_string_equal(get_str(json_object_array_get_idx(arr, 3), "url"), "http://127.0.0.1:9/ep3");
    assert_non_null(strstr(get_str(o, "text"), "7 endpoints changed state"));
    json_object_put(o);
    webhook_build_test(&b, 1795579506 * S);
    o = parse(&b);
    assert_string_equal(get_str(o, "kind"), "test");
    json_object_put(o);
    cw_buf_free(&b);
    for (int i = 0; i < 7; i++) alert_free(list[i]);
}

static void long_summary_text_is_capped(void **state)
{
    (void)state;
    struct alert_rec *list[60];
    for (int i = 0; i < 60; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:9/e%d", i);
        list[i] = alert_new(CW_ALERT_DOWN, url, NULL, "refused", (100 + i) * S, (110 + i) * S, 0, 2, 0, 120 * S);
    }
    struct cw_buf b = { 0 };
    webhook_build(&b, list, 60);
    json_object *o = parse(&b);
    const char *text = get_str(o, "text");
    assert_non_null(strstr(text, "/e49 "));
    assert_null(strstr(text, "/e50 "));
    assert_non_null(strstr(text, "... and 10 more"));
    json_object *arr;
    assert_true(json_object_object_get_ex(o, "alerts", &arr));
    assert_int_equal(json_object_array_length(arr), 60);
    json_object_put(o);
    cw_buf_free(&b);
    for (int i = 0; i < 60; i++) alert_free(list[i]);
}

/* "error" is null when there is none; duration_s and latency_ms carry at most 3 decimals (no float noise). */
static void error_null_and_sane_numbers(void **state)
{
    (void)state;
    struct alert_rec *a = alert_new(CW_ALERT_UP, "http://127.0.0.1:9/x", "x", NULL, 1795579400 * S, 1795579520 * S,
                                    119999891, 3, 0, 1795579521 * S);
    a->last_latency_us = 12345678;
    struct cw_buf b = { 0 };
    struct alert_rec *list[] = { a };
    webhook_build(&b, list, 1);
    const char *body = (const char *)b.data;
    assert_non_null(strstr(body, "\"error\":null"));
    assert_non_null(strstr(body, "\"duration_s\":120.0,"));
    assert_non_null(strstr(body, "\"latency_ms\":12345.678"));
    json_object *o = parse(&b);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "error", &v));
    assert_null(v);
    assert_true(json_object_object_get_ex(o, "duration_s", &v));
    assert_true(json_object_get_double(v) == 120.0);
    json_object_put(o);
    struct alert_rec *f = alert_new(CW_ALERT_FAST, "http://127.0.0.1:9/x", "x", "timeout", 1795579400 * S,
                                    1795579520 * S, 1234567 /* 1.234567 s -> 1.235 */, 3, 0, 1795579521 * S);
    f->last_latency_us = 500;
    list[0] = f;
    webhook_build(&b, list, 1);
    body = (const char *)b.data;
    assert_non_null(strstr(body, "\"duration_s\":1.235,"));
    assert_non_null(strstr(body, "\"latency_ms\":0.5"));
    assert_non_null(strstr(body, "\"error\":\"timeout\""));
    cw_buf_free(&b);
    alert_free(a);
    alert_free(f);
}

/* The "text" of the summary webhook body about list[0..n) (malloc'ed). */
static char *summary_text(struct alert_rec **list, size_t n)
{
    struct cw_buf b = { 0 };
    webhook_build(&b, list, n);
    json_object *o = parse(&b);
    char *text = strdup(get_str(o, "text"));
    assert_non_null(text);
    json_object_put(o);
    cw_buf_free(&b);
    return text;
}

/* A summary of reminders does not claim that endpoints changed state. */
static void reminder_summary_text(void **state)
{
    (void)state;
    struct alert_rec *list[6];
    make_alerts(list, 6, CW_ALERT_REMINDER, "r");
    char *text = summary_text(list, 6);
    assert_null(strstr(text, "changed state"));
    assert_non_null(strstr(text, "[clockwerk] 6 endpoints still down"));
    free(text);
    free_alerts(list, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_alert),
        cmocka_unit_test(summary),
        cmocka_unit_test(long_summary_text_is_capped),
        cmocka_unit_test(error_null_and_sane_numbers),
        cmocka_unit_test(reminder_summary_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
