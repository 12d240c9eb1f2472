/* worker/deadline.c — the indexed min-heap of the engine's timers (see deadline.h). */
#include "worker/deadline.h"

#include <stdlib.h>

#include "common/base/util.h"

void deadline_init(struct deadline_heap *d, size_t owners)
{
    d->heap = cw_xcalloc(owners ? owners : 1, sizeof *d->heap);
    d->pos = cw_xcalloc(owners ? owners : 1, sizeof *d->pos);
    d->n = 0;
    d->owners = owners;
}

void deadline_free(struct deadline_heap *d)
{
    free(d->heap);
    free(d->pos);
    d->heap = NULL;
    d->pos = NULL;
    d->n = d->owners = 0;
}

static void place(struct deadline_heap *d, size_t i, struct deadline_entry e)
{
    d->heap[i] = e;
    d->pos[e.owner] = (uint32_t)i + 1;
}

static void sift_up(struct deadline_heap *d, size_t i)
{
    struct deadline_entry e = d->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (d->heap[parent].at_ns <= e.at_ns) break;
        place(d, i, d->heap[parent]);
        i = parent;
    }
    place(d, i, e);
}

static void sift_down(struct deadline_heap *d, size_t i)
{
    struct deadline_entry e = d->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= d->n) break;
        if (child + 1 < d->n && d->heap[child + 1].at_ns < d->heap[child].at_ns) child++;
        if (d->heap[child].at_ns >= e.at_ns) break;
        place(d, i, d->heap[child]);
        i = child;
    }
    place(d, i, e);
}

void deadline_set(struct deadline_heap *d, uint32_t owner, int64_t at_ns)
{
    if (owner >= d->owners) return;
    uint32_t p = d->pos[owner];
    if (!p) {
        place(d, d->n++, (struct deadline_entry){ .at_ns = at_ns, .owner = owner });
        sift_up(d, d->n - 1);
        return;
    }
    int64_t old = d->heap[p - 1].at_ns;
    d->heap[p - 1].at_ns = at_ns;
    if (at_ns < old) sift_up(d, p - 1);
    else sift_down(d, p - 1);
}

static void remove_at(struct deadline_heap *d, size_t i)
{
    d->pos[d->heap[i].owner] = 0;
    d->n--;
    if (i == d->n) return;
    struct deadline_entry last = d->heap[d->n];
    int64_t removed_at = d->heap[i].at_ns;
    place(d, i, last);
    if (last.at_ns < removed_at) sift_up(d, i);
    else sift_down(d, i);
}

void deadline_cancel(struct deadline_heap *d, uint32_t owner)
{
    if (owner >= d->owners || !d->pos[owner]) return;
    remove_at(d, d->pos[owner] - 1);
}

bool deadline_pending(const struct deadline_heap *d, uint32_t owner) { return owner < d->owners && d->pos[owner] != 0; }

int64_t deadline_next(const struct deadline_heap *d) { return d->n ? d->heap[0].at_ns : -1; }

bool deadline_pop_due(struct deadline_heap *d, int64_t now, uint32_t *owner)
{
    if (!d->n || d->heap[0].at_ns > now) return false;
    *owner = d->heap[0].owner;
    remove_at(d, 0);
    return true;
}
