/* alerter/seqwin.c — the alerter's record of applied (location, worker, boot_id, seq): duplicates are detected, not
 * applied twice (see seqwin.h). */
#include "alerter/seqwin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/base/util.h"

void seqwin_init(struct seqwin *w) { memset(w, 0, sizeof *w); }

void seqwin_free(struct seqwin *w)
{
    free(w->e);
    memset(w, 0, sizeof *w);
}

static bool bit_get(const struct seqwin_entry *e, uint64_t i) { return (e->bits[i / 64] >> (i % 64)) & 1; }

/* Moves the window k seqs forward (hi += k). */
static void slide(struct seqwin_entry *e, uint64_t k)
{
    if (k >= SEQWIN_BITS) {
        memset(e->bits, 0, sizeof e->bits);
    } else {
        uint64_t words = k / 64, shift = k % 64;
        for (size_t i = 0; i < SEQWIN_WORDS; i++) {
            uint64_t lo = i + words < SEQWIN_WORDS ? e->bits[i + words] : 0;
            uint64_t hi = i + words + 1 < SEQWIN_WORDS ? e->bits[i + words + 1] : 0;
            e->bits[i] = shift ? (lo >> shift) | (hi << (64 - shift)) : lo;
        }
    }
    e->hi += k;
}

/* A fresh entry in slot i (the one it replaces is forgotten). */
static struct seqwin_entry *reset(struct seqwin *w, size_t i, const char *location, uint32_t worker, uint64_t boot_id)
{
    struct seqwin_entry *e = &w->e[i];
    memset(e, 0, sizeof *e);
    snprintf(e->location, sizeof e->location, "%s", location);
    e->worker = worker;
    e->boot_id = boot_id;
    return e;
}

/* The entry of (location, worker, boot_id); a new one (*fresh) when there is none, in place of the least recently
 * used of the same (location, worker) beyond SEQWIN_BOOTS_PER_WORKER, or of all beyond SEQWIN_ENTRIES_MAX. An
 * entry of a version-1 file (location "") of the same worker and boot is taken over. */
static struct seqwin_entry *entry(struct seqwin *w, const char *location, uint32_t worker, uint64_t boot_id,
                                  bool *fresh)
{
    size_t same = 0, oldest = SIZE_MAX, oldest_all = SIZE_MAX, legacy = SIZE_MAX;
    for (size_t i = 0; i < w->n; i++) {
        struct seqwin_entry *e = &w->e[i];
        if (oldest_all == SIZE_MAX || e->used < w->e[oldest_all].used) oldest_all = i;
        if (e->worker != worker) continue;
        bool here = strcmp(e->location, location) == 0;
        if (e->boot_id == boot_id && here) {
            *fresh = false;
            return e;
        }
        if (e->boot_id == boot_id && e->legacy) legacy = i;
        if (!here) continue;
        same++;
        if (oldest == SIZE_MAX || e->used < w->e[oldest].used) oldest = i;
    }
    if (legacy != SIZE_MAX) {
        struct seqwin_entry *e = &w->e[legacy];
        snprintf(e->location, sizeof e->location, "%s", location);
        e->legacy = false;
        *fresh = false;
        return e;
    }
    *fresh = true;
    if (same >= SEQWIN_BOOTS_PER_WORKER) return reset(w, oldest, location, worker, boot_id);
    if (w->n >= SEQWIN_ENTRIES_MAX) return reset(w, oldest_all, location, worker, boot_id);
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->e = cw_xrealloc(w->e, w->cap * sizeof *w->e);
    }
    return reset(w, w->n++, location, worker, boot_id);
}

/* The highest seq seen of e: hi, or the highest bit in the window. */
static uint64_t top_of(const struct seqwin_entry *e)
{
    for (size_t k = SEQWIN_WORDS; k-- > 0;)
        if (e->bits[k]) return e->hi + 1 + k * 64 + (63 - (uint64_t)__builtin_clzll(e->bits[k]));
    return e->hi;
}

enum seqwin_verdict seqwin_accept(struct seqwin *w, const char *location, uint32_t worker, uint64_t boot_id,
                                  uint64_t seq)
{
    if (!location) location = "";
    if (worker >= SEQWIN_WORKERS_MAX || strlen(location) > CW_LOCATION_NAME_MAX) return SEQWIN_REFUSED;
    if (seq == 0) return SEQWIN_DUP;
    bool fresh;
    struct seqwin_entry *e = entry(w, location, worker, boot_id, &fresh);
    e->used = ++w->clock;
    if (fresh) e->hi = seq - 1; /* the starting point */
    if (seq <= e->hi) return SEQWIN_DUP;
    uint64_t i = seq - e->hi - 1;
    enum seqwin_verdict v = seq < top_of(e) ? SEQWIN_LATE : SEQWIN_NEW;
    if (i >= SEQWIN_BITS) {
        slide(e, i - SEQWIN_BITS + 1);
        i = SEQWIN_BITS - 1;
    } else if (bit_get(e, i)) {
        return SEQWIN_DUP;
    }
    e->bits[i / 64] |= 1ULL << (i % 64);
    uint64_t run = 0;
    while (run < SEQWIN_BITS && bit_get(e, run)) run++;
    if (run) slide(e, run);
    w->dirty = true;
    return v;
}

int seqwin_save(struct seqwin *w, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        snprintf(err, errlen, "path too long: %s", path);
        return -1;
    }
    (void)unlink(tmp); /* a leftover of a crash may have another mode: the new file is private, 0600 */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        int open_errno = errno;
        if (fd >= 0) close(fd);
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(open_errno));
        return -1;
    }
    fprintf(f, "clockwerk-alerter-seqs 2\n");
    for (size_t i = 0; i < w->n; i++) {
        const struct seqwin_entry *e = &w->e[i];
        fprintf(f, "@%s %" PRIu32 " %016" PRIx64 " %" PRIu64 " ", e->location, e->worker, e->boot_id, e->hi);
        for (size_t k = 0; k < SEQWIN_WORDS; k++) fprintf(f, "%016" PRIx64, e->bits[k]);
        fputc('\n', f);
    }
    bool ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    int e = errno;
    if (fclose(f) != 0 && ok) ok = false, e = errno;
    if (!ok || rename(tmp, path) != 0) {
        if (ok) e = errno;
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
        unlink(tmp);
        return -1;
    }
    w->dirty = false;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* One entry line of a file of that version into w; false when it is malformed. */
static bool load_line(struct seqwin *w, char *line, int version)
{
    char location[CW_LOCATION_NAME_MAX + 1] = "";
    if (version == 2) {
        char *space = strchr(line, ' ');
        if (line[0] != '@' || !space || (size_t)(space - line - 1) > CW_LOCATION_NAME_MAX) return false;
        memcpy(location, line + 1, (size_t)(space - line - 1));
        location[space - line - 1] = '\0';
        line = space + 1;
    }
    uint32_t worker;
    uint64_t boot, hi;
    int used = 0;
    if (sscanf(line, "%" SCNu32 " %" SCNx64 " %" SCNu64 " %n", &worker, &boot, &hi, &used) != 3 || used <= 0)
        return false;
    const char *hex = line + used;
    if (strlen(hex) != SEQWIN_WORDS * 16 || worker >= SEQWIN_WORKERS_MAX) return false;
    bool fresh;
    struct seqwin_entry *e = entry(w, location, worker, boot, &fresh);
    if (!fresh) return false;
    e->hi = hi;
    e->used = ++w->clock;
    e->legacy = version == 1;
    for (size_t k = 0; k < SEQWIN_WORDS; k++) {
        uint64_t v = 0;
        for (size_t j = 0; j < 16; j++) {
            int d = hexval(hex[k * 16 + j]);
            if (d < 0) return false;
            v = v << 4 | (uint64_t)d;
        }
        e->bits[k] = v;
    }
    return true;
}

int seqwin_load(struct seqwin *w, const char *path, char *err, size_t errlen)
{
    seqwin_free(w);
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char line[128 + CW_LOCATION_NAME_MAX + SEQWIN_WORDS * 16];
    int rc = 1, version = 0;
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') goto bad;
        line[--len] = '\0';
        if (lineno == 1) {
            version = strcmp(line, "clockwerk-alerter-seqs 2") == 0   ? 2
                      : strcmp(line, "clockwerk-alerter-seqs 1") == 0 ? 1
                                                                      : 0;
            if (!version) goto bad;
            continue;
        }
        if (!load_line(w, line, version)) goto bad;
    }
    if (ferror(f) || lineno == 0) goto bad;
    fclose(f);
    w->dirty = false;
    return rc;
bad:
    snprintf(err, errlen, "%s is malformed at line %u", path, lineno);
    fclose(f);
    seqwin_free(w);
    return -1;
}
