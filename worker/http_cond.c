/* worker/http_cond.c — regexes under a match limit and the typed comparisons of an HTTP check's JSON and header
 * conditions (see http_cond.h). */
#include "worker/http_cond.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pcre2_code *http_regex_compile(const char *pattern, const char *key, char *err, size_t errlen)
{
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR why[160];
        if (pcre2_get_error_message(code, why, sizeof why) < 0) snprintf((char *)why, sizeof why, "error %d", code);
        snprintf(err, errlen, "%s \"%.200s\": %s at offset %zu", key, pattern, (const char *)why, (size_t)offset);
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* where JIT fails, pcre2_match interprets, same limits */
    return re;
}

int http_regex_match(const pcre2_code *re, const char *subject, size_t len, pcre2_match_context *mctx,
                     pcre2_match_data *md)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)(subject ? subject : ""), subject ? len : 0, 0, 0, md, mctx);
    if (rc >= 0) return HTTP_RE_MATCH;
    if (rc == PCRE2_ERROR_NOMATCH) return HTTP_RE_NOMATCH;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
        rc == PCRE2_ERROR_JIT_STACKLIMIT)
        return HTTP_RE_LIMIT;
    return HTTP_RE_ERROR;
}

void http_seen_json(json_object *v, bool found, struct http_seen *out)
{
    memset(out, 0, sizeof *out);
    if (!found) {
        out->kind = SEEN_MISSING;
        return;
    }
    out->json = v;
    switch (json_object_get_type(v)) {
    case json_type_null:
        out->kind = SEEN_NULL;
        out->text = "null";
        return;
    case json_type_boolean:
        out->kind = SEEN_BOOL;
        out->boolean = json_object_get_boolean(v);
        out->text = out->boolean ? "true" : "false";
        return;
    case json_type_int:
        out->i64 = json_object_get_int64(v);
        out->integer = out->i64 != INT64_MAX || json_object_get_uint64(v) == (uint64_t)INT64_MAX; /* not clamped */
        /* fall through */
    case json_type_double:
        out->kind = SEEN_NUMBER;
        out->number = json_object_get_double(v);
        out->text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        return;
    case json_type_string:
        out->kind = SEEN_STRING;
        out->text = json_object_get_string(v);
        return;
    case json_type_array:
        out->kind = SEEN_ARRAY;
        break;
    case json_type_object:
        out->kind = SEEN_OBJECT;
        break;
    }
    out->text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

void http_seen_text(const char *value, struct http_seen *out)
{
    memset(out, 0, sizeof *out);
    out->from_header = true;
    out->kind = value ? SEEN_STRING : SEEN_MISSING;
    out->text = value;
}

/* A whole text as a finite number; false when it is not one. */
static bool parse_number(const char *text, double *out)
{
    if (!text || !*text) return false;
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (errno || *end || !isfinite(d)) return false;
    *out = d;
    return true;
}

static bool seen_number(const struct http_seen *s, double *out);

/* A whole text as a 64-bit integer; false when it is not one. */
static bool parse_integer(const char *text, int64_t *out)
{
    if (!text || !*text) return false;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    while (*end == ' ' || *end == '\t') end++;
    if (errno || *end) return false;
    *out = n;
    return true;
}

/* The order of the seen number against the condition's (-1, 0, 1); false when either is not a number. Two integers
 * compare exactly (as doubles, 9007199254740993 would equal 9007199254740992). */
static bool number_order(const struct cw_condition *c, const struct http_seen *s, int *order)
{
    int64_t want_i, have_i;
    bool seen_integer = s->kind == SEEN_NUMBER ? s->integer : s->from_header && s->kind == SEEN_STRING;
    if (seen_integer && parse_integer(c->value, &want_i) &&
        (s->kind == SEEN_NUMBER ? (have_i = s->i64, true) : parse_integer(s->text, &have_i))) {
        *order = (have_i > want_i) - (have_i < want_i);
        return true;
    }
    double want, have;
    if (!parse_number(c->value, &want) || !seen_number(s, &have)) return false;
    *order = (have > want) - (have < want);
    return true;
}

/* The seen value as a number (a header's text parsed); false when it is none. */
static bool seen_number(const struct http_seen *s, double *out)
{
    if (s->kind == SEEN_NUMBER) {
        *out = s->number;
        return true;
    }
    return s->from_header && s->kind == SEEN_STRING && parse_number(s->text, out);
}

/* Whether one value (a JSON element, or the seen value) equals the condition's right side, typed. */
static bool equals(const struct cw_condition *c, const struct http_seen *s)
{
    int order;
    switch (c->value_kind) {
    case CW_VALUE_NUMBER:
        return number_order(c, s, &order) && order == 0;
    case CW_VALUE_BOOL:
        if (s->from_header) return s->kind == SEEN_STRING && strcmp(s->text, c->value) == 0;
        return s->kind == SEEN_BOOL && s->boolean == (strcmp(c->value ? c->value : "", "true") == 0);
    case CW_VALUE_NULL:
        return s->from_header ? s->kind == SEEN_STRING && strcmp(s->text, "null") == 0 : s->kind == SEEN_NULL;
    case CW_VALUE_STRING:
        return s->kind == SEEN_STRING && strcmp(s->text, c->value ? c->value : "") == 0;
    case CW_VALUE_NONE:
        break;
    }
    return false;
}

static bool contains(const struct cw_condition *c, const struct http_seen *s)
{
    if (s->kind == SEEN_STRING) return c->value && strstr(s->text, c->value) != NULL;
    if (s->kind != SEEN_ARRAY) return false;
    size_t n = json_object_array_length(s->json);
    for (size_t i = 0; i < n; i++) {
        struct http_seen e;
        http_seen_json(json_object_array_get_idx(s->json, i), true, &e);
        if (equals(c, &e)) return true;
    }
    return false;
}

/* What was seen, for the error: `got "DOWN"`, `got 150`, `missing`; control characters shown as '?'. */
static void describe(const struct http_seen *s, char *out, size_t outlen)
{
    if (s->kind == SEEN_MISSING) {
        snprintf(out, outlen, "missing");
        return;
    }
    bool quoted = s->kind == SEEN_STRING;
    snprintf(out, outlen, quoted ? "got \"%.150s\"" : "got %.150s", s->text ? s->text : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
}

bool http_cond_holds(const struct cw_condition *c, const pcre2_code *re, pcre2_match_context *mctx,
                     pcre2_match_data *md, const struct http_seen *seen, char *got, size_t gotlen)
{
    describe(seen, got, gotlen);
    if (c->op == CW_OP_EXISTS) return seen->kind != SEEN_MISSING;
    if (c->op == CW_OP_NOT_EXISTS) return seen->kind == SEEN_MISSING;
    if (seen->kind == SEEN_MISSING) return c->op == CW_OP_NE; /* nothing is not equal to anything */
    int order;
    switch (c->op) {
    case CW_OP_EQ:
        return equals(c, seen);
    case CW_OP_NE:
        return !equals(c, seen);
    case CW_OP_LT:
    case CW_OP_LE:
    case CW_OP_GT:
    case CW_OP_GE:
        if (!number_order(c, seen, &order)) {
            size_t n = strlen(got);
            if (n + 1 < gotlen) snprintf(got + n, gotlen - n, " (not a number)");
            return false;
        }
        return c->op == CW_OP_LT   ? order < 0
               : c->op == CW_OP_LE ? order <= 0
               : c->op == CW_OP_GT ? order > 0
                                   : order >= 0;
    case CW_OP_CONTAINS:
        return contains(c, seen);
    case CW_OP_MATCHES: {
        if (!re || seen->kind == SEEN_ARRAY || seen->kind == SEEN_OBJECT) return false;
        int rc = http_regex_match(re, seen->text, strlen(seen->text), mctx, md);
        if (rc == HTTP_RE_LIMIT) {
            size_t n = strlen(got);
            if (n + 1 < gotlen) snprintf(got + n, gotlen - n, " (the regex exceeded its match limit)");
        }
        return rc == HTTP_RE_MATCH;
    }
    case CW_OP_EXISTS:
    case CW_OP_NOT_EXISTS:
        break;
    }
    return false;
}
