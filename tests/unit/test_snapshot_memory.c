/* tests/unit/test_snapshot_memory.c — what a configuration costs in memory (issue 18): the size of struct
 * cw_endpoint (one per endpoint in every process that reads them), the snapshot's checksum summed in pieces (a mapped
 * file, common/config/snapshot_map.h) equal to the one-go sum, the settings-only reader (the relay's: no endpoint),
 * a reader's peak that does not hold the whole file beside its configuration, and the narrow fields' range checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include <cmocka.h>

#include "cfgtest_util.h"
#include "common/config/config.h"
#include "common/config/config_arena.h"
#include "common/config/config_priv.h"

/* A regression guard: 568 bytes before issue 18, 456 with no hole and uint32_t counts, 168 since the probe's details
 * moved to the shared struct cw_check_spec, 144 with the small integers in their validated ranges (port uint16_t,
 * type/severity/flap_window/n_escalate/n_locations uint8_t, quorum int8_t, depends_on_idx int32_t). A new field is
 * welcome; a hole or a size_t count is not: raise this bound only with the layout kept tight (pahole -C cw_endpoint).
 * config.h holds the same bound in a static assert. */
static void test_endpoint_size(void **state)
{
    (void)state;
    assert_true(sizeof(struct cw_endpoint) <= 144);
}

static void test_checksum_in_pieces(void **state)
{
    (void)state;
    enum { N = 100003 };
    uint8_t *d = malloc(N);
    assert_non_null(d);
    for (size_t i = 0; i < N; i++) d[i] = (uint8_t)(i * 131 + (i >> 7));
    const size_t sizes[] = { 0, 1, 7, 8, 9, 4096, 65536, 100000, N };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint64_t whole = cw_snapshot_checksum(d, n);
        const size_t pieces[] = { 8, 64, 4096, 65536 }; /* every piece but the last a multiple of 8 */
        for (size_t j = 0; j < sizeof pieces / sizeof pieces[0]; j++) {
            struct cw_snapshot_sum s;
            cw_snapshot_sum_init(&s, n);
            for (size_t at = 0; at < n; at += pieces[j])
                cw_snapshot_sum_add(&s, d + at, n - at < pieces[j] ? n - at : pieces[j]);
            assert_true(cw_snapshot_sum_end(&s) == whole);
        }
    }
    free(d);
}

static char *endpoints_text(size_t n)
{
    size_t cap = n * 80 + 512;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap, "supervisor = { workers = 2; };\nmonitor = { endpoints = (\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "{ url = \"http://127.0.0.1:8080/e/%zu\"; }%s\n", i,
                                i + 1 < n ? "," : "");
    snprintf(text + len, cap - len, "); };\n");
    return text;
}

static void test_settings_reader(void **state)
{
    struct ct *t = *state;
    char *text = endpoints_text(1000);
    struct cw_config *c = ct_load(t, text);
    free(text);
    assert_non_null(c);
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/config.snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    struct cw_config *s = config_snapshot_read_settings(path, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(s->n_endpoints, 0);
    assert_int_equal(s->workers, 2);
    assert_string_equal(s->publish_address, c->publish_address);
    assert_string_equal(s->tap_address, c->tap_address);
    config_free(s);
    /* a truncated file is refused by the settings reader as by the others */
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 100), 0);
    fclose(f);
    assert_null(config_snapshot_read_settings(path, err, sizeof err));
    assert_non_null(strstr(err, "truncated"));
    config_free(c);
}

/* Where the 4-byte little-endian v followed by the n bytes of tail first lies in d (after the header), or 0. */
static size_t find_i32(const uint8_t *d, size_t len, uint32_t v, const void *tail, size_t n)
{
    uint8_t want[12] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    memcpy(want + 4, tail, n);
    for (size_t i = 32; i + 4 + n <= len; i++)
        if (memcmp(d + i, want, 4 + n) == 0) return i;
    return 0;
}

/* d (len bytes) with the i32 at `at` set to v and the header's length and checksum made valid again: read back. */
static struct cw_config *read_forged(const char *path, const uint8_t *orig, size_t len, size_t at, uint32_t v)
{
    uint8_t *d = malloc(len);
    assert_non_null(d);
    memcpy(d, orig, len);
    for (int i = 0; i < 4; i++) d[at + (size_t)i] = (uint8_t)(v >> (8 * i));
    uint64_t plen = len - 32, sum = cw_snapshot_checksum(d + 32, len - 32);
    for (int i = 0; i < 8; i++) {
        d[16 + i] = (uint8_t)(plen >> (8 * i));
        d[24 + i] = (uint8_t)(sum >> (8 * i));
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, len, f), len);
    fclose(f);
    free(d);
    char err[512];
    return config_snapshot_read(path, 0, 0, err, sizeof err);
}

/* The endpoint's narrow fields (issue 18) take a snapshot's value only within their range: a port of 65536 + 25 or
 * a flap_window of 256 + 37, which a bare cast would turn into valid values, are refused with the snapshot. */
static void test_narrow_fields_refused(void **state)
{
    struct ct *t = *state;
    struct cw_config *c = ct_load(t, "monitor = { endpoints = ( { type = \"tcp\"; name = \"t\"; host = \"127.0.0.1\";\n"
                                     "  port = 54321; flap_window = 37; flap_high = 77.25; flap_low = 11.5; } ); };\n");
    assert_non_null(c);
    char path[512], bad[512], err[512];
    snprintf(path, sizeof path, "%s/config.snap", t->dir);
    snprintf(bad, sizeof bad, "%s/bad.snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    config_free(c);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t orig[1 << 16];
    size_t len = fread(orig, 1, sizeof orig, f);
    fclose(f);
    assert_true(len > 32 && len < sizeof orig);

    struct cw_config *r =
        read_forged(bad, orig, len, 32,
                    (uint32_t)orig[32] | (uint32_t)orig[33] << 8 | (uint32_t)orig[34] << 16 | (uint32_t)orig[35] << 24);
    assert_non_null(r); /* unchanged: read back, the values as loaded */
    assert_int_equal(r->n_endpoints, 1);
    assert_int_equal(r->endpoints[0].port, 54321);
    assert_int_equal(r->endpoints[0].flap_window, 37);
    config_free(r);

    size_t port_at = find_i32(orig, len, 54321, "", 0);
    double high = 77.25;
    uint8_t high_le[8];
    memcpy(high_le, &high, 8); /* the snapshot's f64 is little-endian, as this host's */
    size_t window_at = find_i32(orig, len, 37, high_le, 8);
    assert_true(port_at > 0 && window_at > 0);
    assert_null(read_forged(bad, orig, len, port_at, 65536 + 25));
    assert_null(read_forged(bad, orig, len, window_at, 256 + 37));
    assert_null(read_forged(bad, orig, len, window_at, 3)); /* below CW_FLAP_WINDOW_MIN, as before */
    r = read_forged(bad, orig, len, window_at, 0);          /* 0: off, valid */
    assert_non_null(r);
    assert_int_equal(r->endpoints[0].flap_window, 0);
    config_free(r);
}

/* VmHWM of this process in kB, after resetting it to the current RSS when reset (clear_refs 5); -1 when unknown. */
static long hwm_kb(bool reset)
{
    if (reset) {
        FILE *c = fopen("/proc/self/clear_refs", "w");
        if (!c) return -1;
        bool ok = fputs("5", c) >= 0;
        if (fclose(c) != 0 || !ok) return -1;
    }
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* The whole file is ~300 bytes an endpoint; a reader's configuration ~500. Reading used to hold both (and the
 * endpoints twice while moving them into the arena): now the peak grows by little more than the configuration. */
static void test_read_peak(void **state)
{
    struct ct *t = *state;
    const size_t n = 200000;
    char *text = endpoints_text(n);
    struct cw_config *c = ct_load(t, text);
    free(text);
    assert_non_null(c);
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/config.snap", t->dir);
    assert_int_equal(config_snapshot_write(c, path, err, sizeof err), 0);
    config_free(c);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long file_kb = ftell(f) / 1024;
    fclose(f);
    long before = hwm_kb(true);
    struct cw_config *r = config_snapshot_read(path, 0, 0, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(r->n_endpoints, n);
    long cfg_kb = (long)(n * sizeof(struct cw_endpoint) / 1024), after = hwm_kb(false);
    config_free(r);
#ifdef __SANITIZE_ADDRESS__
    (void)cfg_kb, (void)file_kb, (void)after, (void)before; /* ASan's shadow and quarantine: RSS says nothing here */
#else
    if (before < 0 || after < 0) {
        print_message("VmHWM cannot be reset here: peak not checked\n");
        return;
    }
    print_message("file %ld kB, endpoints %ld kB, peak grew %ld kB\n", file_kb, cfg_kb, after - before);
    /* two copies of the endpoints, or the file beside them, would be at least cfg_kb + file_kb more than before */
    assert_true(after - before < cfg_kb + file_kb / 2);
#endif
}

static void test_arena_adopt(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new();
    cw_arena_adopt(a, NULL);
    for (int i = 0; i < 3; i++) cw_arena_adopt(a, malloc(1000 + (size_t)i)); /* freed with the arena (ASan: no leak) */
    cw_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_size),
        cmocka_unit_test(test_checksum_in_pieces),
        cmocka_unit_test_setup_teardown(test_settings_reader, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_narrow_fields_refused, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_read_peak, ct_setup, ct_teardown),
        cmocka_unit_test(test_arena_adopt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
