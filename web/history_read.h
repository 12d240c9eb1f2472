/* web/history_read.h — building clockwerk-web's history (web/history.h) through a read backend (storer/reader.h):
 * the snapshot of every configured endpoint the database knows (web/history_read.c, read in chunks of endpoint
 * ids) and the detail of one endpoint (web/history_detail.c). No thread, no clock: the reader thread
 * (web/history.c) and the unit tests call these with an open reader and "now". */
#ifndef CW_WEB_HISTORY_READ_H
#define CW_WEB_HISTORY_READ_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "storer/reader.h"
#include "web/history.h"

#define WEB_HISTORY_CHUNK 512 /* endpoints whose histograms sit in memory at once (~17 KB each) */

/* The database's id of each configured endpoint, sorted by URL: what a detail request is resolved with. */
struct web_history_id {
    uint32_t cfg_index; /* cfg->endpoints[cfg_index] (its URL is not copied) */
    int64_t db_id;
};
struct web_history_ids {
    const struct cw_config *cfg; /* the configuration they were read with: freed (web_history_ids_free) before it is */
    struct web_history_id *v;
    size_t n;
};

/* Called between two chunks of a snapshot's read with its reader: the reader thread answers the detail requests
 * that came meanwhile (in the same read snapshot), so they do not wait for the whole read. */
struct web_history_pause {
    void (*fn)(void *ctx, const struct store_read_backend *b, struct store_reader *r);
    void *ctx;
};

/* The snapshot at now_ms (wall clock, UTC ms) of cfg's endpoints; NULL with *rc (STORE_RETRY or STORE_FATAL) and
 * err set when a read failed. ids (may be NULL) gets the endpoints' database ids (freed and refilled) at the end;
 * pause (may be NULL) is called between chunks. */
struct web_history *web_history_read(const struct store_read_backend *b, struct store_reader *r,
                                     const struct cw_config *cfg, int64_t now_ms, struct web_history_ids *ids,
                                     const struct web_history_pause *pause, int *rc, char *err, size_t errlen);

/* The exact days (the snapshot's reads over one endpoint: ep, known to the database as db_id) at now_ms; STORE_OK,
 * or the failure with err set. */
int web_history_days_read(const struct store_read_backend *b, struct store_reader *r, const struct cw_endpoint *ep,
                          int64_t db_id, int64_t now_ms, struct web_day days[WEB_DAYS], char *err, size_t errlen);

/* The database id of url: from ids, else from the endpoints table. -1 when the database does not know it (yet);
 * -2 with *rc and err set when the read failed. */
int64_t web_history_find_id(const struct store_read_backend *b, struct store_reader *r,
                            const struct web_history_ids *ids, const char *url, int *rc, char *err, size_t errlen);
void web_history_ids_free(struct web_history_ids *ids);

/* The detail of the endpoint with database id db_id (-1: unknown to the database: an empty detail) at now_ms;
 * ep (may be NULL: no days) is its configuration, for its exact days. Always a detail: one whose read failed has
 * ->error set (owned). */
struct web_detail *web_detail_read(const struct store_read_backend *b, struct store_reader *r, int64_t db_id,
                                   const struct cw_endpoint *ep, int64_t now_ms);

#endif
