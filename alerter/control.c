/* alerter/control.c — the control socket's listening, connections and non-blocking I/O (see control.h). */
#include "alerter/control.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"

#define CONTROL_BACKLOG 16

void control_open(struct control *c, const char *run_dir, const struct control_ops *ops)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->ops = *ops;
    c->cut_log.what = "slow control clients";
    struct cw_buf path = { 0 };
    cw_buf_printf(&path, "%s/%s", run_dir, CONTROL_SOCKET_NAME);
    cw_buf_put(&path, "", 1);
    c->path = (char *)path.data;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(c->path) >= sizeof addr.sun_path) {
        log_error("no control socket (no silences or acks from `clockwerk silence`/`ack`): %s is longer than %zu "
                  "bytes",
                  c->path, sizeof addr.sun_path - 1);
        return;
    }
    memcpy(addr.sun_path, c->path, strlen(c->path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const char *step = "socket";
    if (fd >= 0) {
        /* a socket left by an alerter that died: only one alerter runs per run_dir (the supervisor's lock) */
        if (unlink(c->path) != 0 && errno != ENOENT) step = "unlink";
        else if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) step = "bind";
        else if (chmod(c->path, 0600) != 0) step = "chmod";
        else if (listen(fd, CONTROL_BACKLOG) != 0) step = "listen";
        else step = NULL;
    }
    if (step) {
        log_error("no control socket (no silences or acks from `clockwerk silence`/`ack`): %s %s: %s", step, c->path,
                  strerror(errno));
        if (fd >= 0) close(fd);
        return;
    }
    c->fd = fd;
}

static void conn_close(struct control *c, size_t i)
{
    struct control_conn *k = &c->conns[i];
    close(k->fd);
    cw_buf_free(&k->in);
    cw_buf_free(&k->out);
    /* kept in accept order: conns[0] has the earliest deadline */
    memmove(&c->conns[i], &c->conns[i + 1], (c->n_conns - i - 1) * sizeof c->conns[0]);
    c->n_conns--;
    memset(&c->conns[c->n_conns], 0, sizeof c->conns[c->n_conns]);
}

void control_close(struct control *c)
{
    while (c->n_conns) conn_close(c, c->n_conns - 1);
    if (c->fd >= 0) {
        close(c->fd);
        if (unlink(c->path) != 0 && errno != ENOENT) log_warn("cannot remove %s: %s", c->path, strerror(errno));
    }
    c->fd = -1;
    free(c->path);
    c->path = NULL;
    free(c->names);
    c->names = NULL;
    c->n_names = 0;
}

/* The user name of uid, "uid N" when it has none: looked up once per uid for the process's life (a lookup may
 * block on LDAP/sssd; the names of local users seldom change), then from c->names. */
static const char *user_name(struct control *c, uid_t uid)
{
    for (size_t i = 0; i < c->n_names; i++)
        if (c->names[i].uid == (uint32_t)uid) return c->names[i].name;
    c->names = cw_xrealloc(c->names, (c->n_names + 1) * sizeof *c->names);
    struct control_uid_name *n = &c->names[c->n_names++];
    n->uid = (uint32_t)uid;
    struct passwd pw, *found = NULL;
    char buf[4096];
    c->name_lookups++;
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found && strlen(found->pw_name) < sizeof n->name)
        snprintf(n->name, sizeof n->name, "%s", found->pw_name);
    else snprintf(n->name, sizeof n->name, "uid %lu", (unsigned long)uid);
    return n->name;
}

/* The peer's user name, "uid N" when it has none, "unknown" when the kernel does not say. */
static void peer_name(struct control *c, int fd, char *out, size_t len)
{
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) snprintf(out, len, "unknown");
    else snprintf(out, len, "%s", user_name(c, cred.uid));
}

static void accept_all(struct control *c, int64_t now_us)
{
    for (;;) {
        int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_warn("control socket: accept: %s", strerror(errno));
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;
        }
        if (c->n_conns == CONTROL_CONNS_MAX) {
            static const char busy[] = "{\"v\":1,\"ok\":false,\"error\":\"busy: too many control connections\"}\n";
            ssize_t w = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT); /* best effort */
            (void)w;
            close(fd);
            c->refused++;
            continue;
        }
        struct control_conn *k = &c->conns[c->n_conns++];
        memset(k, 0, sizeof *k);
        k->fd = fd;
        k->deadline_us = now_us + CONTROL_CLIENT_TIMEOUT_US;
        peer_name(c, fd, k->who, sizeof k->who);
    }
}

/* Reads what is there; answers once the line (or the connection) ends. -1: close it now. */
static int conn_read(struct control *c, struct control_conn *k)
{
    for (;;) {
        char chunk[4096];
        ssize_t got = recv(k->fd, chunk, sizeof chunk, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        bool eof = got == 0;
        const char *nl = got > 0 ? memchr(chunk, '\n', (size_t)got) : NULL;
        size_t take = nl ? (size_t)(nl - chunk) : (size_t)got;
        if (k->in.len + take > CONTROL_REQUEST_MAX) {
            cw_buf_printf(&k->out, "{\"v\":1,\"ok\":false,\"error\":\"the request is longer than %d bytes\"}\n",
                          CONTROL_REQUEST_MAX);
            c->refused++;
            return 0;
        }
        cw_buf_put(&k->in, chunk, take);
        if (!nl && !eof) continue;
        if (eof && k->in.len == 0) return -1; /* connected and went: nothing to answer */
        c->requests++;
        control_handle(&c->ops, (const char *)k->in.data, k->in.len, k->who, cw_wall_us(), &k->out);
        return 0;
    }
}

/* Sends what is left of the answer. 1: all sent, 0: more later, -1: the peer is gone. */
static int conn_write(struct control_conn *k)
{
    while (k->written < k->out.len) {
        ssize_t w = send(k->fd, k->out.data + k->written, k->out.len - k->written, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        k->written += (size_t)w;
    }
    return 1;
}

void control_run(struct control *c, int64_t now_us)
{
    if (c->fd < 0) return;
    accept_all(c, now_us);
    for (size_t i = 0; i < c->n_conns;) {
        struct control_conn *k = &c->conns[i];
        int rc = k->out.len == 0 ? conn_read(c, k) : 0;
        if (rc == 0 && k->out.len > 0) rc = conn_write(k);
        if (rc == 0 && now_us >= k->deadline_us) {
            c->timeouts++;
            if (ratelimit_allow(&c->cut_log, now_us * 1000))
                log_warn("control socket: a client of %s took more than %lld s: cut", k->who,
                         (long long)(CONTROL_CLIENT_TIMEOUT_US / 1000000));
            rc = -1;
        }
        if (rc != 0) conn_close(c, i); /* done or gone: the next ones moved down by one */
        else i++;
    }
}

size_t control_waitfds(const struct control *c, struct curl_waitfd *out, size_t max)
{
    size_t n = 0;
    if (c->fd < 0 || max == 0) return 0;
    out[n++] = (struct curl_waitfd){ .fd = c->fd, .events = CURL_WAIT_POLLIN };
    for (size_t i = 0; i < c->n_conns && n < max; i++)
        out[n++] = (struct curl_waitfd){ .fd = c->conns[i].fd,
                                         .events = c->conns[i].out.len ? CURL_WAIT_POLLOUT : CURL_WAIT_POLLIN };
    return n;
}

int64_t control_deadline(const struct control *c)
{
    return c->n_conns ? c->conns[0].deadline_us : INT64_MAX; /* accept order: the oldest first */
}
