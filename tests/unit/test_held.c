/* tests/unit/test_held.c — the storer's held queue (storer/held.c): batches come out in the order they were
 * pushed, with their numbers and rows, across the ring's wrap and growth; a pushed batch leaves the current
 * one empty; emptied batches are reused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "storer/held.h"

static void fill(struct store_batch *b, uint64_t first_seq, size_t rows)
{
    for (size_t i = 0; i < rows; i++) {
        struct cw_result r;
        memset(&r, 0, sizeof r);
        r.worker = 1;
        r.boot_id = 7;
        r.seq = first_seq + i;
        r.url = "http://example.test/";
        store_batch_add_check(b, &r);
    }
}

static void test_fifo(void **state)
{
    (void)state;
    struct held_queue q = { 0 };
    struct store_batch cur;
    store_batch_init(&cur);
    assert_null(held_front(&q));
    uint64_t next_out = 0, next_in = 0;
    /* push 3, pop 2, many times: the ring wraps; then 200 at once: it grows with batches wrapped */
    for (int round = 0; round < 100; round++) {
        for (int k = 0; k < 3; k++) {
            fill(&cur, 1, (size_t)(next_in % 5) + 1);
            held_push(&q, &cur, next_in++);
            assert_int_equal(store_batch_rows(&cur), 0);
        }
        for (int k = 0; k < 2; k++) {
            const struct held_batch *h = held_front(&q);
            assert_non_null(h);
            assert_int_equal(h->no, next_out);
            assert_int_equal(store_batch_rows(h->batch), (next_out % 5) + 1);
            next_out++;
            held_pop(&q);
        }
    }
    for (int k = 0; k < 200; k++) {
        fill(&cur, 1, 1);
        held_push(&q, &cur, next_in++);
    }
    size_t rows = 0;
    for (uint64_t no = next_out; no < next_in; no++) rows += no < 300 ? (size_t)(no % 5) + 1 : 1;
    assert_int_equal(q.rows, rows);
    for (; next_out < next_in; next_out++) {
        const struct held_batch *h = held_front(&q);
        assert_non_null(h);
        assert_int_equal(h->no, next_out);
        held_pop(&q);
    }
    assert_null(held_front(&q));
    assert_int_equal(q.rows, 0);
    assert_int_equal(q.n_spare, HELD_SPARES);
    held_free(&q);
    store_batch_free(&cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
