/* alerter/endpoints.h — the alerter's endpoint table: one entry per configured endpoint with its state
 * machine (alerter/state.h), the parameters it runs with and what the last result said, found by URL.
 *
 * DESIGN
 * Built from the configuration (endpoints_build), and built again on a reload: an endpoint already known (by
 * URL) keeps its state, one removed is forgotten. The URL index is an open-addressing table of uint32 indexes
 * keyed by the configuration's own URLs (as web/ids.c's): 4 bytes a slot, no copy, no per-entry handle.
 * endpoints_apply is the intake's apply function (alerter/intake.h), the second step of the result path
 * intake -> endpoints (state machine) -> dispatch -> outbox: a new result updates its endpoint's state, and
 * every event of the state machine becomes an alert handed to the dispatch (alerter/dispatch.h), unless the
 * same alert is already on its way (a replay gives the same alert id).
 * A result of another worker boot older than one applied (a predecessor's spool replayed after its
 * successor's results) would make the endpoint flap: it is late, not applied. Within a boot, the intake's
 * seqwin keeps the order (and a wall-clock step back then changes nothing).
 * Locations (issue 16, docs/alerts.md "Locations and quorum"): a result carries the location that checked it ("":
 * the alerter's own, cfg->location). A result of a location not in the endpoint's `locations` is counted
 * (other_location_results) and ignored; one checked before its location came back from silence
 * (alerter/locations.h) is late: counted (late_location_results), not voted. An endpoint with ONE location is fed
 * exactly as before locations existed: each result drives its state machine (same alerts, same ids, same state
 * file). An endpoint with several has a vote per location (common/base/quorum.h: that location's own run with
 * the endpoint's thresholds, the late-boot rule above per location); after each result the quorum verdict over the
 * live locations drives the state machine (astate_feed_verdict, alerter/state.h), so DOWN/UP/REMINDER, incidents,
 * muting, flapping (fed the verdict, not each result) and escalation work unchanged, and since_us, hence the
 * alert ids, come from the results' times only. Its DOWN, UP and REMINDER alerts say who sees what in their
 * detail ("DOWN from fra, nyc; up from sgp; tyo silent"). The verdict is given the endpoint's state, so a DOWN
 * holds until DOWN can no longer be reached (common/base/quorum.h); a vote from before its location came back from
 * silence counts as unknown (its next result starts afresh); flapping is fed the state, nothing while the verdict
 * is unknown. The votes are in the state file (alerter/persist.c: a restart mid-outage neither ends nor repeats
 * it); a reload keeps the votes of the locations still listed, and forgets the last result's boot and time when
 * the endpoint's locations changed. */
#ifndef CW_ALERTER_ENDPOINTS_H
#define CW_ALERTER_ENDPOINTS_H

#include <stddef.h>
#include <stdint.h>

#include "alerter/dispatch.h"
#include "alerter/flap.h"
#include "alerter/incident.h"
#include "alerter/intake.h"
#include "alerter/locations.h"
#include "alerter/state.h"
#include "common/base/quorum.h"
#include "common/config/config.h"

struct silences;

#define ENDPOINT_ERROR_KEEP 512 /* bytes of a check's error text kept per endpoint */

/* One location's vote on a multi-location endpoint. */
struct endpoint_vote {
    const char *location; /* ep->locations[i] */
    struct quorum_voter v;
    uint64_t boot_id;   /* of its last result applied (the late-boot rule, per location) */
    int64_t checked_us; /* its checked_at */
};

/* One per configured endpoint: 500,000 of them at the scale of issue 18, so no field that the configuration already
 * says (its astate_params and quorum are worked out at each result), no hole (largest first), and what few endpoints
 * ever have behind a pointer: the incident is allocated while one is open (or holds children), see
 * endpoint_incident. 200 bytes on LP64 (328 before issue 18's work: a uthash handle and the incident inline). */
struct endpoint {
    const struct cw_endpoint *ep; /* in the configuration the table was built from */
    uint64_t saved_hash;          /* statefile_unit_hash of its part of the state file as last saved (0: none) */
    struct endpoint_vote *votes;  /* one per ep->locations when there are several; NULL: fed directly */
    struct incident *inc;         /* its incident (alerter/incident.h); NULL: none (endpoint_incident) */
    struct astate st;
    struct { /* what the last result applied said (its status: last_status) */
        int64_t latency_us;
        int64_t checked_us; /* its checked_at, and its worker boot (in memory only) */
        uint64_t boot_id;
        char *error; /* the failure's error text while failing; NULL otherwise */
    } last;
    struct flap_hist flap;     /* its recent outcomes and whether it flaps (alerter/flap.h) */
    int64_t last_down_us;      /* its last DOWN that ended (the state machine's UP), in memory: a flap-end UP */
    uint32_t last_down_failed; /* says its duration and failed checks */
    uint32_t resends; /* alerts sent when a mute or flapping ended: their seq, so each gets a new id (kept in the
                       * state file with the incident) */
    uint16_t last_status;
    uint8_t n_votes;  /* entries in votes (ep->n_locations when several, at most CW_LOCATIONS_MAX) */
    uint8_t verdict;  /* enum quorum_vote after the last result (multi-location; for `clockwerk status`) */
    uint8_t held_by;  /* enum cw_mute that held its last DOWN back (in memory; 0: none yet) */
    uint8_t notified; /* enum astate_avail: what the channels last heard of it (kept with the incident) */
};

/* e's incident, or one of all zeroes when it has none (never NULL; read only). */
const struct incident *endpoint_incident(const struct endpoint *e);
/* e's incident, allocated (all zeroes) when it has none: for what changes it. */
struct incident *endpoint_incident_mut(struct endpoint *e);
/* Frees e's incident when it holds nothing any more: not open, no child (its id, steps and times are then only
 * history; an endpoint with none reads all zeroes). */
void endpoint_incident_release(struct endpoint *e);

struct endpoints {
    struct endpoint *all; /* n entries, in the configuration's order */
    size_t n;
    uint32_t *by_url; /* open addressing over all by ep->url: index + 1, 0 empty; url_mask + 1 slots (>= 2n) */
    size_t url_mask;
    const struct cw_config *cfg;
    struct dispatch *d;              /* where new alerts go */
    int64_t unknown_urls;            /* results of endpoints the configuration does not have */
    struct locations *locs;          /* the locations' liveness (alerter/locations.h); NULL: every one live */
    int64_t other_location_results;  /* results of a location the endpoint is not checked from */
    int64_t late_location_results;   /* results checked before their location came back from silence */
    const struct silences *silences; /* the alerter's silences (alerter/silences.h) for the muting; NULL: none */
    int64_t tick_mono_us;            /* when incident_tick last ran (monotonic) */
    /* incident_tick's work list (alerter/incident_run.c): the indexes of the endpoints that may have tick work,
     * a superset of those that do; tick_in[i] says whether i is listed; tick_all: walk every endpoint once
     * (after a build or a load) */
    size_t *tick_list, n_tick, cap_tick;
    uint8_t *tick_in;
    bool tick_all;
    /* for `clockwerk status` (the state file's "plain", alerter/statefile.h): */
    uint64_t fingerprint;    /* statefile_fingerprint of cfg's endpoints */
    int64_t *worker_last_us; /* per worker slot of cfg: checked_at of its newest result applied (0: none) */
    size_t n_workers;
    /* URLs a reload removed whose part of the state file (saved_hash != 0) the next save is to forget (copies) */
    char **gone;
    size_t n_gone;
};

/* A URL whose part of the state file the next save is to forget (a copy is kept); gone emptied once it did. */
void endpoints_gone_add(struct endpoints *t, const char *url);
void endpoints_gone_clear(struct endpoints *t);

/* An empty table whose alerts go to d. */
void endpoints_init(struct endpoints *t, struct dispatch *d);

/* (Re)builds the table for cfg's endpoints (cfg must outlive the table or the next build), taking over the
 * state of those already known by URL. True when the table stayed where it was (every index the same endpoint,
 * or a new URL in place of one removed); false when it was built anew. */
bool endpoints_build(struct endpoints *t, const struct cw_config *cfg);

/* The entry of that URL, or NULL. */
struct endpoint *endpoints_find(const struct endpoints *t, const char *url);

/* Raises the alert of event ev of e (detail: one more line, or NULL): a REMINDER or ESCALATION of an acknowledged
 * incident is not raised. A DOWN opens the incident (alerter/incident.h) and an UP closes it only when told, at
 * their release (incident_decide); a muted one leaves it alone. */
void endpoints_raise(struct endpoints *t, struct endpoint *e, const struct astate_event *ev, const char *detail,
                     int64_t now_mono);

/* Who sees what on e: "DOWN from fra, nyc; up from sgp; tyo silent" (out always NUL-terminated, "" for an
 * endpoint with one location). */
void endpoints_location_summary(const struct endpoints *t, const struct endpoint *e, char *out, size_t len);

/* intake_apply_fn (ctx: the struct endpoints): applies one new result, raising its alerts (its state changes,
 * and the start or the end of flapping). */
enum intake_verdict endpoints_apply(void *ctx, const struct cw_result *r, int64_t now_mono);

void endpoints_free(struct endpoints *t);

/* Lists e for incident_tick when it now has tick work (channels not level with its availability, an escalation
 * step ahead): called wherever its availability, what its channels were told or its steps change. */
void endpoints_tick_note(struct endpoints *t, const struct endpoint *e);

#endif
