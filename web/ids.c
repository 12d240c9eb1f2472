/* web/ids.c — the web model's entries: one per configured endpoint, its ID (the slug of config_web.h) and the two
 * lookup tables, by ID (routes /endpoint/ID, badges) and by URL (bus messages): open addressing over arrays of
 * indexes (web_model.by_url, by_id), the IDs in one buffer (web_model.ids). See web/model.h. */
#include "web/model.h"

#include "common/base/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t builds; /* the web's one thread builds and updates models: each gets its own generation */

/* FNV-1a over len bytes (the tables' keys are short: IDs, URLs). */
static uint64_t key_hash(const char *k, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static const char *url_key(const struct web_model *m, uint32_t i) { return m->endpoints[i].cfg->url; }
static const char *id_key(const struct web_model *m, uint32_t i) { return m->endpoints[i].id; }

/* The index (+ 1) of the endpoint whose key (url_key or id_key) is k[0..len), 0: none. *slot (unless NULL): where
 * it is, or the empty slot where it would go. */
static uint32_t table_find(const struct web_model *m, const uint32_t *table,
                           const char *(*key)(const struct web_model *, uint32_t), const char *k, size_t len,
                           size_t *slot)
{
    size_t mask = m->slots - 1, s = (size_t)key_hash(k, len) & mask;
    for (; table[s]; s = (s + 1) & mask) {
        const char *have = key(m, table[s] - 1);
        if (strncmp(have, k, len) == 0 && have[len] == '\0') break;
    }
    if (slot) *slot = s;
    return table[s];
}

/* Takes index i's entry out of the table (backward-shift deletion: the entries after it in its run move up where
 * their own slot allows, so no lookup ever stops at a hole before its key). */
static void table_remove(struct web_model *m, uint32_t *table, const char *(*key)(const struct web_model *, uint32_t),
                         uint32_t i)
{
    const char *k = key(m, i);
    size_t slot, mask = m->slots - 1;
    if (table_find(m, table, key, k, strlen(k), &slot) != i + 1) return; /* not there (a URL twice: the first is) */
    for (size_t j = (slot + 1) & mask; table[j]; j = (j + 1) & mask) {
        const char *kj = key(m, table[j] - 1);
        size_t home = (size_t)key_hash(kj, strlen(kj)) & mask;
        bool stays = slot <= j ? home > slot && home <= j : home > slot || home <= j; /* home in (slot, j] */
        if (stays) continue;
        table[slot] = table[j];
        slot = j;
    }
    table[slot] = 0;
}

/* Every endpoint's ID into m->ids (one buffer), web_endpoint.id pointed there: 0, or -1 with err. */
static int build_ids(struct web_model *m, char *err, size_t errlen)
{
    size_t cap = m->n * 16 + 64, used = 0;
    uint32_t *at = cw_xcalloc(m->n ? m->n : 1, sizeof *at);
    m->ids = cw_xmalloc(cap);
    for (size_t i = 0; i < m->n; i++) {
        if (cap - used < CW_SLUG_MAX + 1) m->ids = cw_xrealloc(m->ids, cap *= 2);
        size_t len =
            cw_endpoint_slug(m->endpoints[i].cfg->name, m->endpoints[i].cfg->url, m->ids + used, CW_SLUG_MAX + 1);
        if (len == 0) {
            snprintf(err, errlen, "endpoint %zu has no letter or digit for its ID; give it a name", i);
            free(at);
            return -1;
        }
        at[i] = (uint32_t)used;
        used += len + 1;
    }
    m->ids = cw_xrealloc(m->ids, used ? used : 1);
    for (size_t i = 0; i < m->n; i++) m->endpoints[i].id = m->ids + at[i];
    free(at);
    return 0;
}

static int build_tables(struct web_model *m, char *err, size_t errlen)
{
    for (m->slots = 16; m->slots < 2 * m->n; m->slots *= 2) {
    }
    m->by_url = cw_xcalloc(m->slots, sizeof *m->by_url);
    m->by_id = cw_xcalloc(m->slots, sizeof *m->by_id);
    for (size_t i = 0; i < m->n; i++) {
        struct web_endpoint *e = &m->endpoints[i];
        size_t slot;
        uint32_t dup = table_find(m, m->by_id, id_key, e->id, strlen(e->id), &slot);
        if (dup) {
            snprintf(err, errlen, "endpoints %zu and %zu have one ID '%s'; rename one", (size_t)dup - 1, i, e->id);
            return -1;
        }
        m->by_id[slot] = (uint32_t)i + 1;
        if (!table_find(m, m->by_url, url_key, e->cfg->url, strlen(e->cfg->url), &slot))
            m->by_url[slot] = (uint32_t)i + 1; /* (one URL twice: config_load refuses it; the first is found) */
    }
    return 0;
}

int web_ids_build(struct web_model *m, const struct cw_config *cfg, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->generation = ++builds;
    seqgap_init(&m->gaps, 1024);
    m->scratch = cw_xcalloc(CW_RESULT_BATCH_MAX, sizeof *m->scratch);
    m->endpoints = cw_xcalloc(cfg->n_endpoints ? cfg->n_endpoints : 1, sizeof *m->endpoints);
    m->own_location = config_own_location(cfg);
    m->per_endpoint_metrics = cw_web_metrics_per_endpoint(cfg->web_metrics_per_endpoint, cfg->n_endpoints);
    size_t n_names = config_location_names(cfg, m->config_locations, CW_LOCATIONS_MAX + 1);
    m->n_config_locations = n_names < CW_LOCATIONS_MAX + 1 ? n_names : CW_LOCATIONS_MAX + 1;
    if (cfg->n_endpoints > UINT32_MAX / 4) {
        snprintf(err, errlen, "%zu endpoints: more than the web can index", cfg->n_endpoints);
        return -1;
    }
    size_t singles = 0, pooled = 0; /* the endpoints checked in one place: their location in m->loc_pool */
    for (size_t i = 0; i < cfg->n_endpoints; i++) singles += cfg->endpoints[i].n_locations <= 1;
    m->loc_pool = singles ? cw_xcalloc(singles, sizeof *m->loc_pool) : NULL;
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        struct web_endpoint *e = &m->endpoints[i];
        e->cfg = &cfg->endpoints[i];
        e->config = cfg;
        struct web_loc *slot = e->cfg->n_locations <= 1 ? &m->loc_pool[pooled++] : NULL;
        web_locs_build(&e->live, e->cfg, m->own_location, m->per_endpoint_metrics, slot);
        m->n = i + 1;
    }
    if (build_ids(m, err, errlen) != 0 || build_tables(m, err, errlen) != 0) return -1;
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
static void update_locs(struct web_endpoint *e, const struct cw_endpoint *ep, const char *own, bool phases)
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
    web_locs_build(&fresh, ep, own, phases, NULL); /* allocated: l's (perhaps pooled) locations are read from */
    web_locs_carry(&fresh, l);
    web_locs_free(l);
    l->locs = fresh.locs;
    l->n_locs = fresh.n_locs;
    l->locs_pooled = fresh.locs_pooled;
}

/* Entry e for ep: a new URL starts afresh (as a new endpoint). Its keys in the tables are the caller's. */
static void update_entry(struct web_model *m, struct web_endpoint *e, const struct cw_endpoint *ep)
{
    bool new_url = strcmp(e->cfg->url, ep->url) != 0;
    if (new_url) {
        struct web_loc *slot = e->live.locs_pooled ? e->live.locs : NULL; /* its pool entry, if it had one */
        web_live_free(&e->live);
        web_locs_free(&e->live);
        memset(&e->live, 0, sizeof e->live);
        web_locs_build(&e->live, ep, m->own_location, m->per_endpoint_metrics, slot);
        e->hist = NULL;
    } else {
        update_locs(e, ep, m->own_location, m->per_endpoint_metrics);
    }
    e->cfg = ep; /* the tables read the URL through cfg: an unchanged one has the same bytes, so the same slot */
}

static void free_moved_ids(struct web_model *m)
{
    for (size_t i = 0; i < m->n_moved_ids; i++) free(m->moved_ids[i]);
    free(m->moved_ids);
    m->moved_ids = NULL;
    m->n_moved_ids = 0;
}

/* The IDs' buffer and both tables again (O(n), ~0.1 s at 500,000). */
static int rebuild_keys(struct web_model *m, char *err, size_t errlen)
{
    free(m->ids);
    free(m->by_id);
    free(m->by_url);
    free_moved_ids(m);
    m->ids = NULL;
    m->by_id = m->by_url = NULL;
    return build_ids(m, err, errlen) != 0 || build_tables(m, err, errlen) != 0 ? -1 : 0;
}

/* Entry i, its keys out of the tables before its URL or name changed, back in with its new ones. */
static int rekey(struct web_model *m, uint32_t i, char *err, size_t errlen)
{
    struct web_endpoint *e = &m->endpoints[i];
    char id[CW_SLUG_MAX + 1];
    size_t len = cw_endpoint_slug(e->cfg->name, e->cfg->url, id, sizeof id);
    if (len == 0) {
        snprintf(err, errlen, "endpoint %u has no letter or digit for its ID; give it a name", i);
        return -1;
    }
    size_t slot;
    uint32_t dup = table_find(m, m->by_id, id_key, id, len, &slot);
    if (dup) {
        snprintf(err, errlen, "endpoints %u and %u have one ID '%s'; rename one", dup - 1, i, id);
        return -1;
    }
    m->moved_ids = cw_xrealloc(m->moved_ids, (m->n_moved_ids + 1) * sizeof *m->moved_ids);
    e->id = m->moved_ids[m->n_moved_ids++] = cw_xstrdup(id);
    m->by_id[slot] = i + 1;
    if (!table_find(m, m->by_url, url_key, e->cfg->url, strlen(e->cfg->url), &slot)) m->by_url[slot] = i + 1;
    return 0;
}

int web_ids_update(struct web_model *m, const struct cw_config *cfg, size_t *n_urls, char *err, size_t errlen)
{
    if (cfg->n_endpoints != m->n || url_moved(m, cfg, n_urls)) return 1;
    point_at(m, cfg);
    /* the entries whose URL or name changes (their ID may): their keys out of the tables while they are the old */
    uint32_t *rekeyed = NULL;
    size_t n_rekeyed = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct cw_endpoint *was = m->endpoints[i].cfg, *ep = &cfg->endpoints[i];
        if (strcmp(was->url, ep->url) == 0 && same_str(was->name, ep->name)) continue;
        table_remove(m, m->by_url, url_key, (uint32_t)i);
        table_remove(m, m->by_id, id_key, (uint32_t)i);
        rekeyed = cw_xrealloc(rekeyed, (n_rekeyed + 1) * sizeof *rekeyed);
        rekeyed[n_rekeyed++] = (uint32_t)i;
    }
    for (size_t i = 0; i < m->n; i++) {
        update_entry(m, &m->endpoints[i], &cfg->endpoints[i]);
        m->endpoints[i].config = cfg;
    }
    int rc = 0;
    if (n_rekeyed + m->n_moved_ids > 64 + m->n / 16) rc = rebuild_keys(m, err, errlen); /* many: at once */
    else
        for (size_t k = 0; k < n_rekeyed && rc == 0; k++) rc = rekey(m, rekeyed[k], err, errlen);
    free(rekeyed);
    web_layout_free(&m->layout);
    web_layout_build(&m->layout, m);
    return rc;
}

void web_ids_free(struct web_model *m)
{
    free(m->by_id);
    free(m->by_url);
    free(m->ids);
    free_moved_ids(m);
    web_layout_free(&m->layout);
    for (size_t i = 0; i < m->n; i++) {
        web_live_free(&m->endpoints[i].live);
        web_locs_free(&m->endpoints[i].live);
    }
    free(m->loc_pool);
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
        e->live.locs_pooled = fresh.locs_pooled;
        e->hist = old->hist;         /* the snapshot stays the model's until the next read (with this configuration) */
        old->live.last.error = NULL; /* moved */
        old->live.last.fig = NULL;
        old->live.alerts = NULL;
    }
    struct seqgap gaps = to->gaps;
    to->gaps = from->gaps;
    from->gaps = gaps;
    to->bus = from->bus;
    to->procs = from->procs;
    from->procs = (struct web_procs){ 0 };
    to->locations = from->locations;
}

static struct web_endpoint *by_key(const struct web_model *m, const uint32_t *table,
                                   const char *(*key)(const struct web_model *, uint32_t), const char *k, size_t len)
{
    if (!table || !m->slots) return NULL; /* a model not (fully) built */
    uint32_t i = table_find(m, table, key, k, len, NULL);
    return i ? &m->endpoints[i - 1] : NULL;
}

struct web_endpoint *web_model_by_id(const struct web_model *m, const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > CW_SLUG_MAX) return NULL;
    return by_key(m, m->by_id, id_key, id, len);
}

struct web_endpoint *web_model_by_path(const struct web_model *m, const char *path, const char **after)
{
    size_t len = strcspn(path, "/");
    if (after) *after = path + len;
    if (len == 0 || len > CW_SLUG_MAX) return NULL;
    return by_key(m, m->by_id, id_key, path, len);
}

struct web_endpoint *web_model_by_url(const struct web_model *m, const char *url)
{
    return by_key(m, m->by_url, url_key, url, strlen(url));
}
