/* common/config/config_supervisor.c — the `supervisor` section of the config file (see config_supervisor.h and
 * docs/config.md). */
#include "common/config/config_locations.h"
#include "common/config/config_supervisor.h"
#include "common/base/log.h"

#include <string.h>

static const char *const supervisor_keys[] = {
    "workers", "run_dir", "log_level", "user", "location", "log_target", NULL
};

/* A name from a fixed list (log_level, log_target): parse gives its value, -1 when unknown. */
static void one_of(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int (*parse)(const char *),
                   const char *what, const char *known, int *out)
{
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    int value = parse(v);
    if (value < 0) cfgp_problem(p, s, "supervisor.%s: unknown %s '%.64s' (%s)", s->name, what, v, known);
    else *out = value;
}

void cfgp_supervisor(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "supervisor", -1 };
    const char *run_dir = "run";
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *v;
        switch (cfgp_key(supervisor_keys, s->name)) {
        case 0: /* 0: only on a central host with `locations` (cfgp_locations says so otherwise) */
            if (cfgp_int(p, w, s, 0, 256, &cfg->workers)) p->workers_at = s;
            break;
        case 1: {
            bool tolerant = p->tolerant;
            p->tolerant = false; /* the tap needs it: the default bus addresses are under run_dir */
            if ((v = cfgp_string(p, w, s, true))) {
                run_dir = v;
                p->run_dir_at = s;
            }
            p->tolerant = tolerant;
            break;
        }
        case 2:
            one_of(p, w, s, log_level_parse, "level", "debug, info, warn, error", &cfg->log_level);
            break;
        case 3:
            if ((v = cfgp_string(p, w, s, true))) {
                const char *colon = strchr(v, ':'); /* "user" or "user:group" */
                if (strcspn(v, " \t\r\n/") != strlen(v) || v[0] == '\0' || v[0] == ':' ||
                    (colon && (colon[1] == '\0' || strchr(colon + 1, ':'))))
                    cfgp_problem(p, s, "supervisor.user: '%s' is not a user name (\"user\" or \"user:group\")", v);
                else cfg->user = cw_arena_strdup(p->arena, v);
            }
            break;
        case 4:
            if ((v = cfgp_string(p, w, s, true)) && !config_location_name_valid(v))
                cfgp_problem(p, s, "supervisor.location: '%.64s' is not a location name (1 to %d of A-Z a-z 0-9 _ . -)",
                             v, CW_LOCATION_NAME_MAX);
            else if (v) {
                cfg->location = cw_arena_strdup(p->arena, v);
                p->location_at = s;
            }
            break;
        case 5:
            one_of(p, w, s, log_target_parse, "target", "stderr, syslog, journal", &cfg->log_target);
            break;
        default:
            cfgp_unknown(p, w, s);
        }
    }
    cfg->run_dir = cfgp_path(p, run_dir);
    if (!cfg->location) cfg->location = cw_arena_strdup(p->arena, CW_LOCATION_DEFAULT);
}
