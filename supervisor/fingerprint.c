/* supervisor/fingerprint.c — MurmurHash3 x64_128, whole or streamed (see fingerprint.h). */
#include "supervisor/fingerprint.h"

#include <string.h>

#include "common/base/util.h"

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }


static const uint64_t C1 = 0x87c37b91114253d5ull, C2 = 0x4cf5ad432745937full;

/* The last 1..15 bytes: little-endian, as the reference implementation reads them on x86-64. */
static void tail(const uint8_t *t, size_t n, uint64_t *h1, uint64_t *h2)
{
    uint64_t k1 = 0, k2 = 0;
    for (size_t i = n; i > 8; i--) k2 |= (uint64_t)t[i - 1] << (8 * (i - 9));
    for (size_t i = n < 8 ? n : 8; i > 0; i--) k1 |= (uint64_t)t[i - 1] << (8 * (i - 1));
    if (n > 8) {
        k2 *= C2;
        k2 = rotl64(k2, 33);
        k2 *= C1;
        *h2 ^= k2;
    }
    k1 *= C1;
    k1 = rotl64(k1, 31);
    k1 *= C2;
    *h1 ^= k1;
}

static inline void block(struct fp_state *st, const uint8_t *p)
{
    uint64_t k1, k2;
    memcpy(&k1, p, 8); /* host byte order: the fingerprints never leave the process */
    memcpy(&k2, p + 8, 8);
    k1 *= C1;
    k1 = rotl64(k1, 31);
    k1 *= C2;
    st->h1 ^= k1;
    st->h1 = rotl64(st->h1, 27);
    st->h1 += st->h2;
    st->h1 = st->h1 * 5 + 0x52dce729;
    k2 *= C2;
    k2 = rotl64(k2, 33);
    k2 *= C1;
    st->h2 ^= k2;
    st->h2 = rotl64(st->h2, 31);
    st->h2 += st->h1;
    st->h2 = st->h2 * 5 + 0x38495ab5;
}

void fp_init(struct fp_state *st, uint64_t seed)
{
    memset(st, 0, sizeof *st);
    st->h1 = st->h2 = seed;
}

void fp_add(struct fp_state *st, const void *data, size_t len)
{
    const uint8_t *p = data;
    st->len += len;
    if (st->n_tail) {
        size_t take = 16 - st->n_tail < len ? 16 - st->n_tail : len;
        memcpy(st->tail + st->n_tail, p, take);
        st->n_tail += take;
        p += take;
        len -= take;
        if (st->n_tail < 16) return;
        block(st, st->tail);
        st->n_tail = 0;
    }
    for (; len >= 16; p += 16, len -= 16) block(st, p);
    if (len) memcpy(st->tail, p, len);
    st->n_tail = len;
}

struct fp128 fp_end(const struct fp_state *st)
{
    uint64_t h1 = st->h1, h2 = st->h2;
    if (st->n_tail) tail(st->tail, st->n_tail, &h1, &h2);
    h1 ^= st->len;
    h2 ^= st->len;
    h1 += h2;
    h2 += h1;
    h1 = cw_mix64(h1);
    h2 = cw_mix64(h2);
    h1 += h2;
    h2 += h1;
    return (struct fp128){ h1, h2 };
}

struct fp128 fp_bytes(const void *data, size_t len, uint64_t seed)
{
    struct fp_state st;
    fp_init(&st, seed);
    fp_add(&st, data, len);
    return fp_end(&st);
}
