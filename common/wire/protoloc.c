/* common/wire/protoloc.c — encoders and defensive decoders of the location messages of issue 16 (protocol.h,
 * docs/protocol.md 2.9 - 2.11): HELLO, HELLO_ECHO, CONFIG_GET, CONFIG and LOCATIONS. Each is the 4-byte header
 * (version CW_PROTO_LOC_VERSION) and fixed fields; every value is checked against its range by the encoder and the
 * decoder alike (one *_problem function per message), so that what one side writes the other accepts. */
#include <string.h>

#include "common/base/le.h"
#include "common/wire/proto_codec.h"
#include "common/wire/protocol.h"

#define RTT_MAX_US 3600000000LL /* a round trip above an hour is not a measurement */
/* |offset| cannot exceed the span of the accepted clock readings */
#define OFFSET_MAX_US (CW_CHECKED_AT_MAX_US - CW_CHECKED_AT_MIN_US)

bool proto_location_valid(const char *s)
{
    if (!s) return false;
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    return n >= 1 && n <= CW_PROTO_LOCATION_MAX && s[n] == '\0';
}

static bool clock_valid(int64_t t) { return t >= CW_CHECKED_AT_MIN_US && t < CW_CHECKED_AT_MAX_US; }

/* An offset and the round trip it was measured with: both unknown, or both known and in range. */
static const char *offset_problem(int64_t offset_us, int64_t rtt_us)
{
    if (offset_us == CW_OFFSET_UNKNOWN) return rtt_us == -1 ? NULL : "round trip without an offset";
    if (offset_us < -OFFSET_MAX_US || offset_us > OFFSET_MAX_US) return "offset out of range";
    if (rtt_us < 0 || rtt_us > RTT_MAX_US) return "round trip out of range";
    return NULL;
}

/* Starts a decode: the header of `type`, version CW_PROTO_LOC_VERSION; returns the count, or -1. */
static int loc_header(struct le_reader *r, enum cw_msg_type type)
{
    return proto_get_header(r, type, CW_PROTO_LOC_VERSION, CW_PROTO_LOC_VERSION, NULL);
}

static void loc_put_header(struct cw_buf *b, enum cw_msg_type type, uint16_t count)
{
    proto_put_header(b, type, count);
    b->data[0] = CW_PROTO_LOC_VERSION;
}

/* Fails the reader with `why` unless it failed already or why is NULL. */
static void check(struct le_reader *r, const char *why)
{
    if (why && !r->why) le_reader_fail(r, why);
}

static void expect_one(struct le_reader *r, int count)
{
    if (count != 1) check(r, "count is not 1");
}

/* ---- HELLO */

static const char *hello_problem(const struct cw_hello *h)
{
    if (!proto_location_valid(h->location)) return "bad location";
    if (h->boot_id == 0) return "zero boot id";
    if (!clock_valid(h->sent_at_us)) return "send time out of range";
    return offset_problem(h->offset_us, h->rtt_us);
}

int proto_hello_encode(struct cw_buf *b, const struct cw_hello *h)
{
    if (hello_problem(h)) return -1;
    loc_put_header(b, CW_MSG_HELLO, 1);
    proto_put_str(b, h->location, CW_PROTO_LOCATION_MAX);
    le_buf_u32(b, h->worker);
    le_buf_u64(b, h->boot_id);
    le_buf_u64(b, (uint64_t)h->sent_at_us);
    le_buf_u64(b, (uint64_t)h->offset_us);
    le_buf_u64(b, (uint64_t)h->rtt_us);
    le_buf_u32(b, h->endpoints);
    return 0;
}

int proto_hello_decode(const void *payload, size_t len, struct cw_hello *out, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    expect_one(&r, loc_header(&r, CW_MSG_HELLO));
    out->location = proto_get_str(&r, CW_PROTO_LOCATION_MAX);
    out->worker = le_read_u32(&r);
    out->boot_id = le_read_u64(&r);
    out->sent_at_us = (int64_t)le_read_u64(&r);
    out->offset_us = (int64_t)le_read_u64(&r);
    out->rtt_us = (int64_t)le_read_u64(&r);
    out->endpoints = le_read_u32(&r);
    if (!r.why) check(&r, hello_problem(out));
    return proto_finish(&r, 0, why);
}

/* ---- HELLO_ECHO */

int proto_hello_echo_encode(struct cw_buf *b, const struct cw_hello_echo *e)
{
    if (!clock_valid(e->sent_at_us) || !clock_valid(e->received_at_us)) return -1;
    loc_put_header(b, CW_MSG_HELLO_ECHO, 1);
    le_buf_u64(b, (uint64_t)e->sent_at_us);
    le_buf_u64(b, (uint64_t)e->received_at_us);
    return 0;
}

int proto_hello_echo_decode(const void *payload, size_t len, struct cw_hello_echo *out, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    expect_one(&r, loc_header(&r, CW_MSG_HELLO_ECHO));
    out->sent_at_us = (int64_t)le_read_u64(&r);
    out->received_at_us = (int64_t)le_read_u64(&r);
    if (!r.why && (!clock_valid(out->sent_at_us) || !clock_valid(out->received_at_us))) check(&r, "time out of range");
    return proto_finish(&r, 0, why);
}

/* ---- CONFIG_GET */

static const char *config_get_problem(const struct cw_config_get *g)
{
    if (!proto_location_valid(g->location)) return "bad location";
    if (!clock_valid(g->sent_at_us)) return "send time out of range";
    return NULL;
}

int proto_config_get_encode(struct cw_buf *b, const struct cw_config_get *g)
{
    if (config_get_problem(g)) return -1;
    loc_put_header(b, CW_MSG_CONFIG_GET, 1);
    proto_put_str(b, g->location, CW_PROTO_LOCATION_MAX);
    le_buf_u64(b, g->have_hash);
    le_buf_u64(b, (uint64_t)g->sent_at_us);
    return 0;
}

int proto_config_get_decode(const void *payload, size_t len, struct cw_config_get *out, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    expect_one(&r, loc_header(&r, CW_MSG_CONFIG_GET));
    out->location = proto_get_str(&r, CW_PROTO_LOCATION_MAX);
    out->have_hash = le_read_u64(&r);
    out->sent_at_us = (int64_t)le_read_u64(&r);
    if (!r.why) check(&r, config_get_problem(out));
    return proto_finish(&r, 0, why);
}

/* ---- CONFIG */

static bool empty(const char *s) { return !s || !s[0]; }

static bool fits(const char *s, size_t max) { return !s || strlen(s) <= max; }

/* What the status allows: NEW has a hash, three addresses and snapshot bytes; UNCHANGED a hash and nothing else;
 * REFUSED a reason and nothing else (hash 0). */
static const char *config_reply_problem(const struct cw_config_reply *c)
{
    if (!clock_valid(c->echo_sent_at_us) || !clock_valid(c->central_at_us)) return "time out of range";
    if (!fits(c->reason, CW_ERROR_MAX) || !fits(c->store_address, CW_ADDRESS_MAX) ||
        !fits(c->alert_address, CW_ADDRESS_MAX) || !fits(c->publish_address, CW_ADDRESS_MAX))
        return "string too long";
    bool addresses = !empty(c->store_address) && !empty(c->alert_address) && !empty(c->publish_address);
    bool no_addresses = empty(c->store_address) && empty(c->alert_address) && empty(c->publish_address);
    bool snapshot = c->snapshot && c->snapshot_len > 0;
    if (c->snapshot_len > CW_CONFIG_MSG_MAX - 4096) return "snapshot too large";
    switch (c->status) {
    case CW_CONFIG_NEW:
        if (c->hash == 0) return "zero hash";
        if (!empty(c->reason)) return "reason on a configuration";
        if (!addresses) return "configuration without addresses";
        if (!snapshot) return "configuration without snapshot";
        return NULL;
    case CW_CONFIG_UNCHANGED:
        if (c->hash == 0) return "zero hash";
        if (!empty(c->reason) || !no_addresses || c->snapshot_len) return "unchanged with a configuration";
        return NULL;
    case CW_CONFIG_REFUSED:
        if (empty(c->reason)) return "refusal without a reason";
        if (c->hash != 0 || !no_addresses || c->snapshot_len) return "refusal with a configuration";
        return NULL;
    default:
        return "unknown status";
    }
}

int proto_config_reply_encode(struct cw_buf *b, const struct cw_config_reply *c)
{
    if (config_reply_problem(c)) return -1;
    loc_put_header(b, CW_MSG_CONFIG, 1);
    le_buf_u8(b, c->status);
    le_buf_u64(b, c->hash);
    le_buf_u64(b, (uint64_t)c->echo_sent_at_us);
    le_buf_u64(b, (uint64_t)c->central_at_us);
    proto_put_str(b, c->reason, CW_ERROR_MAX);
    proto_put_str(b, c->store_address, CW_ADDRESS_MAX);
    proto_put_str(b, c->alert_address, CW_ADDRESS_MAX);
    proto_put_str(b, c->publish_address, CW_ADDRESS_MAX);
    le_buf_u32(b, (uint32_t)c->snapshot_len);
    if (c->snapshot_len) cw_buf_put(b, c->snapshot, c->snapshot_len);
    return 0;
}

int proto_config_reply_decode(const void *payload, size_t len, struct cw_config_reply *out, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    expect_one(&r, loc_header(&r, CW_MSG_CONFIG));
    out->status = le_read_u8(&r);
    out->hash = le_read_u64(&r);
    out->echo_sent_at_us = (int64_t)le_read_u64(&r);
    out->central_at_us = (int64_t)le_read_u64(&r);
    out->reason = proto_get_str(&r, CW_ERROR_MAX);
    out->store_address = proto_get_str(&r, CW_ADDRESS_MAX);
    out->alert_address = proto_get_str(&r, CW_ADDRESS_MAX);
    out->publish_address = proto_get_str(&r, CW_ADDRESS_MAX);
    out->snapshot_len = le_read_u32(&r);
    out->snapshot = le_read_bytes(&r, out->snapshot_len);
    if (!r.why && out->snapshot_len == 0) out->snapshot = NULL;
    if (!r.why) check(&r, config_reply_problem(out));
    return proto_finish(&r, 0, why);
}

/* ---- LOCATIONS */

const char *proto_location_state_name(unsigned state)
{
    return state == CW_LOCATION_LIVE ? "live" : state == CW_LOCATION_SILENT ? "silent" : "unknown";
}

static const char *location_state_problem(const struct cw_location_state *l)
{
    if (!proto_location_valid(l->name)) return "bad location";
    if (l->state > CW_LOCATION_SILENT) return "unknown location state";
    if (l->last_heard_us != 0 && !clock_valid(l->last_heard_us)) return "time out of range";
    if (l->state == CW_LOCATION_LIVE && l->last_heard_us == 0) return "live but never heard";
    return offset_problem(l->offset_us, l->rtt_us);
}

/* Every entry valid, and no name twice. */
static const char *locations_problem(const struct cw_locations_msg *m)
{
    if (m->count > CW_LOCATIONS_MAX) return "too many locations";
    if (!clock_valid(m->at_us)) return "time out of range";
    for (unsigned i = 0; i < m->count; i++) {
        const char *why = location_state_problem(&m->loc[i]);
        if (why) return why;
        for (unsigned j = 0; j < i; j++)
            if (strcmp(m->loc[i].name, m->loc[j].name) == 0) return "location twice";
    }
    return NULL;
}

int proto_locations_encode(struct cw_buf *b, const struct cw_locations_msg *m)
{
    if (locations_problem(m)) return -1;
    loc_put_header(b, CW_MSG_LOCATIONS, (uint16_t)m->count);
    le_buf_u64(b, (uint64_t)m->at_us);
    for (unsigned i = 0; i < m->count; i++) {
        const struct cw_location_state *l = &m->loc[i];
        proto_put_str(b, l->name, CW_PROTO_LOCATION_MAX);
        le_buf_u8(b, l->state);
        le_buf_u64(b, (uint64_t)l->last_heard_us);
        le_buf_u64(b, (uint64_t)l->offset_us);
        le_buf_u64(b, (uint64_t)l->rtt_us);
        le_buf_u32(b, l->workers);
    }
    return 0;
}

int proto_locations_decode(const void *payload, size_t len, struct cw_locations_msg *out, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    int count = loc_header(&r, CW_MSG_LOCATIONS);
    if (count > CW_LOCATIONS_MAX) check(&r, "too many locations");
    out->at_us = (int64_t)le_read_u64(&r);
    out->count = 0;
    for (int i = 0; !r.why && i < count; i++) {
        struct cw_location_state *l = &out->loc[i];
        l->name = proto_get_str(&r, CW_PROTO_LOCATION_MAX);
        l->state = le_read_u8(&r);
        l->last_heard_us = (int64_t)le_read_u64(&r);
        l->offset_us = (int64_t)le_read_u64(&r);
        l->rtt_us = (int64_t)le_read_u64(&r);
        l->workers = le_read_u32(&r);
        out->count = (unsigned)i + 1;
    }
    if (!r.why) check(&r, locations_problem(out));
    if (proto_finish(&r, 0, why) == 0) return 0;
    out->count = 0;
    return -1;
}
