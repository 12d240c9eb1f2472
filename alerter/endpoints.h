/* alerter/endpoints.h — the alerter's endpoint table: one entry per configured endpoint with its state
 * machine (alerter/state.h), the parameters it runs with and what the last result said, found by URL.
 *
 * DESIGN
 * Built from the configuration (endpoints_build), and built again on a reload: an endpoint already known (by
 * URL) keeps its state, one removed is forgotten. The URL index is uthash (the project's one hash table).
 * endpoints_apply is the intake's apply function (alerter/intake.h), the second step of the result path
 * intake -> endpoints (state machine) -> dispatch -> outbox: a new result updates its endpoint's state, and
 * every event of the state machine becomes an alert handed to the dispatch (alerter/dispatch.h), unless the
 * same alert is already on its way (a replay gives the same alert id).
 * A result of another worker boot older than one applied (a predecessor's spool replayed after its
 * successor's results) would make the endpoint flap: it is late, not applied. Within a boot, the intake's
 * seqwin keeps the order (and a wall-clock step back then changes nothing). */
#ifndef CW_ALERTER_ENDPOINTS_H
#define CW_ALERTER_ENDPOINTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/hash.h"

#include "alerter/dispatch.h"
#include "alerter/flap.h"
#include "alerter/incident.h"
#include "alerter/intake.h"
#include "alerter/state.h"
#include "common/config/config.h"

struct silences;

#define ENDPOINT_ERROR_KEEP 512 /* bytes of a check's error text kept per endpoint */

struct endpoint {
    const struct cw_endpoint *ep; /* in the configuration the table was built from */
    struct astate st;
    struct astate_params p;
    struct { /* what the last result applied said */
        uint16_t status;
        int64_t latency_us;
        int64_t checked_us; /* its checked_at, and its worker boot (in memory only) */
        uint64_t boot_id;
        char *error; /* the failure's error text while failing; NULL otherwise */
    } last;
    struct incident inc;   /* its incident (alerter/incident.h) */
    struct flap_hist flap; /* its recent outcomes and whether it flaps (alerter/flap.h) */
    uint8_t held_by;       /* enum cw_mute that held its last DOWN back (in memory; 0: none yet) */
    struct {               /* its last DOWN that ended (the state machine's UP), in memory: a flap-end UP says it */
        int64_t duration_us;
        uint32_t failed;
    } last_down;
    UT_hash_handle hh; /* by ep->url */
};

struct endpoints {
    struct endpoint *all; /* n entries, in the configuration's order */
    size_t n;
    struct endpoint *by_url; /* uthash head over all */
    const struct cw_config *cfg;
    struct dispatch *d;              /* where new alerts go */
    int64_t unknown_urls;            /* results of endpoints the configuration does not have */
    const struct silences *silences; /* the alerter's silences (alerter/silences.h) for the muting; NULL: none */
    int64_t tick_mono_us;            /* when incident_tick last ran (monotonic) */
    /* for `clockwerk status` (the state file's "plain", alerter/statefile.h): */
    uint64_t fingerprint;    /* statefile_fingerprint of cfg's endpoints */
    int64_t *worker_last_us; /* per worker slot of cfg: checked_at of its newest result applied (0: none) */
    size_t n_workers;
};

/* An empty table whose alerts go to d. */
void endpoints_init(struct endpoints *t, struct dispatch *d);

/* (Re)builds the table for cfg's endpoints (cfg must outlive the table or the next build), taking over the
 * state of those already known by URL. */
void endpoints_build(struct endpoints *t, const struct cw_config *cfg);

/* The entry of that URL, or NULL. */
struct endpoint *endpoints_find(const struct endpoints *t, const char *url);

/* Raises the alert of event ev of e (detail: one more line, or NULL): a REMINDER or ESCALATION of an acknowledged
 * incident is not raised. A DOWN opens the incident (alerter/incident.h) and an UP closes it only when told, at
 * their release (incident_decide); a muted one leaves it alone. */
void endpoints_raise(struct endpoints *t, struct endpoint *e, const struct astate_event *ev, const char *detail,
                     int64_t now_mono);

/* intake_apply_fn (ctx: the struct endpoints): applies one new result, raising its alerts (its state changes,
 * and the start or the end of flapping). */
enum intake_verdict endpoints_apply(void *ctx, const struct cw_result *r, int64_t now_mono);

void endpoints_free(struct endpoints *t);

#endif
