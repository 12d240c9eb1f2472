/* common/config/config_keyset.c — the set of what must be unique among the endpoints (see config_keyset.h). */
#include "common/config/config_keyset.h"
#include "common/base/util.h"

#include <stdlib.h>
#include <string.h>

void cfg_keyset_init(struct cfg_keyset *k, size_t cap)
{
    memset(k, 0, sizeof *k);
    k->cap = cap;
}

uint64_t cfg_keyset_hash(const char *key)
{
    uint64_t h = cw_hash64(key);
    /* FNV-1a's low bits mix poorly for keys alike but their tail (http://host/e/1, /e/2 ...): a final mix */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
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

void cfg_keyset_add(struct cfg_keyset *k, const char *key, uint64_t hash, size_t idx, unsigned line)
{
    if (!k->slot) {
        size_t n = 16;
        while (n < 2 * k->cap) n *= 2;
        k->slot = cw_xcalloc(n, sizeof *k->slot);
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
