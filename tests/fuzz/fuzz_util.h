/* tests/fuzz/fuzz_util.h — helpers shared by the libFuzzer harnesses (docs/fuzzing.md): a private scratch
 * directory for harnesses whose code under test reads files (/dev/shm/cw-fuzz-PID, created once per
 * process, removed at exit, or by the next harness when a crash skipped that), splitting one fuzz input
 * into NUL-separated text fields, and a loud assertion that libFuzzer reports as a crash with the failed
 * condition named. Header-only: each harness is one program. */
#ifndef CW_FUZZ_UTIL_H
#define CW_FUZZ_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_ASSERT(cond)                                                                     \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: fuzz assertion failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* ---- scratch directory: one per process, emptied of the listed files and removed at exit */

#define FUZZ_MAX_FILES 8
struct fuzz_scratch {
    char dir[64];
    char files[FUZZ_MAX_FILES][128];
    int n_files;
};

static inline struct fuzz_scratch *fuzz_scratch_get(void);

static inline void fuzz_scratch_cleanup(void)
{
    struct fuzz_scratch *s = fuzz_scratch_get();
    if (!s->dir[0]) return;
    for (int i = 0; i < s->n_files; i++) unlink(s->files[i]);
    if (rmdir(s->dir) != 0) fprintf(stderr, "fuzz: cannot remove %s: %s\n", s->dir, strerror(errno));
}

/* Empties and removes dir (only plain entries: harness scratch directories hold no subdirectories). */
static inline void fuzz_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* A harness that crashed (abort: no atexit) leaves its directory behind: directories of harness processes
 * that no longer exist are removed by the next harness to start. */
static inline void fuzz_sweep_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        int pid = 0, end = 0;
        if (sscanf(e->d_name, "cw-fuzz-%d%n", &pid, &end) != 1 || e->d_name[end] || pid <= 0) continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(path, sizeof path, "%s/%s", base, e->d_name);
        fuzz_remove_dir(path);
    }
    closedir(d);
}

static inline struct fuzz_scratch *fuzz_scratch_get(void)
{
    static struct fuzz_scratch scratch; /* harness-process state, set once */
    if (!scratch.dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        fuzz_sweep_stale(base);
        snprintf(scratch.dir, sizeof scratch.dir, "%s/cw-fuzz-%d", base, (int)getpid());
        fuzz_remove_dir(scratch.dir); /* left by an earlier process with this pid */
        if (mkdir(scratch.dir, 0700) != 0) {
            perror("fuzz: mkdir");
            abort();
        }
        atexit(fuzz_scratch_cleanup);
    }
    return &scratch;
}

/* Absolute path of the scratch file `name` (registered for removal at exit). */
static inline const char *fuzz_scratch_path(const char *name)
{
    struct fuzz_scratch *s = fuzz_scratch_get();
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    for (int i = 0; i < s->n_files; i++)
        if (strcmp(s->files[i], path) == 0) return s->files[i];
    if (s->n_files == FUZZ_MAX_FILES) abort();
    snprintf(s->files[s->n_files], sizeof s->files[0], "%s", path);
    return s->files[s->n_files++];
}

/* Writes data to the scratch file `name` (mode 0600, replaced), returns its path. */
static inline const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_path(name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror("fuzz: open");
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) {
            perror("fuzz: write");
            abort();
        }
        done += (size_t)w;
    }
    if (close(fd) != 0) abort();
    return path;
}

/* ---- text fields: the input split at NUL bytes into up to max C strings (copied; missing ones are "") */

struct fuzz_fields {
    char *buf;
    const char *f[16];
    size_t n;
};

static inline void fuzz_fields_split(struct fuzz_fields *ff, const uint8_t *data, size_t size, size_t max)
{
    ff->buf = malloc(size + 1);
    if (!ff->buf) abort();
    memcpy(ff->buf, data, size);
    ff->buf[size] = '\0';
    ff->n = 0;
    size_t at = 0;
    while (ff->n < max) {
        ff->f[ff->n++] = ff->buf + at;
        size_t l = strlen(ff->buf + at);
        if (at + l >= size) break;
        at += l + 1;
    }
    while (ff->n < max) ff->f[ff->n++] = "";
}

static inline void fuzz_fields_free(struct fuzz_fields *ff) { free(ff->buf); }

#endif
