/* common/bus/bus.c — ZeroMQ behind the interface of bus.h. Socket options are chosen per role here:
 *  - reliable senders (DEALER) set ZMQ_IMMEDIATE: while no receiver is connected a send is refused
 *    (BUS_WOULD_BLOCK) and the message stays in the caller's outbox (common/bus/ackq.h), instead of sitting in
 *    a ZeroMQ pipe that can die with a connection; they linger 0 at close: what is not acknowledged is the
 *    outbox's business (spooled at exit), so a stop never hangs on a receiver that is away;
 *  - the configuration roles (issue 16): the central's ROUTER is a server like a reliable receiver's; the probe's
 *    DEALER queues one request while the central is away (ZMQ_IMMEDIATE 0, SNDHWM 1) and takes answers up to
 *    CW_CONFIG_MSG_MAX;
 *  - every tcp:// socket sends ZMTP heartbeats (HEARTBEAT_IVL_MS, HEARTBEAT_TIMEOUT_MS);
 *  - reliable receivers (ROUTER) linger 0 (an ack lost at close is answered by a resend) and drop acks for
 *    peers that are gone or do not read (ROUTER without ZMQ_ROUTER_MANDATORY never blocks);
 *  - publishers and subscribers never block and linger 0: the tap is best effort;
 *  - receivers refuse frames larger than CW_PAYLOAD_MAX (ZMQ_MAXMSGSIZE), so a hostile peer cannot make
 *    them allocate a huge frame. Known weakness: that bounds each frame, not the number of frames; libzmq
 *    buffers a multipart message whole before bus_recv sees (and drops) it, so a peer that sends one
 *    message of millions of small frames costs memory — which is why a tcp:// address off loopback requires
 *    CURVE (below): only an allow-listed peer gets as far as sending frames;
 *  - with CURVE set (bus_set_curve), every tcp:// socket uses it: a binding socket (ROUTER, the relay's XSUB and
 *    XPUB) is a CURVE server in the ZAP domain of its role, whose clients bus_auth.c admits by public key and
 *    domain, a connecting one a CURVE client that knows the server's key. ipc://: the file's permissions guard it. */
#include "common/bus/bus.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <zmq.h>

#include "common/bus/bus_auth.h"
#include "common/bus/bus_forward.h"
#include "common/bus/bus_rejoin.h"

#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
#define BUS_ZAP_ENFORCE_DOMAIN ZMQ_ZAP_ENFORCE_DOMAIN
#else
#define BUS_ZAP_ENFORCE_DOMAIN 93 /* libzmq 4.3's number for the draft option */
#endif

_Static_assert(sizeof(zmq_msg_t) <= sizeof(((struct bus_msg *)0)->impl), "bus_msg.impl too small");

#define BUS_MAX_SOCKETS (16 + 256) /* the web: a push socket per worker slot (at most 256 workers) */
/* What ZeroMQ may queue on a reliable path, in messages (each a batch of up to 256 results), per peer: a
 * sender's DEALER queues at most RELIABLE_SEND_HWM batches (then a send is refused and the batch waits in the
 * sender's bounded outbox, common/bus/ackq.h): small on purpose, the outbox, not ZeroMQ, holds what a slow or
 * stopped receiver has not taken (docs/operations.md 10). A receiver's ROUTER reads at most RELIABLE_RECV_HWM
 * ahead of its loop per sender: what a sender may have in flight (its window of 1,024 batches, plus the
 * copies its DEALER holds), so that a sender within its window is never held back, and no more. Acks (the
 * other direction) are small: RELIABLE_ACK_HWM. */
#define RELIABLE_SEND_HWM 64
#define RELIABLE_RECV_HWM (1024 + RELIABLE_SEND_HWM)
#define RELIABLE_ACK_HWM 100000
#define BEST_EFFORT_HWM 10000
#define PUSH_CALLS_HWM 1000 /* push calls queued web -> worker (per worker); then the web answers 503 */
#define CONFIG_HWM 16       /* configuration requests and answers queued per peer (issue 16) */
/* ZMTP heartbeats on every tcp:// socket: a PING every 2 s, the connection dropped (and a connecting socket
 * reconnecting) when nothing came back within 6 s — a link cut without a FIN or RST is noticed (docs/protocol.md). */
#define HEARTBEAT_IVL_MS 2000
#define HEARTBEAT_TIMEOUT_MS 6000

struct bus_socket {
    struct bus *bus;
    void *zsock;
    enum bus_role role;
    struct bus_rejoin *rejoin; /* a connecting tcp:// socket: connects again after a refused handshake */
};

struct bus {
    void *ctx;
    struct bus_socket *sockets[BUS_MAX_SOCKETS];
    struct bus_curve_keys *curve; /* NULL: no CURVE */
    struct bus_auth *auth;        /* started with the first CURVE server socket */
};

struct bus *bus_new(char *err, size_t errlen)
{
    struct bus *bus = calloc(1, sizeof *bus);
    if (!bus) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bus->ctx = zmq_ctx_new();
    if (!bus->ctx) {
        snprintf(err, errlen, "cannot create ZeroMQ context: %s", zmq_strerror(errno));
        free(bus);
        return NULL;
    }
    return bus;
}

void bus_free(struct bus *bus)
{
    if (!bus) return;
    for (int i = 0; i < BUS_MAX_SOCKETS; i++)
        if (bus->sockets[i]) bus_close(bus->sockets[i]);
    bus_auth_stop(bus->auth);
    while (zmq_ctx_term(bus->ctx) != 0 && errno == EINTR) {
    }
    if (bus->curve) {
        free(bus->curve->allowed);
        free(bus->curve->producers);
        explicit_bzero(bus->curve, sizeof *bus->curve); /* the secret key */
        free(bus->curve);
    }
    free(bus);
}

const char *bus_address_problem(const char *address)
{
    if (!address || !address[0]) return "empty address";
    if (strncmp(address, "ipc://", 6) == 0) {
        const char *path = address + 6;
        if (path[0] != '/') return "ipc:// address must be an absolute path";
        if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return "ipc:// path is too long for a Unix socket (at most 107 bytes)";
        return NULL;
    }
    if (strncmp(address, "tcp://", 6) == 0) {
        const char *colon = strrchr(address + 6, ':');
        if (!colon || colon == address + 6) return "tcp:// address needs host:port";
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || port < 1 || port > 65535) return "tcp:// port must be 1..65535";
        return NULL;
    }
    return "address must start with ipc:// or tcp://";
}

static int set_int(void *zsock, int option, int value) { return zmq_setsockopt(zsock, option, &value, sizeof value); }

/* A peer that sends a frame larger than any valid message is disconnected by ZeroMQ before the frame is
 * allocated: a hostile or broken peer cannot make a receiver buffer gigabytes. */
static int set_max_msg_size(void *zsock, int64_t max)
{
    return zmq_setsockopt(zsock, ZMQ_MAXMSGSIZE, &max, sizeof max);
}

static int set_heartbeat(void *zsock, const char *address)
{
    if (strncmp(address, "tcp://", 6) != 0) return 0;
    return set_int(zsock, ZMQ_HEARTBEAT_IVL, HEARTBEAT_IVL_MS) |
           set_int(zsock, ZMQ_HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS);
}

/* The roles whose socket is a ROUTER: bound, every message prefixed by its peer's routing id, answered with
 * bus_send_to, a CURVE server on tcp://. */
static bool routes(enum bus_role role) { return role == BUS_RECV_RELIABLE || role == BUS_SERVE_CONFIG; }

int bus_set_curve(struct bus *bus, const struct bus_curve_keys *keys, char *err, size_t errlen)
{
    if (!zmq_has("curve")) {
        snprintf(err, errlen, "this libzmq has no CURVE support");
        return -1;
    }
    struct bus_curve_keys *k = calloc(1, sizeof *k);
    if (!k || !(k->allowed = calloc(keys->n_allowed ? keys->n_allowed : 1, sizeof *k->allowed)) ||
        !(k->producers = calloc(keys->n_producers ? keys->n_producers : 1, sizeof *k->producers))) {
        if (k) free(k->allowed);
        free(k);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(k->public_z85, keys->public_z85, sizeof k->public_z85);
    memcpy(k->secret_z85, keys->secret_z85, sizeof k->secret_z85);
    memcpy(k->server_z85, keys->server_z85, sizeof k->server_z85);
    if (keys->n_allowed) memcpy(k->allowed, keys->allowed, keys->n_allowed * sizeof *k->allowed);
    k->n_allowed = keys->n_allowed;
    if (keys->n_producers) memcpy(k->producers, keys->producers, keys->n_producers * sizeof *k->producers);
    k->n_producers = keys->n_producers;
    bus->curve = k;
    return 0;
}

uint64_t bus_refused_clients(const struct bus *bus) { return bus ? bus_auth_refused(bus->auth) : 0; }

/* CURVE options for a socket on `address`, before its bind or connect: a server (binds) in ZAP domain
 * `domain` (BUS_ZAP_DOMAIN_*: which keys bus_auth.c admits there), or a client (domain NULL). */
static int secure_socket(struct bus *bus, void *z, const char *address, const char *domain, char *err, size_t errlen)
{
    if (!bus->curve || strncmp(address, "tcp://", 6) != 0) return 0;
    const struct bus_curve_keys *k = bus->curve;
    int rc;
    if (domain) {
        if (!bus->auth && !(bus->auth = bus_auth_start(bus->ctx, (const uint8_t(*)[BUS_AUTH_KEY_BYTES])k->allowed,
                                                       k->n_allowed, (const uint8_t(*)[BUS_AUTH_KEY_BYTES])k->producers,
                                                       k->n_producers, err, errlen)))
            return -1;
        int one = 1;
        rc = zmq_setsockopt(z, ZMQ_CURVE_SERVER, &one, sizeof one) |
             zmq_setsockopt(z, ZMQ_CURVE_SECRETKEY, k->secret_z85, BUS_CURVE_Z85) |
             zmq_setsockopt(z, ZMQ_ZAP_DOMAIN, domain, strlen(domain));
        /* Without a ZAP handler libzmq admits every CURVE client; with the domain enforced it refuses them.
         * A draft option: a libzmq built without drafts refuses it (EINVAL), and then the handler thread
         * never goes away while the process lives (bus_auth.c ends the process if it must stop). */
        if (rc == 0) (void)zmq_setsockopt(z, BUS_ZAP_ENFORCE_DOMAIN, &one, sizeof one);
        if (rc == 0 && bus_auth_watch(bus->auth, z, address, err, errlen) != 0) return -1;
    } else {
        rc = zmq_setsockopt(z, ZMQ_CURVE_SERVERKEY, k->server_z85, BUS_CURVE_Z85) |
             zmq_setsockopt(z, ZMQ_CURVE_PUBLICKEY, k->public_z85, BUS_CURVE_Z85) |
             zmq_setsockopt(z, ZMQ_CURVE_SECRETKEY, k->secret_z85, BUS_CURVE_Z85);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot set CURVE on %s: %s", address, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

struct bus_socket *bus_open(struct bus *bus, enum bus_role role, const char *address, char *err, size_t errlen)
{
    static const int types[] = {
        [BUS_SEND_RELIABLE] = ZMQ_DEALER, [BUS_RECV_RELIABLE] = ZMQ_ROUTER, [BUS_PUBLISH] = ZMQ_PUB,
        [BUS_SUBSCRIBE] = ZMQ_SUB,        [BUS_PUSH_CALLS] = ZMQ_PUSH,      [BUS_PULL_CALLS] = ZMQ_PULL,
        [BUS_SERVE_CONFIG] = ZMQ_ROUTER,  [BUS_FETCH_CONFIG] = ZMQ_DEALER
    };
    const char *problem = bus_address_problem(address);
    if (problem) {
        snprintf(err, errlen, "%s: %s", address ? address : "(none)", problem);
        return NULL;
    }
    int slot = -1;
    for (int i = 0; i < BUS_MAX_SOCKETS && slot < 0; i++)
        if (!bus->sockets[i]) slot = i;
    if (slot < 0) {
        snprintf(err, errlen, "too many bus sockets");
        return NULL;
    }
    void *z = zmq_socket(bus->ctx, types[role]);
    if (!z) {
        snprintf(err, errlen, "cannot create socket for %s: %s", address, zmq_strerror(errno));
        return NULL;
    }
    bool reliable = role == BUS_SEND_RELIABLE || role == BUS_RECV_RELIABLE;
    int snd_hwm = role == BUS_SEND_RELIABLE ? RELIABLE_SEND_HWM : reliable ? RELIABLE_ACK_HWM : BEST_EFFORT_HWM;
    int rcv_hwm = role == BUS_RECV_RELIABLE ? RELIABLE_RECV_HWM : reliable ? RELIABLE_ACK_HWM : BEST_EFFORT_HWM;
    bool push_calls = role == BUS_PUSH_CALLS || role == BUS_PULL_CALLS;
    if (push_calls) snd_hwm = rcv_hwm = PUSH_CALLS_HWM;
    if (role == BUS_SERVE_CONFIG || role == BUS_FETCH_CONFIG) snd_hwm = rcv_hwm = CONFIG_HWM;
    /* a probe host's request waits in ZeroMQ while the central is away (one at most): sent when it connects */
    if (role == BUS_FETCH_CONFIG) snd_hwm = 1;
    int rc = set_int(z, ZMQ_SNDHWM, snd_hwm) | set_int(z, ZMQ_RCVHWM, rcv_hwm) | set_int(z, ZMQ_LINGER, 0) |
             set_int(z, ZMQ_IMMEDIATE, role == BUS_SEND_RELIABLE || role == BUS_PUSH_CALLS ? 1 : 0);
    if (role == BUS_SUBSCRIBE) rc |= zmq_setsockopt(z, ZMQ_SUBSCRIBE, "", 0);
    rc |= set_max_msg_size(z, role == BUS_FETCH_CONFIG ? (int64_t)CW_CONFIG_MSG_MAX : CW_PAYLOAD_MAX);
    rc |= set_heartbeat(z, address);
    const char *domain = role == BUS_RECV_RELIABLE  ? BUS_ZAP_DOMAIN_RELIABLE
                         : role == BUS_SERVE_CONFIG ? BUS_ZAP_DOMAIN_CONFIG
                                                    : NULL; /* the other roles connect: CURVE clients */
    if (rc == 0 && secure_socket(bus, z, address, domain, err, errlen) != 0) {
        zmq_close(z);
        return NULL;
    }
    bool binds = routes(role) || role == BUS_PULL_CALLS;
    struct bus_rejoin *rejoin = NULL;
    if (rc == 0 && !binds && strncmp(address, "tcp://", 6) == 0 &&
        !(rejoin = bus_rejoin_watch(bus->ctx, z, address, bus->curve ? bus->curve->public_z85 : NULL, err, errlen))) {
        zmq_close(z);
        return NULL;
    }
    if (rc == 0) rc = binds ? zmq_bind(z, address) : zmq_connect(z, address);
    struct bus_socket *s = rc == 0 ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        if (rc != 0)
            snprintf(err, errlen, "cannot %s %s: %s", binds ? "bind" : "connect", address, zmq_strerror(errno));
        else snprintf(err, errlen, "out of memory");
        bus_rejoin_stop(rejoin, z);
        zmq_close(z);
        return NULL;
    }
    s->rejoin = rejoin;
    s->bus = bus;
    s->zsock = z;
    s->role = role;
    bus->sockets[slot] = s;
    return s;
}

/* Every call on a socket lets a connecting one look at its handshakes (common/bus/bus_rejoin.h). */
static void tend(struct bus_socket *s)
{
    if (s->rejoin) bus_rejoin_tend(s->rejoin, s->zsock);
}

int bus_subscribe_only(struct bus_socket *s, enum cw_msg_type type)
{
    const char *topic = proto_topic(type);
    if (!s || s->role != BUS_SUBSCRIBE || !topic) {
        errno = EINVAL;
        return -1;
    }
    if (zmq_setsockopt(s->zsock, ZMQ_UNSUBSCRIBE, "", 0) != 0) return -1;
    return zmq_setsockopt(s->zsock, ZMQ_SUBSCRIBE, topic, strlen(topic));
}

void bus_close(struct bus_socket *s)
{
    if (!s) return;
    for (int i = 0; i < BUS_MAX_SOCKETS; i++)
        if (s->bus->sockets[i] == s) s->bus->sockets[i] = NULL;
    bus_rejoin_stop(s->rejoin, s->zsock);
    zmq_close(s->zsock);
    free(s);
}

int bus_send(struct bus_socket *s, enum cw_msg_type type, const void *payload, size_t len)
{
    const char *topic = proto_topic(type);
    if (!topic) {
        errno = EINVAL;
        return BUS_ERROR;
    }
    tend(s);
    /* ZeroMQ sends a multipart message atomically: once the first frame is accepted, the second is too. */
    for (;;) {
        if (zmq_send(s->zsock, topic, strlen(topic), ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0) break;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return s->role == BUS_PUBLISH ? BUS_SENT : BUS_WOULD_BLOCK;
        return BUS_ERROR;
    }
    for (;;) {
        if (zmq_send(s->zsock, payload, len, ZMQ_DONTWAIT) >= 0) return BUS_SENT;
        if (errno == EINTR) continue;
        return BUS_ERROR;
    }
}

int bus_send_to(struct bus_socket *s, const struct bus_peer *peer, enum cw_msg_type type, const void *payload,
                size_t len)
{
    const char *topic = proto_topic(type);
    if (!topic || !routes(s->role) || !peer || peer->len == 0 || peer->len > BUS_PEER_MAX) {
        errno = EINVAL;
        return BUS_ERROR;
    }
    /* a ROUTER drops (does not block) a message for an unknown or full peer: the sender resends */
    for (;;) {
        if (zmq_send(s->zsock, peer->id, peer->len, ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0) break;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EHOSTUNREACH) return BUS_SENT;
        return BUS_ERROR;
    }
    for (;;) {
        if (zmq_send(s->zsock, topic, strlen(topic), ZMQ_DONTWAIT | ZMQ_SNDMORE) >= 0) break;
        if (errno == EINTR) continue;
        return BUS_ERROR;
    }
    for (;;) {
        if (zmq_send(s->zsock, payload, len, ZMQ_DONTWAIT) >= 0) return BUS_SENT;
        if (errno == EINTR) continue;
        return BUS_ERROR;
    }
}

int bus_wait(struct bus_socket *const *socks, unsigned n, int fd, int timeout_ms)
{
    if (n > BUS_WAIT_MAX) {
        errno = EINVAL;
        return -1;
    }
    zmq_pollitem_t items[BUS_WAIT_MAX + 1];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        tend(socks[i]);
        items[k++] = (zmq_pollitem_t){ .socket = socks[i]->zsock, .events = ZMQ_POLLIN };
    }
    if (fd >= 0) items[k++] = (zmq_pollitem_t){ .socket = NULL, .fd = fd, .events = ZMQ_POLLIN };
    int rc = zmq_poll(items, (int)k, timeout_ms);
    if (rc < 0) return errno == EINTR ? 0 : -1;
    int ready = 0;
    for (unsigned i = 0; i < n; i++)
        if (items[i].revents & ZMQ_POLLIN) ready |= BUS_WAIT_SOCKET << i;
    if (fd >= 0 && (items[n].revents & ZMQ_POLLIN)) ready |= BUS_WAIT_FD;
    return ready;
}

int bus_recv(struct bus_socket *s, struct bus_msg *m, int timeout_ms)
{
    memset(m, 0, sizeof *m);
    tend(s);
    if (timeout_ms != 0) {
        zmq_pollitem_t item = { .socket = s->zsock, .events = ZMQ_POLLIN };
        int n = zmq_poll(&item, 1, timeout_ms);
        if (n < 0) return errno == EINTR ? 0 : -1;
        if (n == 0) return 0;
    }
    zmq_msg_t topic;
    zmq_msg_init(&topic);
    if (routes(s->role)) {
        /* a ROUTER prefixes every message with the routing id of its peer */
        if (zmq_msg_recv(&topic, s->zsock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        }
        size_t idlen = zmq_msg_size(&topic);
        bool more = zmq_msg_more(&topic);
        if (idlen > 0 && idlen <= BUS_PEER_MAX) {
            memcpy(m->peer.id, zmq_msg_data(&topic), idlen);
            m->peer.len = idlen;
        }
        zmq_msg_close(&topic);
        zmq_msg_init(&topic);
        if (!more) {
            m->type = CW_MSG_INVALID;
            return 1;
        }
        int rc;
        while ((rc = zmq_msg_recv(&topic, s->zsock, 0)) < 0 && errno == EINTR) {
        }
        if (rc < 0) {
            zmq_msg_close(&topic);
            return -1;
        }
    } else if (zmq_msg_recv(&topic, s->zsock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&topic);
        return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    }
    enum cw_msg_type type = CW_MSG_INVALID;
    if (zmq_msg_size(&topic) <= 15) type = proto_type_of_topic(zmq_msg_data(&topic), zmq_msg_size(&topic));
    bool has_payload = zmq_msg_more(&topic);
    zmq_msg_close(&topic);
    m->type = CW_MSG_INVALID;
    if (!has_payload) return 1;

    zmq_msg_t *payload = (zmq_msg_t *)m->impl;
    zmq_msg_init(payload);
    int rc;
    while ((rc = zmq_msg_recv(payload, s->zsock, 0)) < 0 && errno == EINTR) {
    }
    if (rc < 0) {
        zmq_msg_close(payload);
        return -1;
    }
    if (zmq_msg_more(payload)) {
        bus_drain_frames(s->zsock);
        zmq_msg_close(payload);
        return 1; /* three frames or more: invalid */
    }
    m->held = true;
    m->type = type;
    /* the key the ZAP handler admitted (bus_auth.c): absent on ipc:// and without CURVE */
    const char *user_id = zmq_msg_gets(payload, "User-Id");
    if (user_id && strlen(user_id) == BUS_CURVE_Z85_LEN) memcpy(m->peer_key, user_id, BUS_CURVE_Z85_LEN + 1);
    if (type != CW_MSG_INVALID) {
        m->data = zmq_msg_data(payload);
        m->len = zmq_msg_size(payload);
    }
    return 1;
}

void bus_msg_release(struct bus_msg *m)
{
    if (m->held) zmq_msg_close((zmq_msg_t *)m->impl);
    m->held = false;
    m->data = NULL;
    m->len = 0;
}

int bus_fd(struct bus_socket *s)
{
    int fd = -1;
    size_t sz = sizeof fd;
    if (zmq_getsockopt(s->zsock, ZMQ_FD, &fd, &sz) != 0) return -1;
    return fd;
}

static int events_of(struct bus_socket *s)
{
    tend(s);
    int ev = 0;
    size_t sz = sizeof ev;
    if (zmq_getsockopt(s->zsock, ZMQ_EVENTS, &ev, &sz) != 0) return 0;
    return ev;
}

bool bus_readable(struct bus_socket *s) { return events_of(s) & ZMQ_POLLIN; }
bool bus_writable(struct bus_socket *s) { return events_of(s) & ZMQ_POLLOUT; }

int bus_relay_run(struct bus *bus, const char *in_address, const char *out_address, int stop_fd,
                  bool (*stop)(void *arg), bus_relay_admit_fn admit, void (*bound)(void *arg), void *arg, char *err,
                  size_t errlen)
{
    const char *problem = bus_address_problem(in_address);
    if (!problem) problem = bus_address_problem(out_address);
    if (problem) {
        snprintf(err, errlen, "%s", problem);
        return -1;
    }
    void *xsub = zmq_socket(bus->ctx, ZMQ_XSUB);
    void *xpub = zmq_socket(bus->ctx, ZMQ_XPUB);
    int rc = -1;
    if (!xsub || !xpub) {
        snprintf(err, errlen, "cannot create relay sockets: %s", zmq_strerror(errno));
        goto out;
    }
    if (set_int(xsub, ZMQ_LINGER, 0) | set_int(xpub, ZMQ_LINGER, 0) | set_int(xsub, ZMQ_RCVHWM, BEST_EFFORT_HWM) |
        set_int(xpub, ZMQ_SNDHWM, BEST_EFFORT_HWM) | set_max_msg_size(xsub, CW_PAYLOAD_MAX) |
        set_heartbeat(xsub, in_address) | set_heartbeat(xpub, out_address)) {
        snprintf(err, errlen, "cannot set relay socket options: %s", zmq_strerror(errno));
        goto out;
    }
    if (secure_socket(bus, xsub, in_address, BUS_ZAP_DOMAIN_PUBLISH, err, errlen) != 0 ||
        secure_socket(bus, xpub, out_address, BUS_ZAP_DOMAIN_TAP, err, errlen) != 0)
        goto out;
    if (zmq_bind(xsub, in_address) != 0) {
        snprintf(err, errlen, "cannot bind %s: %s", in_address, zmq_strerror(errno));
        goto out;
    }
    if (zmq_bind(xpub, out_address) != 0) {
        snprintf(err, errlen, "cannot bind %s: %s", out_address, zmq_strerror(errno));
        goto out;
    }
    if (bound) bound(arg);
    rc = bus_forward(xsub, xpub, stop_fd, stop, admit, arg, err, errlen);
out:
    if (xsub) zmq_close(xsub);
    if (xpub) zmq_close(xpub);
    return rc;
}
