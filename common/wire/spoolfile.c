/* common/wire/spoolfile.c — the one spool file format and its recovery scan (see spoolfile.h). */
#include "common/wire/spoolfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/base/le.h"
#include "common/base/log.h"

void spoolfile_init(struct spoolfile *sf, const char *path, size_t meta_len, uint32_t payload_max)
{
    *sf = (struct spoolfile){ .path = cw_xstrdup(path),
                              .fd = -1,
                              .payload_max = payload_max,
                              .meta_len = meta_len <= SPOOLFILE_META_MAX ? meta_len : SPOOLFILE_META_MAX };
}

void spoolfile_free(struct spoolfile *sf)
{
    if (sf->fd >= 0) close(sf->fd);
    sf->fd = -1;
    free(sf->path);
    sf->path = NULL;
    sf->end = 0;
}

/* Reads exactly n bytes at off. 0, or -1 with errno set (EIO at the end of the file). */
static int read_at(int fd, void *p, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (uint8_t *)p + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = EIO;
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

/* Writes the n vectors entirely at off. 0, or -1 with errno set (ENOSPC when the disk takes no more). */
static int write_at(int fd, const struct iovec *iov, int n, uint64_t off)
{
    size_t want = 0, done = 0;
    for (int i = 0; i < n; i++) want += iov[i].iov_len;
    while (done < want) {
        struct iovec rest[3];
        int k = 0;
        size_t skip = done;
        for (int i = 0; i < n && k < 3; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            rest[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip };
            skip = 0;
        }
        ssize_t w = pwritev(fd, rest, k, (off_t)(off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = ENOSPC;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* The recovery scan: where the last whole record of the first `size` bytes ends; *records counts them. */
static uint64_t whole_end(const struct spoolfile *sf, uint64_t size, uint64_t *records)
{
    uint64_t off = 0;
    uint8_t len_bytes[SPOOLFILE_LENGTH_BYTES];
    while (size - off >= spoolfile_record_bytes(sf, 0) && read_at(sf->fd, len_bytes, sizeof len_bytes, off) == 0) {
        uint32_t len = le_get_u32(len_bytes);
        if (len == 0 || len > sf->payload_max || size - off < spoolfile_record_bytes(sf, len)) break;
        off += spoolfile_record_bytes(sf, len);
        (*records)++;
    }
    return off;
}

int spoolfile_open(struct spoolfile *sf, uint64_t *records, char *err, size_t errlen)
{
    uint64_t whole = 0;
    if (records) *records = 0;
    sf->fd = open(sf->path, O_RDWR | O_CLOEXEC);
    if (sf->fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot open spool %s: %s", sf->path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(sf->fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat spool %s: %s", sf->path, strerror(errno));
        goto fail;
    }
    uint64_t size = (uint64_t)st.st_size;
    sf->end = whole_end(sf, size, &whole);
    if (sf->end < size) {
        log_warn("spool %s: dropping %llu bytes at its end that are not a whole record (a crash while writing it)",
                 sf->path, (unsigned long long)(size - sf->end));
        if (ftruncate(sf->fd, (off_t)sf->end) != 0) {
            snprintf(err, errlen, "cannot truncate spool %s: %s", sf->path, strerror(errno));
            goto fail;
        }
    }
    if (sf->end == 0) spoolfile_remove(sf); /* an empty leftover */
    if (records) *records = whole;
    return 0;
fail:
    close(sf->fd);
    sf->fd = -1;
    sf->end = 0;
    return -1;
}

int spoolfile_append(struct spoolfile *sf, const uint8_t *meta, const void *payload, size_t len)
{
    if (len == 0 || len > sf->payload_max) return errno = EINVAL, -1;
    if (sf->fd < 0) {
        sf->fd = open(sf->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (sf->fd < 0) return -1;
        sf->end = 0;
    }
    uint8_t len_bytes[SPOOLFILE_LENGTH_BYTES];
    le_put_u32(len_bytes, (uint32_t)len);
    struct iovec iov[3] = { { len_bytes, sizeof len_bytes }, { (void *)meta, sf->meta_len }, { (void *)payload, len } };
    if (write_at(sf->fd, iov, 3, sf->end) != 0) {
        int saved = errno;
        if (ftruncate(sf->fd, (off_t)sf->end) != 0) { /* the torn record is cut off at the next open anyway */
        }
        errno = saved;
        return -1;
    }
    sf->end += spoolfile_record_bytes(sf, len);
    return 0;
}

int spoolfile_sync(struct spoolfile *sf) { return sf->fd >= 0 ? fdatasync(sf->fd) : 0; }

int spoolfile_read(const struct spoolfile *sf, uint64_t off, struct spoolfile_record *rec, struct cw_buf *payload)
{
    uint8_t frame[SPOOLFILE_LENGTH_BYTES + SPOOLFILE_META_MAX];
    size_t frame_len = SPOOLFILE_LENGTH_BYTES + sf->meta_len;
    if (sf->fd < 0 || off >= sf->end || sf->end - off < frame_len) return errno = EBADMSG, -1;
    if (read_at(sf->fd, frame, frame_len, off) != 0) return -1;
    rec->len = le_get_u32(frame);
    if (rec->len == 0 || rec->len > sf->payload_max || sf->end - off < spoolfile_record_bytes(sf, rec->len))
        return errno = EBADMSG, -1;
    memcpy(rec->meta, frame + SPOOLFILE_LENGTH_BYTES, sf->meta_len);
    rec->next = off + spoolfile_record_bytes(sf, rec->len);
    if (!payload) return 0;
    cw_buf_reset(payload);
    cw_buf_reserve(payload, rec->len);
    if (read_at(sf->fd, payload->data, rec->len, off + frame_len) != 0) return -1;
    payload->len = rec->len;
    return 0;
}

void spoolfile_remove(struct spoolfile *sf)
{
    if (sf->fd >= 0) close(sf->fd);
    sf->fd = -1;
    sf->end = 0;
    if (unlink(sf->path) != 0 && errno != ENOENT) log_warn("cannot remove the spool %s: %s", sf->path, strerror(errno));
}

int spoolfile_rewrite_begin(const struct spoolfile *sf, struct spoolfile *tmp)
{
    spoolfile_init(tmp, sf->path, sf->meta_len, sf->payload_max);
    size_t len = strlen(sf->path);
    tmp->path = cw_xrealloc(tmp->path, len + sizeof ".tmp");
    memcpy(tmp->path + len, ".tmp", sizeof ".tmp");
    tmp->fd = open(tmp->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tmp->fd >= 0) return 0;
    int saved = errno;
    spoolfile_free(tmp);
    errno = saved;
    return -1;
}

int spoolfile_copy(struct spoolfile *dst, const struct spoolfile *src, uint64_t from, uint64_t to)
{
    uint8_t buf[65536];
    while (from < to) {
        size_t n = to - from < sizeof buf ? (size_t)(to - from) : sizeof buf;
        if (read_at(src->fd, buf, n, from) != 0) return -1;
        struct iovec iov = { buf, n };
        if (write_at(dst->fd, &iov, 1, dst->end) != 0) return -1;
        from += n;
        dst->end += n;
    }
    return 0;
}

int spoolfile_rewrite_commit(struct spoolfile *sf, struct spoolfile *tmp)
{
    if (fdatasync(tmp->fd) != 0 || rename(tmp->path, sf->path) != 0) {
        int saved = errno;
        spoolfile_rewrite_abort(tmp);
        errno = saved;
        return -1;
    }
    if (sf->fd >= 0) close(sf->fd);
    sf->fd = tmp->fd;
    sf->end = tmp->end;
    tmp->fd = -1;
    spoolfile_free(tmp);
    if (sf->end == 0) spoolfile_remove(sf);
    return 0;
}

void spoolfile_rewrite_abort(struct spoolfile *tmp)
{
    if (tmp->path) unlink(tmp->path);
    spoolfile_free(tmp);
}
