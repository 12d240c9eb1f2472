/* common/base/clock.h — the two clocks Clockwerk uses: monotonic for schedules and durations,
 * wall-clock (UTC) for what is stored and shown. */
#ifndef CW_CLOCK_H
#define CW_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t cw_mono_ns(void); /* CLOCK_MONOTONIC, nanoseconds */
int64_t cw_thread_cpu_ns(void); /* the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), nanoseconds */
int64_t cw_mono_us(void);
int64_t cw_wall_us(void); /* CLOCK_REALTIME, microseconds since the Unix epoch */

/* Formats wall-clock microseconds as `2026-11-25T04:05:06.123Z` (UTC, milliseconds).
 * Needs at least 25 bytes; returns buf. */
char *cw_format_iso8601(int64_t wall_us, char *buf, size_t len);

#endif
