/* common/config/config_dns_answers.c — the form of a dns check's `expect_answers` entry for its record_type, as
 * docs/operations.md section 12 writes answers (the worker compares them in that presentation form): A an IPv4
 * address, AAAA an IPv6 one, CNAME and NS a name, MX "PREFERENCE NAME", SRV "PRIORITY WEIGHT PORT TARGET", SOA its
 * seven fields, CAA FLAGS TAG "VALUE", TXT any text. An entry of another form could never equal an answer, so
 * `-t` refuses it instead of a check that can never pass. Numbers are written as the worker writes them: decimal,
 * no sign, no leading zero. */
#include "common/config/config_types.h"

#include <arpa/inet.h>
#include <string.h>

#define DNS_A 1
#define DNS_NS 2
#define DNS_CNAME 5
#define DNS_SOA 6
#define DNS_MX 15
#define DNS_TXT 16
#define DNS_AAAA 28
#define DNS_SRV 33
#define DNS_CAA 257

#define BLANKS " \t"
#define MAX_WORDS 8
#define MAX_NAME 1024 /* 253 bytes of a name, its special bytes written \DDD by the worker */

/* The words of text split at runs of blanks (as the worker compares them): starts and lengths, at most MAX_WORDS
 * (a text with more counts MAX_WORDS + 1). */
static size_t split_words(const char *text, const char **start, size_t *len)
{
    size_t n = 0;
    for (const char *c = text + strspn(text, BLANKS); *c; c += strspn(c, BLANKS)) {
        if (n == MAX_WORDS) return MAX_WORDS + 1;
        start[n] = c;
        len[n] = strcspn(c, BLANKS);
        c += len[n++];
    }
    return n;
}

/* A decimal number 0..max as the worker prints it (%u). */
static bool number_ok(const char *w, size_t n, unsigned long max)
{
    if (n == 0 || n > 10 || (w[0] == '0' && n > 1)) return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < '0' || w[i] > '9') return false;
        v = v * 10 + (unsigned long)(w[i] - '0');
    }
    return v <= max;
}

/* A domain name: "." or labels joined by single dots, a trailing dot allowed, no control byte. */
static bool name_ok(const char *w, size_t n)
{
    if (n == 1 && w[0] == '.') return true;
    if (n == 0 || n > MAX_NAME || w[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c < 0x20 || c == 0x7f) return false;
        if (c == '.' && i + 1 < n && w[i + 1] == '.') return false;
    }
    return true;
}

/* CAA: FLAGS (0..255) TAG (letters and digits) "VALUE" (the rest, in double quotes). */
static bool caa_ok(const char **w, const size_t *len, size_t n)
{
    if (n < 3 || !number_ok(w[0], len[0], 255)) return false;
    for (size_t i = 0; i < len[1]; i++) {
        char c = w[1][i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    }
    const char *value = w[2];
    size_t vn = strlen(value);
    while (vn > 0 && strchr(BLANKS, value[vn - 1])) vn--;
    return vn >= 2 && value[0] == '"' && value[vn - 1] == '"';
}

const char *cw_dns_answer_form_problem(uint16_t type, const char *answer)
{
    unsigned char addr[16];
    const char *w[MAX_WORDS];
    size_t len[MAX_WORDS];
    size_t n = split_words(answer, w, len);
    switch (type) {
    case DNS_A:
        return inet_pton(AF_INET, answer, addr) == 1 ? NULL : "an IPv4 address";
    case DNS_AAAA:
        return inet_pton(AF_INET6, answer, addr) == 1 ? NULL : "an IPv6 address";
    case DNS_CNAME:
    case DNS_NS:
        return n == 1 && name_ok(w[0], len[0]) ? NULL : "a domain name";
    case DNS_MX:
        return n == 2 && number_ok(w[0], len[0], 65535) && name_ok(w[1], len[1]) ? NULL : "\"PREFERENCE NAME\"";
    case DNS_SRV:
        return n == 4 && number_ok(w[0], len[0], 65535) && number_ok(w[1], len[1], 65535) &&
                       number_ok(w[2], len[2], 65535) && name_ok(w[3], len[3])
                   ? NULL
                   : "\"PRIORITY WEIGHT PORT TARGET\"";
    case DNS_SOA: {
        bool ok = n == 7 && name_ok(w[0], len[0]) && name_ok(w[1], len[1]);
        for (size_t i = 2; ok && i < 7; i++) ok = number_ok(w[i], len[i], 4294967295ul);
        return ok ? NULL : "\"MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM\"";
    }
    case DNS_CAA:
        return caa_ok(w, len, n > MAX_WORDS ? MAX_WORDS : n) ? NULL : "FLAGS TAG \"VALUE\"";
    case DNS_TXT:
    default:
        return NULL;
    }
}
