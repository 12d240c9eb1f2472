/* worker/dns_parse.h — a DNS reply as the dns check sees it: the rcode and the answers of the asked type in
 * presentation text, and the rules by which an expected answer equals one of them.
 *
 * DESIGN
 * One file builds the query and reads the reply, so that moving to c-ares's newer record API (ares_dns_record_t, 1.22+; Debian 13
 * deprecates the ares_parse_*_reply family this machine's 1.18 has) touches nothing else. The answer section
 * is walked here, record by record, for the nine types a check may ask for; names are expanded with
 * ares_expand_name (compression pointers, escapes). Records of other types (the CNAMEs of a chain before the
 * asked A records, say) are skipped, and so are records of another class.
 * Presentation text, as an operator writes it in expect_answers (docs/config.md "dns"):
 *   A 192.0.2.10   AAAA 2001:db8::1   CNAME/NS www.cw.test   MX 10 mail.cw.test   TXT v=spf1 -all (the
 *   strings of one record joined, unquoted)   SOA ns1.cw.test admin.cw.test 2026120501 3600 900 604800 300
 *   SRV 0 5 80 www.cw.test   CAA 0 issue "letsencrypt.org"
 * Names carry no trailing dot (the root is "."); bytes of TXT and CAA values that are control characters or
 * not UTF-8 are written \DDD (decimal, as in zone files), so the text is always printable UTF-8. */
#ifndef CW_WORKER_DNS_PARSE_H
#define CW_WORKER_DNS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"

#define DNS_ANSWERS_MAX 64 /* answers kept per reply; more are counted in `total` */

enum {
    DNS_TYPE_A = 1,
    DNS_TYPE_NS = 2,
    DNS_TYPE_CNAME = 5,
    DNS_TYPE_SOA = 6,
    DNS_TYPE_MX = 15,
    DNS_TYPE_TXT = 16,
    DNS_TYPE_AAAA = 28,
    DNS_TYPE_SRV = 33,
    DNS_TYPE_CAA = 257,
};

struct dns_reply {
    int rcode;          /* the header's RCODE (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ...) */
    unsigned n;         /* answers kept (at most DNS_ANSWERS_MAX) */
    unsigned total;     /* answers of the asked type in the reply */
    struct cw_buf text; /* the kept answers, each NUL-terminated, one after the other */
    size_t off[DNS_ANSWERS_MAX];
};

/* A query for name (class IN, recursion desired) in wire form: 0 with *buf (free with dns_query_free) and
 * *len, or -1 with a reason in err (a name c-ares cannot encode: a label over 63 bytes, ...). */
int dns_query_build(const char *name, uint16_t type, uint8_t **buf, size_t *len, char *err, size_t errlen);
void dns_query_free(uint8_t *buf);

/* Reads a reply to a query for `type`. 0, or -1 with a one-line reason in err ("reply truncated in answer 2",
 * ...); r is usable (and must be freed) either way. */
int dns_reply_parse(const uint8_t *buf, size_t len, uint16_t type, struct dns_reply *r, char *err, size_t errlen);
const char *dns_reply_answer(const struct dns_reply *r, unsigned i);
void dns_reply_free(struct dns_reply *r);

/* "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", ...; "RCODE12" for one without a name
 * (buf holds it: at least 16 bytes). */
const char *dns_rcode_name(int rcode, char *buf, size_t buflen);
/* "A", "AAAA", ...; NULL for a type outside the nine. */
const char *dns_type_name(uint16_t type);

/* Whether an expected answer (as configured) equals an answer's presentation text: addresses by value
 * (2001:DB8:0::1 equals 2001:db8::1), names case-insensitively with a trailing dot ignored, numbers as
 * written, TXT and CAA values exactly. */
bool dns_answer_matches(uint16_t type, const char *expected, const char *answer);

#endif
