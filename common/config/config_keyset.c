/* common/config/config_keyset.c — the set of what must be unique among the endpoints (see config_keyset.h). */
#include "common/config/config_keyset.h"
#include "common/base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

/* n zeroed slots. A set of 500,000 endpoints is 8 MiB probed at random: on 4 KiB pages nearly every probe missed
 * the TLB as well as the cache; on 2 MiB pages (transparent huge pages, when the system grants them) it does not. */
static uint64_t *slots_new(size_t n)
{
    size_t bytes = n * sizeof(uint64_t);
    if (bytes < HUGE_PAGE) return cw_xcalloc(n, sizeof(uint64_t));
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) return cw_xcalloc(n, sizeof(uint64_t));
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: without it, 4 KiB pages */
    memset(p, 0, bytes);
    return p;
}

void cfg_keyset_init(struct cfg_keyset *k, size_t cap)
{
    memset(k, 0, sizeof *k);
    k->cap = cap;
}

uint64_t cfg_keyset_hash(const char *key)
{
    /* FNV-1a's low bits mix poorly for keys alike but their tail (http://host/e/1, /e/2 ...): a final mix */
    return cw_mix64(cw_hash64(key));
}

long cfg_keyset_find(const struct cfg_keyset *k, const char *key, uint64_t hash)
{
    if (!k->slot) return -1;
    uint64_t tag = hash >> 32;
    for (size_t i = (size_t)hash & k->mask;; i = (i + 1) & k->mask) {
        uint64_t s = k->slot[i];
        if (s == 0) return -1;
        if (s >> 32 == tag) {
            size_t idx = (size_t)(uint32_t)s - 1;
            if (strcmp(k->entry[idx].key, key) == 0) return (long)idx;
        }
    }
}

void cfg_keyset_prefetch(const struct cfg_keyset *k, uint64_t hash)
{
    if (k->slot) __builtin_prefetch(&k->slot[(size_t)hash & k->mask]);
}

void cfg_keyset_add(struct cfg_keyset *k, const char *key, uint64_t hash, size_t idx, unsigned line)
{
    if (!k->slot) {
        size_t n = 16;
        while (n < 2 * k->cap) n *= 2;
        k->slot = slots_new(n);
        k->mask = n - 1;
        k->entry = cw_xmalloc((k->cap ? k->cap : 1) * sizeof *k->entry);
    }
    size_t i = (size_t)hash & k->mask;
    while (k->slot[i]) i = (i + 1) & k->mask;
    k->slot[i] = (hash >> 32) << 32 | (uint64_t)(idx + 1);
    k->entry[idx].key = key;
    k->entry[idx].line = line;
}

void cfg_keyset_free(struct cfg_keyset *k)
{
    free(k->slot);
    free(k->entry);
    memset(k, 0, sizeof *k);
}
