/* storer/batch.c — the storer's batch of decoded records with their own copies of the strings (batch.h).
 *
 * DESIGN
 * Strings are appended to one arena per batch, so a batch of 500 results costs a handful of allocations
 * once warmed up (store_batch_clear keeps the capacity). The arena is moved, not realloc'ed, when it grows:
 * the old block stays valid while every record's pointers are rebased onto the new one, then it is freed. */
#include "storer/batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire/protocol.h"

void store_batch_init(struct store_batch *b) { memset(b, 0, sizeof *b); }

void store_batch_free(struct store_batch *b)
{
    free(b->checks);
    free(b->alerts);
    free(b->strings);
    memset(b, 0, sizeof *b);
}

void store_batch_clear(struct store_batch *b)
{
    b->n_checks = 0;
    b->n_alerts = 0;
    b->strings_len = 0;
    b->raw_marked = false;
}

size_t store_batch_rows(const struct store_batch *b) { return b->n_checks + b->n_alerts; }

/* Re-points p from the old arena to the same offset in the new one. */
static const char *rebase(const char *p, const char *old_base, char *new_base)
{
    if (!p) return NULL;
    return new_base + (p - old_base);
}

/* Makes room for `need` more bytes in the arena, moving it (and re-pointing every string) when it grows. */
static void arena_reserve(struct store_batch *b, size_t need)
{
    if (b->strings_cap - b->strings_len >= need) return;
    size_t cap = b->strings_cap ? b->strings_cap : 16384;
    while (cap - b->strings_len < need) cap *= 2;
    char *fresh = cw_xmalloc(cap);
    char *old = b->strings;
    if (old) {
        memcpy(fresh, old, b->strings_len);
        for (size_t i = 0; i < b->n_checks; i++) {
            struct cw_result *r = &b->checks[i].r;
            r->url = rebase(r->url, old, fresh);
            r->error = rebase(r->error, old, fresh);
            r->figures = rebase(r->figures, old, fresh);
            r->location = rebase(r->location, old, fresh);
        }
        for (size_t i = 0; i < b->n_alerts; i++) {
            struct cw_alert *a = &b->alerts[i].a;
            a->url = rebase(a->url, old, fresh);
            a->name = rebase(a->name, old, fresh);
            a->message = rebase(a->message, old, fresh);
            a->deliveries = rebase(a->deliveries, old, fresh);
        }
        free(old);
    }
    b->strings = fresh;
    b->strings_cap = cap;
}

/* Appends s (NUL included) to the arena, which the caller has reserved; returns the copy. */
static const char *arena_put(struct store_batch *b, const char *s, size_t n)
{
    char *dst = b->strings + b->strings_len;
    memcpy(dst, s, n);
    dst[n] = '\0';
    b->strings_len += n + 1;
    return dst;
}

void store_batch_add_check(struct store_batch *b, const struct cw_result *r)
{
    if (b->n_checks == b->cap_checks) {
        b->cap_checks = b->cap_checks ? b->cap_checks * 2 : 512;
        b->checks = cw_xrealloc(b->checks, b->cap_checks * sizeof *b->checks);
    }
    const char *url = r->url ? r->url : "";
    const char *error = (!r->ok && r->error) ? r->error : NULL;
    const char *figures = (r->figures && r->figures[0]) ? r->figures : NULL;
    const char *location = r->location ? r->location : "";
    size_t ulen = strlen(url), elen = error ? strlen(error) : 0, flen = figures ? strlen(figures) : 0;
    size_t llen = strlen(location);
    arena_reserve(b, ulen + 1 + (error ? elen + 1 : 0) + (figures ? flen + 1 : 0) + llen + 1);
    b->checks[b->n_checks].maintenance = false; /* the storer marks it (storer/maint.c) */
    b->checks[b->n_checks].raw = b->checks[b->n_checks].fold = true; /* database.raw: storer/rawkeep.c */
    struct cw_result *o = &b->checks[b->n_checks].r;
    *o = *r;
    o->url = arena_put(b, url, ulen);
    o->error = error ? arena_put(b, error, elen) : NULL;
    o->figures = figures ? arena_put(b, figures, flen) : NULL;
    o->location = arena_put(b, location, llen);
    b->n_checks++;
}

void store_batch_locate(struct store_batch *b, size_t from, const char *own)
{
    if (!own || !own[0]) own = "local";
    size_t olen = strlen(own);
    const char *copy = NULL;
    for (size_t i = from; i < b->n_checks; i++) {
        if (b->checks[i].r.location[0]) continue;
        if (!copy) {
            arena_reserve(b, olen + 1); /* may move the arena: every pointer is rebased, copy is taken after */
            copy = arena_put(b, own, olen);
        }
        b->checks[i].r.location = copy;
    }
}

void store_batch_add_alert(struct store_batch *b, const struct cw_alert *a)
{
    if (b->n_alerts == b->cap_alerts) {
        b->cap_alerts = b->cap_alerts ? b->cap_alerts * 2 : 16;
        b->alerts = cw_xrealloc(b->alerts, b->cap_alerts * sizeof *b->alerts);
    }
    const char *url = a->url ? a->url : "", *name = a->name ? a->name : "", *msg = a->message ? a->message : "";
    const char *deliveries = a->deliveries ? a->deliveries : "";
    size_t ulen = strlen(url), nlen = strlen(name), mlen = strlen(msg), dlen = strlen(deliveries);
    arena_reserve(b, ulen + nlen + mlen + dlen + 4);
    struct cw_alert *o = &b->alerts[b->n_alerts].a;
    *o = *a;
    o->url = arena_put(b, url, ulen);
    o->name = arena_put(b, name, nlen);
    o->message = arena_put(b, msg, mlen);
    o->deliveries = arena_put(b, deliveries, dlen);
    b->n_alerts++;
}

int store_batch_encode(const struct store_batch *b, struct cw_buf *scratch, store_batch_emit_fn emit, void *ctx)
{
    int rc;
    size_t i = 0;
    while (i < b->n_checks) {
        proto_results_begin(scratch);
        while (i < b->n_checks && proto_results_add(scratch, &b->checks[i].r) == 0) i++;
        if ((rc = emit(ctx, scratch->data, scratch->len)) != 0) return rc;
    }
    for (size_t k = 0; k < b->n_alerts; k++) {
        if (proto_alert_encode(scratch, &b->alerts[k].a) != 0) continue; /* cannot happen: decoded ones are valid */
        if ((rc = emit(ctx, scratch->data, scratch->len)) != 0) return rc;
    }
    return 0;
}
