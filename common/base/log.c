/* common/base/log.c — stderr logger shared by every process (see log.h for the line format).
 * One write(2) per line, so lines of different processes sharing a terminal never interleave. */
#include "common/base/log.h"
#include "common/base/clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char log_role[64] = "clockwerk";
static enum log_level log_threshold = LOG_LVL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *role, enum log_level level)
{
    snprintf(log_role, sizeof log_role, "%s", role ? role : "clockwerk");
    log_threshold = level;
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

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    if (level < log_threshold) return;
    char line[2048];
    char stamp[32];
    cw_format_iso8601(cw_wall_us(), stamp, sizeof stamp);
    int n =
        snprintf(line, sizeof line, "%s clockwerk[%s] %d %s: ", stamp, log_role, (int)getpid(), log_level_name(level));
    if (n < 0) return;
    if ((size_t)n < sizeof line) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        if (m > 0) n += m;
    }
    if ((size_t)n >= sizeof line - 1) n = (int)sizeof line - 2;
    /* A log line is one line: control characters from outside input are shown as '?'. */
    for (int i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 && line[i] != '\t') line[i] = '?';
    line[n++] = '\n';
    ssize_t off = 0;
    while (off < n) {
        ssize_t w = write(STDERR_FILENO, line + off, (size_t)(n - off));
        if (w <= 0) break;
        off += w;
    }
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
