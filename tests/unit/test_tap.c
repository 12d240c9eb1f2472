/* tests/unit/test_tap.c — clockwerk-tap's pieces: the plain and JSON lines (tap/format.c; the JSON is parsed
 * back with json-c to check keys, types and nulls), URL masking and control characters in what is shown, a
 * result's location and the LOCATIONS line of issue 16 (the tap's gap counting is common/wire/seqgap.c:
 * tests/unit/test_seqgap.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "common/wire/protocol.h"
#include "tap/format.h"
#include "tests/unit/proto_test_util.h"

#define AT_US 1795579506123000LL /* 2026-11-25T04:05:06.123Z */

static struct cw_result ok_result(void)
{
    struct cw_result r = { .worker = 2,
                           .boot_id = 0xab12cd34ef560789ULL,
                           .seq = 41,
                           .checked_at_us = AT_US + 456,
                           .latency_us = 12345,
                           .dns_us = 15,
                           .connect_us = 120,
                           .tls_us = -1,
                           .ttfb_us = 12000,
                           .status_code = 200,
                           .ok = true,
                           .url = "http://127.0.0.1:8089/",
                           .error = "" };
    return r;
}

static char *line_of(struct cw_buf *b)
{
    cw_buf_put(b, "", 1); /* NUL for string compares */
    return (char *)b->data;
}

static struct json_object *parse_line(struct cw_buf *b)
{
    char *s = line_of(b);
    size_t n = strlen(s);
    assert_true(n > 0 && s[n - 1] == '\n');
    assert_null(memchr(s, '\n', n - 1)); /* one line */
    struct json_object *o = json_tokener_parse(s);
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_object));
    return o;
}

static struct json_object *key(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, k, &v));
    return v;
}

static void test_result_plain(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result r = ok_result();
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms OK\n");

    r.ok = false;
    r.status_code = 0;
    r.latency_us = 1234;
    r.url = "http://user:secret@127.0.0.1:1/x";
    r.error = "Couldn't connect to server";
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b),
                        "2026-11-25T04:05:06.123Z http://***@127.0.0.1:1/x 0 1.2ms FAIL Couldn't connect to server\n");
    /* control characters from the wire never reach the terminal */
    r.error = "bad\r\n\x1b[2Jthing";
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_non_null(strstr(line_of(&b), "FAIL bad???[2Jthing\n"));
    cw_buf_free(&b);
}

static void test_result_json(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result r = ok_result();
    assert_true(tap_format_result(&b, &r, true) > 0);
    struct json_object *o = parse_line(&b);
    const char *keys[] = { "type",           "checked_at", "url",     "status_code", "latency_ms", "ok",      "error",
                           "dns_ms",         "connect_ms", "tls_ms",  "ttfb_ms",     "worker",     "boot_id", "seq",
                           "tls_expires_at", "check_type", "details", "location" };
    assert_int_equal(json_object_object_length(o), sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) (void)key(o, keys[i]);
    assert_string_equal(json_object_get_string(key(o, "type")), "result");
    assert_string_equal(json_object_get_string(key(o, "checked_at")), "2026-11-25T04:05:06.123Z");
    assert_string_equal(json_object_get_string(key(o, "url")), "http://127.0.0.1:8089/");
    assert_int_equal(json_object_get_int(key(o, "status_code")), 200);
    assert_true(json_object_is_type(key(o, "latency_ms"), json_type_double));
    assert_true(json_object_get_double(key(o, "latency_ms")) == 12.345);
    assert_true(json_object_get_boolean(key(o, "ok")));
    assert_null(key(o, "error"));  /* null */
    assert_null(key(o, "tls_ms")); /* not reached */
    assert_true(json_object_get_double(key(o, "dns_ms")) == 0.015);
    assert_int_equal(json_object_get_int(key(o, "worker")), 2);
    assert_string_equal(json_object_get_string(key(o, "boot_id")), "ab12cd34ef560789");
    assert_int_equal(json_object_get_int64(key(o, "seq")), 41);
    assert_string_equal(json_object_get_string(key(o, "check_type")), "http");
    assert_null(key(o, "details"));
    /* no escaped slashes: URLs stay readable */
    assert_non_null(strstr((char *)b.data, "\"http://127.0.0.1:8089/\""));
    json_object_put(o);

    r.ok = false;
    r.status_code = 503;
    r.error = "HTTP status 503 \"quoted\"\n";
    r.url = "https://u:p@127.0.0.1/";
    r.dns_us = r.connect_us = r.ttfb_us = -1;
    assert_true(tap_format_result(&b, &r, true) > 0);
    o = parse_line(&b);
    assert_false(json_object_get_boolean(key(o, "ok")));
    assert_string_equal(json_object_get_string(key(o, "error")), "HTTP status 503 \"quoted\"\n");
    assert_string_equal(json_object_get_string(key(o, "url")), "https://***@127.0.0.1/");
    assert_null(key(o, "dns_ms"));
    assert_null(key(o, "ttfb_ms"));
    assert_null(strstr((char *)b.data, "p@")); /* the password never shows */
    json_object_put(o);

    /* JSON is UTF-8: valid text passes as is, invalid bytes become U+FFFD */
    r.error = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    assert_true(tap_format_result(&b, &r, true) > 0);
    o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "error")), r.error);
    json_object_put(o);
    r.error = "latin1 caf\xe9, cut \xe2\x82, surrogate \xed\xa0\x80, overlong \xc0\xaf!";
    assert_true(tap_format_result(&b, &r, true) > 0);
    o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "error")),
                        "latin1 caf\xef\xbf\xbd, cut \xef\xbf\xbd\xef\xbf\xbd, surrogate "
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd, overlong \xef\xbf\xbd\xef\xbf\xbd!");
    json_object_put(o);
    cw_buf_free(&b);
}

/* Checks of the other types (result version 2): the kind and the figures, in both forms. An http result without
 * figures prints exactly as before. */
static void test_result_kinds(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result r = ok_result();
    r.url = "dns://127.0.0.1:5353/example.test?type=MX";
    r.kind = 3;
    r.status_code = 0;
    r.latency_us = 812;
    r.figures = "{ \"rcode\": \"NOERROR\",\n \"answers\": [\"10 mx.example.test.\"], \"cut\": \"a\\u0007b\" }";
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b),
                        "2026-11-25T04:05:06.123Z dns://127.0.0.1:5353/example.test?type=MX 0 0.8ms dns "
                        "{\"rcode\":\"NOERROR\",\"answers\":[\"10 mx.example.test.\"],\"cut\":\"a\\u0007b\"} "
                        "OK\n");
    r.kind = 4, r.ok = false, r.error = "100% packet loss", r.latency_us = -1, r.url = "icmp://192.0.2.1";
    r.figures = "{\"sent\":3,\"received\":0,\"loss_pct\":100}";
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z icmp://192.0.2.1 0 - icmp "
                                     "{\"sent\":3,\"received\":0,\"loss_pct\":100} FAIL 100% packet loss\n");
    r.kind = 1, r.figures = NULL, r.url = "tcp://127.0.0.1:25", r.error = "connection refused";
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z tcp://127.0.0.1:25 0 - tcp FAIL connection refused\n");

    r.kind = 4, r.figures = "{\"sent\":3,\"received\":0,\"loss_pct\":100,\"method\":\"dgram\"}";
    assert_true(tap_format_result(&b, &r, true) > 0);
    struct json_object *o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "check_type")), "icmp");
    struct json_object *d = key(o, "details");
    assert_true(json_object_is_type(d, json_type_object));
    assert_int_equal(json_object_get_int(key(d, "loss_pct")), 100);
    assert_string_equal(json_object_get_string(key(d, "method")), "dgram");
    json_object_put(o);
    cw_buf_free(&b);
}

/* Alert version 2 (docs/protocol.md 6): the text line names the mute reason, the incident (when it is not the
 * alert itself) and the per-channel deliveries; JSON always has muted, incident_id (null: none), deliveries. */
static void test_alert_muted_deliveries(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_alert a = { .alert_id = 0x11,
                          .incident_id = 0x10,
                          .raised_at_us = AT_US,
                          .kind = CW_ALERT_REMINDER,
                          .email_state = CW_DELIVERY_MUTED,
                          .webhook_state = CW_DELIVERY_MUTED,
                          .muted = CW_MUTE_MAINTENANCE,
                          .deliveries = "ops-mail=muted,pd=muted",
                          .url = "http://127.0.0.1:8089/",
                          .name = "billing",
                          .message = "billing is still DOWN" };
    assert_true(tap_format_alert(&b, &a, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z ALERT reminder http://127.0.0.1:8089/ (billing) "
                                     "email=muted webhook=muted muted=maintenance incident=0000000000000010 "
                                     "deliveries=ops-mail=muted,pd=muted: billing is still DOWN\n");
    assert_true(tap_format_alert(&b, &a, true) > 0);
    struct json_object *o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "muted")), "maintenance");
    assert_string_equal(json_object_get_string(key(o, "incident_id")), "0000000000000010");
    assert_string_equal(json_object_get_string(key(o, "deliveries")), "ops-mail=muted,pd=muted");
    json_object_put(o);
    /* a DOWN that opened its incident, not muted, no channels listed: the line as before */
    a = (struct cw_alert){ .alert_id = 0x10,
                           .incident_id = 0x10,
                           .raised_at_us = AT_US,
                           .kind = CW_ALERT_DOWN,
                           .email_state = CW_DELIVERY_SENT,
                           .url = "http://x/",
                           .name = "",
                           .message = "m" };
    assert_true(tap_format_alert(&b, &a, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z ALERT down http://x/ email=sent webhook=none: m\n");
    assert_true(tap_format_alert(&b, &a, true) > 0);
    o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "muted")), "none");
    assert_string_equal(json_object_get_string(key(o, "incident_id")), "0000000000000010");
    assert_string_equal(json_object_get_string(key(o, "deliveries")), "");
    json_object_put(o);
    a.incident_id = 0;
    assert_true(tap_format_alert(&b, &a, true) > 0);
    o = parse_line(&b);
    assert_true(json_object_get_type(key(o, "incident_id")) == json_type_null);
    json_object_put(o);
    cw_buf_free(&b);
}

static void test_alert_and_stats(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_alert a = { .alert_id = 0x10,
                          .raised_at_us = AT_US,
                          .kind = CW_ALERT_DOWN,
                          .email_state = CW_DELIVERY_SENT,
                          .webhook_state = CW_DELIVERY_NONE,
                          .url = "http://127.0.0.1:8089/",
                          .name = "billing",
                          .message = "billing is DOWN" };
    assert_true(tap_format_alert(&b, &a, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z ALERT down http://127.0.0.1:8089/ (billing) "
                                     "email=sent webhook=none: billing is DOWN\n");
    assert_true(tap_format_alert(&b, &a, true) > 0);
    struct json_object *o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "type")), "alert");
    assert_string_equal(json_object_get_string(key(o, "alert_id")), "0000000000000010");
    assert_string_equal(json_object_get_string(key(o, "raised_at")), "2026-11-25T04:05:06.123Z");
    assert_string_equal(json_object_get_string(key(o, "kind")), "down");
    assert_string_equal(json_object_get_string(key(o, "name")), "billing");
    assert_string_equal(json_object_get_string(key(o, "message")), "billing is DOWN");
    assert_string_equal(json_object_get_string(key(o, "email_state")), "sent");
    assert_string_equal(json_object_get_string(key(o, "webhook_state")), "none");
    json_object_put(o);

    struct cw_stats s = { .role = "worker", .id = 0, .boot_id = 0xab12, .at_us = AT_US, .count = 2 };
    s.items[0] = (struct cw_stat){ "checks", 123 };
    s.items[1] = (struct cw_stat){ "in_flight", 3 };
    assert_true(tap_format_stats(&b, &s, false) > 0);
    assert_string_equal(line_of(&b), "stats worker 0 boot 000000000000ab12: checks=123 in_flight=3\n");
    assert_true(tap_format_stats(&b, &s, true) > 0);
    o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "type")), "stats");
    assert_string_equal(json_object_get_string(key(o, "role")), "worker");
    assert_int_equal(json_object_get_int64(key(key(o, "counters"), "checks")), 123);
    json_object_put(o);
    cw_buf_free(&b);
}

/* ---- issue 16: a result's location (plain: after the latency, not for the default "local"; JSON: always) and
 * the alerter's LOCATIONS */

static void test_result_location(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result r = ok_result();
    const char *plain = "2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms OK\n";
    const char *unlocated[] = { NULL, "", "local" }; /* a single host's lines as they always were */
    for (int i = 0; i < 3; i++) {
        r.location = unlocated[i];
        assert_true(tap_format_result(&b, &r, false) > 0);
        assert_string_equal(line_of(&b), plain);
    }
    r.location = "fra";
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms location=fra OK\n");
    r.kind = 3;
    r.figures = "{\"rcode\":\"NOERROR\"}";
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms location=fra dns "
                                     "{\"rcode\":\"NOERROR\"} OK\n");
    assert_true(tap_format_result(&b, &r, true) > 0);
    struct json_object *o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "location")), "fra");
    json_object_put(o);
    r.location = ""; /* a record of version 1 or 2 */
    assert_true(tap_format_result(&b, &r, true) > 0);
    o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "location")), "");
    json_object_put(o);
    cw_buf_free(&b);
}

static void test_locations_line(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_locations_msg m;
    sample_locations(&m, AT_US);
    assert_true(tap_format_locations(&b, &m, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z LOCATIONS central live (2 workers, offset -0.1ms, "
                                     "rtt 0.4ms, heard 2026-11-25T04:05:05.123Z); fra silent (offset +1500.0ms, rtt "
                                     "90.0ms, heard 2026-11-25T04:04:06.123Z); sgp unknown\n");
    assert_true(tap_format_locations(&b, &m, true) > 0);
    struct json_object *o = parse_line(&b);
    assert_string_equal(json_object_get_string(key(o, "type")), "locations");
    assert_string_equal(json_object_get_string(key(o, "at")), "2026-11-25T04:05:06.123Z");
    struct json_object *list = key(o, "locations");
    assert_int_equal(json_object_array_length(list), 3);
    struct json_object *central = json_object_array_get_idx(list, 0), *sgp = json_object_array_get_idx(list, 2);
    assert_string_equal(json_object_get_string(key(central, "name")), "central");
    assert_string_equal(json_object_get_string(key(central, "state")), "live");
    assert_true(json_object_get_double(key(central, "offset_ms")) < -0.14); /* negative: kept, not null */
    assert_true(json_object_get_double(key(central, "rtt_ms")) > 0.39);
    assert_int_equal(json_object_get_int(key(central, "workers")), 2);
    assert_string_equal(json_object_get_string(key(sgp, "state")), "unknown");
    assert_null(key(sgp, "last_heard"));
    assert_null(key(sgp, "offset_ms"));
    assert_null(key(sgp, "rtt_ms"));
    json_object_put(o);
    m.count = 0;
    assert_true(tap_format_locations(&b, &m, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z LOCATIONS (none)\n");
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_plain),           cmocka_unit_test(test_result_json),
        cmocka_unit_test(test_result_kinds),           cmocka_unit_test(test_alert_and_stats),
        cmocka_unit_test(test_alert_muted_deliveries), cmocka_unit_test(test_result_location),
        cmocka_unit_test(test_locations_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
