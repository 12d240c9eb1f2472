/* supervisor/notify.c — sd_notify: readiness, reload, stop, status and the watchdog (see notify.h). */
#include "supervisor/notify.h"

#include "common/base/log.h"
#include "supervisor/supervisor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

void notify_open(struct notify *n)
{
    memset(n, 0, sizeof *n);
    n->rl.what = "sd_notify errors";
    const char *sock = getenv("NOTIFY_SOCKET");
    n->on = sock && *sock;
    uint64_t usec = 0;
    if (n->on && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) n->watchdog_ns = (int64_t)usec * 1000;
    if (n->on) log_debug("systemd: notifying %s%s", sock, n->watchdog_ns ? " (with a watchdog)" : "");
}

/* One notification; a failure is logged (rate-limited) and otherwise ignored: systemd's own timeouts act. */
__attribute__((format(printf, 3, 4))) static void send_state(struct notify *n, int64_t now, const char *fmt, ...)
{
    char msg[HEALTH_STATUS_MAX + 96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int rc = sd_notify(0, msg);
    if (rc < 0 && ratelimit_allow(&n->rl, now)) log_warn("sd_notify: %s", strerror(-rc));
}

void notify_reload_begin(struct notify *n, int64_t now)
{
    if (!n->on) return;
    if (!n->ever_ready) { /* still starting: systemd waits for the first READY=1, which waits for the children */
        log_debug("systemd: a reload while starting: READY=1 still waits for the children");
        return;
    }
    /* now is CLOCK_MONOTONIC (cw_mono_ns), the clock MONOTONIC_USEC names */
    send_state(n, now, "RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading", (long long)(now / 1000));
    snprintf(n->status, sizeof n->status, "reloading");
    n->reloading = true;
    n->ready_sent = false;
    n->reload_since_ns = now;
}

void notify_reload_end(struct notify *n, bool refused)
{
    n->reload_refused = refused; /* refused: READY=1 on the next tick (after the first), nothing was restarted */
}

/* WATCHDOG=1 when due and healthy. Returns when the next one is due. */
static int64_t watchdog(struct notify *n, const struct health *h, bool stopping, int64_t now)
{
    if (!n->watchdog_ns) return INT64_MAX;
    if (now < n->next_ping_ns) return n->next_ping_ns;
    n->next_ping_ns = now + n->watchdog_ns / 2;
    if (stopping || h->healthy) {
        send_state(n, now, "WATCHDOG=1");
        n->pings++;
        if (n->unhealthy) log_info("watchdog: healthy again, telling systemd so");
        n->unhealthy = false;
    } else if (!n->unhealthy) {
        n->unhealthy = true;
        log_warn("watchdog: not telling systemd we are alive: %s; it restarts clockwerk unless this ends within %.0f s",
                 h->why, (double)n->watchdog_ns / 1e9);
    }
    return n->next_ping_ns;
}

int64_t notify_tick(struct notify *n, struct supervisor *s, int64_t now)
{
    health_observe(s->ch.v, s->ch.n, now);
    if (!n->on) return INT64_MAX;
    struct health h;
    health_assess(s->ch.v, s->ch.n, now, n->watchdog_ns, &h);
    bool stopping = s->stop.phase != STOP_NONE;
    bool reload_over = n->reloading && now - n->reload_since_ns >= NOTIFY_RELOAD_MAX_NS;
    /* the reload's shortcuts only once started: before the first READY=1 a reload does not make us ready */
    bool reload_done = n->ever_ready && (reload_over || n->reload_refused);
    bool ready_now = !stopping && !n->ready_sent && (h.ready || reload_done);
    if (ready_now) n->reloading = false;
    struct health_facts f = { .endpoints = s->print.n_endpoints,
                              .workers = s->cfg->workers,
                              .stopping = stopping,
                              .reloading = n->reloading,
                              .reload_refused = n->reload_refused,
                              .probe_waiting = s->probe_waiting && s->fetch ? s->cfg->location : NULL };
    char line[HEALTH_STATUS_MAX];
    health_status(line, sizeof line, s->ch.v, s->ch.n, &f);
    if (stopping && !n->stopping_sent) {
        send_state(n, now, "STOPPING=1\nSTATUS=%s", line);
        n->stopping_sent = true;
    } else if (ready_now) {
        send_state(n, now, "READY=1\nSTATUS=%s", line);
        n->ready_sent = n->ever_ready = true;
        if (h.all_up) log_debug("systemd: ready (%s)", line);
        else log_info("systemd: ready without every child (%s): checking, storing and alerting run", line);
    } else if (strcmp(line, n->status) != 0) {
        send_state(n, now, "STATUS=%s", line);
    }
    snprintf(n->status, sizeof n->status, "%s", line);
    int64_t next = watchdog(n, &h, stopping, now);
    if (n->reloading && n->reload_since_ns + NOTIFY_RELOAD_MAX_NS < next)
        next = n->reload_since_ns + NOTIFY_RELOAD_MAX_NS;
    return next;
}
