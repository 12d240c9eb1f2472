/* common/config/config_maintenance.c — the top-level `maintenance` list (docs/config.md "Maintenance"): one-off
 * windows (start = ISO 8601 with Z or an offset, duration in seconds) and recurring ones (days, from, to "HH:MM",
 * time_zone), each over named endpoints and endpoint groups (neither: every endpoint), into cfg->maintenance.
 *
 * DESIGN
 * Only the window's definition is read here; when it is active is common/config/maintenance.c's business (the zone
 * data, DST). A window's endpoints are kept by index (the snapshot carries indices; a reader checks them), found by
 * name through the table config_depends.c builds. One-off and recurring keys may not be mixed: a window is one or
 * the other, and says so. */
#include "common/config/config_alerting.h"
#include "common/config/config_ep.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_WINDOWS 1000
#define MAX_DURATION (366.0 * 86400)

enum mk { MK_NAME, MK_ENDPOINTS, MK_GROUPS, MK_START, MK_DURATION, MK_DAYS, MK_FROM, MK_TO, MK_TIME_ZONE, MK_N };
static const char *const maint_keys[] = { "name", "endpoints", "groups", "start",     "duration",
                                          "days", "from",      "to",     "time_zone", NULL };

/* Two digits at s into *v (0..99); false when they are not digits. */
static bool two_digits(const char *s, int *v)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])) return false;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

/* "YYYY-MM-DDTHH:MM[:SS](Z|+hh:mm|-hh:mm)" into µs since the epoch; false when it is not one (or before 1970). */
bool cw_parse_iso8601(const char *v, int64_t *out_us)
{
    int c1, c2, mon, day, hour, min, sec = 0, oh = 0, om = 0;
    if (strlen(v) < 17 || !two_digits(v, &c1) || !two_digits(v + 2, &c2) || v[4] != '-' || !two_digits(v + 5, &mon) ||
        v[7] != '-' || !two_digits(v + 8, &day) || (v[10] != 'T' && v[10] != 't' && v[10] != ' ') ||
        !two_digits(v + 11, &hour) || v[13] != ':' || !two_digits(v + 14, &min))
        return false;
    const char *z = v + 16;
    if (*z == ':') {
        if (!two_digits(z + 1, &sec)) return false;
        z += 3;
    }
    int sign = 0;
    if ((z[0] == 'Z' || z[0] == 'z') && z[1] == '\0') sign = 0;
    else if ((z[0] == '+' || z[0] == '-') && two_digits(z + 1, &oh) && z[3] == ':' && two_digits(z + 4, &om) &&
             z[6] == '\0')
        sign = z[0] == '+' ? 1 : -1;
    else return false;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59 || oh > 23 || om > 59)
        return false;
    struct tm tm = { .tm_year = c1 * 100 + c2 - 1900,
                     .tm_mon = mon - 1,
                     .tm_mday = day,
                     .tm_hour = hour,
                     .tm_min = min,
                     .tm_sec = sec };
    time_t t = timegm(&tm);
    if (tm.tm_mday != day || tm.tm_mon != mon - 1) return false; /* 2026-02-30 normalized to March */
    t -= sign * (oh * 3600 + om * 60);
    if (t <= 0) return false;
    *out_us = (int64_t)t * 1000000;
    return true;
}

/* "HH:MM" into minutes after midnight (0 .. 1439); -1 when it is not one. */
int cw_parse_hhmm(const char *v)
{
    int h, m;
    if (strlen(v) != 5 || !two_digits(v, &h) || v[2] != ':' || !two_digits(v + 3, &m) || h > 23 || m > 59) return -1;
    return h * 60 + m;
}

/* days: names sun..sat (any case) or "*" into a bit set (bit 0 = Sunday). */
static void window_days(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_maintenance *m)
{
    static const char *const names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
    char name[256];
    uint32_t days = 0;
    int n = cfgp_name_bits(p, w, s, names, 7, 0x7f, "a day", &days);
    if (n == 0)
        cfgp_problem(p, s, "%s: empty (names sun, mon, tue, wed, thu, fri, sat, or \"*\" for every day)",
                     cfgp_name(w, s, name, sizeof name));
    else if (n > 0) m->days = (uint8_t)days;
}

static long endpoint_find(const void *names, const char *name) { return cfgp_names_find(names, name); }

/* endpoints: names of endpoints into indices. */
static void window_endpoints(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s,
                             struct cfgp_names *names, struct cw_maintenance *m)
{
    char name[256];
    if (cfgp_name_indices(p, w, s, endpoint_find, names, "endpoint", "", &m->endpoints, &m->n_endpoints) &&
        m->n_endpoints == 0)
        cfgp_problem(p, s, "%s: empty (leave it out, with groups, for every endpoint)",
                     cfgp_name(w, s, name, sizeof name));
}

/* groups: endpoint group names; one no endpoint is in is a warning (a window for a group yet to come). */
static void window_groups(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_maintenance *m)
{
    char name[256];
    if (!cfgp_string_list(p, w, s, &m->groups, &m->n_groups)) return;
    cfgp_name(w, s, name, sizeof name);
    if (m->n_groups == 0) cfgp_problem(p, s, "%s: empty (leave it out, with endpoints, for every endpoint)", name);
    for (size_t i = 0; i < m->n_groups; i++) {
        bool used = false;
        for (size_t e = 0; !used && e < p->cfg->n_endpoints; e++)
            used = p->cfg->endpoints[e].group && strcmp(p->cfg->endpoints[e].group, m->groups[i]) == 0;
        if (!used) cfgp_warning(p, s, "%s: no endpoint is in group '%.80s'", name, m->groups[i]);
    }
}

/* One key of a window (a table-like parser: one case per key); at[] keeps where each was set. */
static void window_key(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cfgp_names *names,
                       struct cw_maintenance *m, const config_setting_t **at)
{
    char name[256];
    const char *v;
    int k = cfgp_key(maint_keys, s->name);
    if (k < 0) {
        cfgp_unknown(p, w, s);
        return;
    }
    at[k] = s;
    cfgp_name(w, s, name, sizeof name);
    switch (k) {
    case MK_NAME:
        if ((v = cfgp_string(p, w, s, true)) && strlen(v) > CW_NAME_MAX)
            cfgp_problem(p, s, "%s: longer than %d bytes", name, CW_NAME_MAX);
        else if (v) m->name = cw_arena_strdup(p->arena, v);
        break;
    case MK_ENDPOINTS:
        window_endpoints(p, w, s, names, m);
        break;
    case MK_GROUPS:
        window_groups(p, w, s, m);
        break;
    case MK_START:
        if ((v = cfgp_string(p, w, s, true)) && !cw_parse_iso8601(v, &m->start_us))
            cfgp_problem(p, s,
                         "%s: '%.80s' is not a time like \"2026-12-24T22:00:00Z\" or \"2026-12-24T23:00:00+01:00\"",
                         name, v);
        break;
    case MK_DURATION:
        cfgp_seconds(p, w, s, 0, MAX_DURATION, &m->duration);
        break;
    case MK_DAYS:
        window_days(p, w, s, m);
        break;
    case MK_FROM:
    case MK_TO:
        if (!(v = cfgp_string(p, w, s, true))) break;
        int minutes = cw_parse_hhmm(v);
        if (minutes < 0) cfgp_problem(p, s, "%s: '%.40s' is not a time of day \"HH:MM\" (00:00 to 23:59)", name, v);
        else *(k == MK_FROM ? &m->from_min : &m->to_min) = minutes;
        break;
    case MK_TIME_ZONE:
        m->time_zone = cfgp_time_zone(p, w, s);
        break;
    }
}

/* A window is one-off (start, duration) or recurring (days, from, to, time_zone): every key of its kind, none of
 * the other's. */
static void window_kind(struct cfg_parser *p, const config_setting_t *g, long i, const config_setting_t **at)
{
    bool one_off = at[MK_START] || at[MK_DURATION];
    bool recurring = at[MK_DAYS] || at[MK_FROM] || at[MK_TO] || at[MK_TIME_ZONE];
    if (one_off && recurring) {
        cfgp_problem(p, g,
                     "maintenance[%ld]: one-off keys (start, duration) and recurring keys (days, from, to, time_zone) "
                     "are mixed; a window is one or the other",
                     i);
        return;
    }
    if (!one_off && !recurring) {
        cfgp_problem(p, g, "maintenance[%ld]: no time: either start and duration, or days, from and to", i);
        return;
    }
    const char *missing = one_off ? (!at[MK_START]      ? "start"
                                     : !at[MK_DURATION] ? "duration"
                                                        : NULL)
                                  : (!at[MK_DAYS]   ? "days"
                                     : !at[MK_FROM] ? "from"
                                     : !at[MK_TO]   ? "to"
                                                    : NULL);
    if (missing)
        cfgp_problem(p, g, "maintenance[%ld]: %s is required for a %s window", i, missing,
                     one_off ? "one-off" : "recurring");
}

/* maintenance[i] into *m; false when it cannot be kept. */
static bool window(struct cfg_parser *p, const config_setting_t *g, long i, struct cfgp_names *names,
                   struct cw_maintenance *m)
{
    struct cfg_where w = { "maintenance", i };
    const config_setting_t *at[MK_N] = { 0 };
    if (g->type != CONFIG_TYPE_GROUP) {
        cfgp_problem(p, g, "maintenance[%ld]: expected a group { name = \"...\"; start = \"...\"; duration = ...; }",
                     i);
        return false;
    }
    int n = config_setting_length(g);
    for (int k = 0; k < n; k++) window_key(p, w, config_setting_get_elem(g, (unsigned)k), names, m, at);
    if (!at[MK_NAME]) cfgp_problem(p, g, "maintenance[%ld]: name is required", i);
    window_kind(p, g, i, at);
    if (at[MK_DAYS] && !m->days) return false;
    return m->name && (m->start_us > 0) != (m->days != 0);
}

void cfgp_maintenance(struct cfg_parser *p, const config_setting_t *list)
{
    struct cw_config *cfg = p->cfg;
    int n = list ? config_setting_length(list) : 0;
    if (n > MAX_WINDOWS) {
        cfgp_problem(p, list, "maintenance: at most %d windows (got %d)", MAX_WINDOWS, n);
        return;
    }
    if (n == 0) return;
    cfg->maintenance = cw_arena_alloc(p->arena, (size_t)n * sizeof *cfg->maintenance);
    /* the name of every window, kept or not, so that a duplicate is reported with the windows' other errors */
    const char **seen = cw_arena_alloc(p->arena, (size_t)n * sizeof *seen);
    struct cfgp_names *names = cfgp_names_new(cfg);
    for (int i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct cw_maintenance *m = &cfg->maintenance[cfg->n_maintenance];
        memset(m, 0, sizeof *m);
        bool keep = window(p, g, i, names, m);
        seen[i] = m->name;
        for (int j = 0; m->name && j < i; j++)
            if (seen[j] && strcmp(seen[j], m->name) == 0) {
                cfgp_problem(p, config_setting_get_member(g, "name"),
                             "maintenance[%d].name: another window is named '%s'", i, m->name);
                keep = false;
                break;
            }
        if (keep) cfg->n_maintenance++;
    }
    cfgp_names_free(names);
}
