/* alerter/flap.h — flap detection (docs/alerts.md "Flapping"): pure, no I/O, no clock.
 *
 * DESIGN
 * Nagios's percent state change: the last `window` check outcomes (ok / failed) of an endpoint, the changes
 * between neighbours weighted linearly from 0.8 (the oldest change) to 1.2 (the newest), summed and divided by
 * the number of changes possible (window - 1): 100% when every check differs from the one before, 0% when none
 * does, and recent changes count more than old ones. Judged only once the window is full; an endpoint starts
 * flapping at >= high percent and stops at < low percent (hysteresis: high > low). window 0 turns it off (an
 * endpoint flapping then stops). The history is 64 bits, newest in bit 0 (1: failed), so it fits the state
 * file as one number; windows are 5 ... 64 (config). */
#ifndef CW_ALERTER_FLAP_H
#define CW_ALERTER_FLAP_H

#include <stdbool.h>
#include <stdint.h>

#define FLAP_WINDOW_MAX 64

struct flap_hist {
    uint64_t failed; /* outcome of the last checks, bit 0 the newest: 1 failed, 0 ok */
    uint8_t n;       /* outcomes recorded, at most FLAP_WINDOW_MAX */
    bool flapping;
};

enum flap_change { FLAP_SAME = 0, FLAP_STARTED = 1, FLAP_STOPPED = 2 };

/* The weighted percent of state changes over the last window outcomes (window clamped to what is recorded). */
double flap_percent(const struct flap_hist *h, int window);

/* Records one outcome and judges: FLAP_STARTED when it starts flapping, FLAP_STOPPED when it stops, else
 * FLAP_SAME. *percent (may be NULL) gets the percent judged (0 when the window is not full yet). */
enum flap_change flap_feed(struct flap_hist *h, int window, double high, double low, bool ok, double *percent);

#endif
