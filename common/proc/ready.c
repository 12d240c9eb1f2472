/* common/proc/ready.c — the readiness message: its codec, and proc_ready, which a child calls once it is up
 * (see ready.h, proc.h). */
#include "common/proc/ready.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/base/le.h"
#include "common/base/log.h"
#include "common/proc/proc.h"

static const uint8_t MAGIC[4] = { 'C', 'W', 'R', 'Y' };

static bool role_ok(const uint8_t *s, size_t n)
{
    if (n == 0 || n > PROC_READY_ROLE_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'a' || s[i] > 'z') return false;
    return true;
}

size_t proc_ready_encode(const char *role, uint32_t slot, uint8_t *out, size_t cap)
{
    size_t n = role ? strlen(role) : 0;
    if (!role_ok((const uint8_t *)role, n) || cap < PROC_READY_FIXED + n) return 0;
    memcpy(out, MAGIC, sizeof MAGIC);
    out[4] = PROC_READY_VERSION;
    out[5] = (uint8_t)n;
    memcpy(out + 6, role, n);
    le_put_u32(out + 6 + n, slot);
    return PROC_READY_FIXED + n;
}

int proc_ready_decode(const uint8_t *buf, size_t len, struct proc_ready_msg *m, const char **why)
{
    struct le_reader r = le_reader_of(buf, len);
    const uint8_t *magic = le_read_bytes(&r, sizeof MAGIC);
    if (magic && memcmp(magic, MAGIC, sizeof MAGIC) != 0) le_reader_fail(&r, "bad magic");
    uint8_t version = le_read_u8(&r);
    if (!r.why && version != PROC_READY_VERSION) le_reader_fail(&r, "unsupported version");
    uint8_t n = le_read_u8(&r);
    const uint8_t *role = le_read_bytes(&r, n);
    if (role && !role_ok(role, n)) le_reader_fail(&r, "bad role");
    uint32_t slot = le_read_u32(&r);
    if (!r.why && r.left) le_reader_fail(&r, "trailing bytes");
    if (r.why) {
        *why = r.why;
        return -1;
    }
    memcpy(m->role, role, n);
    m->role[n] = '\0';
    m->slot = slot;
    return 0;
}

/* A blocking send that waits at most PROC_READY_SEND_TIMEOUT_MS per try: the supervisor's queue holds only
 * net.unix.max_dgram_qlen datagrams (10 by default) and many children start at once, so a full queue (EAGAIN once
 * the timeout passes) is tried again a few times while the supervisor drains it. Returns 0 or an errno. */
static int send_ready(const struct sockaddr_un *sa, const uint8_t *msg, size_t len)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    struct timeval tv = { .tv_sec = PROC_READY_SEND_TIMEOUT_MS / 1000,
                          .tv_usec = (PROC_READY_SEND_TIMEOUT_MS % 1000) * 1000 };
    int err = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0 ? EAGAIN : errno;
    for (int tries = 0; err == EAGAIN && tries < PROC_READY_SEND_TRIES; tries++) {
        if (sendto(fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)sa, sizeof *sa) >= 0) err = 0;
        else err = errno == EWOULDBLOCK || errno == EINTR ? EAGAIN : errno; /* full, or a signal: again */
    }
    close(fd);
    return err;
}

void proc_ready(const struct proc *p)
{
    proc_give_back(); /* what start-up used (the snapshot read, a state file parsed) is not kept resident */
    const char *path = getenv(PROC_READY_ENV);
    if (!path || !*path) return; /* not started by a supervisor that listens */
    uint8_t msg[PROC_READY_MSG_MAX];
    size_t len = proc_ready_encode(p->name, p->slot, msg, sizeof msg);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!len || strlen(path) >= sizeof sa.sun_path) {
        log_warn("cannot tell the supervisor we are ready: %s", len ? "socket path too long" : "role not encodable");
        return;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int err = send_ready(&sa, msg, len);
    if (err)
        log_warn("cannot tell the supervisor we are ready (%s): %s%s", path, strerror(err),
                 err == EAGAIN ? " (its queue stayed full through every try)" : "");
    else log_debug("told the supervisor we are ready");
}
