/* common/proc/proc.h — the one skeleton of a Clockwerk child process (worker, storer, alerter, relay; later
 * web and probe hosts), in the spirit of OpenBSD relayd's proc_run: every child's main.c reads
 *     proc_init -> its own init -> proc_ready -> run() (loop: wait, proc_signals, dispatch) -> its own teardown
 *     -> proc_close
 * and nothing about snapshots, log roles, signals, boot ids, stats messages or wake-up arithmetic is
 * written twice.
 *
 * What proc_init does, in order: names the log role; reads CLOCKWERK_SNAPSHOT (and, for a sharded child,
 * CLOCKWERK_SLOT/CLOCKWERK_SLOTS with its shard of the endpoints); sets the log level; turns SIGTERM and
 * SIGHUP into events on one signalfd (blocked, read by proc_signals) and ignores SIGINT (the supervisor
 * orders shutdowns: Ctrl-C reaches the whole process group) and SIGPIPE; makes the boot id; opens the bus
 * with the configuration's CURVE keys when asked. Anything that fails there ends the process with one line:
 * exit 2 when the snapshot or the keys are unusable (configuration: the supervisor does not restart),
 * exit 1 otherwise.
 *
 * The signalfd is an ordinary descriptor: a loop waits on it with everything else (epoll, curl_multi_poll's
 * extra fds, bus_wait) and calls proc_signals when it is readable, or simply once a pass — it never blocks.
 * Command-line tools (the tap) that are not started by the supervisor use proc_signals_open alone. */
#ifndef CW_PROC_H
#define CW_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/wire/protocol.h"

struct bus;
struct bus_socket;
struct cw_config;

struct proc_opts {
    const char *name; /* "worker", "storer", "alerter", "relay": the log role and the messages */
    bool sharded;     /* a worker: CLOCKWERK_SLOT/CLOCKWERK_SLOTS, and only its shard of the endpoints */
    bool open_bus;    /* create the bus (bus_new_for: CURVE keys from the configuration) */
    bool no_endpoints; /* the settings alone (config_snapshot_read_settings): a process that reads no endpoint
                        * (the relay) costs nothing per endpoint. Such a process never calls proc_reload. */
};

struct proc {
    const char *name;
    char role[64];             /* "storer", "worker 1/4": what log lines are prefixed with */
    const char *snapshot_path; /* from the environment; stays valid */
    struct cw_config *cfg;     /* owned; replaced by proc_reload */
    unsigned slot, slots;      /* sharded children only; 0/0 otherwise */
    bool no_endpoints;         /* opts.no_endpoints: cfg (and a reload's) has n_endpoints 0 */
    uint64_t boot_id;          /* never 0 */
    struct bus *bus;           /* NULL unless opts.open_bus */
    int sigfd;                 /* readable when a signal is pending */
};

/* Reads the configuration snapshot at path (CLOCKWERK_SNAPSHOT; for a sharded child only its shard of the
 * endpoints, slots 0: all) and sets the log level from it. Exits 2 with one line naming `name` when path is
 * unset or empty, or when the snapshot cannot be read. proc_init uses it; so does `--test-alert`, which is
 * not on the skeleton. */
struct cw_config *proc_read_snapshot(const char *path, const char *name, unsigned slot, unsigned slots);

/* Allocations at least this large are mmap'd in every child but the workers (proc_init, issue 18). */
#define PROC_MMAP_THRESHOLD (256 * 1024)

/* Sets everything up (see above); never returns on failure. */
void proc_init(struct proc *p, const struct proc_opts *opts);
/* Frees the bus, the configuration and the signalfd. */
void proc_close(struct proc *p);
/* Tells the supervisor, once, that this child is up: its sockets bound or connected, its database open, its
 * port listening (common/proc/ready.h). Nothing when no supervisor listens; a failure is a warning. It waits
 * while the supervisor's queue is full (many children start at once), 1 s a try, 5 tries at most. */
void proc_ready(const struct proc *p);

/* Gives the heap's free pages back to the system (malloc_trim): after start-up (proc_ready does it) and after a
 * large transient structure was freed (a reload). A few ms at 500,000 endpoints. */
void proc_give_back(void);

/* ---- signals as events */
enum { PROC_SIG_TERM = 1u << 0, PROC_SIG_HUP = 1u << 1, PROC_SIG_INT = 1u << 2 };
/* Blocks SIGTERM and SIGHUP (and SIGINT when interrupt_too: a command-line tool stops on Ctrl-C; a child
 * ignores it), ignores SIGPIPE (and SIGINT for a child), and returns a non-blocking signalfd for them. */
int proc_signals_open(bool interrupt_too);
/* Reads every pending signal from the signalfd without blocking: the PROC_SIG_* bits of what came. */
unsigned proc_signals(int sigfd);

/* Reads the snapshot again (SIGHUP from the supervisor): RUN_DIR/config.snap (the supervisor's current generation;
 * a sharded child, a worker, its shard of it) when that link exists, else, for a child that is not sharded, the
 * file it was started with (a sharded one gets NULL: that file is an older generation than the one the supervisor
 * counts it on). On success the new configuration replaces p->cfg, whose old value is returned for the caller to
 * compare and then config_free; the log level follows. NULL, with p->cfg unchanged and the reason in err, when the
 * snapshot cannot be read. */
struct cw_config *proc_reload(struct proc *p, char *err, size_t errlen);

/* An unsigned number from the environment, in 0..max: dflt when unset or empty (or, when required,
 * exit 2 naming the variable), exit 2 when it is not a number in range. */
unsigned proc_env_uint(const char *name, unsigned max, bool required, unsigned dflt);
/* The same for 64-bit quantities with a floor (byte bounds). */
uint64_t proc_env_u64(const char *name, uint64_t min, uint64_t dflt);

/* ---- the stats message a process publishes once a period (workers, storer, alerter; the tap builds its own
 * for printing) (docs/protocol.md "stats"):
 * at most CW_STATS_MAX pairs; what does not fit is counted in `overflow` and never written past the end. */
struct proc_stats {
    struct cw_stats s;
    unsigned overflow;
};
/* role: "worker", "storer", ...; id: the worker's slot, else 0. at_us is taken now. */
void proc_stats_begin(struct proc_stats *st, const char *role, uint32_t id, uint64_t boot_id);
void proc_stats_add(struct proc_stats *st, const char *name, int64_t value);
/* Encodes into buf: 0, or -1 (logged by the caller) when an item cannot be encoded. An overflow is logged
 * once per process as a warning (a programming error: raise CW_STATS_MAX). */
int proc_stats_encode(struct proc_stats *st, struct cw_buf *buf);

/* ---- the loop's next wake-up (monotonic nanoseconds, cw_mono_ns)
 * Every loop offers its deadlines and waits until the earliest:
 *     struct proc_wake w; proc_wake_init(&w, now + MAX_SLEEP);
 *     proc_wake_at(&w, next_stats); if (batch_open) proc_wake_at(&w, batch_deadline); ...
 *     wait(proc_wake_ms(&w, now));                                                     */
struct proc_wake {
    int64_t at;
};
static inline void proc_wake_init(struct proc_wake *w, int64_t latest) { w->at = latest; }
static inline void proc_wake_at(struct proc_wake *w, int64_t at)
{
    if (at < w->at) w->at = at;
}
/* Milliseconds to wait from now, rounded up (waking early would only spin); 0 when due. */
int proc_wake_ms(const struct proc_wake *w, int64_t now);
/* Nanoseconds to wait from now; 0 when due. */
int64_t proc_wake_ns(const struct proc_wake *w, int64_t now);

/* A periodic deadline without drift (stats once a second): due when now reaches `next`, which then moves
 * one period on — or, after a stall longer than a period, one period past now. */
struct proc_period {
    int64_t next, every;
};
void proc_period_start(struct proc_period *t, int64_t now, int64_t every);
bool proc_period_due(struct proc_period *t, int64_t now);

#endif
