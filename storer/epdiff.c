/* storer/epdiff.c — the endpoints a reload in place must register (see epdiff.h). */
#include "storer/epdiff.h"

#include "common/base/util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool str_eq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* Same row in the endpoints table: url, name, type. */
static bool same_row(const struct cw_endpoint *a, const struct cw_endpoint *b)
{
    return a->type == b->type && str_eq(a->url, b->url) && str_eq(a->name, b->name);
}

/* An open-addressing set of indices into old (slot value index + 1; 0 empty), by the URL's hash. */
struct url_set {
    size_t *slot;
    size_t mask;
};

static void set_init(struct url_set *s, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    s->slot = cw_xcalloc(cap, sizeof *s->slot);
    s->mask = cap - 1;
}

static void set_add(struct url_set *s, const struct cw_endpoint *old, size_t i)
{
    size_t h = (size_t)cw_hash64(old[i].url) & s->mask;
    while (s->slot[h]) h = (h + 1) & s->mask;
    s->slot[h] = i + 1;
}

static const struct cw_endpoint *set_find(const struct url_set *s, const struct cw_endpoint *old, const char *url)
{
    for (size_t h = (size_t)cw_hash64(url) & s->mask; s->slot[h]; h = (h + 1) & s->mask)
        if (strcmp(old[s->slot[h] - 1].url, url) == 0) return &old[s->slot[h] - 1];
    return NULL;
}

static bool url_moved(const struct cw_endpoint *old, size_t n_old, const struct cw_endpoint *eps, size_t n, size_t i)
{
    return i >= n_old || i >= n || !str_eq(old[i].url, eps[i].url);
}

size_t epdiff_changed(const struct cw_endpoint *old, size_t n_old, const struct cw_endpoint *eps, size_t n,
                      size_t *out)
{
    size_t moved = 0, k = 0, most = n > n_old ? n : n_old;
    for (size_t i = 0; i < most; i++)
        if (url_moved(old, n_old, eps, n, i)) moved++;
    struct url_set set = { 0 };
    if (moved) {
        set_init(&set, moved);
        for (size_t i = 0; i < n_old; i++)
            if (url_moved(old, n_old, eps, n, i) && old[i].url) set_add(&set, old, i);
    }
    for (size_t i = 0; i < n; i++) {
        const struct cw_endpoint *was =
            !url_moved(old, n_old, eps, n, i) ? &old[i] : eps[i].url ? set_find(&set, old, eps[i].url) : NULL;
        if (!was || !same_row(was, &eps[i])) out[k++] = i;
    }
    free(set.slot);
    return k;
}
