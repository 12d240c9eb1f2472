/* common/wire/jsonshape.c — a strict, allocation-free JSON syntax check (jsonshape.h): a recursive descent over
 * the bytes with a depth bound, no values kept. */
#include "common/wire/jsonshape.h"

#include <string.h>

#include "common/base/util.h"

struct json_scan {
    const unsigned char *p, *end;
    int depth;
};

static void skip_space(struct json_scan *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static bool eat(struct json_scan *j, char c)
{
    if (j->p >= j->end || *j->p != (unsigned char)c) return false;
    j->p++;
    return true;
}

static int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* \uXXXX after the backslash and the 'u': the code unit, or -1. */
static long read_u_escape(struct json_scan *j)
{
    if (j->end - j->p < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(j->p[i]);
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    j->p += 4;
    return v;
}

static bool scan_escape(struct json_scan *j)
{
    if (j->p >= j->end) return false;
    unsigned char c = *j->p++;
    if (c && strchr("\"\\/bfnrt", c)) return true;
    if (c != 'u') return false;
    long v = read_u_escape(j);
    if (v <= 0 || (v >= 0xDC00 && v <= 0xDFFF)) return false; /* U+0000, a lone low surrogate */
    if (v < 0xD800 || v > 0xDBFF) return true;
    if (!eat(j, '\\') || !eat(j, 'u')) return false; /* a high surrogate needs its low one */
    long low = read_u_escape(j);
    return low >= 0xDC00 && low <= 0xDFFF;
}

static bool scan_string(struct json_scan *j)
{
    if (!eat(j, '"')) return false;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            j->p++;
            if (!scan_escape(j)) return false;
            continue;
        }
        size_t n = cw_utf8_seq_len(j->p); /* stops at a NUL: the text is NUL-terminated */
        if (n == 0 || (size_t)(j->end - j->p) < n) return false;
        j->p += n;
    }
    return false;
}

static bool scan_digits(struct json_scan *j)
{
    const unsigned char *start = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    return j->p > start;
}

static bool scan_number(struct json_scan *j)
{
    eat(j, '-');
    if (eat(j, '0')) {
        if (j->p < j->end && *j->p >= '0' && *j->p <= '9') return false; /* a leading zero */
    } else if (!scan_digits(j)) {
        return false;
    }
    if (eat(j, '.') && !scan_digits(j)) return false;
    if (eat(j, 'e') || eat(j, 'E')) {
        if (!eat(j, '+')) eat(j, '-');
        if (!scan_digits(j)) return false;
    }
    return true;
}

static bool scan_word(struct json_scan *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return false;
    j->p += n;
    return true;
}

static bool scan_value(struct json_scan *j);

/* An object or an array after its opening bracket, up to and with the closing one. */
static bool scan_members(struct json_scan *j, bool object)
{
    if (++j->depth > JSON_SHAPE_DEPTH_MAX) return false;
    skip_space(j);
    if (eat(j, object ? '}' : ']')) return j->depth--, true;
    for (;;) {
        if (object) {
            if (!scan_string(j)) return false;
            skip_space(j);
            if (!eat(j, ':')) return false;
        }
        if (!scan_value(j)) return false;
        skip_space(j);
        if (eat(j, object ? '}' : ']')) return j->depth--, true;
        if (!eat(j, ',')) return false;
        skip_space(j);
    }
}

static bool scan_value(struct json_scan *j)
{
    skip_space(j);
    if (j->p >= j->end) return false;
    switch (*j->p) {
    case '{':
        j->p++;
        return scan_members(j, true);
    case '[':
        j->p++;
        return scan_members(j, false);
    case '"':
        return scan_string(j);
    case 't':
        return scan_word(j, "true");
    case 'f':
        return scan_word(j, "false");
    case 'n':
        return scan_word(j, "null");
    default:
        return scan_number(j);
    }
}

bool json_is_object(const char *s, size_t len)
{
    struct json_scan j = { .p = (const unsigned char *)s, .end = (const unsigned char *)s + len, .depth = 0 };
    skip_space(&j);
    if (!eat(&j, '{') || !scan_members(&j, true)) return false;
    skip_space(&j);
    return j.p == j.end;
}
