/* alerter/statefile_load.c — loading the alerter's state file, the base (see statefile.h): every field is checked;
 * anything off makes the whole file malformed. The sections' loaders serve a journal line too
 * (alerter/statefile_replay.c: a line has the base's keys and shapes). */
#include "alerter/statefile.h"
#include "alerter/statefile_int.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/base/log.h"
#include "common/base/util.h"

static const char HEX[] = "0123456789abcdef";

json_object *sf_get(struct sf_loader *l, json_object *o, const char *k, json_type t)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v) || !v || !json_object_is_type(v, t)) {
        if (!l->why) l->why = "missing or mistyped field";
        return NULL;
    }
    return v;
}

int64_t sf_get_i64(struct sf_loader *l, json_object *o, const char *k, int64_t lo, int64_t hi)
{
    json_object *v = sf_get(l, o, k, json_type_int);
    if (!v) return 0;
    int64_t x = json_object_get_int64(v);
    if (x < lo || x > hi) {
        if (!l->why) l->why = "value out of range";
        return 0;
    }
    return x;
}

char *sf_get_strdup(struct sf_loader *l, json_object *o, const char *k, bool nullable)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v)) {
        if (!l->why) l->why = "missing field";
        return NULL;
    }
    if (!v) {
        if (!nullable && !l->why) l->why = "null field";
        return NULL;
    }
    if (!json_object_is_type(v, json_type_string)) {
        if (!l->why) l->why = "mistyped field";
        return NULL;
    }
    return cw_xstrdup(json_object_get_string(v));
}

uint64_t sf_parse_hex(struct sf_loader *l, const char *s)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 16) : 0;
    if (!s || !*s || *end || errno) {
        if (!l->why) l->why = "bad id";
        return 0;
    }
    return v;
}

uint64_t sf_get_hex(struct sf_loader *l, json_object *o, const char *k)
{
    json_object *v = sf_get(l, o, k, json_type_string);
    return v ? sf_parse_hex(l, json_object_get_string(v)) : 0;
}

static void load_endpoint(struct sf_loader *l, json_object *o, struct statefile_endpoint *e)
{
    struct astate *s = &e->st;
    e->url = sf_get_strdup(l, o, "url", false);
    s->avail = (uint8_t)sf_get_i64(l, o, "avail", 0, ASTATE_DOWN);
    s->speed = (uint8_t)sf_get_i64(l, o, "speed", 0, ASTATE_SLOW);
    s->fail_run = (uint32_t)sf_get_i64(l, o, "fail_run", U32);
    s->ok_run = (uint32_t)sf_get_i64(l, o, "ok_run", U32);
    s->slow_run = (uint32_t)sf_get_i64(l, o, "slow_run", U32);
    s->fast_run = (uint32_t)sf_get_i64(l, o, "fast_run", U32);
    s->failed_count = (uint32_t)sf_get_i64(l, o, "failed_count", U32);
    s->reminders = (uint32_t)sf_get_i64(l, o, "reminders", U32);
    s->fail_since_us = sf_get_i64(l, o, "fail_since", I64);
    s->ok_since_us = sf_get_i64(l, o, "ok_since", I64);
    s->slow_since_us = sf_get_i64(l, o, "slow_since", I64);
    s->fast_since_us = sf_get_i64(l, o, "fast_since", I64);
    s->state_since_us = sf_get_i64(l, o, "state_since", I64);
    s->speed_since_us = sf_get_i64(l, o, "speed_since", I64);
    s->last_notify_us = sf_get_i64(l, o, "last_notify", I64);
    json_object *tn = NULL; /* optional: files written before expiry alerts lack it */
    if (json_object_object_get_ex(o, "tls_notified", &tn)) s->tls_notified_us = sf_get_i64(l, o, "tls_notified", I64);
    e->last_status = (uint16_t)sf_get_i64(l, o, "last_status", 0, UINT16_MAX);
    e->last_latency_us = sf_get_i64(l, o, "last_latency", I64);
    e->last_error = sf_get_strdup(l, o, "last_error", false);
    json_object *lc = NULL; /* optional: files written before `clockwerk status` lack it */
    if (json_object_object_get_ex(o, "last_checked", &lc)) e->last_checked_us = sf_get_i64(l, o, "last_checked", I64);
    sf_incident_load(l, o, e);
}

/* "plain" (optional, for `clockwerk status` only; see statefile.h). */
static void load_plain(struct sf_loader *l, json_object *root, struct statefile_plain *p)
{
    json_object *o = NULL;
    if (!json_object_object_get_ex(root, "plain", &o)) return;
    if (!json_object_is_type(o, json_type_object)) {
        if (!l->why) l->why = "\"plain\" is not an object";
        return;
    }
    p->fingerprint = sf_get_hex(l, o, "fingerprint");
    p->n = (size_t)sf_get_i64(l, o, "n", 0, INT32_MAX);
    json_object *bits = sf_get(l, o, "up", json_type_string), *workers = sf_get(l, o, "workers", json_type_array);
    if (l->why) return;
    const char *text = json_object_get_string(bits);
    if (strlen(text) != (p->n + 3) / 4) {
        l->why = "\"plain\": \"up\" does not match \"n\"";
        return;
    }
    p->up = cw_xcalloc(p->n + 1, 1);
    for (size_t i = 0; i < p->n && !l->why; i++) {
        const char *digit = strchr(HEX, text[i / 4]);
        if (!digit || !*digit) l->why = "\"plain\": \"up\" is not hex";
        else p->up[i] = (uint8_t)(((digit - HEX) >> (i % 4)) & 1);
    }
    p->n_workers = json_object_array_length(workers);
    p->worker_last_us = cw_xcalloc(p->n_workers + 1, sizeof *p->worker_last_us);
    for (size_t i = 0; i < p->n_workers && !l->why; i++) {
        json_object *v = json_object_array_get_idx(workers, i);
        if (!json_object_is_type(v, json_type_int)) l->why = "\"plain\": a worker's time is not an integer";
        else p->worker_last_us[i] = json_object_get_int64(v);
    }
    p->present = !l->why;
}

/* "saved_at" as written by cw_format_iso8601 ("2026-11-25T04:05:06.123Z"); 0 when missing or not that form. */
int64_t sf_load_saved_at(json_object *root)
{
    json_object *v = NULL;
    int year, mon, day, hour, min, sec, ms, end = 0;
    if (!json_object_object_get_ex(root, "saved_at", &v) || !json_object_is_type(v, json_type_string)) return 0;
    const char *s = json_object_get_string(v);
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &year, &mon, &day, &hour, &min, &sec, &ms, &end) != 7 ||
        s[end] != '\0')
        return 0;
    struct tm tm = {
        .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day, .tm_hour = hour, .tm_min = min, .tm_sec = sec
    };
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? 0 : (int64_t)t * 1000000 + (int64_t)ms * 1000;
}

static struct alert_rec *load_alert(struct sf_loader *l, json_object *o, bool *held)
{
    struct alert_rec *a = cw_xcalloc(1, sizeof *a);
    a->id = sf_get_hex(l, o, "id");
    a->kind = (uint8_t)sf_get_i64(l, o, "kind", 1, CW_ALERT_KIND_MAX);
    a->email_state = (uint8_t)sf_get_i64(l, o, "email_state", 0, CW_DELIVERY_MAX);
    a->webhook_state = (uint8_t)sf_get_i64(l, o, "webhook_state", 0, CW_DELIVERY_MAX);
    a->raised_at_us = sf_get_i64(l, o, "raised_at", I64);
    a->since_us = sf_get_i64(l, o, "since", I64);
    a->at_us = sf_get_i64(l, o, "at", I64);
    a->duration_us = sf_get_i64(l, o, "duration", I64);
    a->count = (uint32_t)sf_get_i64(l, o, "count", U32);
    a->seq = (uint32_t)sf_get_i64(l, o, "seq", U32);
    a->last_status = (uint16_t)sf_get_i64(l, o, "last_status", 0, UINT16_MAX);
    a->last_latency_us = sf_get_i64(l, o, "last_latency", I64);
    a->threshold_us = sf_get_i64(l, o, "threshold", I64);
    a->url = sf_get_strdup(l, o, "url", false);
    a->name = sf_get_strdup(l, o, "name", false);
    a->error = sf_get_strdup(l, o, "error", false);
    json_object *h = sf_get(l, o, "held", json_type_boolean);
    *held = h && json_object_get_boolean(h);
    if (!a->url) a->url = cw_xstrdup("");
    if (!a->name) a->name = cw_xstrdup("");
    if (!a->error) a->error = cw_xstrdup("");
    sf_alert_extra_load(l, o, a);
    if (!a->detail) a->detail = cw_xstrdup("");
    alert_update_message(a);
    return a;
}

/* An optional list of addresses (files written before it existed have none). */
static void get_addrs(struct sf_loader *l, json_object *o, const char *key, struct outbox_rcpts *r)
{
    json_object *list = NULL;
    if (!json_object_object_get_ex(o, key, &list)) return;
    if (!json_object_is_type(list, json_type_array)) {
        if (!l->why) l->why = "recipient list is not an array";
        return;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *v = json_object_array_get_idx(list, i);
        if (!json_object_is_type(v, json_type_string)) {
            if (!l->why) l->why = "recipient is not a string";
            return;
        }
        outbox_rcpts_add(r, json_object_get_string(v));
    }
}

/* The channel of a job (issue 15; older files have none) and an HTTP job's method and headers. */
static void load_job_chan(struct sf_loader *l, json_object *o, struct statefile_job *j)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, "chan", &v)) return;
    j->chan = sf_get_strdup(l, o, "chan", false);
    j->method = sf_get_strdup(l, o, "method", true);
    j->dest = sf_get_hex(l, o, "dest");
    struct outbox_rcpts hs = { 0 }; /* a list of strings, read like the recipients */
    get_addrs(l, o, "headers", &hs);
    j->headers = hs.addr;
    j->n_headers = hs.n;
}

static void load_job(struct sf_loader *l, json_object *o, struct statefile_job *j)
{
    j->key = sf_get_hex(l, o, "key");
    j->channel = (uint8_t)sf_get_i64(l, o, "channel", 0, OUTBOX_WEBHOOK);
    j->target = sf_get_strdup(l, o, "target", true);
    if (j->channel == OUTBOX_WEBHOOK && !j->target && !l->why) l->why = "webhook job without target";
    json_object *ids = sf_get(l, o, "ids", json_type_array);
    size_t n = ids ? json_object_array_length(ids) : 0;
    j->ids = cw_xcalloc(n ? n : 1, sizeof *j->ids);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(ids, i);
        j->ids[i] = sf_parse_hex(l, json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL);
    }
    j->n_ids = n;
    json_object *p = sf_get(l, o, "payload", json_type_string);
    if (p) {
        j->payload_len = (size_t)json_object_get_string_len(p);
        j->payload = cw_xmalloc(j->payload_len + 1);
        memcpy(j->payload, json_object_get_string(p), j->payload_len);
        j->payload[j->payload_len] = '\0';
    }
    j->attempts = (uint32_t)sf_get_i64(l, o, "attempts", U32);
    get_addrs(l, o, "sent_to", &j->sent);
    get_addrs(l, o, "refused", &j->refused);
    load_job_chan(l, o, j);
}

/* The file's JSON, or NULL after one line in err that says what is wrong (json-c's own texts span lines). */
static json_object *parse_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct cw_buf b = { 0 };
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) cw_buf_put(&b, chunk, n);
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    json_object *root = NULL;
    if (read_errno) snprintf(err, errlen, "%s: %s", path, strerror(read_errno));
    else if (b.len == 0) snprintf(err, errlen, "%s: not readable JSON: the file is empty", path);
    else if (b.len > INT_MAX) snprintf(err, errlen, "%s: not readable JSON: the file is too large", path);
    else {
        struct json_tokener *tok = json_tokener_new();
        if (!tok) fatal(1, "out of memory (json)");
        root = json_tokener_parse_ex(tok, (const char *)b.data, (int)b.len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        if (!root && jerr == json_tokener_continue)
            snprintf(err, errlen, "%s: not readable JSON: the file ends in the middle of it (truncated?)", path);
        else if (!root)
            snprintf(err, errlen, "%s: not readable JSON: %s at byte %zu", path, json_tokener_error_desc(jerr),
                     json_tokener_get_parse_end(tok));
        json_tokener_free(tok);
    }
    cw_buf_free(&b);
    return root;
}

/* A section's array: required in a base ("endpoints", "alerts", "jobs"), optional in a journal line (NULL when
 * missing). */
static json_object *section(struct sf_loader *l, json_object *o, const char *k, bool required)
{
    json_object *v = NULL;
    if (!required && !json_object_object_get_ex(o, k, &v)) return NULL;
    return sf_get(l, o, k, json_type_array);
}

/* Each element of arr (NULL: none) handed to one, once it is checked to be an object (else why names it). */
static void each_object(struct sf_loader *l, json_object *arr, const char *why, struct statefile_data *d,
                        void (*one)(struct sf_loader *, json_object *, struct statefile_data *))
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n && !l->why; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(o, json_type_object)) l->why = why;
        else one(l, o, d);
    }
}

static void one_endpoint(struct sf_loader *l, json_object *o, struct statefile_data *d)
{
    load_endpoint(l, o, &d->eps[d->n_eps++]);
}

static void one_alert(struct sf_loader *l, json_object *o, struct statefile_data *d)
{
    d->alerts[d->n_alerts] = load_alert(l, o, &d->alert_held[d->n_alerts]);
    d->n_alerts++;
}

static void one_job(struct sf_loader *l, json_object *o, struct statefile_data *d)
{
    load_job(l, o, &d->jobs[d->n_jobs++]);
}

static void load_endpoints(struct sf_loader *l, json_object *eps, struct statefile_data *d)
{
    size_t n = eps ? json_object_array_length(eps) : 0;
    d->eps = cw_xcalloc(n ? n : 1, sizeof *d->eps);
    each_object(l, eps, "endpoint is not an object", d, one_endpoint);
}

static void load_alerts(struct sf_loader *l, json_object *alerts, struct statefile_data *d)
{
    size_t n = alerts ? json_object_array_length(alerts) : 0;
    d->alerts = cw_xcalloc(n ? n : 1, sizeof *d->alerts);
    d->alert_held = cw_xcalloc(n ? n : 1, sizeof *d->alert_held);
    each_object(l, alerts, "alert is not an object", d, one_alert);
}

static void load_jobs(struct sf_loader *l, json_object *jobs, struct statefile_data *d)
{
    size_t n = jobs ? json_object_array_length(jobs) : 0;
    d->jobs = cw_xcalloc(n ? n : 1, sizeof *d->jobs);
    each_object(l, jobs, "job is not an object", d, one_job);
}

unsigned sf_load_sections(struct sf_loader *l, json_object *o, struct statefile_data *d, bool base)
{
    json_object *eps = section(l, o, "endpoints", base);
    json_object *alerts = l->why ? NULL : section(l, o, "alerts", base);
    json_object *jobs = l->why ? NULL : section(l, o, "jobs", base);
    if (l->why) return 0;
    unsigned found = (alerts ? SF_SEC_ALERTS : 0) | (jobs ? SF_SEC_JOBS : 0);
    found |= json_object_object_get_ex(o, "plain", NULL) ? SF_SEC_PLAIN : 0;
    found |= json_object_object_get_ex(o, "locations", NULL) ? SF_SEC_LOCATIONS : 0;
    load_plain(l, o, &d->plain);
    sf_locations_load(l, o, &d->locs, &d->n_locs);
    sf_votes_load(l, o, &d->votes, &d->n_votes);
    sf_voters_load(l, o, &d->voters, &d->n_voters);
    load_endpoints(l, eps, d);
    load_alerts(l, alerts, d);
    load_jobs(l, jobs, d);
    return found;
}

int sf_load_base(const char *path, struct statefile_data *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (access(path, F_OK) != 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    json_object *root = parse_file(path, err, errlen);
    if (!root) return -1;
    struct sf_loader l = { NULL };
    if (!json_object_is_type(root, json_type_object)) l.why = "not a JSON object";
    else if (sf_get_i64(&l, root, "version", 0, INT32_MAX) != STATEFILE_VERSION && !l.why) l.why = "unknown version";
    if (!l.why && json_object_object_get_ex(root, "journal_from", NULL)) /* issue 18; older files: no journal */
        d->journal_from = sf_get_i64(&l, root, "journal_from", 1, INT64_MAX);
    if (!l.why) {
        d->saved_at_us = sf_load_saved_at(root);
        sf_load_sections(&l, root, d, true);
    }
    json_object_put(root);
    if (l.why) {
        snprintf(err, errlen, "%s: malformed state file: %s", path, l.why);
        statefile_data_free(d);
        return -1;
    }
    return 1;
}

void statefile_data_free(struct statefile_data *d)
{
    for (size_t i = 0; i < d->n_eps; i++) {
        free(d->eps[i].url);
        free(d->eps[i].last_error);
        incident_free(&d->eps[i].inc);
    }
    free(d->eps);
    free(d->plain.up);
    free(d->plain.worker_last_us);
    for (size_t i = 0; i < d->n_alerts; i++) alert_free(d->alerts[i]);
    free(d->alerts);
    free(d->alert_held);
    for (size_t i = 0; i < d->n_jobs; i++) {
        free(d->jobs[i].target);
        free(d->jobs[i].ids);
        free(d->jobs[i].payload);
        outbox_rcpts_free(&d->jobs[i].sent);
        outbox_rcpts_free(&d->jobs[i].refused);
        free(d->jobs[i].chan);
        free(d->jobs[i].method);
        outbox_rcpts_free(&(struct outbox_rcpts){ .addr = d->jobs[i].headers, .n = d->jobs[i].n_headers });
    }
    free(d->jobs);
    sf_locations_free(d->locs, d->n_locs);
    sf_votes_free(d->votes, d->n_votes);
    sf_voters_free(d->voters, d->n_voters);
    memset(d, 0, sizeof *d);
}
