/* storer/urlindex.h — the storer's lookup of a configured endpoint by URL (issue 18: 500,000 endpoints): an
 * open-addressing table of uint32 indexes into the configuration's endpoints, whose own URLs are the keys (nothing
 * copied: 4 bytes a slot, at least two slots an endpoint, 8 to 16 B an endpoint in all).
 *
 * DESIGN
 * Built from an array of endpoints (url_index_build), built again at each reload for the new configuration (the
 * owner keeps the old one alive until it has carried its state over, then frees it). Slot value: index + 1, 0 empty;
 * the slots are a power of two, at least twice the endpoints, probed linearly from cw_hash64(url); a reload in
 * place re-lists only the URLs that changed (url_index_rebind). A URL is one
 * endpoint's in a configuration (config_load refuses duplicates; if two came, the first is found). Endpoints without
 * a URL are left out. The endpoints array must outlive the index. */
#ifndef CW_STORER_URLINDEX_H
#define CW_STORER_URLINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"

struct url_index {
    const struct cw_endpoint *eps; /* not owned */
    size_t n;                      /* endpoints in eps */
    uint32_t *slot;                /* mask + 1 slots; NULL when never built */
    size_t mask;
};

/* (Re)builds x over eps[0..n) (frees what x held). n must be below UINT32_MAX. */
void url_index_build(struct url_index *x, const struct cw_endpoint *eps, size_t n);
/* The index of url in eps, or -1 (also for an index never built). */
long url_index_find(const struct url_index *x, const char *url);
/* A reload in place (issue 18: one URL changed in 500,000 re-lists one, not 500,000): when eps[0..n) are x's
 * endpoints in place — as many, and every URL that differs at an index is not another index's in x — re-points x at
 * eps, unlisting each changed index's old URL (with a backward shift: no tombstone) and listing its new one, and
 * returns the changed indexes (a malloc'd array the caller frees, *n_changed of them; NULL when none). Otherwise
 * returns NULL with *n_changed = SIZE_MAX and leaves x as it was (build it). The old array must be alive. */
size_t *url_index_rebind(struct url_index *x, const struct cw_endpoint *eps, size_t n, size_t *n_changed);
/* Frees the slots; x is then empty (finds nothing). */
void url_index_free(struct url_index *x);

#endif
