/* common/config/config_supervisor.c — the `supervisor` section of the config file (see config_supervisor.h and
 * docs/config.md). */
#include "common/config/config_locations.h"
#include "common/config/config_supervisor.h"
#include "common/base/log.h"

#include <string.h>

static const char *const supervisor_keys[] = {
    "workers", "run_dir", "log_level", "user", "location", "log_target", NULL
};

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
            if ((v = cfgp_string(p, w, s, true))) {
                int lvl = log_level_parse(v);
                if (lvl < 0)
                    cfgp_problem(p, s, "supervisor.log_level: unknown level '%s' (debug, info, warn, error)", v);
                else cfg->log_level = lvl;
            }
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
            if ((v = cfgp_string(p, w, s, true))) {
                int target = log_target_parse(v);
                if (target < 0)
                    cfgp_problem(p, s, "supervisor.log_target: unknown target '%.64s' (stderr, syslog, journal)", v);
                else cfg->log_target = target;
            }
            break;
        default:
            cfgp_unknown(p, w, s);
        }
    }
    cfg->run_dir = cfgp_path(p, run_dir);
    if (!cfg->location) cfg->location = cw_arena_strdup(p->arena, CW_LOCATION_DEFAULT);
}
