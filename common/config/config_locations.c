/* common/config/config_locations.c — the keys of issue 16 (see config_locations.h and docs/config.md "Locations"):
 * the top-level `locations`, a probe host's file, supervisor.workers = 0, quorums, and each endpoint's locations. */
#include "common/bus/bus.h"
#include "common/bus/bus_keys.h"
#include "common/config/config_ep.h"
#include "common/config/config_locations.h"
#include "common/wire/protocol.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const location_keys[] = { "name", "key", NULL };

bool cfgp_quorum(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int *out)
{
    char name[256];
    if (s->type == CONFIG_TYPE_STRING) {
        const char *v = config_setting_get_string(s);
        if (strcasecmp(v, "majority") == 0) *out = CW_QUORUM_MAJORITY;
        else if (strcasecmp(v, "all") == 0) *out = CW_QUORUM_ALL;
        else {
            cfgp_problem(p, s, "%s: '%.64s' is not a quorum (a number of locations, \"majority\" or \"all\")",
                         cfgp_name(w, s, name, sizeof name), v);
            return false;
        }
        return true;
    }
    if (s->type != CONFIG_TYPE_INT && s->type != CONFIG_TYPE_INT64) {
        cfgp_problem(p, s, "%s: expected a number of locations, \"majority\" or \"all\", got %s",
                     cfgp_name(w, s, name, sizeof name), cfgp_type_name(s));
        return false;
    }
    return cfgp_int(p, w, s, 1, CW_LOCATIONS_MAX, out);
}

/* The canonical name among the known locations, or NULL. */
static char *known_location(const struct cfg_parser *p, const char *v)
{
    for (size_t i = 0; i < p->n_all_locations; i++)
        if (strcmp(p->all_locations[i], v) == 0) return p->all_locations[i];
    return NULL;
}

/* "local, fra, nyc" (or "none": a central host without workers and without `locations` has none). */
static const char *known_list(const struct cfg_parser *p, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_all_locations && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "", p->all_locations[i]);
    return at ? buf : "none";
}

bool cfgp_location_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, char ***out, size_t *n)
{
    char name[256], known[CW_LOCATIONS_MAX * (CW_LOCATION_NAME_MAX + 2) + 8], **v = NULL;
    size_t count = 0, kept = 0;
    if (!cfgp_string_list(p, w, s, &v, &count)) return false;
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        char *canon = known_location(p, v[i]);
        if (!canon) {
            cfgp_problem(p, s, "%s: no location is named '%.64s' (the known ones: %s)",
                         cfgp_name(w, s, name, sizeof name), v[i], known_list(p, known, sizeof known));
            ok = false;
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < kept; j++) dup |= v[j] == canon;
        if (!dup) v[kept++] = canon; /* v[j < i] are canonical already */
        else /* harmless, but maybe a typo for another location */
            cfgp_warning(p, s, "%s: '%s' is listed twice (counted once)", cfgp_name(w, s, name, sizeof name), canon);
    }
    if (ok && kept == 0) {
        cfgp_problem(p, s, "%s: empty: it would be checked nowhere", cfgp_name(w, s, name, sizeof name));
        ok = false;
    }
    if (!ok) return false;
    *out = v;
    *n = kept;
    return true;
}

/* One entry { name = "fra"; key = "..."; } of the top-level `locations`; false when it is not kept. */
static bool location_entry(struct cfg_parser *p, const config_setting_t *g, int i, struct cw_location *loc)
{
    struct cfg_where w = { "locations", i };
    if (g->type != CONFIG_TYPE_GROUP) {
        cfgp_problem(p, g, "locations[%d]: expected a group { name = \"...\"; key = \"...\"; }", i);
        return false;
    }
    int n = config_setting_length(g);
    for (int k = 0; k < n; k++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)k);
        const char *v;
        switch (cfgp_key(location_keys, s->name)) {
        case 0:
            if ((v = cfgp_string(p, w, s, true)) && !config_location_name_valid(v))
                cfgp_problem(p, s, "locations[%d].name: '%.64s' is not a location name (1 to %d of A-Z a-z 0-9 _ . -)",
                             i, v, CW_LOCATION_NAME_MAX);
            else if (v) loc->name = cw_arena_strdup(p->arena, v);
            break;
        case 1:
            if ((v = cfgp_string(p, w, s, true)) && !bus_key_valid(v))
                cfgp_problem(p, s,
                             "locations[%d].key: expected the probe host's public key (40 characters of Z85, as "
                             "`clockwerk keygen` prints it)",
                             i);
            else if (v) loc->key = cw_arena_strdup(p->arena, v);
            break;
        default:
            cfgp_unknown(p, w, s);
        }
    }
    if (!config_setting_get_member(g, "name")) cfgp_problem(p, g, "locations[%d]: name is required", i);
    if (!config_setting_get_member(g, "key"))
        cfgp_problem(p, g, "locations[%d]: key is required (the public key of the probe host's bus.curve_key_file)", i);
    return loc->name && loc->key;
}

/* Entry i against the ones kept before it and this host: a name or key used twice is reported. */
static bool location_unique(struct cfg_parser *p, const config_setting_t *g, int i, const struct cw_location *loc)
{
    const struct cw_config *cfg = p->cfg;
    const config_setting_t *name_at = config_setting_get_member(g, "name"),
                           *key_at = config_setting_get_member(g, "key");
    if (strcmp(loc->name, cfg->location) == 0) {
        cfgp_problem(p, name_at, "locations[%d].name: '%s' is this host's own supervisor.location", i, loc->name);
        return false;
    }
    if (cfg->curve_public_key && strcmp(loc->key, cfg->curve_public_key) == 0) {
        cfgp_problem(p, key_at,
                     "locations[%d].key: this host's own public key (bus.curve_key_file): each probe host "
                     "needs its own key pair",
                     i);
        return false;
    }
    for (size_t j = 0; j < cfg->n_locations; j++) {
        if (strcmp(cfg->locations[j].name, loc->name) == 0) {
            cfgp_problem(p, name_at, "locations[%d].name: another location is named '%s'", i, loc->name);
            return false;
        }
        if (strcmp(cfg->locations[j].key, loc->key) == 0) {
            cfgp_problem(p, key_at,
                         "locations[%d].key: the key of location '%s' too: each probe host needs its own "
                         "key pair",
                         i, cfg->locations[j].name);
            return false;
        }
    }
    return true;
}

/* What a central host with probe hosts needs: its key pair, a config_address, store/alert/publish on tcp://. */
static void central_needs(struct cfg_parser *p, const config_setting_t *list)
{
    const struct cw_config *cfg = p->cfg;
    if (!cfg->curve_key_file)
        cfgp_problem(p, list, "locations: probe hosts need CURVE: set bus.curve_key_file (`clockwerk keygen FILE`)");
    /* one set but refused was reported at its line: not "set it" again */
    const config_setting_t *root = config_setting_parent(list);
    if (!cfg->config_address && !(root && config_setting_lookup((config_setting_t *)root, "bus.config_address")))
        cfgp_problem(p, list, "locations: probe hosts fetch their configuration from bus.config_address: set it");
    const char *names[] = { "store_address", "alert_address", "publish_address" };
    const char *values[] = { cfg->store_address, cfg->alert_address, cfg->publish_address };
    for (int k = 0; k < 3; k++)
        if (values[k] && strncmp(values[k], "tcp://", 6) != 0)
            cfgp_problem(p, list, "locations: probe hosts need %s on tcp:// (bus.%s is %s)", names[k], names[k],
                         values[k]);
}

/* A probe host's file: only supervisor and bus; its location named. */
static void probe_host_file(struct cfg_parser *p, const config_setting_t *root, const config_setting_t *central)
{
    int n = config_setting_length(root);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        if (strcmp(s->name, "supervisor") != 0 && strcmp(s->name, "bus") != 0)
            cfgp_problem(p, s,
                         "%s: a probe host takes its endpoints from the central host (bus.central_address): remove "
                         "`%s`",
                         s->name, s->name);
    }
    if (!p->location_at)
        cfgp_problem(p, central,
                     "bus.central_address: a probe host needs supervisor.location (its name in the central host's "
                     "`locations`)");
    if (p->cfg->workers == 0)
        cfgp_problem(p, p->workers_at, "supervisor.workers: 0 on a probe host: nothing would be checked");
}

void cfgp_locations(struct cfg_parser *p, const config_setting_t *list, const config_setting_t *root)
{
    struct cw_config *cfg = p->cfg;
    const config_setting_t *bus = config_setting_get_member(root, "bus");
    const config_setting_t *central = bus ? config_setting_get_member(bus, "central_address") : NULL;
    if (central) {
        probe_host_file(p, root, central);
    } else if (list) {
        int n = config_setting_length(list);
        if (n > CW_LOCATIONS_MAX - 1) {
            cfgp_problem(p, list, "locations: at most %d probe hosts (got %d)", CW_LOCATIONS_MAX - 1, n);
            n = 0;
        }
        cfg->locations = cw_arena_alloc(p->arena, (size_t)(n ? n : 1) * sizeof *cfg->locations);
        for (int i = 0; i < n; i++) {
            const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
            struct cw_location *loc = &cfg->locations[cfg->n_locations];
            memset(loc, 0, sizeof *loc);
            if (location_entry(p, g, i, loc) && location_unique(p, g, i, loc)) cfg->n_locations++;
        }
        if (n > 0) central_needs(p, list);
    }
    if (!central && cfg->workers == 0 && cfg->n_locations == 0 && !(list && config_setting_length(list) > 0))
        cfgp_problem(p, p->workers_at,
                     "supervisor.workers: 0 only on a central host with probe hosts (`locations`): here nothing "
                     "would be checked");
    size_t total = config_location_names(cfg, NULL, 0);
    p->all_locations = cw_arena_alloc(p->arena, (total ? total : 1) * sizeof *p->all_locations);
    p->n_all_locations = config_location_names(cfg, (const char **)p->all_locations, total);
}

bool cfgp_group_location_key(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s,
                             struct cw_group_settings *gs)
{
    if (strcmp(s->name, "locations") == 0) cfgp_location_list(p, w, s, &gs->locations, &gs->n_locations);
    else if (strcmp(s->name, "quorum") == 0) cfgp_quorum(p, w, s, &gs->quorum);
    else return false;
    return true;
}

/* A push endpoint is checked where the web is: on this host's own workers. */
static void push_locations(struct cfg_parser *p, const config_setting_t *g, long idx, const config_setting_t *own,
                           struct cw_endpoint *ep)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "monitor.endpoints", idx };
    if (cfg->workers == 0) {
        cfgp_problem(p, g,
                     "monitor.endpoints[%ld]: a push check is checked where the web is, by this host's workers: "
                     "supervisor.workers is 0",
                     idx);
        return;
    }
    char **v = NULL;
    size_t n = 0;
    if (own && cfgp_location_list(p, w, own, &v, &n))
        for (size_t i = 0; i < n; i++)
            if (v[i] != cfg->location)
                cfgp_problem(p, own,
                             "monitor.endpoints[%ld].locations: a push check is checked where the web is (this host, "
                             "location '%s'): '%s' is another location",
                             idx, cfg->location, v[i]);
    ep->locations = cw_arena_alloc(p->arena, sizeof *ep->locations);
    ep->locations[0] = cfg->location;
    ep->n_locations = 1;
}

void cfgp_endpoint_locations(struct cfg_parser *p, const config_setting_t *g, long idx, struct cw_endpoint *ep,
                             const struct cw_group_settings *gs)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "monitor.endpoints", idx };
    const config_setting_t *own = config_setting_get_member(g, "locations");
    const config_setting_t *own_quorum = config_setting_get_member(g, "quorum");
    const char *from = "its own";
    if (ep->type == CW_CHECK_PUSH) push_locations(p, g, idx, own, ep);
    else if (own) {
        size_t n = 0;
        if (cfgp_location_list(p, w, own, &ep->locations, &n)) ep->n_locations = (uint8_t)n; /* <= CW_LOCATIONS_MAX */
    }
    if (!ep->locations && !own && gs && gs->locations) {
        ep->locations = gs->locations;
        ep->n_locations = gs->n_locations;
    } else if (!ep->locations && !own) {
        ep->locations = p->all_locations;
        ep->n_locations = p->n_all_locations;
    }
    int quorum = cfg->quorum; /* CW_QUORUM_* or 1..CW_LOCATIONS_MAX (cfgp_quorum): fits ep->quorum's int8_t */
    if (own_quorum) cfgp_quorum(p, w, own_quorum, &quorum);
    else if (ep->type == CW_CHECK_PUSH) quorum = CW_QUORUM_ALL; /* one location: no default applies */
    else if (gs && gs->quorum) quorum = gs->quorum, from = "its group's";
    else from = "alerts.quorum";
    ep->quorum = (int8_t)quorum;
    if (ep->quorum >= 1 && ep->n_locations > 0 && (size_t)ep->quorum > ep->n_locations)
        cfgp_problem(p,
                     own_quorum ? own_quorum
                     : own      ? own
                                : g,
                     "monitor.endpoints[%ld]: quorum %d (%s) is more than its %zu location%s", idx, ep->quorum, from,
                     (size_t)ep->n_locations, ep->n_locations == 1 ? "" : "s");
}
