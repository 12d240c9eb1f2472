/* supervisor/statuscmd.h — `clockwerk status -c FILE [--json]` (docs/status.md): bin/clockwerk does no data work
 * and does not link the alerter's code, so it execs `clockwerk-alerter --status` next to it, which reads the
 * alerter's state file with the alerter's own loader (alerter/status.h) and gives the exit code. A probe host runs no
 * alerter: for its file the command says whose probe host it is and which configuration from the central it checks
 * with (RUN_DIR/central.snap), exit 1 (the endpoints' state is the central's to tell). */
#ifndef CW_SUPERVISOR_STATUSCMD_H
#define CW_SUPERVISOR_STATUSCMD_H

/* argv[1] is "status"; the rest goes to the alerter as it is. Returns only when the exec failed (exit code 1, as "cannot tell"). */
int statuscmd_run(int argc, char **argv);

#endif
