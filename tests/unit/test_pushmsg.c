/* tests/unit/test_pushmsg.c — the push message (common/wire/pushmsg.c, docs/protocol.md 2.8): a round trip, every
 * rejection of the defensive decoder, the cleaning of a caller's msg (cut at 256 bytes on a character boundary,
 * control characters replaced), and the bus roles that carry it (a PUSH refuses while no worker's PULL is bound:
 * ZMQ_IMMEDIATE, so the web answers 503). */
#include "bus_test_util.h"

#include "common/wire/pushmsg.h"

#define NOW_US 1800000000000000LL

static void encode_ok(struct cw_buf *b, const char *url, bool down, const char *msg)
{
    struct cw_push_call c = { .url = url, .received_at_us = NOW_US, .down = down, .msg = msg };
    assert_int_equal(proto_push_encode(b, &c), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    encode_ok(&b, "push://backup", true, "disk full");
    assert_int_equal(b.len, 4 + 8 + 1 + 1 + 2 + 13 + 1 + 2 + 9 + 1);
    assert_int_equal(b.data[0], 1);
    assert_int_equal(b.data[1], CW_MSG_PUSH);
    struct cw_push_call out;
    const char *why = NULL;
    assert_int_equal(proto_push_decode(b.data, b.len, &out, &why), 0);
    assert_string_equal(out.url, "push://backup");
    assert_string_equal(out.msg, "disk full");
    assert_true(out.down);
    assert_true(out.received_at_us == NOW_US);
    encode_ok(&b, "push://x", false, NULL);
    assert_int_equal(proto_push_decode(b.data, b.len, &out, &why), 0);
    assert_false(out.down);
    assert_string_equal(out.msg, "");
    assert_string_equal(proto_topic(CW_MSG_PUSH), "push");
    assert_int_equal(proto_type_of_topic("push", 4), CW_MSG_PUSH);
    cw_buf_free(&b);
}

static void test_encoder_refuses(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    char long_msg[CW_PUSH_MSG_MAX + 2];
    memset(long_msg, 'm', sizeof long_msg - 1);
    long_msg[sizeof long_msg - 1] = '\0';
    struct cw_push_call bad[] = {
        { .url = "", .received_at_us = NOW_US },
        { .url = NULL, .received_at_us = NOW_US },
        { .url = "push://x", .received_at_us = NOW_US, .msg = long_msg },
        { .url = "push://x", .received_at_us = NOW_US, .msg = "a\nb" },
        { .url = "push://x", .received_at_us = 0 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(proto_push_encode(&b, &bad[i]), -1);
    cw_buf_free(&b);
}

/* Decodes a copy of good with byte at changed to v (or cut to len) and expects why. */
static void expect_reject(const struct cw_buf *good, size_t at, int v, size_t len, const char *reason)
{
    uint8_t copy[512];
    memcpy(copy, good->data, good->len);
    if (v >= 0) copy[at] = (uint8_t)v;
    struct cw_push_call out;
    const char *why = NULL;
    assert_int_equal(proto_push_decode(copy, len, &out, &why), -1);
    assert_string_equal(why, reason);
}

static void test_decoder_rejects(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    encode_ok(&b, "push://backup", true, "ok");
    expect_reject(&b, 0, 2, b.len, "unsupported version");
    expect_reject(&b, 1, CW_MSG_RESULT, b.len, "type does not match topic");
    expect_reject(&b, 2, 2, b.len, "push count is not 1");
    expect_reject(&b, 12, 2, b.len, "unknown push status");
    expect_reject(&b, 11, 0x7f, b.len, "check time out of range");
    expect_reject(&b, 0, -1, b.len - 1, "truncated");
    expect_reject(&b, 15, 0xff, b.len, "string too long"); /* url length 0xff.. > 4096 */
    expect_reject(&b, 16 + 13, 'x', b.len, "string not terminated");
    expect_reject(&b, 16 + 3, 0, b.len, "NUL inside a string");
    expect_reject(&b, b.len - 2, '\t', b.len, "control character in msg");
    uint8_t longer[512];
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    struct cw_push_call out;
    const char *why = NULL;
    assert_int_equal(proto_push_decode(longer, b.len + 1, &out, &why), -1);
    assert_string_equal(why, "trailing bytes");
    encode_ok(&b, "p", false, "");
    b.data[14] = 0; /* url length 0 (and its byte becomes the terminator's place) */
    assert_int_equal(proto_push_decode(b.data, b.len, &out, &why), -1);
    assert_int_equal(proto_push_decode(NULL, 0, &out, &why), -1);
    assert_string_equal(why, "truncated");
    cw_buf_free(&b);
}

static void test_clean_msg(void **state)
{
    (void)state;
    char out[CW_PUSH_MSG_MAX + 1];
    proto_push_clean_msg("backup\tdone\r\nok\x7f", out);
    assert_string_equal(out, "backup?done??ok?");
    proto_push_clean_msg(NULL, out);
    assert_string_equal(out, "");
    char big[600];
    memset(big, 'a', 255);
    strcpy(big + 255, "\xc3\xa9\xc3\xa9tail"); /* an e-acute would straddle byte 256 */
    proto_push_clean_msg(big, out);
    assert_int_equal(strlen(out), 255);
    proto_push_clean_msg("bad \xff byte", out);
    assert_string_equal(out, "bad ? byte");
}

static void test_bus_roles(void **state)
{
    struct fixture *f = *state;
    struct cw_buf b = { 0 };
    encode_ok(&b, "push://backup", false, "");
    struct bus_socket *out = open_ok(f->bus, BUS_PUSH_CALLS, f->a);
    assert_int_equal(bus_send(out, CW_MSG_PUSH, b.data, b.len), BUS_WOULD_BLOCK); /* no worker bound: 503 */
    struct bus_socket *in = open_ok(f->bus, BUS_PULL_CALLS, f->a);
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    int rc;
    while ((rc = bus_send(out, CW_MSG_PUSH, b.data, b.len)) == BUS_WOULD_BLOCK) {
        assert_true(cw_mono_us() / 1000 < until);
        usleep(10000);
    }
    assert_int_equal(rc, BUS_SENT);
    struct bus_msg m;
    assert_int_equal(bus_recv(in, &m, DEADLINE_MS), 1);
    assert_int_equal(m.type, CW_MSG_PUSH);
    struct cw_push_call call;
    assert_int_equal(proto_push_decode(m.data, m.len, &call, NULL), 0);
    assert_string_equal(call.url, "push://backup");
    bus_msg_release(&m);
    bus_close(out);
    bus_close(in);
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_encoder_refuses),
        cmocka_unit_test(test_decoder_rejects),
        cmocka_unit_test(test_clean_msg),
        cmocka_unit_test_setup_teardown(test_bus_roles, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
