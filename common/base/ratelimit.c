/* common/base/ratelimit.c — rate-limited log lines (see ratelimit.h). */
#include "common/base/ratelimit.h"

#include <inttypes.h>

#include "common/base/log.h"

bool ratelimit_allow(struct ratelimit *rl, int64_t now)
{
    if (now - rl->window_start >= RATELIMIT_WINDOW_NS) {
        if (rl->suppressed) log_warn("%" PRIu64 " more %s not logged in the last 10 s", rl->suppressed, rl->what);
        rl->window_start = now;
        rl->lines = 0;
        rl->suppressed = 0;
    }
    if (rl->lines < RATELIMIT_LINES) {
        rl->lines++;
        return true;
    }
    rl->suppressed++;
    return false;
}
