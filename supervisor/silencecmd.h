/* supervisor/silencecmd.h — `clockwerk silence add|list|remove` and `clockwerk ack ID`: requests to the running
 * alerter over its control socket RUN_DIR/alerter.ctl (docs/operations.md "Silences and acknowledgement",
 * docs/protocol.md "The alerter's control socket"). */
#ifndef CW_SUPERVISOR_SILENCECMD_H
#define CW_SUPERVISOR_SILENCECMD_H

#include <stddef.h>
#include <stdint.h>

/* Runs `clockwerk [-c FILE] silence ...` or `clockwerk [-c FILE] ack ...` (argv as main got it); returns the exit
 * code: 0 done, 1 refused or failed, 2 usage. */
int silencecmd_run(int argc, char **argv);

/* Parses a duration "90s", "30m", "2h", "1d", "1h30m", "1d2h3m4s": numbers with units d, h, m, s, each at most
 * once and in that order, nothing else; more than 0 and at most 365 days. 0 with *seconds, or -1 with err. */
int silencecmd_parse_duration(const char *text, int64_t *seconds, char *err, size_t errlen);

#endif
