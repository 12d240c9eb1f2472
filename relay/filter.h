/* relay/filter.h — what the relay lets through from a probe host (issue 16, docs/protocol.md 8): a message that
 * reached the relay's XSUB with the CURVE key of a `locations` entry may only be a `result` whose every record
 * carries that entry's location, or a `stats`; anything else from such a key — an alert, a LOCATIONS message,
 * results claiming another location (or none), push or config messages, anything malformed — is dropped, so
 * that one probe host cannot speak for another location nor for the central's alerter. Messages with any other
 * key (the central's own, bus.curve_allowed_keys) pass as they are; messages without one (ipc://, no CURVE)
 * never reach the filter (common/bus/bus.c: bus_relay_run).
 *
 * relay_judge is pure (no I/O; tests/unit/test_relay_filter.c); relay_filter adds the counters and the
 * rate-limited log line, and is the relay's bus_relay_admit_fn. */
#ifndef CW_RELAY_FILTER_H
#define CW_RELAY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/ratelimit.h"
#include "common/config/config.h"
#include "common/wire/protocol.h"

enum relay_verdict {
    RELAY_PASS = 0,
    RELAY_DROP_KIND,      /* a message a probe host never publishes: alert, locations, push, hello, config ... */
    RELAY_DROP_LOCATION,  /* results with a record of another location than the key's */
    RELAY_DROP_MALFORMED, /* not two frames, an unknown topic, a payload that does not decode */
    RELAY_VERDICTS
};

/* The verdict on one message (topic frame, payload frame; payload NULL when the message is not two frames) that
 * came with CURVE key peer_key (Z85). *location is set to the key's location when it is one (else NULL), and
 * *claimed, for RELAY_DROP_LOCATION, to the first record's location that is not it ("" for none). scratch holds
 * CW_RESULT_BATCH_MAX results (the decoded batch points into payload). */
enum relay_verdict relay_judge(const struct cw_config *cfg, const char *peer_key, const void *topic, size_t topic_len,
                               const void *payload, size_t len, struct cw_result *scratch, const char **location,
                               const char **claimed);

struct relay_filter {
    const struct cw_config *cfg;
    struct cw_result *scratch; /* CW_RESULT_BATCH_MAX */
    uint64_t dropped[RELAY_VERDICTS];
    struct ratelimit rl;
};

/* 0, or -1 when out of memory. */
int relay_filter_init(struct relay_filter *f, const struct cw_config *cfg);
void relay_filter_free(struct relay_filter *f);

/* bus_relay_admit_fn (arg: the struct relay_filter): relay_judge, and a dropped message counted and logged
 * (rate-limited: common/base/ratelimit.h) with the key, its location and what it carried. */
bool relay_filter_admit(void *arg, const char *peer_key, const void *topic, size_t topic_len, const void *payload,
                        size_t len);

/* Messages dropped so far (every reason). */
uint64_t relay_filter_dropped(const struct relay_filter *f);

#endif
