/* tests/unit/bus_test_util.h — what the bus tests share (tests/unit/test_bus.c: delivery, shapes, relay,
 * addresses; tests/unit/test_bus_docreader.c: the Python reader of docs/protocol.md): a private directory with
 * three ipc:// addresses and a bus, opening a socket or failing the test, a batch of sample results, receiving
 * and sending within a deadline, and a relay in a thread. */
#ifndef CW_TEST_BUS_TEST_UTIL_H
#define CW_TEST_BUS_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "common/bus/bus.h"
#include "common/base/clock.h"
#include "common/wire/protocol.h"
#include "tap/format.h"

#define DEADLINE_MS 10000 /* generous: a correctness bound, not a speed claim */

struct fixture {
    char dir[64];
    char a[128], b[128], c[128]; /* ipc:// addresses inside dir */
    struct bus *bus;
};

static inline int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/cwbus.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->a, sizeof f->a, "ipc://%s/a.sock", f->dir);
    snprintf(f->b, sizeof f->b, "ipc://%s/b.sock", f->dir);
    snprintf(f->c, sizeof f->c, "ipc://%s/c.sock", f->dir);
    char err[256];
    f->bus = bus_new(err, sizeof err);
    if (!f->bus) {
        fprintf(stderr, "bus_new: %s\n", err);
        rmdir(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    bus_free(f->bus);
    const char *names[] = { "a.sock", "b.sock", "c.sock", "reader.py" };
    for (size_t i = 0; i < 4; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static inline struct bus_socket *open_ok(struct bus *bus, enum bus_role role, const char *address)
{
    char err[256] = "";
    struct bus_socket *s = bus_open(bus, role, address, err, sizeof err);
    if (!s) fprintf(stderr, "bus_open(%s): %s\n", address, err);
    assert_non_null(s);
    return s;
}

static inline void make_batch(struct cw_buf *b, unsigned n, uint64_t first_seq)
{
    proto_results_begin(b);
    for (unsigned i = 0; i < n; i++) {
        struct cw_result r = { .worker = 1,
                               .boot_id = 0xb00b,
                               .seq = first_seq + i,
                               .checked_at_us = cw_wall_us(),
                               .latency_us = 1000 + i,
                               .dns_us = 1,
                               .connect_us = 2,
                               .tls_us = -1,
                               .ttfb_us = 3,
                               .status_code = 200,
                               .ok = true,
                               .url = "http://127.0.0.1:8089/" };
        assert_int_equal(proto_results_add(b, &r), 0);
    }
}

/* Receives one message within the deadline (fails the test otherwise). */
static inline void recv_one(struct bus_socket *s, struct bus_msg *m)
{
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    for (;;) {
        int rc = bus_recv(s, m, 200);
        assert_int_not_equal(rc, -1);
        if (rc == 1) return;
        assert_true(cw_mono_us() / 1000 < until);
    }
}

/* ---- reliable */

/* A reliable sender refuses until its connection is up (ZMQ_IMMEDIATE): retry until the deadline. */
static inline void send_connected(struct bus_socket *s, const struct cw_buf *b)
{
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    int rc;
    while ((rc = bus_send(s, CW_MSG_RESULT, b->data, b->len)) == BUS_WOULD_BLOCK) {
        assert_true(cw_mono_us() / 1000 < until);
        usleep(2000);
    }
    assert_int_equal(rc, BUS_SENT);
}

/* The relay (bus_relay_run) in a thread: PUB -> in, out -> SUB. */
struct relay_thread {
    struct bus *bus;
    const char *in, *out;
    char err[256];
};

static inline void *relay_main(void *arg)
{
    struct relay_thread *t = arg;
    bus_relay_run(t->bus, t->in, t->out, -1, NULL, NULL, NULL, NULL, t->err, sizeof t->err);
    return NULL;
}

/* Starts the relay in a thread on its own bus (in -> out); relay_stop frees that bus (which ends the relay's
 * loop) and joins the thread. */
static inline void relay_start(struct relay_thread *rt, pthread_t *th, const char *in, const char *out)
{
    char err[256];
    *rt = (struct relay_thread){ .in = in, .out = out };
    rt->bus = bus_new(err, sizeof err);
    assert_non_null(rt->bus);
    assert_int_equal(pthread_create(th, NULL, relay_main, rt), 0);
}

static inline void relay_stop(struct relay_thread *rt, pthread_t th)
{
    bus_free(rt->bus);
    assert_int_equal(pthread_join(th, NULL), 0);
}

#endif
