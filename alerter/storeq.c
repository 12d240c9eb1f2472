/* alerter/storeq.c — alert records to the storer and the tap (see storeq.h). */
#include "alerter/storeq.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/wire/protocol.h"

#define STORE_OUTBOX_BYTES (16u << 20)     /* unacked alert records in memory; beyond: the spool */
#define STORE_OUTBOX_WINDOW 1024           /* alert records in flight to the storer */
#define STORE_RESEND_NS (5 * 1000000000LL) /* unacked alert records are sent again after this */

void storeq_open(struct storeq *s, struct bus *bus, const struct cw_config *cfg)
{
    if (!config_wants_storer(cfg)) return;
    char err[512];
    s->store = bus_open(bus, BUS_SEND_RELIABLE, cfg->store_address, err, sizeof err);
    if (!s->store) fatal(1, "%s", err);
    char spool[PATH_MAX];
    if (snprintf(spool, sizeof spool, "%s/alerter-storer.spool", cfg->run_dir) >= (int)sizeof spool)
        fatal(2, "run_dir is too long");
    if (ackq_init(&s->q, s->store, "storer", STORE_OUTBOX_BYTES, STORE_OUTBOX_WINDOW, STORE_RESEND_NS, spool, err,
                  sizeof err) != 0)
        fatal(1, "alert records spool: %s", err);
    s->q.msg_type = CW_MSG_ALERT;
    ackq_set_spool_max(&s->q, ACKQ_SPOOL_MAX_DEFAULT);
    s->has_q = true;
}

void storeq_flush(struct storeq *s)
{
    if (s->has_q) ackq_service(&s->q, cw_mono_ns());
}

void storeq_record(struct storeq *s, const struct alert_rec *al)
{
    struct cw_alert w;
    alert_to_wire(al, &w);
    if (s->store) {
        cw_buf_reset(&s->scratch);
        uint64_t v = ackq_alert_record_version(&w);
        if (proto_alert_encode(&s->scratch, &w) == 0 && s->has_q)
            ackq_push(&s->q, s->scratch.data, s->scratch.len, ACKQ_ALERT_WORKER, w.alert_id, v, v, 1);
    }
    if (s->pub) {
        char masked[CW_URL_MAX + 1];
        cw_mask_url(al->url, masked, sizeof masked);
        w.url = masked;
        cw_buf_reset(&s->scratch);
        if (proto_alert_encode(&s->scratch, &w) == 0)
            (void)bus_send(s->pub, CW_MSG_ALERT, s->scratch.data, s->scratch.len);
    }
}

long storeq_timeout_ms(const struct storeq *s)
{
    if (!s->has_q) return -1;
    long t = -1;
    const struct ackq *q = &s->q;
    if ((q->nsent < q->count && q->inflight < q->window) || ackq_spool_bytes(q)) t = 100;
    int64_t d = ackq_next_deadline(q);
    if (d != INT64_MAX) {
        int64_t left = d / 1000 - cw_mono_us();
        long ms = left <= 0 ? 0 : (long)((left + 999) / 1000);
        if (t < 0 || ms < t) t = ms;
    }
    if (bus_readable(s->store)) t = 0;
    return t;
}

int storeq_fd(const struct storeq *s) { return s->has_q ? bus_fd(s->store) : -1; }

void storeq_drain(struct storeq *s)
{
    if (!s->has_q) return;
    int64_t deadline = cw_mono_ns() + 1000000000LL;
    while (!ackq_idle(&s->q) && cw_mono_ns() < deadline) {
        struct bus_msg m;
        if (bus_recv(s->store, &m, 20) > 0) {
            if (m.type == CW_MSG_ACK) (void)ackq_on_ack(&s->q, m.data, m.len);
            bus_msg_release(&m);
        }
        ackq_service(&s->q, cw_mono_ns());
    }
    if (ackq_idle(&s->q)) return;
    uint64_t waiting = ackq_pending_results(&s->q);
    uint64_t lost = ackq_spill(&s->q);
    log_warn("stopping with %" PRIu64 " alert records not acknowledged by the storer: kept in %s for the next start",
             waiting, s->q.spool_path ? s->q.spool_path : "(no spool)");
    if (lost) log_error("%" PRIu64 " alert records for the storer are lost", lost);
}

void storeq_free(struct storeq *s)
{
    if (s->has_q) ackq_free(&s->q);
    cw_buf_free(&s->scratch);
}
