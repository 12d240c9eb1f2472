/* common/config/config_load.c — the load driver: the operator's file to a struct cw_config. Reads the file with
 * libconfig (syntax errors and unreadable files reported as `FILE:LINE`), sets the defaults, finds the
 * top-level groups and hands each to its section parser; warns about a config that checks nothing or keeps
 * nothing, and reads the bus alone for the tap (config_load_options.bus_only).
 *
 * DESIGN
 * The text goes to libconfig through config_text.c (every file read by us: no FIFO blocks, no size beyond
 * the bound, no integer wrapped). Defaults are set before the groups are read; values that depend on others (an endpoint's interval and
 * recovery threshold, the default bus addresses under run_dir) are settled by a fixed order of the
 * sections: supervisor, alerts, web, monitor, email, database, bus, locations (the top-level `locations` and a probe
 * host's rules: they need the bus), then the alerting pass (channels, groups, each endpoint's routing and
 * locations). The top of the config files: nothing includes a section but this file. */
#include "common/config/config_alerting.h"
#include "common/config/config_alerts.h"
#include "common/config/config_bus.h"
#include "common/config/config_database.h"
#include "common/config/config_endpoints.h"
#include "common/config/config_locations.h"
#include "common/config/config_reader.h"
#include "common/config/config_supervisor.h"
#include "common/config/config_web.h"
#include "common/base/fastbins.h"
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
    cfg->flap_window = 21;
    cfg->flap_high = 50;
    cfg->flap_low = 25;
    cfg->renotify = 0;
    cfg->db_activation = false;
    cfg->db_driver = CW_DB_SQLITE;
    cfg->web_max_connections = CW_WEB_DEFAULT_MAX_CONNECTIONS;
    cfg->web_max_connections_per_ip = CW_WEB_DEFAULT_MAX_PER_IP;
    cfg->web_connection_timeout = CW_WEB_DEFAULT_TIMEOUT;
    cfg->web_history_refresh = CW_WEB_DEFAULT_HISTORY_REFRESH;
    cfg->quorum = CW_QUORUM_MAJORITY;
    cfg->location_silent_after = CW_LOCATION_SILENT_DEFAULT;
}

static bool set_paths(struct cfg_parser *p, const char *path)
{
    char *real = realpath(path, NULL);
    if (!real) {
        char msg[PATH_MAX + 128];
        snprintf(msg, sizeof msg, "%s: cannot read the configuration: %s", path, strerror(errno));
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

static const char *const root_keys[] = { "supervisor", "bus",    "monitor",     "email",     "alerts", "database",
                                         "web",        "groups", "maintenance", "locations", NULL };
enum {
    ROOT_SUPERVISOR,
    ROOT_BUS,
    ROOT_MONITOR,
    ROOT_EMAIL,
    ROOT_ALERTS,
    ROOT_DATABASE,
    ROOT_WEB,
    ROOT_GROUPS,
    ROOT_MAINTENANCE,
    ROOT_LOCATIONS,
    ROOT_N
};

/* The top-level groups of the file into groups[] by ROOT_*; anything else is reported. */
static void top_level_groups(struct cfg_parser *p, const config_setting_t *root, const config_setting_t **groups)
{
    struct cfg_where top = { "", -1 };
    int n = config_setting_length(root);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        int k = cfgp_key(root_keys, s->name);
        p->tolerant = p->bus_only && k != ROOT_BUS;
        if (k < 0) {
            cfgp_unknown(p, top, s);
            continue;
        }
        bool list = k == ROOT_GROUPS || k == ROOT_MAINTENANCE || k == ROOT_LOCATIONS; /* ( { name = ...; }, ... ) */
        if (list && s->type != CONFIG_TYPE_LIST) {
            cfgp_problem(p, s, "%s: expected a list of groups (( { name = \"...\"; ... }, ... )), got %s", s->name,
                         cfgp_type_name(s));
            continue;
        }
        if (!list && s->type != CONFIG_TYPE_GROUP) {
            cfgp_problem(p, s, "%s: expected a group ({ ... }), got %s", s->name, cfgp_type_name(s));
            continue;
        }
        groups[k] = s;
    }
    p->tolerant = false;
}

/* One section; in the tap's reading a problem outside the bus is a warning (supervisor.run_dir excepted:
 * cfgp_supervisor makes it strict again). */
static void section(struct cfg_parser *p, void (*parse)(struct cfg_parser *, const config_setting_t *),
                    const config_setting_t *g, bool tap_needs_it)
{
    p->tolerant = p->bus_only && !tap_needs_it;
    parse(p, g);
    p->tolerant = false;
}

/* Reads the text into lc; false after reporting why (libconfig's message, explained). */
static bool parse_text(struct cfg_parser *p, config_t *lc, struct cfg_text *text)
{
    char msg[PATH_MAX + 512];
    if (cfg_text_load(text, p->file, p->cfg->dir, msg, sizeof msg) != 0) {
        p->errors++;
        if (p->report) p->report(p->rctx, msg);
        return false;
    }
    p->text = text;
    if (config_read_string(lc, (const char *)text->out.data) == CONFIG_TRUE) return true;
    const char *what = config_error_text(lc) ? config_error_text(lc) : "unknown";
    cfg_text_explain(text, what, (unsigned)config_error_line(lc), msg, sizeof msg);
    p->errors++;
    if (p->report) p->report(p->rctx, msg);
    return false;
}

/* A valid config that does nothing useful: said, not refused. */
static void warn_idle(struct cfg_parser *p, const config_setting_t *monitor)
{
    const struct cw_config *cfg = p->cfg;
    if (cfg->n_endpoints == 0) cfgp_warning(p, monitor, "no endpoints (monitor.endpoints): nothing will be checked");
    else if (!config_wants_storer(cfg) && !config_has_alert_channel(cfg))
        cfgp_warning(
            p, monitor,
            "the configuration neither stores nor alerts anyone: no database (database.db_activation), no "
            "channel (alerts.channels), no email (email.smtp_host) and no webhook (alerts.webhooks); the states are only seen with "
            "clockwerk status and clockwerk-tap");
}

static struct cw_config *load(const char *path, const struct config_load_options *o);

/* A load makes and then frees libconfig's tree: ~6 small blocks a setting, 3,000,000 at 500,000 endpoints (issue
 * 18). With glibc's fast bins off for its length, a freed block is merged with its free neighbours there and then
 * instead of all at once (malloc_consolidate) when a large one is freed: 0.1 s less CPU at 500,000. mallopt is a
 * hint (a sanitizer's allocator ignores it); the process's other allocations are unchanged after the load. */
struct cw_config *config_load_with(const char *path, const struct config_load_options *o)
{
    cw_fastbins_off();
    struct cw_config *cfg = load(path, o);
    cw_fastbins_default();
    /* libconfig's tree costs ~100 bytes a setting; give that memory back rather than let the supervisor
     * carry tens of MB of free heap for a big file (glibc keeps freed small blocks otherwise) */
    malloc_trim(0);
    return cfg;
}

static struct cw_config *load(const char *path, const struct config_load_options *o)
{
    struct cw_config *cfg = cw_xcalloc(1, sizeof *cfg);
    cfg->arena = cw_arena_new();
    struct cfg_parser p = { .cfg = cfg,
                            .arena = cfg->arena,
                            .report = o->report,
                            .warn = o->warn,
                            .rctx = o->ctx,
                            .file = path,
                            .bus_only = o->bus_only };
    set_defaults(cfg);

    if (!set_paths(&p, path)) {
        config_free(cfg);
        return NULL;
    }
    config_t lc;
    config_init(&lc); /* no include directory: cfg_text_load has spliced every @include in already */
    struct cfg_text text;
    if (!parse_text(&p, &lc, &text)) {
        config_destroy(&lc);
        cfg_text_free(&text);
        config_free(cfg);
        return NULL;
    }

    const config_setting_t *groups[ROOT_N] = { 0 };
    top_level_groups(&p, config_root_setting(&lc), groups);
    section(&p, cfgp_supervisor, groups[ROOT_SUPERVISOR], false); /* run_dir: strict */
    section(&p, cfgp_alerts, groups[ROOT_ALERTS], false);
    section(&p, cfgp_web, groups[ROOT_WEB], false); /* before monitor: endpoint IDs are checked when it is on */
    section(&p, cfgp_monitor, groups[ROOT_MONITOR], false);
    section(&p, cfgp_email, groups[ROOT_EMAIL], false);
    section(&p, cfgp_database, groups[ROOT_DATABASE], false);
    section(&p, cfgp_bus, groups[ROOT_BUS], true);
    p.tolerant = p.bus_only;
    cfgp_locations(&p, groups[ROOT_LOCATIONS], config_root_setting(&lc));
    p.tolerant = p.bus_only; /* after every section: the channels' names are known only now */
    cfgp_alerting(&p, groups[ROOT_ALERTS], groups[ROOT_GROUPS], groups[ROOT_MAINTENANCE], p.ep_groups);
    p.tolerant = false;
    if (!p.errors && !p.bus_only && !config_is_probe_host(cfg)) warn_idle(&p, groups[ROOT_MONITOR]);
    if (!p.errors && !p.bus_only) cfgp_web_after(&p, groups[ROOT_WEB]);

    config_destroy(&lc);
    cfg_text_free(&text);
    if (p.errors) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

struct cw_config *config_load(const char *path, config_report_fn report, void *ctx)
{
    struct config_load_options o = { .report = report, .ctx = ctx };
    return config_load_with(path, &o);
}
