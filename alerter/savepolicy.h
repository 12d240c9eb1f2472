/* alerter/savepolicy.h — when the alerter's state file must be written: the one place that decides it.
 *
 * DESIGN
 * Each part of the result path says what it changed that the file does not hold yet, as a value (intake:
 * results applied; dispatch: dispatch_take_unsaved), and the conductor (alerter/main.c) notes it here and
 * asks whether a save is due. Four levels, the highest noted counting:
 *   SAVE_NOW    jobs created, deliveries recorded, alerts forgotten, a reload: before the outbox runs again
 *               (a message is never sent for an alert the next start would not know about);
 *   SAVE_SOON   alerts raised, still held in the grouping window: within SAVE_SOON_US (no message goes out
 *               before the window closes, and that saves first);
 *   SAVE_LIGHT  counters and endpoint states only: within SAVE_LIGHT_US;
 *   SAVE_NONE   nothing to write.
 * With acks waiting (results applied whose state is not on disk yet, so their senders keep them), anything
 * noted is saved at least every SAVE_ACK_US; with nothing noted the acks go out at once (nothing to record).
 * A save that fails keeps what was noted (nothing applied since the last good save is acked) and is tried
 * again after SAVE_RETRY_US; deliveries go on meanwhile (a full disk must not silence alerts: the price is
 * that an alert raised since the last good save may be raised and sent again after a restart).
 * A heartbeat (savepolicy_heartbeat) notes SAVE_LIGHT when nothing was saved for SAVE_HEARTBEAT_US: the file's
 * saved_at then tells `clockwerk status` (alerter/status.c) that an alerter is alive and the states are current,
 * even when no result changed anything (one small write every SAVE_HEARTBEAT_US at most, when idle).
 * Pure timing logic: monotonic microseconds given by the caller. */
#ifndef CW_ALERTER_SAVEPOLICY_H
#define CW_ALERTER_SAVEPOLICY_H

#include <stdbool.h>
#include <stdint.h>

#define SAVE_LIGHT_US (5 * 1000000LL)      /* counters-only changes are saved at most this often */
#define SAVE_SOON_US 250000LL              /* new alerts (still held) are saved at most this late */
#define SAVE_ACK_US 1000000LL              /* with acks waiting, the state is saved at least this often */
#define SAVE_RETRY_US 1000000LL            /* a failed save is tried again after this long */
#define SAVE_HEARTBEAT_US (10 * 1000000LL) /* the file is written at least this often (status: docs/status.md) */

enum save_need { SAVE_NONE = 0, SAVE_LIGHT, SAVE_SOON, SAVE_NOW };

struct savepolicy {
    enum save_need need;  /* the highest level noted since the last save */
    int64_t last_save_us; /* monotonic; 0 before the first save */
    int64_t retry_at_us;  /* after a failed save: not before this (0: no failure pending) */
};

static inline enum save_need save_need_max(enum save_need a, enum save_need b) { return a > b ? a : b; }

/* Notes a change (a lower level than one already noted changes nothing). */
void savepolicy_note(struct savepolicy *sp, enum save_need need);
/* True when the file must be written now (acks_waiting: results applied wait for it to be acked). */
bool savepolicy_due(const struct savepolicy *sp, int64_t now_us, bool acks_waiting);
/* When the loop must look again for a save (monotonic µs; INT64_MAX: no save to wait for). */
int64_t savepolicy_deadline(const struct savepolicy *sp, bool acks_waiting);
/* Notes SAVE_LIGHT when the last save (or the start) is SAVE_HEARTBEAT_US ago or more. */
void savepolicy_heartbeat(struct savepolicy *sp, int64_t now_us);
/* The file was written: nothing is noted any more. */
void savepolicy_saved(struct savepolicy *sp, int64_t now_us);
/* The write failed: what was noted stays noted, and the next try waits SAVE_RETRY_US. */
void savepolicy_failed(struct savepolicy *sp, int64_t now_us);

#endif
