/* common/config.c — loading the operator's libconfig file into a struct cw_config: reading and
 * syntax errors, the top-level groups, defaults, reporting helpers shared by the group parsers
 * (config_groups.c, config_endpoints.c, config_secrets.c), and config_free and the small accessors.
 *
 * DESIGN
 * Every problem is reported as `FILE:LINE: message` through the caller's callback and counted; the
 * parsers go on after a problem so that one run shows them all, and config_load returns NULL when
 * any was found. Defaults are set before the groups are read; values that depend on others (an
 * endpoint's interval, the default bus addresses under run_dir) are settled in a fixed group order:
 * supervisor, alerts, monitor, email, database, bus. */
#include "common/config_priv.h"
#include "common/log.h"
#include "common/protocol.h"
#include "common/util.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

/* ---- reporting ---- */

const char *cfgp_file_of(struct cfg_parser *p, const config_setting_t *s, char *buf, size_t len)
{
    const char *file = (s && s->file) ? s->file : p->file;
    if (file == p->file || strcmp(file, p->file) == 0 || file[0] == '/' || !p->cfg->dir) return file;
    snprintf(buf, len, "%s/%s", p->cfg->dir, file); /* an @include, named relative to the config's directory */
    return buf;
}

void cfgp_problem(struct cfg_parser *p, const config_setting_t *s, const char *fmt, ...)
{
    char msg[CW_URL_MAX + 1024], fbuf[PATH_MAX];
    const char *file = cfgp_file_of(p, s, fbuf, sizeof fbuf);
    unsigned line = (s && s->line) ? s->line : 1;   /* s->line, not config_setting_source_line: that is a short */
    int n = snprintf(msg, sizeof msg, "%s:%u: ", file, line);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    /* one line, as config_report_fn promises: values quoted from the file may hold control characters */
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    p->errors++;
    if (p->report) p->report(p->rctx, msg);
}

const char *cfgp_name(struct cfg_where w, const config_setting_t *s, char *buf, size_t len)
{
    const char *key = (s && s->name) ? s->name : NULL;
    if (w.index >= 0 && key)
        snprintf(buf, len, "%s[%ld].%s", w.group, w.index, key);
    else if (w.index >= 0)
        snprintf(buf, len, "%s[%ld]", w.group, w.index);
    else if (key && w.group && w.group[0])
        snprintf(buf, len, "%s.%s", w.group, key);
    else
        snprintf(buf, len, "%s", key ? key : (w.group ? w.group : "?"));
    return buf;
}

void cfgp_unknown(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s)
{
    char where[256];
    if (w.index >= 0)
        snprintf(where, sizeof where, "%s[%ld]", w.group, w.index);
    else
        snprintf(where, sizeof where, "%s", w.group && w.group[0] ? w.group : "the top level");
    cfgp_problem(p, s, "unknown key '%s' in %s", s->name ? s->name : "?", where);
}

static const char *type_name(const config_setting_t *s)
{
    switch (s->type) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a decimal number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "nothing";
    }
}

static bool get_number(const config_setting_t *s, double *out)
{
    switch (s->type) {
    case CONFIG_TYPE_INT: *out = config_setting_get_int(s); return true;
    case CONFIG_TYPE_INT64: *out = (double)config_setting_get_int64(s); return true;
    case CONFIG_TYPE_FLOAT: *out = config_setting_get_float(s); return true;
    default: return false;
    }
}

bool cfgp_seconds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double min_excl, double max,
                  double *out)
{
    char name[256];
    double v;
    if (!get_number(s, &v)) {
        cfgp_problem(p, s, "%s: expected a number (seconds), got %s", cfgp_name(w, s, name, sizeof name),
                     type_name(s));
        return false;
    }
    if (!isfinite(v) || !(v > min_excl)) {
        cfgp_problem(p, s, "%s: must be greater than %g (got %g)", cfgp_name(w, s, name, sizeof name), min_excl, v);
        return false;
    }
    if (v > max) {
        cfgp_problem(p, s, "%s: must be at most %g (got %g)", cfgp_name(w, s, name, sizeof name), max, v);
        return false;
    }
    *out = v;
    return true;
}

bool cfgp_nonneg_seconds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double max, double *out)
{
    char name[256];
    double v;
    if (!get_number(s, &v)) {
        cfgp_problem(p, s, "%s: expected a number (seconds), got %s", cfgp_name(w, s, name, sizeof name),
                     type_name(s));
        return false;
    }
    if (!isfinite(v) || v < 0 || v > max) {
        cfgp_problem(p, s, "%s: must be between 0 and %g (got %g)", cfgp_name(w, s, name, sizeof name), max, v);
        return false;
    }
    *out = v;
    return true;
}

bool cfgp_int(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, long lo, long hi, int *out)
{
    char name[256];
    double v;
    if (!get_number(s, &v)) {
        cfgp_problem(p, s, "%s: expected an integer, got %s", cfgp_name(w, s, name, sizeof name), type_name(s));
        return false;
    }
    if (v != floor(v)) {
        cfgp_problem(p, s, "%s: expected a whole number (got %g)", cfgp_name(w, s, name, sizeof name), v);
        return false;
    }
    if (v < (double)lo || v > (double)hi) {
        cfgp_problem(p, s, "%s: must be between %ld and %ld (got %.0f)", cfgp_name(w, s, name, sizeof name), lo, hi,
                     v);
        return false;
    }
    *out = (int)v;
    return true;
}

bool cfgp_bool(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool *out)
{
    char name[256];
    if (s->type != CONFIG_TYPE_BOOL) {
        cfgp_problem(p, s, "%s: expected a boolean (true or false), got %s", cfgp_name(w, s, name, sizeof name),
                     type_name(s));
        return false;
    }
    *out = config_setting_get_bool(s) != 0;
    return true;
}

const char *cfgp_string(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, bool nonempty)
{
    char name[256];
    if (s->type != CONFIG_TYPE_STRING) {
        cfgp_problem(p, s, "%s: expected a string, got %s", cfgp_name(w, s, name, sizeof name), type_name(s));
        return NULL;
    }
    const char *v = config_setting_get_string(s);
    if (!v || (nonempty && !v[0])) {
        cfgp_problem(p, s, "%s: must not be empty", cfgp_name(w, s, name, sizeof name));
        return NULL;
    }
    return v;
}

char *cfgp_path(struct cfg_parser *p, const char *value)
{
    if (!value) return NULL;
    if (value[0] == '/') return cw_arena_strdup(p->arena, value);
    size_t dl = strlen(p->cfg->dir), vl = strlen(value);
    char *out = cw_arena_alloc(p->arena, dl + vl + 2);
    memcpy(out, p->cfg->dir, dl);
    size_t at = dl;
    if (at == 0 || out[at - 1] != '/') out[at++] = '/';
    memcpy(out + at, value, vl + 1);
    return out;
}

char *cfgp_readable_file(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s)
{
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return NULL;
    char *path = cfgp_path(p, v);
    struct stat st;
    char name[256];
    /* Whoever parses the file (an operator's -t or clockwerk-tap) may not be who reads the bundle (the
     * children, as supervisor.user): what cannot be looked at from here (EACCES) is left to them. */
    if (stat(path, &st) != 0) {
        if (errno == EACCES) return path;
        cfgp_problem(p, s, "%s: cannot read '%s': %s", cfgp_name(w, s, name, sizeof name), path, strerror(errno));
    } else if (!S_ISREG(st.st_mode))
        cfgp_problem(p, s, "%s: '%s' is not a file", cfgp_name(w, s, name, sizeof name), path);
    else
        return path;
    return NULL;
}

int cfgp_key(const char *const *table, const char *name)
{
    if (!name) return -1;
    for (int i = 0; table[i]; i++)
        if (strcmp(table[i], name) == 0) return i;
    return -1;
}

/* ---- loading ---- */

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
            snprintf(msg, sizeof msg, "%s:%d: syntax error: %s",
                     config_error_file(&lc) ? config_error_file(&lc) : path, config_error_line(&lc),
                     config_error_text(&lc) ? config_error_text(&lc) : "unknown");
        if (report) report(ctx, msg);
        config_destroy(&lc);
        config_free(cfg);
        return NULL;
    }

    const config_setting_t *groups[ROOT_N] = { 0 };
    const config_setting_t *root = config_root_setting(&lc);
    struct cfg_where top = { "", -1 };
    int n = config_setting_length(root);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        int k = cfgp_key(root_keys, s->name);
        if (k < 0) {
            cfgp_unknown(&p, top, s);
            continue;
        }
        if (s->type != CONFIG_TYPE_GROUP) {
            cfgp_problem(&p, s, "%s: expected a group ({ ... }), got %s", s->name, type_name(s));
            continue;
        }
        groups[k] = s;
    }
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

/* libconfig 1.5 leaks the buffer of a string token when a syntax error follows it (`name "x";`, a
 * missing '='): bison discards the token without freeing it. Nothing outside libconfig can free it, so
 * LeakSanitizer builds are told about exactly that allocation site and no other; the function is linked
 * into every program that loads a config and is inert without the sanitizer. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:strbuf_append\n"
           "leak:libconfig_yylex\n"; /* the same leak for an empty string token (`b ""`): calloc'd in the lexer */
}

/* ---- freeing ---- */

static void free_strv(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* A config built by hand: every field was malloc'd on its own. */
static void free_fields(struct cw_config *cfg)
{
    for (size_t i = 0; cfg->endpoints && i < cfg->n_endpoints; i++) {
        struct cw_endpoint *ep = &cfg->endpoints[i];
        free(ep->url);
        free(ep->name);
        free(ep->body);
        free(ep->keyword);
        free(ep->expect_status);
        free_strv(ep->headers, ep->n_headers);
        free(ep->ca_file);
    }
    free(cfg->endpoints);
    for (size_t i = 0; cfg->webhooks && i < cfg->n_webhooks; i++) free(cfg->webhooks[i].url);
    free(cfg->webhooks);
    free_strv(cfg->email_to, cfg->n_email_to);
    free_strv(cfg->curve_allowed_keys, cfg->n_curve_allowed_keys);
    char *strings[] = { cfg->path, cfg->dir, cfg->run_dir, cfg->user, cfg->store_address, cfg->alert_address,
                        cfg->publish_address, cfg->tap_address, cfg->curve_key_file, cfg->curve_public_key, cfg->curve_server_key, cfg->smtp_host, cfg->email_from, cfg->smtp_user,
                        cfg->smtp_ca_file, cfg->db_name, cfg->db_user, cfg->db_host, cfg->db_sslmode,
                        cfg->db_ca_file };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) free(strings[i]);
    if (cfg->smtp_password) {
        explicit_bzero(cfg->smtp_password, strlen(cfg->smtp_password));
        free(cfg->smtp_password);
    }
    if (cfg->db_password) {
        explicit_bzero(cfg->db_password, strlen(cfg->db_password));
        free(cfg->db_password);
    }
}

void config_free(struct cw_config *cfg)
{
    if (!cfg) return;
    if (cfg->arena) {
        if (cfg->smtp_password) explicit_bzero(cfg->smtp_password, strlen(cfg->smtp_password));
        if (cfg->db_password) explicit_bzero(cfg->db_password, strlen(cfg->db_password));
        cw_arena_free(cfg->arena);
    } else {
        free_fields(cfg);
    }
    free(cfg);
}

/* ---- accessors ---- */

bool config_wants_storer(const struct cw_config *cfg)
{
    return cfg && cfg->db_activation;
}

bool config_wants_alerter(const struct cw_config *cfg)
{
    return cfg && (cfg->email_enabled || cfg->n_webhooks > 0);
}

const char *config_driver_name(enum cw_db_driver driver)
{
    switch (driver) {
    case CW_DB_SQLITE: return "sqlite";
    case CW_DB_POSTGRES: return "postgresql";
    case CW_DB_MYSQL: return "mysql";
    }
    return "unknown";
}

const char *config_method_name(enum cw_method method)
{
    switch (method) {
    case CW_METHOD_GET: return "GET";
    case CW_METHOD_HEAD: return "HEAD";
    case CW_METHOD_POST: return "POST";
    }
    return "GET";
}

const char *config_smtp_tls_name(enum cw_smtp_tls tls)
{
    switch (tls) {
    case CW_SMTP_STARTTLS: return "starttls";
    case CW_SMTP_TLS: return "tls";
    case CW_SMTP_NONE: return "none";
    }
    return "starttls";
}

bool config_status_expected(const struct cw_endpoint *ep, int status)
{
    if (!ep || ep->n_expect_status == 0) return status >= 200 && status <= 399;
    for (size_t i = 0; i < ep->n_expect_status; i++)
        if (ep->expect_status[i] == status) return true;
    return false;
}
