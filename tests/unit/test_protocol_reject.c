/* tests/unit/test_protocol_reject.c — the wire format's decoders (common/wire/protocol.c) against every kind
 * of malformed payload: each rejected with its reason and without a crash (run under ASan: every decode reads
 * from a heap copy of exactly the payload's size, so an out-of-bounds read is caught). */
#include "tests/unit/proto_test_util.h"

/* ---- malformed input */

/* Every proper prefix of a valid message is rejected ("truncated"), for each message type. */
static void test_truncated_everywhere(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result rs[2] = { sample_result(0, "http://127.0.0.1:1/", "Couldn't connect to server"),
                               sample_result(1, "http://127.0.0.1:2/", NULL) };
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &rs[0]), 0);
    assert_int_equal(proto_results_add(&b, &rs[1]), 0);
    for (size_t len = 0; len < b.len; len++) expect_result_rejected(b.data, len, "truncated");
    const char *why;
    assert_int_equal(decode_results(b.data, b.len, &why), 2);

    struct cw_stats st = { .role = "storer", .count = 2 };
    st.items[0] = (struct cw_stat){ "rows", 5 };
    st.items[1] = (struct cw_stat){ "gaps", 0 };
    assert_int_equal(proto_stats_encode(&b, &st), 0);
    for (size_t len = 0; len < b.len; len++) {
        struct cw_stats out;
        uint8_t *copy = dup_bytes(b.data, len);
        why = NULL;
        assert_int_equal(proto_stats_decode(copy, len, &out, &why), -1);
        assert_string_equal(why, "truncated");
        free(copy);
    }

    struct cw_alert al = {
        .alert_id = 9, .kind = CW_ALERT_UP, .url = "http://127.0.0.1/", .name = "n", .message = "up again"
    };
    assert_int_equal(proto_alert_encode(&b, &al), 0);
    for (size_t len = 0; len < b.len; len++) {
        struct cw_alert out;
        uint8_t *copy = dup_bytes(b.data, len);
        why = NULL;
        assert_int_equal(proto_alert_decode(copy, len, &out, &why), -1);
        assert_string_equal(why, "truncated");
        free(copy);
    }
    cw_buf_free(&b);
}

static void test_bad_header(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    one_result_msg(&b);
    uint8_t *m = dup_bytes(b.data, b.len);

    m[0] = 4; /* a version this receiver does not know (results: 1, 2 and 3) */
    expect_result_rejected(m, b.len, "unsupported version");
    m[0] = 2; /* the same record read as version 2: a kind 0 (http) without figures */
    const char *why2;
    assert_int_equal(decode_results(m, b.len, &why2), 1);
    m[0] = 3; /* ... and as version 3: without a location */
    assert_int_equal(decode_results(m, b.len, &why2), 1);
    m[0] = 0;
    expect_result_rejected(m, b.len, "unsupported version");
    m[0] = CW_PROTO_VERSION;

    m[1] = CW_MSG_STATS; /* a stats type byte under the result topic */
    expect_result_rejected(m, b.len, "type does not match topic");
    m[1] = 0;
    expect_result_rejected(m, b.len, "type does not match topic");
    m[1] = 200;
    expect_result_rejected(m, b.len, "type does not match topic");
    m[1] = CW_MSG_RESULT;

    /* a valid result payload handed to the stats and alert decoders */
    struct cw_stats st;
    struct cw_alert al;
    const char *why = NULL;
    assert_int_equal(proto_stats_decode(m, b.len, &st, &why), -1);
    assert_string_equal(why, "type does not match topic");
    why = NULL;
    assert_int_equal(proto_alert_decode(m, b.len, &al, &why), -1);
    assert_string_equal(why, "type does not match topic");

    put_le(m + 2, 0, 2);
    expect_result_rejected(m, b.len, "empty batch");
    put_le(m + 2, CW_RESULT_BATCH_MAX + 1, 2);
    expect_result_rejected(m, b.len, "too many results");
    put_le(m + 2, 0xffff, 2);
    expect_result_rejected(m, b.len, "too many results");
    put_le(m + 2, 2, 2); /* says 2, holds 1 */
    expect_result_rejected(m, b.len, "truncated");
    put_le(m + 2, 1, 2);
    assert_int_equal(decode_results(m, b.len, &why), 1); /* restored: valid again */
    free(m);
    cw_buf_free(&b);
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    one_result_msg(&b);
    size_t len = b.len;
    cw_buf_put(&b, "\0", 1);
    expect_result_rejected(b.data, len + 1, "trailing bytes");

    struct cw_stats st = { .role = "worker", .count = 0 };
    assert_int_equal(proto_stats_encode(&b, &st), 0);
    cw_buf_put(&b, "xx", 2);
    struct cw_stats sout;
    const char *why = NULL;
    assert_int_equal(proto_stats_decode(b.data, b.len, &sout, &why), -1);
    assert_string_equal(why, "trailing bytes");

    struct cw_alert al = { .alert_id = 1, .kind = CW_ALERT_DOWN, .url = "http://x/", .name = "", .message = "m" };
    assert_int_equal(proto_alert_encode(&b, &al), 0);
    cw_buf_put(&b, "x", 1);
    struct cw_alert aout;
    why = NULL;
    assert_int_equal(proto_alert_decode(b.data, b.len, &aout, &why), -1);
    assert_string_equal(why, "trailing bytes");
    cw_buf_free(&b);
}

static void test_bad_strings(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    one_result_msg(&b);
    const size_t url_len = strlen("http://127.0.0.1:8089/");
    uint8_t *m = dup_bytes(b.data, b.len);

    /* the url's terminator replaced */
    m[R_URL + 2 + url_len] = 'x';
    expect_result_rejected(m, b.len, "string not terminated");
    m[R_URL + 2 + url_len] = 0;

    /* a NUL inside the url */
    m[R_URL + 2 + 5] = 0;
    expect_result_rejected(m, b.len, "NUL inside a string");
    m[R_URL + 2 + 5] = '/';

    /* a length that runs past the end of the buffer (but within the maximum) */
    put_le(m + R_URL, 3000, 2);
    expect_result_rejected(m, b.len, "truncated");
    /* a length beyond the maximum for the field */
    put_le(m + R_URL, CW_URL_MAX + 1, 2);
    expect_result_rejected(m, b.len, "string too long");
    put_le(m + R_URL, 0xffff, 2);
    expect_result_rejected(m, b.len, "string too long");
    /* length one shorter: the terminator check hits the last url byte */
    put_le(m + R_URL, url_len - 1, 2);
    expect_result_rejected(m, b.len, "string not terminated");
    put_le(m + R_URL, url_len, 2);

    /* the error string's length and terminator */
    size_t err_at = R_URL + 2 + url_len + 1;
    size_t err_len = strlen("Couldn't connect to server");
    put_le(m + err_at, CW_ERROR_MAX + 1, 2);
    expect_result_rejected(m, b.len, "string too long");
    put_le(m + err_at, err_len + 1, 2);
    expect_result_rejected(m, b.len, "truncated");
    put_le(m + err_at, err_len, 2);
    m[b.len - 1] = '!';
    expect_result_rejected(m, b.len, "string not terminated");
    m[b.len - 1] = 0;

    const char *why;
    assert_int_equal(decode_results(m, b.len, &why), 1); /* restored: valid again */
    free(m);
    cw_buf_free(&b);
}

static void test_bad_fields(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    one_result_msg(&b);
    uint8_t *m = dup_bytes(b.data, b.len);

    m[R_FLAGS] = 4;
    expect_result_rejected(m, b.len, "unknown flags");
    m[R_FLAGS] = 2; /* says a certificate expiry follows, which is missing */
    expect_result_rejected(m, b.len, "truncated");
    m[R_FLAGS] = 0x81;
    expect_result_rejected(m, b.len, "unknown flags");
    m[R_FLAGS] = 0;

    /* the reserved byte of version 1 is ignored (version 2's kind) */
    m[R_RESERVED] = 0x5a;
    const char *why;
    assert_int_equal(decode_results(m, b.len, &why), 1);
    m[R_RESERVED] = 0;

    /* seq 0 */
    uint8_t saved[8];
    memcpy(saved, m + R_SEQ, 8);
    put_le(m + R_SEQ, 0, 8);
    expect_result_rejected(m, b.len, "zero sequence number");
    memcpy(m + R_SEQ, saved, 8);

    /* negative durations other than -1 ("not reached") */
    const int fields[] = { R_LATENCY, R_DNS, R_CONNECT, R_TLS, R_TTFB };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        memcpy(saved, m + fields[i], 8);
        put_le(m + fields[i], (uint64_t)(int64_t)-2, 8);
        expect_result_rejected(m, b.len, "negative duration");
        put_le(m + fields[i], (uint64_t)INT64_MIN, 8);
        expect_result_rejected(m, b.len, "negative duration");
        put_le(m + fields[i], (uint64_t)(int64_t)-1, 8);
        assert_int_equal(decode_results(m, b.len, &why), 1);
        memcpy(m + fields[i], saved, 8);
    }
    /* lateness may be negative (a check that started early) */
    put_le(m + R_LATENESS, (uint64_t)(int64_t)-5000, 8);
    assert_int_equal(decode_results(m, b.len, &why), 1);
    free(m);

    /* an ok result that carries error text */
    struct cw_result r = sample_result(0, "http://127.0.0.1/", "boom");
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    m = dup_bytes(b.data, b.len);
    m[R_FLAGS] = 1;
    expect_result_rejected(m, b.len, "error text on an ok result");
    free(m);

    /* an empty url */
    r.url = "";
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    expect_result_rejected(b.data, b.len, "empty url");

    /* a bad record after a good one rejects the whole batch */
    struct cw_result good = sample_result(0, "http://127.0.0.1/", NULL);
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &good), 0);
    assert_int_equal(proto_results_add(&b, &r), 0);
    expect_result_rejected(b.data, b.len, "empty url");
    cw_buf_free(&b);
}

/* Values no real check can carry: a check time outside [2000-01-01, 2100-01-01), a certificate expiry outside
 * [1950-01-01, 10000-01-01), boot id 0 ("an empty slot" to receivers). Bounds are fixed, not relative to the
 * receiver's clock (docs/protocol.md 2.3). */
static void spoil_time_1970(struct cw_result *r) { r->checked_at_us = 86400LL * 1000000; }
static void spoil_boot(struct cw_result *r) { r->boot_id = 0; }
static void spoil_seq(struct cw_result *r) { r->seq = 0; }
static void spoil_expiry(struct cw_result *r) { r->tls_expires_at_us = -700000000000000LL; /* 1947 */ }
static void spoil_duration(struct cw_result *r) { r->dns_us = -2; }
static void spoil_url(struct cw_result *r) { r->url = ""; }

/* What a sender checks before encoding (proto_result_problem) is what the decoder refuses: a result with a
 * clock at 1970 is caught at the source, one bad result never takes its batch with it. */
static void test_sender_check_matches_decoder(void **state)
{
    (void)state;
    struct cw_result good = sample_result(0, "http://127.0.0.1:8089/", NULL);
    assert_null(proto_result_problem(&good));
    struct {
        void (*spoil)(struct cw_result *);
        const char *why;
    } const cases[] = {
        { spoil_time_1970, "check time out of range" }, { spoil_boot, "zero boot id" },
        { spoil_seq, "zero sequence number" },          { spoil_expiry, "certificate expiry out of range" },
        { spoil_duration, "negative duration" },        { spoil_url, "empty url" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cw_result r = good;
        cases[i].spoil(&r);
        assert_string_equal(proto_result_problem(&r), cases[i].why);
        /* the decoder says the same of the encoded result */
        struct cw_buf b = { 0 };
        proto_results_begin(&b);
        assert_int_equal(proto_results_add(&b, &r), 0);
        const char *why = NULL;
        struct cw_result out[1];
        assert_int_equal(proto_results_decode(b.data, b.len, out, 1, &why), -1);
        assert_non_null(strstr(why, cases[i].why));
        cw_buf_free(&b);
    }
}

static void test_bad_ranges(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    one_result_msg(&b);
    uint8_t *m = dup_bytes(b.data, b.len);
    const char *why;

    put_le(m + R_BOOT, 0, 8);
    expect_result_rejected(m, b.len, "zero boot id");
    put_le(m + R_BOOT, 1, 8);
    assert_int_equal(decode_results(m, b.len, &why), 1);

    const int64_t bad_times[] = { 0,
                                  -1,
                                  INT64_MIN,
                                  INT64_MAX,
                                  946684799999999LL /* 1999-12-31T23:59:59.999999Z */,
                                  4102444800000000LL /* 2100-01-01 */,
                                  9223371974400000000LL /* year 294247, seen stored */ };
    for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++) {
        put_le(m + R_CHECKED, (uint64_t)bad_times[i], 8);
        expect_result_rejected(m, b.len, "check time out of range");
    }
    const int64_t good_times[] = { 946684800000000LL, 1795579506123456LL, 4102444799999999LL };
    for (size_t i = 0; i < sizeof good_times / sizeof good_times[0]; i++) {
        put_le(m + R_CHECKED, (uint64_t)good_times[i], 8);
        assert_int_equal(decode_results(m, b.len, &why), 1);
    }
    free(m);

    /* the optional certificate expiry */
    struct cw_result r = sample_result(0, "https://127.0.0.1/", NULL);
    const int64_t bad_expiry[] = { INT64_MIN, INT64_MAX, -631152000000001LL /* before 1950 */,
                                   253402300800000000LL /* 10000-01-01 */ };
    for (size_t i = 0; i < sizeof bad_expiry / sizeof bad_expiry[0]; i++) {
        r.tls_expires_at_us = bad_expiry[i];
        proto_results_begin(&b);
        assert_int_equal(proto_results_add(&b, &r), 0);
        expect_result_rejected(b.data, b.len, "certificate expiry out of range");
    }
    const int64_t good_expiry[] = { -631152000000000LL, 1, 253402300799999999LL /* 9999-12-31T23:59:59.999999Z */ };
    for (size_t i = 0; i < sizeof good_expiry / sizeof good_expiry[0]; i++) {
        r.tls_expires_at_us = good_expiry[i];
        proto_results_begin(&b);
        assert_int_equal(proto_results_add(&b, &r), 0);
        assert_int_equal(decode_results(b.data, b.len, &why), 1);
    }
    cw_buf_free(&b);
}

static void test_bad_stats(void **state)
{
    (void)state;
    struct cw_stats in = { .role = "worker", .count = 1 };
    in.items[0] = (struct cw_stat){ "checks", 1 };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_stats_encode(&b, &in), 0);
    uint8_t *m = dup_bytes(b.data, b.len);
    struct cw_stats out;
    const char *why = NULL;

    put_le(m + 2, CW_STATS_MAX + 1, 2);
    assert_int_equal(proto_stats_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "too many stats");
    put_le(m + 2, 2, 2);
    assert_int_equal(proto_stats_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "truncated");
    put_le(m + 2, 1, 2);
    m[0] = 9;
    assert_int_equal(proto_stats_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "unsupported version");
    m[0] = CW_PROTO_VERSION;
    /* role length 256 (> 255) */
    put_le(m + 4, 256, 2);
    assert_int_equal(proto_stats_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "string too long");
    free(m);

    in.role = "";
    assert_int_equal(proto_stats_encode(&b, &in), 0);
    assert_int_equal(proto_stats_decode(b.data, b.len, &out, &why), -1);
    assert_string_equal(why, "empty role");

    /* an empty stat name, forged (the encoder refuses it) */
    in.role = "w";
    in.items[0].name = "c";
    assert_int_equal(proto_stats_encode(&b, &in), 0);
    m = dup_bytes(b.data, b.len);
    size_t name_at = 4 + 2 + 1 + 1 + 4 + 8 + 8;
    /* "c\0" -> length 0, then the 'c' becomes the terminator check: forge len 0 + NUL + 8 value bytes */
    uint8_t forged[64];
    memcpy(forged, m, name_at);
    put_le(forged + name_at, 0, 2);
    forged[name_at + 2] = 0;
    put_le(forged + name_at + 3, 1, 8);
    assert_int_equal(proto_stats_decode(forged, name_at + 11, &out, &why), -1);
    assert_string_equal(why, "empty stat name");
    free(m);
    cw_buf_free(&b);
}

static void test_bad_alerts(void **state)
{
    (void)state;
    struct cw_alert in = { .alert_id = 7,
                           .raised_at_us = 1,
                           .kind = CW_ALERT_SLOW,
                           .url = "http://127.0.0.1/",
                           .name = "",
                           .message = "slow" };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    uint8_t *m = dup_bytes(b.data, b.len);
    struct cw_alert out;
    const char *why = NULL;
    const size_t kind_at = 4 + 16;

    m[kind_at] = 0;
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "unknown alert kind");
    m[kind_at] = CW_ALERT_KIND_MAX + 1;
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "unknown alert kind");
    m[kind_at] = CW_ALERT_SLOW;
    m[kind_at + 1] = CW_DELIVERY_MAX + 1;
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "unknown delivery state");
    m[kind_at + 1] = 0;
    m[kind_at + 2] = 0xff;
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "unknown delivery state");
    m[kind_at + 2] = 0;
    put_le(m + 2, 2, 2);
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "alert count is not 1");
    put_le(m + 2, 0, 2);
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "alert count is not 1");
    put_le(m + 2, 1, 2);
    m[1] = CW_MSG_RESULT;
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), -1);
    assert_string_equal(why, "type does not match topic");
    m[1] = CW_MSG_ALERT;
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), 0);
    /* url length 0 */
    put_le(m + 4 + 20, 0, 2);
    assert_int_equal(proto_alert_decode(m, b.len, &out, &why), -1);
    free(m);

    in.url = "u";
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    m = dup_bytes(b.data, b.len);
    /* "u" -> shrink to an empty url by rewriting the bytes: len 0, NUL, and drop one byte */
    uint8_t *shorter = malloc(b.len - 1);
    assert_non_null(shorter);
    memcpy(shorter, m, 4 + 20);
    put_le(shorter + 24, 0, 2);
    shorter[26] = 0;
    memcpy(shorter + 27, m + 28, b.len - 28);
    assert_int_equal(proto_alert_decode(shorter, b.len - 1, &out, &why), -1);
    assert_string_equal(why, "empty url");
    free(shorter);
    free(m);
    cw_buf_free(&b);
}

/* ---- random input: no crash, no out-of-bounds read (ASan), every rejection has a reason */

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void decode_all(const uint8_t *p, size_t len)
{
    static struct cw_result res[CW_RESULT_BATCH_MAX];
    struct cw_stats st;
    struct cw_alert al;
    uint8_t *copy = dup_bytes(p, len);
    const char *why = NULL;
    int n = proto_results_decode(copy, len, res, CW_RESULT_BATCH_MAX, &why);
    if (n < 0) assert_non_null(why);
    else
        for (int i = 0; i < n; i++) assert_true(strlen(res[i].url) > 0 && res[i].seq > 0);
    why = NULL;
    if (proto_stats_decode(copy, len, &st, &why) < 0) assert_non_null(why);
    why = NULL;
    if (proto_alert_decode(copy, len, &al, &why) < 0) assert_non_null(why);
    else assert_non_null(proto_alert_kind_name(al.kind));
    free(copy);
}

static void test_random_garbage(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint8_t buf[1024];
    /* pure noise, with a plausible header half of the time */
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(xorshift(&seed) % sizeof buf);
        for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)xorshift(&seed);
        if (len >= 4 && (iter & 1)) {
            buf[0] = CW_PROTO_VERSION;
            buf[1] = (uint8_t)(1 + xorshift(&seed) % 3);
            buf[2] = (uint8_t)(xorshift(&seed) % 4);
            buf[3] = 0;
        }
        decode_all(buf, len);
    }
    /* mutations of valid messages: flip, overwrite, cut */
    struct cw_buf valid[3] = { { 0 }, { 0 }, { 0 } };
    struct cw_result r[2] = { sample_result(0, "http://127.0.0.1:1/", "Couldn't connect to server"),
                              sample_result(1, "https://127.0.0.1:2/x", NULL) };
    proto_results_begin(&valid[0]);
    assert_int_equal(proto_results_add(&valid[0], &r[0]), 0);
    assert_int_equal(proto_results_add(&valid[0], &r[1]), 0);
    struct cw_stats st = { .role = "worker", .count = 2 };
    st.items[0] = (struct cw_stat){ "checks", 5 };
    st.items[1] = (struct cw_stat){ "gaps", 1 };
    assert_int_equal(proto_stats_encode(&valid[1], &st), 0);
    struct cw_alert al = {
        .alert_id = 3, .kind = CW_ALERT_DOWN, .url = "http://127.0.0.1/", .name = "n", .message = "down"
    };
    assert_int_equal(proto_alert_encode(&valid[2], &al), 0);
    for (int iter = 0; iter < 30000; iter++) {
        const struct cw_buf *v = &valid[iter % 3];
        size_t len = v->len;
        memcpy(buf, v->data, len);
        int edits = 1 + (int)(xorshift(&seed) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)(xorshift(&seed) % len);
            switch (xorshift(&seed) % 3) {
            case 0:
                buf[at] ^= (uint8_t)(1u << (xorshift(&seed) % 8));
                break;
            case 1:
                buf[at] = (uint8_t)xorshift(&seed);
                break;
            default:
                len = at + 1;
                break;
            }
        }
        decode_all(buf, len);
    }
    for (int i = 0; i < 3; i++) cw_buf_free(&valid[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_bad_ranges),
        cmocka_unit_test(test_sender_check_matches_decoder),
        cmocka_unit_test(test_bad_stats),
        cmocka_unit_test(test_bad_alerts),
        cmocka_unit_test(test_random_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
