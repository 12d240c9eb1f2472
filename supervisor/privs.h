/* supervisor/privs.h — least privilege: the user (and group) the children run as (supervisor.user).
 *
 * DESIGN
 * The supervisor resolves supervisor.user ("user" or "user:group") once, in the parent, into numbers and a
 * supplementary group list (getpwnam_r, getgrnam_r, getgrouplist are not async-signal-safe, so nothing is
 * looked up between fork and exec). The child then only calls setgroups, setgid, setuid (privs_drop, async-
 * signal-safe), checks each, and checks that root cannot be regained. The supervisor keeps root for what it
 * needs: spawning and restarting children, writing snapshots, chowning run_dir and what it creates for them.
 *
 * Without root, supervisor.user may only name the current user (then nothing changes); any other user is an
 * error that says so. */
#ifndef CW_SUPERVISOR_PRIVS_H
#define CW_SUPERVISOR_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cw_config;

#define PRIVS_MAX_GROUPS 64

struct privs {
    bool active; /* false: children keep our credentials */
    uid_t uid;
    gid_t gid;
    gid_t groups[PRIVS_MAX_GROUPS]; /* supplementary groups (initgroups' list, computed in the parent) */
    int n_groups;
    char name[64]; /* "user" or "user:group", for messages */
};

/* Resolves spec (NULL: no change) for a process whose real user is `self` (getuid()). 0, or -1 with a
 * one-line reason in err (unknown user or group, not root). */
int privs_resolve(const char *spec, uid_t self, struct privs *p, char *err, size_t errlen);

/* Gives path to the children's user (lchown; no-op when not active). 0, or -1 with a reason. */
int privs_chown(const struct privs *p, const char *path, char *err, size_t errlen);

/* run_dir (made by the supervisor) and every entry directly in it except the pid file go to the user, so
 * that children can create their sockets, spools and state files there and read the snapshots. */
int privs_prepare_run_dir(const struct privs *p, const char *run_dir, char *err, size_t errlen);

/* SQLite: the database's directory must be writable by the user. A missing directory is created (0750) and
 * given to the user; an existing database file and its -wal/-shm/-journal files that root created are given
 * to the user; an existing directory the user cannot write is an error saying how to fix it. */
int privs_prepare_sqlite(const struct privs *p, const struct cw_config *cfg, char *err, size_t errlen);

/* Whether the children's user can read path (owner, group or other read bit, by the numbers: the supervisor
 * may be root, for whom access(2) says yes to everything). 0 when it can or when not active, else -1 with a
 * reason that says how to fix it (`what` names the setting). */
int privs_check_readable(const struct privs *p, const char *path, const char *what, char *err, size_t errlen);

/* In the child, between fork and exec (async-signal-safe): setgroups, setgid, setuid, each checked, then
 * checks that the switch holds and root is not regained. Returns NULL, or a static message naming the step
 * that failed (the caller writes it and exits 2). */
const char *privs_drop(const struct privs *p);

#endif
