/* supervisor/notify.h — telling systemd how the supervisor is doing (sd_notify, Type=notify): READY=1 once every
 * essential child it wants is up (workers, storer, alerter, relay; not the web: health.h), RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1 when the ordered stop begins, a
 * one-line STATUS=, and WATCHDOG=1 while it is healthy (docs/operations.md "systemd").
 *
 * DESIGN
 * Only the supervisor talks to systemd (NotifyAccess=main): NOTIFY_SOCKET and WATCHDOG_* never reach a child
 * (children.c), a child tells the supervisor instead (supervisor/readiness.h). Without NOTIFY_SOCKET nothing is
 * sent and nothing changes. Everything is decided in notify_tick, called on every turn of the loop, from the
 * child table (supervisor/health.h): READY=1 when every wanted essential child is up — after a reload too, or at the latest
 * NOTIFY_RELOAD_MAX_NS after RELOADING=1, so that `systemctl reload` never hangs on a child that keeps failing (the
 * STATUS= line and the watchdog then say so); a refused reload gets READY=1 at once. STATUS= is sent whenever the
 * line changes. The watchdog (WATCHDOG_USEC, sd_watchdog_enabled) is pinged every half interval from the loop
 * itself, and only while health_assess says healthy with the interval as the limit (or while stopping: the stop
 * has its own deadlines); the first missed ping is logged with the reason, and the return to health. */
#ifndef CW_SUPERVISOR_NOTIFY_H
#define CW_SUPERVISOR_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/base/ratelimit.h"
#include "supervisor/health.h"

#define NOTIFY_RELOAD_MAX_NS (30000000000LL) /* READY=1 at the latest this long after RELOADING=1 */

struct supervisor;

struct notify {
    bool on;              /* NOTIFY_SOCKET was set at start */
    int64_t watchdog_ns;  /* WATCHDOG_USEC (0: no watchdog) */
    int64_t next_ping_ns; /* the next WATCHDOG=1 is due */
    bool ready_sent;      /* READY=1 sent since the start or the last RELOADING=1 */
    bool ever_ready;      /* READY=1 sent once: the reload rules apply only from then on */
    bool reloading;       /* RELOADING=1 sent, READY=1 not yet */
    int64_t reload_since_ns;
    bool reload_refused; /* the last reload was refused: the status line says so until the next one */
    bool stopping_sent;
    bool unhealthy;                 /* pings withheld (logged once until healthy again) */
    unsigned long pings;            /* WATCHDOG=1 sent */
    char status[HEALTH_STATUS_MAX]; /* the last STATUS= sent */
    struct ratelimit rl;
};

/* Reads NOTIFY_SOCKET and the watchdog's interval from the environment. */
void notify_open(struct notify *n);
/* SIGHUP taken: RELOADING=1 (with MONOTONIC_USEC, which systemd 253 and later want). */
void notify_reload_begin(struct notify *n, int64_t now);
/* The reload was applied or refused (READY=1 at once when refused; else once what it restarted is up). */
void notify_reload_end(struct notify *n, bool refused);
/* One turn of the loop: keeps the children's health times (always) and sends what is due. Returns when the loop
 * must come back at the latest (INT64_MAX: nothing due). */
int64_t notify_tick(struct notify *n, struct supervisor *s, int64_t now);

#endif
