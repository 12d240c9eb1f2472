/* worker/sendq.c — the bounded, ordered retry queue in front of a reliable bus socket (see sendq.h). */
#include "worker/sendq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

void sendq_init(struct sendq *o, struct bus_socket *sock, const char *name, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->sock = sock;
    o->name = name;
    o->cap = cap ? cap : 1;
    o->ring = cw_xcalloc(o->cap, sizeof *o->ring);
}

void sendq_free(struct sendq *o)
{
    if (!o->ring) return;
    for (size_t i = 0; i < o->cap; i++) cw_buf_free(&o->ring[i]);
    free(o->ring);
    o->ring = NULL;
    o->count = o->head = 0;
}

unsigned sendq_batch_results(const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len < 4) return 0;
    return (unsigned)(p[2] | (p[3] << 8));
}

/* Returns BUS_SENT, BUS_WOULD_BLOCK, or BUS_ERROR (the batch is then counted as dropped). */
static int try_send(struct sendq *o, const void *data, size_t len)
{
    int rc = bus_send(o->sock, CW_MSG_RESULT, data, len);
    if (rc == BUS_SENT) {
        o->results_sent += sendq_batch_results(data, len);
    } else if (rc == BUS_ERROR) {
        unsigned n = sendq_batch_results(data, len);
        o->send_errors++;
        o->batches_dropped++;
        o->results_dropped += n;
        log_warn("cannot send %u results to the %s: %s (dropped)", n, o->name, strerror(errno));
    }
    return rc;
}

size_t sendq_flush(struct sendq *o)
{
    size_t sent = 0;
    while (o->count) {
        struct cw_buf *b = &o->ring[o->head];
        int rc = try_send(o, b->data, b->len);
        if (rc == BUS_WOULD_BLOCK) break;
        if (rc == BUS_SENT) sent++;
        cw_buf_reset(b);
        o->head = (o->head + 1) % o->cap;
        o->count--;
    }
    return sent;
}

void sendq_send(struct sendq *o, const struct cw_buf *batch)
{
    if (o->count) sendq_flush(o);
    if (o->count == 0) {
        if (try_send(o, batch->data, batch->len) != BUS_WOULD_BLOCK) return;
    }
    if (o->count == o->cap) {
        struct cw_buf *oldest = &o->ring[o->head];
        unsigned n = sendq_batch_results(oldest->data, oldest->len);
        o->batches_dropped++;
        o->results_dropped += n;
        /* one line per power of two, so a long outage does not flood the log */
        if ((o->batches_dropped & (o->batches_dropped - 1)) == 0)
            log_warn("the %s is not taking results: dropped the oldest batch of %u results "
                     "(%llu batches dropped so far)", o->name, n, (unsigned long long)o->batches_dropped);
        cw_buf_reset(oldest);
        o->head = (o->head + 1) % o->cap;
        o->count--;
    }
    struct cw_buf *slot = &o->ring[(o->head + o->count) % o->cap];
    cw_buf_reset(slot);
    cw_buf_put(slot, batch->data, batch->len);
    o->count++;
}
