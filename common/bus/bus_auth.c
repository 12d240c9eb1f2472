/* common/bus/bus_auth.c — the ZAP handler and handshake monitors of CURVE bus servers (see bus_auth.h). */
#include "common/bus/bus_auth.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "common/base/log.h"

#define BUS_AUTH_MAX_WATCH 8
#define ZAP_FRAMES_MAX 8

struct bus_auth {
    void *ctx;
    void *zap;        /* REP on inproc://zeromq.zap.01: the thread's */
    void *ctl_main;   /* PAIR: the caller's end of the control channel */
    void *ctl_thread; /* PAIR: the thread's end */
    pthread_t thread;
    bool running;
    uint8_t (*allowed)[BUS_AUTH_KEY_BYTES];
    size_t n_allowed;
    uint8_t (*producers)[BUS_AUTH_KEY_BYTES]; /* admitted only where bus_auth_domain_takes_producers */
    size_t n_producers;
    atomic_uint_fast64_t refused;
    unsigned n_watch;              /* monitors started (their endpoints are numbered) */
    void *mon[BUS_AUTH_MAX_WATCH]; /* the thread's PAIRs, NULL once stopped */
    char mon_address[BUS_AUTH_MAX_WATCH][256];
};

/* Counts a refusal; logs the first and then every power of two, so a flood cannot fill the log. */
static void count_refusal(struct bus_auth *a, const char *why)
{
    uint64_t n = atomic_fetch_add(&a->refused, 1) + 1;
    if ((n & (n - 1)) == 0) log_warn("%s (%llu bus clients refused so far)", why, (unsigned long long)n);
}

static bool key_in(const uint8_t (*keys)[BUS_AUTH_KEY_BYTES], size_t n, const void *key)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(keys[i], key, BUS_AUTH_KEY_BYTES) == 0) return true;
    return false;
}

bool bus_auth_domain_takes_producers(const void *domain, size_t len)
{
    static const char *const takes[] = { BUS_ZAP_DOMAIN_RELIABLE, BUS_ZAP_DOMAIN_CONFIG, BUS_ZAP_DOMAIN_PUBLISH };
    for (size_t i = 0; i < sizeof takes / sizeof takes[0]; i++)
        if (len == strlen(takes[i]) && memcmp(domain, takes[i], len) == 0) return true;
    return false;
}

/* The reason a CURVE client's key is refused on a socket of this domain, or NULL when it is admitted. */
static const char *key_refusal(const struct bus_auth *a, const void *key, const void *domain, size_t dl)
{
    if (key_in((const uint8_t(*)[BUS_AUTH_KEY_BYTES])a->allowed, a->n_allowed, key)) return NULL;
    if (!key_in((const uint8_t(*)[BUS_AUTH_KEY_BYTES])a->producers, a->n_producers, key))
        return "is not in bus.curve_allowed_keys nor in `locations`";
    if (bus_auth_domain_takes_producers(domain, dl)) return NULL;
    return "is a probe host's (locations[].key), admitted only where results come in, not here";
}

/* One ZAP request (RFC 27: version, request id, domain, address, routing id, mechanism, credentials...),
 * one reply (version, request id, status code, status text, user id, metadata). */
static void serve_zap(struct bus_auth *a)
{
    zmq_msg_t f[ZAP_FRAMES_MAX];
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, a->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_FRAMES_MAX) {
            zmq_msg_init(&f[n]);
            zmq_msg_move(&f[n++], &m);
        }
        zmq_msg_close(&m);
    }
    if (n == 0) return;
    const char *status = "400", *text = "malformed request";
    char address[64] = "?", user_id[41] = ""; /* an admitted CURVE client: its key (Z85), the peer's User-Id */
    if (n >= 6 && zmq_msg_size(&f[0]) == 3 && memcmp(zmq_msg_data(&f[0]), "1.0", 3) == 0) {
        size_t al = zmq_msg_size(&f[3]) < sizeof address - 1 ? zmq_msg_size(&f[3]) : sizeof address - 1;
        memcpy(address, zmq_msg_data(&f[3]), al);
        address[al] = '\0';
        size_t ml = zmq_msg_size(&f[5]), dl = zmq_msg_size(&f[2]);
        const char *mech = zmq_msg_data(&f[5]);
        if (ml == 5 && memcmp(mech, "CURVE", 5) == 0 && n >= 7 && zmq_msg_size(&f[6]) == BUS_AUTH_KEY_BYTES) {
            const char *refusal = key_refusal(a, zmq_msg_data(&f[6]), zmq_msg_data(&f[2]), dl);
            if (!refusal) {
                status = "200";
                text = "OK";
                zmq_z85_encode(user_id, zmq_msg_data(&f[6]), BUS_AUTH_KEY_BYTES);
            } else {
                char z85[41] = "", domain[40] = "", why[320];
                zmq_z85_encode(z85, zmq_msg_data(&f[6]), BUS_AUTH_KEY_BYTES);
                memcpy(domain, zmq_msg_data(&f[2]), dl < sizeof domain - 1 ? dl : sizeof domain - 1);
                text = "unknown key";
                snprintf(why, sizeof why, "refused a bus client from %s on %s: its CURVE key %s %s", address,
                         domain[0] ? domain : "(no ZAP domain)", z85, refusal);
                count_refusal(a, why);
            }
        } else if (ml == 4 && memcmp(mech, "NULL", 4) == 0 && dl == 0) {
            status = "200"; /* a socket of this process without CURVE (ipc://): not ours to judge */
            text = "OK";
        } else {
            char why[128];
            text = "CURVE required";
            snprintf(why, sizeof why, "refused a bus client from %s: it does not use CURVE", address);
            count_refusal(a, why);
        }
    }
    const void *rid = n >= 2 ? zmq_msg_data(&f[1]) : "";
    size_t rid_len = n >= 2 ? zmq_msg_size(&f[1]) : 0;
    int rc = zmq_send(a->zap, "1.0", 3, ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_send(a->zap, rid, rid_len, ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_send(a->zap, status, 3, ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_send(a->zap, text, strlen(text), ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_send(a->zap, user_id, strlen(user_id), ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_send(a->zap, "", 0, 0);
    if (rc < 0) log_warn("cannot answer a ZAP request: %s", zmq_strerror(errno));
    for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
}

static const char *handshake_reason(uint32_t value)
{
    switch (value) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "it does not use CURVE";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
    case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
        return "a CURVE handshake with the wrong server key, or corrupt";
    default:
        return "a broken handshake";
    }
}

/* One monitor event: frame 1 is a u16 event and a u32 value (host order), frame 2 the endpoint. */
static void serve_monitor(struct bus_auth *a, unsigned k)
{
    zmq_msg_t ev, where;
    zmq_msg_init(&ev);
    zmq_msg_init(&where);
    if (zmq_msg_recv(&ev, a->mon[k], ZMQ_DONTWAIT) < 0) goto out;
    if (zmq_msg_more(&ev)) (void)zmq_msg_recv(&where, a->mon[k], ZMQ_DONTWAIT);
    if (zmq_msg_size(&ev) < 6) goto out;
    uint16_t event;
    uint32_t value;
    memcpy(&event, zmq_msg_data(&ev), 2);
    memcpy(&value, (const char *)zmq_msg_data(&ev) + 2, 4);
    if (event == ZMQ_EVENT_MONITOR_STOPPED) {
        zmq_close(a->mon[k]);
        a->mon[k] = NULL;
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        char why[400];
        snprintf(why, sizeof why, "refused a client of the bus server %s: %s", a->mon_address[k],
                 event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                     ? handshake_reason(value)
                     : "a failed handshake (no CURVE, a wrong server key, or a connection closed during it)");
        count_refusal(a, why);
    }
    /* HANDSHAKE_FAILED_AUTH: the ZAP handler refused it, and said so */
out:
    zmq_msg_close(&ev);
    zmq_msg_close(&where);
}

/* A control message: "stop", or "watch" + monitor endpoint + the server's address (answered "ok"/"no"). */
static bool serve_control(struct bus_auth *a)
{
    char cmd[8] = "", endpoint[128] = "", address[256] = "";
    int n = zmq_recv(a->ctl_thread, cmd, sizeof cmd - 1, 0);
    if (n < 0) return true;
    cmd[n < (int)sizeof cmd ? n : (int)sizeof cmd - 1] = '\0';
    if (strcmp(cmd, "stop") == 0) return false;
    int e = zmq_recv(a->ctl_thread, endpoint, sizeof endpoint - 1, 0);
    int d = e >= 0 ? zmq_recv(a->ctl_thread, address, sizeof address - 1, 0) : -1;
    bool ok = false;
    unsigned k = a->n_watch;
    if (e > 0 && d >= 0 && k < BUS_AUTH_MAX_WATCH) {
        endpoint[e < (int)sizeof endpoint ? e : (int)sizeof endpoint - 1] = '\0';
        address[d < (int)sizeof address ? d : (int)sizeof address - 1] = '\0';
        void *pair = zmq_socket(a->ctx, ZMQ_PAIR);
        int zero = 0;
        if (pair && zmq_setsockopt(pair, ZMQ_LINGER, &zero, sizeof zero) == 0 && zmq_connect(pair, endpoint) == 0) {
            a->mon[k] = pair;
            snprintf(a->mon_address[k], sizeof a->mon_address[k], "%s", address);
            a->n_watch++;
            ok = true;
        } else if (pair) {
            zmq_close(pair);
        }
    }
    (void)zmq_send(a->ctl_thread, ok ? "ok" : "no", 2, 0);
    return true;
}

static void *auth_thread(void *arg)
{
    struct bus_auth *a = arg;
    for (;;) {
        zmq_pollitem_t items[2 + BUS_AUTH_MAX_WATCH];
        unsigned map[2 + BUS_AUTH_MAX_WATCH];
        int n = 0;
        items[n++] = (zmq_pollitem_t){ .socket = a->ctl_thread, .events = ZMQ_POLLIN };
        items[n++] = (zmq_pollitem_t){ .socket = a->zap, .events = ZMQ_POLLIN };
        for (unsigned k = 0; k < a->n_watch; k++)
            if (a->mon[k]) {
                map[n] = k;
                items[n++] = (zmq_pollitem_t){ .socket = a->mon[k], .events = ZMQ_POLLIN };
            }
        if (zmq_poll(items, n, -1) < 0) {
            if (errno == EINTR) continue;
            if (errno == ETERM) break; /* the context is being terminated: the process is stopping */
            /* Without its ZAP handler a CURVE server could admit anyone: the process must not go on. */
            log_error("the bus authentication thread cannot go on (%s): exiting", zmq_strerror(errno));
            _exit(1);
        }
        if ((items[0].revents & ZMQ_POLLIN) && !serve_control(a)) break;
        if (items[1].revents & ZMQ_POLLIN) serve_zap(a);
        for (int i = 2; i < n; i++)
            if (items[i].revents & ZMQ_POLLIN) serve_monitor(a, map[i]);
    }
    for (unsigned k = 0; k < a->n_watch; k++)
        if (a->mon[k]) zmq_close(a->mon[k]);
    zmq_close(a->zap);
    zmq_close(a->ctl_thread);
    return NULL;
}

static void free_auth(struct bus_auth *a)
{
    if (a->zap) zmq_close(a->zap);
    if (a->ctl_thread) zmq_close(a->ctl_thread);
    if (a->ctl_main) zmq_close(a->ctl_main);
    free(a->allowed);
    free(a->producers);
    free(a);
}

struct bus_auth *bus_auth_start(void *zmq_ctx, const uint8_t (*allowed)[BUS_AUTH_KEY_BYTES], size_t n,
                                const uint8_t (*producers)[BUS_AUTH_KEY_BYTES], size_t n_producers, char *err,
                                size_t errlen)
{
    struct bus_auth *a = calloc(1, sizeof *a);
    if (!a || !(a->allowed = calloc(n ? n : 1, BUS_AUTH_KEY_BYTES)) ||
        !(a->producers = calloc(n_producers ? n_producers : 1, BUS_AUTH_KEY_BYTES))) {
        if (a) free(a->allowed);
        free(a);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (n) memcpy(a->allowed, allowed, n * BUS_AUTH_KEY_BYTES);
    a->n_allowed = n;
    if (n_producers) memcpy(a->producers, producers, n_producers * BUS_AUTH_KEY_BYTES);
    a->n_producers = n_producers;
    a->ctx = zmq_ctx;
    atomic_init(&a->refused, 0);
    char ctl[64];
    snprintf(ctl, sizeof ctl, "inproc://clockwerk-auth-%p", (void *)a);
    int zero = 0;
    a->zap = zmq_socket(zmq_ctx, ZMQ_REP);
    a->ctl_main = zmq_socket(zmq_ctx, ZMQ_PAIR);
    a->ctl_thread = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!a->zap || !a->ctl_main || !a->ctl_thread || zmq_setsockopt(a->zap, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(a->ctl_main, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(a->ctl_thread, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(a->zap, "inproc://zeromq.zap.01") != 0 || zmq_bind(a->ctl_main, ctl) != 0 ||
        zmq_connect(a->ctl_thread, ctl) != 0) {
        snprintf(err, errlen, "cannot set up the bus authentication (ZAP) handler: %s", zmq_strerror(errno));
        free_auth(a);
        return NULL;
    }
    /* Every signal blocked while the thread is created, so that it inherits a full mask: the ZAP thread (like
     * ZeroMQ's own I/O threads, which is why the skeleton blocks before opening the bus) must never take a
     * signal meant for the process. The skeleton (common/proc/proc.h) blocks SIGTERM/SIGHUP on the main
     * thread and reads them from a signalfd; a process-directed signal goes to any thread that does not
     * block it, so were it unblocked here it would be delivered to this thread instead — its default
     * action ending the process and the signalfd never seeing it. The caller's mask is restored at once.
     * (pthread_sigmask fails only on a bad `how`.) */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&a->thread, NULL, auth_thread, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the bus authentication thread: %s", strerror(rc));
        free_auth(a);
        return NULL;
    }
    a->running = true;
    return a;
}

int bus_auth_watch(struct bus_auth *a, void *zsock, const char *address, char *err, size_t errlen)
{
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "inproc://clockwerk-monitor-%p-%u", (void *)a, a->n_watch);
    int events =
        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    char reply[4] = "";
    if (zmq_socket_monitor(zsock, endpoint, events) != 0 || zmq_send(a->ctl_main, "watch", 5, ZMQ_SNDMORE) < 0 ||
        zmq_send(a->ctl_main, endpoint, strlen(endpoint), ZMQ_SNDMORE) < 0 ||
        zmq_send(a->ctl_main, address, strlen(address), 0) < 0 || zmq_recv(a->ctl_main, reply, sizeof reply, 0) != 2 ||
        memcmp(reply, "ok", 2) != 0) {
        snprintf(err, errlen, "cannot watch the handshakes of %s: %s", address,
                 reply[0] ? "too many server sockets" : zmq_strerror(errno));
        return -1;
    }
    return 0;
}

uint64_t bus_auth_refused(const struct bus_auth *a) { return a ? atomic_load(&((struct bus_auth *)a)->refused) : 0; }

void bus_auth_stop(struct bus_auth *a)
{
    if (!a) return;
    if (a->running) {
        while (zmq_send(a->ctl_main, "stop", 4, 0) < 0 && errno == EINTR) {
        }
        pthread_join(a->thread, NULL);
        a->zap = a->ctl_thread = NULL; /* closed by the thread */
    }
    free_auth(a);
}
