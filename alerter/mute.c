/* alerter/mute.c — the reasons for not sending an alert, in their order (see mute.h). */
#include "alerter/mute.h"

enum cw_mute mute_reason(const struct mute_facts *f, unsigned kind)
{
    if (f->maintenance) return CW_MUTE_MAINTENANCE;
    if (f->silenced) return CW_MUTE_SILENCE;
    if (f->ancestor_down) return CW_MUTE_DEPENDENCY;
    if (f->flapping && kind != CW_ALERT_FLAPPING) return CW_MUTE_FLAPPING;
    if (f->acked && (kind == CW_ALERT_REMINDER || kind == CW_ALERT_ESCALATION)) return CW_MUTE_ACKNOWLEDGED;
    return CW_MUTE_NONE;
}

long mute_down_ancestor(const struct cw_config *cfg, size_t idx, mute_is_down_fn is_down, void *ctx)
{
    long found = -1;
    long at = idx < cfg->n_endpoints ? cfg->endpoints[idx].depends_on_idx : -1;
    for (size_t steps = 0; at >= 0 && (size_t)at < cfg->n_endpoints && steps < cfg->n_endpoints; steps++) {
        if (is_down(ctx, (size_t)at)) found = at;
        at = cfg->endpoints[at].depends_on_idx;
    }
    return found;
}
