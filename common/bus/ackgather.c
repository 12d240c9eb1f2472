/* common/bus/ackgather.c — gathering and sending a receiver's acks (see ackgather.h). */
#include "common/bus/ackgather.h"

#include <stdlib.h>
#include <string.h>

#include "common/wire/protocol.h"

void ackgather_init(struct ackgather *g)
{
    memset(g, 0, sizeof *g);
    g->ranges = cw_xcalloc(ACKQ_RANGES_MAX, sizeof *g->ranges);
}

void ackgather_free(struct ackgather *g)
{
    free(g->v);
    free(g->ranges);
    cw_buf_free(&g->scratch);
    memset(g, 0, sizeof *g);
}

void ackgather_add(struct ackgather *g, const struct bus_peer *peer, const struct ackq_range *r, uint64_t tag)
{
    if (!peer->len) return;
    struct ackgather_range *last = g->n ? &g->v[g->n - 1] : NULL;
    if (last && last->tag == tag && last->state == ACKGATHER_WAIT && ackq_range_join(&last->peer, &last->r, peer, r))
        return;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 256;
        g->v = cw_xrealloc(g->v, g->cap * sizeof *g->v);
    }
    g->v[g->n++] = (struct ackgather_range){ .peer = *peer, .r = *r, .tag = tag, .state = ACKGATHER_WAIT };
}

bool ackgather_refuse(struct ackgather *g, const struct bus_peer *peer, const void *payload, size_t len)
{
    if (!peer->len || len == 0 || len > CW_PAYLOAD_MAX) return false;
    struct ackq_range r = ackq_refusal(payload, len);
    ackgather_add(g, peer, &r, 0);
    g->v[g->n - 1].state = ACKGATHER_READY;
    g->refused++;
    return true;
}

void ackgather_mark(struct ackgather *g, uint64_t tag, enum ackgather_state state)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].tag == tag && g->v[i].state == ACKGATHER_WAIT) g->v[i].state = (uint8_t)state;
}

void ackgather_move(struct ackgather *g, enum ackgather_state from, enum ackgather_state to)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].state == from) g->v[i].state = (uint8_t)to;
}

static bool same_peer(const struct bus_peer *a, const struct bus_peer *b)
{
    return a->len == b->len && memcmp(a->id, b->id, a->len) == 0;
}

/* Encodes and sends one message of the ready ranges of v[first]'s peer, from v[first] on; marks them sent. */
static void send_one(struct ackgather *g, size_t first, ackgather_send_fn send, void *ctx)
{
    const struct bus_peer peer = g->v[first].peer;
    size_t n = 0;
    for (size_t j = first; j < g->n && n < ACKQ_RANGES_MAX; j++) {
        struct ackgather_range *x = &g->v[j];
        if (x->state != ACKGATHER_READY || !same_peer(&x->peer, &peer)) continue;
        g->ranges[n++] = x->r;
        g->acked += x->r.last - x->r.first + 1;
        x->state = ACKGATHER_SENT;
    }
    if (ackq_ack_encode(&g->scratch, g->ranges, n) == 0) {
        send(ctx, &peer, g->scratch.data, g->scratch.len);
        g->ack_messages++;
    }
}

void ackgather_flush(struct ackgather *g, ackgather_send_fn send, void *ctx)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].state == ACKGATHER_READY) send_one(g, i, send, ctx);
    size_t k = 0;
    for (size_t j = 0; j < g->n; j++)
        if (g->v[j].state != ACKGATHER_SENT) g->v[k++] = g->v[j];
    g->n = k;
}
