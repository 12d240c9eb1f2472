/* supervisor/readiness.c — children saying they are up: the socket and its messages (see readiness.h). */
#include "supervisor/readiness.h"

#include "common/base/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void readiness_init(struct readiness *r)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->rl.what = "refused readiness messages";
}

void readiness_close(struct readiness *r)
{
    if (r->fd < 0) return;
    close(r->fd);
    r->fd = -1;
    if (r->path && unlink(r->path) != 0 && errno != ENOENT) log_warn("cannot remove %s: %s", r->path, strerror(errno));
}

int readiness_open(struct readiness *r, const char *run_dir, const struct privs *p, char *err, size_t errlen)
{
    if (r->fd >= 0) close(r->fd); /* run_dir recreated: the old file went with it */
    r->fd = -1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(r->env, sizeof r->env, "%s=%s/%s", PROC_READY_ENV, run_dir, READINESS_SOCKET);
    r->path = r->env + strlen(PROC_READY_ENV) + 1;
    if (n < 0 || (size_t)n >= sizeof r->env || strlen(r->path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "run_dir %s is too long for the socket %s in it", run_dir, READINESS_SOCKET);
        return -1;
    }
    memcpy(sa.sun_path, r->path, strlen(r->path) + 1);
    int one = 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0 ||
        (unlink(r->path) != 0 && errno != ENOENT) || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        chmod(r->path, 0600) != 0) {
        snprintf(err, errlen, "cannot create the socket %s: %s", r->path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (privs_chown(p, r->path, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    r->fd = fd;
    return 0;
}

/* The slot of the running process pid, or NULL. */
static struct child *by_pid(struct children *ch, pid_t pid)
{
    for (size_t i = 0; i < ch->n; i++)
        if (ch->v[i].pid > 0 && ch->v[i].pid == pid) return &ch->v[i];
    return NULL;
}

static void refuse(struct readiness *r, int64_t now, const char *what, pid_t pid)
{
    r->dropped++;
    if (ratelimit_allow(&r->rl, now)) log_warn("readiness message from pid %d dropped: %s", (int)pid, what);
}

/* One datagram: its sender's pid from the kernel, then the message. */
static void take(struct readiness *r, struct children *ch, const uint8_t *buf, size_t len, const struct ucred *cred,
                 int64_t now)
{
    if (!cred) {
        refuse(r, now, "no credentials", 0);
        return;
    }
    struct proc_ready_msg m;
    const char *why;
    if (proc_ready_decode(buf, len, &m, &why) != 0) {
        refuse(r, now, why, cred->pid);
        return;
    }
    struct child *c = by_pid(ch, cred->pid);
    if (!c) {
        refuse(r, now, "not one of our children", cred->pid);
        return;
    }
    if (strcmp(m.role, child_kind_name(c->kind)) != 0 || m.slot != c->index) {
        refuse(r, now, "its role or slot is not that child's", cred->pid);
        return;
    }
    r->taken++;
    if (c->ready) return;
    c->ready = true;
    log_info("%s (pid %d) is ready after %.1f s", c->name, (int)c->pid, (double)(now - c->started_ns) / 1e9);
}

void readiness_drain(struct readiness *r, struct children *ch, int64_t now)
{
    if (r->fd < 0) return;
    for (;;) {
        uint8_t buf[PROC_READY_MSG_MAX + 1]; /* one more: a longer datagram is seen as such (MSG_TRUNC) */
        union {
            struct cmsghdr align;
            char bytes[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control
        };
        ssize_t got = recvmsg(r->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && ratelimit_allow(&r->rl, now))
                log_warn("cannot read %s: %s", r->path, strerror(errno));
            return;
        }
        struct ucred cred;
        bool have_cred = false;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level != SOL_SOCKET) continue;
            if (cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len == CMSG_LEN(sizeof cred)) {
                memcpy(&cred, CMSG_DATA(cm), sizeof cred);
                have_cred = true;
            } else if (cm->cmsg_type == SCM_RIGHTS) { /* nobody should send us descriptors: closed */
                size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < nfd; i++) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
                    close(fd);
                }
            }
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) refuse(r, now, "too long", have_cred ? cred.pid : 0);
        else take(r, ch, buf, (size_t)got, have_cred ? &cred : NULL, now);
    }
}
