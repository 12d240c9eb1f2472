/* tests/unit/mail_test_util.h — reading a built mail back in the tests of alerter/mail*.c: a header's value
 * unfolded, RFC 2047 encoded-words decoded (as a mail reader does), and the shape every header line must have
 * (ASCII only, at most 78 columns where it has spaces to fold at, encoded-words of at most 75 characters, each
 * holding whole UTF-8 characters). */
#ifndef CW_TESTS_MAIL_TEST_UTIL_H
#define CW_TESTS_MAIL_TEST_UTIL_H

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base/util.h"

/* The message as a C string (the buffer is not NUL-terminated); free it. */
static inline char *mt_string(const struct cw_buf *b)
{
    char *s = malloc(b->len + 1);
    if (!s) abort();
    memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

/* The raw value of header `name` (folded lines joined, CRLF + WSP -> WSP, leading space dropped) into out;
 * false when the header block has no such field. */
static inline bool mt_header_raw(const char *msg, const char *name, char *out, size_t len)
{
    const char *end = strstr(msg, "\r\n\r\n");
    size_t nl = strlen(name);
    for (const char *p = msg; p && p < end; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
        if (strncasecmp(p, name, nl) != 0 || p[nl] != ':') continue;
        size_t o = 0;
        const char *q = p + nl + 1;
        if (*q == ' ') q++;
        for (; q < end + 2; q++) {
            if (q[0] == '\r' && q[1] == '\n') {
                if (q[2] != ' ' && q[2] != '\t') break;
                q++; /* the fold: the WSP after it stays */
                continue;
            }
            if (o + 1 < len) out[o++] = *q;
        }
        out[o] = '\0';
        return true;
    }
    return false;
}

static inline int mt_hex(int c) { return isdigit(c) ? c - '0' : toupper(c) - 'A' + 10; }

/* Decodes one encoded-word's text (charset UTF-8 asserted by the caller); returns bytes written. */
static inline size_t mt_decode_word(char enc, const char *t, size_t n, char *out)
{
    size_t o = 0;
    if (enc == 'Q' || enc == 'q') {
        for (size_t i = 0; i < n; i++) {
            if (t[i] == '_') out[o++] = ' ';
            else if (t[i] == '=' && i + 2 < n + 1) {
                out[o++] = (char)(mt_hex((unsigned char)t[i + 1]) * 16 + mt_hex((unsigned char)t[i + 2]));
                i += 2;
            } else out[o++] = t[i];
        }
        return o;
    }
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned v = 0, bits = 0;
    for (size_t i = 0; i < n && t[i] != '='; i++) {
        v = v << 6 | (unsigned)(strchr(al, t[i]) - al);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(v >> bits & 0xff);
        }
    }
    return o;
}

/* Whether s[0..n) is whole, valid UTF-8 (a word that split a character fails). */
static inline bool mt_utf8_whole(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = s[i] < 0x80             ? 1
                   : (s[i] & 0xe0) == 0xc0 ? 2
                   : (s[i] & 0xf0) == 0xe0 ? 3
                   : (s[i] & 0xf8) == 0xf0 ? 4
                                           : 0;
        if (k == 0 || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xc0) != 0x80) return false;
        i += k;
    }
    return true;
}

/* Decodes an unstructured value as RFC 2047 says: encoded-words decoded, whitespace between two adjacent
 * encoded-words dropped. Sets *bad when an encoded-word is longer than 75, not UTF-8, or not whole
 * characters. */
static inline void mt_decode(const char *raw, char *out, size_t len, bool *bad)
{
    size_t o = 0;
    bool prev_encoded = false;
    const char *p = raw;
    while (*p && o + 1 < len) {
        size_t ws = strspn(p, " \t");
        const char *w = p + ws;
        const char *close = strncmp(w, "=?", 2) == 0 ? strstr(w + 2, "?=") : NULL;
        /* "=?UTF-8?Q?...?=": the ?= after the charset and the encoding letter */
        if (close && strncasecmp(w, "=?UTF-8?", 8) == 0 && w[9] == '?') close = strstr(w + 10, "?=");
        bool encoded = close && (close[2] == '\0' || close[2] == ' ' || close[2] == '\t');
        if (encoded) {
            size_t wl = (size_t)(close + 2 - w);
            if (wl > 75 || strncasecmp(w, "=?UTF-8?", 8) != 0) *bad = true;
            if (!prev_encoded) { /* the whitespace before it counts only after plain text */
                for (size_t i = 0; i < ws && o + 1 < len; i++) out[o++] = p[i];
            }
            char dec[256];
            size_t dl = mt_decode_word(w[8], w + 10, (size_t)(close - (w + 10)), dec);
            if (!mt_utf8_whole((const unsigned char *)dec, dl)) *bad = true;
            for (size_t i = 0; i < dl && o + 1 < len; i++) out[o++] = dec[i];
            p = close + 2;
            prev_encoded = true;
        } else {
            size_t n = ws + strcspn(w, " \t");
            for (size_t i = 0; i < n && o + 1 < len; i++) out[o++] = p[i];
            p += n;
            prev_encoded = false;
        }
    }
    out[o] = '\0';
}

/* Every header line: printable ASCII; lines longer than 78 only when they hold no space to fold at. */
static inline bool mt_header_lines_ok(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *p = msg; p < end + 2;) {
        const char *eol = strstr(p, "\r\n");
        size_t n = (size_t)(eol - p);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f) return false;
        if (n > 78 && memchr(p + 1, ' ', n - 1) && !(n <= 998 && strncmp(p, "To:", 3) == 0)) return false;
        p = eol + 2;
    }
    return true;
}

#endif
