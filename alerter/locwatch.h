/* alerter/locwatch.h — the alerter's side of locations on the bus (issue 16, docs/alerts.md "Locations and
 * quorum"): HELLOs answered and taken in, result batches admitted by their sender's key, LOCATION_SILENT /
 * LOCATION_BACK alerts raised through the normal dispatch, clock skew logged, CW_MSG_LOCATIONS published.
 *
 * DESIGN
 * The table itself is alerter/locations.h (pure); this file wires it to the bus, the dispatch and the log.
 * A HELLO (on the results' ROUTER, outside the acknowledged queue) is answered at once with a HELLO_ECHO to its
 * sender (the alerter's clock when it arrived), then makes its location heard and records the worker's offset.
 * Key check: a message over CURVE names its sender's key (bus_msg.peer_key). When that key is a `locations`
 * entry's, the HELLO or the whole result batch must claim that location; when it is another admitted key (the
 * host's own, curve_allowed_keys) only the alerter's own location; no key (ipc://, tcp without CURVE): any
 * location (it cannot be checked) — config_key_location, the storer's rule too, so that both take or refuse the
 * same batch. A refused HELLO or batch is counted (wrong_location), logged rate-limited with the key and the
 * location claimed; a refused batch is never applied and is refused back to its sender (alerter/intake.h).
 * A result's location "" (a worker of before locations) is the alerter's own.
 * Location alerts: url "location:NAME", name NAME, no endpoint: routed to alerts.notify (every channel when
 * unset) whose `kinds` take location_silent / location_back, at severity warning; never muted by an endpoint's
 * maintenance or silence. Their ids come from (url, kind, since): SILENT's since is when it was last heard (else
 * the start), BACK's the moment it came back. */
#ifndef CW_ALERTER_LOCWATCH_H
#define CW_ALERTER_LOCWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "alerter/dispatch.h"
#include "alerter/locations.h"
#include "common/base/ratelimit.h"
#include "common/base/util.h"
#include "common/bus/bus.h"
#include "common/config/config.h"

struct locwatch {
    struct locations locs;
    const struct cw_config *cfg;
    struct dispatch *d;      /* where location alerts go */
    struct bus_socket *sock; /* the results' ROUTER: HELLO_ECHO answers */
    struct cw_buf buf;
    struct ratelimit rl_wrong, rl_bad;
    int64_t hellos, echoes, malformed_hellos, unknown_location, wrong_location; /* counted for the stats */
};

/* Empty; alerts to d, echoes on sock. */
void locwatch_init(struct locwatch *w, struct dispatch *d, struct bus_socket *sock);

/* (Re)reads the locations of cfg (config_location_names), keeping the state of the known ones. */
void locwatch_configure(struct locwatch *w, const struct cw_config *cfg, int64_t now_mono);

/* A CW_MSG_HELLO received on the results' socket. */
void locwatch_hello(struct locwatch *w, const struct bus_msg *m, int64_t now_mono);

/* A decoded result batch from m's sender: false when its key may not send for the locations it claims (refused:
 * never applied, refused back by the intake). Else every result's location is heard (a location coming back
 * raises its alert). */
bool locwatch_admit(struct locwatch *w, const struct bus_msg *m, const struct cw_result *r, int n, int64_t now_mono);

/* Judges silence (LOCATION_SILENT alerts). */
void locwatch_tick(struct locwatch *w, int64_t now_mono);

/* Publishes CW_MSG_LOCATIONS on pub (best effort). */
void locwatch_publish(struct locwatch *w, struct bus_socket *pub, int64_t now_mono);

void locwatch_free(struct locwatch *w);

#endif
