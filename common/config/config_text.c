/* common/config/config_text.c — the operator's file as one text for libconfig (see config_text.h): every file
 * opened without blocking and refused unless regular, the total bounded, @include's spliced in with a line map,
 * 64-bit integer literals marked with libconfig's L suffix, long string literals refused, and libconfig's terse
 * errors explained. */
#include "common/config/config_text.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a byte is to the scan (a table made once a load, with the same <ctype.h> tests the scan made byte by byte:
 * a 500,000-endpoint file is 23 MB, and a test per byte was 4% of its load). */
enum {
    CH_WORD = 1,  /* in an identifier: a letter, a digit, - _ * */
    CH_PLAIN = 2, /* passed over: no newline, quote, comment, identifier or number starts there */
    CH_STR = 4,   /* where a string's scan stops: " \ newline */
};

/* One file being scanned. */
struct scan {
    const unsigned char *cls; /* 256 CH_ flags */
    struct cfg_text *t;
    const char *src;
    size_t n, i, flushed; /* src[flushed..i) is scanned but not yet copied out */
    size_t file;          /* index in t->files */
    unsigned line;        /* of src */
    int depth;
    char *err;
    size_t errlen;
};

static int fail(struct scan *s, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* line 0: a problem with the file itself (it cannot be opened or read), said as "FILE: ...", without ":0:". */
static int fail(struct scan *s, unsigned line, const char *fmt, ...)
{
    int n = line ? snprintf(s->err, s->errlen, "%s:%u: ", s->t->files[s->file], line)
                 : snprintf(s->err, s->errlen, "%s: ", s->t->files[s->file]);
    if (n < 0 || (size_t)n >= s->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void push_span(struct cfg_text *t, unsigned file_line, size_t file)
{
    if (t->n_spans == t->cap_spans) {
        t->cap_spans = t->cap_spans ? t->cap_spans * 2 : 16;
        t->spans = cw_xrealloc(t->spans, t->cap_spans * sizeof *t->spans);
    }
    t->spans[t->n_spans++] = (struct cfg_text_span){ t->line, file_line, file };
}

static void flush(struct scan *s, size_t upto)
{
    cw_buf_put(&s->t->out, s->src + s->flushed, upto - s->flushed);
    s->flushed = upto;
}

static void newline(struct scan *s)
{
    s->line++;
    s->t->line++;
}

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a file";
}

/* Reads the regular file at path into a malloc'd buffer (*data, *len), within what is left of the bound.
 * at: the include's scan (NULL: the config itself), for the messages. */
static int read_regular(struct scan *at, struct cfg_text *t, const char *path, char **data, size_t *len, char *err,
                        size_t errlen)
{
    struct scan top = { .t = t, .err = err, .errlen = errlen };
    struct scan *s = at ? at : &top;
    unsigned line = at ? at->line : 0;
    const char *what = at ? "include file" : "the configuration";
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && !at) return fail(s, 0, "cannot open the configuration: %s", strerror(errno));
    if (fd < 0) return fail(s, line, "cannot open %s '%s': %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(s, line, "cannot read %s '%s': %s", what, path, strerror(e));
    }
    /* what every file read so far took, not what was copied out yet: the rest of an including file counts */
    size_t left = t->read_total >= CFG_TEXT_MAX_BYTES ? 0 : CFG_TEXT_MAX_BYTES - t->read_total;
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(s, line, "%s '%s' is not a regular file (%s)", what, path, kind_of(st.st_mode));
    }
    if ((uintmax_t)st.st_size > left) {
        close(fd);
        return fail(s, line, "'%s': the configuration and its includes are more than %u bytes", path,
                    CFG_TEXT_MAX_BYTES);
    }
    char *buf = cw_xmalloc((size_t)st.st_size + 1);
    size_t got = 0, want = (size_t)st.st_size + 1; /* one more: a file that grew past the bound shows it */
    for (;;) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return fail(s, line, "cannot read %s '%s': %s", what, path, strerror(e));
        }
        if (r == 0) break;
        got += (size_t)r;
        if (got == want) {
            if (got > left) {
                close(fd);
                free(buf);
                return fail(s, line, "'%s': the configuration and its includes are more than %u bytes", path,
                            CFG_TEXT_MAX_BYTES);
            }
            want = got + 4096 > left + 1 ? left + 1 : got + 4096;
            buf = cw_xrealloc(buf, want);
        }
    }
    close(fd);
    t->read_total += got;
    *data = buf;
    *len = got;
    return 0;
}

static int scan_file(struct scan *s);

/* `[ \t]*@include[ \t]+"NAME"` at s->i (a line's start): splices NAME in. Returns 1 when there was none, 0
 * when spliced, -1 on error. */
static int include_at(struct scan *s)
{
    const char *p = s->src + s->i, *end = s->src + s->n;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if ((size_t)(end - p) < 9 || memcmp(p, "@include", 8) != 0 || (p[8] != ' ' && p[8] != '\t')) return 1;
    p += 8;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p == end || *p != '"') return 1;
    struct cw_buf name = { 0 };
    for (p++; p < end && *p != '"' && *p != '\n'; p++) {
        if (*p == '\\' && p + 1 < end && (p[1] == '\\' || p[1] == '"')) p++;
        cw_buf_put(&name, p, 1);
    }
    cw_buf_put(&name, "", 1);
    if (p == end || *p != '"' || !name.data[0]) {
        cw_buf_free(&name);
        return fail(s, s->line, "@include: expected a file name in quotes on one line");
    }
    if (s->depth + 1 > CFG_TEXT_INCLUDE_DEPTH) {
        cw_buf_free(&name);
        return fail(s, s->line, "@include: nested more than %d deep", CFG_TEXT_INCLUDE_DEPTH);
    }
    char *path;
    const char *nm = (const char *)name.data;
    if (nm[0] == '/' || !s->t->dir) path = cw_xstrdup(nm);
    else if (asprintf(&path, "%s/%s", s->t->dir, nm) < 0) path = NULL;
    cw_buf_free(&name);
    if (!path) return fail(s, s->line, "out of memory");
    flush(s, s->i);
    struct scan inner = {
        .cls = s->cls, .t = s->t, .depth = s->depth + 1, .err = s->err, .errlen = s->errlen, .line = 1
    };
    char *data = NULL;
    int rc = read_regular(s, s->t, path, &data, &inner.n, s->err, s->errlen);
    if (rc == 0) {
        if (s->t->n_files % 16 == 0) s->t->files = cw_xrealloc(s->t->files, (s->t->n_files + 16) * sizeof(char *));
        inner.file = s->t->n_files;
        s->t->files[s->t->n_files++] = path;
        path = NULL;
        inner.src = data;
        push_span(s->t, 1, inner.file);
        rc = scan_file(&inner);
        if (rc == 0 && s->t->out.len && s->t->out.data[s->t->out.len - 1] != '\n') {
            cw_buf_put(&s->t->out, "\n", 1);
            s->t->line++;
        }
        push_span(s->t, s->line, s->file); /* the rest of the directive's line, then on */
    }
    free(path);
    free(data);
    s->i = s->flushed = (size_t)(p + 1 - s->src);
    return rc;
}

/* A string literal at s->i (its opening quote). */
static int string_at(struct scan *s)
{
    unsigned start = s->line, start_text = s->t->line;
    size_t from = ++s->i;
    for (;;) {
        while (s->i < s->n && !(s->cls[(unsigned char)s->src[s->i]] & CH_STR)) s->i++;
        if (s->i >= s->n || s->src[s->i] == '"') break;
        if (s->src[s->i] == '\\' && s->i + 1 < s->n) s->i++;
        if (s->src[s->i] == '\n') newline(s);
        s->i++;
    }
    if (s->i - from > CFG_TEXT_STRING_MAX)
        return fail(s, start, "a string longer than %u bytes (write a longer value as several \"...\" \"...\" pieces)",
                    CFG_TEXT_STRING_MAX);
    if (s->t->line != start_text && !s->t->long_string_line) {
        s->t->long_string_line = start_text;
        s->t->long_string_end = s->t->line;
    }
    if (s->i >= s->n) {
        unsigned at = start;
        if (s->t->long_string_line) {
            const char *f;
            cfg_text_locate(s->t, s->t->long_string_line, &f, &at);
            if (strcmp(f, s->t->files[s->file]) != 0) at = start;
        }
        return fail(s, at, "unclosed quote: the string that starts on this line never ends");
    }
    s->i++;
    return 0;
}

static void classes(unsigned char cls[256])
{
    for (int c = 0; c < 256; c++) {
        bool word = isalnum(c) || (c && strchr("-_*", c));
        bool starts = c == '\n' || c == '"' || c == '#' || c == '/' || isalpha(c) || c == '*' || isdigit(c) ||
                      c == '+' || c == '-' || c == '.';
        cls[c] = (unsigned char)((word ? CH_WORD : 0) | (starts ? 0 : CH_PLAIN) |
                                 (c == '"' || c == '\\' || c == '\n' ? CH_STR : 0));
    }
}

/* A number at s->i: an integer literal beyond 32 bits gets libconfig's 64-bit suffix L. */
static int number_at(struct scan *s)
{
    size_t from = s->i;
    if (s->src[s->i] == '+' || s->src[s->i] == '-') s->i++;
    while (s->i < s->n) {
        char c = s->src[s->i];
        if (isalnum((unsigned char)c) || c == '.' || c == '_') s->i++;
        else if ((c == '+' || c == '-') && (s->src[s->i - 1] == 'e' || s->src[s->i - 1] == 'E')) s->i++;
        else break;
    }
    const char *tok = s->src + from, *body = tok + (*tok == '+' || *tok == '-');
    size_t len = s->i - from, blen = s->i - (size_t)(body - s->src);
    bool hex = blen > 2 && body == tok && body[0] == '0' && (body[1] == 'x' || body[1] == 'X');
    size_t digits = hex ? 2 : 0;
    while (digits < blen && (hex ? isxdigit((unsigned char)body[digits]) : isdigit((unsigned char)body[digits])))
        digits++;
    if (digits != blen || blen == 0) return 0; /* a float, a suffixed or a malformed literal: libconfig's */
    char lit[64];
    if (len >= sizeof lit) return fail(s, s->line, "the integer %.40s... does not fit in 64 bits", tok);
    memcpy(lit, tok, len);
    lit[len] = '\0';
    errno = 0;
    bool wide;
    if (hex) {
        unsigned long long v = strtoull(lit, NULL, 16);
        if (errno == ERANGE || v > INT64_MAX) return fail(s, s->line, "the integer %s does not fit in 64 bits", lit);
        wide = v > INT_MAX;
    } else {
        long long v = strtoll(lit, NULL, 10);
        if (errno == ERANGE) return fail(s, s->line, "the integer %s does not fit in 64 bits", lit);
        wide = v > INT_MAX || v < INT_MIN;
    }
    if (wide) {
        flush(s, s->i);
        cw_buf_put(&s->t->out, "L", 1);
    }
    return 0;
}

/* Skips a comment at s->i (#, // or a block comment); false when there is none. */
static bool comment_at(struct scan *s)
{
    const char *c = s->src + s->i;
    bool two = s->i + 1 < s->n;
    if (*c == '#' || (two && c[0] == '/' && c[1] == '/')) {
        while (s->i < s->n && s->src[s->i] != '\n') s->i++;
        return true;
    }
    if (!(two && c[0] == '/' && c[1] == '*')) return false;
    for (s->i += 2; s->i < s->n && !(s->src[s->i] == '*' && s->i + 1 < s->n && s->src[s->i + 1] == '/'); s->i++)
        if (s->src[s->i] == '\n') newline(s);
    s->i = s->i < s->n ? s->i + 2 : s->n;
    return true;
}

static int scan_file(struct scan *s)
{
    if (memchr(s->src, '\0', s->n)) return fail(s, 1, "the file holds a NUL byte: not a text file");
    bool line_start = true;
    while (s->i < s->n) {
        if (line_start) {
            int rc = include_at(s);
            if (rc < 0) return -1;
            line_start = false;
            if (rc == 0) continue;
        }
        char c = s->src[s->i];
        if (s->cls[(unsigned char)c] & CH_PLAIN) {
            s->i++;
            continue;
        }
        char next = s->i + 1 < s->n ? s->src[s->i + 1] : '\0';
        int rc = 0;
        if (c == '\n') {
            newline(s);
            s->i++;
            line_start = true;
        } else if (c == '"') rc = string_at(s);
        else if (comment_at(s)) continue;
        else if (isalpha((unsigned char)c) || c == '*') {
            while (s->i < s->n && (s->cls[(unsigned char)s->src[s->i]] & CH_WORD)) s->i++;
        } else if (isdigit((unsigned char)c) || ((c == '+' || c == '-') && isdigit((unsigned char)next)))
            rc = number_at(s);
        else if (c == '.' && isdigit((unsigned char)next)) {
            while (s->i < s->n && (isalnum((unsigned char)s->src[s->i]) || strchr(".+-", s->src[s->i]))) s->i++;
        } else s->i++;
        if (rc < 0) return -1;
    }
    flush(s, s->n);
    return 0;
}

int cfg_text_load(struct cfg_text *t, const char *path, const char *dir, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->dir = dir;
    t->line = 1;
    t->files = cw_xmalloc(16 * sizeof(char *));
    t->files[t->n_files++] = cw_xstrdup(path);
    unsigned char cls[256];
    classes(cls);
    struct scan s = { .cls = cls, .t = t, .err = err, .errlen = errlen, .line = 1 };
    char *data;
    if (read_regular(NULL, t, path, &data, &s.n, err, errlen) != 0) return -1;
    s.src = data;
    push_span(t, 1, 0);
    int rc = scan_file(&s);
    free(data);
    if (rc == 0) cw_buf_put(&t->out, "", 1);
    return rc;
}

void cfg_text_free(struct cfg_text *t)
{
    cw_buf_free(&t->out);
    for (size_t i = 0; i < t->n_files; i++) free(t->files[i]);
    free(t->files);
    free(t->spans);
    memset(t, 0, sizeof *t);
}

void cfg_text_locate(const struct cfg_text *t, unsigned line, const char **file, unsigned *file_line)
{
    size_t lo = 0, hi = t->n_spans; /* the last span that starts at or before line */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (t->spans[mid].first_line <= line) lo = mid;
        else hi = mid;
    }
    if (!t->n_spans || line < t->spans[lo].first_line) {
        *file = t->n_files ? t->files[0] : "?";
        *file_line = line;
        return;
    }
    *file = t->files[t->spans[lo].file];
    *file_line = t->spans[lo].file_line + (line - t->spans[lo].first_line);
}

/* The names set on line `line` of the text ("name =" or "name :"), quoted and comma-separated, into out. */
static size_t names_on_line(const struct cfg_text *t, unsigned line, char *out, size_t len)
{
    const char *p = (const char *)t->out.data, *end = p + (t->out.len ? t->out.len - 1 : 0);
    for (unsigned l = 1; l < line && p < end; p++)
        if (*p == '\n') l++;
    size_t n = 0, used = 0;
    out[0] = '\0';
    while (p < end && *p != '\n') {
        if (!(isalpha((unsigned char)*p) || *p == '*')) {
            p += *p == '"' ? 1 + strcspn(p + 1, "\"\n") : 1;
            continue;
        }
        const char *name = p;
        while (p < end && (isalnum((unsigned char)*p) || strchr("-_*", *p))) p++;
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t')) q++;
        if (q < end && (*q == '=' || *q == ':') && used + (size_t)(p - name) + 8 < len) {
            used += (size_t)snprintf(out + used, len - used, "%s'%.*s'", n ? ", " : "", (int)(p - name), name);
            n++;
        }
    }
    return n;
}

void cfg_text_explain(const struct cfg_text *t, const char *what, unsigned line, char *msg, size_t len)
{
    const char *file, *sfile, *efile;
    unsigned fline, sline, eline;
    cfg_text_locate(t, line, &file, &fline);
    if (strcmp(what, "duplicate setting name") == 0) {
        char names[256];
        size_t n = names_on_line(t, line, names, sizeof names);
        snprintf(msg, len, "%s:%u: duplicate setting %s%s (a key may appear once in its group)", file, fline,
                 n > 1 ? "one of " : "", n ? names : "name");
    } else if (strstr(what, "syntax error") && t->long_string_line && t->long_string_line <= line) {
        cfg_text_locate(t, t->long_string_line, &sfile, &sline);
        cfg_text_locate(t, t->long_string_end, &efile, &eline);
        snprintf(msg, len,
                 "%s:%u: syntax error: unclosed quote? the string that starts on this line runs on to %s:%u "
                 "(libconfig stopped at %s:%u)",
                 sfile, sline, efile, eline, file, fline);
    } else if (strcmp(what, "syntax error") == 0) /* libconfig's whole text: not said twice */
        snprintf(msg, len, "%s:%u: syntax error", file, fline);
    else snprintf(msg, len, "%s:%u: syntax error: %s", file, fline, what);
}
