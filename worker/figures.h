/* worker/figures.h — a check's figures (struct cw_result.figures): a JSON object written into a fixed budget
 * (at most CW_FIGURES_MAX bytes), valid JSON whatever is added.
 *
 * DESIGN
 * The writer always keeps room for what closes the document (`]`, `}` and, inside an array, the count of
 * dropped elements), so the text is valid JSON after every call: a member that does not fit is left out
 * whole (figures_end reports "figures_cut": N members), an array element that does not fit is dropped and
 * counted (figures_array_end writes `"<key>_cut": N` after the array). Strings are escaped for JSON: quotes,
 * backslashes and control bytes, and bytes that are not valid UTF-8 as \u00XX (the reply of a TCP server may be
 * any bytes: each such byte stays visible as the Latin-1 character of its value) — except a NUL byte, written
 * \u2400 (U+2400 SYMBOL FOR NULL, "␀"): \u0000 is refused by the receivers' check (common/wire/jsonshape.h) as
 * PostgreSQL's jsonb refuses it. One level of array; no nested objects (figures are flat: a number, a string, a
 * list of answers). */
#ifndef CW_WORKER_FIGURES_H
#define CW_WORKER_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire/protocol.h"

struct figures {
    char *buf;
    size_t cap;         /* bytes of buf, the terminating NUL included (<= CW_FIGURES_MAX + 1) */
    size_t len;         /* bytes written, without the NUL */
    bool members;       /* the object has a member (the next one needs a comma) */
    bool in_array;      /* between figures_array_begin and figures_array_end */
    bool array_items;   /* the open array has an element */
    bool array_dropped; /* the open array's key did not fit: its elements are all dropped */
    unsigned cut;       /* members left out */
    unsigned array_cut; /* elements of the open array dropped */
    char array_key[64];
};

/* Starts "{" in buf (cap bytes; cap is capped to CW_FIGURES_MAX + 1, and must be at least 64). */
void figures_begin(struct figures *f, char *buf, size_t cap);
/* Members. Return false when the member did not fit (it is left out and counted). */
bool figures_str(struct figures *f, const char *key, const char *value);
/* A string member of the first n bytes of value (any bytes, NUL included: escaped). */
bool figures_strn(struct figures *f, const char *key, const char *value, size_t n);
bool figures_int(struct figures *f, const char *key, int64_t value);
/* A number with up to `decimals` decimals (trailing zeros kept short: 1.5, not 1.500); NaN/inf are written null. */
bool figures_num(struct figures *f, const char *key, double value, int decimals);
bool figures_bool(struct figures *f, const char *key, bool value);
/* An array of strings: begin, items, end. An item that does not fit is dropped and counted; end closes the
 * array and, when items were dropped, adds `"<key>_cut": N`. */
void figures_array_begin(struct figures *f, const char *key);
bool figures_array_str(struct figures *f, const char *value);
void figures_array_end(struct figures *f);
/* Closes the object (and an array left open) and returns buf: a NUL-terminated JSON object. */
const char *figures_end(struct figures *f);

/* proto_result_problem(r), except that figures which are r's only problem are left out (r->figures set to NULL,
 * *figures_dropped the problem they had): a bug in a check's figures never costs the check's result. NULL when r
 * can be sent. */
const char *figures_result_problem(struct cw_result *r, const char **figures_dropped);

#endif
