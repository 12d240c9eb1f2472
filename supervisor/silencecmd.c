/* supervisor/silencecmd.c — `clockwerk silence` and `clockwerk ack` (see silencecmd.h). */
#include "supervisor/silencecmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DURATION_MAX_S (365LL * 86400LL)

int silencecmd_parse_duration(const char *text, int64_t *seconds, char *err, size_t errlen)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
    int64_t total = 0;
    size_t next_unit = 0; /* units must come in order d, h, m, s, each once */
    const char *p = text;
    if (!*p) goto bad;
    while (*p) {
        if (*p < '0' || *p > '9') goto bad;
        int64_t n = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            n = n * 10 + (*p - '0');
            if (n > DURATION_MAX_S) goto too_long;
        }
        size_t u = next_unit;
        while (u < sizeof units / sizeof units[0] && units[u].unit != *p) u++;
        if (u == sizeof units / sizeof units[0]) goto bad;
        total += n * units[u].seconds;
        if (total > DURATION_MAX_S) goto too_long;
        next_unit = u + 1;
        p++;
    }
    if (total == 0) {
        snprintf(err, errlen, "duration '%s' is zero", text);
        return -1;
    }
    *seconds = total;
    return 0;
bad:
    snprintf(err, errlen,
             "bad duration '%s': numbers with units d, h, m, s in that order, like 90s, 30m, 2h, 1d, 1h30m", text);
    return -1;
too_long:
    snprintf(err, errlen, "duration '%s' is longer than 365 days", text);
    return -1;
}
