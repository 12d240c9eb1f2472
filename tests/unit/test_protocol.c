/* tests/unit/test_protocol.c — the wire format (common/wire/protocol.c, docs/protocol.md): round trips of
 * result batches, stats and alerts, and every kind of malformed payload, each rejected with its reason and
 * without a crash (run under ASan: every decode reads from a heap copy of exactly the payload's size, so an
 * out-of-bounds read is caught). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/wire/protocol.h"
#include "common/base/util.h"

/* Offsets inside the first result record of a result payload (docs/protocol.md). */
enum {
    HDR = 4,
    R_WORKER = HDR + 0,
    R_BOOT = HDR + 4,
    R_SEQ = HDR + 12,
    R_CHECKED = HDR + 20,
    R_LATENESS = HDR + 28,
    R_LATENCY = HDR + 36,
    R_DNS = HDR + 44,
    R_CONNECT = HDR + 52,
    R_TLS = HDR + 60,
    R_TTFB = HDR + 68,
    R_STATUS = HDR + 76,
    R_FLAGS = HDR + 78,
    R_RESERVED = HDR + 79,
    R_URL = HDR + 80,
};

/* ---- helpers */

static struct cw_result sample_result(unsigned i, const char *url, const char *error)
{
    struct cw_result r = {
        .worker = 3 + i,
        .boot_id = 0xab12cd34ef560789ULL + i,
        .seq = 1 + (uint64_t)i,
        .checked_at_us = 1795579506123456LL + i,
        .lateness_us = -250 + (int64_t)i,
        .latency_us = 12345 + (int64_t)i,
        .dns_us = 100,
        .connect_us = 200,
        .tls_us = -1,
        .ttfb_us = 11000,
        .status_code = (uint16_t)(error ? 0 : 200),
        .ok = error == NULL,
        .url = url,
        .error = error,
    };
    return r;
}

/* A heap copy of exactly len bytes (ASan catches any read past it). */
static uint8_t *dup_bytes(const void *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);
    assert_non_null(d);
    if (len) memcpy(d, p, len);
    return d;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Decodes a result payload (from a tight heap copy); returns the decoder's value, *why its reason. */
static int decode_results(const void *payload, size_t len, const char **why)
{
    static struct cw_result out[CW_RESULT_BATCH_MAX];
    uint8_t *copy = dup_bytes(payload, len);
    *why = NULL;
    int n = proto_results_decode(copy, len, out, CW_RESULT_BATCH_MAX, why);
    free(copy);
    return n;
}

static void expect_result_rejected(const void *payload, size_t len, const char *reason)
{
    const char *why = NULL;
    assert_int_equal(decode_results(payload, len, &why), -1);
    assert_non_null(why);
    if (reason) assert_string_equal(why, reason);
}

/* A one-result message with a normal url and an error. */
static void one_result_msg(struct cw_buf *b)
{
    struct cw_result r = sample_result(0, "http://127.0.0.1:8089/", "Couldn't connect to server");
    proto_results_begin(b);
    assert_int_equal(proto_results_add(b, &r), 0);
}

static void assert_result_equal(const struct cw_result *a, const struct cw_result *b)
{
    assert_int_equal(a->worker, b->worker);
    assert_true(a->boot_id == b->boot_id);
    assert_true(a->seq == b->seq);
    assert_true(a->checked_at_us == b->checked_at_us);
    assert_true(a->lateness_us == b->lateness_us);
    assert_true(a->latency_us == b->latency_us);
    assert_true(a->dns_us == b->dns_us);
    assert_true(a->connect_us == b->connect_us);
    assert_true(a->tls_us == b->tls_us);
    assert_true(a->ttfb_us == b->ttfb_us);
    assert_int_equal(a->status_code, b->status_code);
    assert_int_equal(a->ok, b->ok);
    assert_string_equal(a->url, b->url);
    if (b->ok || !b->error) assert_string_equal(a->error, "");
    else assert_string_equal(a->error, b->error);
    assert_true(a->tls_expires_at_us == b->tls_expires_at_us);
}

/* ---- round trips */

static void test_topics(void **state)
{
    (void)state;
    assert_string_equal(proto_topic(CW_MSG_RESULT), "result");
    assert_string_equal(proto_topic(CW_MSG_STATS), "stats");
    assert_string_equal(proto_topic(CW_MSG_ALERT), "alert");
    assert_null(proto_topic(CW_MSG_INVALID));
    assert_string_equal(proto_topic(CW_MSG_ACK), "ack");
    assert_null(proto_topic((enum cw_msg_type)5));
    assert_int_equal(proto_type_of_topic("result", 6), CW_MSG_RESULT);
    assert_int_equal(proto_type_of_topic("stats", 5), CW_MSG_STATS);
    assert_int_equal(proto_type_of_topic("alert", 5), CW_MSG_ALERT);
    assert_int_equal(proto_type_of_topic("resul", 5), CW_MSG_INVALID);
    assert_int_equal(proto_type_of_topic("results", 7), CW_MSG_INVALID);
    assert_int_equal(proto_type_of_topic("", 0), CW_MSG_INVALID);
}

static void test_result_roundtrip_one(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result in = sample_result(0, "https://user:pw@example.test:8443/health?x=1", "Timeout was reached");
    in.dns_us = -1, in.connect_us = -1, in.tls_us = -1, in.ttfb_us = -1; /* nothing reached */
    in.lateness_us = -7;
    proto_results_begin(&b);
    assert_int_equal(proto_results_count(&b), 0);
    assert_int_equal(proto_results_add(&b, &in), 0);
    assert_int_equal(proto_results_count(&b), 1);
    /* header: version, type, count */
    assert_int_equal(b.data[0], CW_PROTO_VERSION);
    assert_int_equal(b.data[1], CW_MSG_RESULT);
    assert_int_equal(b.data[2], 1);
    assert_int_equal(b.data[3], 0);
    assert_int_equal(b.len, 4 + 80 + 2 + strlen(in.url) + 1 + 2 + strlen(in.error) + 1);

    struct cw_result out[2];
    const char *why = "unset";
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_results_decode(copy, b.len, out, 2, &why), 1);
    assert_result_equal(&out[0], &in);
    assert_true(out[0].dns_us == -1 && out[0].ttfb_us == -1);
    /* zero copy: strings point into the payload */
    assert_true((const uint8_t *)out[0].url > copy && (const uint8_t *)out[0].url < copy + b.len);
    free(copy);
    cw_buf_free(&b);
}

/* The optional certificate expiry: flags bit 1 and a trailing i64, only when known; records with and
 * without it mix in one batch. */
static void test_result_tls_expiry(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result in[3] = { sample_result(0, "https://a.example.test/", NULL),
                               sample_result(1, "http://b.example.test/", "Timeout was reached"),
                               sample_result(2, "https://c.example.test/", "TLS certificate expired") };
    in[0].ok = true, in[0].error = NULL;
    in[0].tls_expires_at_us = 1798761600000000LL; /* 2027-01-01 */
    in[1].tls_expires_at_us = 0;
    in[2].tls_expires_at_us = 1577923200000000LL; /* long gone */
    proto_results_begin(&b);
    for (int i = 0; i < 3; i++) assert_int_equal(proto_results_add(&b, &in[i]), 0);
    size_t plain = 80 + 2 + strlen(in[0].url) + 1 + 2 + 1;
    assert_int_equal(b.data[4 + 78], 3); /* ok | expiry */
    assert_int_equal(b.len, 4 + (plain + 8) + (80 + 2 + strlen(in[1].url) + 1 + 2 + strlen(in[1].error) + 1) +
                                (80 + 2 + strlen(in[2].url) + 1 + 2 + strlen(in[2].error) + 1 + 8));
    struct cw_result out[3];
    const char *why = NULL;
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_results_decode(copy, b.len, out, 3, &why), 3);
    for (int i = 0; i < 3; i++) assert_result_equal(&out[i], &in[i]);
    /* a zero expiry under the flag is malformed */
    memset(copy + 4 + plain, 0, 8);
    expect_result_rejected(copy, b.len, "zero certificate expiry");
    free(copy);
    cw_buf_free(&b);
}

static void test_result_ok_has_no_error(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result in = sample_result(0, "http://127.0.0.1/", NULL);
    in.error = "ignored because ok"; /* the encoder never sends error text for an ok result */
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &in), 0);
    struct cw_result out[1];
    const char *why = NULL;
    assert_int_equal(proto_results_decode(b.data, b.len, out, 1, &why), 1);
    assert_true(out[0].ok);
    assert_string_equal(out[0].error, "");
    assert_int_equal(out[0].status_code, 200);
    cw_buf_free(&b);
}

static void test_result_roundtrip_max(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    static char urls[CW_RESULT_BATCH_MAX][64];
    static struct cw_result in[CW_RESULT_BATCH_MAX];
    proto_results_begin(&b);
    for (unsigned i = 0; i < CW_RESULT_BATCH_MAX; i++) {
        snprintf(urls[i], sizeof urls[i], "http://127.0.0.1:%u/path/%u", 1000 + i, i);
        in[i] = sample_result(i, urls[i], i % 3 == 0 ? "HTTP status 500" : NULL);
        if (i % 3 == 0) in[i].status_code = 500;
        assert_int_equal(proto_results_add(&b, &in[i]), 0);
    }
    assert_int_equal(proto_results_count(&b), CW_RESULT_BATCH_MAX);
    size_t full_len = b.len;
    assert_int_equal(proto_results_add(&b, &in[0]), -1); /* full: nothing written */
    assert_int_equal(b.len, full_len);
    assert_int_equal(proto_results_count(&b), CW_RESULT_BATCH_MAX);

    static struct cw_result out[CW_RESULT_BATCH_MAX];
    const char *why = NULL;
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_results_decode(copy, b.len, out, CW_RESULT_BATCH_MAX, &why), CW_RESULT_BATCH_MAX);
    for (unsigned i = 0; i < CW_RESULT_BATCH_MAX; i++) assert_result_equal(&out[i], &in[i]);
    /* the caller's array is smaller than the batch: rejected, not overrun */
    why = NULL;
    assert_int_equal(proto_results_decode(copy, b.len, out, 10, &why), -1);
    assert_string_equal(why, "too many results");
    free(copy);
    cw_buf_free(&b);
}

static void test_result_long_strings_cut(void **state)
{
    (void)state;
    char *url = malloc(CW_URL_MAX + 500);
    char *err = malloc(CW_ERROR_MAX + 500);
    assert_non_null(url);
    assert_non_null(err);
    strcpy(url, "http://127.0.0.1/");
    memset(url + strlen(url), 'u', CW_URL_MAX + 499 - strlen(url));
    url[CW_URL_MAX + 499] = '\0';
    memset(err, 'e', CW_ERROR_MAX + 499);
    err[CW_ERROR_MAX + 499] = '\0';
    struct cw_buf b = { 0 };
    struct cw_result in = sample_result(0, url, err);
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &in), 0);
    struct cw_result out[1];
    const char *why = NULL;
    assert_int_equal(decode_results(b.data, b.len, &why), 1);
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_results_decode(copy, b.len, out, 1, &why), 1);
    assert_int_equal(strlen(out[0].url), CW_URL_MAX);
    assert_int_equal(strlen(out[0].error), CW_ERROR_MAX);
    assert_memory_equal(out[0].url, url, CW_URL_MAX);
    assert_memory_equal(out[0].error, err, CW_ERROR_MAX);
    free(copy);

    /* A cut never splits a UTF-8 character: "é" (2 bytes) straddling the limit is left out whole. */
    memset(err, 'e', CW_ERROR_MAX - 1);
    strcpy(err + CW_ERROR_MAX - 1, "\xc3\xa9tail");
    in.error = err;
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &in), 0);
    copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_results_decode(copy, b.len, out, 1, &why), 1);
    assert_int_equal(strlen(out[0].error), CW_ERROR_MAX - 1);
    free(copy);
    cw_buf_free(&b);
    free(url);
    free(err);
}

static void test_stats_roundtrip(void **state)
{
    (void)state;
    struct cw_stats in = { .role = "worker", .id = 2, .boot_id = 0xab12ULL, .at_us = 1795579506000000LL, .count = 3 };
    in.items[0] = (struct cw_stat){ "checks", 123 };
    in.items[1] = (struct cw_stat){ "in_flight", 3 };
    in.items[2] = (struct cw_stat){ "lateness_p99_us", -5 };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_stats_encode(&b, &in), 0);
    assert_int_equal(b.data[1], CW_MSG_STATS);
    struct cw_stats out;
    const char *why = NULL;
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_stats_decode(copy, b.len, &out, &why), 0);
    assert_string_equal(out.role, "worker");
    assert_int_equal(out.id, 2);
    assert_true(out.boot_id == 0xab12ULL);
    assert_true(out.at_us == in.at_us);
    assert_int_equal(out.count, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_string_equal(out.items[i].name, in.items[i].name);
        assert_true(out.items[i].value == in.items[i].value);
    }
    free(copy);

    /* the maximum number of counters, and zero counters */
    in.count = CW_STATS_MAX;
    static char names[CW_STATS_MAX][16];
    for (unsigned i = 0; i < CW_STATS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "k%u", i);
        in.items[i] = (struct cw_stat){ names[i], (int64_t)i * 1000 };
    }
    assert_int_equal(proto_stats_encode(&b, &in), 0);
    assert_int_equal(proto_stats_decode(b.data, b.len, &out, &why), 0);
    assert_int_equal(out.count, CW_STATS_MAX);
    assert_string_equal(out.items[CW_STATS_MAX - 1].name, names[CW_STATS_MAX - 1]);
    in.count = 0;
    assert_int_equal(proto_stats_encode(&b, &in), 0);
    assert_int_equal(proto_stats_decode(b.data, b.len, &out, &why), 0);
    assert_int_equal(out.count, 0);

    /* the encoder refuses what the decoder would reject */
    in.count = CW_STATS_MAX + 1;
    assert_int_equal(proto_stats_encode(&b, &in), -1);
    in.count = 1;
    in.items[0].name = "";
    assert_int_equal(proto_stats_encode(&b, &in), -1);
    char longname[300];
    memset(longname, 'n', 299);
    longname[299] = '\0';
    in.items[0].name = longname;
    assert_int_equal(proto_stats_encode(&b, &in), -1);
    cw_buf_free(&b);
}

static void test_alert_roundtrip(void **state)
{
    (void)state;
    struct cw_alert in = { .alert_id = 0x1122334455667788ULL,
                           .raised_at_us = 1795579506123000LL,
                           .kind = CW_ALERT_DOWN,
                           .email_state = CW_DELIVERY_PENDING,
                           .webhook_state = CW_DELIVERY_NONE,
                           .url = "http://127.0.0.1:8089/",
                           .name = "billing",
                           .message = "billing is DOWN: Couldn't connect to server" };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    struct cw_alert out;
    const char *why = NULL;
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_alert_decode(copy, b.len, &out, &why), 0);
    assert_true(out.alert_id == in.alert_id);
    assert_true(out.raised_at_us == in.raised_at_us);
    assert_int_equal(out.kind, CW_ALERT_DOWN);
    assert_int_equal(out.email_state, CW_DELIVERY_PENDING);
    assert_int_equal(out.webhook_state, CW_DELIVERY_NONE);
    assert_string_equal(out.url, in.url);
    assert_string_equal(out.name, in.name);
    assert_string_equal(out.message, in.message);
    free(copy);

    /* a NULL name travels as "" */
    in.name = NULL;
    in.kind = CW_ALERT_REMINDER;
    in.email_state = CW_DELIVERY_FAILED;
    assert_int_equal(proto_alert_encode(&b, &in), 0);
    assert_int_equal(proto_alert_decode(b.data, b.len, &out, &why), 0);
    assert_string_equal(out.name, "");
    assert_int_equal(out.kind, CW_ALERT_REMINDER);

    for (unsigned k = 1; k <= CW_ALERT_KIND_MAX; k++) assert_non_null(proto_alert_kind_name(k));
    assert_null(proto_alert_kind_name(0));
    assert_null(proto_alert_kind_name(CW_ALERT_KIND_MAX + 1));
    assert_string_equal(proto_alert_kind_name(CW_ALERT_DOWN), "down");
    assert_string_equal(proto_delivery_name(CW_DELIVERY_SENT), "sent");
    assert_null(proto_delivery_name(CW_DELIVERY_MAX + 1));

    /* the encoder refuses invalid alerts */
    in.name = "x";
    in.kind = 0;
    assert_int_equal(proto_alert_encode(&b, &in), -1);
    in.kind = CW_ALERT_KIND_MAX + 1;
    assert_int_equal(proto_alert_encode(&b, &in), -1);
    in.kind = CW_ALERT_UP;
    in.webhook_state = CW_DELIVERY_MAX + 1;
    assert_int_equal(proto_alert_encode(&b, &in), -1);
    in.webhook_state = CW_DELIVERY_SENT;
    in.url = "";
    assert_int_equal(proto_alert_encode(&b, &in), -1);
    cw_buf_free(&b);
}

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

    m[0] = 2; /* a version this receiver does not know */
    expect_result_rejected(m, b.len, "unsupported version");
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

    /* the reserved byte is ignored (room for later use within version 1) */
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
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_result_roundtrip_one),
        cmocka_unit_test(test_result_ok_has_no_error),
        cmocka_unit_test(test_result_tls_expiry),
        cmocka_unit_test(test_result_roundtrip_max),
        cmocka_unit_test(test_result_long_strings_cut),
        cmocka_unit_test(test_stats_roundtrip),
        cmocka_unit_test(test_alert_roundtrip),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_bad_stats),
        cmocka_unit_test(test_bad_alerts),
        cmocka_unit_test(test_random_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
