/* supervisor/snapshot.c — snapshot file names, comparison and clean-up (see snapshot.h). */
#include "supervisor/snapshot.h"

#include "common/log.h"

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
        if (unlink(path) == 0)
            removed++;
        else if (errno != ENOENT)
            log_warn("cannot remove stale snapshot %s: %s", path, strerror(errno));
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
