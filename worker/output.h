/* worker/output.h — where a worker's results go: one acknowledged queue (common/bus/ackq.h) per reliable
 * destination (the storer, the alerter), each with its spool in run_dir, and the best-effort publisher to
 * the relay (the tap). The worker's loop hands every sealed batch to output_push and gives the queues a pass
 * (output_service) when output_due says the bus may have something; at the end output_drain waits for the
 * last acknowledgements and spools the rest for the next worker of the slot.
 *
 * DESIGN
 * A reliable socket's ZMQ_FD is edge-triggered and any ZeroMQ call on the socket may consume its edge, so
 * `due` is raised by every event that may leave work behind unseen: the descriptor fired (the loop says so
 * with output_mark_due), a batch was pushed (the push sends), a service pass stopped with input still
 * waiting. Asking ZeroMQ on every wake-up instead would cost a poll() of its mailbox per socket each time a
 * check's socket wakes the loop — a few microseconds per check at thousands of checks per second. */
#ifndef CW_WORKER_OUTPUT_H
#define CW_WORKER_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bus/ackq.h"
#include "common/bus/bus.h"
#include "common/config/config.h"

#define OUTPUT_MAX 2 /* reliable destinations: storer, alerter */

struct worker_output {
    struct bus *bus;           /* the process's (common/proc/proc.h), not owned */
    struct bus_socket *pub;    /* to the relay, best effort; NULL when there is no publish_address */
    struct ackq q[OUTPUT_MAX]; /* acknowledged destinations, in this order: storer, alerter (when wanted) */
    unsigned n;
    bool due; /* a pass of output_service is needed (see DESIGN) */
};

/* Sums over the destinations, for the worker's stats. */
struct output_totals {
    uint64_t pending_batches, dropped, spool_full_dropped, resent, spooled, spool_bytes, acks_malformed, refused;
};

/* Opens on bus a queue per destination cfg wants (spools run_dir/worker-<slot>-<name>.spool, memory
 * bound outbox_bytes each, disk bound spool_max_bytes each), and the publisher. What cannot be opened is
 * fatal: exit 2 for an address or path from the configuration, 1 otherwise. */
void output_open(struct worker_output *o, struct bus *bus, const struct cw_config *cfg, unsigned slot,
                 size_t outbox_bytes, uint64_t spool_max_bytes);

/* Queues one sealed batch of results (first..last, n of them) to every destination and publishes it. */
void output_push(struct worker_output *o, const void *data, size_t len, uint32_t worker, uint64_t boot_id,
                 uint64_t first, uint64_t last, unsigned n);

/* Publishes a stats message (best effort). */
void output_publish_stats(struct worker_output *o, const void *data, size_t len);

/* The loop saw a reliable socket's descriptor fire. */
static inline void output_mark_due(struct worker_output *o) { o->due = true; }

/* Whether output waits for a socket (unsent within the window, or unread in a spool): the loop must look
 * again now and then, as no edge may come for it. */
bool output_pending(const struct worker_output *o);

/* Whether output_service should run now: due, output pending, or a resend deadline reached. */
bool output_due(const struct worker_output *o, int64_t now_ns);

/* Reads acknowledgements, resends what timed out, sends what the windows allow. */
void output_service(struct worker_output *o);

/* The earliest resend deadline (CLOCK_MONOTONIC ns), INT64_MAX when nothing is in flight. */
int64_t output_next_deadline(const struct worker_output *o);

/* Adopts the spools that workers of slots >= slots left in run_dir (fewer workers after a reload): at start
 * every one, later those untouched for a few seconds (a retiring worker may still be writing its own). */
void output_adopt_orphans(struct worker_output *o, const char *run_dir, unsigned slots, bool at_start);

/* At the end: waits up to a second for the acknowledgements of what is in flight, then spools (and syncs)
 * whatever is not acknowledged, for the next worker of this slot. Logs what it kept, and any loss. */
void output_drain(struct worker_output *o);

void output_totals(const struct worker_output *o, struct output_totals *t);

/* The queue of a destination ("storer", "alerter"), NULL when the configuration wants none. */
struct ackq *output_queue(struct worker_output *o, const char *name);

/* Frees the queues and closes their sockets (linger 0: what was not acknowledged is in the spools) and the
 * publisher's; the bus stays the process's to free. */
void output_close(struct worker_output *o);

#endif
