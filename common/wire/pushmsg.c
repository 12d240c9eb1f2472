/* common/wire/pushmsg.c — the push message's encoder, defensive decoder and the cleaning of a caller's msg (see
 * pushmsg.h). */
#include "common/wire/pushmsg.h"

#include <string.h>

#include "common/base/le.h"
#include "common/wire/protocol.h"

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return true;
    return false;
}

static bool time_ok(int64_t us) { return us >= CW_CHECKED_AT_MIN_US && us < CW_CHECKED_AT_MAX_US; }

/* A field of pushmsg's layout: u16 length, bytes, NUL. */
static void put_field(struct cw_buf *b, const char *s, size_t n)
{
    le_buf_u16(b, (uint16_t)n);
    cw_buf_put(b, s, n);
    le_buf_u8(b, 0);
}

int proto_push_encode(struct cw_buf *b, const struct cw_push_call *call)
{
    const char *msg = call->msg ? call->msg : "";
    size_t ulen = call->url ? strlen(call->url) : 0, mlen = strlen(msg);
    if (ulen == 0 || ulen > CW_URL_MAX || mlen > CW_PUSH_MSG_MAX || has_control(msg, mlen) ||
        !time_ok(call->received_at_us))
        return -1;
    cw_buf_reset(b);
    le_buf_u8(b, CW_PROTO_VERSION);
    le_buf_u8(b, CW_MSG_PUSH);
    le_buf_u16(b, 1);
    le_buf_u64(b, (uint64_t)call->received_at_us);
    le_buf_u8(b, call->down ? 1 : 0);
    le_buf_u8(b, 0);
    put_field(b, call->url, ulen);
    put_field(b, msg, mlen);
    return 0;
}

/* A field of at most max bytes in place (NUL-terminated in the payload); NULL when the reader failed. */
static const char *take_field(struct le_reader *r, size_t max)
{
    size_t n = le_read_u16(r);
    if (r->why) return NULL;
    if (n > max) return le_reader_fail(r, "string too long"), NULL;
    const uint8_t *at = le_read_bytes(r, n + 1);
    if (!at) return NULL;
    if (at[n] != 0) return le_reader_fail(r, "string not terminated"), NULL;
    if (memchr(at, 0, n)) return le_reader_fail(r, "NUL inside a string"), NULL;
    return (const char *)at;
}

int proto_push_decode(const void *payload, size_t len, struct cw_push_call *out, const char **why)
{
    struct le_reader r = le_reader_of(payload, len);
    memset(out, 0, sizeof *out);
    uint8_t version = le_read_u8(&r), type = le_read_u8(&r);
    uint16_t count = le_read_u16(&r);
    int64_t at = (int64_t)le_read_u64(&r);
    uint8_t status = le_read_u8(&r);
    (void)le_read_u8(&r); /* reserved */
    const char *url = take_field(&r, CW_URL_MAX);
    const char *msg = take_field(&r, CW_PUSH_MSG_MAX);
    if (!r.why && version != CW_PROTO_VERSION) le_reader_fail(&r, "unsupported version");
    if (!r.why && type != CW_MSG_PUSH) le_reader_fail(&r, "type does not match topic");
    if (!r.why && count != 1) le_reader_fail(&r, "push count is not 1");
    if (!r.why && status > 1) le_reader_fail(&r, "unknown push status");
    if (!r.why && !time_ok(at)) le_reader_fail(&r, "check time out of range");
    if (!r.why && url[0] == '\0') le_reader_fail(&r, "empty url");
    if (!r.why && has_control(msg, strlen(msg))) le_reader_fail(&r, "control character in msg");
    if (!r.why && r.left) le_reader_fail(&r, "trailing bytes");
    if (r.why) {
        if (why) *why = r.why;
        return -1;
    }
    *out = (struct cw_push_call){ .url = url, .received_at_us = at, .down = status == 1, .msg = msg };
    return 0;
}

void proto_push_clean_msg(const char *in, char *out)
{
    size_t o = 0;
    for (const char *p = in ? in : ""; *p;) {
        size_t n = cw_utf8_seq_len((const unsigned char *)p);
        if (n == 0 || (n == 1 && ((unsigned char)*p < 0x20 || *p == 0x7f))) n = 0;
        size_t take = n ? n : 1;
        if (o + take > CW_PUSH_MSG_MAX) break;
        if (n) memcpy(out + o, p, n);
        else out[o] = '?';
        o += take;
        p += take;
    }
    out[o] = '\0';
}
