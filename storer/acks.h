/* storer/acks.h — the storer's side of acknowledged delivery (docs/protocol.md, common/ackq.h): the seq
 * ranges received from each sender (the ROUTER's peer id), each tagged with the number of the batch its rows
 * went into, and acked once that batch is durable: committed (STORE_ACK_READY at once), or appended to the
 * spool (STORE_ACK_SPOOLED) and the spool synced. Ready ranges go out in one "ack" message per sender, up
 * to ACKQ_RANGES_MAX ranges each, through the caller's send function (it owns the socket and logs). */
#ifndef CW_STORER_ACKS_H
#define CW_STORER_ACKS_H

#include <stddef.h>
#include <stdint.h>

#include "common/ackq.h"
#include "common/bus.h"
#include "common/util.h"

enum { STORE_ACK_WAIT, STORE_ACK_SPOOLED, STORE_ACK_READY };

/* Ranges received from one sender, to ack once batch `batch_no` is durable. */
struct store_ack {
    struct bus_peer peer;
    struct ackq_range r;
    uint64_t batch_no;
    uint8_t state;     /* STORE_ACK_WAIT, STORE_ACK_SPOOLED (durable after the next sync), STORE_ACK_READY */
};

struct store_acks {
    struct store_ack *v;
    size_t n, cap;
    struct ackq_range *ranges; /* ACKQ_RANGES_MAX, for encoding */
    struct cw_buf scratch;
    uint64_t acked, ack_messages;
};

/* Sends one encoded ack message to peer. */
typedef void (*store_acks_send_fn)(void *ctx, const struct bus_peer *peer, const void *data, size_t len);

void store_acks_init(struct store_acks *a);
void store_acks_free(struct store_acks *a);

/* Remembers range r from peer (nobody to answer when peer is empty), for batch batch_no. */
void store_acks_add(struct store_acks *a, const struct bus_peer *peer, const struct ackq_range *r, uint64_t batch_no);

/* Batch batch_no is durable (STORE_ACK_READY) or in the spool (STORE_ACK_SPOOLED). */
void store_acks_mark(struct store_acks *a, uint64_t batch_no, uint8_t state);

/* The spool was synced: what was spooled is durable. */
void store_acks_spool_synced(struct store_acks *a);

/* Sends every ready ack, one message per sender (up to ACKQ_RANGES_MAX ranges each), and forgets them. */
void store_acks_flush(struct store_acks *a, store_acks_send_fn send, void *ctx);

#endif
