/* alerter/group.c — the hold window that turns alert storms into one summary (see group.h). */
#include "alerter/group.h"

int64_t agroup_hold_us(double interval_s)
{
    double us = interval_s * 1e6;
    if (!(us > 0)) us = 0;
    int64_t hold = (us > (double)GROUP_HOLD_MAX_US ? GROUP_HOLD_MAX_US : (int64_t)us) + GROUP_HOLD_SLACK_US;
    return hold > GROUP_HOLD_MAX_US ? GROUP_HOLD_MAX_US : hold;
}

void agroup_add(struct agroup *g, int64_t now_us, double interval_s)
{
    if (g->held == 0) {
        g->close_at_us = now_us + agroup_hold_us(interval_s);
        if (now_us < g->storm_until_us && g->close_at_us < g->storm_until_us) g->close_at_us = g->storm_until_us;
        double us = interval_s * 1e6;
        g->interval_us = !(us > 0) ? 0 : us > (double)GROUP_STORM_MAX_US ? GROUP_STORM_MAX_US : (int64_t)us;
    }
    g->held++;
}

bool agroup_due(const struct agroup *g, int64_t now_us) { return g->held > 0 && now_us >= g->close_at_us; }

int64_t agroup_deadline(const struct agroup *g) { return g->held > 0 ? g->close_at_us : INT64_MAX; }

bool agroup_is_summary(size_t n, int group_threshold)
{
    return group_threshold >= 0 && n > (size_t)group_threshold && n > 1;
}

bool agroup_release(struct agroup *g, int64_t now_us, size_t n, int group_threshold)
{
    bool summary = agroup_is_summary(n, group_threshold);
    g->storm_until_us = summary ? now_us + g->interval_us : 0;
    g->held = 0;
    g->close_at_us = 0;
    return summary;
}
