/* worker/hello.c — the worker's HELLO and its clock offset (see hello.h). */
#include "worker/hello.h"

#include <errno.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/wire/protocol.h"

void hello_open(struct worker_hello *h, struct bus_socket *sock, const char *location, uint32_t worker,
                uint64_t boot_id, uint32_t endpoints)
{
    memset(h, 0, sizeof *h);
    h->sock = sock;
    h->location = location;
    h->worker = worker;
    h->boot_id = boot_id;
    h->endpoints = endpoints;
    h->next_ns = 0; /* at once */
}

int64_t hello_next_ns(const struct worker_hello *h) { return h->sock ? h->next_ns : INT64_MAX; }

bool hello_best(const struct worker_hello *h, struct hello_sample *out)
{
    if (h->n_samples == 0) return false;
    *out = h->samples[0];
    for (unsigned i = 1; i < h->n_samples; i++)
        if (h->samples[i].rtt_us < out->rtt_us) *out = h->samples[i];
    return true;
}

void hello_tick(struct worker_hello *h, int64_t now_ns)
{
    if (!h->sock || now_ns < h->next_ns) return;
    /* the next one a period after this one was due, or after now when the loop was late by more than a period */
    h->next_ns = h->next_ns + HELLO_PERIOD_NS > now_ns ? h->next_ns + HELLO_PERIOD_NS : now_ns + HELLO_PERIOD_NS;
    struct hello_sample best = { CW_OFFSET_UNKNOWN, -1 };
    (void)hello_best(h, &best);
    struct cw_hello msg = { .location = h->location,
                            .worker = h->worker,
                            .boot_id = h->boot_id,
                            .sent_at_us = cw_wall_us(),
                            .offset_us = best.offset_us,
                            .rtt_us = best.rtt_us,
                            .endpoints = h->endpoints };
    if (proto_hello_encode(&h->buf, &msg) != 0) { /* a wall clock outside 2000..2100: nothing to say */
        h->dropped++;
        return;
    }
    int rc = bus_send(h->sock, CW_MSG_HELLO, h->buf.data, h->buf.len);
    if (rc != BUS_SENT) { /* no alerter connected, or its pipe is full: dropped, the next one says the same */
        if (rc == BUS_ERROR) log_debug("cannot send a HELLO: %s", strerror(errno));
        h->dropped++;
        return;
    }
    h->sent++;
    h->ring[h->ring_next].sent_wall_us = msg.sent_at_us;
    h->ring[h->ring_next].sent_mono_us = now_ns / 1000;
    h->ring_next = (h->ring_next + 1) % HELLO_RING;
}

bool hello_take_echo(struct worker_hello *h, int64_t t1_us, int64_t t2_us, int64_t now_mono_us)
{
    for (unsigned i = 0; i < HELLO_RING; i++) {
        if (h->ring[i].sent_wall_us != t1_us || t1_us == 0) continue;
        int64_t rtt = now_mono_us - h->ring[i].sent_mono_us;
        h->ring[i].sent_wall_us = 0; /* one echo per HELLO */
        if (rtt < 0) break;
        h->samples[h->sample_next] = (struct hello_sample){ .offset_us = t1_us + rtt / 2 - t2_us, .rtt_us = rtt };
        h->sample_next = (h->sample_next + 1) % HELLO_SAMPLES;
        if (h->n_samples < HELLO_SAMPLES) h->n_samples++;
        h->echoes++;
        return true;
    }
    h->echoes_ignored++;
    return false;
}

bool hello_on_message(void *arg, const struct bus_msg *m)
{
    struct worker_hello *h = arg;
    if (m->type != CW_MSG_HELLO_ECHO) return false;
    struct cw_hello_echo e;
    const char *why = NULL;
    if (proto_hello_echo_decode(m->data, m->len, &e, &why) != 0) {
        log_debug("malformed HELLO_ECHO dropped: %s", why);
        h->echoes_ignored++;
        return true; /* counted here, not as a malformed ack */
    }
    (void)hello_take_echo(h, e.sent_at_us, e.received_at_us, cw_mono_us());
    return true;
}

void hello_close(struct worker_hello *h)
{
    cw_buf_free(&h->buf);
    h->sock = NULL;
}
