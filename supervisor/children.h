/* supervisor/children.h — the supervisor's table of child slots: who should run, fork+exec, reaping, and the
 * restart policy.
 *
 * DESIGN
 * A slot is one role (relay, storer, alerter, worker i/n) and carries its policy as flags, as nginx's
 * process table does: `respawn` (keep it running), `stopping` (we sent SIGTERM), `restart_now` (stopped
 * for a reload: start it again at once, with the new snapshot), `fatal` (it exited 2: fatal configuration,
 * not restarted until the next reload). A slot whose process is gone and that is not to respawn is removed.
 *
 * Restarts back off per slot (children_backoff): the next start is at least `backoff` after the exit;
 * backoff starts at 1 s, doubles up to 30 s for a child that keeps dying, and falls back to 1 s once a run
 * lasted 60 s. A crash-looping slot never delays or disturbs another slot.
 *
 * One slot per kind and index, always: a reload never adds a second slot beside one whose process is still
 * stopping, it changes what that slot does next (children_want). So one process runs per role and worker
 * slot at every moment: a replacement starts only once its predecessor has been reaped, and any number of
 * reloads while it stops give one replacement, started with the snapshot current at that time.
 *
 * Start order is the kind order: relay, storer, alerter, then workers (consumers before producers), then the
 * web (a reader of the bus: nothing waits for it). A
 * worker's endpoints depend on the worker count (the shard is the URL's hash modulo the count), so a worker
 * does not start while a worker process started with another count is alive: two generations of a shard
 * never probe at once.
 *
 * Memory: the table owns its slots and the environment it builds; children_free releases them. */
#ifndef CW_SUPERVISOR_CHILDREN_H
#define CW_SUPERVISOR_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor/icmp_fds.h"
#include "supervisor/privs.h"

enum child_kind {
    CHILD_RELAY = 0,
    CHILD_STORER = 1,
    CHILD_ALERTER = 2,
    CHILD_WORKER = 3,
    CHILD_WEB = 4,
    CHILD_KINDS = 5
};

#define CHILD_BACKOFF_MIN_NS (1000000000LL)  /* 1 s */
#define CHILD_BACKOFF_MAX_NS (30000000000LL) /* 30 s */
#define CHILD_HEALTHY_NS (60000000000LL)     /* a run this long resets the backoff */

struct child {
    enum child_kind kind;
    unsigned index, count; /* workers: slot index of count (for the next start); 0, 0 otherwise */
    unsigned run_count;    /* workers: the count the running process was started with */
    char name[32];         /* "worker 0/4", "storer", ... (for logs; set at each start) */
    pid_t pid;             /* 0: not running */
    unsigned gen;          /* snapshot generation the running process was started with */
    bool respawn;
    bool stopping;
    bool restart_now;
    bool fatal;
    bool killed;           /* SIGKILL sent after a stop timed out */
    bool planned;          /* the next start follows a stop we asked for (reload): not a restart */
    int64_t started_ns;    /* monotonic time of the last start */
    int64_t next_start_ns; /* earliest next start */
    int64_t backoff_ns;    /* current restart delay */
    int64_t term_sent_ns;
    unsigned restarts; /* starts after the first one */
    bool ready;        /* the running process said it is up (supervisor/readiness.h); false from each start */
    /* kept by health_observe (supervisor/health.h): since when the slot is wanted and not up, and since when a
     * process sent SIGKILL is still there (-1: not so) */
    int64_t down_since_ns, kill_seen_ns;
};

struct children {
    struct child *v;
    size_t n, cap;
    char programs_dir[4096];
    char **env_base;      /* our environment minus CLOCKWERK_SNAPSHOT/SLOT/SLOTS/SECRETS and the passwords */
    struct privs privs;   /* the user children run as (supervisor.user); inactive: ours */
    struct icmp_fds icmp; /* which workers get raw ICMP sockets (icmp_fds_plan at start and reload) */
    size_t n_env_base;
    const char *ready_env; /* "CLOCKWERK_READY_SOCKET=PATH" given to every child (supervisor/readiness.h), or NULL */
    unsigned long restarts[CHILD_KINDS]; /* restarts per kind, kept when slots go away */
    unsigned long fatal_exits;
    unsigned long crashes; /* unexpected exits (not asked by us) */
};

const char *child_kind_name(enum child_kind kind); /* "relay", "storer", "alerter", "worker", "web" */

/* Path of the binary for kind: PROGRAMS_DIR/clockwerk-KIND. */
void children_binary(const struct children *ch, enum child_kind kind, char *out, size_t outlen);

/* programs_dir: the directory of the programs to start (self_programs_dir). 0, or -1 with a reason in err. */
int children_init(struct children *ch, const char *programs_dir, char *err, size_t errlen);
void children_free(struct children *ch);

/* Adds a slot that wants to run, startable at once. Returns it (valid until the table changes). The caller
 * makes sure the table has no slot of that kind and index yet (children_want does). */
struct child *children_add(struct children *ch, enum child_kind kind, unsigned index, unsigned count, int64_t now);
/* The slot of a kind and index in any state (running, stopping, backing off, retiring), or NULL. */
struct child *children_find(struct children *ch, enum child_kind kind, unsigned index);
/* A reload wants kind/index (with `count` workers) to run the current snapshot: adds the slot when there
 * is none, else restarts it (children_restart) with `count` for its next start. Returns the slot. */
struct child *children_want(struct children *ch, enum child_kind kind, unsigned index, unsigned count, int64_t now);

/* Number of slots of kind with a running process (kind CHILD_KINDS: every kind). */
size_t children_running(const struct children *ch, enum child_kind kind);

/* One line per child still in the table with a pid: its name, pid and each of its threads with the kernel's state
 * of it (and where a sleeping thread waits), or "no such process" — what the stop could not reap, and why
 * (supervisor/unreaped.c). */
void children_log_unreaped(const struct children *ch);

/* Starts every slot that is due, in kind order; snapshot is the current snapshot's path and gen its
 * generation. Returns the monotonic time of the next pending start, or INT64_MAX when none. */
int64_t children_start_due(struct children *ch, const char *snapshot, unsigned gen, int64_t now);

/* Asks a slot's process to stop (SIGTERM) for good: it is removed once it has exited. */
void children_retire(struct children *ch, struct child *c, int64_t now);
/* Asks a slot's process to stop so that it starts again at once — once it has exited, not within 1 s of
 * its last start — with the snapshot current then. A slot already stopping (for a restart or to be retired)
 * is not signalled again: it restarts when it has exited. A slot without a process gets a fresh try. */
void children_restart(struct children *ch, struct child *c, int64_t now);
/* A reload whose changes the slot's process can take without a restart (the storer, the alerter, the web: only the
 * endpoints changed, supervisor/reload.h): SIGHUP, after which it reads RUN_DIR/config.snap (snapshot_link), and its
 * generation becomes gen. Only a process that said it is ready (its SIGHUP is then a reload, never the default
 * action) and is not stopping: false otherwise, or when the signal cannot be sent — the caller restarts it. */
bool children_reload_in_place(struct children *ch, struct child *c, unsigned gen);
/* SIGTERM to every running process of kind (CHILD_KINDS: all) that was not yet asked, respawn off. */
void children_stop_kind(struct children *ch, enum child_kind kind, int64_t now);
/* SIGKILL to every running process of kind (CHILD_KINDS: all); with only_stopping, only to those already
 * sent SIGTERM. Returns how many were signalled. */
size_t children_kill_kind(struct children *ch, enum child_kind kind, bool only_stopping);

/* While running: a process asked to stop (reload) that is still alive stop_ns after the SIGTERM gets
 * SIGKILL, so a hung child cannot hold up a reload. Returns the next such deadline, or INT64_MAX. */
int64_t children_enforce_stop(struct children *ch, int64_t now, int64_t stop_ns);

/* Reaps every exited child (waitpid WNOHANG loop), logs why each one ended and applies the policy. Returns how
 * many were reaped. Cheap when none has exited (one waitpid), so the supervisor calls it on every turn of its
 * loop, not only after a SIGCHLD: a child is reaped even if its SIGCHLD never reaches the handler. */
size_t children_reap(struct children *ch, int64_t now);

/* Clears the fatal mark of every slot (after a reload, a fixed configuration may start them again). */
void children_clear_fatal(struct children *ch, int64_t now);

/* The restart policy, pure: returns the delay before restarting a process that ran for ran_ns, and
 * advances *backoff_ns (the slot's state, CHILD_BACKOFF_MIN_NS for a new slot) for the next time:
 * delays go 1, 2, 4, 8, 16, 30, 30 ... s, and back to 1 s after a run of CHILD_HEALTHY_NS. */
int64_t children_backoff(int64_t *backoff_ns, int64_t ran_ns);

/* Whether a running process was started with snapshot generation gen (its file must stay). */
bool children_uses_gen(const struct children *ch, unsigned gen);

#endif
