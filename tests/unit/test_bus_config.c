/* tests/unit/test_bus_config.c — the bus of issue 16 (common/bus/bus.c, bus_auth.c): the configuration roles
 * BUS_SERVE_CONFIG (ROUTER, bind) and BUS_FETCH_CONFIG (DEALER, connect; a request sent before the server is there
 * waits; answers larger than CW_PAYLOAD_MAX up to CW_CONFIG_MSG_MAX), and bus_msg.peer_key: the client's CURVE
 * public key when it came over CURVE tcp:// (named by the ZAP handler as the connection's User-Id), "" over ipc://. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/unit/bus_test_util.h"

/* A TCP port on 127.0.0.1 free right now (the kernel's choice). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void config_get_msg(struct cw_buf *b, const char *location)
{
    struct cw_config_get g = { .location = location, .have_hash = 42, .sent_at_us = cw_wall_us() };
    assert_int_equal(proto_config_get_encode(b, &g), 0);
}

/* Receives one message of `type` within the deadline. */
static void recv_type(struct bus_socket *s, struct bus_msg *m, enum cw_msg_type type)
{
    recv_one(s, m);
    assert_int_equal(m->type, type);
}

/* Over ipc://: a request sent before the server binds waits in ZeroMQ and arrives; peer_key is ""; the answer,
 * larger than CW_PAYLOAD_MAX, reaches the fetching socket. */
static void test_fetch_before_serve_ipc(void **state)
{
    struct fixture *f = *state;
    struct bus_socket *fetch = open_ok(f->bus, BUS_FETCH_CONFIG, f->a);
    struct cw_buf b = { 0 };
    config_get_msg(&b, "fra");
    assert_int_equal(bus_send(fetch, CW_MSG_CONFIG_GET, b.data, b.len), BUS_SENT); /* nobody there yet */

    struct bus_socket *serve = open_ok(f->bus, BUS_SERVE_CONFIG, f->a);
    struct bus_msg m;
    recv_type(serve, &m, CW_MSG_CONFIG_GET);
    assert_string_equal(m.peer_key, "");
    assert_true(m.peer.len > 0);
    struct cw_config_get g;
    const char *why = NULL;
    assert_int_equal(proto_config_get_decode(m.data, m.len, &g, &why), 0);
    assert_string_equal(g.location, "fra");
    struct bus_peer peer = m.peer;
    bus_msg_release(&m);

    size_t big = CW_PAYLOAD_MAX + 1024 * 1024; /* a configuration larger than any other message */
    unsigned char *snap = malloc(big);
    assert_non_null(snap);
    for (size_t i = 0; i < big; i++) snap[i] = (unsigned char)(i * 7);
    struct cw_config_reply r = { .status = CW_CONFIG_NEW,
                                 .hash = 99,
                                 .echo_sent_at_us = g.sent_at_us,
                                 .central_at_us = cw_wall_us(),
                                 .store_address = "ipc:///s",
                                 .alert_address = "ipc:///a",
                                 .publish_address = "ipc:///p",
                                 .snapshot = snap,
                                 .snapshot_len = big };
    struct cw_buf reply = { 0 };
    assert_int_equal(proto_config_reply_encode(&reply, &r), 0);
    assert_int_equal(bus_send_to(serve, &peer, CW_MSG_CONFIG, reply.data, reply.len), BUS_SENT);
    recv_type(fetch, &m, CW_MSG_CONFIG);
    struct cw_config_reply out;
    assert_int_equal(proto_config_reply_decode(m.data, m.len, &out, &why), 0);
    assert_int_equal(out.snapshot_len, big);
    assert_memory_equal(out.snapshot, snap, big);
    bus_msg_release(&m);
    free(snap);
    cw_buf_free(&reply);
    cw_buf_free(&b);
}

/* bus_send_to is for the routing roles only. */
static void test_send_to_roles(void **state)
{
    struct fixture *f = *state;
    struct bus_socket *fetch = open_ok(f->bus, BUS_FETCH_CONFIG, f->a);
    struct bus_peer peer = { .id = { 1 }, .len = 1 };
    errno = 0;
    assert_int_equal(bus_send_to(fetch, &peer, CW_MSG_CONFIG, "x", 1), BUS_ERROR);
    assert_int_equal(errno, EINVAL);
    struct bus_socket *serve = open_ok(f->bus, BUS_SERVE_CONFIG, f->b);
    assert_int_equal(bus_send_to(serve, &peer, CW_MSG_CONFIG, "x", 1), BUS_SENT); /* unknown peer: dropped */
}

/* A CURVE pair of buses: the server admits the client's key. */
struct curve_pair {
    struct bus *server, *client;
    char client_public[41], server_public[41];
};

static void curve_pair_open(struct curve_pair *p)
{
    struct bus_curve_keys server = { 0 }, client = { 0 };
    assert_int_equal(zmq_curve_keypair(server.public_z85, server.secret_z85), 0);
    assert_int_equal(zmq_curve_keypair(client.public_z85, client.secret_z85), 0);
    memcpy(client.server_z85, server.public_z85, sizeof client.server_z85);
    memcpy(p->client_public, client.public_z85, sizeof p->client_public);
    memcpy(p->server_public, server.public_z85, sizeof p->server_public);
    unsigned char allowed[1][32];
    assert_non_null(zmq_z85_decode(allowed[0], client.public_z85));
    server.allowed = allowed;
    server.n_allowed = 1;
    char err[256];
    p->server = bus_new(err, sizeof err);
    p->client = bus_new(err, sizeof err);
    assert_non_null(p->server);
    assert_non_null(p->client);
    assert_int_equal(bus_set_curve(p->server, &server, err, sizeof err), 0);
    assert_int_equal(bus_set_curve(p->client, &client, err, sizeof err), 0);
}

/* Over CURVE tcp:// each message names the client's public key, on both server roles. */
static void test_peer_key_over_curve(void **state)
{
    (void)state;
    struct curve_pair p;
    curve_pair_open(&p);
    char config_addr[64], store_addr[64];
    snprintf(config_addr, sizeof config_addr, "tcp://127.0.0.1:%d", free_port());
    snprintf(store_addr, sizeof store_addr, "tcp://127.0.0.1:%d", free_port());
    struct bus_socket *serve = open_ok(p.server, BUS_SERVE_CONFIG, config_addr);
    struct bus_socket *recv = open_ok(p.server, BUS_RECV_RELIABLE, store_addr);
    struct bus_socket *fetch = open_ok(p.client, BUS_FETCH_CONFIG, config_addr);
    struct bus_socket *send = open_ok(p.client, BUS_SEND_RELIABLE, store_addr);

    struct cw_buf b = { 0 };
    config_get_msg(&b, "nyc");
    assert_int_equal(bus_send(fetch, CW_MSG_CONFIG_GET, b.data, b.len), BUS_SENT);
    struct bus_msg m;
    recv_type(serve, &m, CW_MSG_CONFIG_GET);
    assert_string_equal(m.peer_key, p.client_public);
    bus_msg_release(&m);

    make_batch(&b, 2, 1);
    send_connected(send, &b);
    recv_type(recv, &m, CW_MSG_RESULT);
    assert_string_equal(m.peer_key, p.client_public);
    bus_msg_release(&m);
    cw_buf_free(&b);
    bus_free(p.client);
    bus_free(p.server);
}

/* A client whose key is not admitted gets nothing in: the server counts it and receives nothing. */
static void test_unknown_key_refused(void **state)
{
    (void)state;
    struct curve_pair p;
    curve_pair_open(&p);
    struct bus_curve_keys stranger = { 0 };
    assert_int_equal(zmq_curve_keypair(stranger.public_z85, stranger.secret_z85), 0);
    memcpy(stranger.server_z85, p.server_public, sizeof stranger.server_z85); /* a server's key is public */
    char err[256], addr[64];
    struct bus *other = bus_new(err, sizeof err);
    assert_non_null(other);
    assert_int_equal(bus_set_curve(other, &stranger, err, sizeof err), 0);
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", free_port());
    struct bus_socket *serve = open_ok(p.server, BUS_SERVE_CONFIG, addr);
    struct bus_socket *fetch = open_ok(other, BUS_FETCH_CONFIG, addr);
    struct cw_buf b = { 0 };
    config_get_msg(&b, "fra");
    assert_int_equal(bus_send(fetch, CW_MSG_CONFIG_GET, b.data, b.len), BUS_SENT);
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    while (bus_refused_clients(p.server) == 0) {
        assert_true(cw_mono_us() / 1000 < until);
        usleep(10000);
    }
    struct bus_msg m;
    assert_int_equal(bus_recv(serve, &m, 300), 0);
    bus_free(other);
    cw_buf_free(&b);
    bus_free(p.client);
    bus_free(p.server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_before_serve_ipc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_to_roles, setup, teardown),
        cmocka_unit_test(test_peer_key_over_curve),
        cmocka_unit_test(test_unknown_key_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
