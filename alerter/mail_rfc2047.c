/* alerter/mail_rfc2047.c — header text that may hold UTF-8 (see mail.h "Headers"): cleaning, RFC 2047
 * encoded-words (UTF-8, "Q" or "B", each at most 75 characters, never splitting a character), folding before
 * 76 columns, and the From: field with its display name.
 *
 * An unstructured value (the Subject) is cut into words at spaces; ASCII words go out as they are, a run of
 * words holding non-ASCII bytes (or looking like an encoded-word themselves) becomes encoded-words, the spaces
 * inside the run encoded too (a decoder drops whitespace between two encoded-words). A display name is a
 * quoted-string when it is ASCII, else encoded-words with the characters RFC 2047 5(3) allows in a phrase. */
#include "alerter/mail.h"

#include <stdio.h>
#include <string.h>

#define FOLD_COLUMN 76   /* fold before a line passes this many columns (RFC 5322 2.1.1 recommends 78) */
#define WORD_MAX 75      /* RFC 2047 2: an encoded-word is at most 75 characters */
#define WORD_OVERHEAD 12 /* "=?UTF-8?Q?" and "?=" */

/* The one header cleaner: control characters (C0, DEL, and C1 when keep_utf8) become one space, spaces collapse
 * and are trimmed; a byte >= 0x80 becomes '?' (keep_utf8: only one that is not part of valid UTF-8); at most
 * min(len - 1, MAIL_HEADER_VALUE_MAX) bytes, never half a character. */
static void clean_header(const char *in, char *out, size_t len, bool keep_utf8)
{
    if (len == 0) return;
    size_t cap = len - 1;
    if (cap > MAIL_HEADER_VALUE_MAX) cap = MAIL_HEADER_VALUE_MAX;
    size_t o = 0;
    bool space = true; /* drop leading spaces */
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    while (*p && o < cap) {
        size_t n = keep_utf8 ? cw_utf8_seq_len(p) : 1;
        bool control = *p < 0x20 || *p == 0x7f || *p == ' ' || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
        if (control) {
            if (!space) out[o++] = ' ';
            space = true;
            p += n;
            continue;
        }
        if (n == 0 || (!keep_utf8 && *p >= 0x80)) { /* one '?' for the byte */
            out[o++] = '?';
            p++;
        } else {
            if (o + n > cap) break;
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
        space = false;
    }
    while (o > 0 && out[o - 1] == ' ') o--;
    out[o] = '\0';
}

void mail_sanitize_header(const char *in, char *out, size_t len) { clean_header(in, out, len, false); }

void mail_clean_utf8(const char *in, char *out, size_t len) { clean_header(in, out, len, true); }

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return false;
    return true;
}

/* A byte "Q" may leave as it is in any header (a phrase's rules, RFC 2047 5(3), which suit a Subject too). */
static bool q_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!*+-/", c);
}

static size_t q_cost(unsigned char c) { return (q_plain(c) || c == ' ') ? 1 : 3; }

/* A folding writer: the current line's column, and whether the line holds anything after the field name. */
struct folder {
    struct cw_buf *b;
    size_t col;
    bool started;
};

/* Writes the separator before a token of width w: " " or a fold. A folded line starts with one space. */
static void put_separator(struct folder *f, size_t w)
{
    if (f->started && f->col + 1 + w > FOLD_COLUMN) {
        cw_buf_put(f->b, "\r\n ", 3);
        f->col = 1;
    } else {
        cw_buf_put(f->b, " ", 1);
        f->col++;
    }
}

static void put_token(struct folder *f, const char *s, size_t n)
{
    put_separator(f, n);
    cw_buf_put(f->b, s, n);
    f->col += n;
    f->started = true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes s[0..n) into out ("Q" or "B" payload); returns its length. out has room for 4 * n + 4. */
static size_t encode_payload(const unsigned char *s, size_t n, bool use_b, char *out)
{
    size_t o = 0;
    if (use_b) {
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
            out[o++] = b64[v >> 18 & 63];
            out[o++] = b64[v >> 12 & 63];
            out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
            out[o++] = i + 2 < n ? b64[v & 63] : '=';
        }
        return o;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') out[o++] = '_';
        else if (q_plain(s[i])) out[o++] = (char)s[i];
        else o += (size_t)snprintf(out + o, 4, "=%02X", s[i]);
    }
    return o;
}

/* Puts s[0..n) (clean UTF-8) as encoded-words, each holding whole characters and at most WORD_MAX long. */
static void put_encoded(struct folder *f, const char *s, size_t n)
{
    size_t q_len = 0;
    for (size_t i = 0; i < n; i++) q_len += q_cost((unsigned char)s[i]);
    bool use_b = q_len > (n + 2) / 3 * 4; /* the shorter of the two */
    const size_t room = WORD_MAX - WORD_OVERHEAD;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t take = 0, cost = 0;
        while (i + take < n) { /* whole characters while they fit */
            size_t c = cw_utf8_seq_len(p + i + take);
            if (c == 0) c = 1;
            size_t more = 0;
            for (size_t k = 0; k < c; k++) more += q_cost(p[i + take + k]);
            size_t next = use_b ? (take + c + 2) / 3 * 4 : cost + more;
            if (next > room) break;
            take += c;
            cost = next;
        }
        if (take == 0) take = 1; /* cannot happen with room >= 12: a character costs at most 12 */
        char word[WORD_MAX + 1], payload[4 * 64];
        size_t pl = encode_payload(p + i, take, use_b, payload);
        int w = snprintf(word, sizeof word, "=?UTF-8?%c?%.*s?=", use_b ? 'B' : 'Q', (int)pl, payload);
        put_token(f, word, (size_t)w);
        i += take;
    }
}

/* An encoded-word's look-alike must not pass as plain text: a decoder would decode it. */
static bool needs_encoding(const char *w, size_t n)
{
    return !is_ascii(w, n) || (n >= 2 && w[0] == '=' && w[1] == '?');
}

void mail_put_unstructured(struct cw_buf *b, const char *name, const char *value)
{
    char clean[MAIL_HEADER_VALUE_MAX + 1];
    mail_clean_utf8(value, clean, sizeof clean);
    cw_buf_printf(b, "%s:", name);
    struct folder f = { .b = b, .col = strlen(name) + 1, .started = false };
    const char *p = clean;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (!needs_encoding(p, n)) {
            put_token(&f, p, n);
            p += n;
        } else { /* this word and the encoded words right after it, with the spaces between them */
            const char *run_end = p + n;
            for (const char *q = run_end; *q == ' ';) {
                size_t m = strcspn(q + 1, " ");
                if (m == 0 || !needs_encoding(q + 1, m)) break;
                run_end = q + 1 + m;
                q = run_end;
            }
            put_encoded(&f, p, (size_t)(run_end - p));
            p = run_end;
        }
        while (*p == ' ') p++;
    }
    cw_buf_put(b, "\r\n", 2);
}

void mail_split_from(const char *from, char *name, size_t name_len, char *addr, size_t addr_len)
{
    const char *s = from ? from : "";
    const char *lt = strrchr(s, '<');
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ') n--;
    if (lt && n > 0 && s[n - 1] == '>') {
        snprintf(name, name_len, "%.*s", (int)(lt - s), s);
        snprintf(addr, addr_len, "%.*s", (int)(s + n - 1 - lt - 1), lt + 1);
    } else {
        snprintf(name, name_len, "%s", "");
        snprintf(addr, addr_len, "%.*s", (int)n, s);
    }
}

void mail_put_from(struct cw_buf *b, const char *from)
{
    char raw_name[512], raw_addr[512], name[MAIL_HEADER_VALUE_MAX + 1], addr[MAIL_HEADER_VALUE_MAX + 1];
    mail_split_from(from, raw_name, sizeof raw_name, raw_addr, sizeof raw_addr);
    mail_clean_utf8(raw_name, name, sizeof name);
    mail_sanitize_header(raw_addr, addr, sizeof addr);
    size_t addr_w = strlen(addr) + 2;
    cw_buf_put(b, "From:", 5);
    struct folder f = { .b = b, .col = 5, .started = false };
    if (!name[0]) {
        put_token(&f, addr, strlen(addr));
    } else {
        if (is_ascii(name, strlen(name))) { /* a quoted-string: '"' and '\' escaped */
            struct cw_buf q = { 0 };
            cw_buf_put(&q, "\"", 1);
            for (const char *p = name; *p; p++) {
                if (*p == '"' || *p == '\\') cw_buf_put(&q, "\\", 1);
                cw_buf_put(&q, p, 1);
            }
            cw_buf_put(&q, "\"", 1);
            put_token(&f, (const char *)q.data, q.len);
            cw_buf_free(&q);
        } else {
            put_encoded(&f, name, strlen(name));
        }
        put_separator(&f, addr_w);
        cw_buf_printf(b, "<%s>", addr);
    }
    cw_buf_put(b, "\r\n", 2);
}

void mail_from_address(const char *from, char *out, size_t len)
{
    char name[512], addr[512];
    mail_split_from(from, name, sizeof name, addr, sizeof addr);
    mail_sanitize_header(addr, out, len);
}
