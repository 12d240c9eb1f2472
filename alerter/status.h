/* alerter/status.h — `clockwerk-alerter --status -c FILE [--json]`, run by `clockwerk status -c FILE [--json]`
 * (supervisor/statuscmd.c execs it): what is down or slow now, since when and the last error, from the
 * running alerter's state file (docs/status.md). Not a child of the supervisor, so not on the skeleton.
 *
 * DESIGN
 * The source is the alerter's state file (alerter/statefile.h) read with its own loader, not a request over
 * the bus: the file is there whenever the alerter is (also while it restarts, when a request would get no
 * answer), needs no socket, no CURVE keys and no new message, and the permissions on run_dir (0700, the
 * daemon's user) already say who may read it — exactly the operator who runs the daemon, or root. Its
 * currency is bounded: a result that changes anything is saved within a second (results are acked only
 * once saved, alerter/savepolicy.h), and a heartbeat saves at least every SAVE_HEARTBEAT_US (10 s) when
 * nothing changes, so saved_at tells a live alerter from a dead one.
 * Before any state is shown as current: the supervisor must hold its lock on RUN_DIR/clockwerk.pid (looked
 * up in /proc/locks: taking the lock, even shared and briefly, could make a supervisor starting at that
 * moment fail), the file must exist, load, and have been saved within STATUS_STALE_US
 * (alerter/statusfmt.h) and not later than a few seconds from now. Otherwise one line
 * says why, and the exit code is 1 ("cannot tell"). Endpoints: the configuration given decides which are
 * shown; one the file does not know (never checked, or added to the file but not yet reloaded) is unknown,
 * one up whose last check is older than status_stale_after_us is unknown too (a worker that stopped), and one
 * down stays down but is flagged stale the same way. */
#ifndef CW_ALERTER_STATUS_H
#define CW_ALERTER_STATUS_H

/* Runs the mode on its arguments (those after --status); returns the exit code (alerter/statusfmt.h). */
int status_run(int argc, char **argv);

#endif
