/* worker/deadline.h — the engine's timers: an indexed min-heap of (instant, owner), at most one pending instant
 * per owner, feeding the worker loop's next wake-up.
 *
 * DESIGN
 * Owners are small integers fixed at creation: the engine's check slots 0..slots-1, then the timers of modules
 * (engine_timer_new in worker/check.h). Each owner has its heap position, so setting, moving or cancelling its
 * instant is O(log n) without a search and without stale entries (no lazy deletion: the heap never holds more
 * than one entry per owner, so its size is bounded by the owners, whatever the checks do). Instants are
 * monotonic nanoseconds (cw_mono_ns). */
#ifndef CW_WORKER_DEADLINE_H
#define CW_WORKER_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct deadline_entry {
    int64_t at_ns;
    uint32_t owner;
};

struct deadline_heap {
    struct deadline_entry *heap;
    uint32_t *pos; /* per owner: its index in heap + 1; 0: no pending instant */
    size_t n;      /* entries in heap */
    size_t owners;
};

/* For owners 0..owners-1. Out of memory is fatal. */
void deadline_init(struct deadline_heap *d, size_t owners);
void deadline_free(struct deadline_heap *d);
/* Sets (or moves) owner's instant. */
void deadline_set(struct deadline_heap *d, uint32_t owner, int64_t at_ns);
/* Removes owner's instant, if it has one. */
void deadline_cancel(struct deadline_heap *d, uint32_t owner);
bool deadline_pending(const struct deadline_heap *d, uint32_t owner);
/* The earliest instant, or -1 when nothing is pending. */
int64_t deadline_next(const struct deadline_heap *d);
/* Removes and returns (in *owner) the earliest entry due at now (at_ns <= now); false when none is. */
bool deadline_pop_due(struct deadline_heap *d, int64_t now, uint32_t *owner);

#endif
