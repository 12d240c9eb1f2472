/* common/wire/jsonshape.h — checks that a text is one well-formed JSON object (RFC 8259), for the figures of a
 * check result (docs/protocol.md 2.3). Receivers store and show figures as sent; this keeps a corrupt or crafted
 * record from reaching a database column, a page or a JSON API as anything but a valid document. */
#ifndef CW_JSONSHAPE_H
#define CW_JSONSHAPE_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_SHAPE_DEPTH_MAX 16 /* objects and arrays nested deeper are refused */

/* True when s[0..len) is exactly one JSON object (surrounding white space allowed): strings valid UTF-8 without
 * control characters, \u escapes neither U+0000 nor a lone surrogate (PostgreSQL's jsonb refuses both), numbers
 * in JSON's grammar, nesting at most JSON_SHAPE_DEPTH_MAX. s[len] must be readable and NUL (a C string, or a
 * decoded wire string). */
bool json_is_object(const char *s, size_t len);

#endif
