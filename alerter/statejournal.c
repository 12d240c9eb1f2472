/* alerter/statejournal.c — the state's base file and journal: lines appended, the base written whole or in
 * chunks (see statejournal.h; the format: docs/alerts.md "The state file"). */
#include "alerter/statejournal.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/wire/jsonnew.h"

#define FLUSH_AT (1 << 20) /* the compaction writes its buffer out past this many bytes */

/* Takes the base as it is now as the one this process knows. */
static void note_base(struct statejournal *j)
{
    struct stat st;
    if (stat(j->base, &st) != 0) {
        j->base_bytes = 0, j->base_dev = 0, j->base_ino = 0;
        return;
    }
    j->base_bytes = (int64_t)st.st_size;
    j->base_dev = (uint64_t)st.st_dev;
    j->base_ino = (uint64_t)st.st_ino;
}

void statejournal_init(struct statejournal *j, const char *base_path, int64_t next_seq, int64_t journal_good)
{
    memset(j, 0, sizeof *j);
    j->cp.fd = -1;
    j->sh.fd = -1;
    if (snprintf(j->base, sizeof j->base, "%s", base_path) >= (int)sizeof j->base ||
        snprintf(j->path, sizeof j->path, "%s%s", base_path, STATEJOURNAL_SUFFIX) >= (int)sizeof j->path ||
        snprintf(j->tmp, sizeof j->tmp, "%s.compact", base_path) >= (int)sizeof j->tmp)
        fatal(2, "run_dir is too long");
    snprintf(j->short_tmp, sizeof j->short_tmp, "%s.tmp", j->path);
    j->next_seq = next_seq;
    j->bytes = journal_good;
    note_base(j);
}

/* ---- lines */

static void put_urls(struct cw_buf *out, const char *const *urls, size_t n)
{
    json_object *arr = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < n; i++) json_object_array_add(arr, cw_jnew(json_object_new_string(urls[i])));
    size_t len = 0;
    const char *text = json_object_to_json_string_length(arr, JSON_C_TO_STRING_PLAIN, &len);
    if (!text) fatal(1, "out of memory (json)");
    cw_buf_put(out, text, len);
    json_object_put(arr);
}

void statejournal_line_text(const struct statejournal *j, const struct statejournal_line *l, struct cw_buf *out)
{
    char when[32];
    cw_buf_reset(out);
    cw_buf_printf(out, "{\"journal\":%d,\"seq\":%lld,\"saved_at\":\"%s\",\"changed\":", STATEJOURNAL_LINE_VERSION,
                  (long long)j->next_seq, cw_format_iso8601(cw_wall_us(), when, sizeof when));
    put_urls(out, l->changed, l->n_changed);
    for (enum statefile_list k = STATEFILE_ENDPOINTS; k <= STATEFILE_VOTES; k++) {
        size_t n = k == STATEFILE_ENDPOINTS ? l->d->n_eps : k == STATEFILE_VOTERS ? l->d->n_voters : l->d->n_votes;
        if (n == 0) continue;
        bool first = true;
        cw_buf_printf(out, ",\"%s\":[", statefile_list_key(k));
        statefile_items_text(l->d, k, out, &first);
        cw_buf_put(out, "]", 1);
    }
    for (enum statefile_section s = STATEFILE_PLAIN; s <= STATEFILE_LOCATIONS; s++) {
        if (!l->section[s]) continue;
        cw_buf_printf(out, ",\"%s\":", statefile_section_key(s));
        statefile_section_text(l->d, s, out);
    }
    cw_buf_put(out, "}\n", 2);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The directory of path fsynced (a rename in it made durable). */
static int sync_dir_of(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int statejournal_append(struct statejournal *j, const struct cw_buf *text, char *err, size_t errlen)
{
    int fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", j->path, strerror(errno));
        return -1;
    }
    struct stat st, base;
    int rc = -1;
    if (stat(j->base, &base) != 0 || (uint64_t)base.st_ino != j->base_ino || (uint64_t)base.st_dev != j->base_dev ||
        base.st_size != j->base_bytes) {
        snprintf(err, errlen, "%s is not the state file this alerter wrote", j->base);
        rc = -2;
    } else if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", j->path, strerror(errno));
    } else if (!S_ISREG(st.st_mode) || st.st_size < j->bytes) {
        snprintf(err, errlen, "%s is not the journal this alerter wrote (%lld bytes, %lld expected)", j->path,
                 (long long)st.st_size, (long long)j->bytes);
        rc = -2;
    } else if (st.st_size > j->bytes && ftruncate(fd, j->bytes) != 0) { /* a failed append's part line */
        snprintf(err, errlen, "cannot cut %s back to %lld bytes: %s", j->path, (long long)j->bytes, strerror(errno));
        rc = -2;
    } else if (write_all(fd, text->data, text->len) != 0 || fdatasync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", j->path, strerror(errno));
    } else if (st.st_size == 0 && sync_dir_of(j->path) != 0 && errno != EINVAL) { /* a new file: its name too */
        snprintf(err, errlen, "cannot sync the directory of %s: %s", j->path, strerror(errno));
    } else {
        j->bytes += (int64_t)text->len;
        j->next_seq++;
        rc = 0;
    }
    if (close(fd) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write %s: %s", j->path, strerror(errno));
        j->bytes -= (int64_t)text->len; /* unknown whether it is there: the next append cuts it off */
        j->next_seq--;
        rc = -1;
    }
    return rc;
}

int statejournal_write_base(struct statejournal *j, const struct statefile_data *d, bool fresh, char *err,
                            size_t errlen)
{
    statejournal_compact_abort(j);
    statejournal_shorten_abort(j);
    if (fresh) {
        if (unlink(j->path) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot remove %s: %s", j->path, strerror(errno));
            return -1;
        }
        if (j->next_seq < 1) j->next_seq = 1;
    }
    struct cw_buf text = { 0 };
    statefile_text(d, j->next_seq, &text);
    const char *step = NULL;
    int rc = cw_write_file_atomic(j->base, j->tmp, text.data, text.len, true, &step);
    if (rc != 0) snprintf(err, errlen, "cannot write %s (%s): %s", j->base, step, strerror(errno));
    else note_base(j);
    cw_buf_free(&text);
    if (rc != 0) return -1;
    /* every line now precedes journal_from: the file is emptied (a crash before leaves lines the reader skips) */
    if (truncate(j->path, 0) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot empty %s: %s", j->path, strerror(errno));
        j->bytes = INT64_MAX; /* the next append finds it shorter: -2, the base again */
        return 0;             /* the state is on disk */
    }
    j->bytes = 0;
    return 0;
}

/* ---- compaction */

bool statejournal_compacting(const struct statejournal *j) { return j->cp.fd >= 0; }

static int flush_cp(struct statejournal *j, bool all)
{
    if (j->cp.buf.len == 0 || (!all && j->cp.buf.len < FLUSH_AT)) return 0;
    if (write_all(j->cp.fd, j->cp.buf.data, j->cp.buf.len) != 0) return -1;
    /* written out now rather than all at the last fsync (which would then hold the loop for as long) */
    (void)sync_file_range(j->cp.fd, j->cp.written, (off64_t)j->cp.buf.len, SYNC_FILE_RANGE_WRITE);
    j->cp.written += (int64_t)j->cp.buf.len;
    cw_buf_reset(&j->cp.buf);
    return 0;
}

int statejournal_compact_begin(struct statejournal *j, char *err, size_t errlen)
{
    statejournal_compact_abort(j);
    statejournal_shorten_abort(j); /* the new base's journal_from makes its copy moot */
    j->cp.fd = open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->cp.fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", j->tmp, strerror(errno));
        return -1;
    }
    j->cp.from = j->next_seq;
    j->cp.journal_at = j->bytes;
    j->cp.written = 0;
    j->cp.list = STATEFILE_ENDPOINTS;
    j->cp.first = true;
    char when[32];
    cw_buf_printf(&j->cp.buf, "{\"version\":%d,\"saved_at\":\"%s\",\"journal_from\":%lld,\"%s\":[", STATEFILE_VERSION,
                  cw_format_iso8601(cw_wall_us(), when, sizeof when), (long long)j->cp.from,
                  statefile_list_key(STATEFILE_ENDPOINTS));
    return 0;
}

/* Closes the current list and opens the next ones up to l. */
static void move_to_list(struct statejournal *j, enum statefile_list l)
{
    while (j->cp.list < l) {
        j->cp.list++;
        cw_buf_printf(&j->cp.buf, "],\"%s\":[", statefile_list_key(j->cp.list));
        j->cp.first = true;
    }
}

static int cp_failed(struct statejournal *j, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot %s %s: %s", what, j->tmp, strerror(errno));
    statejournal_compact_abort(j);
    unlink(j->tmp); /* after a failed close or rename too */
    return -1;
}

int statejournal_compact_items(struct statejournal *j, enum statefile_list l, const struct statefile_data *d, char *err,
                               size_t errlen)
{
    if (j->cp.fd < 0 || l < j->cp.list) {
        snprintf(err, errlen, "compaction: items out of order");
        return -1;
    }
    move_to_list(j, l);
    statefile_items_text(d, l, &j->cp.buf, &j->cp.first);
    return flush_cp(j, false) == 0 ? 0 : cp_failed(j, "write", err, errlen);
}

/* The journal's lines from journal_at on (those of seq >= the new base's journal_from) are to replace it: the copy
 * begins (statejournal_shorten_step goes on with it). */
static int shorten_begin(struct statejournal *j, char *err, size_t errlen)
{
    j->sh.fd = open(j->short_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->sh.fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", j->short_tmp, strerror(errno));
        return -1;
    }
    j->sh.from_byte = j->cp.journal_at;
    j->sh.at = 0;
    return 0;
}

int statejournal_compact_finish(struct statejournal *j, const struct statefile_data *d, char *err, size_t errlen)
{
    if (j->cp.fd < 0) {
        snprintf(err, errlen, "compaction: not begun");
        return -1;
    }
    move_to_list(j, STATEFILE_VOTES);
    cw_buf_put(&j->cp.buf, "]", 1);
    statefile_tail_text(d, &j->cp.buf);
    if (flush_cp(j, true) != 0) return cp_failed(j, "write", err, errlen);
    if (fsync(j->cp.fd) != 0) return cp_failed(j, "fsync", err, errlen);
    int fd = j->cp.fd;
    j->cp.fd = -1;
    if (close(fd) != 0) return cp_failed(j, "close", err, errlen);
    if (rename(j->tmp, j->base) != 0) return cp_failed(j, "rename", err, errlen);
    note_base(j);
    cw_buf_free(&j->cp.buf);
    (void)sync_dir_of(j->base); /* best effort, as cw_write_file_atomic: some file systems refuse it */
    return shorten_begin(j, err, errlen);
}

void statejournal_compact_abort(struct statejournal *j)
{
    if (j->cp.fd >= 0) {
        close(j->cp.fd);
        j->cp.fd = -1;
        unlink(j->tmp);
    }
    cw_buf_free(&j->cp.buf);
}

/* ---- shortening the journal after a compaction */

bool statejournal_shortening(const struct statejournal *j) { return j->sh.fd >= 0; }

void statejournal_shorten_abort(struct statejournal *j)
{
    if (j->sh.fd < 0) return;
    close(j->sh.fd);
    j->sh.fd = -1;
    unlink(j->short_tmp);
}

/* Up to len bytes from in at *at to the end of out: copy_file_range (no copy through user space), or read and write
 * where the file system or kernel has none. */
static ssize_t copy_bytes(int in, loff_t *at, int out, size_t len)
{
    ssize_t n = copy_file_range(in, at, out, NULL, len, 0);
    if (n >= 0 || (errno != ENOSYS && errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP)) return n;
    char buf[65536];
    n = pread(in, buf, len < sizeof buf ? len : sizeof buf, *at);
    if (n <= 0) return n;
    if (write_all(out, buf, (size_t)n) != 0) return -1;
    *at += n;
    return n;
}

static int shorten_failed(struct statejournal *j, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot %s %s: %s", what, j->short_tmp, strerror(errno ? errno : EIO));
    statejournal_shorten_abort(j);
    return -1;
}

int statejournal_shorten_step(struct statejournal *j, int64_t max_bytes, char *err, size_t errlen)
{
    if (j->sh.fd < 0) return 1;
    int in = open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) return shorten_failed(j, "read the journal for", err, errlen);
    int64_t end = j->bytes - j->sh.from_byte; /* whole lines only: a failed append's part is beyond j->bytes */
    loff_t at = j->sh.from_byte + j->sh.at;
    errno = 0;
    while (j->sh.at < end && max_bytes > 0) {
        size_t want = (size_t)(end - j->sh.at < max_bytes ? end - j->sh.at : max_bytes);
        ssize_t n = copy_bytes(in, &at, j->sh.fd, want);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        j->sh.at += n;
        max_bytes -= n;
    }
    close(in);
    if (j->sh.at < end && max_bytes > 0) return shorten_failed(j, "copy the journal to", err, errlen);
    (void)sync_file_range(j->sh.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (j->sh.at < end) return 0;
    /* caught up (nothing is appended between here and the rename: the caller's loop does both) */
    if (fsync(j->sh.fd) != 0) return shorten_failed(j, "fsync", err, errlen);
    int fd = j->sh.fd;
    j->sh.fd = -1;
    if (close(fd) != 0 || rename(j->short_tmp, j->path) != 0) {
        snprintf(err, errlen, "cannot put %s in place: %s", j->short_tmp, strerror(errno));
        unlink(j->short_tmp);
        return -1;
    }
    j->bytes = end;
    (void)sync_dir_of(j->path); /* best effort, as cw_write_file_atomic */
    return 1;
}
