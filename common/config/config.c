/* common/config/config.c — the struct cw_config as an object (see config.h): config_free for a loaded, read or
 * hand-built config, the small accessors (which processes a config wants, the names of its enums, whether
 * a status code is expected), and the LeakSanitizer suppression for libconfig's own leak. */
#include "common/config/config.h"
#include "common/config/config_arena.h"

#include <stdlib.h>
#include <string.h>

/* libconfig 1.5 leaks the buffer of a string token when a syntax error follows it (`name "x";`, a
 * missing '='): bison discards the token without freeing it. Nothing outside libconfig can free it, so
 * LeakSanitizer builds are told about exactly that allocation site and no other. It lives here, not in the
 * load driver, so that every program links it (all call config_free), also those that parse only a CURVE
 * key file (libconfig text too, common/bus/bus_keys.c); it is inert without the sanitizer. */
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

static void free_secret(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

/* A config built by hand: every field was malloc'd on its own (its endpoints' specs are its builder's). */
static void free_fields(struct cw_config *cfg)
{
    for (size_t i = 0; cfg->endpoints && i < cfg->n_endpoints; i++) {
        struct cw_endpoint *ep = &cfg->endpoints[i];
        free(ep->url);
        free(ep->name);
        free(ep->group);
        free(ep->host);
        free_secret(ep->push_token);
    }
    free(cfg->endpoints);
    for (size_t i = 0; cfg->webhooks && i < cfg->n_webhooks; i++) free(cfg->webhooks[i].url);
    free(cfg->webhooks);
    free_strv(cfg->email_to, cfg->n_email_to);
    free_strv(cfg->curve_allowed_keys, cfg->n_curve_allowed_keys);
    for (size_t i = 0; cfg->locations && i < cfg->n_locations; i++) {
        free(cfg->locations[i].name);
        free(cfg->locations[i].key);
    }
    free(cfg->locations);
    char *strings[] = { cfg->path,
                        cfg->location,
                        cfg->config_address,
                        cfg->central_address,
                        cfg->dir,
                        cfg->run_dir,
                        cfg->user,
                        cfg->store_address,
                        cfg->alert_address,
                        cfg->publish_address,
                        cfg->tap_address,
                        cfg->curve_key_file,
                        cfg->curve_public_key,
                        cfg->curve_server_key,
                        cfg->smtp_host,
                        cfg->email_from,
                        cfg->smtp_user,
                        cfg->smtp_ca_file,
                        cfg->db_name,
                        cfg->db_user,
                        cfg->db_host,
                        cfg->db_sslmode,
                        cfg->db_ca_file,
                        cfg->web_listen,
                        cfg->web_title,
                        cfg->web_tls_cert_file,
                        cfg->web_tls_key_file,
                        cfg->web_auth_user };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) free(strings[i]);
    free_secret(cfg->smtp_password);
    free_secret(cfg->db_password);
    free_secret(cfg->web_auth_password);
}

void config_free(struct cw_config *cfg)
{
    if (!cfg) return;
    if (cfg->arena) {
        if (cfg->smtp_password) explicit_bzero(cfg->smtp_password, strlen(cfg->smtp_password));
        if (cfg->db_password) explicit_bzero(cfg->db_password, strlen(cfg->db_password));
        if (cfg->web_auth_password) explicit_bzero(cfg->web_auth_password, strlen(cfg->web_auth_password));
        for (size_t i = 0; cfg->endpoints && i < cfg->n_endpoints; i++) {
            struct cw_endpoint *ep = &cfg->endpoints[i];
            if (ep->push_token) explicit_bzero(ep->push_token, strlen(ep->push_token));
            /* an interned spec is shared: zeroed once (then its first byte is 0). The proxy's URL and the headers
             * may hold credentials too. */
            const struct cw_check_spec *sp = ep->spec;
            if (!sp) continue;
            if (sp->client_key_password && sp->client_key_password[0])
                explicit_bzero(sp->client_key_password, strlen(sp->client_key_password));
            if (sp->proxy && sp->proxy[0]) explicit_bzero(sp->proxy, strlen(sp->proxy));
            for (size_t h = 0; sp->headers && h < sp->n_headers; h++)
                if (sp->headers[h] && sp->headers[h][0]) explicit_bzero(sp->headers[h], strlen(sp->headers[h]));
        }
        for (size_t i = 0; cfg->channels && i < cfg->n_channels; i++) {
            struct cw_channel *ch = &cfg->channels[i];
            if (ch->token) explicit_bzero(ch->token, strlen(ch->token));
            if (ch->smtp_password) explicit_bzero(ch->smtp_password, strlen(ch->smtp_password));
            for (size_t h = 0; ch->headers && h < ch->n_headers; h++)
                if (ch->headers[h]) explicit_bzero(ch->headers[h], strlen(ch->headers[h]));
        }
        cw_arena_free(cfg->arena);
    } else {
        free_fields(cfg);
    }
    free(cfg);
}

/* ---- accessors ---- */

bool config_wants_storer(const struct cw_config *cfg) { return cfg && cfg->db_activation; }

bool config_wants_alerter(const struct cw_config *cfg) { return cfg != NULL; }

bool config_has_alert_channel(const struct cw_config *cfg)
{
    return cfg && (cfg->email_enabled || cfg->n_webhooks > 0 || cfg->n_channels > 0);
}

bool config_wants_web(const struct cw_config *cfg) { return cfg && cfg->web_enabled; }

const char *config_raw_name(enum cw_db_raw raw)
{
    return raw == CW_RAW_FAILURES ? "failures" : raw == CW_RAW_NONE ? "none" : "all";
}

const char *config_driver_name(enum cw_db_driver driver)
{
    switch (driver) {
    case CW_DB_SQLITE:
        return "sqlite";
    case CW_DB_POSTGRES:
        return "postgresql";
    case CW_DB_MYSQL:
        return "mysql";
    }
    return "unknown";
}

const char *config_method_name(enum cw_method method)
{
    switch (method) {
    case CW_METHOD_GET:
        return "GET";
    case CW_METHOD_HEAD:
        return "HEAD";
    case CW_METHOD_POST:
        return "POST";
    case CW_METHOD_PUT:
        return "PUT";
    case CW_METHOD_PATCH:
        return "PATCH";
    case CW_METHOD_DELETE:
        return "DELETE";
    case CW_METHOD_OPTIONS:
        return "OPTIONS";
    }
    return "GET";
}

const char *config_check_type_name(enum cw_check_type type)
{
    static const char *const names[] = { "http", "tcp", "tls", "dns", "icmp", "push" };
    return (unsigned)type <= CW_CHECK_TYPE_MAX ? names[type] : NULL;
}

const char *config_smtp_tls_name(enum cw_smtp_tls tls)
{
    switch (tls) {
    case CW_SMTP_STARTTLS:
        return "starttls";
    case CW_SMTP_TLS:
        return "tls";
    case CW_SMTP_NONE:
        return "none";
    }
    return "starttls";
}

bool config_status_expected(const struct cw_endpoint *ep, int status)
{
    const struct cw_check_spec *s = ep && ep->spec ? ep->spec : &cw_check_spec_none;
    if (s->n_expect_status == 0 && s->n_status_ranges == 0) return status >= 200 && status <= 399;
    for (size_t i = 0; i < s->n_expect_status; i++)
        if (s->expect_status[i] == status) return true;
    for (size_t i = 0; i < s->n_status_ranges; i++)
        if (status >= s->status_ranges[i].lo && status <= s->status_ranges[i].hi) return true;
    return false;
}

const char *config_channel_type_name(enum cw_channel_type type)
{
    static const char *const names[] = { "email",      "webhook", "slack",    "discord",   "teams", "mattermost",
                                         "ntfy",       "telegram", "pagerduty", "opsgenie", "gotify" };
    return (unsigned)type <= CW_CHAN_TYPE_MAX ? names[type] : NULL;
}

const char *config_severity_name(enum cw_severity sev)
{
    static const char *const names[] = { "info", "warning", "error", "critical" };
    return (unsigned)sev <= CW_SEV_CRITICAL ? names[sev] : NULL;
}

long config_channel_find(const struct cw_config *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->n_channels; i++)
        if (cfg->channels[i].name && strcmp(cfg->channels[i].name, name) == 0) return (long)i;
    return -1;
}
