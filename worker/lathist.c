/* worker/lathist.c — the log-scale lateness histogram behind lathist.h. */
#include "worker/lathist.h"

#include <string.h>

void lat_hist_reset(struct lat_hist *h) { memset(h, 0, sizeof *h); }

/* Values below 2^LAT_SUB_BITS get a bucket each; above, a bucket is (exponent, top LAT_SUB_BITS bits
 * below the leading one). */
static unsigned bucket_of(uint64_t v)
{
    if (v < (1u << LAT_SUB_BITS)) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned sub = (unsigned)(v >> (msb - LAT_SUB_BITS)) & ((1u << LAT_SUB_BITS) - 1);
    return ((msb - LAT_SUB_BITS + 1) << LAT_SUB_BITS) + sub;
}

/* The largest value that falls into bucket b. */
static uint64_t bucket_top(unsigned b)
{
    if (b < (1u << LAT_SUB_BITS)) return b;
    unsigned msb = (b >> LAT_SUB_BITS) + LAT_SUB_BITS - 1;
    uint64_t sub = b & ((1u << LAT_SUB_BITS) - 1);
    uint64_t base = (1ull << msb) | (sub << (msb - LAT_SUB_BITS));
    return base + (1ull << (msb - LAT_SUB_BITS)) - 1;
}

void lat_hist_add(struct lat_hist *h, int64_t us)
{
    unsigned b = bucket_of(us > 0 ? (uint64_t)us : 0);
    if (b >= LAT_BUCKETS) b = LAT_BUCKETS - 1;
    h->bucket[b]++;
    h->total++;
}

int64_t lat_hist_percentile(const struct lat_hist *h, unsigned permille)
{
    if (h->total == 0) return 0;
    if (permille > 1000) permille = 1000;
    /* rank: the smallest count that covers permille of the values, at least 1 */
    uint64_t rank = (h->total * permille + 999) / 1000;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < LAT_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= rank) return (int64_t)bucket_top(b);
    }
    return (int64_t)bucket_top(LAT_BUCKETS - 1);
}
