/* supervisor/shutdown.h — the supervisor's ordered stop on SIGTERM/SIGINT.
 *
 * DESIGN
 * Shutdown is ordered so that nothing in flight is lost: workers first (SIGTERM, they stop probing and
 * flush), then the alerter (it sends its last alerts to the storer), then the storer (it drains its queue
 * and commits), then the relay (so the tap sees everything to the end).
 * Escalation: a worker still alive 5 s after the stop began gets SIGKILL; at 8 s every child that was sent
 * SIGTERM and is still alive does (the next in line then still gets its SIGTERM); at 9 s whatever is left;
 * at 9.5 s the supervisor stops waiting. It exits 0 within 10 s.
 * The main loop calls shutdown_begin once, then shutdown_advance on every turn (after reaping) until the
 * phase is STOP_DONE; shutdown_advance says when the loop must wake up at the latest. */
#ifndef CW_SUPERVISOR_SHUTDOWN_H
#define CW_SUPERVISOR_SHUTDOWN_H

#include <stdbool.h>
#include <stdint.h>

#include "supervisor/children.h"

enum stop_phase { STOP_NONE = 0, STOP_WORKERS, STOP_ALERTER, STOP_STORER, STOP_RELAY, STOP_DONE };

struct shutdown {
    enum stop_phase phase;                            /* STOP_NONE while running */
    int64_t started_ns;                               /* monotonic time the stop began */
    bool workers_killed, stopping_killed, all_killed; /* which escalation steps were taken */
};

/* Begins the stop (why: "SIGTERM", "SIGINT", ... for the log line): no child starts again, workers get
 * SIGTERM. */
void shutdown_begin(struct shutdown *sd, struct children *ch, const char *why, int64_t now);

/* Moves the stop along: the next kind once the previous one is gone, SIGKILL at the deadlines. Returns the
 * time the loop must wake up at the latest. */
int64_t shutdown_advance(struct shutdown *sd, struct children *ch, int64_t now);

#endif
