/* worker/resolve.c — c-ares channels on the worker's epoll set, and host lookups for the checks (see
 * resolve.h). */
#include "worker/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/base/clock.h"
#include "common/base/hash.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "common/config/config_types.h"
#include "worker/events.h"

#define RESOLVE_TIMEOUT_MS 2000 /* per try, doubled by c-ares per round */
#define RESOLVE_TRIES 2
#define RESOLVE_RETRY_NS (10 * 1000000000LL) /* a channel that could not be set up is tried again after this */

struct resolve_channel {
    ares_channel ch; /* NULL: the last set-up failed (error, retry_at_ns) */
    struct resolver *r;
    char *key;           /* "flags/server" (server normalised: "IP:PORT", "[IPv6]:PORT"; "flags/" for the system's) */
    char *error;         /* why the last set-up failed */
    int64_t retry_at_ns; /* a failed set-up is not tried again before this */
    unsigned sockets;    /* open sockets (in the epoll set) */
    int64_t wake_ns;     /* from the last resolver_next_wakeup; -1: none */
    UT_hash_handle hh;
};

struct resolver {
    struct worker_events *ev;
    struct resolve_channel *channels; /* by key */
    struct resolve_channel *system;
    struct resolve_channel **by_fd; /* descriptor -> its channel (NULL: not a c-ares socket) */
    size_t n_by_fd;
    unsigned pending; /* resolver_lookup calls not answered yet */
    unsigned setups;  /* channel set-ups tried */
};

struct lookup {
    struct resolver *r;
    resolve_cb cb;
    void *arg;
    uint64_t token;
    int port;
};

const char *resolve_status_text(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return "ok";
    case ARES_ENODATA:
        return "no address for this name";
    case ARES_ENOTFOUND:
    case ARES_ENONAME:
        return "no such host";
    case ARES_ESERVFAIL:
        return "the DNS server failed (SERVFAIL)";
    case ARES_EREFUSED:
        return "the DNS server refused the query";
    case ARES_EFORMERR:
        return "the DNS server did not understand the query (FORMERR)";
    case ARES_ENOTIMP:
        return "the DNS server does not implement the query";
    case ARES_ETIMEOUT:
        return "name lookup timed out";
    case ARES_ECONNREFUSED:
        return "cannot reach the DNS server (connection refused)";
    case ARES_EBADNAME:
        return "not a valid host name";
    case ARES_ENOMEM:
        return "out of memory in the resolver";
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return "name lookup cancelled";
    default:
        return ares_strerror(status);
    }
}

void resolve_addr_text(const struct sockaddr *addr, char *out, size_t outlen)
{
    const void *src = addr->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr
                                                  : (const void *)&((const struct sockaddr_in *)addr)->sin_addr;
    if (!inet_ntop(addr->sa_family, src, out, (socklen_t)outlen)) snprintf(out, outlen, "?");
}

static void set_port(struct sockaddr *sa, int port)
{
    if (sa->sa_family == AF_INET6) ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
    else ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
}

bool resolve_literal(const char *host, int port, int family, struct sockaddr_storage *addr, socklen_t *len)
{
    memset(addr, 0, sizeof *addr);
    if (family != AF_INET6) {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
            in->sin_family = AF_INET;
            in->sin_port = htons((uint16_t)port);
            *len = sizeof *in;
            return true;
        }
    }
    if (family == AF_INET) return false;
    char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const char *b = host;
    size_t n = strlen(b);
    if (n >= 2 && b[0] == '[' && b[n - 1] == ']') b++, n -= 2; /* "[::1]" */
    if (n >= sizeof text) return false;
    memcpy(text, b, n);
    text[n] = '\0';
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
    char *zone = strchr(text, '%');
    if (zone) *zone++ = '\0';
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1) return false;
    if (zone) {
        in6->sin6_scope_id = if_nametoindex(zone);
        if (!in6->sin6_scope_id) return false;
    }
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    *len = sizeof *in6;
    return true;
}

/* ---- channels and their sockets */

static void on_ares_fd(void *arg, uint64_t payload, uint32_t epoll_events)
{
    struct resolver *r = arg;
    int fd = (int)payload;
    if (fd < 0 || (size_t)fd >= r->n_by_fd || !r->by_fd[fd]) return; /* closed since */
    ares_socket_t rd = (epoll_events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD;
    ares_socket_t wr = (epoll_events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD;
    ares_process_fd(r->by_fd[fd]->ch, rd, wr);
}

/* ARES_OPT_SOCK_STATE_CB: which of the channel's sockets wait for what (neither: c-ares is done with it). */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolve_channel *c = data;
    struct resolver *r = c->r;
    if (fd < 0) return;
    if ((size_t)fd >= r->n_by_fd) {
        size_t n = r->n_by_fd ? r->n_by_fd : 64;
        while (n <= (size_t)fd) n *= 2;
        r->by_fd = cw_xrealloc(r->by_fd, n * sizeof *r->by_fd);
        memset(r->by_fd + r->n_by_fd, 0, (n - r->n_by_fd) * sizeof *r->by_fd);
        r->n_by_fd = n;
    }
    if (!readable && !writable) {
        if (r->by_fd[fd]) {
            events_del(r->ev, fd); /* c-ares closes it next; a socket it keeps must not fire for nothing */
            r->by_fd[fd] = NULL;
            c->sockets--;
        }
        return;
    }
    uint32_t events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
    if (events_add(r->ev, fd, EVENTS_TAG_ARES, (uint64_t)fd, events) != 0) {
        log_warn("cannot watch a DNS socket: %s", strerror(errno));
        return; /* the query times out */
    }
    if (!r->by_fd[fd]) c->sockets++;
    r->by_fd[fd] = c;
}

/* Sets c->ch up for server (normalised, or NULL: the system's resolvers); on failure c->ch is NULL and c->error
 * says why (shown as "cannot set up a resolver for <shown>: ..."). */
static void channel_setup(struct resolve_channel *c, const char *server, const char *shown, int flags)
{
    c->r->setups++;
    struct ares_options o = { .flags = flags,
                              .timeout = RESOLVE_TIMEOUT_MS,
                              .tries = RESOLVE_TRIES,
                              .sock_state_cb = on_sock_state,
                              .sock_state_cb_data = c };
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | (flags ? ARES_OPT_FLAGS : 0);
    int st = ares_init_options(&c->ch, &o, mask);
    if (st == ARES_SUCCESS && server) st = ares_set_servers_ports_csv(c->ch, server);
    if (st == ARES_SUCCESS) return;
    char text[512];
    snprintf(text, sizeof text, "cannot set up a resolver%s%s: %s", shown ? " for " : "", shown ? shown : "",
             ares_strerror(st));
    if (c->ch) ares_destroy(c->ch);
    c->ch = NULL;
    free(c->error);
    c->error = cw_xstrdup(text);
}

ares_channel resolver_channel(struct resolver *r, const char *server, int flags, char *err, size_t errlen)
{
    /* c-ares 1.18's ares_set_servers_ports_csv takes "IP", "IP:PORT" and "[IPv6]:PORT" but refuses "[IPv6]"
     * (ARES_EBADSTR): it is given the address and port as parsed, always with the port */
    char ip[64], norm[80], key[96];
    int port = 53;
    bool v6 = false;
    bool parsed = !server || cw_parse_dns_server(server, ip, sizeof ip, &port, &v6);
    if (server && parsed) snprintf(norm, sizeof norm, v6 ? "[%s]:%d" : "%s:%d", ip, port);
    snprintf(key, sizeof key, "%d/%s", flags, !server ? "" : parsed ? norm : server);
    struct resolve_channel *c;
    HASH_FIND_STR(r->channels, key, c);
    if (c && c->ch) return c->ch;
    int64_t now = cw_mono_ns();
    if (!c) {
        c = cw_xcalloc(1, sizeof *c);
        c->r = r;
        c->wake_ns = -1;
        c->key = cw_xstrdup(key);
        HASH_ADD_KEYPTR(hh, r->channels, c->key, strlen(c->key), c);
    } else if (now < c->retry_at_ns) {
        snprintf(err, errlen, "%s", c->error);
        return NULL;
    }
    if (parsed) {
        channel_setup(c, server ? norm : NULL, server, flags);
    } else {
        r->setups++;
        free(c->error);
        char text[160];
        snprintf(text, sizeof text, "cannot set up a resolver for %s: not an IP address with an optional port", server);
        c->error = cw_xstrdup(text);
    }
    if (c->ch) return c->ch;
    c->retry_at_ns = now + RESOLVE_RETRY_NS;
    snprintf(err, errlen, "%s", c->error);
    return NULL;
}

unsigned resolver_setups(const struct resolver *r) { return r->setups; }

struct resolver *resolver_new(struct worker_events *ev)
{
    int st = ares_library_init(ARES_LIB_INIT_ALL);
    if (st != ARES_SUCCESS) fatal(1, "cannot initialise c-ares: %s", ares_strerror(st));
    struct resolver *r = cw_xcalloc(1, sizeof *r);
    r->ev = ev;
    events_set_handler(ev, EVENTS_TAG_ARES, on_ares_fd, r);
    return r;
}

void resolver_free(struct resolver *r)
{
    if (!r) return;
    struct resolve_channel *c, *tmp;
    HASH_ITER(hh, r->channels, c, tmp)
    {
        HASH_DEL(r->channels, c);
        if (c->ch) ares_destroy(c->ch); /* pending callbacks run with ARES_EDESTRUCTION; sockets are closed */
        free(c->key);
        free(c->error);
        free(c);
    }
    free(r->by_fd);
    free(r);
    ares_library_cleanup();
}

/* ---- timeouts */

int64_t resolver_next_wakeup(struct resolver *r, int64_t now)
{
    int64_t next = -1;
    struct resolve_channel *c, *tmp;
    HASH_ITER(hh, r->channels, c, tmp)
    {
        c->wake_ns = -1;
        if (!c->sockets) continue; /* no query in flight */
        struct timeval tv;
        if (!ares_timeout(c->ch, NULL, &tv)) continue;
        c->wake_ns = now + (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
        if (next < 0 || c->wake_ns < next) next = c->wake_ns;
    }
    return next;
}

void resolver_run_timeouts(struct resolver *r, int64_t now)
{
    struct resolve_channel *c, *tmp;
    HASH_ITER(hh, r->channels, c, tmp)
    {
        if (c->wake_ns < 0 || c->wake_ns > now) continue;
        c->wake_ns = -1;
        ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
}

unsigned resolver_pending(const struct resolver *r) { return r->pending; }

/* ---- host lookups */

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    (void)timeouts;
    struct lookup *l = arg;
    struct resolve_result res = { .status = status };
    if (status == ARES_SUCCESS) {
        for (struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n && res.n < RESOLVE_MAX_ADDRS; n = n->ai_next) {
            if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
            if ((size_t)n->ai_addrlen > sizeof res.addr[0]) continue;
            memcpy(&res.addr[res.n], n->ai_addr, n->ai_addrlen);
            res.addr_len[res.n] = (socklen_t)n->ai_addrlen;
            set_port((struct sockaddr *)&res.addr[res.n], l->port);
            res.n++;
        }
        if (!res.n) res.status = ARES_ENODATA;
    }
    if (ai) ares_freeaddrinfo(ai);
    if (res.status != ARES_SUCCESS) res.error = resolve_status_text(res.status);
    l->r->pending--;
    l->cb(l->arg, l->token, &res);
    free(l);
}

void resolver_lookup(struct resolver *r, const char *host, int port, int family, resolve_cb cb, void *arg,
                     uint64_t token)
{
    struct resolve_result res = { 0 };
    if (resolve_literal(host, port, family, &res.addr[0], &res.addr_len[0])) {
        res.n = 1;
        cb(arg, token, &res);
        return;
    }
    char err[256];
    if (!r->system) {
        ares_channel ch = resolver_channel(r, NULL, 0, err, sizeof err);
        if (!ch) {
            log_warn("%s", err);
            res.status = ARES_ENOTINITIALIZED;
            res.error = "the system's resolver could not be set up";
            cb(arg, token, &res);
            return;
        }
        HASH_FIND_STR(r->channels, "0/", r->system);
    }
    struct lookup *l = cw_xcalloc(1, sizeof *l);
    *l = (struct lookup){ .r = r, .cb = cb, .arg = arg, .token = token, .port = port };
    struct ares_addrinfo_hints hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };
    r->pending++;
    ares_getaddrinfo(r->system->ch, host, NULL, &hints, on_addrinfo, l); /* may call on_addrinfo at once */
}
