/* common/base/quorum.h — quorum alerting (issue 16, docs/alerts.md "Locations and quorum"): the vote of one
 * location on one endpoint, and the verdict of an endpoint's locations. Pure: no I/O, no clock, no allocation.
 * Shared by the alerter (alerter/endpoints.c drives the endpoint's state machine with the verdict) and the web
 * (its per-location chips and the overall state), so that both judge alike.
 *
 * DESIGN
 * The vote (struct quorum_voter) is one location's own run of results on one endpoint, with the endpoint's
 * thresholds: UNKNOWN until its first result; UP on the first success from UNKNOWN (as the single-location state
 * machine, alerter/state.h: no alert at start); DOWN after alert_threshold failures in a row; UP again after
 * recovery_threshold successes in a row. Speed, on successes only (a failure neither counts nor resets a run):
 * FAST on the first fast success from unknown, SLOW after alert_threshold slow successes in a row, FAST again after
 * alert_threshold fast ones; latency_threshold_us <= 0: no speed vote (always unknown).
 * Each vote keeps since_us: the checked_at of the first result of the run that led to it, so a replay of the same
 * results gives the same times (the alerter's alert ids are made of them).
 * While the endpoint is DOWN (quorum_params.endpoint_down), an unknown vote (a restart, a location back from
 * silence) needs recovery_threshold successes in a row to vote UP, as a DOWN vote does.
 * The verdict (quorum_verdict) over the ballots of an endpoint's n locations, `required` of them needed, given the
 * endpoint's current state: DOWN when the DOWN votes among live locations are >= required. Else, while the
 * endpoint is DOWN, it stays DOWN until DOWN can no longer be reached: the live UP votes are >= n - required + 1
 * (hysteresis: a DOWN vote going silent, or a location with no vote yet, does not end an outage). Else UNKNOWN
 * when the live locations with a known vote are < required; else UP. A silent location's vote is left out. The
 * same rule judges speed with SLOW for DOWN and FAST for UP (quorum_speed_verdict). The alerter (its state
 * machine's state) and the web (the state it shows) pass their current state, so that both judge alike. */
#ifndef CW_COMMON_QUORUM_H
#define CW_COMMON_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum quorum_vote { QUORUM_UNKNOWN = 0, QUORUM_UP = 1, QUORUM_DOWN = 2 };
enum quorum_speed { QUORUM_SPEED_UNKNOWN = 0, QUORUM_FAST = 1, QUORUM_SLOW = 2 };

/* One location's say on one endpoint, as the verdict takes it. */
struct quorum_ballot {
    uint8_t vote; /* enum quorum_vote (or enum quorum_speed for quorum_speed_verdict) */
    bool live;    /* the location is live (heard within location_silent_after) */
};

/* The verdict (enum quorum_vote) of the n ballots of all the endpoint's locations, `required` DOWN votes needed (0
 * is taken as 1), the endpoint being `current` (enum quorum_vote: DOWN holds as said above). */
enum quorum_vote quorum_verdict(const struct quorum_ballot *b, size_t n, unsigned required, unsigned current);

/* The same rule on speed votes (enum quorum_speed): SLOW, FAST or unknown (current: enum quorum_speed). */
enum quorum_speed quorum_speed_verdict(const struct quorum_ballot *b, size_t n, unsigned required, unsigned current);

/* The thresholds a vote runs with (an endpoint's). */
struct quorum_params {
    uint32_t alert_threshold;     /* failures in a row before DOWN; slow/fast successes before SLOW/FAST; >= 1 */
    uint32_t recovery_threshold;  /* successes in a row before UP again; >= 1 */
    int64_t latency_threshold_us; /* <= 0: no speed vote */
    bool endpoint_down;           /* the endpoint is DOWN: an unknown vote needs recovery_threshold successes */
};

/* One location's vote on one endpoint. A zeroed struct is a fresh vote (unknown). */
struct quorum_voter {
    uint8_t vote;          /* enum quorum_vote */
    uint8_t speed;         /* enum quorum_speed */
    uint32_t fail_run;     /* failures in a row */
    uint32_t ok_run;       /* successes in a row */
    uint32_t slow_run;     /* slow successes in a row */
    uint32_t fast_run;     /* fast successes in a row */
    int64_t fail_since_us; /* first failure of the current failure run */
    int64_t ok_since_us;   /* first success of the current success run */
    int64_t slow_since_us;
    int64_t fast_since_us;
    int64_t since_us;       /* when the current vote began (the first result of the run that led to it) */
    int64_t speed_since_us; /* when the current speed vote began */
    int64_t last_at_us;     /* checked_at of the last result fed (0: none) */
};

/* What one result changed. */
enum { QUORUM_VOTE_CHANGED = 1, QUORUM_SPEED_CHANGED = 2 };

/* Feeds one result of that location (ok, its latency, its checked_at). Returns a mask of QUORUM_*_CHANGED. */
unsigned quorum_voter_feed(struct quorum_voter *v, const struct quorum_params *p, bool ok, int64_t latency_us,
                           int64_t checked_at_us);

/* "up", "down", "unknown" / "fast", "slow", "unknown". */
const char *quorum_vote_name(unsigned vote);
const char *quorum_speed_name(unsigned speed);

#endif
