/* supervisor/confserve.h — the central host's configuration server: the supervisor answers each probe host's
 * CW_MSG_CONFIG_GET on bus.config_address with the configuration of its location (docs/protocol.md 2.10).
 *
 * DESIGN
 * One BUS_SERVE_CONFIG socket (ROUTER, bound) on a bus of its own, made from the configuration (its CURVE keys,
 * the locations' keys admitted), served from the supervisor's ppoll loop: its descriptor is edge-triggered, so
 * every wake-up drains it. Each location's answer is prepared once per configuration, not per request:
 * config_for_location + config_snapshot_encode, and its hash (probe_config_hash: over those bytes and the central's
 * store/alert/publish addresses, so that a reload changing only an address reaches the probes), rebuilt at every
 * reload. A request names its location and the hash of what the probe runs: the same hash gets UNCHANGED (a few
 * bytes), another one NEW with the bytes and the central's store/alert/publish addresses as configured (a
 * wildcard host stays one: the probe puts the host it reached the central at in its place).
 *
 * Who may fetch: a request over CURVE (tcp:// with bus.curve_key_file) must come from the key of the location
 * it claims (bus_msg.peer_key); any other key, an unknown location or the central's own location is REFUSED
 * with a reason, and the refusal is logged at the central (naming key and location, rate-limited). Without
 * CURVE (an ipc:// config_address, or tcp:// on loopback without a key file) no key can be checked: every
 * known location is served (docs/config.md "Locations").
 *
 * Each request is also its location's sign of life: "location fra connected (config HASH)" is logged at the
 * first one and whenever the hash answered changes; silence is the alerter's business, not this module's.
 *
 * Memory: the server owns its bus, socket, cached bytes and names; confserve_free releases them. */
#ifndef CW_SUPERVISOR_CONFSERVE_H
#define CW_SUPERVISOR_CONFSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/ratelimit.h"
#include "common/base/util.h"
#include "common/bus/bus.h"
#include "common/config/config.h"

/* One location's prepared answer. */
struct confserve_loc {
    char *name;
    char key[BUS_CURVE_Z85_LEN + 1]; /* its CURVE public key (Z85) */
    unsigned char *snap;             /* config_snapshot_encode of config_for_location */
    size_t snap_len;
    uint64_t hash;        /* probe_config_hash of snap and the central's addresses */
    uint64_t hash_logged; /* the hash last named in "location NAME connected" (0: not yet) */
};

/* A refusal remembered, so that a probe host asking every 5 s with a wrong key is logged once, then every 10
 * minutes with a count, not 12 times a minute. */
#define CONFSERVE_REFUSALS 16
#define CONFSERVE_RELOG_NS (600000000000LL)
struct confserve_refusal {
    char key[BUS_CURVE_Z85_LEN + 1];
    char location[CW_LOCATION_NAME_MAX + 1];
    int64_t logged_ns; /* monotonic, of its last line; 0: a free entry */
    bool due;          /* never logged yet: its first line waits for the rate limit only */
    uint64_t unlogged; /* refusals of this pair since its last line */
};

struct confserve {
    struct bus *bus;
    struct bus_socket *sock;
    char *address;     /* config_address it is bound to */
    bool keys_checked; /* CURVE on the socket: the peer's key must be its location's */
    bool stale;        /* the socket is not the one the configuration wants (a bind failed): retried */
    int64_t retry_ns;  /* monotonic: the next try when stale */
    struct confserve_loc *locs;
    size_t n_locs;
    char *store_address, *alert_address, *publish_address; /* as the central's file says them */
    struct confserve_refusal refusals[CONFSERVE_REFUSALS];
    struct ratelimit refused_log, malformed_log; /* refused_log: across pairs (many keys at once) */
    struct cw_buf scratch;
    uint64_t requests, sent_new, sent_unchanged, refused, malformed;
};

/* Opens the server for cfg (cfg->config_address set) and prepares every location's answer. 0, or -1 with err
 * (nothing left open). */
int confserve_open(struct confserve *cs, const struct cw_config *cfg, char *err, size_t errlen);
/* A reload: prepares the answers of cfg (the new configuration) and, when the address, the bus's keys or the
 * locations' keys (its allow-list) changed, opens the socket again (closes it when cfg has no config_address). The new
 * socket is bound before the old one closes: when that bind fails the old address goes on serving (the new answers),
 * which is logged, and confserve_tick tries again every CONFSERVE_RETRY_NS (new keys on the same address: it is
 * closed first, and "NOT serving" is logged until the retry succeeds). 0, or -1 with err when the answers cannot be
 * prepared: then nothing changed, the previous answers are served. */
int confserve_reload(struct confserve *cs, const struct cw_config *cfg, bool curve_changed, char *err, size_t errlen);
#define CONFSERVE_RETRY_NS (5000000000LL)
/* Binds again the socket cfg (the running configuration) wants after a failed bind, when due. Returns when it is due
 * next (INT64_MAX: nothing to retry). */
int64_t confserve_tick(struct confserve *cs, const struct cw_config *cfg, int64_t now);
/* The descriptor to poll (-1 when closed). */
int confserve_fd(const struct confserve *cs);
/* Answers every request waiting, without blocking (at most a bounded number: returns true when more may wait,
 * then poll again at once). */
bool confserve_drain(struct confserve *cs);
void confserve_free(struct confserve *cs);

/* ---- pure parts (unit-tested) */

/* The index in locs of the location a request may be served, or -1 with the reason in why (one line, for the
 * reply and the log): an unknown location, or — with keys_checked — a peer key that is not that location's. */
long confserve_admit(const struct confserve_loc *locs, size_t n, bool keys_checked, const char *location,
                     const char *peer_key, char *why, size_t whylen);
/* Whether a refusal of (key, location) is to be logged now: the first of the pair, then once CONFSERVE_RELOG_NS after
 * its last line, and only when `lines` (the limit across pairs) allows a line now (*unlogged: how many refusals of
 * the pair were not logged since its last line). A refusal not logged is counted for the pair's next line. The
 * least recently logged entry makes room. */
bool confserve_refusal_news(struct confserve_refusal *mem, size_t n, struct ratelimit *lines, const char *key,
                            const char *location, int64_t now, uint64_t *unlogged);
/* Whether a CURVE key is checked on a socket bound to address for cfg: tcp:// with bus.curve_key_file. */
bool confserve_keys_checked(const struct cw_config *cfg, const char *address);

#endif
