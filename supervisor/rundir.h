/* supervisor/rundir.h — keeping run_dir and the pid lock in place while the supervisor runs.
 *
 * DESIGN
 * run_dir holds the lock (clockwerk.pid), the snapshots, the children's ipc sockets, spools, .alive files
 * and the alerter's state. If it (or the lock file) is deleted under a running supervisor, a child that
 * restarts finds no snapshot, a reload cannot write one, the sockets are unreachable, and the lock keeps
 * nobody out: a second supervisor would start beside the first. The main loop therefore checks, at every
 * turn and at least once a second, that the lock file at its path is still the one it holds (a stat and an
 * fstat). When it is not, the supervisor logs one warning and
 *  - recreates run_dir as at start (mode 0700, given to supervisor.user) and retakes the lock on a new
 *    clockwerk.pid; if another supervisor took it meanwhile, it says so and stops (never two supervisors
 *    on one run_dir: the one that holds the lock stays);
 *  - writes the current snapshot generation again, binds the children's readiness socket again
 *    (supervisor/readiness.h);
 *  - restarts every child, as a reload that changed everything would: each one's sockets and files lived
 *    in the old directory, and a restart rebinds them in the new one (workers spool what is unacknowledged
 *    at their stop, the alerter saves its state, so nothing is lost but the checks of about a second). */
#ifndef CW_SUPERVISOR_RUNDIR_H
#define CW_SUPERVISOR_RUNDIR_H

#include <stdint.h>

#include "supervisor/supervisor.h"

/* How often the loop checks at the latest. */
#define RUNDIR_CHECK_NS (1000000000LL)

/* 0: run_dir and the lock are in place (or were recreated and retaken: children restarting); -1: the lock
 * could not be retaken or run_dir not recreated (logged as an error): the supervisor must stop. */
int rundir_keep(struct supervisor *s, int64_t now);

#endif
