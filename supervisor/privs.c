/* supervisor/privs.c — resolving supervisor.user, handing run_dir and the SQLite directory to it, and the
 * credential switch in the child (see privs.h). */
#include "supervisor/privs.h"

#include "common/config/config.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int privs_resolve(const char *spec, uid_t self, struct privs *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!spec) return 0;
    if (snprintf(p->name, sizeof p->name, "%s", spec) >= (int)sizeof p->name) {
        snprintf(err, errlen, "supervisor.user: '%.40s...' is too long", spec);
        return -1;
    }
    char user[64];
    snprintf(user, sizeof user, "%s", spec);
    char *group = strchr(user, ':');
    if (group) *group++ = '\0';

    char buf[16384];
    struct passwd pw, *pwr = NULL;
    int e = getpwnam_r(user, &pw, buf, sizeof buf, &pwr);
    if (e != 0 || !pwr) {
        snprintf(err, errlen,
                 "supervisor.user: no such user '%s'%s%s (create it, e.g. `useradd --system %s`, or "
                 "remove supervisor.user)",
                 user, e ? ": " : "", e ? strerror(e) : "", user);
        return -1;
    }
    p->uid = pw.pw_uid;
    p->gid = pw.pw_gid;
    if (group) {
        char gbuf[16384];
        struct group gr, *grr = NULL;
        e = getgrnam_r(group, &gr, gbuf, sizeof gbuf, &grr);
        if (e != 0 || !grr) {
            snprintf(err, errlen, "supervisor.user: no such group '%s'%s%s", group, e ? ": " : "",
                     e ? strerror(e) : "");
            return -1;
        }
        p->gid = gr.gr_gid;
    }
    p->n_groups = PRIVS_MAX_GROUPS;
    if (getgrouplist(user, p->gid, p->groups, &p->n_groups) < 0) {
        snprintf(err, errlen, "supervisor.user: user '%s' is in more than %d groups", user, PRIVS_MAX_GROUPS);
        return -1;
    }
    if (self != 0) {
        if (p->uid == self && p->gid == getgid()) {
            p->active = false; /* already that user: nothing to switch */
            return 0;
        }
        snprintf(err, errlen,
                 "supervisor.user = \"%s\": changing user needs root (running as uid %u); start "
                 "clockwerk as root, or as that user, or remove supervisor.user",
                 spec, (unsigned)self);
        return -1;
    }
    p->active = true;
    return 0;
}

int privs_chown(const struct privs *p, const char *path, char *err, size_t errlen)
{
    if (!p->active) return 0;
    if (lchown(path, p->uid, p->gid) != 0) {
        snprintf(err, errlen, "cannot give %s to %s: %s", path, p->name, strerror(errno));
        return -1;
    }
    return 0;
}

int privs_prepare_run_dir(const struct privs *p, const char *run_dir, char *err, size_t errlen)
{
    if (!p->active) return 0;
    if (privs_chown(p, run_dir, err, errlen) != 0) return -1;
    DIR *d = opendir(run_dir);
    if (!d) {
        snprintf(err, errlen, "cannot open run_dir %s: %s", run_dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (strcmp(e->d_name, "clockwerk.pid") == 0) continue; /* the supervisor's lock stays root's */
        char path[4600];
        if (snprintf(path, sizeof path, "%s/%s", run_dir, e->d_name) >= (int)sizeof path) continue;
        if (privs_chown(p, path, err, errlen) != 0 && errno != ENOENT) {
            rc = -1;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* Whether the user may write to something with this stat (the classic owner/group/other rule). */
static bool user_may_write(const struct privs *p, const struct stat *st)
{
    if (p->uid == 0) return true;
    if (st->st_uid == p->uid) return (st->st_mode & S_IWUSR) != 0;
    bool in_group = st->st_gid == p->gid;
    for (int i = 0; i < p->n_groups && !in_group; i++) in_group = p->groups[i] == st->st_gid;
    if (in_group) return (st->st_mode & S_IWGRP) != 0;
    return (st->st_mode & S_IWOTH) != 0;
}

int privs_prepare_sqlite(const struct privs *p, const struct cw_config *cfg, char *err, size_t errlen)
{
    if (!p->active || !cfg->db_activation || cfg->db_driver != CW_DB_SQLITE || !cfg->db_name) return 0;
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", cfg->db_name) >= (int)sizeof dir) {
        snprintf(err, errlen, "database.db_name is too long");
        return -1;
    }
    char *d = dirname(dir);
    struct stat st;
    if (stat(d, &st) != 0) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "database directory %s: %s", d, strerror(errno));
            return -1;
        }
        /* Ours to create: the parents as root (0755), the directory itself for the user. */
        for (char *c = d + 1; *c; c++) {
            if (*c != '/') continue;
            *c = '\0';
            if (mkdir(d, 0755) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create %s: %s", d, strerror(errno));
                return -1;
            }
            *c = '/';
        }
        if (mkdir(d, 0750) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create database directory %s: %s", d, strerror(errno));
            return -1;
        }
        return privs_chown(p, d, err, errlen);
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "database directory %s is not a directory", d);
        return -1;
    }
    if (!user_may_write(p, &st)) {
        snprintf(err, errlen,
                 "database directory %s is not writable by %s (SQLite creates its journal there); "
                 "run `chown %s %s` or point database.db_name elsewhere",
                 d, p->name, p->name, d);
        return -1;
    }
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char f[4200];
        snprintf(f, sizeof f, "%s%s", cfg->db_name, suffixes[i]);
        if (lstat(f, &st) != 0) continue;
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "database file %s is not a regular file", f);
            return -1;
        }
        if (st.st_uid == 0 && privs_chown(p, f, err, errlen) != 0) return -1; /* a root run created it */
        if (st.st_uid != 0 && !user_may_write(p, &st)) {
            snprintf(err, errlen, "database file %s is not writable by %s; run `chown %s %s`", f, p->name, p->name, f);
            return -1;
        }
    }
    return 0;
}

const char *privs_drop(const struct privs *p)
{
    if (!p->active) return NULL;
    if (setgroups((size_t)p->n_groups, p->groups) != 0) return "setgroups failed";
    if (setgid(p->gid) != 0) return "setgid failed";
    if (setuid(p->uid) != 0) return "setuid failed";
    if (getuid() != p->uid || geteuid() != p->uid || getgid() != p->gid || getegid() != p->gid)
        return "the user switch did not hold";
    if (p->uid != 0 && setuid(0) == 0) return "root could be regained after setuid";
    return NULL;
}

int privs_check_readable(const struct privs *p, const char *path, const char *what, char *err, size_t errlen)
{
    if (!p->active || !path) return 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    bool in_group = st.st_gid == p->gid;
    for (int i = 0; i < p->n_groups && !in_group; i++) in_group = st.st_gid == p->groups[i];
    bool readable = st.st_uid == p->uid ? (st.st_mode & S_IRUSR) != 0
                    : in_group          ? (st.st_mode & S_IRGRP) != 0
                                        : (st.st_mode & S_IROTH) != 0;
    if (readable) return 0;
    snprintf(err, errlen, "%s %s is not readable by supervisor.user %s, whom the children run as: `chown %s %s`", what,
             path, p->name, p->name, path);
    return -1;
}
