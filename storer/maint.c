/* storer/maint.c — marking checks taken in a maintenance window (see maint.h). */
#include "storer/maint.h"

#include "common/config/maintenance.h"

void storer_maint_set(struct storer_maint *m, const struct cw_config *cfg)
{
    store_ep_cache_clear(&m->by_url);
    m->cfg = cfg;
    for (size_t i = 0; cfg && cfg->n_maintenance && i < cfg->n_endpoints; i++)
        if (cfg->endpoints[i].url) store_ep_cache_put(&m->by_url, cfg->endpoints[i].url, (int64_t)i);
}

void storer_maint_free(struct storer_maint *m)
{
    store_ep_cache_clear(&m->by_url);
    m->cfg = NULL;
}

void storer_maint_mark(const struct storer_maint *m, struct store_batch *b, size_t from)
{
    const struct cw_config *cfg = m->cfg;
    for (size_t i = from; i < b->n_checks; i++) {
        struct store_check *c = &b->checks[i];
        c->maintenance = false;
        if (!cfg || !cfg->n_maintenance) continue;
        int64_t idx;
        struct cw_endpoint gone = { .url = (char *)c->r.url }; /* no longer configured: no name, no group */
        const struct cw_endpoint *ep = store_ep_cache_get(&m->by_url, c->r.url, &idx) ? &cfg->endpoints[idx] : &gone;
        c->maintenance = maintenance_find(cfg, ep, c->r.checked_at_us) != NULL;
    }
}
