/* common/config/config_channels.c — alerts.channels (docs/config.md "Channels"): each channel's name, type, kinds,
 * min_severity and verify_tls, the keys of its type (email, webhook, slack, discord, teams, mattermost, ntfy,
 * telegram, pagerduty, opsgenie, gotify) with their secrets (inline, *_file, or CLOCKWERK_CHANNEL_<NAME>_TOKEN /
 * _PASSWORD), then the legacy channels made of the `email` group ("email") and alerts.webhooks ("webhook-1", ...).
 *
 * DESIGN
 * One key, one row: its name and the channel types it is a key of (as the endpoint keys of config_types.c); a key
 * of another type is refused before any reader sees it ("'chat_id' is not a key of a slack channel"). An email
 * channel is read by the `email` group's own key reader (config_alerts.c). No message names a secret's value. */
#include "common/config/config_alerting.h"
#include "common/config/config_alerts.h"
#include "common/config/config_check.h"
#include "common/config/config_ep.h"
#include "common/config/config_secrets.h"
#include "common/wire/protocol.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CH(x) (1u << CW_CHAN_##x)
#define CH_ALL ((1u << (CW_CHAN_TYPE_MAX + 1)) - 1)
#define CH_CHAT (CH(SLACK) | CH(DISCORD) | CH(TEAMS) | CH(MATTERMOST))
#define CH_TOKEN (CH(NTFY) | CH(TELEGRAM) | CH(GOTIFY))
#define MAX_TEMPLATE (64 * 1024)
#define MAX_CHAT_ID 128

enum chan_key {
    CK_NAME,
    CK_TYPE,
    CK_KINDS,
    CK_MIN_SEVERITY,
    CK_VERIFY_TLS,
    CK_EMAIL, /* the keys of the `email` group: read by cfgp_email_key */
    CK_URL,
    CK_URL_FILE,
    CK_HEADERS,
    CK_BODY_TEMPLATE,
    CK_BODY_TEMPLATE_FILE,
    CK_TOKEN,
    CK_TOKEN_FILE,
    CK_ROUTING_KEY,
    CK_ROUTING_KEY_FILE,
    CK_API_KEY,
    CK_API_KEY_FILE,
    CK_CHAT_ID,
    CK_N
};

static const struct {
    const char *name;
    unsigned types;
} chan_keys[CK_N] = {
    [CK_NAME] = { "name", CH_ALL },
    [CK_TYPE] = { "type", CH_ALL },
    [CK_KINDS] = { "kinds", CH_ALL },
    [CK_MIN_SEVERITY] = { "min_severity", CH_ALL },
    [CK_VERIFY_TLS] = { "verify_tls", CH_ALL },
    [CK_EMAIL] = { NULL, CH(EMAIL) },
    [CK_URL] = { "url", CH_ALL & ~CH(EMAIL) },
    [CK_URL_FILE] = { "url_file", CH_CHAT | CH(WEBHOOK) },
    [CK_HEADERS] = { "headers", CH(WEBHOOK) },
    [CK_BODY_TEMPLATE] = { "body_template", CH(WEBHOOK) },
    [CK_BODY_TEMPLATE_FILE] = { "body_template_file", CH(WEBHOOK) },
    [CK_TOKEN] = { "token", CH_TOKEN },
    [CK_TOKEN_FILE] = { "token_file", CH_TOKEN },
    [CK_ROUTING_KEY] = { "routing_key", CH(PAGERDUTY) },
    [CK_ROUTING_KEY_FILE] = { "routing_key_file", CH(PAGERDUTY) },
    [CK_API_KEY] = { "api_key", CH(OPSGENIE) },
    [CK_API_KEY_FILE] = { "api_key_file", CH(OPSGENIE) },
    [CK_CHAT_ID] = { "chat_id", CH(TELEGRAM) },
};

static const char *const email_key_names[] = { "smtp_host", "smtp_port",    "email_from",
                                               "email_to",  "smtp_user",    "smtp_password_file",
                                               "smtp_tls",  "smtp_ca_file", "smtp_password",
                                               NULL };

/* The row of a channel key, or -1. */
static int chan_key(const char *name)
{
    if (!name) return -1;
    if (cfgp_key(email_key_names, name) >= 0) return CK_EMAIL;
    for (int i = 0; i < CK_N; i++)
        if (chan_keys[i].name && strcmp(chan_keys[i].name, name) == 0) return i;
    return -1;
}

/* Where the secret-bearing keys of the channel being read were set. */
struct chan_parse {
    struct cfg_where w;
    char label[48]; /* "alerts.channels[3]" */
    const config_setting_t *g;
    const config_setting_t *token, *token_file, *url_file, *body_template_file;
    struct email_at email;
};

void cfgp_channel_env_name(const char *channel, const char *what, char *out, size_t len)
{
    size_t at = (size_t)snprintf(out, len, "CLOCKWERK_CHANNEL_");
    for (const char *c = channel; *c && at + 1 < len; c++)
        out[at++] = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
    if (at < len) out[at] = '\0';
    snprintf(out + at, at < len ? len - at : 0, "_%s", what);
}

/* A name of [A-Za-z0-9_.-]{1,64}, none of the legacy channels' ("email", "webhook-N"). */
static const char *channel_name_problem(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > CW_CHANNEL_NAME_MAX) return "must be 1 to 64 characters";
    if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
        return "may hold only letters, digits, '_', '.' and '-'";
    if (strcmp(v, "email") == 0) return "is the name of the channel made of the `email` group";
    if (strncmp(v, "webhook-", 8) == 0 && v[8] && strspn(v + 8, "0123456789") == strlen(v + 8))
        return "is the name of a channel made of alerts.webhooks";
    return NULL;
}

/* kinds: a list of alert kind names (any case) into a bit set (bit k for kind k). */
static void channel_kinds(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_channel *ch)
{
    const char *names[CW_ALERT_KIND_MAX + 1] = { NULL }; /* location_silent, location_back: issue 16 */
    for (unsigned k = 1; k <= CW_ALERT_KIND_MAX; k++) names[k] = proto_alert_kind_name(k);
    char name[256];
    uint32_t kinds = 0;
    int n = cfgp_name_bits(p, w, s, names, CW_ALERT_KIND_MAX + 1, 0, "an alert kind", &kinds);
    if (n == 0)
        cfgp_problem(p, s, "%s: empty: the channel would get no alert (leave it out of every notify instead)",
                     cfgp_name(w, s, name, sizeof name));
    else if (n > 0) ch->kinds = kinds;
}

/* url: an http(s) URL; one with a password in it, or any of a chat service (slack, discord, teams, mattermost: the
 * URL is the secret), is refused when others may read the file (url_file is the way). */
static void channel_url(struct cfg_parser *p, struct chan_parse *c, const config_setting_t *s, const char *v,
                        struct cw_channel *ch)
{
    char name[256], masked[CW_URL_MAX + 1];
    cfgp_name(c->w, s, name, sizeof name);
    const char *why = cw_check_http_url(v);
    if (why) {
        cw_mask_url(v, masked, sizeof masked);
        cfgp_problem(p, s, "%s: '%s' %s", name, masked, why);
        return;
    }
    if ((CH_CHAT & (1u << ch->type)) || cw_url_has_password(v)) cfgp_check_private(p, s, name);
    ch->url = cw_arena_strdup(p->arena, v);
}

/* headers: "Name: value" lines; their values may be secrets, so a file others may read refuses them. */
static void channel_headers(struct cfg_parser *p, struct chan_parse *c, const config_setting_t *s,
                            struct cw_channel *ch)
{
    char name[256], **v = NULL;
    size_t n = 0;
    if (!cfgp_string_list(p, c->w, s, &v, &n)) return;
    cfgp_name(c->w, s, name, sizeof name);
    for (size_t i = 0; i < n; i++) {
        const char *why = cw_check_header(v[i]);
        if (why) {
            cfgp_problem(p, s, "%s[%zu]: %s", name, i, why);
            return;
        }
    }
    if (n) cfgp_check_private(p, s, name);
    ch->headers = v;
    ch->n_headers = n;
}

/* A body template: its {{placeholders}} must be known (config_template_check). */
static void channel_template(struct cfg_parser *p, struct chan_parse *c, const config_setting_t *s, const char *tpl,
                             struct cw_channel *ch)
{
    char name[256], err[256];
    if (config_template_check(tpl, err, sizeof err) != 0) {
        cfgp_problem(p, s, "%s: %s", cfgp_name(c->w, s, name, sizeof name), err);
        return;
    }
    ch->body_template = cw_arena_strdup(p->arena, tpl);
}

/* One key of a channel (a table-like parser: one case per key). */
static void channel_key(struct cfg_parser *p, struct chan_parse *c, const config_setting_t *s, struct cw_channel *ch)
{
    static const char *const severities[] = { "info", "warning", "error", "critical" };
    int key = chan_key(s->name), sev;
    const char *v;
    size_t len;
    if (key < 0) {
        cfgp_unknown(p, c->w, s);
        return;
    }
    if (!(chan_keys[key].types & (1u << ch->type))) {
        cfgp_problem(p, s, "%s: '%s' is not a key of %s %s channel", c->label, s->name,
                     ch->type == CW_CHAN_EMAIL || ch->type == CW_CHAN_OPSGENIE ? "an" : "a",
                     config_channel_type_name(ch->type));
        return;
    }
    switch (key) {
    case CK_NAME:
    case CK_TYPE:
        break; /* read first */
    case CK_KINDS:
        channel_kinds(p, c->w, s, ch);
        break;
    case CK_MIN_SEVERITY:
        if ((sev = cfgp_one_of(p, c->w, s, severities, 4, "info, warning, error, critical")) >= 0)
            ch->min_severity = (enum cw_severity)sev;
        break;
    case CK_VERIFY_TLS:
        cfgp_bool(p, c->w, s, &ch->verify_tls);
        break;
    case CK_EMAIL:
        cfgp_email_key(p, c->w, s, ch, &c->email);
        break;
    case CK_URL:
        if ((v = cfgp_string(p, c->w, s, true))) channel_url(p, c, s, v, ch);
        break;
    case CK_URL_FILE:
        if (cfgp_string(p, c->w, s, true)) c->url_file = s;
        break;
    case CK_HEADERS:
        channel_headers(p, c, s, ch);
        break;
    case CK_BODY_TEMPLATE:
        if ((v = cfgp_string(p, c->w, s, true))) channel_template(p, c, s, v, ch);
        break;
    case CK_BODY_TEMPLATE_FILE:
        c->body_template_file = s;
        if ((v = cfgp_file_contents(p, c->w, s, MAX_TEMPLATE, &len))) channel_template(p, c, s, v, ch);
        break;
    case CK_TOKEN:
    case CK_ROUTING_KEY:
    case CK_API_KEY:
        if (cfgp_string(p, c->w, s, true)) c->token = s;
        break;
    case CK_TOKEN_FILE:
    case CK_ROUTING_KEY_FILE:
    case CK_API_KEY_FILE:
        if (cfgp_string(p, c->w, s, true)) c->token_file = s;
        break;
    case CK_CHAT_ID:
        if (!(v = cfgp_string(p, c->w, s, true))) break;
        if (strlen(v) > MAX_CHAT_ID ||
            strspn(v, "-_@0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(v))
            cfgp_problem(p, s, "%s.chat_id: expected a chat id (-1001234567890) or @channelname", c->label);
        else ch->chat_id = cw_arena_strdup(p->arena, v);
        break;
    }
}

/* The token (bot token, routing key, API key, application token): inline (refused in a file others may read), from
 * its *_file, or from CLOCKWERK_CHANNEL_<NAME>_TOKEN. */
static void channel_token(struct cfg_parser *p, struct chan_parse *c, struct cw_channel *ch)
{
    char key[128], env[128];
    if (c->token && c->token_file) {
        cfgp_problem(p, c->token_file, "%s: both %s and %s are set; keep one", c->label, c->token->name,
                     c->token_file->name);
        return;
    }
    if (p->bus_only) return; /* the tap reads no secret */
    if (c->token) {
        snprintf(key, sizeof key, "%s.%s", c->label, c->token->name);
        cfgp_check_private(p, c->token, key);
        ch->token = cw_arena_strdup(p->arena, config_setting_get_string(c->token));
    } else if (c->token_file) {
        snprintf(key, sizeof key, "%s.%s", c->label, c->token_file->name);
        ch->token = cfgp_secret_file(p, c->token_file, key, cfgp_path(p, config_setting_get_string(c->token_file)));
    } else if (ch->name) {
        cfgp_channel_env_name(ch->name, "TOKEN", env, sizeof env);
        const char *e = getenv(env);
        if (e && e[0]) ch->token = cw_arena_strdup(p->arena, e);
    }
}

/* url_file: the hook URL (a secret) read from a file. */
static void channel_url_file(struct cfg_parser *p, struct chan_parse *c, struct cw_channel *ch)
{
    char key[128];
    const config_setting_t *s = c->url_file;
    if (ch->url) {
        cfgp_problem(p, s, "%s: both url and url_file are set; keep one", c->label);
        return;
    }
    if (p->bus_only) return;
    snprintf(key, sizeof key, "%s.url_file", c->label);
    char *url = cfgp_secret_file(p, s, key, cfgp_path(p, config_setting_get_string(s)));
    if (!url) return;
    if (cw_check_http_url(url)) cfgp_problem(p, s, "%s: the file does not hold an http:// or https:// URL", key);
    else ch->url = url;
}

/* The keys a type requires, and the token's and the URL's sources. */
static void channel_finish(struct cfg_parser *p, struct chan_parse *c, struct cw_channel *ch)
{
    char env[128];
    if (ch->type == CW_CHAN_EMAIL) {
        cfgp_channel_env_name(ch->name ? ch->name : "", "PASSWORD", env, sizeof env);
        cfgp_email_finish(p, c->g, c->label, ch, &c->email, env);
        return;
    }
    if (c->url_file) channel_url_file(p, c, ch);
    channel_token(p, c, ch);
    if (c->body_template_file && config_setting_get_member(c->g, "body_template"))
        cfgp_problem(p, c->body_template_file, "%s: both body_template and body_template_file are set; keep one",
                     c->label);
    bool url_required = ch->type == CW_CHAN_WEBHOOK || ch->type == CW_CHAN_NTFY || ch->type == CW_CHAN_GOTIFY ||
                        (CH_CHAT & (1u << ch->type));
    if (url_required && !config_setting_get_member(c->g, "url") && !c->url_file)
        cfgp_problem(p, c->g, "%s: url is required for a %s channel%s", c->label, config_channel_type_name(ch->type),
                     (CH_CHAT & (1u << ch->type)) ? " (or url_file)" : "");
    if (ch->type == CW_CHAN_TELEGRAM && !config_setting_get_member(c->g, "chat_id"))
        cfgp_problem(p, c->g, "%s: chat_id is required for a telegram channel", c->label);
    bool token_required = ch->type == CW_CHAN_TELEGRAM || ch->type == CW_CHAN_PAGERDUTY ||
                          ch->type == CW_CHAN_OPSGENIE || ch->type == CW_CHAN_GOTIFY;
    if (token_required && !ch->token && !c->token && !c->token_file && !p->bus_only) {
        const char *what = ch->type == CW_CHAN_PAGERDUTY  ? "routing_key"
                           : ch->type == CW_CHAN_OPSGENIE ? "api_key"
                                                          : "token";
        cfgp_channel_env_name(ch->name ? ch->name : "", "TOKEN", env, sizeof env);
        cfgp_problem(p, c->g, "%s: %s is required for %s %s channel (%s, %s_file or the environment's %s)", c->label,
                     what, ch->type == CW_CHAN_OPSGENIE ? "an" : "a", config_channel_type_name(ch->type), what, what,
                     env);
    }
}

#define TYPE_NAMES "email, webhook, slack, discord, teams, mattermost, ntfy, telegram, pagerduty, opsgenie, gotify"

/* The channel's name (unique, not a legacy one's) into ch->name: false after reporting. */
static bool channel_name(struct cfg_parser *p, struct chan_parse *c, const struct cw_channel *named, size_t n_named,
                         struct cw_channel *ch)
{
    const config_setting_t *name = config_setting_get_member(c->g, "name");
    const char *v, *why;
    if (!name) {
        cfgp_problem(p, c->g, "%s: name is required", c->label);
        return false;
    }
    if (!(v = cfgp_string(p, c->w, name, true))) return false;
    if ((why = channel_name_problem(v))) {
        cfgp_problem(p, name, "%s.name: '%.80s' %s", c->label, v, why);
        return false;
    }
    for (size_t i = 0; i < n_named; i++)
        if (strcmp(named[i].name, v) == 0) {
            cfgp_problem(p, name, "%s.name: another channel is named '%s'", c->label, v);
            return false;
        }
    ch->name = cw_arena_strdup(p->arena, v);
    return true;
}

/* The channel's type into ch->type: false after reporting. */
static bool channel_type(struct cfg_parser *p, struct chan_parse *c, struct cw_channel *ch)
{
    static const char *const types[] = { "email", "webhook",  "slack",     "discord",  "teams", "mattermost",
                                         "ntfy",  "telegram", "pagerduty", "opsgenie", "gotify" };
    const config_setting_t *type = config_setting_get_member(c->g, "type");
    if (!type) {
        cfgp_problem(p, c->g, "%s: type is required (%s)", c->label, TYPE_NAMES);
        return false;
    }
    int t = cfgp_one_of(p, c->w, type, types, CW_CHAN_TYPE_MAX + 1, TYPE_NAMES);
    if (t < 0) return false;
    ch->type = (enum cw_channel_type)t;
    return true;
}

/* alerts.channels[i] into *ch; false when it cannot be kept. */
static bool channel(struct cfg_parser *p, const config_setting_t *g, long i, struct cw_channel *named, size_t n_named,
                    struct cw_channel *ch)
{
    struct chan_parse c = { .w = { "alerts.channels", i }, .g = g };
    snprintf(c.label, sizeof c.label, "alerts.channels[%ld]", i);
    memset(ch, 0, sizeof *ch);
    ch->kinds = CW_KINDS_ALL;
    ch->min_severity = CW_SEV_INFO;
    ch->verify_tls = true;
    ch->smtp_tls = CW_SMTP_STARTTLS;
    if (g->type != CONFIG_TYPE_GROUP) {
        cfgp_problem(p, g, "%s: expected a group { name = \"...\"; type = \"...\"; ... }", c.label);
        return false;
    }
    bool named_ok = channel_name(p, &c, named, n_named, ch);
    if (!channel_type(p, &c, ch)) return false;
    int n = config_setting_length(g); /* its keys are checked even when its name is not kept: every problem told */
    for (int k = 0; k < n; k++) channel_key(p, &c, config_setting_get_elem(g, (unsigned)k), ch);
    channel_finish(p, &c, ch);
    return named_ok;
}

/* A legacy channel (today's settings, delivered as today) appended to cfg->channels. */
static struct cw_channel *legacy_channel(struct cw_config *cfg, struct cw_arena *arena, const char *name,
                                         enum cw_channel_type type)
{
    struct cw_channel *ch = &cfg->channels[cfg->n_channels++];
    memset(ch, 0, sizeof *ch);
    ch->name = cw_arena_strdup(arena, name);
    ch->type = type;
    ch->legacy = true;
    ch->kinds = CW_KINDS_ALL;
    ch->min_severity = CW_SEV_INFO;
    ch->verify_tls = true;
    return ch;
}

/* The `email` group as the channel "email", alerts.webhooks[i] as "webhook-<i+1>", after the named ones. */
static void legacy_channels(struct cw_config *cfg, struct cw_arena *arena)
{
    if (cfg->email_enabled) {
        struct cw_channel *ch = legacy_channel(cfg, arena, "email", CW_CHAN_EMAIL);
        ch->smtp_host = cfg->smtp_host;
        ch->smtp_port = cfg->smtp_port;
        ch->smtp_tls = cfg->smtp_tls;
        ch->smtp_user = cfg->smtp_user;
        ch->smtp_password = cfg->smtp_password;
        ch->smtp_ca_file = cfg->smtp_ca_file;
        ch->email_from = cfg->email_from;
        ch->email_to = cfg->email_to;
        ch->n_email_to = cfg->n_email_to;
    }
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        char name[32];
        snprintf(name, sizeof name, "webhook-%zu", i + 1);
        legacy_channel(cfg, arena, name, CW_CHAN_WEBHOOK)->url = cfg->webhooks[i].url;
    }
}

void cfgp_channels(struct cfg_parser *p, const config_setting_t *list)
{
    struct cw_config *cfg = p->cfg;
    int n = 0;
    if (list && list->type != CONFIG_TYPE_LIST)
        cfgp_problem(p, list,
                     "alerts.channels: expected a list of groups ( { name = \"...\"; type = \"...\"; }, ... )");
    else if (list) n = config_setting_length(list);
    if (n > CW_CHANNELS_MAX) {
        cfgp_problem(p, list, "alerts.channels: at most %d channels (got %d)", CW_CHANNELS_MAX, n);
        n = 0;
    }
    size_t cap = (size_t)n + 1 + cfg->n_webhooks;
    cfg->channels = cw_arena_alloc(p->arena, cap * sizeof *cfg->channels);
    cfg->n_channels = 0;
    for (int i = 0; i < n; i++)
        if (channel(p, config_setting_get_elem(list, (unsigned)i), i, cfg->channels, cfg->n_channels,
                    &cfg->channels[cfg->n_channels]))
            cfg->n_channels++;
    legacy_channels(cfg, p->arena);
}
