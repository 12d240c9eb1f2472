/* tests/unit/test_proto_locations.c — the wire format of issue 16 (common/wire/protoloc.c, protocol.c; docs/protocol.md
 * 2.3 version 3 and 2.9 - 2.11): a result's location (version 3; versions 1 and 2 still decode, location ""),
 * HELLO, HELLO_ECHO, CONFIG_GET, CONFIG and LOCATIONS round trips, every malformed input refused with its reason,
 * and the encoders refusing what the decoders would refuse. Every decode reads a heap copy of exactly the payload's
 * size (ASan catches a read past it). */
#include "tests/unit/proto_test_util.h"

#include "common/base/le.h"

#define NOW_US 1795579506123456LL /* 2026-11-25 */

/* Decodes payload[0..len) as a message of `type` from a tight heap copy: NULL when accepted, else the reason. */
static const char *decode_why(enum cw_msg_type type, const void *payload, size_t len)
{
    uint8_t *copy = dup_bytes(payload, len);
    const char *why = NULL;
    int rc = -1;
    static struct cw_locations_msg locs;
    union {
        struct cw_hello h;
        struct cw_hello_echo e;
        struct cw_config_get g;
        struct cw_config_reply c;
    } out;
    switch (type) {
    case CW_MSG_HELLO:
        rc = proto_hello_decode(copy, len, &out.h, &why);
        break;
    case CW_MSG_HELLO_ECHO:
        rc = proto_hello_echo_decode(copy, len, &out.e, &why);
        break;
    case CW_MSG_CONFIG_GET:
        rc = proto_config_get_decode(copy, len, &out.g, &why);
        break;
    case CW_MSG_CONFIG:
        rc = proto_config_reply_decode(copy, len, &out.c, &why);
        break;
    case CW_MSG_LOCATIONS:
        rc = proto_locations_decode(copy, len, &locs, &why);
        break;
    default:
        fail();
    }
    free(copy);
    if (rc == 0) return NULL;
    assert_int_equal(rc, -1);
    assert_non_null(why);
    return why;
}

/* Every proper prefix is "truncated", one byte more is "trailing bytes", a wrong type byte, version or count is
 * refused: the framing checks every location message shares. */
static void expect_framing_checked(enum cw_msg_type type, const struct cw_buf *b, bool single)
{
    assert_null(decode_why(type, b->data, b->len));
    for (size_t len = 0; len < b->len; len++) assert_string_equal(decode_why(type, b->data, len), "truncated");
    uint8_t *m = malloc(b->len + 1);
    assert_non_null(m);
    memcpy(m, b->data, b->len);
    m[b->len] = 0;
    assert_string_equal(decode_why(type, m, b->len + 1), "trailing bytes");
    m[0] = CW_PROTO_LOC_VERSION + 1;
    assert_string_equal(decode_why(type, m, b->len), "unsupported version");
    m[0] = 0;
    assert_string_equal(decode_why(type, m, b->len), "unsupported version");
    m[0] = CW_PROTO_LOC_VERSION;
    m[1] = (uint8_t)(type == CW_MSG_HELLO ? CW_MSG_HELLO_ECHO : CW_MSG_HELLO);
    assert_string_equal(decode_why(type, m, b->len), "type does not match topic");
    m[1] = (uint8_t)type;
    if (single) {
        put_le(m + 2, 2, 2);
        assert_string_equal(decode_why(type, m, b->len), "count is not 1");
        put_le(m + 2, 0, 2);
        assert_string_equal(decode_why(type, m, b->len), "count is not 1");
    }
    free(m);
}

/* One field changed at a time (`bytes` little-endian bytes at `at`, restored after): refused with `why`. */
struct mutation {
    size_t at;
    int bytes;
    uint64_t value;
    const char *why;
};

static void expect_mutations(enum cw_msg_type type, uint8_t *m, size_t len, const struct mutation *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t saved[8];
        memcpy(saved, m + cases[i].at, (size_t)cases[i].bytes);
        put_le(m + cases[i].at, cases[i].value, cases[i].bytes);
        assert_string_equal(decode_why(type, m, len), cases[i].why);
        memcpy(m + cases[i].at, saved, (size_t)cases[i].bytes);
    }
    assert_null(decode_why(type, m, len));
}

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
        cmocka_unit_test(test_config_get),
        cmocka_unit_test(test_config_reply_round_trips),
        cmocka_unit_test(test_config_reply_invalid),
        cmocka_unit_test(test_locations_round_trip),
        cmocka_unit_test(test_locations_malformed),
        cmocka_unit_test(test_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
