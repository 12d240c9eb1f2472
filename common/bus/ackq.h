/* common/bus/ackq.h — the sender's side of acknowledged delivery: an ordered outbox of result batches that are
 * kept until the receiver acknowledges them (CW_MSG_ACK), resent after a timeout, bounded in memory and
 * spilled to a spool file beyond the bound. Shared by the worker (to the storer and to the alerter) and the
 * alerter (its alert records to the storer).
 *
 * DESIGN (docs/protocol.md section "Acknowledged delivery")
 * Entries sit in a FIFO ring in the order they were pushed. At most `window` entries are in flight (sent,
 * not yet acknowledged); the next ones wait unsent, so a receiver that comes back after a long outage gets a
 * bounded stream, not the whole backlog at once. An ack names (worker, boot_id, first..last seq) ranges;
 * entries wholly inside a range are done and leave the ring from its head. When the oldest entry in flight
 * has waited `resend_ns` without an ack, everything in flight is sent again from the head (go-back-N):
 * the receiver stores by UNIQUE (worker, boot_id, seq), so a resend is a no-op there, and it acks it again.
 *
 * Bound: entries in memory hold at most `max_bytes` of payload. A push beyond it, or while the spool still
 * has unread records (order is kept), appends to the spool file instead. When memory has drained below
 * half the bound, records are read back from the spool into the ring, in order. The file is deleted when
 * every record read from it has been acknowledged and nothing is left unread. ackq_spill() (at exit)
 * appends what is still unacknowledged in memory; a process started on the same spool path (a restarted
 * worker, same slot) replays the file from its start: records already acknowledged are resent and stored
 * once. The spool file is common/wire/spoolfile.h's format with 32 bytes of meta per record: u32 payload length,
 * then u32 worker, u64 boot_id, u64 first seq, u64 last seq, u32 results, then the payload (all
 * little-endian). A torn tail (a record cut short at the end of the file) is cut off at open. */
#ifndef CW_COMMON_ACKQ_H
#define CW_COMMON_ACKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "common/bus/bus.h"
#include "common/wire/spoolfile.h"
#include "common/base/util.h"

/* One acknowledged range: seqs first..last of (worker, boot_id) are durable at the receiver. */
struct ackq_range {
    uint32_t worker;
    uint64_t boot_id;
    uint64_t first, last;
};
#define ACKQ_RANGES_MAX 512 /* ranges in one ack message */

/* Receivers gather acks per sender: when r (from peer) continues last (from last_peer) — same sender,
 * worker and boot, r->first right after last->last — last grows to cover r and the result is true. */
static inline bool ackq_range_join(const struct bus_peer *last_peer, struct ackq_range *last,
                                   const struct bus_peer *peer, const struct ackq_range *r)
{
    if (last_peer->len != peer->len || memcmp(last_peer->id, peer->id, peer->len) != 0 || last->worker != r->worker ||
        last->boot_id != r->boot_id || last->last + 1 != r->first)
        return false;
    last->last = r->last;
    return true;
}

/* Alert records (CW_MSG_ALERT, alerter -> storer) travel through an ackq too. Their identity in an ack range
 * is worker ACKQ_ALERT_WORKER (no worker slot is that high), boot_id = the alert_id, and first = last = the
 * delivery-state version ackq_alert_version(email_state, webhook_state), 1..16 (docs/protocol.md 2.6). */
#define ACKQ_ALERT_WORKER UINT32_MAX
uint64_t ackq_alert_version(uint8_t email_state, uint8_t webhook_state);

/* Default disk bound of one spool file (CLOCKWERK_SPOOL_MAX_BYTES overrides it in the worker). */
#define ACKQ_SPOOL_MAX_DEFAULT (1ULL << 30)

/* Encodes an ack payload of n (1..ACKQ_RANGES_MAX) ranges into b (reset first). 0, or -1 when n is out
 * of range or a range is invalid (first 0 or after last). */
int ackq_ack_encode(struct cw_buf *b, const struct ackq_range *r, size_t n);
/* Decodes an ack payload into out[0..max). Returns the number of ranges (>= 1), or -1 with *why set. */
int ackq_ack_decode(const void *payload, size_t len, struct ackq_range *out, size_t max, const char **why);

struct ackq_entry {
    struct cw_buf buf; /* the payload, as sent */
    uint32_t worker;
    uint64_t boot_id, first, last;
    unsigned n;      /* results */
    unsigned tries;  /* times sent */
    int64_t sent_ns; /* last send */
    bool acked;
    bool from_spool;
};

struct ackq {
    struct bus_socket *sock;   /* borrowed */
    enum cw_msg_type msg_type; /* what the entries are sent as: CW_MSG_RESULT (ackq_init's), or CW_MSG_ALERT */
    const char *name;          /* "storer", "alerter": for logs */
    struct ackq_entry *ring;
    size_t head, count, cap;
    size_t nsent;    /* entries [head, head+nsent) were sent in this round */
    size_t inflight; /* of those, not acked */
    size_t mem_bytes, max_bytes;
    size_t window;
    int64_t resend_ns;

    const char *spool_path;   /* NULL: no spool (beyond the bound the oldest is dropped); else spool.path */
    struct spoolfile spool;   /* the file (common/wire/spoolfile.h); spool.fd -1 when there is none */
    uint64_t spool_read;      /* first unread record */
    size_t spool_outstanding; /* entries read from the spool, in memory, not yet acked */
    bool spool_failed_logged;
    uint64_t spool_max_bytes; /* disk bound of the spool file (0: none); beyond it the oldest unread is dropped */

    /* counters since start, in results unless said otherwise */
    uint64_t sent, acked, resent, spooled, replayed, dropped, resend_rounds, acks_received, acks_malformed, send_errors,
        spool_full_dropped;
};

/* Sets q up. spool_path may be NULL; an existing spool file there (a predecessor's) is replayed.
 * 0, or -1 with err set when the existing spool cannot be opened. */
int ackq_init(struct ackq *q, struct bus_socket *sock, const char *name, size_t max_bytes, size_t window,
              int64_t resend_ns, const char *spool_path, char *err, size_t errlen);
/* Frees memory. The spool file stays when it has records (call ackq_spill first to keep what is in memory). */
void ackq_free(struct ackq *q);

/* Takes one encoded result batch (copied) of n results with seqs first..last of (worker, boot_id), and
 * sends what the window allows. Never blocks. */
void ackq_push(struct ackq *q, const void *data, size_t len, uint32_t worker, uint64_t boot_id, uint64_t first,
               uint64_t last, unsigned n);
/* Reads acks waiting on the socket, resends after the timeout, refills from the spool and sends what the
 * window allows. Call after every wake-up (the socket's fd is edge-triggered). */
void ackq_service(struct ackq *q, int64_t now_ns);
/* Applies one ack payload (what ackq_service does for each ack it reads). Returns results newly acked,
 * or -1 when the payload is malformed (counted). */
long ackq_on_ack(struct ackq *q, const void *payload, size_t len);

/* Nothing left to deliver (memory and spool empty). */
bool ackq_idle(const struct ackq *q);
/* Results waiting (in memory, unacked) and bytes waiting in the spool. */
uint64_t ackq_pending_results(const struct ackq *q);
uint64_t ackq_spool_bytes(const struct ackq *q);
/* When ackq_service wants to run next at the latest (a resend timeout), or INT64_MAX. */
int64_t ackq_next_deadline(const struct ackq *q);
/* Writes every unacked entry in memory, then the spool's unread records, in that order (the order they were
 * pushed in), to the spool file (a fresh file renamed over the old one, synced), and drops them from memory.
 * Returns the results that could not be written (lost), 0 when all are safe. */
uint64_t ackq_spill(struct ackq *q);

/* Disk bound: when an append would make the spool file larger than max_bytes, the oldest unread records are
 * dropped (counted in dropped and spool_full_dropped, logged as an error) until the file holds at most half
 * the bound, and the file is rewritten without them. Never a crash, never a full disk. 0: no bound. */
void ackq_set_spool_max(struct ackq *q, uint64_t max_bytes);

/* Adopts a spool left by a worker slot that no longer exists (orphan_path): its whole records are appended
 * to q's own spool (so they are sent, in order, after what q already holds), q's spool is synced and the
 * orphan removed. Returns the batches adopted (>= 0), or -1 with err set (the orphan stays: adopting it
 * again later only resends, and the receivers are idempotent). A record cut short at the end is ignored.
 * Records keep their (worker, boot_id, seq). */
long ackq_adopt_spool(struct ackq *q, const char *orphan_path, char *err, size_t errlen);

#endif
