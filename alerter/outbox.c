/* alerter/outbox.c — the delivery queue: SMTP and webhook POSTs through one curl multi handle, retries with
 * exponential backoff, the sockets of its transfers (see outbox.h; a mail's recipients: outbox_mail.c). */
#include "alerter/outbox.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base/log.h"
#include "common/base/util.h"
#include "alerter/outbox_int.h"

#define MAIL_TIMEOUT_MS 60000L
#define HOOK_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L

static const unsigned parallel_limit[2] = { OUTBOX_MAIL_PARALLEL, OUTBOX_HOOK_PARALLEL };

static void hooks_clear(struct outbox *ob)
{
    for (size_t i = 0; i < ob->n_hooks; i++) free(ob->hooks[i]);
    free(ob->hooks);
    ob->hooks = NULL;
    ob->n_hooks = 0;
}

void outbox_configure(struct outbox *ob, const struct cw_config *cfg)
{
    outbox_smtp_clear(&ob->smtp);
    hooks_clear(ob);
    ob->hooks = cw_xcalloc(cfg->n_webhooks ? cfg->n_webhooks : 1, sizeof *ob->hooks);
    for (size_t i = 0; i < cfg->n_webhooks; i++) ob->hooks[i] = cw_xstrdup(cfg->webhooks[i].url);
    ob->n_hooks = cfg->n_webhooks;
    outbox_chans_set(ob, cfg);
    if (!cfg->email_enabled || !cfg->smtp_host) return;
    outbox_smtp_set(&ob->smtp, cfg->smtp_host, cfg->smtp_port, cfg->smtp_tls, cfg->email_from, cfg->email_to,
                    cfg->n_email_to, cfg->smtp_user, cfg->smtp_password, cfg->smtp_ca_file);
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

/* ---------------------------------------------------------------- sockets (a prompt stop) */

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct outbox *ob = clientp;
    (void)purpose;
    int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    if (ob->n_socks == ob->cap_socks) {
        ob->cap_socks = ob->cap_socks ? ob->cap_socks * 2 : 8;
        ob->socks = cw_xrealloc(ob->socks, ob->cap_socks * sizeof *ob->socks);
    }
    ob->socks[ob->n_socks++] = fd;
    return fd;
}

static int close_socket(void *clientp, curl_socket_t fd)
{
    struct outbox *ob = clientp;
    for (size_t i = 0; i < ob->n_socks; i++)
        if (ob->socks[i] == fd) {
            ob->socks[i] = ob->socks[--ob->n_socks];
            break;
        }
    return close(fd);
}

/* ---------------------------------------------------------------- jobs */

static void transfer_free(struct outbox *ob, struct outbox_transfer *x)
{
    if (!x) return;
    if (x->easy) {
        curl_multi_remove_handle(ob->multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->list);
    outbox_rcpts_free(&x->due);
    smtp_rcpt_free(&x->rcpt);
    if (x->job) {
        x->job->xfer = NULL;
        if (ob->in_flight[x->job->channel]) ob->in_flight[x->job->channel]--;
    }
    free(x);
}

void outbox_rcpts_add(struct outbox_rcpts *r, const char *addr)
{
    r->addr = cw_xrealloc(r->addr, (r->n + 1) * sizeof *r->addr);
    r->addr[r->n++] = cw_xstrdup(addr);
}

void outbox_rcpts_free(struct outbox_rcpts *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->addr[i]);
    free(r->addr);
    r->addr = NULL;
    r->n = 0;
}

void outbox_job_free(struct outbox_job *j)
{
    if (!j) return;
    free(j->chan);
    free(j->method);
    free(j->target);
    for (size_t i = 0; i < j->n_headers; i++) free(j->headers[i]);
    free(j->headers);
    free(j->alert_ids);
    free(j->payload);
    outbox_rcpts_free(&j->sent);
    outbox_rcpts_free(&j->refused);
    free(j);
}

void outbox_free(struct outbox *ob)
{
    if (!ob) return;
    /* Shut every connection down first: removing a transfer in flight makes libcurl end the DATA and wait for
     * the server's answer, and closing an SMTP connection sends QUIT and waits too; on a dead socket both fail
     * at once. Undelivered jobs are in the caller's state file already. */
    for (size_t i = 0; i < ob->n_socks; i++) shutdown(ob->socks[i], SHUT_RDWR);
    for (size_t i = 0; i < ob->n; i++) {
        transfer_free(ob, ob->jobs[i]->xfer);
        outbox_job_free(ob->jobs[i]);
    }
    free(ob->jobs);
    outbox_smtp_clear(&ob->smtp);
    hooks_clear(ob);
    outbox_chans_clear(ob);
    curl_multi_cleanup(ob->multi);
    free(ob->socks);
    free(ob);
}

struct outbox_job *outbox_push(struct outbox *ob, struct outbox_job *j)
{
    if (ob->n >= OUTBOX_MAX_JOBS) return NULL;
    if (ob->n == ob->cap) {
        ob->cap = ob->cap ? ob->cap * 2 : 16;
        ob->jobs = cw_xrealloc(ob->jobs, ob->cap * sizeof *ob->jobs);
    }
    j->next_try_us = 0;
    ob->jobs[ob->n++] = j;
    return j;
}

void outbox_job_restore_chan(struct outbox_job *j, char **chan, char **method, char ***headers, size_t *n_headers,
                             uint64_t dest)
{
    j->chan = *chan;
    j->method = *method;
    j->headers = *headers;
    j->n_headers = *n_headers;
    j->dest = dest;
    *chan = *method = NULL;
    *headers = NULL;
    *n_headers = 0;
}

size_t outbox_room(const struct outbox *ob) { return ob->n >= OUTBOX_MAX_JOBS ? 0 : OUTBOX_MAX_JOBS - ob->n; }

struct outbox_job *outbox_add(struct outbox *ob, uint8_t channel, const char *target, uint64_t key, char *payload,
                              size_t payload_len, uint64_t *alert_ids, size_t n_ids, uint32_t attempts)
{
    if (ob->n >= OUTBOX_MAX_JOBS) return NULL;
    struct outbox_job *j = cw_xcalloc(1, sizeof *j);
    j->key = key;
    j->channel = channel;
    j->target = target ? cw_xstrdup(target) : NULL;
    j->alert_ids = alert_ids;
    j->n_ids = n_ids;
    j->payload = payload;
    j->payload_len = payload_len;
    j->attempts = attempts;
    return outbox_push(ob, j);
}

struct outbox_job *outbox_add_mail(struct outbox *ob, const char *chan, uint64_t key, char *payload, size_t payload_len,
                                   uint64_t *alert_ids, size_t n_ids)
{
    struct outbox_job *j = outbox_add(ob, OUTBOX_MAIL, NULL, key, payload, payload_len, alert_ids, n_ids, 0);
    if (j) j->chan = cw_xstrdup(chan);
    return j;
}

struct outbox_job *outbox_add_http(struct outbox *ob, const char *chan, uint64_t dest, uint64_t key,
                                   struct outbox_request *req, uint64_t *alert_ids, size_t n_ids)
{
    if (ob->n >= OUTBOX_MAX_JOBS) return NULL;
    struct outbox_job *j = cw_xcalloc(1, sizeof *j);
    j->key = key;
    j->channel = OUTBOX_WEBHOOK;
    j->chan = cw_xstrdup(chan);
    j->dest = dest;
    j->method = cw_xstrdup(req->method ? req->method : "POST");
    j->target = req->url;
    j->headers = req->headers;
    j->n_headers = req->n_headers;
    j->payload = req->body ? req->body : cw_xstrdup("");
    j->payload_len = req->body ? req->body_len : 0;
    j->alert_ids = alert_ids;
    j->n_ids = n_ids;
    *req = (struct outbox_request){ 0 };
    return outbox_push(ob, j);
}

int64_t outbox_backoff_us(uint32_t failed_attempts)
{
    int64_t d = OUTBOX_BACKOFF_MIN_US;
    for (uint32_t i = 1; i < failed_attempts && d < OUTBOX_BACKOFF_MAX_US; i++) d *= 2;
    return d > OUTBOX_BACKOFF_MAX_US ? OUTBOX_BACKOFF_MAX_US : d;
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

static void list_add(struct outbox_transfer *x, const char *line)
{
    struct curl_slist *l = curl_slist_append(x->list, line);
    if (!l) fatal(1, "out of memory (curl list)");
    x->list = l;
}

/* An HTTP job's request: its method, URL, headers (Content-Type: application/json unless it has its own) and
 * body; TLS verified unless its channel says verify_tls = false. */
static CURLcode webhook_options(struct outbox *ob, struct outbox_transfer *x)
{
    CURL *e = x->easy;
    struct outbox_job *j = x->job;
    if (j->n_headers == 0) list_add(x, "Content-Type: application/json");
    for (size_t i = 0; i < j->n_headers; i++) list_add(x, j->headers[i]);
    list_add(x, "Expect:");
    const struct outbox_chan *c = j->chan ? outbox_chan_find(ob, j->chan) : NULL;
    const char *method = j->method ? j->method : "POST";
    CURLcode rc = CURLE_OK;
    OUTBOX_SETOPT(rc, e, CURLOPT_URL, j->target);
    OUTBOX_SETOPT(rc, e, CURLOPT_PROTOCOLS_STR, "http,https");
    OUTBOX_SETOPT(rc, e, CURLOPT_TIMEOUT_MS, HOOK_TIMEOUT_MS);
    OUTBOX_SETOPT(rc, e, CURLOPT_POST, 1L);
    OUTBOX_SETOPT(rc, e, CURLOPT_POSTFIELDS, j->payload);
    OUTBOX_SETOPT(rc, e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->payload_len);
    if (strcmp(method, "POST") != 0) OUTBOX_SETOPT(rc, e, CURLOPT_CUSTOMREQUEST, method);
    OUTBOX_SETOPT(rc, e, CURLOPT_USERAGENT, "clockwerk-alerter/" CW_VERSION);
    OUTBOX_SETOPT(rc, e, CURLOPT_WRITEFUNCTION, keep_response);
    OUTBOX_SETOPT(rc, e, CURLOPT_WRITEDATA, x);
    OUTBOX_SETOPT(rc, e, CURLOPT_HTTPHEADER, x->list);
    if (c && !c->verify_tls) {
        OUTBOX_SETOPT(rc, e, CURLOPT_SSL_VERIFYPEER, 0L);
        OUTBOX_SETOPT(rc, e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return rc;
}

/* Sets up the transfer of job j (for mail, to the recipients still due). Returns NULL with err filled when
 * libcurl refuses an option. */
static struct outbox_transfer *transfer_new(struct outbox *ob, struct outbox_job *j, int64_t now_us, char *err,
                                            size_t errlen)
{
    if (j->channel == OUTBOX_MAIL && !outbox_smtp_of(ob, j)) {
        snprintf(err, errlen, j->chan ? "the channel is not an email channel" : "email is not configured");
        return NULL;
    }
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
    OUTBOX_SETOPT(rc, e, CURLOPT_PRIVATE, x);
    OUTBOX_SETOPT(rc, e, CURLOPT_ERRORBUFFER, x->errbuf);
    OUTBOX_SETOPT(rc, e, CURLOPT_NOSIGNAL, 1L);
    OUTBOX_SETOPT(rc, e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    OUTBOX_SETOPT(rc, e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    OUTBOX_SETOPT(rc, e, CURLOPT_OPENSOCKETDATA, ob);
    OUTBOX_SETOPT(rc, e, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
    OUTBOX_SETOPT(rc, e, CURLOPT_CLOSESOCKETDATA, ob);
    if (rc == CURLE_OK && j->channel == OUTBOX_MAIL) {
        OUTBOX_SETOPT(rc, e, CURLOPT_TIMEOUT_MS, MAIL_TIMEOUT_MS);
        OUTBOX_SETOPT(rc, e, CURLOPT_READFUNCTION, read_payload);
        OUTBOX_SETOPT(rc, e, CURLOPT_READDATA, x);
        if (rc == CURLE_OK) rc = outbox_mail_options(ob, x, now_us);
    } else if (rc == CURLE_OK) {
        rc = webhook_options(ob, x);
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "cannot set up the transfer: %s", curl_easy_strerror(rc));
        x->job = NULL;
        transfer_free(ob, x);
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
    outbox_job_free(j);
}

/* An attempt failed (for mail: some recipients are still due): log it, schedule the retry, tell the owner. */
void outbox_retry_later(struct outbox *ob, struct outbox_job *j, const char *why, int64_t now_us, size_t refused)
{
    j->attempts++;
    int64_t delay = outbox_backoff_us(j->attempts);
    j->next_try_us = now_us + delay;
    char where[700];
    outbox_describe(ob, j, where, sizeof where);
    log_warn("%s failed (attempt %" PRIu32 ", retry in %.0f s): %s", where, j->attempts, (double)delay / 1e6, why);
    struct outbox_report r = { .outcome = OUTBOX_RETRY, .error = why, .refused = refused };
    if (ob->done) ob->done(ob->ctx, j, &r);
}

/* The job is done (delivered or failed for good): tell the owner, forget it. */
void outbox_finish_job(struct outbox *ob, struct outbox_job *j, const struct outbox_report *r)
{
    if (ob->done) ob->done(ob->ctx, j, r);
    remove_job(ob, j);
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
    if (j->channel == OUTBOX_MAIL) { /* detached first: the job may be done and freed by the report */
        j->xfer = NULL;
        x->job = NULL;
        if (ob->in_flight[OUTBOX_MAIL]) ob->in_flight[OUTBOX_MAIL]--;
        outbox_mail_finished(ob, x, j, result, why, now_us);
        transfer_free(ob, x);
        return;
    }
    transfer_free(ob, x);
    if (ok) {
        char where[700];
        outbox_describe(ob, j, where, sizeof where);
        log_info("%s delivered%s", where, j->attempts ? " after retries" : "");
        outbox_finish_job(ob, j, &(struct outbox_report){ .outcome = OUTBOX_DELIVERED });
    } else {
        outbox_retry_later(ob, j, why, now_us, 0);
    }
}

static void start_due(struct outbox *ob, int64_t now_us)
{
    outbox_drop_stale(ob);
    for (size_t i = 0; i < ob->n;) {
        struct outbox_job *j = ob->jobs[i];
        if (j->xfer || j->next_try_us > now_us || ob->in_flight[j->channel] >= parallel_limit[j->channel]) {
            i++;
            continue;
        }
        if (j->channel == OUTBOX_MAIL && outbox_smtp_of(ob, j)) {
            struct outbox_rcpts due = { 0 };
            outbox_mail_due(ob, j, &due);
            size_t n_due = due.n;
            outbox_rcpts_free(&due);
            if (n_due == 0) { /* every configured recipient has it or refused it */
                outbox_mail_complete(ob, j);
                continue;
            }
        }
        i++;
        char err[256];
        struct outbox_transfer *x = transfer_new(ob, j, now_us, err, sizeof err);
        if (!x) {
            outbox_retry_later(ob, j, err, now_us, 0);
            continue;
        }
        CURLMcode mc = curl_multi_add_handle(ob->multi, x->easy);
        if (mc != CURLM_OK) {
            x->job = NULL;
            transfer_free(ob, x);
            outbox_retry_later(ob, j, curl_multi_strerror(mc), now_us, 0);
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
