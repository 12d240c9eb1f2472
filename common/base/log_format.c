/* common/base/log_format.c — formatting one log line for each target (see log_format.h). Pure functions. */
#include "common/base/log_format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A log line is one line: control characters from outside input (a server's reply, a URL) become '?'. */
static void escape_controls(char *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) s[i] = '?';
    }
}

size_t log_format(char *out, size_t cap, enum log_style style, const struct log_fields *f)
{
    const char *role = f->role ? f->role : "clockwerk";
    const char *level = log_level_name(f->level);
    int n;
    if (style == LOG_STYLE_PRIORITY)
        n = snprintf(out, cap, "<%d>clockwerk[%s] %d %s: ", log_priority(f->level), role, f->pid, level);
    else if (style == LOG_STYLE_BARE) n = snprintf(out, cap, "[%s] %s: ", role, level);
    else n = snprintf(out, cap, "%s clockwerk[%s] %d %s: ", f->stamp ? f->stamp : "-", role, f->pid, level);
    if (n < 0) n = 0;
    size_t len = (size_t)n < cap ? (size_t)n : cap - 1;
    if (len < cap - 1) {
        int m = snprintf(out + len, cap - len, "%s", f->text ? f->text : "");
        if (m > 0) len += (size_t)m < cap - len ? (size_t)m : cap - len - 1;
    }
    out[len] = '\0';
    escape_controls(out, 0, len);
    return len;
}

int log_priority(enum log_level level)
{
    switch (level) {
    case LOG_LVL_DEBUG:
        return 7;
    case LOG_LVL_INFO:
        return 6;
    case LOG_LVL_WARN:
        return 4;
    default:
        return 3;
    }
}

static bool parse_decimal(const char *s, char stop, unsigned long long *v, const char **end)
{
    if (*s < '0' || *s > '9') return false;
    char *e;
    errno = 0;
    *v = strtoull(s, &e, 10);
    if (errno != 0 || *e != stop) return false;
    *end = e;
    return true;
}

bool log_journal_stream_is(const char *value, unsigned long long dev, unsigned long long ino)
{
    unsigned long long d, i;
    const char *end;
    if (!value || !parse_decimal(value, ':', &d, &end) || !parse_decimal(end + 1, '\0', &i, &end)) return false;
    return d == dev && i == ino;
}
