/* worker/engine_conn.h — a check's TCP connection (tcp and tls checks): the host looked up (check_resolve), then
 * a non-blocking connect to each address in turn until one connects, within the check's deadline.
 *
 * DESIGN
 * Every address the lookup gave (IPv6 and IPv4, in the resolver's order) is tried until one connects; an
 * address that refuses or is unreachable passes to the next at once, one that does not answer holds the check
 * until its deadline (the timeout is the check's, not per address). The socket gets SO_LINGER 0 as soon as it
 * exists, so closing it sends a reset and leaves no TIME_WAIT behind (as the HTTP checks: worker/probe.h).
 * When no address connects, the check fails with the last address's error and how many were tried. */
#ifndef CW_WORKER_ENGINE_CONN_H
#define CW_WORKER_ENGINE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "worker/check.h"

struct engine_conn {
    int fd;          /* -1: none */
    bool connecting; /* a connect is in progress on fd */
    bool resolving;  /* the lookup is in flight */
    struct resolve_result addrs;
    size_t next; /* the next address to try */
    int64_t connect_start_ns;
    int last_errno;
    size_t current; /* the index in addrs of the address being tried or connected to */
    void (*on_connected)(struct check *c);
};

/* Looks ep->host up and connects to ep->port (conn must be the first member of the type's c->state); calls on_connected (fd connected, c->r.connect_us set) or fails
 * the check. The caller's on_fd hands events to conn_on_fd while conn->connecting. */
void conn_start(struct check *c, struct engine_conn *conn, void (*on_connected)(struct check *c));
/* An event of the socket while connecting. */
void conn_on_fd(struct check *c, struct engine_conn *conn, uint32_t epoll_events);
/* What the connection is doing, for "timed out after 2 s <doing>": "looking up H", "connecting to A port P". */
void conn_doing(const struct check *c, const struct engine_conn *conn, char *out, size_t outlen);
/* Closes the socket (a reset: SO_LINGER 0). */
void conn_close(struct check *c, struct engine_conn *conn);
/* The address being tried or connected to as text ("127.0.0.1", "::1"): made only when a text needs it. */
const char *conn_addr_text(const struct engine_conn *conn, char *buf, size_t len);
/* strerror(err) starting lowercase: "connection refused". */
const char *conn_errno_text(int err, char *buf, size_t len);
/* A server's (or a configured) bytes s[0..n) quoted for an error text: "+PONG\r\n" — \r \n \" \\ escaped, other
 * bytes outside printable ASCII as \xHH; cut with "..." after max bytes or when out (at least 8 bytes) is full. */
void conn_quote(const char *s, size_t n, size_t max, char *out, size_t outlen);

#endif
