/* common/bus/bus.h — the message bus between Clockwerk processes, behind one module.
 *
 * Socket types, framing and options live here and nowhere else: the programs' loops name a role, never a
 * ZeroMQ socket type. The acknowledgements themselves are above this module (common/bus/ackq.h on the
 * sender, common/bus/ackgather.h on the receiver; docs/protocol.md section 7).
 *
 *   role               ZeroMQ            used by                         semantics
 *   BUS_SEND_RELIABLE  DEALER, connect   worker -> storer/alerter,       refuses (BUS_WOULD_BLOCK) while no
 *                                         alerter -> storer               receiver is connected; receives acks
 *   BUS_RECV_RELIABLE  ROUTER, bind      storer, alerter                 each message names its peer, so the
 *                                                                          receiver can ack it (bus_send_to)
 * Reliability is end to end (common/bus/ackq.h, docs/protocol.md): the sender keeps every result until an ack
 * says it is durable, so the sockets never linger at close and refuse sends while no receiver is there.
 *   BUS_PUBLISH        PUB, connect      any -> relay (XSUB)            best effort: drops when nobody
 *                                                                          listens or the reader is slow
 *   BUS_SUBSCRIBE      SUB, connect      tap <- relay (XPUB)
 *   BUS_PUSH_CALLS     PUSH, connect     web -> a worker's push calls    refuses (BUS_WOULD_BLOCK) while that
 *                                                                          worker is not there (ZMQ_IMMEDIATE)
 *   BUS_PULL_CALLS     PULL, bind        worker <- web: push calls       (docs/protocol.md 2.8)
 *   BUS_SERVE_CONFIG   ROUTER, bind      central supervisor              answers each request with bus_send_to;
 *                                                                          a CURVE server on tcp:// like the storer's
 *   BUS_FETCH_CONFIG   DEALER, connect   probe host's supervisor         a request sent while the central is away
 *                                                                          waits (one); answers up to
 *                                                                          CW_CONFIG_MSG_MAX (docs/protocol.md 2.10)
 *
 * Every tcp:// socket sends ZMTP heartbeats (2 s, timeout 6 s): a link cut without a FIN is noticed and a connecting
 * socket reconnects (docs/protocol.md 1). A server's messages name the client's CURVE key (bus_msg.peer_key).
 *
 * The relay (bus_relay_run) binds both ends of the best-effort stream, so the tap has one address to
 * attach to at any time and publishers never block. */
#ifndef CW_BUS_H
#define CW_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire/protocol.h"

enum bus_role {
    BUS_SEND_RELIABLE,
    BUS_RECV_RELIABLE,
    BUS_PUBLISH,
    BUS_SUBSCRIBE,
    BUS_PUSH_CALLS,
    BUS_PULL_CALLS,
    BUS_SERVE_CONFIG, /* issue 16: ROUTER, bind (central supervisor); answers with bus_send_to */
    BUS_FETCH_CONFIG, /* issue 16: DEALER, connect (probe host's supervisor); frames up to CW_CONFIG_MSG_MAX */
};
#define BUS_CURVE_Z85_LEN 40

enum { BUS_SENT = 0, BUS_WOULD_BLOCK = 1, BUS_ERROR = -1 };

struct bus; /* one per process: the ZeroMQ context */
struct bus_socket;

/* Who sent a message to a BUS_RECV_RELIABLE socket: its ZeroMQ routing id (len 0: unknown). */
#define BUS_PEER_MAX 32
struct bus_peer {
    unsigned char id[BUS_PEER_MAX];
    size_t len;
};

/* A received message. Frames are owned by the message until bus_msg_release(). */
struct bus_msg {
    struct bus_peer peer;  /* BUS_RECV_RELIABLE, BUS_SERVE_CONFIG: where bus_send_to answers */
    enum cw_msg_type type; /* CW_MSG_INVALID: wrong frame count, unknown or oversized topic */
    const void *data;      /* payload frame (NULL when type is CW_MSG_INVALID) */
    size_t len;
    _Alignas(16) unsigned char impl[64]; /* the payload's zmq_msg_t */
    bool held;
    /* issue 16: the sender's CURVE public key (Z85) when it came over a CURVE tcp:// socket of a server
     * (BUS_RECV_RELIABLE, BUS_SERVE_CONFIG); "" otherwise (ipc://, no CURVE). The ZAP handler (bus_auth.c) names
     * the admitted key as the connection's User-Id. */
    char peer_key[BUS_CURVE_Z85_LEN + 1];
};

/* NULL with a one-line reason in err on failure. */
struct bus *bus_new(char *err, size_t errlen);
/* Closes every socket still open (with their linger) and the context. NULL is fine. */
void bus_free(struct bus *bus);

/* Opens a socket of `role` on `address` ("ipc:///path" or "tcp://host:port"): bind or connect per role.
 * NULL with a one-line reason in err on failure (the reason names the address). */
struct bus_socket *bus_open(struct bus *bus, enum bus_role role, const char *address, char *err, size_t errlen);
void bus_close(struct bus_socket *s);

/* Narrows a BUS_SUBSCRIBE socket (subscribed to every type when opened) to messages of one type, e.g. the
 * supervisor listens only to CW_MSG_STATS. 0, or -1 with errno set (EINVAL for another role). */
int bus_subscribe_only(struct bus_socket *s, enum cw_msg_type type);

/* Sends one message (topic frame + payload frame) without blocking: BUS_SENT, BUS_WOULD_BLOCK (nothing
 * was sent: keep it and retry when bus_writable()), or BUS_ERROR (errno set). A BUS_PUBLISH socket never
 * returns BUS_WOULD_BLOCK: what it cannot send is dropped. */
int bus_send(struct bus_socket *s, enum cw_msg_type type, const void *payload, size_t len);

/* BUS_RECV_RELIABLE and BUS_SERVE_CONFIG only: sends one message to the peer a message came from (m->peer).
 * Never blocks; a message to a peer that is gone or does not read is dropped (BUS_SENT). BUS_ERROR with errno
 * set. */
int bus_send_to(struct bus_socket *s, const struct bus_peer *peer, enum cw_msg_type type, const void *payload,
                size_t len);

/* Receives one message, waiting up to timeout_ms (0: do not wait, -1: forever). Returns 1 with *m filled
 * (release it), 0 when nothing came (or a signal interrupted the wait), -1 on error. A message with the
 * wrong shape is returned with m->type == CW_MSG_INVALID so that the caller can count it. */
int bus_recv(struct bus_socket *s, struct bus_msg *m, int timeout_ms);
void bus_msg_release(struct bus_msg *m);

/* For poll loops: the socket's ZMQ_FD. It is edge-triggered: after it fires, and after every send or
 * receive, ask bus_readable()/bus_writable() and drain until they say no. */
int bus_fd(struct bus_socket *s);
bool bus_readable(struct bus_socket *s);
bool bus_writable(struct bus_socket *s);

/* Waits up to timeout_ms (-1: forever) until one of the n sockets has a message or the descriptor fd
 * (-1: none; a signalfd, say) is readable. Returns the BUS_WAIT_* bits of what is ready (0: the time ran
 * out or a signal interrupted the wait), or -1 with errno set. Bit BUS_WAIT_SOCKET << i is socket i. */
enum { BUS_WAIT_FD = 1, BUS_WAIT_SOCKET = 2 };
#define BUS_WAIT_MAX 8
int bus_wait(struct bus_socket *const *socks, unsigned n, int fd, int timeout_ms);

/* CURVE for every tcp:// socket opened after this call (docs/protocol.md "Security"): this process's key
 * pair, the public key of the servers it connects to, and the client public keys its servers admit (binary,
 * 32 bytes each; the keys are copied, and wiped at bus_free): `allowed` on every server socket, `producers`
 * (the probe hosts' keys, issue 16) only on the sockets that take data in — the ROUTERs of BUS_RECV_RELIABLE
 * and BUS_SERVE_CONFIG and the relay's XSUB — never on the relay's XPUB (the tap). Each server socket names
 * its role in its ZAP domain (BUS_ZAP_DOMAIN_*, common/bus/bus_auth.h). 0, or -1 with a reason. Normally
 * called by bus_new_for (common/proc/bus_config.h), which reads them from the configuration. */
#define BUS_CURVE_Z85 40
struct bus_curve_keys {
    char public_z85[BUS_CURVE_Z85 + 1], secret_z85[BUS_CURVE_Z85 + 1], server_z85[BUS_CURVE_Z85 + 1];
    unsigned char (*allowed)[32];
    size_t n_allowed;
    unsigned char (*producers)[32];
    size_t n_producers;
};
int bus_set_curve(struct bus *bus, const struct bus_curve_keys *keys, char *err, size_t errlen);

/* Clients this process's CURVE servers refused so far (unknown key, no CURVE, failed handshake). */
uint64_t bus_refused_clients(const struct bus *bus);

/* The relay's judge of one message that came in with a CURVE key (User-Id, Z85): topic frame, payload frame
 * (NULL when the message does not have exactly two frames). True: forward it; false: drop it. */
typedef bool (*bus_relay_admit_fn)(void *arg, const char *peer_key, const void *topic, size_t topic_len,
                                   const void *payload, size_t len);

/* The relay's whole work: XSUB bound on in_address, XPUB bound on out_address, messages passed through
 * (and the subscriptions of the taps the other way), until the descriptor stop_fd (a signalfd; -1: none) is
 * readable and stop(arg) — which reads it — says to stop: then 0. A message that came with a CURVE key is
 * first given to admit(arg, ...) when admit is set (messages without one — ipc://, no CURVE — are passed
 * whole, undecoded). bound(arg), when set, is called once both sockets are bound (the relay is then ready).
 * -1 on error or when the context is terminated; err says why. */
int bus_relay_run(struct bus *bus, const char *in_address, const char *out_address, int stop_fd,
                  bool (*stop)(void *arg), bus_relay_admit_fn admit, void (*bound)(void *arg), void *arg, char *err,
                  size_t errlen);

/* Checks that an address is one the bus accepts ("ipc://" with an absolute path short enough for a Unix
 * socket, or "tcp://host:port"). Returns NULL when fine, else a static reason. */
const char *bus_address_problem(const char *address);

#endif
