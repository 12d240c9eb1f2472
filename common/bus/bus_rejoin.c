/* common/bus/bus_rejoin.c — connecting again after a handshake the server refused (see bus_rejoin.h). */
#include "common/bus/bus_rejoin.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/base/clock.h"
#include "common/base/log.h"

#define LOOK_EVERY_NS 100000000LL /* the monitor is read at most this often */
#define RETRY_NS ((int64_t)BUS_REJOIN_RETRY_MS * 1000000LL)

enum rejoin_state { REJOIN_CONNECTED, REJOIN_REFUSED, REJOIN_FAILED };

/* What the log said last of each address, for the whole process: a socket closed and opened again to the same
 * address (the probe host's configuration socket is, while the central does not answer) says nothing new. */
#define SAID_MAX 32
static pthread_mutex_t said_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char address[256];
    enum rejoin_state state;
} said[SAID_MAX];

/* Records that address is now in state; returns the state said before (REJOIN_CONNECTED: none). */
static enum rejoin_state say(const char *address, enum rejoin_state state)
{
    pthread_mutex_lock(&said_lock);
    int k = -1, free_slot = -1;
    for (int i = 0; i < SAID_MAX && k < 0; i++) {
        if (said[i].address[0] && strcmp(said[i].address, address) == 0) k = i;
        else if (!said[i].address[0] && free_slot < 0) free_slot = i;
    }
    enum rejoin_state before = k < 0 ? REJOIN_CONNECTED : said[k].state;
    if (k < 0 && state != REJOIN_CONNECTED && free_slot >= 0) {
        k = free_slot;
        snprintf(said[k].address, sizeof said[k].address, "%s", address);
    }
    if (k >= 0) said[k].state = state;
    pthread_mutex_unlock(&said_lock);
    return before;
}

struct bus_rejoin {
    void *mon; /* PAIR connected to the socket's monitor */
    char address[256];
    char key[48]; /* this process's CURVE public key (Z85), "" without CURVE */
    enum rejoin_state state;
    bool down;         /* the last handshake failed: the session is gone until the socket connects again */
    int64_t retry_at;  /* when it connects again (monotonic ns) */
    int64_t next_look; /* when the monitor is read again */
};

struct bus_rejoin *bus_rejoin_watch(void *zmq_ctx, void *zsock, const char *address, const char *own_key_z85, char *err,
                                    size_t errlen)
{
    static atomic_uint serial;
    struct bus_rejoin *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(r->address, sizeof r->address, "%s", address);
    snprintf(r->key, sizeof r->key, "%s", own_key_z85 ? own_key_z85 : "");
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "inproc://clockwerk-rejoin-%p-%u", (void *)r, atomic_fetch_add(&serial, 1));
    int events = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    int zero = 0;
    if (zmq_socket_monitor(zsock, endpoint, events) != 0 || !(r->mon = zmq_socket(zmq_ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(r->mon, ZMQ_LINGER, &zero, sizeof zero) != 0 || zmq_connect(r->mon, endpoint) != 0) {
        snprintf(err, errlen, "cannot watch the handshakes of %s: %s", address, zmq_strerror(errno));
        bus_rejoin_stop(r, zsock);
        return NULL;
    }
    return r;
}

/* What a protocol error at the handshake means from the client's side (bus_auth.c says it from the server's). */
static const char *protocol_failure(uint32_t value)
{
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return "the server does not use the same security (CURVE on one end only)";
    bool curve = value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC || value == ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE;
    return curve ? "a CURVE handshake that failed (is bus.curve_server_key the server's public key?)"
                 : "not a ZeroMQ handshake of this kind (is it the address of the right Clockwerk server?)";
}

/* One handshake that failed in a way libzmq does not retry: the state, logged when it changes. */
static void on_failure(struct bus_rejoin *r, uint16_t event, uint32_t value, int64_t now)
{
    r->state = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? REJOIN_REFUSED : REJOIN_FAILED;
    if (!r->down) r->retry_at = now + RETRY_NS;
    r->down = true;
    if (say(r->address, r->state) == r->state) return; /* said already */
    if (r->state == REJOIN_REFUSED)
        log_warn("the bus server %s refused this host's CURVE key %s (status %u): connecting again every %d s until "
                 "it is admitted (on that host: bus.curve_allowed_keys, or this location's `key` in `locations` on a "
                 "central host)",
                 r->address, r->key[0] ? r->key : "(none)", value, BUS_REJOIN_RETRY_MS / 1000);
    else
        log_warn("the handshake with %s failed: %s: connecting again every %d s", r->address, protocol_failure(value),
                 BUS_REJOIN_RETRY_MS / 1000);
}

static void on_success(struct bus_rejoin *r)
{
    enum rejoin_state was = say(r->address, REJOIN_CONNECTED);
    if (was == REJOIN_REFUSED)
        log_info("the bus server %s admitted this host's CURVE key again: connected", r->address);
    else if (was == REJOIN_FAILED) log_info("the handshake with %s succeeded again: connected", r->address);
    r->state = REJOIN_CONNECTED;
    r->down = false;
}

/* Reads every event waiting: frame 1 is a u16 event and a u32 value (host order), frame 2 the endpoint. */
static void read_events(struct bus_rejoin *r, int64_t now)
{
    for (;;) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, r->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        bool more = zmq_msg_more(&ev);
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (const char *)zmq_msg_data(&ev) + 2, 4);
        }
        zmq_msg_close(&ev);
        while (more) { /* the endpoint: known already */
            zmq_msg_t part;
            zmq_msg_init(&part);
            more = zmq_msg_recv(&part, r->mon, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&part);
            zmq_msg_close(&part);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) on_success(r);
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            on_failure(r, event, value, now);
    }
}

void bus_rejoin_tend(struct bus_rejoin *r, void *zsock)
{
    int64_t now = cw_mono_ns();
    if (now < r->next_look) return;
    r->next_look = now + LOOK_EVERY_NS;
    read_events(r, now);
    if (!r->down || now < r->retry_at) return;
    /* the session ended with the failed handshake; the endpoint is still registered: forget it, connect anew */
    if (zmq_disconnect(zsock, r->address) != 0 && errno != ENOENT)
        log_warn("cannot disconnect from %s to connect again: %s", r->address, zmq_strerror(errno));
    if (zmq_connect(zsock, r->address) != 0)
        log_warn("cannot connect to %s again: %s", r->address, zmq_strerror(errno));
    r->down = false; /* until the monitor says the next handshake failed too */
    r->retry_at = now + RETRY_NS;
}

void bus_rejoin_stop(struct bus_rejoin *r, void *zsock)
{
    if (!r) return;
    (void)zmq_socket_monitor(zsock, NULL, 0);
    if (r->mon) zmq_close(r->mon);
    free(r);
}
