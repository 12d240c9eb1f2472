/* common/bus/bus_forward.c — the relay's forwarding loop (bus_relay_run in bus.c binds the sockets, this moves the
 * messages between them), and discarding the rest of a multipart message (bus_recv and the relay). */
#include "common/bus/bus_forward.h"

#include <errno.h>
#include <stdio.h>
#include <zmq.h>

static bool more_frames(void *zsock)
{
    int more = 0;
    size_t sz = sizeof more;
    return zmq_getsockopt(zsock, ZMQ_RCVMORE, &more, &sz) == 0 && more;
}

void bus_drain_frames(void *zsock)
{
    while (more_frames(zsock)) {
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        if (zmq_msg_recv(&junk, zsock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&junk);
            if (errno == EINTR) continue;
            return;
        }
        zmq_msg_close(&junk);
    }
}

/* Sends one frame on (more: another follows). 0; 1 when `to` could not take it (dropped: best effort); -1. */
static int relay_send(zmq_msg_t *frame, void *to, bool more)
{
    if (zmq_msg_send(frame, to, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) >= 0) return 0;
    zmq_msg_close(frame);
    return errno == EAGAIN ? 1 : -1;
}

/* Moves one message from `from` to `to`: a message of one or two frames (one of more frames is malformed
 * everywhere, docs/protocol.md 2: dropped). One that came with a CURVE key (its User-Id) goes through admit first
 * (when set; payload NULL unless it has two frames); any other is passed undecoded. 1 when one was there, 0 when
 * none, -1 with errno set. */
static int relay_one(void *from, void *to, bus_relay_admit_fn admit, void *arg)
{
    zmq_msg_t first, payload;
    zmq_msg_init(&first);
    if (zmq_msg_recv(&first, from, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&first);
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    zmq_msg_init(&payload);
    bool two = zmq_msg_more(&first), shaped = true;
    int rc = 0;
    if (two) { /* ZeroMQ delivers a message whole: the rest is there */
        rc = zmq_msg_recv(&payload, from, ZMQ_DONTWAIT) < 0 ? -1 : 0;
        shaped = rc == 0 && !zmq_msg_more(&payload);
        if (rc == 0 && !shaped) bus_drain_frames(from);
    }
    const char *key = admit && rc == 0 ? zmq_msg_gets(&first, "User-Id") : NULL;
    bool pass = rc == 0 && shaped;
    if (key && key[0])
        pass = admit(arg, key, zmq_msg_data(&first), zmq_msg_size(&first),
                     two && shaped ? zmq_msg_data(&payload) : NULL, two && shaped ? zmq_msg_size(&payload) : 0);
    if (pass && shaped) {
        rc = relay_send(&first, to, two);
        if (rc == 0 && two) return relay_send(&payload, to, false) < 0 ? -1 : 1;
        zmq_msg_close(&payload);
        return rc < 0 ? -1 : 1;
    }
    zmq_msg_close(&first);
    zmq_msg_close(&payload);
    return rc == 0 ? 1 : -1;
}

/* Moves at most RELAY_BURST messages (then the stop descriptor is looked at again). Not zmq_proxy: it cannot wait
 * on the signalfd too, nor read each message's User-Id. 0, or -1 with errno set. */
#define RELAY_BURST 256
static int relay_pass(void *from, void *to, bus_relay_admit_fn admit, void *arg)
{
    for (int n = 0; n < RELAY_BURST; n++) {
        int rc = relay_one(from, to, admit, arg);
        if (rc <= 0) return rc;
    }
    return 0;
}

int bus_forward(void *xsub, void *xpub, int stop_fd, bool (*stop)(void *arg), bus_relay_admit_fn admit, void *arg,
                char *err, size_t errlen)
{
    for (;;) {
        zmq_pollitem_t items[3] = {
            { .socket = xsub, .events = ZMQ_POLLIN },
            { .socket = xpub, .events = ZMQ_POLLIN }, /* the tap's subscriptions, upstream */
            { .socket = NULL, .fd = stop_fd, .events = ZMQ_POLLIN },
        };
        if (zmq_poll(items, stop_fd >= 0 ? 3 : 2, -1) < 0) {
            if (errno == EINTR) continue;
            snprintf(err, errlen, "relay stopped: %s", zmq_strerror(errno));
            return -1;
        }
        if (stop_fd >= 0 && (items[2].revents & ZMQ_POLLIN) && stop(arg)) return 0;
        if (((items[0].revents & ZMQ_POLLIN) && relay_pass(xsub, xpub, admit, arg) != 0) ||
            ((items[1].revents & ZMQ_POLLIN) && relay_pass(xpub, xsub, NULL, NULL) != 0)) {
            snprintf(err, errlen, "relay stopped: %s", zmq_strerror(errno));
            return -1;
        }
    }
}
