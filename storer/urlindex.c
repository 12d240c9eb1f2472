/* storer/urlindex.c — configured endpoints by URL, open addressing over uint32 indexes (see urlindex.h). */
#include "storer/urlindex.h"

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

void url_index_free(struct url_index *x)
{
    free(x->slot);
    memset(x, 0, sizeof *x);
}
