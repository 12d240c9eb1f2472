/* supervisor/shutdown.c — the supervisor's ordered stop: workers, alerter, storer, relay (see shutdown.h). */
#include "supervisor/shutdown.h"

#include "common/base/log.h"

#include <signal.h>

#define STOP_WORKERS_NS (5000000000LL) /* workers still alive after this get SIGKILL */
#define STOP_KILL_NS (8000000000LL)    /* any child asked to stop and still alive after this gets SIGKILL */
#define STOP_LAST_NS (9000000000LL)    /* any child at all still alive after this gets SIGKILL */
#define STOP_GIVEUP_NS (9500000000LL)  /* stop waiting: PDEATHSIG takes whatever is left */

void shutdown_begin(struct shutdown *sd, struct children *ch, const char *why, int64_t now)
{
    log_info("%s: stopping (workers, then alerter, storer, relay)", why);
    sd->phase = STOP_WORKERS;
    sd->started_ns = now;
    for (size_t i = 0; i < ch->n; i++) {
        ch->v[i].respawn = false; /* nothing starts again, pending restarts are dropped */
        ch->v[i].restart_now = false;
    }
    children_stop_kind(ch, CHILD_WORKER, now);
    children_stop_kind(ch, CHILD_WEB, now); /* a reader only: it goes with the workers */
    children_reap(ch, now);
}

/* SIGKILL for whoever is still there at each deadline. */
static void escalate(struct shutdown *sd, struct children *ch, int64_t since)
{
    if (sd->phase == STOP_WORKERS && since >= STOP_WORKERS_NS && !sd->workers_killed) {
        children_kill_kind(ch, CHILD_WORKER, false);
        sd->workers_killed = true;
    }
    /* At 8 s whoever was asked and is still there is killed; the next in line still gets its SIGTERM when
     * they are reaped (the relay stops in a moment); at 9 s nothing waits any more. */
    if (since >= STOP_KILL_NS && !sd->stopping_killed) {
        children_kill_kind(ch, CHILD_KINDS, true);
        sd->stopping_killed = true;
    }
    if (since >= STOP_LAST_NS && !sd->all_killed) {
        children_kill_kind(ch, CHILD_KINDS, false);
        sd->all_killed = true;
    }
}

/* The next kind gets its SIGTERM once the previous one is gone. */
static void next_in_line(struct shutdown *sd, struct children *ch, int64_t now)
{
    /* The alerter stops before the storer: it sends its last alerts to the storer. */
    if (sd->phase == STOP_WORKERS && children_running(ch, CHILD_WORKER) == 0) {
        sd->phase = STOP_ALERTER;
        children_stop_kind(ch, CHILD_ALERTER, now);
    }
    if (sd->phase == STOP_ALERTER && children_running(ch, CHILD_ALERTER) == 0) {
        sd->phase = STOP_STORER;
        children_stop_kind(ch, CHILD_STORER, now);
    }
    if (sd->phase == STOP_STORER && children_running(ch, CHILD_STORER) == 0) {
        sd->phase = STOP_RELAY;
        children_stop_kind(ch, CHILD_RELAY, now);
    }
    if (sd->phase == STOP_RELAY && children_running(ch, CHILD_KINDS) == 0) sd->phase = STOP_DONE;
}

int64_t shutdown_advance(struct shutdown *sd, struct children *ch, int64_t now)
{
    int64_t since = now - sd->started_ns;
    escalate(sd, ch, since);
    next_in_line(sd, ch, now);
    if (since >= STOP_GIVEUP_NS && sd->phase != STOP_DONE) {
        log_error("%zu children still not reaped after SIGKILL; exiting anyway (they die with us)",
                  children_running(ch, CHILD_KINDS));
        children_log_unreaped(ch);
        sd->phase = STOP_DONE;
    }
    if (!sd->workers_killed && sd->phase == STOP_WORKERS) return sd->started_ns + STOP_WORKERS_NS;
    if (!sd->stopping_killed) return sd->started_ns + STOP_KILL_NS;
    if (!sd->all_killed) return sd->started_ns + STOP_LAST_NS;
    return sd->started_ns + STOP_GIVEUP_NS;
}
