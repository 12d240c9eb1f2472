/* tests/unit/test_seqwin.c — the alerter's applied-seq record (alerter/seqwin.c): in-order results,
 * resends (duplicates) refused, out-of-order within the window (late), a slide beyond it, several boots per worker
 * with eviction, each location's worker slots apart (issue 16), worker numbers bounded, and the file round trip
 * (so the rule holds across an alerter restart; a version-1 file still loads), malformed files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alerter/seqwin.h"

static void test_in_order_and_resend(void **state)
{
    (void)state;
    struct seqwin w;
    seqwin_init(&w);
    for (uint64_t s = 1; s <= 100; s++) assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 0, 7, s));
    /* go-back-N resend of 50..100: all duplicates */
    for (uint64_t s = 50; s <= 100; s++) assert_int_equal(SEQWIN_DUP, seqwin_accept(&w, "", 0, 7, s));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 0, 7, 101));
    assert_int_equal(w.n, 1);
    assert_int_equal(w.e[0].hi, 101);
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&w, "", 0, 7, 0));
    /* another boot and another worker are separate sequences */
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 0, 8, 1));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 1, 7, 50)); /* first seen midway: its starting point */
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&w, "", 1, 7, 49));
    seqwin_free(&w);
}

static void test_window(void **state)
{
    (void)state;
    struct seqwin w;
    seqwin_init(&w);
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 3, 1, 1));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 3, 1, 5));  /* 2..4 missing for now */
    assert_int_equal(SEQWIN_LATE, seqwin_accept(&w, "", 3, 1, 3)); /* new, but 5 was applied already */
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&w, "", 3, 1, 5));
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&w, "", 3, 1, 3));
    assert_int_equal(w.e[0].hi, 1);
    assert_int_equal(SEQWIN_LATE, seqwin_accept(&w, "", 3, 1, 2));
    assert_int_equal(SEQWIN_LATE, seqwin_accept(&w, "", 3, 1, 4));
    assert_int_equal(w.e[0].hi, 5);
    /* far beyond the window: it slides; what it passed over counts as come */
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 3, 1, 5 + SEQWIN_BITS + 100));
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&w, "", 3, 1, 6));
    assert_int_equal(SEQWIN_LATE, seqwin_accept(&w, "", 3, 1, 5 + SEQWIN_BITS + 99));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 3, 1, 5 + SEQWIN_BITS + 101));
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&w, "", 3, 1, 5 + SEQWIN_BITS + 100));
    seqwin_free(&w);
}

static void test_eviction(void **state)
{
    (void)state;
    struct seqwin w;
    seqwin_init(&w);
    for (uint64_t b = 1; b <= SEQWIN_BOOTS_PER_WORKER + 3; b++)
        assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 2, b, 1));
    assert_int_equal(w.n, SEQWIN_BOOTS_PER_WORKER);
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&w, "", 2, SEQWIN_BOOTS_PER_WORKER + 3, 1));
    seqwin_free(&w);
}

/* Nine locations, each with its own worker slot 0: a resend of one of them is still a duplicate (the boots of one
 * location's slot are kept apart from the others'). */
static void test_locations_apart(void **state)
{
    (void)state;
    static const char *const locs[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i" };
    struct seqwin w;
    seqwin_init(&w);
    for (uint64_t seq = 1; seq <= 5; seq++)
        for (uint64_t k = 0; k < 9; k++) assert_int_equal(seqwin_accept(&w, locs[k], 0, 1000 + k, seq), SEQWIN_NEW);
    assert_int_equal(seqwin_accept(&w, "a", 0, 1000, 5), SEQWIN_DUP);
    assert_int_equal(seqwin_accept(&w, "a", 0, 1000, 3), SEQWIN_DUP);
    assert_int_equal(seqwin_accept(&w, "b", 0, 1000, 1), SEQWIN_NEW); /* the same boot id elsewhere: apart */
    seqwin_free(&w);
}

/* A worker number no configuration has is refused (not recorded); the table never grows beyond its bound. */
static void test_bounds(void **state)
{
    (void)state;
    struct seqwin w;
    seqwin_init(&w);
    assert_int_equal(seqwin_accept(&w, "fra", SEQWIN_WORKERS_MAX, 1, 1), SEQWIN_REFUSED);
    assert_int_equal(seqwin_accept(&w, "fra", UINT32_MAX, 1, 1), SEQWIN_REFUSED);
    assert_int_equal(w.n, 0);
    assert_int_equal(seqwin_accept(&w, "fra", SEQWIN_WORKERS_MAX - 1, 1, 1), SEQWIN_NEW);
    char name[16];
    for (uint32_t i = 0; i < SEQWIN_ENTRIES_MAX + 50; i++) {
        snprintf(name, sizeof name, "l%u", i / SEQWIN_WORKERS_MAX);
        assert_int_equal(seqwin_accept(&w, name, i % SEQWIN_WORKERS_MAX, 7, 1), SEQWIN_NEW);
    }
    assert_int_equal(w.n, SEQWIN_ENTRIES_MAX);
    seqwin_free(&w);
}

static void test_file_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/cwseqwin.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], err[256];
    snprintf(path, sizeof path, "%s/alerter.seqs", dir);
    struct seqwin w, r;
    seqwin_init(&w);
    seqwin_init(&r);
    assert_int_equal(seqwin_load(&r, path, err, sizeof err), 0);
    for (uint64_t s = 1; s <= 10; s++) assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 0, 0xabcdef0123456789ULL, s));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 0, 0xabcdef0123456789ULL, 200));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "", 4, 9, 3));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&w, "nyc", 4, 9, 8));
    assert_int_equal(seqwin_save(&w, path, err, sizeof err), 0);
    assert_int_equal(seqwin_load(&r, path, err, sizeof err), 1);
    assert_int_equal(r.n, 3);
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&r, "nyc", 4, 9, 8));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&r, "nyc", 4, 9, 9)); /* and goes on */
    /* a restarted alerter refuses what was applied before it */
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&r, "", 0, 0xabcdef0123456789ULL, 10));
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&r, "", 0, 0xabcdef0123456789ULL, 200));
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&r, "", 4, 9, 3));
    assert_int_equal(SEQWIN_LATE, seqwin_accept(&r, "", 0, 0xabcdef0123456789ULL, 11)); /* 200 came after it */
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&r, "", 0, 0xabcdef0123456789ULL, 201));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&r, "", 4, 9, 4));
    /* a version-1 file (no location): its entry is taken over by the first location seen of that worker and boot */
    FILE *v1 = fopen(path, "w");
    assert_non_null(v1);
    fprintf(v1, "clockwerk-alerter-seqs 1\n3 00000000000000aa 10 ");
    for (size_t k = 0; k < SEQWIN_WORDS; k++) fputs("0000000000000000", v1);
    fputc('\n', v1);
    fclose(v1);
    assert_int_equal(seqwin_load(&r, path, err, sizeof err), 1);
    assert_int_equal(SEQWIN_DUP, seqwin_accept(&r, "fra", 3, 0xaa, 10));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&r, "fra", 3, 0xaa, 11));
    assert_int_equal(SEQWIN_NEW, seqwin_accept(&r, "nyc", 3, 0xaa, 1)); /* taken by fra already */
    /* malformed files are refused, never half loaded */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("clockwerk-alerter-seqs 1\n0 zz 1 00\n", f);
    fclose(f);
    assert_int_equal(seqwin_load(&r, path, err, sizeof err), -1);
    assert_int_equal(r.n, 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("something else\n", f);
    fclose(f);
    assert_int_equal(seqwin_load(&r, path, err, sizeof err), -1);
    unlink(path);
    rmdir(dir);
    seqwin_free(&w);
    seqwin_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_resend),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_locations_apart),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
