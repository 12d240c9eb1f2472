/* alerter/intake.c — receiving, checking and acking the workers' results (see intake.h). */
#include "alerter/intake.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/log.h"

#define DRAIN_MAX 1000   /* bus messages per pass before the outbox gets a turn */
#define SENDERS_MAX 4096 /* (worker, boot_id) pairs followed for gaps; the least recently seen goes beyond */

void intake_open(struct intake *in, struct bus *bus, const char *address, intake_apply_fn apply, void *ctx)
{
    char err[512];
    in->apply = apply;
    in->ctx = ctx;
    seqgap_init(&in->gaps, SENDERS_MAX);
    ackgather_init(&in->acks);
    in->sock = bus_open(bus, BUS_RECV_RELIABLE, address, err, sizeof err);
    if (!in->sock) fatal(1, "%s", err);
}

void intake_load(struct intake *in, const char *run_dir)
{
    char err[512];
    if (snprintf(in->seen_path, sizeof in->seen_path, "%s/%s", run_dir, SEQWIN_FILE) >= (int)sizeof in->seen_path)
        fatal(2, "run_dir is too long");
    if (seqwin_load(&in->seen, in->seen_path, err, sizeof err) < 0)
        log_error("%s: starting with no record of applied results (a resend may be applied twice)", err);
}

/* A new result's place in its sender's sequence: a gap is counted (once, and the seqs it skipped in `missing`)
 * and logged; an absurd jump (common/wire/seqgap.h) is logged, not counted as missing. */
static void count_gap(struct intake *in, const struct cw_result *r)
{
    struct seqgap_note note = seqgap_note(&in->gaps, r->worker, r->boot_id, r->seq);
    if (note.kind == SEQGAP_JUMP)
        log_warn("worker %" PRIu32 " boot %016" PRIx64 ": seq jumped from %" PRIu64 " to %" PRIu64
                 ": not believed, not counted as missing",
                 r->worker, r->boot_id, note.after, r->seq);
    if (note.kind != SEQGAP_GAP) return;
    log_warn("gap: %" PRIu64 " result(s) missing from worker %" PRIu32 " (seq %" PRIu64 " after %" PRIu64 ")",
             note.missing, r->worker, r->seq, note.after);
}

static void ack_add(struct intake *in, const struct bus_peer *peer, const struct cw_result *r)
{
    if (r->seq == 0) return;
    struct ackq_range one = { r->worker, r->boot_id, r->seq, r->seq, ACKQ_DURABLE };
    ackgather_add(&in->acks, peer, &one, 0);
    in->n_acks = ackgather_pending(&in->acks);
}

/* ackgather_send_fn: to the sender, over the results' socket. */
static void send_ack(void *ctx, const struct bus_peer *peer, const void *data, size_t len)
{
    struct intake *in = ctx;
    if (bus_send_to(in->sock, peer, CW_MSG_ACK, data, len) == BUS_ERROR)
        log_warn("cannot send an ack: %s", strerror(errno));
}

void intake_flush_acks(struct intake *in)
{
    ackgather_move(&in->acks, ACKGATHER_WAIT, ACKGATHER_READY);
    ackgather_flush(&in->acks, send_ack, in);
    in->n_acks = ackgather_pending(&in->acks);
    in->c.acked = (int64_t)in->acks.acked;
    in->c.ack_messages = (int64_t)in->acks.ack_messages;
}

int intake_commit(struct intake *in, char *err, size_t errlen)
{
    if (in->seen.dirty && seqwin_save(&in->seen, in->seen_path, err, errlen) != 0) return -1;
    intake_flush_acks(in); /* what they acknowledge is in the files now */
    return 0;
}

/* Returns the results applied to a state. */
static size_t handle_message(struct intake *in, const struct bus_msg *m, int64_t now_mono)
{
    size_t applied = 0;
    const char *why = "wrong frames or unknown topic";
    if (m->type == CW_MSG_HELLO && in->on_hello) {
        in->on_hello(in->loc_ctx, m, now_mono);
        return 0;
    }
    if (m->type == CW_MSG_RESULT) {
        int n = proto_results_decode(m->data, m->len, in->results, CW_RESULT_BATCH_MAX, &why);
        if (n > 0 && in->admit && !in->admit(in->loc_ctx, m, in->results, n, now_mono)) {
            /* never applied; refused back like a malformed message (below), so that its sender sets it aside and
             * what follows it flows, as the storer does with the same batch */
            in->c.refused_batches++;
            if (ackgather_refuse(&in->acks, &m->peer, m->data, m->len)) in->n_acks = ackgather_pending(&in->acks);
            return 0;
        }
        if (n > 0) {
            for (int i = 0; i < n; i++) {
                const struct cw_result *r = &in->results[i];
                /* each (location, worker, boot_id, seq) at most once, and in order: a resend of what was applied
                 * is a duplicate; one overtaken by a later result (sent after a reconnect, before the resend of
                 * what was in flight) is late: both are acked, neither applied; a worker number beyond any
                 * configuration's is refused: counted, neither applied nor acked */
                enum seqwin_verdict v = seqwin_accept(&in->seen, r->location, r->worker, r->boot_id, r->seq);
                if (v == SEQWIN_REFUSED) {
                    in->c.refused_workers++;
                    continue;
                }
                if (v == SEQWIN_NEW) {
                    in->c.results++;
                    count_gap(in, r);
                    enum intake_verdict done = in->apply(in->ctx, r, now_mono);
                    if (done == INTAKE_LATE) in->c.late++;
                    else if (done == INTAKE_APPLIED) applied++;
                } else if (v == SEQWIN_DUP) {
                    in->c.duplicates++;
                } else {
                    in->c.late++;
                }
                ack_add(in, &m->peer, r);
            }
            return applied;
        }
    } else if (m->type == CW_MSG_CONFIG_GET) { /* a probe host's central_address names this socket: at powers of two */
        int64_t n = ++in->c.config_gets;
        if ((n & (n - 1)) == 0)
            log_warn("a CONFIG_GET (a probe host's configuration request) reached the alerter%s%s: that probe's "
                     "bus.central_address should be the central's bus.config_address (%" PRId64 " so far, dropped)",
                     m->peer_key[0] ? " from key " : "", m->peer_key, n);
        return 0;
    } else if (m->type != CW_MSG_INVALID) {
        why = "unexpected message type";
    }
    in->c.malformed++;
    /* refused back to its sender (docs/protocol.md 2.6), which sets it aside instead of resending it forever */
    if (m->type == CW_MSG_RESULT && m->len > 0 && ackgather_refuse(&in->acks, &m->peer, m->data, m->len))
        in->n_acks = ackgather_pending(&in->acks);
    if (in->c.malformed <= 10 || in->c.malformed % 1000 == 0)
        log_warn("malformed message dropped (%" PRId64 " so far): %s", in->c.malformed, why);
    return 0;
}

size_t intake_drain(struct intake *in)
{
    size_t applied = 0;
    for (int i = 0; i < DRAIN_MAX; i++) {
        struct bus_msg m;
        int rc = bus_recv(in->sock, &m, 0);
        if (rc < 0) {
            log_error("receiving results: %s", strerror(errno));
            break;
        }
        if (rc == 0) break;
        applied += handle_message(in, &m, cw_mono_us());
        bus_msg_release(&m);
    }
    return applied;
}

void intake_free(struct intake *in)
{
    seqwin_free(&in->seen);
    seqgap_free(&in->gaps);
    ackgather_free(&in->acks);
}
