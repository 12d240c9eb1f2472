/* worker/hello.h — the worker's heartbeat to the alerter (issue 16, docs/protocol.md 2.9): a HELLO once a second on
 * the alerter's socket, outside the acknowledged queue (one that cannot be sent now is dropped and counted, never
 * queued: the next one says the same, newer), and the clock offset measured from each HELLO_ECHO.
 *
 * DESIGN
 * The echo carries the HELLO's send time t1 (the worker's wall clock) and the alerter's clock t2 when it arrived.
 * The worker remembers the monotonic time of each of its last HELLO_RING HELLOs by t1: an echo of a HELLO it did
 * not send (or one too old to remember) is ignored, and the round trip comes from the monotonic clock, so a step
 * of the wall clock between send and echo cannot make it negative. offset = t1 + rtt / 2 - t2 (the NTP estimate
 * (t1 + t4) / 2 - t2 with t4 = t1 + rtt): the worker's clock minus the alerter's, off by at most rtt / 2. Of the
 * last HELLO_SAMPLES measurements the one with the smallest round trip (the least queueing) is the one reported in
 * the next HELLO. */
#ifndef CW_WORKER_HELLO_H
#define CW_WORKER_HELLO_H

#include <stdbool.h>
#include <stdint.h>

#include "common/base/util.h"
#include "common/bus/bus.h"

#define HELLO_PERIOD_NS 1000000000LL
#define HELLO_SAMPLES 8 /* measurements the reported offset is chosen from */
#define HELLO_RING 8    /* HELLOs whose echo is still expected */

struct hello_sample {
    int64_t offset_us, rtt_us;
};

struct worker_hello {
    struct bus_socket *sock; /* the alerter's (BUS_SEND_RELIABLE, borrowed); NULL: no alerter, no HELLO */
    const char *location;
    uint32_t worker;
    uint64_t boot_id;
    uint32_t endpoints;
    int64_t next_ns; /* monotonic time of the next HELLO */
    struct {
        int64_t sent_wall_us, sent_mono_us;
    } ring[HELLO_RING];
    unsigned ring_next;
    struct hello_sample samples[HELLO_SAMPLES];
    unsigned n_samples, sample_next;
    struct cw_buf buf;
    /* counters since start */
    uint64_t sent, dropped, echoes, echoes_ignored;
};

/* Sets h up; the first HELLO goes out at the first hello_tick. sock NULL: nothing is ever sent. */
void hello_open(struct worker_hello *h, struct bus_socket *sock, const char *location, uint32_t worker,
                uint64_t boot_id, uint32_t endpoints);
/* Sends a HELLO when one is due (now: CLOCK_MONOTONIC ns). */
void hello_tick(struct worker_hello *h, int64_t now_ns);
/* When the next HELLO is due (monotonic ns); INT64_MAX without an alerter. */
int64_t hello_next_ns(const struct worker_hello *h);
/* Takes one echo: its HELLO's t1, the alerter's t2, the worker's monotonic now (µs). False when it does not
 * answer a HELLO this worker remembers (counted in echoes_ignored). */
bool hello_take_echo(struct worker_hello *h, int64_t t1_us, int64_t t2_us, int64_t now_mono_us);
/* The measurement to report: the smallest round trip of the last HELLO_SAMPLES; false when there is none. */
bool hello_best(const struct worker_hello *h, struct hello_sample *out);
/* For ackq_set_other on the alerter's queue: takes a HELLO_ECHO (decoded defensively), refuses anything else. */
bool hello_on_message(void *arg, const struct bus_msg *m);
void hello_close(struct worker_hello *h);

#endif
