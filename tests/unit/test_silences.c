/* tests/unit/test_silences.c — silences (alerter/silences.c): matching by endpoint name or URL, by group and all,
 * only while active; expiry; what silences_add refuses; the file: round trip, mode 0600, atomic replacement, a
 * bad file moved aside; and the CLI's strict duration parser (supervisor/silencecmd.c). */
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

#include "alerter/silenceops.h"
#include "alerter/silences.h"
#include "common/base/clock.h"
#include "supervisor/silencecmd.h"

#define S 1000000LL

static struct cw_endpoint ep(const char *url, const char *name, const char *group)
{
    struct cw_endpoint e;
    memset(&e, 0, sizeof e);
    e.url = (char *)url;
    e.name = (char *)name;
    e.group = (char *)group;
    return e;
}

static const struct silence *add(struct silences *s, const char *endpoint, const char *group, bool all, int64_t start,
                                 int64_t end)
{
    struct silence w = { .endpoint = (char *)endpoint,
                         .group = (char *)group,
                         .all = all,
                         .start_us = start,
                         .end_us = end,
                         .created_us = start,
                         .reason = "db upgrade",
                         .author = "alice" };
    char err[256] = "";
    const struct silence *x = silences_add(s, &w, err, sizeof err);
    if (!x) fprintf(stderr, "silences_add: %s\n", err);
    return x;
}

static void test_match_scopes(void **state)
{
    (void)state;
    struct silences s;
    silences_init(&s, "/nonexistent");
    struct cw_endpoint billing = ep("http://127.0.0.1:9/billing", "billing", "payments");
    struct cw_endpoint shop = ep("http://127.0.0.1:9/shop", NULL, "web");
    struct cw_endpoint other = ep("http://127.0.0.1:9/other", "other", NULL);
    assert_null(silences_match(&s, &billing, 100 * S));

    const struct silence *by_name = add(&s, "billing", NULL, false, 100 * S, 200 * S);
    assert_non_null(by_name);
    assert_int_equal(strlen(by_name->id), 16);
    assert_ptr_equal(silences_match(&s, &billing, 100 * S), &s.v[0]);
    assert_ptr_equal(silences_match(&s, &billing, 199 * S), &s.v[0]);
    assert_null(silences_match(&s, &billing, 200 * S)); /* over at end */
    assert_null(silences_match(&s, &billing, 99 * S));  /* not yet */
    assert_null(silences_match(&s, &shop, 150 * S));
    assert_null(silences_match(&s, &other, 150 * S));

    assert_non_null(add(&s, "http://127.0.0.1:9/shop", NULL, false, 100 * S, 200 * S)); /* by URL */
    assert_ptr_equal(silences_match(&s, &shop, 150 * S), &s.v[1]);
    assert_non_null(add(&s, NULL, "payments", false, 300 * S, 400 * S));
    assert_ptr_equal(silences_match(&s, &billing, 350 * S), &s.v[2]);
    assert_null(silences_match(&s, &other, 350 * S)); /* no group: a group silence does not cover it */
    assert_non_null(add(&s, NULL, NULL, true, 500 * S, 600 * S));
    assert_ptr_equal(silences_match(&s, &other, 550 * S), &s.v[3]);
    assert_ptr_equal(silences_match(&s, &shop, 550 * S), &s.v[3]);
    assert_string_not_equal(s.v[0].id, s.v[1].id);
    silences_free(&s);
}

static void test_add_refuses(void **state)
{
    (void)state;
    struct silences s;
    silences_init(&s, "/nonexistent");
    char err[256];
    struct silence w = { .endpoint = "a", .start_us = 10 * S, .end_us = 20 * S, .reason = "r", .author = "bob" };
    w.group = "g"; /* two scopes */
    assert_null(silences_add(&s, &w, err, sizeof err));
    assert_non_null(strstr(err, "one of"));
    w.group = NULL;
    w.endpoint = NULL; /* none */
    assert_null(silences_add(&s, &w, err, sizeof err));
    w.endpoint = "a";
    w.reason = ""; /* no reason */
    assert_null(silences_add(&s, &w, err, sizeof err));
    assert_non_null(strstr(err, "reason"));
    w.reason = "r";
    w.end_us = 10 * S; /* empty */
    assert_null(silences_add(&s, &w, err, sizeof err));
    w.end_us = 10 * S + SILENCE_DURATION_MAX_S * S + 1; /* too long */
    assert_null(silences_add(&s, &w, err, sizeof err));
    assert_non_null(strstr(err, "365"));
    w.end_us = 20 * S;
    w.reason = "line\nbreak"; /* control characters */
    assert_null(silences_add(&s, &w, err, sizeof err));
    w.reason = "r";
    assert_non_null(silences_add(&s, &w, err, sizeof err));
    assert_int_equal(s.n, 1);
    silences_free(&s);
}

static void test_expire_remove_next_end(void **state)
{
    (void)state;
    struct silences s;
    silences_init(&s, "/nonexistent");
    assert_true(silences_next_end(&s) == INT64_MAX);
    add(&s, "a", NULL, false, 0, 300 * S);
    add(&s, "b", NULL, false, 0, 100 * S);
    add(&s, "c", NULL, false, 0, 200 * S);
    assert_true(silences_next_end(&s) == 100 * S);
    assert_int_equal(silences_expire(&s, 99 * S), 0);
    assert_int_equal(silences_expire(&s, 200 * S), 2); /* b and c, c exactly at its end */
    assert_int_equal(s.n, 1);
    assert_string_equal(s.v[0].endpoint, "a");
    assert_true(silences_next_end(&s) == 300 * S);
    char id[17];
    memcpy(id, s.v[0].id, sizeof id);
    assert_int_equal(silences_remove(&s, "0000000000000000", NULL), -1);
    struct silence out;
    assert_int_equal(silences_remove(&s, id, &out), 0);
    assert_string_equal(out.endpoint, "a");
    silence_clear(&out);
    assert_int_equal(s.n, 0);
    silences_free(&s);
}

/* A silence given by URL keeps the endpoint's name of add time: logged, listed (JSON) and in the file with it. */
static void test_added_by_url_named(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-test-silences-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct cw_endpoint eps[1] = { ep("http://127.0.0.1:9/health", "web1", NULL) };
    struct cw_config cfg = { .endpoints = eps, .n_endpoints = 1 };
    struct cw_config *cfgp = &cfg;
    struct silences s;
    silences_init(&s, dir);
    struct silenceops so = { .silences = &s, .cfg = &cfgp };
    struct control_ops ops = { 0 };
    silenceops_bind(&ops, &so);
    int64_t now = cw_wall_us();
    struct silence want = { .endpoint = "http://127.0.0.1:9/health",
                            .start_us = now,
                            .end_us = now + 3600 * S,
                            .created_us = now,
                            .reason = "deploy",
                            .author = "alice" };
    const struct silence *x = NULL;
    char err[512];
    assert_int_equal(ops.silence_add(ops.ctx, &want, &x, err, sizeof err), 0);
    char scope[600];
    assert_string_equal(silence_scope(x, scope, sizeof scope), "endpoint web1 (http://127.0.0.1:9/health)");
    struct cw_buf out = { 0 };
    silences_json_put(silence_to_json(x, true), false, &out);
    cw_buf_put(&out, "", 1);
    assert_non_null(strstr((const char *)out.data, "\"endpoint_name\":\"web1\""));
    cw_buf_free(&out);
    struct silences back;
    silences_init(&back, dir);
    assert_int_equal(silences_load(&back, now), 1);
    assert_string_equal(back.v[0].endpoint_name, "web1");
    char path[600];
    snprintf(path, sizeof path, "%s", s.path);
    silences_free(&back);
    silences_free(&s);
    unlink(path);
    rmdir(dir);
}

static void test_file_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-test-silences-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int64_t now = 1800000000LL * S;
    struct silences s;
    silences_init(&s, dir);
    add(&s, "billing", NULL, false, now, now + 3600 * S);
    add(&s, NULL, "db", false, now, now + 7200 * S);
    add(&s, NULL, NULL, true, now - 10 * S, now + 60 * S);
    char err[512];
    assert_int_equal(silences_save(&s, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(s.path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", s.path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* replaced by rename: no temporary file left */

    struct silences back;
    silences_init(&back, dir);
    assert_int_equal(silences_load(&back, now), 3);
    assert_int_equal(back.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(back.v[i].id, s.v[i].id);
        assert_true(back.v[i].start_us == s.v[i].start_us && back.v[i].end_us == s.v[i].end_us);
        assert_string_equal(back.v[i].reason, "db upgrade");
        assert_string_equal(back.v[i].author, "alice");
    }
    assert_string_equal(back.v[0].endpoint, "billing");
    assert_string_equal(back.v[1].group, "db");
    assert_true(back.v[2].all);
    silences_free(&back);

    silences_init(&back, dir); /* loaded after the third ended: it is expired, and the file saved without it */
    assert_int_equal(silences_load(&back, now + 61 * S), 2);
    silences_free(&back);
    silences_init(&back, dir);
    assert_int_equal(silences_load(&back, now + 61 * S), 2);
    silences_free(&back);
    silences_free(&s);

    unlink(tmp);
    char path[600];
    snprintf(path, sizeof path, "%s/silences.json", dir);
    unlink(path);
    rmdir(dir);
}

static int load_text(const char *dir, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/silences.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -2;
    fputs(text, f);
    fclose(f);
    struct silences s;
    silences_init(&s, dir);
    int rc = silences_load(&s, 0);
    silences_free(&s);
    return rc;
}

static void test_bad_file_moved_aside(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-test-silences-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[600], bad[600];
    snprintf(path, sizeof path, "%s/silences.json", dir);
    snprintf(bad, sizeof bad, "%s/silences.json.bad", dir);
    struct silences s;
    silences_init(&s, dir);
    assert_int_equal(silences_load(&s, 0), 0); /* no file */
    silences_free(&s);
    static const char *const bad_texts[] = {
        "not json",
        "{\"v\":1}",
        "{\"v\":2,\"silences\":[]}",
        "{\"v\":1,\"silences\":[{\"id\":\"zz\"}]}",
        "{\"v\":1,\"silences\":[{\"id\":\"0123456789abcdef\",\"endpoint\":\"a\",\"group\":null,\"all\":false,"
        "\"start_us\":5,\"end_us\":1,\"created_us\":1,\"reason\":\"r\",\"author\":\"a\"}]}",
        "{\"v\":1,\"silences\":[{\"id\":\"0123456789abcdef\",\"endpoint\":null,\"group\":null,\"all\":false,"
        "\"start_us\":1,\"end_us\":5,\"created_us\":1,\"reason\":\"r\",\"author\":\"a\"}]}",
        /* times out of range: end - start overflowed into a silence that never ends; an end past 2100 made the
         * alerter's wake-up time (ns) overflow into the past: a busy loop */
        "{\"v\":1,\"silences\":[{\"id\":\"0123456789abcdef\",\"endpoint\":null,\"group\":\"g\",\"all\":false,"
        "\"start_us\":-1,\"end_us\":9223372036854775807,\"created_us\":1,\"reason\":\"r\",\"author\":\"a\"}]}",
        "{\"v\":1,\"silences\":[{\"id\":\"0123456789abcdef\",\"endpoint\":null,\"group\":\"g\",\"all\":false,"
        "\"start_us\":9300000000000000,\"end_us\":9300000086400000,\"created_us\":1,\"reason\":\"r\","
        "\"author\":\"a\"}]}",
        "{\"v\":1,\"silences\":[{\"id\":\"0123456789abcdef\",\"endpoint\":null,\"group\":\"g\",\"all\":false,"
        "\"start_us\":1,\"end_us\":5,\"created_us\":-7,\"reason\":\"r\",\"author\":\"a\"}]}",
    };
    for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts[0]; i++) {
        assert_int_equal(load_text(dir, bad_texts[i]), -1);
        assert_int_not_equal(access(path, F_OK), 0);
        assert_int_equal(access(bad, F_OK), 0);
        unlink(bad);
    }
    assert_int_equal(load_text(dir,
                               "{\"v\":1,\"silences\":[{\"id\":\"0123456789abcdef\",\"endpoint\":null,\"group\":\"g\","
                               "\"all\":false,\"start_us\":0,\"end_us\":5,\"created_us\":1,\"reason\":\"r\","
                               "\"author\":\"a\"}]}"),
                     1);
    unlink(path);
    rmdir(dir);
}

static void test_duration(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t seconds; /* -1: refused */
    } cases[] = {
        { "90s", 90 },         { "30m", 1800 },      { "2h", 7200 }, { "1d", 86400 }, { "1h30m", 5400 },
        { "1d2h3m4s", 93784 }, { "365d", 31536000 }, { "366d", -1 }, { "", -1 },      { "10", -1 },
        { "h", -1 },           { "0s", -1 },         { "-5m", -1 },  { "30m1h", -1 }, { "1h1h", -1 },
        { "5 m", -1 },         { "1.5h", -1 },       { "5M", -1 },   { "5m ", -1 },   { "99999999999999999999s", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = 0;
        char err[200] = "";
        int rc = silencecmd_parse_duration(cases[i].text, &got, err, sizeof err);
        if (cases[i].seconds < 0) {
            if (rc == 0) fail_msg("'%s' accepted as %lld", cases[i].text, (long long)got);
            assert_true(err[0] != '\0');
        } else {
            if (rc != 0) fail_msg("'%s' refused: %s", cases[i].text, err);
            assert_true(got == cases[i].seconds);
        }
    }
    char err[200];
    int64_t got;
    assert_int_equal(silencecmd_parse_duration("2", &got, err, sizeof err), -1); /* a bare number: say how */
    assert_string_equal(err, "bad duration '2': write it as 90s, 30m, 2h, 1d or 1h30m");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_scopes),
        cmocka_unit_test(test_add_refuses),
        cmocka_unit_test(test_expire_remove_next_end),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_added_by_url_named),
        cmocka_unit_test(test_bad_file_moved_aside),
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
