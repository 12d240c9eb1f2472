/* common/base/tzfile_posix.c — parsing the POSIX TZ string of a TZif footer (tzfile_posix.h): std offset [dst
 * [offset] ,start[/time],end[/time]], names plain (3+ letters) or quoted (<+0530>), offsets [+-]hh[:mm[:ss]]
 * counted west of UTC as POSIX says, rule times up to ±167 h (RFC 8536). Only Mm.w.d rules are understood. */
#include "common/base/tzfile_posix.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Reads a zone abbreviation at *p into out[16] (3 … 15 characters); false when there is none. */
static bool read_name(const char **p, char *out)
{
    const char *s = *p, *from = s;
    if (*s == '<') {
        const char *close = strchr(s, '>');
        if (!close || close - s < 4) return false;
        for (const char *c = s + 1; c < close; c++)
            if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-') return false;
        from = s + 1;
        s = close;
    } else {
        while (isalpha((unsigned char)*s)) s++;
    }
    if (s - from < 3 || s - from > 15) return false;
    memcpy(out, from, (size_t)(s - from));
    out[s - from] = '\0';
    *p = *s == '>' ? s + 1 : s;
    return true;
}

/* Reads [+-]hh[:mm[:ss]] at *p, hours at most max_h, into *secs (signed as written). */
static bool read_hms(const char **p, int max_h, int32_t *secs)
{
    const char *s = *p;
    int sign = 1;
    if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
    int part[3] = { 0, 0, 0 }, n = 0;
    while (n < 3) {
        if (!isdigit((unsigned char)*s)) return false;
        int v = 0, digits = 0;
        while (isdigit((unsigned char)*s) && digits < 3) v = v * 10 + (*s++ - '0'), digits++;
        if (n > 0 && (digits != 2 || v > 59)) return false;
        part[n++] = v;
        if (*s != ':') break;
        s++;
    }
    if (part[0] > max_h) return false;
    *secs = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    *p = s;
    return true;
}

static bool read_int(const char **p, int lo, int hi, int *out)
{
    const char *s = *p;
    int v = 0, digits = 0;
    while (isdigit((unsigned char)*s) && digits < 3) v = v * 10 + (*s++ - '0'), digits++;
    if (!digits || v < lo || v > hi) return false;
    *out = v;
    *p = s;
    return true;
}

/* Reads ",Mm.w.d[/time]" at *p. */
static bool read_rule(const char **p, struct tz_rule *r, char *err, size_t err_len)
{
    const char *s = *p;
    if (*s++ != ',') return false;
    if (*s != 'M') {
        snprintf(err, err_len, "TZ rule '%.20s' is not of the form Mm.w.d (Jn and n rules are not supported)", s);
        return false;
    }
    s++;
    if (!read_int(&s, 1, 12, &r->month) || *s++ != '.' || !read_int(&s, 1, 5, &r->week) || *s++ != '.' ||
        !read_int(&s, 0, 6, &r->wday))
        return false;
    r->time = 2 * 3600;
    if (*s == '/' && (s++, !read_hms(&s, 167, &r->time))) return false;
    *p = s;
    return true;
}

bool tzp_parse_footer(const char *s, struct tz_footer *f, char *err, size_t err_len)
{
    const char *p = s;
    int32_t west;
    *f = (struct tz_footer){ .present = true };
    err[0] = '\0';
    bool ok = read_name(&p, f->std_name) && read_hms(&p, 24, &west);
    if (ok) f->std_off = -west;
    if (ok && *p) {
        f->has_dst = true;
        f->dst_off = f->std_off + 3600;
        ok = read_name(&p, f->dst_name);
        if (ok && *p && *p != ',') {
            ok = read_hms(&p, 24, &west);
            f->dst_off = -west;
        }
        if (ok && !*p) {
            snprintf(err, err_len, "TZ string '%.60s' has daylight saving time without a rule", s);
            ok = false;
        }
        ok = ok && read_rule(&p, &f->start, err, err_len) && read_rule(&p, &f->end, err, err_len) && !*p;
    }
    if (!ok && !err[0]) snprintf(err, err_len, "bad TZ string '%.60s' in the TZif footer", s);
    return ok;
}
