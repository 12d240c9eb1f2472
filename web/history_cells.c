/* web/history_cells.c — the compact form of clockwerk-web's history snapshot (web/history.h): the uptime bar's
 * 3-byte days, the windows' 20-byte cells and the latency codes they hold, packed on the reader thread
 * (web/history_read.c) and expanded for a page, an answer or a badge. Pure. */
#include "web/history.h"

#include "common/base/util.h"

#include <stdlib.h>

#include "common/wire/lathist.h"

#define PER10K_BITS 14
#define P95_SHIFT 14
#define P95_BITS 9
#define NOTE_BIT 23

uint16_t web_latency_code(int64_t us)
{
    if (us <= 0) return 0;
    return (uint16_t)(lat_hist_bucket_of(us) + 1);
}

int64_t web_latency_us(uint16_t code)
{
    if (code == 0) return 0;
    unsigned b = code - 1u;
    if (b >= LAT_OVERFLOW) return lat_hist_bucket_low(LAT_OVERFLOW);
    return (lat_hist_bucket_low(b) + lat_hist_bucket_high(b)) / 2; /* as lat_hist_percentile */
}

static uint32_t per10k_of(uint64_t checks, uint64_t ok)
{
    if (checks == 0) return WEB_BAR_NO_DATA;
    if (ok >= checks) return 10000;
    return (uint32_t)(ok * 10000 / checks); /* floor: at most 9999 */
}

void web_bar_pack(uint8_t cell[3], const struct web_day *d)
{
    uint32_t v = per10k_of(d->checks, d->ok) | (uint32_t)web_latency_code(d->p95_us) << P95_SHIFT |
                 (uint32_t)(d->incidents > 0) << NOTE_BIT;
    cell[0] = (uint8_t)v;
    cell[1] = (uint8_t)(v >> 8);
    cell[2] = (uint8_t)(v >> 16);
}

void web_bar_day(const struct web_ep_history *h, int day, struct web_bar *out)
{
    *out = (struct web_bar){ 0 };
    if (!h || day < 0 || day >= WEB_DAYS) return;
    const uint8_t *c = h->bar[day];
    uint32_t v = c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16;
    uint32_t per10k = v & ((1u << PER10K_BITS) - 1);
    if (per10k == WEB_BAR_NO_DATA) return;
    out->data = true;
    out->per10k = (uint16_t)per10k;
    out->p95_us = (uint32_t)web_latency_us((uint16_t)(v >> P95_SHIFT & ((1u << P95_BITS) - 1)));
    if (!(v >> NOTE_BIT & 1)) return;
    const struct web_ep_more *x = web_ep_more(h);
    for (unsigned i = 0; i < x->n_notes; i++)
        if (x->notes[i].day == day) out->incidents = x->notes[i].incidents;
}

void web_ep_window(const struct web_ep_history *h, enum web_window w, struct web_window_figures *out)
{
    *out = (struct web_window_figures){ 0 };
    if (!h || (unsigned)w >= WEB_WINDOWS) return;
    const struct web_window_cell *c = &h->win[w];
    *out = (struct web_window_figures){ .checks = c->checks,
                                        .ok = c->ok,
                                        .down_ms = (int64_t)c->down_s * 1000 + c->down_ms_rem,
                                        .incidents = c->incidents,
                                        .has_latency = c->p95 != 0,
                                        .p50_ms = (double)web_latency_us(c->p50) / 1000.0,
                                        .p95_ms = (double)web_latency_us(c->p95) / 1000.0 };
}

static uint32_t cap32(int64_t v) { return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; }

void web_window_pack(struct web_window_cell *c, const struct web_window_figures *f)
{
    int64_t down_ms = f->down_ms > 0 ? f->down_ms : 0;
    uint16_t p50 = web_latency_code((int64_t)(f->p50_ms * 1000.0 + 0.5)),
             p95 = web_latency_code((int64_t)(f->p95_ms * 1000.0 + 0.5));
    *c = (struct web_window_cell){ .checks = cap32(f->checks),
                                   .ok = cap32(f->ok),
                                   .down_s = cap32(down_ms / 1000),
                                   .down_ms_rem = (uint16_t)(down_ms % 1000),
                                   .incidents = f->incidents > UINT16_MAX ? UINT16_MAX : (uint16_t)f->incidents,
                                   .p50 = f->has_latency ? (p50 ? p50 : 1) : 0,
                                   .p95 = f->has_latency ? (p95 ? p95 : 1) : 0 };
}

static const struct web_ep_more none;

const struct web_ep_more *web_ep_more(const struct web_ep_history *h) { return h && h->more ? h->more : &none; }

struct web_ep_more *web_ep_more_get(struct web_ep_history *h)
{
    if (!h->more) h->more = cw_xcalloc(1, sizeof *h->more);
    return h->more;
}

void web_ep_history_clear(struct web_ep_history *e)
{
    struct web_ep_more *x = e->more;
    if (!x) return;
    for (size_t k = 0; k < x->n_incidents; k++) free(x->incidents[k].message);
    free(x->incidents);
    free(x->notes);
    free(x);
    e->more = NULL;
}
