/* common/wire/lathist.c — the log-scale latency histogram and its serialised form (lathist.h). */
#include "common/wire/lathist.h"

#include <string.h>

#include "common/base/le.h"

#define SUB (1u << LAT_SUB_BITS)

void lat_hist_reset(struct lat_hist *h) { memset(h, 0, sizeof *h); }

/* Values below SUB get a bucket each; above, a bucket is (exponent, the LAT_SUB_BITS bits below the leading
 * one); from 2^LAT_TOP_EXP up, the overflow. */
unsigned lat_hist_bucket_of(int64_t us)
{
    uint64_t v = us > 0 ? (uint64_t)us : 0;
    if (v < SUB) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    if (msb >= LAT_TOP_EXP) return LAT_OVERFLOW;
    unsigned sub = (unsigned)(v >> (msb - LAT_SUB_BITS)) & (SUB - 1);
    return ((msb - LAT_SUB_BITS + 1) << LAT_SUB_BITS) + sub;
}

int64_t lat_hist_bucket_low(unsigned b)
{
    if (b >= LAT_OVERFLOW) return (int64_t)1 << LAT_TOP_EXP;
    if (b < SUB) return b;
    unsigned msb = (b >> LAT_SUB_BITS) + LAT_SUB_BITS - 1;
    uint64_t sub = b & (SUB - 1);
    return (int64_t)((1ull << msb) | (sub << (msb - LAT_SUB_BITS)));
}

int64_t lat_hist_bucket_high(unsigned b)
{
    if (b >= LAT_OVERFLOW) return INT64_MAX;
    return lat_hist_bucket_low(b + 1) - 1;
}

void lat_hist_add(struct lat_hist *h, int64_t us)
{
    h->bucket[lat_hist_bucket_of(us)]++;
    h->total++;
}

void lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src)
{
    for (unsigned b = 0; b < LAT_BUCKETS; b++) dst->bucket[b] += src->bucket[b];
    dst->total += src->total;
}

int64_t lat_hist_percentile(const struct lat_hist *h, unsigned permille)
{
    if (h->total == 0) return 0;
    if (permille > 1000) permille = 1000;
    /* nearest rank: the smallest count that covers permille of the values, at least 1 */
    uint64_t rank = (h->total * permille + 999) / 1000;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    unsigned b = 0;
    for (; b < LAT_OVERFLOW; b++) {
        seen += h->bucket[b];
        if (seen >= rank) break;
    }
    if (b >= LAT_OVERFLOW) return lat_hist_bucket_low(LAT_OVERFLOW);
    return (lat_hist_bucket_low(b) + lat_hist_bucket_high(b)) / 2;
}

int lat_hist_encode(const struct lat_hist *h, struct cw_buf *out)
{
    /* one pass: the entries go into a local buffer, the header (with n) in front of them at the end */
    uint8_t blob[LAT_BLOB_MAX], *p = blob + 3;
    uint64_t left = h->total;
    for (unsigned b = 0; b < LAT_BUCKETS && left; b++) {
        uint64_t c = h->bucket[b];
        if (!c) continue;
        if (c > UINT32_MAX) return -1;
        le_put_u16(p, (uint16_t)b);
        le_put_u32(p + 2, (uint32_t)c);
        p += 6;
        left -= c < left ? c : left;
    }
    blob[0] = LAT_BLOB_VERSION;
    le_put_u16(blob + 1, (uint16_t)((p - blob - 3) / 6));
    cw_buf_put(out, blob, (size_t)(p - blob));
    return 0;
}

int lat_hist_blob_entries(const void *blob, size_t len, uint16_t *bucket, uint32_t *count, const char **why)
{
    struct le_reader r = le_reader_of(blob, len);
    uint8_t version = le_read_u8(&r);
    uint16_t n = le_read_u16(&r);
    if (!r.why && version != LAT_BLOB_VERSION) le_reader_fail(&r, "unknown histogram version");
    if (!r.why && n > LAT_BUCKETS) le_reader_fail(&r, "more entries than buckets");
    if (!r.why && r.left != (size_t)n * 6) le_reader_fail(&r, "length does not match the entries");
    int prev = -1;
    for (unsigned i = 0; !r.why && i < n; i++) {
        unsigned b = le_read_u16(&r);
        uint32_t c = le_read_u32(&r);
        if (b >= LAT_BUCKETS) le_reader_fail(&r, "bucket out of range");
        else if ((int)b <= prev) le_reader_fail(&r, "buckets out of order");
        else if (c == 0) le_reader_fail(&r, "empty bucket listed");
        else {
            bucket[i] = (uint16_t)b;
            count[i] = c;
            prev = (int)b;
        }
    }
    if (r.why) {
        if (why) *why = r.why;
        return -1;
    }
    return n;
}

bool lat_hist_decode(struct lat_hist *h, const void *blob, size_t len, const char **why)
{
    uint16_t bucket[LAT_BUCKETS];
    uint32_t count[LAT_BUCKETS];
    lat_hist_reset(h);
    int n = lat_hist_blob_entries(blob, len, bucket, count, why);
    for (int i = 0; i < n; i++) {
        h->bucket[bucket[i]] = count[i];
        h->total += count[i];
    }
    return n >= 0;
}
