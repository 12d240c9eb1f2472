/* alerter/mail_text.c — the words and times of an alert mail (see mail.h "Times and names"): a time in UTC and
 * in alerts.time_zone, how long a certificate has left, the host name in a Message-ID, the id a follow-up
 * threads on. */
#include "alerter/mail.h"
#include "common/base/tzfile.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* t broken down in zone, with the zone's abbreviation copied to abbr; false when zone is not set or cannot be
 * loaded. Through common/base/tzfile.h, never TZ: libcurl's resolver threads read the environment meanwhile. */
static bool zone_time(time_t t, const char *zone, struct tm *tm, char *abbr, size_t abbr_len)
{
    const struct tz_zone *z = zone && *zone ? tz_get(zone, NULL, 0) : NULL;
    if (!z) return false;
    time_t local = (time_t)((int64_t)t + tz_offset_at_utc(z, t));
    if (!gmtime_r(&local, tm)) return false;
    snprintf(abbr, abbr_len, "%s", tz_abbr_at_utc(z, t));
    return true;
}

void mail_format_time(int64_t wall_us, const char *zone, char *out, size_t len)
{
    time_t t = (time_t)(wall_us / 1000000);
    struct tm utc, loc;
    if (!gmtime_r(&t, &utc)) {
        snprintf(out, len, "(time out of range)");
        return;
    }
    int n = snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d UTC", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec);
    char abbr[16];
    if (n < 0 || (size_t)n >= len || !zone_time(t, zone, &loc, abbr, sizeof abbr)) return;
    if (loc.tm_year == utc.tm_year && loc.tm_yday == utc.tm_yday)
        snprintf(out + n, len - (size_t)n, " (%02d:%02d:%02d %s)", loc.tm_hour, loc.tm_min, loc.tm_sec, abbr);
    else
        snprintf(out + n, len - (size_t)n, " (%04d-%02d-%02d %02d:%02d:%02d %s)", loc.tm_year + 1900, loc.tm_mon + 1,
                 loc.tm_mday, loc.tm_hour, loc.tm_min, loc.tm_sec, abbr);
}

/* "1 day" / "4 days". */
static int put_unit(char *out, size_t len, int64_t v, const char *unit)
{
    return snprintf(out, len, "%" PRId64 " %s%s", v, unit, v == 1 ? "" : "s");
}

void mail_format_left(int64_t us, char *out, size_t len)
{
    if (us < 0) us = us < -INT64_MAX ? INT64_MAX : -us;
    int64_t s = us / 1000000;
    const char *big, *small;
    int64_t b, m;
    if (s >= 86400) big = "day", small = "hour", b = s / 86400, m = s / 3600 % 24;
    else if (s >= 3600) big = "hour", small = "minute", b = s / 3600, m = s / 60 % 60;
    else if (s >= 60) big = "minute", small = NULL, b = s / 60, m = 0;
    else {
        snprintf(out, len, "less than a minute");
        return;
    }
    int n = put_unit(out, len, b, big);
    if (small && m && n > 0 && (size_t)n < len) {
        out[n] = ' ';
        put_unit(out + n + 1, len - (size_t)n - 1, m, small);
    }
}

void mail_clean_host(const char *host, char *out, size_t len)
{
    if (len == 0) return;
    size_t o = 0;
    for (const char *p = host ? host : ""; *p && o + 1 < len && o < 253; p++) {
        char c = (isalnum((unsigned char)*p) || *p == '-' || *p == '.') ? *p : '-';
        if (c == '.' && (o == 0 || out[o - 1] == '.')) continue; /* a dot-atom: no empty labels */
        out[o++] = c;
    }
    while (o > 0 && out[o - 1] == '.') o--;
    out[o] = '\0';
    if (o == 0) snprintf(out, len, "clockwerk");
}

const char *mail_local_host(void)
{
    static char host[256];
    static bool done;
    if (!done) {
        if (gethostname(host, sizeof host) != 0) host[0] = '\0';
        host[sizeof host - 1] = '\0';
        done = true;
    }
    return host[0] ? host : NULL;
}

uint64_t mail_thread_key(const struct alert_rec *a)
{
    if (a->incident_id) return a->incident_id == a->id ? 0 : a->incident_id;
    /* No incident recorded: the DOWN's id follows from the deterministic ids (state.c: a reminder's and an
     * escalation's since is the DOWN's since; an UP's downtime reaches back to it). */
    switch (a->kind) {
    case CW_ALERT_REMINDER:
    case CW_ALERT_ESCALATION:
        return alert_make_id(a->url, CW_ALERT_DOWN, a->since_us, 0);
    case CW_ALERT_UP:
        return a->duration_us > 0 ? alert_make_id(a->url, CW_ALERT_DOWN, a->since_us - a->duration_us, 0) : 0;
    default:
        return 0;
    }
}
