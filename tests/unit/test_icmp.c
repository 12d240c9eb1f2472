/* tests/unit/test_icmp.c — worker/icmp_sock.c: the checksum, echo requests built and replies parsed for each
 * family and socket kind (a raw IPv4 reply's IP header skipped; other types, short packets and foreign payloads
 * refused), the sequence table (a reply counts only with its probe's address and cookie, once, while the entry
 * is busy; busy numbers are skipped when the counter wraps), the round-trip figures (min/avg/max, jitter over
 * consecutive answered probes), CLOCKWERK_ICMP_FDS parsing, and, as root, a real round trip to 127.0.0.1 and
 * ::1 over raw sockets passed the way the supervisor passes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <math.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker/icmp_sock.h"

static void test_checksum(void **state)
{
    (void)state;
    /* RFC 1071's example: the one's complement sum of these words is 0xddf2 */
    const uint8_t words[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    assert_int_equal(icmp_checksum(words, sizeof words), 0x220d);
    const uint8_t odd[] = { 0x01 };
    assert_int_equal(icmp_checksum(odd, 1), 0xfeff);
    /* a packet with its checksum in place sums to zero */
    uint8_t pkt[ICMP_PACKET];
    icmp_build_echo(pkt, ICMP_V4, 0x4357, 7, 0x1122334455667788ULL);
    assert_int_equal(icmp_checksum(pkt, sizeof pkt), 0);
}

/* An echo reply to pkt (the request): type 0/129, as a socket of the family hands it over. */
static size_t make_reply(uint8_t *out, const uint8_t *req, enum icmp_family f, bool ip_header)
{
    size_t off = 0;
    if (ip_header) {
        memset(out, 0, 24);
        out[0] = 0x46; /* version 4, 24 bytes of header (one word of options) */
        off = 24;
    }
    memcpy(out + off, req, ICMP_PACKET);
    out[off] = f == ICMP_V4 ? 0 : 129;
    return off + ICMP_PACKET;
}

static void test_build_and_parse(void **state)
{
    (void)state;
    uint8_t req[ICMP_PACKET], rep[64];
    uint16_t ident, seq;
    uint64_t cookie;
    icmp_build_echo(req, ICMP_V4, 0xbeef, 513, 42);
    assert_int_equal(req[0], 8);
    size_t n = make_reply(rep, req, ICMP_V4, true);
    assert_int_equal(icmp_parse_reply(rep, n, ICMP_V4, ICMP_RAW, &ident, &seq, &cookie), 0);
    assert_int_equal(ident, 0xbeef);
    assert_int_equal(seq, 513);
    assert_true(cookie == 42);
    /* the same bytes on a datagram socket (no IP header there) are not a reply */
    assert_int_equal(icmp_parse_reply(rep, n, ICMP_V4, ICMP_DGRAM, &ident, &seq, &cookie), -1);
    n = make_reply(rep, req, ICMP_V4, false);
    assert_int_equal(icmp_parse_reply(rep, n, ICMP_V4, ICMP_DGRAM, &ident, &seq, &cookie), 0);
    /* our own request looped back is not a reply */
    assert_int_equal(icmp_parse_reply(req, sizeof req, ICMP_V4, ICMP_DGRAM, &ident, &seq, &cookie), -1);
    /* short, and a foreign payload */
    assert_int_equal(icmp_parse_reply(rep, n - 1, ICMP_V4, ICMP_DGRAM, &ident, &seq, &cookie), -1);
    rep[20] ^= 1;
    assert_int_equal(icmp_parse_reply(rep, n, ICMP_V4, ICMP_DGRAM, &ident, &seq, &cookie), -1);
    /* a raw IPv4 header claiming more than there is */
    n = make_reply(rep, req, ICMP_V4, true);
    rep[0] = 0x4f;
    assert_int_equal(icmp_parse_reply(rep, 40, ICMP_V4, ICMP_RAW, &ident, &seq, &cookie), -1);

    icmp_build_echo(req, ICMP_V6, 1, 65535, 7);
    assert_int_equal(req[0], 128);
    assert_int_equal(req[2] | req[3], 0); /* the kernel fills IPv6's checksum */
    n = make_reply(rep, req, ICMP_V6, false);
    assert_int_equal(icmp_parse_reply(rep, n, ICMP_V6, ICMP_RAW, &ident, &seq, &cookie), 0);
    assert_int_equal(seq, 65535);
    rep[0] = 0; /* an IPv4 echo reply's type on the v6 socket */
    assert_int_equal(icmp_parse_reply(rep, n, ICMP_V6, ICMP_DGRAM, &ident, &seq, &cookie), -1);
}

static void test_sequence_table(void **state)
{
    (void)state;
    struct icmp_sock s;
    memset(&s, 0, sizeof s);
    s.rng = 12345;
    s.fam[0].fd = s.fam[1].fd = -1;
    const uint8_t a[4] = { 127, 0, 0, 1 }, b[4] = { 127, 0, 0, 2 };
    uint16_t seq, seq2;
    struct icmp_reply r;
    assert_int_equal(icmp_seq_take(&s, ICMP_V4, a, 17, 3, 2, &seq), 0);
    struct icmp_probe_entry *e = &s.fam[0].table[seq];
    e->sent_ns = 1000000;
    assert_false(icmp_match(&s, ICMP_V4, seq, e->cookie, b, 2000000, &r));     /* another address */
    assert_false(icmp_match(&s, ICMP_V4, seq, e->cookie + 1, a, 2000000, &r)); /* another cookie */
    assert_false(icmp_match(&s, ICMP_V4, seq, e->cookie, a, 999999, &r));      /* before it was sent */
    assert_false(icmp_match(&s, ICMP_V6, seq, e->cookie, a, 2000000, &r));     /* the other family */
    assert_true(icmp_match(&s, ICMP_V4, seq, e->cookie, a, 2500000, &r));
    assert_int_equal(r.owner, 17);
    assert_int_equal(r.gen, 3);
    assert_int_equal(r.index, 2);
    assert_int_equal(r.rtt_ns, 1500000);
    assert_false(icmp_match(&s, ICMP_V4, seq, e->cookie, a, 2600000, &r)); /* a duplicate */
    uint64_t cookie = e->cookie;
    icmp_sock_release(&s, ICMP_V4, seq);
    assert_false(icmp_match(&s, ICMP_V4, seq, cookie, a, 2600000, &r)); /* after its check ended */
    assert_int_equal(s.fam[0].busy, 0);

    /* a busy number is skipped when the counter comes round again */
    assert_int_equal(icmp_seq_take(&s, ICMP_V4, a, 1, 1, 0, &seq), 0);
    for (unsigned i = 0; i < ICMP_SEQ_SPACE - 1; i++) {
        assert_int_equal(icmp_seq_take(&s, ICMP_V4, a, 2, 1, 0, &seq2), 0);
        icmp_sock_release(&s, ICMP_V4, seq2);
    }
    assert_int_equal(icmp_seq_take(&s, ICMP_V4, a, 2, 1, 0, &seq2), 0);
    assert_int_not_equal(seq2, seq);
    assert_int_equal(s.fam[0].table[seq].owner, 1);
    /* all taken: -1 */
    for (unsigned i = 0; i < ICMP_SEQ_SPACE - 2; i++)
        assert_int_equal(icmp_seq_take(&s, ICMP_V4, a, 3, 1, 0, &seq2), 0);
    assert_int_equal(icmp_seq_take(&s, ICMP_V4, a, 3, 1, 0, &seq2), -1);
    icmp_sock_close(&s);
}

static void test_rtt_stats(void **state)
{
    (void)state;
    struct icmp_rtt_stats s;
    /* 10, lost, 14, 11 ms: consecutive answered pairs 10->14, 14->11 */
    const int64_t rtt[] = { 10000000, -1, 14000000, 11000000 };
    icmp_rtt_stats(rtt, 4, &s);
    assert_true(fabs(s.min_ms - 10.0) < 1e-9 && fabs(s.max_ms - 14.0) < 1e-9);
    assert_true(fabs(s.avg_ms - 35.0 / 3) < 1e-9);
    assert_true(fabs(s.jitter_ms - 3.5) < 1e-9);
    const int64_t one[] = { -1, 2500000 };
    icmp_rtt_stats(one, 2, &s);
    assert_true(s.avg_ms == 2.5 && isnan(s.jitter_ms));
    const int64_t none[] = { -1, -1, -1 };
    icmp_rtt_stats(none, 3, &s);
    assert_true(isnan(s.min_ms) && isnan(s.avg_ms) && isnan(s.max_ms) && isnan(s.jitter_ms));
}

static void test_env(void **state)
{
    (void)state;
    struct icmp_sock s;
    char err[160];
    assert_int_equal(icmp_sock_open(&s, "3", err, sizeof err), -1);
    assert_string_equal(err, "CLOCKWERK_ICMP_FDS: \"3\" is not two descriptor numbers (\"3,4\")");
    assert_int_equal(icmp_sock_open(&s, "3,x", err, sizeof err), -1);
    /* a descriptor that is not a raw ICMP socket is not used (nor closed) */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char env[32];
    snprintf(env, sizeof env, "%d,-1", sv[0]);
    assert_int_equal(icmp_sock_open(&s, env, err, sizeof err), 0);
    assert_int_not_equal(s.fam[0].fd, sv[0]);
    assert_int_not_equal(s.fam[0].method, ICMP_RAW);
    if (s.fam[0].fd < 0) {
        icmp_sock_unavailable(&s, ICMP_V4, err, sizeof err);
        assert_true(strstr(err, "ping_group_range") || strstr(err, "cannot open"));
    }
    icmp_sock_close(&s);
    assert_int_equal(write(sv[0], "x", 1), 1); /* still open */
    close(sv[0]);
    close(sv[1]);
}

struct got {
    unsigned n;
    struct icmp_reply last;
};
static void on_reply(void *ctx, const struct icmp_reply *r)
{
    struct got *g = ctx;
    g->n++;
    g->last = *r;
}

/* One echo to the loopback address of the family; the reply must come back matched. */
static void round_trip(struct icmp_sock *s, enum icmp_family f)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (f == ICMP_V4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, "127.0.0.1", &in->sin_addr);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
    }
    uint16_t seq;
    char err[200];
    if (icmp_sock_send(s, f, (struct sockaddr *)&ss, 9, 4, 1, &seq, err, sizeof err) != 0) fail_msg("send: %s", err);
    struct got g = { 0 };
    for (int tries = 0; tries < 50 && g.n == 0; tries++) {
        struct pollfd p = { .fd = s->fam[f].fd, .events = POLLIN };
        (void)poll(&p, 1, 100);
        icmp_sock_receive(s, f, 4, on_reply, &g);
    }
    assert_int_equal(g.n, 1);
    assert_int_equal(g.last.owner, 9);
    assert_int_equal(g.last.index, 1);
    assert_true(g.last.rtt_ns > 0 && g.last.rtt_ns < 1000000000);
    icmp_sock_release(s, f, seq);
}

static void test_raw_round_trip(void **state)
{
    (void)state;
    int v4 = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), v6 = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    if (v4 < 0 || v6 < 0) {
        if (v4 >= 0) close(v4);
        if (v6 >= 0) close(v6);
        skip(); /* no CAP_NET_RAW: the e2e tests cover the permissions */
    }
    char env[32], err[160];
    snprintf(env, sizeof env, "%d,%d", v4, v6);
    struct icmp_sock s;
    assert_int_equal(icmp_sock_open(&s, env, err, sizeof err), 0);
    assert_int_equal(s.fam[0].method, ICMP_RAW);
    assert_int_equal(s.fam[1].method, ICMP_RAW);
    round_trip(&s, ICMP_V4);
    round_trip(&s, ICMP_V6);
    icmp_sock_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_build_and_parse),
        cmocka_unit_test(test_sequence_table),
        cmocka_unit_test(test_rtt_stats),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_raw_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
