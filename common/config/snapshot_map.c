/* common/config/snapshot_map.c — a snapshot file mapped read-only, its pages dropped behind the reading (see
 * snapshot_map.h). */
#include "common/config/snapshot_map.h"
#include "common/config/config_priv.h"
#include "common/base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DROP_STEP (4u << 20) /* bytes given back at a time: few madvise calls, a few MB resident at most */

int snap_map_open(struct snap_map *m, const char *path, const char *what, size_t max, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    int fd, rc = cw_open_regular(path, what, max, &fd, &m->len, err, errlen);
    if (rc <= 0) return rc;
    if (m->len > 0) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            snprintf(err, errlen, "cannot read %s: %s", what, strerror(e));
            close(fd);
            return -1;
        }
        (void)madvise(p, m->len, MADV_SEQUENTIAL); /* read-ahead; a hint only */
        m->base = p;
    }
    close(fd); /* the mapping stays valid */
    return 1;
}

void snap_map_drop(struct snap_map *m, const uint8_t *at)
{
    if (!m || !m->base || at < m->base) return;
    size_t upto = (size_t)(at - m->base);
    if (upto > m->len) upto = m->len;
    upto -= upto % DROP_STEP; /* base is page-aligned, DROP_STEP a multiple of any page size */
    if (upto <= m->dropped) return;
    (void)madvise((void *)(m->base + m->dropped), upto - m->dropped, MADV_DONTNEED); /* a hint: nothing to undo */
    m->dropped = upto;
}

uint64_t snap_map_checksum(struct snap_map *m, size_t off, size_t n)
{
    struct cw_snapshot_sum s;
    cw_snapshot_sum_init(&s, n);
    const uint8_t *p = m->base + off;
    while (n > 0) {
        size_t chunk = n < DROP_STEP ? n : DROP_STEP; /* a multiple of 8 but for the last */
        cw_snapshot_sum_add(&s, p, chunk);
        p += chunk;
        n -= chunk;
        snap_map_drop(m, p);
    }
    snap_map_drop(m, m->base + m->len); /* the last pieces too; then the decoder reads (and drops) from the start */
    if (m->len % DROP_STEP) (void)madvise((void *)(m->base + m->dropped), m->len - m->dropped, MADV_DONTNEED);
    m->dropped = 0;
    return cw_snapshot_sum_end(&s);
}

void snap_map_close(struct snap_map *m)
{
    if (m->base) (void)munmap((void *)m->base, m->len);
    memset(m, 0, sizeof *m);
}
