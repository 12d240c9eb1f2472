/* history/window.c — parsing the report's window and cutting it into roll-up tables (window.h). */
#include "history/window.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool win_parse_duration(const char *s, int64_t *ms)
{
    if (!s || !isdigit((unsigned char)s[0])) return false;
    char *end = NULL;
    unsigned long long n = strtoull(s, &end, 10);
    int64_t unit;
    switch (*end) {
    case 's':
        unit = 1000;
        break;
    case 'm':
        unit = 60000;
        break;
    case 'h':
        unit = WIN_HOUR_MS;
        break;
    case 'd':
        unit = WIN_DAY_MS;
        break;
    case 'w':
        unit = 7 * WIN_DAY_MS;
        break;
    default:
        return false;
    }
    if (end[1] != '\0' || n == 0 || n > (unsigned long long)(INT64_C(100) * 366 * WIN_DAY_MS / unit)) return false;
    *ms = (int64_t)n * unit;
    return true;
}

/* Reads exactly `digits` digits at *p into *v and moves *p past them. */
static bool take_digits(const char **p, int digits, int *v)
{
    *v = 0;
    for (int i = 0; i < digits; i++, (*p)++) {
        if (!isdigit((unsigned char)**p)) return false;
        *v = *v * 10 + (**p - '0');
    }
    return true;
}

bool win_parse_date(const char *s, int64_t *ms)
{
    if (!s) return false;
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    if (!take_digits(&p, 4, &y) || *p++ != '-' || !take_digits(&p, 2, &mo) || *p++ != '-' || !take_digits(&p, 2, &d))
        return false;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!take_digits(&p, 2, &h) || *p++ != ':' || !take_digits(&p, 2, &mi)) return false;
        if (*p == ':') {
            p++;
            if (!take_digits(&p, 2, &sec)) return false;
            if (*p == '.') {
                p++;
                int scale = 100;
                if (!isdigit((unsigned char)*p)) return false;
                for (; isdigit((unsigned char)*p); p++, scale /= 10) frac += scale * (*p - '0');
            }
        }
    }
    if (*p == 'Z') p++;
    if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return false;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) return false; /* timegm normalises 2026-02-30 to March: refused */
    *ms = (int64_t)t * 1000 + frac;
    return true;
}

bool win_parse_when(const char *s, int64_t now_ms, int64_t *ms)
{
    int64_t dur;
    if (s && !strcmp(s, "now")) {
        *ms = now_ms;
        return true;
    }
    if (win_parse_duration(s, &dur)) {
        *ms = now_ms - dur;
        return true;
    }
    return win_parse_date(s, ms);
}

int64_t win_floor(int64_t ms, int64_t unit)
{
    int64_t q = ms / unit;
    if (ms % unit != 0 && ms < 0) q--;
    return q * unit;
}

int64_t win_ceil(int64_t ms, int64_t unit)
{
    int64_t f = win_floor(ms, unit);
    return f == ms ? f : f + unit;
}

void win_split(int64_t since_ms, int64_t until_ms, struct win_split *out)
{
    int64_t h0 = win_floor(since_ms, WIN_HOUR_MS), h1 = win_ceil(until_ms, WIN_HOUR_MS);
    int64_t d0 = win_ceil(h0, WIN_DAY_MS), d1 = win_floor(h1, WIN_DAY_MS);
    out->hours = (struct win_range){ h0, h1 };
    if (d0 < d1) {
        out->days = (struct win_range){ d0, d1 };
        out->head = (struct win_range){ h0, d0 };
        out->tail = (struct win_range){ d1, h1 };
    } else {
        out->days = (struct win_range){ d0, d0 };
        out->head = (struct win_range){ h0, h1 };
        out->tail = (struct win_range){ h1, h1 };
    }
}
