/* storer/spool.h — the storer's overflow file: wire payloads (docs/protocol.md) that could not be written to
 * the database and did not fit in memory, kept in run_dir until the database is back.
 *
 * File format: the one spool format of common/wire/spoolfile.h with no meta: a sequence of records, each a u32
 * little-endian payload length (1..STORE_SPOOL_RECORD_MAX) followed by the payload (one "result" or "alert"
 * message payload exactly as on the wire, header and version included). Nothing else: a consumer can replay
 * it with the protocol decoders alone. A torn tail (a crash while appending) is cut off at open, with a
 * warning (spoolfile.h's recovery scan).
 *
 * Replay is two-step so that nothing is lost and nothing is consumed before it is durable: store_spool_read
 * fills a batch from the unread records without consuming them; store_spool_consume moves past them once
 * the batch was committed. When every record has been consumed the file is deleted. */
#ifndef CW_STORER_SPOOL_H
#define CW_STORER_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storer/backend.h"

#define STORE_SPOOL_RECORD_MAX (16u * 1024 * 1024)

struct store_spool;

/* Opens (without creating) the spool at path; an existing file from a previous run becomes pending.
 * Returns NULL with err set only when an existing file cannot be opened. The path is copied. */
struct store_spool *store_spool_open(const char *path, char *err, size_t errlen);
void store_spool_close(struct store_spool *sp); /* keeps the file when anything is unread */

/* Appends one payload (creating the file when needed). 0, or -1 with err set (nothing usable written). */
int store_spool_append(struct store_spool *sp, const void *payload, size_t len, char *err, size_t errlen);
/* Flushes appended records to disk (fdatasync). 0 or -1 with err set. */
int store_spool_sync(struct store_spool *sp, char *err, size_t errlen);

/* True when records are waiting to be replayed. */
bool store_spool_pending(const struct store_spool *sp);
/* Bytes appended and not yet consumed. */
uint64_t store_spool_bytes(const struct store_spool *sp);

/* Decodes unread records into b (which the caller has cleared) until it holds at least max_rows rows or
 * the records run out; records that do not decode are skipped and counted in *malformed. Returns 0 (b may
 * be empty if only malformed records remained), or -1 with err set on a read error. Call
 * store_spool_consume after the batch was committed. */
int store_spool_read(struct store_spool *sp, struct store_batch *b, size_t max_rows, uint64_t *malformed, char *err,
                     size_t errlen);
/* Marks what the last store_spool_read returned as done; deletes the file when nothing is left. */
void store_spool_consume(struct store_spool *sp);

#endif
