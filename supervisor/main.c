/* supervisor/main.c — bin/clockwerk, the supervisor: loads and validates the configuration, takes the
 * run_dir lock, writes the snapshot, fork+execs the children and keeps them running; reloads on SIGHUP,
 * stops everything in order on SIGTERM/SIGINT. It does no data work (docs/operations.md).
 *
 * DESIGN
 * One thread, one loop. Signal handlers only set the flags below; the handled signals stay blocked
 * except while the loop sleeps in sig_wait() (ppoll with a mask), so every event is handled here, in
 * order: stop (first, so that children ended by a group-wide signal are not taken for crashes), reap
 * children, reload, start what is due, then sleep until the next due start or deadline.
 *
 * Shutdown is ordered so that nothing in flight is lost: workers first (SIGTERM, they stop probing and
 * flush), then the alerter (it sends its last alerts to the storer), then the storer (it drains its queue
 * and commits), then the relay (so the tap sees everything to the end).
 * Escalation: a worker still alive 5 s after the stop began gets SIGKILL; at 8 s every child that was sent
 * SIGTERM and is still alive does (the next in line then still gets its SIGTERM); at 9 s whatever is left;
 * at 9.5 s the supervisor stops waiting. It exits 0 within 10 s. */
#include "common/bus_keys.h"
#include "common/config.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"

#include "supervisor/children.h"
#include "supervisor/counters.h"
#include "supervisor/pidfile.h"
#include "supervisor/privs.h"
#include "supervisor/reload.h"
#include "supervisor/signals.h"
#include "supervisor/snapshot.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The only mutable globals: set by the signal handler, read and cleared by the main loop. */
static volatile sig_atomic_t got_chld, got_hup, got_stop;

static void on_signal(int sig)
{
    switch (sig) {
    case SIGCHLD: got_chld = 1; break;
    case SIGHUP: got_hup = 1; break;
    case SIGTERM:
    case SIGINT: got_stop = sig; break;
    default: break;
    }
}

#define STOP_WORKERS_NS (5000000000LL)  /* workers still alive after this get SIGKILL */
#define STOP_KILL_NS    (8000000000LL)  /* any child asked to stop and still alive after this gets SIGKILL */
#define STOP_LAST_NS    (9000000000LL)  /* any child at all still alive after this gets SIGKILL */
#define STOP_GIVEUP_NS  (9500000000LL)  /* stop waiting: PDEATHSIG takes whatever is left */
#define RELOAD_STOP_NS  (8000000000LL)  /* a child stopped for a reload gets this long before SIGKILL */

enum stop_phase { RUNNING = 0, STOP_WORKERS, STOP_ALERTER, STOP_STORER, STOP_RELAY, STOPPED };

struct supervisor {
    struct cw_config *cfg;
    struct children ch;
    struct counters counters;  /* last stats of each process, logged at shutdown */
    struct pidfile pf;
    sigset_t wait_mask;
    unsigned gen;           /* current snapshot generation */
    unsigned gen_lo;        /* oldest generation whose file may still exist */
    char snapshot[4200];    /* current snapshot's path */
    bool alerter_missing_warned;
    enum stop_phase phase;
    int64_t stop_started_ns;
    bool workers_killed, stopping_killed, all_killed;
    int64_t started_ns;
    unsigned long reloads, reloads_failed;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clockwerk -c FILE         run the supervisor in the foreground\n"
            "       clockwerk -t -c FILE      check the configuration and exit (0: valid, 1: invalid)\n"
            "       clockwerk -c FILE --test-alert   send one test mail and webhook call, report each\n"
            "       clockwerk keygen FILE     write a new CURVE key pair for the bus (mode 0600), print its public key\n"
            "       clockwerk --version       print the version\n"
            "signals: HUP reloads the configuration, TERM or INT stops everything in order.\n");
}

/* config_load reporters: plain lines for -t, log lines when running. */
static void report_plain(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "%s\n", message);
}

static void report_log(void *ctx, const char *message)
{
    (void)ctx;
    log_error("%s", message);
}

/* Rewrites our command line as shown by ps to `title` (overwriting the argv strings, which we copied). */
static void set_title(int argc, char **argv, const char *title)
{
    if (prctl(PR_SET_NAME, "clockwerk", 0, 0, 0) != 0) { /* the comm name is cosmetic */ }
    if (argc < 1 || !argv[0]) return;
    char *start = argv[0];
    char *end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc; i++) {
        if (argv[i] != end) break; /* not contiguous: stop at what is */
        end = argv[i] + strlen(argv[i]) + 1;
    }
    size_t room = (size_t)(end - start);
    memset(start, 0, room);
    snprintf(start, room, "%s", title);
}

/* The directory holding our own binary: children are its siblings. */
static int own_bin_dir(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    snprintf(out, outlen, "%s", dirname(exe));
    return 0;
}

static bool binary_exists(const struct supervisor *s, enum child_kind kind)
{
    char path[4200];
    children_binary(&s->ch, kind, path, sizeof path);
    return access(path, X_OK) == 0;
}

/* Whether an alerter should run, warning once when its binary is missing. */
static bool alerter_wanted(struct supervisor *s, const struct cw_config *cfg)
{
    if (!config_wants_alerter(cfg)) return false;
    if (binary_exists(s, CHILD_ALERTER)) return true;
    if (!s->alerter_missing_warned) {
        char path[4200];
        children_binary(&s->ch, CHILD_ALERTER, path, sizeof path);
        log_warn("alerting is configured but %s does not exist: running without the alerter", path);
        s->alerter_missing_warned = true;
    }
    return false;
}

/* Removes snapshot files no running child was started with (the current one always stays). */
static void snapshot_gc(struct supervisor *s)
{
    unsigned lowest = s->gen;
    for (unsigned g = s->gen_lo; g < s->gen; g++) {
        if (children_uses_gen(&s->ch, g)) {
            if (g < lowest) lowest = g;
            continue;
        }
        char path[4200];
        if (snapshot_path(s->cfg->run_dir, g, path, sizeof path) == 0 && unlink(path) != 0 && errno != ENOENT)
            log_warn("cannot remove old snapshot %s: %s", path, strerror(errno));
    }
    s->gen_lo = lowest;
}

/* Writes cfg as snapshot generation gen into path, owned by the children's user (mode 0600). */
static int write_snapshot(const struct cw_config *cfg, const struct privs *privs, unsigned gen, char *path,
                          size_t pathlen)
{
    char err[512];
    if (snapshot_path(cfg->run_dir, gen, path, pathlen) != 0) {
        log_error("snapshot path too long in %s", cfg->run_dir);
        return -1;
    }
    if (config_snapshot_write(cfg, path, err, sizeof err) != 0) {
        log_error("cannot write snapshot %s: %s", path, err);
        return -1;
    }
    if (privs_chown(privs, path, err, sizeof err) != 0) {
        log_error("%s", err);
        if (unlink(path) != 0) log_warn("cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void add_initial_children(struct supervisor *s, int64_t now)
{
    children_add(&s->ch, CHILD_RELAY, 0, 0, now);
    if (config_wants_storer(s->cfg)) children_add(&s->ch, CHILD_STORER, 0, 0, now);
    if (alerter_wanted(s, s->cfg)) children_add(&s->ch, CHILD_ALERTER, 0, 0, now);
    for (int i = 0; i < s->cfg->workers; i++) children_add(&s->ch, CHILD_WORKER, (unsigned)i, (unsigned)s->cfg->workers, now);
}

/* Starts, stops or restarts a singleton (storer, alerter) for the new config. */
static void apply_singleton(struct supervisor *s, enum child_kind kind, bool want, bool changed, int64_t now,
                            char *note, size_t notelen)
{
    struct child *c = children_find(&s->ch, kind, 0);
    size_t used = strlen(note);
    if (want && !c) {
        children_add(&s->ch, kind, 0, 0, now);
        snprintf(note + used, notelen - used, "; starting %s", child_kind_name(kind));
    } else if (!want && c) {
        children_retire(&s->ch, c, now);
        snprintf(note + used, notelen - used, "; stopping %s", child_kind_name(kind));
    } else if (want && c && changed) {
        children_restart(&s->ch, c, now);
        snprintf(note + used, notelen - used, "; restarting %s", child_kind_name(kind));
    }
}

static void open_counters(struct supervisor *s, const struct cw_config *cfg)
{
    char err[512];
    if (counters_open(&s->counters, cfg, err, sizeof err) != 0)
        log_warn("no final counters at shutdown: %s", err);
}

/* SIGHUP: parse and validate; a bad file changes nothing. */
static void reload(struct supervisor *s, int64_t now)
{
    log_info("SIGHUP: reloading %s", s->cfg->path);
    struct cw_config *next = config_load(s->cfg->path, report_log, NULL);
    if (!next) {
        s->reloads_failed++;
        log_error("reload failed: the configuration above is invalid; still running the previous one "
                  "(generation %u)", s->gen);
        return;
    }
    if (strcmp(next->run_dir, s->cfg->run_dir) != 0) {
        /* The lock, the sockets and the snapshots live there: moving it needs a restart. */
        log_error("reload failed: run_dir changed (%s -> %s); restart clockwerk to move it; still running "
                  "the previous configuration", s->cfg->run_dir, next->run_dir);
        s->reloads_failed++;
        config_free(next);
        return;
    }
    if ((s->cfg->user == NULL) != (next->user == NULL) || (next->user && strcmp(s->cfg->user, next->user) != 0)) {
        log_error("reload failed: supervisor.user changed (%s -> %s); restart clockwerk to change it; still running "
                  "the previous configuration", s->cfg->user ? s->cfg->user : "(none)", next->user ? next->user : "(none)");
        s->reloads_failed++;
        config_free(next);
        return;
    }
    char path[4200], perr[600];
    if (privs_prepare_sqlite(&s->ch.privs, next, perr, sizeof perr) != 0) {
        log_error("reload failed: %s; still running the previous configuration", perr);
        s->reloads_failed++;
        config_free(next);
        return;
    }
    unsigned gen = s->gen + 1;
    if (write_snapshot(next, &s->ch.privs, gen, path, sizeof path) != 0) {
        s->reloads_failed++;
        log_error("reload failed: still running the previous configuration");
        config_free(next);
        return;
    }
    s->reloads++;
    children_clear_fatal(&s->ch, now);
    if (snapshot_same(path, s->snapshot)) {
        if (unlink(path) != 0) log_warn("cannot remove %s: %s", path, strerror(errno));
        log_info("reload: no change (%zu endpoints, %d workers)", next->n_endpoints, next->workers);
        config_free(next);
        return;
    }

    struct cw_config *old = s->cfg;
    s->gen = gen;
    snprintf(s->snapshot, sizeof s->snapshot, "%s", path);
    log_set_level((enum log_level)next->log_level);

    char note[1024] = "";
    /* Workers: all of them when a shared setting changed, else only the shards that changed. */
    if (reload_worker_globals_changed(old, next)) {
        for (size_t i = 0; i < s->ch.n; i++)
            if (s->ch.v[i].kind == CHILD_WORKER) children_retire(&s->ch, &s->ch.v[i], now);
        for (int i = 0; i < next->workers; i++) children_add(&s->ch, CHILD_WORKER, (unsigned)i, (unsigned)next->workers, now);
        snprintf(note, sizeof note, "; restarting all workers");
    } else {
        bool *changed = cw_xcalloc((size_t)next->workers + 1, sizeof *changed);
        reload_changed_shards(old, next, (unsigned)next->workers, changed);
        size_t n_changed = 0;
        for (int i = 0; i < next->workers; i++) {
            if (!changed[i]) continue;
            struct child *c = children_find(&s->ch, CHILD_WORKER, (unsigned)i);
            if (c) children_restart(&s->ch, c, now);
            else children_add(&s->ch, CHILD_WORKER, (unsigned)i, (unsigned)next->workers, now);
            size_t used = strlen(note);
            snprintf(note + used, sizeof note - used, "%s %d/%d", n_changed ? "," : "; restarting worker", i,
                     next->workers);
            n_changed++;
        }
        free(changed);
    }
    if (reload_relay_changed(old, next)) {
        struct child *r = children_find(&s->ch, CHILD_RELAY, 0);
        if (r) children_restart(&s->ch, r, now);
        size_t used = strlen(note);
        snprintf(note + used, sizeof note - used, "; restarting relay");
    }
    apply_singleton(s, CHILD_STORER, config_wants_storer(next), true, now, note, sizeof note);
    apply_singleton(s, CHILD_ALERTER, alerter_wanted(s, next), true, now, note, sizeof note);

    size_t added, removed;
    reload_count_endpoints(old, next, &added, &removed);
    char delta[64] = "";
    if (added && removed) snprintf(delta, sizeof delta, " (+%zu -%zu)", added, removed);
    else if (added) snprintf(delta, sizeof delta, " (+%zu)", added);
    else if (removed) snprintf(delta, sizeof delta, " (-%zu)", removed);
    char wdelta[32] = "";
    if (old->workers != next->workers) snprintf(wdelta, sizeof wdelta, " (was %d)", old->workers);
    log_info("reload: %zu endpoints%s, %d workers%s, generation %u%s", next->n_endpoints, delta, next->workers,
             wdelta, gen, note);

    if (strcmp(old->tap_address, next->tap_address) != 0 || reload_curve_changed(old, next)) open_counters(s, next);
    s->cfg = next;
    config_free(old);
    children_reap(&s->ch, now); /* drops slots retired while not running */
    snapshot_gc(s);
}

static void begin_stop(struct supervisor *s, int sig, int64_t now)
{
    log_info("%s: stopping (workers, then alerter, storer, relay)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    s->phase = STOP_WORKERS;
    s->stop_started_ns = now;
    for (size_t i = 0; i < s->ch.n; i++) {
        s->ch.v[i].respawn = false; /* nothing starts again, pending restarts are dropped */
        s->ch.v[i].restart_now = false;
    }
    children_stop_kind(&s->ch, CHILD_WORKER, now);
    children_reap(&s->ch, now);
}

/* Moves the stop along. Returns the time the loop must wake up at the latest. */
static int64_t advance_stop(struct supervisor *s, int64_t now)
{
    int64_t since = now - s->stop_started_ns;
    if (s->phase == STOP_WORKERS && since >= STOP_WORKERS_NS && !s->workers_killed) {
        children_kill_kind(&s->ch, CHILD_WORKER, false);
        s->workers_killed = true;
    }
    /* At 8 s whoever was asked and is still there is killed; the next in line still gets its SIGTERM when
     * they are reaped (the relay stops in a moment); at 9 s nothing waits any more. */
    if (since >= STOP_KILL_NS && !s->stopping_killed) {
        children_kill_kind(&s->ch, CHILD_KINDS, true);
        s->stopping_killed = true;
    }
    if (since >= STOP_LAST_NS && !s->all_killed) {
        children_kill_kind(&s->ch, CHILD_KINDS, false);
        s->all_killed = true;
    }
    /* The alerter stops before the storer: it sends its last alerts to the storer. */
    if (s->phase == STOP_WORKERS && children_running(&s->ch, CHILD_WORKER) == 0) {
        s->phase = STOP_ALERTER;
        children_stop_kind(&s->ch, CHILD_ALERTER, now);
    }
    if (s->phase == STOP_ALERTER && children_running(&s->ch, CHILD_ALERTER) == 0) {
        s->phase = STOP_STORER;
        children_stop_kind(&s->ch, CHILD_STORER, now);
    }
    if (s->phase == STOP_STORER && children_running(&s->ch, CHILD_STORER) == 0) {
        s->phase = STOP_RELAY;
        children_stop_kind(&s->ch, CHILD_RELAY, now);
    }
    if (s->phase == STOP_RELAY && children_running(&s->ch, CHILD_KINDS) == 0) s->phase = STOPPED;
    if (since >= STOP_GIVEUP_NS && s->phase != STOPPED) {
        log_error("%zu children still not reaped after SIGKILL; exiting anyway (they die with us)",
                  children_running(&s->ch, CHILD_KINDS));
        s->phase = STOPPED;
    }
    if (!s->workers_killed && s->phase == STOP_WORKERS) return s->stop_started_ns + STOP_WORKERS_NS;
    if (!s->stopping_killed) return s->stop_started_ns + STOP_KILL_NS;
    if (!s->all_killed) return s->stop_started_ns + STOP_LAST_NS;
    return s->stop_started_ns + STOP_GIVEUP_NS;
}

static void log_summary(const struct supervisor *s, int64_t now)
{
    const struct children *ch = &s->ch;
    unsigned long total = 0;
    for (int k = 0; k < CHILD_KINDS; k++) total += ch->restarts[k];
    log_info("stopped after %.1f s: %lu restarts (relay %lu, storer %lu, alerter %lu, workers %lu), %lu crashes, "
             "%lu fatal exits, %lu reloads (%lu refused)",
             (double)(now - s->started_ns) / 1e9, total, ch->restarts[CHILD_RELAY], ch->restarts[CHILD_STORER],
             ch->restarts[CHILD_ALERTER], ch->restarts[CHILD_WORKER], ch->crashes, ch->fatal_exits, s->reloads,
             s->reloads_failed);
}

static int run(struct supervisor *s)
{
    int64_t now = cw_mono_ns();
    s->started_ns = now;
    add_initial_children(s, now);
    log_info("clockwerk %s running: %zu endpoints, %d workers, storer %s, alerter %s, run_dir %s", CW_VERSION,
             s->cfg->n_endpoints, s->cfg->workers, config_wants_storer(s->cfg) ? "on" : "off",
             children_find(&s->ch, CHILD_ALERTER, 0) ? "on" : "off", s->cfg->run_dir);

    for (;;) {
        now = cw_mono_ns();
        /* A stop first: children that a group-wide signal ended are then not mistaken for crashes. */
        if (got_stop) {
            int sig = got_stop;
            got_stop = 0;
            if (s->phase == RUNNING) begin_stop(s, sig, now);
            else log_debug("already stopping (signal %d ignored)", sig);
        }
        if (got_chld) {
            got_chld = 0;
            children_reap(&s->ch, now);
            snapshot_gc(s);
        }
        if (got_hup) {
            got_hup = 0;
            if (s->phase == RUNNING) reload(s, now);
            else log_info("SIGHUP ignored: stopping");
        }
        struct proc_wake wake; /* INT64_MAX: nothing due, sleep until a signal or a stats message */
        proc_wake_init(&wake, INT64_MAX);
        if (s->phase == RUNNING) {
            proc_wake_at(&wake, children_start_due(&s->ch, s->snapshot, s->gen, now));
            proc_wake_at(&wake, children_enforce_stop(&s->ch, now, RELOAD_STOP_NS));
            snapshot_gc(s);
        } else {
            proc_wake_at(&wake, advance_stop(s, now));
            if (s->phase == STOPPED) break;
        }
        /* The stats socket's descriptor is edge-triggered: drain before every sleep. */
        counters_drain(&s->counters);
        struct pollfd pfd = { .fd = counters_fd(&s->counters), .events = POLLIN };
        int64_t timeout = wake.at == INT64_MAX ? -1 : proc_wake_ns(&wake, now);
        if (sig_wait(&pfd, pfd.fd >= 0 ? 1 : 0, timeout, &s->wait_mask) < 0 && errno != EINTR) {
            log_error("ppoll: %s", strerror(errno));
            return 1;
        }
    }
    now = cw_mono_ns();
    counters_drain(&s->counters);
    counters_log(&s->counters, (unsigned)s->cfg->workers);
    log_summary(s, now);
    return children_running(&s->ch, CHILD_KINDS) == 0 ? 0 : 1;
}

/* --test-alert: the alerter's own mode (clockwerk-alerter --test-alert, docs/alerts.md) on a snapshot of the
 * file, written to a private temporary directory (it may hold the SMTP password) and removed afterwards.
 * Returns the alerter's exit code: 0 when every channel worked. */
static int run_test_alert(const char *config_arg)
{
    struct cw_config *cfg = config_load(config_arg, report_plain, NULL);
    if (!cfg) return 1;
    char dir[] = "/tmp/clockwerk-test-alert-XXXXXX", snap[PATH_MAX], bin[PATH_MAX], err[512];
    int rc = 1;
    if (!mkdtemp(dir)) {
        fprintf(stderr, "clockwerk: cannot create a temporary directory: %s\n", strerror(errno));
        config_free(cfg);
        return 1;
    }
    snprintf(snap, sizeof snap, "%s/config.snap", dir);
    if (config_snapshot_write(cfg, snap, err, sizeof err) != 0) {
        fprintf(stderr, "clockwerk: %s\n", err);
    } else if (own_bin_dir(bin, sizeof bin) != 0 || strlen(bin) + 20 > sizeof bin) {
        fprintf(stderr, "clockwerk: cannot find our own binary (/proc/self/exe)\n");
    } else {
        strcat(bin, "/clockwerk-alerter");
        pid_t pid = fork();
        if (pid == 0) {
            if (setenv("CLOCKWERK_SNAPSHOT", snap, 1) == 0 && setenv("CLOCKWERK_SECRETS", "smtp", 1) == 0)
                execl(bin, "clockwerk: test-alert", "--test-alert", snap, (char *)NULL);
            fprintf(stderr, "clockwerk: cannot run %s: %s\n", bin, strerror(errno));
            _exit(1);
        }
        int st = 0;
        if (pid < 0) fprintf(stderr, "clockwerk: fork: %s\n", strerror(errno));
        else if (waitpid(pid, &st, 0) == pid) rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    }
    unlink(snap);
    rmdir(dir);
    config_free(cfg);
    return rc;
}

/* `clockwerk keygen FILE`: a new CURVE key pair for bus.curve_key_file (docs/protocol.md "Security"). */
static int run_keygen(int argc, char **argv)
{
    if (argc != 3 || argv[2][0] == '-') {
        fprintf(stderr, "usage: clockwerk keygen FILE\n");
        return 1;
    }
    char pub[BUS_KEY_Z85_LEN + 1], err[4400];
    if (bus_keygen(argv[2], pub, err, sizeof err) != 0) {
        fprintf(stderr, "clockwerk keygen: %s\n", err);
        return 1;
    }
    printf("%s\n", pub);
    fprintf(stderr, "wrote %s (mode 0600); its public key is above: bus.curve_server_key for the hosts that connect "
            "to this one, bus.curve_allowed_keys on a host this one connects to\n", argv[2]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0) return run_keygen(argc, argv);
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "test", no_argument, NULL, 't' },
        { "test-alert", no_argument, NULL, 'A' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_arg = NULL;
    bool test_only = false, test_alert = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_arg = optarg; break;
        case 't': test_only = true; break;
        case 'A': test_alert = true; break;
        case 'V': printf("clockwerk %s\n", CW_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "clockwerk: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (!config_arg) {
        fprintf(stderr, "clockwerk: no configuration file given (-c FILE)\n");
        usage(stderr);
        return 1;
    }

    if (test_alert) return run_test_alert(config_arg);
    if (test_only) {
        struct cw_config *cfg = config_load(config_arg, report_plain, NULL);
        if (!cfg) return 1;
        struct privs privs;
        char perr[600];
        if (privs_resolve(cfg->user, getuid(), &privs, perr, sizeof perr) != 0 ||
            privs_check_readable(&privs, cfg->curve_key_file, "bus.curve_key_file", perr, sizeof perr) != 0) {
            fprintf(stderr, "%s: %s\n", cfg->path, perr);
            config_free(cfg);
            return 1;
        }
        printf("config OK: %zu endpoints, %d workers\n", cfg->n_endpoints, cfg->workers);
        config_free(cfg);
        return 0;
    }

    log_init("supervisor", LOG_LVL_INFO);
    struct supervisor s;
    memset(&s, 0, sizeof s);
    s.pf.fd = -1;
    s.cfg = config_load(config_arg, report_log, NULL);
    if (!s.cfg) {
        log_error("%s is invalid (see above): not starting", config_arg);
        return 1;
    }
    log_set_level((enum log_level)s.cfg->log_level);

    char err[512], bin_dir[PATH_MAX];
    int rc = 1;
    if (own_bin_dir(bin_dir, sizeof bin_dir) != 0) {
        log_error("cannot find our own binary (/proc/self/exe): %s", strerror(errno));
        config_free(s.cfg);
        return 1;
    }
    if (children_init(&s.ch, bin_dir, err, sizeof err) != 0) {
        log_error("%s", err);
        config_free(s.cfg);
        return 1;
    }
    if (privs_resolve(s.cfg->user, getuid(), &s.ch.privs, err, sizeof err) != 0 ||
        privs_check_readable(&s.ch.privs, s.cfg->curve_key_file, "bus.curve_key_file", err, sizeof err) != 0) {
        log_error("%s: not starting", err);
        goto out;
    }
    if (pidfile_make_dir(s.cfg->run_dir, err, sizeof err) != 0 || pidfile_acquire(&s.pf, s.cfg->run_dir, err, sizeof err) != 0) {
        log_error("%s: not starting", err);
        goto out;
    }
    snapshot_remove_all(s.cfg->run_dir);
    if (privs_prepare_run_dir(&s.ch.privs, s.cfg->run_dir, err, sizeof err) != 0 ||
        privs_prepare_sqlite(&s.ch.privs, s.cfg, err, sizeof err) != 0) {
        log_error("%s: not starting", err);
        goto out;
    }
    if (s.ch.privs.active)
        log_info("children run as %s (uid %u, gid %u)", s.ch.privs.name, (unsigned)s.ch.privs.uid,
                 (unsigned)s.ch.privs.gid);
    s.gen = s.gen_lo = 1;
    if (write_snapshot(s.cfg, &s.ch.privs, s.gen, s.snapshot, sizeof s.snapshot) != 0) goto out;
    if (sig_setup(on_signal, &s.wait_mask) != 0) {
        log_error("cannot set up signals: %s", strerror(errno));
        goto out;
    }
    set_title(argc, argv, "clockwerk: supervisor");
    open_counters(&s, s.cfg); /* after sig_setup: ZeroMQ's threads inherit the blocked mask */
    rc = run(&s);

out:
    if (s.gen) {
        for (unsigned g = s.gen_lo; g <= s.gen; g++) {
            char path[4200];
            if (snapshot_path(s.cfg->run_dir, g, path, sizeof path) == 0 && unlink(path) != 0 && errno != ENOENT)
                log_warn("cannot remove %s: %s", path, strerror(errno));
        }
    }
    counters_free(&s.counters);
    pidfile_release(&s.pf);
    children_free(&s.ch);
    config_free(s.cfg);
    return rc;
}
