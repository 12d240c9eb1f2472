/* worker/push_state.c — a push endpoint's deadline state in run_dir (see push_state.h). */
#include "worker/push_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/util.h"

#define STATE_MAGIC "clockwerk push state 1\n"

int push_state_dir(const char *run_dir, char *dir, size_t dirlen, char *err, size_t errlen)
{
    if ((size_t)snprintf(dir, dirlen, "%s/push", run_dir) >= dirlen) {
        snprintf(err, errlen, "run_dir is too long for %s/push", run_dir);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static void file_of(const char *dir, const char *key, const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%016" PRIx64 "%s", dir, cw_hash64(key), suffix);
}

bool push_state_load(const char *dir, const char *key, struct push_state *out)
{
    char path[4096];
    file_of(dir, key, ".state", path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    char text[PUSH_STATE_MAX + 1];
    size_t got = 0;
    ssize_t r;
    while (got < PUSH_STATE_MAX && ((r = read(fd, text + got, PUSH_STATE_MAX - got)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0) got += (size_t)r;
    close(fd);
    text[got] = '\0';
    size_t magic = strlen(STATE_MAGIC), klen = strlen(key);
    if (got < magic || memcmp(text, STATE_MAGIC, magic) != 0 || strncmp(text + magic, "key=", 4) != 0 ||
        strncmp(text + magic + 4, key, klen) != 0 || text[magic + 4 + klen] != '\n')
        return false;
    struct push_state st;
    if (sscanf(text + magic + 4 + klen + 1, "base_us=%" SCNd64 "\nlast_call_us=%" SCNd64 "\nsilences=%" SCNu32,
               &st.base_us, &st.last_call_us, &st.silences) != 3 ||
        st.base_us <= 0 || st.last_call_us < 0)
        return false;
    *out = st;
    return true;
}

int push_state_save(const char *dir, const char *key, unsigned slot, const struct push_state *st, char *err,
                    size_t errlen)
{
    char path[4096], tmp[4096], suffix[32], text[PUSH_STATE_MAX];
    snprintf(suffix, sizeof suffix, ".%u.tmp", slot);
    file_of(dir, key, ".state", path, sizeof path);
    file_of(dir, key, suffix, tmp, sizeof tmp);
    int n = snprintf(text, sizeof text,
                     STATE_MAGIC "key=%s\nbase_us=%" PRId64 "\nlast_call_us=%" PRId64 "\nsilences=%" PRIu32 "\n", key,
                     st->base_us, st->last_call_us, st->silences);
    if (n < 0 || (size_t)n >= sizeof text) {
        snprintf(err, errlen, "cannot save %s: %s", path, n < 0 ? "cannot format the state" : "the state is too long");
        return -1;
    }
    /* not durable: saved on the worker's loop, an fsync would stall every check of the shard on a slow disk; a
     * crash of the machine may lose the saves not yet written back, the rename is atomic against a crash of the
     * process (docs/web.md, push checks) */
    const char *failed = "";
    if (cw_write_file_atomic(path, tmp, text, (size_t)n, false, &failed) != 0) {
        snprintf(err, errlen, "cannot save %s (%s): %s", path, failed, strerror(errno));
        return -1;
    }
    return 0;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

void push_state_prune(const char *dir, int64_t now_wall_us)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".state") && !ends_with(e->d_name, ".tmp")) continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if ((int64_t)st.st_mtime * 1000000 + (int64_t)PUSH_STATE_STALE_S * 1000000 < now_wall_us)
            (void)unlinkat(dirfd(d), e->d_name, 0); /* another worker's prune may have been first */
    }
    closedir(d);
}
