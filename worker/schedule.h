/* worker/schedule.h — the worker's schedule: a binary min-heap of endpoints keyed by their next due time
 * (CLOCK_MONOTONIC nanoseconds).
 *
 * DESIGN
 * - A heap entry is 24 bytes (due, interval, endpoint id): 100,000 endpoints cost 2.4 MB, nothing else.
 * - Due times never drift: the next occurrence is always the previous due time plus the interval, never
 *   "completion plus interval". An occurrence that cannot run (the endpoint's previous check is still in
 *   flight, or the check starts more than a whole interval late) is skipped and counted, never piled up:
 *   after sched_advance the top's next due time is always in the future.
 * - Missed occurrences are tallied by why (struct sched_misses): the in-flight cap was reached, the loop ran
 *   late (CPU), or the endpoint's previous check was still running. The worker warns with the tally at most
 *   once a minute (sched_misses_report): an overloaded worker says so, in one line, with the reason.
 * - First checks are spread over the interval by a stable per-URL phase, aligned to the wall clock
 *   (sched_first_due): an endpoint keeps its slot in the interval across worker restarts and reloads, so a
 *   restart neither bunches checks together nor checks an endpoint twice in quick succession. */
#ifndef CW_WORKER_SCHEDULE_H
#define CW_WORKER_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_entry {
    int64_t due_ns;      /* next due time, CLOCK_MONOTONIC */
    int64_t interval_ns; /* > 0 */
    uint32_t id;         /* the caller's endpoint index */
};

struct sched {
    struct sched_entry *heap; /* owned; heap[0] is the earliest */
    size_t n, cap;
};

/* The stable phase of url within an interval: a mix of cw_hash64(url), modulo interval_ns. */
int64_t sched_phase(const char *url, int64_t interval_ns);

/* The first due time (monotonic) of an endpoint: the first instant >= now_mono_ns at which
 * (wall clock - phase) is a multiple of the interval. Always in [now_mono_ns, now_mono_ns + interval_ns). */
int64_t sched_first_due(const char *url, int64_t interval_ns, int64_t now_mono_ns, int64_t now_wall_ns);

/* Seconds (as configured) to nanoseconds, rounded; at least 1 ms. */
int64_t sched_seconds_to_ns(double seconds);

/* The timeout (ms) to give a check of an endpoint due at due_ns that starts at now_ns: the configured
 * timeout, but cut so that the check ends a margin (1% of the interval, 5..100 ms) before the endpoint's next
 * due time. With timeout == interval (allowed, and the default for intervals under 10 s) a hanging endpoint
 * would otherwise still be in flight at every next due time, and only every other occurrence would run.
 * Never less than half the configured timeout (a check that starts very late may then overlap, and the
 * next occurrence is skipped), never less than 1 ms. */
long sched_check_timeout_ms(double timeout_s, int64_t interval_ns, int64_t due_ns, int64_t now_ns);

void sched_init(struct sched *s, size_t capacity_hint);
void sched_free(struct sched *s);

/* Adds an endpoint with its first due time. Allocation failure is fatal (cw_xrealloc). */
void sched_add(struct sched *s, uint32_t id, int64_t interval_ns, int64_t first_due_ns);

/* Restores the heap order after the caller rewrote heap[0..n) (a reload: worker/remap.c). O(n). */
void sched_heapify(struct sched *s);

/* The earliest entry, or NULL when the schedule is empty. Valid until the next add/advance. */
static inline const struct sched_entry *sched_peek(const struct sched *s) { return s->n ? &s->heap[0] : NULL; }

/* Moves the top entry to its next occurrence after the one that was due: due += interval, then, if that is
 * still <= now_ns, on to the first occurrence after now_ns. Returns the number of occurrences passed over
 * beyond the one that was due (0 when on time; they are "missed"). */
uint64_t sched_advance(struct sched *s, int64_t now_ns);

/* Why occurrences were missed, between two reports. */
enum sched_miss_reason {
    SCHED_MISS_CAP,  /* the check waited for a free slot under the in-flight cap, and started too late */
    SCHED_MISS_LATE, /* the loop came to it too late: the worker is short of CPU */
    SCHED_MISS_BUSY, /* the endpoint's previous check was still running */
    SCHED_MISS_REASONS
};

struct sched_misses {
    uint64_t started;                    /* occurrences that ran since the tally began */
    uint64_t missed[SCHED_MISS_REASONS]; /* occurrences missed, by reason */
    int64_t since_ns;                    /* when the tally began (monotonic) */
    int64_t reported_ns;                 /* the last report; 0: none yet */
};

/* Adds n missed occurrences for a reason. */
static inline void sched_misses_add(struct sched_misses *m, enum sched_miss_reason why, uint64_t n)
{
    m->missed[why] += n;
}

/* When something was missed and the last report is at least every_ns old (or there was none): writes the
 * report ("missed M of D checks due in the last S s (P%): ...", each reason with its count, cap: the
 * in-flight cap) into buf, starts a new tally at now and returns true. Otherwise false, buf untouched. */
bool sched_misses_report(struct sched_misses *m, int64_t now_ns, int64_t every_ns, unsigned cap, char *buf, size_t len);

#endif
