/* worker/resolve.h — name resolution inside the worker's loop with c-ares (libc-ares 1.18): the host names of
 * tcp, tls and icmp checks, and the channels the dns checks send their queries on. Never getaddrinfo on the
 * loop (it blocks: one slow resolver would stall every check).
 *
 * DESIGN
 * - Channels: one for the system's resolvers (/etc/resolv.conf, /etc/hosts: what getaddrinfo would use), and
 *   one per (server "IP" / "IP:PORT" / "[IPv6]:PORT", flags) asked for by resolver_channel — the dns checks'
 *   dns_server — created on first use and kept until the worker stops.
 * - Loop integration, as c-ares 1.18 allows it (it has no event thread and no ares_process_fds; those came in
 *   1.26 and 1.34): ARES_OPT_SOCK_STATE_CB tells which of a channel's sockets wait for what; they go into the
 *   worker's epoll set (tag EVENTS_TAG_ARES, payload the descriptor; a table descriptor -> channel), and a ready
 *   socket is handed to ares_process_fd(channel, fd-or-BAD, fd-or-BAD) alone. Timeouts: ares_timeout walks
 *   every query in flight of the channel (a linked list in 1.18), so resolver_next_wakeup asks it once per loop
 *   pass and only of the channels with a socket open (a query in flight always has one), and
 *   resolver_run_timeouts calls ares_process_fd(channel, BAD, BAD) only for a channel whose instant came.
 * - What c-ares 1.18 cannot do: cancel one query (ares_cancel ends every query of a channel). A check that
 *   ends before its answer (its deadline) leaves the query to finish or time out in c-ares; the answer's
 *   callback then finds the token it was given (slot and generation: worker/check.h) stale and drops it. Its
 *   retries follow the channel's options (system: resolv.conf's timeout/attempts; default 5 s x 4, halved
 *   here to 2 s x 2 so an abandoned lookup frees its memory sooner); the check's own deadline is what ends a
 *   check, never c-ares's timeout.
 * - ares_getaddrinfo (1.18 has it) answers host lookups: /etc/hosts first (it may answer inside the call),
 *   then DNS, both families, sorted as RFC 6724 says (ares__sortaddrinfo), at most RESOLVE_MAX_ADDRS kept.
 *   An IP literal is answered by resolver_lookup at once, without c-ares.
 * - For the dns checks: resolver_channel(r, server, ARES_FLAG_NOCHECKRESP, ...) gives a channel of this
 *   resolver (its sockets already in the loop); send on it with ares_send and parse the raw answer. Do not
 *   ares_destroy it or change its sock_state callback; ares_set_servers_ports_csv was applied at creation. */
#ifndef CW_WORKER_RESOLVE_H
#define CW_WORKER_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ares.h>

struct worker_events;
struct resolver;

#define RESOLVE_MAX_ADDRS 16

struct resolve_result {
    int status;        /* 0 (ARES_SUCCESS): the addresses below; else an ares status (ARES_ENOTFOUND, ...) */
    const char *error; /* status != 0: what failed ("no such host", "lookup timed out", ...) */
    size_t n;          /* addresses, in the order to try them */
    struct sockaddr_storage addr[RESOLVE_MAX_ADDRS];
    socklen_t addr_len[RESOLVE_MAX_ADDRS];
};

/* Called with the answer of resolver_lookup: arg and token as given, the result (valid during the call). */
typedef void (*resolve_cb)(void *arg, uint64_t token, const struct resolve_result *res);

/* A resolver on the events' epoll set (registers the EVENTS_TAG_ARES handler). Initialises c-ares; failure is
 * fatal (exit 1). The system channel is created on first use. */
struct resolver *resolver_new(struct worker_events *ev);
/* Destroys every channel (its pending callbacks run with ARES_EDESTRUCTION first). NULL is ok. */
void resolver_free(struct resolver *r);

/* Looks host up for port (AF_UNSPEC: both families; AF_INET, AF_INET6: one). An IP literal (v4, v6, v6 with
 * a %zone) is answered inside this call; so may a name from /etc/hosts. cb is called exactly once (with
 * status ARES_EDESTRUCTION when the resolver is freed first). */
void resolver_lookup(struct resolver *r, const char *host, int port, int family, resolve_cb cb, void *arg,
                     uint64_t token);
/* Parses an IP literal into addr (port set); false when host is not one. */
bool resolve_literal(const char *host, int port, int family, struct sockaddr_storage *addr, socklen_t *len);

/* The channel for server (NULL: the system's resolvers; "IP", "IP:PORT", "[IPv6]", "[IPv6]:PORT" or a bare IPv6
 * address: what docs/config.md allows for dns_server; port 53 by default) with the ARES_FLAG_* flags (0 for the
 * defaults), created the first time. c-ares is given the parsed address and port ("IP:PORT", "[IPv6]:PORT"), so
 * spellings of one server share a channel. NULL with the reason in err when it cannot be set up; that failure
 * is kept, and the set-up (ares_init_options reads resolv.conf) tried again at most every 10 s. */
ares_channel resolver_channel(struct resolver *r, const char *server, int flags, char *err, size_t errlen);
/* Channel set-ups tried since resolver_new (for tests: a failed one is not retried at every check). */
unsigned resolver_setups(const struct resolver *r);

/* The next instant c-ares needs (-1: none); asks ares_timeout once per channel with a socket open. */
int64_t resolver_next_wakeup(struct resolver *r, int64_t now);
/* Runs c-ares's timeouts of the channels whose instant (from resolver_next_wakeup) came. */
void resolver_run_timeouts(struct resolver *r, int64_t now);
/* Queries in flight through resolver_lookup (for stats). */
unsigned resolver_pending(const struct resolver *r);

/* Text for an ares status, worded for a check's error ("no such host", ...). */
const char *resolve_status_text(int status);
/* addr as text ("192.0.2.1", "2001:db8::1"), without the port. */
void resolve_addr_text(const struct sockaddr *addr, char *out, size_t outlen);

#endif
