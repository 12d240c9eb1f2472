/* web/cache.h — clockwerk-web's short-lived cache of whole answers: the status page (per `?page=`), the endpoint
 * list and the incidents of the JSON API (per query) are rendered once and the same bytes are handed to every
 * client asking within WEB_CACHE_TTL_NS, so a crowd on `/` costs one render a second, not one per request, and
 * cheap routes (/healthz) never queue behind renders.
 *
 * The cache knows nothing of libmicrohttpd: a value is an opaque pointer (web/http.c stores a reference-counted
 * MHD_Response, which libmicrohttpd may queue on many connections at once) released through the function given
 * to web_cache_init. Only what web/http.c decides to put is cached (status 200, not streamed, after auth).
 *
 * Keys: the path and the query arguments the handler sees (web/route.h: the first WEB_ARGS_MAX, decoded, in
 * order), nothing else — HEAD and GET share an entry. Bounds: WEB_CACHE_MAX_ENTRIES entries and
 * WEB_CACHE_MAX_BYTES bytes (the answers' sizes plus the keys'); a key longer than WEB_CACHE_KEY_MAX is not
 * cached; when full, the oldest entry goes first (entries expire in the order they were made: one TTL). So a
 * client varying the query string only pushes entries out early; it cannot grow the cache.
 *
 * Invalidation: every entry belongs to a stamp of what the answers were rendered from (the model's generation,
 * the history snapshot, the configuration); web_cache_sweep drops everything when the stamp changes (a reload, a
 * new history snapshot) and the expired entries otherwise. The live model (checks from the bus) changes all the
 * time: an answer is at most WEB_CACHE_TTL_NS older than the model. */
#ifndef CW_WEB_CACHE_H
#define CW_WEB_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/hash.h"
#include "common/base/util.h"
#include "web/route.h"

#define WEB_CACHE_TTL_NS INT64_C(1000000000) /* 1 s: the page reloads itself every 60 s */
#define WEB_CACHE_MAX_ENTRIES 64
#define WEB_CACHE_MAX_BYTES (16u * 1024 * 1024)
#define WEB_CACHE_KEY_MAX 512

/* What the cached answers were rendered from: any change drops them all. */
struct web_cache_stamp {
    uint64_t generation;        /* web_model.generation: differs after a reload */
    const void *history;        /* web_model.history */
    int64_t history_read_at_ms; /* its read_at_ms (a new snapshot may reuse a freed one's address) */
    const void *cfg;            /* the configuration the answers were rendered with */
};

struct web_cache_entry {
    char *key;
    size_t key_len;
    void *value;
    unsigned status;
    size_t bytes; /* counted against WEB_CACHE_MAX_BYTES */
    int64_t expires_mono_ns;
    UT_hash_handle hh; /* in insertion order: the head is the oldest */
};

struct web_cache {
    struct web_cache_entry *by_key;
    size_t n, bytes;
    struct web_cache_stamp stamp;
    void (*release)(void *value);
    uint64_t hits, misses, stored, evicted, dropped; /* dropped: by a change of stamp */
};

void web_cache_init(struct web_cache *c, void (*release)(void *value));
/* Releases every value. */
void web_cache_free(struct web_cache *c);
/* Whether the route's answers are cached (the route table's path of the route). */
bool web_cache_route(const char *route_path);
/* The key of a request into key (reset first); false when longer than WEB_CACHE_KEY_MAX (not to be cached). */
bool web_cache_key(struct cw_buf *key, const char *path, const struct web_arg *args, size_t n_args);
/* Drops every entry when stamp differs from the entries' (and takes it), else the expired ones. */
void web_cache_sweep(struct web_cache *c, const struct web_cache_stamp *stamp, int64_t now_mono_ns);
/* The value for key if it has not expired at now (*status its HTTP status), else NULL. The cache keeps it: a
 * caller that hands it on takes its own reference. Sweep with the current stamp first. */
void *web_cache_get(struct web_cache *c, const struct cw_buf *key, int64_t now_mono_ns, unsigned *status);
/* Keeps value (the cache takes the caller's reference: released when the entry goes) for key until now + TTL;
 * bytes: the answer's size. False when it cannot be kept (too large for the bounds): the caller keeps its
 * reference. Older entries are dropped to make room. */
bool web_cache_put(struct web_cache *c, const struct cw_buf *key, void *value, unsigned status, size_t bytes,
                   int64_t now_mono_ns);

#endif
