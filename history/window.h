/* history/window.h — the time window of `clockwerk report` (docs/report.md): parsing --since/--until, and
 * cutting the window into what each roll-up table serves. Pure: no clock, no I/O (now is a parameter).
 *
 * The checks' counts and percentiles come from whole hours (the roll-ups' finest cell): every UTC hour that
 * overlaps [since, until) counts whole. Of those hours, the whole UTC days come from checks_daily, the ragged
 * hours before and after them from checks_hourly, and the rows not folded yet from checks. Downtime is not
 * rounded: it is clipped to [since, until) to the millisecond. */
#ifndef CW_HISTORY_WINDOW_H
#define CW_HISTORY_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#define WIN_HOUR_MS INT64_C(3600000)
#define WIN_DAY_MS INT64_C(86400000)

/* A duration like 90s, 15m, 24h, 7d, 2w: milliseconds in *ms. false when it is not one (or is 0). */
bool win_parse_duration(const char *s, int64_t *ms);
/* A UTC date: 2026-11-25, 2026-11-25T04:05, 2026-11-25 04:05:06, 2026-11-25T04:05:06.123Z (a trailing Z is
 * optional, no other zone is accepted). Milliseconds since the epoch in *ms; false when it is not one. */
bool win_parse_date(const char *s, int64_t *ms);
/* --since/--until: "now", a duration (that long before now) or a date. */
bool win_parse_when(const char *s, int64_t now_ms, int64_t *ms);

/* Floor / ceiling to a multiple of unit (ms), correct for negative times too. */
int64_t win_floor(int64_t ms, int64_t unit);
int64_t win_ceil(int64_t ms, int64_t unit);

/* A range of periods [from, to) in ms; empty when from >= to. */
struct win_range {
    int64_t from, to;
};
struct win_split {
    struct win_range hours; /* every hour overlapping the window: the checks' window */
    struct win_range days;  /* the whole days inside hours, from checks_daily (may be empty) */
    struct win_range head;  /* hours before the first whole day, from checks_hourly */
    struct win_range tail;  /* hours after the last whole day, from checks_hourly */
};
/* Cuts [since_ms, until_ms) (since < until) as above. head + days + tail == hours, without overlap. */
void win_split(int64_t since_ms, int64_t until_ms, struct win_split *out);

#endif
