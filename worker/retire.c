/* worker/retire.c — the retired shards of a worker's reloads in place, one count of checks in flight each
 * (worker/retire.h). */
#include "worker/retire.h"

#include "common/base/util.h"
#include "worker/remap.h"

static int owned(const struct retired *list, uint32_t gen)
{
    for (; list; list = list->next)
        if (list->gen == gen) return 1;
    return 0;
}

uint32_t retire_next_gen(const struct retired *list, uint32_t cur)
{
    uint32_t g = cur;
    do g++;
    while (g == 0 || owned(list, g));
    return g;
}

size_t retire_count(const struct retired *list)
{
    size_t n = 0;
    for (; list; list = list->next) n++;
    return n;
}

struct retired *retire_check_over(struct retired **list, uint32_t gen)
{
    for (struct retired **at = list; *at; at = &(*at)->next) {
        struct retired *r = *at;
        if (r->gen != gen) continue;
        if (r->in_flight && --r->in_flight) return NULL;
        *at = r->next;
        r->next = NULL;
        return r;
    }
    return NULL;
}

uint32_t *retire_remap_busy(const uint32_t *busy, size_t n_ids, uint32_t *map, size_t n_old, size_t n, uint32_t cur,
                            size_t *n_ids_out, size_t *cur_in_flight)
{
    size_t orphans = 0, pending = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (i >= n_old) map[i] = REMAP_GONE; /* a removed endpoint of an earlier reload */
        if (busy[i] && map[i] == REMAP_GONE) map[i] = (uint32_t)(n + orphans++);
    }
    uint32_t *out = cw_xcalloc(n + orphans ? n + orphans : 1, sizeof *out);
    for (size_t i = 0; i < n_ids; i++) {
        if (!busy[i]) continue;
        out[map[i]] = busy[i];
        pending += busy[i] == cur;
    }
    *n_ids_out = n + orphans;
    *cur_in_flight = pending;
    return out;
}
