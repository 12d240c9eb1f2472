/* supervisor/fingerprint.c — MurmurHash3 x64_128 and the chaining of fingerprints (see fingerprint.h). */
#include "supervisor/fingerprint.h"

#include <string.h>

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

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

struct fp128 fp_bytes(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h1 = seed, h2 = seed;
    size_t blocks = len / 16;
    for (size_t i = 0; i < blocks; i++) {
        uint64_t k1, k2;
        memcpy(&k1, p + 16 * i, 8); /* host byte order: the fingerprints never leave the process */
        memcpy(&k2, p + 16 * i + 8, 8);
        k1 *= C1;
        k1 = rotl64(k1, 31);
        k1 *= C2;
        h1 ^= k1;
        h1 = rotl64(h1, 27);
        h1 += h2;
        h1 = h1 * 5 + 0x52dce729;
        k2 *= C2;
        k2 = rotl64(k2, 33);
        k2 *= C1;
        h2 ^= k2;
        h2 = rotl64(h2, 31);
        h2 += h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    if (len % 16) tail(p + 16 * blocks, len % 16, &h1, &h2);
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 += h2;
    h2 += h1;
    return (struct fp128){ h1, h2 };
}

void fp_chain(struct fp128 *acc, struct fp128 h)
{
    uint64_t v[4] = { acc->lo, acc->hi, h.lo, h.hi };
    *acc = fp_bytes(v, sizeof v, 0x9E3779B97F4A7C15ull);
}
