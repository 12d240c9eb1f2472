/* worker/remap.c — the old shard's endpoints paired with the new one's, and the schedule carried over (remap.h). */
#include "worker/remap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

/* An open-addressing set of indices into old (slot value index + 1; 0 empty), by the URL's hash. */
struct url_set {
    size_t *slot;
    size_t mask;
};

static bool same_url_at(const struct cw_endpoint *old, size_t n_old, const struct cw_endpoint *eps, size_t n,
                        size_t i)
{
    return i < n_old && i < n && old[i].url && eps[i].url && strcmp(old[i].url, eps[i].url) == 0;
}

void remap_build(const struct cw_endpoint *old, size_t n_old, const struct cw_endpoint *eps, size_t n,
                 uint32_t *old_to_new)
{
    size_t moved = 0;
    for (size_t i = 0; i < n_old; i++) {
        bool same = same_url_at(old, n_old, eps, n, i);
        old_to_new[i] = same ? (uint32_t)i : REMAP_GONE;
        moved += !same;
    }
    if (!moved) return;
    struct url_set set = { 0 };
    size_t cap = 16;
    while (cap < 2 * moved) cap *= 2;
    set.slot = cw_xcalloc(cap, sizeof *set.slot);
    set.mask = cap - 1;
    for (size_t i = 0; i < n_old; i++) {
        if (old_to_new[i] != REMAP_GONE || !old[i].url) continue;
        size_t h = (size_t)cw_hash64(old[i].url) & set.mask;
        while (set.slot[h]) h = (h + 1) & set.mask;
        set.slot[h] = i + 1;
    }
    for (size_t j = 0; j < n; j++) {
        if (same_url_at(old, n_old, eps, n, j) || !eps[j].url) continue;
        for (size_t h = (size_t)cw_hash64(eps[j].url) & set.mask; set.slot[h]; h = (h + 1) & set.mask) {
            size_t i = set.slot[h] - 1;
            if (strcmp(old[i].url, eps[j].url) == 0) {
                old_to_new[i] = (uint32_t)j;
                break;
            }
        }
    }
    free(set.slot);
}

void remap_schedule(struct sched *s, const uint32_t *old_to_new, const struct cw_endpoint *old, size_t n_old,
                    const struct cw_endpoint *eps, size_t n, int64_t now_mono_ns, int64_t now_wall_ns,
                    struct remap_counts *counts)
{
    (void)old;
    struct remap_counts c = { 0 };
    bool *placed = cw_xcalloc(n ? n : 1, sizeof *placed);
    size_t k = 0;
    for (size_t e = 0; e < s->n; e++) {
        struct sched_entry en = s->heap[e];
        uint32_t j = en.id < n_old ? old_to_new[en.id] : REMAP_GONE;
        if (j == REMAP_GONE || j >= n || eps[j].type == CW_CHECK_PUSH) {
            c.removed++;
            continue;
        }
        int64_t interval = sched_seconds_to_ns(eps[j].interval);
        if (interval != en.interval_ns) {
            en.interval_ns = interval;
            en.due_ns = sched_first_due(eps[j].url, interval, now_mono_ns, now_wall_ns);
            c.rephased++;
        } else {
            c.kept++;
        }
        en.id = j;
        placed[j] = true;
        s->heap[k++] = en;
    }
    s->n = k;
    for (size_t j = 0; j < n; j++) {
        if (placed[j] || eps[j].type == CW_CHECK_PUSH) continue;
        int64_t interval = sched_seconds_to_ns(eps[j].interval);
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 16;
            s->heap = cw_xrealloc(s->heap, s->cap * sizeof *s->heap);
        }
        s->heap[s->n++] = (struct sched_entry){ .due_ns = sched_first_due(eps[j].url, interval, now_mono_ns,
                                                                          now_wall_ns),
                                                .interval_ns = interval,
                                                .id = (uint32_t)j };
        c.added++;
    }
    free(placed);
    sched_heapify(s);
    if (counts) *counts = c;
}
