/* storer/maint.c — marking checks taken in a maintenance window (see maint.h). */
#include "storer/maint.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/config/maintenance.h"

void storer_maint_set(struct storer_maint *m, const struct cw_config *cfg)
{
    size_t n_changed = SIZE_MAX; /* a reload in place re-lists only the changed URLs (storer/urlindex.h) */
    if (cfg && cfg->n_maintenance) free(url_index_rebind(&m->by_url, cfg->endpoints, cfg->n_endpoints, &n_changed));
    m->cfg = cfg;
    if (n_changed != SIZE_MAX) return;
    url_index_free(&m->by_url);
    if (cfg && cfg->n_maintenance) url_index_build(&m->by_url, cfg->endpoints, cfg->n_endpoints);
}

void storer_maint_free(struct storer_maint *m)
{
    url_index_free(&m->by_url);
    m->cfg = NULL;
}

void storer_maint_mark(const struct storer_maint *m, struct store_batch *b, size_t from)
{
    const struct cw_config *cfg = m->cfg;
    for (size_t i = from; i < b->n_checks; i++) {
        struct store_check *c = &b->checks[i];
        c->maintenance = false;
        if (!cfg || !cfg->n_maintenance) continue;
        struct cw_endpoint gone = { .url = (char *)c->r.url }; /* no longer configured: no name, no group */
        long idx = url_index_find(&m->by_url, c->r.url);
        const struct cw_endpoint *ep = idx >= 0 ? &cfg->endpoints[idx] : &gone;
        c->maintenance = maintenance_find(cfg, ep, c->r.checked_at_us) != NULL;
    }
}
