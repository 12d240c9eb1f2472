/* tests/unit/test_engine_tcp.c — the engine (worker/engine.c) with tcp checks against servers on loopback in a
 * thread of this test: a check connects, sends, finds `expect` split across two writes, reports a refused
 * port, a reply without `expect` (server closed; silent until the deadline), looks "localhost" up through
 * c-ares (/etc/hosts), and an engine freed with a check in flight, or with its lookup in c-ares, releases it (ASan
 * sees no leak, no use after free). */
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
#include "worker/events.h"

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

static void server_start(struct server *s, enum server_mode mode)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 8), 0);
    socklen_t len = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

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

struct rig {
    struct worker_events ev;
    CURLM *multi;
    int sigfd;
    struct engine *e;
};

static void rig_open(struct rig *g)
{
    memset(g, 0, sizeof *g);
    g->multi = curl_multi_init();
    g->sigfd = eventfd(0, EFD_CLOEXEC);
    events_open(&g->ev, g->multi, g->sigfd, 1024);
    g->e = engine_new(NULL, &g->ev, 4);
}

static void rig_close(struct rig *g)
{
    engine_free(g->e);
    events_close(&g->ev);
    curl_multi_cleanup(g->multi);
    close(g->sigfd);
}

/* Runs one check of ep to its result (or 5 s). */
static void run_check(struct rig *g, const struct cw_endpoint *ep, long timeout_ms, struct got *out)
{
    memset(out, 0, sizeof *out);
    char err[256];
    int64_t now = cw_mono_ns();
    assert_int_equal(engine_start(g->e, ep, 7, timeout_ms, now, now, cw_wall_us(), err, sizeof err), 0);
    int64_t give_up = now + 5000000000LL;
    while (!out->done && cw_mono_ns() < give_up) {
        now = cw_mono_ns();
        engine_run_timers(g->e, now);
        engine_collect(g->e, on_result, out);
        if (out->done) break;
        struct proc_wake wake;
        proc_wake_init(&wake, now + 100000000);
        int64_t at = engine_next_wakeup(g->e, now);
        if (at >= 0) proc_wake_at(&wake, at);
        events_wait(&g->ev, &wake, now);
    }
    assert_true(out->done);
    assert_int_equal(engine_in_flight(g->e), 0);
    assert_int_equal(out->r.kind, CW_CHECK_TCP);
}

static struct cw_endpoint tcp_ep(const char *host, int port, const char *send, const char *expect)
{
    struct cw_endpoint ep = { .url = "tcp://test", .type = CW_CHECK_TCP, .timeout = 2, .port = port };
    ep.host = (char *)host;
    ep.send = (char *)send;
    ep.send_len = send ? strlen(send) : 0;
    ep.expect = (char *)expect;
    return ep;
}

static void test_connect_send_expect_split(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct server s;
    server_start(&s, SRV_PONG_SPLIT);
    struct cw_endpoint ep = tcp_ep("127.0.0.1", s.port, "PING\r\n", "+PONG");
    struct got out;
    run_check(&g, &ep, 0, &out);
    server_stop(&s);
    assert_true(out.r.ok);
    assert_string_equal(s.got, "PING\r\n");
    assert_true(out.r.connect_us >= 0);
    assert_int_equal(out.r.latency_us, out.r.connect_us);
    assert_true(out.r.ttfb_us >= 0);
    assert_true(out.r.dns_us >= 0 && out.r.dns_us < 1000); /* an IP literal: answered at once, no lookup */
    assert_non_null(strstr(out.figures, "\"reply\":\"+PO"));
    rig_close(&g);
}

static void test_refused(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    int port = closed_port();
    struct cw_endpoint ep = tcp_ep("127.0.0.1", port, NULL, NULL);
    struct got out;
    run_check(&g, &ep, 0, &out);
    assert_false(out.r.ok);
    char want[128];
    snprintf(want, sizeof want, "connection refused (127.0.0.1 port %d)", port);
    assert_string_equal(out.error, want);
    rig_close(&g);
}

static void test_reply_without_expect(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct server s;
    server_start(&s, SRV_ERR_CLOSE);
    struct cw_endpoint ep = tcp_ep("127.0.0.1", s.port, "PING\r\n", "+PONG");
    struct got out;
    run_check(&g, &ep, 1000, &out);
    server_stop(&s);
    assert_false(out.r.ok);
    assert_string_equal(out.error, "reply did not contain \"+PONG\" (the server closed the connection; got \"-ERR "
                                   "unknown \\\"cmd\\\"\\r\\n\")");
    rig_close(&g);
}

static void test_silent_times_out(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct server s;
    server_start(&s, SRV_SILENT);
    struct cw_endpoint ep = tcp_ep("127.0.0.1", s.port, NULL, "220 ");
    struct got out;
    int64_t t0 = cw_mono_ns();
    run_check(&g, &ep, 300, &out);
    int64_t took = cw_mono_ns() - t0;
    assert_false(out.r.ok);
    assert_string_equal(out.error, "reply did not contain \"220 \" (within 300 ms, nothing received)");
    assert_true(took >= 300000000 && took < 2000000000);
    rig_close(&g);
    server_stop(&s);
}

static void test_localhost_banner(void **state)
{
    (void)state;
    struct rig g;
    rig_open(&g);
    struct server s;
    server_start(&s, SRV_BANNER);
    struct cw_endpoint ep = tcp_ep("localhost", s.port, NULL, "220 ");
    struct got out;
    run_check(&g, &ep, 0, &out);
    server_stop(&s);
    assert_true(out.r.ok);
    assert_true(out.r.dns_us >= 0);
    rig_close(&g);
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

/* A lookup still in c-ares when the engine is freed: its late answer (ARES_EDESTRUCTION) finds the check gone. */
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
        cmocka_unit_test(test_connect_send_expect_split), cmocka_unit_test(test_refused),
        cmocka_unit_test(test_reply_without_expect),      cmocka_unit_test(test_silent_times_out),
        cmocka_unit_test(test_localhost_banner),          cmocka_unit_test(test_abandoned_in_flight),
        cmocka_unit_test(test_abandoned_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
