/* alerter/statusfmt.h — the pure part of `clockwerk status` (alerter/status.h): which state an endpoint is in
 * from what the alerter's state file says, how long ago in words, the summary line, the exit code, the
 * error text without the URL's credentials, and who holds the supervisor's lock according to /proc/locks.
 * No I/O and no clock: everything comes in as arguments, so that the unit tests can drive it. */
#ifndef CW_ALERTER_STATUSFMT_H
#define CW_ALERTER_STATUSFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/state.h"

enum status_state { STATUS_UP = 0, STATUS_DOWN, STATUS_SLOW, STATUS_UNKNOWN };

struct status_counts {
    size_t total, up, down, slow, unknown;
};

/* Exit codes (docs/status.md). */
#define STATUS_EXIT_ALL_UP 0
#define STATUS_EXIT_NOT_ALL_UP 1 /* something down, slow or unknown */
#define STATUS_EXIT_CANNOT_TELL \
    1                       /* not running, state stale or unreadable, permission denied, bad config: not
                                   * "all up" either (the issue: 0 all up, 1 otherwise); stderr says which */
#define STATUS_EXIT_USAGE 2 /* wrong arguments */

/* "up", "down", "slow", "unknown". */
const char *status_state_name(enum status_state s);

/* The state an endpoint is shown in. st: its entry in the state file's "endpoints" (NULL: none); listed_up:
 * it is in "up"; checked_us: its last check (0: not known); an endpoint UP or SLOW whose last check is more
 * than stale_after_us before now_us is UNKNOWN, and *stale says why; one DOWN stays DOWN however old its last
 * check, with *stale set the same way (its worker stopped sending results). Not in the file at all: UNKNOWN. */
enum status_state status_classify(const struct astate *st, bool listed_up, int64_t checked_us, int64_t now_us,
                                  int64_t stale_after_us, bool *stale);

#define STATUS_STALE_US (60 * 1000000LL)           /* a state file saved longer ago is stale (heartbeat: 10 s) */
#define STATUS_FUTURE_TOLERANCE_US (5 * 1000000LL) /* a saved_at later than now by more: a wrong clock or file */

enum status_saved { STATUS_SAVED_CURRENT = 0, STATUS_SAVED_UNKNOWN, STATUS_SAVED_STALE, STATUS_SAVED_FUTURE };

/* Whether a state file saved at saved_us (0: it does not say) can be trusted as current at now_us. */
enum status_saved status_saved_at_check(int64_t saved_us, int64_t now_us);

/* How long after its last check an endpoint counts as no longer checked: 3 intervals, its timeout and a minute. */
int64_t status_stale_after_us(double interval_s, double timeout_s);

/* A duration in words, two units at most: "0s", "45s", "12m 5s", "3h 12m", "2d 4h". Negative: "0s". */
char *status_duration(int64_t us, char *buf, size_t len);

/* "2026-12-05 01:02:03 UTC". */
char *status_utc(int64_t wall_us, char *buf, size_t len);

void status_count(struct status_counts *c, enum status_state s);

/* "all 12 endpoints up", "12 endpoints: 10 up, 1 down, 1 slow", "1 endpoint: 0 up, 1 unknown". */
char *status_summary(const struct status_counts *c, char *buf, size_t len);

/* 0 when every endpoint is up, 1 when one is not or when the state cannot be told (cannot_tell). */
int status_exit_code(const struct status_counts *c, bool cannot_tell);

/* text on one line, printable: the URL's credentials (its userinfo, and its password alone when it has 4
 * characters or more) replaced by "***", control characters by spaces; cut to fit out. */
void status_scrub(const char *text, const char *url, char *out, size_t outlen);

/* The pid holding a FLOCK lock on the file (device major:minor, inode) according to the text of /proc/locks
 * ("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters, "1: -> FLOCK ...", do not count); -1 when held by a
 * process whose pid is not shown (another pid namespace); 0: nobody holds it. */
long status_lock_holder(const char *locks, unsigned major, unsigned minor, unsigned long inode);

#endif
