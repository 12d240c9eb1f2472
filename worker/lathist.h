/* worker/lathist.h — the worker's lateness histogram: a fixed log-scale histogram (8 buckets per power of
 * two, so a percentile is exact to within ~9%), cheap enough to record every check. */
#ifndef CW_WORKER_LATHIST_H
#define CW_WORKER_LATHIST_H

#include <stdint.h>

#define LAT_SUB_BITS 3
#define LAT_BUCKETS (64 << LAT_SUB_BITS)

struct lat_hist {
    uint64_t total;
    uint32_t bucket[LAT_BUCKETS];
};

void lat_hist_reset(struct lat_hist *h);
/* Records a value in microseconds (negative values count as 0). */
void lat_hist_add(struct lat_hist *h, int64_t us);
/* The value at or below which `permille`/1000 of the recorded values lie (the bucket's upper bound,
 * never more than 9% above the truth). 0 when nothing was recorded. */
int64_t lat_hist_percentile(const struct lat_hist *h, unsigned permille);

#endif
