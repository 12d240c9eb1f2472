/* supervisor/counters.h — the last counters each process reported, for the supervisor's shutdown log.
 *
 * DESIGN
 * Every process publishes CW_MSG_STATS about once a second on the best-effort stream. The supervisor
 * subscribes to that type only (not to results: it does no data work), keeps the latest report per
 * (role, id), and logs them when everything has stopped. Children stop before the relay does, so their
 * last reports pass through it. Best effort by nature: a report dropped by a full queue only makes the
 * logged figures older, never wrong for the moment they were taken.
 *
 * It also PUBLISHES its own counters (role "supervisor": restarts per kind, crashes, reloads) about once a second
 * on the same stream, so that readers such as clockwerk-web's /metrics see restarts (docs/protocol.md 2.4).
 *
 * Memory: the table owns copies of every string; counters_free releases them and the bus. */
#ifndef CW_SUPERVISOR_COUNTERS_H
#define CW_SUPERVISOR_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bus/bus.h"
#include "common/config/config.h"
#include "common/proc/proc.h"
#include "common/wire/protocol.h"

struct counters_entry {
    char *role;
    uint32_t id;
    uint64_t boot_id;
    int64_t at_us;
    unsigned count;
    char *names[CW_STATS_MAX];
    int64_t values[CW_STATS_MAX];
};

struct counters {
    struct bus *bus;
    struct bus_socket *sub;
    struct counters_entry *v;
    size_t n, cap;
    unsigned long malformed;
    struct bus_socket *pub; /* the supervisor's own stats to the relay; NULL without a publish address */
    uint64_t boot_id;
    int64_t next_publish_ns; /* monotonic */
    struct cw_buf scratch;
};

/* Subscribes to the stats on cfg->tap_address, over a bus of its own with cfg's CURVE keys (closing an earlier
 * subscription and bus). 0, or -1 with err. */
int counters_open(struct counters *c, const struct cw_config *cfg, char *err, size_t errlen);
/* The descriptor to poll (edge-triggered: counters_drain after every wake-up), or -1 when not open. */
int counters_fd(const struct counters *c);
/* Whether the supervisor's own stats are due (once a second); counters_publish sends st (best effort). */
bool counters_publish_due(const struct counters *c, int64_t now);
void counters_publish(struct counters *c, struct proc_stats *st, int64_t now);
/* Takes every report waiting, without blocking. */
void counters_drain(struct counters *c);
/* Keeps st as its process's last report (the supervisor's own at stop: its published copy may be a second old). */
void counters_keep(struct counters *c, const struct cw_stats *st);
/* One log line per process that reported; workers with an id >= workers (slots a reload removed) are
 * left out. */
void counters_log(const struct counters *c, unsigned workers);
void counters_free(struct counters *c);

#endif
