/* tests/unit/ackq_test_util.h — what the tests of the acknowledged outbox share (tests/unit/test_ackq.c: the
 * queue's mechanics; tests/unit/test_ackq_resend.c: resend backoff and refusals): a real ZeroMQ DEALER/ROUTER pair
 * in a private temporary directory, pushing numbered result batches, receiving them and answering with acks. */
#ifndef CW_TEST_ACKQ_TEST_UTIL_H
#define CW_TEST_ACKQ_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/bus/ackq.h"
#include "common/bus/bus.h"
#include "common/base/clock.h"
#include "common/base/le.h"
#include "common/wire/protocol.h"

#define DEADLINE_MS 10000
#define BOOT 0xb00bULL

struct fixture {
    char dir[64];
    char addr[128];
    char spool[128];
    struct bus *bus;
    struct bus_socket *snd, *rcv;
};

static inline int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/cwackq.XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->addr, sizeof f->addr, "ipc://%s/r.sock", f->dir);
    snprintf(f->spool, sizeof f->spool, "%s/worker-0-storer.spool", f->dir);
    char err[256];
    f->bus = bus_new(err, sizeof err);
    if (!f->bus) return -1;
    f->snd = bus_open(f->bus, BUS_SEND_RELIABLE, f->addr, err, sizeof err);
    if (!f->snd) return -1;
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    bus_free(f->bus);
    unlink(f->spool);
    char refused[160];
    snprintf(refused, sizeof refused, "%s.refused", f->spool);
    unlink(refused);
    char path[160];
    snprintf(path, sizeof path, "%s/r.sock", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static inline void bind_receiver(struct fixture *f)
{
    char err[256];
    f->rcv = bus_open(f->bus, BUS_RECV_RELIABLE, f->addr, err, sizeof err);
    assert_non_null(f->rcv);
}

/* Appends to batch b a passed check of worker 0 with this boot and seq. */
static inline void add_result(struct cw_buf *b, uint64_t boot, uint64_t seq)
{
    struct cw_result r = { .worker = 0,
                           .boot_id = boot,
                           .seq = seq,
                           .checked_at_us = cw_wall_us(),
                           .latency_us = 1,
                           .dns_us = 1,
                           .connect_us = 1,
                           .tls_us = -1,
                           .ttfb_us = 1,
                           .status_code = 200,
                           .ok = true,
                           .url = "http://127.0.0.1:9/" };
    assert_int_equal(proto_results_add(b, &r), 0);
}

/* Pushes batch k (1-based) of `per` results: seqs (k-1)*per+1 .. k*per. */
static inline void push_batch(struct ackq *q, unsigned k, unsigned per, uint64_t boot)
{
    struct cw_buf b = { 0 };
    proto_results_begin(&b);
    uint64_t first = (uint64_t)(k - 1) * per + 1;
    for (unsigned i = 0; i < per; i++) add_result(&b, boot, first + i);
    ackq_push(q, b.data, b.len, 0, boot, first, first + per - 1, per);
    cw_buf_free(&b);
}

/* Receives one result batch within the deadline, servicing the queue meanwhile; returns its first seq and
 * fills *peer and *last. */
static inline uint64_t recv_batch(struct fixture *f, struct ackq *q, struct bus_peer *peer, uint64_t *last,
                                  uint64_t *boot)
{
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    for (;;) {
        ackq_service(q, cw_mono_ns());
        struct bus_msg m;
        int rc = bus_recv(f->rcv, &m, 20);
        assert_int_not_equal(rc, -1);
        if (rc == 1) {
            assert_int_equal(m.type, CW_MSG_RESULT);
            struct cw_result out[CW_RESULT_BATCH_MAX];
            const char *why = NULL;
            int n = proto_results_decode(m.data, m.len, out, CW_RESULT_BATCH_MAX, &why);
            assert_true(n > 0);
            *peer = m.peer;
            *last = out[n - 1].seq;
            if (boot) *boot = out[0].boot_id;
            uint64_t first = out[0].seq;
            bus_msg_release(&m);
            return first;
        }
        assert_true(cw_mono_us() / 1000 < until);
    }
}

/* Nothing arrives for ms milliseconds. */
static inline void recv_none(struct fixture *f, struct ackq *q, int ms)
{
    int64_t until = cw_mono_us() / 1000 + ms;
    while (cw_mono_us() / 1000 < until) {
        ackq_service(q, cw_mono_ns());
        struct bus_msg m;
        int rc = bus_recv(f->rcv, &m, 10);
        if (rc == 1) bus_msg_release(&m);
        assert_int_equal(rc, 0);
    }
}

static inline void send_ack(struct fixture *f, const struct bus_peer *peer, uint64_t boot, uint64_t first,
                            uint64_t last)
{
    struct ackq_range r = { 0, boot, first, last, ACKQ_DURABLE };
    struct cw_buf b = { 0 };
    assert_int_equal(ackq_ack_encode(&b, &r, 1), 0);
    assert_int_equal(bus_send_to(f->rcv, peer, CW_MSG_ACK, b.data, b.len), BUS_SENT);
    cw_buf_free(&b);
}

/* Services the queue until what `counter` points at (one of its counters) reaches at least `want`. */
static inline void wait_counter(struct ackq *q, const uint64_t *counter, uint64_t want)
{
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    while (*counter < want) {
        assert_true(cw_mono_us() / 1000 < until);
        usleep(2000);
        ackq_service(q, cw_mono_ns());
    }
}

/* Services the queue until it holds no more than `count` entries. */
static inline void wait_count(struct ackq *q, size_t count)
{
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    while (q->count > count) {
        assert_true(cw_mono_us() / 1000 < until);
        usleep(2000);
        ackq_service(q, cw_mono_ns());
    }
}

#endif
