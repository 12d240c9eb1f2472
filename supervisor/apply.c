/* supervisor/apply.c — the first configuration's children, and a reload: parse, validate, diff, apply
 * (see apply.h). */
#include "supervisor/apply.h"

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"

#include "supervisor/confetch.h"
#include "supervisor/confserve.h"
#include "supervisor/icmp_fds.h"
#include "supervisor/privs.h"
#include "supervisor/reload.h"
#include "supervisor/snapshot.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void apply_log_problem(void *ctx, const char *message)
{
    (void)ctx;
    log_error("%s", message);
}

static void log_config_warning(void *ctx, const char *message)
{
    (void)ctx;
    log_warn("%s", message);
}

struct cw_config *apply_load(const char *path)
{
    struct config_load_options o = { .report = apply_log_problem, .warn = log_config_warning };
    return config_load_with(path, &o);
}

/* Whether an optional child (alerter, web) should run, warning once when its binary is missing (saying what is
 * then missing). */
static bool optional_wanted(struct supervisor *s, enum child_kind kind, bool configured, bool *warned,
                            const char *what_is_missing)
{
    if (!configured) return false;
    char path[4200];
    children_binary(&s->ch, kind, path, sizeof path);
    if (access(path, X_OK) == 0) return true;
    if (!*warned) {
        log_warn("%s does not exist: running without the %s (%s)", path, child_kind_name(kind), what_is_missing);
        *warned = true;
    }
    return false;
}

static bool alerter_wanted(struct supervisor *s, const struct cw_config *cfg)
{
    if (config_is_probe_host(cfg)) return false; /* its results go to the central's alerter */
    return optional_wanted(s, CHILD_ALERTER, config_wants_alerter(cfg), &s->alerter_missing_warned,
                           "no alerts, no clockwerk status");
}

static bool web_wanted(struct supervisor *s, const struct cw_config *cfg)
{
    if (config_is_probe_host(cfg)) return false;
    return optional_wanted(s, CHILD_WEB, config_wants_web(cfg), &s->web_missing_warned, "no status page");
}

/* A probe host runs workers only (with a configuration from its central host): no relay, storer, alerter, web. */
static bool relay_wanted(const struct cw_config *cfg) { return !config_is_probe_host(cfg); }

static bool storer_wanted(const struct cw_config *cfg)
{
    return !config_is_probe_host(cfg) && config_wants_storer(cfg);
}

void apply_initial(struct supervisor *s, int64_t now)
{
    if (relay_wanted(s->cfg)) children_add(&s->ch, CHILD_RELAY, 0, 0, now);
    if (storer_wanted(s->cfg)) children_add(&s->ch, CHILD_STORER, 0, 0, now);
    if (alerter_wanted(s, s->cfg)) children_add(&s->ch, CHILD_ALERTER, 0, 0, now);
    for (int i = 0; !s->probe_waiting && i < s->cfg->workers; i++)
        children_add(&s->ch, CHILD_WORKER, (unsigned)i, (unsigned)s->cfg->workers, now);
    if (web_wanted(s, s->cfg)) children_add(&s->ch, CHILD_WEB, 0, 0, now);
}

void apply_open_counters(struct supervisor *s, const struct cw_config *cfg)
{
    char err[512];
    if (counters_open(&s->counters, cfg, err, sizeof err) != 0) log_warn("no final counters at shutdown: %s", err);
}

/* Appends to the reload's log note (text after the counts: "; restarting relay" and the like). */
__attribute__((format(printf, 3, 4))) static void note_add(char *note, size_t notelen, const char *fmt, ...)
{
    size_t used = strlen(note);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note + used, notelen - used, fmt, ap);
    va_end(ap);
}

/* Parses and validates the file for a reload, refusing what needs a restart. Returns the new configuration,
 * or NULL after logging why and counting the refusal (nothing changed). */
static struct cw_config *load_next(struct supervisor *s)
{
    struct cw_config *next = apply_load(s->cfg->path);
    if (!next) {
        s->reloads_failed++;
        log_error("reload failed: the configuration above is invalid; still running the previous one "
                  "(generation %u)",
                  s->gen);
        return NULL;
    }
    char perr[600];
    if (strcmp(next->run_dir, s->cfg->run_dir) != 0) {
        /* The lock, the sockets and the snapshots live there: moving it needs a restart. */
        log_error("reload failed: run_dir changed (%s -> %s); restart clockwerk to move it; still running "
                  "the previous configuration",
                  s->cfg->run_dir, next->run_dir);
    } else if ((s->cfg->user == NULL) != (next->user == NULL) ||
               (next->user && strcmp(s->cfg->user, next->user) != 0)) {
        log_error("reload failed: supervisor.user changed (%s -> %s); restart clockwerk to change it; still running "
                  "the previous configuration",
                  s->cfg->user ? s->cfg->user : "(none)", next->user ? next->user : "(none)");
    } else if (config_is_probe_host(next) != config_is_probe_host(s->cfg)) {
        log_error("reload failed: bus.central_address %s; restart clockwerk to change between a probe host and "
                  "a central one; still running the previous configuration",
                  config_is_probe_host(next) ? "added" : "removed");
    } else if (config_is_probe_host(next) && (strcmp(next->location, s->cfg->location) != 0 ||
                                              strcmp(next->central_address, s->cfg->central_address) != 0)) {
        log_error("reload failed: a probe host's supervisor.location or bus.central_address changed; restart "
                  "clockwerk to change them; still running the previous configuration");
    } else if (privs_prepare_sqlite(&s->ch.privs, next, perr, sizeof perr) != 0) {
        log_error("reload failed: %s; still running the previous configuration", perr);
    } else {
        return next;
    }
    s->reloads_failed++;
    config_free(next);
    return NULL;
}

static bool any_worker_slot(const struct children *ch)
{
    for (size_t i = 0; i < ch->n; i++)
        if (ch->v[i].kind == CHILD_WORKER) return true;
    return false;
}

/* A changed shard's worker: reloaded in place (SIGHUP: worker/reload.c) when it runs, is ready and holds every socket
 * the new shard needs; restarted otherwise. Returns whether it was reloaded in place. */
static bool worker_in_place(struct supervisor *s, unsigned i, bool gains_module, bool linked)
{
    struct child *c = children_find(&s->ch, CHILD_WORKER, i);
    return c && c->respawn && linked && !gains_module && children_reload_in_place(&s->ch, c, s->gen);
}

/* Workers: all of them restart when a shared setting changed (their count among them); else only those whose shard
 * changed (np: next's fingerprints, s->print: the running generation's) see the new configuration, in place when
 * they can (worker_in_place). */
static void apply_workers(struct supervisor *s, const struct cw_config *old, const struct cw_config *next,
                          const struct reload_print *np, bool linked, int64_t now, char *note, size_t notelen)
{
    if (s->probe_waiting) return; /* a probe host without a configuration from its central: nothing to check */
    unsigned count = (unsigned)next->workers;
    bool first = !any_worker_slot(&s->ch); /* a probe host's first configuration from its central */
    if (reload_worker_globals_changed(old, next) || first) {
        /* Slots beyond the new count go; the others restart (with the new count once every worker of the
         * old count is gone: children_start_due). Each slot stays one slot, whatever state it is in. */
        for (size_t i = 0; i < s->ch.n; i++)
            if (s->ch.v[i].kind == CHILD_WORKER && s->ch.v[i].index >= count) children_retire(&s->ch, &s->ch.v[i], now);
        for (unsigned i = 0; i < count; i++) children_want(&s->ch, CHILD_WORKER, i, count, now);
        if (count) snprintf(note, notelen, "; %s all workers", first ? "starting" : "restarting"); /* a central: none */
        return;
    }
    bool *changed = cw_xcalloc((size_t)count + 1, sizeof *changed);
    reload_print_shards(&s->print, np, count, changed);
    size_t n_reloaded = 0, n_restarted = 0;
    char restarted[512] = "";
    for (unsigned i = 0; i < count; i++) {
        if (!changed[i]) continue;
        /* the prints are for `count` slots here: a changed worker count restarted every worker above */
        bool gains = (np->modules[i] & ~(s->print.slots == count ? s->print.modules[i] : 0u)) != 0;
        if (worker_in_place(s, i, gains, linked)) {
            note_add(note, notelen, "%s %u/%u", n_reloaded++ ? "," : "; reloading worker", i, count);
            continue;
        }
        children_want(&s->ch, CHILD_WORKER, i, count, now);
        note_add(restarted, sizeof restarted, "%s %u/%u", n_restarted++ ? "," : "; restarting worker", i, count);
    }
    if (n_reloaded) note_add(note, notelen, " in place");
    note_add(note, notelen, "%s", restarted);
    free(changed);
}

/* Starts, stops, reloads or restarts a singleton (storer, alerter, web) for the new config: started when wanted and
 * not running, told to reload in place (SIGHUP) when running and only the endpoints it reads changed (`d`), restarted
 * when anything else it reads changed (or it cannot reload now: children_reload_in_place), stopped when no longer
 * wanted. A process still stopping from an earlier reload, for a restart or for good, is the one that restarts once
 * it has exited: never a second one beside it. */
static void apply_singleton(struct supervisor *s, enum child_kind kind, bool want, struct reload_reader_diff d,
                            bool linked, int64_t now, char *note, size_t notelen)
{
    struct child *c = children_find(&s->ch, kind, 0);
    if (want) {
        bool running = c && c->respawn;
        if (running && !d.globals && !d.endpoints) return;
        if (running && !d.globals && linked && children_reload_in_place(&s->ch, c, s->gen)) {
            note_add(note, notelen, "; reloading %s in place", child_kind_name(kind));
            return;
        }
        children_want(&s->ch, kind, 0, 0, now);
        note_add(note, notelen, "; %s %s", running ? "restarting" : "starting", child_kind_name(kind));
    } else if (c && c->respawn) {
        children_retire(&s->ch, c, now);
        note_add(note, notelen, "; stopping %s", child_kind_name(kind));
    }
}

/* Restarts (or starts, stops) the children that must see next (np: its fingerprints; old and s->print: the running
 * generation's); `note` receives what was done. */
static void apply_children(struct supervisor *s, const struct cw_config *old, const struct cw_config *next,
                           const struct reload_print *np, bool linked, int64_t now, char *note, size_t notelen)
{
    apply_workers(s, old, next, np, linked, now, note, notelen);
    if (relay_wanted(next) && reload_relay_changed(old, next)) {
        struct child *r = children_find(&s->ch, CHILD_RELAY, 0);
        if (r) children_restart(&s->ch, r, now);
        note_add(note, notelen, "; restarting relay");
    }
    /* each restarts only when what it reads changed (reload.h): a setting only the workers use restarts none, and
     * a change of endpoints alone is reloaded in place */
    struct reload_readers d;
    reload_print_readers(old, &s->print, next, np, &d);
    apply_singleton(s, CHILD_STORER, storer_wanted(next), d.storer, linked, now, note, notelen);
    apply_singleton(s, CHILD_ALERTER, alerter_wanted(s, next), d.alerter, linked, now, note, notelen);
    apply_singleton(s, CHILD_WEB, web_wanted(s, next), d.web, linked, now, note, notelen);
}

static void log_reload(const char *what, const struct supervisor *s, const struct cw_config *next,
                       const struct reload_print *np, unsigned gen, const char *note)
{
    const struct cw_config *old = s->cfg;
    size_t added, removed;
    reload_print_count(&s->print, np, &added, &removed);
    char delta[64] = "";
    if (added && removed) snprintf(delta, sizeof delta, " (+%zu -%zu)", added, removed);
    else if (added) snprintf(delta, sizeof delta, " (+%zu)", added);
    else if (removed) snprintf(delta, sizeof delta, " (-%zu)", removed);
    char wdelta[32] = "";
    if (old->workers != next->workers) snprintf(wdelta, sizeof wdelta, " (was %d)", old->workers);
    log_info("%s: %zu endpoint%s%s, %d worker%s%s, generation %u%s", what, next->n_endpoints,
             cw_plural(next->n_endpoints), delta, next->workers, cw_plural(next->workers), wdelta, gen, note);
}

void apply_reload(struct supervisor *s, int64_t now)
{
    log_info("SIGHUP: reloading %s", s->cfg->path);
    struct cw_config *next = load_next(s);
    if (!next) return;
    if (s->fetch) { /* a probe host: the local settings over the central's last configuration */
        char err[600];
        struct cw_config *run;
        if (confetch_local_reload(s->fetch, next, &run, err, sizeof err) != 0) {
            s->reloads_failed++;
            log_error("reload failed: %s; still running the previous configuration", err);
            return;
        }
        next = run ? run : config_load(s->fetch->local->path, apply_log_problem, NULL);
        if (!next) {
            s->reloads_failed++;
            return;
        }
    }
    apply_next(s, next, now, "reload");
}

void apply_confserve(struct supervisor *s, const struct cw_config *old)
{
    char err[600];
    if (!s->serve && !s->cfg->config_address) return;
    if (!s->serve) {
        s->serve = cw_xcalloc(1, sizeof *s->serve);
        if (confserve_open(s->serve, s->cfg, err, sizeof err) != 0) {
            log_error("cannot serve the locations' configuration: %s", err);
            free(s->serve);
            s->serve = NULL;
        }
        return;
    }
    if (confserve_reload(s->serve, s->cfg, old && reload_curve_changed(old, s->cfg), err, sizeof err) != 0)
        log_error("the locations' configuration is not updated: %s; they keep getting the previous one", err);
}

void apply_log_target(const struct cw_config *cfg)
{
    enum log_target target = (enum log_target)cfg->log_target;
    if (target == log_get_target()) return;
    log_info("logging to %s from now on (supervisor.log_target)", log_target_name(target));
    if (log_set_target(target) == 0) log_info("logging to %s (supervisor.log_target)", log_target_name(target));
}

bool apply_next(struct supervisor *s, struct cw_config *next, int64_t now, const char *what)
{
    char path[4200];
    unsigned gen = s->gen + 1;
    bool was_waiting = s->probe_waiting, waiting = was_waiting, same;
    if (s->fetch) waiting = !s->fetch->have_central && !s->fetch->have_pending;
    /* compared in memory with the running generation's file: a reload that changes nothing writes nothing */
    if (snapshot_write_if_changed(next, &s->ch.privs, gen, was_waiting == waiting ? s->snapshot : NULL, path,
                                  sizeof path, &same) != 0) {
        s->reloads_failed++;
        log_error("%s failed: still running the previous configuration", what);
        config_free(next);
        return false;
    }
    /* the caller's time is from before the parse and the snapshot (seconds at 500,000 endpoints): a SIGTERM sent with
     * it would be past its stop deadline at once, and the child SIGKILLed with its checks in flight */
    now = cw_mono_ns();
    s->reloads++;
    children_clear_fatal(&s->ch, now);
    s->probe_waiting = waiting;
    if (same) {
        log_info("%s: no change (%zu endpoint%s, %d worker%s)", what, next->n_endpoints, cw_plural(next->n_endpoints),
                 next->workers, cw_plural(next->workers));
        config_free(next);
        (void)malloc_trim(0); /* its endpoints' pages back to the system: 100 MB at 500,000 stayed resident */
        return true;
    }

    struct cw_config *old = s->cfg;
    s->gen = gen;
    snprintf(s->snapshot, sizeof s->snapshot, "%s", path);
    bool linked = snapshot_link(next->run_dir, gen) == 0; /* before any SIGHUP: what a reload in place reads */
    log_set_level((enum log_level)next->log_level);
    apply_log_target(next);
    char note[1024] = "";
    struct reload_print np;
    reload_print_make(&np, next);
    now = cw_mono_ns(); /* the prints take tenths of a second at 500,000: the stop deadlines count from here */
    apply_children(s, old, next, &np, linked, now, note, sizeof note);
    log_reload(what, s, next, &np, gen, note);
    if (!config_is_probe_host(next) &&
        (strcmp(old->tap_address, next->tap_address) != 0 || reload_curve_changed(old, next)))
        apply_open_counters(s, next);
    s->cfg = next;
    apply_confserve(s, old);
    icmp_fds_plan(&s->ch.icmp, next, &s->ch.privs); /* before the restarted workers start */
    config_free(old);
    apply_settle(s, &np);
    children_reap(&s->ch, now); /* drops slots retired while not running */
    snapshot_gc(&s->ch, s->cfg->run_dir, s->gen, &s->gen_lo);
    return true;
}

void apply_settle(struct supervisor *s, struct reload_print *print)
{
    struct reload_print made;
    if (!print) reload_print_make(print = &made, s->cfg);
    reload_print_free(&s->print);
    s->print = *print;
    memset(print, 0, sizeof *print);
    char err[512];
    struct cw_config *settings = config_settings_copy(s->cfg, err, sizeof err);
    if (settings) {
        config_free(s->cfg);
        s->cfg = settings;
    } else { /* cannot happen (our own encoding of a validated configuration): costs memory, not correctness */
        log_warn("keeping the whole configuration in memory: %s", err);
    }
    (void)snapshot_hold(&s->snap_fd, s->snapshot);
    (void)malloc_trim(0); /* the endpoints' pages (and the parse's) back to the system */
}
