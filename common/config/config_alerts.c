/* common/config/config_alerts.c — where alerts go: the `alerts` and `email` sections of the config file (see
 * config_alerts.h and docs/config.md for every key, default and bound). */
#include "common/config/config_alerts.h"
#include "common/config/config_alerting.h"
#include "common/config/config_check.h"
#include "common/config/config_locations.h"
#include "common/config/config_secrets.h"
#include "common/wire/protocol.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_THRESHOLD 1000000
#define MAX_RENOTIFY (30.0 * 86400)

/* channels, notify and escalate name channels: read once every channel is known (cfgp_alerting) */
static const char *const alerts_keys[] = {
    "webhooks", "renotify", "recovery_threshold", "group_threshold", "channels",
    "notify",   "escalate", "time_zone",          "quorum",          "location_silent_after",
    NULL
};
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
        case 4:
        case 5:
        case 6:
            break;
        case 7:
            cfg->alert_time_zone = cfgp_time_zone(p, w, s);
            break;
        case 8:
            cfgp_quorum(p, w, s, &cfg->quorum);
            break;
        case 9:
            cfgp_seconds_from(p, w, s, CW_LOCATION_SILENT_MIN, CW_LOCATION_SILENT_MAX, &cfg->location_silent_after);
            break;
        default:
            if (!cfgp_flap_key(p, w, s, &cfg->flap_window, &cfg->flap_high, &cfg->flap_low)) cfgp_unknown(p, w, s);
        }
    }
}

enum { EM_HOST, EM_PORT, EM_FROM, EM_TO, EM_USER, EM_PASSWORD, EM_PASSWORD_FILE, EM_TLS, EM_CA_FILE };
static const char *const email_keys[] = {
    "smtp_host",     "smtp_port",          "email_from", "email_to",     "smtp_user",
    "smtp_password", "smtp_password_file", "smtp_tls",   "smtp_ca_file", NULL
};

/* email_to: one address or a list of them. */
static void email_to(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_channel *ch)
{
    char name[256];
    const config_setting_t *one = NULL;
    const char *why;
    int len = 1;
    cfgp_name(w, s, name, sizeof name);
    if (s->type == CONFIG_TYPE_STRING) one = s;
    else if (s->type == CONFIG_TYPE_ARRAY || s->type == CONFIG_TYPE_LIST) len = config_setting_length(s);
    else {
        cfgp_problem(p, s, "%s: expected an address or a list of addresses", name);
        return;
    }
    if (len == 0 || len > 1000) {
        cfgp_problem(p, s, "%s: expected 1 to 1000 addresses (got %d)", name, len);
        return;
    }
    char **to = cw_arena_alloc(p->arena, (size_t)len * sizeof *to);
    size_t kept = 0;
    for (int j = 0; j < len; j++) {
        const config_setting_t *e = one ? one : config_setting_get_elem(s, (unsigned)j);
        if (e->type != CONFIG_TYPE_STRING) {
            cfgp_problem(p, e, "%s[%d]: expected an address (a string)", name, j);
            continue;
        }
        const char *a = config_setting_get_string(e);
        if ((why = cw_check_email(a))) {
            cfgp_problem(p, e, "%s: '%.300s' %s", name, a, why);
            continue;
        }
        to[kept++] = cw_arena_strdup(p->arena, a);
    }
    ch->email_to = to;
    ch->n_email_to = kept;
}

bool cfgp_email_key(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_channel *ch,
                    struct email_at *at)
{
    char name[256];
    const char *v, *why;
    switch (cfgp_key(email_keys, s->name)) {
    case EM_HOST:
        if (!(v = cfgp_string(p, w, s, true))) break;
        if (!cw_host_name_ok(v))
            cfgp_problem(p, s, "%s: '%s' is not a host name", cfgp_name(w, s, name, sizeof name), v);
        else ch->smtp_host = cw_arena_strdup(p->arena, v);
        break;
    case EM_PORT:
        at->has_port = cfgp_int(p, w, s, 1, 65535, &ch->smtp_port);
        break;
    case EM_FROM:
        if (!(v = cfgp_string(p, w, s, true))) break;
        if ((why = cw_check_mail_from(v)))
            cfgp_problem(p, s, "%s: '%.300s' %s", cfgp_name(w, s, name, sizeof name), v, why);
        else ch->email_from = cw_arena_strdup(p->arena, v);
        break;
    case EM_TO:
        at->to = s;
        email_to(p, w, s, ch);
        break;
    case EM_USER:
        if ((v = cfgp_string(p, w, s, true))) ch->smtp_user = cw_arena_strdup(p->arena, v);
        break;
    case EM_PASSWORD:
        if (cfgp_string(p, w, s, false)) at->password = s;
        break;
    case EM_PASSWORD_FILE:
        if (cfgp_string(p, w, s, true)) at->password_file = s;
        break;
    case EM_TLS:
        if (!(v = cfgp_string(p, w, s, true))) break;
        if (strcasecmp(v, "starttls") == 0) ch->smtp_tls = CW_SMTP_STARTTLS;
        else if (strcasecmp(v, "tls") == 0) ch->smtp_tls = CW_SMTP_TLS;
        else if (strcasecmp(v, "none") == 0) ch->smtp_tls = CW_SMTP_NONE;
        else cfgp_problem(p, s, "%s: '%s' is not starttls, tls or none", cfgp_name(w, s, name, sizeof name), v);
        break;
    case EM_CA_FILE:
        ch->smtp_ca_file = cfgp_readable_file(p, w, s);
        break;
    default:
        return false;
    }
    return true;
}

void cfgp_email_finish(struct cfg_parser *p, const config_setting_t *g, const char *label, struct cw_channel *ch,
                       const struct email_at *at, const char *env)
{
    if (!at->has_port) ch->smtp_port = ch->smtp_tls == CW_SMTP_TLS ? 465 : ch->smtp_tls == CW_SMTP_NONE ? 25 : 587;
    if (!config_setting_get_member(g, "smtp_host")) {
        cfgp_problem(p, g, "%s: smtp_host is required to send mail", label);
        return;
    }
    if (!config_setting_get_member(g, "email_from")) cfgp_problem(p, g, "%s: email_from is required", label);
    if (!at->to) cfgp_problem(p, g, "%s: email_to is required", label);
    cfgp_password(p, label, at->password, at->password_file, env, &ch->smtp_password);
}

void cfgp_email(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "email", -1 };
    struct cw_channel ch = { .smtp_tls = CW_SMTP_STARTTLS };
    struct email_at at = { 0 };
    int n = g ? config_setting_length(g) : 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        if (!cfgp_email_key(p, w, s, &ch, &at)) cfgp_unknown(p, w, s);
    }
    if (g && n > 0) cfgp_email_finish(p, g, "email", &ch, &at, "CLOCKWERK_SMTP_PASSWORD");
    else ch.smtp_port = 587;
    cfg->smtp_host = ch.smtp_host;
    cfg->smtp_port = ch.smtp_port;
    cfg->smtp_tls = ch.smtp_tls;
    cfg->email_from = ch.email_from;
    cfg->email_to = ch.email_to;
    cfg->n_email_to = ch.n_email_to;
    cfg->smtp_user = ch.smtp_user;
    cfg->smtp_password = ch.smtp_password;
    cfg->smtp_ca_file = ch.smtp_ca_file;
    cfg->email_enabled = n > 0 && cfg->smtp_host != NULL && config_setting_get_member(g, "smtp_host");
}
