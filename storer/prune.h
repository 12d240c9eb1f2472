/* storer/prune.h — retention: deleting what database.retention no longer keeps (docs/schema.md "Retention"),
 * in small steps between the storer's batches. This module is the scheduling and batching logic only, the
 * same for every database; each backend gives one primitive (struct store_backend's `prune`, storer/backend.h;
 * storer/sqlite_prune.c, pg_prune.c, mysql_prune.c) that runs one request of struct prune_req.
 *
 * DESIGN
 * A *pass* (every PRUNE_EVERY_MS, default 10 s; env CLOCKWERK_PRUNE_EVERY_MS for tests) walks three phases,
 * each made of *steps*; a step is one or a few autocommit statements, each its own short transaction, and
 * the storer runs one step at a time between its batches (storer/retention.c says when), so a batch waits at
 * most one step. Steps are sized by their measured time: the rows (or endpoints) of the next step grow by half
 * while a step takes under PRUNE_TARGET_NS / 2 and shrink in proportion when it takes longer than
 * PRUNE_TARGET_NS (25 ms: a quarter of the ~100 ms a batch may wait, as a step's cost jumps when SQLite
 * checkpoints its log or a server flushes), within [PRUNE_*_MIN, PRUNE_*_MAX] (prune_adapt). After a step the
 * pass pauses as long as the step took, or longer when the backend asks for it (prune_res.pause_ns: PostgreSQL
 * paces the WAL its deletes write, storer/pg_prune.c).
 *
 * Raw rows (`checks`, raw_days): deleting by time needs an index on checked_at alone, which the schema does
 * not have (checks_endpoint_time starts with the endpoint). Ids grow with insertion, and insertion follows
 * time (a result is stored within seconds of its check; a late one, after an outage, by at most the outage),
 * so the pass walks the primary key instead: each step looks at the next `rows` ids above its cursor (a range
 * of the primary key: cheap in all three databases) and deletes, among them, those with checked_at before the
 * bound. The walk ends at the first step that deletes nothing (a whole chunk inside the retention: the rest is
 * newer) or that reaches the cap. The cap is re-read at every step (PRUNE_OP_CAP): min(rollup_state.
 * last_check_id, max(id) - 1) — never a row the roll-ups have not folded (storer/rollup.h), never the newest
 * row (SQLite would hand out its id again), and a rollup_state without its row (a rebuild is pending) stops
 * the raw phase. A late row older than the bound but above a row inside it waits until the rows before it
 * have gone: it is deleted late, never early.
 *
 * Roll-up cells (`checks_hourly`, hourly_days; `checks_daily`, daily_days): a cell goes when its whole period
 * ends at or before the bound, i.e. period_start < the start of the period that holds the bound. The primary
 * key (endpoint_id, period_start) serves one endpoint's old cells, so the phase walks the endpoints by id
 * (PRUNE_OP_ENDPOINTS) and deletes each one's old cells (PRUNE_OP_CELLS, at most PRUNE_CELLS_MAX a statement;
 * an endpoint with more is visited again). The bound of a cell phase moves once an hour (hourly) or a day
 * (daily), so a phase whose bound has not moved since its last complete walk is skipped: the walk over every
 * endpoint happens once per period, not once per pass.
 *
 * Nothing here deletes anything that is still inside the retention: the bounds are computed from the wall
 * clock at the start of each phase, and every delete carries its bound in the WHERE clause. */
#ifndef CW_STORER_PRUNE_H
#define CW_STORER_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storer/rollup.h"

#define PRUNE_EVERY_MS 10000       /* a pass */
#define PRUNE_TARGET_NS 25000000LL /* a step's time the sizes aim at */
#define PRUNE_ROWS_MIN 100
#define PRUNE_ROWS_START 2000
#define PRUNE_ROWS_MAX 20000
#define PRUNE_EPS_MIN 1
#define PRUNE_EPS_START 50
#define PRUNE_EPS_MAX 1000   /* endpoints a cell step visits */
#define PRUNE_CELLS_MAX 2000 /* cells one statement deletes */

enum prune_op {
    PRUNE_OP_CAP,       /* res->value: min(watermark, max(checks.id) - 1); -1 when rollup_state has no row */
    PRUNE_OP_RAW,       /* among the ids in (after, cap], the lowest `max`: res->n of them looked at, res->value
                         * the highest, res->deleted those with checked_at < before_s deleted */
    PRUNE_OP_ENDPOINTS, /* the endpoints.id above `after`, ascending, at most max, into ids; res->n */
    PRUNE_OP_CELLS,     /* endpoint_id's cells of `period` with period_start < before_s, the oldest, at most max:
                         * res->deleted */
};

struct prune_req {
    enum prune_op op;
    int64_t after, cap, before_s, endpoint_id;
    enum rollup_period period;
    size_t max;
    int64_t *ids; /* PRUNE_OP_ENDPOINTS: room for max */
};

struct prune_res {
    int64_t value;
    size_t n, deleted;
    int64_t pause_ns; /* at least this long a pause after the step (a backend that paces its writes: PostgreSQL's
                       * WAL, storer/pg_prune.c); 0: the engine's own pause, as long as the step */
};

/* A backend's primitive: one request, each statement its own transaction (autocommit), outside any
 * transaction of the caller. STORE_OK, STORE_RETRY or STORE_FATAL with err set (storer/backend.h). */
typedef int (*prune_fn)(void *ctx, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen);

enum prune_phase { PRUNE_IDLE, PRUNE_RAW, PRUNE_HOURLY, PRUNE_DAILY };

struct prune_counts {
    uint64_t raw, hourly, daily;
};

struct prune {
    int days[3]; /* raw, hourly, daily; 0: forever */
    int64_t every_ns;
    enum prune_phase phase;
    enum prune_phase stepped; /* the phase of the last step (prune_took sizes its next) */
    int64_t next_ns;          /* monotonic: the next step (a pass in progress) or the next pass */
    int64_t pause_ns;         /* the sum of the pauses the last step's requests asked for (prune_res.pause_ns) */
    /* the phase in progress */
    int64_t before_s; /* its bound */
    int64_t after;    /* raw: the last id looked at; cells: the last endpoint done */
    int64_t *eps;     /* PRUNE_EPS_MAX endpoint ids fetched */
    size_t n_eps, i_eps;
    int64_t done_before[2]; /* hourly, daily: the bound of the last complete walk (0: none) */
    size_t rows, endpoints; /* adaptive step sizes */
    /* the pass in progress, and since start */
    struct prune_counts pass, total, logged; /* logged: total at the last summary line */
    int64_t pass_start_ns, longest_step_ns, last_progress_ns, last_log_ns;
    int64_t longest_ever_ns; /* the longest step since start (the stats) */
    unsigned steps;
    uint64_t passes;
};

void prune_init(struct prune *p, int64_t now_ns);
void prune_free(struct prune *p);
/* The days to keep (the configuration, read before each pass: a reload takes effect at the next pass). A
 * change makes the cell phases walk again. */
void prune_configure(struct prune *p, int raw_days, int hourly_days, int daily_days);
/* Whether there is anything to do at all (some retention is not "forever"). */
bool prune_enabled(const struct prune *p);
/* When the next step is due (monotonic ns); a pass in progress is due at once after its pause. */
int64_t prune_due_at(const struct prune *p);
/* Runs one step at monotonic now_ns and wall-clock wall_s (UTC seconds): starts a pass when one is due.
 * took_ns: how long the step took (the caller measures, so that tests can drive the sizes). Returns STORE_OK,
 * or the primitive's error: the pass is abandoned (the next starts after PRUNE_EVERY_MS). */
int prune_step(struct prune *p, prune_fn fn, void *ctx, int64_t now_ns, int64_t wall_s, char *err, size_t errlen);
/* After a step: adapts the size of the next step of the same phase to took_ns, and pauses the pass as long
 * as the step took (pruning takes at most half of the storer's time), or as long as the backend asked for
 * when that is longer. */
void prune_took(struct prune *p, int64_t took_ns);
/* The next size for a step of size cur that took took_ns, within [lo, hi]. */
size_t prune_adapt(size_t cur, int64_t took_ns, size_t lo, size_t hi);
/* The cell bound of a phase: the start of the hour (day) that holds wall_s - days, as UTC seconds. */
int64_t prune_cell_bound(int64_t wall_s, int days, enum rollup_period period);

#endif
