/* supervisor/fingerprint.h — 128-bit fingerprints of byte strings, for what the supervisor remembers of a running
 * generation instead of its decoded endpoints (issue 18: supervisor/reload.h "Fingerprints").
 *
 * DESIGN
 * MurmurHash3 x64_128 (Austin Appleby, public domain): 128 bits, every input bit reaching every output bit. Two
 * configurations are taken for the same when their fingerprints are: a change is missed only if two different
 * encodings collide in 128 bits, about 2^-128 per comparison for inputs nobody chose to collide (a configuration is
 * its operator's, not an attacker's; this is not a cryptographic hash and is not used as one). A sequence is
 * fingerprinted by chaining: fp_chain(acc, h) = fp of acc's and h's 32 bytes, so order counts. */
#ifndef CW_SUPERVISOR_FINGERPRINT_H
#define CW_SUPERVISOR_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fp128 {
    uint64_t lo, hi;
};

/* The fingerprint of data[0..len) with seed. */
struct fp128 fp_bytes(const void *data, size_t len, uint64_t seed);
/* *acc := the fingerprint of (*acc, h): the next element of a sequence. */
void fp_chain(struct fp128 *acc, struct fp128 h);
static inline bool fp_eq(struct fp128 a, struct fp128 b) { return a.lo == b.lo && a.hi == b.hi; }

#endif
