/* alerter/route.h — which channels an alert goes to (docs/alerts.md "Routing"): pure, no I/O, no clock.
 *
 * DESIGN
 * An alert of endpoint ep and kind k goes to ep's notify channels (resolved at load: its own list, its group's,
 * alerts.notify, or every channel) together with, for the follow-ups of an incident (REMINDER and UP), the
 * channels of every escalation step the incident has reached; each of them only when it takes kind k (bit
 * 1u << k of its `kinds`) and its min_severity is at most the endpoint's severity. An ESCALATION alert goes to
 * its own step's channels alone, filtered the same way: a channel gets it when its kinds has "escalation"
 * (the default, every kind, does) and its min_severity allows.
 * No channel configured at all is not a routing question (the alert is recorded with deliveries NONE); channels
 * configured but none taking it: the caller records it muted NO_ROUTE. */
#ifndef CW_ALERTER_ROUTE_H
#define CW_ALERTER_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"

struct route_query {
    const struct cw_endpoint *ep;
    unsigned kind;            /* enum cw_alert_kind */
    uint32_t steps_reached;   /* escalation steps the endpoint's open incident has reached (0: none) */
    uint32_t escalation_step; /* ESCALATION: its step, 1 ... ep->n_escalate; else unused */
};

/* Writes the indices (into cfg->channels, ascending, each once) of the channels the alert goes to into out
 * (room for cfg->n_channels) and returns how many. */
size_t route_channels(const struct cw_config *cfg, const struct route_query *q, size_t *out);

/* Issue 16: an alert of no endpoint (a location's, kind LOCATION_SILENT/BACK) at that severity: alerts.notify (every
 * channel when unset), each channel's kinds and min_severity applied. Same output as route_channels. */
size_t route_default(const struct cw_config *cfg, unsigned kind, int severity, size_t *out);

#endif
