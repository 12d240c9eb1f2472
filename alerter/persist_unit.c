/* alerter/persist_unit.c — what of the alerter goes into its state file, gathered: an endpoint's unit (record,
 * voters, vote) with the hash that tells the journal it changed, and the whole sections (see persist_int.h). */
#include "alerter/persist_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/util.h"

/* An endpoint plainly up (and not slow, no run under way, nothing held back from its channels, no recent failure
 * for flap detection) behaves exactly like an unknown one after a restart: it is left out, so the file holds
 * only endpoints with something to remember. */
static bool worth_saving(const struct endpoint *e)
{
    const struct astate *st = &e->st;
    bool plain = (st->avail == ASTATE_UNKNOWN || st->avail == ASTATE_UP) && st->speed != ASTATE_SLOW &&
                 st->fail_run == 0 && st->slow_run == 0 && st->tls_notified_us == 0;
    const struct incident *inc = endpoint_incident(e);
    bool incident = inc->open || e->notified == ASTATE_DOWN || inc->n_children;
    bool flap = e->flap.flapping || e->flap.failed != 0;
    return !plain || incident || flap;
}

/* Who sees what on a multi-location endpoint whose locations do not all see it up (for `clockwerk status`). */
static bool gather_vote(const struct endpoints *t, const struct endpoint *e, struct persist_unit *u)
{
    bool all_up = true;
    for (size_t k = 0; k < e->n_votes && all_up; k++)
        all_up = e->votes[k].v.vote == QUORUM_UP && locations_live(t->locs, locations_find(t->locs, e->votes[k].location));
    if (e->n_votes == 0 || all_up) return false;
    endpoints_location_summary(t, e, u->summary, sizeof u->summary);
    u->vote = (struct statefile_vote){ .url = (char *)e->ep->url, .verdict = e->verdict, .summary = u->summary };
    return true;
}

/* Each location's vote on a multi-location endpoint not plainly up everywhere (restored at start: a restart
 * mid-outage neither ends nor repeats it). */
static size_t gather_voters(const struct endpoint *e, struct persist_unit *u)
{
    bool plain = e->st.avail == ASTATE_UP;
    for (size_t k = 0; k < e->n_votes && plain; k++) plain = e->votes[k].v.vote == QUORUM_UP;
    if (e->n_votes == 0 || plain) return 0;
    for (size_t k = 0; k < e->n_votes; k++)
        u->voters[k] = (struct statefile_voter){ .url = (char *)e->ep->url,
                                                 .location = (char *)e->votes[k].location,
                                                 .v = e->votes[k].v,
                                                 .boot_id = e->votes[k].boot_id,
                                                 .checked_us = e->votes[k].checked_us };
    return e->n_votes;
}

uint64_t persist_gather_unit(const struct endpoints *t, const struct endpoint *e, struct persist_unit *u)
{
    u->has_rec = worth_saving(e);
    if (u->has_rec)
        u->rec = (struct statefile_endpoint){ .url = (char *)e->ep->url,
                                              .st = e->st,
                                              .last_status = e->last_status,
                                              .last_latency_us = e->last.latency_us,
                                              .last_error = e->last.error,
                                              .last_checked_us = e->last.checked_us,
                                              .inc = *endpoint_incident(e),
                                              .notified = e->notified,
                                              .resends = e->resends,
                                              .flap = e->flap };
    u->n_voters = e->n_votes ? gather_voters(e, u) : 0;
    u->has_vote = e->n_votes ? gather_vote(t, e, u) : false;
    return statefile_unit_hash(u->has_rec ? &u->rec : NULL, u->voters, u->n_voters, u->has_vote ? &u->vote : NULL);
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return p;
    *cap = *cap ? *cap * 2 : 64;
    if (*cap < need) *cap = need;
    return cw_xrealloc(p, *cap * size);
}

void persist_lists_add(struct persist_lists *pl, const struct persist_unit *u, bool rec, bool voters, bool vote)
{
    struct statefile_data *d = &pl->d;
    if (rec && u->has_rec) {
        d->eps = grow(d->eps, &pl->cap_eps, d->n_eps + 1, sizeof *d->eps);
        d->eps[d->n_eps++] = u->rec;
    }
    if (voters && u->n_voters) {
        d->voters = grow(d->voters, &pl->cap_voters, d->n_voters + u->n_voters, sizeof *d->voters);
        memcpy(d->voters + d->n_voters, u->voters, u->n_voters * sizeof *u->voters);
        d->n_voters += u->n_voters;
    }
    if (vote && u->has_vote) {
        d->votes = grow(d->votes, &pl->cap_votes, d->n_votes + 1, sizeof *d->votes);
        d->votes[d->n_votes] = u->vote;
        d->votes[d->n_votes++].summary = cw_xstrdup(u->summary);
    }
}

void persist_lists_clear(struct persist_lists *pl)
{
    for (size_t i = 0; i < pl->d.n_votes; i++) free(pl->d.votes[i].summary);
    pl->d.n_eps = pl->d.n_voters = pl->d.n_votes = 0;
}

void persist_lists_free(struct persist_lists *pl)
{
    persist_lists_clear(pl);
    free(pl->d.eps);
    free(pl->d.voters);
    free(pl->d.votes);
    memset(pl, 0, sizeof *pl);
}

static void gather_locations(struct statefile_data *d, const struct locations *locs)
{
    if (!locs || !locs->judged) return; /* a single location has nothing to remember */
    d->locs = cw_xcalloc(locs->n, sizeof *d->locs);
    for (size_t i = 0; i < locs->n; i++) {
        const struct location *l = &locs->all[i];
        d->locs[d->n_locs++] = (struct statefile_location){ .name = (char *)l->name,
                                                            .state = l->state,
                                                            .heard_wall_us = l->heard_wall_us,
                                                            .silent_since_us = l->silent_since_us,
                                                            .back_at_us = l->back_at_us,
                                                            .offset_us = l->offset_us };
    }
}

static void gather_jobs(struct statefile_data *d, const struct outbox *ob)
{
    d->n_jobs = outbox_count(ob);
    d->jobs = cw_xcalloc(d->n_jobs ? d->n_jobs : 1, sizeof *d->jobs);
    for (size_t i = 0; i < d->n_jobs; i++) {
        const struct outbox_job *j = outbox_job_at(ob, i);
        d->jobs[i] = (struct statefile_job){ .key = j->key,
                                             .channel = j->channel,
                                             .chan = j->chan,
                                             .method = j->method,
                                             .target = j->target,
                                             .headers = j->headers,
                                             .n_headers = j->n_headers,
                                             .dest = j->dest,
                                             .ids = j->alert_ids,
                                             .n_ids = j->n_ids,
                                             .payload = j->payload,
                                             .payload_len = j->payload_len,
                                             .attempts = j->attempts,
                                             .sent = j->sent,
                                             .refused = j->refused };
    }
}

void persist_gather_sections(struct statefile_data *d, const struct endpoints *t, const struct dispatch *disp,
                             const struct outbox *ob)
{
    d->plain = (struct statefile_plain){ .fingerprint = t->fingerprint,
                                         .n = t->n,
                                         .up = cw_xcalloc(t->n ? t->n : 1, 1),
                                         .worker_last_us = t->worker_last_us,
                                         .n_workers = t->n_workers };
    for (size_t i = 0; i < t->n; i++) /* for `clockwerk status`: those left out of "endpoints" that are up */
        d->plain.up[i] = t->all[i].st.avail == ASTATE_UP && !worth_saving(&t->all[i]);
    gather_locations(d, t->locs);
    d->alerts = disp->alerts;
    d->n_alerts = disp->n_alerts;
    d->alert_held = cw_xcalloc(disp->n_alerts ? disp->n_alerts : 1, sizeof *d->alert_held);
    for (size_t i = 0; i < disp->n_alerts; i++) d->alert_held[i] = disp->alerts[i]->held;
    gather_jobs(d, ob);
}

void persist_sections_free(struct statefile_data *d)
{
    free(d->plain.up);
    free(d->locs);
    free(d->alert_held);
    free(d->jobs);
    d->plain.up = NULL;
    d->locs = NULL;
    d->alert_held = NULL;
    d->jobs = NULL;
}
