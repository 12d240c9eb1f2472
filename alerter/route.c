/* alerter/route.c — the channels of one alert (see route.h). */
#include "alerter/route.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common/base/util.h"
#include "common/wire/protocol.h"

static int endpoint_severity(const struct cw_endpoint *ep)
{
    return ep->severity <= CW_SEV_CRITICAL ? ep->severity : CW_SEV_CRITICAL; /* a uint8_t: never below INFO (0) */
}

static void take_list(bool *wanted, size_t n_channels, const size_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] < n_channels) wanted[list[i]] = true;
}

/* The wanted channels that take this kind at this severity, into out. */
static size_t filter_channels(const struct cw_config *cfg, const bool *wanted, unsigned kind, int severity, size_t *out)
{
    size_t n = 0;
    for (size_t c = 0; c < cfg->n_channels; c++) {
        if (!wanted[c]) continue;
        const struct cw_channel *ch = &cfg->channels[c];
        if ((int)ch->min_severity > severity) continue;
        if (kind >= 32 || !(ch->kinds & (1u << kind))) continue; /* an ESCALATION: "escalation" in kinds */
        out[n++] = c;
    }
    return n;
}

size_t route_channels(const struct cw_config *cfg, const struct route_query *q, size_t *out)
{
    size_t n_channels = cfg->n_channels;
    if (n_channels == 0) return 0;
    bool *wanted = cw_xcalloc(n_channels, sizeof *wanted);
    const struct cw_endpoint *ep = q->ep;
    if (q->kind == CW_ALERT_ESCALATION) {
        if (q->escalation_step >= 1 && q->escalation_step <= ep->n_escalate) {
            const struct cw_escalation *s = &ep->escalate[q->escalation_step - 1];
            take_list(wanted, n_channels, s->channels, s->n_channels);
        }
    } else {
        take_list(wanted, n_channels, ep->notify, ep->n_notify);
        if (q->kind == CW_ALERT_REMINDER || q->kind == CW_ALERT_UP)
            for (size_t s = 0; s < q->steps_reached && s < ep->n_escalate; s++)
                take_list(wanted, n_channels, ep->escalate[s].channels, ep->escalate[s].n_channels);
    }
    size_t n = filter_channels(cfg, wanted, q->kind, endpoint_severity(ep), out);
    free(wanted);
    return n;
}

size_t route_default(const struct cw_config *cfg, unsigned kind, int severity, size_t *out)
{
    if (cfg->n_channels == 0) return 0;
    bool *wanted = cw_xcalloc(cfg->n_channels, sizeof *wanted);
    take_list(wanted, cfg->n_channels, cfg->default_notify, cfg->n_default_notify);
    size_t n = filter_channels(cfg, wanted, kind, severity, out);
    free(wanted);
    return n;
}
