/* relay/filter.c — the relay's check of what a probe host's key publishes (see filter.h). */
#include "relay/filter.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/log.h"

#define TOPIC_MAX 15 /* longer than any topic (common/bus/bus.c reads topics the same way) */

enum relay_verdict relay_judge(const struct cw_config *cfg, const char *peer_key, const void *topic, size_t topic_len,
                               const void *payload, size_t len, struct cw_result *scratch, const char **location,
                               const char **claimed)
{
    *claimed = "";
    *location = peer_key && peer_key[0] ? config_location_of_key(cfg, peer_key) : NULL;
    if (!*location) return RELAY_PASS; /* the central's own key, curve_allowed_keys: trusted as before */
    if (!payload || topic_len > TOPIC_MAX) return RELAY_DROP_MALFORMED;
    const char *why = NULL;
    switch (proto_type_of_topic(topic, topic_len)) {
    case CW_MSG_STATS: {
        struct cw_stats st;
        return proto_stats_decode(payload, len, &st, &why) == 0 ? RELAY_PASS : RELAY_DROP_MALFORMED;
    }
    case CW_MSG_RESULT: {
        int n = proto_results_decode(payload, len, scratch, CW_RESULT_BATCH_MAX, &why);
        if (n < 1) return RELAY_DROP_MALFORMED;
        for (int i = 0; i < n; i++)
            if (strcmp(scratch[i].location ? scratch[i].location : "", *location) != 0) {
                *claimed = scratch[i].location ? scratch[i].location : "";
                return RELAY_DROP_LOCATION;
            }
        return RELAY_PASS;
    }
    case CW_MSG_INVALID:
        return RELAY_DROP_MALFORMED;
    default:
        return RELAY_DROP_KIND;
    }
}

int relay_filter_init(struct relay_filter *f, const struct cw_config *cfg)
{
    memset(f, 0, sizeof *f);
    f->cfg = cfg;
    f->rl.what = "dropped probe-host message warnings";
    f->scratch = calloc(CW_RESULT_BATCH_MAX, sizeof *f->scratch);
    return f->scratch ? 0 : -1;
}

void relay_filter_free(struct relay_filter *f)
{
    free(f->scratch);
    f->scratch = NULL;
}

uint64_t relay_filter_dropped(const struct relay_filter *f)
{
    uint64_t n = 0;
    for (int v = RELAY_PASS + 1; v < RELAY_VERDICTS; v++) n += f->dropped[v];
    return n;
}

bool relay_filter_admit(void *arg, const char *peer_key, const void *topic, size_t topic_len, const void *payload,
                        size_t len)
{
    struct relay_filter *f = arg;
    const char *location = NULL, *claimed = "";
    enum relay_verdict v =
        relay_judge(f->cfg, peer_key, topic, topic_len, payload, len, f->scratch, &location, &claimed);
    if (v == RELAY_PASS) return true;
    f->dropped[v]++;
    if (ratelimit_allow(&f->rl, cw_mono_ns())) {
        char what[TOPIC_MAX + 1] = "";
        memcpy(what, topic, topic_len < TOPIC_MAX ? topic_len : TOPIC_MAX);
        for (char *c = what; *c; c++)
            if (*c < 0x21 || *c > 0x7e) *c = '?';
        if (v == RELAY_DROP_LOCATION)
            log_warn("relay: dropped results claiming location \"%s\" from the key of location %s (key %s): a probe "
                     "host publishes only its own location's results (%llu messages dropped so far)",
                     claimed, location, peer_key, (unsigned long long)relay_filter_dropped(f));
        else
            log_warn("relay: dropped a%s '%s' message from the key of location %s (key %s): a probe host publishes "
                     "only results and stats (%llu messages dropped so far)",
                     v == RELAY_DROP_MALFORMED ? " malformed" : "", what, location, peer_key,
                     (unsigned long long)relay_filter_dropped(f));
    }
    return false;
}
