/* supervisor/readiness.h — the supervisor's end of the children's readiness messages (common/proc/ready.h,
 * docs/protocol.md section 11): a Unix datagram socket in run_dir on which each child says once that it is up.
 *
 * DESIGN
 * run_dir/ready.sock, bound at start (and again when run_dir is recreated, supervisor/rundir.h), mode 0600 and
 * given to the children's user; its path reaches the children as CLOCKWERK_READY_SOCKET (children.h ready_env).
 * SO_PASSCRED makes the kernel attach the sender's pid to every datagram: a message is taken only from a pid of
 * the child table whose role and slot it names, and marks that process ready (struct child.ready, cleared at
 * every start). Everything else — another process, a malformed or foreign message, a datagram without
 * credentials — is dropped, counted and logged at most RATELIMIT_LINES times per window. The loop drains the
 * socket on every turn (it is non-blocking and in the loop's poll set). */
#ifndef CW_SUPERVISOR_READINESS_H
#define CW_SUPERVISOR_READINESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/base/ratelimit.h"
#include "common/proc/ready.h"
#include "supervisor/children.h"

#define READINESS_SOCKET "ready.sock"

struct readiness {
    int fd;                                /* -1: closed */
    char env[sizeof PROC_READY_ENV + 110]; /* "CLOCKWERK_READY_SOCKET=PATH" (a Unix socket's path fits 107 bytes) */
    const char *path;                      /* into env */
    unsigned long taken, dropped;          /* messages that marked a child ready; messages refused */
    struct ratelimit rl;
};

/* A closed one (fd -1): readiness_close is then harmless. */
void readiness_init(struct readiness *r);
/* (Re)binds run_dir/ready.sock (a stale file is replaced), gives it to the children's user. 0, or -1 with a
 * reason in err. */
int readiness_open(struct readiness *r, const char *run_dir, const struct privs *p, char *err, size_t errlen);
/* Closes the socket and removes its file. */
void readiness_close(struct readiness *r);

/* Reads every waiting message and marks the children that sent them ready (logged: "storer (pid 12) is ready
 * after 0.3 s"). */
void readiness_drain(struct readiness *r, struct children *ch, int64_t now);

#endif
