/* common/config/locations.c — the locations of a configuration as an object (issue 16, see config.h and
 * docs/config.md "Locations"): whether it is a probe host's, its location names, an endpoint's quorum, and the
 * copy of a central configuration that one location's probe host receives (config_for_location). */
#include "common/config/config_priv.h"
#include "common/config/config_locations.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool config_is_probe_host(const struct cw_config *cfg) { return cfg && cfg->central_address != NULL; }

const char *config_own_location(const struct cw_config *cfg)
{
    return cfg && cfg->location ? cfg->location : CW_LOCATION_DEFAULT;
}

_Static_assert(CW_LOCATION_NAME_MAX == CW_PROTO_LOCATION_MAX, "a location name is the wire's: one length");
bool config_location_name_valid(const char *name) { return proto_location_valid(name); /* the wire's rule */ }

size_t config_location_names(const struct cw_config *cfg, const char **out, size_t max)
{
    size_t n = 0;
    if (cfg->workers > 0) {
        if (n < max) out[n] = config_own_location(cfg);
        n++;
    }
    for (size_t i = 0; i < cfg->n_locations; i++, n++)
        if (n < max) out[n] = cfg->locations[i].name;
    return n;
}

unsigned config_quorum_required(const struct cw_endpoint *ep)
{
    unsigned n = ep->n_locations > 0 ? (unsigned)ep->n_locations : 1;
    if (ep->quorum == CW_QUORUM_ALL) return n;
    if (ep->quorum >= 1) return (unsigned)ep->quorum < n ? (unsigned)ep->quorum : n;
    return n / 2 + 1; /* CW_QUORUM_MAJORITY, or 0 in a config built by hand */
}

bool config_endpoint_at(const struct cw_endpoint *ep, const char *location)
{
    if (ep->n_locations == 0) return true;
    for (size_t i = 0; location && i < ep->n_locations; i++)
        if (ep->locations[i] && strcmp(ep->locations[i], location) == 0) return true;
    return false;
}

const char *config_location_of_key(const struct cw_config *cfg, const char *key)
{
    for (size_t i = 0; cfg && key && i < cfg->n_locations; i++)
        if (cfg->locations[i].key && cfg->locations[i].name && !strcmp(cfg->locations[i].key, key))
            return cfg->locations[i].name;
    return NULL;
}

const char *config_key_location(const struct cw_config *cfg, const char *peer_key)
{
    if (!cfg || !peer_key || !peer_key[0]) return NULL;
    const char *entry = config_location_of_key(cfg, peer_key);
    return entry ? entry : config_own_location(cfg);
}

bool config_key_admits(const struct cw_config *cfg, const char *peer_key, const struct cw_result *results, size_t n,
                       const char **allowed, const char **claimed)
{
    const char *may = config_key_location(cfg, peer_key), *own = config_own_location(cfg);
    for (size_t i = 0; may && i < n; i++) {
        const char *loc = results[i].location ? results[i].location : "";
        if (strcmp(loc[0] ? loc : own, may) != 0) {
            *allowed = may;
            *claimed = loc;
            return false;
        }
    }
    return true;
}

/* ---- the configuration of one location's probe host */

/* What a probe host checks with: an endpoint of `location` without what only the central reads (its group, its
 * routing, its dependency). Its check secrets stay: the probe checks with them. */
static void probe_endpoint(const struct cw_endpoint *e, struct cw_endpoint *o)
{
    *o = *e;
    o->group = NULL;
    o->push_token = NULL;
    o->notify = NULL;
    o->n_notify = 0;
    o->depends_on = NULL;
    o->depends_on_idx = -1;
    o->escalate = NULL;
    o->n_escalate = 0;
}

/* The globals a probe host checks with: the monitor's defaults, the quorum and silence settings (what it may show),
 * its location. Everything else stays out — the database, mail, channels and routing, the web, the maintenance
 * windows, the other locations and their keys, the central's paths, bus and CURVE settings, its worker count —:
 * a key added to struct cw_config later reaches no probe host unless it is added here. */
static void probe_globals(const struct cw_config *cfg, const char *location, struct cw_config *v)
{
    memset(v, 0, sizeof *v);
    v->location = (char *)location;
    v->log_level = cfg->log_level;
    v->check_interval = cfg->check_interval;
    v->latency_threshold = cfg->latency_threshold;
    v->tls_expiry_days = cfg->tls_expiry_days;
    v->recovery_threshold = cfg->recovery_threshold;
    v->quorum = cfg->quorum;
    v->location_silent_after = cfg->location_silent_after;
}

struct cw_config *config_for_location(const struct cw_config *cfg, const char *location, char *err, size_t errlen)
{
    const char *names[CW_LOCATIONS_MAX];
    size_t n = config_location_names(cfg, names, CW_LOCATIONS_MAX);
    const char *found = NULL;
    for (size_t i = 0; location && i < n && i < CW_LOCATIONS_MAX; i++)
        if (strcmp(names[i], location) == 0) found = names[i];
    if (!found) {
        snprintf(err, errlen, "unknown location '%.64s'", location ? location : "");
        return NULL;
    }
    struct cw_config v;
    probe_globals(cfg, found, &v);
    v.endpoints = cw_xcalloc(cfg->n_endpoints + 1, sizeof *v.endpoints);
    v.n_endpoints = 0;
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const struct cw_endpoint *e = &cfg->endpoints[i];
        if (e->type != CW_CHECK_PUSH && config_endpoint_at(e, found)) probe_endpoint(e, &v.endpoints[v.n_endpoints++]);
    }
    unsigned char *bytes = NULL;
    size_t len = 0;
    struct cw_config *out = NULL;
    if (config_snapshot_encode(&v, &bytes, &len, err, errlen) == 0) {
        out = config_snapshot_decode_all(bytes, len, err, errlen);
        explicit_bzero(bytes, len);
        free(bytes);
    }
    free(v.endpoints);
    return out;
}
