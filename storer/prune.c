/* storer/prune.c — the retention engine: passes, phases and adaptive steps (storer/prune.h has the design). */
#include "storer/prune.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/log.h"
#include "common/base/util.h"
#include "common/proc/proc.h"
#include "storer/backend.h"

#define DAY_S 86400
#define PROGRESS_EVERY_NS 10000000000LL /* a long pass says how far it got */
#define LOG_EVERY_NS 60000000000LL      /* the summary of what was removed, at most once a minute */

void prune_init(struct prune *p, int64_t now_ns)
{
    memset(p, 0, sizeof *p);
    p->every_ns = (int64_t)proc_env_u64("CLOCKWERK_PRUNE_EVERY_MS", 1, PRUNE_EVERY_MS) * 1000000;
    p->next_ns = now_ns; /* the first pass at the first idle moment */
    p->rows = PRUNE_ROWS_START;
    p->endpoints = PRUNE_EPS_START;
    p->eps = cw_xcalloc(PRUNE_EPS_MAX, sizeof *p->eps);
    p->last_log_ns = now_ns - LOG_EVERY_NS;
}

void prune_free(struct prune *p)
{
    free(p->eps);
    p->eps = NULL;
}

void prune_configure(struct prune *p, int raw_days, int hourly_days, int daily_days)
{
    int d[3] = { raw_days, hourly_days, daily_days };
    if (memcmp(d, p->days, sizeof d) == 0) return;
    memcpy(p->days, d, sizeof d);
    p->done_before[0] = p->done_before[1] = 0;
}

bool prune_enabled(const struct prune *p) { return p->days[0] || p->days[1] || p->days[2]; }

int64_t prune_due_at(const struct prune *p) { return p->next_ns; }

size_t prune_adapt(size_t cur, int64_t took_ns, size_t lo, size_t hi)
{
    size_t next = cur;
    if (took_ns < PRUNE_TARGET_NS / 2) next = cur + cur / 2; /* grows by half: a step's cost is not linear */
    else if (took_ns > PRUNE_TARGET_NS) next = (size_t)((double)cur * (double)PRUNE_TARGET_NS / (double)took_ns);
    return next < lo ? lo : next > hi ? hi : next;
}

int64_t prune_cell_bound(int64_t wall_s, int days, enum rollup_period period)
{
    int64_t len = period == ROLLUP_HOUR ? 3600 : DAY_S, b = wall_s - (int64_t)days * DAY_S;
    int64_t q = b / len;
    if (b % len < 0) q--;
    return q * len;
}

/* Moves to the next phase that has work (IDLE at the end of the pass), computing its bound. */
static void next_phase(struct prune *p, int64_t wall_s)
{
    for (;;) {
        if (p->phase == PRUNE_DAILY) {
            p->phase = PRUNE_IDLE;
            return;
        }
        p->phase++;
        int days = p->days[p->phase - PRUNE_RAW];
        if (!days) continue;
        p->after = 0;
        p->n_eps = p->i_eps = 0;
        if (p->phase == PRUNE_RAW) {
            p->before_s = wall_s - (int64_t)days * DAY_S;
            return;
        }
        enum rollup_period per = p->phase == PRUNE_HOURLY ? ROLLUP_HOUR : ROLLUP_DAY;
        p->before_s = prune_cell_bound(wall_s, days, per);
        if (p->before_s != p->done_before[per]) return; /* else: walked with this bound already */
    }
}

static void log_pass(struct prune *p, int64_t now_ns, bool done)
{
    const struct prune_counts *c = &p->pass;
    if (!c->raw && !c->hourly && !c->daily) return;
    double secs = (double)(now_ns - p->pass_start_ns) / 1e9;
    if (!done) {
        log_info("retention: pruning for %.0f s so far: %" PRIu64 " raw rows (up to id %" PRId64 "), %" PRIu64
                 " hourly and %" PRIu64 " daily roll-up cells removed",
                 secs, c->raw, p->phase == PRUNE_RAW ? p->after : 0, c->hourly, c->daily);
        return;
    }
    if (now_ns - p->last_log_ns < LOG_EVERY_NS && secs < 1.0) return; /* a routine pass, summed in the next line */
    char raw_days[32] = "kept forever";
    if (p->days[0]) snprintf(raw_days, sizeof raw_days, "older than %d days", p->days[0]);
    log_info("retention: removed %" PRIu64 " raw rows (%s), %" PRIu64 " hourly and %" PRIu64
             " daily roll-up cells since the last report; this pass %.1f s in %u steps, the longest %.0f ms",
             p->total.raw - p->logged.raw, raw_days, p->total.hourly - p->logged.hourly,
             p->total.daily - p->logged.daily, secs, p->steps, (double)p->longest_step_ns / 1e6);
    p->logged = p->total;
    p->last_log_ns = now_ns;
}

static void count(struct prune *p, size_t n)
{
    uint64_t *pass = p->phase == PRUNE_RAW ? &p->pass.raw : p->phase == PRUNE_HOURLY ? &p->pass.hourly : &p->pass.daily;
    uint64_t *total = p->phase == PRUNE_RAW      ? &p->total.raw
                      : p->phase == PRUNE_HOURLY ? &p->total.hourly
                                                 : &p->total.daily;
    *pass += n;
    *total += n;
}

/* One raw step: the cap, then the next chunk of ids above the cursor. *phase_done when the walk ends. */
static int raw_step(struct prune *p, prune_fn fn, void *ctx, bool *phase_done, char *err, size_t errlen)
{
    struct prune_res res = { 0 };
    int rc = fn(ctx, &(struct prune_req){ .op = PRUNE_OP_CAP }, &res, err, errlen);
    if (rc != STORE_OK) return rc;
    int64_t cap = res.value;
    if (cap <= p->after) { /* nothing folded above the cursor (or a rebuild is pending: -1) */
        *phase_done = true;
        return STORE_OK;
    }
    struct prune_req req = {
        .op = PRUNE_OP_RAW, .after = p->after, .cap = cap, .before_s = p->before_s, .max = p->rows
    };
    res = (struct prune_res){ 0 };
    if ((rc = fn(ctx, &req, &res, err, errlen)) != STORE_OK) return rc;
    count(p, res.deleted);
    p->pause_ns += res.pause_ns;
    if (res.n) p->after = res.value;
    *phase_done = res.n < req.max || res.deleted == 0;
    return STORE_OK;
}

/* One cell step: up to p->endpoints endpoints, each one's old cells (an endpoint that had more than a
 * statement deletes is visited again). */
static int cell_step(struct prune *p, prune_fn fn, void *ctx, bool *phase_done, char *err, size_t errlen)
{
    enum rollup_period per = p->phase == PRUNE_HOURLY ? ROLLUP_HOUR : ROLLUP_DAY;
    for (size_t visited = 0; visited < p->endpoints;) {
        if (p->i_eps == p->n_eps) {
            struct prune_res res = { 0 };
            struct prune_req req = { .op = PRUNE_OP_ENDPOINTS, .after = p->after, .max = PRUNE_EPS_MAX, .ids = p->eps };
            int rc = fn(ctx, &req, &res, err, errlen);
            if (rc != STORE_OK) return rc;
            p->n_eps = res.n < PRUNE_EPS_MAX ? res.n : PRUNE_EPS_MAX;
            p->i_eps = 0;
            if (!p->n_eps) {
                p->done_before[per] = p->before_s;
                *phase_done = true;
                return STORE_OK;
            }
        }
        int64_t ep = p->eps[p->i_eps];
        struct prune_res res = { 0 };
        struct prune_req req = {
            .op = PRUNE_OP_CELLS, .endpoint_id = ep, .period = per, .before_s = p->before_s, .max = PRUNE_CELLS_MAX
        };
        int rc = fn(ctx, &req, &res, err, errlen);
        if (rc != STORE_OK) return rc;
        count(p, res.deleted);
        p->pause_ns += res.pause_ns;
        visited++;
        if (res.deleted >= PRUNE_CELLS_MAX) continue; /* more of this endpoint's cells */
        p->after = ep;
        p->i_eps++;
    }
    return STORE_OK;
}

int prune_step(struct prune *p, prune_fn fn, void *ctx, int64_t now_ns, int64_t wall_s, char *err, size_t errlen)
{
    if (!prune_enabled(p) || now_ns < p->next_ns) return STORE_OK;
    if (p->phase == PRUNE_IDLE) {
        p->pass = (struct prune_counts){ 0 };
        p->pass_start_ns = p->last_progress_ns = now_ns;
        p->steps = 0;
        p->longest_step_ns = 0;
        next_phase(p, wall_s);
    }
    bool phase_done = false;
    int rc = STORE_OK;
    p->stepped = p->phase;
    p->pause_ns = 0;
    if (p->phase == PRUNE_RAW) rc = raw_step(p, fn, ctx, &phase_done, err, errlen);
    else if (p->phase != PRUNE_IDLE) rc = cell_step(p, fn, ctx, &phase_done, err, errlen);
    else phase_done = true;
    p->steps++;
    if (rc != STORE_OK) {
        p->phase = PRUNE_IDLE;
        p->next_ns = now_ns + p->every_ns;
        return rc;
    }
    if (phase_done && p->phase != PRUNE_IDLE) next_phase(p, wall_s);
    if (p->phase == PRUNE_IDLE) {
        p->passes++;
        p->next_ns = now_ns + p->every_ns;
        log_pass(p, now_ns, true);
    } else {
        p->next_ns = now_ns;
        if (now_ns - p->last_progress_ns >= PROGRESS_EVERY_NS) {
            log_pass(p, now_ns, false);
            p->last_progress_ns = now_ns;
        }
    }
    return STORE_OK;
}

void prune_took(struct prune *p, int64_t took_ns)
{
    if (took_ns > p->longest_step_ns) p->longest_step_ns = took_ns;
    if (took_ns > p->longest_ever_ns) p->longest_ever_ns = took_ns;
    if (p->stepped == PRUNE_RAW) p->rows = prune_adapt(p->rows, took_ns, PRUNE_ROWS_MIN, PRUNE_ROWS_MAX);
    else if (p->stepped != PRUNE_IDLE) p->endpoints = prune_adapt(p->endpoints, took_ns, PRUNE_EPS_MIN, PRUNE_EPS_MAX);
    /* a pause as long as the step (at most half the time), or what the backend asked for when longer */
    if (p->phase != PRUNE_IDLE) p->next_ns += took_ns > p->pause_ns ? took_ns : p->pause_ns;
}
