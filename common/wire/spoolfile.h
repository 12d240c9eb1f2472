/* common/wire/spoolfile.h — the one spool file format of Clockwerk and its one recovery scan. A spool is an
 * append-only file of records in run_dir that holds what could not be delivered or written yet: the outbox
 * of common/bus/ackq.c (worker-<slot>-<destination>.spool, alerter-storer.spool) and the storer's overflow
 * (storer/spool.c, storer.spool).
 *
 * Record (all integers little-endian, common/base/le.h):
 *     u32 payload length | meta: meta_len bytes | payload: payload-length bytes
 * meta_len is fixed per kind of spool and is not stored in the file: 0 for storer.spool, 32 for an ackq
 * spool (u32 worker, u64 boot_id, u64 first seq, u64 last seq, u32 results). The payload is one message
 * payload exactly as on the wire (docs/protocol.md). A record is whole when its payload length is
 * 1..payload_max and all of its bytes are in the file.
 *
 * Recovery: spoolfile_open scans from the start while records are whole; the first one that is not ends the
 * file. What follows it is a torn tail (a crash while appending, or garbage) and is cut off (logged), so that
 * records appended from then on stay reachable. A file with no whole record is removed.
 *
 * Functions return 0, or -1 with errno set (EBADMSG for a record that is not whole, EIO for a short read,
 * ENOSPC for a short write); spoolfile_open formats its own error. */
#ifndef CW_COMMON_SPOOLFILE_H
#define CW_COMMON_SPOOLFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"

#define SPOOLFILE_LENGTH_BYTES 4 /* the u32 payload length that opens a record */
#define SPOOLFILE_META_MAX 32

struct spoolfile {
    char *path;           /* owned */
    int fd;               /* -1 while there is no file (or it is not open) */
    size_t meta_len;      /* 0..SPOOLFILE_META_MAX */
    uint32_t payload_max; /* largest payload a whole record may have */
    uint64_t end;         /* end of the last whole record: where the next append goes */
};

/* One record's frame, as spoolfile_read found it. */
struct spoolfile_record {
    uint32_t len;                     /* payload bytes */
    uint8_t meta[SPOOLFILE_META_MAX]; /* the first meta_len bytes are the record's */
    uint64_t next;                    /* offset of the record after it */
};

/* Sets sf up for path (copied); no file is touched. */
void spoolfile_init(struct spoolfile *sf, const char *path, size_t meta_len, uint32_t payload_max);
/* Closes the file (kept on disk) and frees the path. */
void spoolfile_free(struct spoolfile *sf);

/* Opens the file at sf->path if there is one (it is never created here) and runs the recovery scan (see the
 * top). *records (may be NULL) gets the number of whole records. 0 (sf->fd stays -1 when there is no file,
 * or it held no whole record and was removed), or -1 with err set. */
int spoolfile_open(struct spoolfile *sf, uint64_t *records, char *err, size_t errlen);

/* Bytes of a record of len payload bytes, frame included. */
static inline uint64_t spoolfile_record_bytes(const struct spoolfile *sf, size_t len)
{
    return SPOOLFILE_LENGTH_BYTES + (uint64_t)sf->meta_len + len;
}

/* Appends one record (meta: meta_len bytes, may be NULL when meta_len is 0), creating the file when there is
 * none. A payload of 0 or more than payload_max bytes is refused (EINVAL). On a failed write the file is cut
 * back to its last whole record. */
int spoolfile_append(struct spoolfile *sf, const uint8_t *meta, const void *payload, size_t len);
/* Flushes what was appended to disk (fdatasync); nothing to do without a file. */
int spoolfile_sync(struct spoolfile *sf);

/* Reads the frame of the record at off (a record boundary before sf->end) into *rec and, when payload is not
 * NULL, its payload into payload (reset first). EBADMSG when the record is not whole within sf->end. */
int spoolfile_read(const struct spoolfile *sf, uint64_t off, struct spoolfile_record *rec, struct cw_buf *payload);

/* Closes and deletes the file; the next append starts a new one. A failed unlink is logged. */
void spoolfile_remove(struct spoolfile *sf);

/* Rewriting a spool: spoolfile_rewrite_begin sets up tmp as an empty new file next to sf (path ".tmp");
 * the caller appends records and copies ranges into it; spoolfile_rewrite_commit syncs tmp and renames it
 * over sf, which then holds tmp's file (removed when empty); spoolfile_rewrite_abort drops tmp (sf is
 * untouched). tmp is freed by commit and by abort. */
int spoolfile_rewrite_begin(const struct spoolfile *sf, struct spoolfile *tmp);
/* Appends the bytes [from, to) of src (whole records) to dst. */
int spoolfile_copy(struct spoolfile *dst, const struct spoolfile *src, uint64_t from, uint64_t to);
int spoolfile_rewrite_commit(struct spoolfile *sf, struct spoolfile *tmp);
void spoolfile_rewrite_abort(struct spoolfile *tmp);

#endif
