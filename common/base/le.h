/* common/base/le.h — the one little-endian codec of the project: every integer Clockwerk writes to the wire
 * (common/wire/protocol.c, the ack message of common/bus/ackq.c), to the config snapshot (common/config/snapshot.c) or to a
 * spool file (common/wire/spoolfile.c) goes through these helpers.
 *
 * Three layers, all header-only:
 *   le_put_uN / le_get_uN   fixed-size integers at a byte pointer (the caller owns the bounds);
 *   le_buf_uN               append an integer to a growable struct cw_buf;
 *   struct le_reader        a bounded reader over a byte range with a sticky error: the first read past the
 *                           end (or an le_reader_fail) records a reason, every later read returns 0 and
 *                           leaves the reason as it was, so a decoder reads a whole record and checks once. */
#ifndef CW_COMMON_LE_H
#define CW_COMMON_LE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"

/* ---- at a pointer */

static inline void le_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void le_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void le_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t le_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static inline uint32_t le_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le_get_u64(const uint8_t *p)
{
    return (uint64_t)le_get_u32(p) | (uint64_t)le_get_u32(p + 4) << 32;
}

/* ---- appended to a buffer */

static inline void le_buf_u8(struct cw_buf *b, uint8_t v) { cw_buf_put(b, &v, 1); }

static inline void le_buf_u16(struct cw_buf *b, uint16_t v)
{
    uint8_t p[2];
    le_put_u16(p, v);
    cw_buf_put(b, p, sizeof p);
}

static inline void le_buf_u32(struct cw_buf *b, uint32_t v)
{
    uint8_t p[4];
    le_put_u32(p, v);
    cw_buf_put(b, p, sizeof p);
}

static inline void le_buf_u64(struct cw_buf *b, uint64_t v)
{
    uint8_t p[8];
    le_put_u64(p, v);
    cw_buf_put(b, p, sizeof p);
}

/* ---- the bounded reader */

struct le_reader {
    const uint8_t *p; /* next byte */
    size_t left;      /* bytes from p to the end */
    const char *why;  /* first failure (a static string), sticky; NULL while all is well */
};

static inline struct le_reader le_reader_of(const void *data, size_t len)
{
    return (struct le_reader){ .p = data, .left = data ? len : 0, .why = NULL };
}

/* Records why the input is refused, unless a reason is already there. Returns false (for `return`). */
static inline bool le_reader_fail(struct le_reader *r, const char *why)
{
    if (!r->why) r->why = why;
    return false;
}

/* True when n more bytes can be read; otherwise fails the reader with "truncated". */
static inline bool le_need(struct le_reader *r, size_t n)
{
    if (r->why) return false;
    if (r->left < n) return le_reader_fail(r, "truncated");
    return true;
}

/* The next n bytes in place (and moves past them), or NULL when fewer are left. */
static inline const uint8_t *le_read_bytes(struct le_reader *r, size_t n)
{
    if (!le_need(r, n)) return NULL;
    const uint8_t *at = r->p;
    r->p += n, r->left -= n;
    return at;
}

static inline uint8_t le_read_u8(struct le_reader *r)
{
    const uint8_t *p = le_read_bytes(r, 1);
    return p ? p[0] : 0;
}

static inline uint16_t le_read_u16(struct le_reader *r)
{
    const uint8_t *p = le_read_bytes(r, 2);
    return p ? le_get_u16(p) : 0;
}

static inline uint32_t le_read_u32(struct le_reader *r)
{
    const uint8_t *p = le_read_bytes(r, 4);
    return p ? le_get_u32(p) : 0;
}

static inline uint64_t le_read_u64(struct le_reader *r)
{
    const uint8_t *p = le_read_bytes(r, 8);
    return p ? le_get_u64(p) : 0;
}

#endif
