/* worker/http_json.c — a check's body parsed strictly as JSON and RFC 6901 pointers resolved in it (see
 * http_json.h). */
#include "worker/http_json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define POINTER_STEP_MAX 1024 /* a longer name in a pointer is missing */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* The end of the number at s[i..len) per RFC 8259, or 0 when it is not one. */
static size_t number_end(const char *s, size_t i, size_t len)
{
    if (i < len && s[i] == '-') i++;
    if (i >= len || !is_digit(s[i])) return 0;
    if (s[i] == '0') i++;
    else
        while (i < len && is_digit(s[i])) i++;
    if (i < len && s[i] == '.') {
        if (++i >= len || !is_digit(s[i])) return 0;
        while (i < len && is_digit(s[i])) i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= len || !is_digit(s[i])) return 0;
        while (i < len && is_digit(s[i])) i++;
    }
    return i < len && is_digit(s[i]) ? 0 : i; /* "01": a leading zero */
}

/* The end of the string that opens at s[i] (a '"'), or 0 when it holds a raw control character or ends early (the
 * escapes themselves were checked by json-c). */
static size_t string_end(const char *s, size_t i, size_t len)
{
    for (i++; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20) return 0;
        if (c == '\\') i++;
        else if (c == '"') return i + 1;
    }
    return 0;
}

/* Reads again the tokens of a body json-c accepted; NULL when each is RFC 8259's, else why (at *at). */
static const char *foreign_token(const char *s, size_t len, size_t *at)
{
    static const char *const literals[] = { "true", "false", "null" };
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        size_t end = 0;
        *at = i;
        if (c != '\0' && strchr(" \t\r\n{}[]:,", c)) {
            i++;
            continue;
        }
        if (c == '"') {
            if (!(end = string_end(s, i, len))) return "a control character in a string";
        } else if (c == '-' || is_digit(c)) {
            if (!(end = number_end(s, i, len))) return "not a JSON number";
        } else {
            for (size_t k = 0; k < 3 && !end; k++) {
                size_t n = strlen(literals[k]);
                if (len - i >= n && memcmp(s + i, literals[k], n) == 0) end = i + n;
            }
            if (!end && c == '\'') return "a single-quoted string";
            if (!end) return c == 'N' || c == 'I' ? "NaN or Infinity" : "not a JSON value";
        }
        i = end;
    }
    return NULL;
}

int http_json_parse(const char *body, size_t len, bool capped, int max_depth, json_object **doc, char *why,
                    size_t whylen)
{
    *doc = NULL;
    if (whylen) why[0] = '\0';
    if (!body) body = "";
    if (len > INT32_MAX) len = INT32_MAX;
    json_tokener *tok = json_tokener_new_ex(max_depth);
    if (!tok) {
        snprintf(why, whylen, "out of memory for a JSON parser");
        return -1;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *v = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    if (!v && jerr == json_tokener_continue && !capped) { /* a number or literal at the top ends where the body does */
        v = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        if (jerr != json_tokener_success) jerr = json_tokener_continue; /* "{\"a\":" then the end */
        used = len;
    }
    size_t at = 0;
    const char *foreign = NULL;
    if (jerr == json_tokener_continue)
        snprintf(why, whylen, "%s", capped ? "the body was cut at body_limit" : "the body ends early");
    else if (jerr != json_tokener_success) snprintf(why, whylen, "%s", json_tokener_error_desc(jerr));
    else if (used < len && strspn(body + used, " \t\r\n") < len - used)
        snprintf(why, whylen, "bytes after the JSON value");
    else if ((foreign = foreign_token(body, used, &at)) != NULL) snprintf(why, whylen, "%s at byte %zu", foreign, at);
    json_tokener_free(tok);
    if (jerr != json_tokener_success || foreign || (whylen && why[0])) {
        json_object_put(v);
        return -1;
    }
    *doc = v;
    return 0;
}

/* A pointer step as an array index: decimal digits without a leading zero. */
static bool array_index(const char *step, size_t *out)
{
    size_t n = 0;
    if (!step[0] || (step[0] == '0' && step[1])) return false;
    for (const char *p = step; *p; p++) {
        if (!is_digit(*p) || n > (SIZE_MAX - 9) / 10) return false;
        n = n * 10 + (size_t)(*p - '0');
    }
    *out = n;
    return true;
}

bool http_json_at(json_object *doc, const char *pointer, json_object **value)
{
    json_object *v = doc;
    const char *p = pointer ? pointer : "";
    char step[POINTER_STEP_MAX + 1];
    while (*p == '/') {
        size_t n = 0;
        for (p++; *p && *p != '/'; p++) {
            char c = *p;
            if (c == '~' && (p[1] == '0' || p[1] == '1')) c = *++p == '0' ? '~' : '/';
            if (n == POINTER_STEP_MAX) return false;
            step[n++] = c;
        }
        step[n] = '\0';
        size_t idx;
        if (json_object_is_type(v, json_type_array)) {
            if (!array_index(step, &idx) || idx >= json_object_array_length(v)) return false;
            v = json_object_array_get_idx(v, idx);
        } else if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, step, &v)) {
            return false;
        }
    }
    if (*p) return false; /* not a pointer */
    *value = v;
    return true;
}
