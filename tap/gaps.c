/* tap/gaps.c — per-sender sequence tracking for the tap (see gaps.h). A linear scan of a small table:
 * a handful of workers, each with one boot id at a time. */
#include "tap/gaps.h"

#include <stddef.h>

uint64_t tap_gaps_note(struct tap_gaps *g, uint32_t worker, uint64_t boot_id, uint64_t seq)
{
    g->tick++;
    struct tap_gap_source *slot = NULL, *oldest = &g->sources[0];
    for (size_t i = 0; i < TAP_GAPS_SOURCES; i++) {
        struct tap_gap_source *s = &g->sources[i];
        if (s->last_seq != 0 && s->worker == worker && s->boot_id == boot_id) {
            slot = s;
            break;
        }
        if (s->last_used < oldest->last_used) oldest = s; /* unused slots have last_used 0: taken first */
    }
    if (!slot) {
        /* A sender we have not seen (or forgot): the tap may attach at any time, so the first number seen
         * is the start, not a gap. */
        *oldest = (struct tap_gap_source){ .worker = worker, .boot_id = boot_id, .last_seq = seq,
                                           .last_used = g->tick };
        g->senders++;
        return 0;
    }
    slot->last_used = g->tick;
    if (seq <= slot->last_seq) {
        g->reordered++;
        return 0;
    }
    uint64_t skipped = seq - slot->last_seq - 1;
    slot->last_seq = seq;
    g->missing += skipped;
    return skipped;
}
