/* tests/unit/test_ackgather.c — the receiver's ack gatherer (common/bus/ackgather.c): consecutive seqs joined
 * into one range (only for the same sender, worker, boot and tag), nothing sent before the caller says a
 * range is durable (by tag, or all of one state), one message per sender, the ACKQ_RANGES_MAX bound per
 * message, the counters, and ranges from nobody (an empty peer) ignored. The messages are decoded back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/bus/ackgather.h"

#define SENT_MAX 16

struct sent {
    struct bus_peer peer[SENT_MAX];
    int nranges[SENT_MAX];
    struct ackq_range first[SENT_MAX];
    int n;
};

static void record(void *ctx, const struct bus_peer *peer, const void *data, size_t len)
{
    struct sent *s = ctx;
    assert_true(s->n < SENT_MAX);
    static struct ackq_range out[ACKQ_RANGES_MAX];
    const char *why = NULL;
    int n = ackq_ack_decode(data, len, out, ACKQ_RANGES_MAX, &why);
    assert_true(n >= 1);
    s->peer[s->n] = *peer;
    s->nranges[s->n] = n;
    s->first[s->n] = out[0];
    s->n++;
}

static struct bus_peer peer(const char *name)
{
    struct bus_peer p = { .len = strlen(name) };
    memcpy(p.id, name, p.len);
    return p;
}

static void add_seq(struct ackgather *g, const struct bus_peer *p, uint32_t worker, uint64_t seq, uint64_t tag)
{
    struct ackq_range r = { worker, 0xb00b, seq, seq, ACKQ_DURABLE };
    ackgather_add(g, p, &r, tag);
}

static void test_join_and_tags(void **state)
{
    (void)state;
    struct ackgather g;
    ackgather_init(&g);
    struct bus_peer a = peer("A"), b = peer("B"), nobody = { .len = 0 };
    for (uint64_t s = 1; s <= 10; s++) add_seq(&g, &a, 0, s, 1); /* one range */
    add_seq(&g, &a, 0, 11, 2);                                   /* another batch: apart */
    add_seq(&g, &b, 0, 12, 2);                                   /* another sender */
    add_seq(&g, &a, 1, 13, 2);                                   /* another worker */
    add_seq(&g, &nobody, 0, 14, 2);                              /* nobody to answer */
    assert_int_equal(ackgather_pending(&g), 4);

    struct sent s = { .n = 0 };
    ackgather_flush(&g, record, &s);
    assert_int_equal(s.n, 0); /* nothing durable yet */
    ackgather_mark(&g, 1, ACKGATHER_READY);
    ackgather_mark(&g, 2, ACKGATHER_HELD);
    ackgather_flush(&g, record, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.nranges[0], 1);
    assert_true(s.first[0].first == 1 && s.first[0].last == 10);
    assert_int_equal(g.acked, 10);
    assert_int_equal(ackgather_pending(&g), 3);

    add_seq(&g, &a, 0, 12, 2); /* same tag, but the range before it is held, not waiting: apart */
    assert_int_equal(ackgather_pending(&g), 4);
    ackgather_move(&g, ACKGATHER_HELD, ACKGATHER_READY);
    ackgather_flush(&g, record, &s);
    assert_int_equal(s.n, 3); /* A (two ranges of worker 0 and one of worker 1 in one message), then B */
    assert_true(s.peer[1].len == 1 && s.peer[1].id[0] == 'A');
    assert_int_equal(s.nranges[1], 2);
    assert_true(s.peer[2].len == 1 && s.peer[2].id[0] == 'B');
    assert_int_equal(ackgather_pending(&g), 1); /* seq 12 of A is still waiting */
    ackgather_move(&g, ACKGATHER_WAIT, ACKGATHER_READY);
    ackgather_flush(&g, record, &s);
    assert_int_equal(s.n, 4);
    assert_int_equal(ackgather_pending(&g), 0);
    assert_int_equal(g.acked, 14);
    assert_int_equal(g.ack_messages, 4);
    ackgather_free(&g);
}

static void test_message_bound(void **state)
{
    (void)state;
    struct ackgather g;
    ackgather_init(&g);
    struct bus_peer a = peer("A");
    for (uint64_t s = 1; s <= 2 * ACKQ_RANGES_MAX + 1; s++) add_seq(&g, &a, 0, 2 * s, 0); /* none joins */
    ackgather_move(&g, ACKGATHER_WAIT, ACKGATHER_READY);
    struct sent s = { .n = 0 };
    ackgather_flush(&g, record, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.nranges[0], ACKQ_RANGES_MAX);
    assert_int_equal(s.nranges[1], ACKQ_RANGES_MAX);
    assert_int_equal(s.nranges[2], 1);
    assert_true(s.first[1].first == 2 * (ACKQ_RANGES_MAX + 1)); /* in the order received */
    assert_int_equal(g.acked, 2 * ACKQ_RANGES_MAX + 1);
    assert_int_equal(ackgather_pending(&g), 0);
    ackgather_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_and_tags),
        cmocka_unit_test(test_message_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
