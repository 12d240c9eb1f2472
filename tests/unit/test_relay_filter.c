/* tests/unit/test_relay_filter.c — what the relay lets through from a probe host's key (relay/filter.h, issue 16)
 * and where the bus admits such a key (bus_auth_domain_takes_producers, common/bus/bus_auth.h): a location's key may
 * publish results of its own location and stats, nothing else; another key (the central's own, curve_allowed_keys)
 * anything; a location key is admitted on the ROUTERs, the config server and the relay's XSUB, never on the tap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base/util.h"
#include "common/bus/bus_auth.h"
#include "common/wire/protocol.h"
#include "relay/filter.h"
#include "tests/unit/proto_test_util.h"

#define FRA_KEY "fraKEYfraKEYfraKEYfraKEYfraKEYfraKEYfraK"
#define NYC_KEY "nycKEYnycKEYnycKEYnycKEYnycKEYnycKEYnycK"
#define OWN_KEY "ownKEYownKEYownKEYownKEYownKEYownKEYownK"

static struct cw_location locs[] = { { .name = "fra", .key = FRA_KEY }, { .name = "nyc", .key = NYC_KEY } };
static struct cw_config cfg = { .location = "central", .locations = locs, .n_locations = 2 };
static struct cw_result scratch[CW_RESULT_BATCH_MAX];

static struct cw_result record(const char *location, uint64_t seq)
{
    struct cw_result r = sample_result((unsigned)seq, "http://a.example/?token=s3cret", NULL);
    r.location = location;
    return r;
}

/* A result batch of n records, the i-th of location locs_of[i % k]. */
static void results(struct cw_buf *b, const char *const *locs_of, size_t k, size_t n)
{
    proto_results_begin(b);
    for (size_t i = 0; i < n; i++) {
        struct cw_result r = record(locs_of[i % k], i + 1);
        assert_int_equal(proto_results_add(b, &r), 0);
    }
}

static enum relay_verdict judge(const char *key, const char *topic, const struct cw_buf *b, const char **claimed)
{
    const char *location = NULL, *c = "";
    enum relay_verdict v =
        relay_judge(&cfg, key, topic, strlen(topic), b ? b->data : NULL, b ? b->len : 0, scratch, &location, &c);
    if (claimed) *claimed = c;
    return v;
}

static void test_own_location_results_and_stats_pass(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    const char *fra[] = { "fra" };
    results(&b, fra, 1, CW_RESULT_BATCH_MAX);
    assert_int_equal(judge(FRA_KEY, "result", &b, NULL), RELAY_PASS);
    cw_buf_free(&b);
    struct cw_stats st = { .role = "worker", .id = 1, .boot_id = 7, .at_us = 1796601600000000LL, .count = 1 };
    st.items[0] = (struct cw_stat){ .name = "checks", .value = 3 };
    struct cw_buf s = { 0 };
    assert_int_equal(proto_stats_encode(&s, &st), 0);
    assert_int_equal(judge(FRA_KEY, "stats", &s, NULL), RELAY_PASS);
    assert_int_equal(judge(FRA_KEY, "result", &s, NULL), RELAY_DROP_MALFORMED); /* a stats payload as results */
    cw_buf_free(&s);
}

static void test_results_of_another_location_dropped(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    const char *claimed = NULL;
    const char *mixed[] = { "fra", "fra", "nyc" }; /* one record of nyc among fra's is enough */
    results(&b, mixed, 3, 3);
    assert_int_equal(judge(FRA_KEY, "result", &b, &claimed), RELAY_DROP_LOCATION);
    assert_string_equal(claimed, "nyc");
    assert_int_equal(judge(NYC_KEY, "result", &b, &claimed), RELAY_DROP_LOCATION);
    assert_string_equal(claimed, "fra");
    cw_buf_free(&b);
    const char *own[] = { "central" }; /* the central's own location: not fra's to claim */
    results(&b, own, 1, 1);
    assert_int_equal(judge(FRA_KEY, "result", &b, &claimed), RELAY_DROP_LOCATION);
    assert_string_equal(claimed, "central");
    cw_buf_free(&b);
    const char *none[] = { NULL }; /* no location: a record of the receiver's own location */
    results(&b, none, 1, 2);
    assert_int_equal(judge(FRA_KEY, "result", &b, &claimed), RELAY_DROP_LOCATION);
    assert_string_equal(claimed, "");
    /* the central's own key and keys that are no location's: anything passes, as before */
    assert_int_equal(judge(OWN_KEY, "result", &b, NULL), RELAY_PASS);
    assert_int_equal(judge("", "result", &b, NULL), RELAY_PASS);
    cw_buf_free(&b);
}

static void test_other_kinds_dropped(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_alert a = { .alert_id = 9,
                          .raised_at_us = 1796601600000000LL,
                          .kind = CW_ALERT_DOWN,
                          .url = "http://a.example/",
                          .name = "a",
                          .message = "a DOWN" };
    assert_int_equal(proto_alert_encode(&b, &a), 0);
    assert_int_equal(judge(FRA_KEY, "alert", &b, NULL), RELAY_DROP_KIND);
    assert_int_equal(judge(OWN_KEY, "alert", &b, NULL), RELAY_PASS); /* the central's alerter */
    cw_buf_free(&b);
    struct cw_locations_msg m;
    sample_locations(&m, 1796601600000000LL);
    assert_int_equal(proto_locations_encode(&b, &m), 0);
    assert_int_equal(judge(FRA_KEY, "locations", &b, NULL), RELAY_DROP_KIND);
    assert_int_equal(judge(OWN_KEY, "locations", &b, NULL), RELAY_PASS);
    for (const char *const *t =
             (const char *const[]){ "push", "hello", "hello_echo", "ack", "config_get", "config", NULL };
         *t; t++)
        assert_int_equal(judge(FRA_KEY, *t, &b, NULL), RELAY_DROP_KIND);
    cw_buf_free(&b);
}

static void test_malformed_dropped(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    const char *fra[] = { "fra" };
    results(&b, fra, 1, 2);
    assert_int_equal(judge(FRA_KEY, "result", NULL, NULL), RELAY_DROP_MALFORMED); /* not two frames */
    assert_int_equal(judge(FRA_KEY, "resultX", &b, NULL), RELAY_DROP_MALFORMED);  /* unknown topic */
    assert_int_equal(judge(FRA_KEY, "a-topic-longer-than-any", &b, NULL), RELAY_DROP_MALFORMED);
    b.len--; /* truncated */
    assert_int_equal(judge(FRA_KEY, "result", &b, NULL), RELAY_DROP_MALFORMED);
    assert_int_equal(judge(FRA_KEY, "stats", &b, NULL), RELAY_DROP_MALFORMED);
    cw_buf_free(&b);
}

static void test_filter_counts_drops(void **state)
{
    (void)state;
    struct relay_filter f;
    assert_int_equal(relay_filter_init(&f, &cfg), 0);
    struct cw_buf b = { 0 };
    const char *nyc[] = { "nyc" }, *fra[] = { "fra" };
    results(&b, nyc, 1, 1);
    assert_false(relay_filter_admit(&f, FRA_KEY, "result", 6, b.data, b.len));
    assert_true(relay_filter_admit(&f, NYC_KEY, "result", 6, b.data, b.len));
    assert_false(relay_filter_admit(&f, FRA_KEY, "\x01\x02", 2, b.data, b.len)); /* logged printable */
    cw_buf_free(&b);
    results(&b, fra, 1, 1);
    assert_true(relay_filter_admit(&f, FRA_KEY, "result", 6, b.data, b.len));
    cw_buf_free(&b);
    assert_int_equal(f.dropped[RELAY_DROP_LOCATION], 1);
    assert_int_equal(f.dropped[RELAY_DROP_MALFORMED], 1);
    assert_int_equal(relay_filter_dropped(&f), 2);
    relay_filter_free(&f);
}

static void test_domains_that_take_probe_keys(void **state)
{
    (void)state;
    const char *yes[] = { BUS_ZAP_DOMAIN_RELIABLE, BUS_ZAP_DOMAIN_CONFIG, BUS_ZAP_DOMAIN_PUBLISH };
    for (size_t i = 0; i < 3; i++) assert_true(bus_auth_domain_takes_producers(yes[i], strlen(yes[i])));
    const char *no[] = { BUS_ZAP_DOMAIN_TAP, "", "clockwerk", "clockwerk.publis", "clockwerk.publishX" };
    for (size_t i = 0; i < 5; i++) assert_false(bus_auth_domain_takes_producers(no[i], strlen(no[i])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_location_results_and_stats_pass),
        cmocka_unit_test(test_results_of_another_location_dropped),
        cmocka_unit_test(test_other_kinds_dropped),
        cmocka_unit_test(test_malformed_dropped),
        cmocka_unit_test(test_filter_counts_drops),
        cmocka_unit_test(test_domains_that_take_probe_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
