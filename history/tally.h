/* history/tally.h — one endpoint's checks over a window (clockwerk-report, clockwerk-web), summed from roll-up
 * cells and raw rows: counts, the latency histogram (percentiles) and the phases' means (the slowest phase). Pure.
 *
 * Percentiles come from the summed latency histograms (common/wire/lathist.h): the midpoint of the bucket
 * that holds the nearest rank, within ~3.2% of the exact value. The phases' means (dns, connect, tls, ttfb)
 * are the means of their histograms' bucket midpoints, as accurate; the slowest phase is the one with the
 * largest mean. Only the latency histogram is kept whole: a phase needs only a count and a sum. */
#ifndef CW_HISTORY_TALLY_H
#define CW_HISTORY_TALLY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/wire/lathist.h"
#include "storer/rollup.h"

#define TALLY_PHASES 4 /* dns, connect, tls, ttfb: rollup hists 1..4 */

struct tally {
    int64_t checks, ok;
    struct lat_hist lat;
    double phase_sum_us[TALLY_PHASES];
    uint64_t phase_n[TALLY_PHASES];
    unsigned bad_blobs; /* histogram blobs that could not be read (left out, counts kept) */
};

struct tally_figures {
    bool has_latency; /* some latency was recorded: the percentiles mean something */
    double p50_ms, p95_ms, p99_ms;
    int slowest;       /* 0..TALLY_PHASES-1, or -1 when no phase was recorded */
    double slowest_ms; /* its mean */
};

void tally_add_cell(struct tally *t, const struct rollup_stored *cell);
void tally_add_row(struct tally *t, const struct rollup_row *row);
/* Adds src to dst (both begun with a zeroed struct or lat_hist_reset). */
void tally_merge(struct tally *dst, const struct tally *src);
void tally_figures(const struct tally *t, struct tally_figures *f);
/* "dns", "connect", "tls", "ttfb". */
const char *tally_phase_name(int phase);

#endif
