/* tests/unit/test_bus.c — the message bus (common/bus/bus.c) over real ZeroMQ ipc:// sockets in a private
 * temporary directory: reliable DEALER->ROUTER delivery and the ack back to the sender (a sender refuses
 * while no receiver is connected: ZMQ_IMMEDIATE), messages of the wrong shape from a raw ZeroMQ peer (1 frame, 3 frames, unknown topic, oversized
 * frame) reported as CW_MSG_INVALID or refused, the PUB -> relay -> SUB path with the relay in a thread, the
 * Python reader printed in docs/protocol.md (extracted and run with /usr/bin/python3: it must print what
 * clockwerk-tap prints), and the address checks. */
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

static int setup(void **state)
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

static int teardown(void **state)
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

static struct bus_socket *open_ok(struct bus *bus, enum bus_role role, const char *address)
{
    char err[256] = "";
    struct bus_socket *s = bus_open(bus, role, address, err, sizeof err);
    if (!s) fprintf(stderr, "bus_open(%s): %s\n", address, err);
    assert_non_null(s);
    return s;
}

static void make_batch(struct cw_buf *b, unsigned n, uint64_t first_seq)
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
static void recv_one(struct bus_socket *s, struct bus_msg *m)
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
static void send_connected(struct bus_socket *s, const struct cw_buf *b)
{
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    int rc;
    while ((rc = bus_send(s, CW_MSG_RESULT, b->data, b->len)) == BUS_WOULD_BLOCK) {
        assert_true(cw_mono_us() / 1000 < until);
        usleep(2000);
    }
    assert_int_equal(rc, BUS_SENT);
}

static void test_push_pull_batch(void **state)
{
    struct fixture *f = *state;
    struct bus_socket *pull = open_ok(f->bus, BUS_RECV_RELIABLE, f->a);
    struct bus_socket *push = open_ok(f->bus, BUS_SEND_RELIABLE, f->a);
    struct cw_buf b = { 0 };
    make_batch(&b, 7, 1);
    send_connected(push, &b);

    struct bus_msg m;
    recv_one(pull, &m);
    assert_int_equal(m.type, CW_MSG_RESULT);
    assert_true(m.peer.len > 0);
    /* the receiver answers the sender with an ack; the sender reads it like any message */
    struct bus_peer peer = m.peer;
    struct cw_buf ack = { 0 };
    cw_buf_put(&ack, "\x01\x04\x00\x00", 4);
    assert_int_equal(bus_send_to(pull, &peer, CW_MSG_ACK, ack.data, ack.len), BUS_SENT);
    struct bus_msg am;
    recv_one(push, &am);
    assert_int_equal(am.type, CW_MSG_ACK);
    assert_int_equal(am.len, 4);
    bus_msg_release(&am);
    /* to a peer that is not there: dropped, not blocked; the wrong role: refused */
    struct bus_peer nobody = { .id = { 0, 1, 2, 3, 4 }, .len = 5 };
    assert_int_equal(bus_send_to(pull, &nobody, CW_MSG_ACK, ack.data, ack.len), BUS_SENT);
    assert_int_equal(bus_send_to(push, &peer, CW_MSG_ACK, ack.data, ack.len), BUS_ERROR);
    cw_buf_free(&ack);
    assert_int_equal(m.len, b.len);
    assert_memory_equal(m.data, b.data, b.len);
    struct cw_result out[CW_RESULT_BATCH_MAX];
    const char *why = NULL;
    assert_int_equal(proto_results_decode(m.data, m.len, out, CW_RESULT_BATCH_MAX, &why), 7);
    assert_true(out[6].seq == 7);
    assert_string_equal(out[0].url, "http://127.0.0.1:8089/");
    bus_msg_release(&m);
    bus_msg_release(&m); /* twice is harmless */

    /* nothing more: a zero timeout returns at once */
    assert_int_equal(bus_recv(pull, &m, 0), 0);
    /* an unknown type is not sent */
    assert_int_equal(bus_send(push, CW_MSG_INVALID, b.data, b.len), BUS_ERROR);

    /* the poll-loop interface: the fd fires and bus_readable says so */
    assert_int_equal(bus_send(push, CW_MSG_RESULT, b.data, b.len), BUS_SENT);
    int fd = bus_fd(pull);
    assert_true(fd >= 0);
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    while (!bus_readable(pull)) {
        assert_true(cw_mono_us() / 1000 < until);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        (void)poll(&p, 1, 100);
    }
    assert_int_equal(bus_recv(pull, &m, 0), 1);
    assert_int_equal(m.type, CW_MSG_RESULT);
    bus_msg_release(&m);
    assert_false(bus_readable(pull));
    assert_true(bus_writable(push));
    cw_buf_free(&b);
    bus_close(push);
    bus_close(pull);
}

/* With no receiver, a reliable sender refuses at once (BUS_WOULD_BLOCK, ZMQ_IMMEDIATE): the message stays
 * with the caller's outbox instead of a ZeroMQ queue. Once the receiver binds, sends go through up to the
 * high-water mark, and every message sent arrives. */
static void test_push_refuses_never_drops(void **state)
{
    struct fixture *f = *state;
    struct bus_socket *push = open_ok(f->bus, BUS_SEND_RELIABLE, f->b);
    struct cw_buf b = { 0 };
    make_batch(&b, 1, 1);
    assert_int_equal(bus_send(push, CW_MSG_RESULT, b.data, b.len), BUS_WOULD_BLOCK);
    assert_false(bus_writable(push));

    struct bus_socket *pull = open_ok(f->bus, BUS_RECV_RELIABLE, f->b);
    send_connected(push, &b);
    long sent = 1;
    int rc;
    while ((rc = bus_send(push, CW_MSG_RESULT, b.data, b.len)) == BUS_SENT) {
        sent++;
        assert_true(sent <= 1000000);
    }
    assert_int_equal(rc, BUS_WOULD_BLOCK);
    assert_true(sent >= 64); /* the reliable high-water mark (bus.c, RELIABLE_DATA_HWM), at least */

    long got = 0;
    struct bus_msg m;
    while (got < sent) {
        recv_one(pull, &m);
        assert_int_equal(m.type, CW_MSG_RESULT);
        bus_msg_release(&m);
        got++;
    }
    assert_int_equal(bus_recv(pull, &m, 100), 0);
    assert_int_equal(got, sent);
    /* room again */
    assert_int_equal(bus_send(push, CW_MSG_RESULT, b.data, b.len), BUS_SENT);
    cw_buf_free(&b);
}

/* A raw ZeroMQ peer sends messages of the wrong shape: each is reported as CW_MSG_INVALID (so that the
 * receiver can count it), and valid messages around them still arrive, in order. */
static void test_wrong_shapes(void **state)
{
    struct fixture *f = *state;
    struct bus_socket *pull = open_ok(f->bus, BUS_RECV_RELIABLE, f->a);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    void *raw = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(raw);
    int linger = 1000;
    assert_int_equal(zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(raw, f->a), 0);

    struct cw_buf b = { 0 };
    make_batch(&b, 1, 1);
    /* 1 frame */
    assert_true(zmq_send(raw, "result", 6, 0) == 6);
    /* 3 frames */
    assert_true(zmq_send(raw, "result", 6, ZMQ_SNDMORE) == 6);
    assert_true(zmq_send(raw, b.data, b.len, ZMQ_SNDMORE) == (int)b.len);
    assert_true(zmq_send(raw, "extra", 5, 0) == 5);
    /* unknown topic */
    assert_true(zmq_send(raw, "bogus", 5, ZMQ_SNDMORE) == 5);
    assert_true(zmq_send(raw, b.data, b.len, 0) == (int)b.len);
    /* an oversized topic that starts like a real one */
    assert_true(zmq_send(raw, "resultresultresultresult", 24, ZMQ_SNDMORE) == 24);
    assert_true(zmq_send(raw, b.data, b.len, 0) == (int)b.len);
    /* a valid message, then a bad payload under a good topic (the bus passes it: the decoder rejects it) */
    assert_true(zmq_send(raw, "result", 6, ZMQ_SNDMORE) == 6);
    assert_true(zmq_send(raw, b.data, b.len, 0) == (int)b.len);
    assert_true(zmq_send(raw, "result", 6, ZMQ_SNDMORE) == 6);
    assert_true(zmq_send(raw, "\x01\x01", 2, 0) == 2);

    struct bus_msg m;
    for (int i = 0; i < 4; i++) {
        recv_one(pull, &m);
        assert_int_equal(m.type, CW_MSG_INVALID);
        assert_null(m.data);
        bus_msg_release(&m);
    }
    recv_one(pull, &m);
    assert_int_equal(m.type, CW_MSG_RESULT);
    assert_memory_equal(m.data, b.data, b.len);
    bus_msg_release(&m);
    recv_one(pull, &m);
    assert_int_equal(m.type, CW_MSG_RESULT);
    struct cw_result out[1];
    const char *why = NULL;
    assert_int_equal(proto_results_decode(m.data, m.len, out, 1, &why), -1);
    assert_string_equal(why, "truncated");
    bus_msg_release(&m);

    /* a frame larger than any valid message: ZeroMQ drops the peer before allocating it; the receiver
     * keeps working for everyone else */
    void *big_sender = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(big_sender);
    assert_int_equal(zmq_setsockopt(big_sender, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(big_sender, f->a), 0);
    size_t big_len = CW_PAYLOAD_MAX + 1;
    char *big = calloc(1, big_len);
    assert_non_null(big);
    assert_true(zmq_send(big_sender, "result", 6, ZMQ_SNDMORE) == 6);
    assert_true(zmq_send(big_sender, big, big_len, 0) == (int)big_len);
    free(big);
    struct bus_socket *push = open_ok(f->bus, BUS_SEND_RELIABLE, f->a);
    send_connected(push, &b);
    recv_one(pull, &m);
    assert_int_equal(m.type, CW_MSG_RESULT);
    assert_int_equal(m.len, b.len);
    bus_msg_release(&m);
    assert_int_equal(bus_recv(pull, &m, 300), 0); /* the oversized message never shows up */

    zmq_close(big_sender);
    zmq_close(raw);
    zmq_ctx_term(ctx);
    cw_buf_free(&b);
}

/* ---- best effort, through the relay */

struct relay_thread {
    struct bus *bus;
    const char *in, *out;
    char err[256];
};

static void *relay_main(void *arg)
{
    struct relay_thread *t = arg;
    bus_relay_run(t->bus, t->in, t->out, -1, NULL, NULL, t->err, sizeof t->err);
    return NULL;
}

static void test_pub_relay_sub(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct relay_thread rt = { .in = f->b, .out = f->c };
    rt.bus = bus_new(err, sizeof err);
    assert_non_null(rt.bus);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, relay_main, &rt), 0);

    /* publishing with nobody listening (and perhaps no relay yet) neither blocks nor fails */
    struct bus_socket *pub = open_ok(f->bus, BUS_PUBLISH, f->b);
    struct cw_buf b = { 0 };
    make_batch(&b, 2, 1);
    for (int i = 0; i < 20000; i++) assert_int_equal(bus_send(pub, CW_MSG_RESULT, b.data, b.len), BUS_SENT);

    /* a subscriber attaches late; publish until it hears (subscriptions propagate asynchronously) */
    struct bus_socket *sub = open_ok(f->bus, BUS_SUBSCRIBE, f->c);
    struct bus_msg m;
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    int got = 0;
    while (!got) {
        assert_true(cw_mono_us() / 1000 < until);
        assert_int_equal(bus_send(pub, CW_MSG_RESULT, b.data, b.len), BUS_SENT);
        int rc = bus_recv(sub, &m, 50);
        assert_int_not_equal(rc, -1);
        if (rc == 1) {
            assert_int_equal(m.type, CW_MSG_RESULT);
            assert_int_equal(m.len, b.len);
            assert_memory_equal(m.data, b.data, b.len);
            bus_msg_release(&m);
            got = 1;
        }
    }
    /* the other types travel the same way */
    struct cw_stats st = { .role = "worker", .id = 0, .boot_id = 0xab12, .count = 1 };
    st.items[0] = (struct cw_stat){ "checks", 42 };
    struct cw_buf sb = { 0 };
    assert_int_equal(proto_stats_encode(&sb, &st), 0);
    assert_int_equal(bus_send(pub, CW_MSG_STATS, sb.data, sb.len), BUS_SENT);
    for (;;) {
        recv_one(sub, &m);
        enum cw_msg_type t = m.type;
        if (t == CW_MSG_STATS) {
            struct cw_stats out;
            const char *why = NULL;
            assert_int_equal(proto_stats_decode(m.data, m.len, &out, &why), 0);
            assert_true(out.items[0].value == 42);
        }
        bus_msg_release(&m);
        if (t == CW_MSG_STATS) break;
        assert_int_equal(t, CW_MSG_RESULT); /* results sent above may still be in flight */
    }

    bus_close(sub);
    bus_close(pub);
    /* terminating the relay's context ends its wait (ETERM); the thread returns */
    bus_free(rt.bus);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_non_null(strstr(rt.err, "relay stopped"));
    cw_buf_free(&sb);
    cw_buf_free(&b);
}

/* bus_subscribe_only narrows a subscriber to one type: the others are filtered at the publisher. */
static void test_subscribe_only(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct relay_thread rt = { .in = f->b, .out = f->c };
    rt.bus = bus_new(err, sizeof err);
    assert_non_null(rt.bus);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, relay_main, &rt), 0);
    struct bus_socket *pub = open_ok(f->bus, BUS_PUBLISH, f->b);
    struct bus_socket *sub = open_ok(f->bus, BUS_SUBSCRIBE, f->c);
    assert_int_equal(bus_subscribe_only(sub, CW_MSG_STATS), 0);
    assert_int_equal(bus_subscribe_only(pub, CW_MSG_STATS), -1); /* not a subscriber */
    assert_int_equal(errno, EINVAL);
    assert_int_equal(bus_subscribe_only(sub, CW_MSG_INVALID), -1);

    struct cw_buf rb = { 0 }, sb = { 0 };
    make_batch(&rb, 1, 1);
    struct cw_stats st = { .role = "worker", .count = 0 };
    assert_int_equal(proto_stats_encode(&sb, &st), 0);
    struct bus_msg m;
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    int stats_seen = 0;
    while (stats_seen < 3) {
        assert_true(cw_mono_us() / 1000 < until);
        assert_int_equal(bus_send(pub, CW_MSG_RESULT, rb.data, rb.len), BUS_SENT);
        assert_int_equal(bus_send(pub, CW_MSG_STATS, sb.data, sb.len), BUS_SENT);
        int rc = bus_recv(sub, &m, 50);
        assert_int_not_equal(rc, -1);
        if (rc == 1) {
            assert_int_equal(m.type, CW_MSG_STATS); /* never a result */
            stats_seen++;
            bus_msg_release(&m);
        }
    }
    bus_close(sub);
    bus_close(pub);
    bus_free(rt.bus);
    assert_int_equal(pthread_join(th, NULL), 0);
    cw_buf_free(&rb);
    cw_buf_free(&sb);
}

/* The relay watches a descriptor (the relay's signalfd) while it forwards: when it is readable and the stop
 * test says so, bus_relay_run returns 0; a readable descriptor the test declines leaves the relay running. */
struct stop_pipe {
    int fds[2];
    int asked;
};

static bool stop_on_second(void *arg)
{
    struct stop_pipe *sp = arg;
    char c;
    while (read(sp->fds[0], &c, 1) == 1) sp->asked++;
    return sp->asked >= 2;
}

struct stopping_relay {
    struct relay_thread t;
    struct stop_pipe sp;
    int rc;
};

static void *stopping_relay_main(void *arg)
{
    struct stopping_relay *r = arg;
    r->rc = bus_relay_run(r->t.bus, r->t.in, r->t.out, r->sp.fds[0], stop_on_second, &r->sp, r->t.err, sizeof r->t.err);
    return NULL;
}

static void test_relay_stops_on_fd(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct stopping_relay r = { .t = { .in = f->b, .out = f->c }, .rc = -2 };
    assert_int_equal(pipe2(r.sp.fds, O_NONBLOCK), 0);
    r.t.bus = bus_new(err, sizeof err);
    assert_non_null(r.t.bus);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopping_relay_main, &r), 0);
    assert_int_equal(write(r.sp.fds[1], "h", 1), 1); /* declined: keeps relaying */
    struct bus_socket *pub = open_ok(f->bus, BUS_PUBLISH, f->b);
    struct bus_socket *sub = open_ok(f->bus, BUS_SUBSCRIBE, f->c);
    struct cw_buf b = { 0 };
    make_batch(&b, 1, 1);
    struct bus_msg m;
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    int rc = 0;
    while (rc != 1) {
        assert_true(cw_mono_us() / 1000 < until);
        assert_int_equal(bus_send(pub, CW_MSG_RESULT, b.data, b.len), BUS_SENT);
        rc = bus_recv(sub, &m, 50);
        assert_int_not_equal(rc, -1);
    }
    bus_msg_release(&m);
    assert_int_equal(write(r.sp.fds[1], "t", 1), 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.sp.asked, 2);
    bus_close(sub);
    bus_close(pub);
    bus_free(r.t.bus);
    close(r.sp.fds[0]);
    close(r.sp.fds[1]);
    cw_buf_free(&b);
}

static void test_relay_bad_address(void **state)
{
    (void)state;
    char err[256] = "";
    struct bus *bus = bus_new(err, sizeof err);
    assert_non_null(bus);
    assert_int_equal(bus_relay_run(bus, "ipc://relative.sock", "ipc:///tmp/x.sock", -1, NULL, NULL, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "absolute"));
    bus_free(bus);
}

/* ---- the Python reader of docs/protocol.md, run for real against this encoder and relay */

/* Extracts the first ```python block of docs/protocol.md into path. Returns 0, or -1. */
static int extract_doc_snippet(const char *path)
{
    FILE *in = fopen("../../docs/protocol.md", "r");
    if (!in) return -1;
    static char doc[256 * 1024];
    size_t n = fread(doc, 1, sizeof doc - 1, in);
    fclose(in);
    doc[n] = '\0';
    char *start = strstr(doc, "```python\n");
    if (!start) return -1;
    start += strlen("```python\n");
    char *end = strstr(start, "```");
    if (!end) return -1;
    FILE *out = fopen(path, "w");
    if (!out) return -1;
    int rc = fwrite(start, 1, (size_t)(end - start), out) == (size_t)(end - start) ? 0 : -1;
    if (fclose(out) != 0) rc = -1;
    return rc;
}

static void test_doc_python_reader(void **state)
{
    struct fixture *f = *state;
    if (system("/usr/bin/python3 -c 'import zmq' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "python3-zmq is missing: skipped\n");
        skip();
    }
    char script[160];
    snprintf(script, sizeof script, "%s/reader.py", f->dir);
    assert_int_equal(extract_doc_snippet(script), 0);

    char err[256];
    struct relay_thread rt = { .in = f->b, .out = f->c };
    rt.bus = bus_new(err, sizeof err);
    assert_non_null(rt.bus);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, relay_main, &rt), 0);
    struct bus_socket *pub = open_ok(f->bus, BUS_PUBLISH, f->b);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", script, f->c, "4", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);

    /* Every batch: one ok result and one failure with credentials in the URL; a malformed payload in
     * between must be dropped by the reader, not crash it. */
    struct cw_result rs[2] = {
        { .worker = 1,
          .boot_id = 0xfeed,
          .checked_at_us = 1795579506123456LL,
          .latency_us = 12345,
          .dns_us = 15,
          .connect_us = 120,
          .tls_us = -1,
          .ttfb_us = 12000,
          .status_code = 200,
          .ok = true,
          .url = "http://127.0.0.1:8089/" },
        { .worker = 1,
          .boot_id = 0xfeed,
          .checked_at_us = 1795579507000999LL,
          .latency_us = 1234,
          .dns_us = 10,
          .connect_us = -1,
          .tls_us = -1,
          .ttfb_us = -1,
          .status_code = 0,
          .ok = false,
          .url = "http://user:secret@127.0.0.1:1/x",
          .error = "Couldn't connect to server" },
    };
    struct cw_buf b = { 0 };
    uint64_t seq = 1;
    int status = -1;
    bool exited = false;
    int64_t until = cw_mono_us() / 1000 + 20000;
    while (cw_mono_us() / 1000 < until) {
        proto_results_begin(&b);
        for (int i = 0; i < 2; i++) {
            rs[i].seq = seq++;
            assert_int_equal(proto_results_add(&b, &rs[i]), 0);
        }
        (void)bus_send(pub, CW_MSG_RESULT, "\x01\x01\x01\x00garbage", 11);
        (void)bus_send(pub, CW_MSG_RESULT, b.data, b.len);
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            break;
        }
        (void)poll(NULL, 0, 50);
    }
    if (!exited) { /* stop it on every path before asserting */
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    char out[4096];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(fds[0], out + got, sizeof out - 1 - got)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fds[0]);
    bus_close(pub);
    bus_free(rt.bus);
    assert_int_equal(pthread_join(th, NULL), 0);

    assert_true(exited);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The reader prints what clockwerk-tap prints, line for line. */
    struct cw_buf expect = { 0 };
    char *line = out;
    for (int i = 0; i < 4; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true(tap_format_result(&expect, &rs[i % 2], false) > 0);
        assert_int_equal((size_t)(nl + 1 - line), expect.len);
        assert_memory_equal(line, expect.data, expect.len);
        line = nl + 1;
    }
    assert_string_equal(line, "");
    cw_buf_free(&expect);
    cw_buf_free(&b);
}

/* ---- addresses */

static void test_address_problem(void **state)
{
    struct fixture *f = *state;
    assert_null(bus_address_problem("ipc:///tmp/x.sock"));
    assert_null(bus_address_problem("tcp://127.0.0.1:5555"));
    assert_null(bus_address_problem("tcp://*:1"));
    assert_null(bus_address_problem("tcp://[::1]:65535"));
    assert_null(bus_address_problem("tcp://localhost:7000"));
    assert_non_null(bus_address_problem(NULL));
    assert_non_null(bus_address_problem(""));
    assert_non_null(bus_address_problem("ipc://"));
    assert_non_null(bus_address_problem("ipc://run/x.sock"));
    assert_non_null(bus_address_problem("udp://127.0.0.1:5"));
    assert_non_null(bus_address_problem("inproc://x"));
    assert_non_null(bus_address_problem("/tmp/x.sock"));
    assert_non_null(bus_address_problem("tcp://127.0.0.1"));
    assert_non_null(bus_address_problem("tcp://:5555"));
    assert_non_null(bus_address_problem("tcp://127.0.0.1:0"));
    assert_non_null(bus_address_problem("tcp://127.0.0.1:65536"));
    assert_non_null(bus_address_problem("tcp://127.0.0.1:55x"));
    assert_non_null(bus_address_problem("tcp://127.0.0.1:"));
    assert_non_null(bus_address_problem("tcp://127.0.0.1:-1"));
    char longpath[200];
    snprintf(longpath, sizeof longpath, "ipc:///%0150d", 0);
    assert_non_null(strstr(bus_address_problem(longpath), "too long"));
    /* 107 bytes of path fit, 108 do not */
    char edge[140];
    snprintf(edge, sizeof edge, "ipc:///%0106d", 0);
    assert_null(bus_address_problem(edge));
    snprintf(edge, sizeof edge, "ipc:///%0107d", 0);
    assert_non_null(bus_address_problem(edge));

    /* bus_open refuses them with the address in the message */
    char err[256] = "";
    assert_null(bus_open(f->bus, BUS_RECV_RELIABLE, "ipc://run/x.sock", err, sizeof err));
    assert_non_null(strstr(err, "ipc://run/x.sock"));
    err[0] = '\0';
    assert_null(bus_open(f->bus, BUS_SUBSCRIBE, NULL, err, sizeof err));
    assert_true(err[0] != '\0');
    /* binding a directory that does not exist fails with a reason naming it */
    char missing[200];
    snprintf(missing, sizeof missing, "ipc://%s/no/such/dir.sock", f->dir);
    err[0] = '\0';
    assert_null(bus_open(f->bus, BUS_RECV_RELIABLE, missing, err, sizeof err));
    assert_non_null(strstr(err, missing));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_pull_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_refuses_never_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pub_relay_sub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_stops_on_fd, setup, teardown),
        cmocka_unit_test(test_relay_bad_address),
        cmocka_unit_test_setup_teardown(test_doc_python_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_address_problem, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
