/* supervisor/snapshot.c — snapshot files: names, writing, comparison and clean-up (see snapshot.h). */
#include "supervisor/snapshot.h"

#include "common/base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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

bool snapshot_same(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY | O_CLOEXEC);
    if (fa < 0) return false;
    int fb = open(b, O_RDONLY | O_CLOEXEC);
    if (fb < 0) {
        close(fa);
        return false;
    }
    bool same = true;
    char ba[65536], bb[65536];
    for (;;) {
        ssize_t na = read(fa, ba, sizeof ba);
        if (na < 0) {
            same = false;
            break;
        }
        /* Read exactly na bytes from b (or find it shorter). */
        ssize_t got = 0;
        while (got < na) {
            ssize_t r = read(fb, bb + got, (size_t)(na - got));
            if (r <= 0) break;
            got += r;
        }
        if (got != na || memcmp(ba, bb, (size_t)na) != 0) {
            same = false;
            break;
        }
        if (na == 0) {
            char extra;
            same = read(fb, &extra, 1) == 0;
            break;
        }
    }
    close(fa);
    close(fb);
    return same;
}

int snapshot_write(const struct cw_config *cfg, const struct privs *privs, unsigned gen, char *path, size_t pathlen)
{
    char err[512];
    if (snapshot_path(cfg->run_dir, gen, path, pathlen) != 0) {
        log_error("snapshot path too long in %s", cfg->run_dir);
        return -1;
    }
    if (config_snapshot_write(cfg, path, err, sizeof err) != 0) {
        log_error("cannot write snapshot %s: %s", path, err);
        return -1;
    }
    if (privs_chown(privs, path, err, sizeof err) != 0) {
        log_error("%s", err);
        if (unlink(path) != 0) log_warn("cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
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
