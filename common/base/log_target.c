/* common/base/log_target.c — sending log lines to syslog (syslog(3), /dev/log) or to the journal (sd_journal_send,
 * /run/systemd/journal/socket). See log_target.h. */
#include "common/base/log_target.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#define SYSLOG_SOCKET "/dev/log"
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static int socket_there(const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) return 0;
    snprintf(why, whylen, "%s is not a socket here", path);
    return -1;
}

int log_target_open(enum log_target target, char *why, size_t whylen)
{
    switch (target) {
    case LOG_TARGET_SYSLOG:
        if (socket_there(SYSLOG_SOCKET, why, whylen) != 0) return -1;
        openlog("clockwerk", LOG_PID | LOG_NDELAY, LOG_DAEMON); /* NDELAY: connected now, before any chroot */
        return 0;
    case LOG_TARGET_JOURNAL:
        return socket_there(JOURNAL_SOCKET, why, whylen);
    default:
        return 0;
    }
}

void log_target_close(enum log_target target)
{
    if (target == LOG_TARGET_SYSLOG) closelog();
}

int log_target_send(enum log_target target, const struct log_fields *f)
{
    char line[2048];
    log_format(line, sizeof line, LOG_STYLE_BARE, f);
    if (target == LOG_TARGET_SYSLOG) {
        syslog(LOG_DAEMON | log_priority(f->level), "%s", line);
        return 0;
    }
    if (target == LOG_TARGET_JOURNAL) {
        int rc = sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", log_priority(f->level), "SYSLOG_FACILITY=%d",
                                 LOG_DAEMON >> 3, "SYSLOG_IDENTIFIER=clockwerk", "CLOCKWERK_ROLE=%s",
                                 f->role ? f->role : "clockwerk", NULL);
        return rc < 0 ? -1 : 0;
    }
    return -1;
}
