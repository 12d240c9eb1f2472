/* alerter/statefile.c — saving and loading the alerter's state file as JSON (see statefile.h). */
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
#include <unistd.h>

#include "common/base/clock.h"
#include "common/base/log.h"
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

uint64_t statefile_fingerprint(const struct cw_endpoint *eps, size_t n)
{
    uint64_t fp = 14695981039346656037ULL; /* FNV-1a's basis and prime, over the URLs' own hashes */
    for (size_t i = 0; i < n; i++) fp = (fp ^ cw_hash64(eps[i].url)) * 1099511628211ULL;
    return fp;
}

static const char HEX[] = "0123456789abcdef";

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
        bits[k] = HEX[v];
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

int statefile_save(const char *path, const struct statefile_data *d, char *err, size_t errlen)
{
    json_object *root = cw_jnew(json_object_new_object());
    char when[32];
    sf_put_i64(root, "version", STATEFILE_VERSION);
    sf_put_str(root, "saved_at", cw_format_iso8601(cw_wall_us(), when, sizeof when));
    json_object *eps = cw_jnew(json_object_new_array()), *alerts = cw_jnew(json_object_new_array()),
                *jobs = cw_jnew(json_object_new_array());
    json_object_object_add(root, "endpoints", eps);
    json_object_object_add(root, "plain", plain_json(&d->plain));
    json_object_object_add(root, "alerts", alerts);
    json_object_object_add(root, "jobs", jobs);
    if (d->n_locs) json_object_object_add(root, "locations", sf_locations_json(d->locs, d->n_locs));
    if (d->n_votes) json_object_object_add(root, "votes", sf_votes_json(d->votes, d->n_votes));
    if (d->n_voters) json_object_object_add(root, "voters", sf_voters_json(d->voters, d->n_voters));
    for (size_t i = 0; i < d->n_eps; i++) json_object_array_add(eps, endpoint_json(&d->eps[i]));
    for (size_t i = 0; i < d->n_alerts; i++)
        json_object_array_add(alerts, alert_json(d->alerts[i], d->alert_held && d->alert_held[i]));
    for (size_t i = 0; i < d->n_jobs; i++) json_object_array_add(jobs, job_json(&d->jobs[i]));

    size_t len = 0;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &len);
    char tmp[PATH_MAX];
    int rc = -1;
    struct cw_buf file = { 0 };
    if (!text) {
        snprintf(err, errlen, "cannot serialise the state");
        goto out;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        goto out;
    }
    cw_buf_put(&file, text, len);
    cw_buf_put(&file, "\n", 1);
    const char *step = NULL;
    if (cw_write_file_atomic(path, tmp, file.data, file.len, true, &step) != 0) {
        if (!strcmp(step, "create")) snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        else if (!strcmp(step, "rename"))
            snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        else snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    cw_buf_free(&file);
    json_object_put(root);
    return rc;
}
