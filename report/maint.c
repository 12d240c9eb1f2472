/* report/maint.c — maintenance in `clockwerk report` (see maint.h). */
#include "report/maint.h"

#include "common/config/maintenance.h"

int64_t report_maintenance_ms(const struct cw_config *cfg, const struct cw_endpoint *ep, int64_t since_ms,
                              int64_t until_ms)
{
    int64_t total_us = 0, t = since_ms * 1000, until = until_ms * 1000;
    while (t < until) {
        const struct cw_maintenance *m = maintenance_find(cfg, ep, t);
        int64_t next = m ? maintenance_end(m, t) : maintenance_next_change(cfg, t);
        if (next <= t) next = t + 1000000; /* cannot happen: a change lies after t; never loop in place */
        if (next > until) next = until;
        if (m) total_us += next - t;
        t = next;
    }
    return total_us / 1000;
}

struct maint_read {
    struct report *rep;
    bool late; /* counting the hour holding a past until */
};

static int on_maint(void *ctx, int64_t endpoint_id, int64_t checks, int64_t ok, const char *location)
{
    struct maint_read *mr = ctx;
    if (!store_read_location_match(mr->rep->location, location)) return 0;
    struct report_ep *e = NULL;
    HASH_FIND(by_id, mr->rep->id_table, &endpoint_id, sizeof endpoint_id, e);
    if (!e) return 0;
    e->maint_checks[mr->late] += checks;
    e->maint_ok[mr->late] += ok;
    return 0;
}

int report_read_maintenance(struct report *rep, const struct store_read_backend *b, struct store_reader *r, char *err,
                            size_t errlen)
{
    for (size_t i = 0; i < rep->n; i++)
        rep->eps[i].maint_ms = report_maintenance_ms(rep->cfg, rep->eps[i].ep, rep->since_ms, rep->until_ms);
    if (!rep->id_table) return STORE_OK; /* marks stay when their window has left the configuration: read them */
    int64_t lo = 0, hi = INT64_MAX;
    if (rep->n == 1 && rep->eps[0].db_id >= 0) lo = hi = rep->eps[0].db_id;
    const struct win_split *s = &rep->split;
    int64_t late = rep->until_ms < rep->now_ms && rep->until_ms % WIN_HOUR_MS ? s->hours.to - WIN_HOUR_MS : s->hours.to;
    if (late < s->hours.from) late = s->hours.from;
    struct maint_read mr = { .rep = rep };
    int rc = STORE_OK;
    if (s->hours.from < late) rc = b->maintenance(r, s->hours.from, late, lo, hi, on_maint, &mr, err, errlen);
    mr.late = true;
    if (rc == STORE_OK && late < s->hours.to)
        rc = b->maintenance(r, late, s->hours.to, lo, hi, on_maint, &mr, err, errlen);
    return rc;
}

void report_uptime_counts(const struct report_ep *e, int64_t *checks, int64_t *ok)
{
    int64_t mc = e->maint_checks[0] + (e->late_counted ? e->maint_checks[1] : 0);
    int64_t mo = e->maint_ok[0] + (e->late_counted ? e->maint_ok[1] : 0);
    *checks = e->t.checks > mc ? e->t.checks - mc : 0;
    *ok = e->t.ok > mo ? e->t.ok - mo : 0;
    if (*ok > *checks) *ok = *checks;
}
