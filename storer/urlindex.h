/* storer/urlindex.h — the storer's lookup of a configured endpoint by URL (issue 18: 500,000 endpoints): an
 * open-addressing table of uint32 indexes into the configuration's endpoints, whose own URLs are the keys (nothing
 * copied: 4 bytes a slot, at least two slots an endpoint, 8 to 16 B an endpoint in all).
 *
 * DESIGN
 * Built from an array of endpoints (url_index_build), built again at each reload for the new configuration (the
 * owner keeps the old one alive until it has carried its state over, then frees it). Slot value: index + 1, 0 empty;
 * the slots are a power of two, at least twice the endpoints, probed linearly from cw_hash64(url). A URL is one
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
/* Frees the slots; x is then empty (finds nothing). */
void url_index_free(struct url_index *x);

#endif
