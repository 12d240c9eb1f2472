/* alerter/mute.h — why an alert is not sent (docs/alerts.md "Muted alerts"): pure, no I/O, no clock.
 *
 * DESIGN
 * The caller gathers the facts about one endpoint at one moment into a struct mute_facts (whether a maintenance
 * window covers it: common/config/maintenance.h; whether a silence does: alerter/silences.h; whether an ancestor
 * by depends_on is DOWN; whether it is flapping; whether its incident is acknowledged), and mute_reason gives
 * the first reason that applies, in this order: maintenance > silence > dependency > flapping > acknowledged.
 * Flapping mutes every alert of the endpoint but the FLAPPING alert itself; an acknowledgement mutes only the
 * follow-ups of the incident that repeat it (REMINDER, ESCALATION), never its UP. Keeping the facts a plain
 * struct makes the rules replayable in unit tests without a configuration, a window or a silence. */
#ifndef CW_ALERTER_MUTE_H
#define CW_ALERTER_MUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config/config.h"
#include "common/wire/protocol.h"

struct mute_facts {
    bool maintenance;   /* a maintenance window covers the endpoint now */
    bool silenced;      /* a silence covers it now */
    bool ancestor_down; /* an endpoint it depends on (depends_on, transitively) is DOWN */
    bool flapping;      /* it is flapping */
    bool acked;         /* its open incident is acknowledged */
};

/* The first reason for muting an alert of kind (enum cw_alert_kind), CW_MUTE_NONE when none. */
enum cw_mute mute_reason(const struct mute_facts *f, unsigned kind);

/* Whether endpoint idx of cfg is DOWN: the caller's view of its states. */
typedef bool (*mute_is_down_fn)(void *ctx, size_t idx);

/* The topmost DOWN ancestor of endpoint idx along depends_on_idx (the root cause to fold it into), or -1 when
 * none is DOWN. Stops after cfg->n_endpoints steps (a cycle is refused at load; this is only a guard). */
long mute_down_ancestor(const struct cw_config *cfg, size_t idx, mute_is_down_fn is_down, void *ctx);

#endif
