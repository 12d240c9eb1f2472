/* common/clock.c — monotonic and wall-clock time, and the ISO-8601 form used in logs, the tap and SQLite. */
#include "common/clock.h"

#include <stdio.h>
#include <time.h>

int64_t cw_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cw_mono_us(void) { return cw_mono_ns() / 1000; }

int64_t cw_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *cw_format_iso8601(int64_t wall_us, char *buf, size_t len)
{
    time_t secs = (time_t)(wall_us / 1000000);
    int ms = (int)((wall_us % 1000000) / 1000);
    if (wall_us < 0 && wall_us % 1000000) { secs -= 1; ms = (int)((wall_us % 1000000 + 1000000) / 1000); }
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) { snprintf(buf, len, "invalid-time"); return buf; }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}
