/* common/base/tzfile.c — a reader of the system's compiled time zone files (TZif, RFC 8536) and the conversions of
 * tzfile.h, safe to use from several threads at once.
 *
 * Why it is hand-written: glibc converts in one zone only, the process-global one named by TZ (localtime_r, mktime
 * and tzset read the environment). Converting in another zone means setenv("TZ") + tzset, which races with every
 * other thread that reads the environment (getenv inside libpq, libcurl, the resolver...). glibc has no per-zone
 * interface, so the zone data is read here.
 *
 * What is read: the version 2+ data block (64-bit transition times; a version 1 file's 32-bit block when it is
 * all there is), its time types, and the footer's POSIX TZ string, which gives the offset after the last
 * transition (Debian's files list transitions up to 2037; the footer carries the rule beyond). Footer rules of
 * the form Mm.w.d[/time] are understood (every current zone uses them); Jn and n rules are refused with an error,
 * as are leap-second ("right/") files. */
#include "common/base/tzfile.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/hash.h"
#include "common/base/tzfile_posix.h"
#include "common/base/util.h"

#define DAY_S 86400LL
#define HOUR_S 3600
#define MAX_FILE (1 << 20) /* a zone file is a few KiB */
#define MAX_OFFSET 93599   /* RFC 8536: a UT offset lies in [-89999, 93599] */
#define MIN_OFFSET (-89999)
#define REACH (27LL * HOUR_S) /* beyond any offset: where an instant of a local time can lie */
#define CYCLE_S 12622780800LL /* 400 Gregorian years (146097 days): the calendar, and every footer rule, repeats */
#define FAR_S (1LL << 62)     /* footer times are clamped to ±FAR_S */

struct tz_type {
    int32_t utoff; /* seconds east of UTC */
    bool isdst;
    uint8_t abbr; /* its abbreviation: at abbrs + abbr */
};

struct tz_zone {
    size_t n_trans, n_types;
    int64_t *trans;      /* ascending */
    uint8_t *trans_type; /* the type from each transition on */
    struct tz_type *types;
    char *abbrs; /* the abbreviations, NUL-terminated one after the other */
    struct tz_footer footer;
};

static struct tz_type utc_type = { 0, false, 0 };
static char utc_abbr[] = "UTC";
static const struct tz_zone utc_zone = { .n_types = 1, .types = &utc_type, .abbrs = utc_abbr };

static void set_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || !err_len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* ---- the calendar ---- */

static bool leap_year(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static int64_t leaps_through(int64_t y) { return y / 4 - y / 100 + y / 400; } /* leap years in 1 … y (y >= 0) */

/* Days from 1970-01-01 to January 1st of year y (y >= 1). */
static int64_t year_start_day(int64_t y) { return 365 * (y - 1970) + leaps_through(y - 1) - leaps_through(1969); }

/* Days from 1970-01-01 to the first of month (1-12) of year y. */
static int64_t month_start_day(int64_t y, int month)
{
    static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
    return year_start_day(y) + before[month - 1] + (month > 2 && leap_year(y));
}

static int month_length(int64_t y, int month)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return len[month - 1] + (month == 2 && leap_year(y));
}

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* The year of day `day` (days since 1970-01-01; within a few thousand years of it). */
static int64_t year_of_day(int64_t day)
{
    int64_t y = 1970 + floor_div(day * 400, 146097);
    while (year_start_day(y) > day) y--;
    while (year_start_day(y + 1) <= day) y++;
    return y;
}

/* ---- the footer's rule ---- */

/* The instant a rule fires in year y, its time read at offset off (seconds east). */
static int64_t rule_instant(const struct tz_rule *r, int64_t y, int32_t off)
{
    int64_t first = month_start_day(y, r->month);
    int first_wday = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int64_t day = first + (r->wday - first_wday + 7) % 7 + (r->week - 1) * 7;
    while (day >= first + month_length(y, r->month)) day -= 7; /* week 5: the last such day of the month */
    return day * DAY_S + r->time - off;
}

/* The footer's transitions around t (years of t - 1 … t + 1): the latest at or before t (*dst: what it starts),
 * and the first after t. */
static void footer_around(const struct tz_footer *f, int64_t t, int64_t *prev, bool *dst, int64_t *next)
{
    int64_t y = year_of_day(floor_div(t + f->std_off, DAY_S));
    *prev = INT64_MIN;
    *next = INT64_MAX;
    *dst = false;
    for (int64_t yy = y - 1; yy <= y + 1; yy++) {
        int64_t at[2] = { rule_instant(&f->start, yy, f->std_off), rule_instant(&f->end, yy, f->dst_off) };
        for (int k = 0; k < 2; k++) {
            if (at[k] <= t && at[k] > *prev) {
                *prev = at[k];
                *dst = k == 0;
            } else if (at[k] > t && at[k] < *next) {
                *next = at[k];
            }
        }
    }
}

/* t folded into [0, CYCLE_S) (1970 … 2369) by whole 400-year cycles; *shift: what was taken off. Times beyond
 * ±2^62 s (a hundred billion years) are first clamped: no overflow, whatever the caller passes. */
static int64_t fold(int64_t t, int64_t *shift)
{
    if (t < -FAR_S) t = -FAR_S;
    if (t > FAR_S) t = FAR_S;
    *shift = floor_div(t, CYCLE_S) * CYCLE_S;
    return t - *shift;
}

/* Whether the footer's daylight time is in force at t. */
static bool footer_dst(const struct tz_footer *f, int64_t t)
{
    if (!f->has_dst) return false;
    int64_t shift, prev, next;
    bool dst;
    footer_around(f, fold(t, &shift), &prev, &dst, &next);
    return dst;
}

static int64_t footer_next_change(const struct tz_footer *f, int64_t t)
{
    if (!f->has_dst) return INT64_MAX;
    int64_t shift, prev, next;
    bool dst;
    footer_around(f, fold(t, &shift), &prev, &dst, &next);
    if (next == INT64_MAX || (shift > 0 && next > INT64_MAX - shift) || next + shift <= t) return INT64_MAX;
    return next + shift;
}

/* ---- conversions ---- */

/* The index of the last transition at or before t; -1: t is before the first. */
static long last_transition(const struct tz_zone *z, int64_t t)
{
    long lo = -1, hi = (long)z->n_trans; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* z's offset at t, and its abbreviation when abbr is not NULL. */
static int32_t offset_and_abbr(const struct tz_zone *z, int64_t t, const char **abbr)
{
    long i = last_transition(z, t);
    if (z->footer.present && i == (long)z->n_trans - 1) {
        bool dst = footer_dst(&z->footer, t);
        if (abbr) *abbr = dst ? z->footer.dst_name : z->footer.std_name;
        return dst ? z->footer.dst_off : z->footer.std_off;
    }
    const struct tz_type *type = &z->types[i < 0 ? 0 : z->trans_type[i]];
    if (abbr) *abbr = z->abbrs + type->abbr;
    return type->utoff;
}

int tz_offset_at_utc(const struct tz_zone *z, int64_t utc_s) { return offset_and_abbr(z, utc_s, NULL); }

const char *tz_abbr_at_utc(const struct tz_zone *z, int64_t utc_s)
{
    const char *abbr;
    offset_and_abbr(z, utc_s, &abbr);
    return abbr;
}

/* The first instant after t at which z's offset may change; INT64_MAX: never. */
static int64_t next_change(const struct tz_zone *z, int64_t t)
{
    long i = last_transition(z, t);
    if (i + 1 < (long)z->n_trans) return z->trans[i + 1];
    return z->footer.present ? footer_next_change(&z->footer, t) : INT64_MAX;
}

int64_t tz_local_to_utc(const struct tz_zone *z, int64_t local_s, enum tz_pick pick)
{
    if (local_s < INT64_MIN / 2 || local_s > INT64_MAX / 2) /* out of any calendar: the offset there, saturated */
        return local_s < 0 ? INT64_MIN / 2 - tz_offset_at_utc(z, INT64_MIN / 2)
                           : INT64_MAX / 2 - tz_offset_at_utc(z, INT64_MAX / 2);
    /* Walk the stretches of constant offset over [local_s - REACH, local_s + REACH): an instant of local_s is
     * local_s - off inside a stretch of offset off; a jump forward over local_s is where it was skipped. */
    int64_t a = local_s - REACH, stop = local_s + REACH, first = 0, last = 0, jump = INT64_MIN;
    int32_t off = tz_offset_at_utc(z, a);
    bool found = false;
    for (int guard = 0; guard < 1024; guard++) {
        int64_t b = next_change(z, a), t = local_s - off;
        if (t >= a && t < b) {
            if (!found) first = t;
            last = t;
            found = true;
        }
        if (b >= stop) break;
        int32_t after = tz_offset_at_utc(z, b);
        if (jump == INT64_MIN && after > off && b + off <= local_s && local_s < b + after) jump = b;
        a = b;
        off = after;
    }
    if (found) return pick == TZ_LAST ? last : first;
    return jump != INT64_MIN ? jump : local_s - off;
}

/* ---- reading a file ---- */

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t get_be64(const unsigned char *p) { return (int64_t)((uint64_t)get_be32(p) << 32 | get_be32(p + 4)); }

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

/* The size of a data block with these counts and transition times of time_size bytes. */
static size_t block_size(const struct tzif_counts *c, size_t time_size)
{
    return c->time * time_size + c->time + c->type * 6 + c->chars + c->leap * (time_size + 4) + c->isstd + c->isut;
}

static bool read_header(const unsigned char *p, size_t len, struct tzif_counts *c, char *err, size_t err_len)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0) {
        set_err(err, err_len, "not a TZif zone file (no TZif header)");
        return false;
    }
    uint32_t v[6];
    for (int i = 0; i < 6; i++) v[i] = get_be32(p + 20 + 4 * i);
    *c = (struct tzif_counts){ v[0], v[1], v[2], v[3], v[4], v[5] };
    if (c->type == 0 || c->type > 256 || c->time > 100000 || c->chars == 0 || c->chars > 4096 ||
        (c->isut && c->isut != c->type) || (c->isstd && c->isstd != c->type) || c->leap > 1000) {
        set_err(err, err_len, "bad TZif header (counts out of range)");
        return false;
    }
    if (c->leap) {
        set_err(err, err_len, "a zone file with leap seconds (a \"right/\" zone) is not supported");
        return false;
    }
    return true;
}

/* Fills z's transitions and types from the data block at p (counts c, times of time_size bytes). */
static bool read_block(struct tz_zone *z, const unsigned char *p, const struct tzif_counts *c, size_t time_size,
                       char *err, size_t err_len)
{
    z->n_trans = c->time;
    z->n_types = c->type;
    z->trans = cw_xcalloc(c->time ? c->time : 1, sizeof *z->trans);
    z->trans_type = cw_xcalloc(c->time ? c->time : 1, 1);
    z->types = cw_xcalloc(c->type, sizeof *z->types);
    for (size_t i = 0; i < c->time; i++) {
        z->trans[i] = time_size == 8 ? get_be64(p + 8 * i) : (int32_t)get_be32(p + 4 * i);
        if (i && z->trans[i] <= z->trans[i - 1]) {
            set_err(err, err_len, "bad TZif data (transition times out of order)");
            return false;
        }
    }
    p += c->time * time_size;
    for (size_t i = 0; i < c->time; i++) {
        z->trans_type[i] = p[i];
        if (p[i] >= c->type) {
            set_err(err, err_len, "bad TZif data (a transition to an unknown type)");
            return false;
        }
    }
    p += c->time;
    for (size_t i = 0; i < c->type; i++, p += 6) {
        int32_t utoff = (int32_t)get_be32(p);
        if (utoff < MIN_OFFSET || utoff > MAX_OFFSET || p[4] > 1 || p[5] >= c->chars) {
            set_err(err, err_len, "bad TZif data (a time type out of range)");
            return false;
        }
        z->types[i] = (struct tz_type){ utoff, p[4] == 1, p[5] };
    }
    z->abbrs = cw_xmalloc(c->chars + 1);
    memcpy(z->abbrs, p, c->chars);
    z->abbrs[c->chars] = '\0';
    return true;
}

struct tz_zone *tz_parse(const unsigned char *buf, size_t len, char *err, size_t err_len)
{
    struct tzif_counts c;
    if (!read_header(buf, len, &c, err, err_len)) return NULL;
    size_t v1 = block_size(&c, 4);
    if (len - 44 < v1) {
        set_err(err, err_len, "truncated TZif file");
        return NULL;
    }
    struct tz_zone *z = cw_xcalloc(1, sizeof *z);
    bool ok;
    if (buf[4] == 0) { /* version 1: 32-bit times, no footer */
        ok = read_block(z, buf + 44, &c, 4, err, err_len);
    } else {
        const unsigned char *p = buf + 44 + v1;
        size_t rest = len - 44 - v1, v2;
        ok = read_header(p, rest, &c, err, err_len);
        if (ok && rest - 44 < (v2 = block_size(&c, 8))) {
            set_err(err, err_len, "truncated TZif file");
            ok = false;
        }
        ok = ok && read_block(z, p + 44, &c, 8, err, err_len);
        if (ok) {
            const char *foot = (const char *)p + 44 + v2, *end = (const char *)buf + len;
            const char *nl = foot < end && *foot == '\n' ? memchr(foot + 1, '\n', (size_t)(end - foot - 1)) : NULL;
            char text[256];
            if (!nl || nl - foot - 1 >= (long)sizeof text) {
                set_err(err, err_len, "bad TZif footer (no newline-framed TZ string)");
                ok = false;
            } else {
                memcpy(text, foot + 1, (size_t)(nl - foot - 1));
                text[nl - foot - 1] = '\0';
                char why[160];
                ok = !*text || tzp_parse_footer(text, &z->footer, why, sizeof why);
                if (!ok) set_err(err, err_len, "%s", why);
            }
        }
    }
    if (!ok) {
        tz_free(z);
        return NULL;
    }
    return z;
}

void tz_free(struct tz_zone *z)
{
    if (!z || z == &utc_zone) return;
    free(z->trans);
    free(z->trans_type);
    free(z->types);
    free(z->abbrs);
    free(z);
}

struct tz_zone *tz_load_file(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, err_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = cw_xmalloc(MAX_FILE + 1);
    size_t len = fread(buf, 1, MAX_FILE + 1, f);
    bool read_error = ferror(f);
    fclose(f);
    struct tz_zone *z = NULL;
    if (read_error) set_err(err, err_len, "%s: read error", path);
    else if (len > MAX_FILE) set_err(err, err_len, "%s: too large for a zone file", path);
    else z = tz_parse(buf, len, err, err_len);
    if (!z && !read_error && len <= MAX_FILE) {
        char why[200];
        snprintf(why, sizeof why, "%s", err && err_len ? err : "");
        set_err(err, err_len, "%s: %s", path, why);
    }
    free(buf);
    return z;
}

/* ---- names and the cache ---- */

bool tz_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/' || strstr(name, "..") || strstr(name, "//"))
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") == n;
}

struct cached_zone {
    char name[TZ_NAME_MAX + 1];
    const struct tz_zone *zone; /* NULL: loading failed, err says why */
    char err[256];
    UT_hash_handle hh;
};

static struct cached_zone *zone_cache;
static pthread_mutex_t zone_cache_lock = PTHREAD_MUTEX_INITIALIZER;

const struct tz_zone *tz_get(const char *name, char *err, size_t err_len)
{
    if (!name || !*name || strcmp(name, "UTC") == 0) return &utc_zone;
    if (!tz_name_valid(name)) {
        set_err(err, err_len, "'%.80s' is not a time zone name", name);
        return NULL;
    }
    pthread_mutex_lock(&zone_cache_lock);
    struct cached_zone *c;
    HASH_FIND_STR(zone_cache, name, c);
    if (!c) {
        c = cw_xcalloc(1, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", name);
        char path[sizeof TZ_ZONEINFO_DIR + TZ_NAME_MAX];
        snprintf(path, sizeof path, "%s%s", TZ_ZONEINFO_DIR, name);
        c->zone = tz_load_file(path, c->err, sizeof c->err);
        HASH_ADD_STR(zone_cache, name, c);
    }
    const struct tz_zone *z = c->zone;
    if (!z) set_err(err, err_len, "%s", c->err);
    pthread_mutex_unlock(&zone_cache_lock);
    return z;
}
