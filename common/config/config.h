/* common/config/config.h — Clockwerk's configuration: loading and validating the operator's file (libconfig),
 * and the compact snapshot that the supervisor hands to its children.
 *
 * DESIGN
 * Only the supervisor (and the tap, and `clockwerk -t`) parse the libconfig file. The supervisor validates
 * it, then writes a snapshot (config_snapshot_write) into run_dir; children read the snapshot, never the
 * live file, so a reload is atomic and a child never sees a half-edited file. A worker reads only its
 * shard of the endpoints (config_snapshot_read with slot/slots), so that 100,000 endpoints cost each
 * process only its share. docs/config.md documents every key, default and bound.
 *
 * Memory: every string and array of a struct cw_config is owned by it; config_free releases everything. */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CW_VERSION "0.1.0"

enum cw_method {
    CW_METHOD_GET = 0,
    CW_METHOD_HEAD = 1,
    CW_METHOD_POST = 2,
    CW_METHOD_PUT = 3,
    CW_METHOD_PATCH = 4,
    CW_METHOD_DELETE = 5,
    CW_METHOD_OPTIONS = 6,
};

/* What an endpoint checks (`type`, docs/config.md "Check types"). The same numbers are a result's kind on the
 * wire (docs/protocol.md 2.3) and the endpoints.type column's names (config_check_type_name). */
enum cw_check_type {
    CW_CHECK_HTTP = 0,
    CW_CHECK_TCP = 1,
    CW_CHECK_TLS = 2,
    CW_CHECK_DNS = 3,
    CW_CHECK_ICMP = 4,
    CW_CHECK_PUSH = 5,
    CW_CHECK_TYPE_MAX = 5,
};
enum cw_starttls { CW_STARTTLS_NONE = 0, CW_STARTTLS_SMTP = 1, CW_STARTTLS_IMAP = 2, CW_STARTTLS_POSTGRES = 3 };
/* http_version: the version the response must have; ANY: whatever libcurl negotiates */
enum cw_http_version { CW_HTTP_ANY = 0, CW_HTTP_1_0 = 1, CW_HTTP_1_1 = 2, CW_HTTP_2 = 3 };

/* A status range of expect_status written as "2xx" or "200-299" (a bare number is in expect_status). */
struct cw_status_range {
    int lo, hi; /* inclusive */
};

/* A condition of an HTTP check on its JSON body (`json`) or a response header (`header_conditions`), parsed
 * at load from text like `$.queue.depth < 100` or `Content-Type ~ ^application/json`. */
enum cw_cond_op {
    CW_OP_EQ = 0,     /* == */
    CW_OP_NE,         /* != */
    CW_OP_LT,         /* <  (numbers) */
    CW_OP_LE,         /* <= */
    CW_OP_GT,         /* >  */
    CW_OP_GE,         /* >= */
    CW_OP_CONTAINS,   /* contains: a substring of a string, or an element of an array */
    CW_OP_EXISTS,     /* exists (no value) */
    CW_OP_NOT_EXISTS, /* !exists (no value) */
    CW_OP_MATCHES,    /* ~  a PCRE2 regex on the string form */
};
enum cw_cond_value { CW_VALUE_NONE = 0, CW_VALUE_STRING, CW_VALUE_NUMBER, CW_VALUE_BOOL, CW_VALUE_NULL };
struct cw_condition {
    char *text;    /* as the operator wrote it: the check's error quotes it */
    char *subject; /* json: an RFC 6901 pointer ("/queue/depth", "" for the whole document);
                    * header: the header's name (matched case-insensitively) */
    enum cw_cond_op op;
    enum cw_cond_value value_kind; /* json: how the right side was written; header: STRING (or NONE) */
    char *value;                   /* the right side: a string's content unquoted, a number's or bool's text;
                                    * NULL for exists/!exists */
};
#define CW_RETENTION_DAYS_MAX 36500

enum cw_db_driver { CW_DB_SQLITE = 0, CW_DB_POSTGRES = 1, CW_DB_MYSQL = 2 };
/* database.raw (docs/config.md): which checks get a raw row; the roll-ups count every check in every mode */
enum cw_db_raw { CW_RAW_ALL = 0, CW_RAW_FAILURES = 1, CW_RAW_NONE = 2 };
enum cw_smtp_tls { CW_SMTP_STARTTLS = 0, CW_SMTP_TLS = 1, CW_SMTP_NONE = 2 };

/* ---- alerting (issue 15; docs/config.md "Channels", "Routing", "Maintenance", docs/alerts.md) */

/* A channel's type (`alerts.channels[].type`). Names: config_channel_type_name. */
enum cw_channel_type {
    CW_CHAN_EMAIL = 0,      /* SMTP: the `email` keys, per channel */
    CW_CHAN_WEBHOOK = 1,    /* POST of JSON (or of body_template) to url, with headers */
    CW_CHAN_SLACK = 2,      /* Slack incoming webhook (url) */
    CW_CHAN_DISCORD = 3,    /* Discord webhook (url): `content` and embeds */
    CW_CHAN_TEAMS = 4,      /* Microsoft Teams incoming webhook / workflow (url): an Adaptive Card message */
    CW_CHAN_MATTERMOST = 5, /* Mattermost incoming webhook (url) */
    CW_CHAN_NTFY = 6,       /* ntfy: url = server + "/" + topic; token optional (Bearer) */
    CW_CHAN_TELEGRAM = 7,   /* Bot API sendMessage: token (the bot token), chat_id; url = API base override */
    CW_CHAN_PAGERDUTY = 8,  /* Events API v2: token = routing key; trigger / resolve by dedup_key */
    CW_CHAN_OPSGENIE = 9,   /* Alert API v2: token = API key (GenieKey); alias per incident; close on UP */
    CW_CHAN_GOTIFY = 10,    /* url = server base; token = application token */
    CW_CHAN_TYPE_MAX = 10,
};

/* An alert's (and an endpoint's) severity: PagerDuty's four levels. */
enum cw_severity { CW_SEV_INFO = 0, CW_SEV_WARNING = 1, CW_SEV_ERROR = 2, CW_SEV_CRITICAL = 3 };

/* A bit per enum cw_alert_kind (common/wire/protocol.h): 1u << kind. CW_KINDS_ALL: every kind. */
#define CW_KINDS_ALL 0xFFFFFFFFu

struct cw_channel {
    char *name;                    /* unique among channels; the legacy ones: "email", "webhook-1", ... */
    enum cw_channel_type type;
    bool legacy;                   /* made from the `email` group or `alerts.webhooks` (today's settings) */
    uint32_t kinds;                /* which alert kinds it gets (bit 1u << kind); default CW_KINDS_ALL */
    enum cw_severity min_severity; /* it gets alerts of endpoints at least this severe; default INFO */
    /* email */
    char *smtp_host;
    int smtp_port;
    enum cw_smtp_tls smtp_tls;
    char *smtp_user;
    char *smtp_password; /* a secret */
    char *smtp_ca_file;
    char *email_from;    /* "user@domain" or "Display Name <user@domain>" */
    char **email_to;
    size_t n_email_to;
    /* the HTTP channels */
    char *url;           /* webhook/slack/discord/teams/mattermost: the hook URL (its path may be a secret);
                          * ntfy: server + "/" + topic; gotify: the server's base URL; telegram, pagerduty,
                          * opsgenie: the API's base URL (NULL: the service's public one) */
    char **headers;      /* webhook: extra "Name: value" lines (values may be secrets) */
    size_t n_headers;
    char *body_template; /* webhook: the body with {{field}} placeholders (docs/alerts.md); NULL: the JSON */
    char *token;         /* a secret: telegram bot token, pagerduty routing key, opsgenie API key, gotify
                          * application token, ntfy access token (optional); from token / token_file / env */
    char *chat_id;       /* telegram */
    bool verify_tls;     /* default true */
};

/* One step of escalation: an incident still open and not acknowledged `after` seconds after its DOWN alert
 * goes to these channels too. */
struct cw_escalation {
    double after;     /* seconds, > 0; steps in increasing order */
    size_t *channels; /* indices into cfg->channels */
    size_t n_channels;
};

/* The per-group alerting settings (`groups`, top level): endpoints whose `group` is this name inherit every key
 * they do not set themselves. */
struct cw_group_settings {
    char *name;
    bool notify_set;  /* notify given (possibly empty: notify nobody) */
    size_t *notify;   /* indices into cfg->channels */
    size_t n_notify;
    int severity;     /* enum cw_severity; -1: not set */
    struct cw_escalation *escalate;
    size_t n_escalate;
    bool escalate_set;
    char **locations; /* issue 16: its endpoints' default `locations`; NULL: not set */
    size_t n_locations;
    int quorum; /* issue 16: its endpoints' default quorum (>= 1, CW_QUORUM_MAJORITY, CW_QUORUM_ALL); 0: not set */
};

/* A maintenance window (`maintenance`, top level). One-off (start_us > 0) or recurring (days != 0). */
struct cw_maintenance {
    char *name;
    size_t *endpoints; /* indices into cfg->endpoints (from names) */
    size_t n_endpoints;
    char **groups;     /* endpoint `group` names */
    size_t n_groups;   /* no endpoints and no groups: everything */
    int64_t start_us;  /* one-off: the start (wall clock, µs); 0: recurring */
    double duration;   /* one-off: seconds */
    uint8_t days;      /* recurring: bit d for weekday d (0 = Sunday ... 6 = Saturday, as struct tm) */
    int from_min;      /* recurring: minutes after local midnight, 0 ... 1439 */
    int to_min;        /* recurring: end; <= from_min: the window crosses midnight into the next day */
    char *time_zone;   /* recurring: an IANA zone ("Europe/Berlin"); NULL: UTC */
};
 /* database.retention.*_days: 100 years */

/* What an endpoint's probe does and expects: its request and assertions (issue 18). Normally the same for hundreds of
 * endpoints (a group's method, headers, assertions, TLS options), so it is interned: config_load keeps one copy of
 * each distinct spec in the config's arena and every endpoint whose details are equal points at it; a snapshot
 * carries each once (docs/config.md "Memory"). Immutable once loaded or read: two configs' specs are compared with
 * cw_check_spec_equal, never by pointer. Layout: pointers and doubles, then 4-byte members, then the small ones. */
struct cw_check_spec {
    char *body;               /* POST body; NULL when not set */
    int *expect_status;       /* accepted status codes; n_expect_status == 0 means 200..399 */
    char *keyword;            /* NULL when not set; the body must contain it */
    char **headers;           /* "Name: value" lines */
    char *ca_file;            /* NULL: the system's CAs */
    /* ---- the check types beyond HTTP (docs/config.md "Check types") */
    char *send;             /* tcp: bytes written after the connect (escapes decoded); NULL: none */
    char *expect;           /* tcp: text that must appear in the reply; NULL: none */
    char *server_name;      /* tls: SNI and the name the certificate must match; NULL: host */
    char *dns_server;       /* dns: "IP", "IP:PORT" or "[IPv6]:PORT"; NULL: the system's resolvers */
    char **expect_answers;  /* dns: each must be one of the answers (presentation form) */
    double packet_interval; /* icmp: seconds between them; default 0.2 */
    double max_loss;        /* icmp: percent; loss above it is a failure; default 99 */
    double grace;           /* push: seconds after the interval before a missing call fails; default
                               * 10% of the interval */
    /* ---- HTTP assertions (docs/config.md "HTTP assertions"); all off when not set */
    struct cw_status_range *status_ranges;  /* more accepted statuses besides expect_status */
    char **keywords;                        /* every one must appear in the body, as keyword must */
    char **keywords_absent;                 /* none may appear */
    char **body_regex;                      /* PCRE2 patterns that must match the body */
    char **body_regex_absent;               /* patterns that must not match */
    struct cw_condition *json_conditions;   /* on the body parsed as JSON */
    struct cw_condition *header_conditions; /* on the response headers (of the last response) */
    double max_response_time;               /* seconds; a slower check fails; 0: off */
    char *client_cert;                      /* mTLS: absolute path of a PEM certificate; NULL: none */
    char *client_key;                       /* its key (absolute path); NULL: in client_cert */
    char *client_key_password; /* a secret (from client_key_password_file); NULL: none. Only in the workers'
                                * snapshots (and the supervisor's config) */
    char *proxy;               /* a proxy URL (it may hold a password); NULL: none (the environment's is never used).
                               * Only in the workers' snapshots, as client_key_password */
    char *address;             /* pinned address for the URL's host name; NULL: resolve it */
    enum cw_method method;
    uint32_t body_len; /* bytes of body (a body_file may hold any byte); 0 with body == NULL */
    uint32_t n_expect_status;
    uint32_t n_headers;
    uint32_t send_len;
    enum cw_starttls starttls; /* tls */
    int min_cert_days;         /* tls and https: a failed check when the certificate expires in fewer days */
    int expect_rcode;          /* dns: default 0 (NOERROR); 3 NXDOMAIN, ... */
    uint32_t n_expect_answers;
    int icmp_count;                    /* icmp: echo requests per check; default 3 */
    enum cw_http_version http_version; /* the response must be this version */
    uint32_t n_status_ranges;
    uint32_t n_keywords;
    uint32_t n_keywords_absent;
    uint32_t n_body_regex;
    uint32_t n_body_regex_absent;
    uint32_t n_json_conditions;
    uint32_t n_header_conditions;
    uint32_t body_limit;   /* bytes of (decoded) body read; default 1 MiB, at most 64 MiB */
    uint16_t record_type;  /* dns: the RR type number (1 A, 28 AAAA, 5 CNAME, 15 MX, 16 TXT, 2 NS, 6 SOA, 33 SRV,
                               * 257 CAA); default 1 */
    bool verify_tls;       /* default true */
    bool follow_redirects; /* default false */
    bool fail_if_not_tls;  /* HTTP assertions: the final URL (after redirects) must be https */
    bool compressed;       /* HTTP assertions: ask for gzip, deflate, br, zstd; bodies are decoded before matching */
    bool cookies;          /* HTTP assertions: keep cookies across the redirects of one check */
};

/* Whether two specs are alike in every field (deeply: strings, lists, conditions). NULL is the all-zero spec. */
bool cw_check_spec_equal(const struct cw_check_spec *a, const struct cw_check_spec *b);
/* A hash of every field cw_check_spec_equal compares (equal specs hash alike). */
uint64_t cw_check_spec_hash(const struct cw_check_spec *s);
/* The spec of an endpoint built by hand without one (every field zero). */
extern const struct cw_check_spec cw_check_spec_none;

/* One endpoint. Issue 18: an array of these is in every process that reads the endpoints (500,000 of them at the
 * scale the project aims for), so it keeps only what identifies and schedules one endpoint, or is usually its own;
 * what the probe does is in the shared `spec`. In each group the pointers and doubles first, then the 4-byte
 * members; no hole. */
struct cw_endpoint {
    char *url;        /* http:// or https://; for the other types a key the configuration synthesizes (tcp://host:port,
                  * tls://host:port, dns://server/name?type=MX, icmp://host, push://name): the identity under which
                  * the schedule, the bus, the database and the alerts know the endpoint */
    char *name;       /* NULL when not set (required for the types beyond HTTP) */
    char *group;      /* NULL when not set: the web shows the endpoint under "Other" */
    char *host;       /* tcp, tls, icmp: a host name or address; dns: the name looked up */
    char *push_token; /* push: a secret. Only in the configuration of the supervisor and the web (snapshots for
                       * workers carry NULL) */
    const struct cw_check_spec *spec; /* the probe's details, interned (never NULL after load or read; a
                                       * hand-built endpoint may leave it NULL only where nothing probes it) */
    double timeout;                   /* seconds; default 10, never more than interval */
    double interval;                  /* seconds; per endpoint or monitor.check_interval */
    double latency_threshold;         /* seconds; per endpoint or monitor.latency_threshold */
    int alert_threshold;              /* consecutive failures before DOWN; default 3 (1..1000000) */
    int recovery_threshold;           /* consecutive successes before UP; per endpoint or alerts.recovery_threshold */

    /* ---- alerting (issue 15). Resolved at load: an endpoint that does not set a key takes its group's
     * (cfg->group_settings), then the `alerts` default. */
    size_t *notify;                 /* indices into cfg->channels that get its alerts */
    char *depends_on;               /* the parent endpoint's name; NULL: none */
    struct cw_escalation *escalate; /* its escalation steps (its own, its group's, or alerts.escalate) */
    /* where it is checked (issue 16): names of cfg->location (the central's own workers) and of cfg->locations;
     * its own, its group's, else every location. Never empty after load. */
    char **locations;
    /* percent of state changes that starts flapping; default alerts.flap_high. A double, not a float: the alerter
     * compares computed percents with it, and a float would move the edge */
    double flap_high;
    double flap_low;        /* percent below which it is stable again; default alerts.flap_low */
    int32_t depends_on_idx; /* its index in cfg->endpoints; -1: none (no cycles: refused at load). Endpoints are
                             * fewer than 2^31 (a libconfig list's length is an int) */
    uint32_t n_notify;      /* a channel is listed once (alerts.channels, email, alerts.webhooks: no fixed bound) */
    uint16_t port;          /* tcp, tls: 1..65535 */
    uint8_t type;           /* enum cw_check_type; default CW_CHECK_HTTP */
    uint8_t severity;       /* enum cw_severity; default CW_SEV_CRITICAL */
    uint8_t flap_window;    /* checks looked at for flapping; 0: no flap detection; else 5..64; default
                             * alerts.flap_window */
    uint8_t n_escalate;     /* <= 16 steps */

    /* ---- locations (issue 16, docs/config.md "Locations"). Resolved at load: own -> its group's -> default. */
    uint8_t n_locations; /* <= CW_LOCATIONS_MAX (64) */
    int8_t quorum;       /* >= 1 (<= CW_LOCATIONS_MAX): that many of its locations must see it DOWN;
                          * CW_QUORUM_MAJORITY, CW_QUORUM_ALL; own -> group's -> alerts.quorum (default
                          * CW_QUORUM_MAJORITY). An integer above n_locations is refused at load. */
    /* 144 B in all, no padding (a static assert below holds it) */
};

/* Issue 18: the endpoint is held by the web, the alerter, the storer and every worker (its shard), 500,000 of them:
 * fields are ordered without holes and narrowed to their validated ranges. Grow it only with a reason. */
_Static_assert(sizeof(struct cw_endpoint) <= 144, "struct cw_endpoint grew: see issue 18");

/* Quorum (issue 16): special values of cw_endpoint.quorum / cw_config.quorum. */
#define CW_QUORUM_MAJORITY (-1) /* more than half of the endpoint's locations: n / 2 + 1 */
#define CW_QUORUM_ALL (-2)      /* every one of them */
#define CW_LOCATION_NAME_MAX 32 /* a location name: 1..32 of [A-Za-z0-9_.-] */

/* A probe host the central host admits (top-level `locations`, issue 16). */
struct cw_location {
    char *name; /* unique, not the central's own supervisor.location */
    char *key;  /* the probe host's CURVE public key (Z85, 40 characters): admitted on the bus, and the only key
                 * that may fetch this location's configuration or send results under its name */
};

struct cw_webhook {
    char *url;
};

struct cw_config {
    char *path; /* absolute path of the file it was loaded from */
    char *dir;  /* its directory: relative paths are resolved against it */

    /* supervisor */
    int workers;   /* default: number of CPUs */
    char *run_dir; /* absolute; default "<dir>/run" */
    int log_level; /* enum log_level; default info */
    int log_target; /* enum log_target; default stderr */
    char *user;    /* NULL: do not change user */
    char *location; /* supervisor.location: the name this host's results carry; default "local" */

    /* bus (all absolute ZeroMQ addresses; defaults ipc://<run_dir>/NAME.sock) */
    char *store_address;   /* storer's ROUTER:   store.sock */
    char *alert_address;   /* alerter's ROUTER:  alert.sock */
    char *publish_address; /* relay's XSUB:    publish.sock */
    char *tap_address;     /* relay's XPUB:    tap.sock */
    /* CURVE on tcp:// bus sockets (common/bus/bus_keys.h, common/proc/bus_config.h); all NULL/0 when
     * bus.curve_key_file is not set */
    char *curve_key_file;      /* absolute path of this installation's key pair (mode 0600) */
    char *curve_public_key;    /* its public key as read when the file was parsed (NULL: not readable by
                                * the parsing user); not in the snapshot: for reload comparisons only */
    char *curve_server_key;    /* Z85 public key of the bus servers; NULL: the own key's */
    char **curve_allowed_keys; /* Z85 public keys of the clients the servers admit (the own key always) */
    size_t n_curve_allowed_keys;
    /* Locations (issue 16, docs/config.md "Locations"). A central host serves its probe hosts' configuration on
     * config_address; a probe host (central_address set) has no monitor/database/alerts/web of its own: it fetches
     * its endpoints from the central host, and store/alert/publish_address come with them. */
    char *config_address;  /* bus.config_address (central): the supervisor binds it; NULL: no probe hosts served */
    char *central_address; /* bus.central_address (probe host): the central's config_address; NULL: not a probe */
    struct cw_location *locations; /* top-level `locations` (central): the probe hosts admitted */
    size_t n_locations;

    /* monitor */
    double check_interval;    /* default 60 */
    double latency_threshold; /* default 1.0 */
    int tls_expiry_days;      /* default 14 */
    struct cw_endpoint *endpoints;
    size_t n_endpoints;

    /* email: enabled when smtp_host is set */
    bool email_enabled;
    char *smtp_host;
    int smtp_port; /* default 587 (465 when smtp_tls = "tls", 25 when "none") */
    char *email_from;
    char **email_to;
    size_t n_email_to;
    char *smtp_user;
    char *smtp_password; /* from smtp_password, smtp_password_file or CLOCKWERK_SMTP_PASSWORD */
    enum cw_smtp_tls smtp_tls;
    char *smtp_ca_file;

    /* alerts */
    struct cw_webhook *webhooks;
    size_t n_webhooks;
    double renotify;        /* seconds; 0: no reminders */
    int recovery_threshold; /* default 1 */
    int group_threshold;    /* default 5 */
    /* Every channel: the named ones of alerts.channels first, then the legacy ones made from `email` (named
     * "email") and alerts.webhooks ("webhook-1", ...). email_enabled/smtp_* and webhooks above stay as they are
     * read, for the code that reads them; the alerter delivers through channels. */
    struct cw_channel *channels;
    size_t n_channels;
    size_t *default_notify; /* alerts.notify (indices); unset: every channel */
    size_t n_default_notify;
    struct cw_escalation *escalate; /* alerts.escalate: the default of every endpoint */
    size_t n_escalate;
    int flap_window;          /* default 21 (0: off) */
    double flap_high;         /* default 50 */
    double flap_low;          /* default 25 */
    char *alert_time_zone;    /* alerts.time_zone: times in alerts are also shown in this zone; NULL: UTC only */
    struct cw_group_settings *group_settings; /* `groups` (top level) */
    size_t n_group_settings;
    struct cw_maintenance *maintenance; /* `maintenance` (top level) */
    size_t n_maintenance;
    int quorum;                   /* alerts.quorum: the default of every endpoint; default CW_QUORUM_MAJORITY */
    double location_silent_after; /* alerts.location_silent_after: seconds without a word from a location before
                                   * it is silent (a location_silent alert); default 10 */

    /* database */
    bool db_activation; /* default false: no storer, no database touched */
    enum cw_db_driver db_driver;
    char *db_name; /* SQLite: absolute path of the file */
    char *db_user;
    char *db_password; /* from db_password, db_password_file or CLOCKWERK_DB_PASSWORD */
    char *db_host;
    int db_port;      /* default: 5432 postgresql, 3306 mysql, 0 sqlite */
    char *db_sslmode; /* NULL: prefer */
    char *db_ca_file;
    /* database.retention (docs/config.md, docs/schema.md "Retention"): days kept, 0 = forever */
    int retention_raw_days;    /* checks; default 30 */
    int retention_hourly_days; /* checks_hourly; default 400 */
    int retention_daily_days;  /* checks_daily; default 0 */
    enum cw_db_raw db_raw;     /* database.raw; default CW_RAW_ALL */

    /* web (docs/web.md): clockwerk-web runs when the file has a `web` group */
    bool web_enabled;
    char *web_listen; /* "host:port" or "[v6]:port" (config_web.h) */
    char *web_title;
    char *web_tls_cert_file; /* absolute; both TLS files or neither */
    char *web_tls_key_file;
    bool web_allow_plain_http;
    char *web_auth_user;            /* NULL: no basic auth */
    char *web_auth_password;        /* from auth_password_file; a secret */
    int web_max_connections;        /* default 1024 */
    int web_max_connections_per_ip; /* default 256; 0: no limit */
    double web_connection_timeout;  /* seconds of inactivity; default 10 */
    double web_history_refresh;     /* seconds between two reads of the history; default 60 */
    int web_metrics_per_endpoint;   /* enum cw_web_metrics_mode (config_web.h); default auto */

    /* Private to the config module: owns the strings and arrays of a loaded or read config. NULL in a
     * config built by hand, whose fields config_free then releases one by one with free(). */
    struct cw_arena *arena;
};

/* Called once per problem found, with `FILE:LINE: message` (no newline). */
typedef void (*config_report_fn)(void *ctx, const char *message);

/* Loads and validates the file at path. Returns the config, or NULL after reporting EVERY problem found
 * (syntax error, wrong type, value out of range, unknown key, bad URL scheme, missing url, duplicate url,
 * `keyword` with HEAD, ...). The environment is read for CLOCKWERK_DB_PASSWORD / CLOCKWERK_SMTP_PASSWORD.
 * Relative paths (and @include) are resolved against the file's directory; a password written in a file
 * that others may read is refused. No message contains a password. See docs/config.md. */
struct cw_config *config_load(const char *path, config_report_fn report, void *ctx);

struct config_load_options {
    config_report_fn report; /* each problem: the file is refused */
    config_report_fn warn;   /* each warning (`FILE:LINE: message`): the file loads; NULL: not told */
    void *ctx;               /* for both */
    /* The tap's reading: only the bus section and supervisor.run_dir must be valid (a problem there, or a
     * syntax error, refuses the file); a problem anywhere else is a warning; no password is read (smtp_password,
     * db_password and their files stay untouched, the fields NULL). */
    bool bus_only;
};
/* config_load with warnings (a config that checks nothing, or neither stores nor alerts) and the tap's mode. */
struct cw_config *config_load_with(const char *path, const struct config_load_options *opts);
/* Releases cfg and everything it owns (cfg itself must come from config_load, config_snapshot_read or
 * malloc). NULL is fine. A hand-built config's issue-15 fields (channels, notify, escalate, group_settings,
 * maintenance: arrays that may be shared) and its endpoints' `locations` arrays (issue 16, shared the same way) are
 * its builder's to free; its location, config/central addresses and `locations` entries are freed. */
void config_free(struct cw_config *cfg);

/* Whether a process of each kind should run for this config. */
bool config_wants_storer(const struct cw_config *cfg); /* db_activation */
/* Always, for a configuration: the alerter runs the state machine, records every alert and keeps the state
 * file `clockwerk status` reads even when no channel is configured (then it sends nothing). */
bool config_wants_alerter(const struct cw_config *cfg);
bool config_has_alert_channel(const struct cw_config *cfg); /* email or any webhook configured */
bool config_wants_web(const struct cw_config *cfg);         /* a `web` group */
/* Issue 16: a probe host (bus.central_address set): workers only, their endpoints from the central host. */
bool config_is_probe_host(const struct cw_config *cfg);
/* Every location name of a central configuration: supervisor.location first when workers > 0, then each
 * `locations` entry. Writes at most max pointers (into cfg) to out; returns how many there are. */
size_t config_location_names(const struct cw_config *cfg, const char **out, size_t max);
/* This host's own location: supervisor.location, "local" (CW_LOCATION_DEFAULT) when cfg or it is NULL. */
const char *config_own_location(const struct cw_config *cfg);
/* The quorum an endpoint needs: how many of its n_locations must see it DOWN (1 .. n_locations). */
unsigned config_quorum_required(const struct cw_endpoint *ep);
/* Whether name can be a location's: 1..CW_LOCATION_NAME_MAX bytes of [A-Za-z0-9_.-]. */
bool config_location_name_valid(const char *name);
/* Whether ep is checked at location (one of its locations; an endpoint without any, built by hand: everywhere). */
bool config_endpoint_at(const struct cw_endpoint *ep, const char *location);
/* Issue 16, the key check of the storer and the alerter (one rule, so that a batch is taken or refused by both):
 * the location a sender whose CURVE public key is peer_key may send for — a `locations` entry's name for that
 * entry's key, this host's own supervisor.location for any other admitted key (its own workers) —; NULL when
 * peer_key is NULL or "" (ipc://, tcp without CURVE: the key cannot be checked, any location is taken). */
const char *config_key_location(const struct cw_config *cfg, const char *peer_key);
/* The name of the `locations` entry whose key is key; NULL when none is (or cfg or key is NULL). */
const char *config_location_of_key(const struct cw_config *cfg, const char *key);
/* Whether the sender with peer_key may send every one of results[0..n) (config_key_location; a result's location
 * NULL or "", from a worker of before locations, is this host's own); when not, *allowed is the location it may
 * send for and *claimed the first result's location that is not it ("" for none). */
struct cw_result;
bool config_key_admits(const struct cw_config *cfg, const char *peer_key, const struct cw_result *results, size_t n,
                       const char **allowed, const char **claimed);
/* Issue 16: the snapshot in memory (the central host sends one to each probe host: docs/protocol.md). The bytes
 * are exactly config_snapshot_write's file. encode: 0, or -1 with err (out is a malloc'd buffer of *len bytes).
 * decode: a whole-config reader's result (as config_snapshot_read with slots 0), or NULL with err. */
int config_snapshot_encode(const struct cw_config *cfg, unsigned char **out, size_t *len, char *err, size_t errlen);
struct cw_config *config_snapshot_decode(const unsigned char *data, size_t len, char *err, size_t errlen);
/* Issue 18: a copy of cfg's settings without its endpoints (n_endpoints 0, endpoints NULL), every secret and
 * curve_public_key kept, the maintenance windows with their endpoint indices (into cfg's endpoints, which it does not
 * hold): what the supervisor keeps of a running generation. Made through a snapshot of the settings alone (a few KB, a
 * few µs whatever the endpoints). NULL with err (cannot happen for a validated cfg). Free with config_free. */
struct cw_config *config_settings_copy(const struct cw_config *cfg, char *err, size_t errlen);
/* Issue 16: the configuration the central host sends location `location`: a copy of cfg (the central's) with only
 * the endpoints checked there, without any secret or setting a probe host does not need (database, channels,
 * SMTP, web, maintenance, locations' keys); NULL with err when the location is unknown. Free with config_free. */
struct cw_config *config_for_location(const struct cw_config *cfg, const char *location, char *err, size_t errlen);

const char *config_driver_name(enum cw_db_driver driver);
    /* "sqlite", "postgresql", "mysql" */
const char *config_raw_name(enum cw_db_raw raw); /* "all", "failures", "none" */
const char *config_method_name(enum cw_method method);       /* "GET", "HEAD", "POST", "PUT", ... */
const char *config_check_type_name(enum cw_check_type type); /* "http", "tcp", "tls", "dns", "icmp", "push"; NULL */
const char *config_smtp_tls_name(enum cw_smtp_tls tls);      /* "starttls", "tls", "none" */
const char *config_channel_type_name(enum cw_channel_type type); /* "email", "webhook", "slack", ...; NULL */
const char *config_severity_name(enum cw_severity sev);          /* "info", "warning", "error", "critical" */
/* The index of the channel named name, or -1. */
long config_channel_find(const struct cw_config *cfg, const char *name);

/* The check config_load makes of a webhook channel's body_template: every {{NAME}} / {{json.NAME}} (spaces inside the
 * braces allowed) names a field of docs/alerts.md "Channels" (kind name url message since at alert_id incident_id
 * severity error status text hostname), every {{ is closed. 0, or -1 with the reason in err. */
int config_template_check(const char *tpl, char *err, size_t len);

/* True when status is accepted by the endpoint (expect_status, or 200..399 when empty). */
bool config_status_expected(const struct cw_endpoint *ep, int status);

/* Writes cfg to path atomically (write to a temporary file, fsync, rename), mode 0600.
 * Returns 0, or -1 with a one-line reason in err. */
int config_snapshot_write(const struct cw_config *cfg, const char *path, char *err, size_t errlen);

/* Whether a and b are alike in everything but the `web` group and the endpoints' `group` keys (what only the
 * web reads): a reload that changes only those restarts only the web. */
bool config_same_beyond_web(const struct cw_config *a, const struct cw_config *b);
/* Whether a and b are alike in everything a snapshot carries (the web's settings and secrets included). */
bool config_same(const struct cw_config *a, const struct cw_config *b);
/* Whether endpoints x and y are alike in everything a snapshot carries of one (their records' bytes). bx and by are
 * scratch buffers the caller keeps across calls and frees (cw_buf_free): comparing 500,000 pairs allocates nothing. */
struct cw_buf;
bool config_endpoint_same(const struct cw_endpoint *x, const struct cw_endpoint *y, struct cw_buf *bx,
                          struct cw_buf *by);

/* Reads a snapshot. With slots > 0 only the endpoints whose cw_shard_of(url, slots) == slot and that are checked at
 * the snapshot's own location (config_endpoint_at(ep, cfg->location), issue 16) are kept (n_endpoints is then the
 * shard's size). A shard's reader (slots > 0: a worker) gets no passwords:
 * smtp_password and db_password stay NULL. A whole-snapshot reader keeps only the passwords named in
 * CLOCKWERK_SECRETS ("db", "smtp", "none" or "db,smtp"; set by the supervisor per child), both when
 * unset ("web" names the web's basic-auth password; "smtp" also the channels' tokens, SMTP passwords and headers).
 * A shard's reader gets no maintenance windows and no depends_on_idx (-1): its indices would point elsewhere. Returns NULL with a one-line reason in err when the file is
 * missing, truncated or of another version. */
struct cw_config *config_snapshot_read(const char *path, unsigned slot, unsigned slots, char *err, size_t errlen);
/* Reads a snapshot's settings without its endpoints (n_endpoints 0, no maintenance window, no secret): for a process
 * that needs none of them (the relay), so that it costs nothing per endpoint. Errors as config_snapshot_read's. */
struct cw_config *config_snapshot_read_settings(const char *path, char *err, size_t errlen);

#endif
