/* common/base/log_format.h — the pure part of logging: how one line is written for each target, the level's
 * syslog priority, and whether stderr is systemd's journal stream (JOURNAL_STREAM). No I/O, no state: unit-tested
 * in tests/unit/test_log_format.c; log.c and log_target.c do the writing. */
#ifndef CW_LOG_FORMAT_H
#define CW_LOG_FORMAT_H

#include "common/base/log.h"

#include <stdbool.h>
#include <stddef.h>

enum log_style {
    LOG_STYLE_PLAIN,    /* `2026-11-25T04:05:06.123Z clockwerk[worker 0/4] 1234 warn: text` (a terminal, a file) */
    LOG_STYLE_PRIORITY, /* `<4>clockwerk[worker 0/4] 1234 warn: text` (stderr read by journald: it stamps the time) */
    LOG_STYLE_BARE,     /* `[worker 0/4] warn: text` (syslog and the journal: they add the time, ident and pid) */
};

struct log_fields {
    const char *stamp; /* ISO 8601 UTC; used by LOG_STYLE_PLAIN only */
    const char *role;  /* "supervisor", "worker 0/4" */
    int pid;
    enum log_level level;
    const char *text; /* the message; control characters in it (and in role) are shown as '?' */
};

/* Writes the line (without a newline) into out, NUL-terminated, cut to fit; returns its length (< cap).
 * cap must be at least 1. */
size_t log_format(char *out, size_t cap, enum log_style style, const struct log_fields *f);

/* The syslog / sd-daemon priority of a level: debug 7, info 6, warn 4, error 3. */
int log_priority(enum log_level level);

/* Whether JOURNAL_STREAM's value ("DEV:INO", decimal) names the file with this device and inode: systemd sets it
 * when it connected stderr to the journal; a process whose stderr was redirected since keeps the variable but
 * not the stream. NULL or malformed: false. */
bool log_journal_stream_is(const char *value, unsigned long long dev, unsigned long long ino);

#endif
