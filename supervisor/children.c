/* supervisor/children.c — the child table: fork+exec, reaping, restart policy (see children.h). */
#include "supervisor/children.h"
#include "supervisor/signals.h"

#include "common/base/log.h"
#include "common/base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const kind_names[CHILD_KINDS] = { "relay", "storer", "alerter", "worker", "web" };

const char *child_kind_name(enum child_kind kind) { return (kind >= 0 && kind < CHILD_KINDS) ? kind_names[kind] : "?"; }

void children_binary(const struct children *ch, enum child_kind kind, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/clockwerk-%s", ch->programs_dir, child_kind_name(kind));
}

/* Variables children never inherit: ours (set per child) and the passwords, which only config_load in the
 * supervisor reads — children get what they need from the snapshot (mode 0600), so a worker's environment
 * never holds the database or SMTP password. CLOCKWERK_SECRETS tells config_snapshot_read which passwords a
 * child keeps: the storer the database's, the alerter the SMTP one, the web its basic-auth one and the database's
 * (it reads the history), the relay and workers none. systemd's NOTIFY_SOCKET and WATCHDOG_* are the
 * supervisor's alone (NotifyAccess=main): a child tells the supervisor, never systemd (supervisor/notify.h). */
static bool is_our_env(const char *entry)
{
    static const char *const ours[] = {
        "CLOCKWERK_SNAPSHOT=",    "CLOCKWERK_SLOT=",          "CLOCKWERK_SLOTS=",    "CLOCKWERK_SECRETS=",
        "CLOCKWERK_DB_PASSWORD=", "CLOCKWERK_SMTP_PASSWORD=", "CLOCKWERK_ICMP_FDS=", "CLOCKWERK_READY_SOCKET=",
        "NOTIFY_SOCKET=",         "WATCHDOG_USEC=",           "WATCHDOG_PID="
    };
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strncmp(entry, ours[i], strlen(ours[i])) == 0) return true;
    return false;
}

int children_init(struct children *ch, const char *programs_dir, char *err, size_t errlen)
{
    memset(ch, 0, sizeof *ch);
    if (snprintf(ch->programs_dir, sizeof ch->programs_dir, "%s", programs_dir) >= (int)sizeof ch->programs_dir) {
        snprintf(err, errlen, "binary directory path too long");
        return -1;
    }
    size_t n = 0;
    for (char **e = environ; e && *e; e++) n++;
    /* 6 spare entries for our variables, 1 for the NULL. */
    ch->env_base = cw_xcalloc(n + 7, sizeof *ch->env_base);
    for (char **e = environ; e && *e; e++)
        if (!is_our_env(*e)) ch->env_base[ch->n_env_base++] = cw_xstrdup(*e);
    return 0;
}

void children_free(struct children *ch)
{
    if (ch->env_base) {
        for (size_t i = 0; i < ch->n_env_base; i++) free(ch->env_base[i]);
        free(ch->env_base);
    }
    free(ch->v);
    icmp_fds_free(&ch->icmp);
    memset(ch, 0, sizeof *ch);
}

/* "worker 0/4" (of the count the next start uses), "storer", ... */
static void set_name(struct child *c)
{
    if (c->kind == CHILD_WORKER) snprintf(c->name, sizeof c->name, "worker %u/%u", c->index, c->count);
    else snprintf(c->name, sizeof c->name, "%s", child_kind_name(c->kind));
}

struct child *children_add(struct children *ch, enum child_kind kind, unsigned index, unsigned count, int64_t now)
{
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 16;
        ch->v = cw_xrealloc(ch->v, ch->cap * sizeof *ch->v);
    }
    struct child *c = &ch->v[ch->n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->index = index;
    c->count = count;
    set_name(c);
    c->respawn = true;
    c->next_start_ns = now;
    c->backoff_ns = CHILD_BACKOFF_MIN_NS;
    c->started_ns = -1;
    c->down_since_ns = c->kill_seen_ns = -1;
    return c;
}

struct child *children_find(struct children *ch, enum child_kind kind, unsigned index)
{
    for (size_t i = 0; i < ch->n; i++) {
        struct child *c = &ch->v[i];
        if (c->kind == kind && c->index == index) return c;
    }
    return NULL;
}

struct child *children_want(struct children *ch, enum child_kind kind, unsigned index, unsigned count, int64_t now)
{
    struct child *c = children_find(ch, kind, index);
    if (!c) return children_add(ch, kind, index, count, now);
    c->count = count;
    children_restart(ch, c, now);
    return c;
}

size_t children_running(const struct children *ch, enum child_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->n; i++)
        if (ch->v[i].pid > 0 && (kind == CHILD_KINDS || ch->v[i].kind == kind)) n++;
    return n;
}

bool children_uses_gen(const struct children *ch, unsigned gen)
{
    for (size_t i = 0; i < ch->n; i++)
        if (ch->v[i].pid > 0 && ch->v[i].gen == gen) return true;
    return false;
}

int64_t children_backoff(int64_t *backoff_ns, int64_t ran_ns)
{
    if (ran_ns >= CHILD_HEALTHY_NS || *backoff_ns < CHILD_BACKOFF_MIN_NS) *backoff_ns = CHILD_BACKOFF_MIN_NS;
    if (*backoff_ns > CHILD_BACKOFF_MAX_NS) *backoff_ns = CHILD_BACKOFF_MAX_NS;
    int64_t delay = *backoff_ns;
    *backoff_ns = delay * 2 > CHILD_BACKOFF_MAX_NS ? CHILD_BACKOFF_MAX_NS : delay * 2;
    return delay;
}

/* Async-signal-safe decimal formatting for the child's error path. */
static size_t fmt_uint(char *out, unsigned long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof tmp);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* Writes "PREFIX: WHAT\n" to stderr (async-signal-safe). */
static void child_say(const char *prefix, const char *what)
{
    char line[4400];
    size_t n = strlen(prefix), m = strlen(what);
    if (n > sizeof line - 200) n = sizeof line - 200;
    if (m > 190) m = 190;
    memcpy(line, prefix, n);
    memcpy(line + n, ": ", 2);
    memcpy(line + n + 2, what, m);
    line[n + 2 + m] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n + m + 3);
    (void)w;
}

/* In the child, before exec: an ambient CAP_NET_RAW (the systemd unit gives the supervisor one for the raw ICMP
 * sockets) ends here, no child keeps it. The web alone keeps an ambient CAP_NET_BIND_SERVICE the operator gave
 * the service (a drop-in, for a port < 1024: docs/operations.md section 15): clearing it would defeat the drop-in.
 * EINVAL: a kernel without ambient capabilities, nothing to clear. Async-signal-safe (prctl only). */
static void child_ambient_caps(bool web)
{
    bool bind_service = web && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) == 1;
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (bind_service) (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0);
}

/* In the child, between fork and exec: only async-signal-safe calls. Never returns. */
static _Noreturn void exec_child(const char *path, char *const argv[], char *const envp[], pid_t parent,
                                 const char *fail_prefix, const char *name_prefix, const struct privs *privs,
                                 bool icmp_raw, bool web)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(1);
    /* The supervisor may have died before prctl took effect: then nobody would kill us. */
    if (getppid() != parent) _exit(1);
    /* raw ICMP sockets for the worker's icmp checks, opened while we still may (supervisor/icmp_fds.h) */
    unsigned first_closed = icmp_raw ? (unsigned)icmp_fds_child_open() : 3;
    child_ambient_caps(web);
    if (privs->active) {
        /* supervisor.user: a failed switch is a fatal configuration problem (exit 2, not restarted). */
        const char *why = privs_drop(privs);
        if (why) {
            child_say(name_prefix, why);
            _exit(2);
        }
        /* Changing credentials cleared the death signal: set it again, and check the supervisor is still
         * there (it may have died between the switch and now). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(1);
        if (getppid() != parent) _exit(1);
    }
    sig_reset_for_child();
    /* Descriptors the supervisor opened without close-on-exec must not leak into children. */
    if (close_range(first_closed, ~0U, 0) != 0) { /* pre-5.9 kernel: the supervisor opens everything O_CLOEXEC */
    }
    execve(path, argv, envp);
    int e = errno;
    char line[4200];
    size_t n = strlen(fail_prefix);
    if (n > sizeof line - 40) n = sizeof line - 40;
    memcpy(line, fail_prefix, n);
    memcpy(line + n, " (errno ", 8);
    n += 8;
    n += fmt_uint(line + n, (unsigned long)e);
    memcpy(line + n, ")\n", 2);
    n += 2;
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    _exit(127);
}

static void spawn(struct children *ch, struct child *c, const char *snapshot, unsigned gen, int64_t now)
{
    char path[4200], title[64], prefix[4400];
    char env_snap[4200], env_slot[48], env_slots[48], env_secrets[48], name_prefix[160];
    set_name(c);
    children_binary(ch, c->kind, path, sizeof path);
    snprintf(title, sizeof title, "clockwerk: %s", c->name);
    snprintf(prefix, sizeof prefix, "clockwerk: %s: cannot exec %s", c->name, path);
    snprintf(env_snap, sizeof env_snap, "CLOCKWERK_SNAPSHOT=%s", snapshot);
    snprintf(env_slot, sizeof env_slot, "CLOCKWERK_SLOT=%u", c->index);
    snprintf(env_slots, sizeof env_slots, "CLOCKWERK_SLOTS=%u", c->count);
    snprintf(env_secrets, sizeof env_secrets, "CLOCKWERK_SECRETS=%s",
             c->kind == CHILD_STORER    ? "db"
             : c->kind == CHILD_ALERTER ? "smtp"
             : c->kind == CHILD_WEB     ? "web,db"
                                        : "none");
    snprintf(name_prefix, sizeof name_prefix, "clockwerk: %s: supervisor.user \"%s\"", c->name, ch->privs.name);

    size_t k = ch->n_env_base;
    ch->env_base[k++] = env_snap;
    ch->env_base[k++] = env_slot;
    if (c->kind == CHILD_WORKER) ch->env_base[k++] = env_slots;
    bool icmp_raw = c->kind == CHILD_WORKER && icmp_fds_wanted(&ch->icmp, c->index, c->count);
    if (icmp_raw) ch->env_base[k++] = ICMP_FDS_ENV_VALUE;
    ch->env_base[k++] = env_secrets;
    if (ch->ready_env) ch->env_base[k++] = (char *)ch->ready_env;
    ch->env_base[k] = NULL;
    char *argv[] = { title, NULL };

    pid_t parent = getpid();
    bool first = c->started_ns < 0 || c->planned;
    pid_t pid = fork();
    if (pid == 0)
        exec_child(path, argv, ch->env_base, parent, prefix, name_prefix, &ch->privs, icmp_raw, c->kind == CHILD_WEB);
    ch->env_base[ch->n_env_base] = NULL; /* the table never keeps pointers to our stack */

    if (pid < 0) {
        int e = errno;
        int64_t delay = children_backoff(&c->backoff_ns, 0);
        c->next_start_ns = now + delay;
        log_error("cannot fork %s: %s; retrying in %.0f s", c->name, strerror(e), (double)delay / 1e9);
        return;
    }
    c->pid = pid;
    c->gen = gen;
    c->run_count = c->count;
    c->started_ns = now;
    c->stopping = false;
    c->restart_now = false;
    c->planned = false;
    c->term_sent_ns = 0;
    c->killed = false;
    c->ready = false;
    c->kill_seen_ns = -1;
    if (!first) {
        c->restarts++;
        ch->restarts[c->kind]++;
    }
    log_info("started %s (pid %d)%s", c->name, (int)pid, first ? "" : " again");
}

/* Whether a worker process started with a count other than `count` is alive: its shards overlap those of
 * a worker of `count`. */
static bool other_count_running(const struct children *ch, unsigned count)
{
    for (size_t i = 0; i < ch->n; i++) {
        const struct child *c = &ch->v[i];
        if (c->kind == CHILD_WORKER && c->pid > 0 && c->run_count != count) return true;
    }
    return false;
}

int64_t children_start_due(struct children *ch, const char *snapshot, unsigned gen, int64_t now)
{
    int64_t next = INT64_MAX;
    for (int kind = 0; kind < CHILD_KINDS; kind++) {
        for (size_t i = 0; i < ch->n; i++) {
            struct child *c = &ch->v[i];
            if ((int)c->kind != kind || c->pid > 0 || !c->respawn || c->fatal) continue;
            /* Started when the workers of the old count are gone (their reaping wakes us). */
            if (kind == CHILD_WORKER && other_count_running(ch, c->count)) continue;
            if (c->next_start_ns > now) {
                if (c->next_start_ns < next) next = c->next_start_ns;
                continue;
            }
            spawn(ch, c, snapshot, gen, now);
            if (c->pid <= 0 && c->next_start_ns < next) next = c->next_start_ns;
        }
    }
    return next;
}

static void send_term(struct child *c, int64_t now)
{
    if (c->pid <= 0 || c->stopping) return;
    if (kill(c->pid, SIGTERM) != 0 && errno != ESRCH)
        log_warn("cannot signal %s (pid %d): %s", c->name, (int)c->pid, strerror(errno));
    c->stopping = true;
    c->term_sent_ns = now;
}

void children_retire(struct children *ch, struct child *c, int64_t now)
{
    (void)ch;
    c->respawn = false;
    c->restart_now = false;
    send_term(c, now);
}

void children_restart(struct children *ch, struct child *c, int64_t now)
{
    (void)ch;
    c->respawn = true; /* also a slot being retired: it is wanted again */
    if (c->pid <= 0) {
        /* Not running (backing off, or fatal): the new config gets a fresh try, the 1 s floor still holds. */
        int64_t floor = c->started_ns >= 0 ? c->started_ns + CHILD_BACKOFF_MIN_NS : now;
        c->next_start_ns = floor > now ? floor : now;
        return;
    }
    /* Running or already stopping: it starts again once it has exited, with the snapshot current then. A
     * process already asked to stop is not asked again, so its SIGKILL deadline stays the first one. */
    c->restart_now = true;
    send_term(c, now);
}

bool children_reload_in_place(struct children *ch, struct child *c, unsigned gen)
{
    (void)ch;
    if (c->pid <= 0 || c->stopping || !c->respawn || !c->ready) return false;
    if (kill(c->pid, SIGHUP) != 0) {
        log_warn("cannot signal %s (pid %d) to reload: %s; restarting it", c->name, (int)c->pid, strerror(errno));
        return false;
    }
    c->gen = gen; /* its file must stay until it is done with it (snapshot_gc) */
    return true;
}

void children_stop_kind(struct children *ch, enum child_kind kind, int64_t now)
{
    for (size_t i = 0; i < ch->n; i++) {
        struct child *c = &ch->v[i];
        if (kind != CHILD_KINDS && c->kind != kind) continue;
        c->respawn = false;
        c->restart_now = false;
        send_term(c, now);
    }
}

size_t children_kill_kind(struct children *ch, enum child_kind kind, bool only_stopping)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->n; i++) {
        struct child *c = &ch->v[i];
        if (c->pid <= 0 || c->killed || (kind != CHILD_KINDS && c->kind != kind)) continue;
        if (only_stopping && !c->stopping) continue;
        if (c->stopping) log_warn("%s (pid %d) did not stop in time: SIGKILL", c->name, (int)c->pid);
        else log_warn("%s (pid %d): no time left to stop it in order: SIGKILL", c->name, (int)c->pid);
        c->killed = true;
        if (kill(c->pid, SIGKILL) != 0 && errno != ESRCH)
            log_warn("cannot kill %s (pid %d): %s", c->name, (int)c->pid, strerror(errno));
        c->respawn = false;
        c->restart_now = false;
        n++;
    }
    return n;
}

int64_t children_enforce_stop(struct children *ch, int64_t now, int64_t stop_ns)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < ch->n; i++) {
        struct child *c = &ch->v[i];
        if (c->pid <= 0 || !c->stopping || c->killed) continue;
        int64_t due = c->term_sent_ns + stop_ns;
        if (due > now) {
            if (due < next) next = due;
            continue;
        }
        log_warn("%s (pid %d) did not stop within %.0f s of SIGTERM: SIGKILL", c->name, (int)c->pid,
                 (double)stop_ns / 1e9);
        if (kill(c->pid, SIGKILL) != 0 && errno != ESRCH)
            log_warn("cannot kill %s (pid %d): %s", c->name, (int)c->pid, strerror(errno));
        c->killed = true;
    }
    return next;
}

void children_clear_fatal(struct children *ch, int64_t now)
{
    for (size_t i = 0; i < ch->n; i++) {
        struct child *c = &ch->v[i];
        if (!c->fatal) continue;
        c->fatal = false;
        int64_t floor = c->started_ns >= 0 ? c->started_ns + CHILD_BACKOFF_MIN_NS : now;
        c->next_start_ns = floor > now ? floor : now;
    }
}

static void describe_status(int status, char *out, size_t outlen)
{
    if (WIFEXITED(status)) {
        snprintf(out, outlen, "exited with code %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(out, outlen, "killed by signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(out, outlen, "ended with status 0x%x", (unsigned)status);
    }
}

static void reaped(struct children *ch, struct child *c, int status, int64_t now)
{
    char why[96];
    describe_status(status, why, sizeof why);
    int64_t ran = now - c->started_ns;
    pid_t pid = c->pid;
    c->pid = 0;

    if (c->stopping) {
        /* We asked for it (reload or shutdown). A clean exit is the expected answer. */
        bool clean =
            (WIFEXITED(status) && WEXITSTATUS(status) == 0) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        if (clean) log_info("%s (pid %d) stopped (%s)", c->name, (int)pid, why);
        else log_warn("%s (pid %d) %s while stopping", c->name, (int)pid, why);
        c->stopping = false;
        if (c->restart_now && c->respawn) {
            /* Asked restart: no backoff and not counted as a crash or restart, but still never two starts
             * of one slot within a second (two quick reloads). */
            c->restart_now = false;
            c->planned = true;
            c->next_start_ns = c->started_ns + CHILD_BACKOFF_MIN_NS > now ? c->started_ns + CHILD_BACKOFF_MIN_NS : now;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && c->respawn) {
            c->fatal = true;
            ch->fatal_exits++;
            log_error("%s (pid %d) reports a fatal configuration problem (exit 2): not restarted until a "
                      "reload (SIGHUP) brings a fixed configuration",
                      c->name, (int)pid);
        }
        return;
    }

    if (!c->respawn) {
        /* Not asked by us, but not wanted any more either (a stop is under way: a signal sent to the whole
         * process group, such as `timeout` sends, reaches children directly). */
        log_info("%s (pid %d) %s while we are stopping", c->name, (int)pid, why);
        return;
    }
    ch->crashes++;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
        c->fatal = true;
        ch->fatal_exits++;
        log_error("%s (pid %d) %s: fatal configuration problem, NOT restarted (fix the configuration and send "
                  "SIGHUP); the other processes keep running",
                  c->name, (int)pid, why);
        return;
    }
    int64_t delay = children_backoff(&c->backoff_ns, ran);
    c->next_start_ns = now + delay;
    log_warn("%s (pid %d) %s after %.1f s; restarting in %.0f s", c->name, (int)pid, why, (double)ran / 1e9,
             (double)delay / 1e9);
}

size_t children_reap(struct children *ch, int64_t now)
{
    size_t reaped_n = 0;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0) break;
        if (pid < 0) {
            if (errno == EINTR) continue;
            if (errno != ECHILD) log_warn("waitpid: %s", strerror(errno));
            break;
        }
        struct child *c = NULL;
        for (size_t i = 0; i < ch->n; i++)
            if (ch->v[i].pid == pid) {
                c = &ch->v[i];
                break;
            }
        if (!c) { /* an orphan re-parented to us (the supervisor is PID 1 in a container): reaped, nothing more */
            log_debug("reaped pid %d, which is none of our children's (an orphan re-parented to us?)", (int)pid);
            continue;
        }
        reaped(ch, c, status, now);
        reaped_n++;
    }
    /* Drop slots that are gone for good, keeping the table's order. */
    size_t w = 0;
    for (size_t r = 0; r < ch->n; r++) {
        struct child *c = &ch->v[r];
        if (c->pid <= 0 && !c->respawn) continue;
        if (w != r) ch->v[w] = *c;
        w++;
    }
    ch->n = w;
    return reaped_n;
}
