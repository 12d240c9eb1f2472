/* storer/rawkeep.c — database.raw: the raw rows kept and the checks folded once (storer/rawkeep.h). */
#include "common/base/hash.h"

#include "storer/rawkeep.h"

#include <stdlib.h>
#include <string.h>

#define SENDERS_MAX 4096 /* (worker, boot_id) remembered; the least recently seen goes */
#define RANGES_MAX 256   /* seq ranges per sender; beyond, the lowest range is forgotten */

bool rawkeep_decide(enum cw_db_raw mode, const struct rawkeep_prev *prev, bool ok, bool slow, bool maintenance,
                    int64_t hour)
{
    if (mode == CW_RAW_ALL) return true;
    if (mode != CW_RAW_FAILURES) return false;
    if (!ok || maintenance) return true;
    if (!prev) return false;
    return slow || !prev->known || prev->ok != ok || prev->slow != slow || prev->kept_hour != hour;
}

void rawkeep_note(struct rawkeep_prev *prev, bool ok, bool slow, int64_t hour, bool kept)
{
    prev->known = true;
    prev->ok = ok;
    prev->slow = slow;
    if (kept) prev->kept_hour = (int32_t)hour; /* see rawkeep_prev */
}

bool rawkeep_slow(unsigned kind, int64_t latency_us, double threshold_s)
{
    if (kind == CW_CHECK_PUSH || threshold_s <= 0 || latency_us < 0) return false;
    return latency_us > (int64_t)(threshold_s * 1e6);
}

/* ---- the seqs folded, per sender */

struct sender_key {
    uint64_t boot_id;
    uint32_t worker, pad;
};

struct rawkeep_sender {
    struct sender_key key;
    uint64_t (*ranges)[2]; /* [lo, hi], ascending, disjoint, not adjacent */
    size_t n, cap;
    uint64_t seen; /* k->tick when last used */
    UT_hash_handle hh;
};

static struct rawkeep_sender *sender_find(struct rawkeep *k, uint32_t worker, uint64_t boot_id)
{
    struct sender_key key = { .boot_id = boot_id, .worker = worker };
    struct rawkeep_sender *s = NULL;
    HASH_FIND(hh, k->senders, &key, sizeof key, s);
    return s;
}

/* The index of the first range whose hi >= seq (n when none). */
static size_t range_at(const struct rawkeep_sender *s, uint64_t seq)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ranges[mid][1] < seq) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static bool sender_has(const struct rawkeep_sender *s, uint64_t seq)
{
    size_t i = range_at(s, seq);
    return i < s->n && s->ranges[i][0] <= seq;
}

static void forget_oldest_sender(struct rawkeep *k)
{
    struct rawkeep_sender *s, *tmp, *old = NULL;
    HASH_ITER(hh, k->senders, s, tmp)
    if (!old || s->seen < old->seen) old = s;
    HASH_DEL(k->senders, old);
    free(old->ranges);
    free(old);
    k->n_senders--;
}

static void sender_add(struct rawkeep *k, uint32_t worker, uint64_t boot_id, uint64_t seq)
{
    struct rawkeep_sender *s = sender_find(k, worker, boot_id);
    if (!s) {
        if (k->n_senders >= SENDERS_MAX) forget_oldest_sender(k);
        s = cw_xcalloc(1, sizeof *s);
        s->key = (struct sender_key){ .boot_id = boot_id, .worker = worker };
        HASH_ADD(hh, k->senders, key, sizeof s->key, s);
        k->n_senders++;
    }
    s->seen = ++k->tick;
    size_t i = range_at(s, seq);
    if (i < s->n && s->ranges[i][0] <= seq) return;
    bool join_prev = i > 0 && s->ranges[i - 1][1] + 1 == seq;
    bool join_next = i < s->n && seq + 1 == s->ranges[i][0];
    if (join_prev && join_next) { /* fills the hole between two ranges */
        s->ranges[i - 1][1] = s->ranges[i][1];
        memmove(&s->ranges[i], &s->ranges[i + 1], (s->n - i - 1) * sizeof *s->ranges);
        s->n--;
        return;
    }
    if (join_prev) {
        s->ranges[i - 1][1] = seq;
        return;
    }
    if (join_next) {
        s->ranges[i][0] = seq;
        return;
    }
    if (s->n == RANGES_MAX) { /* the lowest (oldest) range goes: its resends would be counted again */
        memmove(&s->ranges[0], &s->ranges[1], (s->n - 1) * sizeof *s->ranges);
        s->n--;
        if (i > 0) i--;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4;
        s->ranges = cw_xrealloc(s->ranges, s->cap * sizeof *s->ranges);
    }
    memmove(&s->ranges[i + 1], &s->ranges[i], (s->n - i) * sizeof *s->ranges);
    s->ranges[i][0] = s->ranges[i][1] = seq;
    s->n++;
}

/* ---- states per endpoint and location */

static void free_states(struct rawkeep *k)
{
    for (size_t i = 0; i < k->n_locs; i++) {
        free(k->by_loc[i]);
        free(k->loc_names[i]);
    }
    free(k->by_loc);
    free(k->loc_names);
    k->by_loc = NULL;
    k->loc_names = NULL;
    k->n_locs = 0;
}

/* The states moved to cfg's indexes by URL (k->by_url still maps the previous configuration's URLs): an endpoint
 * that stays keeps what it knew, wherever it now is; a new one starts afresh (its next check is kept). */
static void remap_states(struct rawkeep *k, const struct cw_config *cfg)
{
    size_t n = cfg->n_endpoints;
    for (size_t l = 0; l < k->n_locs; l++) {
        struct rawkeep_prev *moved = cw_xcalloc(n ? n : 1, sizeof *moved);
        for (size_t i = 0; i < n; i++) {
            long was = i < k->by_url.n && k->by_url.eps[i].url && cfg->endpoints[i].url &&
                               strcmp(k->by_url.eps[i].url, cfg->endpoints[i].url) == 0
                           ? (long)i /* in place: no lookup */
                           : url_index_find(&k->by_url, cfg->endpoints[i].url);
            if (was >= 0)
                moved[i] = k->by_loc[l][was];
            else
                moved[i].kept_hour = -1; /* as states_of makes a new one */
        }
        free(k->by_loc[l]);
        k->by_loc[l] = moved;
    }
}

/* A reload in place (the same count, no URL moved to another index): the states stay where they are, the index
 * re-lists only the changed URLs (url_index_rebind) and their states start afresh. False when not in place. */
static bool rebind_in_place(struct rawkeep *k, const struct cw_config *cfg)
{
    size_t n_changed;
    size_t *changed = url_index_rebind(&k->by_url, cfg->endpoints, cfg->n_endpoints, &n_changed);
    if (n_changed == SIZE_MAX) return false;
    for (size_t l = 0; l < k->n_locs; l++)
        for (size_t j = 0; j < n_changed; j++) k->by_loc[l][changed[j]] = (struct rawkeep_prev){ .kept_hour = -1 };
    free(changed);
    k->cfg = cfg;
    return true;
}

void rawkeep_set(struct rawkeep *k, const struct cw_config *cfg)
{
    /* the first set decides the mode; a reload keeps it (the supervisor restarts the storer when it changes) and,
     * at 500,000 endpoints, must not make the next check of every endpoint a raw row: the states follow the URLs */
    bool reload = k->cfg != NULL && cfg != NULL;
    if (!reload) k->mode = cfg ? cfg->db_raw : CW_RAW_ALL;
    if (reload && k->mode == CW_RAW_FAILURES && rebind_in_place(k, cfg)) return;
    if (reload && k->mode == CW_RAW_FAILURES) remap_states(k, cfg);
    else free_states(k);
    url_index_free(&k->by_url);
    k->cfg = cfg;
    if (k->mode == CW_RAW_FAILURES) url_index_build(&k->by_url, cfg->endpoints, cfg->n_endpoints);
}

void rawkeep_free(struct rawkeep *k)
{
    url_index_free(&k->by_url);
    free_states(k);
    struct rawkeep_sender *s, *tmp;
    HASH_ITER(hh, k->senders, s, tmp)
    {
        HASH_DEL(k->senders, s);
        free(s->ranges);
        free(s);
    }
    memset(k, 0, sizeof *k);
}

/* The states of the endpoints at a location (added when new; locations are few). */
static struct rawkeep_prev *states_of(struct rawkeep *k, const char *location)
{
    for (size_t i = 0; i < k->n_locs; i++)
        if (!strcmp(k->loc_names[i], location)) return k->by_loc[i];
    size_t n = k->cfg->n_endpoints;
    k->by_loc = cw_xrealloc(k->by_loc, (k->n_locs + 1) * sizeof *k->by_loc);
    k->loc_names = cw_xrealloc(k->loc_names, (k->n_locs + 1) * sizeof *k->loc_names);
    struct rawkeep_prev *st = cw_xcalloc(n ? n : 1, sizeof *st);
    for (size_t i = 0; i < n; i++) st[i].kept_hour = -1;
    k->by_loc[k->n_locs] = st;
    k->loc_names[k->n_locs++] = cw_xstrdup(location);
    return st;
}

static void decide_check(struct rawkeep *k, struct store_check *c)
{
    const struct cw_result *r = &c->r;
    long idx = url_index_find(&k->by_url, r->url);
    struct rawkeep_prev *prev = NULL;
    double threshold = 0;
    if (idx >= 0) {
        prev = &states_of(k, r->location ? r->location : "")[idx];
        threshold = k->cfg->endpoints[idx].latency_threshold;
    }
    int64_t s = r->checked_at_us / 1000000 - (r->checked_at_us % 1000000 < 0);
    int64_t hour = s / 3600 - (s % 3600 < 0);
    bool slow = rawkeep_slow(r->kind, r->latency_us, threshold);
    c->raw = rawkeep_decide(k->mode, prev, r->ok, slow, c->maintenance, hour);
    if (prev) rawkeep_note(prev, r->ok, slow, hour, c->raw);
}

static int by_sender_seq(const void *a, const void *b, void *ctx)
{
    const struct store_batch *batch = ctx;
    const struct cw_result *x = &batch->checks[*(const size_t *)a].r, *y = &batch->checks[*(const size_t *)b].r;
    if (x->worker != y->worker) return x->worker < y->worker ? -1 : 1;
    if (x->boot_id != y->boot_id) return x->boot_id < y->boot_id ? -1 : 1;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1; /* the first in the batch is the one folded */
}

/* A check whose (worker, boot_id, seq) is already remembered, or earlier in the batch, is not folded. */
static void mark_folds(struct rawkeep *k, struct store_batch *b)
{
    size_t *order = cw_xmalloc((b->n_checks ? b->n_checks : 1) * sizeof *order);
    for (size_t i = 0; i < b->n_checks; i++) order[i] = i;
    qsort_r(order, b->n_checks, sizeof *order, by_sender_seq, b);
    const struct rawkeep_sender *s = NULL;
    for (size_t j = 0; j < b->n_checks; j++) {
        struct store_check *c = &b->checks[order[j]];
        const struct cw_result *r = &c->r, *p = j ? &b->checks[order[j - 1]].r : NULL;
        if (!p || p->worker != r->worker || p->boot_id != r->boot_id) s = sender_find(k, r->worker, r->boot_id);
        bool again = p && p->worker == r->worker && p->boot_id == r->boot_id && p->seq == r->seq;
        c->fold = r->seq == 0 || !(again || (s && sender_has(s, r->seq)));
        if (!c->fold) k->refolds++;
    }
    free(order);
}

void rawkeep_mark(struct rawkeep *k, struct store_batch *b)
{
    if (k->mode == CW_RAW_ALL) {
        for (size_t i = 0; i < b->n_checks; i++) b->checks[i].raw = b->checks[i].fold = true;
        return;
    }
    for (size_t i = 0; !b->raw_marked && i < b->n_checks; i++) {
        decide_check(k, &b->checks[i]);
        k->kept += b->checks[i].raw;
    }
    b->raw_marked = true;
    mark_folds(k, b); /* again at every attempt: what committed since counts */
}

void rawkeep_commit(struct rawkeep *k, const struct store_batch *b)
{
    if (k->mode == CW_RAW_ALL) return;
    for (size_t i = 0; i < b->n_checks; i++) {
        const struct cw_result *r = &b->checks[i].r;
        if (!b->checks[i].fold) continue;
        k->folded++;
        if (r->seq > 0) sender_add(k, r->worker, r->boot_id, r->seq);
    }
}
