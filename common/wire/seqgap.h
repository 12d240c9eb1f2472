/* common/wire/seqgap.h — gap counting for a receiver of results (the storer, the alerter's intake, the tap): per
 * sender (worker, boot_id) the last seq seen. A seq right after it is the next one; a seq further on is a gap
 * (counted once in `gaps`, the seqs it skipped added to `missing`); a seq at or below it is a repeat (a resend,
 * or a late arrival). A seq more than SEQGAP_JUMP_MAX beyond the last is not believed (no worker makes 2^32
 * results that all get lost between two that arrive: it is a crafted or corrupt record): it is a jump, counted
 * in `jumps` only, and the sender's last seq stays where it was, so its real results go on as "next". Every
 * counter saturates at INT64_MAX (what a signed stats counter holds) instead of wrapping. The first seq seen
 * of a sender is its start, never a gap: a receiver may start, or attach, after its senders. What a gap, a
 * jump or a repeat means (a log line, which counter a stats message shows) is the caller's.
 *
 * The table is uthash keyed by (worker, boot_id). With a bound (max_senders > 0) the least recently seen
 * sender is forgotten when a new one arrives on a full table (found by a scan: that happens only when a
 * worker restarts with a new boot id); a forgotten sender seen again starts afresh. */
#ifndef CW_COMMON_SEQGAP_H
#define CW_COMMON_SEQGAP_H

#include <stddef.h>
#include <stdint.h>

enum seqgap_kind {
    SEQGAP_FIRST,  /* the first seq of this sender (or of one forgotten) */
    SEQGAP_NEXT,   /* last + 1 */
    SEQGAP_GAP,    /* beyond last + 1: `missing` seqs were skipped */
    SEQGAP_REPEAT, /* at or below last: the last seq stays */
    SEQGAP_JUMP,   /* more than SEQGAP_JUMP_MAX beyond last: not believed, the last seq stays */
};

#define SEQGAP_JUMP_MAX (UINT64_C(1) << 32) /* the largest gap believed, in seqs skipped */

struct seqgap_note {
    enum seqgap_kind kind;
    uint64_t missing; /* SEQGAP_GAP: seqs skipped, after + 1 .. seq - 1 (at most SEQGAP_JUMP_MAX) */
    uint64_t after;   /* the sender's last seq before this one (0 for SEQGAP_FIRST) */
};

struct seqgap_sender;

struct seqgap {
    struct seqgap_sender *table; /* uthash head */
    size_t n, max_senders;       /* max_senders 0: no bound */
    uint64_t tick;               /* counts notes: a sender's last_seen, for forgetting */
    /* since start */
    uint64_t gaps;    /* SEQGAP_GAP notes (events, not results) */
    uint64_t missing; /* seqs skipped by them (results) */
    uint64_t jumps;   /* SEQGAP_JUMP notes */
    uint64_t repeats; /* SEQGAP_REPEAT notes */
    uint64_t senders; /* SEQGAP_FIRST notes (distinct senders, counting a forgotten one again) */
};

/* A zeroed struct seqgap is an empty table with no bound; seqgap_init sets the bound. */
void seqgap_init(struct seqgap *g, size_t max_senders);
void seqgap_free(struct seqgap *g);

/* Records one result's (worker, boot_id, seq) and says what it was; the counters follow. */
struct seqgap_note seqgap_note(struct seqgap *g, uint32_t worker, uint64_t boot_id, uint64_t seq);

#endif
