/* common/base/tzfile_posix.h — the POSIX TZ string of a TZif file's footer (RFC 8536 section 3.3), which gives a
 * zone's offset after its last listed transition: its parsed form, shared by tzfile.c (which evaluates it) and
 * tzfile_posix.c (which parses it). Internal to common/base/tzfile.c. */
#ifndef CW_TZFILE_POSIX_H
#define CW_TZFILE_POSIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A rule "Mm.w.d/time": day d (0 = Sunday) of week w (5: the last) of month m, at time (seconds after local
 * midnight; may be negative or past 24 h, RFC 8536's extension). */
struct tz_rule {
    int month, week, wday;
    int32_t time;
};

struct tz_footer {
    bool present, has_dst;
    int32_t std_off, dst_off;        /* seconds east of UTC */
    struct tz_rule start, end;       /* DST starts (at standard time), ends (at daylight time) */
    char std_name[16], dst_name[16]; /* abbreviations, without the <> of a quoted one */
};

/* Parses a TZ string ("CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30") into f (present set). False with err (one
 * line) when it is malformed or uses a form not supported: Jn and n rules, DST without a rule. */
bool tzp_parse_footer(const char *s, struct tz_footer *f, char *err, size_t err_len);

#endif
