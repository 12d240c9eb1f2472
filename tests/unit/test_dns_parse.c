/* tests/unit/test_dns_parse.c — worker/dns_parse.c on replies built byte by byte here: the rcode from the
 * header; the answers of each of the nine types in presentation text (compressed names, TXT strings joined,
 * control bytes escaped); records of another type (a CNAME chain) skipped; truncated and malformed replies
 * refused with a reason; the answer cap; queries built for a name; replies of the nine types captured from
 * unbound; and the matching rules of expect_answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "worker/dns_parse.h"

/* ---- a tiny reply builder: header, the question "www.cw.test" (at offset 12, for compression pointers) */

struct pkt {
    uint8_t b[2048];
    size_t n;
    size_t ancount_at, rdlen_at;
};

static void put8(struct pkt *p, unsigned v) { p->b[p->n++] = (uint8_t)v; }
static void put16(struct pkt *p, unsigned v)
{
    put8(p, v >> 8);
    put8(p, v & 0xff);
}
static void put32(struct pkt *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p, v & 0xffff);
}
static void put_bytes(struct pkt *p, const void *s, size_t n)
{
    memcpy(p->b + p->n, s, n);
    p->n += n;
}
/* "a.b.c" as labels, ending with the root */
static void put_name(struct pkt *p, const char *name)
{
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t n = dot ? (size_t)(dot - name) : strlen(name);
        put8(p, (unsigned)n);
        put_bytes(p, name, n);
        name += n + (dot ? 1 : 0);
    }
    put8(p, 0);
}

#define QNAME_AT 12 /* the question's name: a pointer target */

static void begin(struct pkt *p, unsigned rcode, uint16_t qtype)
{
    memset(p, 0, sizeof *p);
    put16(p, 0x1234);
    put16(p, 0x8180 | rcode); /* QR RD RA */
    put16(p, 1);
    p->ancount_at = p->n;
    put16(p, 0);
    put16(p, 0);
    put16(p, 0);
    put_name(p, "www.cw.test");
    put16(p, qtype);
    put16(p, 1);
}

/* Starts a record owned by the question's name (a pointer); the caller writes the rdata, then rr_end. */
static void rr_begin(struct pkt *p, uint16_t type)
{
    put16(p, 0xc000 | QNAME_AT);
    put16(p, type);
    put16(p, 1);
    put32(p, 300);
    p->rdlen_at = p->n;
    put16(p, 0);
    unsigned an = (unsigned)(p->b[p->ancount_at] << 8 | p->b[p->ancount_at + 1]) + 1;
    p->b[p->ancount_at] = (uint8_t)(an >> 8);
    p->b[p->ancount_at + 1] = (uint8_t)an;
}
static void rr_end(struct pkt *p)
{
    size_t len = p->n - p->rdlen_at - 2;
    p->b[p->rdlen_at] = (uint8_t)(len >> 8);
    p->b[p->rdlen_at + 1] = (uint8_t)len;
}

static void parse_ok(const struct pkt *p, uint16_t type, struct dns_reply *r)
{
    char err[128] = "";
    int rc = dns_reply_parse(p->b, p->n, type, r, err, sizeof err);
    if (rc != 0) fail_msg("parse failed: %s", err);
}

static void test_rcode_and_nodata(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_reply r;
    char buf[16];
    begin(&p, 3, DNS_TYPE_A);
    parse_ok(&p, DNS_TYPE_A, &r);
    assert_int_equal(r.rcode, 3);
    assert_string_equal(dns_rcode_name(r.rcode, buf, sizeof buf), "NXDOMAIN");
    assert_int_equal(r.n, 0);
    dns_reply_free(&r);
    begin(&p, 0, DNS_TYPE_MX);
    parse_ok(&p, DNS_TYPE_MX, &r);
    assert_string_equal(dns_rcode_name(r.rcode, buf, sizeof buf), "NOERROR");
    assert_int_equal(r.n, 0);
    dns_reply_free(&r);
    assert_string_equal(dns_rcode_name(5, buf, sizeof buf), "REFUSED");
    assert_string_equal(dns_rcode_name(2, buf, sizeof buf), "SERVFAIL");
    assert_string_equal(dns_rcode_name(12, buf, sizeof buf), "RCODE12");
}

static void test_addresses_after_cname_chain(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_reply r;
    begin(&p, 0, DNS_TYPE_A);
    rr_begin(&p, DNS_TYPE_CNAME);
    put_name(&p, "host.cw.test");
    rr_end(&p);
    rr_begin(&p, DNS_TYPE_A);
    put_bytes(&p, "\xc0\x00\x02\x0a", 4);
    rr_end(&p);
    rr_begin(&p, DNS_TYPE_A);
    put_bytes(&p, "\xc0\x00\x02\x0b", 4);
    rr_end(&p);
    parse_ok(&p, DNS_TYPE_A, &r);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.total, 2);
    assert_string_equal(dns_reply_answer(&r, 0), "192.0.2.10");
    assert_string_equal(dns_reply_answer(&r, 1), "192.0.2.11");
    assert_null(dns_reply_answer(&r, 2));
    dns_reply_free(&r);
    /* the same reply read for its CNAME */
    parse_ok(&p, DNS_TYPE_CNAME, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(dns_reply_answer(&r, 0), "host.cw.test");
    dns_reply_free(&r);

    begin(&p, 0, DNS_TYPE_AAAA);
    rr_begin(&p, DNS_TYPE_AAAA);
    put_bytes(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    rr_end(&p);
    parse_ok(&p, DNS_TYPE_AAAA, &r);
    assert_string_equal(dns_reply_answer(&r, 0), "2001:db8::1");
    dns_reply_free(&r);
}

static void test_names_numbers(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_reply r;
    begin(&p, 0, DNS_TYPE_MX);
    rr_begin(&p, DNS_TYPE_MX);
    put16(&p, 10);
    put8(&p, 4);
    put_bytes(&p, "mail", 4);
    put16(&p, 0xc000 | (QNAME_AT + 4)); /* "cw.test" by pointer */
    rr_end(&p);
    parse_ok(&p, DNS_TYPE_MX, &r);
    assert_string_equal(dns_reply_answer(&r, 0), "10 mail.cw.test");
    dns_reply_free(&r);

    begin(&p, 0, DNS_TYPE_NS);
    rr_begin(&p, DNS_TYPE_NS);
    put_name(&p, "ns1.cw.test");
    rr_end(&p);
    parse_ok(&p, DNS_TYPE_NS, &r);
    assert_string_equal(dns_reply_answer(&r, 0), "ns1.cw.test");
    dns_reply_free(&r);

    begin(&p, 0, DNS_TYPE_SOA);
    rr_begin(&p, DNS_TYPE_SOA);
    put_name(&p, "ns1.cw.test");
    put_name(&p, "admin.cw.test");
    put32(&p, 2026120501u);
    put32(&p, 3600);
    put32(&p, 900);
    put32(&p, 604800);
    put32(&p, 300);
    rr_end(&p);
    parse_ok(&p, DNS_TYPE_SOA, &r);
    assert_string_equal(dns_reply_answer(&r, 0), "ns1.cw.test admin.cw.test 2026120501 3600 900 604800 300");
    dns_reply_free(&r);

    begin(&p, 0, DNS_TYPE_SRV);
    rr_begin(&p, DNS_TYPE_SRV);
    put16(&p, 0);
    put16(&p, 5);
    put16(&p, 80);
    put16(&p, 0xc000 | QNAME_AT);
    rr_end(&p);
    parse_ok(&p, DNS_TYPE_SRV, &r);
    assert_string_equal(dns_reply_answer(&r, 0), "0 5 80 www.cw.test");
    dns_reply_free(&r);
}

static void test_txt_and_caa(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_reply r;
    begin(&p, 0, DNS_TYPE_TXT);
    rr_begin(&p, DNS_TYPE_TXT);
    put8(&p, 7);
    put_bytes(&p, "v=spf1 ", 7);
    put8(&p, 4);
    put_bytes(&p, "-all", 4);
    rr_end(&p);
    rr_begin(&p, DNS_TYPE_TXT);
    put8(&p, 6);
    put_bytes(&p, "a\tb\xc3\xa9\xff", 6); /* a tab, é, a stray byte */
    rr_end(&p);
    parse_ok(&p, DNS_TYPE_TXT, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(dns_reply_answer(&r, 0), "v=spf1 -all");
    assert_string_equal(dns_reply_answer(&r, 1), "a\\009b\xc3\xa9\\255");
    dns_reply_free(&r);

    begin(&p, 0, DNS_TYPE_CAA);
    rr_begin(&p, DNS_TYPE_CAA);
    put8(&p, 0);
    put8(&p, 5);
    put_bytes(&p, "issue", 5);
    put_bytes(&p, "letsencrypt.org", 15);
    rr_end(&p);
    parse_ok(&p, DNS_TYPE_CAA, &r);
    assert_string_equal(dns_reply_answer(&r, 0), "0 issue \"letsencrypt.org\"");
    dns_reply_free(&r);
}

static void expect_malformed(const struct pkt *p, size_t len, uint16_t type, const char *why)
{
    struct dns_reply r;
    char err[128] = "";
    assert_int_equal(dns_reply_parse(p->b, len, type, &r, err, sizeof err), -1);
    assert_string_equal(err, why);
    dns_reply_free(&r);
}

static void test_malformed(void **state)
{
    (void)state;
    struct pkt p;
    begin(&p, 0, DNS_TYPE_A);
    expect_malformed(&p, 5, DNS_TYPE_A, "malformed reply: shorter than a header");
    expect_malformed(&p, 20, DNS_TYPE_A, "malformed reply: truncated in question 1");
    rr_begin(&p, DNS_TYPE_A);
    put_bytes(&p, "\x7f\0\0\x01", 4);
    rr_end(&p);
    expect_malformed(&p, p.n - 1, DNS_TYPE_A, "malformed reply: truncated in answer 1");
    /* an A record of 3 bytes */
    p.b[p.rdlen_at + 1] = 3;
    expect_malformed(&p, p.n - 1, DNS_TYPE_A, "malformed reply: bad data in answer 1");
    /* a name pointer that loops onto itself */
    begin(&p, 0, DNS_TYPE_CNAME);
    rr_begin(&p, DNS_TYPE_CNAME);
    put16(&p, 0xc000 | (unsigned)p.n);
    rr_end(&p);
    expect_malformed(&p, p.n, DNS_TYPE_CNAME, "malformed reply: bad data in answer 1");
    /* a TXT string longer than its record */
    begin(&p, 0, DNS_TYPE_TXT);
    rr_begin(&p, DNS_TYPE_TXT);
    put8(&p, 9);
    put_bytes(&p, "abc", 3);
    rr_end(&p);
    expect_malformed(&p, p.n, DNS_TYPE_TXT, "malformed reply: bad data in answer 1");
}

static void test_cap(void **state)
{
    (void)state;
    struct pkt p;
    struct dns_reply r;
    begin(&p, 0, DNS_TYPE_A);
    for (unsigned i = 0; i < DNS_ANSWERS_MAX + 6; i++) {
        rr_begin(&p, DNS_TYPE_A);
        put8(&p, 10);
        put8(&p, 0);
        put8(&p, 0);
        put8(&p, i);
        rr_end(&p);
    }
    parse_ok(&p, DNS_TYPE_A, &r);
    assert_int_equal(r.n, DNS_ANSWERS_MAX);
    assert_int_equal(r.total, DNS_ANSWERS_MAX + 6);
    assert_string_equal(dns_reply_answer(&r, DNS_ANSWERS_MAX - 1), "10.0.0.63");
    dns_reply_free(&r);
}

static void test_query(void **state)
{
    (void)state;
    uint8_t *q;
    size_t len;
    char err[160];
    assert_int_equal(dns_query_build("www.cw.test", DNS_TYPE_MX, &q, &len, err, sizeof err), 0);
    /* header: RD set, one question; then 3www2cw4test0, type 15, class 1 */
    assert_int_equal(len, 12 + 13 + 4);
    assert_int_equal(q[2] & 0x01, 1);
    assert_int_equal(q[4] << 8 | q[5], 1);
    assert_memory_equal(q + 12,
                        "\x03"
                        "www"
                        "\x02"
                        "cw"
                        "\x04"
                        "test"
                        "\x00\x00\x0f\x00\x01",
                        17);
    dns_query_free(q);
    char label[80];
    memset(label, 'a', 70);
    label[70] = 0;
    assert_int_equal(dns_query_build(label, DNS_TYPE_A, &q, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot build a query for"));
}

/* Replies captured from unbound serving tests/e2e/test_check_dns.py's zone (tests/fuzz/corpus/dns: a byte that
 * picks the type, then the reply as it came): the answers as an operator would write them. */
static void test_captured_replies(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        uint16_t type;
        int rcode;
        const char *first;
    } cases[] = {
        { "a", DNS_TYPE_A, 0, NULL /* two, in rotating order */ },
        { "aaaa", DNS_TYPE_AAAA, 0, "2001:db8::1" },
        { "cname", DNS_TYPE_CNAME, 0, "www.cw.test" },
        { "mx", DNS_TYPE_MX, 0, "10 mail.cw.test" },
        { "txt", DNS_TYPE_TXT, 0, "v=spf1 -all" },
        { "ns", DNS_TYPE_NS, 0, "ns1.cw.test" },
        { "soa", DNS_TYPE_SOA, 0, "ns1.cw.test admin.cw.test 2026120501 3600 900 604800 300" },
        { "srv", DNS_TYPE_SRV, 0, "0 5 80 www.cw.test" },
        { "caa", DNS_TYPE_CAA, 0, "0 issue \"letsencrypt.org\"" },
        { "nxdomain", DNS_TYPE_A, 3, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "../fuzz/corpus/dns/%s", cases[i].file);
        FILE *f = fopen(path, "rb");
        if (!f) fail_msg("%s: cannot open (run from tests/unit)", path);
        uint8_t buf[1024];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        struct dns_reply r;
        char err[128];
        if (dns_reply_parse(buf + 1, n - 1, cases[i].type, &r, err, sizeof err) != 0) fail_msg("%s: %s", path, err);
        assert_int_equal(r.rcode, cases[i].rcode);
        if (cases[i].first) {
            assert_int_equal(r.n, 1);
            assert_string_equal(dns_reply_answer(&r, 0), cases[i].first);
        } else if (cases[i].rcode == 0) {
            assert_int_equal(r.n, 2);
            assert_true(dns_answer_matches(DNS_TYPE_A, "192.0.2.10", dns_reply_answer(&r, 0)) ||
                        dns_answer_matches(DNS_TYPE_A, "192.0.2.10", dns_reply_answer(&r, 1)));
        } else {
            assert_int_equal(r.n, 0);
        }
        dns_reply_free(&r);
    }
}

static void test_matching(void **state)
{
    (void)state;
    assert_true(dns_answer_matches(DNS_TYPE_A, "192.0.2.10", "192.0.2.10"));
    assert_false(dns_answer_matches(DNS_TYPE_A, "192.0.2.9", "192.0.2.10"));
    assert_true(dns_answer_matches(DNS_TYPE_AAAA, "2001:DB8:0::1", "2001:db8::1"));
    assert_false(dns_answer_matches(DNS_TYPE_AAAA, "2001:db8::2", "2001:db8::1"));
    assert_true(dns_answer_matches(DNS_TYPE_CNAME, "Host.CW.test.", "host.cw.test"));
    assert_false(dns_answer_matches(DNS_TYPE_CNAME, "host.cw", "host.cw.test"));
    assert_true(dns_answer_matches(DNS_TYPE_MX, "10  MAIL.cw.test.", "10 mail.cw.test"));
    assert_false(dns_answer_matches(DNS_TYPE_MX, "20 mail.cw.test", "10 mail.cw.test"));
    assert_false(dns_answer_matches(DNS_TYPE_MX, "10", "10 mail.cw.test"));
    assert_true(dns_answer_matches(DNS_TYPE_SRV, "0 5 80 www.cw.test.", "0 5 80 www.cw.test"));
    assert_true(dns_answer_matches(DNS_TYPE_NS, ".", "."));
    assert_true(dns_answer_matches(DNS_TYPE_TXT, "v=spf1 -all", "v=spf1 -all"));
    assert_false(dns_answer_matches(DNS_TYPE_TXT, "V=SPF1 -all", "v=spf1 -all"));
    assert_true(dns_answer_matches(DNS_TYPE_CAA, "0 ISSUE \"letsencrypt.org\"", "0 issue \"letsencrypt.org\""));
    assert_false(dns_answer_matches(DNS_TYPE_CAA, "0 issue \"LetsEncrypt.org\"", "0 issue \"letsencrypt.org\""));
    assert_string_equal(dns_type_name(DNS_TYPE_CAA), "CAA");
    assert_null(dns_type_name(99));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rcode_and_nodata),
        cmocka_unit_test(test_addresses_after_cname_chain),
        cmocka_unit_test(test_names_numbers),
        cmocka_unit_test(test_txt_and_caa),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_captured_replies),
        cmocka_unit_test(test_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
