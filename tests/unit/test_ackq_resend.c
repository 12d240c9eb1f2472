/* tests/unit/test_ackq_resend.c — how the acknowledged outbox (common/bus/ackq.c) sends again, and what it does
 * with a refusal: the ack message's version 2 (a kind per range: durable or refused) and its decoder, a refused
 * batch set aside in `<spool>.refused` without blocking what follows, resends that back off while the receiver
 * is silent, and no resend at all of what a receiver that is alive has not read yet. */
#include "ackq_test_util.h"

#define MS 1000000LL

static void test_ack_codec_v2(void **state)
{
    (void)state;
    const char payload[] = "\x09\x01\x01\x00 not a result of any version we know";
    struct ackq_range in[2] = { { 3, 0xabc, 5, 9, ACKQ_DURABLE }, ackq_refusal(payload, sizeof payload) };
    assert_int_equal(in[1].kind, ACKQ_REFUSED);
    assert_true(in[1].first == sizeof payload && in[1].last == sizeof payload && in[1].worker == 0);
    assert_true(in[1].boot_id == ackq_payload_digest(payload, sizeof payload));
    struct cw_buf b = { 0 };
    assert_int_equal(ackq_ack_encode(&b, in, 2), 0);
    uint8_t *p = b.data;
    assert_int_equal(p[0], 2); /* a refusal needs version 2 */
    assert_int_equal(b.len, 4 + 2 * 29);
    assert_int_equal(p[4], ACKQ_DURABLE);
    assert_int_equal(p[4 + 29], ACKQ_REFUSED);
    struct ackq_range out[2];
    const char *why = NULL;
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 2, &why), 2);
    for (int i = 0; i < 2; i++)
        assert_true(out[i].kind == in[i].kind && out[i].worker == in[i].worker && out[i].boot_id == in[i].boot_id &&
                    out[i].first == in[i].first && out[i].last == in[i].last);
    assert_int_equal(ackq_ack_decode(b.data, b.len - 1, out, 2, &why), -1);
    assert_string_equal(why, "truncated");
    p[4 + 29] = 7;
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 2, &why), -1);
    assert_string_equal(why, "unknown kind");
    p[4 + 29] = ACKQ_REFUSED;
    p[4 + 29 + 1] = 1; /* worker 1 in a refusal */
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 2, &why), -1);
    assert_string_equal(why, "bad refusal");
    /* every range durable: version 1, as before, and a version-1 ack read as durable ranges */
    assert_int_equal(ackq_ack_encode(&b, in, 1), 0);
    assert_int_equal(((uint8_t *)b.data)[0], 1);
    assert_int_equal(b.len, 4 + 28);
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 2, &why), 1);
    assert_int_equal(out[0].kind, ACKQ_DURABLE);
    /* a version-2 header over 28-byte ranges does not fit */
    ((uint8_t *)b.data)[0] = 2;
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 2, &why), -1);
    /* the encoder refuses a refusal that names no length, or two lengths */
    struct ackq_range bad = in[1];
    bad.last++;
    assert_int_equal(ackq_ack_encode(&b, &bad, 1), -1);
    bad = in[1];
    bad.first = bad.last = 0;
    assert_int_equal(ackq_ack_encode(&b, &bad, 1), -1);
    bad = in[0];
    bad.kind = 9;
    assert_int_equal(ackq_ack_encode(&b, &bad, 1), -1);
    cw_buf_free(&b);
}

/* Binds the receiver and sets q up on the fixture's sender: window 64, first resend timeout resend_ms. */
static void start_queue(struct fixture *f, struct ackq *q, int64_t resend_ms, const char *spool)
{
    bind_receiver(f);
    char err[256];
    assert_int_equal(ackq_init(q, f->snd, "test", 1 << 20, 64, resend_ms * MS, spool, err, sizeof err), 0);
}

static void send_refusal(struct fixture *f, const struct bus_peer *peer, const struct cw_buf *payload)
{
    struct ackq_range r = ackq_refusal(payload->data, payload->len);
    struct cw_buf b = { 0 };
    assert_int_equal(ackq_ack_encode(&b, &r, 1), 0);
    assert_int_equal(bus_send_to(f->rcv, peer, CW_MSG_ACK, b.data, b.len), BUS_SENT);
    cw_buf_free(&b);
}

/* A batch the receiver refuses is set aside in <spool>.refused (0600, the spool format) and counted; the
 * batches after it are acknowledged and leave the ring, the spool file goes. */
static void test_refusal_sets_aside(void **state)
{
    struct fixture *f = *state;
    struct ackq q;
    start_queue(f, &q, 60000, f->spool);
    for (unsigned k = 1; k <= 3; k++) push_batch(&q, k, 10, BOOT);
    struct bus_peer peer;
    uint64_t last;
    for (unsigned k = 1; k <= 3; k++) assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), (k - 1) * 10 + 1);
    struct cw_buf second = { 0 };
    cw_buf_put(&second, q.ring[(q.head + 1) % q.cap].buf.data, q.ring[(q.head + 1) % q.cap].buf.len);
    send_ack(f, &peer, BOOT, 1, 10);
    send_refusal(f, &peer, &second);
    send_ack(f, &peer, BOOT, 21, 30);
    wait_count(&q, 0);
    assert_int_equal(q.acked, 20);
    assert_int_equal(q.refused, 10);
    assert_int_equal(q.refused_batches, 1);
    assert_int_equal(q.dropped, 0);
    char path[160];
    snprintf(path, sizeof path, "%s.refused", f->spool);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 4 + 32 + second.len);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    uint8_t rec[4 + 32];
    assert_int_equal(fread(rec, 1, sizeof rec, in), sizeof rec);
    fclose(in);
    assert_int_equal(le_get_u32(rec), second.len);
    assert_true(le_get_u64(rec + 4 + 4) == BOOT && le_get_u64(rec + 4 + 12) == 11 && le_get_u64(rec + 4 + 20) == 20);
    /* the same refusal again names nothing the queue holds: nothing changes */
    send_refusal(f, &peer, &second);
    wait_counter(&q, &q.acks_received, q.acks_received + 1);
    assert_int_equal(q.refused_batches, 1);
    assert_true(ackq_idle(&q));
    cw_buf_free(&second);
    ackq_free(&q);
}

/* Services q for ms milliseconds; with ack_every_ms > 0, acks seqs 1..per (already acknowledged: a sign of
 * life) that often. */
static void service_for(struct fixture *f, struct ackq *q, int ms, const struct bus_peer *peer, int ack_every_ms)
{
    int64_t start = cw_mono_us() / 1000, next_ack = start;
    while (cw_mono_us() / 1000 < start + ms) {
        if (ack_every_ms > 0 && cw_mono_us() / 1000 >= next_ack) {
            send_ack(f, peer, BOOT, 1, 10);
            next_ack += ack_every_ms;
        }
        usleep(2000);
        ackq_service(q, cw_mono_ns());
    }
}

/* A receiver that reads nothing and acks nothing (stopped): each batch is sent again after 100 ms, then after
 * 200, 400, 800 ms ... — not every 100 ms. */
static void test_resend_backs_off_while_silent(void **state)
{
    struct fixture *f = *state;
    struct ackq q;
    start_queue(f, &q, 100, NULL);
    push_batch(&q, 1, 10, BOOT);
    push_batch(&q, 2, 10, BOOT);
    service_for(f, &q, 1600, NULL, 0);
    /* copies at 0, ~100, ~300, ~700, ~1500 ms: 4 resends each at most (a fixed 100 ms would make 15) */
    assert_true(q.resent >= 2 * 10);
    assert_true(q.resent <= 4 * 2 * 10);
    /* the next copy waits longer still: at least 400 ms after the last one (its third copy or later) */
    const struct ackq_entry *head = &q.ring[q.head];
    assert_true(head->tries >= 3);
    assert_true(ackq_next_deadline(&q) - head->sent_ns >= 400 * MS);
    ackq_free(&q);
}

/* A receiver that is alive (it acks) but has not read a batch yet is not sent it again, however long that
 * takes; once it falls silent, the batch goes again after its timeout. */
static void test_no_resend_to_a_receiver_behind(void **state)
{
    struct fixture *f = *state;
    struct ackq q;
    start_queue(f, &q, 100, NULL);
    for (unsigned k = 1; k <= 3; k++) push_batch(&q, k, 10, BOOT);
    struct bus_peer peer;
    uint64_t last;
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 1); /* batches 2 and 3 wait in its queue */
    service_for(f, &q, 800, &peer, 20);
    assert_int_equal(q.resent, 0);
    assert_int_equal(q.count, 2);
    service_for(f, &q, 400, NULL, 0); /* silent: now they go again */
    assert_true(q.resent >= 20);
    ackq_free(&q);
}

/* A batch the receiver read past without acknowledging it (lost at the receiver) goes again after its
 * timeout, although acks keep coming. */
static void test_resend_of_what_was_read_past(void **state)
{
    struct fixture *f = *state;
    struct ackq q;
    start_queue(f, &q, 100, NULL);
    push_batch(&q, 1, 10, BOOT);
    push_batch(&q, 2, 10, BOOT);
    struct bus_peer peer;
    uint64_t last;
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 1);
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 11);
    push_batch(&q, 3, 10, BOOT); /* sent after batch 2: an ack for it proves batch 2 was read */
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 21);
    send_ack(f, &peer, BOOT, 1, 10);
    send_ack(f, &peer, BOOT, 21, 30);
    service_for(f, &q, 500, &peer, 20);
    assert_true(q.resent >= 10);
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 11);
    send_ack(f, &peer, BOOT, 11, 20);
    wait_count(&q, 0);
    ackq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_codec_v2),
        cmocka_unit_test_setup_teardown(test_refusal_sets_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_backs_off_while_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_resend_to_a_receiver_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_of_what_was_read_past, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
