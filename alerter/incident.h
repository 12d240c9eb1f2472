/* alerter/incident.h — an endpoint's incident (docs/alerts.md "Incidents and acknowledgement"): opened by its
 * DOWN alert, closed by its UP; what its channels last heard of it; its escalation; its acknowledgement.
 *
 * DESIGN
 * An endpoint's incident (struct endpoint.inc, kept in the state file) is allocated while it is open or holds
 * children, and freed once closed and childless (endpoint_incident_release: issue 18, 500,000 endpoints of which
 * few have one); what outlives it, `notified` and `resends`, is the endpoint's own. The incident's id is the id of
 * the DOWN alert that opened it — or of the DOWN sent later when the first one was muted (a maintenance window, a
 * silence, a parent down, flapping) — and every REMINDER, ESCALATION and the UP of it carry it (mail threads on
 * it, PagerDuty/Opsgenie deduplicate on it). `notified` is what the channels last heard (DOWN, UP, or nothing
 * yet): when a mute ends, the conductor compares it with the endpoint's state and sends the one alert that
 * brings them level (alerter/incident.c: incident_reconcile).
 * Acknowledgement (incident_ack, called by the alerter's control socket for `clockwerk ack ALERT_ID`): the id may
 * be the incident's or that of any alert of it (its reminders and escalations have computable ids); an
 * acknowledged incident raises no more REMINDER or ESCALATION; its UP still goes out. */
#ifndef CW_ALERTER_INCIDENT_H
#define CW_ALERTER_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INCIDENT_WHO_MAX 128         /* bytes kept of who acknowledged */
#define INCIDENT_NOTIFIED_UNSET 0xFF /* loading a state file of before incidents: `notified` not known */

/* Allocated for the endpoints of the alerter's table that have one (see above): ordered without holes. */
struct incident {
    uint64_t id;            /* the incident's id (its DOWN alert's); 0: none yet */
    int64_t since_us;       /* the DOWN's since: part of the ids of its reminders and escalations */
    int64_t opened_wall_us; /* wall clock when its DOWN alert went out (escalation counts from it); 0: not yet */
    char *acked_by;      /* who acknowledged it; NULL when not acked */
    int64_t acked_at_us; /* wall clock */
    char **children;     /* URLs of the endpoints folded into it (their depends_on leads here) */
    size_t n_children;
    uint32_t steps;         /* escalation steps raised */
    uint32_t failed;        /* failed checks since its DOWN began (the UP that closes it says them) */
    bool open;              /* the endpoint is still DOWN in it (the UP closes it; the id stays for the UP) */
    bool acked;
};

struct endpoints;
struct endpoint;

/* Opens a new incident (a DOWN alert of id, since since_us): not acked, no step, no child. */
void incident_open(struct incident *inc, uint64_t id, int64_t since_us);

/* Whether alert_id is the id of the incident or of one of its alerts (reminders 1 ... reminders, escalation
 * steps 1 ... steps) for the endpoint of url. */
bool incident_has_alert(const struct incident *inc, const char *url, uint32_t reminders, uint64_t alert_id);

/* Remembers a child folded into the incident (once). */
void incident_add_child(struct incident *inc, const char *url);
void incident_clear_children(struct incident *inc);

/* Acknowledges the open incident that has alert alert_id (see above) on behalf of who: 0 with a message for
 * the operator in msg ("incident 1a2b... of api acknowledged by alice"), or -1 with "no open incident has
 * alert id X". Logged with who. */
int incident_ack(struct endpoints *t, uint64_t alert_id, const char *who, char *msg, size_t len);

/* incident_ack for the control socket (struct control_ops' ack; ctx: the struct endpoints). */
int incident_ack_cb(void *ctx, uint64_t alert_id, const char *who, char *msg, size_t len);

/* The decision at the release of the grouping window (a dispatch_decide_fn; ctx: the struct endpoints): the
 * first mute reason that holds for al's endpoint now (alerter/mute.h: maintenance, silence, a DOWN ancestor,
 * flapping, acknowledged), its channels (alerter/route.h), and for a parent's DOWN or UP that goes out the
 * children folded into its incident. What the channels now know of the endpoint (notified) follows. */
struct cw_config;
struct alert_rec;
size_t incident_decide(void *ctx, const struct cw_config *cfg, struct alert_rec *al, size_t *chans);

/* Each pass (at most once a second, or now when force): for every endpoint without an alert in the grouping
 * window, the alert that brings the channels level when a mute has ended (DOWN while they heard nothing or UP;
 * UP while they heard DOWN), and the escalation steps due (an open incident, not acknowledged, not under
 * maintenance or silenced, whose DOWN went out `after` seconds ago). */
void incident_tick(struct endpoints *t, bool force, int64_t now_mono);

/* Frees what the incident holds (not the struct). */
void incident_free(struct incident *inc);

#endif
