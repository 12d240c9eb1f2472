/* common/bus/ackmsg.c — the `ack` message (docs/protocol.md 2.6): its encoder, its defensive decoder (versions 1
 * and 2), and the names it gives to what it acknowledges (a refused payload's digest, an alert record's version).
 * Declared in common/bus/ackq.h, whose queue is its main reader. */
#include <stddef.h>
#include <stdint.h>

#include "common/base/le.h"
#include "common/bus/ackq.h"
#include "common/wire/protocol.h"

#define ACK_V1 1           /* every range durable, 28 bytes each */
#define ACK_V2 2           /* a kind byte before each range: 29 bytes each */
#define ACK_RANGE_BYTES 28 /* u32 worker, u64 boot_id, u64 first, u64 last */

/* NULL when r is a valid range, else why not. */
static const char *range_problem(const struct ackq_range *r)
{
    if (r->kind == ACKQ_DURABLE) return r->first == 0 || r->first > r->last ? "bad range" : NULL;
    if (r->kind != ACKQ_REFUSED) return "unknown kind";
    if (r->worker != 0 || r->first != r->last || r->first == 0 || r->first > CW_PAYLOAD_MAX) return "bad refusal";
    return NULL;
}

int ackq_ack_encode(struct cw_buf *b, const struct ackq_range *r, size_t n)
{
    cw_buf_reset(b);
    if (n == 0 || n > ACKQ_RANGES_MAX) return -1;
    uint8_t version = ACK_V1;
    for (size_t i = 0; i < n; i++) {
        if (range_problem(&r[i])) return -1;
        if (r[i].kind != ACKQ_DURABLE) version = ACK_V2;
    }
    uint8_t h[4] = { version, CW_MSG_ACK };
    le_put_u16(h + 2, (uint16_t)n);
    cw_buf_put(b, h, sizeof h);
    for (size_t i = 0; i < n; i++) {
        uint8_t rec[1 + ACK_RANGE_BYTES];
        uint8_t *p = rec;
        if (version == ACK_V2) *p++ = r[i].kind;
        le_put_u32(p, r[i].worker);
        le_put_u64(p + 4, r[i].boot_id);
        le_put_u64(p + 12, r[i].first);
        le_put_u64(p + 20, r[i].last);
        cw_buf_put(b, rec, (size_t)(p - rec) + ACK_RANGE_BYTES);
    }
    return 0;
}

int ackq_ack_decode(const void *payload, size_t len, struct ackq_range *out, size_t max, const char **why)
{
    const uint8_t *p = payload;
    if (!p || len < 4) return *why = "truncated", -1;
    if (p[0] != ACK_V1 && p[0] != ACK_V2) return *why = "bad version", -1;
    if (p[1] != CW_MSG_ACK) return *why = "type does not match topic", -1;
    size_t n = le_get_u16(p + 2);
    if (n == 0 || n > ACKQ_RANGES_MAX) return *why = "bad count", -1;
    size_t rec_bytes = ACK_RANGE_BYTES + (p[0] == ACK_V2 ? 1 : 0);
    if (len != 4 + n * rec_bytes) return *why = len < 4 + n * rec_bytes ? "truncated" : "trailing bytes", -1;
    if (n > max) return *why = "too many ranges", -1;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *rec = p + 4 + i * rec_bytes;
        uint8_t kind = ACKQ_DURABLE;
        if (p[0] == ACK_V2) kind = *rec++;
        out[i] = (struct ackq_range){ .worker = le_get_u32(rec),
                                      .boot_id = le_get_u64(rec + 4),
                                      .first = le_get_u64(rec + 12),
                                      .last = le_get_u64(rec + 20),
                                      .kind = kind };
        const char *problem = range_problem(&out[i]);
        if (problem) return *why = problem, -1;
    }
    return (int)n;
}

uint64_t ackq_payload_digest(const void *payload, size_t len) { return cw_hash64_mem(payload, len); }

struct ackq_range ackq_refusal(const void *payload, size_t len)
{
    return (struct ackq_range){
        .worker = 0, .boot_id = ackq_payload_digest(payload, len), .first = len, .last = len, .kind = ACKQ_REFUSED
    };
}

uint64_t ackq_alert_record_version(const struct cw_alert *a)
{
    uint64_t settled = 0;
    for (const char *p = a->deliveries ? strchr(a->deliveries, '=') : NULL; p; p = strchr(p + 1, '='))
        settled += strncmp(p + 1, "pending", 7) != 0 && strncmp(p + 1, "none", 4) != 0;
    return 1 + (uint64_t)a->email_state * 5 + a->webhook_state + (a->muted ? 25 : 0) + 50 * settled;
}

uint64_t ackq_alert_version(uint8_t email_state, uint8_t webhook_state)
{
    return 1 + (uint64_t)(email_state & 3) * 4 + (uint64_t)(webhook_state & 3);
}
