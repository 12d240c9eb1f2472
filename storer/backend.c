/* storer/backend.c — picks the database backend for a configured driver, and the helpers the backends
 * share: server messages on one line, text made valid UTF-8, UTC time to the millisecond, and the
 * url -> endpoints.id cache (storer/backend.h). */
#include "storer/backend.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

const struct store_backend *store_backend_for(enum cw_db_driver driver)
{
    switch (driver) {
    case CW_DB_SQLITE: return &store_backend_sqlite;
    case CW_DB_POSTGRES: return &store_backend_postgres;
    case CW_DB_MYSQL: return &store_backend_mysql;
    }
    return NULL;
}

/* ---- messages and values */

void store_one_line(const char *msg, char *out, size_t outlen)
{
    size_t o = 0;
    bool space = false;
    if (outlen == 0)
        return;
    for (const char *p = msg ? msg : ""; *p && o + 1 < outlen; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < outlen)
            out[o++] = ' ';
        space = false;
        out[o++] = *p;
    }
    out[o] = '\0';
}

size_t store_clean_text(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        size_t n = cw_utf8_seq_len(p);
        size_t w = n ? n : 1;
        if (o + w + 1 > cap)
            break;
        if (n)
            memcpy(out + o, p, n);
        else
            out[o] = '?';
        o += w;
        p += w;
    }
    out[o] = '\0';
    return o;
}

char *store_clean_text_dup(const char *s, size_t *len)
{
    size_t cap = strlen(s) + 1;
    char *out = cw_xmalloc(cap);
    size_t n = store_clean_text(s, out, cap);
    if (len)
        *len = n;
    return out;
}

bool store_utc_ms(int64_t us, struct tm *tm, int *ms)
{
    int64_t all_ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
    time_t secs = (time_t)(all_ms >= 0 ? all_ms / 1000 : -((-all_ms + 999) / 1000));
    *ms = (int)(all_ms - (int64_t)secs * 1000);
    return gmtime_r(&secs, tm) != NULL;
}

/* ---- the url -> id cache */

void store_ep_cache_clear(struct store_ep_cache *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->keys[i]);
    free(c->keys);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

bool store_ep_cache_get(const struct store_ep_cache *c, const char *url, int64_t *id)
{
    if (!c->cap)
        return false;
    for (size_t i = cw_hash64(url) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        if (!c->keys[i])
            return false;
        if (!strcmp(c->keys[i], url)) {
            *id = c->ids[i];
            return true;
        }
    }
}

static void cache_put_owned(struct store_ep_cache *c, char *key, int64_t id) /* takes key */
{
    size_t i = cw_hash64(key) & (c->cap - 1);
    while (c->keys[i]) {
        if (!strcmp(c->keys[i], key)) {
            free(key);
            c->ids[i] = id;
            return;
        }
        i = (i + 1) & (c->cap - 1);
    }
    c->keys[i] = key;
    c->ids[i] = id;
    c->n++;
}

void store_ep_cache_put(struct store_ep_cache *c, const char *url, int64_t id)
{
    if ((c->n + 1) * 2 > c->cap) { /* keep the load at most 1/2 */
        struct store_ep_cache old = *c;
        c->cap = old.cap ? old.cap * 2 : 1024;
        c->n = 0;
        c->keys = cw_xcalloc(c->cap, sizeof *c->keys);
        c->ids = cw_xcalloc(c->cap, sizeof *c->ids);
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i])
                cache_put_owned(c, old.keys[i], old.ids[i]);
        free(old.keys);
        free(old.ids);
    }
    cache_put_owned(c, cw_xstrdup(url), id);
}
