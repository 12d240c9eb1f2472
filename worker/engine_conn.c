/* worker/engine_conn.c — a check's TCP connection: lookup, then each address in turn (see engine_conn.h). */
#include "worker/engine_conn.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/base/clock.h"

const char *conn_errno_text(int err, char *buf, size_t len)
{
    snprintf(buf, len, "%s", strerror(err));
    if (buf[0] && isupper((unsigned char)buf[0]) && !isupper((unsigned char)buf[1]))
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

void conn_quote(const char *s, size_t n, size_t max, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen < 8) {
        if (outlen) out[0] = '\0';
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char e[8];
        if (ch == '\r') snprintf(e, sizeof e, "\\r");
        else if (ch == '\n') snprintf(e, sizeof e, "\\n");
        else if (ch == '"' || ch == '\\') snprintf(e, sizeof e, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f) snprintf(e, sizeof e, "\\x%02x", ch);
        else e[0] = (char)ch, e[1] = '\0';
        size_t k = strlen(e);
        if (i >= max || o + k + 5 > outlen) { /* room for "...", the closing quote and the NUL */
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, e, k);
        o += k;
    }
    out[o++] = '"';
    out[o] = '\0';
}

void conn_close(struct check *c, struct engine_conn *conn)
{
    if (conn->fd < 0) return;
    if (c->fd == conn->fd) check_unwatch(c, false);
    close(conn->fd); /* SO_LINGER 0: a reset, no TIME_WAIT; the close takes it out of the epoll set */
    conn->fd = -1;
    conn->connecting = false;
}

static void connected(struct check *c, struct engine_conn *conn)
{
    conn->connecting = false;
    c->r.connect_us = (cw_mono_ns() - conn->connect_start_ns) / 1000;
    conn->on_connected(c);
}

const char *conn_addr_text(const struct engine_conn *conn, char *buf, size_t len)
{
    if (conn->current >= conn->addrs.n) snprintf(buf, len, "%s", conn->resolving ? "?" : "(no address)");
    else resolve_addr_text((const struct sockaddr *)&conn->addrs.addr[conn->current], buf, len);
    return buf;
}

static void fail_all(struct check *c, struct engine_conn *conn)
{
    char why[128], addr[64];
    conn_addr_text(conn, addr, sizeof addr);
    conn_errno_text(conn->last_errno, why, sizeof why);
    if (conn->addrs.n > 1) check_fail(c, "%s (%s port %d; %zu addresses tried)", why, addr, c->ep->port, conn->addrs.n);
    else check_fail(c, "%s (%s port %d)", why, addr, c->ep->port);
}

/* Connects to the next address; on to the one after when it fails at once. */
static void try_next(struct check *c, struct engine_conn *conn)
{
    while (conn->next < conn->addrs.n) {
        const struct sockaddr *sa = (const struct sockaddr *)&conn->addrs.addr[conn->next];
        socklen_t len = conn->addrs.addr_len[conn->next];
        conn->current = conn->next++;
        conn->connect_start_ns = cw_mono_ns();
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            conn->last_errno = errno;
            continue;
        }
        struct linger l = { .l_onoff = 1, .l_linger = 0 };
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l); /* best effort: a FIN works too */
        conn->fd = fd;
        if (connect(fd, sa, len) == 0) {
            connected(c, conn);
            return;
        }
        if (errno == EINPROGRESS) {
            conn->connecting = true;
            if (check_watch(c, fd, EPOLLOUT) == 0) return;
        }
        conn->last_errno = errno;
        conn_close(c, conn);
    }
    fail_all(c, conn);
}

void conn_on_fd(struct check *c, struct engine_conn *conn, uint32_t epoll_events)
{
    (void)epoll_events;
    if (!conn->connecting) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
        connected(c, conn);
        return;
    }
    conn->last_errno = err;
    conn_close(c, conn);
    try_next(c, conn);
}

static void on_resolved(struct check *c, const struct resolve_result *res)
{
    struct engine_conn *conn = c->state; /* the first member of the type's state */
    conn->resolving = false;
    if (res->status != 0) {
        check_fail(c, "cannot resolve %s: %s", c->ep->host, res->error ? res->error : "lookup failed");
        return;
    }
    conn->addrs = *res;
    conn->next = 0;
    try_next(c, conn);
}

void conn_start(struct check *c, struct engine_conn *conn, void (*on_connected)(struct check *c))
{
    conn->fd = -1;
    conn->on_connected = on_connected;
    if (!c->ep->host || !c->ep->host[0] || c->ep->port == 0) {
        check_fail(c, "no host and port to connect to");
        return;
    }
    conn->resolving = true;
    check_resolve(c, c->ep->host, c->ep->port, AF_UNSPEC, on_resolved);
}

void conn_doing(const struct check *c, const struct engine_conn *conn, char *out, size_t outlen)
{
    char addr[64];
    conn_addr_text(conn, addr, sizeof addr);
    if (conn->resolving) snprintf(out, outlen, "looking up %s", c->ep->host);
    else if (conn->connecting) snprintf(out, outlen, "connecting to %s port %d", addr, c->ep->port);
    else snprintf(out, outlen, "on the connection to %s port %d", addr, c->ep->port);
}
