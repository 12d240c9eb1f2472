/* web/ids.c — the web model's entries: one per configured endpoint, its ID (the slug of config_web.h) and the two
 * lookup tables, by ID (routes /endpoint/ID, badges) and by URL (bus messages). See web/model.h. */
#include "web/model.h"

#include "common/base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int web_ids_build(struct web_model *m, const struct cw_config *cfg, char *err, size_t errlen)
{
    static uint64_t builds; /* the web's one thread builds models */
    memset(m, 0, sizeof *m);
    m->generation = ++builds;
    seqgap_init(&m->gaps, 1024);
    m->scratch = cw_xcalloc(CW_RESULT_BATCH_MAX, sizeof *m->scratch);
    m->endpoints = cw_xcalloc(cfg->n_endpoints ? cfg->n_endpoints : 1, sizeof *m->endpoints);
    m->own_location = config_own_location(cfg);
    size_t n_names = config_location_names(cfg, m->config_locations, CW_LOCATIONS_MAX + 1);
    m->n_config_locations = n_names < CW_LOCATIONS_MAX + 1 ? n_names : CW_LOCATIONS_MAX + 1;
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        struct web_endpoint *e = &m->endpoints[i], *dup;
        e->cfg = &cfg->endpoints[i];
        e->config = cfg;
        web_locs_build(&e->live, e->cfg, m->own_location);
        m->n = i + 1;
        size_t len = cw_endpoint_slug(e->cfg->name, e->cfg->url, e->id, sizeof e->id);
        if (len == 0) {
            snprintf(err, errlen, "endpoint %zu has no letter or digit for its ID; give it a name", i);
            return -1;
        }
        HASH_FIND(hh_id, m->by_id, e->id, len, dup);
        if (dup) {
            snprintf(err, errlen, "endpoints %zu and %zu have one ID '%s'; rename one", (size_t)(dup - m->endpoints), i,
                     e->id);
            return -1;
        }
        HASH_ADD(hh_id, m->by_id, id[0], len, e);
        HASH_ADD_KEYPTR(hh_url, m->by_url, e->cfg->url, strlen(e->cfg->url), e);
    }
    web_layout_build(&m->layout, m);
    return 0;
}

void web_ids_free(struct web_model *m)
{
    HASH_CLEAR(hh_id, m->by_id);
    HASH_CLEAR(hh_url, m->by_url);
    web_layout_free(&m->layout);
    for (size_t i = 0; i < m->n; i++) {
        free(m->endpoints[i].live.last.error);
        free(m->endpoints[i].live.last.figures);
        web_locs_free(&m->endpoints[i].live);
    }
    free(m->endpoints);
    free(m->scratch);
    seqgap_free(&m->gaps);
    web_procs_free(&m->procs);
    memset(m, 0, sizeof *m);
}

void web_ids_carry(struct web_model *to, struct web_model *from)
{
    for (size_t i = 0; i < to->n; i++) {
        struct web_endpoint *e = &to->endpoints[i], *old = web_model_by_url(from, e->cfg->url);
        if (!old) continue;
        struct web_live fresh = e->live; /* its locations, as the new configuration has them */
        web_locs_carry(&fresh, &old->live);
        e->live = old->live;
        e->live.locs = fresh.locs;
        e->live.n_locs = fresh.n_locs;
        e->hist = old->hist; /* the snapshot stays the model's until the next read (with this configuration) */
        old->live.last.error = NULL; /* moved */
        old->live.last.figures = NULL;
    }
    struct seqgap gaps = to->gaps;
    to->gaps = from->gaps;
    from->gaps = gaps;
    to->bus = from->bus;
    to->procs = from->procs;
    from->procs = (struct web_procs){ 0 };
    to->locations = from->locations;
}

struct web_endpoint *web_model_by_id(const struct web_model *m, const char *id)
{
    struct web_endpoint *e = NULL;
    size_t len = strlen(id);
    if (len == 0 || len > CW_SLUG_MAX) return NULL;
    HASH_FIND(hh_id, m->by_id, id, len, e);
    return e;
}

struct web_endpoint *web_model_by_path(const struct web_model *m, const char *path, const char **after)
{
    struct web_endpoint *e = NULL;
    size_t len = strcspn(path, "/");
    if (after) *after = path + len;
    if (len > 0 && len <= CW_SLUG_MAX) HASH_FIND(hh_id, m->by_id, path, len, e);
    return e;
}

struct web_endpoint *web_model_by_url(const struct web_model *m, const char *url)
{
    struct web_endpoint *e = NULL;
    HASH_FIND(hh_url, m->by_url, url, strlen(url), e);
    return e;
}
