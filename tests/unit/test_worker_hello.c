/* tests/unit/test_worker_hello.c — the worker's HELLO (worker/hello.c): one per period on the alerter's socket,
 * dropped (not queued) while no alerter is connected, its echo turned into the clock offset (t1 + rtt/2 - t2) from
 * the monotonic round trip, echoes of HELLOs it did not send ignored, and the reported sample the smallest round
 * trip of the last 8. */
#include "tests/unit/bus_test_util.h"
#include "worker/hello.h"

#define SECOND_NS 1000000000LL

/* Receives one HELLO on the alerter's side and decodes it. */
static void recv_hello(struct bus_socket *alerter, struct cw_hello *out, struct bus_msg *m)
{
    recv_one(alerter, m);
    assert_int_equal(m->type, CW_MSG_HELLO);
    const char *why = NULL;
    assert_int_equal(proto_hello_decode(m->data, m->len, out, &why), 0);
}

/* The worker's HELLOs reach a ROUTER; its echo, received on the worker's socket, gives the offset. */
static void test_hello_and_echo_over_the_bus(void **state)
{
    struct fixture *f = *state;
    struct bus_socket *alerter = open_ok(f->bus, BUS_RECV_RELIABLE, f->a);
    struct bus_socket *worker = open_ok(f->bus, BUS_SEND_RELIABLE, f->a);
    struct worker_hello h;
    hello_open(&h, worker, "fra", 3, 0xabcdef, 12);

    /* until the connection is up a HELLO is dropped, never queued */
    int64_t until = cw_mono_ns() + 10 * SECOND_NS;
    while (h.sent == 0) {
        hello_tick(&h, cw_mono_ns());
        assert_true(h.next_ns > cw_mono_ns() + HELLO_PERIOD_NS / 2); /* the next one a period later */
        assert_true(cw_mono_ns() < until);
        if (h.sent == 0) h.next_ns = 0; /* due again at once, for the test */
        usleep(2000);
    }
    struct bus_msg m;
    struct cw_hello got;
    recv_hello(alerter, &got, &m);
    assert_string_equal(got.location, "fra");
    assert_int_equal(got.worker, 3);
    assert_true(got.boot_id == 0xabcdef);
    assert_int_equal(got.endpoints, 12);
    assert_true(got.offset_us == CW_OFFSET_UNKNOWN && got.rtt_us == -1); /* nothing measured yet */

    /* the alerter answers; its clock 5 s behind the worker's */
    struct cw_hello_echo e = { .sent_at_us = got.sent_at_us, .received_at_us = got.sent_at_us - 5000000 };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_hello_echo_encode(&b, &e), 0);
    assert_int_equal(bus_send_to(alerter, &m.peer, CW_MSG_HELLO_ECHO, b.data, b.len), BUS_SENT);
    bus_msg_release(&m);
    struct bus_msg echo;
    recv_one(worker, &echo);
    assert_true(hello_on_message(&h, &echo));
    bus_msg_release(&echo);
    assert_int_equal(h.echoes, 1);
    struct hello_sample s;
    assert_true(hello_best(&h, &s));
    assert_true(s.rtt_us >= 0 && s.rtt_us < 10000000);
    assert_true(s.offset_us >= 5000000 && s.offset_us <= 5000000 + s.rtt_us / 2 + 1);

    /* the next HELLO reports it, and the next one is not due before a period */
    uint64_t sent = h.sent;
    hello_tick(&h, hello_next_ns(&h) - 1);
    assert_true(h.sent == sent);
    hello_tick(&h, hello_next_ns(&h));
    assert_true(h.sent == sent + 1);
    recv_hello(alerter, &got, &m);
    assert_true(got.offset_us == s.offset_us && got.rtt_us == s.rtt_us);
    bus_msg_release(&m);

    /* another type on that socket is not the hello's */
    struct bus_msg other = { .type = CW_MSG_ACK };
    assert_false(hello_on_message(&h, &other));
    /* a malformed echo is taken (not a malformed ack) and ignored */
    struct bus_msg bad = { .type = CW_MSG_HELLO_ECHO, .data = "\x01\x07\x01\x00", .len = 4 };
    uint64_t ignored = h.echoes_ignored;
    assert_true(hello_on_message(&h, &bad));
    assert_true(h.echoes_ignored == ignored + 1);
    cw_buf_free(&b);
    hello_close(&h);
}

/* The smallest round trip of the last 8 is reported; echoes of unknown HELLOs, twice the same echo and a
 * negative round trip are ignored. */
static void test_best_of_last_eight(void **state)
{
    (void)state;
    struct worker_hello h;
    hello_open(&h, NULL, "nyc", 0, 1, 0);
    assert_true(hello_next_ns(&h) == INT64_MAX); /* no alerter: never due */
    struct hello_sample s;
    assert_false(hello_best(&h, &s));
    int64_t base = 1795579506000000LL;
    /* rtts: 900, 100 (offset 7), then eight more of 500.. : the 100 ages out after 8 newer samples */
    int64_t rtts[] = { 900, 100, 500, 600, 700, 800, 550, 650, 750, 850 };
    for (int i = 0; i < 10; i++) {
        int64_t t1 = base + i * 1000000;
        h.ring[h.ring_next].sent_wall_us = t1;
        h.ring[h.ring_next].sent_mono_us = 1000 + i * 1000000;
        h.ring_next = (h.ring_next + 1) % HELLO_RING;
        int64_t offset = i == 1 ? 7 : 1000 + i;
        int64_t t2 = t1 + rtts[i] / 2 - offset;
        assert_true(hello_take_echo(&h, t1, t2, 1000 + i * 1000000 + rtts[i]));
        assert_true(hello_best(&h, &s));
        if (i >= 1 && i <= 8) {
            assert_true(s.rtt_us == 100);
            assert_true(s.offset_us == 7);
        }
        assert_false(hello_take_echo(&h, t1, t2, 1000 + i * 1000000 + rtts[i])); /* the same echo again */
    }
    assert_true(hello_best(&h, &s));
    assert_true(s.rtt_us == 500); /* the 100 and the 900 are older than the last 8 */
    assert_true(h.echoes == 10);

    assert_false(hello_take_echo(&h, base - 5, base, 0)); /* never sent */
    h.ring[0].sent_wall_us = base + 99;
    h.ring[0].sent_mono_us = 5000;
    assert_false(hello_take_echo(&h, base + 99, base, 4000)); /* a round trip below 0 */
    assert_true(h.echoes_ignored == 10 + 2);
    hello_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_and_echo_over_the_bus, setup, teardown),
        cmocka_unit_test(test_best_of_last_eight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
