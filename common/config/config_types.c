/* common/config/config_types.c — the check types beyond HTTP (docs/config.md "Check types"): which key belongs to
 * which type, the keys of tcp, tls, dns, icmp and push checks with their defaults and bounds, and the identity key
 * synthesized into `url` for them (tcp://host:port, tls://host:port?starttls=smtp, dns://SERVER/NAME?type=MX,
 * dns:NAME?type=A, icmp://host, push://NAME).
 *
 * DESIGN
 * Everything downstream (the shard hash, the bus, the database, the alerts, the web) knows an endpoint by its url,
 * so a check without a URL gets one made of what identifies it — never of a secret (a push key names the check,
 * not its token). Duplicates among those keys are refused by the list's parser like duplicate URLs. */
#include "common/config/config_ep.h"
#include "common/config/config_check.h"
#include "common/config/config_secrets.h"
#include "common/config/config_types.h"
#include "common/wire/protocol.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define T(x) (1u << CW_CHECK_##x)
#define T_ALL (T(HTTP) | T(TCP) | T(TLS) | T(DNS) | T(ICMP) | T(PUSH))
#define T_PROBED (T_ALL & ~T(PUSH))

#define MAX_HOST 253
#define MAX_SEND 65536
#define MAX_EXPECT 65536 /* the reply is searched in its first 64 KiB */
#define MAX_CERT_DAYS 3650
#define MAX_ICMP_COUNT 100
#define MIN_PACKET_INTERVAL 0.01
#define MAX_PACKET_INTERVAL 60.0
#define MIN_TOKEN 16
#define MAX_TOKEN 256
#define MAX_GRACE 86400.0

static const struct {
    const char *name;
    unsigned types;
} ep_keys[EPK_N] = {
    [EPK_TYPE] = { "type", T_ALL },
    [EPK_NAME] = { "name", T_ALL },
    [EPK_TIMEOUT] = { "timeout", T_PROBED },
    [EPK_ALERT_THRESHOLD] = { "alert_threshold", T_ALL },
    [EPK_RECOVERY_THRESHOLD] = { "recovery_threshold", T_ALL },
    [EPK_CHECK_INTERVAL] = { "check_interval", T_ALL },
    [EPK_LATENCY_THRESHOLD] = { "latency_threshold", T_PROBED },
    [EPK_GROUP] = { "group", T_ALL },
    [EPK_NOTIFY] = { "notify", T_ALL },
    [EPK_SEVERITY] = { "severity", T_ALL },
    [EPK_DEPENDS_ON] = { "depends_on", T_ALL },
    [EPK_ESCALATE] = { "escalate", T_ALL },
    [EPK_FLAP_WINDOW] = { "flap_window", T_ALL },
    [EPK_FLAP_HIGH] = { "flap_high", T_ALL },
    [EPK_FLAP_LOW] = { "flap_low", T_ALL },
    [EPK_LOCATIONS] = { "locations", T_ALL },
    [EPK_QUORUM] = { "quorum", T_ALL },
    [EPK_URL] = { "url", T(HTTP) },
    [EPK_METHOD] = { "method", T(HTTP) },
    [EPK_BODY] = { "body", T(HTTP) },
    [EPK_BODY_FILE] = { "body_file", T(HTTP) },
    [EPK_EXPECT_STATUS] = { "expect_status", T(HTTP) },
    [EPK_FOLLOW_REDIRECTS] = { "follow_redirects", T(HTTP) },
    [EPK_KEYWORD] = { "keyword", T(HTTP) },
    [EPK_KEYWORDS] = { "keywords", T(HTTP) },
    [EPK_KEYWORDS_ABSENT] = { "keywords_absent", T(HTTP) },
    [EPK_BODY_REGEX] = { "body_regex", T(HTTP) },
    [EPK_BODY_REGEX_ABSENT] = { "body_regex_absent", T(HTTP) },
    [EPK_JSON] = { "json", T(HTTP) },
    [EPK_HEADER_CONDITIONS] = { "header_conditions", T(HTTP) },
    [EPK_HEADERS] = { "headers", T(HTTP) },
    [EPK_MAX_RESPONSE_TIME] = { "max_response_time", T(HTTP) },
    [EPK_HTTP_VERSION] = { "http_version", T(HTTP) },
    [EPK_FAIL_IF_NOT_TLS] = { "fail_if_not_tls", T(HTTP) },
    [EPK_COMPRESSED] = { "compressed", T(HTTP) },
    [EPK_BODY_LIMIT] = { "body_limit", T(HTTP) },
    [EPK_CLIENT_CERT] = { "client_cert", T(HTTP) },
    [EPK_CLIENT_KEY] = { "client_key", T(HTTP) },
    [EPK_CLIENT_KEY_PASSWORD_FILE] = { "client_key_password_file", T(HTTP) },
    [EPK_PROXY] = { "proxy", T(HTTP) },
    [EPK_ADDRESS] = { "address", T(HTTP) },
    [EPK_COOKIES] = { "cookies", T(HTTP) },
    [EPK_VERIFY_TLS] = { "verify_tls", T(HTTP) | T(TLS) },
    [EPK_CA_FILE] = { "ca_file", T(HTTP) | T(TLS) },
    [EPK_MIN_CERT_DAYS] = { "min_cert_days", T(HTTP) | T(TLS) },
    [EPK_HOST] = { "host", T(TCP) | T(TLS) | T(DNS) | T(ICMP) },
    [EPK_PORT] = { "port", T(TCP) | T(TLS) },
    [EPK_SEND] = { "send", T(TCP) },
    [EPK_EXPECT] = { "expect", T(TCP) },
    [EPK_SERVER_NAME] = { "server_name", T(TLS) },
    [EPK_STARTTLS] = { "starttls", T(TLS) },
    [EPK_RECORD_TYPE] = { "record_type", T(DNS) },
    [EPK_DNS_SERVER] = { "dns_server", T(DNS) },
    [EPK_EXPECT_RCODE] = { "expect_rcode", T(DNS) },
    [EPK_EXPECT_ANSWERS] = { "expect_answers", T(DNS) },
    [EPK_COUNT] = { "count", T(ICMP) },
    [EPK_PACKET_INTERVAL] = { "packet_interval", T(ICMP) },
    [EPK_MAX_LOSS] = { "max_loss", T(ICMP) },
    [EPK_TOKEN] = { "token", T(PUSH) },
    [EPK_TOKEN_FILE] = { "token_file", T(PUSH) },
    [EPK_GRACE] = { "grace", T(PUSH) },
};

int cfgp_ep_key(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < EPK_N; i++) /* the first byte first: a call of strcmp per key was 2.5% of a 500k load */
        if (ep_keys[i].name[0] == name[0] && strcmp(ep_keys[i].name, name) == 0) return i;
    return -1;
}

bool cfgp_ep_key_of(int key, enum cw_check_type t)
{
    return key >= 0 && key < EPK_N && (unsigned)t <= CW_CHECK_TYPE_MAX && (ep_keys[key].types & (1u << t));
}

/* ---- value tables ---- */

static const struct {
    const char *name;
    uint16_t number;
} record_types[] = { { "A", 1 },  { "AAAA", 28 }, { "CNAME", 5 }, { "MX", 15 },  { "TXT", 16 },
                     { "NS", 2 }, { "SOA", 6 },   { "SRV", 33 },  { "CAA", 257 } };
static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
static const char *const starttls_names[] = { NULL, "smtp", "imap", "postgres" };

const char *cw_dns_type_name(uint16_t number)
{
    for (size_t i = 0; i < sizeof record_types / sizeof record_types[0]; i++)
        if (record_types[i].number == number) return record_types[i].name;
    return NULL;
}

/* ---- pure checks of values ---- */

int cw_decode_escapes(const char *in, char *out, size_t *out_len)
{
    size_t n = 0;
    for (const char *c = in; *c; c++) {
        if (*c != '\\') {
            out[n++] = *c;
            continue;
        }
        c++;
        switch (*c) {
        case 'r':
            out[n++] = '\r';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case '\\':
            out[n++] = '\\';
            break;
        case 'x': {
            if (!isxdigit((unsigned char)c[1]) || !isxdigit((unsigned char)c[2])) return (int)(c - in);
            char hex[3] = { c[1], c[2], '\0' };
            out[n++] = (char)strtoul(hex, NULL, 16);
            c += 2;
            break;
        }
        default:
            return (int)(c - in); /* also a backslash at the end */
        }
    }
    out[n] = '\0';
    *out_len = n;
    return -1;
}

bool cw_parse_dns_server(const char *v, char *ip, size_t iplen, int *port, bool *v6)
{
    unsigned char buf[16];
    const char *host = v, *host_end, *port_at = NULL;
    if (v[0] == '[') {
        host = v + 1;
        host_end = strchr(host, ']');
        if (!host_end) return false;
        if (host_end[1] == ':') port_at = host_end + 2;
        else if (host_end[1]) return false;
    } else {
        const char *colon = strchr(v, ':');
        host_end = v + strlen(v);
        if (colon && !strchr(colon + 1, ':')) { /* one colon: IPv4:PORT */
            host_end = colon;
            port_at = colon + 1;
        }
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= iplen) return false;
    memcpy(ip, host, hl);
    ip[hl] = '\0';
    *v6 = strchr(ip, ':') != NULL;
    if (inet_pton(*v6 ? AF_INET6 : AF_INET, ip, buf) != 1) return false;
    if (v[0] == '[' && !*v6) return false;
    *port = 53;
    if (port_at) {
        char *end;
        long n = strtol(port_at, &end, 10);
        if (!*port_at || *end || n < 1 || n > 65535 || port_at[0] == '+' || port_at[0] == '-') return false;
        *port = (int)n;
    }
    return true;
}

bool cw_push_token_ok(const char *token)
{
    size_t n = strlen(token);
    if (n < MIN_TOKEN || n > MAX_TOKEN) return false;
    for (const char *c = token; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-'))
            return false;
    return true;
}

/* ---- the keys ---- */

/* Why host (host or server_name) is refused, or NULL: brackets hold an IPv6 address, and a ':' outside them is
 * only an IPv6 address's. */
static const char *host_problem(const char *v, size_t n)
{
    unsigned char addr[16];
    char inside[MAX_HOST + 1];
    if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
        bool v6 = false;
        if (n - 2 <= MAX_HOST) {
            memcpy(inside, v + 1, n - 2);
            inside[n - 2] = '\0';
            v6 = inet_pton(AF_INET6, inside, addr) == 1;
        }
        return v6 ? NULL : "has brackets around something that is not an IPv6 address (write [2001:db8::1] or a name)";
    }
    if (n > MAX_HOST || !cw_host_name_ok(v) || strpbrk(v, "[]")) return "is not a host name or an address";
    const char *colon = strchr(v, ':');
    if (!colon || inet_pton(AF_INET6, v, addr) == 1) return NULL;
    if (!strchr(colon + 1, ':'))
        return "is not a host name or an address (a host has no port: write the port in `port`)";
    return "is not a host name or an address (an IPv6 address is written 2001:db8::1 or [2001:db8::1])";
}

/* host: a name or an address; [v6] brackets are taken off. In the arena; NULL after reporting. */
static char *host_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s)
{
    char name[256];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return NULL;
    size_t n = strlen(v);
    const char *why = host_problem(v, n);
    if (why) {
        cfgp_problem(p, s, "%s: '%.200s' %s", cfgp_name(w, s, name, sizeof name), v, why);
        return NULL;
    }
    if (v[0] == '[') return cw_arena_strndup(p->arena, v + 1, n - 2);
    return cw_arena_strdup(p->arena, v);
}

static void send_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_endpoint *ep)
{
    char name[256];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    if (strlen(v) > MAX_SEND) {
        cfgp_problem(p, s, "%s: longer than %d bytes", cfgp_name(w, s, name, sizeof name), MAX_SEND);
        return;
    }
    char *out = cw_arena_alloc(p->arena, strlen(v) + 1);
    size_t len = 0;
    int bad = cw_decode_escapes(v, out, &len);
    if (bad >= 0) {
        cfgp_problem(p, s, "%s: a backslash at byte %d starts no escape (\\r \\n \\t \\\\ \\xHH)",
                     cfgp_name(w, s, name, sizeof name), bad);
        return;
    }
    CFGP_SPEC(ep)->send = out;
    CFGP_SPEC(ep)->send_len = len;
}

/* A name of the table (case-insensitive) into *out; reports the names otherwise. */
static void record_type_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s,
                              struct cw_endpoint *ep)
{
    char name[256];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    for (size_t i = 0; i < sizeof record_types / sizeof record_types[0]; i++)
        if (strcasecmp(v, record_types[i].name) == 0) {
            CFGP_SPEC(ep)->record_type = record_types[i].number;
            return;
        }
    cfgp_problem(p, s, "%s: '%.64s' is not one of A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, CAA",
                 cfgp_name(w, s, name, sizeof name), v);
}

int cfgp_one_of(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, const char *const *names, int n,
                const char *listed)
{
    char name[256];
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return -1;
    for (int i = 0; i < n; i++)
        if (names[i] && strcasecmp(v, names[i]) == 0) return i;
    cfgp_problem(p, s, "%s: '%.64s' is not one of %s", cfgp_name(w, s, name, sizeof name), v, listed);
    return -1;
}

static void dns_server_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s,
                             struct cw_endpoint *ep)
{
    char name[256], ip[INET6_ADDRSTRLEN + 1];
    int port;
    bool v6;
    const char *v = cfgp_string(p, w, s, true);
    if (!v) return;
    if (strlen(v) > 64 || !cw_parse_dns_server(v, ip, sizeof ip, &port, &v6)) {
        cfgp_problem(p, s, "%s: '%.64s' is not \"IP\", \"IP:PORT\" or \"[IPv6]:PORT\"",
                     cfgp_name(w, s, name, sizeof name), v);
        return;
    }
    CFGP_SPEC(ep)->dns_server = cw_arena_strdup(p->arena, v);
}

static void number_value(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, double lo, double hi,
                         double *out)
{
    char name[256];
    double v;
    if (s->type == CONFIG_TYPE_INT || s->type == CONFIG_TYPE_INT64) v = (double)config_setting_get_int64(s);
    else if (s->type == CONFIG_TYPE_FLOAT) v = config_setting_get_float(s);
    else {
        cfgp_problem(p, s, "%s: expected a number, got %s", cfgp_name(w, s, name, sizeof name), cfgp_type_name(s));
        return;
    }
    if (!isfinite(v) || v < lo || v > hi) {
        cfgp_problem(p, s, "%s: must be between %g and %g (got %.15g)", cfgp_name(w, s, name, sizeof name), lo, hi, v);
        return;
    }
    *out = v;
}

static void token_value(struct cfg_parser *p, struct ep_parse *e, const config_setting_t *s, struct cw_endpoint *ep,
                        bool from_file)
{
    char name[256];
    cfgp_name(e->w, s, name, sizeof name);
    const char *v = cfgp_string(p, e->w, s, true);
    if (!v || p->bus_only) return; /* the tap reads no secret */
    if (from_file) {
        char *token = cfgp_secret_file(p, s, name, cfgp_path(p, v));
        if (!token) return;
        v = token;
    } else {
        cfgp_check_private(p, s, name);
    }
    /* never the token itself in a message */
    if (!cw_push_token_ok(v))
        cfgp_problem(p, s, "%s: a token is 16 to 256 characters of A-Z a-z 0-9 _ - (the one given is not)", name);
    else ep->push_token = cw_arena_strdup(p->arena, v);
}

void cfgp_type_key(struct cfg_parser *p, struct ep_parse *e, const config_setting_t *s, int key, struct cw_endpoint *ep)
{
    struct cfg_where w = e->w;
    const char *v;
    int i;
    size_t n = 0;
    switch (key) {
    case EPK_HOST:
        ep->host = host_value(p, w, s);
        break;
    case EPK_PORT:
        if (cfgp_int(p, w, s, 1, 65535, &i)) ep->port = (uint16_t)i;
        break;
    case EPK_SEND:
        send_value(p, w, s, ep);
        break;
    case EPK_EXPECT:
        if ((v = cfgp_string(p, w, s, true)) && strlen(v) <= MAX_EXPECT)
            CFGP_SPEC(ep)->expect = cw_arena_strdup(p->arena, v);
        else if (v) cfgp_problem(p, s, "monitor.endpoints[%ld].expect: longer than %d bytes", e->idx, MAX_EXPECT);
        break;
    case EPK_SERVER_NAME:
        CFGP_SPEC(ep)->server_name = host_value(p, w, s);
        break;
    case EPK_STARTTLS:
        if ((i = cfgp_one_of(p, w, s, starttls_names, 4, "smtp, imap, postgres")) > 0)
            CFGP_SPEC(ep)->starttls = (enum cw_starttls)i;
        break;
    case EPK_MIN_CERT_DAYS:
        cfgp_int(p, w, s, 0, MAX_CERT_DAYS, &CFGP_SPEC(ep)->min_cert_days);
        break;
    case EPK_RECORD_TYPE:
        record_type_value(p, w, s, ep);
        break;
    case EPK_DNS_SERVER:
        dns_server_value(p, w, s, ep);
        break;
    case EPK_EXPECT_RCODE:
        if ((i = cfgp_one_of(p, w, s, rcodes, 6, "NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED")) >= 0)
            CFGP_SPEC(ep)->expect_rcode = i;
        break;
    case EPK_EXPECT_ANSWERS:
        if (cfgp_string_list(p, w, s, &CFGP_SPEC(ep)->expect_answers, &n))
            CFGP_SPEC(ep)->n_expect_answers = (uint32_t)n;
        break;
    case EPK_COUNT:
        cfgp_int(p, w, s, 1, MAX_ICMP_COUNT, &CFGP_SPEC(ep)->icmp_count);
        break;
    case EPK_PACKET_INTERVAL:
        cfgp_seconds_from(p, w, s, MIN_PACKET_INTERVAL, MAX_PACKET_INTERVAL, &CFGP_SPEC(ep)->packet_interval);
        break;
    case EPK_MAX_LOSS:
        number_value(p, w, s, 0, 100, &CFGP_SPEC(ep)->max_loss);
        break;
    case EPK_TOKEN:
    case EPK_TOKEN_FILE:
        token_value(p, e, s, ep, key == EPK_TOKEN_FILE);
        break;
    case EPK_GRACE:
        cfgp_nonneg_seconds(p, w, s, MAX_GRACE, &CFGP_SPEC(ep)->grace);
        break;
    default:
        break;
    }
}

/* ---- after the keys ---- */

/* The host as it goes into a key: an IPv6 address in brackets. */
static void key_host(const char *host, char *out, size_t len)
{
    snprintf(out, len, strchr(host, ':') ? "[%s]" : "%s", host);
}

/* The dns_server as it goes into a key: "IP", "IP:PORT", "[v6]", "[v6]:PORT" (a bare v6 gets its brackets). */
static void key_server(const char *server, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN + 1];
    int port;
    bool v6;
    if (!cw_parse_dns_server(server, ip, sizeof ip, &port, &v6)) {
        snprintf(out, len, "%s", server);
        return;
    }
    const char *colon_port = strrchr(server, ']') ? strrchr(server, ']') + 1 : v6 ? "" : strchr(server, ':');
    snprintf(out, len, v6 ? "[%s]%s" : "%s%s", ip, colon_port ? colon_port : "");
}

char *cw_synthesize_key(struct cw_arena *arena, const struct cw_endpoint *ep)
{
    char host[MAX_HOST + 3], server[80], out[CW_URL_MAX + 1];
    const char *type_name = cw_dns_type_name(CFGP_SPEC(ep)->record_type);
    char type_number[16];
    snprintf(type_number, sizeof type_number, "TYPE%u", (unsigned)CFGP_SPEC(ep)->record_type);
    if (ep->type == CW_CHECK_PUSH) {
        snprintf(out, sizeof out, "push://%s", ep->name ? ep->name : "");
        return cw_arena_strdup(arena, out);
    }
    if (!ep->host) return NULL;
    key_host(ep->host, host, sizeof host);
    switch (ep->type) {
    case CW_CHECK_TCP:
        snprintf(out, sizeof out, "tcp://%s:%d", host, ep->port);
        break;
    case CW_CHECK_TLS: {
        /* two certificates behind one address (SNI) are two checks: the name asked for, when not the host's */
        char sni[MAX_HOST + 16] = "";
        bool own_sni = CFGP_SPEC(ep)->server_name && strcasecmp(CFGP_SPEC(ep)->server_name, ep->host) != 0;
        if (own_sni)
            snprintf(sni, sizeof sni, "%ssni=%s", CFGP_SPEC(ep)->starttls ? "&" : "?", CFGP_SPEC(ep)->server_name);
        if (CFGP_SPEC(ep)->starttls)
            snprintf(out, sizeof out, "tls://%s:%d?starttls=%s%s", host, ep->port,
                     starttls_names[CFGP_SPEC(ep)->starttls], sni);
        else snprintf(out, sizeof out, "tls://%s:%d%s", host, ep->port, sni);
        break;
    }
    case CW_CHECK_DNS:
        if (CFGP_SPEC(ep)->dns_server) key_server(CFGP_SPEC(ep)->dns_server, server, sizeof server);
        if (CFGP_SPEC(ep)->dns_server)
            snprintf(out, sizeof out, "dns://%s/%s?type=%s", server, ep->host, type_name ? type_name : type_number);
        else snprintf(out, sizeof out, "dns:%s?type=%s", ep->host, type_name ? type_name : type_number);
        break;
    case CW_CHECK_ICMP:
        snprintf(out, sizeof out, "icmp://%s", host);
        break;
    default:
        return NULL;
    }
    return cw_arena_strdup(arena, out);
}

/* A required key that is missing: reported at the endpoint. */
static bool require(struct cfg_parser *p, struct ep_parse *e, int key, const char *type_name)
{
    if (e->at[key]) return true;
    cfgp_problem(p, e->g, "monitor.endpoints[%ld]: a %s check needs '%s'", e->idx, type_name, ep_keys[key].name);
    return false;
}

/* Each expect_answers entry in the form of record_type's answers (at the key's line, like the other lists: libconfig
 * gives a list's element the line of the token after it). */
static void answers_finish(struct cfg_parser *p, struct ep_parse *e, const struct cw_endpoint *ep)
{
    char name[256];
    const config_setting_t *s = e->at[EPK_EXPECT_ANSWERS];
    if (!s) return;
    const char *type_name = cw_dns_type_name(CFGP_SPEC(ep)->record_type);
    for (size_t i = 0; i < CFGP_SPEC(ep)->n_expect_answers; i++) {
        const char *form = cw_dns_answer_form_problem(CFGP_SPEC(ep)->record_type, CFGP_SPEC(ep)->expect_answers[i]);
        if (!form) continue;
        cfgp_problem(p, s, "%s[%zu]: '%.200s' is not %s (record_type %s)", cfgp_name(e->w, s, name, sizeof name), i,
                     CFGP_SPEC(ep)->expect_answers[i], form, type_name ? type_name : "?");
    }
}

static void push_finish(struct cfg_parser *p, struct ep_parse *e, struct cw_endpoint *ep)
{
    if (e->at[EPK_TOKEN] && e->at[EPK_TOKEN_FILE])
        cfgp_problem(p, e->at[EPK_TOKEN_FILE], "monitor.endpoints[%ld]: both token and token_file are set; keep one",
                     e->idx);
    else if (!e->at[EPK_TOKEN] && !e->at[EPK_TOKEN_FILE])
        cfgp_problem(p, e->g, "monitor.endpoints[%ld]: a push check needs 'token' or 'token_file'", e->idx);
    if (!p->cfg->web_enabled)
        cfgp_problem(p, e->at[EPK_TYPE],
                     "monitor.endpoints[%ld]: a push check needs the `web` group: the calls "
                     "arrive at its listener (docs/web.md)",
                     e->idx);
    if (!e->at[EPK_GRACE]) CFGP_SPEC(ep)->grace = ep->interval / 10;
    ep->latency_threshold = 0; /* a push's latency is the gap between calls: never SLOW */
}

void cfgp_type_finish(struct cfg_parser *p, struct ep_parse *e, struct cw_endpoint *ep)
{
    const char *tn = config_check_type_name(ep->type);
    if (!e->at[EPK_NAME]) cfgp_problem(p, e->g, "monitor.endpoints[%ld]: a %s check needs a 'name'", e->idx, tn);
    switch (ep->type) {
    case CW_CHECK_TCP:
    case CW_CHECK_TLS:
        require(p, e, EPK_HOST, tn);
        require(p, e, EPK_PORT, tn);
        break;
    case CW_CHECK_DNS:
        require(p, e, EPK_HOST, tn);
        answers_finish(p, e, ep);
        break;
    case CW_CHECK_ICMP:
        if (require(p, e, EPK_HOST, tn) &&
            (CFGP_SPEC(ep)->icmp_count - 1) * CFGP_SPEC(ep)->packet_interval >= ep->timeout)
            cfgp_problem(p, e->at[EPK_COUNT] ? e->at[EPK_COUNT] : e->g,
                         "monitor.endpoints[%ld]: %d echo requests %g s apart take %g s: no time left for the "
                         "last reply inside the timeout (%g s)",
                         e->idx, CFGP_SPEC(ep)->icmp_count, CFGP_SPEC(ep)->packet_interval,
                         (CFGP_SPEC(ep)->icmp_count - 1) * CFGP_SPEC(ep)->packet_interval, ep->timeout);
        break;
    case CW_CHECK_PUSH:
        push_finish(p, e, ep);
        break;
    default:
        break;
    }
    /* without the keys it is made of, there is no key: the endpoint is not kept (its problem is reported) */
    if (ep->name && (ep->host || ep->type == CW_CHECK_PUSH)) ep->url = cw_synthesize_key(p->arena, ep);
}
