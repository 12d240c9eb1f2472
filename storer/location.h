/* storer/location.h — which location a batch of results may carry (issue 16, docs/schema.md "Locations"): a
 * batch that came over CURVE from the key of a `locations` entry (a probe host) must carry that entry's name on
 * every record; anything else is refused (not stored, not acked, counted wrong_location). A batch without a
 * peer key (ipc://, no CURVE) or from a key of no entry (the central's own workers, curve_allowed_keys) is
 * taken as it is. Pure: no I/O, unit-tested (tests/unit/test_store_location.c). */
#ifndef CW_STORER_LOCATION_H
#define CW_STORER_LOCATION_H

#include <stddef.h>

#include "common/config/config.h"
#include "common/wire/protocol.h"

/* NULL when results[0..n) may be stored; else the name of the location the key belongs to (the batch is
 * refused), with *bad the first record's location that is not it ("" for a record without one). */
const char *store_location_refused(const struct cw_config *cfg, const char *peer_key, const struct cw_result *results,
                                   size_t n, const char **bad);

#endif
