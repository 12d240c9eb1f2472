/* common/bus/ackgather.h — the receiver's side of acknowledged delivery (docs/protocol.md, common/bus/ackq.h for the
 * sender's): the seq ranges received from each sender (the ROUTER's peer id), gathered until what they carry
 * is durable, then acked in one "ack" message per sender, up to ACKQ_RANGES_MAX ranges each. Used by the
 * storer (durable: its batch committed, or spooled and the spool synced) and the alerter's intake (durable:
 * the state file and the seqs file saved); when a range becomes durable is the caller's policy.
 *
 * Each range carries the caller's tag (the storer: the number of the batch its rows went into; the alerter:
 * 0) and a state: ACKGATHER_WAIT (not durable yet), ACKGATHER_HELD (a caller's middle step: the storer's
 * "in the spool, durable after the next sync"), ACKGATHER_READY (sent at the next flush). Consecutive seqs of
 * one sender, worker and boot with the same tag, still waiting, share one range (ackq_range_join). */
#ifndef CW_COMMON_ACKGATHER_H
#define CW_COMMON_ACKGATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bus/ackq.h"
#include "common/bus/bus.h"
#include "common/base/util.h"

/* ACKGATHER_SENT: acked, or given up (a caller that may not ack a range moves it there: it is dropped at the
 * next flush without a message, so its sender resends it). */
enum ackgather_state { ACKGATHER_WAIT, ACKGATHER_HELD, ACKGATHER_READY, ACKGATHER_SENT };

struct ackgather_range {
    struct bus_peer peer;
    struct ackq_range r;
    uint64_t tag;
    uint8_t state; /* enum ackgather_state */
};

struct ackgather {
    struct ackgather_range *v; /* in the order received */
    size_t n, cap;
    struct ackq_range *ranges; /* ACKQ_RANGES_MAX, for encoding */
    struct cw_buf scratch;
    uint64_t acked;        /* seqs acked since start */
    uint64_t ack_messages; /* ack messages encoded and handed to send */
    uint64_t refused;      /* messages refused (ackgather_refuse) since start */
};

/* Sends one encoded ack message to peer (the caller owns the socket, and logs a failure). */
typedef void (*ackgather_send_fn)(void *ctx, const struct bus_peer *peer, const void *data, size_t len);

void ackgather_init(struct ackgather *g);
void ackgather_free(struct ackgather *g);

/* Remembers range r from peer, tagged tag, waiting (nothing when peer is empty: nobody to answer). */
void ackgather_add(struct ackgather *g, const struct bus_peer *peer, const struct ackq_range *r, uint64_t tag);

/* Refuses one message from peer that could not be decoded (payload of len >= 1 bytes): an ACKQ_REFUSED
 * range naming it (ackq_refusal), ready at once — a refusal waits for nothing durable. Counted in `refused`.
 * False when there is nobody to answer (peer empty) or len is 0 or over CW_PAYLOAD_MAX. */
bool ackgather_refuse(struct ackgather *g, const struct bus_peer *peer, const void *payload, size_t len);

/* Every waiting range tagged tag moves to state. */
void ackgather_mark(struct ackgather *g, uint64_t tag, enum ackgather_state state);

/* Every range in state `from` moves to state `to` (the alerter: all waiting ones are ready; the storer: all
 * held ones are ready once the spool is synced). */
void ackgather_move(struct ackgather *g, enum ackgather_state from, enum ackgather_state to);

/* Sends every ready range, one message per sender (up to ACKQ_RANGES_MAX ranges each, more messages beyond),
 * and forgets them. */
void ackgather_flush(struct ackgather *g, ackgather_send_fn send, void *ctx);

/* Ranges remembered and not sent yet. */
static inline size_t ackgather_pending(const struct ackgather *g) { return g->n; }

#endif
