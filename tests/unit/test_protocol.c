/* tests/unit/test_protocol.c — the wire format (common/wire/protocol.c, docs/protocol.md): round trips of
 * result batches, stats and alerts. Malformed payloads are tests/unit/test_protocol_reject.c. */
#include "tests/unit/proto_test_util.h"

/* ---- round trips */

static void test_topics(void **state)
{
    (void)state;
    assert_string_equal(proto_topic(CW_MSG_RESULT), "result");
    assert_string_equal(proto_topic(CW_MSG_STATS), "stats");
    assert_string_equal(proto_topic(CW_MSG_ALERT), "alert");
    assert_null(proto_topic(CW_MSG_INVALID));
    assert_string_equal(proto_topic(CW_MSG_ACK), "ack");
    assert_string_equal(proto_topic(CW_MSG_PUSH), "push");
    assert_null(proto_topic((enum cw_msg_type)(CW_MSG_LOCATIONS + 1)));
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

/* Version 2 (docs/protocol.md 2.3): byte 79 is the kind, flags bit 2 a figures string after the expiry. A
 * batch of http results without figures stays version 1, byte for byte (old readers keep working). */
static void test_result_v2_kind_figures(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result in[3] = { sample_result(0, "http://a.example.test/", NULL),
                               sample_result(1, "dns://127.0.0.1:53/example.test?type=MX", NULL),
                               sample_result(2, "tls://c.example.test:443", "TLS certificate expired") };
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &in[0]), 0);
    assert_int_equal(b.data[0], 1); /* http only so far: version 1 */
    in[1].kind = 3;
    in[1].figures = "{\"rcode\":\"NOERROR\",\"answers\":[\"10 mx.example.test.\"]}";
    in[2].kind = 2;
    in[2].tls_expires_at_us = 1577923200000000LL;
    in[2].figures = "{\"version\":\"TLSv1.3\"}";
    assert_int_equal(proto_results_add(&b, &in[1]), 0);
    assert_int_equal(b.data[0], 2); /* a kind or figures: version 2 */
    assert_int_equal(proto_results_add(&b, &in[2]), 0);
    size_t first = 80 + 2 + strlen(in[0].url) + 1 + 2 + 1;
    size_t second = 80 + 2 + strlen(in[1].url) + 1 + 2 + 1 + 2 + strlen(in[1].figures) + 1;
    assert_int_equal(b.data[4 + first + 78], 1 | 4); /* ok | figures */
    assert_int_equal(b.data[4 + first + 79], 3);     /* dns */
    assert_int_equal(b.data[4 + first + second + 78], 2 | 4);
    struct cw_result out[3];
    const char *why = NULL;
    uint8_t *copy = dup_bytes(b.data, b.len);
    assert_int_equal(proto_results_decode(copy, b.len, out, 3, &why), 3);
    for (int i = 0; i < 3; i++) {
        assert_result_equal(&out[i], &in[i]);
        assert_int_equal(out[i].kind, in[i].kind);
    }
    assert_null(out[0].figures);
    assert_string_equal(out[1].figures, in[1].figures);
    assert_string_equal(out[2].figures, in[2].figures);
    /* the expiry comes before the figures */
    size_t third_figures = 4 + first + second + 80 + 2 + strlen(in[2].url) + 1 + 2 + strlen(in[2].error) + 1 + 8;
    assert_memory_equal(copy + third_figures + 2, in[2].figures, strlen(in[2].figures));
    free(copy);
    cw_buf_free(&b);
}

/* A version 1 payload (as a spool written before the upgrade holds it) decodes as http without figures,
 * whatever its reserved byte says. */
static void test_result_v1_still_decodes(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    struct cw_result in = sample_result(0, "http://127.0.0.1:8089/", NULL);
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &in), 0);
    assert_int_equal(b.data[0], 1);
    uint8_t *copy = dup_bytes(b.data, b.len);
    copy[4 + 79] = 4; /* reserved in version 1: ignored, not a kind */
    struct cw_result out[1];
    const char *why = NULL;
    assert_int_equal(proto_results_decode(copy, b.len, out, 1, &why), 1);
    assert_int_equal(out[0].kind, 0);
    assert_null(out[0].figures);
    copy[4 + 78] = 1 | 4; /* figures are not part of version 1 */
    expect_result_rejected(copy, b.len, "unknown flags");
    free(copy);
    cw_buf_free(&b);
}

/* What a sender must not send and a receiver refuses: a kind above 5, figures that are not one JSON object
 * or longer than CW_FIGURES_MAX. */
static void test_result_v2_problems(void **state)
{
    (void)state;
    struct cw_result r = sample_result(0, "icmp://127.0.0.1", NULL);
    r.kind = 4;
    r.figures = "{\"sent\":3,\"received\":3,\"loss_pct\":0,\"rtt_avg_ms\":0.051,\"ok\":true,\"x\":null,"
                "\"s\":\"\\u00e9\\\"\\n\",\"a\":[1,-2.5e3,{}]}";
    assert_null(proto_result_problem(&r));
    r.kind = 6;
    assert_string_equal(proto_result_problem(&r), "unknown check kind");
    r.kind = 4;
    static const char *const bad[] = {
        "[1,2]",
        "\"text\"",
        "{",
        "{\"a\":}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":01}",
        "{\"a\":1} x",
        "{\"a\":\"\x01\"}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\xc3\"}",
        "{a:1}",
        "{\"a\":tru}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r.figures = bad[i];
        const char *why = proto_result_problem(&r);
        assert_non_null(why);
        assert_string_equal(why, "figures are not a JSON object");
    }
    static char big[CW_FIGURES_MAX + 2];
    memset(big, ' ', sizeof big - 1);
    big[0] = '{', big[sizeof big - 2] = '}';
    r.figures = big;
    assert_string_equal(proto_result_problem(&r), "figures too long");
    big[1] = ' ', big[2] = '}', big[3] = '\0';
    r.figures = big;
    assert_null(proto_result_problem(&r));

    /* the decoder applies the same rules: a kind 6 and broken figures on the wire */
    struct cw_buf b = { 0 };
    r.figures = "{\"a\":1}";
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &r), 0);
    uint8_t *copy = dup_bytes(b.data, b.len);
    copy[4 + 79] = 6;
    expect_result_rejected(copy, b.len, "unknown check kind");
    copy[4 + 79] = 4;
    copy[b.len - 2] = ','; /* {"a":1, */
    expect_result_rejected(copy, b.len, "figures are not a JSON object");
    copy[b.len - 2] = '}';
    copy[4 + 78] |= 8;
    expect_result_rejected(copy, b.len, "unknown flags");
    free(copy);
    /* bit 2 with an empty string */
    r.figures = NULL;
    struct cw_buf e = { 0 };
    proto_results_begin(&e);
    assert_int_equal(proto_results_add(&e, &r), 0);
    assert_int_equal(e.data[0], 2); /* a kind alone makes it version 2 */
    cw_buf_put(&e, "\0\0\0", 3);
    e.data[4 + 78] |= 4;
    expect_result_rejected(e.data, e.len, "empty figures");
    cw_buf_free(&e);
    cw_buf_free(&b);
}

/* The byte-by-byte examples of docs/protocol.md section 4, read from the document (xxd lines of its first two
 * code blocks after the heading): the encoder produces them exactly. */
static size_t doc_example(const char *doc, int which, uint8_t *out, size_t cap)
{
    const char *p = strstr(doc, "## 4. Example");
    assert_non_null(p);
    for (int i = 0; i <= which; i++) {
        p = strstr(p, "```\n");
        assert_non_null(p);
        p += 4;
        if (i < which) p = strstr(p, "```\n") + 4; /* skip to the end of this block */
    }
    size_t n = 0;
    while (strncmp(p, "```", 3) != 0) {
        const char *hex = strchr(p, ':') + 2, *end = strstr(hex, "  ");
        for (; hex + 2 <= end && n < cap; hex += 3) {
            unsigned v;
            assert_int_equal(sscanf(hex, "%2x", &v), 1);
            out[n++] = (uint8_t)v;
        }
        p = strchr(p, '\n') + 1;
    }
    return n;
}

static void test_doc_examples(void **state)
{
    (void)state;
    FILE *f = fopen("../../docs/protocol.md", "r");
    assert_non_null(f);
    static char doc[200000];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[len] = '\0';
    uint8_t want[512];
    struct cw_buf b = { 0 };

    struct cw_result v1 = { .boot_id = 0xab12cd34ef560789ULL,
                            .seq = 1,
                            .checked_at_us = 1795579506123456LL,
                            .lateness_us = 250,
                            .latency_us = 12345,
                            .dns_us = 15,
                            .connect_us = 120,
                            .tls_us = -1,
                            .ttfb_us = 12000,
                            .status_code = 200,
                            .ok = true,
                            .url = "http://127.0.0.1:8089/" };
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &v1), 0);
    size_t n = doc_example(doc, 0, want, sizeof want);
    assert_int_equal(n, 112);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, want, n);

    struct cw_result v2 = { .boot_id = 0xab12cd34ef560789ULL,
                            .seq = 2,
                            .checked_at_us = 1795579507000000LL,
                            .lateness_us = 100,
                            .latency_us = 812,
                            .dns_us = -1,
                            .connect_us = -1,
                            .tls_us = -1,
                            .ttfb_us = -1,
                            .ok = true,
                            .url = "dns:example.test?type=MX",
                            .kind = 3,
                            .figures = "{\"rcode\":\"NOERROR\",\"answers\":[\"10 mx.example.test.\"]}" };
    proto_results_begin(&b);
    assert_int_equal(proto_results_add(&b, &v2), 0);
    n = doc_example(doc, 1, want, sizeof want);
    assert_int_equal(n, 170);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, want, n);
    cw_buf_free(&b);
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
        cmocka_unit_test(test_result_v2_kind_figures),
        cmocka_unit_test(test_result_v1_still_decodes),
        cmocka_unit_test(test_result_v2_problems),
        cmocka_unit_test(test_doc_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
