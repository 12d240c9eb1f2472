/* common/config/maintenance.h — maintenance windows (the top-level `maintenance` list, struct cw_maintenance):
 * whether a window is active at a wall-clock instant, whether it covers an endpoint, the first window covering an
 * endpoint now, and the next instant at which any window starts or ends.
 *
 * Pure but for the system's zone files: a recurring window's times are local times in its time_zone (UTC when
 * NULL), converted with common/base/tzfile.h (the process's TZ and environment are never touched: safe while
 * other threads run; the boundaries found are cached per window under a lock, so a lookup in the steady state
 * touches no zone data).
 * Local times: a time that does not exist (the hour skipped at a spring-forward) is the instant the clocks jump
 * (so "02:00-03:00" on that day in Europe/Berlin is empty); a time that exists twice (at a fall-back) starts a
 * window at its first occurrence and ends it at its last (so "02:00-03:00" lasts two hours that night). */
#ifndef CW_MAINTENANCE_H
#define CW_MAINTENANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config/config.h"

/* True when the window m is open at wall_us (µs since the epoch): [start, start + duration) for a one-off, an
 * occurrence [from, to) on one of its days for a recurring one. */
bool maintenance_active(const struct cw_maintenance *m, int64_t wall_us);

/* The end (µs) of m's occurrence open at wall_us; 0 when m is not open then. */
int64_t maintenance_end(const struct cw_maintenance *m, int64_t wall_us);

/* True when m covers ep: m names no endpoints and no groups (everything), or names ep (by its index in
 * cfg->endpoints when ep points into that array, else by name, else by url), or names ep's group. */
bool maintenance_covers(const struct cw_config *cfg, const struct cw_maintenance *m, const struct cw_endpoint *ep);

/* The first window of cfg->maintenance that covers ep and is open at wall_us; NULL: none. */
const struct cw_maintenance *maintenance_find(const struct cw_config *cfg, const struct cw_endpoint *ep,
                                              int64_t wall_us);

/* The first instant after wall_us at which a window of cfg may open or close (a caller re-evaluates then);
 * INT64_MAX: none ever. */
int64_t maintenance_next_change(const struct cw_config *cfg, int64_t wall_us);

#endif
