/* supervisor/snapshot.c — snapshot files: names, writing, comparison and clean-up (see snapshot.h). */
#include "supervisor/snapshot.h"

#include "common/base/log.h"
#include "common/base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int snapshot_path(const char *run_dir, unsigned gen, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/config.%u.snap", run_dir, gen);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int snapshot_remove_all(const char *run_dir)
{
    DIR *d = opendir(run_dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "config.", 7) != 0 || !strstr(e->d_name, ".snap")) continue;
        char path[4600];
        if (snprintf(path, sizeof path, "%s/%s", run_dir, e->d_name) >= (int)sizeof path) continue;
        if (unlink(path) == 0) removed++;
        else if (errno != ENOENT) log_warn("cannot remove stale snapshot %s: %s", path, strerror(errno));
    }
    closedir(d);
    return removed;
}

/* Whether the file at path holds exactly data[0..len): its size first, then its bytes in 64 KiB pieces. */
static bool file_holds(const char *path, const unsigned char *data, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    bool same = fstat(fd, &st) == 0 && (uint64_t)st.st_size == (uint64_t)len;
    char buf[65536];
    for (size_t off = 0; same && off < len;) {
        ssize_t n = read(fd, buf, len - off < sizeof buf ? len - off : sizeof buf);
        if (n <= 0) same = false;
        else if (memcmp(buf, data + off, (size_t)n) != 0) same = false;
        else off += (size_t)n;
    }
    close(fd);
    return same;
}

bool snapshot_same(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY | O_CLOEXEC);
    if (fa < 0) return false;
    struct stat st;
    if (fstat(fa, &st) != 0 || st.st_size < 0) {
        close(fa);
        return false;
    }
    unsigned char *data = cw_xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fa, data + got, (size_t)st.st_size - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    char extra;
    bool same = got == (size_t)st.st_size && read(fa, &extra, 1) == 0 && file_holds(b, data, got);
    close(fa);
    explicit_bzero(data, got);
    free(data);
    return same;
}

/* Writes data as path (not durable: run_dir's snapshots are made again at every start, and the children read them
 * through the page cache whether or not they reached the disk), handed to the children's user. */
static int write_bytes(const unsigned char *data, size_t len, const struct privs *privs, const char *path)
{
    char tmp[4300], err[512];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        log_error("snapshot path too long: %s", path);
        return -1;
    }
    const char *step = "write";
    if (cw_write_file_atomic(path, tmp, data, len, false, &step) != 0) {
        log_error("cannot write snapshot %s (%s): %s", path, step, strerror(errno));
        return -1;
    }
    if (privs_chown(privs, path, err, sizeof err) != 0) {
        log_error("%s", err);
        if (unlink(path) != 0) log_warn("cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int snapshot_write_if_changed(const struct cw_config *cfg, const struct privs *privs, unsigned gen, const char *current,
                              char *path, size_t pathlen, bool *same)
{
    char err[512];
    *same = false;
    if (snapshot_path(cfg->run_dir, gen, path, pathlen) != 0) {
        log_error("snapshot path too long in %s", cfg->run_dir);
        return -1;
    }
    unsigned char *data;
    size_t len;
    if (config_snapshot_encode(cfg, &data, &len, err, sizeof err) != 0) {
        log_error("cannot encode snapshot %s: %s", path, err);
        return -1;
    }
    int rc = 0;
    if (current && file_holds(current, data, len)) *same = true;
    else rc = write_bytes(data, len, privs, path);
    explicit_bzero(data, len); /* it holds the passwords */
    free(data);
    return rc;
}

int snapshot_write(const struct cw_config *cfg, const struct privs *privs, unsigned gen, char *path, size_t pathlen)
{
    bool same;
    return snapshot_write_if_changed(cfg, privs, gen, NULL, path, pathlen, &same);
}

/* Removes generation g's file; `what` starts the warning when that fails ("old snapshot " or ""). */
static void remove_generation(const char *run_dir, unsigned g, const char *what)
{
    char path[4200];
    if (snapshot_path(run_dir, g, path, sizeof path) == 0 && unlink(path) != 0 && errno != ENOENT)
        log_warn("cannot remove %s%s: %s", what, path, strerror(errno));
}

void snapshot_gc(const struct children *ch, const char *run_dir, unsigned gen, unsigned *gen_lo)
{
    unsigned lowest = gen;
    for (unsigned g = *gen_lo; g < gen; g++) {
        if (children_uses_gen(ch, g)) {
            if (g < lowest) lowest = g;
            continue;
        }
        remove_generation(run_dir, g, "old snapshot ");
    }
    *gen_lo = lowest;
}

int snapshot_link(const char *run_dir, unsigned gen)
{
    char target[64], link[4200], tmp[4240];
    snprintf(target, sizeof target, "config.%u.snap", gen); /* relative: the link stays right if run_dir moves */
    if (snprintf(link, sizeof link, "%s/config.snap", run_dir) >= (int)sizeof link ||
        snprintf(tmp, sizeof tmp, "%s/config.snap.tmp.%ld", run_dir, (long)getpid()) >= (int)sizeof tmp) {
        log_error("snapshot path too long in %s", run_dir);
        return -1;
    }
    if (unlink(tmp) != 0 && errno != ENOENT) log_warn("cannot remove %s: %s", tmp, strerror(errno));
    if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
        log_warn("cannot link %s to %s: %s", link, target, strerror(errno));
        if (unlink(tmp) != 0 && errno != ENOENT) log_warn("cannot remove %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

void snapshot_remove_generations(const char *run_dir, unsigned lo, unsigned hi)
{
    for (unsigned g = lo; g <= hi; g++) remove_generation(run_dir, g, "");
    char link[4200];
    if (snprintf(link, sizeof link, "%s/config.snap", run_dir) < (int)sizeof link && unlink(link) != 0 &&
        errno != ENOENT)
        log_warn("cannot remove %s: %s", link, strerror(errno));
}

int snapshot_hold(int *fd, const char *path)
{
    int held = open(path, O_RDONLY | O_CLOEXEC);
    if (held < 0) log_warn("cannot open %s: %s (a deleted run_dir could not get it back)", path, strerror(errno));
    if (*fd >= 0) close(*fd);
    *fd = held;
    return held < 0 ? -1 : 0;
}

int snapshot_write_again(int fd, const struct privs *privs, const char *path)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 0) {
        log_error("the running snapshot is not at hand (%s): cannot write %s again", fd < 0 ? "not open" : strerror(errno),
                  path);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    /* mapped, not read: its pages are the file's, not the supervisor's heap, and go when unmapped */
    void *data = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (data == MAP_FAILED) {
        log_error("cannot map the running snapshot to write %s again: %s", path, strerror(errno));
        return -1;
    }
    static const unsigned char empty[1];
    int rc = write_bytes(data ? data : empty, len, privs, path);
    if (data) munmap(data, len);
    return rc;
}
