/* tests/unit/test_http_assert.c — the assertions of an HTTP check (worker/http_assert.c, worker/http_cond.c) over
 * hand-built endpoints: status ranges and their text, keywords, body regexes (a catastrophic pattern ends at the
 * match limit, quickly), typed JSON conditions, header conditions, response time, certificate lifetime, HTTP
 * version, TLS at the end, the first failure with "(and N more)", and an endpoint without extras costs nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/base/clock.h"
#include "worker/body_buf.h"
#include "worker/http_assert.h"

/* the spec of a hand-built endpoint, written by the test (a loaded one is immutable) */
#define MUT(spec) ((struct cw_check_spec *)(spec))

/* The specs of plain()'s endpoints, taken in turn (a test uses a few at once). */
static struct cw_check_spec plain_specs[8];
static unsigned plain_next;

static struct cw_endpoint plain(void)
{
    struct cw_check_spec *spec = &plain_specs[plain_next++ % 8];
    *spec = (struct cw_check_spec){ .method = CW_METHOD_GET };
    return (struct cw_endpoint){ .url = "http://127.0.0.1:1/", .spec = spec, .interval = 60, .timeout = 5 };
}

static struct http_observed seen_ok(void)
{
    return (struct http_observed){
        .status = 200, .latency_us = 1000, .final_url = "https://x.test/", .now_us = 0, .body_limit = 1024 * 1024
    };
}

/* Builds the extras of ep (must work) and judges o. */
static bool judge(const struct cw_endpoint *ep, const struct http_observed *o, char *err, size_t errlen)
{
    struct http_assert *a;
    char why[256];
    assert_int_equal(http_assert_new(ep, &a, why, sizeof why), 0);
    assert_non_null(a);
    bool ok = http_assert_check(a, o, err, errlen);
    http_assert_free(a);
    return ok;
}

static void test_plain_has_no_extras(void **state)
{
    (void)state;
    struct cw_endpoint ep = plain();
    assert_false(http_assert_wanted(&ep));
    struct http_assert *a = (void *)1;
    char err[64];
    assert_int_equal(http_assert_new(&ep, &a, err, sizeof err), 0);
    assert_null(a);
    assert_false(http_assert_needs_body(NULL));
    assert_false(http_assert_needs_headers(NULL));
    MUT(ep.spec)->method = CW_METHOD_PUT;
    assert_true(http_assert_wanted(&ep));
}

static void test_status_ranges(void **state)
{
    (void)state;
    struct cw_endpoint ep = plain();
    assert_true(config_status_expected(&ep, 301));
    assert_false(config_status_expected(&ep, 404));
    struct cw_status_range r[] = { { 200, 299 }, { 418, 420 } };
    int codes[] = { 301 };
    MUT(ep.spec)->status_ranges = r;
    MUT(ep.spec)->n_status_ranges = 2;
    assert_false(config_status_expected(&ep, 301)); /* ranges replace the default */
    MUT(ep.spec)->expect_status = codes;
    MUT(ep.spec)->n_expect_status = 1;
    assert_true(config_status_expected(&ep, 301));
    assert_true(config_status_expected(&ep, 204));
    assert_true(config_status_expected(&ep, 419));
    assert_false(config_status_expected(&ep, 503));
    char text[64];
    http_status_wanted_text(&ep, text, sizeof text);
    assert_string_equal(text, "2xx, 418-420, 301");
    struct cw_endpoint none = plain();
    http_status_wanted_text(&none, text, sizeof text);
    assert_string_equal(text, "200-399");
}

static void test_keywords(void **state)
{
    (void)state;
    struct cw_endpoint ep = plain();
    char *kws[] = { "alpha", "beta" }, *absent[] = { "ERROR" };
    MUT(ep.spec)->keywords = kws;
    MUT(ep.spec)->n_keywords = 2;
    MUT(ep.spec)->keywords_absent = absent;
    MUT(ep.spec)->n_keywords_absent = 1;
    struct http_observed o = seen_ok();
    bool found[] = { true, true }, bad[] = { false };
    o.keyword_found = found;
    o.absent_found = bad;
    char err[256];
    assert_true(judge(&ep, &o, err, sizeof err));
    found[1] = false;
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "keyword \"beta\" not found");
    bad[0] = true;
    o.body_capped = true;
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "keyword \"beta\" not found in the first 1 MiB of the body (and 1 more)");
    found[1] = true;
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "keywords_absent \"ERROR\" found");
}

static void test_body_regex(void **state)
{
    (void)state;
    struct cw_endpoint ep = plain();
    char *re[] = { "version: [0-9]+\\.[0-9]+" }, *absent[] = { "(?i)fatal" };
    MUT(ep.spec)->body_regex = re;
    MUT(ep.spec)->n_body_regex = 1;
    MUT(ep.spec)->body_regex_absent = absent;
    MUT(ep.spec)->n_body_regex_absent = 1;
    struct http_observed o = seen_ok();
    o.body = "ok\nversion: 2.14\n";
    o.body_len = strlen(o.body);
    char err[256];
    assert_true(judge(&ep, &o, err, sizeof err));
    o.body = "ok\nversion: two\nFATAL: disk";
    o.body_len = strlen(o.body);
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "body_regex \"version: [0-9]+\\.[0-9]+\" not found in the body (and 1 more)");
    /* a body buffer the worker could not give */
    o.body_refused = "body buffer budget exhausted";
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "body buffer budget exhausted");
}

static void test_catastrophic_regex_is_bounded(void **state)
{
    (void)state;
    struct cw_endpoint ep = plain();
    char *re[] = { "(a+)+$" };
    MUT(ep.spec)->body_regex = re;
    MUT(ep.spec)->n_body_regex = 1;
    char body[64];
    memset(body, 'a', 40);
    body[40] = 'b';
    struct http_observed o = seen_ok();
    o.body = body;
    o.body_len = 41;
    char err[256];
    int64_t t0 = cw_mono_ns();
    assert_false(judge(&ep, &o, err, sizeof err));
    int64_t took_ms = (cw_mono_ns() - t0) / 1000000;
    assert_string_equal(err, "body_regex \"(a+)+$\" exceeded its match limit");
    assert_true(took_ms < 500); /* 2^40 steps unbounded; ~1 ms with the limit */
}

static void test_bad_regex_refused(void **state)
{
    (void)state;
    struct cw_endpoint ep = plain();
    char *re[] = { "a(b" };
    MUT(ep.spec)->body_regex = re;
    MUT(ep.spec)->n_body_regex = 1;
    struct http_assert *a = NULL;
    char err[256];
    assert_int_equal(http_assert_new(&ep, &a, err, sizeof err), -1);
    assert_null(a);
    assert_non_null(strstr(err, "body_regex \"a(b\": "));
    assert_non_null(strstr(err, "at offset 3"));
}

static struct cw_condition cond(const char *text, const char *subject, enum cw_cond_op op, enum cw_cond_value kind,
                                const char *value)
{
    return (struct cw_condition){
        .text = (char *)text, .subject = (char *)subject, .op = op, .value_kind = kind, .value = (char *)value
    };
}

/* Judges one JSON condition against body; returns ok and the error. */
static bool json1(struct cw_condition c, const char *body, char *err, size_t errlen)
{
    struct cw_endpoint ep = plain();
    MUT(ep.spec)->json_conditions = &c;
    MUT(ep.spec)->n_json_conditions = 1;
    struct http_observed o = seen_ok();
    o.body = body;
    o.body_len = strlen(body);
    return judge(&ep, &o, err, errlen);
}

static void test_json_conditions(void **state)
{
    (void)state;
    const char *body = "{\"status\":\"DOWN\",\"queue\":{\"depth\":150},\"up\":true,\"none\":null,"
                       "\"items\":[1,\"two\",3],\"odd.key\":5}";
    char err[256];
    assert_false(json1(cond("$.status == \"UP\"", "/status", CW_OP_EQ, CW_VALUE_STRING, "UP"), body, err, sizeof err));
    assert_string_equal(err, "json $.status == \"UP\": got \"DOWN\"");
    assert_true(json1(cond("$.status != \"UP\"", "/status", CW_OP_NE, CW_VALUE_STRING, "UP"), body, err, sizeof err));
    assert_false(
        json1(cond("$.queue.depth < 100", "/queue/depth", CW_OP_LT, CW_VALUE_NUMBER, "100"), body, err, sizeof err));
    assert_string_equal(err, "json $.queue.depth < 100: got 150");
    assert_true(
        json1(cond("$.queue.depth >= 150", "/queue/depth", CW_OP_GE, CW_VALUE_NUMBER, "150"), body, err, sizeof err));
    assert_true(
        json1(cond("$.queue.depth == 150", "/queue/depth", CW_OP_EQ, CW_VALUE_NUMBER, "150.0"), body, err, sizeof err));
    /* typed: the string "150" is not the number 150 */
    assert_false(json1(cond("$.queue.depth == \"150\"", "/queue/depth", CW_OP_EQ, CW_VALUE_STRING, "150"), body, err,
                       sizeof err));
    assert_false(json1(cond("$.status > 1", "/status", CW_OP_GT, CW_VALUE_NUMBER, "1"), body, err, sizeof err));
    assert_string_equal(err, "json $.status > 1: got \"DOWN\" (not a number)");
    assert_true(json1(cond("$.up == true", "/up", CW_OP_EQ, CW_VALUE_BOOL, "true"), body, err, sizeof err));
    assert_true(json1(cond("$.none == null", "/none", CW_OP_EQ, CW_VALUE_NULL, NULL), body, err, sizeof err));
    assert_true(json1(cond("$.items contains \"two\"", "/items", CW_OP_CONTAINS, CW_VALUE_STRING, "two"), body, err,
                      sizeof err));
    assert_true(
        json1(cond("$.items contains 3", "/items", CW_OP_CONTAINS, CW_VALUE_NUMBER, "3"), body, err, sizeof err));
    assert_false(
        json1(cond("$.items contains 4", "/items", CW_OP_CONTAINS, CW_VALUE_NUMBER, "4"), body, err, sizeof err));
    assert_string_equal(err, "json $.items contains 4: got [1,\"two\",3]");
    assert_true(
        json1(cond("$.items[1] == \"two\"", "/items/1", CW_OP_EQ, CW_VALUE_STRING, "two"), body, err, sizeof err));
    assert_true(
        json1(cond("$['odd.key'] exists", "/odd.key", CW_OP_EXISTS, CW_VALUE_NONE, NULL), body, err, sizeof err));
    assert_false(json1(cond("$.gone exists", "/gone", CW_OP_EXISTS, CW_VALUE_NONE, NULL), body, err, sizeof err));
    assert_string_equal(err, "json $.gone exists: missing");
    assert_true(json1(cond("$.gone !exists", "/gone", CW_OP_NOT_EXISTS, CW_VALUE_NONE, NULL), body, err, sizeof err));
    assert_true(json1(cond("$.status ~ ^D", "/status", CW_OP_MATCHES, CW_VALUE_STRING, "^D"), body, err, sizeof err));
    assert_false(
        json1(cond("$.status == \"UP\"", "/status", CW_OP_EQ, CW_VALUE_STRING, "UP"), "<html>", err, sizeof err));
    assert_non_null(strstr(err, "json $.status == \"UP\": the body is not JSON ("));
    assert_false(json1(cond("$.a exists", "/a", CW_OP_EXISTS, CW_VALUE_NONE, NULL), "{\"a\":", err, sizeof err));
    assert_string_equal(err, "json $.a exists: the body is not JSON (the body ends early)");
}

static void test_json_edges(void **state)
{
    (void)state;
    char err[256];
    /* a bare scalar is a whole document */
    assert_true(json1(cond("$ == 42", "", CW_OP_EQ, CW_VALUE_NUMBER, "42"), "42", err, sizeof err));
    assert_true(json1(cond("$ == true", "", CW_OP_EQ, CW_VALUE_BOOL, "true"), "true", err, sizeof err));
    assert_true(json1(cond("$ == null", "", CW_OP_EQ, CW_VALUE_NULL, NULL), " null\n", err, sizeof err));
    assert_false(json1(cond("$ == 4", "", CW_OP_EQ, CW_VALUE_NUMBER, "4"), "4x", err, sizeof err));
    assert_non_null(strstr(err, "the body is not JSON ("));
    /* what json-c's strict mode still takes is not JSON */
    const char *foreign[] = { "{'a':1}", "{\"a\":1,}", "{\"a\":NaN}", "[Infinity]",   "[-Infinity]",
                              "[1.]",    "[-01]",      "[\"a\tb\"]",  "{\"a\":1} {}", "{\"a\":1}x" };
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        assert_false(json1(cond("$ exists", "", CW_OP_EXISTS, CW_VALUE_NONE, NULL), foreign[i], err, sizeof err));
        assert_non_null(strstr(err, "json $ exists: the body is not JSON ("));
    }
    assert_false(json1(cond("$.a == 1", "/a", CW_OP_EQ, CW_VALUE_NUMBER, "1"), "{\"a\":NaN}", err, sizeof err));
    assert_string_equal(err, "json $.a == 1: the body is not JSON (NaN or Infinity at byte 5)");
    assert_true(
        json1(cond("$ exists", "", CW_OP_EXISTS, CW_VALUE_NONE, NULL), "[-0.5e+3,\"\\u00e9\\n\",{}]", err, sizeof err));
    /* a null element of an array is there; past the end is missing */
    assert_true(
        json1(cond("$.a[0] == null", "/a/0", CW_OP_EQ, CW_VALUE_NULL, NULL), "{\"a\":[null,1]}", err, sizeof err));
    assert_false(
        json1(cond("$.a[2] exists", "/a/2", CW_OP_EXISTS, CW_VALUE_NONE, NULL), "{\"a\":[null,1]}", err, sizeof err));
    assert_false(
        json1(cond("$.a[01] exists", "/a/01", CW_OP_EXISTS, CW_VALUE_NONE, NULL), "{\"a\":[null,1]}", err, sizeof err));
    assert_true(
        json1(cond("$['a/b~c'] == 1", "/a~1b~0c", CW_OP_EQ, CW_VALUE_NUMBER, "1"), "{\"a/b~c\":1}", err, sizeof err));
    assert_false(
        json1(cond("$.n.x exists", "/n/x", CW_OP_EXISTS, CW_VALUE_NONE, NULL), "{\"n\":null}", err, sizeof err));
    /* integers beyond 2^53 compare exactly */
    const char *big = "{\"a\":9007199254740993}";
    assert_false(json1(cond("$.a == 9007199254740992", "/a", CW_OP_EQ, CW_VALUE_NUMBER, "9007199254740992"), big, err,
                       sizeof err));
    assert_string_equal(err, "json $.a == 9007199254740992: got 9007199254740993");
    assert_true(json1(cond("$.a > 9007199254740992", "/a", CW_OP_GT, CW_VALUE_NUMBER, "9007199254740992"), big, err,
                      sizeof err));
    assert_true(json1(cond("$.a < 9007199254740993.5", "/a", CW_OP_LT, CW_VALUE_NUMBER, "9007199254740994.5"), big, err,
                      sizeof err));
    assert_false(json1(cond("$.a == 9223372036854775807", "/a", CW_OP_EQ, CW_VALUE_NUMBER, "9223372036854775807"),
                       "{\"a\":18446744073709551615}", err, sizeof err));
    /* a missing value is not equal to anything */
    assert_true(json1(cond("$.gone != 1", "/gone", CW_OP_NE, CW_VALUE_NUMBER, "1"), "{}", err, sizeof err));
    assert_false(json1(cond("$.gone == 1", "/gone", CW_OP_EQ, CW_VALUE_NUMBER, "1"), "{}", err, sizeof err));
    assert_false(json1(cond("$.gone < 1", "/gone", CW_OP_LT, CW_VALUE_NUMBER, "1"), "{}", err, sizeof err));
}

struct headers {
    const char *name, *value;
};
static int header_of(void *ctx, const char *name, const char **value)
{
    for (const struct headers *h = ctx; h->name; h++)
        if (strcasecmp(h->name, name) == 0) {
            *value = h->value;
            return 0;
        }
    return -1;
}

static void test_header_conditions(void **state)
{
    (void)state;
    struct cw_endpoint ep = plain();
    struct cw_condition c[] = {
        cond("Content-Type ~ ^application/json", "Content-Type", CW_OP_MATCHES, CW_VALUE_STRING, "^application/json"),
        cond("X-Version == 2", "x-version", CW_OP_EQ, CW_VALUE_NUMBER, "2"),
        cond("X-Age < 10", "X-Age", CW_OP_LT, CW_VALUE_NUMBER, "10"),
        cond("Server !exists", "Server", CW_OP_NOT_EXISTS, CW_VALUE_NONE, NULL),
    };
    MUT(ep.spec)->header_conditions = c;
    MUT(ep.spec)->n_header_conditions = 4;
    struct headers good[] = {
        { "content-type", "application/json; charset=utf-8" }, { "X-Version", "2" }, { "X-Age", "3" }, { NULL, NULL }
    };
    struct http_observed o = seen_ok();
    o.header = header_of;
    o.header_ctx = good;
    char err[256];
    assert_true(judge(&ep, &o, err, sizeof err));
    struct cw_condition ne[] = { cond("X-Debug != \"on\"", "X-Debug", CW_OP_NE, CW_VALUE_STRING, "on"),
                                 cond("X-Big == 9007199254740992", "X-Big", CW_OP_EQ, CW_VALUE_NUMBER,
                                      "9007199254740992") };
    struct cw_endpoint ep_ne = plain();
    MUT(ep_ne.spec)->header_conditions = ne;
    MUT(ep_ne.spec)->n_header_conditions = 1;
    assert_true(judge(&ep_ne, &o, err, sizeof err)); /* X-Debug is absent: not "on" */
    MUT(ep_ne.spec)->header_conditions = ne + 1;
    struct headers big[] = { { "X-Big", "9007199254740993" }, { NULL, NULL } };
    o.header_ctx = big;
    assert_false(judge(&ep_ne, &o, err, sizeof err));
    assert_string_equal(err, "header X-Big == 9007199254740992: got \"9007199254740993\"");
    struct headers bad[] = { { "Content-Type", "text/html" }, { "Server", "x" }, { NULL, NULL } };
    o.header_ctx = bad;
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "header Content-Type ~ ^application/json: got \"text/html\" (and 3 more)");
}

static void test_transfer_assertions(void **state)
{
    (void)state;
    struct cw_endpoint ep = plain();
    MUT(ep.spec)->max_response_time = 1.5;
    MUT(ep.spec)->min_cert_days = 14;
    MUT(ep.spec)->http_version = CW_HTTP_2;
    MUT(ep.spec)->fail_if_not_tls = true;
    struct http_observed o = seen_ok();
    o.now_us = (int64_t)1800000000 * 1000000;
    o.tls_expires_at_us = o.now_us + 30LL * 86400 * 1000000;
    o.http_version = CURL_HTTP_VERSION_2_0;
    char err[256];
    assert_true(judge(&ep, &o, err, sizeof err));
    o.latency_us = 1840000;
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "response time 1.84 s > 1.5 s");
    o.latency_us = 1000;
    o.tls_expires_at_us = o.now_us + 3LL * 86400 * 1000000 + 5;
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "TLS certificate expires in 3 days (< 14)");
    o.tls_expires_at_us = o.now_us - 3LL * 86400 * 1000000; /* expired: the tls check's wording */
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "TLS certificate expired (min_cert_days 14)");
    o.tls_expires_at_us = o.now_us + 30LL * 86400 * 1000000;
    o.http_version = CURL_HTTP_VERSION_1_1;
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_string_equal(err, "HTTP/1.1 (wanted HTTP/2)");
    o.http_version = CURL_HTTP_VERSION_2_0;
    o.final_url = "http://user:secret@x.test/landing";
    assert_false(judge(&ep, &o, err, sizeof err));
    assert_null(strstr(err, "secret"));
    assert_non_null(strstr(err, "not TLS: the check ended on http://"));
}

static void test_size_text(void **state)
{
    (void)state;
    char t[32];
    http_size_text(1024 * 1024, t, sizeof t);
    assert_string_equal(t, "1 MiB");
    http_size_text(64 * 1024, t, sizeof t);
    assert_string_equal(t, "64 KiB");
    http_size_text(1000, t, sizeof t);
    assert_string_equal(t, "1000 bytes");
}

static void test_body_budget(void **state)
{
    (void)state;
    struct body_budget budget = { .max = 64 * 1024 };
    struct body_buf a = { 0 }, b = { 0 };
    char chunk[10000];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 4; i++) assert_int_equal(body_buf_append(&a, &budget, 1024 * 1024, chunk, sizeof chunk), 0);
    assert_int_equal(a.len, 40000);
    assert_int_equal(a.data[a.len], '\0');
    assert_true(budget.used >= a.len && budget.used <= budget.max);
    /* the second body gets what is left, then no more */
    int rc = 0;
    size_t got = 0;
    while ((rc = body_buf_append(&b, &budget, 1024 * 1024, chunk, sizeof chunk)) == 0) got += sizeof chunk;
    assert_int_equal(rc, -1);
    assert_int_equal(b.len, got);
    assert_true(budget.used <= budget.max);
    body_buf_clear(&b);
    assert_int_equal(b.len, 0);
    body_buf_release(&a, &budget);
    body_buf_release(&b, &budget);
    assert_int_equal(budget.used, 0);
    assert_null(a.data);
    assert_int_equal(body_buf_append(&a, &budget, 1024 * 1024, chunk, sizeof chunk), 0); /* room again */
    body_buf_release(&a, &budget);
}

/* A body of exactly body_limit bytes holds body_limit + 1 of the budget (its NUL), not twice the limit. */
static void test_body_buf_stops_at_limit(void **state)
{
    (void)state;
    const size_t limit = 1024 * 1024;
    struct body_budget budget = { .max = 256 * 1024 * 1024 };
    struct body_buf b = { 0 };
    static char chunk[16384];
    memset(chunk, 'x', sizeof chunk);
    for (size_t got = 0; got < limit; got += sizeof chunk)
        assert_int_equal(body_buf_append(&b, &budget, limit, chunk, sizeof chunk), 0);
    assert_int_equal(b.len, limit);
    assert_int_equal(b.cap, limit + 1);
    assert_int_equal(budget.used, limit + 1);
    body_buf_release(&b, &budget);
    /* a small limit below the first allocation */
    assert_int_equal(body_buf_append(&b, &budget, 100, chunk, 100), 0);
    assert_int_equal(b.cap, 101);
    body_buf_release(&b, &budget);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_has_no_extras),
        cmocka_unit_test(test_status_ranges),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_body_regex),
        cmocka_unit_test(test_catastrophic_regex_is_bounded),
        cmocka_unit_test(test_bad_regex_refused),
        cmocka_unit_test(test_json_conditions),
        cmocka_unit_test(test_json_edges),
        cmocka_unit_test(test_header_conditions),
        cmocka_unit_test(test_transfer_assertions),
        cmocka_unit_test(test_size_text),
        cmocka_unit_test(test_body_budget),
        cmocka_unit_test(test_body_buf_stops_at_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
