/* alerter/storeq.h — the alerter's records of its alerts: each alert's current state is sent to the storer
 * (CW_MSG_ALERT, reliable: an acknowledged queue, common/bus/ackq.h, spooled to run_dir/alerter-storer.spool)
 * when it is raised and again on each delivery-state change, and published for the tap (best effort, URL
 * masked). The loop gives the queue a pass after every wake-up (storeq_flush), sleeps no longer than it
 * allows (storeq_timeout_ms, storeq_fd), and at SIGTERM waits briefly for the last acks (storeq_drain). */
#ifndef CW_ALERTER_STOREQ_H
#define CW_ALERTER_STOREQ_H

#include <stdbool.h>

#include "alerter/alert.h"
#include "common/bus/ackq.h"
#include "common/bus/bus.h"
#include "common/config/config.h"
#include "common/base/util.h"

struct storeq {
    struct bus_socket *store; /* to the storer; NULL when the configuration wants no storer */
    struct bus_socket *pub;   /* to the tap, set by the caller (its own: stats go out on it too); may be NULL */
    struct ackq q;            /* alert records to the storer, kept until acked (common/bus/ackq.h) */
    bool has_q;
    struct cw_buf scratch;
};

/* Opens the socket to the storer and its queue when cfg wants a storer (on bus); what cannot be opened is
 * fatal (exit 2 for a run_dir too long, 1 otherwise). */
void storeq_open(struct storeq *s, struct bus *bus, const struct cw_config *cfg);

/* Sends the alert's current state to the storer (reliable, queued) and the tap (best effort, URL masked). */
void storeq_record(struct storeq *s, const struct alert_rec *al);

/* Reads acks, resends what timed out, sends what the window allows. */
void storeq_flush(struct storeq *s);

/* How long the loop may sleep for the queue (ms; -1: no bound from it, 0: the storer's socket is ready). */
long storeq_timeout_ms(const struct storeq *s);

/* The storer's socket's fd for the loop's poll, -1 when there is no queue. */
int storeq_fd(const struct storeq *s);

/* At SIGTERM: up to a second for the storer's acks, then what is unacked goes to the spool (replayed at
 * the next start). */
void storeq_drain(struct storeq *s);

void storeq_free(struct storeq *s);

#endif
