/* storer/acks.c — the storer's pending acks (see acks.h). */
#include "storer/acks.h"

#include <stdlib.h>
#include <string.h>

void store_acks_init(struct store_acks *a)
{
    a->ranges = cw_xcalloc(ACKQ_RANGES_MAX, sizeof *a->ranges);
}

void store_acks_free(struct store_acks *a)
{
    free(a->v);
    free(a->ranges);
    cw_buf_free(&a->scratch);
}

void store_acks_add(struct store_acks *a, const struct bus_peer *peer, const struct ackq_range *r, uint64_t batch_no)
{
    if (!peer->len) return; /* nobody to answer */
    /* consecutive seqs of the same sender, worker and boot, in the same batch: one range */
    if (a->n && a->v[a->n - 1].batch_no == batch_no && a->v[a->n - 1].state == STORE_ACK_WAIT &&
        ackq_range_join(&a->v[a->n - 1].peer, &a->v[a->n - 1].r, peer, r))
        return;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = cw_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = (struct store_ack){ .peer = *peer, .r = *r, .batch_no = batch_no, .state = STORE_ACK_WAIT };
}

void store_acks_mark(struct store_acks *a, uint64_t batch_no, uint8_t state)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].batch_no == batch_no && a->v[i].state == STORE_ACK_WAIT) a->v[i].state = state;
}

void store_acks_spool_synced(struct store_acks *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].state == STORE_ACK_SPOOLED) a->v[i].state = STORE_ACK_READY;
}

void store_acks_flush(struct store_acks *a, store_acks_send_fn send, void *ctx)
{
    size_t i = 0;
    while (i < a->n) {
        if (a->v[i].state != STORE_ACK_READY) {
            i++;
            continue;
        }
        const struct bus_peer peer = a->v[i].peer;
        size_t n = 0;
        for (size_t j = i; j < a->n && n < ACKQ_RANGES_MAX; j++) {
            struct store_ack *x = &a->v[j];
            if (x->state != STORE_ACK_READY || x->peer.len != peer.len || memcmp(x->peer.id, peer.id, peer.len) != 0)
                continue;
            a->ranges[n++] = x->r;
            a->acked += x->r.last - x->r.first + 1;
            x->state = 0xff; /* sent */
        }
        if (ackq_ack_encode(&a->scratch, a->ranges, n) == 0) {
            send(ctx, &peer, a->scratch.data, a->scratch.len);
            a->ack_messages++;
        }
    }
    size_t k = 0;
    for (size_t j = 0; j < a->n; j++)
        if (a->v[j].state != 0xff) a->v[k++] = a->v[j];
    a->n = k;
}
