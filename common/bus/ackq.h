/* common/bus/ackq.h — the sender's side of acknowledged delivery: an ordered outbox of result batches that are
 * kept until the receiver acknowledges them (CW_MSG_ACK), resent after a timeout, bounded in memory and
 * spilled to a spool file beyond the bound. Shared by the worker (to the storer and to the alerter) and the
 * alerter (its alert records to the storer).
 *
 * DESIGN (docs/protocol.md section "Acknowledged delivery")
 * Entries sit in a FIFO ring in the order they were pushed. At most `window` entries are in flight (sent,
 * not yet acknowledged); the next ones wait unsent, so a receiver that comes back after a long outage gets a
 * bounded stream, not the whole backlog at once. An ack names (worker, boot_id, first..last seq) ranges;
 * entries wholly inside a range are done and leave the ring from its head. The receiver stores by UNIQUE
 * (worker, boot_id, seq), so a resend is a no-op there, and it acks it again.
 *
 * Resends back off and never pile up (docs/protocol.md 7, "Resends"). Every copy handed to the socket gets
 * a number; an ack for an entry proves that the receiver read everything sent before that entry's first
 * copy (one connection is FIFO), which gives `read_mark`. An entry in flight is sent again only when
 *   - its own timeout has passed: resend_ns after its first send, doubling with each copy up to
 *     ACKQ_RESEND_MAX_FACTOR * resend_ns, and
 *   - the receiver read past its last copy without acknowledging it (lost, or refused to be acked), or has
 *     been silent (no ack at all) for that timeout (stopped, or a new receiver that knows nothing).
 * So a receiver that is alive but behind is sent nothing twice, and a stopped one gets at most one copy per
 * timeout, each timeout twice the last. What the socket may queue is bounded by its ZMQ_SNDHWM (bus.c: a few
 * batches); a send refused at the HWM waits in the ring (counted nowhere, retried on the next pass).
 *
 * Refusals: a receiver that cannot decode a message, or will never take it from this sender (a result batch of a
 * location its key may not send for, issue 16), acks it as refused (ACKQ_REFUSED, naming its payload by length and
 * ackq_payload_digest). The entry is set aside: appended to `<spool path>.refused` (the spool
 * format, mode 0600, synced) so that nothing is lost and an operator can look at it, counted (`refused`),
 * logged (rate-limited), and leaves the ring like an acknowledged one: it never blocks what follows.
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
#include "common/base/ratelimit.h"
#include "common/base/util.h"

/* One range of an ack. ACKQ_DURABLE: seqs first..last of (worker, boot_id) are durable at the receiver.
 * ACKQ_REFUSED: the receiver refused one message for good (malformed, or not its sender's to send); it names the
 * payload, which it may not have decoded: worker 0, boot_id = ackq_payload_digest of the payload, first = last = its
 * length in bytes. */
enum ackq_range_kind { ACKQ_DURABLE = 0, ACKQ_REFUSED = 1 };
struct ackq_range {
    uint32_t worker;
    uint64_t boot_id;
    uint64_t first, last;
    uint8_t kind; /* enum ackq_range_kind (0, the default of an initializer, is ACKQ_DURABLE) */
};
#define ACKQ_RANGES_MAX 512 /* ranges in one ack message */

/* Receivers gather acks per sender: when r (from peer) continues last (from last_peer) — same sender,
 * worker and boot, r->first right after last->last — last grows to cover r and the result is true. */
static inline bool ackq_range_join(const struct bus_peer *last_peer, struct ackq_range *last,
                                   const struct bus_peer *peer, const struct ackq_range *r)
{
    if (last->kind != ACKQ_DURABLE || r->kind != ACKQ_DURABLE || last_peer->len != peer->len ||
        memcmp(last_peer->id, peer->id, peer->len) != 0 || last->worker != r->worker || last->boot_id != r->boot_id ||
        last->last + 1 != r->first)
        return false;
    last->last = r->last;
    return true;
}

/* Alert records (CW_MSG_ALERT, alerter -> storer) travel through an ackq too. Their identity in an ack range
 * is worker ACKQ_ALERT_WORKER (no worker slot is that high), boot_id = the alert_id, and first = last = the
 * delivery-state version ackq_alert_version(email_state, webhook_state), 1..16 (docs/protocol.md 2.6). */
#define ACKQ_ALERT_WORKER UINT32_MAX
uint64_t ackq_alert_version(uint8_t email_state, uint8_t webhook_state);
/* The version of an alert record of the alert message version 2 (what the alerter and the storer use): also
 * tells apart the records of one alert whose per-channel deliveries moved while the two aggregate states did not,
 * and the record written when the alert was raised from the one written once it was decided (muted):
 * 1 + 5 * email_state + webhook_state + 25 * (muted != none) + 50 * (deliveries items no longer pending). */
uint64_t ackq_alert_record_version(const struct cw_alert *a);

/* Default disk bound of one spool file (CLOCKWERK_SPOOL_MAX_BYTES overrides it in the worker). */
#define ACKQ_SPOOL_MAX_DEFAULT (1ULL << 30)

/* Encodes an ack payload of n (1..ACKQ_RANGES_MAX) ranges into b (reset first): version 1 (28-byte ranges)
 * when every range is ACKQ_DURABLE, else version 2 (a kind byte before each range; docs/protocol.md 2.6).
 * 0, or -1 when n is out of range or a range is invalid (durable: first 0 or after last; refused: worker
 * not 0, first != last, or a length outside 1..CW_PAYLOAD_MAX; an unknown kind). */
int ackq_ack_encode(struct cw_buf *b, const struct ackq_range *r, size_t n);
/* Decodes an ack payload of version 1 or 2 into out[0..max). Returns the number of ranges (>= 1), or -1
 * with *why set. */
int ackq_ack_decode(const void *payload, size_t len, struct ackq_range *out, size_t max, const char **why);
/* The digest that names a refused payload (FNV-1a 64 over its bytes). */
uint64_t ackq_payload_digest(const void *payload, size_t len);
/* The ACKQ_REFUSED range for a payload a receiver could not decode (len >= 1). */
struct ackq_range ackq_refusal(const void *payload, size_t len);

/* A resend timeout doubles with each copy of an entry, up to this many times the first one. */
#define ACKQ_RESEND_MAX_FACTOR 12

struct ackq_entry {
    struct cw_buf buf; /* the payload, as sent */
    uint32_t worker;
    uint64_t boot_id, first, last;
    unsigned n;          /* results */
    unsigned tries;      /* times sent */
    int64_t sent_ns;     /* last send */
    uint64_t first_copy; /* number of its first copy (struct ackq.copies) */
    uint64_t last_copy;  /* number of its last copy */
    bool acked;
    bool from_spool;
};

struct ackq {
    struct bus_socket *sock;   /* borrowed */
    enum cw_msg_type msg_type; /* what the entries are sent as: CW_MSG_RESULT (ackq_init's), or CW_MSG_ALERT */
    const char *name;          /* "storer", "alerter": for logs */
    struct ackq_entry *ring;
    size_t head, count, cap;
    size_t nsent;    /* entries [head, head+nsent) were sent at least once */
    size_t inflight; /* of those, not acked */
    size_t mem_bytes, max_bytes;
    size_t window;
    int64_t resend_ns, resend_max_ns;
    uint64_t copies;     /* copies handed to the socket so far: the next one gets this number */
    uint64_t read_mark;  /* every copy numbered below it was read by the receiver (see DESIGN) */
    int64_t last_ack_ns; /* when the last valid ack came (0: none yet) */
    int64_t resend_at;   /* when the next resend may be due (INT64_MAX: nothing in flight) */
    bool resend_blocked; /* the last resend pass stopped at the socket's HWM */
    struct ratelimit rl_refused;

    const char *spool_path;   /* NULL: no spool (beyond the bound the oldest is dropped); else spool.path */
    struct spoolfile spool;   /* the file (common/wire/spoolfile.h); spool.fd -1 when there is none */
    uint64_t spool_read;      /* first unread record */
    size_t spool_outstanding; /* entries read from the spool, in memory, not yet acked */
    bool spool_failed_logged;
    uint64_t spool_max_bytes; /* disk bound of the spool file (0: none); beyond it the oldest unread is dropped */

    /* counters since start, in results unless said otherwise */
    uint64_t sent, acked, resent, spooled, replayed, dropped, resend_rounds, acks_received, acks_malformed, send_errors,
        spool_full_dropped, refused, refused_batches;

    /* What else the socket may bring (a worker's HELLO_ECHO from the alerter, issue 16): messages of other types
     * than CW_MSG_ACK go to on_other (ackq_set_other), which returns false for one it does not take (counted in
     * acks_malformed like any other); without it every one is counted. */
    bool (*on_other)(void *arg, const struct bus_msg *m);
    void *on_other_arg;
};

/* Sets q up. spool_path may be NULL; an existing spool file there (a predecessor's) is replayed.
 * 0, or -1 with err set when the existing spool cannot be opened. */
int ackq_init(struct ackq *q, struct bus_socket *sock, const char *name, size_t max_bytes, size_t window,
              int64_t resend_ns, const char *spool_path, char *err, size_t errlen);
/* Frees memory. The spool file stays when it has records (call ackq_spill first to keep what is in memory). */
void ackq_free(struct ackq *q);
/* Hands the messages the socket brings that are not acks to fn(arg, message) (see struct ackq.on_other). */
void ackq_set_other(struct ackq *q, bool (*fn)(void *arg, const struct bus_msg *m), void *arg);

/* Takes one encoded result batch (copied) of n results with seqs first..last of (worker, boot_id), and
 * sends what the window allows. Never blocks. */
void ackq_push(struct ackq *q, const void *data, size_t len, uint32_t worker, uint64_t boot_id, uint64_t first,
               uint64_t last, unsigned n);
/* Reads acks waiting on the socket (refusals set aside), refills from the spool, resends what is due (DESIGN)
 * and sends what the window allows. Call after every wake-up (the socket's fd is edge-triggered). */
void ackq_service(struct ackq *q, int64_t now_ns);
/* Applies one ack payload, version 1 or 2 (what ackq_service does for each ack it reads): durable ranges
 * ack, refusals set aside. Returns results newly acked (not counting refused ones), or -1 when the payload is
 * malformed (counted). */
long ackq_on_ack(struct ackq *q, const void *payload, size_t len);

/* Nothing left to deliver (memory and spool empty). */
bool ackq_idle(const struct ackq *q);
/* Results waiting (in memory, unacked) and bytes waiting in the spool. */
uint64_t ackq_pending_results(const struct ackq *q);
uint64_t ackq_spool_bytes(const struct ackq *q);
/* When ackq_service wants to run next at the latest (the earliest resend that may be due, or 20 ms after a
 * resend pass stopped at the socket's HWM), or INT64_MAX. */
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
