/* common/config/config_database.c — the `database` section of the config file (see config_database.h). */
#include "common/config/config_database.h"
#include "common/config/config_check.h"
#include "common/config/config_secrets.h"

#include <string.h>
#include <strings.h>

enum {
    DB_ACTIVATION,
    DB_DRIVER,
    DB_NAME,
    DB_USER,
    DB_PASSWORD,
    DB_PASSWORD_FILE,
    DB_HOST,
    DB_PORT,
    DB_SSLMODE,
    DB_CA_FILE,
    DB_RETENTION,
    DB_RAW
};
static const char *const db_keys[] = { "db_activation", "db_driver",        "db_name",   "db_user",
                                       "db_password",   "db_password_file", "db_host",   "db_port",
                                       "db_sslmode",    "db_ca_file",       "retention", "raw", NULL };
static const char *const retention_keys[] = { "raw_days", "hourly_days", "daily_days", NULL };
static const char *const sslmodes[] = { "disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL };

/* days kept, 0 = forever: "a keeps less than b" when a is finite and b longer or forever */
static bool keeps_less(int a, int b) { return a != 0 && (b == 0 || a < b); }

/* database.retention = { raw_days; hourly_days; daily_days; } (defaults set by the caller). A roll-up kept for
 * less time than what it is built from is allowed (the operator may want it) but warned about: clockwerk report
 * reads the roll-ups, so a window the raw rows still cover would come out empty. */
static void parse_retention(struct cfg_parser *p, const config_setting_t *g, const config_setting_t **raw_days_at)
{
    struct cw_config *cfg = p->cfg;
    if (g->type != CONFIG_TYPE_GROUP) {
        cfgp_problem(p, g, "database.retention: expected a group ({ raw_days = 30; ... }), got %s", cfgp_type_name(g));
        return;
    }
    struct cfg_where w = { "database.retention", -1 };
    int *const days[] = { &cfg->retention_raw_days, &cfg->retention_hourly_days, &cfg->retention_daily_days };
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        int k = cfgp_key(retention_keys, s->name);
        if (k < 0) cfgp_unknown(p, w, s);
        else if (cfgp_int(p, w, s, 0, CW_RETENTION_DAYS_MAX, days[k]) && k == 0) *raw_days_at = s;
    }
    if (keeps_less(cfg->retention_hourly_days, cfg->retention_raw_days))
        cfgp_warning(p, g,
                     "database.retention: hourly_days (%d) keeps less than raw_days (%d%s): a report over the "
                     "difference finds no hourly roll-ups",
                     cfg->retention_hourly_days, cfg->retention_raw_days, cfg->retention_raw_days ? "" : ": forever");
    if (keeps_less(cfg->retention_daily_days, cfg->retention_hourly_days))
        cfgp_warning(p, g,
                     "database.retention: daily_days (%d) keeps less than hourly_days (%d%s): a report over the "
                     "difference finds no daily roll-ups",
                     cfg->retention_daily_days, cfg->retention_hourly_days,
                     cfg->retention_hourly_days ? "" : ": forever");
}

void cfgp_database(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "database", -1 };
    const config_setting_t *pw_at = NULL, *pwf_at = NULL, *raw_days_at = NULL;
    const char *name = NULL, *v;
    bool has_port = false;
    int n = g ? config_setting_length(g) : 0;
    cfg->retention_raw_days = 30;
    cfg->retention_hourly_days = 400;
    cfg->retention_daily_days = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        switch (cfgp_key(db_keys, s->name)) {
        case DB_ACTIVATION:
            cfgp_bool(p, w, s, &cfg->db_activation);
            break;
        case DB_DRIVER:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if (strcasecmp(v, "sqlite") == 0 || strcasecmp(v, "sqlite3") == 0) cfg->db_driver = CW_DB_SQLITE;
            else if (strcasecmp(v, "postgresql") == 0 || strcasecmp(v, "postgres") == 0)
                cfg->db_driver = CW_DB_POSTGRES;
            else if (strcasecmp(v, "mysql") == 0 || strcasecmp(v, "mariadb") == 0) cfg->db_driver = CW_DB_MYSQL;
            else cfgp_problem(p, s, "database.db_driver: '%s' is not sqlite, postgresql or mysql", v);
            break;
        case DB_NAME:
            name = cfgp_string(p, w, s, true);
            break;
        case DB_USER:
            if ((v = cfgp_string(p, w, s, true))) cfg->db_user = cw_arena_strdup(p->arena, v);
            break;
        case DB_PASSWORD:
            if (cfgp_string(p, w, s, false)) pw_at = s;
            break;
        case DB_PASSWORD_FILE:
            if (cfgp_string(p, w, s, true)) pwf_at = s;
            break;
        case DB_HOST:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if (v[0] != '/' && !cw_host_name_ok(v)) cfgp_problem(p, s, "database.db_host: '%s' is not a host name", v);
            else cfg->db_host = cw_arena_strdup(p->arena, v);
            break;
        case DB_PORT:
            has_port = cfgp_int(p, w, s, 1, 65535, &cfg->db_port);
            break;
        case DB_SSLMODE:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if (cfgp_key(sslmodes, v) < 0)
                cfgp_problem(p, s,
                             "database.db_sslmode: '%s' is not disable, allow, prefer, require, verify-ca or "
                             "verify-full",
                             v);
            else cfg->db_sslmode = cw_arena_strdup(p->arena, v);
            break;
        case DB_CA_FILE:
            cfg->db_ca_file = cfgp_readable_file(p, w, s);
            break;
        case DB_RETENTION:
            parse_retention(p, s, &raw_days_at);
            break;
        case DB_RAW:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if (strcmp(v, "all") == 0) cfg->db_raw = CW_RAW_ALL;
            else if (strcmp(v, "failures") == 0) cfg->db_raw = CW_RAW_FAILURES;
            else if (strcmp(v, "none") == 0) cfg->db_raw = CW_RAW_NONE;
            else cfgp_problem(p, s, "database.raw: '%s' is not all, failures or none", v);
            break;
        default:
            cfgp_unknown(p, w, s);
        }
    }
    if (cfg->db_driver == CW_DB_SQLITE) {
        if (!name) name = "clockwerk.db";
        cfg->db_name = strcmp(name, ":memory:") == 0 ? cw_arena_strdup(p->arena, name) : cfgp_path(p, name);
        if (!has_port) cfg->db_port = 0;
    } else {
        cfg->db_name = cw_arena_strdup(p->arena, name ? name : "clockwerk");
        if (!has_port) cfg->db_port = cfg->db_driver == CW_DB_POSTGRES ? 5432 : 3306;
    }
    /* raw = "none" keeps no raw row: a raw_days set by hand means nothing (the roll-ups keep their own days) */
    if (cfg->db_raw == CW_RAW_NONE && raw_days_at)
        cfgp_warning(p, raw_days_at,
                     "database.retention.raw_days: set, but database.raw is \"none\": no raw row is kept, so it has "
                     "no effect");
    cfgp_password(p, "database", pw_at, pwf_at, "CLOCKWERK_DB_PASSWORD", &cfg->db_password);
}
