/* common/config_secrets.c — the `email` and `database` groups, the two that carry passwords.
 * A password comes from the file itself, from a *_password_file (read here, one trailing newline
 * stripped) or from the environment (CLOCKWERK_SMTP_PASSWORD / CLOCKWERK_DB_PASSWORD) when the file
 * names neither. No message written here ever contains a password: problems name the key only. */
#include "common/config_priv.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PASSWORD 4096

/* Reads a password file into the arena. Returns NULL after reporting at s. */
static char *read_password_file(struct cfg_parser *p, const config_setting_t *s, const char *key, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cfgp_problem(p, s, "%s: cannot open '%s': %s", key, path, strerror(errno));
        return NULL;
    }
    /* A warning, not a refusal: container secrets are mounted 0444/0644 on purpose (the mount and its
     * directory guard them), and the file's own mode does not tell whether others can reach it. */
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & S_IROTH))
        log_warn("%s: others may read the password file '%s' (unless its directory keeps them out); "
                 "consider `chmod o-r %s`", key, path, path);
    char buf[MAX_PASSWORD + 2];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            cfgp_problem(p, s, "%s: cannot read '%s': %s", key, path, strerror(errno));
            close(fd);
            explicit_bzero(buf, sizeof buf);
            return NULL;
        }
        if (r == 0) break;
        len += (size_t)r;
        if (len >= sizeof buf - 1) break;
    }
    close(fd);
    if (len > MAX_PASSWORD) {
        cfgp_problem(p, s, "%s: '%s' is longer than %d bytes", key, path, MAX_PASSWORD);
        explicit_bzero(buf, sizeof buf);
        return NULL;
    }
    if (len > 0 && buf[len - 1] == '\n') len--;
    if (len > 0 && buf[len - 1] == '\r') len--;
    if (len == 0 || memchr(buf, '\0', len) || memchr(buf, '\n', len)) {
        cfgp_problem(p, s, "%s: '%s' must hold the password on one line", key, path);
        explicit_bzero(buf, sizeof buf);
        return NULL;
    }
    char *pw = cw_arena_strndup(p->arena, buf, len);
    explicit_bzero(buf, sizeof buf);
    return pw;
}

/* A password given in the file is refused when others may read the file (issue 7). */
void cfgp_check_private(struct cfg_parser *p, const config_setting_t *s, const char *key)
{
    struct stat st;
    char fbuf[PATH_MAX];
    const char *file = cfgp_file_of(p, s, fbuf, sizeof fbuf);
    if (stat(file, &st) != 0 || !(st.st_mode & S_IROTH)) return;
    size_t n = s->name ? strlen(s->name) : 0;
    if (n >= 8 && strcmp(s->name + n - 8, "password") == 0)
        cfgp_problem(p, s, "%s: the file holds a password but others may read it; run `chmod o-r %s` or move the "
                     "password to %s_file or the environment", key, file, s->name);
    else
        cfgp_problem(p, s, "%s: the file holds a credential (a password in a URL, an Authorization-style header) "
                     "but others may read it; run `chmod o-r %s`", key, file);
}

/* Settles a password: from the file, its *_file, or env. */
static void password(struct cfg_parser *p, const char *group, const config_setting_t *inline_at,
                     const config_setting_t *file_at, const char *env, char **out)
{
    char key[64];
    if (inline_at && file_at) {
        snprintf(key, sizeof key, "%s.%s", group, file_at->name);
        cfgp_problem(p, file_at, "%s: both %s and %s are set; keep one", key, inline_at->name, file_at->name);
        return;
    }
    if (inline_at) {
        snprintf(key, sizeof key, "%s.%s", group, inline_at->name);
        cfgp_check_private(p, inline_at, key);
        *out = cw_arena_strdup(p->arena, config_setting_get_string(inline_at));
        return;
    }
    if (file_at) {
        snprintf(key, sizeof key, "%s.%s", group, file_at->name);
        *out = read_password_file(p, file_at, key, cfgp_path(p, config_setting_get_string(file_at)));
        return;
    }
    const char *e = getenv(env);
    if (e && e[0]) *out = cw_arena_strdup(p->arena, e);
}

static bool host_ok(const char *v)
{
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c <= ' ' || *c == 0x7f || *c == '/' || *c == '@') return false;
    return true;
}

enum { EM_HOST, EM_PORT, EM_FROM, EM_TO, EM_USER, EM_PASSWORD, EM_PASSWORD_FILE, EM_TLS, EM_CA_FILE };
static const char *const email_keys[] = { "smtp_host", "smtp_port", "email_from", "email_to", "smtp_user",
                                          "smtp_password", "smtp_password_file", "smtp_tls", "smtp_ca_file", NULL };

void cfgp_email(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "email", -1 };
    const config_setting_t *pw_at = NULL, *pwf_at = NULL, *to_at = NULL;
    bool has_port = false;
    const char *v, *why;
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        switch (cfgp_key(email_keys, s->name)) {
        case EM_HOST:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if (!host_ok(v)) cfgp_problem(p, s, "email.smtp_host: '%s' is not a host name", v);
            else cfg->smtp_host = cw_arena_strdup(p->arena, v);
            break;
        case EM_PORT: has_port = cfgp_int(p, w, s, 1, 65535, &cfg->smtp_port); break;
        case EM_FROM:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if ((why = cw_check_email(v))) cfgp_problem(p, s, "email.email_from: '%.300s' %s", v, why);
            else cfg->email_from = cw_arena_strdup(p->arena, v);
            break;
        case EM_TO: {
            to_at = s;
            const config_setting_t *one = NULL;
            int len = 1;
            if (s->type == CONFIG_TYPE_STRING) one = s;
            else if (s->type == CONFIG_TYPE_ARRAY || s->type == CONFIG_TYPE_LIST) len = config_setting_length(s);
            else {
                cfgp_problem(p, s, "email.email_to: expected an address or a list of addresses");
                break;
            }
            if (len == 0 || len > 1000) {
                cfgp_problem(p, s, "email.email_to: expected 1 to 1000 addresses (got %d)", len);
                break;
            }
            char **to = cw_arena_alloc(p->arena, (size_t)len * sizeof *to);
            size_t kept = 0;
            for (int j = 0; j < len; j++) {
                const config_setting_t *e = one ? one : config_setting_get_elem(s, (unsigned)j);
                if (e->type != CONFIG_TYPE_STRING) {
                    cfgp_problem(p, e, "email.email_to[%d]: expected an address (a string)", j);
                    continue;
                }
                const char *a = config_setting_get_string(e);
                if ((why = cw_check_email(a))) {
                    cfgp_problem(p, e, "email.email_to: '%.300s' %s", a, why);
                    continue;
                }
                to[kept++] = cw_arena_strdup(p->arena, a);
            }
            cfg->email_to = to;
            cfg->n_email_to = kept;
            break;
        }
        case EM_USER:
            if ((v = cfgp_string(p, w, s, true))) cfg->smtp_user = cw_arena_strdup(p->arena, v);
            break;
        case EM_PASSWORD:
            if (cfgp_string(p, w, s, false)) pw_at = s;
            break;
        case EM_PASSWORD_FILE:
            if (cfgp_string(p, w, s, true)) pwf_at = s;
            break;
        case EM_TLS:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if (strcasecmp(v, "starttls") == 0) cfg->smtp_tls = CW_SMTP_STARTTLS;
            else if (strcasecmp(v, "tls") == 0) cfg->smtp_tls = CW_SMTP_TLS;
            else if (strcasecmp(v, "none") == 0) cfg->smtp_tls = CW_SMTP_NONE;
            else cfgp_problem(p, s, "email.smtp_tls: '%s' is not starttls, tls or none", v);
            break;
        case EM_CA_FILE:
            cfg->smtp_ca_file = cfgp_readable_file(p, w, s);
            break;
        default: cfgp_unknown(p, w, s);
        }
    }
    if (!has_port) cfg->smtp_port = cfg->smtp_tls == CW_SMTP_TLS ? 465 : cfg->smtp_tls == CW_SMTP_NONE ? 25 : 587;
    if (!g || n == 0) return;
    if (!config_setting_get_member(g, "smtp_host")) {
        cfgp_problem(p, g, "email: smtp_host is required to send mail");
        return;
    }
    cfg->email_enabled = cfg->smtp_host != NULL;
    if (!config_setting_get_member(g, "email_from")) cfgp_problem(p, g, "email: email_from is required");
    if (!to_at) cfgp_problem(p, g, "email: email_to is required");
    password(p, "email", pw_at, pwf_at, "CLOCKWERK_SMTP_PASSWORD", &cfg->smtp_password);
}

enum { DB_ACTIVATION, DB_DRIVER, DB_NAME, DB_USER, DB_PASSWORD, DB_PASSWORD_FILE, DB_HOST, DB_PORT, DB_SSLMODE,
       DB_CA_FILE };
static const char *const db_keys[] = { "db_activation", "db_driver", "db_name", "db_user", "db_password",
                                       "db_password_file", "db_host", "db_port", "db_sslmode", "db_ca_file", NULL };
static const char *const sslmodes[] = { "disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL };

void cfgp_database(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "database", -1 };
    const config_setting_t *pw_at = NULL, *pwf_at = NULL;
    const char *name = NULL, *v;
    bool has_port = false;
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        switch (cfgp_key(db_keys, s->name)) {
        case DB_ACTIVATION: cfgp_bool(p, w, s, &cfg->db_activation); break;
        case DB_DRIVER:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if (strcasecmp(v, "sqlite") == 0 || strcasecmp(v, "sqlite3") == 0) cfg->db_driver = CW_DB_SQLITE;
            else if (strcasecmp(v, "postgresql") == 0 || strcasecmp(v, "postgres") == 0) cfg->db_driver = CW_DB_POSTGRES;
            else if (strcasecmp(v, "mysql") == 0 || strcasecmp(v, "mariadb") == 0) cfg->db_driver = CW_DB_MYSQL;
            else cfgp_problem(p, s, "database.db_driver: '%s' is not sqlite, postgresql or mysql", v);
            break;
        case DB_NAME: name = cfgp_string(p, w, s, true); break;
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
            if (v[0] != '/' && !host_ok(v)) cfgp_problem(p, s, "database.db_host: '%s' is not a host name", v);
            else cfg->db_host = cw_arena_strdup(p->arena, v);
            break;
        case DB_PORT: has_port = cfgp_int(p, w, s, 1, 65535, &cfg->db_port); break;
        case DB_SSLMODE:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if (cfgp_key(sslmodes, v) < 0)
                cfgp_problem(p, s, "database.db_sslmode: '%s' is not disable, allow, prefer, require, verify-ca or "
                             "verify-full", v);
            else
                cfg->db_sslmode = cw_arena_strdup(p->arena, v);
            break;
        case DB_CA_FILE:
            cfg->db_ca_file = cfgp_readable_file(p, w, s);
            break;
        default: cfgp_unknown(p, w, s);
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
    password(p, "database", pw_at, pwf_at, "CLOCKWERK_DB_PASSWORD", &cfg->db_password);
}
