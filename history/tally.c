/* history/tally.c — summing roll-up cells and raw rows into one endpoint's figures (tally.h). */
#include "history/tally.h"

#include <stddef.h>

static double bucket_mid_us(unsigned b)
{
    if (b >= LAT_OVERFLOW) return (double)lat_hist_bucket_low(b);
    return ((double)lat_hist_bucket_low(b) + (double)lat_hist_bucket_high(b)) / 2.0;
}

/* Adds one blob: into the latency histogram (phase < 0) or the phase's count and sum. */
static void add_blob(struct tally *t, int phase, const void *blob, size_t len)
{
    uint16_t bucket[LAT_BUCKETS];
    uint32_t count[LAT_BUCKETS];
    if (!blob || len == 0) return;
    int n = lat_hist_blob_entries(blob, len, bucket, count, NULL);
    if (n < 0) {
        t->bad_blobs++;
        return;
    }
    for (int i = 0; i < n; i++) {
        if (phase < 0) {
            t->lat.bucket[bucket[i]] += count[i];
            t->lat.total += count[i];
        } else {
            t->phase_n[phase] += count[i];
            t->phase_sum_us[phase] += bucket_mid_us(bucket[i]) * count[i];
        }
    }
}

void tally_add_cell(struct tally *t, const struct rollup_stored *cell)
{
    t->checks += cell->checks;
    t->ok += cell->ok;
    add_blob(t, -1, cell->blob[0], cell->len[0]);
    for (int p = 0; p < TALLY_PHASES; p++) add_blob(t, p, cell->blob[1 + p], cell->len[1 + p]);
}

void tally_add_row(struct tally *t, const struct rollup_row *row)
{
    t->checks++;
    t->ok += row->ok;
    if (row->us[0] >= 0) lat_hist_add(&t->lat, row->us[0]);
    for (int p = 0; p < TALLY_PHASES; p++) {
        if (row->us[1 + p] < 0) continue;
        t->phase_n[p]++;
        t->phase_sum_us[p] += bucket_mid_us(lat_hist_bucket_of(row->us[1 + p]));
    }
}

void tally_figures(const struct tally *t, struct tally_figures *f)
{
    f->has_latency = t->lat.total > 0;
    f->p50_ms = (double)lat_hist_percentile(&t->lat, 500) / 1000.0;
    f->p95_ms = (double)lat_hist_percentile(&t->lat, 950) / 1000.0;
    f->p99_ms = (double)lat_hist_percentile(&t->lat, 990) / 1000.0;
    f->slowest = -1;
    f->slowest_ms = 0;
    for (int p = 0; p < TALLY_PHASES; p++) {
        if (!t->phase_n[p]) continue;
        double mean = t->phase_sum_us[p] / (double)t->phase_n[p] / 1000.0;
        if (f->slowest < 0 || mean > f->slowest_ms) {
            f->slowest = p;
            f->slowest_ms = mean;
        }
    }
}

const char *tally_phase_name(int phase)
{
    static const char *const names[TALLY_PHASES] = { "dns", "connect", "tls", "ttfb" };
    return phase >= 0 && phase < TALLY_PHASES ? names[phase] : "";
}

void tally_merge(struct tally *dst, const struct tally *src)
{
    dst->checks += src->checks;
    dst->ok += src->ok;
    lat_hist_merge(&dst->lat, &src->lat);
    for (int p = 0; p < TALLY_PHASES; p++) {
        dst->phase_sum_us[p] += src->phase_sum_us[p];
        dst->phase_n[p] += src->phase_n[p];
    }
    dst->bad_blobs += src->bad_blobs;
}
