/* common/bus/bus_rejoin.h — a connecting tcp:// bus socket that the server refused at the handshake connects again
 * by itself (docs/protocol.md section 8, "A refused client comes back").
 *
 * DESIGN
 * libzmq 4.3 ends a connecting socket's session for good when its handshake fails with a protocol error — a CURVE
 * key the server's ZAP handler refused (ERROR "400"), a server of another mechanism or another protocol — and never
 * reconnects: a probe host whose key a central refused once (its `locations` entry removed by a reload, a typo
 * fixed later) would send nothing until restarted, though the central admits the key again. (A connection closed
 * or timed out during the handshake is not a protocol error: libzmq reconnects then by itself, and nothing here
 * acts on it.) So every connecting tcp:// socket has a monitor (a PAIR on inproc, read by the socket's own thread
 * from the bus's calls on that socket: a ZeroMQ socket is used by one thread) that watches its handshakes; after
 * a refusal or a protocol failure, the socket is disconnected from its address and connected again, every
 * BUS_REJOIN_RETRY_MS, until a handshake succeeds. The same socket object stays: its ZMQ_FD, its options and
 * the caller's state around it (an acknowledged queue) remain valid. The client logs each change of state once
 * (refused / failed / admitted again), never each attempt; the server logs its refusals itself (bus_auth.c). */
#ifndef CW_BUS_REJOIN_H
#define CW_BUS_REJOIN_H

#include <stddef.h>

#define BUS_REJOIN_RETRY_MS 5000

struct bus_rejoin;

/* Watches the handshakes of zsock (in zmq_ctx), about to connect to address; own_key_z85 is this process's CURVE
 * public key ("" or NULL without CURVE), named in the log. NULL with a one-line reason in err. */
struct bus_rejoin *bus_rejoin_watch(void *zmq_ctx, void *zsock, const char *address, const char *own_key_z85, char *err,
                                    size_t errlen);

/* From the socket's own thread, on every bus call on it: reads what the monitor saw (at most every 100 ms) and, the
 * server having ended the connection at the handshake, connects again when the retry is due. */
void bus_rejoin_tend(struct bus_rejoin *r, void *zsock);

/* Stops the monitor (before zsock is closed) and frees r. NULL is fine. */
void bus_rejoin_stop(struct bus_rejoin *r, void *zsock);

#endif
