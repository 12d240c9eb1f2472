/* common/config/snapshot_map.h — a snapshot file read through a read-only mapping whose pages are dropped behind the
 * reading (issue 18).
 *
 * DESIGN
 * A snapshot is ~300 bytes an endpoint: 150 MB at 500,000 endpoints, read at once by every child at start-up and at
 * each reload. Read into a buffer, it was that much more in each child's peak RSS, all children at the same time. A
 * mapping costs nothing but the pages touched; the checksum and the decoder read the file once, front to back, and
 * snap_map_drop gives back the pages before a point (MADV_DONTNEED: the page cache keeps them, the process no
 * longer counts them), so a reader's peak holds a few MB of the file, not the file. Nothing decoded points into the
 * mapping (every string is copied into the config's arena): it is unmapped as soon as the reading ends. */
#ifndef CW_SNAPSHOT_MAP_H
#define CW_SNAPSHOT_MAP_H

#include <stddef.h>
#include <stdint.h>

struct snap_map {
    const uint8_t *base; /* NULL for an empty file */
    size_t len;
    size_t dropped; /* bytes from base already given back */
};

/* Maps the regular file at path (at most max bytes; `what` names it in err). 1 mapped, 0 no such file, -1 another
 * error: err says why (the same messages as cw_read_file's). */
int snap_map_open(struct snap_map *m, const char *path, const char *what, size_t max, char *err, size_t errlen);
/* Gives back the whole pages before `at` (a pointer into the mapping), in steps of a few MB. */
void snap_map_drop(struct snap_map *m, const uint8_t *at);
/* cw_snapshot_checksum of the n bytes at base + off, dropping each chunk once summed; then every page is dropped and
 * the dropping starts again from base (for the decoder's pass). */
uint64_t snap_map_checksum(struct snap_map *m, size_t off, size_t n);
void snap_map_close(struct snap_map *m);

#endif
