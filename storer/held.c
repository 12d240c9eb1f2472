/* storer/held.c — the held queue of sealed batches (see held.h). */
#include "storer/held.h"

#include <stdlib.h>

#include "common/base/util.h"

void held_free(struct held_queue *q)
{
    for (size_t i = 0; i < q->count; i++) {
        struct store_batch *b = q->ring[(q->head + i) % q->cap].batch;
        store_batch_free(b);
        free(b);
    }
    free(q->ring);
    for (size_t i = 0; i < q->n_spare; i++) {
        store_batch_free(q->spare[i]);
        free(q->spare[i]);
    }
    *q = (struct held_queue){ 0 };
}

static struct store_batch *take_empty(struct held_queue *q)
{
    if (q->n_spare) return q->spare[--q->n_spare];
    struct store_batch *b = cw_xmalloc(sizeof *b);
    store_batch_init(b);
    return b;
}

/* Doubles the ring, unrolling it so that the oldest batch is at index 0. */
static void grow(struct held_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 64;
    struct held_batch *ring = cw_xmalloc(cap * sizeof *ring);
    for (size_t i = 0; i < q->count; i++) ring[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
}

void held_push(struct held_queue *q, struct store_batch *cur, uint64_t no)
{
    if (q->count == q->cap) grow(q);
    struct store_batch *b = take_empty(q);
    /* swap: the filled batch goes to the queue, an empty one becomes current */
    struct store_batch tmp = *b;
    *b = *cur;
    *cur = tmp;
    q->ring[(q->head + q->count) % q->cap] = (struct held_batch){ .batch = b, .no = no };
    q->count++;
    q->rows += store_batch_rows(b);
}

const struct held_batch *held_front(const struct held_queue *q) { return q->count ? &q->ring[q->head] : NULL; }

void held_pop(struct held_queue *q)
{
    if (!q->count) return;
    struct store_batch *b = q->ring[q->head].batch;
    q->rows -= store_batch_rows(b);
    q->head = (q->head + 1) % q->cap;
    q->count--;
    store_batch_clear(b);
    if (q->n_spare < HELD_SPARES) {
        q->spare[q->n_spare++] = b;
    } else {
        store_batch_free(b);
        free(b);
    }
}
