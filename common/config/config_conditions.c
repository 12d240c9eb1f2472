/* common/config/config_conditions.c — the text of HTTP assertions parsed at load (config_types.h): status ranges
 * ("2xx", "200-299"), JSON paths into RFC 6901 pointers, and the conditions of `json` and `header_conditions`
 * (`$.queue.depth < 100`, `Content-Type ~ ^application/json`). The worker evaluates what is parsed here; a file
 * that `clockwerk -t` accepts never holds a condition the worker cannot read. */
#include "common/config/config_types.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATH_BYTES 1024

bool cw_parse_status_range(const char *v, struct cw_status_range *r)
{
    if (strlen(v) == 3 && v[0] >= '1' && v[0] <= '5' && (v[1] == 'x' || v[1] == 'X') && (v[2] == 'x' || v[2] == 'X')) {
        r->lo = (v[0] - '0') * 100;
        r->hi = r->lo + 99;
        return true;
    }
    int lo, hi, used = 0;
    if (sscanf(v, "%3d-%3d%n", &lo, &hi, &used) != 2 || (size_t)used != strlen(v) || !isdigit((unsigned char)v[0]))
        return false;
    const char *dash = strchr(v, '-');
    if (!isdigit((unsigned char)dash[1]) || lo < 100 || hi > 599 || lo > hi) return false;
    r->lo = lo;
    r->hi = hi;
    return true;
}

/* Appends "/" and the key (escaped: ~ as ~0, / as ~1) to out at *n. False when it does not fit. */
static bool put_token(char *out, size_t outlen, size_t *n, const char *key, size_t len)
{
    if (*n + 1 >= outlen) return false;
    out[(*n)++] = '/';
    for (size_t i = 0; i < len; i++) {
        const char *esc = key[i] == '~' ? "~0" : key[i] == '/' ? "~1" : NULL;
        size_t need = esc ? 2 : 1;
        if (*n + need >= outlen) return false;
        if (esc) memcpy(out + *n, esc, 2);
        else out[*n] = key[i];
        *n += need;
    }
    out[*n] = '\0';
    return true;
}

/* The path's end: where its last segment ends (at a space, an operator or the end). */
static const char *path_end(const char *path)
{
    const char *c = path + 1;
    while (*c) {
        if (*c == '[') {
            char q = c[1];
            if (q == '\'' || q == '"') {
                const char *close = strchr(c + 2, q);
                if (!close || close[1] != ']') return c; /* malformed: the parser says so */
                c = close + 2;
            } else {
                const char *close = strchr(c, ']');
                if (!close) return c;
                c = close + 1;
            }
        } else if (*c == '.') {
            c++;
            while (*c && *c != '.' && *c != '[' && !isspace((unsigned char)*c) && !strchr("=!<>~", *c)) c++;
        } else {
            break;
        }
    }
    return c;
}

const char *cw_json_path_to_pointer(const char *path, char *out, size_t outlen)
{
    size_t n = 0;
    if (outlen == 0) return "has no room";
    out[0] = '\0';
    if (path[0] != '$') return "does not start with $";
    const char *c = path + 1;
    while (*c) {
        if (*c == '.') {
            const char *key = ++c;
            while (*c && *c != '.' && *c != '[') {
                if (isspace((unsigned char)*c) || strchr("'\"]", *c))
                    return "has a space, a quote or ] in a dotted key: write that key as ['key']";
                c++;
            }
            if (c == key) return "has an empty key after a dot";
            if (!put_token(out, outlen, &n, key, (size_t)(c - key))) return "is too long";
        } else if (*c == '[' && (c[1] == '\'' || c[1] == '"')) {
            const char *key = c + 2, *close = strchr(key, c[1]);
            if (!close || close[1] != ']') return "has a quoted key without its closing quote and ]";
            if (!put_token(out, outlen, &n, key, (size_t)(close - key))) return "is too long";
            c = close + 2;
        } else if (*c == '[') {
            const char *digits = ++c;
            while (isdigit((unsigned char)*c)) c++;
            if (c == digits || *c != ']') return "has an index that is not [N] with N a whole number";
            if (c - digits > 1 && digits[0] == '0') return "has an index with a leading zero";
            if (!put_token(out, outlen, &n, digits, (size_t)(c - digits))) return "is too long";
            c++;
        } else {
            return "goes on with something other than .key, [N] or ['key'] (wildcards and filters are not supported)";
        }
    }
    return NULL;
}

static const struct {
    const char *text;
    enum cw_cond_op op;
} ops[] = { { "!exists", CW_OP_NOT_EXISTS },
            { "exists", CW_OP_EXISTS },
            { "contains", CW_OP_CONTAINS },
            { "==", CW_OP_EQ },
            { "!=", CW_OP_NE },
            { "<=", CW_OP_LE },
            { ">=", CW_OP_GE },
            { "<", CW_OP_LT },
            { ">", CW_OP_GT },
            { "~", CW_OP_MATCHES } };

/* The operator at *c (advanced past it); false when none. A word operator must end at a space or the end. */
static bool parse_op(const char **c, enum cw_cond_op *op)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(*c, ops[i].text, n) != 0) continue;
        if (isalpha((unsigned char)ops[i].text[n - 1]) && (*c)[n] && !isspace((unsigned char)(*c)[n])) continue;
        *op = ops[i].op;
        *c += n;
        return true;
    }
    return false;
}

/* A double-quoted string with \" and \\ escapes, unquoted into the arena; NULL when malformed. */
static char *unquote(struct cw_arena *arena, const char *v)
{
    size_t n = strlen(v);
    if (n < 2 || v[0] != '"' || v[n - 1] != '"') return NULL;
    char *out = cw_arena_alloc(arena, n);
    size_t k = 0;
    for (size_t i = 1; i < n - 1; i++) {
        if (v[i] == '\\') {
            if (i + 1 >= n - 1 || (v[i + 1] != '"' && v[i + 1] != '\\')) return NULL;
            i++;
        } else if (v[i] == '"') {
            return NULL;
        }
        out[k++] = v[i];
    }
    out[k] = '\0';
    return out;
}

static bool is_number(const char *v)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    return *v && !isspace((unsigned char)*v) && *end == '\0' && errno == 0 && isfinite(d) &&
           (isdigit((unsigned char)*v) || ((*v == '-' || *v == '+') && isdigit((unsigned char)v[1])));
}

/* The right side (trimmed, non-empty) into c. */
static const char *parse_value(struct cw_arena *arena, const char *v, bool json, struct cw_condition *c)
{
    bool numeric = c->op == CW_OP_LT || c->op == CW_OP_LE || c->op == CW_OP_GT || c->op == CW_OP_GE;
    char *s = v[0] == '"' ? unquote(arena, v) : NULL;
    if (v[0] == '"' && !s) return "has a quoted value without its closing quote (or a stray quote inside)";
    if (!json) { /* a header's value: quoted or the rest of the text */
        c->value_kind = CW_VALUE_STRING;
        c->value = s ? s : cw_arena_strdup(arena, v);
        if (numeric && !is_number(c->value)) return "compares with <, <=, > or >= but its value is not a number";
        return NULL;
    }
    if (s) {
        c->value_kind = CW_VALUE_STRING;
        c->value = s;
    } else if (is_number(v)) {
        c->value_kind = CW_VALUE_NUMBER;
        c->value = cw_arena_strdup(arena, v);
    } else if (!strcmp(v, "true") || !strcmp(v, "false")) {
        c->value_kind = CW_VALUE_BOOL;
        c->value = cw_arena_strdup(arena, v);
    } else if (!strcmp(v, "null")) {
        c->value_kind = CW_VALUE_NULL;
        c->value = cw_arena_strdup(arena, v);
    } else {
        return "has a value that is not a \"quoted string\", a number, true, false or null";
    }
    if (numeric && c->value_kind != CW_VALUE_NUMBER)
        return "compares with <, <=, > or >= but its value is not a number";
    if (c->op == CW_OP_MATCHES && c->value_kind != CW_VALUE_STRING) return "has ~ but its pattern is not a \"string\"";
    if (c->op == CW_OP_CONTAINS && c->value_kind != CW_VALUE_STRING && c->value_kind != CW_VALUE_NUMBER)
        return "has contains but its value is not a string or a number";
    return NULL;
}

const char *cw_parse_condition(struct cw_arena *arena, const char *text, bool json, struct cw_condition *c)
{
    memset(c, 0, sizeof *c);
    c->text = cw_arena_strdup(arena, text);
    const char *t = text;
    while (isspace((unsigned char)*t)) t++;
    const char *end;
    if (json) {
        if (*t != '$') return "does not start with a path ($, $.key, $.list[0], $['odd.key'])";
        end = path_end(t);
        char path[MAX_PATH_BYTES + 1], pointer[MAX_PATH_BYTES * 2 + 1];
        if ((size_t)(end - t) > MAX_PATH_BYTES) return "has a path longer than 1024 bytes";
        memcpy(path, t, (size_t)(end - t));
        path[end - t] = '\0';
        const char *why = cw_json_path_to_pointer(path, pointer, sizeof pointer);
        if (why) return why;
        c->subject = cw_arena_strdup(arena, pointer);
    } else {
        end = t;
        while (*end && !isspace((unsigned char)*end) && !strchr("=!<>~:", *end)) end++;
        if (end == t) return "does not start with a header name";
        c->subject = cw_arena_strndup(arena, t, (size_t)(end - t));
    }
    t = end;
    while (isspace((unsigned char)*t)) t++;
    if (!parse_op(&t, &c->op)) return "has no operator (== != < <= > >= contains exists !exists ~)";
    while (isspace((unsigned char)*t)) t++;
    size_t vlen = strlen(t);
    while (vlen > 0 && isspace((unsigned char)t[vlen - 1])) vlen--;
    if (c->op == CW_OP_EXISTS || c->op == CW_OP_NOT_EXISTS) {
        c->value_kind = CW_VALUE_NONE;
        return vlen ? "has a value after exists / !exists" : NULL;
    }
    if (vlen == 0) return "has no value after its operator";
    char *v = cw_arena_strndup(arena, t, vlen);
    return parse_value(arena, v, json, c);
}
