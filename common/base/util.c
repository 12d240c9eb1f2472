/* common/base/util.c — hashing, boot ids, URL masking, the byte buffer and atomic file writes (see util.h). */
#include "common/base/util.h"
#include "common/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t cw_hash64_mem(const void *p, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *c = p, *end = c + len; c < end; c++) {
        h ^= *c;
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t cw_hash64(const char *s) { return cw_hash64_mem(s, strlen(s)); }

unsigned cw_shard_of(const char *url, unsigned slots)
{
    if (slots <= 1) return 0;
    return (unsigned)(cw_hash64(url) % slots);
}

uint64_t cw_boot_id(void)
{
    uint64_t id = 0;
    while (id == 0) {
        if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
            id = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)clock();
    }
    return id;
}

const char *cw_url_userinfo_end(const char *auth, size_t len)
{
    const char *at = NULL;
    for (size_t i = 0; i < len && auth[i] && auth[i] != '?' && auth[i] != '#'; i++)
        if (auth[i] == '@') at = auth + i;
    return at;
}

void cw_mask_url(const char *url, char *out, size_t outlen)
{
    if (outlen == 0) return;
    const char *scheme_end = strstr(url, "://");
    const char *auth_start = scheme_end ? scheme_end + 3 : url;
    /* the last '@' before the query or the fragment ends the userinfo: a '/' in an unencoded password does not
     * end the authority here (it does for curl), so the whole password is masked; a path with an '@' is then
     * masked too, which shows less, never more */
    const char *at = cw_url_userinfo_end(auth_start, strlen(auth_start));
    if (!at) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    snprintf(out, outlen, "%.*s***%s", (int)(auth_start - url), url, at);
}

size_t cw_utf8_seq_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0; /* overlong */
        if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90; /* overlong */
        if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else return 0;
    if (p[1] < lo || p[1] > hi) return 0; /* also stops at the NUL terminator */
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

void *cw_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) fatal(1, "out of memory (%zu bytes)", n);
    return p;
}

void *cw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) fatal(1, "out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *cw_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) fatal(1, "out of memory (%zu bytes)", n);
    return q;
}

char *cw_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cw_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

void cw_buf_reserve(struct cw_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    b->data = cw_xrealloc(b->data, cap);
    b->cap = cap;
}

void cw_buf_put(struct cw_buf *b, const void *p, size_t n)
{
    cw_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

void cw_buf_printf(struct cw_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        cw_buf_put(b, tmp, (size_t)n);
        return;
    }
    cw_buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void cw_buf_reset(struct cw_buf *b) { b->len = 0; }

void cw_buf_free(struct cw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int cw_open_regular(const char *path, const char *what, size_t max, int *fd_out, size_t *size, char *err,
                    size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", what, strerror(e));
        return e == ENOENT ? 0 : -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size > max) {
        snprintf(err, errlen, "%s: not a regular file of at most %zu bytes", what, max);
        close(fd);
        return -1;
    }
    *fd_out = fd;
    *size = (size_t)st.st_size;
    return 1;
}

int cw_read_file(const char *path, const char *what, size_t max, unsigned char **data, size_t *len, char *err,
                 size_t errlen)
{
    int fd;
    size_t size, got = 0;
    int rc = cw_open_regular(path, what, max, &fd, &size, err, errlen);
    if (rc <= 0) return rc;
    unsigned char *buf = cw_xmalloc(size ? size : 1);
    ssize_t r = 1;
    while (got < size && r != 0) {
        r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        got += (size_t)r;
    }
    int e = errno;
    close(fd);
    if (got != size) { /* a read error, or the file shrank under us */
        snprintf(err, errlen, "cannot read %s: %s", what, r < 0 ? strerror(e) : "short read");
        explicit_bzero(buf, got);
        free(buf);
        return -1;
    }
    *data = buf;
    *len = size;
    return 1;
}

int cw_write_file_atomic(const char *path, const char *tmp, const void *data, size_t len, bool durable,
                         const char **failed)
{
    (void)unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        *failed = "create";
        return -1;
    }
    const char *step = NULL;
    if (fchmod(fd, 0600) != 0) step = "chmod";
    else if (write_all(fd, data, len) != 0) step = "write";
    else if (durable && fsync(fd) != 0) step = "fsync";
    int saved = errno;
    if (close(fd) != 0 && !step) {
        step = "close";
        saved = errno;
    }
    if (!step && rename(tmp, path) != 0) {
        step = "rename";
        saved = errno;
    }
    if (step) {
        (void)unlink(tmp);
        *failed = step;
        errno = saved;
        return -1;
    }
    if (!durable) return 0;
    /* make the rename durable */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: some file systems refuse fsync on a directory */
        close(dfd);
    }
    return 0;
}
