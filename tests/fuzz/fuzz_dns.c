/* tests/fuzz/fuzz_dns.c — libFuzzer harness for the dns check's reply reader (worker/dns_parse.c): the input's
 * first byte picks one of the nine record types, the rest is a reply as a server may send it. Asserted: a
 * reply is refused with a one-line reason or read; at most DNS_ANSWERS_MAX answers are kept and never more
 * than were counted; every answer is printable UTF-8 (no control character: they reach error texts, figures
 * and logs) and equals itself by the expect_answers rules. The reply is copied into an exact-size heap block so
 * that a read past its end is an ASan error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"
#include "tests/fuzz/fuzz_util.h"
#include "worker/dns_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = { DNS_TYPE_A,  DNS_TYPE_AAAA, DNS_TYPE_CNAME, DNS_TYPE_MX, DNS_TYPE_TXT,
                                  DNS_TYPE_NS, DNS_TYPE_SOA,  DNS_TYPE_SRV,   DNS_TYPE_CAA };

static void check_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f);
        size_t k = *p < 0x80 ? 1 : cw_utf8_seq_len(p);
        FUZZ_ASSERT(k > 0);
        p += k;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint16_t type = types[data[0] % (sizeof types / sizeof types[0])];
    size_t n = size - 1;
    uint8_t *reply = malloc(n ? n : 1);
    if (!reply) return 0;
    memcpy(reply, data + 1, n);
    struct dns_reply r;
    char err[160] = "";
    int rc = dns_reply_parse(reply, n, type, &r, err, sizeof err);
    if (rc != 0) {
        FUZZ_ASSERT(err[0] != '\0' && strchr(err, '\n') == NULL);
    } else {
        FUZZ_ASSERT(r.n <= DNS_ANSWERS_MAX && r.n <= r.total);
        FUZZ_ASSERT(r.rcode >= 0 && r.rcode <= 15);
    }
    for (unsigned i = 0; i < r.n; i++) {
        const char *a = dns_reply_answer(&r, i);
        FUZZ_ASSERT(a != NULL);
        check_text(a);
        FUZZ_ASSERT(dns_answer_matches(type, a, a));
    }
    dns_reply_free(&r);
    free(reply);
    return 0;
}
