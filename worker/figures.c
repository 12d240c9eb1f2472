/* worker/figures.c — the budgeted JSON object writer of a check's figures (see figures.h). */
#include "worker/figures.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Room kept free for the end: `]`, `,"<key>_cut":4294967295` (key up to 63), `,"figures_cut":4294967295`, `}`. */
#define FIG_ARRAY_RESERVE (1 + 2 + 63 + 6 + 10)
#define FIG_OBJECT_RESERVE (1 + 15 + 10 + 1)

static size_t reserve(const struct figures *f) { return FIG_OBJECT_RESERVE + (f->in_array ? FIG_ARRAY_RESERVE : 0); }

/* Length of a valid UTF-8 sequence at s (of n bytes), or 0 when s does not start one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xe0) == 0xc0) len = 2, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0) len = 3, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0) len = 4, cp = s[0] & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

/* Writes s (n bytes) as a JSON string (quotes included) at out when out is not NULL; returns its length. */
static size_t escape(char *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = 0;
#define PUT(c)                         \
    do {                               \
        if (out) out[len] = (char)(c); \
        len++;                         \
    } while (0)
    PUT('"');
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t seq = c >= 0x80 ? utf8_len(p + i, n - i) : 1;
        if (c >= 0x80 && seq > 1) {
            for (size_t k = 0; k < seq; k++) PUT(p[i + k]);
            i += seq;
            continue;
        }
        const char *short_form = c == '"'    ? "\\\""
                                 : c == '\\' ? "\\\\"
                                 : c == '\n' ? "\\n"
                                 : c == '\r' ? "\\r"
                                 : c == '\t' ? "\\t"
                                             : NULL;
        if (short_form) {
            PUT(short_form[0]);
            PUT(short_form[1]);
        } else if (c < 0x20 || c >= 0x7f) {
            char hex[7]; /* a NUL as U+2400 (SYMBOL FOR NULL): receivers refuse \u0000 (PostgreSQL's jsonb does) */
            snprintf(hex, sizeof hex, "\\u%04x", c ? c : 0x2400u);
            for (int k = 0; k < 6; k++) PUT(hex[k]);
        } else {
            PUT(c);
        }
        i++;
    }
    PUT('"');
#undef PUT
    return len;
}

void figures_begin(struct figures *f, char *buf, size_t cap)
{
    memset(f, 0, sizeof *f);
    f->buf = buf;
    f->cap = cap > CW_FIGURES_MAX + 1 ? CW_FIGURES_MAX + 1 : cap;
    f->buf[0] = '{';
    f->buf[1] = '\0';
    f->len = 1;
}

/* Whether `need` more bytes fit while keeping the reserve (and the NUL). */
static bool fits(const struct figures *f, size_t need) { return f->len + need + reserve(f) + 1 <= f->cap; }

/* Appends `,"key":` + the value text (already formatted, or a string to escape when raw is NULL). */
static bool member(struct figures *f, const char *key, const char *text, const char *raw, size_t raw_n)
{
    if (f->in_array) figures_array_end(f);
    size_t klen = escape(NULL, key, strlen(key));
    size_t vlen = text ? strlen(text) : escape(NULL, raw, raw_n);
    size_t need = (f->members ? 1 : 0) + klen + 1 + vlen;
    if (!fits(f, need)) {
        f->cut++;
        return false;
    }
    if (f->members) f->buf[f->len++] = ',';
    f->len += escape(f->buf + f->len, key, strlen(key));
    f->buf[f->len++] = ':';
    if (text) {
        memcpy(f->buf + f->len, text, vlen);
        f->len += vlen;
    } else {
        f->len += escape(f->buf + f->len, raw, raw_n);
    }
    f->buf[f->len] = '\0';
    f->members = true;
    return true;
}

bool figures_strn(struct figures *f, const char *key, const char *value, size_t n)
{
    return member(f, key, NULL, value ? value : "", value ? n : 0);
}

bool figures_str(struct figures *f, const char *key, const char *value)
{
    return figures_strn(f, key, value, value ? strlen(value) : 0);
}

bool figures_int(struct figures *f, const char *key, int64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)value);
    return member(f, key, text, NULL, 0);
}

bool figures_num(struct figures *f, const char *key, double value, int decimals)
{
    char text[64];
    if (!isfinite(value) || fabs(value) > 1e15) {
        snprintf(text, sizeof text, "null");
    } else {
        snprintf(text, sizeof text, "%.*f", decimals < 0 ? 0 : decimals > 9 ? 9 : decimals, value);
        char *dot = strchr(text, '.');
        if (dot) { /* 1.500 -> 1.5, 2.000 -> 2 */
            char *end = text + strlen(text) - 1;
            while (end > dot && *end == '0') *end-- = '\0';
            if (end == dot) *end = '\0';
        }
        if (strcmp(text, "-0") == 0) snprintf(text, sizeof text, "0");
    }
    return member(f, key, text, NULL, 0);
}

bool figures_bool(struct figures *f, const char *key, bool value)
{
    return member(f, key, value ? "true" : "false", NULL, 0);
}

void figures_array_begin(struct figures *f, const char *key)
{
    if (f->in_array) figures_array_end(f);
    snprintf(f->array_key, sizeof f->array_key, "%s", key);
    f->array_cut = 0;
    f->array_items = false;
    /* the key and "[" must fit with the array's reserve; else the whole array is left out (a cut member) */
    size_t need = (f->members ? 1 : 0) + escape(NULL, f->array_key, strlen(f->array_key)) + 2;
    f->array_dropped = !(f->len + need + FIG_OBJECT_RESERVE + FIG_ARRAY_RESERVE + 1 <= f->cap);
    f->in_array = true;
    if (f->array_dropped) {
        f->cut++;
        return;
    }
    if (f->members) f->buf[f->len++] = ',';
    f->len += escape(f->buf + f->len, f->array_key, strlen(f->array_key));
    f->buf[f->len++] = ':';
    f->buf[f->len++] = '[';
    f->buf[f->len] = '\0';
    f->members = true;
}

bool figures_array_str(struct figures *f, const char *value)
{
    if (!f->in_array) return false;
    if (!value) value = "";
    size_t n = strlen(value);
    size_t need = (f->array_items ? 1 : 0) + escape(NULL, value, n);
    if (f->array_dropped || !fits(f, need)) {
        f->array_cut++;
        return false;
    }
    if (f->array_items) f->buf[f->len++] = ',';
    f->len += escape(f->buf + f->len, value, n);
    f->buf[f->len] = '\0';
    f->array_items = true;
    return true;
}

void figures_array_end(struct figures *f)
{
    if (!f->in_array) return;
    f->in_array = false;
    if (f->array_dropped) return;
    f->buf[f->len++] = ']';
    if (f->array_cut) {
        char key[80];
        snprintf(key, sizeof key, "%s_cut", f->array_key);
        f->len += (size_t)snprintf(f->buf + f->len, f->cap - f->len, ",\"%s\":%u", key, f->array_cut);
    }
    f->buf[f->len] = '\0';
}

const char *figures_end(struct figures *f)
{
    figures_array_end(f);
    if (f->cut)
        f->len +=
            (size_t)snprintf(f->buf + f->len, f->cap - f->len, "%s\"figures_cut\":%u", f->members ? "," : "", f->cut);
    f->buf[f->len++] = '}';
    f->buf[f->len] = '\0';
    return f->buf;
}

const char *figures_result_problem(struct cw_result *r, const char **figures_dropped)
{
    *figures_dropped = NULL;
    const char *problem = proto_result_problem(r);
    if (!problem || !r->figures || !r->figures[0]) return problem;
    const char *figures = r->figures;
    r->figures = NULL;
    if (proto_result_problem(r)) { /* another problem: the result cannot go, figures or not */
        r->figures = figures;
        return problem;
    }
    *figures_dropped = problem;
    return NULL;
}
