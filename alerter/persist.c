/* alerter/persist.c — the state file assembled from the endpoints, the alerts and the outbox as a journal line
 * or a whole base, compacted in chunks, and given back at start (see persist.h). */
#include "alerter/persist.h"
#include "alerter/persist_int.h"

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
    statejournal_init(&ps->j, ps->path, 0, 0);
    ps->need_base = ps->fresh = true; /* until a load finds a base with its journal */
    ps->compact_min = PERSIST_COMPACT_MIN;
    const char *min = getenv("CLOCKWERK_STATE_COMPACT_MIN");
    if (min) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(min, &end, 10);
        if (errno || end == min || *end || v < 0) fatal(2, "CLOCKWERK_STATE_COMPACT_MIN=%s: not a number of bytes", min);
        ps->compact_min = v;
    }
}

static void failed(struct persist *ps, const char *what, const char *err)
{
    ps->errors++;
    if (ratelimit_allow(&ps->rl, cw_mono_ns())) log_error("%s: %s", what, err);
}

/* The hash of the text of d's section s ("plain" without its workers: they move with every result, and go alone). */
static uint64_t section_hash(const struct statefile_data *d, enum statefile_section s, struct cw_buf *scratch)
{
    struct statefile_data bits = { .plain = d->plain };
    bits.plain.n_workers = 0;
    cw_buf_reset(scratch);
    statefile_section_text(s == STATEFILE_PLAIN ? &bits : d, s, scratch);
    return cw_hash64_mem(scratch->data, scratch->len) | 1;
}

/* Which sections of d changed since the last save (their hashes in h); the workers always go (they move with
 * every result, and are a few bytes). */
static void sections_changed(const struct persist *ps, const struct statefile_data *d, bool *section, uint64_t *h,
                             struct cw_buf *scratch)
{
    for (enum statefile_section s = STATEFILE_PLAIN; s <= STATEFILE_LOCATIONS; s++) {
        h[s] = s == STATEFILE_WORKERS ? 0 : section_hash(d, s, scratch);
        section[s] = s == STATEFILE_WORKERS || h[s] != ps->section_hash[s];
    }
    if (section[STATEFILE_PLAIN]) section[STATEFILE_WORKERS] = false; /* in it */
}

/* The whole base: every endpoint's unit and every section. */
static int save_base(struct persist *ps, struct endpoints *t, const struct dispatch *disp, const struct outbox *ob,
                     char *err, size_t errlen)
{
    struct persist_lists pl = { 0 };
    struct persist_unit u;
    uint64_t *hashes = cw_xmalloc((t->n ? t->n : 1) * sizeof *hashes);
    for (size_t i = 0; i < t->n; i++) {
        hashes[i] = persist_gather_unit(t, &t->all[i], &u);
        persist_lists_add(&pl, &u, true, true, true);
    }
    persist_gather_sections(&pl.d, t, disp, ob);
    int rc = statejournal_write_base(&ps->j, &pl.d, ps->fresh, err, errlen);
    if (rc == 0) {
        for (size_t i = 0; i < t->n; i++) t->all[i].saved_hash = hashes[i];
        bool section[STATEFILE_LOCATIONS + 1];
        sections_changed(ps, &pl.d, section, ps->section_hash, &ps->line);
        endpoints_gone_clear(t);
        ps->need_base = ps->fresh = ps->compact_wanted = false;
        ps->base_writes++;
    }
    persist_sections_free(&pl.d);
    persist_lists_free(&pl);
    free(hashes);
    return rc;
}

/* What changed since the last save as one journal line: 0, or statejournal_append's -1 / -2. */
static int save_line(struct persist *ps, struct endpoints *t, const struct dispatch *disp, const struct outbox *ob,
                     char *err, size_t errlen)
{
    struct persist_lists pl = { 0 };
    struct persist_unit u;
    size_t n_changed = 0, cap = t->n_gone + 64;
    const char **changed = cw_xmalloc(cap * sizeof *changed);
    size_t *idx = cw_xmalloc(cap * sizeof *idx);
    uint64_t *hashes = cw_xmalloc(cap * sizeof *hashes);
    for (size_t i = 0; i < t->n_gone; i++) changed[n_changed++] = t->gone[i];
    size_t n_units = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t h = persist_gather_unit(t, &t->all[i], &u);
        if (h == t->all[i].saved_hash) continue;
        if (n_changed == cap) {
            cap *= 2;
            changed = cw_xrealloc(changed, cap * sizeof *changed);
            idx = cw_xrealloc(idx, cap * sizeof *idx);
            hashes = cw_xrealloc(hashes, cap * sizeof *hashes);
        }
        changed[n_changed++] = t->all[i].ep->url;
        idx[n_units] = i, hashes[n_units++] = h;
        persist_lists_add(&pl, &u, true, true, true);
    }
    persist_gather_sections(&pl.d, t, disp, ob);
    struct statejournal_line line = { .changed = changed, .n_changed = n_changed, .d = &pl.d };
    uint64_t h[STATEFILE_LOCATIONS + 1];
    sections_changed(ps, &pl.d, line.section, h, &ps->line);
    statejournal_line_text(&ps->j, &line, &ps->line);
    int rc = statejournal_append(&ps->j, &ps->line, err, errlen);
    if (rc == 0) {
        for (size_t k = 0; k < n_units; k++) t->all[idx[k]].saved_hash = hashes[k];
        for (enum statefile_section s = STATEFILE_PLAIN; s <= STATEFILE_LOCATIONS; s++)
            if (line.section[s] && s != STATEFILE_WORKERS) ps->section_hash[s] = h[s];
        endpoints_gone_clear(t);
        ps->lines++;
    }
    persist_sections_free(&pl.d);
    persist_lists_free(&pl);
    free(changed);
    free(idx);
    free(hashes);
    return rc;
}

int persist_save(struct persist *ps, struct endpoints *t, const struct dispatch *d, const struct outbox *ob,
                 struct intake *in)
{
    char err[PATH_MAX + 256];
    int rc = ps->need_base ? save_base(ps, t, d, ob, err, sizeof err) : save_line(ps, t, d, ob, err, sizeof err);
    if (rc == -2) { /* the journal is not the one written here: the whole state again */
        log_warn("%s; writing the whole state file", err);
        rc = save_base(ps, t, d, ob, err, sizeof err);
    }
    if (rc != 0) {
        failed(ps, "cannot save the alerter state (results are not acked until it is saved)", err);
        return -1;
    }
    ps->saves++;
    /* then the applied seqs (a crash in between may apply a resend twice; never lose one) */
    if (intake_commit(in, err, sizeof err) != 0) {
        failed(ps, "cannot save the applied sequence numbers", err);
        return -1;
    }
    return 0;
}

/* ---- compaction */

bool persist_compacting(const struct persist *ps)
{
    return statejournal_compacting(&ps->j) || statejournal_shortening(&ps->j);
}

void persist_reconfigured(struct persist *ps)
{
    if (!statejournal_compacting(&ps->j)) return;
    statejournal_compact_abort(&ps->j); /* its cursor walked the old table */
    ps->compact_wanted = true;
}

static bool compact_due(const struct persist *ps)
{
    if (ps->compact_after_us && cw_mono_us() < ps->compact_after_us) return false; /* after a failure */
    return ps->compact_wanted || (ps->j.bytes > ps->j.base_bytes && ps->j.bytes > ps->compact_min);
}

/* A compaction that failed: not again before PERSIST_RETRY_US (each try writes the whole base). */
static void compact_failed(struct persist *ps, const char *err)
{
    failed(ps, "cannot compact the alerter state", err);
    ps->compact_after_us = cw_mono_us() + PERSIST_RETRY_US;
}

/* The entries of list l of the endpoints from cp_at on, CHUNK at a time, until the list ends (true) or the time
 * is up (false); -1 on a failed write. */
static int compact_list(struct persist *ps, const struct endpoints *t, enum statefile_list l, int64_t until,
                        char *err, size_t errlen)
{
    enum { CHUNK = 1024 };
    struct persist_lists pl = { 0 };
    struct persist_unit u;
    int rc = 0;
    while (rc == 0 && ps->cp_at < t->n) {
        size_t end = ps->cp_at + CHUNK < t->n ? ps->cp_at + CHUNK : t->n;
        for (size_t i = ps->cp_at; i < end; i++) {
            const struct endpoint *e = &t->all[i];
            if (l != STATEFILE_ENDPOINTS && e->n_votes == 0) continue;
            persist_gather_unit(t, e, &u);
            persist_lists_add(&pl, &u, l == STATEFILE_ENDPOINTS, l == STATEFILE_VOTERS, l == STATEFILE_VOTES);
        }
        if (statejournal_compact_items(&ps->j, l, &pl.d, err, errlen) != 0) rc = -1;
        persist_lists_clear(&pl);
        ps->cp_at = end;
        if (rc == 0 && ps->cp_at < t->n && cw_mono_us() >= until) break;
    }
    persist_lists_free(&pl);
    return rc < 0 ? -1 : ps->cp_at >= t->n;
}

/* The journal's copy after a compaction: PERSIST_SHORTEN_BYTES more. */
static void shorten_step(struct persist *ps)
{
    char err[PATH_MAX + 256];
    int rc = statejournal_shorten_step(&ps->j, PERSIST_SHORTEN_BYTES, err, sizeof err);
    if (rc < 0) {
        failed(ps, "cannot shorten the alerter state's journal (it stays whole: right, only longer)", err);
        ps->compact_after_us = cw_mono_us() + PERSIST_RETRY_US;
        return;
    }
    if (rc == 0) return;
    ps->compact_wanted = false;
    ps->compactions++;
    log_info("state file compacted: base %lld bytes, journal %lld bytes", (long long)ps->j.base_bytes,
             (long long)ps->j.bytes);
}

void persist_compact_step(struct persist *ps, const struct endpoints *t, const struct dispatch *d,
                          const struct outbox *ob)
{
    char err[PATH_MAX + 256];
    if (statejournal_shortening(&ps->j)) {
        shorten_step(ps);
        return;
    }
    if (!statejournal_compacting(&ps->j)) {
        if (ps->need_base || !compact_due(ps)) return;
        if (statejournal_compact_begin(&ps->j, err, sizeof err) != 0) {
            compact_failed(ps, err);
            return;
        }
        ps->cp_at = 0;
        log_info("compacting the state file: the journal's %lld bytes are more than the base's %lld",
                 (long long)ps->j.bytes, (long long)ps->j.base_bytes);
    }
    int64_t until = cw_mono_us() + PERSIST_CHUNK_US;
    for (;;) {
        enum statefile_list l = ps->j.cp.list;
        int done = compact_list(ps, t, l, until, err, sizeof err);
        if (done < 0) {
            compact_failed(ps, err);
            return;
        }
        if (!done) return; /* the next chunk after the next save */
        if (l == STATEFILE_VOTES) break;
        ps->cp_at = 0; /* the next list */
        struct statefile_data none = { 0 };
        if (statejournal_compact_items(&ps->j, l + 1, &none, err, sizeof err) != 0) {
            compact_failed(ps, err);
            return;
        }
        if (cw_mono_us() >= until) return;
    }
    struct statefile_data sections = { 0 };
    persist_gather_sections(&sections, t, d, ob);
    int rc = statejournal_compact_finish(&ps->j, &sections, err, sizeof err);
    persist_sections_free(&sections);
    if (rc != 0) {
        compact_failed(ps, err);
        return;
    }
    shorten_step(ps); /* the journal's first part now; what is left after the following saves */
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


/* Moves the unreadable files aside: the base to .bad, the journal to .journal.bad. */
static void move_aside(const struct persist *ps)
{
    char aside[PATH_MAX + 16];
    snprintf(aside, sizeof aside, "%s.bad", ps->path);
    if (rename(ps->path, aside) != 0 && errno != ENOENT) log_error("cannot rename %s: %s", ps->path, strerror(errno));
    snprintf(aside, sizeof aside, "%s.bad", ps->j.path);
    if (rename(ps->j.path, aside) != 0 && errno != ENOENT) log_error("cannot rename %s: %s", ps->j.path, strerror(errno));
}

/* What the files hold now is what the endpoints restored hold: each one's hash as saved (a unit the load changed,
 * or a URL no longer configured, is written at the next save or left to the next compaction). */
static void note_loaded(struct persist *ps, struct endpoints *t, const struct statefile_data *data, size_t restored)
{
    statejournal_init(&ps->j, ps->path, data->next_seq, data->journal_good);
    ps->need_base = ps->fresh = data->journal_from == 0; /* a file of before the journal: written whole once */
    ps->compact_wanted = restored < data->n_eps;         /* entries of endpoints no longer configured: space */
    struct persist_unit u;
    for (size_t i = 0; i < t->n; i++) t->all[i].saved_hash = persist_gather_unit(t, &t->all[i], &u);
}

/* The parts of the files for URLs not configured now: the first line forgets them (were one configured again by a
 * reload and stay plainly up, no line would ever mention it, and a restart before a compaction would bring the old
 * state back). */
static void forget_unconfigured(struct endpoints *t, const struct statefile_data *d)
{
    for (size_t i = 0; i < d->n_eps; i++)
        if (!endpoints_find(t, d->eps[i].url)) endpoints_gone_add(t, d->eps[i].url);
    for (size_t i = 0; i < d->n_voters; i++)
        if (d->voters[i].url && !endpoints_find(t, d->voters[i].url)) endpoints_gone_add(t, d->voters[i].url);
    for (size_t i = 0; i < d->n_votes; i++)
        if (d->votes[i].url && !endpoints_find(t, d->votes[i].url)) endpoints_gone_add(t, d->votes[i].url);
}

void persist_load(struct persist *ps, struct endpoints *t, struct dispatch *d, const struct cw_config *cfg,
                  int64_t now_mono)
{
    struct statefile_data data;
    char err[PATH_MAX + 256];
    int rc = statefile_load(ps->path, &data, err, sizeof err);
    if (rc < 0) {
        log_error("%s; moved aside to %s.bad (and its journal to %s.bad), starting with no state", err, ps->path,
                  ps->j.path);
        move_aside(ps);
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
    note_loaded(ps, t, &data, restored);
    forget_unconfigured(t, &data);
    log_info("state restored from %s and %zu journal line%s%s: %zu endpoint%s (%zu down), %zu alert%s, %zu "
             "undelivered message%s",
             ps->path, data.journal_lines, cw_plural((long long)data.journal_lines),
             data.journal_torn ? " (a torn last line left out: its results were not acked)" : "", restored,
             cw_plural((long long)restored), down, d->n_alerts, cw_plural((long long)d->n_alerts), jobs,
             cw_plural((long long)jobs));
    statefile_data_free(&data);
}

void persist_free(struct persist *ps)
{
    statejournal_compact_abort(&ps->j);
    statejournal_shorten_abort(&ps->j);
    cw_buf_free(&ps->line);
}
