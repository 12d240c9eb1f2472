/* tests/unit/test_proto_locations.c — the wire format of issue 16 (common/wire/protocol.c, protoloc.c;
 * docs/protocol.md 2.3 version 3 and 2.9): a result's location (version 3; versions 1 and 2 still decode, location
 * ""), HELLO and HELLO_ECHO round trips, every malformed input refused with its reason, the encoders refusing what
 * the decoders would refuse, and the new topics (CONFIG_GET, CONFIG, LOCATIONS: test_proto_config.c). Every decode
 * reads a heap copy of exactly the payload's size (ASan catches a read past it). */
#include "tests/unit/proto_loc_test_util.h"

/* Decodes a result batch from a tight heap copy that stays alive until the next call (the decoded strings point
 * into it; b NULL frees it). Returns the number of results. */
static int decode_batch(const struct cw_buf *b, struct cw_result *out, size_t max)
{
    static uint8_t *copy;
    free(copy);
    copy = NULL;
    if (!b) return 0; /* decode_batch(NULL, ...): just free the last copy */
    copy = dup_bytes(b->data, b->len);
    const char *why = NULL;
    int n = proto_results_decode(copy, b->len, out, max, &why);
    if (n < 0) fail_msg("batch refused: %s", why);
    return n;
}

/* ---- results: version 3 */

static void test_result_location_round_trip(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result in[3] = { sample_result(0, "http://a.example/", NULL), sample_result(1, "http://b.example/", "x"),
                               sample_result(2, "http://c.example/", NULL) };
    in[0].location = "fra";
    in[1].location = NULL;                               /* a record without one in the same batch: "" */
    in[2].location = "abcdefghijklmnopqrstuvwxyz012345"; /* 32 bytes: the longest */
    in[2].figures = "{\"a\":1}";
    in[2].kind = 3;
    proto_results_begin(&b);
    for (int i = 0; i < 3; i++) assert_int_equal(proto_results_add(&b, &in[i]), 0);
    assert_int_equal(b.data[0], 3);
    struct cw_result out[3];
    assert_int_equal(decode_batch(&b, out, 3), 3);
    for (int i = 0; i < 3; i++) assert_result_equal(&out[i], &in[i]);
    assert_string_equal(out[0].location, "fra");
    assert_string_equal(out[1].location, "");
    assert_string_equal(out[2].location, in[2].location);
    assert_string_equal(out[2].figures, "{\"a\":1}");
    assert_int_equal(out[2].kind, 3);
    decode_batch(NULL, NULL, 0);
    cw_buf_free(&b);
}

/* Without a location a batch is written as before (version 1, or 2 with a kind), and versions 1 and 2 decode with
 * location "". A located record after unlocated ones raises the batch to version 3. */
static void test_result_versions(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result r = sample_result(0, "http://a.example/", NULL);
    r.location = "";
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    assert_int_equal(b.data[0], 1);
    struct cw_result out[2];
    const char *why = NULL;
    assert_int_equal(decode_results(b.data, b.len, &why), 1);
    assert_int_equal(decode_batch(&b, out, 2), 1);
    assert_string_equal(out[0].location, "");

    r.kind = 1; /* version 2: a kind */
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    assert_int_equal(b.data[0], 2);
    assert_int_equal(decode_batch(&b, out, 2), 1);
    assert_string_equal(out[0].location, "");
    assert_int_equal(out[0].kind, 1);

    struct cw_result located = sample_result(1, "http://b.example/", NULL);
    located.location = "nyc";
    assert_int_equal(proto_results_add(&b, &located), 0);
    assert_int_equal(b.data[0], 3);
    r.kind = 0; /* a record of version 1 after it keeps the batch at 3 */
    assert_int_equal(proto_results_add(&b, &r), 0);
    assert_int_equal(b.data[0], 3);
    struct cw_result three[3];
    assert_int_equal(decode_batch(&b, three, 3), 3);
    assert_string_equal(three[0].location, "");
    assert_string_equal(three[1].location, "nyc");
    assert_string_equal(three[2].location, "");
    decode_batch(NULL, NULL, 0);
    cw_buf_free(&b);
}

static void test_result_bad_location_is_a_problem(void **state)
{
    (void)state;
    struct cw_result r = sample_result(0, "http://a.example/", NULL);
    const char *bad[] = { "a b", "fra/1", "é", "abcdefghijklmnopqrstuvwxyz0123456", "x\n" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r.location = bad[i];
        assert_non_null(proto_result_problem(&r));
        assert_string_equal(proto_result_problem(&r), "bad location");
    }
    const char *good[] = { NULL, "", "fra", "a.b-c_D9", "abcdefghijklmnopqrstuvwxyz012345" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        r.location = good[i];
        assert_null(proto_result_problem(&r));
    }
    assert_false(proto_location_valid(NULL));
    assert_false(proto_location_valid(""));
    assert_true(proto_location_valid("local"));
}

/* The location field's framing: flag bit 3 outside version 3, an empty or overlong location, bad bytes. */
static void test_result_location_malformed(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result r = sample_result(0, "http://a.example/", NULL);
    r.location = "fra";
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    for (size_t len = 0; len < b.len; len++) expect_result_rejected(b.data, len, "truncated");
    uint8_t *m = dup_bytes(b.data, b.len);
    size_t loc = b.len - (2 + 3 + 1); /* the location string is the record's last field */
    assert_int_equal(m[R_FLAGS] & 8, 8);

    m[0] = 2; /* flag bit 3 in a version 2 batch */
    expect_result_rejected(m, b.len, "unknown flags");
    m[0] = 3;
    m[R_FLAGS] |= 16; /* a bit above 3 */
    expect_result_rejected(m, b.len, "unknown flags");
    m[R_FLAGS] &= (uint8_t)~16;
    m[loc + 2] = ' '; /* "f a": a byte outside [A-Za-z0-9_.-] */
    expect_result_rejected(m, b.len, "bad location");
    m[loc + 2] = 'r';
    m[loc + 5] = 'x'; /* the terminator */
    expect_result_rejected(m, b.len, "string not terminated");
    m[loc + 5] = 0;
    m[loc + 3] = 0; /* a NUL inside */
    expect_result_rejected(m, b.len, "NUL inside a string");
    m[loc + 3] = 'a';
    free(m);

    /* an empty location string under flag bit 3 */
    r.location = "x";
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    uint8_t *e = dup_bytes(b.data, b.len - 1);
    size_t at = b.len - 4; /* u16 1, 'x', NUL -> u16 0, NUL */
    put_le(e + at, 0, 2);
    e[at + 2] = 0;
    expect_result_rejected(e, b.len - 1, "empty location");
    free(e);

    /* 33 bytes: longer than any location */
    char longer[40];
    memset(longer, 'a', 33);
    longer[33] = 0;
    r.location = "abcdefghijklmnopqrstuvwxyz012345";
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    struct cw_buf l = { 0 };
    cw_buf_put(&l, b.data, b.len - (2 + 32 + 1));
    uint8_t n[2] = { 33, 0 };
    cw_buf_put(&l, n, 2);
    cw_buf_put(&l, longer, 34);
    expect_result_rejected(l.data, l.len, "string too long");
    cw_buf_free(&l);
    cw_buf_free(&b);
}

/* ---- HELLO and HELLO_ECHO */

static struct cw_hello sample_hello(void)
{
    return (struct cw_hello){ .location = "fra",
                              .worker = 7,
                              .boot_id = 0x1122334455667788ULL,
                              .sent_at_us = NOW_US,
                              .offset_us = -1234,
                              .rtt_us = 800,
                              .endpoints = 3000 };
}

static void test_hello_round_trip(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_hello h = sample_hello();
    assert_int_equal(proto_hello_encode(&b, &h), 0);
    const uint8_t header[4] = { CW_PROTO_LOC_VERSION, CW_MSG_HELLO, 1, 0 };
    assert_memory_equal(b.data, header, 4);
    uint8_t *copy = dup_bytes(b.data, b.len);
    struct cw_hello out;
    const char *why = NULL;
    assert_int_equal(proto_hello_decode(copy, b.len, &out, &why), 0);
    assert_string_equal(out.location, "fra");
    assert_int_equal(out.worker, 7);
    assert_true(out.boot_id == h.boot_id);
    assert_true(out.sent_at_us == NOW_US);
    assert_true(out.offset_us == -1234);
    assert_true(out.rtt_us == 800);
    assert_int_equal(out.endpoints, 3000);
    free(copy);

    h.offset_us = CW_OFFSET_UNKNOWN; /* no measurement yet */
    h.rtt_us = -1;
    assert_int_equal(proto_hello_encode(&b, &h), 0);
    copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_hello_decode(copy, b.len, &out, &why), 0);
    assert_true(out.offset_us == CW_OFFSET_UNKNOWN);
    assert_true(out.rtt_us == -1);
    free(copy);
    expect_framing_checked(CW_MSG_HELLO, &b, true);
    cw_buf_free(&b);
}

/* Field offsets of a HELLO with location "fra": header 4, location 2+3+1, worker 4, boot 8, sent 8, offset 8,
 * rtt 8, endpoints 4. */
enum { H_LOC = 4, H_WORKER = 10, H_BOOT = 14, H_SENT = 22, H_OFFSET = 30, H_RTT = 38, H_ENDPOINTS = 46 };

static void test_hello_malformed(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_hello h = sample_hello();
    assert_int_equal(proto_hello_encode(&b, &h), 0);
    assert_int_equal(b.len, H_ENDPOINTS + 4);
    uint8_t *m = dup_bytes(b.data, b.len);
    const struct mutation cases[] = {
        { H_LOC + 3, 1, '/', "bad location" },
        { H_BOOT, 8, 0, "zero boot id" },
        { H_SENT, 8, 0, "send time out of range" },
        { H_SENT, 8, (uint64_t)CW_CHECKED_AT_MAX_US, "send time out of range" },
        { H_RTT, 8, (uint64_t)-1, "round trip out of range" },
        { H_RTT, 8, 3600000001ULL, "round trip out of range" },
        { H_OFFSET, 8, (uint64_t)CW_OFFSET_UNKNOWN, "round trip without an offset" },
        { H_OFFSET, 8, (uint64_t)(CW_CHECKED_AT_MAX_US - CW_CHECKED_AT_MIN_US + 1), "offset out of range" },
        { H_OFFSET, 8, (uint64_t)INT64_MAX, "offset out of range" },
    };
    expect_mutations(CW_MSG_HELLO, m, b.len, cases, sizeof cases / sizeof *cases);
    free(m);

    /* the encoder refuses what the decoder would */
    struct cw_hello bad[6];
    for (int i = 0; i < 6; i++) bad[i] = sample_hello();
    bad[0].location = "";
    bad[1].location = NULL;
    bad[2].boot_id = 0;
    bad[3].sent_at_us = 0;
    bad[4].rtt_us = -1; /* an offset without its round trip */
    bad[5].offset_us = CW_OFFSET_UNKNOWN;
    for (int i = 0; i < 6; i++) assert_int_equal(proto_hello_encode(&b, &bad[i]), -1);
    cw_buf_free(&b);
}

static void test_hello_echo(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_hello_echo e = { .sent_at_us = NOW_US, .received_at_us = NOW_US + 5000 };
    assert_int_equal(proto_hello_echo_encode(&b, &e), 0);
    assert_int_equal(b.len, 4 + 16);
    struct cw_hello_echo out;
    const char *why = NULL;
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_hello_echo_decode(copy, b.len, &out, &why), 0);
    assert_true(out.sent_at_us == NOW_US && out.received_at_us == NOW_US + 5000);
    free(copy);
    expect_framing_checked(CW_MSG_HELLO_ECHO, &b, true);

    uint8_t *m = dup_bytes(b.data, b.len);
    put_le(m + 4, 5, 8);
    assert_string_equal(decode_why(CW_MSG_HELLO_ECHO, m, b.len), "time out of range");
    put_le(m + 4, (uint64_t)NOW_US, 8);
    put_le(m + 12, (uint64_t)-5, 8);
    assert_string_equal(decode_why(CW_MSG_HELLO_ECHO, m, b.len), "time out of range");
    free(m);
    e.received_at_us = 0;
    assert_int_equal(proto_hello_echo_encode(&b, &e), -1);
    cw_buf_free(&b);
}

/* The topics of the new types, and that each decoder refuses a message of another type. */
static void test_topics(void **state)
{
    (void)state;
    const char *names[] = { "hello", "hello_echo", "config_get", "config", "locations" };
    for (int t = CW_MSG_HELLO; t <= CW_MSG_LOCATIONS; t++) {
        assert_string_equal(proto_topic((enum cw_msg_type)t), names[t - CW_MSG_HELLO]);
        assert_int_equal(proto_type_of_topic(names[t - CW_MSG_HELLO], strlen(names[t - CW_MSG_HELLO])), t);
    }
    assert_null(proto_topic((enum cw_msg_type)(CW_MSG_LOCATIONS + 1)));
    assert_int_equal(proto_type_of_topic("confi", 5), CW_MSG_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_location_round_trip),
        cmocka_unit_test(test_result_versions),
        cmocka_unit_test(test_result_bad_location_is_a_problem),
        cmocka_unit_test(test_result_location_malformed),
        cmocka_unit_test(test_hello_round_trip),
        cmocka_unit_test(test_hello_malformed),
        cmocka_unit_test(test_hello_echo),
        cmocka_unit_test(test_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
