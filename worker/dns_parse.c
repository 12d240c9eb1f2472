/* worker/dns_parse.c — a DNS reply's rcode and answers in presentation text, and how an expected answer
 * equals one (see dns_parse.h). */
#include "worker/dns_parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#define DNS_HEADER_LEN 12
#define DNS_CLASS_IN 1

/* A bounded big-endian reader over the reply; `failed` is sticky. */
struct rd {
    const uint8_t *buf;
    size_t len, pos;
    bool failed;
};

static unsigned rd_u8(struct rd *r)
{
    if (r->failed || r->pos + 1 > r->len) {
        r->failed = true;
        return 0;
    }
    return r->buf[r->pos++];
}

static unsigned rd_u16(struct rd *r)
{
    unsigned hi = rd_u8(r);
    return (hi << 8) | rd_u8(r);
}

static uint32_t rd_u32(struct rd *r)
{
    uint32_t hi = rd_u16(r);
    return (hi << 16) | rd_u16(r);
}

/* Expands the (possibly compressed) name at r->pos, which must end by `end`, into out ("." for the root). */
static void rd_name(struct rd *r, size_t end, struct cw_buf *out)
{
    if (r->failed || r->pos >= end || r->len > (size_t)INT32_MAX) {
        r->failed = true;
        return;
    }
    char *name = NULL;
    long used = 0;
    if (ares_expand_name(r->buf + r->pos, r->buf, (int)r->len, &name, &used) != ARES_SUCCESS || used <= 0 ||
        r->pos + (size_t)used > end) {
        if (name) ares_free_string(name);
        r->failed = true;
        return;
    }
    r->pos += (size_t)used;
    size_t n = strlen(name);
    if (n == 0) cw_buf_put(out, ".", 1);
    else cw_buf_put(out, name, n);
    ares_free_string(name);
}

/* Appends n bytes of a TXT/CAA value: printable UTF-8 as it is, anything else as \DDD. */
static void put_value(struct cw_buf *out, const uint8_t *p, size_t n)
{
    char seq[5];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        if (p[i] >= 0x80) { /* a complete sequence within the n bytes (cw_utf8_seq_len wants a NUL after it) */
            size_t want = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2;
            if (i + want <= n) {
                memcpy(seq, p + i, want);
                seq[want] = 0;
                k = cw_utf8_seq_len((const unsigned char *)seq) == want ? want : 0;
            }
        } else if (p[i] >= 0x20 && p[i] != 0x7f) {
            k = 1;
        }
        if (k) {
            cw_buf_put(out, p + i, k);
            i += k;
        } else {
            cw_buf_printf(out, "\\%03u", p[i]);
            i++;
        }
    }
}

/* The rdata of one record of `type` in [r->pos, end) as text appended to out. */
static void format_rdata(struct rd *r, uint16_t type, size_t end, struct cw_buf *out)
{
    char addr[INET6_ADDRSTRLEN];
    switch (type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA: {
        size_t alen = type == DNS_TYPE_A ? 4 : 16;
        if (end - r->pos != alen) {
            r->failed = true;
            return;
        }
        inet_ntop(type == DNS_TYPE_A ? AF_INET : AF_INET6, r->buf + r->pos, addr, sizeof addr);
        cw_buf_put(out, addr, strlen(addr));
        r->pos = end;
        return;
    }
    case DNS_TYPE_CNAME:
    case DNS_TYPE_NS:
        rd_name(r, end, out);
        return;
    case DNS_TYPE_MX:
        cw_buf_printf(out, "%u ", rd_u16(r));
        rd_name(r, end, out);
        return;
    case DNS_TYPE_SRV: {
        unsigned prio = rd_u16(r), weight = rd_u16(r), port = rd_u16(r);
        cw_buf_printf(out, "%u %u %u ", prio, weight, port);
        rd_name(r, end, out);
        return;
    }
    case DNS_TYPE_SOA: {
        rd_name(r, end, out);
        cw_buf_put(out, " ", 1);
        rd_name(r, end, out);
        uint32_t v[5];
        for (int i = 0; i < 5; i++) v[i] = rd_u32(r);
        cw_buf_printf(out, " %u %u %u %u %u", v[0], v[1], v[2], v[3], v[4]);
        return;
    }
    case DNS_TYPE_TXT: /* character-strings, joined */
        while (!r->failed && r->pos < end) {
            size_t n = rd_u8(r);
            if (r->pos + n > end) {
                r->failed = true;
                return;
            }
            put_value(out, r->buf + r->pos, n);
            r->pos += n;
        }
        return;
    case DNS_TYPE_CAA: {
        unsigned flags = rd_u8(r), taglen = rd_u8(r);
        if (r->failed || taglen == 0 || r->pos + taglen > end) {
            r->failed = true;
            return;
        }
        cw_buf_printf(out, "%u ", flags);
        put_value(out, r->buf + r->pos, taglen);
        r->pos += taglen;
        cw_buf_put(out, " \"", 2);
        put_value(out, r->buf + r->pos, end - r->pos);
        cw_buf_put(out, "\"", 1);
        r->pos = end;
        return;
    }
    default:
        r->failed = true;
        return;
    }
}

/* Skips a name (labels or a pointer) without expanding it. */
static void skip_name(struct rd *r)
{
    for (;;) {
        unsigned n = rd_u8(r);
        if (r->failed || n == 0) return;
        if ((n & 0xc0) == 0xc0) {
            rd_u8(r);
            return;
        }
        if (n & 0xc0) {
            r->failed = true;
            return;
        }
        if (r->pos + n > r->len) {
            r->failed = true;
            return;
        }
        r->pos += n;
    }
}

static int fail(struct rd *r, char *err, size_t errlen, const char *what, unsigned index)
{
    r->failed = true;
    if (index) snprintf(err, errlen, "malformed reply: %s %u", what, index);
    else snprintf(err, errlen, "malformed reply: %s", what);
    return -1;
}

int dns_query_build(const char *name, uint16_t type, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
    unsigned char *q = NULL;
    int qlen = 0;
    int st = ares_create_query(name, 1 /* IN */, type, 0, 1, &q, &qlen, 0);
    if (st != ARES_SUCCESS || !q || qlen <= 0) {
        snprintf(err, errlen, "cannot build a query for \"%s\": %s", name, ares_strerror(st));
        if (q) ares_free_string(q);
        return -1;
    }
    *buf = q;
    *len = (size_t)qlen;
    return 0;
}

void dns_query_free(uint8_t *buf)
{
    if (buf) ares_free_string(buf);
}

int dns_reply_parse(const uint8_t *buf, size_t len, uint16_t type, struct dns_reply *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->rcode = -1;
    struct rd in = { .buf = buf, .len = len };
    if (len < DNS_HEADER_LEN) return fail(&in, err, errlen, "shorter than a header", 0);
    r->rcode = buf[3] & 0x0f;
    in.pos = 4;
    unsigned qd = rd_u16(&in), an = rd_u16(&in);
    in.pos = DNS_HEADER_LEN;
    for (unsigned i = 0; i < qd; i++) {
        skip_name(&in);
        in.pos += 4; /* type, class */
        if (in.failed || in.pos > len) return fail(&in, err, errlen, "truncated in question", i + 1);
    }
    for (unsigned i = 0; i < an; i++) {
        skip_name(&in);
        unsigned rtype = rd_u16(&in), rclass = rd_u16(&in);
        rd_u32(&in); /* TTL */
        size_t rdlen = rd_u16(&in);
        if (in.failed || in.pos + rdlen > len) return fail(&in, err, errlen, "truncated in answer", i + 1);
        size_t end = in.pos + rdlen;
        if (rtype != type || rclass != DNS_CLASS_IN) {
            in.pos = end;
            continue;
        }
        r->total++;
        if (r->n < DNS_ANSWERS_MAX) {
            size_t start = r->text.len;
            format_rdata(&in, type, end, &r->text);
            if (in.failed || in.pos != end) {
                r->text.len = start;
                return fail(&in, err, errlen, "bad data in answer", i + 1);
            }
            cw_buf_put(&r->text, "", 1);
            r->off[r->n++] = start;
        }
        in.pos = end;
    }
    return 0;
}

const char *dns_reply_answer(const struct dns_reply *r, unsigned i)
{
    return i < r->n ? (const char *)r->text.data + r->off[i] : NULL;
}

void dns_reply_free(struct dns_reply *r)
{
    cw_buf_free(&r->text);
    r->n = r->total = 0;
}

const char *dns_rcode_name(int rcode, char *buf, size_t buflen)
{
    static const char *const names[] = { "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                         "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE" };
    if (rcode >= 0 && (size_t)rcode < sizeof names / sizeof names[0]) return names[rcode];
    snprintf(buf, buflen, "RCODE%d", rcode);
    return buf;
}

const char *dns_type_name(uint16_t type)
{
    switch (type) {
    case DNS_TYPE_A:
        return "A";
    case DNS_TYPE_NS:
        return "NS";
    case DNS_TYPE_CNAME:
        return "CNAME";
    case DNS_TYPE_SOA:
        return "SOA";
    case DNS_TYPE_MX:
        return "MX";
    case DNS_TYPE_TXT:
        return "TXT";
    case DNS_TYPE_AAAA:
        return "AAAA";
    case DNS_TYPE_SRV:
        return "SRV";
    case DNS_TYPE_CAA:
        return "CAA";
    default:
        return NULL;
    }
}

/* The next whitespace-separated token of *s: its start, its length in *n (0 at the end). */
static const char *next_token(const char **s, size_t *n)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t') p++;
    const char *start = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    *n = (size_t)(p - start);
    *s = p;
    return start;
}

/* Tokens equal case-insensitively, a trailing dot ignored (except on "." itself); at most `limit` tokens
 * compared this way (0: all), the rest of both strings then compared exactly. */
static bool tokens_match(const char *a, const char *b, unsigned limit)
{
    for (unsigned i = 0; limit == 0 || i < limit; i++) {
        size_t na, nb;
        const char *ta = next_token(&a, &na), *tb = next_token(&b, &nb);
        if (na == 0 || nb == 0) return na == nb;
        if (na > 1 && ta[na - 1] == '.') na--;
        if (nb > 1 && tb[nb - 1] == '.') nb--;
        if (na != nb || strncasecmp(ta, tb, na) != 0) return false;
    }
    while (*a == ' ' || *a == '\t') a++;
    while (*b == ' ' || *b == '\t') b++;
    return strcmp(a, b) == 0;
}

bool dns_answer_matches(uint16_t type, const char *expected, const char *answer)
{
    if (type == DNS_TYPE_A || type == DNS_TYPE_AAAA) {
        int af = type == DNS_TYPE_A ? AF_INET : AF_INET6;
        unsigned char x[16], y[16];
        if (inet_pton(af, expected, x) == 1 && inet_pton(af, answer, y) == 1)
            return memcmp(x, y, af == AF_INET ? 4 : 16) == 0;
        return strcmp(expected, answer) == 0;
    }
    if (type == DNS_TYPE_TXT) return strcmp(expected, answer) == 0;
    if (type == DNS_TYPE_CAA) return tokens_match(expected, answer, 2);
    return tokens_match(expected, answer, 0);
}
