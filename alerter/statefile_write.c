/* alerter/statefile_write.c — the state file's JSON as written: the whole file (statefile_save), its pieces for the
 * journal and the compaction (alerter/statejournal.h), and the hash of what an endpoint's part of it holds (what
 * tells a journal which endpoints changed). The format: docs/alerts.md "The state file"; loading:
 * statefile_load.c and statefile_replay.c. */
#include "alerter/statefile.h"
#include "alerter/statefile_int.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/util.h"

void sf_put_i64(json_object *o, const char *k, int64_t v)
{
    json_object_object_add(o, k, cw_jnew(json_object_new_int64(v)));
}

void sf_put_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? cw_jnew(json_object_new_string(v)) : NULL);
}

void sf_put_hex(json_object *o, const char *k, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%016" PRIx64, v);
    sf_put_str(o, k, buf);
}

static json_object *endpoint_json(const struct statefile_endpoint *e)
{
    json_object *o = cw_jnew(json_object_new_object());
    const struct astate *s = &e->st;
    sf_put_str(o, "url", e->url);
    sf_put_i64(o, "avail", s->avail);
    sf_put_i64(o, "speed", s->speed);
    sf_put_i64(o, "fail_run", s->fail_run);
    sf_put_i64(o, "ok_run", s->ok_run);
    sf_put_i64(o, "slow_run", s->slow_run);
    sf_put_i64(o, "fast_run", s->fast_run);
    sf_put_i64(o, "failed_count", s->failed_count);
    sf_put_i64(o, "reminders", s->reminders);
    sf_put_i64(o, "fail_since", s->fail_since_us);
    sf_put_i64(o, "ok_since", s->ok_since_us);
    sf_put_i64(o, "slow_since", s->slow_since_us);
    sf_put_i64(o, "fast_since", s->fast_since_us);
    sf_put_i64(o, "state_since", s->state_since_us);
    sf_put_i64(o, "speed_since", s->speed_since_us);
    sf_put_i64(o, "last_notify", s->last_notify_us);
    sf_put_i64(o, "tls_notified", s->tls_notified_us);
    sf_put_i64(o, "last_status", e->last_status);
    sf_put_i64(o, "last_latency", e->last_latency_us);
    sf_put_str(o, "last_error", e->last_error ? e->last_error : "");
    sf_put_i64(o, "last_checked", e->last_checked_us);
    json_object_object_add(o, "incident", sf_incident_json(e));
    return o;
}

static json_object *plain_json(const struct statefile_plain *p)
{
    json_object *o = cw_jnew(json_object_new_object());
    char fp[24];
    snprintf(fp, sizeof fp, "%016" PRIx64, p->fingerprint);
    sf_put_str(o, "fingerprint", fp);
    sf_put_i64(o, "n", (int64_t)p->n);
    size_t digits = (p->n + 3) / 4;
    char *bits = cw_xmalloc(digits + 1);
    for (size_t k = 0; k < digits; k++) {
        unsigned v = 0;
        for (size_t j = 0; j < 4 && 4 * k + j < p->n; j++) v |= (p->up[4 * k + j] ? 1u : 0u) << j;
        bits[k] = "0123456789abcdef"[v];
    }
    bits[digits] = '\0';
    sf_put_str(o, "up", bits);
    free(bits);
    json_object *workers = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < p->n_workers; i++)
        json_object_array_add(workers, cw_jnew(json_object_new_int64(p->worker_last_us[i])));
    json_object_object_add(o, "workers", workers);
    return o;
}

static json_object *alert_json(const struct alert_rec *a, bool held)
{
    json_object *o = cw_jnew(json_object_new_object());
    sf_put_hex(o, "id", a->id);
    sf_put_i64(o, "kind", a->kind);
    sf_put_i64(o, "email_state", a->email_state);
    sf_put_i64(o, "webhook_state", a->webhook_state);
    sf_put_i64(o, "raised_at", a->raised_at_us);
    sf_put_i64(o, "since", a->since_us);
    sf_put_i64(o, "at", a->at_us);
    sf_put_i64(o, "duration", a->duration_us);
    sf_put_i64(o, "count", a->count);
    sf_put_i64(o, "seq", a->seq);
    sf_put_i64(o, "last_status", a->last_status);
    sf_put_i64(o, "last_latency", a->last_latency_us);
    sf_put_i64(o, "threshold", a->threshold_us);
    sf_put_str(o, "url", a->url);
    sf_put_str(o, "name", a->name);
    sf_put_str(o, "error", a->error);
    sf_alert_extra_json(o, a);
    json_object_object_add(o, "held", cw_jnew(json_object_new_boolean(held)));
    return o;
}

static void put_addrs(json_object *o, const char *key, const struct outbox_rcpts *r)
{
    json_object *list = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < r->n; i++) json_object_array_add(list, cw_jnew(json_object_new_string(r->addr[i])));
    json_object_object_add(o, key, list);
}

static json_object *job_json(const struct statefile_job *j)
{
    json_object *o = cw_jnew(json_object_new_object());
    sf_put_hex(o, "key", j->key);
    sf_put_i64(o, "channel", j->channel);
    sf_put_str(o, "target", j->target);
    if (j->chan) { /* issue 15: the channel, and an HTTP job's request */
        sf_put_str(o, "chan", j->chan);
        sf_put_str(o, "method", j->method);
        sf_put_hex(o, "dest", j->dest);
        json_object *hs = cw_jnew(json_object_new_array());
        for (size_t i = 0; i < j->n_headers; i++)
            json_object_array_add(hs, cw_jnew(json_object_new_string(j->headers[i])));
        json_object_object_add(o, "headers", hs);
    }
    json_object *ids = cw_jnew(json_object_new_array());
    for (size_t i = 0; i < j->n_ids; i++) {
        char buf[24];
        snprintf(buf, sizeof buf, "%016" PRIx64, j->ids[i]);
        json_object_array_add(ids, cw_jnew(json_object_new_string(buf)));
    }
    json_object_object_add(o, "ids", ids);
    json_object_object_add(o, "payload", cw_jnew(json_object_new_string_len(j->payload, (int)j->payload_len)));
    sf_put_i64(o, "attempts", j->attempts);
    put_addrs(o, "sent_to", &j->sent);
    put_addrs(o, "refused", &j->refused);
    return o;
}

uint64_t statefile_fingerprint(const struct cw_endpoint *eps, size_t n)
{
    uint64_t fp = 14695981039346656037ULL; /* FNV-1a's basis and prime, over the URLs' own hashes */
    for (size_t i = 0; i < n; i++) fp = (fp ^ cw_hash64(eps[i].url)) * 1099511628211ULL;
    return fp;
}

/* Appends o's JSON text (json-c's plain form: no newline in it) and drops o; strip: without its first and last
 * byte (an array's elements). */
static void put_text(struct cw_buf *out, json_object *o, bool strip)
{
    size_t len = 0;
    const char *text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    if (!text) fatal(1, "out of memory (json)");
    if (strip && len >= 2) cw_buf_put(out, text + 1, len - 2);
    else cw_buf_put(out, text, len);
    json_object_put(o);
}

void statefile_section_text(const struct statefile_data *d, enum statefile_section s, struct cw_buf *out)
{
    json_object *arr;
    switch (s) {
    case STATEFILE_PLAIN:
        put_text(out, plain_json(&d->plain), false);
        return;
    case STATEFILE_WORKERS:
        arr = cw_jnew(json_object_new_array());
        for (size_t i = 0; i < d->plain.n_workers; i++)
            json_object_array_add(arr, cw_jnew(json_object_new_int64(d->plain.worker_last_us[i])));
        put_text(out, arr, false);
        return;
    case STATEFILE_ALERTS:
        arr = cw_jnew(json_object_new_array());
        for (size_t i = 0; i < d->n_alerts; i++)
            json_object_array_add(arr, alert_json(d->alerts[i], d->alert_held && d->alert_held[i]));
        put_text(out, arr, false);
        return;
    case STATEFILE_JOBS:
        arr = cw_jnew(json_object_new_array());
        for (size_t i = 0; i < d->n_jobs; i++) json_object_array_add(arr, job_json(&d->jobs[i]));
        put_text(out, arr, false);
        return;
    case STATEFILE_LOCATIONS:
        put_text(out, sf_locations_json(d->locs, d->n_locs), false);
        return;
    }
}

void statefile_items_text(const struct statefile_data *d, enum statefile_list l, struct cw_buf *out, bool *first)
{
    size_t n = l == STATEFILE_ENDPOINTS ? d->n_eps : l == STATEFILE_VOTERS ? d->n_voters : d->n_votes;
    for (size_t i = 0; i < n; i++) {
        if (!*first) cw_buf_put(out, ",", 1);
        *first = false;
        if (l == STATEFILE_ENDPOINTS) put_text(out, endpoint_json(&d->eps[i]), false);
        else if (l == STATEFILE_VOTERS) put_text(out, sf_voters_json(&d->voters[i], 1), true);
        else put_text(out, sf_votes_json(&d->votes[i], 1), true);
    }
}

const char *statefile_list_key(enum statefile_list l)
{
    return l == STATEFILE_ENDPOINTS ? "endpoints" : l == STATEFILE_VOTERS ? "voters" : "votes";
}

const char *statefile_section_key(enum statefile_section s)
{
    static const char *const keys[] = { "plain", "workers", "alerts", "jobs", "locations" };
    return keys[s];
}

void statefile_text(const struct statefile_data *d, int64_t journal_from, struct cw_buf *out)
{
    char when[32];
    cw_buf_printf(out, "{\"version\":%d,\"saved_at\":\"%s\"", STATEFILE_VERSION,
                  cw_format_iso8601(cw_wall_us(), when, sizeof when));
    if (journal_from > 0) cw_buf_printf(out, ",\"journal_from\":%lld", (long long)journal_from);
    for (enum statefile_list l = STATEFILE_ENDPOINTS; l <= STATEFILE_VOTES; l++) {
        size_t n = l == STATEFILE_ENDPOINTS ? d->n_eps : l == STATEFILE_VOTERS ? d->n_voters : d->n_votes;
        if (l != STATEFILE_ENDPOINTS && n == 0) continue; /* "voters" and "votes" only when there are some */
        bool first = true;
        cw_buf_printf(out, ",\"%s\":[", statefile_list_key(l));
        statefile_items_text(d, l, out, &first);
        cw_buf_put(out, "]", 1);
    }
    statefile_tail_text(d, out);
}

void statefile_tail_text(const struct statefile_data *d, struct cw_buf *out)
{
    for (enum statefile_section s = STATEFILE_PLAIN; s <= STATEFILE_LOCATIONS; s++) {
        if (s == STATEFILE_WORKERS || (s == STATEFILE_LOCATIONS && d->n_locs == 0)) continue; /* workers: in plain */
        cw_buf_printf(out, ",\"%s\":", statefile_section_key(s));
        statefile_section_text(d, s, out);
    }
    cw_buf_put(out, "}\n", 2);
}

int statefile_save(const char *path, const struct statefile_data *d, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    struct cw_buf file = { 0 };
    statefile_text(d, 0, &file);
    const char *step = NULL;
    int rc = cw_write_file_atomic(path, tmp, file.data, file.len, true, &step);
    if (rc != 0) {
        if (!strcmp(step, "create")) snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        else if (!strcmp(step, "rename")) snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        else snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    }
    cw_buf_free(&file);
    return rc;
}

/* ---- what an endpoint's part of the file holds, as one 64-bit hash */

/* A multiply-rotate step per 8 bytes: fast (a journal hashes every endpoint worth saving at each save) and good
 * enough to tell a change (a miss needs a 64-bit collision between two states of one endpoint). */
static uint64_t mix_word(uint64_t h, uint64_t w)
{
    h ^= w * 0x9e3779b97f4a7c15ull;
    h = (h << 27 | h >> 37) * 0xbf58476d1ce4e5b9ull;
    return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    if (!s) return mix_word(h, 0x6e756c6cull); /* NULL and "" differ */
    size_t len = strlen(s), i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = mix_word(h, w);
    }
    uint64_t last = 0;
    memcpy(&last, s + i, len - i);
    return mix_word(h, last ^ (uint64_t)len << 56);
}

/* Every field endpoint_json and sf_incident_json write (tests/unit/test_statejournal.c changes each one). */
static uint64_t record_hash(uint64_t h, const struct statefile_endpoint *e)
{
    const struct astate *s = &e->st;
    const struct incident *inc = &e->inc;
    const uint64_t words[] = { s->avail | (uint64_t)s->speed << 8 | (uint64_t)e->notified << 16 |
                                   (uint64_t)inc->open << 24 | (uint64_t)inc->acked << 25 |
                                   (uint64_t)e->flap.flapping << 26 | (uint64_t)e->flap.n << 32 |
                                   (uint64_t)e->last_status << 40,
                               s->fail_run | (uint64_t)s->ok_run << 32,
                               s->slow_run | (uint64_t)s->fast_run << 32,
                               s->failed_count | (uint64_t)s->reminders << 32,
                               (uint64_t)s->fail_since_us,
                               (uint64_t)s->ok_since_us,
                               (uint64_t)s->slow_since_us,
                               (uint64_t)s->fast_since_us,
                               (uint64_t)s->state_since_us,
                               (uint64_t)s->speed_since_us,
                               (uint64_t)s->last_notify_us,
                               (uint64_t)s->tls_notified_us,
                               (uint64_t)e->last_latency_us,
                               (uint64_t)e->last_checked_us,
                               inc->id,
                               (uint64_t)inc->since_us,
                               (uint64_t)inc->opened_wall_us,
                               (uint64_t)inc->acked_at_us,
                               inc->steps | (uint64_t)e->resends << 32,
                               e->flap.failed,
                               inc->n_children };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) h = mix_word(h, words[i]);
    h = mix_str(mix_str(mix_str(h, e->url), e->last_error), inc->acked ? inc->acked_by : NULL);
    for (size_t i = 0; i < inc->n_children; i++) h = mix_str(h, inc->children[i]);
    return h;
}

uint64_t statefile_unit_hash(const struct statefile_endpoint *rec, const struct statefile_voter *voters, size_t n_voters,
                             const struct statefile_vote *vote)
{
    if (!rec && !n_voters && !vote) return 0;
    uint64_t h = mix_word(0x5eed, (rec ? 1u : 0u) | (vote ? 2u : 0u) | (uint64_t)n_voters << 8);
    if (rec) h = record_hash(h, rec);
    for (size_t i = 0; i < n_voters; i++) {
        const struct statefile_voter *sv = &voters[i];
        const struct quorum_voter *v = &sv->v;
        const uint64_t words[] = { v->vote | (uint64_t)v->speed << 8,
                                   v->fail_run | (uint64_t)v->ok_run << 32,
                                   v->slow_run | (uint64_t)v->fast_run << 32,
                                   (uint64_t)v->fail_since_us,
                                   (uint64_t)v->ok_since_us,
                                   (uint64_t)v->slow_since_us,
                                   (uint64_t)v->fast_since_us,
                                   (uint64_t)v->since_us,
                                   (uint64_t)v->speed_since_us,
                                   (uint64_t)v->last_at_us,
                                   sv->boot_id,
                                   (uint64_t)sv->checked_us };
        for (size_t k = 0; k < sizeof words / sizeof *words; k++) h = mix_word(h, words[k]);
        h = mix_str(mix_str(h, sv->url), sv->location);
    }
    if (vote) h = mix_str(mix_str(mix_word(h, vote->verdict), vote->url), vote->summary);
    return h ? h : 1; /* 0 means "nothing" */
}
