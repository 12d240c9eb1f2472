/* supervisor/pidfile.h — the supervisor's pid file and the lock that makes it the only supervisor of its
 * run_dir.
 *
 * DESIGN
 * The lock is a flock(2) on RUN_DIR/clockwerk.pid held for the supervisor's whole life: the kernel drops it
 * when the process dies, even by kill -9, so a stale pid file never blocks a restart. The pid written into
 * the file is for people (and `kill -HUP $(cat run/clockwerk.pid)`), not for the lock.
 * A lock on a file that was unlinked (run_dir deleted under a running supervisor) keeps nobody out:
 * pidfile_intact tells, and supervisor/rundir.c retakes it. */
#ifndef CW_SUPERVISOR_PIDFILE_H
#define CW_SUPERVISOR_PIDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pidfile {
    int fd; /* -1 when not held */
    char path[4096];
};

/* Creates run_dir (mode 0700, parents as needed) when missing. 0, or -1 with a reason in err. */
int pidfile_make_dir(const char *run_dir, char *err, size_t errlen);

/* Takes the lock on RUN_DIR/clockwerk.pid and writes our pid. Returns 0; -1 with a reason in err (when
 * another supervisor holds it, the reason names its pid). The descriptor is close-on-exec: children never
 * hold the lock. */
int pidfile_acquire(struct pidfile *pf, const char *run_dir, char *err, size_t errlen);

/* Whether the path still names the file we hold locked (false once run_dir or the file was deleted or
 * replaced: then the lock protects nothing any more). */
bool pidfile_intact(const struct pidfile *pf);

/* Drops the lock; removes the file only when it is still ours (pidfile_intact): a file at that path that
 * another supervisor created and locked stays. Safe on a pidfile that was never acquired. */
void pidfile_release(struct pidfile *pf);

#endif
