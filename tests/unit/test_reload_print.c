/* tests/unit/test_reload_print.c — what the supervisor keeps of a running generation (issue 18): its settings
 * (config_settings_copy) and its endpoints' fingerprints (supervisor/reload.h "Fingerprints"), and the reload diff
 * made from them: a changed shard is detected and an unchanged one is not, a reorder inside a shard is a change and
 * one across shards is not, the added/removed counts, a reader's view, the settings copy equal to its source for
 * every comparison, and apply_settle keeping no endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/log.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "supervisor/apply.h"
#include "supervisor/fingerprint.h"
#include "supervisor/reload.h"
#include "supervisor/supervisor.h"

static char dir[] = "/tmp/cw-test-reload-print-XXXXXX";

static void report(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "config: %s\n", message);
}

static struct cw_config *load(const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/r.conf", dir); /* one path, as a reload reads */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0600), 0);
    struct cw_config *cfg = config_load(path, report, NULL);
    assert_non_null(cfg);
    return cfg;
}

/* The running generation as the supervisor keeps it: a's settings and a's print. */
struct kept {
    struct cw_config *settings;
    struct reload_print print;
};

static void keep(struct kept *k, const struct cw_config *a)
{
    char err[256];
    k->settings = config_settings_copy(a, err, sizeof err);
    assert_non_null(k->settings);
    assert_int_equal(k->settings->n_endpoints, 0);
    assert_null(k->settings->endpoints);
    reload_print_make(&k->print, a);
}

static void unkeep(struct kept *k)
{
    config_free(k->settings);
    reload_print_free(&k->print);
}

/* Two URLs of the same shard of 4 and one of another (found by trying: cw_shard_of is a hash). */
static void pick_urls(char same1[64], char same2[64], char other[64])
{
    snprintf(same1, 64, "http://127.0.0.1:1/u0");
    unsigned s1 = cw_shard_of(same1, 4);
    bool got_same = false, got_other = false;
    for (int i = 1; i < 1000 && !(got_same && got_other); i++) {
        char u[64];
        snprintf(u, sizeof u, "http://127.0.0.1:1/u%d", i);
        if (!got_same && cw_shard_of(u, 4) == s1) {
            memcpy(same2, u, 64);
            got_same = true;
        } else if (!got_other && cw_shard_of(u, 4) != s1) {
            memcpy(other, u, 64);
            got_other = true;
        }
    }
    assert_true(got_same && got_other);
}

static struct cw_config *load_list(const char *u1, const char *u2, const char *u3, int timeout3)
{
    char text[1024];
    snprintf(text, sizeof text,
             "supervisor = { workers = 4; };\n"
             "monitor = { endpoints = ( { url = \"%s\"; }, { url = \"%s\"; }, { url = \"%s\"; timeout = %d; } ); };\n",
             u1, u2, u3, timeout3);
    return load(text);
}

static void test_shards(void **state)
{
    (void)state;
    char s1[64], s2[64], o[64];
    pick_urls(s1, s2, o);
    struct cw_config *a = load_list(s1, s2, o, 5);
    struct kept k;
    keep(&k, a);
    bool changed[4];
    struct reload_print p;

    reload_print_make(&p, a); /* the same file again: nothing */
    reload_print_shards(&k.print, &p, 4, changed);
    for (int i = 0; i < 4; i++) assert_false(changed[i]);
    reload_print_free(&p);

    struct cw_config *b = load_list(s1, s2, o, 6); /* o's timeout: o's shard only */
    reload_print_make(&p, b);
    reload_print_shards(&k.print, &p, 4, changed);
    for (unsigned i = 0; i < 4; i++) assert_int_equal(changed[i], i == cw_shard_of(o, 4));
    assert_false(reload_worker_globals_changed(k.settings, b));
    reload_print_free(&p);
    config_free(b);

    b = load_list(s2, s1, o, 5); /* reordered inside one shard: its worker's order changed */
    reload_print_make(&p, b);
    reload_print_shards(&k.print, &p, 4, changed);
    for (unsigned i = 0; i < 4; i++) assert_int_equal(changed[i], i == cw_shard_of(s1, 4));
    reload_print_free(&p);
    config_free(b);

    b = load_list(s1, o, s2, 5); /* o moved across the other shard's: no worker sees a change */
    char text[1024];
    config_free(b);
    snprintf(text, sizeof text,
             "supervisor = { workers = 4; };\n"
             "monitor = { endpoints = ( { url = \"%s\"; }, { url = \"%s\"; timeout = 5; }, { url = \"%s\"; } ); };\n",
             s1, o, s2);
    b = load(text);
    reload_print_make(&p, b);
    reload_print_shards(&k.print, &p, 4, changed);
    for (int i = 0; i < 4; i++) assert_false(changed[i]);
    reload_print_shards(&k.print, &p, 2, changed); /* prints of 4 asked about 2: every shard */
    assert_true(changed[0] && changed[1]);
    reload_print_free(&p);
    config_free(b);

    unkeep(&k);
    config_free(a);
}

static void test_counts_and_readers(void **state)
{
    (void)state;
    const char *fmt = "supervisor = { workers = 2; };\n"
                      "monitor = { endpoints = ( %s ); };\n"
                      "web = { listen = \"127.0.0.1:1\"; };\n";
    const char *lists[] = {
        "{ url = \"http://h/a\"; }, { url = \"http://h/b\"; }, { url = \"http://h/c\"; }",
        "{ url = \"http://h/c\"; }, { url = \"http://h/a\"; }, { url = \"http://h/b\"; }",           /* reordered */
        "{ url = \"http://h/a\"; }, { url = \"http://h/d\"; }, { url = \"http://h/e\"; }",           /* +2 -2 */
        "{ url = \"http://h/a\"; alert_threshold = 7; }, { url = \"http://h/b\"; }, { url = \"http://h/c\"; }",
        "{ url = \"http://h/a\"; group = \"G\"; }, { url = \"http://h/b\"; }, { url = \"http://h/c\"; }",
    };
    char text[1024];
    snprintf(text, sizeof text, fmt, lists[0]);
    struct cw_config *a = load(text);
    struct kept k;
    keep(&k, a);
    struct { size_t added, removed; bool storer, alerter, web; } want[] = {
        { 0, 0, true, true, true }, { 2, 2, true, true, true }, { 0, 0, true, true, false }, { 0, 0, false, true, true },
    };
    for (size_t i = 1; i < 5; i++) {
        snprintf(text, sizeof text, fmt, lists[i]);
        struct cw_config *b = load(text);
        struct reload_print p;
        reload_print_make(&p, b);
        size_t added, removed;
        reload_print_count(&k.print, &p, &added, &removed);
        assert_int_equal(added, want[i - 1].added);
        assert_int_equal(removed, want[i - 1].removed);
        struct reload_readers d;
        reload_print_readers(k.settings, &k.print, b, &p, &d);
        assert_false(d.storer.globals || d.alerter.globals || d.web.globals);
        assert_int_equal(d.storer.endpoints, want[i - 1].storer);
        assert_int_equal(d.alerter.endpoints, want[i - 1].alerter);
        assert_int_equal(d.web.endpoints, want[i - 1].web);
        /* the same answers as from the two whole configurations */
        struct reload_readers whole;
        reload_readers_diff(a, b, &whole);
        assert_memory_equal(&whole, &d, sizeof d);
        reload_print_free(&p);
        config_free(b);
    }
    assert_int_equal(reload_print_bytes(&k.print) < 200, true);
    unkeep(&k);
    config_free(a);
}

/* A configuration with every kind of setting: its settings copy compares equal to it for every child. */
static void test_settings_copy_same(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text,
             "supervisor = { workers = 2; location = \"here\"; };\n"
             "monitor = { check_interval = 30; endpoints = (\n"
             "  { url = \"http://h/a\"; group = \"G\"; }, { url = \"http://h/b\"; name = \"B\"; } ); };\n"
             "database = { db_activation = true; db_driver = \"sqlite\"; db_name = \"x.db\"; };\n"
             "alerts = { webhooks = ( { url = \"http://127.0.0.1:9/hook\"; } ); };\n"
             "email = { smtp_host = \"127.0.0.1\"; email_from = \"a@b.c\"; email_to = [ \"d@e.f\" ];\n"
             "  smtp_password = \"secret-pw\"; };\n"
             "maintenance = ( { name = \"w\"; endpoints = [ \"B\" ]; start = \"2030-01-01T00:00:00Z\";\n"
             "  duration = 3600; } );\n"
             "web = { listen = \"127.0.0.1:1\"; };\n");
    struct cw_config *a = load(text);
    struct kept k;
    keep(&k, a);
    assert_int_equal(k.settings->n_maintenance, 1);
    assert_int_equal(k.settings->maintenance[0].endpoints[0], 1);
    assert_string_equal(k.settings->path, a->path);
    assert_false(reload_worker_globals_changed(k.settings, a));
    assert_false(reload_relay_changed(k.settings, a));
    assert_false(reload_curve_changed(k.settings, a));
    struct reload_readers d;
    reload_print_readers(k.settings, &k.print, a, &k.print, &d);
    assert_false(d.storer.globals || d.alerter.globals || d.web.globals);
    assert_false(d.storer.endpoints || d.alerter.endpoints || d.web.endpoints);
    if (a->smtp_password) assert_string_equal(k.settings->smtp_password, a->smtp_password); /* secrets kept */
    unkeep(&k);
    config_free(a);
}

/* The fingerprints differ for each field a worker reads; the alerting keys are not a worker's. */
static void test_endpoint_put_fields(void **state)
{
    (void)state;
    char *hdr[] = { "X-A: 1" }, *kw[] = { "ok" };
    struct cw_status_range range = { 200, 201 };
    /* the probe's details are in the spec (an endpoint's own: compared deeply, never by pointer) */
    const struct cw_check_spec s_kw = { .keyword = "k" }, s_hdr = { .headers = hdr, .n_headers = 1 },
                                      s_icmp = { .icmp_count = 2 }, s_kws = { .keywords = kw, .n_keywords = 1 },
                                      s_range = { .status_ranges = &range, .n_status_ranges = 1 },
                                      s_proxy = { .proxy = "http://p:1" };
    struct cw_endpoint base = { .url = "http://h/a", .timeout = 5, .interval = 60 };
    struct cw_endpoint v[] = {
        { .url = "http://h/b", .timeout = 5, .interval = 60 },
        { .url = "http://h/a", .timeout = 6, .interval = 60 },
        { .url = "http://h/a", .timeout = 5, .interval = 60, .spec = &s_kw },
        { .url = "http://h/a", .timeout = 5, .interval = 60, .spec = &s_hdr },
        { .url = "http://h/a", .timeout = 5, .interval = 60, .host = "x" },
        { .url = "http://h/a", .timeout = 5, .interval = 60, .spec = &s_icmp },
        { .url = "http://h/a", .timeout = 5, .interval = 60, .spec = &s_kws },
        { .url = "http://h/a", .timeout = 5, .interval = 60, .spec = &s_range },
        { .url = "http://h/a", .timeout = 5, .interval = 60, .spec = &s_proxy },
        { .url = "http://h/a", .timeout = 5, .interval = 60, .name = "" }, /* "" is not NULL */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) assert_false(reload_endpoint_equal(&base, &v[i]));
    struct cw_endpoint alerting = base;
    alerting.severity = 2;
    alerting.flap_window = 9;
    assert_true(reload_endpoint_equal(&base, &alerting));
    struct cw_check_spec none_copy = cw_check_spec_none; /* another config's spec, equal: the same bytes */
    struct cw_endpoint other = base;
    other.spec = &none_copy;
    assert_true(reload_endpoint_equal(&base, &other));
}

static void test_fingerprint(void **state)
{
    (void)state;
    /* MurmurHash3 x64_128 of "" with seed 0 is 0; a byte, and the seed, change both halves */
    struct fp128 e = fp_bytes("", 0, 0), x = fp_bytes("a", 1, 0), y = fp_bytes("a", 1, 1);
    assert_true(e.lo == 0 && e.hi == 0);
    assert_true(x.lo != y.lo && x.hi != y.hi);
    /* the reference's value for "The quick brown fox jumps over the lazy dog", seed 0 (x86-64) */
    const char *fox = "The quick brown fox jumps over the lazy dog";
    struct fp128 f = fp_bytes(fox, strlen(fox), 0);
    assert_true(f.lo == 0xe34bbc7bbc071b6cull && f.hi == 0x7a433ca9c49a9347ull);
    /* streamed in pieces of every size: the same as whole */
    for (size_t cut = 0; cut <= strlen(fox); cut++) {
        struct fp_state st;
        fp_init(&st, 0);
        fp_add(&st, fox, cut);
        for (size_t i = cut; i < strlen(fox); i += 3) fp_add(&st, fox + i, strlen(fox) - i < 3 ? strlen(fox) - i : 3);
        assert_true(fp_eq(fp_end(&st), f));
    }
}

/* apply_settle: the supervisor keeps the settings and the prints, no endpoint. */
static void test_settle(void **state)
{
    (void)state;
    struct supervisor s;
    memset(&s, 0, sizeof s);
    s.snap_fd = -1;
    s.cfg = load("supervisor = { workers = 2; };\n"
                 "monitor = { endpoints = ( { url = \"http://h/a\"; }, { url = \"http://h/b\"; } ); };\n");
    snprintf(s.snapshot, sizeof s.snapshot, "%s/r.conf", dir); /* any file: it is only held open */
    apply_settle(&s, NULL);
    assert_int_equal(s.cfg->n_endpoints, 0);
    assert_int_equal(s.print.n_endpoints, 2);
    assert_int_equal(s.print.slots, 2);
    assert_true(s.snap_fd >= 0);
    close(s.snap_fd);
    reload_print_free(&s.print);
    config_free(s.cfg);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    log_init("test", LOG_LVL_ERROR);
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint),      cmocka_unit_test(test_endpoint_put_fields),
        cmocka_unit_test(test_shards),           cmocka_unit_test(test_counts_and_readers),
        cmocka_unit_test(test_settings_copy_same), cmocka_unit_test(test_settle),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
