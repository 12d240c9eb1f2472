/* common/wire/lathist.h — the one latency histogram of Clockwerk: the worker's lateness statistics
 * (worker/main.c) and the storer's hourly and daily roll-ups (storer/rollup.c, docs/schema.md) use it.
 *
 * Fixed log-scale buckets over microseconds: values 0..15 µs have a bucket each, then every power of two
 * [2^m, 2^(m+1)) is cut into 16 equal buckets, up to 2^27 µs (~134 s); everything from 2^27 µs up falls into
 * the last bucket (overflow). A bucket is at most 1/16 of its lower bound wide, so the midpoint that
 * lat_hist_percentile returns is within 1/32 (~3.2%) of any value in it (exact below 16 µs).
 *
 * The layout is part of the stored format: a histogram is serialised (lat_hist_encode) as
 *     u8 version (1) | u16 n | n × (u16 bucket, u32 count)
 * little-endian, buckets strictly ascending, counts non-zero (docs/schema.md, "Histogram blobs"). A day's
 * histogram is the sum of its hours' (lat_hist_merge). */
#ifndef CW_WIRE_LATHIST_H
#define CW_WIRE_LATHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"

#define LAT_SUB_BITS 4
#define LAT_TOP_EXP 27                                                  /* 2^27 µs: the start of the overflow bucket */
#define LAT_OVERFLOW ((LAT_TOP_EXP - LAT_SUB_BITS + 1) << LAT_SUB_BITS) /* 384: the last bucket */
#define LAT_BUCKETS (LAT_OVERFLOW + 1)
#define LAT_BLOB_VERSION 1
#define LAT_BLOB_MAX (3 + 6 * LAT_BUCKETS) /* the largest valid blob */

struct lat_hist {
    uint64_t total;
    uint64_t bucket[LAT_BUCKETS];
};

void lat_hist_reset(struct lat_hist *h);
/* Records a value in microseconds (negative values count as 0). */
void lat_hist_add(struct lat_hist *h, int64_t us);
/* dst += src, bucket by bucket. */
void lat_hist_merge(struct lat_hist *dst, const struct lat_hist *src);
/* The bucket a value falls into, and a bucket's bounds [low, high] in µs (the overflow's high is INT64_MAX). */
unsigned lat_hist_bucket_of(int64_t us);
int64_t lat_hist_bucket_low(unsigned b);
int64_t lat_hist_bucket_high(unsigned b);
/* The value below which `permille`/1000 of the recorded values lie (nearest rank), as the midpoint of its
 * bucket: within ~3.2% of the exact value below 2^27 µs; 2^27 µs for a value in the overflow. 0 when nothing
 * was recorded. */
int64_t lat_hist_percentile(const struct lat_hist *h, unsigned permille);

/* Appends the serialised form to out (h->total must be the sum of the buckets, as add, merge and decode keep
 * it). -1 (nothing appended) when a bucket holds more than 2^32-1 values. */
int lat_hist_encode(const struct lat_hist *h, struct cw_buf *out);
/* Replaces h with the histogram of a blob. false, with *why set to a static reason and h reset, when the
 * blob is not a valid one (wrong version or length, buckets out of range or out of order, zero counts). */
bool lat_hist_decode(struct lat_hist *h, const void *blob, size_t len, const char **why);
/* The entries of a blob, validated like lat_hist_decode, without a whole histogram: for readers that sum many
 * blobs (clockwerk-report). Returns the number of entries written to bucket[] and count[] (room for
 * LAT_BUCKETS each), or -1 with *why set when the blob is not a valid one. */
int lat_hist_blob_entries(const void *blob, size_t len, uint16_t *bucket, uint32_t *count, const char **why);

#endif
