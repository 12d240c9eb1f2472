/* common/config/config_text.h — the operator's file as text, before libconfig sees it: read without blocking,
 * bounded in size, its @include's spliced in, integers beyond 32 bits marked as 64-bit, and a map from the
 * lines of the whole text back to FILE:LINE.
 *
 * DESIGN
 * libconfig 1.5 (Debian 12) opens @include files itself with fopen (a FIFO blocks it for good), wraps every
 * integer literal beyond 32 bits without a word (4294967306 reads as 10), takes time quadratic in the length of
 * one string literal (8 MiB: half a minute), and says "syntax error" far from an unclosed quote. So the loader
 * reads every file itself (open O_NONBLOCK, fstat: regular files only, at most CFG_TEXT_MAX_BYTES in all),
 * splices each @include where libconfig would (a line that starts with `@include "NAME"`, outside strings and
 * comments; NAME relative to the config's directory, at most CFG_TEXT_INCLUDE_DEPTH deep), appends libconfig's
 * 64-bit suffix L to integer literals outside the 32-bit range (an integer beyond 64 bits is refused), refuses
 * a string literal longer than CFG_TEXT_STRING_MAX, and hands the whole text to config_read_string. A
 * setting's line in that text is mapped back to its file and line by cfg_text_locate. */
#ifndef CW_CONFIG_TEXT_H
#define CW_CONFIG_TEXT_H

#include "common/base/util.h"

#include <stddef.h>

#define CFG_TEXT_MAX_BYTES (64u << 20) /* the config and its includes together */
#define CFG_TEXT_STRING_MAX (1u << 20) /* one string literal, between its quotes (a body is at most 1 MiB) */
#define CFG_TEXT_INCLUDE_DEPTH 10      /* as libconfig's own limit */

/* From line first_line of the whole text on, the text is file's, starting at its line file_line. */
struct cfg_text_span {
    unsigned first_line;
    unsigned file_line;
    size_t file; /* index in files[] */
};

struct cfg_text {
    struct cw_buf out; /* the whole text; NUL-terminated once cfg_text_load returned 0 */
    unsigned line;     /* the line being written (from 1) */
    struct cfg_text_span *spans;
    size_t n_spans, cap_spans;
    char **files; /* [0]: the config's path as given; then each include's path */
    size_t n_files;
    const char *dir;                            /* where relative includes are found */
    unsigned long_string_line, long_string_end; /* the first string literal over several lines (0: none) */
    size_t read_total; /* bytes read from every file so far: the bound CFG_TEXT_MAX_BYTES is on this sum */
};

/* Reads path (and its includes) into t. Returns 0, or -1 with one `FILE:LINE: message` in err. t is to be
 * released with cfg_text_free in both cases. */
int cfg_text_load(struct cfg_text *t, const char *path, const char *dir, char *err, size_t errlen);
void cfg_text_free(struct cfg_text *t);
/* The file and line of line `line` of the whole text. */
void cfg_text_locate(const struct cfg_text *t, unsigned line, const char **file, unsigned *file_line);
/* libconfig's error (its text and line in the whole text) as a `FILE:LINE: message` that names what libconfig
 * leaves out: the line of an unclosed quote, the name of a duplicated setting. */
void cfg_text_explain(const struct cfg_text *t, const char *what, unsigned line, char *msg, size_t len);

#endif
