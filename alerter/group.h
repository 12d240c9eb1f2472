/* alerter/group.h — grouping of alerts against storms: alerts are held for a short window; when more than
 * group_threshold of them are held when the window closes, they go out as one summary (one mail, one call
 * per webhook) instead of one each.
 *
 * DESIGN
 * The window opens with the first alert held and closes `hold` later, where hold is the check interval of
 * that first alert's endpoint plus one second (the checks of endpoints that fail together are spread over
 * one interval by the workers' phases), at most GROUP_HOLD_MAX_US. Every alert therefore waits at most that
 * long.
 * A storm spread over a long interval (checks are phased across it) would still become one summary per
 * window, so a summary starts a storm period of one check interval (of the window's first endpoint, at most
 * GROUP_STORM_MAX_US): a window opened during it stays open until the storm period ends, collecting the rest
 * of the storm into one more summary (which extends the storm by another interval). A window that closes
 * with group_threshold alerts or fewer ends the storm; they go out one by one. During a storm alerts may
 * thus wait up to one interval: the price of one mail instead of hundreds.
 * Pure timing logic (monotonic microseconds given by the caller); the held alerts live with the caller. */
#ifndef CW_ALERTER_GROUP_H
#define CW_ALERTER_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GROUP_HOLD_MAX_US (10 * 1000000LL)
#define GROUP_HOLD_SLACK_US 1000000LL
#define GROUP_STORM_MAX_US (300 * 1000000LL)

struct agroup {
    size_t held;            /* alerts in the open window (0: no window open) */
    int64_t close_at_us;    /* monotonic time the window closes */
    int64_t interval_us;    /* check interval of the endpoint that opened the window */
    int64_t storm_until_us; /* after a summary: windows opened before this stay open until it */
};

/* The hold window for an endpoint checked every interval_s seconds. */
int64_t agroup_hold_us(double interval_s);

/* One more alert, of an endpoint checked every interval_s, held at now_us; opens a window when none is open
 * (closing agroup_hold_us(interval_s) later, or at the end of the storm period if that is later). */
void agroup_add(struct agroup *g, int64_t now_us, double interval_s);

/* True when a window is open and its time is up (the caller then takes the held alerts and agroup_release). */
bool agroup_due(const struct agroup *g, int64_t now_us);

/* When the open window closes (INT64_MAX when none is open). */
int64_t agroup_deadline(const struct agroup *g);

/* True when n alerts released together make a summary. */
bool agroup_is_summary(size_t n, int group_threshold);

/* Closes the window holding n alerts at now_us: returns whether they make a summary, and starts, extends
 * or ends the storm period accordingly. */
bool agroup_release(struct agroup *g, int64_t now_us, size_t n, int group_threshold);

#endif
