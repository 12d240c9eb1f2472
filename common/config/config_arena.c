/* common/config/config_arena.c — the bump allocator that owns a config's strings and arrays (see config_arena.h).
 * Blocks are never shrunk or reused; the whole arena goes at once in cw_arena_free. */
#include "common/config/config_arena.h"
#include "common/base/util.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (256 * 1024)

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

/* A malloc'd buffer the arena took over (cw_arena_adopt); the node itself is in the arena. */
struct arena_adopted {
    struct arena_adopted *next;
    void *p;
};

struct cw_arena {
    struct arena_block *head;      /* the block being filled */
    struct arena_block *big;       /* blocks made for one large request */
    struct arena_adopted *adopted; /* buffers freed with the arena */
};

struct cw_arena *cw_arena_new(void) { return cw_xcalloc(1, sizeof(struct cw_arena)); }

static void free_chain(struct arena_block *b)
{
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void cw_arena_free(struct cw_arena *a)
{
    if (!a) return;
    for (struct arena_adopted *d = a->adopted; d; d = d->next) free(d->p);
    free_chain(a->head);
    free_chain(a->big);
    free(a);
}

void *cw_arena_alloc(struct cw_arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0) n = 8;
    if (n > ARENA_BLOCK / 4) {
        struct arena_block *b = cw_xcalloc(1, sizeof *b + n);
        b->cap = b->used = n;
        b->next = a->big;
        a->big = b;
        return b->data;
    }
    if (!a->head || a->head->cap - a->head->used < n) {
        struct arena_block *b = cw_xmalloc(sizeof *b + ARENA_BLOCK);
        b->cap = ARENA_BLOCK;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

char *cw_arena_strndup(struct cw_arena *a, const char *s, size_t n)
{
    if (!s) return NULL;
    char *d = cw_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *cw_arena_strdup(struct cw_arena *a, const char *s) { return s ? cw_arena_strndup(a, s, strlen(s)) : NULL; }

void cw_arena_adopt(struct cw_arena *a, void *p)
{
    if (!p) return;
    struct arena_adopted *d = cw_arena_alloc(a, sizeof *d);
    d->p = p;
    d->next = a->adopted;
    a->adopted = d;
}

void cw_arena_reset(struct cw_arena *a)
{
    for (struct arena_block *b = a->big; b; b = b->next) explicit_bzero(b->data, b->used);
    free_chain(a->big);
    a->big = NULL;
    if (!a->head) return;
    for (struct arena_block *b = a->head; b; b = b->next) explicit_bzero(b->data, b->used);
    free_chain(a->head->next);
    a->head->next = NULL;
    a->head->used = 0;
}
