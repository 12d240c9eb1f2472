/* tests/unit/test_secret_wipe.c — the locations' configuration distribution wipes the snapshot bytes (they hold the
 * endpoints' check secrets) before it frees them: a probe's copy of the central's configuration
 * (probe_central_free), central.snap's write and read buffers (probe_cache_save, probe_cache_load), the central's
 * prepared answers and its reply buffer (confserve_free).
 *
 * This binary is linked with -Wl,--wrap=free (Makefile): every free() of the code under test goes through
 * __wrap_free below, which counts the blocks freed with the secret still in them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base/util.h"
#include "supervisor/confserve.h"
#include "supervisor/probe.h"

#define SECRET "Authorization: Bearer s3cr3t-that-must-not-linger"

static unsigned long unwiped; /* blocks freed with SECRET in them */

void __real_free(void *p);
void __wrap_free(void *p);
void __wrap_free(void *p)
{
    if (p && memmem(p, malloc_usable_size(p), SECRET, strlen(SECRET))) unwiped++;
    __real_free(p);
}

static unsigned char *secret_bytes(size_t *len)
{
    const char text[] = "snapshot bytes: " SECRET " and more";
    *len = sizeof text - 1;
    unsigned char *b = cw_xmalloc(*len);
    memcpy(b, text, *len);
    return b;
}

static void fill(struct probe_central *c)
{
    memset(c, 0, sizeof *c);
    c->snap = secret_bytes(&c->snap_len);
    c->store_address = cw_xstrdup("tcp://*:7001");
    c->alert_address = cw_xstrdup("tcp://*:7002");
    c->publish_address = cw_xstrdup("tcp://*:7003");
    c->hash = probe_config_hash(c->snap, c->snap_len, c->store_address, c->alert_address, c->publish_address);
    c->received_at_us = 1;
}

static void test_probe_central_free(void **state)
{
    (void)state;
    struct probe_central c;
    fill(&c);
    unwiped = 0;
    probe_central_free(&c);
    assert_int_equal(unwiped, 0);
}

static void test_cache_save_and_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-test-wipe-XXXXXX", err[600], path[300];
    assert_non_null(mkdtemp(dir));
    struct probe_central c, back;
    fill(&c);
    unwiped = 0;
    assert_int_equal(probe_cache_save(dir, &c, err, sizeof err), 0);
    assert_int_equal(probe_cache_load(dir, &back, err, sizeof err), 1);
    assert_memory_equal(back.snap, c.snap, c.snap_len);
    probe_central_free(&back);
    probe_central_free(&c);
    assert_int_equal(unwiped, 0);
    snprintf(path, sizeof path, "%s/%s", dir, PROBE_CACHE_FILE);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_confserve_free(void **state)
{
    (void)state;
    struct confserve cs;
    memset(&cs, 0, sizeof cs);
    cs.locs = cw_xcalloc(1, sizeof *cs.locs);
    cs.n_locs = 1;
    cs.locs[0].name = cw_xstrdup("fra");
    cs.locs[0].snap = secret_bytes(&cs.locs[0].snap_len);
    cw_buf_put(&cs.scratch, cs.locs[0].snap, cs.locs[0].snap_len); /* the last reply sent */
    unwiped = 0;
    confserve_free(&cs);
    assert_int_equal(unwiped, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_central_free),
        cmocka_unit_test(test_cache_save_and_load),
        cmocka_unit_test(test_confserve_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
