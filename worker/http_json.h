/* worker/http_json.h — the body of an HTTP check read as JSON for its JSON conditions (worker/http_assert.h):
 * parsed strictly, and a condition's RFC 6901 pointer resolved in it. Pure functions.
 *
 * DESIGN
 * - json-c 0.16 parses with JSON_TOKENER_STRICT (no trailing commas, no bytes after the value, no leading zeros,
 *   quoted names), and the body is given to it whole: a body that is a bare number or literal (`42`, `true`)
 *   ends at the end of the body, so the tokener is told where that is. json-c's strict mode still takes
 *   single-quoted strings, NaN and Infinity, raw control characters in strings and numbers such as `1.` or
 *   `-01`: the tokens of what json-c accepted are read again here against RFC 8259, and such a body is not JSON.
 *   The bytes are not checked to be UTF-8 (a Latin-1 JSON body still has its conditions judged).
 * - A pointer is resolved step by step: an array step is a decimal index below the array's length, so an element
 *   that is null is found (json_pointer_get calls it missing). */
#ifndef CW_WORKER_HTTP_JSON_H
#define CW_WORKER_HTTP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* Parses body[0..len) (capped: it was cut at body_limit). 0 and *doc (NULL for the JSON value null; the caller
 * puts it), or -1 with why the body is not JSON in why: "the body ends early", "NaN or Infinity at byte 5". */
int http_json_parse(const char *body, size_t len, bool capped, int max_depth, json_object **doc, char *why,
                    size_t whylen);

/* The value at an RFC 6901 pointer ("" the whole document, "/a/0", "~1" a '/' and "~0" a '~' in a name): true and
 * *value (NULL for a JSON null), or false when it is missing. */
bool http_json_at(json_object *doc, const char *pointer, json_object **value);

#endif
