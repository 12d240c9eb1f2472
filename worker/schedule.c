/* worker/schedule.c — the min-heap of due times behind schedule.h. */
#include "worker/schedule.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/base/util.h"

/* A 64-bit finaliser (splitmix64's): FNV-1a's low bits mix poorly when URLs differ only in their last
 * characters, and the phase is taken modulo the interval, so the bits are stirred first. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

int64_t sched_phase(const char *url, int64_t interval_ns)
{
    if (interval_ns <= 0) return 0;
    return (int64_t)(mix64(cw_hash64(url)) % (uint64_t)interval_ns);
}

int64_t sched_first_due(const char *url, int64_t interval_ns, int64_t now_mono_ns, int64_t now_wall_ns)
{
    if (interval_ns <= 0) return now_mono_ns;
    int64_t phase = sched_phase(url, interval_ns);
    /* offset = (phase - now_wall) mod interval, in [0, interval) */
    int64_t offset = (phase - now_wall_ns % interval_ns) % interval_ns;
    if (offset < 0) offset += interval_ns;
    return now_mono_ns + offset;
}

int64_t sched_seconds_to_ns(double seconds)
{
    double ns = seconds * 1e9;
    if (!(ns >= 1e6)) return 1000000; /* also catches NaN */
    if (ns > 9e18) return (int64_t)9e18;
    return (int64_t)llround(ns);
}

long sched_check_timeout_ms(double timeout_s, int64_t interval_ns, int64_t due_ns, int64_t now_ns)
{
    double want = timeout_s * 1000.0;
    if (!(want >= 1.0)) want = 1.0;
    if (want > 86400000.0) want = 86400000.0;
    int64_t margin = interval_ns / 100;
    if (margin < 5000000) margin = 5000000;
    if (margin > 100000000) margin = 100000000;
    double room = (double)(due_ns + interval_ns - margin - now_ns) / 1e6;
    double ms = want < room ? want : room;
    if (ms < want / 2) ms = want / 2;
    if (ms < 1.0) ms = 1.0;
    return (long)llround(ms);
}

void sched_init(struct sched *s, size_t capacity_hint)
{
    s->n = 0;
    s->cap = capacity_hint ? capacity_hint : 16;
    s->heap = cw_xcalloc(s->cap, sizeof *s->heap);
}

void sched_free(struct sched *s)
{
    free(s->heap);
    s->heap = NULL;
    s->n = s->cap = 0;
}

/* Ties are broken by id so that the order is fully deterministic. */
static bool before(const struct sched_entry *a, const struct sched_entry *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->id < b->id);
}

static void sift_up(struct sched *s, size_t i)
{
    struct sched_entry e = s->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &s->heap[parent])) break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = e;
}

static void sift_down(struct sched *s, size_t i)
{
    struct sched_entry e = s->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->n) break;
        if (child + 1 < s->n && before(&s->heap[child + 1], &s->heap[child])) child++;
        if (!before(&s->heap[child], &e)) break;
        s->heap[i] = s->heap[child];
        i = child;
    }
    s->heap[i] = e;
}

void sched_add(struct sched *s, uint32_t id, int64_t interval_ns, int64_t first_due_ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->heap = cw_xrealloc(s->heap, s->cap * sizeof *s->heap);
    }
    s->heap[s->n] =
        (struct sched_entry){ .due_ns = first_due_ns, .interval_ns = interval_ns > 0 ? interval_ns : 1, .id = id };
    sift_up(s, s->n++);
}

void sched_heapify(struct sched *s)
{
    for (size_t i = s->n / 2; i-- > 0;) sift_down(s, i);
}

uint64_t sched_advance(struct sched *s, int64_t now_ns)
{
    if (s->n == 0) return 0;
    struct sched_entry *top = &s->heap[0];
    top->due_ns += top->interval_ns;
    uint64_t passed = 0;
    if (top->due_ns <= now_ns) {
        int64_t k = (now_ns - top->due_ns) / top->interval_ns + 1;
        top->due_ns += k * top->interval_ns;
        passed = (uint64_t)k;
    }
    sift_down(s, 0);
    return passed;
}

bool sched_misses_report(struct sched_misses *m, int64_t now_ns, int64_t every_ns, unsigned cap, char *buf, size_t len)
{
    uint64_t missed = m->missed[SCHED_MISS_CAP] + m->missed[SCHED_MISS_LATE] + m->missed[SCHED_MISS_BUSY];
    if (missed == 0 || (m->reported_ns && now_ns - m->reported_ns < every_ns)) return false;
    uint64_t due = missed + m->started;
    int n =
        snprintf(buf, len, "missed %" PRIu64 " of %" PRIu64 " checks due in the last %.1f s (%" PRIu64 "%%):", missed,
                 due, (double)(now_ns - m->since_ns) / 1e9, missed * 100 / due);
    const char *sep = "";
    char cap_text[64];
    snprintf(cap_text, sizeof cap_text, "waited for the in-flight cap (%u)", cap);
    const char *why[SCHED_MISS_REASONS] = { cap_text, "came late: the worker's loop ran behind (short of CPU)",
                                            "skipped: the endpoint's previous check was still running" };
    for (int r = 0; r < SCHED_MISS_REASONS; r++) {
        if (!m->missed[r] || n < 0 || (size_t)n >= len) continue;
        n += snprintf(buf + n, len - (size_t)n, "%s %" PRIu64 " %s", sep, m->missed[r], why[r]);
        sep = ",";
    }
    *m = (struct sched_misses){ .since_ns = now_ns, .reported_ns = now_ns };
    return true;
}
