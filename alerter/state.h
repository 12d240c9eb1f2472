/* alerter/state.h — the per-endpoint state machine of the alerter: pure logic, no I/O, no clock.
 *
 * DESIGN
 * Availability: UNKNOWN (just started, nothing seen) -> UP on the first success, silently (no "UP" mail at
 * start); UP or UNKNOWN -> DOWN after alert_threshold consecutive failures (alert DOWN); DOWN -> UP after
 * recovery_threshold consecutive successes (alert UP, with the downtime). While DOWN, when renotify > 0, a
 * failing check at least renotify after the DOWN alert (or the last reminder) raises a REMINDER.
 * Speed, on successful checks only (a failed check neither counts nor resets a run): a check is slow when its
 * latency is above latency_threshold. UNKNOWN -> FAST on the first fast success, silently; UNKNOWN or FAST ->
 * SLOW after alert_threshold slow successes in a row (alert SLOW); SLOW -> FAST after alert_threshold fast
 * successes in a row (alert FAST). Speed tracking pauses while DOWN: entering DOWN clears the slow/fast
 * runs, and the speed state (FAST/SLOW) is kept across the outage.
 * Times are the checked_at of results (wall clock, microseconds), so that a replay of the same results
 * gives the same events, and the same alert ids: an event's `since_us` is when the new state began (DOWN:
 * the first failure of the run that led to it; UP: the first success of the recovery run; SLOW/FAST: the
 * first check of the run).
 * Certificate expiry (astate_feed_tls, https results that carry the certificate's notAfter): when it lies
 * within tls_expiry_us of the check (or already passed), one TLS_EXPIRY alert is raised per expiry date:
 * the date alerted is remembered (tls_notified_us, kept in the state file), so neither the following checks
 * nor a restart repeat it; a renewed certificate (another date) that again comes close alerts again. The
 * event's since_us is the expiry date itself, so its alert id is the same for the same certificate. */
#ifndef CW_ALERTER_STATE_H
#define CW_ALERTER_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum astate_avail { ASTATE_UNKNOWN = 0, ASTATE_UP = 1, ASTATE_DOWN = 2 };
enum astate_speed { ASTATE_SPEED_UNKNOWN = 0, ASTATE_FAST = 1, ASTATE_SLOW = 2 };

struct astate_params {
    uint32_t alert_threshold;     /* consecutive failures before DOWN, slow/fast checks before SLOW/FAST; >= 1 */
    uint32_t recovery_threshold;  /* consecutive successes before UP; >= 1 */
    int64_t latency_threshold_us; /* <= 0: no speed tracking */
    int64_t renotify_us;          /* 0: no reminders */
    int64_t tls_expiry_us;        /* alert this long before a certificate expires; 0: no expiry alerts */
};

struct astate {
    uint8_t avail;           /* enum astate_avail */
    uint8_t speed;           /* enum astate_speed */
    uint32_t fail_run;       /* consecutive failed checks */
    uint32_t ok_run;         /* consecutive successful checks */
    uint32_t slow_run;       /* consecutive slow successful checks */
    uint32_t fast_run;       /* consecutive fast successful checks */
    uint32_t failed_count;   /* failed checks since the current DOWN began */
    uint32_t reminders;      /* reminders raised during the current DOWN */
    int64_t fail_since_us;   /* first failure of the current failure run */
    int64_t ok_since_us;     /* first success of the current success run */
    int64_t slow_since_us;   /* first check of the current slow run */
    int64_t fast_since_us;   /* first check of the current fast run */
    int64_t state_since_us;  /* when the current availability state began */
    int64_t speed_since_us;  /* when the current speed state began */
    int64_t last_notify_us;  /* DOWN: checked_at of the DOWN alert or of the last reminder */
    int64_t tls_notified_us; /* the certificate expiry date last alerted (0: none) */
};

struct astate_event {
    uint8_t kind;        /* enum cw_alert_kind */
    int64_t since_us;    /* when the new state began (part of the alert id) */
    int64_t at_us;       /* checked_at of the check that made the transition */
    int64_t duration_us; /* UP: downtime; FAST: how long it was slow; REMINDER: down so far;
                               * TLS_EXPIRY: time left until the certificate expires (< 0: expired); else 0 */
    uint32_t count;      /* DOWN/REMINDER/UP: failed checks; SLOW: slow checks in a row;
                               * TLS_EXPIRY: whole days left (0 when less than a day or expired); else 0 */
    uint32_t seq;        /* REMINDER: 1, 2, ...; 0 otherwise (part of the alert id) */
};

#define ASTATE_MAX_EVENTS 2

/* A fresh state: everything unknown. */
void astate_init(struct astate *s);

/* Feeds one check result. Writes the events it causes to ev and returns how many (0..ASTATE_MAX_EVENTS:
 * a recovery may also complete a SLOW or FAST run). */
unsigned astate_feed(struct astate *s, const struct astate_params *p, bool ok, int64_t latency_us,
                     int64_t checked_at_us, struct astate_event ev[ASTATE_MAX_EVENTS]);

/* Issue 16: an endpoint checked from several locations is driven by its quorum verdict (common/base/quorum.h,
 * alerter/endpoints.c), not by each result: the thresholds were applied by each location's vote, so a verdict
 * changes the state at once. DOWN: since is when the quorum was reached in result time (the required-th earliest
 * since of the live DOWN votes), count their failed checks; UP: since is the latest since of the live UP votes
 * (when that is before the DOWN began, e.g. a DOWN vote went silent: the checked_at of the result that decided);
 * UNKNOWN (too few live locations with a vote) changes nothing. While DOWN every failed result counts and may
 * raise a REMINDER as above. Speed likewise from the speed verdict (paused while DOWN). So the same results in
 * the same order give the same events and alert ids (results of several locations arriving in another order may
 * reach the quorum with other votes). A DOWN holds until DOWN can no longer be reached (common/base/quorum.h). */
struct astate_verdict {
    uint8_t avail;          /* enum astate_avail (the same values as enum quorum_vote) */
    int64_t since_us;       /* see above */
    uint32_t count;         /* DOWN: failed checks in the DOWN votes' runs */
    uint8_t speed;          /* enum astate_speed (= enum quorum_speed) */
    int64_t speed_since_us; /* SLOW: the required-th earliest since of the SLOW votes; FAST: the latest FAST one */
    uint32_t slow_count;    /* SLOW: slow checks in the SLOW votes' runs */
};

/* Feeds the verdict after one result (ok, checked_at_us) of a multi-location endpoint; events as astate_feed. */
unsigned astate_feed_verdict(struct astate *s, const struct astate_params *p, const struct astate_verdict *v, bool ok,
                             int64_t checked_at_us, struct astate_event ev[ASTATE_MAX_EVENTS]);

/* Feeds the certificate expiry a check reported (0: none, nothing happens). Returns 1 with *ev filled when
 * a TLS_EXPIRY alert is due (see above), else 0. */
unsigned astate_feed_tls(struct astate *s, const struct astate_params *p, int64_t expires_at_us, int64_t checked_at_us,
                         struct astate_event *ev);

/* "up", "down", "unknown" (a webhook's children's state). */
const char *astate_avail_name(unsigned avail);

#endif
