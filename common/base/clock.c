/* common/base/clock.c — monotonic and wall-clock time, and the ISO-8601 form used in logs, the tap and SQLite. */
#include "common/base/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

int64_t cw_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cw_thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cw_mono_us(void) { return cw_mono_ns() / 1000; }

int64_t cw_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void put_digits(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10) p[i] = (char)('0' + v % 10);
}

/* Hot: the storer formats every row's checked_at, the tap every line. So no snprintf, and the broken-down
 * time of the last second is kept per thread (glibc's gmtime_r takes a global lock): rows come in time
 * order, mostly within the same second. */
char *cw_format_iso8601(int64_t wall_us, char *buf, size_t len)
{
    static _Thread_local bool cached_valid;
    static _Thread_local time_t cached_secs;
    static _Thread_local struct tm cached_tm;
    time_t secs = (time_t)(wall_us / 1000000);
    int ms = (int)((wall_us % 1000000) / 1000);
    if (wall_us < 0 && wall_us % 1000000) {
        secs -= 1;
        ms = (int)((wall_us % 1000000 + 1000000) / 1000);
    }
    if (!cached_valid || secs != cached_secs) {
        cached_valid = false;
        if (!gmtime_r(&secs, &cached_tm)) {
            snprintf(buf, len, "invalid-time");
            return buf;
        }
        cached_secs = secs;
        cached_valid = true;
    }
    const struct tm *tm = &cached_tm;
    int year = tm->tm_year + 1900;
    if (len < 25 || year < 0 || year > 9999) {
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour,
                 tm->tm_min, tm->tm_sec, ms);
        return buf;
    }
    /* 2026-11-25T04:05:06.123Z */
    put_digits(buf, year, 4);
    buf[4] = '-';
    put_digits(buf + 5, tm->tm_mon + 1, 2);
    buf[7] = '-';
    put_digits(buf + 8, tm->tm_mday, 2);
    buf[10] = 'T';
    put_digits(buf + 11, tm->tm_hour, 2);
    buf[13] = ':';
    put_digits(buf + 14, tm->tm_min, 2);
    buf[16] = ':';
    put_digits(buf + 17, tm->tm_sec, 2);
    buf[19] = '.';
    put_digits(buf + 20, ms, 3);
    buf[23] = 'Z';
    buf[24] = '\0';
    return buf;
}
