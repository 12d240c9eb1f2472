/* tests/unit/test_config_limits.c — the config loader's bounds, each at its edge (the largest value that
 * loads, one more that is refused with exactly one message: name length, number and length of headers,
 * 3600 s bounds, the number of email_to addresses), which header lines and URLs count as credentials
 * (a world-readable file that holds one is refused), 1,500 randomly mutated copies of full.conf (refused
 * with a reason or loaded, never a crash), and a generated config of 100,000 endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"
#include "common/config/config_check.h"

/* A growing string for the generated configs of test_limits. */
struct sbuf {
    char *s;
    size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
}

static void sb_repeat(struct sbuf *b, char ch, size_t n)
{
    char *run = malloc(n + 1);
    assert_non_null(run);
    memset(run, ch, n);
    run[n] = '\0';
    sb_add(b, "%s", run);
    free(run);
}

/* The text loads without a message. */
static struct cw_config *expect_accepted(struct ct *t, const char *text)
{
    struct cw_config *c = ct_load(t, text);
    if (!c || t->n_msgs) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(t->n_msgs, 0);
    return c;
}

/* Starts b over with the head of a one-endpoint config; what is added next is on line 3 (like EP). */
static void sb_endpoint_open(struct sbuf *b)
{
    b->len = 0;
    sb_add(b, "monitor = { endpoints = (\n{ url = \"http://127.0.0.1/\";\n");
}

/* Size limits at their boundary: the largest value is accepted, one more is refused with its message. */
static void test_limits(void **state)
{
    struct ct *t = *state;
    struct sbuf b = { 0 };
    struct cw_config *c;

    /* name: at most CW_NAME_MAX = 1024 bytes */
    for (size_t len = 1024; len <= 1025; len++) {
        sb_endpoint_open(&b);
        sb_add(&b, "name = \"");
        sb_repeat(&b, 'n', len);
        sb_add(&b, "\"; }\n); };\n");
        if (len == 1024) {
            c = expect_accepted(t, b.s);
            assert_int_equal(strlen(c->endpoints[0].name), 1024);
            config_free(c);
        } else {
            ct_expect_refused(t, b.s, 3, "monitor.endpoints[0].name: longer than 1024 bytes");
            assert_int_equal(t->n_msgs, 1);
        }
    }

    /* headers: at most 64 lines */
    for (int count = 64; count <= 65; count++) {
        sb_endpoint_open(&b);
        sb_add(&b, "headers = [");
        for (int i = 0; i < count; i++) sb_add(&b, "%s\"X-H%d: v%d\"", i ? ", " : "", i, i);
        sb_add(&b, "]; }\n); };\n");
        if (count == 64) {
            c = expect_accepted(t, b.s);
            assert_int_equal(c->endpoints[0].spec->n_headers, 64);
            assert_string_equal(c->endpoints[0].spec->headers[63], "X-H63: v63");
            config_free(c);
        } else {
            ct_expect_refused(t, b.s, 3, "monitor.endpoints[0].headers: at most 64 entries (got 65)");
            assert_int_equal(t->n_msgs, 1);
        }
    }

    /* one header line: at most 8192 bytes; the message names the header but never shows its value */
    for (size_t len = 8192; len <= 8193; len++) {
        sb_endpoint_open(&b);
        sb_add(&b, "headers = [\"X-A: b\", \"X-Long: ");
        sb_repeat(&b, 'v', len - strlen("X-Long: "));
        sb_add(&b, "\"]; }\n); };\n");
        if (len == 8192) {
            c = expect_accepted(t, b.s);
            assert_int_equal(c->endpoints[0].spec->n_headers, 2);
            assert_int_equal(strlen(c->endpoints[0].spec->headers[1]), 8192);
            config_free(c);
        } else {
            ct_expect_refused(t, b.s, 3,
                              "monitor.endpoints[0].headers[1]: header line 'X-Long...' is longer than 8192 bytes");
            assert_int_equal(t->n_msgs, 1);
            assert_null(strstr(t->msgs[0], "vvvv"));
        }
    }

    /* timeout and latency_threshold: 3600 s is accepted (at both levels) */
    c = expect_accepted(t, "monitor = { check_interval = 86400; latency_threshold = 3600; endpoints = (\n"
                           "{ url = \"http://127.0.0.1/\"; timeout = 3600; latency_threshold = 3600; } ); };\n");
    assert_true(c->latency_threshold == 3600);
    assert_true(c->endpoints[0].timeout == 3600);
    assert_true(c->endpoints[0].latency_threshold == 3600);
    config_free(c);

    /* email_to: at most 1000 addresses */
    for (int count = 1000; count <= 1001; count++) {
        b.len = 0;
        sb_add(&b, "email = { smtp_host = \"h\"; email_from = \"a@b\";\n email_to = [");
        for (int i = 0; i < count; i++) sb_add(&b, "%s\"u%d@example.test\"", i ? ", " : "", i);
        sb_add(&b, "]; };\n");
        if (count == 1000) {
            c = expect_accepted(t, b.s);
            assert_int_equal(c->n_email_to, 1000);
            assert_string_equal(c->email_to[999], "u999@example.test");
            config_free(c);
        } else {
            ct_expect_refused(t, b.s, 2, "email.email_to: expected 1 to 1000 addresses (got 1001)");
            assert_int_equal(t->n_msgs, 1);
        }
    }
    free(b.s);
}

/* Which header lines and URLs count as credentials (a world-readable file holding one is refused). */
static void test_secret_detection(void **state)
{
    (void)state;
    static const char *const secret[] = { "Authorization: Bearer x",
                                          "proxy-authorization: Basic y",
                                          "Cookie: a=b",
                                          "X-Api-Key: k",
                                          "X-API_KEY: k",
                                          "X-Auth-Token: t",
                                          "X-Token: t",
                                          "X-Client-Secret: s",
                                          "X-Password: p",
                                          "Private-Token: t",
                                          "X-Auth: a",
                                          "ApiKey: k",
                                          "X-Key: 1",
                                          "X-Functions-Key: k",
                                          "Ocp-Apim-Subscription-Key: k",
                                          "X-Session-Id: s",
                                          "X-Signature: s",
                                          "X-CSRF-Token: t",
                                          NULL };
    static const char *const plain[] = { "Accept: */*",    "X-Author: me",        "Content-Type: text/plain",
                                         "X-Monkey: 2",    "X-Authority-Zone: z", "User-Agent: tokenizer",
                                         "X-Keyboard: us", "X-Sessions-Count: 2", NULL };
    for (int i = 0; secret[i]; i++)
        if (!cw_header_is_secret(secret[i])) fail_msg("not seen as a credential: %s", secret[i]);
    for (int i = 0; plain[i]; i++)
        if (cw_header_is_secret(plain[i])) fail_msg("seen as a credential: %s", plain[i]);
    assert_true(cw_url_has_password("http://u:p@host/"));
    assert_true(cw_url_has_password("https://user:pa@ss@host:8443/x"));
    assert_false(cw_url_has_password("http://user@host/")); /* a user name alone is no secret */
    assert_false(cw_url_has_password("http://host/a:b@c")); /* '@' in the path */
    assert_false(cw_url_has_password("http://host:8080/"));
    assert_false(cw_url_has_password("not a url"));
}

static void test_mutations_never_crash(void **state)
{
    struct ct *t = *state;
    ct_write_full_side_files(t, "pw\n");
    char *orig = ct_fixture("full.conf");
    size_t len = strlen(orig);
    char *text = malloc(len + 64);
    assert_non_null(text);
    static const char *const tokens[] = { "\"",    ";",    "{",
                                          "}",     "(",    ")",
                                          "[",     "]",    "=",
                                          "1e999", "-1",   "0x7fffffffffffffff",
                                          "\"\\",  "true", "@include \"c.conf\"\n",
                                          "\n",    "#",    "/*",
                                          "3.5" };
    srand(4242);
    int accepted = 0;
    for (int round = 0; round < 1500; round++) {
        memcpy(text, orig, len + 1);
        size_t n = len;
        int edits = 1 + rand() % 3;
        for (int k = 0; k < edits; k++) {
            size_t at = (size_t)rand() % n;
            switch (rand() % 3) {
            case 0:
                text[at] = (char)(32 + rand() % 95);
                break; /* change a byte */
            case 1:
                memmove(text + at, text + at + 1, n - at);
                n--;
                break; /* delete one */
            default: { /* insert a token */
                const char *tok = tokens[(size_t)rand() % (sizeof tokens / sizeof tokens[0])];
                size_t tl = strlen(tok);
                if (n + tl >= len + 63) break;
                memmove(text + at + tl, text + at, n - at + 1);
                memcpy(text + at, tok, tl);
                n += tl;
            }
            }
        }
        struct cw_config *c = ct_load(t, text);
        if (c) accepted++;
        else assert_true(t->n_msgs > 0); /* refused: always with a reason */
        config_free(c);
    }
    print_message("mutated files: %d of 1500 still valid\n", accepted);
    assert_true(accepted > 0); /* else the mutations only ever test the refusal path */
    free(text);
    free(orig);
}

static void test_100k_endpoints(void **state)
{
    struct ct *t = *state;
    size_t n = 100000;
    size_t cap = n * 96 + 256;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len =
        (size_t)snprintf(text, cap, "supervisor = { workers = 4; };\nmonitor = { check_interval = 30; endpoints = (\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "{ url = \"http://127.0.0.1:%zu/e/%zu\"; name = \"e%zu\"; }%s\n",
                                8000 + i % 100, i, i, i + 1 < n ? "," : "");
    snprintf(text + len, cap - len, "); };\n");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct cw_config *c = ct_load(t, text);
    clock_gettime(CLOCK_MONOTONIC, &b);
    free(text);
    if (!c) ct_dump(t);
    assert_non_null(c);
    assert_int_equal(c->n_endpoints, n);
    assert_string_equal(c->endpoints[n - 1].url, "http://127.0.0.1:8099/e/99999");
    assert_true(c->endpoints[n - 1].interval == 30);
    print_message("100,000 endpoints: loaded and validated in %.0f ms (not asserted)\n",
                  (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_limits, ct_setup, ct_teardown),
        cmocka_unit_test(test_secret_detection),
        cmocka_unit_test_setup_teardown(test_mutations_never_crash, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_100k_endpoints, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
