/* worker/sendq.h — one reliable destination of result batches (the storer, the alerter), with a bounded
 * queue for the batches the bus refused for now.
 *
 * DESIGN
 * The probe loop never blocks on the bus. sendq_send hands a batch to the bus right away when nothing is
 * queued before it; when the bus says BUS_WOULD_BLOCK (the receiver is slow or away and ZeroMQ's own
 * high-water mark is reached) the batch is copied into a ring of at most `cap` batches, in order, and
 * sendq_flush retries them when the socket is writable again. When the ring is full the OLDEST batch is
 * dropped, counted and logged (a later issue spools to disk instead). Ring buffers keep their capacity, so
 * a steady state allocates nothing. */
#ifndef CW_WORKER_SENDQ_H
#define CW_WORKER_SENDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bus.h"
#include "common/util.h"

struct sendq {
    struct bus_socket *sock;   /* borrowed */
    const char *name;          /* "storer", "alerter": for logs */
    struct cw_buf *ring;       /* owned, cap entries */
    size_t head, count, cap;
    uint64_t results_sent;     /* results in batches the bus accepted */
    uint64_t batches_dropped;
    uint64_t results_dropped;
    uint64_t send_errors;
};

void sendq_init(struct sendq *o, struct bus_socket *sock, const char *name, size_t cap);
void sendq_free(struct sendq *o);

/* Sends or queues one encoded result batch (copied when queued). Never blocks. */
void sendq_send(struct sendq *o, const struct cw_buf *batch);
/* Sends queued batches while the bus takes them. Returns the number sent. */
size_t sendq_flush(struct sendq *o);
static inline bool sendq_pending(const struct sendq *o) { return o->count > 0; }

/* Number of results in an encoded batch (0 when it is not one). */
unsigned sendq_batch_results(const void *data, size_t len);

#endif
