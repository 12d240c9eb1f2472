/* storer/batch.h — filling, clearing and spooling a struct store_batch (declared in storer/backend.h).
 *
 * A batch owns copies of every string its records point to: they live in the batch's arena
 * (b->strings), so the bus message a record was decoded from can be released at once. When the arena
 * grows, the batch moves it and re-points every record's strings (callers never keep a pointer into a
 * batch across an add). Allocation failure is fatal (cw_xmalloc): a storer that cannot allocate cannot go on. */
#ifndef CW_STORER_BATCH_H
#define CW_STORER_BATCH_H

#include <stddef.h>

#include "common/base/util.h"
#include "storer/backend.h"

void store_batch_init(struct store_batch *b);
/* Releases everything the batch owns; the batch is then empty and may be reused. */
void store_batch_free(struct store_batch *b);
/* Empties the batch but keeps its memory for the next use. */
void store_batch_clear(struct store_batch *b);

/* Copies r (and its url/error/figures/location strings; a NULL location as "") into the batch, not in maintenance. An ok result's error is stored as
 * NULL. */
void store_batch_add_check(struct store_batch *b, const struct cw_result *r);
/* Schema 6: the checks from `from` on whose location is "" (a worker of a release before locations, or of this
 * host: docs/protocol.md 2.3) get own, the storer's supervisor.location ("local" when NULL or ""). */
void store_batch_locate(struct store_batch *b, size_t from, const char *own);
/* Copies a (and its url/name/message/deliveries strings) into the batch. */
void store_batch_add_alert(struct store_batch *b, const struct cw_alert *a);

/* Checks plus alerts. */
size_t store_batch_rows(const struct store_batch *b);

/* Encodes the batch as wire payloads (result messages of up to CW_RESULT_BATCH_MAX, one message per alert)
 * and hands each to emit(ctx, payload, len), in order: checks first, then alerts. Stops at the first emit
 * that returns non-zero and returns that value; 0 when all were emitted. The payload is valid only during
 * the call. */
typedef int (*store_batch_emit_fn)(void *ctx, const void *payload, size_t len);
int store_batch_encode(const struct store_batch *b, struct cw_buf *scratch, store_batch_emit_fn emit, void *ctx);

#endif
