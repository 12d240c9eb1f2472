/* tests/unit/test_alert_wire.c — the alert message version 2 (docs/protocol.md 2.5): incident_id, muted and the
 * per-channel deliveries travel and come back; an alert that says nothing new is still written as version 1,
 * byte for byte the old layout, and version 1 payloads still decode (muted none, no incident, no deliveries);
 * a version 2 payload with a bad muted reason or a malformed deliveries list is rejected as a whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/bus/ackq.h"
#include "common/wire/protocol.h"

static struct cw_alert sample(void)
{
    return (struct cw_alert){ .alert_id = 0x1122334455667788ULL,
                              .raised_at_us = 1795579506123000LL,
                              .kind = CW_ALERT_DOWN,
                              .email_state = CW_DELIVERY_MUTED,
                              .webhook_state = CW_DELIVERY_MUTED,
                              .url = "http://127.0.0.1:8089/",
                              .name = "billing",
                              .message = "billing is DOWN",
                              .incident_id = 0x0102030405060708ULL,
                              .muted = CW_MUTE_MAINTENANCE,
                              .deliveries = "ops-mail=muted,pd=muted" };
}

static void test_v2_round_trip(void **state)
{
    (void)state;
    struct cw_alert in = sample(), out;
    struct cw_buf b = { 0 };
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    assert_int_equal(b.data[0], 2);
    const char *why = NULL;
    assert_int_equal(proto_alert_decode(b.data, b.len, &out, &why), 0);
    assert_true(out.incident_id == in.incident_id);
    assert_int_equal(out.muted, CW_MUTE_MAINTENANCE);
    assert_string_equal(out.deliveries, "ops-mail=muted,pd=muted");
    assert_int_equal(out.email_state, CW_DELIVERY_MUTED);
    assert_string_equal(out.message, "billing is DOWN");
    /* every prefix is truncated */
    for (size_t len = 0; len < b.len; len++) {
        why = NULL;
        assert_int_equal(proto_alert_decode(b.data, len, &out, &why), -1);
        assert_string_equal(why, "truncated");
    }
    /* a NULL deliveries travels as "" */
    in.deliveries = NULL;
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    assert_int_equal(proto_alert_decode(b.data, b.len, &out, &why), 0);
    assert_string_equal(out.deliveries, "");
    assert_string_equal(proto_mute_name(CW_MUTE_NO_ROUTE), "no_route");
    assert_null(proto_mute_name(CW_MUTE_MAX + 1));
    cw_buf_free(&b);
}

static void test_v1_still_written_and_read(void **state)
{
    (void)state;
    struct cw_alert in = { .alert_id = 7,
                           .raised_at_us = 1795579506123000LL,
                           .kind = CW_ALERT_UP,
                           .email_state = CW_DELIVERY_SENT,
                           .url = "http://x/",
                           .name = "",
                           .message = "up" },
                    out;
    struct cw_buf b = { 0 };
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    assert_int_equal(b.data[0], 1);
    /* 4 header + 8 + 8 + 4 + url(2 + 9 + 1) + name(2 + 0 + 1) + message(2 + 2 + 1) */
    assert_int_equal(b.len, 24 + 12 + 3 + 5);
    b.data[23] = 5; /* reserved in version 1: ignored, never a mute reason */
    const char *why = NULL;
    assert_int_equal(proto_alert_decode(b.data, b.len, &out, &why), 0);
    assert_int_equal(out.muted, CW_MUTE_NONE);
    assert_true(out.incident_id == 0);
    assert_string_equal(out.deliveries, "");
    /* a new kind or a muted state needs version 2 */
    in.kind = CW_ALERT_FLAPPING;
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    assert_int_equal(b.data[0], 2);
    in.kind = CW_ALERT_UP;
    in.webhook_state = CW_DELIVERY_MUTED;
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    assert_int_equal(b.data[0], 2);
    cw_buf_free(&b);
}

static void expect_rejected(const struct cw_alert *in, const char *reason)
{
    struct cw_buf b = { 0 };
    struct cw_alert out;
    const char *why = NULL;
    /* the encoder refuses it too */
    assert_int_equal(proto_alert_encode(&b, in), -1);
    /* forge it: encode a valid one, then patch */
    struct cw_alert ok = *in;
    ok.muted = CW_MUTE_SILENCE;
    ok.deliveries = "a=sent";
    assert_int_equal(proto_alert_encode(&b, &ok), 0);
    if (in->muted > CW_MUTE_MAX) b.data[23] = in->muted;
    else {
        /* the deliveries string is last: rewrite it (same length as "a=sent" keeps the layout) */
        size_t n = strlen(in->deliveries);
        assert_int_equal(n, 6);
        memcpy(b.data + b.len - 7, in->deliveries, 6);
    }
    assert_int_equal(proto_alert_decode(b.data, b.len, &out, &why), -1);
    assert_string_equal(why, reason);
    cw_buf_free(&b);
}

static void test_v2_rejects(void **state)
{
    (void)state;
    struct cw_alert in = sample();
    in.muted = CW_MUTE_MAX + 1;
    expect_rejected(&in, "unknown mute reason");
    in = sample();
    const char *bad[] = { "a=sant", "=sent,", "a=,b=x", "a,sent", "a b=up", "a=sen," };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in.deliveries = bad[i];
        expect_rejected(&in, "bad deliveries");
    }
    /* the encoder refuses an overlong or malformed list outright */
    struct cw_buf b = { 0 };
    in.deliveries = "x=sent,";
    assert_int_equal(proto_alert_encode(&b, &in), -1);
    in.deliveries = "x=sent,y=failed,z=pending,w=none";
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    cw_buf_free(&b);
    /* version 3 is unknown */
    in = sample();
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    b.data[0] = 3;
    struct cw_alert out;
    const char *why = NULL;
    assert_int_equal(proto_alert_decode(b.data, b.len, &out, &why), -1);
    assert_string_equal(why, "unsupported version");
    cw_buf_free(&b);
}

/* The ack version of an alert record (docs/protocol.md 2.6): every record of one alert's life differs, also when
 * only a channel of several moved and the aggregate states did not. */
static void test_record_versions(void **state)
{
    (void)state;
    struct cw_alert a = sample();
    const struct {
        uint8_t email, hook, muted;
        const char *deliveries;
    } life[] = {
        { CW_DELIVERY_NONE, CW_DELIVERY_PENDING, CW_MUTE_NONE, "" }, /* raised, not decided */
        { CW_DELIVERY_PENDING, CW_DELIVERY_PENDING, CW_MUTE_NONE, "mail=pending,a=pending,b=pending" },
        { CW_DELIVERY_PENDING, CW_DELIVERY_PENDING, CW_MUTE_NONE, "mail=pending,a=sent,b=pending" },
        { CW_DELIVERY_PENDING, CW_DELIVERY_PENDING, CW_MUTE_NONE, "mail=pending,a=sent,b=failed" },
        { CW_DELIVERY_SENT, CW_DELIVERY_FAILED, CW_MUTE_NONE, "mail=sent,a=sent,b=failed" },
        { CW_DELIVERY_MUTED, CW_DELIVERY_MUTED, CW_MUTE_MAINTENANCE, "mail=muted,a=muted,b=muted" },
        { CW_DELIVERY_NONE, CW_DELIVERY_NONE, CW_MUTE_NO_ROUTE, "" },
    };
    uint64_t seen[7];
    for (size_t i = 0; i < 7; i++) {
        a.email_state = life[i].email;
        a.webhook_state = life[i].hook;
        a.muted = life[i].muted;
        a.deliveries = life[i].deliveries;
        seen[i] = ackq_alert_record_version(&a);
        assert_true(seen[i] >= 1);
        for (size_t j = 0; j < i; j++) assert_true(seen[j] != seen[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_round_trip),
        cmocka_unit_test(test_v1_still_written_and_read),
        cmocka_unit_test(test_v2_rejects),
        cmocka_unit_test(test_record_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
