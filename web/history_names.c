/* web/history_names.c — the windows' names and lengths, and freeing a snapshot or a detail (web/history.h). */
#include "web/history.h"

#include "history/window.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int64_t ms;
} windows[WEB_WINDOWS] = {
    [WEB_WIN_24H] = { "24h", WIN_DAY_MS },
    [WEB_WIN_7D] = { "7d", 7 * WIN_DAY_MS },
    [WEB_WIN_30D] = { "30d", 30 * WIN_DAY_MS },
    [WEB_WIN_90D] = { "90d", 90 * WIN_DAY_MS },
};

const char *web_window_name(enum web_window w) { return (unsigned)w < WEB_WINDOWS ? windows[w].name : "?"; }

int64_t web_window_ms(enum web_window w) { return (unsigned)w < WEB_WINDOWS ? windows[w].ms : 0; }

int web_window_parse(const char *s)
{
    for (int w = 0; s && w < WEB_WINDOWS; w++)
        if (strcmp(s, windows[w].name) == 0) return w;
    return -1;
}

double web_history_period(double refresh_s, double read_seconds)
{
    double duty = read_seconds * WEB_HISTORY_DUTY;
    return duty > refresh_s ? duty : refresh_s;
}

void web_history_free(struct web_history *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) web_ep_history_clear(&h->ep[i]);
    free(h->ep);
    free(h->cfg_index);
    free(h);
}

void web_detail_free(struct web_detail *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n_checks; i++) {
        free(d->checks[i].error);
        free(d->checks[i].details);
    }
    free(d->error_owned);
    free(d);
}
