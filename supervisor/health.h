/* supervisor/health.h — whether the supervisor's children are up and healthy, and the one-line status it gives
 * systemd (STATUS=): pure functions over the child table, so that the rules are unit-tested
 * (tests/unit/test_notify.c) and supervisor/notify.c only sends what they say.
 *
 * DESIGN
 * A slot is WANTED while it is to run (respawn) and did not end with the fatal exit 2 (a restart would not fix a
 * configuration; a reload clears the mark). A slot is UP while its process runs, said it is ready
 * (supervisor/readiness.h) and was not asked to stop. health_observe, called on every turn of the loop, keeps two
 * times per slot: since when it has been wanted and not up, and since when a process sent SIGKILL has still been
 * alive. A slot is ESSENTIAL unless it is the web: the workers, storer, alerter and relay check, store and alert;
 * the web only shows. The supervisor is READY once every wanted essential slot is up, and HEALTHY
 * (docs/operations.md "systemd") when no wanted essential slot has been down for longer than the limit (the
 * watchdog interval) and no process has outlived its SIGKILL by HEALTH_KILL_STUCK_NS; that its loop turns is the
 * third condition, which only the loop itself can prove, by sending the ping. A web that cannot start (its port
 * taken, a port < 1024 without CAP_NET_BIND_SERVICE) withholds neither: a restart of the whole service would not
 * fix it and would stop the monitoring meanwhile; the status line and the log say it is down. */
#ifndef CW_SUPERVISOR_HEALTH_H
#define CW_SUPERVISOR_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisor/children.h"

#define HEALTH_KILL_STUCK_NS (5000000000LL) /* a process still alive this long after SIGKILL is stuck */
#define HEALTH_STATUS_MAX 256               /* a status line, with its NUL */

bool health_child_wanted(const struct child *c);
bool health_child_up(const struct child *c);
bool health_child_essential(const struct child *c);

/* Updates each slot's down_since_ns and kill_seen_ns for the time now. */
void health_observe(struct child *v, size_t n, int64_t now);

struct health {
    size_t wanted, up, fatal; /* slots wanted, of them up; slots held by a fatal exit */
    bool all_up;              /* every wanted slot is up */
    bool ready;               /* every wanted essential slot is up (see DESIGN) */
    bool healthy;             /* see DESIGN */
    char why[160]; /* when not healthy: "storer down for 31 s", "worker 0/2 (pid 12) alive 6 s after SIGKILL" */
};

/* Assesses the table (after health_observe) with the limit for a wanted slot's time down (ns). */
void health_assess(const struct child *v, size_t n, int64_t now, int64_t limit_ns, struct health *h);

/* What the status line tells beside the children. */
struct health_facts {
    size_t endpoints;
    int workers;
    bool stopping;             /* the ordered stop is under way */
    bool reloading;            /* a reload waits for what it restarted */
    bool reload_refused;       /* the last reload was refused (until the next one) */
    const char *probe_waiting; /* a probe host without its configuration: its location, else NULL */
};

/* The one-line status: "12 endpoints, 2 workers; all 5 children up", "...; 3 of 5 children up: waiting for
 * storer, web restarting (2 restarts)", "stopping: 2 children left", ... Returns out. */
char *health_status(char *out, size_t outlen, const struct child *v, size_t n, const struct health_facts *f);

#endif
