/* common/base/log_target.c — sending log lines to syslog (/dev/log) or to the journal (sd_journal_send,
 * /run/systemd/journal/socket). See log_target.h.
 *
 * syslog is written by hand, not with syslog(3): syslog(3) reports nothing, so a /dev/log that nobody reads (a
 * stale socket after the daemon stopped, a removed one, a full queue) would lose every line silently. Here the
 * datagram socket is connected once and every send is checked: a refused, missing or (after a bounded wait of
 * SEND_WAIT_MS) full socket sends the line back to the caller, which writes it to stderr; one warning says so, and
 * the socket is tried again at most every RETRY_US so a restarted syslog daemon is picked up. The datagram is what
 * syslog(3) sends: `<PRI>Mmm dd hh:mm:ss clockwerk[PID]: MESSAGE` (RFC 3164), facility daemon. */
#include "common/base/log_target.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "common/base/clock.h"

#define SYSLOG_SOCKET "/dev/log"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define SEND_WAIT_MS 100            /* a full receive queue: wait this long, once, before falling back */
#define RETRY_US (10 * 1000 * 1000) /* while syslog fails: try it again at most this often */

static int syslog_fd = -1;
static bool syslog_down;        /* the last send failed: lines go to stderr until a retry works */
static int64_t syslog_retry_at; /* cw_mono_us() of the next retry while down */

static int socket_there(const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) return 0;
    snprintf(why, whylen, "%s is not a socket here", path);
    return -1;
}

static void syslog_disconnect(void)
{
    if (syslog_fd >= 0) close(syslog_fd);
    syslog_fd = -1;
}

/* 0, or -1 with errno set. */
static int syslog_connect(void)
{
    syslog_disconnect();
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", SYSLOG_SOCKET);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    syslog_fd = fd;
    return 0;
}

/* One datagram; 0, or -1 with errno set. A full queue is waited on for SEND_WAIT_MS, once. */
static int syslog_send_datagram(const char *datagram, size_t len)
{
    if (syslog_fd < 0 && syslog_connect() != 0) return -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (send(syslog_fd, datagram, len, MSG_NOSIGNAL) == (ssize_t)len) return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK) break;
        struct pollfd p = { .fd = syslog_fd, .events = POLLOUT };
        if (attempt == 0 && poll(&p, 1, SEND_WAIT_MS) <= 0) break;
    }
    int saved = errno;
    syslog_disconnect(); /* a refused peer is gone for good: the next try connects again */
    errno = saved;
    return -1;
}

int log_target_open(enum log_target target, char *why, size_t whylen)
{
    switch (target) {
    case LOG_TARGET_SYSLOG:
        if (socket_there(SYSLOG_SOCKET, why, whylen) != 0) return -1;
        if (syslog_connect() != 0) { /* connected now, before any chroot */
            snprintf(why, whylen, "cannot send to %s: %s", SYSLOG_SOCKET, strerror(errno));
            return -1;
        }
        syslog_down = false;
        return 0;
    case LOG_TARGET_JOURNAL:
        return socket_there(JOURNAL_SOCKET, why, whylen);
    default:
        return 0;
    }
}

void log_target_close(enum log_target target)
{
    if (target == LOG_TARGET_SYSLOG) syslog_disconnect();
}

static int send_syslog(const struct log_fields *f, char *why, size_t whylen)
{
    int64_t now = cw_mono_us();
    if (syslog_down && now < syslog_retry_at) return -1;
    char stamp[32], line[2048], datagram[2200];
    time_t wall = time(NULL);
    struct tm tm;
    if (!localtime_r(&wall, &tm) || strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm) == 0) stamp[0] = '\0';
    log_format(line, sizeof line, LOG_STYLE_BARE, f);
    int n = snprintf(datagram, sizeof datagram, "<%d>%s clockwerk[%d]: %s", LOG_DAEMON | log_priority(f->level), stamp,
                     f->pid, line);
    size_t len = n < 0 ? 0 : ((size_t)n < sizeof datagram ? (size_t)n : sizeof datagram - 1);
    if (syslog_send_datagram(datagram, len) == 0) {
        if (syslog_down) snprintf(why, whylen, "log_target syslog: %s works again; logging to syslog", SYSLOG_SOCKET);
        syslog_down = false;
        return 0;
    }
    if (!syslog_down)
        snprintf(why, whylen, "log_target syslog: cannot send to %s: %s; logging to stderr, retrying every %d s",
                 SYSLOG_SOCKET, strerror(errno), RETRY_US / 1000000);
    syslog_down = true;
    syslog_retry_at = now + RETRY_US;
    return -1;
}

int log_target_send(enum log_target target, const struct log_fields *f, char *why, size_t whylen)
{
    why[0] = '\0';
    if (target == LOG_TARGET_SYSLOG) return send_syslog(f, why, whylen);
    if (target == LOG_TARGET_JOURNAL) {
        char line[2048];
        log_format(line, sizeof line, LOG_STYLE_BARE, f);
        int rc = sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", log_priority(f->level), "SYSLOG_FACILITY=%d",
                                 LOG_DAEMON >> 3, "SYSLOG_IDENTIFIER=clockwerk", "CLOCKWERK_ROLE=%s",
                                 f->role ? f->role : "clockwerk", NULL);
        return rc < 0 ? -1 : 0;
    }
    return -1;
}
