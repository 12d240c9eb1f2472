/* alerter/flap.c — flap detection by weighted percent state change (see flap.h). */
#include "alerter/flap.h"

double flap_percent(const struct flap_hist *h, int window)
{
    int n = window < h->n ? window : h->n;
    if (n < 2) return 0;
    double sum = 0;
    /* change i (0: the oldest) is between outcome bits n-1-i and n-2-i */
    for (int i = 0; i < n - 1; i++) {
        int older = n - 1 - i;
        bool changed = ((h->failed >> older) & 1) != ((h->failed >> (older - 1)) & 1);
        double weight = n > 2 ? 0.8 + 0.4 * (double)i / (double)(n - 2) : 1.0;
        if (changed) sum += weight;
    }
    return sum * 100.0 / (double)(n - 1);
}

enum flap_change flap_feed(struct flap_hist *h, int window, double high, double low, bool ok, double *percent)
{
    if (percent) *percent = 0;
    h->failed = (h->failed << 1) | (ok ? 0u : 1u);
    if (h->n < FLAP_WINDOW_MAX) h->n++;
    if (window <= 0) {
        bool was = h->flapping;
        h->flapping = false;
        return was ? FLAP_STOPPED : FLAP_SAME;
    }
    if (window > FLAP_WINDOW_MAX) window = FLAP_WINDOW_MAX;
    if (h->n < window) return FLAP_SAME;
    double p = flap_percent(h, window);
    if (percent) *percent = p;
    if (!h->flapping && p >= high) {
        h->flapping = true;
        return FLAP_STARTED;
    }
    if (h->flapping && p < low) {
        h->flapping = false;
        return FLAP_STOPPED;
    }
    return FLAP_SAME;
}
