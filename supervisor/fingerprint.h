/* supervisor/fingerprint.h — 128-bit fingerprints of byte strings, for what the supervisor remembers of a running
 * generation instead of its decoded endpoints (issue 18: supervisor/reload.h "Fingerprints").
 *
 * DESIGN
 * MurmurHash3 x64_128 (Austin Appleby, public domain): 128 bits, every input bit reaching every output bit. Two
 * configurations are taken for the same when their fingerprints are: a change is missed only if two different
 * encodings collide in 128 bits, about 2^-128 per comparison for inputs nobody chose to collide (a configuration is
 * its operator's, not an attacker's; this is not a cryptographic hash and is not used as one). A sequence is
 * fingerprinted by streaming its elements' bytes into one state (fp_add, as many times as needed: the result is
 * the fingerprint of their concatenation), so the elements' encodings must be self-delimiting; order counts. */
#ifndef CW_SUPERVISOR_FINGERPRINT_H
#define CW_SUPERVISOR_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fp128 {
    uint64_t lo, hi;
};

/* A fingerprint being made: fp_init, fp_add any number of times, fp_end (which leaves it as it is). */
struct fp_state {
    uint64_t h1, h2, len;
    uint8_t tail[16];
    size_t n_tail;
};
void fp_init(struct fp_state *st, uint64_t seed);
void fp_add(struct fp_state *st, const void *data, size_t len);
struct fp128 fp_end(const struct fp_state *st);
/* The fingerprint of data[0..len) with seed: fp_init, fp_add, fp_end. */
struct fp128 fp_bytes(const void *data, size_t len, uint64_t seed);
static inline bool fp_eq(struct fp128 a, struct fp128 b) { return a.lo == b.lo && a.hi == b.hi; }

#endif
