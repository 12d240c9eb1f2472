/* common/proc/proc.c — the skeleton every Clockwerk child is born into (see proc.h): snapshot, log role,
 * signals through one signalfd, boot id, bus, stats messages and wake-up arithmetic. */
#include "common/proc/proc.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bus/bus.h"
#include "common/proc/bus_config.h"
#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/base/util.h"

unsigned proc_env_uint(const char *name, unsigned max, bool required, unsigned dflt)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        if (required) fatal(2, "%s is not set (Clockwerk's processes are started by bin/clockwerk)", name);
        return dflt;
    }
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || v[0] == '-' || n > max) fatal(2, "%s=%s is not a number in 0..%u", name, v, max);
    return (unsigned)n;
}

uint64_t proc_env_u64(const char *name, uint64_t min, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || v[0] == '-' || n < min)
        fatal(2, "%s=%s is not a number >= %llu", name, v, (unsigned long long)min);
    return (uint64_t)n;
}

int proc_signals_open(bool interrupt_too)
{
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    if (sigemptyset(&ign.sa_mask) != 0 || sigaction(SIGPIPE, &ign, NULL) != 0 ||
        (!interrupt_too && sigaction(SIGINT, &ign, NULL) != 0))
        fatal(1, "cannot set signal dispositions: %s", strerror(errno));
    sigset_t set;
    if (sigemptyset(&set) != 0 || sigaddset(&set, SIGTERM) != 0 || sigaddset(&set, SIGHUP) != 0 ||
        (interrupt_too && sigaddset(&set, SIGINT) != 0))
        fatal(1, "cannot build a signal set: %s", strerror(errno));
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) fatal(1, "cannot block signals: %s", strerror(errno));
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) fatal(1, "cannot create a signalfd: %s", strerror(errno));
    return fd;
}

unsigned proc_signals(int sigfd)
{
    unsigned got = 0;
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM) got |= PROC_SIG_TERM;
        else if (si.ssi_signo == SIGHUP) got |= PROC_SIG_HUP;
        else if (si.ssi_signo == SIGINT) got |= PROC_SIG_INT;
    }
    return got;
}

struct cw_config *proc_read_snapshot(const char *path, const char *name, unsigned slot, unsigned slots)
{
    if (!path || !*path) fatal(2, "CLOCKWERK_SNAPSHOT is not set (the %s is started by bin/clockwerk)", name);
    char err[PATH_MAX + 256];
    struct cw_config *cfg = config_snapshot_read(path, slot, slots, err, sizeof err);
    if (!cfg) fatal(2, "cannot read the snapshot %s: %s", path, err);
    log_set_level((enum log_level)cfg->log_level);
    return cfg;
}

void proc_init(struct proc *p, const struct proc_opts *opts)
{
    memset(p, 0, sizeof *p);
    /* Every file a child creates is its user's alone (docs/operations.md, "File modes"): spools, state files,
     * the SQLite database and the -wal/-shm/-journal files SQLite derives from it hold URLs with credentials.
     * The sockets in run_dir only need their owner: every child runs as one user. */
    umask(077);
    /* Issue 18: a fixed mmap threshold, so that a large block that comes and goes (a state file's arrays, a JSON text,
     * a snapshot's buffer: tens of MB at 500,000 endpoints) goes back to the system when freed. glibc's moving
     * threshold rises to the largest block freed and would keep the next ones in the heap, resident for good.
     * Not in a worker: its blocks are its shard's endpoints, read once, and its hot path is left as it is.
     * A hint: a malloc that does not take it (a sanitizer's allocator) changes nothing else, so it is not reported. */
    if (!opts->sharded) (void)mallopt(M_MMAP_THRESHOLD, PROC_MMAP_THRESHOLD);
    /* Signals first: a SIGTERM from here on is an event, not the default action (which would kill the
     * process before it could say or save anything); and before the bus, whose threads inherit the mask. */
    p->sigfd = proc_signals_open(false);
    p->name = opts->name;
    snprintf(p->role, sizeof p->role, "%s", opts->name);
    log_init(p->role, LOG_LVL_INFO);

    p->snapshot_path = getenv("CLOCKWERK_SNAPSHOT");
    if (opts->sharded) {
        p->slots = proc_env_uint("CLOCKWERK_SLOTS", 100000, true, 1);
        p->slot = proc_env_uint("CLOCKWERK_SLOT", 100000, true, 0);
        if (p->slots == 0 || p->slot >= p->slots)
            fatal(2, "CLOCKWERK_SLOT=%u is not below CLOCKWERK_SLOTS=%u", p->slot, p->slots);
        snprintf(p->role, sizeof p->role, "%s %u/%u", opts->name, p->slot, p->slots);
        log_init(p->role, LOG_LVL_INFO);
    }

    p->no_endpoints = opts->no_endpoints;
    if (p->no_endpoints) {
        if (!p->snapshot_path || !*p->snapshot_path)
            fatal(2, "CLOCKWERK_SNAPSHOT is not set (the %s is started by bin/clockwerk)", opts->name);
        char err[PATH_MAX + 256];
        p->cfg = config_snapshot_read_settings(p->snapshot_path, err, sizeof err);
        if (!p->cfg) fatal(2, "cannot read the snapshot %s: %s", p->snapshot_path, err);
        log_set_level((enum log_level)p->cfg->log_level);
    } else {
        p->cfg = proc_read_snapshot(p->snapshot_path, opts->name, p->slot, p->slots);
    }
    log_set_target((enum log_target)p->cfg->log_target); /* stderr until here */

    p->boot_id = cw_boot_id();
    if (opts->open_bus) {
        char err[512];
        p->bus = bus_new_for(p->cfg, err, sizeof err);
        if (!p->bus) {
            int code = p->cfg->curve_key_file ? 2 : 1; /* unusable keys are configuration; the rest runtime */
            config_free(p->cfg);
            fatal(code, "%s", err);
        }
    }
}

void proc_close(struct proc *p)
{
    bus_free(p->bus);
    p->bus = NULL;
    config_free(p->cfg);
    p->cfg = NULL;
    if (p->sigfd >= 0) close(p->sigfd);
    p->sigfd = -1;
}

/* The file a SIGHUP reads: the target of RUN_DIR/config.snap, the supervisor's link to its current generation
 * (`config.GEN.snap`, read here: the snapshot itself is opened with O_NOFOLLOW): the storer, the alerter, the web and
 * the workers reload in place (docs/protocol.md "Reload in place"; a worker reads its shard of it). Without such a
 * link (run_dir recreated, or an older supervisor) a singleton reads the file it was started with; a worker (slots >
 * 0) gets NULL and the reason in err: the supervisor already counts it on the new generation, and its start file is
 * an older one, which a worker must not "reload" to (worker/reload.c stops it to be started again). */
static const char *reload_path(const struct proc *p, char *buf, size_t buflen, char *err, size_t errlen)
{
    const char *why = "no run_dir";
    char link[PATH_MAX], target[64];
    ssize_t n = -1;
    if (p->cfg && p->cfg->run_dir) {
        why = "the run_dir path is too long";
        if (snprintf(link, sizeof link, "%s/config.snap", p->cfg->run_dir) < (int)sizeof link) {
            n = readlink(link, target, sizeof target - 1);
            why = n < 0 ? strerror(errno) : "not a link to config.GEN.snap";
        }
    }
    if (n > 0) {
        target[n] = '\0';
        unsigned gen;
        int used = 0;
        if (sscanf(target, "config.%u.snap%n", &gen, &used) == 1 && used == (int)n &&
            snprintf(buf, buflen, "%s/%s", p->cfg->run_dir, target) < (int)buflen)
            return buf;
    }
    if (p->slots == 0) return p->snapshot_path;
    snprintf(err, errlen, "cannot read the current snapshot's link %s/config.snap: %s",
             p->cfg && p->cfg->run_dir ? p->cfg->run_dir : "(run_dir)", why);
    return NULL;
}

struct cw_config *proc_reload(struct proc *p, char *err, size_t errlen)
{
    char link[4200];
    const char *path = reload_path(p, link, sizeof link, err, errlen);
    if (!path) return NULL;
    struct cw_config *next = config_snapshot_read(path, p->slot, p->slots, err, errlen);
    if (!next) return NULL;
    struct cw_config *old = p->cfg;
    p->cfg = next;
    log_set_level((enum log_level)next->log_level);
    log_set_target((enum log_target)next->log_target);
    return old;
}

void proc_give_back(void) { (void)malloc_trim(0); }

/* ---- stats */

void proc_stats_begin(struct proc_stats *st, const char *role, uint32_t id, uint64_t boot_id)
{
    memset(st, 0, sizeof *st);
    st->s.role = role;
    st->s.id = id;
    st->s.boot_id = boot_id;
    st->s.at_us = cw_wall_us();
}

void proc_stats_add(struct proc_stats *st, const char *name, int64_t value)
{
    if (st->s.count >= CW_STATS_MAX) {
        st->overflow++;
        return;
    }
    st->s.items[st->s.count++] = (struct cw_stat){ name, value };
}

int proc_stats_encode(struct proc_stats *st, struct cw_buf *buf)
{
    static bool overflow_logged;
    if (st->overflow && !overflow_logged) {
        overflow_logged = true;
        log_warn("%u stats of %s do not fit in one message (at most %d): left out", st->overflow, st->s.role,
                 CW_STATS_MAX);
    }
    return proto_stats_encode(buf, &st->s);
}

/* ---- wake-ups */

int64_t proc_wake_ns(const struct proc_wake *w, int64_t now) { return w->at > now ? w->at - now : 0; }

int proc_wake_ms(const struct proc_wake *w, int64_t now)
{
    int64_t ns = proc_wake_ns(w, now);
    int64_t ms = (ns + 999999) / 1000000;
    return ms > 1000000000 ? 1000000000 : (int)ms;
}

void proc_period_start(struct proc_period *t, int64_t now, int64_t every)
{
    t->every = every;
    t->next = now + every;
}

bool proc_period_due(struct proc_period *t, int64_t now)
{
    if (now < t->next) return false;
    t->next += t->every;
    if (t->next <= now) t->next = now + t->every;
    return true;
}
