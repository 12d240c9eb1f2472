/* common/base/ratelimit.h — a log line of one kind at most RATELIMIT_LINES times per RATELIMIT_WINDOW_NS, then a
 * count of what was left out ("N more <what> not logged in the last 10 s", a warning, when the next window
 * opens). For warnings that a misbehaving peer or an absent database could repeat thousands of times a
 * second. A zeroed struct with `what` set is ready. */
#ifndef CW_COMMON_RATELIMIT_H
#define CW_COMMON_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_LINES 5
#define RATELIMIT_WINDOW_NS 10000000000LL

struct ratelimit {
    const char *what;     /* "gap warnings": what the count of left-out lines names */
    int64_t window_start; /* monotonic ns */
    unsigned lines;       /* logged in this window */
    uint64_t suppressed;  /* left out in this window */
};

/* Whether a line may be logged now (now: cw_mono_ns). */
bool ratelimit_allow(struct ratelimit *rl, int64_t now);

#endif
