/* tests/unit/test_deadline.c — the engine's timer heap (worker/deadline.c): entries come out in time order
 * whatever order they were set, moved and cancelled in; one entry per owner; nothing before it is due. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "worker/deadline.h"

static void test_order_and_due(void **state)
{
    (void)state;
    struct deadline_heap d;
    deadline_init(&d, 8);
    assert_int_equal(deadline_next(&d), -1);
    deadline_set(&d, 3, 300);
    deadline_set(&d, 1, 100);
    deadline_set(&d, 7, 700);
    deadline_set(&d, 2, 200);
    assert_int_equal(deadline_next(&d), 100);
    uint32_t owner;
    assert_false(deadline_pop_due(&d, 99, &owner)); /* nothing due yet */
    assert_true(deadline_pop_due(&d, 250, &owner));
    assert_int_equal(owner, 1);
    assert_true(deadline_pop_due(&d, 250, &owner));
    assert_int_equal(owner, 2);
    assert_false(deadline_pop_due(&d, 250, &owner));
    assert_false(deadline_pending(&d, 1));
    assert_true(deadline_pending(&d, 3));
    deadline_free(&d);
}

static void test_move_and_cancel(void **state)
{
    (void)state;
    struct deadline_heap d;
    deadline_init(&d, 4);
    deadline_set(&d, 0, 500);
    deadline_set(&d, 1, 600);
    deadline_set(&d, 2, 700);
    deadline_set(&d, 2, 100); /* moved earlier: one entry, not two */
    assert_int_equal(d.n, 3);
    assert_int_equal(deadline_next(&d), 100);
    deadline_set(&d, 2, 900); /* moved later */
    assert_int_equal(deadline_next(&d), 500);
    deadline_cancel(&d, 0);
    deadline_cancel(&d, 0);  /* twice: nothing */
    deadline_cancel(&d, 3);  /* never set: nothing */
    deadline_set(&d, 99, 1); /* not an owner: ignored */
    assert_int_equal(d.n, 2);
    uint32_t owner;
    assert_true(deadline_pop_due(&d, 1000, &owner));
    assert_int_equal(owner, 1);
    assert_true(deadline_pop_due(&d, 1000, &owner));
    assert_int_equal(owner, 2);
    assert_int_equal(deadline_next(&d), -1);
    deadline_free(&d);
}

/* A random workload against a plain array: the heap always yields the earliest pending instant. */
static void test_random_against_model(void **state)
{
    (void)state;
    enum { OWNERS = 200 };
    struct deadline_heap d;
    deadline_init(&d, OWNERS);
    int64_t model[OWNERS];
    for (int i = 0; i < OWNERS; i++) model[i] = -1;
    uint64_t seed = 7;
    for (int step = 0; step < 200000; step++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t owner = (uint32_t)((seed >> 33) % OWNERS);
        unsigned op = (unsigned)((seed >> 20) % 4);
        if (op < 2) {
            int64_t at = (int64_t)((seed >> 40) % 100000);
            deadline_set(&d, owner, at);
            model[owner] = at;
        } else if (op == 2) {
            deadline_cancel(&d, owner);
            model[owner] = -1;
        } else {
            int64_t best = -1;
            for (int i = 0; i < OWNERS; i++)
                if (model[i] >= 0 && (best < 0 || model[i] < best)) best = model[i];
            assert_int_equal(deadline_next(&d), best);
            uint32_t got;
            if (best >= 0) {
                assert_true(deadline_pop_due(&d, best, &got));
                assert_int_equal(model[got], best);
                model[got] = -1;
            } else {
                assert_false(deadline_pop_due(&d, INT64_MAX, &got));
            }
        }
        for (int i = 0; i < OWNERS; i++) assert_int_equal(deadline_pending(&d, (uint32_t)i), model[i] >= 0);
    }
    deadline_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_due),
        cmocka_unit_test(test_move_and_cancel),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
