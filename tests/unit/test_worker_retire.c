/* tests/unit/test_worker_retire.c — the retired shards of a worker's reloads in place (worker/retire.c): each retired
 * generation counts only the checks started under it and is handed back for freeing when its own last check is
 * collected, whatever older checks are still in flight (review finding 1: three reloads, a hanging check of
 * generation 1, quick checks of generations 2 and 3: 2 and 3 are freed while 1 waits); busy[] keeps each check's tag
 * through the renumbering (orphans past the new end), and a new tag skips 0 and the tags still owned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/remap.h"
#include "worker/retire.h"

/* A worker reduced to what the ledger sees: n endpoints that never change, busy[] and the retired list. */
struct sim {
    uint32_t busy[8];
    size_t n;
    uint32_t gen;
    struct retired *list;
    unsigned freed; /* generations handed back */
};

static void start(struct sim *s, uint32_t id) { s->busy[id] = s->gen; }

/* worker/reload.c's order: renumber (every endpoint kept in place), retire the running generation, next tag. */
static void reload(struct sim *s)
{
    uint32_t map[8];
    for (size_t i = 0; i < s->n; i++) map[i] = (uint32_t)i;
    size_t n_ids, pending;
    uint32_t *busy = retire_remap_busy(s->busy, s->n, map, s->n, s->n, s->gen, &n_ids, &pending);
    assert_int_equal(n_ids, s->n);
    memcpy(s->busy, busy, n_ids * sizeof *busy);
    free(busy);
    struct retired *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->gen = s->gen;
    r->in_flight = pending;
    s->gen = retire_next_gen(s->list, s->gen);
    if (pending) {
        r->next = s->list;
        s->list = r;
    } else {
        free(r);
        s->freed++;
    }
}

static void over(struct sim *s, uint32_t id)
{
    uint32_t gen = s->busy[id];
    s->busy[id] = 0;
    if (!gen || gen == s->gen) return;
    struct retired *r = retire_check_over(&s->list, gen);
    if (!r) return;
    assert_int_equal(r->gen, gen);
    assert_int_equal(r->in_flight, 0);
    assert_null(r->next);
    free(r);
    s->freed++;
}

static void test_each_generation_freed_by_its_own_checks(void **state)
{
    (void)state;
    struct sim s = { .n = 4, .gen = 1 };
    start(&s, 0); /* hangs for the whole test: generation 1 */
    reload(&s);   /* 1 retired, holding check 0 */
    assert_int_equal(retire_count(s.list), 1);
    start(&s, 1); /* quick: generation 2 */
    reload(&s);   /* 2 retired, holding check 1 */
    start(&s, 2); /* quick: generation 3 */
    reload(&s);   /* 3 retired, holding check 2 */
    assert_int_equal(retire_count(s.list), 3);
    assert_int_equal(s.busy[0], 1);
    assert_int_equal(s.busy[1], 2);
    assert_int_equal(s.busy[2], 3);
    over(&s, 1); /* generation 2's last check: 2 is freed though 1's check hangs */
    assert_int_equal(s.freed, 1);
    assert_int_equal(retire_count(s.list), 2);
    over(&s, 2);
    assert_int_equal(s.freed, 2);
    assert_int_equal(retire_count(s.list), 1);
    assert_int_equal(s.list->gen, 1);
    /* many more reloads, a quick check under each: the list never grows past the hanging one and the newest */
    for (int k = 0; k < 100; k++) {
        start(&s, 3);
        reload(&s);
        assert_true(retire_count(s.list) <= 2);
        over(&s, 3);
        assert_int_equal(retire_count(s.list), 1);
    }
    assert_int_equal(s.freed, 102);
    over(&s, 0); /* the hanging check ends at last */
    assert_null(s.list);
    assert_int_equal(s.freed, 103);
}

static void test_reload_with_nothing_in_flight(void **state)
{
    (void)state;
    struct sim s = { .n = 2, .gen = 1 };
    reload(&s);
    assert_null(s.list);
    assert_int_equal(s.freed, 1);
    start(&s, 0); /* a check of the current generation: its end frees nothing */
    over(&s, 0);
    assert_int_equal(s.freed, 1);
    assert_null(retire_check_over(&s.list, 7)); /* not listed */
}

static void test_remap_keeps_tags_and_orphans(void **state)
{
    (void)state;
    /* ids 0..3 of the old shard plus an orphan (4) of an earlier reload; the new shard has 2 endpoints */
    uint32_t busy[5] = { 5, 0, 6, 6, 4 };
    uint32_t map[5] = { 1, 0, REMAP_GONE, 0, 0 }; /* map[3] is set below; map[4] is past n_old */
    map[3] = REMAP_GONE;
    size_t n_ids, pending;
    uint32_t *out = retire_remap_busy(busy, 5, map, 4, 2, 6, &n_ids, &pending);
    assert_int_equal(n_ids, 2 + 3); /* ids 2, 3 and the old orphan become orphans 2, 3, 4 */
    assert_int_equal(pending, 2);   /* two checks of generation 6 */
    assert_int_equal(out[1], 5);    /* old 0 -> 1 keeps its tag */
    assert_int_equal(out[0], 0);    /* old 1 was idle */
    assert_int_equal(out[2], 6);
    assert_int_equal(out[3], 6);
    assert_int_equal(out[4], 4);
    assert_int_equal(map[4], 4);
    free(out);
}

static void test_next_gen_skips_zero_and_owned(void **state)
{
    (void)state;
    struct retired a = { .gen = 1, .in_flight = 1 }, b = { .gen = 2, .in_flight = 1, .next = &a };
    assert_int_equal(retire_next_gen(NULL, 7), 8);
    assert_int_equal(retire_next_gen(&b, UINT32_MAX), 3); /* wraps past 0, 1 and 2 */
    assert_int_equal(retire_next_gen(&b, 0), 3);
    assert_int_equal(retire_count(&b), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_generation_freed_by_its_own_checks),
        cmocka_unit_test(test_reload_with_nothing_in_flight),
        cmocka_unit_test(test_remap_keeps_tags_and_orphans),
        cmocka_unit_test(test_next_gen_skips_zero_and_owned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
