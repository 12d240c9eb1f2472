/* storer/retention.c — when the storer prunes (storer/prune.h does the what): one step at a time, only while
 * the database is up and no batch waits to be written, preferably in a loop turn that received nothing; a
 * storer that receives in every turn still gets a step every PRUNE_BUSY_EVERY_NS. A step is sized to take
 * ~25 ms and followed by a pause as long as itself (longer when the backend paces its writes: storer/prune.h),
 * so a batch waits at most one step and pruning takes at most half of the storer's time while it catches up.
 * The retention comes from the configuration the storer holds (a reload, or a restart by the supervisor,
 * applies a new one at the next pass). */
#include <inttypes.h>
#include <stdio.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "storer/storer.h"

#define PRUNE_BUSY_EVERY_NS 1000000000LL

static int prune_on_db(void *ctx, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen)
{
    struct dbconn *c = ctx;
    return c->be->prune(c->db, req, res, err, errlen);
}

void storer_prune_configure(struct storer *s)
{
    const struct cw_config *cfg = s->p.cfg;
    prune_configure(&s->prune, cfg->retention_raw_days, cfg->retention_hourly_days, cfg->retention_daily_days);
}

bool storer_prune_wanted(const struct storer *s) { return s->db.db && s->db.be->prune && prune_enabled(&s->prune); }

void storer_prune(struct storer *s, int64_t now, bool busy)
{
    if (!storer_prune_wanted(s) || storer_work_pending(s) || now < prune_due_at(&s->prune)) return;
    if (busy && now - s->prune_last_step < PRUNE_BUSY_EVERY_NS) return;
    char err[512] = "";
    int64_t t0 = cw_mono_ns();
    int rc = prune_step(&s->prune, prune_on_db, &s->db, t0, cw_wall_us() / 1000000, err, sizeof err);
    int64_t t1 = cw_mono_ns();
    prune_took(&s->prune, t1 - t0);
    s->prune_last_step = t1;
    if (rc == STORE_OK) return;
    if (rc == STORE_RETRY) {
        dbconn_lost(&s->db, err, t1);
        return;
    }
    /* a statement the database refuses: storing goes on, pruning tries again at the next pass */
    if (ratelimit_allow(&s->rl_prune, t1)) log_error("retention: %s (storing goes on; tried again later)", err);
}
