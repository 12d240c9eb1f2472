/* tests/unit/test_bus_rejoin.c — a connecting CURVE socket whose key a server refused connects again by itself once
 * a server admits it (common/bus/bus_rejoin.c): libzmq 4.3 alone ends such a session for good. */
#include "tests/unit/bus_test_util.h"

/* "tcp://127.0.0.1:PORT" with a port free right now (ZeroMQ's choice for a wildcard bind). */
static void free_tcp_address(char *out, size_t len)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
    size_t n = len;
    assert_int_equal(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, out, &n), 0);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

/* A bus whose CURVE servers admit `admitted` (NULL: nobody but itself), with the key pair `own`. */
static struct bus *curve_bus(const struct bus_curve_keys *own, const char *admitted)
{
    char err[256];
    struct bus *bus = bus_new(err, sizeof err);
    assert_non_null(bus);
    struct bus_curve_keys k = *own;
    unsigned char allowed[1][32];
    if (admitted) assert_non_null(zmq_z85_decode(allowed[0], admitted));
    k.allowed = admitted ? allowed : NULL;
    k.n_allowed = admitted ? 1 : 0;
    assert_int_equal(bus_set_curve(bus, &k, err, sizeof err), 0);
    return bus;
}

static void test_refused_client_connects_again_when_admitted(void **state)
{
    (void)state;
    struct bus_curve_keys server = { 0 }, client = { 0 };
    assert_int_equal(zmq_curve_keypair(server.public_z85, server.secret_z85), 0);
    assert_int_equal(zmq_curve_keypair(client.public_z85, client.secret_z85), 0);
    memcpy(client.server_z85, server.public_z85, sizeof client.server_z85);
    char addr[64];
    free_tcp_address(addr, sizeof addr);

    /* a server that does not admit the client: its handshake is refused (ZAP 400), nothing gets through */
    struct bus *refusing = curve_bus(&server, NULL);
    struct bus_socket *in = open_ok(refusing, BUS_RECV_RELIABLE, addr);
    struct bus *cb = curve_bus(&client, NULL);
    struct bus_socket *out = open_ok(cb, BUS_SEND_RELIABLE, addr);
    struct cw_buf b = { 0 };
    make_batch(&b, 2, 1);
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    while (bus_refused_clients(refusing) == 0) {
        assert_true(cw_mono_us() / 1000 < until);
        assert_int_equal(bus_send(out, CW_MSG_RESULT, b.data, b.len), BUS_WOULD_BLOCK);
        usleep(10000);
    }
    bus_close(in);
    bus_free(refusing);

    /* the same address, a server that admits it: the same client socket gets there by itself (within the retry) */
    struct bus *admitting = curve_bus(&server, client.public_z85);
    in = open_ok(admitting, BUS_RECV_RELIABLE, addr);
    send_connected(out, &b);
    struct bus_msg m;
    recv_one(in, &m);
    assert_int_equal(m.type, CW_MSG_RESULT);
    assert_string_equal(m.peer_key, client.public_z85);
    bus_msg_release(&m);
    cw_buf_free(&b);
    bus_free(cb);
    bus_free(admitting);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_client_connects_again_when_admitted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
