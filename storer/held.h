/* storer/held.h — the storer's held queue: sealed batches waiting for the database, oldest first (a FIFO
 * ring of batches, each with its batch number, which its acks wait for), and the number of rows they hold
 * (bounded by the caller: beyond HOLD_MAX_ROWS batches go to the spool instead). Emptied batches are kept
 * for reuse, a few of them, so that a steady stream allocates nothing. */
#ifndef CW_STORER_HELD_H
#define CW_STORER_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "storer/batch.h"

struct held_batch {
    struct store_batch *batch;
    uint64_t no;
};

#define HELD_SPARES 4

struct held_queue {
    struct held_batch *ring;
    size_t head, count, cap;
    size_t rows;                            /* in the batches queued */
    struct store_batch *spare[HELD_SPARES]; /* emptied batches kept for reuse */
    size_t n_spare;
};

/* A zeroed struct held_queue is empty. */
void held_free(struct held_queue *q);

/* Queues the rows of *cur as batch number no (at the tail); *cur is left empty, ready for new rows. */
void held_push(struct held_queue *q, struct store_batch *cur, uint64_t no);
/* The oldest batch, or NULL when the queue is empty. */
const struct held_batch *held_front(const struct held_queue *q);
/* Drops the oldest batch (its memory is kept for reuse). */
void held_pop(struct held_queue *q);

#endif
