/* alerter/outbox.c — the delivery queue: SMTP and webhook POSTs through one curl multi handle, retries with
 * exponential backoff (see outbox.h). */
#include "alerter/outbox.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"

#define MAIL_TIMEOUT_MS 60000L
#define HOOK_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L

static const unsigned parallel_limit[2] = { OUTBOX_MAIL_PARALLEL, OUTBOX_HOOK_PARALLEL };

struct outbox_transfer {
    CURL *easy;
    struct curl_slist *list; /* recipients (mail) or headers (webhook) */
    size_t sent;             /* bytes of the payload handed to libcurl (mail) */
    char errbuf[CURL_ERROR_SIZE];
    char resp[160]; /* start of the webhook's response body, for logs */
    size_t resp_len;
    struct outbox_job *job;
};

struct smtp_settings {
    bool enabled;
    char *url;
    char *from; /* "<addr>" */
    char **to;  /* "<addr>" each */
    size_t n_to;
    char *user;
    char *password;
    char *ca_file;
    enum cw_smtp_tls tls;
};

struct outbox {
    CURLM *multi;
    struct outbox_job **jobs;
    size_t n, cap;
    unsigned in_flight[2];
    struct smtp_settings smtp;
    outbox_done_fn done;
    void *ctx;
};

static void smtp_clear(struct smtp_settings *s)
{
    free(s->url);
    free(s->from);
    for (size_t i = 0; i < s->n_to; i++) free(s->to[i]);
    free(s->to);
    free(s->user);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
    free(s->ca_file);
    memset(s, 0, sizeof *s);
}

static char *bracketed(const char *addr)
{
    size_t n = strlen(addr) + 3;
    char *p = cw_xmalloc(n);
    snprintf(p, n, "<%s>", addr);
    return p;
}

void outbox_configure(struct outbox *ob, const struct cw_config *cfg)
{
    struct smtp_settings *s = &ob->smtp;
    smtp_clear(s);
    if (!cfg->email_enabled || !cfg->smtp_host) return;
    s->enabled = true;
    s->tls = cfg->smtp_tls;
    char url[600];
    bool v6 = strchr(cfg->smtp_host, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s:%d", cfg->smtp_tls == CW_SMTP_TLS ? "smtps" : "smtp", v6 ? "[" : "",
             cfg->smtp_host, v6 ? "]" : "", cfg->smtp_port);
    s->url = cw_xstrdup(url);
    s->from = bracketed(cfg->email_from ? cfg->email_from : "");
    s->to = cw_xcalloc(cfg->n_email_to ? cfg->n_email_to : 1, sizeof *s->to);
    for (size_t i = 0; i < cfg->n_email_to; i++) s->to[i] = bracketed(cfg->email_to[i]);
    s->n_to = cfg->n_email_to;
    if (cfg->smtp_user && cfg->smtp_user[0]) {
        s->user = cw_xstrdup(cfg->smtp_user);
        s->password = cw_xstrdup(cfg->smtp_password ? cfg->smtp_password : "");
    }
    if (cfg->smtp_ca_file) s->ca_file = cw_xstrdup(cfg->smtp_ca_file);
}

struct outbox *outbox_new(const struct cw_config *cfg, outbox_done_fn done, void *ctx)
{
    struct outbox *ob = cw_xcalloc(1, sizeof *ob);
    ob->multi = curl_multi_init();
    if (!ob->multi) fatal(1, "cannot create a curl multi handle");
    ob->done = done;
    ob->ctx = ctx;
    outbox_configure(ob, cfg);
    return ob;
}

static void transfer_free(struct outbox *ob, struct outbox_transfer *x)
{
    if (!x) return;
    if (x->easy) {
        curl_multi_remove_handle(ob->multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->list);
    if (x->job) {
        x->job->xfer = NULL;
        if (ob->in_flight[x->job->channel]) ob->in_flight[x->job->channel]--;
    }
    free(x);
}

static void job_free(struct outbox_job *j)
{
    if (!j) return;
    free(j->target);
    free(j->alert_ids);
    free(j->payload);
    free(j);
}

void outbox_free(struct outbox *ob)
{
    if (!ob) return;
    for (size_t i = 0; i < ob->n; i++) {
        transfer_free(ob, ob->jobs[i]->xfer);
        job_free(ob->jobs[i]);
    }
    free(ob->jobs);
    smtp_clear(&ob->smtp);
    curl_multi_cleanup(ob->multi);
    free(ob);
}

int outbox_add(struct outbox *ob, uint8_t channel, const char *target, uint64_t key, char *payload, size_t payload_len,
               uint64_t *alert_ids, size_t n_ids, uint32_t attempts)
{
    if (ob->n >= OUTBOX_MAX_JOBS) return -1;
    if (ob->n == ob->cap) {
        ob->cap = ob->cap ? ob->cap * 2 : 16;
        ob->jobs = cw_xrealloc(ob->jobs, ob->cap * sizeof *ob->jobs);
    }
    struct outbox_job *j = cw_xcalloc(1, sizeof *j);
    j->key = key;
    j->channel = channel;
    j->target = target ? cw_xstrdup(target) : NULL;
    j->alert_ids = alert_ids;
    j->n_ids = n_ids;
    j->payload = payload;
    j->payload_len = payload_len;
    j->attempts = attempts;
    j->next_try_us = 0;
    ob->jobs[ob->n++] = j;
    return 0;
}

int64_t outbox_backoff_us(uint32_t failed_attempts)
{
    int64_t d = OUTBOX_BACKOFF_MIN_US;
    for (uint32_t i = 1; i < failed_attempts && d < OUTBOX_BACKOFF_MAX_US; i++) d *= 2;
    return d > OUTBOX_BACKOFF_MAX_US ? OUTBOX_BACKOFF_MAX_US : d;
}

/* Where a job goes, safe to log: the SMTP server, or scheme://host of a webhook (its path may hold a token). */
static void describe_target(const struct outbox *ob, const struct outbox_job *j, char *out, size_t len)
{
    if (j->channel == OUTBOX_MAIL) {
        snprintf(out, len, "mail %016" PRIx64 " via %s", j->key, ob->smtp.url ? ob->smtp.url : "(no smtp)");
        return;
    }
    char masked[512];
    cw_mask_url(j->target ? j->target : "", masked, sizeof masked);
    const char *host = strstr(masked, "://");
    size_t keep = host ? (size_t)(host + 3 - masked) + strcspn(host + 3, "/?#") : strlen(masked);
    snprintf(out, len, "webhook %016" PRIx64 " to %.*s/...", j->key, (int)keep, masked);
}

static size_t read_payload(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct outbox_transfer *x = userdata;
    size_t room = size * nitems, left = x->job->payload_len - x->sent;
    size_t n = left < room ? left : room;
    memcpy(buf, x->job->payload + x->sent, n);
    x->sent += n;
    return n;
}

static size_t keep_response(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct outbox_transfer *x = userdata;
    size_t n = size * nmemb, room = sizeof x->resp - 1 - x->resp_len;
    memcpy(x->resp + x->resp_len, ptr, n < room ? n : room);
    x->resp_len += n < room ? n : room;
    x->resp[x->resp_len] = '\0';
    return n;
}

/* Sets up the transfer of job j. Returns NULL with err filled when libcurl refuses an option. */
static struct outbox_transfer *transfer_new(const struct smtp_settings *smtp, struct outbox_job *j, char *err,
                                            size_t errlen)
{
    struct outbox_transfer *x = cw_xcalloc(1, sizeof *x);
    x->job = j;
    x->easy = curl_easy_init();
    if (!x->easy) {
        snprintf(err, errlen, "cannot create a curl handle");
        free(x);
        return NULL;
    }
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                           \
    do {                                                        \
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); \
    } while (0)
    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    if (j->channel == OUTBOX_MAIL) {
        if (!smtp->enabled) {
            snprintf(err, errlen, "email is not configured");
            curl_easy_cleanup(e);
            free(x);
            return NULL;
        }
        SET(CURLOPT_URL, smtp->url);
        SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        SET(CURLOPT_TIMEOUT_MS, MAIL_TIMEOUT_MS);
        SET(CURLOPT_MAIL_FROM, smtp->from);
        for (size_t i = 0; i < smtp->n_to; i++) {
            struct curl_slist *l = curl_slist_append(x->list, smtp->to[i]);
            if (!l) fatal(1, "out of memory (curl list)");
            x->list = l;
        }
        SET(CURLOPT_MAIL_RCPT, x->list);
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_READFUNCTION, read_payload);
        SET(CURLOPT_READDATA, x);
        SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->payload_len);
        SET(CURLOPT_USE_SSL, (long)(smtp->tls == CW_SMTP_STARTTLS ? CURLUSESSL_ALL : CURLUSESSL_NONE));
        if (smtp->ca_file) SET(CURLOPT_CAINFO, smtp->ca_file);
        if (smtp->user) {
            SET(CURLOPT_USERNAME, smtp->user);
            SET(CURLOPT_PASSWORD, smtp->password);
        }
    } else {
        SET(CURLOPT_URL, j->target);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_TIMEOUT_MS, HOOK_TIMEOUT_MS);
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, j->payload);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->payload_len);
        SET(CURLOPT_USERAGENT, "clockwerk-alerter/" CW_VERSION);
        SET(CURLOPT_WRITEFUNCTION, keep_response);
        SET(CURLOPT_WRITEDATA, x);
        struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
        if (!l) fatal(1, "out of memory (curl list)");
        x->list = l;
        l = curl_slist_append(x->list, "Expect:");
        if (!l) fatal(1, "out of memory (curl list)");
        x->list = l;
        SET(CURLOPT_HTTPHEADER, x->list);
    }
#undef SET
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "cannot set up the transfer: %s", curl_easy_strerror(rc));
        curl_slist_free_all(x->list);
        curl_easy_cleanup(e);
        free(x);
        return NULL;
    }
    return x;
}

static size_t index_of(const struct outbox *ob, const struct outbox_job *j)
{
    for (size_t i = 0; i < ob->n; i++)
        if (ob->jobs[i] == j) return i;
    return SIZE_MAX;
}

static void remove_job(struct outbox *ob, struct outbox_job *j)
{
    size_t i = index_of(ob, j);
    if (i == SIZE_MAX) return;
    memmove(&ob->jobs[i], &ob->jobs[i + 1], (ob->n - i - 1) * sizeof *ob->jobs);
    ob->n--;
    job_free(j);
}

/* An attempt failed: log it, schedule the retry, tell the owner. */
static void attempt_failed(struct outbox *ob, struct outbox_job *j, const char *why, int64_t now_us)
{
    j->attempts++;
    int64_t delay = outbox_backoff_us(j->attempts);
    j->next_try_us = now_us + delay;
    char where[700];
    describe_target(ob, j, where, sizeof where);
    log_warn("%s failed (attempt %" PRIu32 ", retry in %.0f s): %s", where, j->attempts, (double)delay / 1e6, why);
    if (ob->done) ob->done(ob->ctx, j, false, why);
}

static void finish_transfer(struct outbox *ob, CURL *easy, CURLcode result, int64_t now_us)
{
    struct outbox_transfer *x = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x) != CURLE_OK || !x) return;
    struct outbox_job *j = x->job;
    long code = 0;
    if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) code = 0;
    char why[CURL_ERROR_SIZE + 256];
    bool ok;
    if (result != CURLE_OK) {
        ok = false;
        const char *text = x->errbuf[0] ? x->errbuf : curl_easy_strerror(result);
        if (code) snprintf(why, sizeof why, "%s (%s %ld)", text, j->channel == OUTBOX_MAIL ? "SMTP" : "HTTP", code);
        else snprintf(why, sizeof why, "%s", text);
    } else if (j->channel == OUTBOX_WEBHOOK && (code < 200 || code > 299)) {
        ok = false;
        for (size_t i = 0; i < x->resp_len; i++)
            if ((unsigned char)x->resp[i] < 0x20) x->resp[i] = ' ';
        snprintf(why, sizeof why, "HTTP %ld%s%s", code, x->resp_len ? ": " : "", x->resp);
    } else {
        ok = true;
        why[0] = '\0';
    }
    transfer_free(ob, x);
    if (ok) {
        char where[700];
        describe_target(ob, j, where, sizeof where);
        log_info("%s delivered%s", where, j->attempts ? " after retries" : "");
        if (ob->done) ob->done(ob->ctx, j, true, NULL);
        remove_job(ob, j);
    } else {
        attempt_failed(ob, j, why, now_us);
    }
}

static void start_due(struct outbox *ob, int64_t now_us)
{
    const unsigned *limit = parallel_limit;
    for (size_t i = 0; i < ob->n; i++) {
        struct outbox_job *j = ob->jobs[i];
        if (j->xfer || j->next_try_us > now_us || ob->in_flight[j->channel] >= limit[j->channel]) continue;
        char err[256];
        struct outbox_transfer *x = transfer_new(&ob->smtp, j, err, sizeof err);
        if (!x) {
            attempt_failed(ob, j, err, now_us);
            continue;
        }
        CURLMcode mc = curl_multi_add_handle(ob->multi, x->easy);
        if (mc != CURLM_OK) {
            x->job = NULL;
            transfer_free(ob, x);
            attempt_failed(ob, j, curl_multi_strerror(mc), now_us);
            continue;
        }
        j->xfer = x;
        ob->in_flight[j->channel]++;
    }
}

void outbox_run(struct outbox *ob, int64_t now_us)
{
    for (int round = 0; round < 2; round++) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(ob->multi, &running);
        if (mc != CURLM_OK) log_error("curl_multi_perform: %s", curl_multi_strerror(mc));
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(ob->multi, &left)))
            if (m->msg == CURLMSG_DONE) finish_transfer(ob, m->easy_handle, m->data.result, now_us);
        if (round == 0) start_due(ob, now_us);
    }
}

void *outbox_multi(struct outbox *ob) { return ob->multi; }

long outbox_timeout_ms(struct outbox *ob, int64_t now_us)
{
    long t = -1;
    if (curl_multi_timeout(ob->multi, &t) != CURLM_OK) t = 100;
    for (size_t i = 0; i < ob->n; i++) {
        const struct outbox_job *j = ob->jobs[i];
        if (j->xfer || ob->in_flight[j->channel] >= parallel_limit[j->channel]) continue; /* waits for a slot */
        int64_t d = j->next_try_us - now_us;
        long ms = d <= 0 ? 0 : (long)((d + 999) / 1000);
        if (t < 0 || ms < t) t = ms;
    }
    return t;
}

size_t outbox_count(const struct outbox *ob) { return ob->n; }

const struct outbox_job *outbox_job_at(const struct outbox *ob, size_t i) { return i < ob->n ? ob->jobs[i] : NULL; }

struct send_now_result {
    bool finished;
    bool delivered;
    char err[512];
};

static void send_now_done(void *ctx, const struct outbox_job *job, bool delivered, const char *error)
{
    struct send_now_result *r = ctx;
    r->finished = true;
    r->delivered = delivered;
    if (!delivered) snprintf(r->err, sizeof r->err, "%s", error ? error : "failed");
}

int outbox_send_now(const struct cw_config *cfg, uint8_t channel, const char *target, const char *payload,
                    size_t payload_len, long timeout_ms, char *err, size_t errlen)
{
    struct send_now_result r = { 0 };
    struct outbox *ob = outbox_new(cfg, send_now_done, &r);
    char *copy = cw_xmalloc(payload_len + 1);
    memcpy(copy, payload, payload_len);
    copy[payload_len] = '\0';
    if (outbox_add(ob, channel, target, 0, copy, payload_len, NULL, 0, 0) != 0) {
        free(copy);
        outbox_free(ob);
        snprintf(err, errlen, "cannot queue");
        return -1;
    }
    int64_t deadline = cw_mono_us() + (int64_t)timeout_ms * 1000;
    while (!r.finished) {
        int64_t now = cw_mono_us();
        if (now >= deadline) {
            snprintf(r.err, sizeof r.err, "no answer within %ld ms", timeout_ms);
            break;
        }
        outbox_run(ob, now);
        if (r.finished) break;
        long t = outbox_timeout_ms(ob, now);
        if (t < 0 || t > 200) t = 200;
        int nfds = 0;
        curl_multi_poll(ob->multi, NULL, 0, (int)t, &nfds);
    }
    outbox_free(ob);
    if (r.finished && r.delivered) return 0;
    snprintf(err, errlen, "%s", r.err);
    return -1;
}
