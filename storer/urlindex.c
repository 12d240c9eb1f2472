/* storer/urlindex.c — configured endpoints by URL, open addressing over uint32 indexes (see urlindex.h). */
#include "storer/urlindex.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

void url_index_build(struct url_index *x, const struct cw_endpoint *eps, size_t n)
{
    url_index_free(x);
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    x->eps = eps;
    x->n = n;
    x->slot = cw_xcalloc(cap, sizeof *x->slot);
    x->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        if (!eps[i].url) continue;
        size_t h = (size_t)cw_hash64(eps[i].url) & x->mask;
        for (; x->slot[h]; h = (h + 1) & x->mask)
            if (strcmp(eps[x->slot[h] - 1].url, eps[i].url) == 0) break; /* a duplicate: the first stays */
        if (!x->slot[h]) x->slot[h] = (uint32_t)i + 1;
    }
}

long url_index_find(const struct url_index *x, const char *url)
{
    if (!x->slot || !url) return -1;
    for (size_t h = (size_t)cw_hash64(url) & x->mask; x->slot[h]; h = (h + 1) & x->mask)
        if (strcmp(x->eps[x->slot[h] - 1].url, url) == 0) return (long)x->slot[h] - 1;
    return -1;
}

static size_t home_of(const struct url_index *x, const char *url) { return (size_t)cw_hash64(url) & x->mask; }

/* Unlists index i (under x->eps[i].url), shifting back the entries probed past it so that none is lost. */
static void unlist(struct url_index *x, size_t i)
{
    size_t s = home_of(x, x->eps[i].url);
    while (x->slot[s] && x->slot[s] != i + 1) s = (s + 1) & x->mask;
    if (!x->slot[s]) return; /* a duplicate, never listed */
    for (size_t j = (s + 1) & x->mask; x->slot[j]; j = (j + 1) & x->mask) {
        size_t home = home_of(x, x->eps[x->slot[j] - 1].url);
        bool stays = s < j ? home > s && home <= j : home > s || home <= j; /* home in (s, j], cyclically */
        if (stays) continue;
        x->slot[s] = x->slot[j];
        s = j;
    }
    x->slot[s] = 0;
}

static void list(struct url_index *x, size_t i)
{
    size_t h = home_of(x, x->eps[i].url);
    for (; x->slot[h]; h = (h + 1) & x->mask)
        if (strcmp(x->eps[x->slot[h] - 1].url, x->eps[i].url) == 0) return; /* a duplicate: the first stays */
    x->slot[h] = (uint32_t)i + 1;
}

static bool same_url(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

size_t *url_index_rebind(struct url_index *x, const struct cw_endpoint *eps, size_t n, size_t *n_changed)
{
    *n_changed = SIZE_MAX;
    if (!x->slot || n != x->n) return NULL;
    size_t *changed = NULL, k = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (same_url(x->eps[i].url, eps[i].url)) continue;
        if (!eps[i].url || url_index_find(x, eps[i].url) >= 0) { /* moved here from another index: not in place */
            free(changed);
            return NULL;
        }
        if (k == cap) changed = cw_xrealloc(changed, (cap = cap ? 2 * cap : 8) * sizeof *changed);
        changed[k++] = i;
    }
    for (size_t j = 0; j < k; j++)
        if (x->eps[changed[j]].url) unlist(x, changed[j]); /* under the old URLs, still alive */
    x->eps = eps; /* the keys of the others: the same bytes, now in eps */
    for (size_t j = 0; j < k; j++) list(x, changed[j]);
    *n_changed = k;
    return changed;
}

void url_index_free(struct url_index *x)
{
    free(x->slot);
    memset(x, 0, sizeof *x);
}
