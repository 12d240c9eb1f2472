/* alerter/persist.h — what the alerter's state file (alerter/statefile.h) holds, gathered from the parts
 * that own it, and given back to them at start.
 *
 * DESIGN
 * The state is a base file and a journal (alerter/statejournal.h). A save appends one line: the endpoints whose
 * part of the file changed since the last save (found by a 64-bit hash of that part kept per endpoint,
 * endpoint.saved_hash: no writer has to mark what it changed), the endpoints a reload removed, and the sections
 * (alerts not yet done on every channel, undelivered jobs with their exact bytes, locations, status bits) whose
 * text changed, whole; then the intake's record of applied results (alerter/intake.h), and only then are the
 * results acked to their senders. A crash between the two files may apply a resend twice; it never loses one.
 * The base is written whole at the first save when there is none (or one of before the journal, or a journal
 * this process did not write), and compacted when the journal grows past it: a chunk of at most
 * PERSIST_CHUNK_US right after each save, when what is in memory is what the journal holds; then the journal is
 * shortened, PERSIST_SHORTEN_BYTES after each save (persist_compacting asks the save policy for a save a second
 * meanwhile). When a save happens is alerter/savepolicy.h's decision.
 * A load at start restores the endpoints still configured and hands the alerts and jobs to the dispatch; files
 * that cannot be read are moved aside to alerter.state.bad (and .journal.bad) and the alerter starts with no
 * state. */
#ifndef CW_ALERTER_PERSIST_H
#define CW_ALERTER_PERSIST_H

#include <limits.h>
#include <stdint.h>

#include "alerter/dispatch.h"
#include "alerter/endpoints.h"
#include "alerter/intake.h"
#include "alerter/outbox.h"
#include "alerter/statejournal.h"
#include "common/base/ratelimit.h"
#include "common/config/config.h"

#define PERSIST_CHUNK_US 100000      /* the compaction's work after one save, at most (then the loop goes on) */
#define PERSIST_COMPACT_MIN (1 << 20) /* no compaction for a journal smaller than this */
#define PERSIST_SHORTEN_BYTES (16 << 20) /* the journal's copy after a compaction: at most this much after a save */
#define PERSIST_RETRY_US (60 * 1000000LL) /* no compaction for this long after one failed */

struct persist {
    char path[PATH_MAX]; /* run_dir/STATEFILE_NAME: the base */
    struct statejournal j;
    uint64_t section_hash[STATEFILE_LOCATIONS + 1]; /* of each section's text as last saved (0: not yet) */
    bool need_base;      /* the next save writes the whole base */
    bool fresh;          /* ... and the journal on disk is none of this process's: removed first */
    bool compact_wanted; /* compact at the next save even when the journal is small (stale entries in the files) */
    int64_t compact_after_us; /* monotonic: no compaction before (after a failed one); 0: none failed */
    size_t cp_at;        /* the compaction's next endpoint in its current list (statejournal's cp.list) */
    int64_t saves, errors; /* saves that got the state on disk; failed writes of either file */
    int64_t lines, compactions, base_writes;
    int64_t compact_min; /* PERSIST_COMPACT_MIN, or CLOCKWERK_STATE_COMPACT_MIN (tests: compactions of small files) */
    struct ratelimit rl; /* the error lines of failed saves (retried once a second) */
    struct cw_buf line;  /* the line being written */
};

/* Sets the paths under run_dir (too long: exit 2), and the compaction's threshold (CLOCKWERK_STATE_COMPACT_MIN in
 * the environment: bytes, for tests; not a number >= 0: exit 2). */
void persist_init(struct persist *ps, const char *run_dir);

/* Writes what changed (a journal line, or the whole base when needed), then the intake's applied seqs; failures
 * are logged (rate-limited) and counted. 0 when both are on disk; -1 otherwise: then nothing applied since the
 * last good save may be acked. t: its endpoints' saved hashes and removed URLs are brought up to date. */
int persist_save(struct persist *ps, struct endpoints *t, const struct dispatch *d, const struct outbox *ob,
                 struct intake *in);

/* The compaction's next chunk, right after a persist_save that returned 0 (nothing changed since). */
void persist_compact_step(struct persist *ps, const struct endpoints *t, const struct dispatch *d,
                          const struct outbox *ob);
/* A compaction (or the journal's shortening after it) is under way (the caller saves at least once a second
 * meanwhile). */
bool persist_compacting(const struct persist *ps);
/* The endpoint table was built anew (a reload that moved endpoints, endpoints_build false): a compaction under
 * way starts over. */
void persist_reconfigured(struct persist *ps);

/* Reads the state at start (after endpoints_build): endpoint states into t, alerts and jobs to d (jobs of channels
 * cfg no longer has are dropped). Logs what it restored. */
void persist_load(struct persist *ps, struct endpoints *t, struct dispatch *d, const struct cw_config *cfg,
                  int64_t now_mono);

/* Stops a compaction under way (its temporary file removed) and frees what ps holds. */
void persist_free(struct persist *ps);

#endif
