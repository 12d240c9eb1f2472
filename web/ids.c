/* web/ids.c — the web model's entries: one per configured endpoint, its ID (the slug of config_web.h) and the two
 * lookup tables, by ID (routes /endpoint/ID, badges) and by URL (bus messages). See web/model.h. */
#include "web/model.h"

#include "common/base/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t builds; /* the web's one thread builds and updates models: each gets its own generation */

int web_ids_build(struct web_model *m, const struct cw_config *cfg, char *err, size_t errlen)
{
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

/* The model's configuration-wide pointers (into cfg) and its generation, for web_ids_update. */
static void point_at(struct web_model *m, const struct cw_config *cfg)
{
    m->generation = ++builds;
    m->own_location = config_own_location(cfg);
    size_t n_names = config_location_names(cfg, m->config_locations, CW_LOCATIONS_MAX + 1);
    m->n_config_locations = n_names < CW_LOCATIONS_MAX + 1 ? n_names : CW_LOCATIONS_MAX + 1;
}

static bool same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* Whether an URL that changed at some index was another index's before: then the update does not apply (its state
 * moves with it, as web_ids_carry does). Counts the URLs that changed into *n_urls. */
static bool url_moved(const struct web_model *m, const struct cw_config *cfg, size_t *n_urls)
{
    *n_urls = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->endpoints[i].cfg->url, cfg->endpoints[i].url) == 0) continue;
        if (web_model_by_url(m, cfg->endpoints[i].url)) return true;
        ++*n_urls;
    }
    return false;
}

/* e's locations for ep: the same names re-pointed at ep's strings, else built again with what they knew. */
static void update_locs(struct web_endpoint *e, const struct cw_endpoint *ep, const char *own)
{
    struct web_live *l = &e->live;
    bool same = l->n_locs == (ep->n_locations ? ep->n_locations : 1);
    for (size_t k = 0; same && k < l->n_locs; k++)
        same = same_str(l->locs[k].name, ep->n_locations ? ep->locations[k] : own);
    if (same) {
        for (size_t k = 0; k < l->n_locs; k++) l->locs[k].name = ep->n_locations ? ep->locations[k] : own;
        return;
    }
    struct web_live fresh = { 0 };
    web_locs_build(&fresh, ep, own);
    web_locs_carry(&fresh, l);
    web_locs_free(l);
    l->locs = fresh.locs;
    l->n_locs = fresh.n_locs;
}

/* Entry i for ep: a new URL starts afresh (as a new endpoint), an ID that changed is taken out of by_id (put back by
 * the caller once every changed one is out: two endpoints may swap their names). Returns whether its ID changed. */
static bool update_entry(struct web_model *m, struct web_endpoint *e, const struct cw_endpoint *ep)
{
    bool new_url = strcmp(e->cfg->url, ep->url) != 0;
    bool id_changed = false;
    if (new_url || !same_str(e->cfg->name, ep->name)) {
        char id[sizeof e->id];
        if (cw_endpoint_slug(ep->name, ep->url, id, sizeof id) == 0 || strcmp(id, e->id) != 0) {
            HASH_DELETE(hh_id, m->by_id, e);
            memcpy(e->id, id, sizeof id);
            id_changed = true;
        }
    }
    if (new_url) {
        HASH_DELETE(hh_url, m->by_url, e);
        free(e->live.last.error);
        free(e->live.last.figures);
        web_locs_free(&e->live);
        memset(&e->live, 0, sizeof e->live);
        web_locs_build(&e->live, ep, m->own_location);
        e->hist = NULL;
        HASH_ADD_KEYPTR(hh_url, m->by_url, ep->url, strlen(ep->url), e);
    } else {
        e->hh_url.key = ep->url; /* the same bytes, hash and length: the key now lives in the new configuration */
        update_locs(e, ep, m->own_location);
    }
    e->cfg = ep;
    return id_changed;
}

int web_ids_update(struct web_model *m, const struct cw_config *cfg, size_t *n_urls, char *err, size_t errlen)
{
    if (cfg->n_endpoints != m->n || url_moved(m, cfg, n_urls)) return 1;
    point_at(m, cfg);
    bool *changed = cw_xcalloc(m->n + 1, sizeof *changed);
    for (size_t i = 0; i < m->n; i++) {
        changed[i] = update_entry(m, &m->endpoints[i], &cfg->endpoints[i]);
        m->endpoints[i].config = cfg;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        if (!changed[i]) continue;
        struct web_endpoint *e = &m->endpoints[i], *dup;
        size_t len = strlen(e->id);
        HASH_FIND(hh_id, m->by_id, e->id, len, dup);
        if (len == 0) {
            snprintf(err, errlen, "endpoint %zu has no letter or digit for its ID; give it a name", i);
            rc = -1;
        } else if (dup) {
            snprintf(err, errlen, "endpoints %zu and %zu have one ID '%s'; rename one", (size_t)(dup - m->endpoints), i,
                     e->id);
            rc = -1;
        } else {
            HASH_ADD(hh_id, m->by_id, id[0], len, e);
        }
    }
    free(changed);
    web_layout_free(&m->layout);
    web_layout_build(&m->layout, m);
    return rc;
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
        struct web_endpoint *e = &to->endpoints[i];
        /* the same index first: a reload that edits a few endpoints finds the others there, without a lookup */
        struct web_endpoint *old = i < from->n && strcmp(from->endpoints[i].cfg->url, e->cfg->url) == 0
                                       ? &from->endpoints[i]
                                       : web_model_by_url(from, e->cfg->url);
        if (!old) continue;
        struct web_live fresh = e->live; /* its locations, as the new configuration has them */
        web_locs_carry(&fresh, &old->live);
        e->live = old->live;
        e->live.locs = fresh.locs;
        e->live.n_locs = fresh.n_locs;
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
