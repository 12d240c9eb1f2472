/* common/base/log_target.h — the syslog and journal targets of the logger (log.c decides; these send).
 * syslog: datagrams to /dev/log as syslog(3) sends them, by hand so a failure is seen (log_target.c). journal: sd_journal_send with MESSAGE, PRIORITY,
 * SYSLOG_IDENTIFIER=clockwerk, CLOCKWERK_ROLE. Both get the LOG_STYLE_BARE line, escaped like every line. */
#ifndef CW_LOG_TARGET_H
#define CW_LOG_TARGET_H

#include "common/base/log_format.h"

/* Makes the target ready; -1 (reason in why) when its socket is not there. LOG_TARGET_STDERR: always 0. */
int log_target_open(enum log_target target, char *why, size_t whylen);
void log_target_close(enum log_target target);
/* Sends one line; -1 when it could not (the caller writes it to stderr instead). why: "" or a line for stderr
 * when the target just failed (a warning) or works again after failing (rc 0). */
int log_target_send(enum log_target target, const struct log_fields *f, char *why, size_t whylen);

#endif
