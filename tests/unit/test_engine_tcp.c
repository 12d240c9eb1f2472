/* tests/unit/test_engine_tcp.c — the engine (worker/engine.c) with tcp checks against servers on loopback in a
 * thread of this test: a check connects, sends, finds `expect` split across two writes, reports a refused
 * port, a reply without `expect` (server closed; silent until the deadline), looks "localhost" up through
 * c-ares (/etc/hosts), and an engine freed with a check in flight, or with its lookup in c-ares, releases it (ASan
 * sees no leak, no use after free); and conn_quote, the one quoting of server bytes in error texts (tcp, STARTTLS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "worker/check.h"
#include "worker/engine_conn.h"
#include "worker/events.h"
#include "engine_test_util.h"

/* the spec of a hand-built endpoint, written by the test (a loaded one is immutable) */
#define MUT(spec) ((struct cw_check_spec *)(spec))

enum server_mode { SRV_PONG_SPLIT, SRV_ERR_CLOSE, SRV_SILENT, SRV_BANNER };

struct server {
    int lfd;
    int port;
    enum server_mode mode;
    pthread_t thread;
    char got[64]; /* what the client sent */
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0) return NULL;
    if (s->mode == SRV_BANNER) {
        (void)!write(fd, "220-smtp.test ESMTP\r\n220 ready\r\n", 32);
    } else if (s->mode != SRV_SILENT) {
        ssize_t n = read(fd, s->got, sizeof s->got - 1);
        if (n > 0) s->got[n] = '\0';
        if (s->mode == SRV_PONG_SPLIT) {
            (void)!write(fd, "+PO", 3);
            usleep(50000);
            (void)!write(fd, "NG\r\n", 4);
        } else {
            (void)!write(fd, "-ERR unknown \"cmd\"\r\n", 20);
        }
    }
    char b[64];
    while (s->mode != SRV_ERR_CLOSE && read(fd, b, sizeof b) > 0) {
    } /* until the client closes (a reset) */
    close(fd);
    return NULL;
}

/* Starts a server on 127.0.0.1 (or ::1 when v6) on a port of the kernel's choice. */
static void server_start_on(struct server *s, enum server_mode mode, bool v6)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    struct sockaddr_storage a = { 0 };
    socklen_t len;
    if (v6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        len = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&a;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *in;
    }
    s->lfd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, len), 0);
    assert_int_equal(listen(s->lfd, 8), 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(v6 ? ((struct sockaddr_in6 *)&a)->sin6_port : ((struct sockaddr_in *)&a)->sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_start(struct server *s, enum server_mode mode) { server_start_on(s, mode, false); }

static void server_stop(struct server *s)
{
    shutdown(s->lfd, SHUT_RDWR); /* wakes a pending accept */
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

/* A port nobody listens on: bound and closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

struct got {
    bool done;
    struct cw_result r;
    char error[CW_ERROR_MAX + 1];
    char figures[CW_FIGURES_MAX + 1];
};

static void on_result(void *arg, struct cw_result *r, uint32_t id)
{
    struct got *g = arg;
    assert_int_equal(id, 7);
    g->done = true;
    g->r = *r;
    snprintf(g->error, sizeof g->error, "%s", r->error ? r->error : "");
    snprintf(g->figures, sizeof g->figures, "%s", r->figures ? r->figures : "");
}

/* Runs one check of ep to its result (or 5 s). */
static void run_check(struct rig *g, const struct cw_endpoint *ep, long timeout_ms, struct got *out)
{
    memset(out, 0, sizeof *out);
    char err[256];
    int64_t now = cw_mono_ns();
    assert_int_equal(engine_start(g->e, ep, 7, timeout_ms, now, now, cw_wall_us(), err, sizeof err), 0);
    int64_t give_up = now + 5000000000LL;
    for (;;) {
        engine_collect(g->e, on_result, out);
        if (out->done || cw_mono_ns() >= give_up) break;
        rig_pass(g, 100000000);
    }
    assert_true(out->done);
    assert_int_equal(engine_in_flight(g->e), 0);
    assert_int_equal(out->r.kind, CW_CHECK_TCP);
}

static struct cw_endpoint tcp_ep(const char *host, int port, const char *send, const char *expect)
{
    static struct cw_check_spec specs[4]; /* taken in turn: a test holds one or two endpoints */
    static unsigned next;
    struct cw_check_spec *spec = &specs[next++ % 4];
    *spec = (struct cw_check_spec){ 0 };
    struct cw_endpoint ep = { .url = "tcp://test", .type = CW_CHECK_TCP, .timeout = 2, .port = port, .spec = spec };
    ep.host = (char *)host;
    MUT(ep.spec)->send = (char *)send;
    MUT(ep.spec)->send_len = send ? strlen(send) : 0;
    MUT(ep.spec)->expect = (char *)expect;
    return ep;
}

static struct rig shared; /* the engine of the tests that run a check to its result */

static int group_setup(void **state)
{
    (void)state;
    rig_open(&shared);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    rig_close(&shared);
    return 0;
}

/* Starts a server in mode, runs one check of host:its port to its result, stops the server. */
static void check_with(enum server_mode mode, const char *host, const char *send, const char *expect, long timeout_ms,
                       struct server *s, struct got *out)
{
    server_start(s, mode);
    struct cw_endpoint ep = tcp_ep(host, s->port, send, expect);
    run_check(&shared, &ep, timeout_ms, out);
    server_stop(s);
}

static void test_connect_send_expect_split(void **state)
{
    (void)state;
    struct server s;
    struct got out;
    check_with(SRV_PONG_SPLIT, "127.0.0.1", "PING\r\n", "+PONG", 0, &s, &out);
    assert_true(out.r.ok);
    assert_string_equal(s.got, "PING\r\n");
    assert_true(out.r.connect_us >= 0);
    assert_int_equal(out.r.latency_us, out.r.connect_us);
    assert_true(out.r.ttfb_us >= 0);
    assert_true(out.r.dns_us >= 0 && out.r.dns_us < 1000); /* an IP literal: answered at once, no lookup */
    assert_non_null(strstr(out.figures, "\"reply\":\"+PO"));
}

static void test_refused(void **state)
{
    (void)state;
    int port = closed_port();
    struct cw_endpoint ep = tcp_ep("127.0.0.1", port, NULL, NULL);
    struct got out;
    run_check(&shared, &ep, 0, &out);
    assert_false(out.r.ok);
    char want[128];
    snprintf(want, sizeof want, "connection refused (127.0.0.1 port %d)", port);
    assert_string_equal(out.error, want);
}

static void test_reply_without_expect(void **state)
{
    (void)state;
    struct server s;
    struct got out;
    check_with(SRV_ERR_CLOSE, "127.0.0.1", "PING\r\n", "+PONG", 1000, &s, &out);
    assert_false(out.r.ok);
    assert_string_equal(out.error, "reply did not contain \"+PONG\" (the server closed the connection; got \"-ERR "
                                   "unknown \\\"cmd\\\"\\r\\n\")");
}

static void test_silent_times_out(void **state)
{
    (void)state;
    struct server s;
    struct got out;
    int64_t t0 = cw_mono_ns();
    check_with(SRV_SILENT, "127.0.0.1", NULL, "220 ", 300, &s, &out);
    int64_t took = cw_mono_ns() - t0;
    assert_false(out.r.ok);
    assert_string_equal(out.error, "reply did not contain \"220 \" (within 300 ms, nothing received)");
    assert_true(took >= 300000000 && took < 2000000000);
}

static void test_localhost_banner(void **state)
{
    (void)state;
    struct server s;
    struct got out;
    check_with(SRV_BANNER, "localhost", NULL, "220 ", 0, &s, &out);
    assert_true(out.r.ok);
    assert_true(out.r.dns_us >= 0);
}

static void test_abandoned_in_flight(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct server s;
    server_start(&s, SRV_SILENT);
    struct cw_endpoint ep = tcp_ep("127.0.0.1", s.port, NULL, "x");
    char err[256];
    int64_t now = cw_mono_ns();
    assert_int_equal(engine_start(g.e, &ep, 7, 0, now, now, cw_wall_us(), err, sizeof err), 0);
    assert_int_equal(engine_in_flight(g.e), 1);
    rig_close(&g); /* releases the check: its socket closes, the server's read ends */
    server_stop(&s);
}

/* An IPv6 literal: a server on ::1. */
static void test_ipv6_literal(void **state)
{
    (void)state;
    struct server s;
    struct got out;
    server_start_on(&s, SRV_BANNER, true);
    struct cw_endpoint ep = tcp_ep("::1", s.port, NULL, "220 ");
    run_check(&shared, &ep, 0, &out);
    server_stop(&s);
    assert_true(out.r.ok);
    ep = tcp_ep("[::1]", closed_port(), NULL, NULL);
    run_check(&shared, &ep, 0, &out);
    assert_false(out.r.ok);
    assert_non_null(strstr(out.error, "connection refused (::1 port "));
}

/* A lookup still in c-ares when the engine is freed: its late answer (ARES_EDESTRUCTION) finds the check gone. */
static void test_conn_quote(void **state)
{
    (void)state;
    char out[64];
    conn_quote("+PONG\r\n\"a\\b\x01\xff", 13, 64, out, sizeof out);
    assert_string_equal(out, "\"+PONG\\r\\n\\\"a\\\\b\\x01\\xff\"");
    conn_quote("abcdefgh", 8, 4, out, sizeof out); /* cut after max bytes */
    assert_string_equal(out, "\"abcd...\"");
    char small[9];
    conn_quote("abcdefgh", 8, 64, small, sizeof small); /* cut where the buffer ends */
    assert_string_equal(small, "\"abc...\"");
    conn_quote("", 0, 64, out, sizeof out);
    assert_string_equal(out, "\"\"");
}

static void test_abandoned_lookup(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct cw_endpoint ep = tcp_ep("abandoned.clockwerk.invalid", 9, NULL, NULL);
    char err[256];
    int64_t now = cw_mono_ns();
    assert_int_equal(engine_start(g.e, &ep, 7, 0, now, now, cw_wall_us(), err, sizeof err), 0);
    rig_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_send_expect_split),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_reply_without_expect),
        cmocka_unit_test(test_silent_times_out),
        cmocka_unit_test(test_localhost_banner),
        cmocka_unit_test(test_abandoned_in_flight),
        cmocka_unit_test(test_abandoned_lookup),
        cmocka_unit_test(test_ipv6_literal),
        cmocka_unit_test(test_conn_quote),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
