/* storer/rawkeep.h — database.raw (docs/config.md; docs/schema.md "Raw rows and database.raw"): which checks the
 * storer keeps as raw rows of `checks`, and which it folds into the roll-ups without a raw row.
 *
 * DESIGN
 * "all" (the default): every check is a raw row and the roll-ups are folded from the raw rows (storer/rollup.h).
 * "failures" and "none": the roll-ups are fed from the batches themselves (rollup_fold_batch, in the batch's
 * transaction), so they count every check exactly as in "all"; the raw rows are only what rawkeep_decide keeps:
 *  - "none": none;
 *  - "failures": a check that failed, was SLOW (latency over its endpoint's latency_threshold; a push never is),
 *    ran in a maintenance window (the report's uptime leaves those out by counting their raw rows), changed the
 *    endpoint's state (ok/failed or SLOW/fast) at its location since the previous check, or is the first of its
 *    endpoint and location in a UTC hour (the heartbeat: "last checks" and "last seen" stay within an hour, and the
 *    first check after the storer starts is always kept). A check of a URL the configuration does not have is kept
 *    only when it failed or ran in maintenance.
 * The decision is a pure function (rawkeep_decide) over the endpoint's previous state; rawkeep_mark applies it to a
 * batch once, in the order the batch is written, and moves the state on.
 *
 * Counting once: without raw rows there is no UNIQUE (worker, boot_id, seq) to refuse a resent check, so the
 * storer remembers which (worker, boot_id, seq) it has folded (ranges per sender, in memory): rawkeep_mark sets a
 * check's fold flag only when it is not among them (nor earlier in the same batch), and rawkeep_commit adds the
 * batch's once its transaction committed. The memory goes with the storer process: a resend that reaches a
 * restarted storer (a kill -9 between a commit and its ack, or a worker's spool replayed from its start after both
 * restarted) is counted again — at most the checks that were unacknowledged at that moment. */
#ifndef CW_STORER_RAWKEEP_H
#define CW_STORER_RAWKEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "storer/backend.h"
#include "storer/urlindex.h"

/* An endpoint's state at one location, as the previous check left it. */
struct rawkeep_prev { /* 8 bytes: one per endpoint and location (issue 18: 500,000 endpoints) */
    int32_t kept_hour; /* the UTC hour (seconds / 3600) of the last raw row kept; -1 none (an hour fits until
                        * the year 245,000) */
    bool known;        /* a check was seen since the storer started */
    bool ok, slow;     /* that check's */
};

/* Whether a check becomes a raw row. prev NULL: a URL the configuration does not have (no state, no threshold). */
bool rawkeep_decide(enum cw_db_raw mode, const struct rawkeep_prev *prev, bool ok, bool slow, bool maintenance,
                    int64_t hour);
/* The state after a check (kept: whether rawkeep_decide kept it). */
void rawkeep_note(struct rawkeep_prev *prev, bool ok, bool slow, int64_t hour, bool kept);
/* SLOW: latency over the threshold (seconds; 0 or less: none); a push check never is, nor an unmeasured one. */
bool rawkeep_slow(unsigned kind, int64_t latency_us, double threshold_s);

struct rawkeep_sender;
struct rawkeep_state;

struct rawkeep {
    enum cw_db_raw mode;
    const struct cw_config *cfg;    /* not owned */
    struct url_index by_url;        /* url -> index in cfg->endpoints (storer/urlindex.h) */
    struct rawkeep_prev **by_loc;   /* per location index: n_endpoints states */
    char **loc_names;
    size_t n_locs;
    struct rawkeep_sender *senders; /* uthash: the seqs folded, per (worker, boot_id) */
    size_t n_senders;
    uint64_t tick;
    uint64_t kept, folded, refolds; /* since start: raw rows kept, checks folded, resends not folded again */
};

/* Sets for cfg; again at a reload: the mode stays the first set's (a change takes a restart), the folded seqs stay,
 * and each endpoint's state follows its URL to its new index (a new URL starts afresh). cfg outlives the next set
 * or free; the previous cfg must still be alive during the call. */
void rawkeep_set(struct rawkeep *k, const struct cw_config *cfg);
void rawkeep_free(struct rawkeep *k);
/* Sets every check's raw flag (once per batch: b->raw_marked) and fold flag (at every attempt); "all": both true,
 * nothing remembered. */
void rawkeep_mark(struct rawkeep *k, struct store_batch *b);
/* After the batch's transaction committed: its folded checks are remembered. */
void rawkeep_commit(struct rawkeep *k, const struct store_batch *b);

#endif
