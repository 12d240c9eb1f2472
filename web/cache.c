/* web/cache.c — the short-lived cache of whole answers (see web/cache.h): keys, bounds, expiry, invalidation. */
#include "web/cache.h"

#include <stdlib.h>
#include <string.h>

/* The routes whose answers are a pure function of (path, query, model, configuration) and costly to render. Not
 * /healthz (cheap, and a probe must see the truth), not /metrics (streamed), not the badges (~1 KB rendered in
 * microseconds: 30,000 possible keys at 10,000 endpoints would only push the pages out), not the endpoint pages
 * (their detail has its own cache, web/history_wait.c). */
static const char *const cached_routes[] = { "/", "/api/v1/endpoints", "/api/v1/incidents" };

void web_cache_init(struct web_cache *c, void (*release)(void *value))
{
    memset(c, 0, sizeof *c);
    c->release = release;
}

static void drop(struct web_cache *c, struct web_cache_entry *e)
{
    HASH_DEL(c->by_key, e);
    c->n--;
    c->bytes -= e->bytes;
    c->release(e->value);
    free(e->key);
    free(e);
}

void web_cache_free(struct web_cache *c)
{
    while (c->by_key) drop(c, c->by_key);
}

bool web_cache_route(const char *route_path)
{
    for (size_t i = 0; i < sizeof cached_routes / sizeof cached_routes[0]; i++)
        if (strcmp(route_path, cached_routes[i]) == 0) return true;
    return false;
}

/* A sequence of NUL-terminated strings: the path, then per argument its key and its value with a '=' before it
 * (an empty string when given without '='). No string contains a NUL, so no two requests share a key. */
bool web_cache_key(struct cw_buf *key, const char *path, const struct web_arg *args, size_t n_args)
{
    cw_buf_reset(key);
    cw_buf_put(key, path, strlen(path) + 1);
    for (size_t i = 0; i < n_args && key->len <= WEB_CACHE_KEY_MAX; i++) {
        cw_buf_put(key, args[i].key, strlen(args[i].key) + 1);
        if (args[i].value) {
            cw_buf_put(key, "=", 1);
            cw_buf_put(key, args[i].value, strlen(args[i].value));
        }
        cw_buf_put(key, "", 1);
    }
    return key->len <= WEB_CACHE_KEY_MAX;
}

static bool stamp_equal(const struct web_cache_stamp *a, const struct web_cache_stamp *b)
{
    return a->generation == b->generation && a->history == b->history &&
           a->history_read_at_ms == b->history_read_at_ms && a->cfg == b->cfg;
}

void web_cache_sweep(struct web_cache *c, const struct web_cache_stamp *stamp, int64_t now_mono_ns)
{
    if (!stamp_equal(&c->stamp, stamp)) {
        c->dropped += c->n;
        web_cache_free(c);
        c->stamp = *stamp;
        return;
    }
    while (c->by_key && c->by_key->expires_mono_ns <= now_mono_ns) drop(c, c->by_key);
}

void *web_cache_get(struct web_cache *c, const struct cw_buf *key, int64_t now_mono_ns, unsigned *status)
{
    struct web_cache_entry *e;
    HASH_FIND(hh, c->by_key, key->data, key->len, e);
    if (e && e->expires_mono_ns <= now_mono_ns) {
        drop(c, e);
        e = NULL;
    }
    if (!e) {
        c->misses++;
        return NULL;
    }
    c->hits++;
    *status = e->status;
    return e->value;
}

bool web_cache_put(struct web_cache *c, const struct cw_buf *key, void *value, unsigned status, size_t bytes,
                   int64_t now_mono_ns)
{
    size_t size = bytes + key->len;
    if (key->len > WEB_CACHE_KEY_MAX || size > WEB_CACHE_MAX_BYTES) return false;
    struct web_cache_entry *old;
    HASH_FIND(hh, c->by_key, key->data, key->len, old);
    if (old) drop(c, old);
    while (c->by_key && (c->n >= WEB_CACHE_MAX_ENTRIES || c->bytes + size > WEB_CACHE_MAX_BYTES)) {
        drop(c, c->by_key);
        c->evicted++;
    }
    struct web_cache_entry *e = cw_xcalloc(1, sizeof *e);
    e->key = cw_xmalloc(key->len);
    memcpy(e->key, key->data, key->len);
    e->key_len = key->len;
    e->value = value;
    e->status = status;
    e->bytes = size;
    e->expires_mono_ns = now_mono_ns + WEB_CACHE_TTL_NS;
    HASH_ADD_KEYPTR(hh, c->by_key, e->key, e->key_len, e);
    c->n++;
    c->bytes += size;
    c->stored++;
    return true;
}
