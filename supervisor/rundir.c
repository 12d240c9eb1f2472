/* supervisor/rundir.c — recreating a deleted run_dir and retaking the lock (see rundir.h). */
#include "supervisor/rundir.h"

#include "common/base/log.h"

#include "supervisor/pidfile.h"
#include "supervisor/privs.h"
#include "supervisor/readiness.h"
#include "supervisor/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

int rundir_keep(struct supervisor *s, int64_t now)
{
    /* the running generation's file, which a deleted run_dir is rewritten from: its open at settle time failed
     * (said then), so it is tried again here while the file is there, quietly */
    if (s->snap_fd < 0 && s->snapshot[0] && pidfile_intact(&s->pf)) s->snap_fd = open(s->snapshot, O_RDONLY | O_CLOEXEC);
    if (pidfile_intact(&s->pf)) return 0;
    const char *run_dir = s->cfg->run_dir;
    log_warn("run_dir %s or its lock file %s disappeared: recreating them, retaking the lock and restarting every "
             "child (their sockets and files lived there)",
             run_dir, s->pf.path);
    char err[600];
    struct pidfile fresh;
    if (pidfile_make_dir(run_dir, err, sizeof err) != 0 ||
        privs_prepare_run_dir(&s->ch.privs, run_dir, err, sizeof err) != 0) {
        log_error("%s: stopping", err);
        return -1;
    }
    if (pidfile_acquire(&fresh, run_dir, err, sizeof err) != 0) {
        log_error("%s: cannot retake the lock on run_dir: stopping (never two supervisors on one run_dir)", err);
        return -1;
    }
    close(s->pf.fd); /* the lock on the unlinked file protected nothing */
    s->pf = fresh;
    /* from the running generation's file, held open (the supervisor keeps no endpoint: issue 18) */
    if (snapshot_write_again(s->snap_fd, &s->ch.privs, s->snapshot) != 0 || snapshot_hold(&s->snap_fd, s->snapshot)) {
        log_error("cannot write the snapshot again into %s: stopping", run_dir);
        return -1;
    }
    if (readiness_open(&s->ready, run_dir, &s->ch.privs, err, sizeof err) != 0) {
        log_error("%s: stopping", err);
        return -1;
    }
    for (size_t i = 0; i < s->ch.n; i++)
        if (s->ch.v[i].respawn) children_restart(&s->ch, &s->ch.v[i], now);
    return 0;
}
