/* tests/unit/test_ackq.c — the acknowledged outbox (common/bus/ackq.c) over a real ZeroMQ DEALER/ROUTER pair in
 * a private temporary directory: the ack message's encoding and its defensive decoder, ranges acking whole
 * batches (and only those), the window of batches in flight, a resend after the timeout, the memory bound
 * with the spill to the spool file and its replay in order once the receiver is back, and a restarted
 * sender replaying its predecessor's spool (same path, seqs and boot ids kept). */
#include "ackq_test_util.h"

static void test_ack_codec(void **state)
{
    (void)state;
    struct ackq_range in[3] = { { 1, 2, 3, 4, ACKQ_DURABLE },
                                { 0xffffffffu, UINT64_MAX, 1, UINT64_MAX, ACKQ_DURABLE },
                                { 7, 7, 5, 5, ACKQ_DURABLE } };
    struct cw_buf b = { 0 };
    assert_int_equal(ackq_ack_encode(&b, in, 3), 0);
    assert_int_equal(b.len, 4 + 3 * 28);
    struct ackq_range out[3];
    const char *why = NULL;
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 3, &why), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(in[i].worker, out[i].worker);
        assert_true(in[i].boot_id == out[i].boot_id && in[i].first == out[i].first && in[i].last == out[i].last);
    }
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 2, &why), -1);
    assert_int_equal(ackq_ack_decode(b.data, b.len - 1, out, 3, &why), -1);
    assert_string_equal(why, "truncated");
    uint8_t *p = (uint8_t *)b.data;
    p[1] = CW_MSG_RESULT;
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 3, &why), -1);
    p[1] = CW_MSG_ACK;
    p[0] = 3;
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 3, &why), -1);
    assert_string_equal(why, "bad version");
    p[0] = 1;
    p[2] = 0;
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 3, &why), -1);
    struct ackq_range bad = { 1, 1, 5, 4, ACKQ_DURABLE };
    assert_int_equal(ackq_ack_encode(&b, &bad, 1), -1);
    bad.first = 0;
    assert_int_equal(ackq_ack_encode(&b, &bad, 1), -1);
    assert_int_equal(ackq_ack_encode(&b, in, 0), -1);
    /* a hand-made range with first > last is refused by the decoder */
    assert_int_equal(ackq_ack_encode(&b, in, 1), 0);
    p = (uint8_t *)b.data;
    p[4 + 12] = 9; /* first = 9 > last = 4 */
    assert_int_equal(ackq_ack_decode(b.data, b.len, out, 3, &why), -1);
    assert_string_equal(why, "bad range");
    assert_int_equal(ackq_ack_decode("\x01\x04", 2, out, 3, &why), -1);
    cw_buf_free(&b);
}

/* Ranges ack the batches wholly inside them, in any order; a partial range acks nothing. */
static void test_ack_ranges(void **state)
{
    struct fixture *f = *state;
    bind_receiver(f);
    struct ackq q;
    char err[256];
    assert_int_equal(ackq_init(&q, f->snd, "test", 1 << 20, 64, 60LL * 1000000000, NULL, err, sizeof err), 0);
    for (unsigned k = 1; k <= 5; k++) push_batch(&q, k, 10, BOOT);
    struct bus_peer peer;
    uint64_t last;
    for (unsigned k = 1; k <= 5; k++) assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), (k - 1) * 10 + 1);
    assert_int_equal(q.sent, 50);
    assert_int_equal(ackq_pending_results(&q), 50);
    send_ack(f, &peer, BOOT, 11, 25);    /* batch 2 only (3 is partly covered) */
    send_ack(f, &peer, BOOT + 1, 1, 50); /* another boot: nothing */
    send_ack(f, &peer, BOOT, 41, 50);    /* batch 5 */
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    while (q.acks_received < 3) {
        assert_true(cw_mono_us() / 1000 < until);
        usleep(2000);
        ackq_service(&q, cw_mono_ns());
    }
    assert_int_equal(q.acked, 20);
    assert_int_equal(q.count, 5); /* batch 1 holds the head */
    send_ack(f, &peer, BOOT, 1, 40);
    wait_count(&q, 0);
    assert_true(ackq_idle(&q));
    assert_int_equal(q.acked, 50);
    assert_int_equal(q.resent, 0);
    assert_int_equal(ackq_on_ack(&q, "junk", 4), -1);
    assert_int_equal(q.acks_malformed, 1);
    ackq_free(&q);
}

/* At most `window` batches are in flight; an ack lets the next ones go. Unacked ones are sent again after
 * the timeout, from the oldest. */
static void test_window_and_resend(void **state)
{
    struct fixture *f = *state;
    bind_receiver(f);
    struct ackq q;
    char err[256];
    assert_int_equal(ackq_init(&q, f->snd, "test", 1 << 20, 2, 300LL * 1000000, NULL, err, sizeof err), 0);
    for (unsigned k = 1; k <= 4; k++) push_batch(&q, k, 3, BOOT);
    struct bus_peer peer;
    uint64_t last;
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 1);
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 4);
    recv_none(f, &q, 100); /* the window is full */
    send_ack(f, &peer, BOOT, 1, 3);
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 7);
    /* no ack for batches 2 and 3: after 300 ms both go again, oldest first */
    int64_t t0 = cw_mono_us();
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 4);
    assert_true(cw_mono_us() - t0 >= 150000);
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 7);
    assert_int_equal(q.resent, 6);
    assert_true(q.resend_rounds >= 1);
    send_ack(f, &peer, BOOT, 4, 9);
    assert_int_equal(recv_batch(f, &q, &peer, &last, NULL), 10);
    send_ack(f, &peer, BOOT, 10, 12);
    wait_count(&q, 0);
    assert_int_equal(q.acked, 12);
    ackq_free(&q);
}

/* Beyond the memory bound batches go to the spool; with the receiver back, everything arrives in order
 * and the spool file is removed once all of it is acknowledged. */
static void test_bound_spool_replay_in_order(void **state)
{
    struct fixture *f = *state;
    struct ackq q;
    char err[256];
    struct cw_buf probe = { 0 };
    proto_results_begin(&probe);
    /* room for about 4 batches of 5 results in memory */
    size_t batch_bytes;
    {
        struct ackq tmp;
        assert_int_equal(ackq_init(&tmp, f->snd, "t", 1 << 20, 8, 1000000000, NULL, err, sizeof err), 0);
        push_batch(&tmp, 1, 5, BOOT);
        batch_bytes = tmp.mem_bytes;
        ackq_free(&tmp);
    }
    cw_buf_free(&probe);
    assert_int_equal(ackq_init(&q, f->snd, "test", 4 * batch_bytes, 3, 60LL * 1000000000, f->spool, err, sizeof err),
                     0);
    for (unsigned k = 1; k <= 20; k++) push_batch(&q, k, 5, BOOT); /* no receiver: nothing leaves */
    assert_int_equal(q.count, 4);
    assert_int_equal(q.spooled, 80);
    assert_int_equal(q.dropped, 0);
    assert_int_equal(access(f->spool, F_OK), 0);
    assert_true(ackq_spool_bytes(&q) > 0);

    bind_receiver(f);
    uint64_t expect = 1;
    while (expect <= 100) {
        struct bus_peer peer;
        uint64_t last;
        uint64_t first = recv_batch(f, &q, &peer, &last, NULL);
        assert_int_equal(first, expect); /* in order, each once: acks come before any resend */
        send_ack(f, &peer, BOOT, first, last);
        expect = last + 1;
    }
    wait_count(&q, 0);
    ackq_service(&q, cw_mono_ns());
    assert_true(ackq_idle(&q));
    assert_int_equal(q.acked, 100);
    assert_int_equal(q.replayed, 80);
    assert_int_not_equal(access(f->spool, F_OK), 0);
    ackq_free(&q);
}

/* A sender that stops with unacked batches spills them; the next one on the same spool path (a restarted
 * worker of the same slot) sends them with their original boot id and seqs. */
static void test_restart_replays_spool(void **state)
{
    struct fixture *f = *state;
    struct ackq q;
    char err[256];
    assert_int_equal(ackq_init(&q, f->snd, "test", 1 << 20, 8, 60LL * 1000000000, f->spool, err, sizeof err), 0);
    for (unsigned k = 1; k <= 6; k++) push_batch(&q, k, 4, BOOT);
    assert_int_equal(ackq_spill(&q), 0);
    assert_int_equal(q.count, 0);
    ackq_free(&q);
    /* a torn record at the end (a crash while appending) is ignored */
    FILE *fp = fopen(f->spool, "ab");
    assert_non_null(fp);
    fwrite("\x10\x00\x00\x00garbage", 1, 11, fp);
    fclose(fp);

    bind_receiver(f);
    struct ackq q2;
    assert_int_equal(ackq_init(&q2, f->snd, "test", 1 << 20, 8, 60LL * 1000000000, f->spool, err, sizeof err), 0);
    assert_false(ackq_idle(&q2));
    uint64_t expect = 1;
    while (expect <= 24) {
        struct bus_peer peer;
        uint64_t last, boot;
        uint64_t first = recv_batch(f, &q2, &peer, &last, &boot);
        assert_int_equal(first, expect);
        assert_true(boot == BOOT);
        send_ack(f, &peer, BOOT, first, last);
        expect = last + 1;
    }
    wait_count(&q2, 0);
    ackq_service(&q2, cw_mono_ns());
    assert_true(ackq_idle(&q2));
    assert_int_not_equal(access(f->spool, F_OK), 0);
    ackq_free(&q2);
}

/* A spool file written by an earlier version (its record layout spelled out here byte by byte: u32 payload
 * length, u32 worker, u64 boot_id, u64 first, u64 last, u32 results, payload) is replayed after an upgrade,
 * and its torn tail is cut off at open. */
static void test_reads_previous_version_spool(void **state)
{
    struct fixture *f = *state;
    FILE *fp = fopen(f->spool, "wb");
    assert_non_null(fp);
    for (unsigned k = 1; k <= 3; k++) {
        struct cw_buf b = { 0 };
        proto_results_begin(&b);
        add_result(&b, BOOT, k);
        uint8_t h[36] = { 0 };
        le_put_u32(h, (uint32_t)b.len);
        le_put_u32(h + 4, 0);
        le_put_u64(h + 8, BOOT);
        le_put_u64(h + 16, k);
        le_put_u64(h + 24, k);
        le_put_u32(h + 32, 1);
        assert_int_equal(fwrite(h, 1, sizeof h, fp), sizeof h);
        assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
        cw_buf_free(&b);
    }
    long whole = ftell(fp);
    assert_int_equal(fwrite("\x10\x00\x00\x00torn", 1, 8, fp), 8);
    assert_int_equal(fclose(fp), 0);

    bind_receiver(f);
    struct ackq q;
    char err[256];
    assert_int_equal(ackq_init(&q, f->snd, "test", 1 << 20, 8, 60LL * 1000000000, f->spool, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(f->spool, &st), 0);
    assert_int_equal(st.st_size, whole);
    for (uint64_t k = 1; k <= 3; k++) {
        struct bus_peer peer;
        uint64_t last, boot;
        assert_int_equal(recv_batch(f, &q, &peer, &last, &boot), k);
        assert_int_equal(last, k);
        assert_true(boot == BOOT);
        send_ack(f, &peer, BOOT, k, k);
    }
    wait_count(&q, 0);
    ackq_service(&q, cw_mono_ns());
    assert_true(ackq_idle(&q));
    assert_int_not_equal(access(f->spool, F_OK), 0);
    ackq_free(&q);
}

/* Receives and acks everything q sends until it is idle; records the batches' first seqs per boot id. */
static size_t drain_all(struct fixture *f, struct ackq *q, uint64_t *firsts, uint64_t *boots, size_t max)
{
    size_t n = 0;
    while (!ackq_idle(q)) {
        struct bus_peer peer;
        uint64_t last, boot;
        uint64_t first = recv_batch(f, q, &peer, &last, &boot);
        assert_true(n < max);
        firsts[n] = first;
        boots[n++] = boot;
        uint64_t before = q->acked;
        send_ack(f, &peer, boot, first, last);
        int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
        while (q->acked == before) {
            assert_true(cw_mono_us() / 1000 < until);
            usleep(1000);
            ackq_service(q, cw_mono_ns());
        }
    }
    return n;
}

/* The spool's disk bound drops the oldest unread batches (counted), never more than the bound on disk; a
 * spill keeps the push order (memory first, then the spool); slot 0 adopts an orphan slot's spool. */
static void test_spool_bound_spill_order_adopt(void **state)
{
    struct fixture *f = *state;
    char err[256];
    size_t batch_bytes;
    {
        struct ackq tmp;
        assert_int_equal(ackq_init(&tmp, f->snd, "t", 1 << 20, 8, 1000000000, NULL, err, sizeof err), 0);
        push_batch(&tmp, 1, 5, BOOT);
        batch_bytes = tmp.mem_bytes;
        ackq_free(&tmp);
    }
    struct ackq q;
    assert_int_equal(ackq_init(&q, f->snd, "test", 4 * batch_bytes, 3, 60LL * 1000000000, f->spool, err, sizeof err),
                     0);
    uint64_t bound = 8 * (36 + batch_bytes);
    ackq_set_spool_max(&q, bound);
    for (unsigned k = 1; k <= 30; k++) {
        push_batch(&q, k, 5, BOOT);
        struct stat st;
        if (stat(f->spool, &st) == 0) assert_true((uint64_t)st.st_size <= bound);
    }
    assert_true(q.dropped > 0);
    assert_int_equal(q.dropped, q.spool_full_dropped);
    assert_int_equal(q.dropped % 5, 0);
    uint64_t dropped = q.dropped;
    assert_int_equal(ackq_spill(&q), 0);
    ackq_free(&q);

    /* an orphan spool of slot 5 (another boot) */
    char orphan[160];
    snprintf(orphan, sizeof orphan, "%s/worker-5-storer.spool", f->dir);
    struct ackq o;
    assert_int_equal(ackq_init(&o, f->snd, "test", 1 << 20, 8, 60LL * 1000000000, orphan, err, sizeof err), 0);
    for (unsigned k = 1; k <= 3; k++) push_batch(&o, k, 2, BOOT + 1);
    assert_int_equal(ackq_spill(&o), 0);
    ackq_free(&o);

    bind_receiver(f);
    struct ackq q2;
    assert_int_equal(ackq_init(&q2, f->snd, "test", 4 * batch_bytes, 3, 60LL * 1000000000, f->spool, err, sizeof err),
                     0);
    assert_int_equal(ackq_adopt_spool(&q2, orphan, err, sizeof err), 3);
    assert_int_not_equal(access(orphan, F_OK), 0);
    uint64_t firsts[64], boots[64];
    size_t n = drain_all(f, &q2, firsts, boots, 64);
    assert_int_equal(n, 30 - dropped / 5 + 3);
    /* ours in push order: the 4 that were in memory (1..20), then what the bound left, ending with batch 30 */
    uint64_t prev = 0;
    size_t ours = 0;
    for (size_t i = 0; i < n; i++) {
        if (boots[i] != BOOT) continue;
        assert_true(firsts[i] > prev);
        if (ours < 4) assert_int_equal(firsts[i], ours * 5 + 1);
        prev = firsts[i];
        ours++;
    }
    assert_int_equal(prev, 146);
    /* the adopted ones come after ours, in their order */
    assert_int_equal(boots[n - 3], BOOT + 1);
    assert_int_equal(firsts[n - 3], 1);
    assert_int_equal(firsts[n - 1], 5);
    assert_int_not_equal(access(f->spool, F_OK), 0);
    ackq_free(&q2);
}

/* A queue of alert records sends them as CW_MSG_ALERT, identified in acks by (ACKQ_ALERT_WORKER, alert id,
 * delivery-state version). */
static void test_alert_records(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct ackq q;
    assert_int_equal(ackq_init(&q, f->snd, "storer", 1 << 20, 8, 60LL * 1000000000, NULL, err, sizeof err), 0);
    q.msg_type = CW_MSG_ALERT;
    bind_receiver(f);
    struct cw_alert a = { .alert_id = 0x1234,
                          .raised_at_us = 1,
                          .kind = CW_ALERT_DOWN,
                          .email_state = CW_DELIVERY_PENDING,
                          .webhook_state = CW_DELIVERY_NONE,
                          .url = "http://127.0.0.1:9/",
                          .name = "",
                          .message = "m" };
    struct cw_buf b = { 0 };
    assert_int_equal(proto_alert_encode(&b, &a), 0);
    uint64_t v = ackq_alert_version(a.email_state, a.webhook_state);
    assert_true(v >= 1 && v <= 16);
    assert_true(ackq_alert_version(CW_DELIVERY_SENT, CW_DELIVERY_NONE) != v);
    ackq_push(&q, b.data, b.len, ACKQ_ALERT_WORKER, a.alert_id, v, v, 1);
    cw_buf_free(&b);
    int64_t until = cw_mono_us() / 1000 + DEADLINE_MS;
    struct bus_msg m;
    while (bus_recv(f->rcv, &m, 20) != 1) {
        ackq_service(&q, cw_mono_ns());
        assert_true(cw_mono_us() / 1000 < until);
    }
    assert_int_equal(m.type, CW_MSG_ALERT);
    struct bus_peer peer = m.peer;
    bus_msg_release(&m);
    struct ackq_range r = { ACKQ_ALERT_WORKER, 0x1234, v + 1, v + 1, ACKQ_DURABLE }; /* another version: not this one */
    assert_int_equal(ackq_ack_encode(&b, &r, 1), 0);
    assert_int_equal(ackq_on_ack(&q, b.data, b.len), 0);
    r.first = r.last = v;
    assert_int_equal(ackq_ack_encode(&b, &r, 1), 0);
    assert_int_equal(bus_send_to(f->rcv, &peer, CW_MSG_ACK, b.data, b.len), BUS_SENT);
    cw_buf_free(&b);
    wait_count(&q, 0);
    assert_int_equal(q.acked, 1);
    ackq_free(&q);
}

/* The receivers' merge of acks: only a continuation from the same sender, worker and boot joins. */
static void test_range_join(void **state)
{
    (void)state;
    struct bus_peer a = { .id = { 1, 2 }, .len = 2 }, b = { .id = { 1, 3 }, .len = 2 };
    struct ackq_range last = { 7, 99, 10, 12, ACKQ_DURABLE };
    struct ackq_range next = { 7, 99, 13, 13, ACKQ_DURABLE }, gap = { 7, 99, 15, 15, ACKQ_DURABLE },
                      other_boot = { 7, 98, 14, 14, ACKQ_DURABLE }, other_worker = { 8, 99, 14, 14, ACKQ_DURABLE },
                      again = { 7, 99, 12, 12, ACKQ_DURABLE };
    assert_true(ackq_range_join(&a, &last, &a, &next));
    assert_int_equal(last.first, 10);
    assert_int_equal(last.last, 13);
    assert_false(ackq_range_join(&a, &last, &a, &gap));
    assert_false(ackq_range_join(&a, &last, &a, &other_boot));
    assert_false(ackq_range_join(&a, &last, &a, &other_worker));
    assert_false(ackq_range_join(&a, &last, &a, &again));
    struct ackq_range next2 = { 7, 99, 14, 20, ACKQ_DURABLE };
    assert_false(ackq_range_join(&a, &last, &b, &next2)); /* another sender */
    assert_true(ackq_range_join(&a, &last, &a, &next2));
    assert_int_equal(last.last, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_join),
        cmocka_unit_test(test_ack_codec),
        cmocka_unit_test_setup_teardown(test_ack_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_and_resend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_spool_replay_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_replays_spool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_previous_version_spool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_bound_spill_order_adopt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
