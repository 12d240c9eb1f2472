/* alerter/persist.c — the state file assembled from the endpoints, the alerts and the outbox, and given back
 * (see persist.h). */
#include "alerter/persist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/statefile.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"

void persist_init(struct persist *ps, const char *run_dir)
{
    memset(ps, 0, sizeof *ps);
    ps->rl.what = "state-file errors";
    if (snprintf(ps->path, sizeof ps->path, "%s/%s", run_dir, STATEFILE_NAME) >= (int)sizeof ps->path)
        fatal(2, "run_dir is too long");
}

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

/* Who sees what on the multi-location endpoints whose locations do not all see them up (for `clockwerk status`;
 * the summaries are the only copies made, freed by gathered_free). */
static void gather_votes(struct statefile_data *d, const struct endpoints *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct endpoint *e = &t->all[i];
        bool all_up = true;
        for (size_t k = 0; k < e->n_votes && all_up; k++)
            all_up = e->votes[k].v.vote == QUORUM_UP &&
                     locations_live(t->locs, locations_find(t->locs, e->votes[k].location));
        if (e->n_votes == 0 || all_up) continue;
        if (!d->votes) d->votes = cw_xcalloc(t->n, sizeof *d->votes);
        char summary[1024];
        endpoints_location_summary(t, e, summary, sizeof summary);
        d->votes[d->n_votes++] =
            (struct statefile_vote){ .url = e->ep->url, .verdict = e->verdict, .summary = cw_xstrdup(summary) };
    }
}

/* Each location's vote on the multi-location endpoints not plainly up everywhere (restored at start: a restart
 * mid-outage neither ends nor repeats it). Pointers into t; the array is freed by gathered_free. */
static void gather_voters(struct statefile_data *d, const struct endpoints *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct endpoint *e = &t->all[i];
        bool plain = e->st.avail == ASTATE_UP;
        for (size_t k = 0; k < e->n_votes && plain; k++) plain = e->votes[k].v.vote == QUORUM_UP;
        if (e->n_votes == 0 || plain) continue;
        d->voters = cw_xrealloc(d->voters, (d->n_voters + e->n_votes) * sizeof *d->voters);
        for (size_t k = 0; k < e->n_votes; k++)
            d->voters[d->n_voters++] = (struct statefile_voter){ .url = (char *)e->ep->url,
                                                                 .location = (char *)e->votes[k].location,
                                                                 .v = e->votes[k].v,
                                                                 .boot_id = e->votes[k].boot_id,
                                                                 .checked_us = e->votes[k].checked_us };
    }
}

/* Fills d with pointers into the owners' data (nothing is copied but the arrays, freed by gathered_free). */
static void gather(struct statefile_data *d, const struct endpoints *t, const struct dispatch *disp,
                   const struct outbox *ob)
{
    memset(d, 0, sizeof *d);
    d->eps = cw_xcalloc(t->n ? t->n : 1, sizeof *d->eps);
    d->plain = (struct statefile_plain){ .fingerprint = t->fingerprint,
                                         .n = t->n,
                                         .up = cw_xcalloc(t->n ? t->n : 1, 1),
                                         .worker_last_us = t->worker_last_us,
                                         .n_workers = t->n_workers };
    for (size_t i = 0; i < t->n; i++) {
        const struct endpoint *e = &t->all[i];
        if (!worth_saving(e)) { /* for `clockwerk status`: up, or never checked */
            d->plain.up[i] = e->st.avail == ASTATE_UP;
            continue;
        }
        d->eps[d->n_eps++] = (struct statefile_endpoint){ .url = e->ep->url,
                                                          .st = e->st,
                                                          .last_status = e->last_status,
                                                          .last_latency_us = e->last.latency_us,
                                                          .last_error = e->last.error,
                                                          .last_checked_us = e->last.checked_us,
                                                          .inc = *endpoint_incident(e),
                                                          .notified = e->notified,
                                                          .resends = e->resends,
                                                          .flap = e->flap };
    }
    const struct locations *locs = t->locs;
    if (locs && locs->judged) { /* a single location has nothing to remember */
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
    gather_votes(d, t);
    gather_voters(d, t);
    d->alerts = disp->alerts;
    d->n_alerts = disp->n_alerts;
    d->alert_held = cw_xcalloc(disp->n_alerts ? disp->n_alerts : 1, sizeof *d->alert_held);
    for (size_t i = 0; i < disp->n_alerts; i++) d->alert_held[i] = disp->alerts[i]->held;
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

static void gathered_free(struct statefile_data *d)
{
    for (size_t i = 0; i < d->n_votes; i++) free(d->votes[i].summary);
    free(d->votes);
    free(d->voters);
    free(d->locs);
    free(d->eps);
    free(d->plain.up);
    free(d->alert_held);
    free(d->jobs);
}

int persist_save(struct persist *ps, const struct endpoints *t, const struct dispatch *d, const struct outbox *ob,
                 struct intake *in)
{
    struct statefile_data data;
    gather(&data, t, d, ob);
    char err[PATH_MAX + 256];
    int rc = 0;
    if (statefile_save(ps->path, &data, err, sizeof err) != 0) {
        ps->errors++;
        rc = -1;
        if (ratelimit_allow(&ps->rl, cw_mono_ns()))
            log_error("cannot save the alerter state (results are not acked until it is saved): %s", err);
    } else {
        ps->saves++;
        /* then the applied seqs (a crash in between may apply a resend twice; never lose one) */
        if (intake_commit(in, err, sizeof err) != 0) {
            ps->errors++;
            rc = -1;
            if (ratelimit_allow(&ps->rl, cw_mono_ns())) log_error("cannot save the applied sequence numbers: %s", err);
        }
    }
    gathered_free(&data);
    return rc;
}

/* Takes the endpoint's incident and flap history from the file; a file of before incidents lacks them: its
 * channels were told of its state then (a DOWN in it was alerted), and that DOWN is its open incident. */
static void restore_incident(struct endpoint *e, struct statefile_endpoint *saved)
{
    struct incident *inc = endpoint_incident_mut(e);
    incident_free(inc);
    *inc = saved->inc;
    memset(&saved->inc, 0, sizeof saved->inc);
    e->flap = saved->flap;
    e->resends = saved->resends;
    inc->failed = e->st.failed_count; /* not in the file: those of the current DOWN */
    e->notified = saved->notified;
    if (e->notified == INCIDENT_NOTIFIED_UNSET) {
        e->notified = e->st.avail;
        if (e->st.avail == ASTATE_DOWN) {
            incident_open(inc, alert_make_id(e->ep->url, CW_ALERT_DOWN, e->st.state_since_us, 0), e->st.state_since_us);
            inc->opened_wall_us = e->st.last_notify_us; /* about when its DOWN went out */
        }
    }
    endpoint_incident_release(e); /* a closed one is history: not kept in memory (alerter/endpoints.h) */
}

/* Restores the states of the endpoints still configured: how many, and how many of them are down. */
static size_t restore_endpoints(struct endpoints *t, struct statefile_data *d, size_t *down)
{
    size_t restored = 0;
    for (size_t i = 0; i < d->n_eps; i++) {
        struct endpoint *e = endpoints_find(t, d->eps[i].url);
        if (!e) continue;
        e->st = d->eps[i].st;
        restore_incident(e, &d->eps[i]);
        e->last_status = d->eps[i].last_status;
        e->last.latency_us = d->eps[i].last_latency_us;
        e->last.checked_us = d->eps[i].last_checked_us; /* the at of escalations and reconciles before a result */
        if (d->eps[i].last_error && d->eps[i].last_error[0]) e->last.error = cw_xstrdup(d->eps[i].last_error);
        restored++;
        *down += e->st.avail == ASTATE_DOWN;
    }
    return restored;
}

/* The votes of the locations each endpoint is still checked from. */
static void restore_voters(struct endpoints *t, const struct statefile_data *d)
{
    for (size_t i = 0; i < d->n_voters; i++) {
        const struct statefile_voter *sv = &d->voters[i];
        struct endpoint *e = sv->url ? endpoints_find(t, sv->url) : NULL;
        for (size_t k = 0; e && sv->location && k < e->n_votes; k++) {
            if (strcmp(e->votes[k].location, sv->location) != 0) continue;
            e->votes[k].v = sv->v;
            e->votes[k].boot_id = sv->boot_id;
            e->votes[k].checked_us = sv->checked_us;
            e->verdict = e->st.avail; /* the verdict the state machine holds (enum quorum_vote = astate_avail) */
        }
    }
}

/* The locations still configured: a silent one stays silent (no second alert), the others start unknown (heard
 * again soon, or silent after location_silent_after); their last word and offset are shown meanwhile. */
static void restore_locations(struct locations *locs, const struct statefile_data *d)
{
    for (size_t i = 0; locs && i < d->n_locs; i++) {
        struct location *l = locations_find(locs, d->locs[i].name);
        if (!l) continue;
        l->heard_wall_us = d->locs[i].heard_wall_us;
        l->back_at_us = d->locs[i].back_at_us;
        l->offset_us = d->locs[i].offset_us;
        if (d->locs[i].state != CW_LOCATION_SILENT || !locs->judged) continue;
        l->state = CW_LOCATION_SILENT;
        l->silent_since_us = d->locs[i].silent_since_us;
    }
}

void persist_load(struct persist *ps, struct endpoints *t, struct dispatch *d, const struct cw_config *cfg,
                  int64_t now_mono)
{
    struct statefile_data data;
    char err[PATH_MAX + 256];
    int rc = statefile_load(ps->path, &data, err, sizeof err);
    if (rc < 0) {
        char aside[PATH_MAX + 8];
        snprintf(aside, sizeof aside, "%s.bad", ps->path);
        log_error("%s; moved aside to %s, starting with no state", err, aside);
        if (rename(ps->path, aside) != 0) log_error("cannot rename %s: %s", ps->path, strerror(errno));
        return;
    }
    if (rc == 0) {
        log_info("no state file %s: every endpoint starts unknown", ps->path);
        return;
    }
    size_t down = 0, restored = restore_endpoints(t, &data, &down);
    restore_locations(t->locs, &data);
    restore_voters(t, &data);
    size_t jobs = dispatch_restore(d, cfg, &data, now_mono);
    statefile_data_free(&data);
    log_info("state restored from %s: %zu endpoint%s (%zu down), %zu alert%s, %zu undelivered message%s", ps->path,
             restored, cw_plural((long long)restored), down, d->n_alerts, cw_plural((long long)d->n_alerts), jobs,
             cw_plural((long long)jobs));
}
