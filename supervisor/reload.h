/* supervisor/reload.h — what a reload (SIGHUP) changed between two validated configurations, so the
 * supervisor restarts only what must see the new one.
 *
 * DESIGN
 * Workers are sharded by a stable hash of the URL (cw_shard_of), so with the same worker count an added
 * endpoint changes only the shard it falls in: only that worker restarts, the others keep their schedules
 * and boot ids. A change to anything every worker uses (worker count, bus addresses, log level, run_dir,
 * defaults, whether a storer or alerter runs) restarts all workers. The storer and alerter see every
 * endpoint and their own settings: the supervisor restarts them whenever the snapshot bytes changed.
 *
 * Known weakness: the list of "settings every worker uses" is written out here by hand; a new key in
 * struct cw_config that workers read must be added to reload_worker_globals_changed. */
#ifndef CW_SUPERVISOR_RELOAD_H
#define CW_SUPERVISOR_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config/config.h"

/* True when a setting that every worker reads differs (restart them all). */
bool reload_worker_globals_changed(const struct cw_config *a, const struct cw_config *b);

/* True when the relay's addresses differ. */
bool reload_relay_changed(const struct cw_config *a, const struct cw_config *b);

/* Whether the CURVE settings of the bus differ (key file or the key in it, server key, allowed keys). */
bool reload_curve_changed(const struct cw_config *a, const struct cw_config *b);

/* For the same worker count `slots`: changed[i] = whether shard i's endpoints differ between a and b
 * (added, removed, reordered or any setting of one of them). changed has `slots` entries. */
void reload_changed_shards(const struct cw_config *a, const struct cw_config *b, unsigned slots, bool *changed);

/* Endpoints (by URL) in b but not in a, and in a but not in b. */
void reload_count_endpoints(const struct cw_config *a, const struct cw_config *b, size_t *added, size_t *removed);

/* Deep comparison of two endpoints (every field of struct cw_endpoint). */
bool reload_endpoint_equal(const struct cw_endpoint *x, const struct cw_endpoint *y);

#endif
