/* supervisor/health.c — children up, healthy, and the status line (see health.h). */
#include "supervisor/health.h"

#include "common/base/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STATUS_NAMES_MAX 4 /* slots a status line names before "and N more" */

bool health_child_wanted(const struct child *c) { return c->respawn && !c->fatal; }

bool health_child_up(const struct child *c) { return c->pid > 0 && c->ready && !c->stopping; }

bool health_child_essential(const struct child *c) { return c->kind != CHILD_WEB; }

void health_observe(struct child *v, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        struct child *c = &v[i];
        if (!health_child_wanted(c) || health_child_up(c)) c->down_since_ns = -1;
        else if (c->down_since_ns < 0) c->down_since_ns = now;
        if (c->pid > 0 && c->killed) {
            if (c->kill_seen_ns < 0) c->kill_seen_ns = now;
        } else {
            c->kill_seen_ns = -1;
        }
    }
}

void health_assess(const struct child *v, size_t n, int64_t now, int64_t limit_ns, struct health *h)
{
    memset(h, 0, sizeof *h);
    const struct child *stuck = NULL, *longest = NULL;
    size_t essential_down = 0;
    for (size_t i = 0; i < n; i++) {
        const struct child *c = &v[i];
        if (c->respawn && c->fatal) h->fatal++;
        if (!stuck && c->kill_seen_ns >= 0 && now - c->kill_seen_ns > HEALTH_KILL_STUCK_NS) stuck = c;
        if (!health_child_wanted(c)) continue;
        h->wanted++;
        if (health_child_up(c)) h->up++;
        else if (health_child_essential(c)) {
            essential_down++;
            if (c->down_since_ns >= 0 && (!longest || c->down_since_ns < longest->down_since_ns)) longest = c;
        }
    }
    h->all_up = h->up == h->wanted;
    h->ready = essential_down == 0;
    h->healthy = !stuck && !(longest && now - longest->down_since_ns > limit_ns);
    if (stuck)
        snprintf(h->why, sizeof h->why, "%s (pid %d) still alive %.0f s after SIGKILL", stuck->name, (int)stuck->pid,
                 (double)(now - stuck->kill_seen_ns) / 1e9);
    else if (!h->healthy)
        snprintf(h->why, sizeof h->why, "%s down for %.0f s (longer than the watchdog's %.0f s)", longest->name,
                 (double)(now - longest->down_since_ns) / 1e9, (double)limit_ns / 1e9);
}

/* Appends to out (used bytes in *used), cutting at the end of the buffer. */
__attribute__((format(printf, 4, 5))) static void add(char *out, size_t outlen, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= outlen) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(out + *used, outlen - *used, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    *used += (size_t)w < outlen - *used ? (size_t)w : outlen - *used - 1;
}

/* What a wanted slot that is not up is doing. */
static void describe_down(const struct child *c, char *out, size_t outlen, size_t *used)
{
    if (c->pid > 0 && c->stopping) add(out, outlen, used, "%s restarting", c->name);
    else if (c->pid > 0 || c->started_ns < 0) add(out, outlen, used, "waiting for %s", c->name);
    else if (c->planned || c->restarts == 0) add(out, outlen, used, "%s restarting", c->name);
    else add(out, outlen, used, "%s restarting (%u restart%s so far)", c->name, c->restarts, cw_plural(c->restarts));
}

/* "; 3 of 5 children up: waiting for storer, web restarting" or "; all 5 children up", then the fatal ones. */
static void describe_children(char *out, size_t outlen, size_t *used, const struct child *v, size_t n)
{
    size_t wanted = 0, up = 0, named = 0, fatal = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].respawn && v[i].fatal) fatal++;
        if (!health_child_wanted(&v[i])) continue;
        wanted++;
        if (health_child_up(&v[i])) up++;
    }
    if (wanted && up == wanted) add(out, outlen, used, "; all %zu %s up", wanted, wanted == 1 ? "child" : "children");
    else if (wanted) add(out, outlen, used, "; %zu of %zu %s up: ", up, wanted, wanted == 1 ? "child" : "children");
    for (size_t i = 0; i < n && up < wanted; i++) {
        if (!health_child_wanted(&v[i]) || health_child_up(&v[i])) continue;
        if (named == STATUS_NAMES_MAX) {
            add(out, outlen, used, " and %zu more", wanted - up - named);
            break;
        }
        if (named++) add(out, outlen, used, ", ");
        describe_down(&v[i], out, outlen, used);
    }
    named = 0;
    for (size_t i = 0; i < n && fatal; i++) {
        if (!v[i].respawn || !v[i].fatal) continue;
        add(out, outlen, used, "%s%s",
            named++ ? ", " : "; stopped by a fatal configuration error (exit 2, fix and reload): ", v[i].name);
    }
}

char *health_status(char *out, size_t outlen, const struct child *v, size_t n, const struct health_facts *f)
{
    size_t used = 0;
    if (outlen == 0) return out;
    out[0] = '\0';
    if (f->stopping) {
        size_t left = 0;
        for (size_t i = 0; i < n; i++)
            if (v[i].pid > 0) left++;
        add(out, outlen, &used, "stopping: %zu %s left", left, left == 1 ? "child" : "children");
        return out;
    }
    if (f->reloading) add(out, outlen, &used, "reloading: ");
    if (f->probe_waiting)
        add(out, outlen, &used, "probe host %s: waiting for its configuration from the central host", f->probe_waiting);
    else
        add(out, outlen, &used, "%zu endpoint%s, %d worker%s", f->endpoints, cw_plural((long long)f->endpoints),
            f->workers, cw_plural(f->workers));
    describe_children(out, outlen, &used, v, n);
    if (f->reload_refused) add(out, outlen, &used, "; the last reload was refused (see the log)");
    return out;
}
