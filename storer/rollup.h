/* storer/rollup.h — the storer's hourly and daily roll-ups (docs/schema.md, "Roll-ups"), the same for every
 * database backend: the backend gives a few primitives (struct rollup_ops), this module does the folding.
 *
 * DESIGN
 * Roll-ups are a function of the raw rows: checks_hourly and checks_daily hold, per endpoint, location (schema 6:
 * checks.location; the engine keeps each name once, rollup_location, and a row its index) and period, the
 * counts and histograms of exactly the rows of checks whose id is at or below the watermark
 * rollup_state.last_check_id. A fold reads the raw rows above the watermark (ascending id, at most a chunk),
 * adds them to the stored cells (read, merged in memory, written back whole) and moves the watermark to the
 * last id read — all inside ONE transaction: the roll-ups and the watermark move together with the raw
 * rows or not at all, so a crash (kill -9) at any point neither loses nor double-counts a row, and nothing
 * has to be rebuilt at start. A duplicate result (an acked delivery's resend) is never inserted (UNIQUE
 * (worker, boot_id, seq)), so it is never folded. A row that arrives late (a probe host's buffer, a replayed spool)
 * with a checked_at in an hour already folded is above the watermark like any new row: the fold reads that hour's
 * cell and writes it back with the row added. This needs ids that grow with every insert: one writer
 * (the storer) and no reuse of ids above the watermark (the pruning must keep the newest row).
 *
 * When: a fold runs inside the transaction of a raw batch once ROLLUP_EVERY_MS has passed since the last
 * (60 s; env CLOCKWERK_ROLLUP_EVERY_MS, for tests and tuning), so the cost is a few statements per endpoint
 * every 60 s, not per batch; rows above the watermark (at most that long) are folded at the next fold.
 * At start (after the migration, which may have created the tables over existing raw rows) and at stop,
 * rollup_catch_up folds everything pending in transactions of ROLLUP_CHUNK rows, with progress in the log.
 * CLOCKWERK_ROLLUPS=off disables folding altogether: for `make bench`'s comparison only, never in
 * production (the watermark stays and a later start with roll-ups on catches up).
 *
 * Without reading back (PostgreSQL, MariaDB: the backend stages): a client/server database writes the raw rows
 * with a few statements per batch, so reading every row back at the fold and two round trips per cell cost
 * the storer about five times its CPU per check. There the backend hands each batch it inserted WHOLE (the
 * server's count of inserted rows equals the batch's) to rollup_stage, which keeps the rows in memory; a
 * batch with a replayed row (fewer inserted) or an endpoint id the backend does not know empties that memory
 * and the next fold reads back as above. The backend tells the engine how each transaction ended
 * (rollup_txn_end): staged rows become pending at a commit, vanish at a rollback. A fold then asks the
 * server how many raw rows lie above the watermark and the highest id (one round trip): when that count is
 * exactly the number of pending rows, those rows ARE the rows above the watermark (every pending row is
 * committed and above it; one writer), so they are folded from memory and the watermark moves to that
 * highest id; any other count (a hand-inserted row, a commit whose outcome was lost) falls back to reading
 * back. A rollback after a fold also empties the memory. Once ROLLUP_CHUNK rows wait in memory the fold is
 * due at once (so memory holds ~ROLLUP_CHUNK rows, ~15 MB, whatever the period). So the promise above holds on every path, and the
 * memory is gone with the connection (a reopen starts with the read-back catch-up). The cells of a fold are
 * read and written with one statement per period and up to ROLLUP_CELLS_PER_CALL cells (get_many,
 * put_many) where the backend has them; SQLite, in process, goes cell by cell. Either way the rows are put
 * in (endpoint, time) order once (a counting sort by endpoint id), which groups them for both periods. */
#ifndef CW_STORER_ROLLUP_H
#define CW_STORER_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/util.h"
#include "common/wire/lathist.h"

#define ROLLUP_HISTS 5             /* latency, dns, connect, tls, ttfb */
#define ROLLUP_CHUNK 200000        /* raw rows per fold (one transaction): a cell is read and written once per fold */
#define ROLLUP_EVERY_MS 60000      /* default fold period */
#define ROLLUP_CELLS_PER_CALL 2000 /* cells per get_many / put_many */

enum rollup_period { ROLLUP_HOUR, ROLLUP_DAY };

/* A stored duration in milliseconds as the histograms' microseconds: negative, NaN or NULL-as-negative gives 0,
 * an absurd value is capped (llround of a value beyond int64 is undefined). */
static inline int64_t rollup_ms_to_us(double ms)
{
    if (!(ms > 0)) return 0;
    if (ms > 9.0e12) ms = 9.0e12; /* ~285 years: far past the histograms' overflow bucket */
    return (int64_t)(ms * 1000.0 + 0.5);
}

/* One raw row as a fold needs it. us[]: the five durations in µs, -1 for NULL. Schema 6: a row's location is
 * loc, an index into the engine's names (rollup_location) for a fold, and location, its name, for a reader
 * (storer/reader.h; valid during the callback only). */
struct rollup_row {
    int64_t id, endpoint_id, at_s; /* at_s: checked_at, UTC seconds since the epoch */
    bool ok;
    uint32_t loc;
    int64_t us[ROLLUP_HISTS];
    const char *location;
};

/* A cell as stored: counts and the five histogram blobs (valid until the next primitive); location: the cell's
 * (schema 6: cells are per endpoint, location and period; a reader gets it, "" for cells of before schema 6). */
struct rollup_stored {
    int64_t checks, ok;
    const char *location;
    const void *blob[ROLLUP_HISTS];
    size_t len[ROLLUP_HISTS];
};

/* A cell of the batched primitives: the key, then what get_many found (found, counts, blobs valid until the
 * next primitive) or what put_many writes. from/to: the engine's rows of the cell. */
struct rollup_cell {
    int64_t endpoint_id, start_s;
    uint32_t loc;         /* the engine's index of its location */
    const char *location; /* its name (the engine's copy) */
    bool found;
    struct rollup_stored st;
    size_t from, to;
};

struct store_batch;

/* The primitives of a backend, all with ctx its own state; every one returns STORE_OK, STORE_RETRY or
 * STORE_FATAL and writes err like storer/backend.h. */
struct rollup_ops {
    /* Appends to rows the raw rows with id > after, ascending, at most max (rows has room for max). */
    int (*read_rows)(void *ctx, int64_t after, size_t max, struct rollup_row *rows, size_t *n, char *err,
                     size_t errlen);
    /* The stored cell of (period, endpoint, location, start); *found false when there is none. read_rows gives
     * each row its loc with rollup_location. */
    int (*get)(void *ctx, enum rollup_period p, int64_t endpoint_id, const char *location, int64_t start_s,
               struct rollup_stored *out, bool *found, char *err, size_t errlen);
    /* Writes the cell whole (insert or replace). */
    int (*put)(void *ctx, enum rollup_period p, int64_t endpoint_id, const char *location, int64_t start_s,
               const struct rollup_stored *c, char *err, size_t errlen);
    /* Optional (both or neither; NULL: get and put per cell): the stored cells of cells[0..n), sorted by
     * (endpoint_id, loc, start_s) and distinct, n <= ROLLUP_CELLS_PER_CALL; then all of them written whole. */
    int (*get_many)(void *ctx, enum rollup_period p, struct rollup_cell *cells, size_t n, char *err, size_t errlen);
    int (*put_many)(void *ctx, enum rollup_period p, const struct rollup_cell *cells, size_t n, char *err,
                    size_t errlen);
    /* Optional (for a backend that stages): how many raw rows have an id > after, and the highest (after when
     * none). */
    int (*count_above)(void *ctx, int64_t after, int64_t *count, int64_t *top, char *err, size_t errlen);
    /* The watermark; *id = -1 when rollup_state has no row (emptied by hand: the roll-ups are rebuilt). */
    int (*get_watermark)(void *ctx, int64_t *id, char *err, size_t errlen);
    /* The highest id in checks (0 when empty), for the progress of rollup_catch_up. */
    int (*max_id)(void *ctx, int64_t *id, char *err, size_t errlen);
    int (*set_watermark)(void *ctx, int64_t id, char *err, size_t errlen);
    /* One statement without parameters or result (the rebuild's DELETEs and INSERT, the same SQL everywhere). */
    int (*exec)(void *ctx, const char *sql, char *err, size_t errlen);
    /* A transaction of its own, for rollup_catch_up. */
    int (*begin)(void *ctx, char *err, size_t errlen);
    int (*commit)(void *ctx, char *err, size_t errlen);
    void (*rollback)(void *ctx);
    /* Whether the connection is up and outside a transaction (rollup_close's last fold needs both). */
    bool (*idle)(void *ctx);
    /* Frees ctx, the backend's part (its statements; it holds this struct rollup and rollup_frees it). */
    void (*destroy)(void *ctx);
};

struct rollup {
    const struct rollup_ops *ops;
    void *ctx;
    const char *where;       /* names the database in log lines */
    bool on;                 /* CLOCKWERK_ROLLUPS is not "off" */
    int64_t every_ns;        /* fold period */
    int64_t next_ns;         /* monotonic: the next fold is due */
    struct rollup_row *rows; /* cap_rows: a read-back chunk, or the pending rows then the staged rows */
    size_t cap_rows;
    size_t *order;
    struct rollup_cell *cells;    /* ROLLUP_CELLS_PER_CALL */
    struct cw_buf arena;          /* the encoded blobs of the cells being written */
    bool stages;                  /* the backend calls rollup_stage and rollup_txn_end */
    bool direct;                  /* database.raw "failures"/"none": fed by rollup_fold_batch, not by raw rows */
    bool mem_valid;               /* rows[0..pending) are the committed raw rows above the watermark */
    size_t pending, staged;       /* rows[pending..pending+staged): inserted by the open transaction */
    bool folded_in_txn;           /* the open transaction folded (and emptied the roll-ups' share of memory) */
    bool folded_all;              /* ... and left no raw row above the watermark */
    struct lat_hist *cell;        /* ROLLUP_HISTS, the cell being merged */
    size_t (*offs)[ROLLUP_HISTS]; /* ROLLUP_CELLS_PER_CALL: where each cell's blobs start in the arena */
    unsigned corrupt;             /* stored blobs refused (and replaced) so far */
    unsigned bad_times;           /* chunks with raw rows whose checked_at could not be read */
    char **loc_names;             /* the locations met so far (rollup_location): a row's loc indexes them */
    uint32_t n_locs, cap_locs, last_loc;
};

void rollup_init(struct rollup *r, const struct rollup_ops *ops, void *ctx, const char *where);
void rollup_free(struct rollup *r);

/* Inside the caller's open transaction: when a fold is due, folds up to ROLLUP_CHUNK pending rows (and stays
 * due while more are pending). STORE_OK, or the primitive's error (the caller rolls back). */
int rollup_fold_if_due(struct rollup *r, char *err, size_t errlen);
/* In transactions of its own: folds everything pending, logging progress for large backlogs. When rollup_state
 * has lost its row (an operator's `DELETE FROM rollup_state`, the documented way to rebuild), it first empties
 * both roll-up tables and starts again from watermark 0, with a warning: the roll-ups are rebuilt from the raw
 * rows, never counted twice. */
int rollup_catch_up(struct rollup *r, char *err, size_t errlen);
/* Appends v in decimal to b (the backends' statements and arrays carry a few numbers per cell: cheaper than
 * printf). */
void rollup_put_i64(struct cw_buf *b, int64_t v);

/* For get_many: the cell of (endpoint_id, location, start_s) among cells[0..n) (sorted, as get_many gets them), or
 * NULL. */
struct rollup_cell *rollup_cell_find(const struct rollup *r, struct rollup_cell *cells, size_t n, int64_t endpoint_id,
                                     const char *location, size_t location_len, int64_t start_s);
/* The index of a location's name (the first len bytes of name), added when new: what read_rows puts in a row's
 * loc. Locations are few (the central's own and its probe hosts'); the names live as long as r. */
uint32_t rollup_location(struct rollup *r, const char *name, size_t len);

/* A backend that stages calls this once after the rollup is set up (before its first rollup_catch_up). */
void rollup_enable_staging(struct rollup *r);
/* Inside the batch's transaction, after the rows batch->checks[from..from+n) went in with one statement that
 * inserted `inserted` of them; ids[i] the endpoint id of row from+i, or NULL when not known: anything but a whole
 * batch with its ids empties the memory (the next fold reads back). NULL r is fine. */
/* Whether rollup_stage would keep rows now (roll-ups on, memory valid): a backend skips the work of finding
 * the endpoint ids when not. */
bool rollup_staging(const struct rollup *r);
void rollup_stage(struct rollup *r, const struct store_batch *batch, size_t from, size_t n, int64_t inserted,
                  const int64_t *ids);
/* How the batch's transaction ended: committed true after a successful COMMIT, false after a rollback or a
 * failed or uncertain commit. NULL r is fine. */
void rollup_txn_end(struct rollup *r, bool committed);
/* database.raw "failures" or "none" (storer/rawkeep.h; docs/schema.md "Raw rows and database.raw"): call once after
 * rollup_init (before rollup_enable_staging and the first rollup_catch_up, which still folds the raw rows above the
 * watermark that an earlier "all" left). From then on rollup_fold_if_due does nothing and nothing is staged: every
 * batch folds its own checks (rollup_fold_batch). NULL r is fine. */
void rollup_set_direct(struct rollup *r);
/* Direct mode, inside the batch's transaction: folds the checks of batch whose fold flag is set (ids[i]: the
 * endpoint id of batch->checks[i]) into their cells; when raw rows went in (raw_written), moves the watermark to the
 * highest id of checks: they are counted by this fold, or were by an earlier one (a resend), so the promise holds.
 * STORE_OK, or the primitive's error (the caller rolls back). NULL r, or r not direct: nothing. */
int rollup_fold_batch(struct rollup *r, const struct store_batch *batch, const int64_t *ids, bool raw_written,
                      char *err, size_t errlen);
/* At the backend's close: folds what is pending when the connection is idle (best effort: a failure is
 * logged, the next start folds it), then destroys the backend's part. NULL is fine. */
void rollup_close(struct rollup *r);

#endif
