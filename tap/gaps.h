/* tap/gaps.h — loss accounting for a receiver of results: remembers the last sequence number of each
 * sender (worker, boot_id) and counts the numbers that never arrived. The tap is best effort, so its gaps
 * measure what the tap missed (a slow terminal, a relay restart), not what the storer lost.
 *
 * A fixed table of TAP_GAPS_SOURCES senders; when it is full the least recently seen sender is forgotten
 * (workers that restarted long ago). Reordered or repeated numbers are counted apart, never as gaps. */
#ifndef CW_TAP_GAPS_H
#define CW_TAP_GAPS_H

#include <stdint.h>

#define TAP_GAPS_SOURCES 256

struct tap_gap_source {
    uint32_t worker;
    uint64_t boot_id;
    uint64_t last_seq;   /* 0: slot unused */
    uint64_t last_used;  /* tick of the last result, for eviction */
};

struct tap_gaps {
    struct tap_gap_source sources[TAP_GAPS_SOURCES];
    uint64_t tick;
    uint64_t missing;    /* sequence numbers skipped */
    uint64_t reordered;  /* a number at or below the last one seen (late or repeated) */
    uint64_t senders;    /* distinct (worker, boot_id) seen */
};

/* Records one result's (worker, boot_id, seq); seq must be >= 1 (the decoder guarantees it). Returns how
 * many numbers were skipped just before this one (0 in the normal case). */
uint64_t tap_gaps_note(struct tap_gaps *g, uint32_t worker, uint64_t boot_id, uint64_t seq);

#endif
