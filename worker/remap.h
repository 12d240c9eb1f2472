/* worker/remap.h — a worker's reload in place (issue 18): which endpoint of the new shard each endpoint of the
 * old one is, and the schedule carried over to the new shard. Pure logic (no I/O, no clock): tests/unit/
 * test_worker_remap.c.
 *
 * DESIGN
 * - An endpoint is its URL (config_load refuses duplicates). remap_build pairs the old shard's endpoints with the
 *   new one's: the same index first (a reload that edits a few endpoints keeps the others in place), then the
 *   URLs at the indices that differ through an open-addressing table of the old ones (as storer/epdiff.c).
 *   old_to_new[i] is the new index of old endpoint i, REMAP_GONE when it was removed.
 * - Ids: the worker names an endpoint by its index in the shard (the schedule, the checks in flight, busy[]). A
 *   check in flight of a removed endpoint keeps an id past the new shard's end (an "orphan" id, n_new + k) until
 *   it finishes: ids in [0, n_new + orphans).
 * - The schedule (remap_schedule): an endpoint kept with the same interval keeps its entry, its due time
 *   untouched (no burst, no gap), under its new id; one whose interval changed is placed as at start
 *   (sched_first_due with the new interval: the phase every worker gives that URL at that interval); a removed one
 *   leaves the schedule; an added one is placed as at start (spread over its interval by its URL's phase). Push
 *   endpoints are never on it (worker/check_push.c). */
#ifndef CW_WORKER_REMAP_H
#define CW_WORKER_REMAP_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "worker/schedule.h"

#define REMAP_GONE UINT32_MAX

struct remap_counts {
    size_t kept;       /* in both, same interval: the schedule entry kept as it was */
    size_t rephased;   /* in both, the interval (or whether it is scheduled at all) changed: placed anew */
    size_t added;      /* new: placed as at start */
    size_t removed;    /* gone from the shard (or now a push endpoint): off the schedule */
};

/* old_to_new[0..n_old) (caller's) as described above. */
void remap_build(const struct cw_endpoint *old, size_t n_old, const struct cw_endpoint *eps, size_t n,
                 uint32_t *old_to_new);

/* Carries the schedule s (entries of old ids, old[0..n_old) their endpoints) over to eps[0..n): see DESIGN. now_mono_ns
 * and now_wall_ns place the added and rephased ones (sched_first_due). Entries whose id is n_old or more (none are
 * scheduled: defensive) are dropped. Returns what was done in *counts (may be NULL). */
void remap_schedule(struct sched *s, const uint32_t *old_to_new, const struct cw_endpoint *old, size_t n_old,
                    const struct cw_endpoint *eps, size_t n, int64_t now_mono_ns, int64_t now_wall_ns,
                    struct remap_counts *counts);

#endif
