/* common/config/config_web.c — the `web` section of the config file and the endpoint IDs (see config_web.h and
 * docs/config.md, docs/web.md). */
#include "common/config/config_web.h"
#include "common/config/config_secrets.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static const char *parse_port(const char *p, in_port_t *port)
{
    if (!p[0] || strlen(p) > 5 || strspn(p, "0123456789") != strlen(p)) return "has no port number after ':'";
    long v = strtol(p, NULL, 10);
    if (v < 1 || v > 65535) return "has a port outside 1..65535";
    *port = htons((in_port_t)v);
    return NULL;
}

const char *cw_web_listen_parse(const char *v, struct sockaddr_storage *sa, socklen_t *salen, bool *loopback)
{
    memset(sa, 0, sizeof *sa);
    char host[64];
    const char *port;
    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':' || (size_t)(close - v - 1) >= sizeof host) return "is not [IPv6]:port";
        memcpy(host, v + 1, (size_t)(close - v - 1));
        host[close - v - 1] = '\0';
        port = close + 2;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        s6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) return "does not hold an IPv6 address in [ ]";
        *salen = sizeof *s6;
        *loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
        return parse_port(port, &s6->sin6_port);
    }
    const char *colon = strrchr(v, ':');
    if (!colon || (size_t)(colon - v) >= sizeof host) return "is not host:port (an IPv6 address goes in [ ])";
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    port = colon + 1;
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    if (strcmp(host, "localhost") == 0) s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (strcmp(host, "*") == 0) s4->sin_addr.s_addr = htonl(INADDR_ANY);
    else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return "does not start with an IPv4 address, localhost or * (an IPv6 address goes in [ ])";
    *salen = sizeof *s4;
    *loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    return parse_port(port, &s4->sin_port);
}

/* Appends the slug characters of text[0..n) to out (used bytes *len, at most max), '-' for each run of others. */
static void slug_append(const char *text, size_t n, char *out, size_t *len, size_t max)
{
    for (size_t i = 0; i < n && *len < max; i++) {
        unsigned char c = (unsigned char)text[i];
        if (isalnum(c) && c < 0x80) out[(*len)++] = (char)tolower(c);
        else if (*len > 0 && out[*len - 1] != '-') out[(*len)++] = '-';
    }
}

static size_t slug_of(const char *text, size_t n, char *out, size_t outlen)
{
    size_t max = outlen - 1 < CW_SLUG_MAX ? outlen - 1 : CW_SLUG_MAX, len = 0;
    slug_append(text, n, out, &len, max);
    while (len > 0 && out[len - 1] == '-') len--;
    out[len] = '\0';
    return len;
}

size_t cw_endpoint_slug(const char *name, const char *url, char *out, size_t outlen)
{
    if (outlen == 0) return 0;
    size_t len = name ? slug_of(name, strlen(name), out, outlen) : 0;
    if (len > 0 || !url) return len;
    const char *from = strstr(url, "://");
    from = from ? from + 3 : url;
    size_t authority = strcspn(from, "/?#");
    const char *at = memrchr(from, '@', authority);         /* the last one ends the userinfo */
    if (at) from = at + 1;                                  /* no user name or password in an ID */
    return slug_of(from, strcspn(from, "?#"), out, outlen); /* nor the query: it may carry a token */
}

enum {
    WEB_LISTEN,
    WEB_TITLE,
    WEB_TLS_CERT_FILE,
    WEB_TLS_KEY_FILE,
    WEB_ALLOW_PLAIN_HTTP,
    WEB_AUTH_USER,
    WEB_AUTH_PASSWORD_FILE,
    WEB_MAX_CONNECTIONS,
    WEB_MAX_CONNECTIONS_PER_IP,
    WEB_CONNECTION_TIMEOUT,
    WEB_HISTORY_REFRESH,
    WEB_METRICS_PER_ENDPOINT
};
static const char *const web_keys[] = { "listen",
                                        "title",
                                        "tls_cert_file",
                                        "tls_key_file",
                                        "allow_plain_http",
                                        "auth_user",
                                        "auth_password_file",
                                        "max_connections",
                                        "max_connections_per_ip",
                                        "connection_timeout",
                                        "history_refresh",
                                        "metrics_per_endpoint",
                                        NULL };

/* Where some keys were, for the checks across keys. */
struct web_keys_at {
    const config_setting_t *listen, *cert, *key, *user, *password_file;
};

bool cw_web_metrics_per_endpoint(int mode, size_t n_endpoints)
{
    return mode == CW_WEB_METRICS_ON || (mode == CW_WEB_METRICS_AUTO && n_endpoints <= CW_WEB_METRICS_AUTO_MAX);
}

const char *cw_web_metrics_mode_name(int mode)
{
    return mode == CW_WEB_METRICS_ON ? "on" : mode == CW_WEB_METRICS_OFF ? "off" : "auto";
}

/* web.metrics_per_endpoint: "auto", "on", "off" (any case), or a boolean (true: on, false: off). */
static void metrics_mode(struct cfg_parser *p, const config_setting_t *s)
{
    int type = config_setting_type(s);
    if (type == CONFIG_TYPE_BOOL) {
        p->cfg->web_metrics_per_endpoint = config_setting_get_bool(s) ? CW_WEB_METRICS_ON : CW_WEB_METRICS_OFF;
        return;
    }
    const char *v = type == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    static const int modes[] = { CW_WEB_METRICS_AUTO, CW_WEB_METRICS_ON, CW_WEB_METRICS_OFF };
    for (size_t k = 0; v && k < 3; k++)
        if (strcasecmp(v, cw_web_metrics_mode_name(modes[k])) == 0) {
            p->cfg->web_metrics_per_endpoint = modes[k];
            return;
        }
    cfgp_problem(p, s, "web.metrics_per_endpoint: \"auto\", \"on\" or \"off\" (or true, false)");
}

static void web_key(struct cfg_parser *p, const config_setting_t *s, struct web_keys_at *at)
{
    struct cw_config *cfg = p->cfg;
    struct cfg_where w = { "web", -1 };
    const char *v;
    switch (cfgp_key(web_keys, s->name)) {
    case WEB_LISTEN:
        if ((v = cfgp_string(p, w, s, true))) {
            struct sockaddr_storage sa;
            socklen_t len;
            bool loopback;
            const char *why = cw_web_listen_parse(v, &sa, &len, &loopback);
            if (why) cfgp_problem(p, s, "web.listen: '%.100s' %s", v, why);
            else cfg->web_listen = cw_arena_strdup(p->arena, v);
            at->listen = s;
        }
        break;
    case WEB_TITLE:
        if (!(v = cfgp_string(p, w, s, true))) break;
        if (strlen(v) > CW_WEB_TITLE_MAX) cfgp_problem(p, s, "web.title: longer than %d bytes", CW_WEB_TITLE_MAX);
        else cfg->web_title = cw_arena_strdup(p->arena, v);
        break;
    case WEB_TLS_CERT_FILE:
        at->cert = s;
        cfg->web_tls_cert_file = cfgp_readable_file(p, w, s);
        break;
    case WEB_TLS_KEY_FILE:
        at->key = s;
        cfg->web_tls_key_file = cfgp_readable_file(p, w, s);
        break;
    case WEB_ALLOW_PLAIN_HTTP:
        cfgp_bool(p, w, s, &cfg->web_allow_plain_http);
        break;
    case WEB_AUTH_USER:
        if (!(v = cfgp_string(p, w, s, true))) break;
        /* the web names this user as the author of silences (alerter/ctlreq.c takes at most 64 bytes, no
         * parentheses), so a name the alerter would refuse is refused here, not at the first silence */
        if (strchr(v, ':') || strcspn(v, "\r\n\t ()") != strlen(v) || strlen(v) > 64)
            cfgp_problem(p, s, "web.auth_user: a user name of at most 64 bytes without ':', '(', ')' or white space");
        else cfg->web_auth_user = cw_arena_strdup(p->arena, v);
        at->user = s;
        break;
    case WEB_AUTH_PASSWORD_FILE:
        if (cfgp_string(p, w, s, true)) at->password_file = s;
        break;
    case WEB_MAX_CONNECTIONS:
        cfgp_int(p, w, s, 1, 100000, &cfg->web_max_connections);
        break;
    case WEB_MAX_CONNECTIONS_PER_IP:
        cfgp_int(p, w, s, 0, 100000, &cfg->web_max_connections_per_ip);
        break;
    case WEB_CONNECTION_TIMEOUT:
        cfgp_seconds_from(p, w, s, 1, 3600, &cfg->web_connection_timeout);
        break;
    case WEB_HISTORY_REFRESH:
        cfgp_seconds_from(p, w, s, CW_WEB_MIN_HISTORY_REFRESH, 3600, &cfg->web_history_refresh);
        break;
    case WEB_METRICS_PER_ENDPOINT:
        metrics_mode(p, s);
        break;
    default:
        cfgp_unknown(p, w, s);
    }
}

/* The rules across keys: TLS files both or neither, auth both or neither, no plain HTTP off loopback unless
 * allowed. */
static void web_rules(struct cfg_parser *p, const config_setting_t *g, const struct web_keys_at *at)
{
    struct cw_config *cfg = p->cfg;
    if ((at->cert == NULL) != (at->key == NULL))
        cfgp_problem(p, at->cert ? at->cert : at->key, "web: tls_cert_file and tls_key_file go together; set both");
    if ((at->user == NULL) != (at->password_file == NULL))
        cfgp_problem(p, at->user ? at->user : at->password_file,
                     "web: auth_user and auth_password_file go together; set both or neither");
    struct sockaddr_storage sa;
    socklen_t len;
    bool loopback = true;
    if (cw_web_listen_parse(cfg->web_listen, &sa, &len, &loopback) == NULL && !loopback && !at->cert &&
        !cfg->web_allow_plain_http)
        cfgp_problem(p, at->listen ? at->listen : g,
                     "web.listen: '%s' is not a loopback address and no tls_cert_file/tls_key_file is set; set "
                     "them, or allow_plain_http = true to serve plain HTTP beyond this machine",
                     cfg->web_listen);
    if (at->user && at->password_file)
        cfgp_password(p, "web", NULL, at->password_file, "CLOCKWERK_WEB_PASSWORD", &cfg->web_auth_password);
}

void cfgp_web_after(struct cfg_parser *p, const config_setting_t *g)
{
    const struct cw_config *cfg = p->cfg;
    if (!g || !cfg->web_enabled || cfg->web_metrics_per_endpoint != CW_WEB_METRICS_AUTO ||
        cfg->n_endpoints <= CW_WEB_METRICS_AUTO_MAX)
        return;
    cfgp_warning(p, g,
                 "web: %zu endpoints (more than %d): /metrics leaves the per-endpoint series out and exports the "
                 "aggregates by group only (web.metrics_per_endpoint = \"auto\"); set it to \"on\" to have them, "
                 "or \"off\" to say so and drop this warning",
                 cfg->n_endpoints, CW_WEB_METRICS_AUTO_MAX);
}

void cfgp_web(struct cfg_parser *p, const config_setting_t *g)
{
    struct cw_config *cfg = p->cfg;
    if (!g) return;
    cfg->web_enabled = true;
    cfg->web_listen = cw_arena_strdup(p->arena, CW_WEB_DEFAULT_LISTEN);
    cfg->web_title = cw_arena_strdup(p->arena, CW_WEB_DEFAULT_TITLE);
    struct web_keys_at at = { 0 };
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) web_key(p, config_setting_get_elem(g, (unsigned)i), &at);
    web_rules(p, g, &at);
}
