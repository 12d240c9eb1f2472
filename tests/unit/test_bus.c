/* tests/unit/test_bus.c — the message bus (common/bus/bus.c) over real ZeroMQ ipc:// sockets in a private
 * temporary directory: reliable DEALER->ROUTER delivery and the ack back to the sender (a sender refuses
 * while no receiver is connected: ZMQ_IMMEDIATE), messages of the wrong shape from a raw ZeroMQ peer (1 frame, 3
 * frames, unknown topic, oversized frame) reported as CW_MSG_INVALID or refused, the PUB -> relay -> SUB path with
 * the relay in a thread, and the address checks. The Python reader of docs/protocol.md is tested in
 * test_bus_docreader.c. */
#include "bus_test_util.h"

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

static void test_pub_relay_sub(void **state)
{
    struct fixture *f = *state;
    struct relay_thread rt;
    pthread_t th;
    relay_start(&rt, &th, f->b, f->c);

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
    relay_stop(&rt, th);
    assert_non_null(strstr(rt.err, "relay stopped"));
    cw_buf_free(&sb);
    cw_buf_free(&b);
}

/* bus_subscribe_only narrows a subscriber to one type: the others are filtered at the publisher. */
static void test_subscribe_only(void **state)
{
    struct fixture *f = *state;
    struct relay_thread rt;
    pthread_t th;
    relay_start(&rt, &th, f->b, f->c);
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
    relay_stop(&rt, th);
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
    r->rc = bus_relay_run(r->t.bus, r->t.in, r->t.out, r->sp.fds[0], stop_on_second, NULL, NULL, &r->sp, r->t.err,
                          sizeof r->t.err);
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
    assert_int_equal(
        bus_relay_run(bus, "ipc://relative.sock", "ipc:///tmp/x.sock", -1, NULL, NULL, NULL, NULL, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "absolute"));
    bus_free(bus);
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
        cmocka_unit_test_setup_teardown(test_address_problem, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}