/* common/bus/bus_auth.h — who may talk to a Clockwerk bus server over tcp:// (ZeroMQ CURVE, docs/protocol.md
 * "Security"): the ZAP handler of a process's ZeroMQ context, which admits a CURVE client only when its
 * public key is on the allow-list, and the monitors of the server sockets, which see clients that fail the
 * handshake before any key is known (no CURVE at all, or the wrong server key). Every refusal is counted
 * and logged (the first, then at powers of two); a refused client gets nothing in.
 *
 * DESIGN
 * One thread per process, started with the first CURVE server socket: ZeroMQ asks the ZAP handler from
 * its I/O thread and waits for the answer, so the answer cannot wait for a program's loop (the storer may
 * be in a database call for seconds). The thread owns its sockets — the ZAP REP on
 * inproc://zeromq.zap.01, a control PAIR, one PAIR per monitored server socket — and blocks every signal,
 * so signals keep reaching the program's own thread. The allow-lists are fixed at start. An admitted CURVE client's
 * public key (Z85) is its connection's User-Id: every message it sends carries it (bus_msg.peer_key).
 * Two allow-lists (issue 16): `allowed` keys (the own key, bus.curve_allowed_keys) are admitted on every server
 * socket; `producers` (the probe hosts' keys, locations[].key) only on a socket whose ZAP domain is one where data
 * comes in (BUS_ZAP_DOMAIN_RELIABLE, _CONFIG, _PUBLISH) — never on the tap (BUS_ZAP_DOMAIN_TAP) nor on a domain
 * this file does not know: a probe host may send its results, never read everyone's. */
#ifndef CW_BUS_AUTH_H
#define CW_BUS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUS_AUTH_KEY_BYTES 32

/* The ZAP domain of each kind of CURVE server socket (common/bus/bus.c sets it before the bind). */
#define BUS_ZAP_DOMAIN_RELIABLE "clockwerk.reliable" /* the storer's and the alerter's ROUTER */
#define BUS_ZAP_DOMAIN_CONFIG "clockwerk.config"     /* the central supervisor's configuration ROUTER */
#define BUS_ZAP_DOMAIN_PUBLISH "clockwerk.publish"   /* the relay's XSUB (publish_address) */
#define BUS_ZAP_DOMAIN_TAP "clockwerk.tap"           /* the relay's XPUB (tap_address) */

struct bus_auth;

/* Whether a producer key (a probe host's) is admitted on a socket of ZAP domain `domain` (len bytes). */
bool bus_auth_domain_takes_producers(const void *domain, size_t len);

/* Binds the ZAP handler in zmq_ctx and starts its thread; allowed holds n client public keys admitted on every
 * socket, producers n_producers admitted where bus_auth_domain_takes_producers (both copied). NULL with a
 * one-line reason in err. */
struct bus_auth *bus_auth_start(void *zmq_ctx, const uint8_t (*allowed)[BUS_AUTH_KEY_BYTES], size_t n,
                                const uint8_t (*producers)[BUS_AUTH_KEY_BYTES], size_t n_producers, char *err,
                                size_t errlen);

/* Watches a CURVE server socket (owned by the caller's thread) for failed handshakes. address is what it
 * is bound to, for the log. 0, or -1 with err. */
int bus_auth_watch(struct bus_auth *a, void *zsock, const char *address, char *err, size_t errlen);

/* Clients refused so far: an unknown key (ZAP), or a failed handshake (no CURVE, a wrong server key). */
uint64_t bus_auth_refused(const struct bus_auth *a);

/* Stops the thread and closes its sockets; call after the watched sockets are closed and before the
 * context is terminated. NULL is fine. */
void bus_auth_stop(struct bus_auth *a);

#endif
