/* common/config/config_routing.c — where alerts go (docs/config.md "Routing"): alerts.notify and alerts.escalate,
 * the flap_* and time_zone values, the top-level `groups`, and the pass after every section (cfgp_alerting) that
 * reads the channels and resolves each endpoint's notify, severity, escalate and flap_* (own -> its group's ->
 * alerts'); depends_on is resolved by config_depends.c.
 *
 * DESIGN
 * Everything the alerter reads is resolved here, at load: an endpoint's notify is a list of channel indices, never
 * "inherit". Endpoints that inherit share one arena array (a config of 100,000 endpoints costs no copy). */
#include "common/config/config_alerting.h"
#include "common/config/config_ep.h"
#include "common/config/config_locations.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/base/hash.h"
#include "common/base/tzfile.h"

#define MAX_ESCALATION_STEPS 16
#define MAX_ESCALATION_AFTER (30.0 * 86400)
#define MAX_GROUPS 10000

bool cfgp_name_indices(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s,
                       long (*find)(const void *ctx, const char *name), const void *ctx, const char *what,
                       const char *hint, size_t **out, size_t *n)
{
    char name[256], **names = NULL;
    size_t count = 0;
    if (!cfgp_string_list(p, w, s, &names, &count)) return false;
    cfgp_name(w, s, name, sizeof name);
    size_t *idx = cw_arena_alloc(p->arena, (count ? count : 1) * sizeof *idx), kept = 0;
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        long found = find(ctx, names[i]);
        if (found < 0) {
            cfgp_problem(p, s, "%s: no %s is named '%.80s'%s", name, what, names[i], hint);
            ok = false;
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < kept; j++) dup |= idx[j] == (size_t)found;
        if (!dup) idx[kept++] = (size_t)found;
    }
    *out = idx;
    *n = kept;
    return ok;
}

int cfgp_name_bits(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, const char *const *names,
                   unsigned n_names, uint32_t star, const char *what, uint32_t *bits)
{
    char name[256], known[256], **v = NULL;
    size_t n = 0, at = 0;
    if (!cfgp_string_list(p, w, s, &v, &n)) return -1;
    uint32_t set = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned k = 0;
        if (star && strcmp(v[i], "*") == 0) {
            set |= star;
            continue;
        }
        while (k < n_names && !(names[k] && strcasecmp(names[k], v[i]) == 0)) k++;
        if (k == n_names) {
            for (unsigned j = 0; j < n_names && at < sizeof known; j++)
                if (names[j]) at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", at ? ", " : "", names[j]);
            if (star && at < sizeof known) snprintf(known + at, sizeof known - at, ", or \"*\"");
            cfgp_problem(p, s, "%s: '%.64s' is not %s (%s)", cfgp_name(w, s, name, sizeof name), v[i], what, known);
            return -1;
        }
        set |= 1u << k;
    }
    *bits = set;
    return (int)n;
}

static long channel_find(const void *cfg, const char *name) { return config_channel_find(cfg, name); }

bool cfgp_channel_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, size_t **out, size_t *n)
{
    size_t *idx = NULL, kept = 0;
    if (!cfgp_name_indices(p, w, s, channel_find, p->cfg, "channel",
                           " (alerts.channels, or \"email\" / \"webhook-N\" of the email group and alerts.webhooks)",
                           &idx, &kept))
        return false;
    *out = idx;
    *n = kept;
    return true;
}

/* One step { after = SECONDS; notify = [...]; } of an escalation list. */
static bool escalation_step(struct cfg_parser *p, const char *list, int i, const config_setting_t *g,
                            struct cw_escalation *step)
{
    struct cfg_where w = { list, i };
    if (g->type != CONFIG_TYPE_GROUP) {
        cfgp_problem(p, g, "%s[%d]: expected a group { after = 900; notify = [\"...\"]; }", list, i);
        return false;
    }
    const config_setting_t *after = NULL, *notify = NULL;
    int n = config_setting_length(g);
    for (int k = 0; k < n; k++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)k);
        if (strcmp(s->name, "after") == 0) after = s;
        else if (strcmp(s->name, "notify") == 0) notify = s;
        else cfgp_unknown(p, w, s);
    }
    bool ok = after && notify;
    if (!after) cfgp_problem(p, g, "%s[%d]: after is required (seconds)", list, i);
    if (!notify) cfgp_problem(p, g, "%s[%d]: notify is required (channel names)", list, i);
    if (after && !cfgp_seconds(p, w, after, 0, MAX_ESCALATION_AFTER, &step->after)) ok = false;
    if (notify && cfgp_channel_list(p, w, notify, &step->channels, &step->n_channels) && step->n_channels == 0) {
        cfgp_problem(p, notify, "%s[%d].notify: empty: a step must hand the incident to some channel", list, i);
        ok = false;
    }
    return ok && step->channels;
}

bool cfgp_escalation(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_escalation **out,
                     size_t *n)
{
    char list[256];
    cfgp_name(w, s, list, sizeof list);
    if (s->type != CONFIG_TYPE_LIST) {
        cfgp_problem(p, s, "%s: expected a list of groups ( { after = 900; notify = [\"...\"]; }, ... )", list);
        return false;
    }
    int len = config_setting_length(s);
    if (len > MAX_ESCALATION_STEPS) {
        cfgp_problem(p, s, "%s: at most %d steps (got %d)", list, MAX_ESCALATION_STEPS, len);
        return false;
    }
    struct cw_escalation *steps = cw_arena_alloc(p->arena, (size_t)(len ? len : 1) * sizeof *steps);
    bool ok = true;
    for (int i = 0; i < len; i++) {
        const config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
        if (!escalation_step(p, list, i, g, &steps[i])) {
            ok = false;
            continue;
        }
        if (i > 0 && steps[i - 1].channels && !(steps[i].after > steps[i - 1].after)) {
            cfgp_problem(p, g, "%s[%d].after: %g s is not after the step before (%g s): steps in increasing order",
                         list, i, steps[i].after, steps[i - 1].after);
            ok = false;
        }
    }
    if (!ok) return false;
    *out = steps;
    *n = (size_t)len;
    return true;
}

bool cfgp_severity(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int *out)
{
    static const char *const names[] = { "info", "warning", "error", "critical" };
    int v = cfgp_one_of(p, w, s, names, 4, "info, warning, error, critical");
    if (v < 0) return false;
    *out = v;
    return true;
}

char *cfgp_time_zone(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s)
{
    char name[256], path[sizeof TZ_ZONEINFO_DIR + TZ_NAME_MAX], why[256];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return NULL;
    cfgp_name(w, s, name, sizeof name);
    if (!tz_name_valid(v)) {
        cfgp_problem(p, s, "%s: '%.80s' is not a time zone name (an IANA name such as \"Europe/Berlin\")", name, v);
        return NULL;
    }
    snprintf(path, sizeof path, "%s%s", TZ_ZONEINFO_DIR, v);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        cfgp_problem(p, s, "%s: unknown time zone '%s' (no %s; is the tzdata package installed?)", name, v, path);
        return NULL;
    }
    if (!tz_get(v, why, sizeof why)) { /* loaded now (and cached): later conversions read no file */
        cfgp_problem(p, s, "%s: time zone '%s' cannot be used: %s", name, v, why);
        return NULL;
    }
    return cw_arena_strdup(p->arena, v);
}

bool cfgp_flap_key(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int *window, double *high,
                   double *low)
{
    char name[256];
    if (strcmp(s->name, "flap_window") == 0) {
        int v;
        if (!cfgp_int(p, w, s, 0, CW_FLAP_WINDOW_MAX, &v)) return true;
        if (v > 0 && v < CW_FLAP_WINDOW_MIN)
            cfgp_problem(p, s, "%s: 0 (off) or %d to %d checks (got %d)", cfgp_name(w, s, name, sizeof name),
                         CW_FLAP_WINDOW_MIN, CW_FLAP_WINDOW_MAX, v);
        else *window = v;
        return true;
    }
    double *out = strcmp(s->name, "flap_high") == 0 ? high : strcmp(s->name, "flap_low") == 0 ? low : NULL;
    if (!out) return false;
    double v;
    if (s->type != CONFIG_TYPE_INT && s->type != CONFIG_TYPE_INT64 && s->type != CONFIG_TYPE_FLOAT)
        cfgp_problem(p, s, "%s: expected a number (percent), got %s", cfgp_name(w, s, name, sizeof name),
                     cfgp_type_name(s));
    else if (v = s->type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s) : (double)config_setting_get_int64(s),
             !isfinite(v) || v < 0 || v > 100)
        cfgp_problem(p, s, "%s: must be between 0 and 100 percent (got %g)", cfgp_name(w, s, name, sizeof name), v);
    else *out = v;
    return true;
}

/* high must be above low (at setting s, or the group g when s is NULL). */
static void flap_bounds(struct cfg_parser *p, const config_setting_t *at, const char *what, double high, double low)
{
    if (!(high > low)) cfgp_problem(p, at, "%s: flap_high (%g%%) must be above flap_low (%g%%)", what, high, low);
}

/* A name of `groups` and its settings, for the endpoints' lookup. */
struct group_entry {
    UT_hash_handle hh;
    struct cw_group_settings *settings;
    const config_setting_t *at;
    bool used;
};

/* groups[i] into *gs; false when it cannot be kept. */
static bool group_settings(struct cfg_parser *p, const config_setting_t *g, long i, struct cw_group_settings *gs)
{
    struct cfg_where w = { "groups", i };
    char name[256];
    gs->severity = -1;
    if (g->type != CONFIG_TYPE_GROUP) {
        cfgp_problem(p, g, "groups[%ld]: expected a group { name = \"...\"; notify = [...]; ... }", i);
        return false;
    }
    int n = config_setting_length(g);
    for (int k = 0; k < n; k++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)k);
        const char *v;
        if (strcmp(s->name, "name") == 0) {
            if ((v = cfgp_string(p, w, s, true)) && strlen(v) > CW_NAME_MAX)
                cfgp_problem(p, s, "%s: longer than %d bytes", cfgp_name(w, s, name, sizeof name), CW_NAME_MAX);
            else if (v) gs->name = cw_arena_strdup(p->arena, v);
        } else if (strcmp(s->name, "notify") == 0)
            gs->notify_set = cfgp_channel_list(p, w, s, &gs->notify, &gs->n_notify);
        else if (strcmp(s->name, "severity") == 0) cfgp_severity(p, w, s, &gs->severity);
        else if (strcmp(s->name, "escalate") == 0)
            gs->escalate_set = cfgp_escalation(p, w, s, &gs->escalate, &gs->n_escalate);
        else if (!cfgp_group_location_key(p, w, s, gs)) cfgp_unknown(p, w, s);
    }
    if (!config_setting_get_member(g, "name"))
        cfgp_problem(p, g, "groups[%ld]: name is required (an endpoint's group)", i);
    return gs->name != NULL;
}

/* The top-level `groups` into cfg->group_settings and a table by name (*table). */
static void groups_list(struct cfg_parser *p, const config_setting_t *list, struct group_entry **table,
                        struct group_entry **entries)
{
    struct cw_config *cfg = p->cfg;
    int n = list ? config_setting_length(list) : 0;
    if (n > MAX_GROUPS) {
        cfgp_problem(p, list, "groups: at most %d groups (got %d)", MAX_GROUPS, n);
        n = 0;
    }
    cfg->group_settings = cw_arena_alloc(p->arena, (size_t)(n ? n : 1) * sizeof *cfg->group_settings);
    *entries = cw_xcalloc((size_t)(n ? n : 1), sizeof **entries);
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct cw_group_settings *gs = &cfg->group_settings[cfg->n_group_settings];
        if (!group_settings(p, g, i, gs)) continue;
        struct group_entry *dup;
        HASH_FIND_STR(*table, gs->name, dup);
        if (dup) {
            char first[300];
            cfgp_problem(p, config_setting_get_member(g, "name"), "groups[%d].name: another group is named '%s' (%s)",
                         i, gs->name, cfgp_other_place(p, g, dup->at->line, first, sizeof first));
            continue;
        }
        struct group_entry *e = &(*entries)[cfg->n_group_settings++];
        e->settings = gs;
        e->at = g;
        HASH_ADD_KEYPTR(hh, *table, gs->name, strlen(gs->name), e);
    }
}

/* The alerting keys of endpoint ep (read from its group g), resolved through its group's settings (gs, NULL: none)
 * and the alerts defaults. */
static void endpoint_alerting(struct cfg_parser *p, const config_setting_t *g, long idx, struct cw_endpoint *ep,
                              const struct cw_group_settings *gs)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "monitor.endpoints", idx };
    const config_setting_t *s, *flap_at = NULL;
    bool notify_set = false, escalate_set = false;
    int severity = -1, flap_window = cfg->flap_window; /* the endpoint's fields are narrower than int */
    ep->flap_high = cfg->flap_high;
    ep->flap_low = cfg->flap_low;
    int n = config_setting_length(g);
    for (int k = 0; k < n; k++) {
        s = config_setting_get_elem(g, (unsigned)k);
        size_t count = 0; /* the endpoint's counts are narrow (struct cw_endpoint is kept small): uint32_t
                           * channels, at most MAX_ESCALATION_STEPS (16) steps in a uint8_t */
        if (strcmp(s->name, "notify") == 0) {
            notify_set = cfgp_channel_list(p, w, s, &ep->notify, &count);
            ep->n_notify = (uint32_t)count;
        } else if (strcmp(s->name, "severity") == 0) cfgp_severity(p, w, s, &severity);
        else if (strcmp(s->name, "escalate") == 0) {
            escalate_set = cfgp_escalation(p, w, s, &ep->escalate, &count);
            ep->n_escalate = (uint8_t)count;
        } else if (strcmp(s->name, "depends_on") == 0) {
            const char *v = cfgp_string(p, w, s, true);
            if (v) ep->depends_on = cw_arena_strdup(p->arena, v);
        } else if (strncmp(s->name, "flap_", 5) == 0) {
            cfgp_flap_key(p, w, s, &flap_window, &ep->flap_high, &ep->flap_low);
            flap_at = s;
        }
    }
    if (!notify_set && gs && gs->notify_set) ep->notify = gs->notify, ep->n_notify = gs->n_notify;
    else if (!notify_set) ep->notify = cfg->default_notify, ep->n_notify = cfg->n_default_notify;
    if (severity < 0) severity = gs && gs->severity >= 0 ? gs->severity : CW_SEV_CRITICAL;
    ep->severity = (uint8_t)severity;       /* 0..CW_SEV_CRITICAL (cfgp_severity) */
    ep->flap_window = (uint8_t)flap_window; /* 0 or 5..64 (cfgp_flap_key) */
    if (!escalate_set && gs && gs->escalate_set) ep->escalate = gs->escalate, ep->n_escalate = gs->n_escalate;
    else if (!escalate_set) ep->escalate = cfg->escalate, ep->n_escalate = cfg->n_escalate;
    cfgp_endpoint_locations(p, g, idx, ep, gs);
    if (flap_at && ep->flap_window > 0) {
        char what[64];
        snprintf(what, sizeof what, "monitor.endpoints[%ld]", w.index);
        flap_bounds(p, flap_at, what, ep->flap_high, ep->flap_low);
    }
}

/* alerts.notify (unset: every channel) and alerts.escalate. */
static void alerts_routing(struct cfg_parser *p, const config_setting_t *alerts)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "alerts", -1 };
    const config_setting_t *notify = alerts ? config_setting_get_member(alerts, "notify") : NULL;
    const config_setting_t *escalate = alerts ? config_setting_get_member(alerts, "escalate") : NULL;
    if (!notify || !cfgp_channel_list(p, w, notify, &cfg->default_notify, &cfg->n_default_notify)) {
        cfg->default_notify = cw_arena_alloc(p->arena, (cfg->n_channels ? cfg->n_channels : 1) * sizeof(size_t));
        for (size_t i = 0; i < cfg->n_channels; i++) cfg->default_notify[i] = i;
        cfg->n_default_notify = cfg->n_channels;
    }
    if (escalate) cfgp_escalation(p, w, escalate, &cfg->escalate, &cfg->n_escalate);
    const config_setting_t *flap_at = alerts ? config_setting_get_member(alerts, "flap_high") : NULL;
    if (!flap_at && alerts) flap_at = config_setting_get_member(alerts, "flap_low");
    if (cfg->flap_window > 0) flap_bounds(p, flap_at ? flap_at : alerts, "alerts", cfg->flap_high, cfg->flap_low);
}

void cfgp_alerting(struct cfg_parser *p, const config_setting_t *alerts, const config_setting_t *groups,
                   const config_setting_t *maintenance, const config_setting_t *const *ep_groups)
{
    struct cw_config *cfg = p->cfg;
    cfgp_channels(p, alerts ? config_setting_get_member(alerts, "channels") : NULL);
    alerts_routing(p, alerts);
    struct group_entry *table = NULL, *entries = NULL, *e;
    groups_list(p, groups, &table, &entries);
    for (size_t i = 0; ep_groups && i < cfg->n_endpoints; i++) {
        struct cw_endpoint *ep = &cfg->endpoints[i];
        e = NULL;
        if (ep->group) HASH_FIND_STR(table, ep->group, e);
        if (e) e->used = true;
        endpoint_alerting(p, ep_groups[i], p->ep_index ? p->ep_index[i] : (long)i, ep, e ? e->settings : NULL);
    }
    for (size_t i = 0; i < cfg->n_group_settings; i++)
        if (!entries[i].used)
            cfgp_warning(p, entries[i].at, "groups[%d]: no endpoint is in group '%s' (monitor.endpoints[].group)",
                         config_setting_index(entries[i].at), entries[i].settings->name);
    HASH_CLEAR(hh, table);
    free(entries);
    cfgp_depends_on(p, ep_groups);
    cfgp_maintenance(p, maintenance);
}
