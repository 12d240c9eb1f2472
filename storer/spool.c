/* storer/spool.c — the storer's overflow file of wire payloads (spool.h). */
#include "storer/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/protocol.h"
#include "common/util.h"
#include "storer/batch.h"

struct store_spool {
    char *path;
    int fd;              /* -1 while there is no file */
    uint64_t read_off;   /* first unconsumed record */
    uint64_t next_off;   /* end of what the last store_spool_read returned */
    uint64_t end_off;    /* end of the last complete record */
    uint8_t *buf;
    size_t buf_cap;
    struct cw_result *results; /* CW_RESULT_BATCH_MAX, for decoding */
};

struct store_spool *store_spool_open(const char *path, char *err, size_t errlen)
{
    struct store_spool *sp = cw_xcalloc(1, sizeof *sp);
    sp->path = cw_xstrdup(path);
    sp->results = cw_xcalloc(CW_RESULT_BATCH_MAX, sizeof *sp->results);
    sp->fd = open(path, O_RDWR | O_CLOEXEC);
    if (sp->fd < 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot open spool %s: %s", path, strerror(errno));
        store_spool_close(sp);
        return NULL;
    }
    if (sp->fd >= 0) {
        struct stat st;
        if (fstat(sp->fd, &st) != 0) {
            snprintf(err, errlen, "cannot stat spool %s: %s", path, strerror(errno));
            store_spool_close(sp);
            return NULL;
        }
        /* Find the end of the last complete record: a tail cut short by a crash is cut off, so that records
         * appended from now on stay reachable. */
        uint64_t size = (uint64_t)st.st_size, pos = 0;
        uint8_t hdr[4];
        while (size - pos >= 4 && pread(sp->fd, hdr, 4, (off_t)pos) == 4) {
            uint32_t len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
            if (len == 0 || len > STORE_SPOOL_RECORD_MAX || size - pos - 4 < len) break;
            pos += 4 + (uint64_t)len;
        }
        if (pos < size) {
            log_warn("spool %s: dropping %llu damaged bytes at its end (a crash while writing it)", path,
                     (unsigned long long)(size - pos));
            if (ftruncate(sp->fd, (off_t)pos) != 0) {
                snprintf(err, errlen, "cannot truncate spool %s: %s", path, strerror(errno));
                store_spool_close(sp);
                return NULL;
            }
        }
        sp->end_off = pos;
        if (sp->end_off == 0) store_spool_consume(sp); /* an empty leftover: remove it */
    }
    return sp;
}

void store_spool_close(struct store_spool *sp)
{
    if (!sp) return;
    if (sp->fd >= 0) close(sp->fd);
    free(sp->path);
    free(sp->buf);
    free(sp->results);
    free(sp);
}

int store_spool_append(struct store_spool *sp, const void *payload, size_t len, char *err, size_t errlen)
{
    if (len == 0 || len > STORE_SPOOL_RECORD_MAX) {
        snprintf(err, errlen, "spool %s: record of %zu bytes refused", sp->path, len);
        return -1;
    }
    if (sp->fd < 0) {
        sp->fd = open(sp->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (sp->fd < 0) {
            snprintf(err, errlen, "cannot create spool %s: %s", sp->path, strerror(errno));
            return -1;
        }
        sp->read_off = sp->next_off = sp->end_off = 0;
    }
    uint8_t hdr[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24) };
    struct iovec iov[2] = { { hdr, 4 }, { (void *)payload, len } };
    size_t want = 4 + len, done = 0;
    while (done < want) {
        /* pwritev of the rest: rebuild the vector past what was written */
        struct iovec v[2];
        int n = 0;
        size_t skip = done;
        for (int i = 0; i < 2; i++) {
            if (skip >= iov[i].iov_len) { skip -= iov[i].iov_len; continue; }
            v[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
            v[n].iov_len = iov[i].iov_len - skip;
            skip = 0;
            n++;
        }
        ssize_t w = pwritev(sp->fd, v, n, (off_t)(sp->end_off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write spool %s: %s", sp->path, w < 0 ? strerror(errno) : "no progress");
            if (ftruncate(sp->fd, (off_t)sp->end_off) != 0) { /* the partial record is ignored on replay anyway */ }
            return -1;
        }
        done += (size_t)w;
    }
    sp->end_off += want;
    return 0;
}

int store_spool_sync(struct store_spool *sp, char *err, size_t errlen)
{
    if (sp->fd < 0) return 0;
    if (fdatasync(sp->fd) != 0) {
        snprintf(err, errlen, "cannot sync spool %s: %s", sp->path, strerror(errno));
        return -1;
    }
    return 0;
}

bool store_spool_pending(const struct store_spool *sp) { return sp->fd >= 0 && sp->read_off < sp->end_off; }

uint64_t store_spool_bytes(const struct store_spool *sp) { return sp->fd >= 0 ? sp->end_off - sp->read_off : 0; }

static int read_exact(struct store_spool *sp, void *p, size_t n, uint64_t off, char *err, size_t errlen)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(sp->fd, (uint8_t *)p + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, errlen, "cannot read spool %s: %s", sp->path, r < 0 ? strerror(errno) : "unexpected end");
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

int store_spool_read(struct store_spool *sp, struct store_batch *b, size_t max_rows, uint64_t *malformed,
                     char *err, size_t errlen)
{
    uint64_t pos = sp->read_off;
    while (sp->fd >= 0 && pos < sp->end_off && store_batch_rows(b) < max_rows) {
        uint8_t hdr[4];
        uint32_t len = 0;
        if (sp->end_off - pos >= 4) {
            if (read_exact(sp, hdr, 4, pos, err, errlen) != 0) return -1;
            len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
        }
        if (sp->end_off - pos < 4 || len == 0 || len > STORE_SPOOL_RECORD_MAX || sp->end_off - pos - 4 < len) {
            /* A record cut short (crash while appending) or a damaged length: nothing after it can be
             * framed. Skip to the end; what was before it is replayed. */
            log_warn("spool %s: damaged record at byte %llu, skipping the last %llu bytes", sp->path,
                     (unsigned long long)pos, (unsigned long long)(sp->end_off - pos));
            (*malformed)++;
            pos = sp->end_off;
            break;
        }
        if (sp->buf_cap < len) {
            free(sp->buf);
            sp->buf = cw_xmalloc(len);
            sp->buf_cap = len;
        }
        if (read_exact(sp, sp->buf, len, pos + 4, err, errlen) != 0) return -1;
        pos += 4 + (uint64_t)len;
        const char *why = NULL;
        if (len >= 2 && sp->buf[1] == CW_MSG_RESULT) {
            int n = proto_results_decode(sp->buf, len, sp->results, CW_RESULT_BATCH_MAX, &why);
            if (n < 0) (*malformed)++;
            for (int i = 0; i < n; i++) store_batch_add_check(b, &sp->results[i]);
        } else if (len >= 2 && sp->buf[1] == CW_MSG_ALERT) {
            struct cw_alert a;
            if (proto_alert_decode(sp->buf, len, &a, &why) == 0) store_batch_add_alert(b, &a);
            else (*malformed)++;
        } else {
            (*malformed)++;
        }
    }
    sp->next_off = pos;
    return 0;
}

void store_spool_consume(struct store_spool *sp)
{
    if (sp->next_off > sp->read_off) sp->read_off = sp->next_off;
    if (sp->fd >= 0 && sp->read_off >= sp->end_off) {
        close(sp->fd);
        sp->fd = -1;
        if (unlink(sp->path) != 0 && errno != ENOENT) log_warn("cannot remove spool %s: %s", sp->path, strerror(errno));
        sp->read_off = sp->next_off = sp->end_off = 0;
    }
}
