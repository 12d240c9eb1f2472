/* alerter/statefile_replay.c — statefile_load: the base (alerter/statefile_load.c) with its journal's lines
 * applied (issue 18; the format in docs/alerts.md, "The state file").
 *
 * DESIGN
 * The journal is read line by line (getline, one json_tokener reused for every line): it may be as large as the
 * base and a line of 10,000 changed endpoints is a few MB, so no tree of the whole file is ever held. Each line is
 * checked and loaded with the base's own section loaders (sf_load_sections) into a scratch statefile_data, then
 * merged into the base's arrays:
 * - the units (URLs) are found through an open-addressing table (linear probing, slot = unit index + 1, 0 empty,
 *   at most half full) of every URL seen, built on the first line applied; a unit holds the head of one chain per
 *   kind of record (endpoint, vote, voter; the chains link record indices through next[]), so that dropping what
 *   a line changes costs what those units hold, whatever the size of the base (a base could even hold two records
 *   of one URL: both are dropped);
 * - a line's URLs in "changed" are stamped with the line's number first: an entry whose unit does not carry the
 *   stamp is not in "changed" (malformed);
 * - a dropped record is cleared at once but its URL is kept until the end (the table's keys point into the
 *   records; a unit first seen in a line owns a copy), and the arrays are compacted once, at the end;
 * - the whole sections ("plain", "alerts", "jobs", "locations") a line gives replace the base's.
 * A line whose seq does not follow (a reader that raced a compaction) makes statefile_load read both files again,
 * up to STATEFILE_READS times in all. */
#include "alerter/statefile.h"
#include "alerter/statefile_int.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base/fastbins.h"
#include "common/base/log.h"
#include "common/base/util.h"

#define STATEFILE_READS 3 /* reads of base + journal before a gap is final */
#define NONE UINT32_MAX

enum { K_EP, K_VOTE, K_VOTER, K_KINDS }; /* the kinds of per-unit records */

struct unit {
    const char *url; /* a record's URL (kept until the end) or, owned, a copy */
    uint64_t hash;   /* cw_hash64(url) */
    uint32_t head[K_KINDS];
    uint64_t stamp; /* the last line that lists it in "changed" */
    bool owned;
};

struct replay {
    struct statefile_data *d;
    bool indexed; /* the table below is built (on the first line applied) */
    struct unit *units;
    size_t n_units, cap_units;
    uint32_t *slots;         /* unit index + 1; 0: empty */
    size_t mask;             /* slots - 1 (a power of two, at least twice n_units) */
    uint32_t *next[K_KINDS]; /* per record of d: the next record of its unit's chain */
    size_t cap[K_KINDS];     /* what d's array of that kind (and next[]) can hold */
    size_t dead[K_KINDS];    /* records dropped (url NULL), compacted away at the end */
    char **grave;            /* the dropped records' URLs */
    size_t n_grave, cap_grave;
    uint32_t *line_units; /* the units of the current line's "changed" */
    size_t cap_line_units;
};

static size_t *count_of(struct statefile_data *d, int k)
{
    return k == K_EP ? &d->n_eps : k == K_VOTE ? &d->n_votes : &d->n_voters;
}

static char **url_at(struct statefile_data *d, int k, size_t i)
{
    return k == K_EP ? &d->eps[i].url : k == K_VOTE ? &d->votes[i].url : &d->voters[i].url;
}

/* ---- the table of units */

static uint32_t *probe(struct replay *r, const char *url, uint64_t h)
{
    size_t s = (size_t)cw_mix64(h) & r->mask;
    while (r->slots[s]) {
        const struct unit *u = &r->units[r->slots[s] - 1];
        if (u->hash == h && strcmp(u->url, url) == 0) break;
        s = (s + 1) & r->mask;
    }
    return &r->slots[s];
}

/* A table of at least twice `units` slots (and the units already in it). */
static void grow_table(struct replay *r, size_t units)
{
    size_t cap = r->mask ? r->mask + 1 : 1024;
    while (cap < 2 * units) cap *= 2;
    free(r->slots);
    r->slots = cw_xcalloc(cap, sizeof *r->slots);
    r->mask = cap - 1;
    for (size_t i = 0; i < r->n_units; i++) *probe(r, r->units[i].url, r->units[i].hash) = (uint32_t)i + 1;
}

/* The unit of url; NULL when none and !add, else a new one (keyed by url itself, or by a copy when copy). */
static struct unit *unit_of(struct replay *r, const char *url, bool add, bool copy)
{
    uint64_t h = cw_hash64(url);
    uint32_t *slot = probe(r, url, h);
    if (*slot || !add) return *slot ? &r->units[*slot - 1] : NULL;
    if (2 * (r->n_units + 1) > r->mask + 1) {
        grow_table(r, r->n_units + 1);
        slot = probe(r, url, h);
    }
    if (r->n_units == r->cap_units) {
        r->cap_units = r->cap_units ? 2 * r->cap_units : 1024;
        r->units = cw_xrealloc(r->units, r->cap_units * sizeof *r->units);
    }
    struct unit *u = &r->units[r->n_units];
    *u = (struct unit){ .url = copy ? cw_xstrdup(url) : url, .hash = h, .owned = copy };
    for (int k = 0; k < K_KINDS; k++) u->head[k] = NONE;
    *slot = (uint32_t)++r->n_units;
    return u;
}

/* Puts record i of kind k (in d) at the head of its unit's chain. */
static void link_record(struct replay *r, int k, size_t i)
{
    struct unit *u = unit_of(r, *url_at(r->d, k, i), true, false);
    r->next[k][i] = u->head[k];
    u->head[k] = (uint32_t)i;
}

/* The table over every record of the base (the first line applied needs it). */
static void index_base(struct replay *r)
{
    struct statefile_data *d = r->d;
    r->indexed = true;
    r->cap_units = d->n_eps + d->n_votes + d->n_voters + 1; /* at most, and the URLs a few lines bring */
    r->units = cw_xmalloc(r->cap_units * sizeof *r->units);
    grow_table(r, r->cap_units);
    for (int k = 0; k < K_KINDS; k++) {
        size_t n = *count_of(d, k);
        r->cap[k] = n;
        r->next[k] = cw_xcalloc(n ? n : 1, sizeof *r->next[k]);
        for (size_t i = 0; i < n; i++) link_record(r, k, i);
    }
}

/* ---- dropping and adding records */

/* Clears record i of kind k; its URL goes to the grave (the table may point at it). */
static void drop_record(struct replay *r, int k, size_t i)
{
    struct statefile_data *d = r->d;
    if (r->n_grave == r->cap_grave) {
        r->cap_grave = r->cap_grave ? 2 * r->cap_grave : 1024;
        r->grave = cw_xrealloc(r->grave, r->cap_grave * sizeof *r->grave);
    }
    r->grave[r->n_grave++] = *url_at(d, k, i);
    if (k == K_EP) {
        free(d->eps[i].last_error);
        incident_free(&d->eps[i].inc);
        memset(&d->eps[i], 0, sizeof d->eps[i]);
    } else if (k == K_VOTE) {
        free(d->votes[i].summary);
        memset(&d->votes[i], 0, sizeof d->votes[i]);
    } else {
        free(d->voters[i].location);
        memset(&d->voters[i], 0, sizeof d->voters[i]);
    }
    r->dead[k]++;
}

static void drop_unit(struct replay *r, struct unit *u)
{
    for (int k = 0; k < K_KINDS; k++) {
        for (uint32_t i = u->head[k]; i != NONE; i = r->next[k][i]) drop_record(r, k, i);
        u->head[k] = NONE;
    }
}

/* Room in d's array of kind k (and in next[k]) for `more` records. */
static void reserve(struct replay *r, int k, size_t more)
{
    struct statefile_data *d = r->d;
    size_t want = *count_of(d, k) + more, cap = r->cap[k] ? r->cap[k] : 16;
    if (want <= r->cap[k]) return;
    while (cap < want) cap *= 2;
    if (k == K_EP) d->eps = cw_xrealloc(d->eps, cap * sizeof *d->eps);
    else if (k == K_VOTE) d->votes = cw_xrealloc(d->votes, cap * sizeof *d->votes);
    else d->voters = cw_xrealloc(d->voters, cap * sizeof *d->voters);
    r->next[k] = cw_xrealloc(r->next[k], cap * sizeof *r->next[k]);
    r->cap[k] = cap;
}

/* Moves the line's endpoint, vote and voter records into d (line keeps none). */
static void add_records(struct replay *r, struct statefile_data *line)
{
    struct statefile_data *d = r->d;
    reserve(r, K_EP, line->n_eps);
    if (line->n_eps) memcpy(d->eps + d->n_eps, line->eps, line->n_eps * sizeof *line->eps);
    reserve(r, K_VOTE, line->n_votes);
    if (line->n_votes) memcpy(d->votes + d->n_votes, line->votes, line->n_votes * sizeof *line->votes);
    reserve(r, K_VOTER, line->n_voters);
    if (line->n_voters) memcpy(d->voters + d->n_voters, line->voters, line->n_voters * sizeof *line->voters);
    size_t added[K_KINDS] = { line->n_eps, line->n_votes, line->n_voters };
    line->n_eps = line->n_votes = line->n_voters = 0;
    for (int k = 0; k < K_KINDS; k++)
        for (size_t j = 0; j < added[k]; j++) link_record(r, k, (*count_of(d, k))++);
}

/* The dropped records taken out of d's arrays (order kept). */
static void compact(struct replay *r)
{
    struct statefile_data *d = r->d;
    size_t w = 0;
    if (r->dead[K_EP]) {
        for (size_t i = 0; i < d->n_eps; i++)
            if (d->eps[i].url) d->eps[w++] = d->eps[i];
        d->n_eps = w;
    }
    if (r->dead[K_VOTE]) {
        w = 0;
        for (size_t i = 0; i < d->n_votes; i++)
            if (d->votes[i].url) d->votes[w++] = d->votes[i];
        d->n_votes = w;
    }
    if (r->dead[K_VOTER]) {
        w = 0;
        for (size_t i = 0; i < d->n_voters; i++)
            if (d->voters[i].url) d->voters[w++] = d->voters[i];
        d->n_voters = w;
    }
}

static void replay_free(struct replay *r)
{
    for (size_t i = 0; i < r->n_units; i++)
        if (r->units[i].owned) free((char *)r->units[i].url);
    for (size_t i = 0; i < r->n_grave; i++) free(r->grave[i]);
    for (int k = 0; k < K_KINDS; k++) free(r->next[k]);
    free(r->units);
    free(r->slots);
    free(r->grave);
    free(r->line_units);
}

/* ---- one line */

/* Line `o`'s "changed": each URL's unit stamped with `stamp` and listed in r->line_units. Returns their number. */
static size_t stamp_changed(struct replay *r, struct sf_loader *l, json_object *o, uint64_t stamp)
{
    json_object *changed = sf_get(l, o, "changed", json_type_array);
    size_t n = changed ? json_object_array_length(changed) : 0;
    if (n > r->cap_line_units) {
        r->cap_line_units = n;
        r->line_units = cw_xrealloc(r->line_units, n * sizeof *r->line_units);
    }
    for (size_t i = 0; i < n && !l->why; i++) {
        json_object *v = json_object_array_get_idx(changed, i);
        if (!json_object_is_type(v, json_type_string)) {
            l->why = "an entry of \"changed\" is not a string";
            break;
        }
        struct unit *u = unit_of(r, json_object_get_string(v), true, true);
        u->stamp = stamp;
        r->line_units[i] = (uint32_t)(u - r->units);
    }
    return l->why ? 0 : n;
}

/* Every record of the line belongs to a unit it lists in "changed". */
static void check_listed(struct replay *r, struct sf_loader *l, struct statefile_data *line, uint64_t stamp)
{
    for (int k = 0; k < K_KINDS && !l->why; k++)
        for (size_t i = 0; i < *count_of(line, k) && !l->why; i++) {
            const struct unit *u = unit_of(r, *url_at(line, k, i), false, false);
            if (!u || u->stamp != stamp) l->why = "an entry's \"url\" is not in \"changed\"";
        }
}

/* The line's top-level "workers" (optional): a worker's time per slot, replacing those of d's "plain" (when d
 * has one). */
static void apply_workers(struct sf_loader *l, json_object *o, struct statefile_plain *p)
{
    if (!json_object_object_get_ex(o, "workers", NULL)) return;
    json_object *arr = sf_get(l, o, "workers", json_type_array);
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n && !l->why; i++)
        if (!json_object_is_type(json_object_array_get_idx(arr, i), json_type_int))
            l->why = "\"workers\": a worker's time is not an integer";
    if (l->why || !p->present) return;
    free(p->worker_last_us);
    p->worker_last_us = cw_xcalloc(n + 1, sizeof *p->worker_last_us);
    p->n_workers = n;
    for (size_t i = 0; i < n; i++) p->worker_last_us[i] = json_object_get_int64(json_object_array_get_idx(arr, i));
}

/* The whole sections the line gives (`found`: SF_SEC_*) moved from line into d, replacing d's. */
static void replace_sections(struct statefile_data *d, struct statefile_data *line, unsigned found)
{
    struct statefile_data old = { 0 }; /* what is replaced, freed by statefile_data_free */
    if (found & SF_SEC_PLAIN) old.plain = d->plain, d->plain = line->plain, line->plain = (struct statefile_plain){ 0 };
    if (found & SF_SEC_ALERTS) {
        old.alerts = d->alerts, old.alert_held = d->alert_held, old.n_alerts = d->n_alerts;
        d->alerts = line->alerts, d->alert_held = line->alert_held, d->n_alerts = line->n_alerts;
        line->alerts = NULL, line->alert_held = NULL, line->n_alerts = 0;
    }
    if (found & SF_SEC_JOBS) {
        old.jobs = d->jobs, old.n_jobs = d->n_jobs;
        d->jobs = line->jobs, d->n_jobs = line->n_jobs;
        line->jobs = NULL, line->n_jobs = 0;
    }
    if (found & SF_SEC_LOCATIONS) {
        old.locs = d->locs, old.n_locs = d->n_locs;
        d->locs = line->locs, d->n_locs = line->n_locs;
        line->locs = NULL, line->n_locs = 0;
    }
    statefile_data_free(&old);
}

/* Applies line `o` (its header checked) to r->d: why is set when it is malformed. */
static void apply_line(struct replay *r, struct sf_loader *l, json_object *o)
{
    if (!r->indexed) index_base(r);
    uint64_t stamp = r->d->journal_lines + 1;
    json_object *when = sf_get(l, o, "saved_at", json_type_string);
    int64_t saved_at = when ? sf_load_saved_at(o) : 0;
    if (when && !saved_at) l->why = "\"saved_at\" is not a time";
    size_t n_changed = l->why ? 0 : stamp_changed(r, l, o, stamp);
    struct statefile_data line = { 0 };
    unsigned found = l->why ? 0 : sf_load_sections(l, o, &line, false);
    if (!l->why) check_listed(r, l, &line, stamp);
    if (!l->why) {
        for (size_t i = 0; i < n_changed; i++) drop_unit(r, &r->units[r->line_units[i]]);
        add_records(r, &line);
        replace_sections(r->d, &line, found);
        apply_workers(l, o, &r->d->plain);
        r->d->saved_at_us = saved_at;
    }
    statefile_data_free(&line);
}

/* ---- the journal */

enum { LINE_OK = 1, LINE_BAD = -1, LINE_GAP = -2 };

/* One complete line (text[0..len), its "\n" left out): skipped, applied, or why it is bad or does not follow. */
static int one_line(struct replay *r, struct json_tokener *tok, const char *text, size_t len, struct sf_loader *l)
{
    json_tokener_reset(tok);
    json_object *o = len <= INT_MAX ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    if (!o || json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
        l->why = len > INT_MAX ? "too long" : "not one JSON object";
        json_object_put(o);
        return LINE_BAD;
    }
    int rc = LINE_OK;
    struct statefile_data *d = r->d;
    if (sf_get_i64(l, o, "journal", 0, INT32_MAX) != 1 && !l->why) l->why = "unknown \"journal\" version";
    int64_t seq = l->why ? 0 : sf_get_i64(l, o, "seq", 1, INT64_MAX);
    if (l->why) rc = LINE_BAD;
    else if (!d->journal_lines && seq < d->journal_from) rc = LINE_OK; /* before the base: a compaction's leftover */
    else if (seq != d->next_seq) rc = LINE_GAP;
    else {
        apply_line(r, l, o);
        if (l->why) rc = LINE_BAD;
        else d->journal_lines++, d->next_seq = seq + 1;
    }
    if (rc == LINE_GAP) l->why = "its seq does not follow";
    json_object_put(o);
    return rc;
}

/* Replays path's journal onto d (its base loaded, journal_from set). Returns 1, or LINE_BAD / LINE_GAP with a
 * reason in err. */
static int replay_journal(const char *path, struct statefile_data *d, char *err, size_t errlen)
{
    char jpath[PATH_MAX];
    d->next_seq = d->journal_from;
    if (snprintf(jpath, sizeof jpath, "%s%s", path, STATEJOURNAL_SUFFIX) >= (int)sizeof jpath) {
        snprintf(err, errlen, "%s: path too long", path);
        return LINE_BAD;
    }
    FILE *f = fopen(jpath, "re");
    if (!f) {
        if (errno == ENOENT) return 1; /* no line yet */
        snprintf(err, errlen, "%s: %s", jpath, strerror(errno));
        return LINE_BAD;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) fatal(1, "out of memory (json)");
    struct replay r = { .d = d };
    struct sf_loader l = { NULL };
    char *text = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = 1;
    while (rc == 1 && (n = getline(&text, &cap, f)) > 0) {
        lineno++;
        if (text[n - 1] != '\n') { /* torn by a crash mid-append: never acknowledged */
            d->journal_torn = true;
            break;
        }
        d->journal_good += n;
        rc = one_line(&r, tok, text, (size_t)n - 1, &l);
        if (rc == LINE_BAD && getc(f) == EOF && !ferror(f)) {
            /* the last line, whole but unreadable: a save a power loss cut (its pages partly on the disk); it was
             * never fdatasync'd, so never acknowledged: left out like a torn one (a bad line with lines after it is
             * not that) */
            d->journal_torn = true;
            d->journal_good -= n;
            l.why = NULL;
            rc = 1;
        }
    }
    if (rc == 1 && ferror(f)) {
        snprintf(err, errlen, "%s: %s", jpath, strerror(errno));
        rc = LINE_BAD;
    } else if (rc == LINE_GAP)
        snprintf(err, errlen, "%s: the journal does not follow the state file (line %zu: %s)", jpath, lineno, l.why);
    else if (rc != 1) snprintf(err, errlen, "%s: line %zu: malformed journal line: %s", jpath, lineno, l.why);
    if (rc == 1) compact(&r);
    free(text);
    fclose(f);
    json_tokener_free(tok);
    replay_free(&r);
    return rc;
}

static int load(const char *path, struct statefile_data *d, char *err, size_t errlen)
{
    for (int reads = 1;; reads++) {
        int rc = sf_load_base(path, d, err, errlen);
        if (rc != 1 || !d->journal_from) return rc;
        rc = replay_journal(path, d, err, errlen);
        if (rc == 1) return 1;
        statefile_data_free(d);
        if (rc != LINE_GAP || reads == STATEFILE_READS) return -1;
        /* a compaction between the two reads: the writer renames the base, then replaces the journal */
        nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
    }
}

/* The JSON trees (of the base, then of each line) are ~30 small blocks an endpoint, made and freed while the loaded
 * records stay; with glibc's fast bins off for the load a freed block is merged with its free neighbours there and
 * then, instead of all at once (malloc_consolidate, then unlinking each chunk) at the next large request — at every
 * line. As config_load_with does; a hint (a sanitizer's allocator ignores it), the process's other allocations
 * unchanged after the load. */
int statefile_load(const char *path, struct statefile_data *d, char *err, size_t errlen)
{
    cw_fastbins_off();
    int rc = load(path, d, err, errlen);
    cw_fastbins_default();
    return rc;
}
