/* tests/unit/test_batch.c — the storer's batch (storer/batch.c) and spool (storer/spool.c): records are
 * copied with their own strings (the source may vanish right after), the string arena grows and moves
 * without breaking a record, clear keeps the memory, encoding a batch gives wire payloads that decode to the
 * same records, and the spool keeps, replays, consumes and deletes them (a damaged tail is cut off). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/wire/protocol.h"
#include "common/base/util.h"
#include "storer/batch.h"
#include "storer/spool.h"

static struct cw_result result(uint64_t seq, const char *url, bool ok, const char *error)
{
    struct cw_result r = {
        .worker = 3,
        .boot_id = 0xF00DFACE12345678ull,
        .seq = seq,
        .checked_at_us = 1795000000123456 + (int64_t)seq,
        .lateness_us = 17,
        .latency_us = 12345,
        .dns_us = 100,
        .connect_us = 200,
        .tls_us = -1,
        .ttfb_us = 5000,
        .status_code = ok ? 200 : 500,
        .ok = ok,
        .url = url,
        .error = error,
    };
    return r;
}

static void test_copies_strings(void **state)
{
    (void)state;
    struct store_batch b;
    store_batch_init(&b);
    char url[64], error[64];
    strcpy(url, "http://127.0.0.1:8080/a");
    strcpy(error, "HTTP 500");
    struct cw_result r = result(1, url, false, error);
    store_batch_add_check(&b, &r);
    strcpy(url, "http://overwritten/");
    strcpy(error, "gone");
    struct cw_result ok = result(2, "http://127.0.0.1/ok", true, "");
    store_batch_add_check(&b, &ok);
    assert_int_equal(b.n_checks, 2);
    assert_string_equal(b.checks[0].r.url, "http://127.0.0.1:8080/a");
    assert_string_equal(b.checks[0].r.error, "HTTP 500");
    assert_ptr_not_equal(b.checks[0].r.url, url);
    assert_int_equal(b.checks[0].r.seq, 1);
    assert_int_equal(b.checks[0].r.latency_us, 12345);
    assert_int_equal(b.checks[0].r.tls_us, -1);
    assert_null(b.checks[1].r.error); /* ok: no error text kept */
    assert_true(b.checks[1].r.ok);
    /* strings live inside the arena */
    assert_true(b.checks[0].r.url >= b.strings && b.checks[0].r.url < b.strings + b.strings_len);

    struct cw_alert a = { .alert_id = 42,
                          .raised_at_us = 1795000000000000,
                          .kind = CW_ALERT_DOWN,
                          .email_state = CW_DELIVERY_PENDING,
                          .webhook_state = CW_DELIVERY_NONE,
                          .url = url,
                          .name = "billing",
                          .message = "down: HTTP 500" };
    store_batch_add_alert(&b, &a);
    strcpy(url, "x");
    assert_int_equal(store_batch_rows(&b), 3);
    assert_string_equal(b.alerts[0].a.url, "http://overwritten/");
    assert_string_equal(b.alerts[0].a.name, "billing");
    assert_string_equal(b.alerts[0].a.message, "down: HTTP 500");
    store_batch_free(&b);
    assert_int_equal(store_batch_rows(&b), 0);
    assert_null(b.strings);
}

static void test_arena_growth(void **state)
{
    (void)state;
    struct store_batch b;
    store_batch_init(&b);
    char url[1200], err[64];
    const size_t n = 5000; /* ~5 MB of strings: the arena moves many times */
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(url, sizeof url, "http://127.0.0.1/%zu/", i);
        memset(url + len, 'x', 1000);
        url[len + 1000] = '\0';
        snprintf(err, sizeof err, "error %zu", i);
        struct cw_result r = result(i + 1, url, i % 2 == 0, err);
        store_batch_add_check(&b, &r);
        if (i % 97 == 0) {
            struct cw_alert a = { .alert_id = i, .kind = CW_ALERT_UP, .url = url, .name = "", .message = err };
            store_batch_add_alert(&b, &a);
        }
    }
    assert_int_equal(b.n_checks, n);
    assert_true(b.strings_cap >= b.strings_len);
    for (size_t i = 0; i < n; i++) {
        char want[32];
        int len = snprintf(want, sizeof want, "http://127.0.0.1/%zu/", i);
        const struct cw_result *r = &b.checks[i].r;
        assert_int_equal(strncmp(r->url, want, (size_t)len), 0);
        assert_int_equal(strlen(r->url), (size_t)len + 1000);
        if (i % 2 == 0) {
            assert_null(r->error);
        } else {
            snprintf(want, sizeof want, "error %zu", i);
            assert_string_equal(r->error, want);
        }
    }
    for (size_t k = 0; k < b.n_alerts; k++) {
        char want[32];
        snprintf(want, sizeof want, "error %zu", (size_t)b.alerts[k].a.alert_id);
        assert_string_equal(b.alerts[k].a.message, want);
    }
    /* clear keeps the memory */
    size_t cap = b.strings_cap, ccap = b.cap_checks;
    store_batch_clear(&b);
    assert_int_equal(store_batch_rows(&b), 0);
    assert_int_equal(b.strings_cap, cap);
    assert_int_equal(b.cap_checks, ccap);
    struct cw_result r = result(1, "http://again/", false, "boom");
    store_batch_add_check(&b, &r);
    assert_string_equal(b.checks[0].r.url, "http://again/");
    store_batch_free(&b);
}

struct collected {
    struct store_batch out;
    unsigned messages;
    struct cw_result *tmp;
};

static int collect(void *ctx, const void *payload, size_t len)
{
    struct collected *c = ctx;
    const char *why = NULL;
    c->messages++;
    /* decode from an exact-size heap copy (ASan catches any overread) */
    void *copy = malloc(len);
    memcpy(copy, payload, len);
    if (((const uint8_t *)payload)[1] == CW_MSG_RESULT) {
        int n = proto_results_decode(copy, len, c->tmp, CW_RESULT_BATCH_MAX, &why);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) store_batch_add_check(&c->out, &c->tmp[i]);
    } else {
        struct cw_alert a;
        assert_int_equal(proto_alert_decode(copy, len, &a, &why), 0);
        store_batch_add_alert(&c->out, &a);
    }
    free(copy);
    return 0;
}

static void assert_same_batch(const struct store_batch *a, const struct store_batch *b)
{
    assert_int_equal(a->n_checks, b->n_checks);
    assert_int_equal(a->n_alerts, b->n_alerts);
    for (size_t i = 0; i < a->n_checks; i++) {
        const struct cw_result *x = &a->checks[i].r, *y = &b->checks[i].r;
        assert_int_equal(x->worker, y->worker);
        assert_int_equal(x->boot_id, y->boot_id);
        assert_int_equal(x->seq, y->seq);
        assert_int_equal(x->checked_at_us, y->checked_at_us);
        assert_int_equal(x->latency_us, y->latency_us);
        assert_int_equal(x->tls_us, y->tls_us);
        assert_int_equal(x->status_code, y->status_code);
        assert_int_equal(x->ok, y->ok);
        assert_string_equal(x->url, y->url);
        if (x->error) assert_string_equal(x->error, y->error);
        else assert_true(y->error == NULL || y->error[0] == '\0');
        assert_int_equal(x->kind, y->kind);
        if (x->figures) assert_string_equal(x->figures, y->figures);
        else assert_null(y->figures);
    }
    for (size_t i = 0; i < a->n_alerts; i++) {
        const struct cw_alert *x = &a->alerts[i].a, *y = &b->alerts[i].a;
        assert_int_equal(x->alert_id, y->alert_id);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->email_state, y->email_state);
        assert_string_equal(x->url, y->url);
        assert_string_equal(x->message, y->message);
    }
}

static void fill(struct store_batch *b, size_t n_checks, size_t n_alerts)
{
    char url[64];
    for (size_t i = 0; i < n_checks; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:9/%zu", i % 37);
        struct cw_result r = result(i + 1, url, i % 3 != 0, "connection refused");
        if (i % 5 == 1) { /* a dns check with its figures (version 2 on the wire) */
            r.kind = 3;
            r.figures = "{\"rcode\":\"NOERROR\",\"answers\":[\"192.0.2.1\"]}";
        }
        store_batch_add_check(b, &r);
    }
    for (size_t i = 0; i < n_alerts; i++) {
        struct cw_alert a = { .alert_id = 1000 + i,
                              .raised_at_us = 1795000000000000,
                              .kind = CW_ALERT_SLOW,
                              .email_state = CW_DELIVERY_SENT,
                              .webhook_state = CW_DELIVERY_FAILED,
                              .url = "http://127.0.0.1:9/1",
                              .name = "n",
                              .message = "slow" };
        store_batch_add_alert(b, &a);
    }
}

static void test_encode_round_trip(void **state)
{
    (void)state;
    struct store_batch b;
    store_batch_init(&b);
    fill(&b, 1200, 2);
    struct collected c = { .tmp = calloc(CW_RESULT_BATCH_MAX, sizeof(struct cw_result)) };
    store_batch_init(&c.out);
    struct cw_buf scratch = { 0 };
    assert_int_equal(store_batch_encode(&b, &scratch, collect, &c), 0);
    assert_int_equal(c.messages, 3 + 2); /* 512 + 512 + 176 results, then one message per alert */
    assert_same_batch(&b, &c.out);
    store_batch_free(&b);
    store_batch_free(&c.out);
    free(c.tmp);
    cw_buf_free(&scratch);
}

/* ---- spool */

struct spool_ctx {
    struct store_spool *sp;
};

static int to_spool(void *ctx, const void *payload, size_t len)
{
    struct spool_ctx *c = ctx;
    char err[256];
    return store_spool_append(c->sp, payload, len, err, sizeof err);
}

static void test_spool(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-spool-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/storer.spool", dir);
    char err[256];
    struct store_spool *sp = store_spool_open(path, err, sizeof err);
    assert_non_null(sp);
    assert_false(store_spool_pending(sp));
    assert_int_equal(access(path, F_OK), -1); /* not created until something is appended */

    struct store_batch b, got;
    store_batch_init(&b);
    store_batch_init(&got);
    fill(&b, 1100, 3);
    struct cw_buf scratch = { 0 };
    struct spool_ctx ctx = { sp };
    assert_int_equal(store_batch_encode(&b, &scratch, to_spool, &ctx), 0);
    assert_int_equal(store_spool_sync(sp, err, sizeof err), 0);
    assert_true(store_spool_pending(sp));
    uint64_t bytes = store_spool_bytes(sp);
    assert_true(bytes > 0);

    /* read without consuming: a second read returns the same records */
    uint64_t malformed = 0;
    assert_int_equal(store_spool_read(sp, &got, 600, &malformed, err, sizeof err), 0);
    assert_int_equal(got.n_checks, 1024); /* whole messages: 2 x 512 */
    store_batch_clear(&got);
    assert_int_equal(store_spool_read(sp, &got, 600, &malformed, err, sizeof err), 0);
    assert_int_equal(got.n_checks, 1024);
    store_spool_consume(sp);
    assert_true(store_spool_pending(sp));
    store_spool_close(sp); /* a restart: the rest is still there */

    sp = store_spool_open(path, err, sizeof err);
    assert_non_null(sp);
    assert_true(store_spool_pending(sp));
    assert_int_equal(store_spool_bytes(sp), bytes); /* a new run replays from the start (idempotent) */
    store_batch_clear(&got);
    assert_int_equal(store_spool_read(sp, &got, 100000, &malformed, err, sizeof err), 0);
    assert_int_equal(malformed, 0);
    assert_same_batch(&b, &got);
    store_spool_consume(sp);
    assert_false(store_spool_pending(sp));
    assert_int_equal(access(path, F_OK), -1); /* deleted once replayed */

    /* a damaged tail (crash while appending) is cut off at open; what came before survives, and records
     * appended afterwards stay reachable */
    ctx.sp = sp;
    assert_int_equal(store_batch_encode(&b, &scratch, to_spool, &ctx), 0);
    store_spool_close(sp);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fwrite("\x40\x00\x00\x00\x01\x01", 1, 6, f); /* a 64-byte record with only 2 bytes written */
    fclose(f);
    sp = store_spool_open(path, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(store_spool_bytes(sp), bytes);
    ctx.sp = sp;
    struct store_batch one;
    store_batch_init(&one);
    fill(&one, 1, 0);
    assert_int_equal(store_batch_encode(&one, &scratch, to_spool, &ctx), 0);
    /* and a record that is not a valid payload is counted, not fatal */
    assert_int_equal(store_spool_append(sp, "\x01\x09\x00\x00", 4, err, sizeof err), 0);
    store_batch_clear(&got);
    malformed = 0;
    assert_int_equal(store_spool_read(sp, &got, 100000, &malformed, err, sizeof err), 0);
    assert_int_equal(got.n_checks, b.n_checks + 1);
    assert_int_equal(got.n_alerts, b.n_alerts);
    assert_int_equal(malformed, 1);
    store_spool_consume(sp);
    assert_false(store_spool_pending(sp));
    store_spool_close(sp);
    assert_int_equal(access(path, F_OK), -1);

    store_batch_free(&b);
    store_batch_free(&got);
    store_batch_free(&one);
    cw_buf_free(&scratch);
    assert_int_equal(rmdir(dir), 0);
}

/* A storer.spool written by the release before result version 2 (docs/protocol.md 4: the example payload, a
 * version 1 record) replays after the upgrade: an http check without figures. */
static void test_spool_of_version_1(void **state)
{
    (void)state;
    static const uint8_t v1[] = {
        0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x89, 0x07, 0x56, 0xef, 0x34, 0xcd, 0x12, 0xab,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xe2, 0xa0, 0xee, 0x11, 0x61, 0x06, 0x00,
        0xfa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x39, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe0, 0x2e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xc8, 0x00, 0x01, 0x00, 0x16, 0x00, 0x68, 0x74, 0x74, 0x70, 0x3a, 0x2f, 0x2f, 0x31, 0x32, 0x37,
        0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0x3a, 0x38, 0x30, 0x38, 0x39, 0x2f, 0x00, 0x00, 0x00, 0x00,
    };
    char dir[] = "/tmp/cw-spool1-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/storer.spool", dir);
    FILE *f = fopen(path, "wb"); /* the file as the earlier release left it: u32 length, the payload */
    assert_non_null(f);
    uint8_t len[4] = { sizeof v1, 0, 0, 0 };
    assert_int_equal(fwrite(len, 1, 4, f), 4);
    assert_int_equal(fwrite(v1, 1, sizeof v1, f), sizeof v1);
    assert_int_equal(fclose(f), 0);
    struct store_spool *sp = store_spool_open(path, err, sizeof err);
    assert_non_null(sp);
    struct store_batch got;
    store_batch_init(&got);
    uint64_t malformed = 0;
    assert_int_equal(store_spool_read(sp, &got, 100, &malformed, err, sizeof err), 0);
    assert_int_equal(malformed, 0);
    assert_int_equal(got.n_checks, 1);
    assert_string_equal(got.checks[0].r.url, "http://127.0.0.1:8089/");
    assert_int_equal(got.checks[0].r.latency_us, 12345);
    assert_int_equal(got.checks[0].r.kind, 0);
    assert_null(got.checks[0].r.figures);
    store_spool_consume(sp);
    store_spool_close(sp);
    store_batch_free(&got);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_strings),     cmocka_unit_test(test_arena_growth),
        cmocka_unit_test(test_encode_round_trip),  cmocka_unit_test(test_spool),
        cmocka_unit_test(test_spool_of_version_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
