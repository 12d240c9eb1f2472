/* common/config/config_load.c — the load driver: the operator's file to a struct cw_config. Reads the file with
 * libconfig (syntax errors and unreadable files reported as `FILE:LINE`), sets the defaults, finds the
 * top-level groups and hands each to its section parser.
 *
 * DESIGN
 * Defaults are set before the groups are read; values that depend on others (an endpoint's interval and
 * recovery threshold, the default bus addresses under run_dir) are settled by a fixed order of the
 * sections: supervisor, alerts, monitor, email, database, bus. The top of the config files: nothing
 * includes a section but this file. */
#include "common/config/config_alerts.h"
#include "common/config/config_bus.h"
#include "common/config/config_database.h"
#include "common/config/config_endpoints.h"
#include "common/config/config_reader.h"
#include "common/config/config_supervisor.h"
#include "common/base/log.h"
#include "common/base/util.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_defaults(struct cw_config *cfg)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cpus < 1 ? 1 : cpus > 256 ? 256 : (int)cpus;
    cfg->log_level = LOG_LVL_INFO;
    cfg->check_interval = 60;
    cfg->latency_threshold = 1.0;
    cfg->tls_expiry_days = 14;
    cfg->smtp_tls = CW_SMTP_STARTTLS;
    cfg->recovery_threshold = 1;
    cfg->group_threshold = 5;
    cfg->renotify = 0;
    cfg->db_activation = false;
    cfg->db_driver = CW_DB_SQLITE;
}

static bool set_paths(struct cfg_parser *p, const char *path)
{
    char *real = realpath(path, NULL);
    if (!real) {
        char msg[PATH_MAX + 128];
        snprintf(msg, sizeof msg, "%s:0: cannot read the file: %s", path, strerror(errno));
        p->errors++;
        if (p->report) p->report(p->rctx, msg);
        return false;
    }
    p->cfg->path = cw_arena_strdup(p->arena, real);
    char *slash = strrchr(real, '/');
    if (slash == real) slash[1] = '\0';
    else if (slash) *slash = '\0';
    p->cfg->dir = cw_arena_strdup(p->arena, real);
    free(real);
    return true;
}

static const char *const root_keys[] = { "supervisor", "bus", "monitor", "email", "alerts", "database", NULL };
enum { ROOT_SUPERVISOR, ROOT_BUS, ROOT_MONITOR, ROOT_EMAIL, ROOT_ALERTS, ROOT_DATABASE, ROOT_N };

/* The top-level groups of the file into groups[] by ROOT_*; anything else is reported. */
static void top_level_groups(struct cfg_parser *p, const config_setting_t *root, const config_setting_t **groups)
{
    struct cfg_where top = { "", -1 };
    int n = config_setting_length(root);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        int k = cfgp_key(root_keys, s->name);
        if (k < 0) {
            cfgp_unknown(p, top, s);
            continue;
        }
        if (s->type != CONFIG_TYPE_GROUP) {
            cfgp_problem(p, s, "%s: expected a group ({ ... }), got %s", s->name, cfgp_type_name(s));
            continue;
        }
        groups[k] = s;
    }
}

struct cw_config *config_load(const char *path, config_report_fn report, void *ctx)
{
    struct cw_config *cfg = cw_xcalloc(1, sizeof *cfg);
    cfg->arena = cw_arena_new();
    struct cfg_parser p = { .cfg = cfg, .arena = cfg->arena, .report = report, .rctx = ctx, .file = path };
    set_defaults(cfg);

    if (!set_paths(&p, path)) {
        config_free(cfg);
        return NULL;
    }
    config_t lc;
    config_init(&lc);
    config_set_include_dir(&lc, cfg->dir); /* @include "x.conf" is relative to this file, like every path */
    if (config_read_file(&lc, path) != CONFIG_TRUE) {
        char msg[PATH_MAX + 512];
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
            snprintf(msg, sizeof msg, "%s:0: cannot read the file: %s", path, strerror(errno ? errno : EIO));
        else
            snprintf(msg, sizeof msg, "%s:%d: syntax error: %s", config_error_file(&lc) ? config_error_file(&lc) : path,
                     config_error_line(&lc), config_error_text(&lc) ? config_error_text(&lc) : "unknown");
        if (report) report(ctx, msg);
        config_destroy(&lc);
        config_free(cfg);
        return NULL;
    }

    const config_setting_t *groups[ROOT_N] = { 0 };
    top_level_groups(&p, config_root_setting(&lc), groups);
    cfgp_supervisor(&p, groups[ROOT_SUPERVISOR]);
    cfgp_alerts(&p, groups[ROOT_ALERTS]);
    cfgp_monitor(&p, groups[ROOT_MONITOR]);
    cfgp_email(&p, groups[ROOT_EMAIL]);
    cfgp_database(&p, groups[ROOT_DATABASE]);
    cfgp_bus(&p, groups[ROOT_BUS]);

    config_destroy(&lc);
    /* libconfig's tree costs ~100 bytes a setting; give that memory back rather than let the supervisor
     * carry tens of MB of free heap for a big file (glibc keeps freed small blocks otherwise) */
    malloc_trim(0);
    if (p.errors) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}
