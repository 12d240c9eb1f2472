/* common/wire/protocol.h — the wire format of every message between Clockwerk processes (docs/protocol.md).
 *
 * A message is two ZeroMQ frames: a topic ("result", "stats", "alert") and a payload. Every payload starts
 * with a 4-byte header: u8 version (CW_PROTO_VERSION), u8 type (enum cw_msg_type, must match the topic),
 * u16 count (little-endian: records, or key/value pairs for stats). All integers are little-endian; a string
 * is u16 length, the bytes, then one NUL byte (not counted), and may not contain NUL.
 *
 * Decoders are defensive: any length, count, version, type, terminator or trailing-byte mismatch rejects the
 * whole message (the caller counts and drops it). Decoded strings point INTO the payload (zero copy): they
 * are valid only while the payload is, and are NUL-terminated. */
#ifndef CW_PROTOCOL_H
#define CW_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"

#define CW_PROTO_VERSION 1
/* Results are version 2 when a record carries a kind other than http or figures, version 3 when a record carries
 * a location (docs/protocol.md 2.3 and 3); a batch of http results without figures or location is still written as
 * version 1. Receivers decode all three. */
#define CW_PROTO_RESULT_VERSION 3
/* Alerts are version 2 when they carry an incident, a mute reason, per-channel deliveries, a kind above
 * reminder or a muted state (docs/protocol.md 2.5); otherwise still version 1. Receivers decode both. */
#define CW_PROTO_ALERT_VERSION 2

/* Every message type, with its direction. */
enum cw_msg_type {
    CW_MSG_INVALID = 0,
    CW_MSG_RESULT = 1, /* worker -> storer, alerter (reliable); worker -> relay -> tap (best effort) */
    CW_MSG_STATS = 2,  /* any process -> relay -> tap: counters, about once a second */
    CW_MSG_ALERT = 3,  /* alerter -> storer (reliable); alerter -> relay -> tap (best effort) */
    CW_MSG_ACK = 4,    /* storer, alerter -> the sender of results: these seqs are durable (common/bus/ackq.h) */
    CW_MSG_PUSH = 5,   /* web -> the worker of a push endpoint: a call arrived (common/wire/pushmsg.h) */
    /* issue 16: locations (docs/protocol.md 2.9 - 2.11) */
    CW_MSG_HELLO = 6,      /* worker -> alerter, once a second: the location is alive; its clock (best effort) */
    CW_MSG_HELLO_ECHO = 7, /* alerter -> that worker: the HELLO's time and the alerter's clock (offset) */
    CW_MSG_CONFIG_GET = 8, /* probe host's supervisor -> central supervisor: my location, the config I have */
    CW_MSG_CONFIG = 9,     /* central supervisor -> probe host: its configuration (or "unchanged", or refused) */
    CW_MSG_LOCATIONS = 10, /* alerter -> relay -> web, tap (best effort, once a second): each location's state */
};

#define CW_RESULT_BATCH_MAX 512 /* results in one message */
#define CW_STATS_MAX 64         /* key/value pairs in one stats message */
#define CW_URL_MAX 4096         /* bytes, without the NUL */
#define CW_ERROR_MAX 1024       /* bytes of error text; longer text is cut by the encoder */
#define CW_NAME_MAX 1024        /* endpoint names and stats keys/roles (keys are at most 255) */
#define CW_MESSAGE_MAX 8192     /* alert message text */
#define CW_DELIVERIES_MAX 4096  /* an alert's per-channel deliveries list */
/* Largest payload frame any valid message can have (a full batch of results with the longest strings, figures
 * and location is 512 x 7,300 bytes, about 3.6 MiB; CW_MSG_CONFIG, on its own socket, has CW_CONFIG_MSG_MAX).
 * Receiving sockets refuse larger frames (ZMQ_MAXMSGSIZE: the peer is disconnected). */
#define CW_PAYLOAD_MAX (4 * 1024 * 1024)

const char *proto_topic(enum cw_msg_type type);                      /* "result", ... or NULL */
enum cw_msg_type proto_type_of_topic(const void *topic, size_t len); /* CW_MSG_INVALID when unknown */

/* One check of one endpoint. Times are microseconds; a phase that was not reached is -1. */
struct cw_result {
    uint32_t worker;       /* worker slot that ran the check */
    uint64_t boot_id;      /* random per worker process start */
    uint64_t seq;          /* 1, 2, 3 ... per (worker, boot_id): a receiver counts gaps */
    int64_t checked_at_us; /* wall clock (UTC, Unix epoch) when the check started */
    int64_t lateness_us;   /* start of the check minus its scheduled due time (monotonic) */
    int64_t latency_us;    /* total time of the transfer (or until it failed) */
    int64_t dns_us;        /* name lookup */
    int64_t connect_us;    /* TCP connect, after the lookup */
    int64_t tls_us;        /* TLS handshake, after the connect (-1 for http) */
    int64_t ttfb_us;       /* request sent -> first byte of the response */
    uint16_t status_code;  /* 0 when there was no HTTP response */
    bool ok;
    const char *url;           /* never NULL */
    const char *error;         /* NULL or "" when ok; else why the check failed */
    int64_t tls_expires_at_us; /* https: the server certificate's notAfter (wall clock, UTC); 0 when unknown
                                * (http, or the handshake was not reached). On the wire only when != 0
                                * (flags bit 1 and a trailing i64: docs/protocol.md 2.3) */
    uint8_t kind;              /* enum cw_check_type: what checked (0 http .. CW_RESULT_KIND_MAX) */
    const char *figures;       /* NULL (or ""), or a JSON object of at most CW_FIGURES_MAX bytes with the figures
                                * of the kind (DNS rcode and answers, ICMP loss and round trips, ...:
                                * docs/protocol.md 2.3). Never cut: longer figures are a problem (below) */
    const char *location;      /* issue 16: supervisor.location of the host whose worker checked (1..32 bytes of
                                * [A-Za-z0-9_.-]); a record of a version before the location decodes as "" (the
                                * receiver's own location). Never NULL after decoding */
};
#define CW_FIGURES_MAX 2048
#define CW_RESULT_KIND_MAX 5 /* enum cw_check_type's CW_CHECK_TYPE_MAX (common/config/config.h, a layer above) */

/* The ranges a decoder accepts (docs/protocol.md 2.3), fixed rather than relative to the receiver's clock: a
 * check time in [2000-01-01, 2100-01-01), a certificate expiry in [1950-01-01, 10000-01-01) (X.509's and
 * the databases' range), both UTC microseconds since the epoch. */
#define CW_CHECKED_AT_MIN_US 946684800000000LL     /* 2000-01-01T00:00:00Z */
#define CW_CHECKED_AT_MAX_US 4102444800000000LL    /* 2100-01-01T00:00:00Z, excluded */
#define CW_CERT_EXPIRY_MIN_US (-631152000000000LL) /* 1950-01-01T00:00:00Z */
#define CW_CERT_EXPIRY_MAX_US 253402300800000000LL /* 10000-01-01T00:00:00Z, excluded */

/* Encoding a batch: begin, add up to CW_RESULT_BATCH_MAX results, send b->data/b->len.
 * proto_results_add returns 0, or -1 when the batch is full (nothing written). Strings longer than their
 * maximum are cut (an URL longer than CW_URL_MAX cannot pass config validation). */
void proto_results_begin(struct cw_buf *b);
/* NULL when r may go on the wire; else why every decoder would refuse it (and with it its whole batch): an
 * empty url, seq or boot id 0, a check time or certificate expiry outside the ranges above, a negative
 * duration other than -1, a kind above CW_RESULT_KIND_MAX, figures longer than CW_FIGURES_MAX or not one JSON
 * object (common/wire/jsonshape.h). The decoder applies exactly this; a sender checks before proto_results_add, so
 * that one bad result (a clock still at 1970 before NTP) never takes its batch with it. */
const char *proto_result_problem(const struct cw_result *r); /* ... and a location that is neither NULL, "" nor
                                                              * valid (proto_location_valid) */
int proto_results_add(struct cw_buf *b, const struct cw_result *r);
unsigned proto_results_count(const struct cw_buf *b);

/* Decodes a whole result message into out[0..max). Returns the number of results (>= 1), or -1 with *why
 * set to a static reason ("truncated", "bad version", ...). Nothing is returned from a malformed message. */
int proto_results_decode(const void *payload, size_t len, struct cw_result *out, size_t max, const char **why);

/* Counters of one process, for the tap (--stats) and the benchmark. */
struct cw_stat {
    const char *name; /* e.g. "checks", "in_flight", "lateness_p99_us" */
    int64_t value;
};
struct cw_stats {
    const char *role; /* "worker", "storer", "alerter", ... */
    uint32_t id;      /* slot for workers, 0 otherwise */
    uint64_t boot_id;
    int64_t at_us; /* wall clock */
    unsigned count;
    struct cw_stat items[CW_STATS_MAX];
};
int proto_stats_encode(struct cw_buf *b, const struct cw_stats *s); /* 0, or -1 when too many/too long */
int proto_stats_decode(const void *payload, size_t len, struct cw_stats *out, const char **why);

/* An alert: a state change of one endpoint, and its delivery state per channel. The alerter sends the same
 * alert_id again when a delivery state changes; receivers upsert on alert_id. */
enum cw_alert_kind {
    CW_ALERT_DOWN = 1,
    CW_ALERT_UP = 2,
    CW_ALERT_SLOW = 3,
    CW_ALERT_FAST = 4,
    CW_ALERT_TLS_EXPIRY = 5,
    CW_ALERT_REMINDER = 6,
    CW_ALERT_FLAPPING = 7,        /* the endpoint started flapping (then quiet until it is stable) */
    CW_ALERT_ESCALATION = 8,      /* an open, unacknowledged incident handed to the next channels */
    CW_ALERT_LOCATION_SILENT = 9, /* reserved for issue 16 */
    CW_ALERT_LOCATION_BACK = 10,  /* reserved for issue 16 */
    CW_ALERT_KIND_MAX = 10,
};
enum cw_delivery {
    CW_DELIVERY_NONE = 0,    /* channel not configured */
    CW_DELIVERY_PENDING = 1, /* queued or being retried */
    CW_DELIVERY_SENT = 2,
    CW_DELIVERY_FAILED = 3, /* given up (only after the retry budget) */
    CW_DELIVERY_MUTED = 4,  /* not sent on purpose: see the alert's `muted` */
    CW_DELIVERY_MAX = 4,
};
/* Why an alert was not sent (CW_DELIVERY_MUTED): the first reason that applied. */
enum cw_mute {
    CW_MUTE_NONE = 0,
    CW_MUTE_MAINTENANCE = 1,  /* a maintenance window covers the endpoint */
    CW_MUTE_SILENCE = 2,      /* a silence (`clockwerk silence add`) covers it */
    CW_MUTE_FLAPPING = 3,     /* the endpoint is flapping (one `flapping` alert was sent) */
    CW_MUTE_DEPENDENCY = 4,   /* folded into its parent's incident (depends_on) */
    CW_MUTE_ACKNOWLEDGED = 5, /* a reminder or escalation of an acknowledged incident */
    CW_MUTE_NO_ROUTE = 6,     /* no channel takes this kind of alert of this endpoint */
    CW_MUTE_MAX = 6,
};
const char *proto_mute_name(unsigned mute); /* "none", "maintenance", "silence", ... or NULL */
/* True when s is NULL, "" or "NAME=STATE" items joined by "," (NAME: 1..64 of [A-Za-z0-9_.-]; STATE:
 * proto_delivery_name). */
bool proto_deliveries_valid(const char *s);

struct cw_alert {
    uint64_t alert_id;      /* deterministic: the same state change always gets the same id */
    uint64_t incident_id;   /* the id of the DOWN alert that opened the incident it belongs to; 0: none */
    uint8_t muted;          /* enum cw_mute */
    const char *deliveries; /* per channel "NAME=STATE" joined by ","; "" when none (docs/protocol.md) */
    int64_t raised_at_us;   /* wall clock */
    uint8_t kind;           /* enum cw_alert_kind */
    uint8_t email_state;    /* enum cw_delivery */
    uint8_t webhook_state;  /* enum cw_delivery */
    const char *url;
    const char *name;    /* "" when the endpoint has none */
    const char *message; /* human-readable text */
};
const char *proto_alert_kind_name(unsigned kind); /* "down", "up", "slow", "fast", ... or NULL */
const char *proto_delivery_name(unsigned state);  /* "none", "pending", "sent", "failed" or NULL */
/* Version 1 when the alert says nothing version 2 added, else version 2; 0, or -1 when invalid (an unknown kind,
 * state or mute reason, an empty url, a malformed or overlong deliveries list). NULL strings travel as "". */
int proto_alert_encode(struct cw_buf *b, const struct cw_alert *a);
/* Versions 1 and 2; a version 1 alert decodes with incident_id 0, muted NONE, deliveries "". */
int proto_alert_decode(const void *payload, size_t len, struct cw_alert *out, const char **why);

/* ---- issue 16: locations (docs/protocol.md 2.9 - 2.11). Times are wall clock, UTC µs. */
#define CW_PROTO_LOC_VERSION 1
#define CW_PROTO_LOCATION_MAX 32 /* bytes of a location name (config.h: CW_LOCATION_NAME_MAX, the same) */
/* True when s is a location name: 1..CW_PROTO_LOCATION_MAX bytes of [A-Za-z0-9_.-]. */
bool proto_location_valid(const char *s);
#define CW_LOCATIONS_MAX 64 /* locations in one CW_MSG_LOCATIONS */
#define CW_OFFSET_UNKNOWN INT64_MIN
/* A location whose |clock offset| is above this is skewed: the alerter logs it, `clockwerk status` and the web
 * show it. */
#define CW_CLOCK_SKEW_WARN_US 1000000LL

/* A worker's heartbeat to the alerter, sent outside the acknowledged queue (nothing is resent). */
struct cw_hello {
    const char *location;
    uint32_t worker;
    uint64_t boot_id;
    int64_t sent_at_us; /* the worker's clock when sent (t1) */
    int64_t offset_us;  /* its last measurement of (its clock - the alerter's), CW_OFFSET_UNKNOWN when none */
    int64_t rtt_us;     /* the round trip of that measurement; -1 when none */
    uint32_t endpoints; /* endpoints the worker checks */
};
int proto_hello_encode(struct cw_buf *b, const struct cw_hello *h); /* 0, or -1 when invalid */
int proto_hello_decode(const void *payload, size_t len, struct cw_hello *out, const char **why);

/* The alerter's answer to one HELLO: offset = (t1 + t4) / 2 - received_at (t4: when the worker got it). */
struct cw_hello_echo {
    int64_t sent_at_us;     /* the HELLO's sent_at_us, echoed (t1) */
    int64_t received_at_us; /* the alerter's clock when the HELLO arrived (t2 = t3) */
};
int proto_hello_echo_encode(struct cw_buf *b, const struct cw_hello_echo *e);
int proto_hello_echo_decode(const void *payload, size_t len, struct cw_hello_echo *out, const char **why);

/* A probe host asks for its configuration: at start, then every few seconds (also its clock's offset). */
struct cw_config_get {
    const char *location;
    uint64_t have_hash; /* the hash of the configuration it runs (0: none) */
    int64_t sent_at_us; /* its clock when sent */
};
int proto_config_get_encode(struct cw_buf *b, const struct cw_config_get *g);
int proto_config_get_decode(const void *payload, size_t len, struct cw_config_get *out, const char **why);

enum cw_config_status {
    CW_CONFIG_NEW = 0,       /* a configuration follows (snapshot bytes, addresses) */
    CW_CONFIG_UNCHANGED = 1, /* have_hash is current: nothing follows */
    CW_CONFIG_REFUSED = 2,   /* reason says why (unknown location, a key that is not this location's) */
};
struct cw_config_reply {
    uint8_t status;            /* enum cw_config_status */
    uint64_t hash;             /* the hash of the location's configuration (NEW, UNCHANGED) */
    int64_t echo_sent_at_us;   /* the request's sent_at_us */
    int64_t central_at_us;     /* the central host's clock when it answered */
    const char *reason;        /* REFUSED: one line; "" otherwise */
    const char *store_address; /* NEW: where the probe's workers send results: the central's, a wildcard host */
    const char *alert_address; /*      (*, 0.0.0.0, [::]) as it is: the probe host puts its central's host there */
    const char *publish_address;
    const unsigned char *snapshot; /* NEW: config_snapshot_encode's bytes */
    size_t snapshot_len;
};
#define CW_CONFIG_MSG_MAX (256u * 1024 * 1024) /* largest CW_MSG_CONFIG a probe host accepts */
#define CW_ADDRESS_MAX 1024 /* bytes of a bus address in CW_MSG_CONFIG and in a probe host's central.snap */
int proto_config_reply_encode(struct cw_buf *b, const struct cw_config_reply *r);
int proto_config_reply_decode(const void *payload, size_t len, struct cw_config_reply *out, const char **why);

/* The alerter's view of every location (best effort, once a second), for the web and the tap. */
struct cw_location_state {
    const char *name;
    uint8_t state;         /* 0 unknown (not heard since the alerter started), 1 live, 2 silent */
    int64_t last_heard_us; /* wall clock of its last HELLO or result; 0: never */
    int64_t offset_us;     /* its clock - the central's; CW_OFFSET_UNKNOWN */
    int64_t rtt_us;        /* -1: unknown */
    uint32_t workers;      /* workers heard within location_silent_after */
};
struct cw_locations_msg {
    int64_t at_us;
    unsigned count;
    struct cw_location_state loc[CW_LOCATIONS_MAX];
};
enum { CW_LOCATION_UNKNOWN = 0, CW_LOCATION_LIVE = 1, CW_LOCATION_SILENT = 2 };
/* "live", "silent", "unknown" (anything else too): for the state file, status, the web and the tap. */
const char *proto_location_state_name(unsigned state);
int proto_locations_encode(struct cw_buf *b, const struct cw_locations_msg *m);
int proto_locations_decode(const void *payload, size_t len, struct cw_locations_msg *out, const char **why);

#endif
