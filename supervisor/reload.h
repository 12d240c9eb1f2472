/* supervisor/reload.h — what a reload (SIGHUP) changed between two validated configurations, so the
 * supervisor restarts only what must see the new one.
 *
 * DESIGN
 * Workers are sharded by a stable hash of the URL (cw_shard_of), so with the same worker count an added
 * endpoint changes only the shard it falls in: only that worker restarts, the others keep their schedules
 * and boot ids. A change to anything every worker uses (worker count, bus addresses, log level, run_dir,
 * defaults, whether a storer or alerter runs) restarts all workers. The storer and alerter see every
 * endpoint's key, name, type and alerting thresholds, and every global setting but the web's: they restart when
 * one of those changed, not for a setting only the workers use (a tcp check's `expect`, a dns server, an HTTP
 * assertion). What only the alerter reads — the channels (the `email` group and alerts.webhooks included), the
 * routing, escalation, flapping, time zone and `groups` settings, the endpoints' notify/severity/depends_on/
 * escalate/flap keys — restarts the alerter alone; the maintenance windows restart the alerter, the storer and the
 * web (each reads them); the endpoints' groups matter to the alerter, and to the storer when there are windows. The web reads the endpoints' keys, names, types, groups and push tokens, its own group, the
 * database settings (the history), the bus and the worker count (where a push call goes): it restarts only when
 * one of those changed, so that a push URL keeps answering through every other reload.
 *
 * Locations (issue 16, docs/config.md "Locations"): a worker reads only the endpoints of its host's location, so
 * the shards are compared over those (an endpoint whose `locations` gain or lose this host restarts the worker of
 * its shard, one that moves between other locations restarts none); the endpoints' locations and quorum are the
 * alerter's and the web's; location_silent_after the alerter's; the `locations` entries (names and keys: the
 * bus allow-list) every bus server's and the web's; supervisor.location every child's (it is in every result);
 * config_address and central_address only the supervisor's.
 *
 * In place (issue 18): a reader whose globals did not change but whose endpoints did is not restarted but told to
 * read the new snapshot (SIGHUP, RUN_DIR/config.snap: docs/protocol.md section 12); reload_readers_diff says which
 * part changed for each, in one O(n) pass without copying the endpoints.
 *
 * The settings are compared on copies of the two configurations with what the child does not read zeroed, by their
 * snapshot bytes: a new global key is compared for every child unless it is zeroed there, so forgetting it costs a
 * restart, never a stale child.
 *
 * Fingerprints (issue 18): the supervisor keeps no endpoint of the running generation between reloads (377 MB at
 * 500,000), only its settings (config_settings_copy) and a struct reload_print made once per generation: per worker
 * shard a 128-bit fingerprint (supervisor/fingerprint.h) of what its worker reads of its endpoints, in order
 * (reload_endpoint_put: the bytes reload_endpoint_equal compares); per reader (storer, alerter, web) one of its
 * view of every endpoint, in order, with their count (put_view in reload.c: the fields of endpoint each reads); every
 * URL's 64-bit hash in file order (the added/removed counts of the log line). 8 bytes per endpoint, 16 per worker.
 * A change is missed only when two different encodings collide in 128 bits (about 2^-128: fingerprint.h); the
 * counts of the log line, from 64-bit hashes, could be off by one once in ~10^19 reloads of 500,000 endpoints, and
 * decide nothing. The whole-configuration functions below make both prints and compare them (tests, benches).
 *
 * Known weakness: the list of "settings every worker uses" is written out here by hand; a new key in
 * struct cw_config that workers read must be added to reload_worker_globals_changed. */
#ifndef CW_SUPERVISOR_RELOAD_H
#define CW_SUPERVISOR_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "supervisor/fingerprint.h"

/* True when a setting that every worker reads differs (restart them all). */
bool reload_worker_globals_changed(const struct cw_config *a, const struct cw_config *b);

/* True when the relay's addresses, the location or the admitted locations' keys differ. */
bool reload_relay_changed(const struct cw_config *a, const struct cw_config *b);

/* Whether the CURVE settings of the bus differ (key file or the key in it, server key, allowed keys). */
bool reload_curve_changed(const struct cw_config *a, const struct cw_config *b);

/* For the same worker count `slots`: changed[i] = whether shard i's endpoints differ between a and b
 * (added, removed, reordered or any setting of one of them), counting only the endpoints checked at each one's own
 * location (config_endpoint_at: what a worker reads). changed has `slots` entries. */
void reload_changed_shards(const struct cw_config *a, const struct cw_config *b, unsigned slots, bool *changed);

/* Endpoints (by URL) in b but not in a, and in a but not in b. */
void reload_count_endpoints(const struct cw_config *a, const struct cw_config *b, size_t *added, size_t *removed);

/* Whether the storer must restart: the endpoints' keys, names, types, intervals, timeouts and alert thresholds, the
 * maintenance windows, or any global setting but the web's and the alerter's own (channels, routing), differ. */
bool reload_storer_changed(const struct cw_config *a, const struct cw_config *b);
/* Whether the alerter must restart: what the storer reads, or the channels, routing, escalation, flapping, time zone,
 * group settings, the endpoints' groups and alerting keys differ. */
bool reload_alerter_changed(const struct cw_config *a, const struct cw_config *b);
/* reload_storer_changed || reload_alerter_changed. */
bool reload_pipeline_changed(const struct cw_config *a, const struct cw_config *b);

/* Whether the web must restart: its settings, the database's, the bus's, the worker count, or the endpoints'
 * keys, names, types, groups or push tokens (their order included) differ. */
bool reload_web_changed(const struct cw_config *a, const struct cw_config *b);

/* What the storer, the alerter or the web reads changed, in two parts: `globals`, anything but the endpoints (it
 * restarts), and `endpoints`, the endpoints as it sees them, their count and order included (it reloads in place when
 * nothing else changed: docs/operations.md section 4). globals || endpoints == reload_storer_changed and the like. */
struct reload_reader_diff {
    bool globals, endpoints;
};
struct reload_readers {
    struct reload_reader_diff storer, alerter, web;
};
/* The three at once, in O(n) time and without copying the endpoints (both configurations' prints made). */
void reload_readers_diff(const struct cw_config *a, const struct cw_config *b, struct reload_readers *out);

/* ---- fingerprints of one generation (see above) */
struct reload_print {
    size_t n_endpoints;
    unsigned slots;            /* the worker count `shards` is for (cfg->workers; 0: none) */
    struct fp128 *shards;      /* [slots]: shard s's endpoints as its worker reads them, in file order */
    uint8_t *modules;          /* [slots]: the check types whose sockets a worker opens only at start when its shard
                                * has such endpoints: RELOAD_SHARD_ICMP, RELOAD_SHARD_PUSH */
    struct fp128 readers[3];   /* the storer's, the alerter's and the web's view of every endpoint, in order */
    uint64_t *urls;            /* [n_endpoints]: each endpoint's URL hash, in file order */
};
#define RELOAD_SHARD_ICMP 1u /* supervisor/icmp_fds.c may hand the worker raw sockets */
#define RELOAD_SHARD_PUSH 2u /* its PULL socket for the web's calls */
/* cfg's fingerprints (cfg with its endpoints). O(n): ~1 µs per endpoint. Free with reload_print_free. */
void reload_print_make(struct reload_print *p, const struct cw_config *cfg);
void reload_print_free(struct reload_print *p);
/* What p holds, in bytes (for the log and the tests). */
size_t reload_print_bytes(const struct reload_print *p);
/* As reload_changed_shards, from the prints: a print made for another worker count than `slots` marks every shard. */
void reload_print_shards(const struct reload_print *a, const struct reload_print *b, unsigned slots, bool *changed);
/* As reload_count_endpoints, from the prints. */
void reload_print_count(const struct reload_print *a, const struct reload_print *b, size_t *added, size_t *removed);
/* As reload_readers_diff: the globals from the settings a and b (with or without their endpoints), the endpoints from
 * the prints pa and pb. */
void reload_print_readers(const struct cw_config *a, const struct reload_print *pa, const struct cw_config *b,
                          const struct reload_print *pb, struct reload_readers *out);

/* What a worker reads of endpoint x (every field of struct cw_endpoint but the alerting keys of issue 15: notify,
 * severity, depends_on, escalate, flap_*, which only the alerter reads, and the push token), appended to b as bytes
 * that differ whenever one of those fields does. */
struct cw_buf;
void reload_endpoint_put(struct cw_buf *b, const struct cw_endpoint *x);
/* Deep comparison of two endpoints in what a worker reads: their reload_endpoint_put bytes. */
bool reload_endpoint_equal(const struct cw_endpoint *x, const struct cw_endpoint *y);

#endif
