/* web/history_read.c — the snapshot of clockwerk-web's history (web/history_read.h): the configured endpoints the
 * database knows, sorted by database id, read WEB_HISTORY_CHUNK at a time (one id range per chunk, so only one
 * chunk's histograms sit in memory; the reads of a chunk: web/history_chunk.c), each packed as it is finished into
 * the compact form the snapshot keeps (web/history.h: the bar's days in 3 bytes, the windows in 20). The same
 * reads over one endpoint give its exact days for its detail (web_history_days_read). */
#include "web/history_read.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"
#include "web/history_chunk.h"

static int cmp_known(const void *a, const void *b)
{
    int64_t x = ((const struct known *)a)->db_id, y = ((const struct known *)b)->db_id;
    return (x > y) - (x < y);
}

/* The configured endpoint of url in the configuration's endpoints sorted by URL (sorted: n of them). */
static const struct cw_endpoint *config_by_url(const struct cw_endpoint **sorted, size_t n, const char *url)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        int c = strcmp(sorted[m]->url, url);
        if (c == 0) return sorted[m];
        if (c < 0) a = m + 1;
        else b = m;
    }
    return NULL;
}

static int cmp_ep_url(const void *a, const void *b)
{
    return strcmp((*(const struct cw_endpoint *const *)a)->url, (*(const struct cw_endpoint *const *)b)->url);
}

struct ep_scan {
    struct snap_read *s;
    const struct cw_endpoint **sorted;
    size_t n;
};

static int on_endpoint(void *ctx, int64_t id, const char *url, const char *type)
{
    (void)type; /* the configuration's type is the one shown */
    struct ep_scan *e = ctx;
    const struct cw_endpoint *ep = config_by_url(e->sorted, e->n, url);
    if (!ep) return 0; /* removed from the configuration: not shown */
    struct snap_read *s = e->s;
    if (s->n_known == s->cap_known) {
        s->cap_known = s->cap_known ? 2 * s->cap_known : 256;
        s->known = cw_xrealloc(s->known, s->cap_known * sizeof *s->known);
    }
    s->known[s->n_known++] = (struct known){ id, ep };
    return 0;
}

static int read_known(struct snap_read *s, const struct cw_config *cfg, const struct store_read_backend *b,
                      struct store_reader *r, char *err, size_t errlen)
{
    size_t n = cfg->n_endpoints;
    struct ep_scan scan = { s, cw_xcalloc(n ? n : 1, sizeof *scan.sorted), n };
    for (size_t i = 0; i < n; i++) scan.sorted[i] = &cfg->endpoints[i];
    qsort(scan.sorted, n, sizeof *scan.sorted, cmp_ep_url);
    int rc = b->endpoints(r, on_endpoint, &scan, err, errlen);
    free(scan.sorted);
    if (rc == STORE_OK && s->n_known > 1) qsort(s->known, s->n_known, sizeof *s->known, cmp_known);
    return rc;
}

/* The ids, sorted by URL through the configuration (the URLs are not copied). */
static const struct cw_config *sort_cfg;
static int cmp_id_url(const void *a, const void *b)
{
    const struct web_history_id *x = a, *y = b;
    return strcmp(sort_cfg->endpoints[x->cfg_index].url, sort_cfg->endpoints[y->cfg_index].url);
}

static void fill_ids(const struct snap_read *s, const struct cw_config *cfg, struct web_history_ids *ids)
{
    web_history_ids_free(ids);
    ids->cfg = cfg;
    ids->v = cw_xcalloc(s->n_known ? s->n_known : 1, sizeof *ids->v);
    for (size_t i = 0; i < s->n_known; i++)
        ids->v[ids->n++] = (struct web_history_id){ (uint32_t)(s->known[i].ep - cfg->endpoints), s->known[i].db_id };
    sort_cfg = cfg; /* only the reader thread sorts (and the tests) */
    if (ids->n > 1) qsort(ids->v, ids->n, sizeof *ids->v, cmp_id_url);
    sort_cfg = NULL;
}

static struct snap_read *snap_new(int64_t now_ms, size_t cap)
{
    struct snap_read *s = cw_xcalloc(1, sizeof *s);
    chunk_set_times(s, now_ms);
    s->work = cw_xcalloc(cap ? cap : 1, sizeof *s->work);
    s->last_call_ms = cw_xcalloc(cap ? cap : 1, sizeof *s->last_call_ms);
    s->n = cap;
    chunk_clear(s); /* the histograms' "nothing touched" */
    s->n = 0;
    return s;
}

static void snap_free(struct snap_read *s)
{
    chunk_clear(s);
    free(s->work);
    free(s->last_call_ms);
    free(s->known);
    free(s);
}

struct web_history *web_history_read(const struct store_read_backend *b, struct store_reader *r,
                                     const struct cw_config *cfg, int64_t now_ms, struct web_history_ids *ids,
                                     const struct web_history_pause *pause, int *rc, char *err, size_t errlen)
{
    struct snap_read *s = snap_new(now_ms, WEB_HISTORY_CHUNK);
    *rc = read_known(s, cfg, b, r, err, errlen);
    struct web_history *h = cw_xcalloc(1, sizeof *h);
    h->read_at_ms = now_ms;
    h->day0_ms = s->day0;
    h->ep = cw_xcalloc(s->n_known ? s->n_known : 1, sizeof *h->ep);
    h->cfg_index = cw_xcalloc(s->n_known ? s->n_known : 1, sizeof *h->cfg_index);
    h->n = s->n_known;
    for (size_t i = 0; i < s->n_known; i++) h->cfg_index[i] = (uint32_t)(s->known[i].ep - cfg->endpoints);
    for (s->lo = 0; *rc == STORE_OK && s->lo < s->n_known; s->lo += s->n) {
        chunk_clear(s);
        s->n = s->n_known - s->lo < WEB_HISTORY_CHUNK ? s->n_known - s->lo : WEB_HISTORY_CHUNK;
        memset(s->last_call_ms, 0, s->n * sizeof *s->last_call_ms);
        *rc = chunk_read(s, b, r, err, errlen);
        for (size_t k = 0; *rc == STORE_OK && k < s->n; k++) {
            chunk_finish(s, k, &h->ep[s->lo + k]);
            if (s->last_call_ms[k]) web_ep_more_get(&h->ep[s->lo + k])->last_call_ms = s->last_call_ms[k];
        }
        if (*rc == STORE_OK && pause && s->lo + s->n < s->n_known) pause->fn(pause->ctx, b, r);
    }
    if (*rc == STORE_OK && ids) fill_ids(s, cfg, ids);
    snap_free(s);
    if (*rc == STORE_OK) return h;
    web_history_free(h);
    return NULL;
}

int web_history_days_read(const struct store_read_backend *b, struct store_reader *r, const struct cw_endpoint *ep,
                          int64_t db_id, int64_t now_ms, struct web_day days[WEB_DAYS], char *err, size_t errlen)
{
    struct snap_read *s = snap_new(now_ms, 1);
    s->known = cw_xcalloc(1, sizeof *s->known);
    s->known[0] = (struct known){ db_id, ep };
    s->n_known = s->n = 1;
    int rc = chunk_read(s, b, r, err, errlen);
    if (rc == STORE_OK) chunk_finish(s, 0, NULL);
    memcpy(days, s->work[0].days, WEB_DAYS * sizeof *days);
    snap_free(s);
    return rc;
}

struct find_url {
    const char *url;
    int64_t id;
};

static int on_find_url(void *ctx, int64_t id, const char *url, const char *type)
{
    (void)type;
    struct find_url *f = ctx;
    if (f->id < 0 && strcmp(url, f->url) == 0) f->id = id;
    return 0;
}

int64_t web_history_find_id(const struct store_read_backend *b, struct store_reader *r,
                            const struct web_history_ids *ids, const char *url, int *rc, char *err, size_t errlen)
{
    *rc = STORE_OK;
    for (size_t a = 0, z = ids && ids->cfg ? ids->n : 0; a < z;) {
        size_t m = a + (z - a) / 2;
        int c = strcmp(ids->cfg->endpoints[ids->v[m].cfg_index].url, url);
        if (c == 0) return ids->v[m].db_id;
        if (c < 0) a = m + 1;
        else z = m;
    }
    struct find_url f = { url, -1 };
    *rc = b->endpoints(r, on_find_url, &f, err, errlen);
    return *rc == STORE_OK ? f.id : -2;
}

void web_history_ids_free(struct web_history_ids *ids)
{
    if (!ids) return;
    free(ids->v);
    *ids = (struct web_history_ids){ 0 };
}
