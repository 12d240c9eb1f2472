/* common/wire/protocol.c — encoders and defensive decoders for the wire format described in protocol.h and
 * docs/protocol.md. A decoder never trusts a length: every read is bounds-checked against the payload. */
#include "common/wire/protocol.h"

#include <string.h>

#include "common/base/le.h"
#include "common/wire/jsonshape.h"
#include "common/wire/proto_codec.h"

/* ---- topics */

static const char *const topics[] = { [CW_MSG_RESULT] = "result",
                                      [CW_MSG_STATS] = "stats",
                                      [CW_MSG_ALERT] = "alert",
                                      [CW_MSG_ACK] = "ack",
                                      [CW_MSG_PUSH] = "push",
                                      [CW_MSG_HELLO] = "hello",
                                      [CW_MSG_HELLO_ECHO] = "hello_echo",
                                      [CW_MSG_CONFIG_GET] = "config_get",
                                      [CW_MSG_CONFIG] = "config",
                                      [CW_MSG_LOCATIONS] = "locations" };
#define LAST_TYPE CW_MSG_LOCATIONS

const char *proto_topic(enum cw_msg_type type)
{
    if (type <= CW_MSG_INVALID || type > LAST_TYPE) return NULL;
    return topics[type];
}

enum cw_msg_type proto_type_of_topic(const void *topic, size_t len)
{
    for (int t = CW_MSG_RESULT; t <= LAST_TYPE; t++)
        if (strlen(topics[t]) == len && memcmp(topics[t], topic, len) == 0) return (enum cw_msg_type)t;
    return CW_MSG_INVALID;
}

/* ---- writers (integers: common/base/le.h) */

/* A string: u16 length, bytes, NUL. Cut at max bytes, and at an embedded NUL (none can be in a C string).
 * A cut never splits a UTF-8 sequence: it backs up to the start of the character it would split, so that
 * a consumer that decodes strings as UTF-8 (Python, Go, JSON) does not choke on a half character. */
void proto_put_str(struct cw_buf *b, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max) {
        n = max;
        size_t lowest = max > 3 ? max - 3 : 0; /* a UTF-8 character is at most 4 bytes */
        while (n > lowest && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    le_buf_u16(b, (uint16_t)n);
    cw_buf_put(b, s ? s : "", n);
    le_buf_u8(b, 0);
}

void proto_put_header(struct cw_buf *b, enum cw_msg_type type, uint16_t count)
{
    cw_buf_reset(b);
    le_buf_u8(b, CW_PROTO_VERSION);
    le_buf_u8(b, (uint8_t)type);
    le_buf_u16(b, count);
}

static void set_count(struct cw_buf *b, uint16_t count) { le_put_u16(b->data + 2, count); }

/* ---- bounds-checked reader (common/base/le.h's, with a sticky reason) */

const char *proto_get_str(struct le_reader *r, size_t max)
{
    uint16_t n = le_read_u16(r);
    if (n > max) {
        le_reader_fail(r, "string too long");
        return NULL;
    }
    const uint8_t *s = le_read_bytes(r, (size_t)n + 1);
    if (!s) return NULL;
    if (s[n] != 0) {
        le_reader_fail(r, "string not terminated");
        return NULL;
    }
    if (memchr(s, 0, n)) {
        le_reader_fail(r, "NUL inside a string");
        return NULL;
    }
    return (const char *)s;
}

int proto_get_header(struct le_reader *r, enum cw_msg_type type, uint8_t oldest, uint8_t newest, uint8_t *version_out)
{
    uint8_t version = le_read_u8(r);
    uint8_t t = le_read_u8(r);
    uint16_t count = le_read_u16(r);
    if (r->why) return -1;
    if (version < oldest || version > newest) return le_reader_fail(r, "unsupported version"), -1;
    if (version_out) *version_out = version;
    if (t != type) return le_reader_fail(r, "type does not match topic"), -1;
    return count;
}

int proto_finish(struct le_reader *r, int value, const char **why)
{
    if (r->left != 0) le_reader_fail(r, "trailing bytes");
    if (r->why) {
        if (why) *why = r->why;
        return -1;
    }
    return value;
}

/* ---- results */

void proto_results_begin(struct cw_buf *b) { proto_put_header(b, CW_MSG_RESULT, 0); }

unsigned proto_results_count(const struct cw_buf *b)
{
    if (b->len < 4) return 0;
    return le_get_u16(b->data + 2);
}

int proto_results_add(struct cw_buf *b, const struct cw_result *r)
{
    unsigned count = proto_results_count(b);
    if (b->len < 4 || count >= CW_RESULT_BATCH_MAX) return -1;
    le_buf_u32(b, r->worker);
    le_buf_u64(b, r->boot_id);
    le_buf_u64(b, r->seq);
    le_buf_u64(b, (uint64_t)r->checked_at_us);
    le_buf_u64(b, (uint64_t)r->lateness_us);
    le_buf_u64(b, (uint64_t)r->latency_us);
    le_buf_u64(b, (uint64_t)r->dns_us);
    le_buf_u64(b, (uint64_t)r->connect_us);
    le_buf_u64(b, (uint64_t)r->tls_us);
    le_buf_u64(b, (uint64_t)r->ttfb_us);
    bool figures = r->figures && r->figures[0];
    bool location = r->location && r->location[0];
    le_buf_u16(b, r->status_code);
    le_buf_u8(
        b, (uint8_t)((r->ok ? 1 : 0) | (r->tls_expires_at_us != 0 ? 2 : 0) | (figures ? 4 : 0) | (location ? 8 : 0)));
    le_buf_u8(b, r->kind); /* version 1: reserved, 0 (http) */
    proto_put_str(b, r->url, CW_URL_MAX);
    proto_put_str(b, r->ok ? NULL : r->error, CW_ERROR_MAX);
    if (r->tls_expires_at_us != 0) le_buf_u64(b, (uint64_t)r->tls_expires_at_us); /* optional, flags bit 1 */
    if (figures) proto_put_str(b, r->figures, CW_FIGURES_MAX);                    /* optional, flags bit 2 */
    if (location) proto_put_str(b, r->location, CW_PROTO_LOCATION_MAX);           /* optional, flags bit 3 */
    /* the version of a batch is that of its newest record: 2 for a kind or figures, 3 for a location */
    uint8_t version = location ? 3 : (r->kind != 0 || figures) ? 2 : CW_PROTO_VERSION;
    if (version > b->data[0]) b->data[0] = version;
    set_count(b, (uint16_t)(count + 1));
    return 0;
}

const char *proto_result_problem(const struct cw_result *r)
{
    if (!r->url || r->url[0] == '\0') return "empty url";
    if (r->seq == 0) return "zero sequence number";
    if (r->boot_id == 0) return "zero boot id";
    if (r->checked_at_us < CW_CHECKED_AT_MIN_US || r->checked_at_us >= CW_CHECKED_AT_MAX_US)
        return "check time out of range";
    if (r->tls_expires_at_us != 0 &&
        (r->tls_expires_at_us < CW_CERT_EXPIRY_MIN_US || r->tls_expires_at_us >= CW_CERT_EXPIRY_MAX_US))
        return "certificate expiry out of range";
    if (r->latency_us < -1 || r->dns_us < -1 || r->connect_us < -1 || r->tls_us < -1 || r->ttfb_us < -1)
        return "negative duration";
    if (r->kind > CW_RESULT_KIND_MAX) return "unknown check kind";
    if (r->location && r->location[0] && !proto_location_valid(r->location)) return "bad location";
    if (r->figures && r->figures[0]) {
        size_t n = strlen(r->figures);
        if (n > CW_FIGURES_MAX) return "figures too long";
        if (!json_is_object(r->figures, n)) return "figures are not a JSON object";
    }
    return NULL;
}

int proto_results_decode(const void *payload, size_t len, struct cw_result *out, size_t max, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    uint8_t version = 0;
    int count = proto_get_header(&r, CW_MSG_RESULT, CW_PROTO_VERSION, CW_PROTO_RESULT_VERSION, &version);
    uint8_t known_flags = version >= 3 ? 15 : version >= 2 ? 7 : 3;
    if (count == 0 && !r.why) r.why = "empty batch";
    if (count > 0 && ((size_t)count > max || count > CW_RESULT_BATCH_MAX)) r.why = "too many results";
    for (int i = 0; !r.why && i < count; i++) {
        struct cw_result *o = &out[i];
        o->worker = le_read_u32(&r);
        o->boot_id = le_read_u64(&r);
        o->seq = le_read_u64(&r);
        o->checked_at_us = (int64_t)le_read_u64(&r);
        o->lateness_us = (int64_t)le_read_u64(&r);
        o->latency_us = (int64_t)le_read_u64(&r);
        o->dns_us = (int64_t)le_read_u64(&r);
        o->connect_us = (int64_t)le_read_u64(&r);
        o->tls_us = (int64_t)le_read_u64(&r);
        o->ttfb_us = (int64_t)le_read_u64(&r);
        o->status_code = le_read_u16(&r);
        uint8_t flags = le_read_u8(&r);
        uint8_t kind = le_read_u8(&r); /* version 1: reserved, ignored */
        o->kind = version >= 2 ? kind : 0;
        o->url = proto_get_str(&r, CW_URL_MAX);
        o->error = proto_get_str(&r, CW_ERROR_MAX);
        o->tls_expires_at_us = (flags & 2) ? (int64_t)le_read_u64(&r) : 0;
        o->figures = NULL;
        o->location = "";
        if (flags & ~known_flags) r.why = "unknown flags";
        if (flags & 4) o->figures = proto_get_str(&r, CW_FIGURES_MAX);
        if (flags & 8) o->location = proto_get_str(&r, CW_PROTO_LOCATION_MAX);
        if (r.why) break;
        if (o->figures && !o->figures[0]) r.why = "empty figures";
        else if ((flags & 8) && !o->location[0]) r.why = "empty location";
        else if ((flags & 2) && o->tls_expires_at_us == 0) r.why = "zero certificate expiry";
        else if ((flags & 1) && o->error[0]) r.why = "error text on an ok result";
        else r.why = proto_result_problem(o);
        o->ok = flags & 1;
    }
    return proto_finish(&r, count, why);
}

/* ---- stats */

int proto_stats_encode(struct cw_buf *b, const struct cw_stats *s)
{
    if (s->count > CW_STATS_MAX) return -1;
    for (unsigned i = 0; i < s->count; i++)
        if (!s->items[i].name || strlen(s->items[i].name) == 0 || strlen(s->items[i].name) > 255) return -1;
    proto_put_header(b, CW_MSG_STATS, (uint16_t)s->count);
    proto_put_str(b, s->role, 255);
    le_buf_u32(b, s->id);
    le_buf_u64(b, s->boot_id);
    le_buf_u64(b, (uint64_t)s->at_us);
    for (unsigned i = 0; i < s->count; i++) {
        proto_put_str(b, s->items[i].name, 255);
        le_buf_u64(b, (uint64_t)s->items[i].value);
    }
    return 0;
}

int proto_stats_decode(const void *payload, size_t len, struct cw_stats *out, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    int count = proto_get_header(&r, CW_MSG_STATS, CW_PROTO_VERSION, CW_PROTO_VERSION, NULL);
    if (count > CW_STATS_MAX) r.why = "too many stats";
    out->role = proto_get_str(&r, 255);
    out->id = le_read_u32(&r);
    out->boot_id = le_read_u64(&r);
    out->at_us = (int64_t)le_read_u64(&r);
    out->count = 0;
    for (int i = 0; !r.why && i < count; i++) {
        out->items[i].name = proto_get_str(&r, 255);
        out->items[i].value = (int64_t)le_read_u64(&r);
        if (!r.why && out->items[i].name[0] == '\0') r.why = "empty stat name";
        out->count = (unsigned)i + 1;
    }
    if (!r.why && out->role[0] == '\0') r.why = "empty role";
    return proto_finish(&r, count, why) < 0 ? -1 : 0;
}

/* ---- alerts */

static const char *const kind_names[] = { NULL,           "down",     "up",       "slow",       "fast",
                                          "tls_expiry",   "reminder", "flapping", "escalation", "location_silent",
                                          "location_back" };
static const char *const delivery_names[] = { "none", "pending", "sent", "failed", "muted" };
static const char *const mute_names[] = { "none",       "maintenance",  "silence", "flapping",
                                          "dependency", "acknowledged", "no_route" };

const char *proto_mute_name(unsigned mute) { return mute <= CW_MUTE_MAX ? mute_names[mute] : NULL; }

const char *proto_alert_kind_name(unsigned kind)
{
    return (kind >= 1 && kind <= CW_ALERT_KIND_MAX) ? kind_names[kind] : NULL;
}

const char *proto_delivery_name(unsigned state) { return state <= CW_DELIVERY_MAX ? delivery_names[state] : NULL; }

/* True when s is "" or "NAME=STATE" items joined by ",": NAME 1..64 of [A-Za-z0-9_.-], STATE a delivery name. */
bool proto_deliveries_valid(const char *s)
{
    if (!s || !*s) return true;
    for (const char *p = s;;) {
        size_t name = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
        if (name < 1 || name > 64 || p[name] != '=') return false;
        p += name + 1;
        size_t state = strcspn(p, ",");
        bool known = false;
        for (unsigned d = 0; d <= CW_DELIVERY_MAX && !known; d++)
            known = strlen(delivery_names[d]) == state && memcmp(p, delivery_names[d], state) == 0;
        if (!known) return false;
        p += state;
        if (!*p) return true;
        p++; /* the ',' before the next item */
    }
}

/* Version 1 says all of it: no incident, not muted, no per-channel list, a kind and states version 1 had. */
static bool alert_fits_v1(const struct cw_alert *a)
{
    return a->incident_id == 0 && a->muted == CW_MUTE_NONE && (!a->deliveries || !a->deliveries[0]) &&
           a->kind <= CW_ALERT_REMINDER && a->email_state <= CW_DELIVERY_FAILED &&
           a->webhook_state <= CW_DELIVERY_FAILED;
}

int proto_alert_encode(struct cw_buf *b, const struct cw_alert *a)
{
    if (!proto_alert_kind_name(a->kind) || !proto_delivery_name(a->email_state) ||
        !proto_delivery_name(a->webhook_state) || !a->url || !a->url[0] || !proto_mute_name(a->muted) ||
        !proto_deliveries_valid(a->deliveries) || (a->deliveries && strlen(a->deliveries) > CW_DELIVERIES_MAX))
        return -1;
    bool v1 = alert_fits_v1(a);
    proto_put_header(b, CW_MSG_ALERT, 1);
    b->data[0] = v1 ? CW_PROTO_VERSION : CW_PROTO_ALERT_VERSION;
    le_buf_u64(b, a->alert_id);
    le_buf_u64(b, (uint64_t)a->raised_at_us);
    le_buf_u8(b, a->kind);
    le_buf_u8(b, a->email_state);
    le_buf_u8(b, a->webhook_state);
    le_buf_u8(b, v1 ? 0 : a->muted); /* version 1: reserved */
    proto_put_str(b, a->url, CW_URL_MAX);
    proto_put_str(b, a->name, CW_NAME_MAX);
    proto_put_str(b, a->message, CW_MESSAGE_MAX);
    if (!v1) {
        le_buf_u64(b, a->incident_id);
        proto_put_str(b, a->deliveries, CW_DELIVERIES_MAX);
    }
    return 0;
}

int proto_alert_decode(const void *payload, size_t len, struct cw_alert *out, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    uint8_t version = CW_PROTO_VERSION;
    int count = proto_get_header(&r, CW_MSG_ALERT, CW_PROTO_VERSION, CW_PROTO_ALERT_VERSION, &version);
    if (count != 1 && !r.why) r.why = "alert count is not 1";
    out->alert_id = le_read_u64(&r);
    out->raised_at_us = (int64_t)le_read_u64(&r);
    out->kind = le_read_u8(&r);
    out->email_state = le_read_u8(&r);
    out->webhook_state = le_read_u8(&r);
    uint8_t muted = le_read_u8(&r);
    out->muted = version >= 2 ? muted : CW_MUTE_NONE;
    out->url = proto_get_str(&r, CW_URL_MAX);
    out->name = proto_get_str(&r, CW_NAME_MAX);
    out->message = proto_get_str(&r, CW_MESSAGE_MAX);
    out->incident_id = 0;
    out->deliveries = "";
    if (version >= 2) {
        out->incident_id = le_read_u64(&r);
        out->deliveries = proto_get_str(&r, CW_DELIVERIES_MAX);
    }
    if (!r.why) {
        if (!proto_alert_kind_name(out->kind)) r.why = "unknown alert kind";
        else if (!proto_delivery_name(out->email_state) || !proto_delivery_name(out->webhook_state))
            r.why = "unknown delivery state";
        else if (out->url[0] == '\0') r.why = "empty url";
        else if (!proto_mute_name(out->muted)) r.why = "unknown mute reason";
        else if (!proto_deliveries_valid(out->deliveries)) r.why = "bad deliveries";
    }
    return proto_finish(&r, 0, why);
}
