/* common/config/config_keyset.h — what must be unique among the endpoints (their URLs or keys, names, web IDs,
 * push tokens), found without a per-entry allocation (issue 18: 500,000 endpoints parse under a second).
 *
 * DESIGN
 * An open-addressing table of uint64 slots, sized once for the number of endpoints (a power of two, at least
 * twice it: never grown, probed linearly), each slot the key's 32-bit hash tag beside its entry index + 1 (0 is
 * empty), so a probe compares tags before it reads a key. The entries are one array indexed by the caller's own
 * number (the endpoint's index among those kept): each its key (not copied: the caller keeps it alive) and the line
 * it was first set at. There is no removal: the caller looks up (cfg_keyset_find) before it adds (cfg_keyset_add),
 * and adds only what it keeps. */
#ifndef CW_CONFIG_KEYSET_H
#define CW_CONFIG_KEYSET_H

#include <stddef.h>
#include <stdint.h>

struct cfg_key_entry {
    const char *key;
    unsigned line; /* of the setting that has it first, in the whole text */
};

struct cfg_keyset {
    uint64_t *slot; /* mask + 1 slots; NULL until the first add */
    size_t mask;
    size_t cap;                  /* the most entries (set by cfg_keyset_init) */
    struct cfg_key_entry *entry; /* cap entries, by the caller's index */
};

/* An empty set for at most cap entries (indexes 0 .. cap-1); allocates nothing yet. */
void cfg_keyset_init(struct cfg_keyset *k, size_t cap);
/* The hash a lookup and an add of key share (compute it once). */
uint64_t cfg_keyset_hash(const char *key);
/* The index of the entry whose key equals key (hash = cfg_keyset_hash(key)), or -1. */
long cfg_keyset_find(const struct cfg_keyset *k, const char *key, uint64_t hash);
/* Starts reading the slot a lookup of hash begins at (a hint: the lookup that follows other work waits less). */
void cfg_keyset_prefetch(const struct cfg_keyset *k, uint64_t hash);
/* Adds key (not in k: find it first) as entry idx (< cap, not used yet), first at line. */
void cfg_keyset_add(struct cfg_keyset *k, const char *key, uint64_t hash, size_t idx, unsigned line);
/* Frees what k holds (not the keys); k is then empty. */
void cfg_keyset_free(struct cfg_keyset *k);

#endif
