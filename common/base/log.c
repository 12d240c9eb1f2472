/* common/base/log.c — the logger shared by every process: level, role, target (see log.h). Lines are formatted by
 * log_format.c; syslog and the journal are sent by log_target.c; stderr is written here, one write(2) per line, so
 * lines of different processes sharing a terminal never interleave. */
#include "common/base/log.h"
#include "common/base/clock.h"
#include "common/base/log_format.h"
#include "common/base/log_target.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static char log_role[64] = "clockwerk";
static enum log_level log_threshold = LOG_LVL_INFO;
static enum log_target log_current = LOG_TARGET_STDERR;
static bool stderr_is_journal; /* systemd connected stderr to journald: no timestamp, a <N> prefix */

static const char *const level_names[] = { "debug", "info", "warn", "error" };
static const char *const target_names[] = { "stderr", "syslog", "journal" };

static bool stderr_is_journal_stream(void)
{
    struct stat st;
    const char *stream = getenv("JOURNAL_STREAM");
    if (!stream || fstat(STDERR_FILENO, &st) != 0) return false;
    return log_journal_stream_is(stream, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

void log_init(const char *role, enum log_level level)
{
    snprintf(log_role, sizeof log_role, "%s", role ? role : "clockwerk");
    log_threshold = level;
    stderr_is_journal = stderr_is_journal_stream();
}

void log_set_level(enum log_level level) { log_threshold = level; }

int log_level_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0) return i;
    if (strcasecmp(name, "warning") == 0) return LOG_LVL_WARN;
    return -1;
}

const char *log_level_name(enum log_level level)
{
    return (level >= 0 && level <= LOG_LVL_ERROR) ? level_names[level] : "?";
}

int log_target_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < 3; i++)
        if (strcasecmp(name, target_names[i]) == 0) return i;
    return -1;
}

const char *log_target_name(enum log_target target)
{
    return (target >= 0 && target <= LOG_TARGET_JOURNAL) ? target_names[target] : "?";
}

enum log_target log_get_target(void) { return log_current; }

int log_set_target(enum log_target target)
{
    if (target == log_current) return 0;
    char why[256];
    if (log_target_open(target, why, sizeof why) != 0) {
        log_warn("log_target %s: %s; logging to %s instead", log_target_name(target), why,
                 log_target_name(log_current));
        return -1;
    }
    log_target_close(log_current);
    log_current = target;
    return 0;
}

static void write_stderr(struct log_fields *f)
{
    char line[2048], stamp[32];
    enum log_style style = LOG_STYLE_PRIORITY;
    if (!stderr_is_journal) {
        cw_format_iso8601(cw_wall_us(), stamp, sizeof stamp);
        f->stamp = stamp;
        style = LOG_STYLE_PLAIN;
    }
    size_t n = log_format(line, sizeof line - 1, style, f);
    line[n++] = '\n';
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(STDERR_FILENO, line + off, n - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    if (level < log_threshold) return;
    char text[2048];
    if (vsnprintf(text, sizeof text, fmt, ap) < 0) return;
    struct log_fields f = { NULL, log_role, (int)getpid(), level, text };
    if (log_current != LOG_TARGET_STDERR) {
        char why[320];
        int rc = log_target_send(log_current, &f, why, sizeof why);
        if (why[0]) { /* the target just failed, or works again: said once, on stderr */
            struct log_fields note = { NULL, log_role, f.pid, rc == 0 ? LOG_LVL_INFO : LOG_LVL_WARN, why };
            write_stderr(&note);
        }
        if (rc == 0) return;
    }
    write_stderr(&f); /* stderr, or a target that could not take the line */
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void fatal(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(LOG_LVL_ERROR, fmt, ap);
    va_end(ap);
    exit(code);
}
