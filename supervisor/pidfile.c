/* supervisor/pidfile.c — run_dir creation and the pid-file lock (see pidfile.h). */
#include "supervisor/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int pidfile_make_dir(const char *run_dir, char *err, size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", run_dir) >= (int)sizeof path) {
        snprintf(err, errlen, "run_dir too long");
        return -1;
    }
    /* mkdir -p: parents with the default mode, the run_dir itself 0700. */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create run_dir %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot stat run_dir %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "run_dir %s is not a directory", path);
        return -1;
    }
    return 0;
}

/* Reads the pid another supervisor wrote (0 when unreadable). */
static long read_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

int pidfile_acquire(struct pidfile *pf, const char *run_dir, char *err, size_t errlen)
{
    pf->fd = -1;
    if (snprintf(pf->path, sizeof pf->path, "%s/clockwerk.pid", run_dir) >= (int)sizeof pf->path) {
        snprintf(err, errlen, "run_dir too long");
        return -1;
    }
    /* Retry when the file we locked was unlinked meanwhile by a supervisor that was exiting: the lock
     * must be on the file that the path names now. */
    for (int attempt = 0; attempt < 5; attempt++) {
        int fd = open(pf->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open %s: %s", pf->path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            long other = read_pid(fd);
            close(fd);
            if (e == EWOULDBLOCK) {
                if (other > 0)
                    snprintf(err, errlen, "another supervisor (pid %ld) is running on %s (lock %s held)", other,
                             run_dir, pf->path);
                else snprintf(err, errlen, "another supervisor is running on %s (lock %s held)", run_dir, pf->path);
            } else {
                snprintf(err, errlen, "cannot lock %s: %s", pf->path, strerror(e));
            }
            return -1;
        }
        struct stat by_fd, by_path;
        if (fstat(fd, &by_fd) != 0 || stat(pf->path, &by_path) != 0 || by_fd.st_ino != by_path.st_ino ||
            by_fd.st_dev != by_path.st_dev) {
            close(fd);
            continue;
        }
        char line[32];
        int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
            snprintf(err, errlen, "cannot write %s: %s", pf->path, strerror(errno));
            close(fd);
            return -1;
        }
        pf->fd = fd;
        return 0;
    }
    snprintf(err, errlen, "cannot lock %s: it keeps being replaced", pf->path);
    return -1;
}

bool pidfile_intact(const struct pidfile *pf)
{
    struct stat by_fd, by_path;
    if (pf->fd < 0 || fstat(pf->fd, &by_fd) != 0 || stat(pf->path, &by_path) != 0) return false;
    return by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev;
}

void pidfile_release(struct pidfile *pf)
{
    if (pf->fd < 0) return;
    /* Unlink while still holding the lock; a supervisor that opened the old file meanwhile notices the
     * inode change in pidfile_acquire and retries. A file that is no longer ours is left alone. */
    if (pidfile_intact(pf) && unlink(pf->path) != 0 && errno != ENOENT) { /* the lock still goes away */
    }
    close(pf->fd);
    pf->fd = -1;
}
