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
/* Results are version 2 when a record carries a kind other than http or figures (docs/protocol.md 2.3 and 3);
 * a batch of http results without figures is still written as version 1. Receivers decode both. */
#define CW_PROTO_RESULT_VERSION 2
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
};

#define CW_RESULT_BATCH_MAX 512 /* results in one message */
#define CW_STATS_MAX 64         /* key/value pairs in one stats message */
#define CW_URL_MAX 4096         /* bytes, without the NUL */
#define CW_ERROR_MAX 1024       /* bytes of error text; longer text is cut by the encoder */
#define CW_NAME_MAX 1024        /* endpoint names and stats keys/roles (keys are at most 255) */
#define CW_MESSAGE_MAX 8192     /* alert message text */
#define CW_DELIVERIES_MAX 4096  /* an alert's per-channel deliveries list */
/* Largest payload frame any valid message can have (a full batch of results with the longest strings and
 * figures is 512 x 7,265 bytes, about 3.6 MiB). Receiving sockets refuse larger frames (ZMQ_MAXMSGSIZE: the peer is
 * disconnected). */
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
const char *proto_result_problem(const struct cw_result *r);
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

#endif
