/* tests/unit/test_tap_locations.c — what clockwerk-tap shows of issue 16 (tap/format.c): a result's location (plain:
 * ` location=NAME` after the latency for a named location, nothing for the default "local"; JSON: `location`, ""
 * for a record of an older version) and the LOCATIONS line (plain and JSON, parsed back with json-c). */
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

#define AT_US 1795579506123000LL /* 2026-11-25T04:05:06.123Z */

static struct cw_result result_at(const char *location)
{
    return (struct cw_result){ .worker = 2,
                               .boot_id = 0xab12cd34ef560789ULL,
                               .seq = 41,
                               .checked_at_us = AT_US,
                               .latency_us = 12345,
                               .dns_us = 15,
                               .connect_us = 120,
                               .tls_us = -1,
                               .ttfb_us = 12000,
                               .status_code = 200,
                               .ok = true,
                               .url = "http://127.0.0.1:8089/",
                               .error = "",
                               .location = location };
}

static const char *line_of(struct cw_buf *b)
{
    cw_buf_put(b, "", 1);
    return (const char *)b->data;
}

static struct json_object *json_of(struct cw_buf *b)
{
    struct json_object *o = json_tokener_parse(line_of(b));
    assert_non_null(o);
    return o;
}

static struct json_object *key(struct json_object *o, const char *k)
{
    struct json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, k, &v));
    return v;
}

static void test_result_location(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result r = result_at("fra");
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms location=fra OK\n");
    r = result_at("local"); /* the default: a single host's lines as they always were */
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms OK\n");
    r = result_at("");
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms OK\n");

    r = result_at("nyc");
    r.kind = 3;
    r.figures = "{\"rcode\":\"NOERROR\"}";
    assert_true(tap_format_result(&b, &r, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z http://127.0.0.1:8089/ 200 12.3ms location=nyc dns "
                                     "{\"rcode\":\"NOERROR\"} OK\n");
    assert_true(tap_format_result(&b, &r, true) > 0);
    struct json_object *o = json_of(&b);
    assert_string_equal(json_object_get_string(key(o, "location")), "nyc");
    json_object_put(o);
    r = result_at(""); /* a record of version 1 or 2 */
    assert_true(tap_format_result(&b, &r, true) > 0);
    o = json_of(&b);
    assert_string_equal(json_object_get_string(key(o, "location")), "");
    json_object_put(o);
    cw_buf_free(&b);
}

static void sample(struct cw_locations_msg *m)
{
    memset(m, 0, sizeof *m);
    m->at_us = AT_US;
    m->count = 3;
    m->loc[0] = (struct cw_location_state){ "central", CW_LOCATION_LIVE, AT_US - 1000000, -150, 400, 2 };
    m->loc[1] = (struct cw_location_state){ "fra", CW_LOCATION_SILENT, AT_US - 60000000, 1500000, 90000, 0 };
    m->loc[2] = (struct cw_location_state){ "sgp", CW_LOCATION_UNKNOWN, 0, CW_OFFSET_UNKNOWN, -1, 0 };
}

static void test_locations_plain(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_locations_msg m;
    sample(&m);
    assert_true(tap_format_locations(&b, &m, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z LOCATIONS central live (2 workers, offset -0.1ms, "
                                     "rtt 0.4ms, heard 2026-11-25T04:05:05.123Z); fra silent (offset +1500.0ms, rtt "
                                     "90.0ms, heard 2026-11-25T04:04:06.123Z); sgp unknown\n");
    m.count = 0;
    assert_true(tap_format_locations(&b, &m, false) > 0);
    assert_string_equal(line_of(&b), "2026-11-25T04:05:06.123Z LOCATIONS (none)\n");
    cw_buf_free(&b);
}

static void test_locations_json(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_locations_msg m;
    sample(&m);
    assert_true(tap_format_locations(&b, &m, true) > 0);
    struct json_object *o = json_of(&b);
    assert_string_equal(json_object_get_string(key(o, "type")), "locations");
    assert_string_equal(json_object_get_string(key(o, "at")), "2026-11-25T04:05:06.123Z");
    struct json_object *list = key(o, "locations");
    assert_int_equal(json_object_array_length(list), 3);
    struct json_object *central = json_object_array_get_idx(list, 0);
    assert_string_equal(json_object_get_string(key(central, "name")), "central");
    assert_string_equal(json_object_get_string(key(central, "state")), "live");
    assert_true(json_object_get_double(key(central, "offset_ms")) < -0.14);
    assert_true(json_object_get_double(key(central, "rtt_ms")) > 0.39);
    assert_int_equal(json_object_get_int(key(central, "workers")), 2);
    struct json_object *sgp = json_object_array_get_idx(list, 2);
    assert_string_equal(json_object_get_string(key(sgp, "state")), "unknown");
    assert_null(key(sgp, "last_heard"));
    assert_null(key(sgp, "offset_ms"));
    assert_null(key(sgp, "rtt_ms"));
    json_object_put(o);
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_location),
        cmocka_unit_test(test_locations_plain),
        cmocka_unit_test(test_locations_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
