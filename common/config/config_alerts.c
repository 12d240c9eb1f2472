/* common/config/config_alerts.c — where alerts go: the `alerts` and `email` sections of the config file (see
 * config_alerts.h and docs/config.md for every key, default and bound). */
#include "common/config/config_alerts.h"
#include "common/config/config_check.h"
#include "common/config/config_secrets.h"
#include "common/wire/protocol.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_THRESHOLD 1000000
#define MAX_RENOTIFY (30.0 * 86400)

static const char *const alerts_keys[] = { "webhooks", "renotify", "recovery_threshold", "group_threshold", NULL };
static const char *const webhook_keys[] = { "url", NULL };

/* The url of alerts.webhooks[i] (group h), or NULL after reporting. */
static const char *webhook_url(struct cfg_parser *p, const config_setting_t *h, int i)
{
    struct cfg_where w = { "alerts.webhooks", i };
    const char *url = NULL;
    int m = config_setting_length(h);
    for (int j = 0; j < m; j++) {
        const config_setting_t *k = config_setting_get_elem(h, (unsigned)j);
        if (cfgp_key(webhook_keys, k->name) != 0) {
            cfgp_unknown(p, w, k);
            continue;
        }
        const char *v = cfgp_string(p, w, k, true);
        if (!v) continue;
        const char *why = cw_check_http_url(v);
        if (why) {
            char masked[CW_URL_MAX + 1];
            cw_mask_url(v, masked, sizeof masked);
            cfgp_problem(p, k, "alerts.webhooks[%d].url: '%s' %s", i, masked, why);
            continue;
        }
        if (cw_url_has_password(v)) {
            char key[48];
            snprintf(key, sizeof key, "alerts.webhooks[%d].url", i);
            cfgp_check_private(p, k, key);
        }
        url = v;
    }
    if (!url && !config_setting_get_member(h, "url")) cfgp_problem(p, h, "alerts.webhooks[%d]: missing url", i);
    return url;
}

static void webhooks(struct cfg_parser *p, const config_setting_t *s)
{
    struct cw_config *cfg = p->cfg;
    if (s->type != CONFIG_TYPE_LIST) {
        cfgp_problem(p, s, "alerts.webhooks: expected a list of groups ( { url = \"...\"; }, ... )");
        return;
    }
    int n = config_setting_length(s);
    cfg->webhooks = cw_arena_alloc(p->arena, (size_t)(n ? n : 1) * sizeof *cfg->webhooks);
    for (int i = 0; i < n; i++) {
        const config_setting_t *h = config_setting_get_elem(s, (unsigned)i);
        if (h->type != CONFIG_TYPE_GROUP) {
            cfgp_problem(p, h, "alerts.webhooks[%d]: expected a group { url = \"...\"; }", i);
            continue;
        }
        const char *url = webhook_url(p, h, i);
        if (url) cfg->webhooks[cfg->n_webhooks++].url = cw_arena_strdup(p->arena, url);
    }
}

void cfgp_alerts(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "alerts", -1 };
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        switch (cfgp_key(alerts_keys, s->name)) {
        case 0:
            webhooks(p, s);
            break;
        case 1:
            cfgp_nonneg_seconds(p, w, s, MAX_RENOTIFY, &cfg->renotify);
            break;
        case 2:
            cfgp_int(p, w, s, 1, MAX_THRESHOLD, &cfg->recovery_threshold);
            break;
        case 3:
            cfgp_int(p, w, s, 1, MAX_THRESHOLD, &cfg->group_threshold);
            break;
        default:
            cfgp_unknown(p, w, s);
        }
    }
}

enum { EM_HOST, EM_PORT, EM_FROM, EM_TO, EM_USER, EM_PASSWORD, EM_PASSWORD_FILE, EM_TLS, EM_CA_FILE };
static const char *const email_keys[] = {
    "smtp_host",     "smtp_port",          "email_from", "email_to",     "smtp_user",
    "smtp_password", "smtp_password_file", "smtp_tls",   "smtp_ca_file", NULL
};

/* email.email_to: one address or a list of them. */
static void email_to(struct cfg_parser *p, const config_setting_t *s)
{
    struct cw_config *cfg = p->cfg;
    const config_setting_t *one = NULL;
    const char *why;
    int len = 1;
    if (s->type == CONFIG_TYPE_STRING) one = s;
    else if (s->type == CONFIG_TYPE_ARRAY || s->type == CONFIG_TYPE_LIST) len = config_setting_length(s);
    else {
        cfgp_problem(p, s, "email.email_to: expected an address or a list of addresses");
        return;
    }
    if (len == 0 || len > 1000) {
        cfgp_problem(p, s, "email.email_to: expected 1 to 1000 addresses (got %d)", len);
        return;
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
}

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
            if (!cw_host_name_ok(v)) cfgp_problem(p, s, "email.smtp_host: '%s' is not a host name", v);
            else cfg->smtp_host = cw_arena_strdup(p->arena, v);
            break;
        case EM_PORT:
            has_port = cfgp_int(p, w, s, 1, 65535, &cfg->smtp_port);
            break;
        case EM_FROM:
            if (!(v = cfgp_string(p, w, s, true))) break;
            if ((why = cw_check_email(v))) cfgp_problem(p, s, "email.email_from: '%.300s' %s", v, why);
            else cfg->email_from = cw_arena_strdup(p->arena, v);
            break;
        case EM_TO:
            to_at = s;
            email_to(p, s);
            break;
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
        default:
            cfgp_unknown(p, w, s);
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
    cfgp_password(p, "email", pw_at, pwf_at, "CLOCKWERK_SMTP_PASSWORD", &cfg->smtp_password);
}
