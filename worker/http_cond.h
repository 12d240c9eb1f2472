/* worker/http_cond.h — the pieces of an HTTP check's assertions that compare: PCRE2 regexes compiled once and
 * matched under a limit, and a condition (`$.queue.depth < 100`, `Content-Type ~ ^application/json`) judged
 * against the value seen (worker/http_assert.h says where they are used). Pure functions. */
#ifndef CW_WORKER_HTTP_COND_H
#define CW_WORKER_HTTP_COND_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/config/config.h"

/* A pattern compiled (bytes, not UTF: a body may be any bytes) and JIT-compiled when the JIT is there; NULL with
 * "KEY \"pattern\": PCRE2's reason at offset N" in err. */
pcre2_code *http_regex_compile(const char *pattern, const char *key, char *err, size_t errlen);

enum { HTTP_RE_NOMATCH = 0, HTTP_RE_MATCH = 1, HTTP_RE_LIMIT = 2, HTTP_RE_ERROR = 3 };
/* Matches subject[0..len) under the context's limits: HTTP_RE_LIMIT when a match or depth limit (or the JIT's
 * stack) ran out. */
int http_regex_match(const pcre2_code *re, const char *subject, size_t len, pcre2_match_context *mctx,
                     pcre2_match_data *md);

/* A value a condition is judged against. */
enum http_seen_kind { SEEN_MISSING, SEEN_STRING, SEEN_NUMBER, SEEN_BOOL, SEEN_NULL, SEEN_ARRAY, SEEN_OBJECT };
struct http_seen {
    enum http_seen_kind kind;
    const char *text; /* a string's content, a number's, bool's or null's text, an array's or object's JSON */
    double number;    /* SEEN_NUMBER */
    bool integer;     /* SEEN_NUMBER: a JSON integer that fits int64 (in i64) */
    int64_t i64;
    bool boolean;      /* SEEN_BOOL */
    bool from_header;  /* a header's value: numbers are read from its text */
    json_object *json; /* SEEN_ARRAY: its elements (contains) */
};
/* The value at a JSON pointer (found false: missing). Borrowed from v until it is freed. */
void http_seen_json(json_object *v, bool found, struct http_seen *out);
/* A header's value (NULL: the header is absent). */
void http_seen_text(const char *value, struct http_seen *out);

/* Whether condition c holds for seen (a missing value holds only for `!exists` and `!=`) (re: c's compiled `~` pattern, else NULL). When not, got says what was seen:
 * `got "DOWN"`, `got 150`, `missing`, `got "abc" (not a number)`. */
bool http_cond_holds(const struct cw_condition *c, const pcre2_code *re, pcre2_match_context *mctx,
                     pcre2_match_data *md, const struct http_seen *seen, char *got, size_t gotlen);

#endif
