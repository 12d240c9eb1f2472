/* storer/receive.c — what the storer does with one message from the bus: results and alerts decoded into
 * the current batch, each result's place in its sender's sequence counted (common/wire/seqgap.h: gaps, missing,
 * duplicates), each row's seq range gathered for its ack (common/bus/ackgather.h, tagged with the batch number);
 * malformed messages counted and dropped, and a result batch its sender's key may not send (issue 16, the key
 * check: config_key_admits) not stored; both refused back to their sender, which sets them aside instead of
 * resending them (docs/protocol.md 2.6). And the acks sent once the flow says they are durable. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/bus/ackq.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "storer/storer.h"

static void track_seq(struct storer *s, const struct cw_result *r, int64_t now)
{
    /* the first result of a worker seen by this storer is not a gap; a duplicate is stored once anyway (the
     * UNIQUE key ignores it) */
    struct seqgap_note note = seqgap_note(&s->seqs, r->worker, r->boot_id, r->seq);
    if (note.kind == SEQGAP_GAP && ratelimit_allow(&s->rl_gap, now))
        log_warn("worker %" PRIu32 " boot %016" PRIx64 ": %" PRIu64 " results missing (seq %" PRIu64 "..%" PRIu64 ")",
                 r->worker, r->boot_id, note.missing, note.after + 1, r->seq - 1);
    else if (note.kind == SEQGAP_JUMP && ratelimit_allow(&s->rl_gap, now))
        log_warn("worker %" PRIu32 " boot %016" PRIx64 ": seq jumped from %" PRIu64 " to %" PRIu64
                 ": not believed, not counted as missing",
                 r->worker, r->boot_id, note.after, r->seq);
}

/* 0, or -1 with *why set. */
static int take_results(struct storer *s, const struct bus_msg *m, int64_t now, const char **why)
{
    int n = proto_results_decode(m->data, m->len, s->results, CW_RESULT_BATCH_MAX, why);
    if (n <= 0) return -1;
    const char *allowed = "", *bad = "";
    if (!config_key_admits(s->p.cfg, m->peer_key, s->results, (size_t)n, &allowed, &bad)) {
        /* a key sending another location's results: never stored; refused back like a malformed message, so
         * that its sender sets the batch aside and what follows it flows (it never resends it) */
        s->c.wrong_location += (uint64_t)n;
        bool refused = ackgather_refuse(&s->acks, &m->peer, m->data, m->len);
        if (ratelimit_allow(&s->rl_location, now))
            log_warn("refused %d results from the key of location %s carrying location \"%s\" (key %s): not "
                     "stored%s",
                     n, allowed, bad, m->peer_key, refused ? ", refused back to its sender" : "");
        return 0;
    }
    size_t first = s->cur.n_checks;
    for (int i = 0; i < n; i++) {
        const struct cw_result *r = &s->results[i];
        track_seq(s, r, now);
        store_batch_add_check(&s->cur, r);
        if (r->seq > 0) {
            struct ackq_range ar = { r->worker, r->boot_id, r->seq, r->seq, ACKQ_DURABLE };
            ackgather_add(&s->acks, &m->peer, &ar, s->cur_no);
        }
    }
    store_batch_locate(&s->cur, first, s->p.cfg->location);
    storer_maint_mark(&s->maint, &s->cur, first);
    s->c.received += (uint64_t)n;
    return 0;
}

static int take_alert(struct storer *s, const struct bus_msg *m, const char **why)
{
    struct cw_alert a;
    if (proto_alert_decode(m->data, m->len, &a, why) != 0) return -1;
    store_batch_add_alert(&s->cur, &a);
    s->c.received++;
    /* acked like results once durable: (ACKQ_ALERT_WORKER, alert_id, record version) */
    uint64_t v = ackq_alert_record_version(&a);
    struct ackq_range ar = { ACKQ_ALERT_WORKER, a.alert_id, v, v, ACKQ_DURABLE };
    ackgather_add(&s->acks, &m->peer, &ar, s->cur_no);
    return 0;
}

/* A probe host's configuration request: its bus.central_address names this socket, not the central's config
 * server. It asks again every 5 s: logged the first time and then at powers of two. */
static void misdirected_config_get(struct storer *s, const struct bus_msg *m, int64_t now)
{
    uint64_t n = ++s->c.config_gets;
    const char *config_address = s->p.cfg->config_address;
    if ((n & (n - 1)) == 0 && ratelimit_allow(&s->rl_malformed, now))
        log_warn("a CONFIG_GET (a probe host's configuration request) reached the storer%s%s: that probe's "
                 "bus.central_address should be the central's bus.config_address%s%s (%" PRIu64 " so far, dropped)",
                 m->peer_key[0] ? " from key " : "", m->peer_key, config_address ? ", " : "",
                 config_address ? config_address : "", n);
}

void storer_receive(struct storer *s, const struct bus_msg *m, int64_t now)
{
    if (m->type == CW_MSG_CONFIG_GET) {
        misdirected_config_get(s, m, now);
        return;
    }
    const char *why = "unexpected message type";
    size_t before = store_batch_rows(&s->cur);
    int rc = -1;
    if (m->type == CW_MSG_RESULT) rc = take_results(s, m, now, &why);
    else if (m->type == CW_MSG_ALERT) rc = take_alert(s, m, &why);
    else if (m->type == CW_MSG_INVALID) why = "bad framing or unknown topic";
    if (rc != 0) {
        s->c.malformed++;
        /* a result or alert message that cannot be decoded is refused back to its sender (docs/protocol.md
         * 2.6), which sets it aside instead of resending it forever */
        bool refused = (m->type == CW_MSG_RESULT || m->type == CW_MSG_ALERT) && m->len > 0 &&
                       ackgather_refuse(&s->acks, &m->peer, m->data, m->len);
        if (ratelimit_allow(&s->rl_malformed, now))
            log_warn("dropped a malformed %s message (%zu bytes): %s%s",
                     proto_topic(m->type) ? proto_topic(m->type) : "bus", m->len, why,
                     refused ? " (refused back to its sender)" : "");
        return;
    }
    if (before == 0 && store_batch_rows(&s->cur) > 0) s->cur_first = now;
}

/* ackgather_send_fn: to the sender, over the results' socket. */
static void send_ack(void *ctx, const struct bus_peer *peer, const void *data, size_t len)
{
    struct storer *s = ctx;
    if (bus_send_to(s->in, peer, CW_MSG_ACK, data, len) == BUS_ERROR && ratelimit_allow(&s->rl_bus, cw_mono_ns()))
        log_warn("cannot send an ack: %s", strerror(errno));
}

void storer_flush_acks(struct storer *s) { ackgather_flush(&s->acks, send_ack, s); }
