/* tests/unit/test_sendq.c — the worker's send queue (worker/sendq.c) over a real ZeroMQ PUSH/PULL pair on
 * ipc:// in a temporary directory: batches go straight out while the bus takes them; when the receiver
 * stops reading and every high-water mark is reached, batches wait in the bounded queue, in order; when it
 * overflows the OLDEST are dropped and counted; once the receiver reads again everything queued arrives,
 * in order, and nothing else is lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bus.h"
#include "common/clock.h"
#include "common/protocol.h"
#include "worker/sendq.h"

static void make_batch(struct cw_buf *b, uint64_t seq)
{
    struct cw_result r = { .worker = 3, .boot_id = 77, .seq = seq, .checked_at_us = 1, .latency_us = 5,
                           .dns_us = -1, .connect_us = -1, .tls_us = -1, .ttfb_us = -1, .status_code = 200,
                           .ok = true, .url = "http://127.0.0.1/x" };
    proto_results_begin(b);
    assert_int_equal(proto_results_add(b, &r), 0);
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

static void test_queue_drop_oldest_and_drain(void **state)
{
    (void)state;
    char dir[] = "/tmp/cw-test-sendq-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char addr[128], path[96];
    snprintf(path, sizeof path, "%s/q.sock", dir);
    snprintf(addr, sizeof addr, "ipc://%s", path);
    char err[256];
    struct bus *bus = bus_new(err, sizeof err);
    assert_non_null(bus);
    struct bus_socket *pull = bus_open(bus, BUS_RECV_RELIABLE, addr, err, sizeof err);
    assert_non_null(pull);
    struct bus_socket *push = bus_open(bus, BUS_SEND_RELIABLE, addr, err, sizeof err);
    assert_non_null(push);

    enum { CAP = 8, EXTRA = 20 };
    struct sendq q;
    sendq_init(&q, push, "test receiver", CAP);
    struct cw_buf b = { 0 };
    uint64_t seq = 0;

    /* 1. fill every buffer between the two sockets until the bus refuses, and keeps refusing */
    int64_t deadline = cw_mono_ns() + 60LL * 1000000000;
    for (;;) {
        assert_true(cw_mono_ns() < deadline);
        make_batch(&b, ++seq);
        sendq_send(&q, &b);
        if (q.count == 0) continue;
        nap_ms(100); /* let ZeroMQ's I/O thread move what it can, then try again */
        sendq_flush(&q);
        if (q.count > 0) break;
    }
    uint64_t direct = seq - q.count; /* batches the bus took */
    assert_true(direct > 1000);
    assert_int_equal(q.results_sent, direct);
    assert_int_equal(q.batches_dropped, 0);
    uint64_t queued_first = seq - q.count + 1;

    /* 2. more batches: the queue holds CAP, the oldest go */
    for (int i = 0; i < EXTRA; i++) {
        make_batch(&b, ++seq);
        sendq_send(&q, &b);
    }
    assert_int_equal(q.count, CAP);
    uint64_t dropped = (seq - queued_first + 1) - CAP;
    assert_int_equal(q.batches_dropped, dropped);
    assert_int_equal(q.results_dropped, dropped);
    assert_true(sendq_pending(&q));

    /* 3. the receiver reads again: everything the bus took, then the CAP newest, in order */
    uint64_t expect_total = direct + CAP, got = 0, last = 0;
    deadline = cw_mono_ns() + 60LL * 1000000000;
    while (got < expect_total) {
        assert_true(cw_mono_ns() < deadline);
        struct bus_msg m;
        int rc = bus_recv(pull, &m, 50);
        assert_true(rc >= 0);
        if (rc == 1) {
            assert_int_equal(m.type, CW_MSG_RESULT);
            struct cw_result r;
            const char *why = NULL;
            assert_int_equal(proto_results_decode(m.data, m.len, &r, 1, &why), 1);
            assert_true(r.seq > last);
            if (r.seq <= direct) assert_int_equal(r.seq, last + 1);   /* nothing the bus took is lost */
            else assert_true(r.seq > seq - CAP);                       /* only the newest CAP were kept */
            last = r.seq;
            got++;
            bus_msg_release(&m);
        }
        if (sendq_pending(&q) && bus_writable(push)) sendq_flush(&q);
    }
    assert_int_equal(last, seq);
    assert_int_equal(q.count, 0);
    assert_false(sendq_pending(&q));
    assert_int_equal(q.results_sent, expect_total);
    /* nothing more arrives */
    struct bus_msg m;
    assert_int_equal(bus_recv(pull, &m, 100), 0);

    sendq_free(&q);
    cw_buf_free(&b);
    bus_free(bus);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

static void test_batch_results(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    make_batch(&b, 1);
    assert_int_equal(sendq_batch_results(b.data, b.len), 1);
    assert_int_equal(sendq_batch_results(b.data, 3), 0);
    assert_int_equal(sendq_batch_results(NULL, 0), 0);
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_results),
        cmocka_unit_test(test_queue_drop_oldest_and_drain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
