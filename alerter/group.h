/* alerter/group.h — grouping of alerts against storms: alerts are held for a short window; when more than
 * group_threshold of them are held when the window closes, they go out as one summary (one mail, one call
 * per webhook) instead of one each.
 *
 * DESIGN
 * The window opens with the first alert held and closes `hold` later, where hold is the check interval of
 * that first alert's endpoint plus one second (the checks of endpoints that fail together are spread over
 * one interval by the workers' phases), at most GROUP_HOLD_MAX_US. Every alert therefore waits at most that
 * long. Pure timing logic (monotonic microseconds given by the caller); the held alerts live with the
 * caller. Known weakness: with intervals longer than the cap, a storm spread over a whole interval becomes
 * one summary per window rather than one in all. */
#ifndef CW_ALERTER_GROUP_H
#define CW_ALERTER_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GROUP_HOLD_MAX_US (10 * 1000000LL)
#define GROUP_HOLD_SLACK_US 1000000LL

struct agroup {
    size_t held;         /* alerts in the open window (0: no window open) */
    int64_t close_at_us; /* monotonic time the window closes */
};

/* The hold window for an endpoint checked every interval_s seconds. */
int64_t agroup_hold_us(double interval_s);

/* One more alert held at now_us; opens a window (closing at now_us + hold_us) when none is open. */
void agroup_add(struct agroup *g, int64_t now_us, int64_t hold_us);

/* True when a window is open and its time is up (the caller then takes the held alerts and agroup_reset). */
bool agroup_due(const struct agroup *g, int64_t now_us);

/* When the open window closes (INT64_MAX when none is open). */
int64_t agroup_deadline(const struct agroup *g);

/* True when n alerts released together make a summary. */
bool agroup_is_summary(size_t n, int group_threshold);

void agroup_reset(struct agroup *g);

#endif
