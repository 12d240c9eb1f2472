/* storer/backend.c — picks the database backend for a configured driver, and the helpers the backends
 * share: server messages on one line, text made valid UTF-8, UTC time to the millisecond, and the
 * url -> endpoints.id cache on uthash (storer/backend.h). */
#include "storer/backend.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

#include "common/base/hash.h"

const struct store_backend *store_backend_for(enum cw_db_driver driver)
{
    switch (driver) {
    case CW_DB_SQLITE:
        return &store_backend_sqlite;
    case CW_DB_POSTGRES:
        return &store_backend_postgres;
    case CW_DB_MYSQL:
        return &store_backend_mysql;
    }
    return NULL;
}

_Static_assert(CW_RESULT_KIND_MAX == CW_CHECK_TYPE_MAX, "a result's kind is a check type (common/wire/protocol.h)");

const char *store_type_name(unsigned kind)
{
    const char *name = kind <= CW_CHECK_TYPE_MAX ? config_check_type_name((enum cw_check_type)kind) : NULL;
    return name ? name : "http";
}

/* ---- messages and values */

void store_one_line(const char *msg, char *out, size_t outlen)
{
    size_t o = 0;
    bool space = false;
    if (outlen == 0) return;
    for (const char *p = msg ? msg : ""; *p && o + 1 < outlen; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < outlen) out[o++] = ' ';
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
        if (o + w + 1 > cap) break;
        if (n) memcpy(out + o, p, n);
        else out[o] = '?';
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
    if (len) *len = n;
    return out;
}

bool store_utc_ms(int64_t us, struct tm *tm, int *ms)
{
    int64_t all_ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
    time_t secs = (time_t)(all_ms >= 0 ? all_ms / 1000 : -((-all_ms + 999) / 1000));
    *ms = (int)(all_ms - (int64_t)secs * 1000);
    return gmtime_r(&secs, tm) != NULL;
}

void store_batch_raw_view(const struct store_batch *b, struct store_batch *view)
{
    if (view->cap_checks < b->n_checks) {
        view->cap_checks = b->n_checks;
        view->checks = cw_xrealloc(view->checks, view->cap_checks * sizeof *view->checks);
    }
    view->n_checks = 0;
    for (size_t i = 0; i < b->n_checks; i++)
        if (b->checks[i].raw) view->checks[view->n_checks++] = b->checks[i];
    view->alerts = b->alerts;
    view->n_alerts = view->cap_alerts = b->n_alerts;
    view->strings = NULL;
    view->strings_len = view->strings_cap = 0;
}

void store_batch_view_free(struct store_batch *view)
{
    free(view->checks);
    memset(view, 0, sizeof *view);
}
