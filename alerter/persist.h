/* alerter/persist.h — what the alerter's state file (alerter/statefile.h) holds, gathered from the parts
 * that own it, and given back to them at start.
 *
 * DESIGN
 * A save writes the endpoint table (alerter/endpoints.h: only endpoints with something to remember), the
 * alerts not yet done on every channel (alerter/dispatch.h) and the outbox's undelivered jobs with their
 * exact bytes, in one atomic write; then the intake's record of applied results (alerter/intake.h), and only
 * then are the results acked to their senders. A crash between the two files may apply a resend twice; it
 * never loses one. When a save happens is alerter/savepolicy.h's decision.
 * A load at start restores the endpoints still configured and hands the alerts and jobs to the dispatch; a
 * file that cannot be read is moved aside to alerter.state.bad and the alerter starts with no state. */
#ifndef CW_ALERTER_PERSIST_H
#define CW_ALERTER_PERSIST_H

#include <limits.h>
#include <stdint.h>

#include "alerter/dispatch.h"
#include "alerter/endpoints.h"
#include "alerter/intake.h"
#include "alerter/outbox.h"
#include "common/base/ratelimit.h"
#include "common/config/config.h"

struct persist {
    char path[PATH_MAX];   /* run_dir/STATEFILE_NAME */
    int64_t saves, errors; /* state files written; failed writes of either file */
    struct ratelimit rl;   /* the error lines of failed saves (retried once a second) */
};

/* Sets the path under run_dir (too long: exit 2). */
void persist_init(struct persist *ps, const char *run_dir);

/* Writes the state file, then the intake's applied seqs; failures are logged (rate-limited) and counted.
 * 0 when both are on disk; -1 otherwise: then nothing applied since the last good save may be acked. */
int persist_save(struct persist *ps, const struct endpoints *t, const struct dispatch *d, const struct outbox *ob,
                  struct intake *in);

/* Reads the state file at start (after endpoints_build): endpoint states into t, alerts and jobs to d
 * (jobs of channels cfg no longer has are dropped). Logs what it restored. */
void persist_load(struct persist *ps, struct endpoints *t, struct dispatch *d, const struct cw_config *cfg,
                  int64_t now_mono);

#endif
