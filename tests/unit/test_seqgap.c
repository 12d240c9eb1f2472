/* tests/unit/test_seqgap.c — the one gap counter of receivers of results (common/wire/seqgap.c): a sender's first
 * seq is its start, next/gap/repeat verdicts and the counters behind them, senders kept apart by worker and
 * by boot id, and the bound (the least recently seen sender is forgotten, and starts afresh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/wire/seqgap.h"

static void test_verdicts(void **state)
{
    (void)state;
    struct seqgap g;
    seqgap_init(&g, 0);
    struct seqgap_note n = seqgap_note(&g, 7, 0xa, 100); /* a receiver may start late: not a gap */
    assert_int_equal(n.kind, SEQGAP_FIRST);
    assert_int_equal(seqgap_note(&g, 7, 0xa, 101).kind, SEQGAP_NEXT);
    n = seqgap_note(&g, 7, 0xa, 105);
    assert_int_equal(n.kind, SEQGAP_GAP);
    assert_int_equal(n.missing, 3);
    assert_int_equal(n.after, 101);
    n = seqgap_note(&g, 7, 0xa, 104); /* late */
    assert_int_equal(n.kind, SEQGAP_REPEAT);
    assert_int_equal(n.after, 105);
    assert_int_equal(seqgap_note(&g, 7, 0xa, 105).kind, SEQGAP_REPEAT); /* repeated */
    assert_int_equal(seqgap_note(&g, 7, 0xa, 106).kind, SEQGAP_NEXT);   /* the last seq stayed 105 */
    assert_int_equal(seqgap_note(&g, 8, 0xa, 1).kind, SEQGAP_FIRST);    /* another worker */
    assert_int_equal(seqgap_note(&g, 7, 0xb, 1).kind, SEQGAP_FIRST);    /* worker 7 restarted */
    assert_int_equal(seqgap_note(&g, 7, 0xa, 107).kind, SEQGAP_NEXT);   /* its old boot is still known */
    assert_int_equal(g.gaps, 1);
    assert_int_equal(g.missing, 3);
    assert_int_equal(g.repeats, 2);
    assert_int_equal(g.senders, 3);
    assert_int_equal(g.n, 3);
    seqgap_free(&g);
    assert_int_equal(g.n, 0);
}

static void test_zeroed_is_empty(void **state)
{
    (void)state;
    struct seqgap g = { 0 };
    assert_int_equal(seqgap_note(&g, 0, 1, 1).kind, SEQGAP_FIRST);
    assert_int_equal(seqgap_note(&g, 0, 1, 3).missing, 1);
    seqgap_free(&g);
}

static void test_bound(void **state)
{
    (void)state;
    struct seqgap g;
    seqgap_init(&g, 4);
    assert_int_equal(seqgap_note(&g, 0, 1, 10).kind, SEQGAP_FIRST);
    for (uint32_t w = 1; w < 4; w++) seqgap_note(&g, w, 1, 5);
    assert_int_equal(seqgap_note(&g, 0, 1, 11).kind, SEQGAP_NEXT); /* worker 0 is now the most recent */
    assert_int_equal(seqgap_note(&g, 9, 1, 5).kind, SEQGAP_FIRST); /* full: worker 1 (oldest) is forgotten */
    assert_int_equal(g.n, 4);
    assert_int_equal(seqgap_note(&g, 0, 1, 13).kind, SEQGAP_GAP);
    assert_int_equal(seqgap_note(&g, 1, 1, 9).kind, SEQGAP_FIRST); /* forgotten: starts afresh, no gap */
    assert_int_equal(g.missing, 1);
    assert_int_equal(g.senders, 6);
    for (uint32_t w = 100; w < 1000; w++) assert_int_equal(seqgap_note(&g, w, 2, 5).kind, SEQGAP_FIRST);
    assert_int_equal(g.n, 4);
    assert_int_equal(seqgap_note(&g, 999, 2, 7).missing, 1);
    seqgap_free(&g);
}

/* A seq far beyond the last (a crafted or corrupt result: 2^63 was seen, and wrapped a signed counter) is not
 * believed: counted as a jump, neither a gap nor missing results, and the sender's last seq stays, so its real
 * results go on as "next". Gaps count events, missing counts results; missing saturates, never wraps. */
static void test_absurd_jump(void **state)
{
    (void)state;
    struct seqgap g;
    seqgap_init(&g, 0);
    assert_int_equal(seqgap_note(&g, 1, 2, 10).kind, SEQGAP_FIRST);
    struct seqgap_note n = seqgap_note(&g, 1, 2, 10 + (UINT64_C(1) << 63));
    assert_int_equal(n.kind, SEQGAP_JUMP);
    assert_int_equal(n.after, 10);
    assert_true(g.jumps == 1 && g.gaps == 0 && g.missing == 0);
    assert_int_equal(seqgap_note(&g, 1, 2, 11).kind, SEQGAP_NEXT);
    assert_int_equal(seqgap_note(&g, 1, 2, UINT64_MAX).kind, SEQGAP_JUMP);
    /* the largest believed gap */
    n = seqgap_note(&g, 1, 2, 12 + SEQGAP_JUMP_MAX);
    assert_int_equal(n.kind, SEQGAP_GAP);
    assert_true(n.missing == SEQGAP_JUMP_MAX);
    assert_int_equal(seqgap_note(&g, 1, 2, 14 + 2 * SEQGAP_JUMP_MAX).kind, SEQGAP_JUMP);
    assert_true(g.jumps == 3 && g.gaps == 1 && g.missing == SEQGAP_JUMP_MAX);
    /* gaps are events, missing results */
    assert_int_equal(seqgap_note(&g, 1, 2, 15 + SEQGAP_JUMP_MAX).missing, 2);
    assert_true(g.gaps == 2 && g.missing == SEQGAP_JUMP_MAX + 2);
    assert_true(g.missing <= (uint64_t)INT64_MAX);
    seqgap_free(&g);
}

/* Many large gaps: missing stops at INT64_MAX (what a signed stats counter holds) rather than wrapping. */
static void test_missing_saturates(void **state)
{
    (void)state;
    struct seqgap g;
    seqgap_init(&g, 0);
    g.missing = (uint64_t)INT64_MAX - 5;
    seqgap_note(&g, 1, 2, 1);
    seqgap_note(&g, 1, 2, 100);
    assert_true(g.missing == (uint64_t)INT64_MAX);
    assert_int_equal(g.gaps, 1);
    seqgap_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),    cmocka_unit_test(test_zeroed_is_empty),   cmocka_unit_test(test_bound),
        cmocka_unit_test(test_absurd_jump), cmocka_unit_test(test_missing_saturates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
