/* common/base/log.h — one-line logging for every Clockwerk process, to stderr, syslog or the journal.
 *
 * On stderr each line reads `2026-11-25T04:05:06.123Z clockwerk[worker 0/4] 1234 warn: message`; when stderr is
 * systemd's journal stream (JOURNAL_STREAM), `<4>clockwerk[worker 0/4] 1234 warn: message` (journald stamps the
 * time). Through syslog and the journal: `[worker 0/4] warn: message` (see log_format.h, docs/operations.md).
 * Nothing here ever sees a password: callers mask secrets before they log (see cw_mask_url()). */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO = 1, LOG_LVL_WARN = 2, LOG_LVL_ERROR = 3 };

/* supervisor.log_target; stderr until a process has read its configuration. */
enum log_target { LOG_TARGET_STDERR = 0, LOG_TARGET_SYSLOG = 1, LOG_TARGET_JOURNAL = 2 };

/* role names the process in every line ("supervisor", "worker 0/4"); copied. Also looks once whether stderr is
 * the journal stream. */
void log_init(const char *role, enum log_level level);
void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn"/"warning", "error" (any case). Returns -1 when unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

/* Switches where lines go. A target that is not there (no /dev/log, no journal socket) is refused with a warning
 * on the current target: returns -1 and keeps it. */
int log_set_target(enum log_target target);
enum log_target log_get_target(void);
/* Parses "stderr", "syslog", "journal" (any case). Returns -1 when unknown. */
int log_target_parse(const char *name);
const char *log_target_name(enum log_target target);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

/* Logs at error level and exits with `code` (1: runtime failure, 2: fatal configuration — the
 * supervisor does not restart a child that exits 2). */
_Noreturn void fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
