/* common/config/snapshot_codec.c — the field codecs of the snapshot's payload (see snapshot_codec.h) and the
 * choice of which secrets a whole-snapshot reader keeps (CLOCKWERK_SECRETS). */
#include "common/config/snapshot_codec.h"

#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

void snap_put_f64(struct cw_buf *b, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    le_buf_u64(b, v);
}

void snap_put_i32(struct cw_buf *b, int v) { le_buf_u32(b, (uint32_t)v); }

void snap_put_bytes(struct cw_buf *b, const char *s, size_t n)
{
    if (!s) {
        le_buf_u32(b, SNAP_STR_NULL);
        return;
    }
    le_buf_u32(b, (uint32_t)n);
    cw_buf_put(b, s, n);
    le_buf_u8(b, 0);
}

void snap_put_str(struct cw_buf *b, const char *s) { snap_put_bytes(b, s, s ? strlen(s) : 0); }

void snap_put_strv(struct cw_buf *b, char *const *v, size_t n)
{
    le_buf_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) snap_put_str(b, v[i]);
}

/* ---- reading ---- */

bool snap_is_bad(const struct rd *r) { return r->in.why != NULL; }
void snap_set_bad(struct rd *r) { le_reader_fail(&r->in, "malformed"); }

double snap_get_f64(struct rd *r)
{
    uint64_t v = le_read_u64(&r->in);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

int snap_get_i32(struct rd *r) { return (int)le_read_u32(&r->in); }

bool snap_get_bool(struct rd *r)
{
    uint8_t v = le_read_u8(&r->in);
    if (v > 1) snap_set_bad(r);
    return v == 1;
}

const char *snap_peek_str(struct rd *r, size_t *len)
{
    uint32_t n = le_read_u32(&r->in);
    if (snap_is_bad(r) || n == SNAP_STR_NULL) return NULL;
    const uint8_t *s = le_read_bytes(&r->in, (size_t)n + 1);
    if (!s || s[n] != '\0') {
        snap_set_bad(r);
        return NULL;
    }
    *len = n;
    return (const char *)s;
}

char *snap_get_bytes(struct rd *r, size_t *len)
{
    size_t n = 0;
    const char *s = snap_peek_str(r, &n);
    *len = s ? n : 0;
    return s ? cw_arena_strndup(r->arena, s, n) : NULL;
}

char *snap_get_bytes32(struct rd *r, uint32_t *len)
{
    size_t n = 0;
    char *s = snap_get_bytes(r, &n);
    *len = (uint32_t)n; /* a string's length is a u32 on the wire */
    return s;
}

char *snap_get_str(struct rd *r)
{
    size_t n = 0;
    char *s = snap_get_bytes(r, &n);
    if (s && strlen(s) != n) snap_set_bad(r); /* a NUL inside a text field */
    return s;
}

char *snap_skip_str(struct rd *r)
{
    size_t n = 0;
    (void)snap_peek_str(r, &n);
    return NULL;
}

size_t snap_get_count(struct rd *r, size_t min)
{
    uint32_t n = le_read_u32(&r->in);
    if (snap_is_bad(r)) return 0;
    if (r->in.left / min < n) {
        snap_set_bad(r);
        return 0;
    }
    return n;
}

void snap_get_strv(struct rd *r, char ***out, size_t *n)
{
    *n = snap_get_count(r, 5);
    if (!*n) return;
    *out = cw_arena_alloc(r->arena, *n * sizeof(char *));
    for (size_t i = 0; i < *n; i++)
        if (!((*out)[i] = snap_get_str(r))) snap_set_bad(r);
}

void snap_get_strv32(struct rd *r, char ***out, uint32_t *n)
{
    size_t k = 0;
    snap_get_strv(r, out, &k);
    *n = (uint32_t)k; /* a count is a u32 on the wire */
}

/* Which secrets a whole-snapshot reader keeps: CLOCKWERK_SECRETS ("db", "smtp", "web", "none", or a comma
 * list), set by the supervisor per child (the storer keeps the database's, the alerter the SMTP one, the web its
 * basic-auth one and the push tokens, the relay none). Unset (the tap, tools, tests): all. */
bool snap_keeps_secret(const struct rd *r, const char *which)
{
    const char *v = getenv("CLOCKWERK_SECRETS");
    if (r->all_secrets) return true;
    if (!v) return true;
    size_t n = strlen(which);
    for (const char *p = v; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, which, n) == 0) return true;
        p += len;
        if (*p == ',') p++;
    }
    return false;
}
