/* storer/epcache.c — the backends' url -> endpoints.id cache, bound to the configuration (see backend.h,
 * store_ep_cache). */
#include "storer/backend.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/hash.h"
#include "common/base/util.h"

struct store_ep_entry { /* a URL the bound configuration does not have */
    UT_hash_handle hh;
    int64_t id;
    char url[]; /* the key, owned */
};

static struct store_ep_entry *other_of(const struct store_ep_cache *c, const char *url)
{
    struct store_ep_entry *e = NULL;
    HASH_FIND_STR(c->others, url, e);
    return e;
}

static void others_free(struct store_ep_cache *c)
{
    struct store_ep_entry *e, *next;
    HASH_ITER(hh, c->others, e, next)
    {
        HASH_DEL(c->others, e);
        free(e);
    }
    c->others = NULL;
    c->n_others = 0;
}

bool store_ep_cache_get(const struct store_ep_cache *c, const char *url, int64_t *id)
{
    long i = url_index_find(&c->idx, url);
    if (i >= 0) {
        if (c->ids[i] == STORE_EP_NONE) return false;
        *id = c->ids[i];
        return true;
    }
    const struct store_ep_entry *e = other_of(c, url);
    if (!e) return false;
    *id = e->id;
    return true;
}

void store_ep_cache_put(struct store_ep_cache *c, const char *url, int64_t id)
{
    long i = url_index_find(&c->idx, url);
    if (i >= 0) {
        c->n += c->ids[i] == STORE_EP_NONE;
        c->ids[i] = id;
        return;
    }
    struct store_ep_entry *e = other_of(c, url);
    if (e) {
        e->id = id;
        return;
    }
    size_t len = strlen(url);
    e = cw_xmalloc(sizeof *e + len + 1);
    memset(e, 0, sizeof *e);
    memcpy(e->url, url, len + 1);
    e->id = id;
    HASH_ADD_KEYPTR(hh, c->others, e->url, len, e);
    c->n_others++;
    c->n++;
}

/* The id c knows for eps[i] (of the array being bound), looked up in place first (a reload that edits a few
 * endpoints finds the others at the same index), then by URL. */
static int64_t carried(const struct store_ep_cache *c, const struct cw_endpoint *eps, size_t i)
{
    if (!eps[i].url) return STORE_EP_NONE;
    long at = i < c->idx.n && c->idx.eps[i].url && strcmp(c->idx.eps[i].url, eps[i].url) == 0
                  ? (long)i
                  : url_index_find(&c->idx, eps[i].url);
    if (at >= 0) return c->ids[at];
    const struct store_ep_entry *e = other_of(c, eps[i].url);
    return e ? e->id : STORE_EP_NONE;
}

/* The id beside of url, taken out of the table beside (STORE_EP_NONE when it has none). */
static int64_t take_other(struct store_ep_cache *c, const char *url)
{
    struct store_ep_entry *e = url ? other_of(c, url) : NULL;
    if (!e) return STORE_EP_NONE;
    int64_t id = e->id;
    HASH_DEL(c->others, e);
    free(e);
    c->n_others--;
    c->n--;
    return id;
}

/* A reload in place: the index re-lists only the changed URLs (url_index_rebind); an old URL's id goes beside, a
 * new URL takes its id from beside. False when not in place. */
static bool rebind_in_place(struct store_ep_cache *c, const struct cw_endpoint *eps, size_t n)
{
    const struct cw_endpoint *old = c->idx.eps;
    size_t k;
    size_t *changed = url_index_rebind(&c->idx, eps, n, &k);
    if (k == SIZE_MAX) return false;
    for (size_t j = 0; j < k; j++) {
        size_t i = changed[j];
        if (c->ids[i] != STORE_EP_NONE && old[i].url) {
            c->n--; /* store_ep_cache_put counts it again, beside */
            int64_t id = c->ids[i];
            c->ids[i] = STORE_EP_NONE;
            store_ep_cache_put(c, old[i].url, id); /* no longer configured: beside (the index has not it) */
        }
    }
    for (size_t j = 0; j < k; j++) {
        size_t i = changed[j];
        int64_t id = take_other(c, eps[i].url);
        c->ids[i] = id;
        c->n += id != STORE_EP_NONE;
    }
    free(changed);
    return true;
}

void store_ep_cache_bind(struct store_ep_cache *c, const struct cw_endpoint *eps, size_t n)
{
    if (rebind_in_place(c, eps, n)) return;
    struct store_ep_cache b = { 0 };
    url_index_build(&b.idx, eps, n);
    b.ids = cw_xmalloc((n ? n : 1) * sizeof *b.ids);
    for (size_t i = 0; i < n; i++) {
        b.ids[i] = c->n ? carried(c, eps, i) : STORE_EP_NONE;
        b.n += b.ids[i] != STORE_EP_NONE;
    }
    /* the URLs of the old binding the new one lacks (removed endpoints: their rows stay) and those beside that it
     * still lacks keep their ids, as copies */
    for (size_t i = 0; i < c->idx.n; i++)
        if (c->ids[i] != STORE_EP_NONE && c->idx.eps[i].url && url_index_find(&b.idx, c->idx.eps[i].url) < 0)
            store_ep_cache_put(&b, c->idx.eps[i].url, c->ids[i]);
    struct store_ep_entry *e, *next;
    HASH_ITER(hh, c->others, e, next)
    {
        if (url_index_find(&b.idx, e->url) >= 0) continue;
        HASH_DEL(c->others, e);
        c->n_others--;
        HASH_ADD_KEYPTR(hh, b.others, e->url, strlen(e->url), e);
        b.n_others++;
        b.n++;
    }
    store_ep_cache_free(c);
    *c = b;
}

void store_ep_cache_clear(struct store_ep_cache *c)
{
    others_free(c);
    for (size_t i = 0; i < c->idx.n; i++) c->ids[i] = STORE_EP_NONE;
    c->n = 0;
}

void store_ep_cache_free(struct store_ep_cache *c)
{
    others_free(c);
    url_index_free(&c->idx);
    free(c->ids);
    memset(c, 0, sizeof *c);
}
