/* common/config/config_ep.h — private to the endpoint parsers (config_endpoints.c, config_types.c,
 * config_http_keys.c): the table of every endpoint key with the check types it belongs to, and the state of the
 * endpoint being read (where each key was set), so that the checks across keys (a body with GET, a timeout past
 * the interval, ...) can point at the right line.
 *
 * DESIGN
 * One key, one row: its name and the types it is a key of. config_endpoints.c reads the common keys and hands
 * the others to the parser of their family (cfgp_type_key, cfgp_http_key); a key of another type is refused
 * before any parser sees it ("'port' is not a key of a dns check"). */
#ifndef CW_CONFIG_EP_H
#define CW_CONFIG_EP_H

#include "common/config/config_reader.h"

enum ep_key {
    /* every type (some not push) */
    EPK_TYPE,
    EPK_NAME,
    EPK_TIMEOUT,
    EPK_ALERT_THRESHOLD,
    EPK_RECOVERY_THRESHOLD,
    EPK_CHECK_INTERVAL,
    EPK_LATENCY_THRESHOLD,
    EPK_GROUP,
    /* alerting (read by cfgp_alerting once the channels are known) */
    EPK_NOTIFY,
    EPK_SEVERITY,
    EPK_DEPENDS_ON,
    EPK_ESCALATE,
    EPK_FLAP_WINDOW,
    EPK_FLAP_HIGH,
    EPK_FLAP_LOW,
    /* locations (issue 16, read by cfgp_endpoint_locations in the alerting pass) */
    EPK_LOCATIONS,
    EPK_QUORUM,
    /* http */
    EPK_URL,
    EPK_METHOD,
    EPK_BODY,
    EPK_BODY_FILE,
    EPK_EXPECT_STATUS,
    EPK_FOLLOW_REDIRECTS,
    EPK_KEYWORD,
    EPK_KEYWORDS,
    EPK_KEYWORDS_ABSENT,
    EPK_BODY_REGEX,
    EPK_BODY_REGEX_ABSENT,
    EPK_JSON,
    EPK_HEADER_CONDITIONS,
    EPK_HEADERS,
    EPK_MAX_RESPONSE_TIME,
    EPK_HTTP_VERSION,
    EPK_FAIL_IF_NOT_TLS,
    EPK_COMPRESSED,
    EPK_BODY_LIMIT,
    EPK_CLIENT_CERT,
    EPK_CLIENT_KEY,
    EPK_CLIENT_KEY_PASSWORD_FILE,
    EPK_PROXY,
    EPK_ADDRESS,
    EPK_COOKIES,
    /* http and tls */
    EPK_VERIFY_TLS,
    EPK_CA_FILE,
    EPK_MIN_CERT_DAYS,
    /* tcp, tls, dns, icmp */
    EPK_HOST,
    EPK_PORT,
    EPK_SEND,
    EPK_EXPECT,
    EPK_SERVER_NAME,
    EPK_STARTTLS,
    EPK_RECORD_TYPE,
    EPK_DNS_SERVER,
    EPK_EXPECT_RCODE,
    EPK_EXPECT_ANSWERS,
    EPK_COUNT,
    EPK_PACKET_INTERVAL,
    EPK_MAX_LOSS,
    EPK_TOKEN,
    EPK_TOKEN_FILE,
    EPK_GRACE,
    EPK_N
};

/* The endpoint being read: where it is and where each of its keys was set (NULL: not set). */
struct ep_parse {
    struct cfg_where w;
    long idx;
    const config_setting_t *g;
    const config_setting_t *at[EPK_N];
    bool has_timeout; /* timeout was set and valid */
};

/* The spec of the endpoint being read (issue 18): while its keys are read, ep->spec points at a scratch spec of the
 * parser's (mutable; interned once the endpoint is read, config_spec.h). */
#define CFGP_SPEC(ep) ((struct cw_check_spec *)(ep)->spec)

/* The key's row (EPK_*) or -1 for a key of no type. */
int cfgp_ep_key(const char *name);
/* Whether key is a key of checks of type t. */
bool cfgp_ep_key_of(int key, enum cw_check_type t);

/* The keys of tcp, tls, dns, icmp and push checks (config_types.c): one key into ep. */
void cfgp_type_key(struct cfg_parser *p, struct ep_parse *e, const config_setting_t *s, int key,
                   struct cw_endpoint *ep);
/* After every key of a non-HTTP endpoint: the required keys, the cross-key bounds, the synthesized url. */
void cfgp_type_finish(struct cfg_parser *p, struct ep_parse *e, struct cw_endpoint *ep);

/* The keys of HTTP checks (config_http_keys.c) into ep; false when key is not one of them. */
bool cfgp_http_key(struct cfg_parser *p, struct ep_parse *e, const config_setting_t *s, int key,
                   struct cw_endpoint *ep);
/* After every key of an HTTP endpoint: the checks across keys (a body with GET, body assertions with HEAD,
 * max_response_time past the timeout, min_cert_days on http://) and the defaults that depend on them. */
void cfgp_http_finish(struct cfg_parser *p, struct ep_parse *e, struct cw_endpoint *ep);

/* Strings (one string or a list of them, at most 64) into an arena vector; false after reporting. */
bool cfgp_string_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, char ***out, size_t *n);

/* s is one of names[0..n) (case-insensitive; NULL entries are skipped): its index; -1 after reporting "'V' is not
 * one of LISTED". */
int cfgp_one_of(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, const char *const *names, int n,
                const char *listed);

#endif
