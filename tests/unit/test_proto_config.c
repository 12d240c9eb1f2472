/* tests/unit/test_proto_config.c — the configuration and locations messages of issue 16 (common/wire/protoloc.c;
 * docs/protocol.md 2.10, 2.11): CONFIG_GET, CONFIG (new, unchanged, refused) and LOCATIONS round trips, what each
 * status allows, every malformed input refused with its reason, and the encoders refusing what the decoders would.
 * Every decode reads a heap copy of exactly the payload's size (ASan catches a read past it). */
#include "tests/unit/proto_loc_test_util.h"

/* ---- CONFIG_GET */

static void test_config_get(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_config_get g = { .location = "sgp", .have_hash = 0xfeedfacecafebeefULL, .sent_at_us = NOW_US };
    assert_int_equal(proto_config_get_encode(&b, &g), 0);
    struct cw_config_get out;
    const char *why = NULL;
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_config_get_decode(copy, b.len, &out, &why), 0);
    assert_string_equal(out.location, "sgp");
    assert_true(out.have_hash == g.have_hash);
    assert_true(out.sent_at_us == NOW_US);
    free(copy);
    expect_framing_checked(CW_MSG_CONFIG_GET, &b, true);

    uint8_t *m = dup_bytes(b.data, b.len);
    m[4 + 2] = '*';
    assert_string_equal(decode_why(CW_MSG_CONFIG_GET, m, b.len), "bad location");
    m[4 + 2] = 's';
    put_le(m + 4 + 6 + 8, 1, 8);
    assert_string_equal(decode_why(CW_MSG_CONFIG_GET, m, b.len), "send time out of range");
    free(m);

    g.have_hash = 0; /* nothing yet: fine */
    assert_int_equal(proto_config_get_encode(&b, &g), 0);
    g.location = "no way";
    assert_int_equal(proto_config_get_encode(&b, &g), -1);
    g.location = "sgp";
    g.sent_at_us = CW_CHECKED_AT_MAX_US;
    assert_int_equal(proto_config_get_encode(&b, &g), -1);
    cw_buf_free(&b);
}

/* ---- CONFIG */

static const unsigned char SNAPSHOT[] = { 'C', 'W', 0, 1, 0, 0, 0xff, 0x80, 7 }; /* binary, NULs inside */

static struct cw_config_reply sample_new(void)
{
    return (struct cw_config_reply){ .status = CW_CONFIG_NEW,
                                     .hash = 0x0123456789abcdefULL,
                                     .echo_sent_at_us = NOW_US,
                                     .central_at_us = NOW_US + 40,
                                     .reason = "",
                                     .store_address = "tcp://10.0.0.5:7001",
                                     .alert_address = "tcp://*:7002",
                                     .publish_address = "tcp://10.0.0.5:7003",
                                     .snapshot = SNAPSHOT,
                                     .snapshot_len = sizeof SNAPSHOT };
}

static void decode_reply(const struct cw_buf *b, struct cw_config_reply *out, uint8_t **copy)
{
    const char *why = NULL;
    *copy = dup_bytes(b->data, b->len);
    assert_int_equal(proto_config_reply_decode(*copy, b->len, out, &why), 0);
}

static void test_config_reply_round_trips(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_config_reply c = sample_new(), out;
    uint8_t *copy;
    assert_int_equal(proto_config_reply_encode(&b, &c), 0);
    decode_reply(&b, &out, &copy);
    assert_int_equal(out.status, CW_CONFIG_NEW);
    assert_true(out.hash == c.hash && out.echo_sent_at_us == NOW_US && out.central_at_us == NOW_US + 40);
    assert_string_equal(out.reason, "");
    assert_string_equal(out.store_address, c.store_address);
    assert_string_equal(out.alert_address, c.alert_address);
    assert_string_equal(out.publish_address, c.publish_address);
    assert_int_equal(out.snapshot_len, sizeof SNAPSHOT);
    assert_memory_equal(out.snapshot, SNAPSHOT, sizeof SNAPSHOT);
    free(copy);
    expect_framing_checked(CW_MSG_CONFIG, &b, true);

    struct cw_config_reply same = {
        .status = CW_CONFIG_UNCHANGED, .hash = c.hash, .echo_sent_at_us = NOW_US, .central_at_us = NOW_US
    };
    assert_int_equal(proto_config_reply_encode(&b, &same), 0);
    decode_reply(&b, &out, &copy);
    assert_int_equal(out.status, CW_CONFIG_UNCHANGED);
    assert_true(out.hash == c.hash);
    assert_null(out.snapshot);
    assert_int_equal(out.snapshot_len, 0);
    assert_string_equal(out.store_address, "");
    free(copy);
    expect_framing_checked(CW_MSG_CONFIG, &b, true);

    struct cw_config_reply no = { .status = CW_CONFIG_REFUSED,
                                  .echo_sent_at_us = NOW_US,
                                  .central_at_us = NOW_US,
                                  .reason = "key ABC is not the key of location fra" };
    assert_int_equal(proto_config_reply_encode(&b, &no), 0);
    decode_reply(&b, &out, &copy);
    assert_int_equal(out.status, CW_CONFIG_REFUSED);
    assert_string_equal(out.reason, no.reason);
    assert_true(out.hash == 0);
    free(copy);
    expect_framing_checked(CW_MSG_CONFIG, &b, true);
    cw_buf_free(&b);
}

/* What each status allows, checked by the encoder and the decoder alike. */
static void test_config_reply_invalid(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_config_reply c[12];
    for (int i = 0; i < 12; i++) c[i] = sample_new();
    c[0].status = 3;
    c[1].hash = 0;
    c[2].reason = "why";
    c[3].store_address = "";
    c[4].publish_address = NULL;
    c[5].snapshot = NULL;
    c[6].snapshot_len = 0;
    c[7].central_at_us = 0;
    c[8].echo_sent_at_us = CW_CHECKED_AT_MAX_US;
    c[9].status = CW_CONFIG_UNCHANGED; /* with a configuration */
    c[10].status = CW_CONFIG_REFUSED;  /* with a configuration and no reason */
    c[11].snapshot_len = CW_CONFIG_MSG_MAX;
    for (int i = 0; i < 12; i++) assert_int_equal(proto_config_reply_encode(&b, &c[i]), -1);
    char longer[1100];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    struct cw_config_reply l = sample_new();
    l.alert_address = longer;
    assert_int_equal(proto_config_reply_encode(&b, &l), -1);

    /* the decoder: a valid NEW, then one field at a time (offsets: header 4, status 1, hash 8, echo 8, central 8) */
    struct cw_config_reply ok = sample_new();
    assert_int_equal(proto_config_reply_encode(&b, &ok), 0);
    uint8_t *m = dup_bytes(b.data, b.len);
    m[4] = 3;
    assert_string_equal(decode_why(CW_MSG_CONFIG, m, b.len), "unknown status");
    m[4] = CW_CONFIG_UNCHANGED;
    assert_string_equal(decode_why(CW_MSG_CONFIG, m, b.len), "unchanged with a configuration");
    m[4] = CW_CONFIG_REFUSED;
    assert_string_equal(decode_why(CW_MSG_CONFIG, m, b.len), "refusal without a reason");
    m[4] = CW_CONFIG_NEW;
    put_le(m + 5, 0, 8);
    assert_string_equal(decode_why(CW_MSG_CONFIG, m, b.len), "zero hash");
    put_le(m + 5, 1, 8);
    put_le(m + 21, 0, 8);
    assert_string_equal(decode_why(CW_MSG_CONFIG, m, b.len), "time out of range");
    put_le(m + 21, (uint64_t)NOW_US, 8);
    assert_null(decode_why(CW_MSG_CONFIG, m, b.len));
    /* the snapshot length: more than there is, and 0 (NEW without snapshot) with the bytes left over */
    size_t at = b.len - sizeof SNAPSHOT - 4;
    put_le(m + at, 0xffffffffu, 4);
    assert_string_equal(decode_why(CW_MSG_CONFIG, m, b.len), "truncated");
    put_le(m + at, sizeof SNAPSHOT + 1, 4);
    assert_string_equal(decode_why(CW_MSG_CONFIG, m, b.len), "truncated");
    put_le(m + at, 0, 4);
    assert_string_equal(decode_why(CW_MSG_CONFIG, m, at + 4), "configuration without snapshot");
    free(m);
    cw_buf_free(&b);
}

/* ---- LOCATIONS */

static void test_locations_round_trip(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_locations_msg in, out;
    sample_locations(&in, NOW_US);
    assert_int_equal(proto_locations_encode(&b, &in), 0);
    assert_int_equal(le_get_u16(b.data + 2), 3);
    const char *why = NULL;
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_locations_decode(copy, b.len, &out, &why), 0);
    assert_int_equal(out.count, 3);
    assert_true(out.at_us == NOW_US);
    for (unsigned i = 0; i < 3; i++) {
        assert_string_equal(out.loc[i].name, in.loc[i].name);
        assert_int_equal(out.loc[i].state, in.loc[i].state);
        assert_true(out.loc[i].last_heard_us == in.loc[i].last_heard_us);
        assert_true(out.loc[i].offset_us == in.loc[i].offset_us);
        assert_true(out.loc[i].rtt_us == in.loc[i].rtt_us);
        assert_int_equal(out.loc[i].workers, in.loc[i].workers);
    }
    free(copy);
    expect_framing_checked(CW_MSG_LOCATIONS, &b, false);

    in.count = 0; /* a central without locations: an empty list is fine */
    assert_int_equal(proto_locations_encode(&b, &in), 0);
    assert_null(decode_why(CW_MSG_LOCATIONS, b.data, b.len));

    in.count = CW_LOCATIONS_MAX;
    char names[CW_LOCATIONS_MAX][8];
    for (unsigned i = 0; i < CW_LOCATIONS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "l%u", i);
        in.loc[i] = (struct cw_location_state){ names[i], CW_LOCATION_UNKNOWN, 0, CW_OFFSET_UNKNOWN, -1, 0 };
    }
    assert_int_equal(proto_locations_encode(&b, &in), 0);
    assert_null(decode_why(CW_MSG_LOCATIONS, b.data, b.len));
    in.count = CW_LOCATIONS_MAX + 1;
    assert_int_equal(proto_locations_encode(&b, &in), -1);
    cw_buf_free(&b);
}

static void test_locations_malformed(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_locations_msg in;
    sample_locations(&in, NOW_US);
    assert_int_equal(proto_locations_encode(&b, &in), 0);
    /* the first entry "central": name at 12 (2+7+1), state at 22, last_heard 23, offset 31, rtt 39, workers 47 */
    uint8_t *m = dup_bytes(b.data, b.len);
    const struct mutation cases[] = {
        { 4, 8, 0, "time out of range" },
        { 14, 1, '+', "bad location" },
        { 22, 1, 3, "unknown location state" },
        { 23, 8, 0, "live but never heard" },
        { 23, 8, 17, "time out of range" },
        { 31, 8, (uint64_t)CW_OFFSET_UNKNOWN, "round trip without an offset" },
        { 39, 8, (uint64_t)-1, "round trip out of range" },
        { 2, 2, CW_LOCATIONS_MAX + 1, "too many locations" },
        { 2, 2, 4, "truncated" },
        { 2, 2, 2, "trailing bytes" },
    };
    expect_mutations(CW_MSG_LOCATIONS, m, b.len, cases, sizeof cases / sizeof *cases);
    free(m);

    in.loc[2].name = "fra"; /* twice */
    assert_int_equal(proto_locations_encode(&b, &in), -1);
    in.loc[2].name = "sgp";
    assert_int_equal(proto_locations_encode(&b, &in), 0);
    m = dup_bytes(b.data, b.len);
    size_t sgp = b.len - (2 + 3 + 1 + 1 + 8 + 8 + 8 + 4);
    memcpy(m + sgp + 2, "fra", 3);
    assert_string_equal(decode_why(CW_MSG_LOCATIONS, m, b.len), "location twice");
    free(m);
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_get),           cmocka_unit_test(test_config_reply_round_trips),
        cmocka_unit_test(test_config_reply_invalid), cmocka_unit_test(test_locations_round_trip),
        cmocka_unit_test(test_locations_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
