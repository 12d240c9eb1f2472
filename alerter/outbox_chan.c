/* alerter/outbox_chan.c — the outbox's view of the channels (see outbox.h "Channels"): each channel's settings
 * as last configured, the name of a job in logs, the jobs dropped because their channel is gone or points
 * elsewhere, HTTP requests, and the synchronous send of --test-alert. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter/outbox_int.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "common/wire/protocol.h"

/* ---------------------------------------------------------------- requests */

void outbox_request_free(struct outbox_request *r)
{
    free(r->url);
    for (size_t i = 0; i < r->n_headers; i++) free(r->headers[i]);
    free(r->headers);
    free(r->body);
    *r = (struct outbox_request){ 0 };
}

void outbox_request_header(struct outbox_request *r, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = cw_xmalloc(n);
    snprintf(line, n, "%s: %s", name, value);
    r->headers = cw_xrealloc(r->headers, (r->n_headers + 1) * sizeof *r->headers);
    r->headers[r->n_headers++] = line;
}

/* ---------------------------------------------------------------- the channels */

static void mix(uint64_t *h, const char *s)
{
    const char *v = s ? s : "";
    *h ^= cw_hash64_mem(v, strlen(v) + 1) + 0x9e3779b97f4a7c15ULL + (*h << 6) + (*h >> 2);
}

uint64_t outbox_chan_dest(const struct cw_channel *c)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    mix(&h, config_channel_type_name(c->type));
    mix(&h, c->url);
    mix(&h, c->token);
    mix(&h, c->chat_id);
    mix(&h, c->body_template);
    for (size_t i = 0; i < c->n_headers; i++) mix(&h, c->headers[i]);
    return h;
}

void outbox_chans_clear(struct outbox *ob)
{
    for (size_t i = 0; i < ob->n_chans; i++) {
        free(ob->chans[i].name);
        outbox_smtp_clear(&ob->chans[i].smtp);
    }
    free(ob->chans);
    ob->chans = NULL;
    ob->n_chans = 0;
}

void outbox_chans_set(struct outbox *ob, const struct cw_config *cfg)
{
    outbox_chans_clear(ob);
    ob->chans = cw_xcalloc(cfg->n_channels ? cfg->n_channels : 1, sizeof *ob->chans);
    for (size_t i = 0; i < cfg->n_channels; i++) {
        const struct cw_channel *c = &cfg->channels[i];
        struct outbox_chan *o = &ob->chans[ob->n_chans++];
        o->name = cw_xstrdup(c->name ? c->name : "");
        o->type = c->type;
        o->dest = outbox_chan_dest(c);
        o->verify_tls = c->verify_tls;
        if (c->type != CW_CHAN_EMAIL || !c->smtp_host) continue;
        outbox_smtp_set(&o->smtp, c->smtp_host, c->smtp_port, c->smtp_tls, c->email_from, c->email_to, c->n_email_to,
                        c->smtp_user, c->smtp_password, c->smtp_ca_file);
        o->smtp.no_verify = !c->verify_tls;
    }
}

const struct outbox_chan *outbox_chan_find(const struct outbox *ob, const char *name)
{
    for (size_t i = 0; name && i < ob->n_chans; i++)
        if (strcmp(ob->chans[i].name, name) == 0) return &ob->chans[i];
    return NULL;
}

const struct smtp_settings *outbox_smtp_of(const struct outbox *ob, const struct outbox_job *j)
{
    if (!j->chan) return ob->smtp.enabled ? &ob->smtp : NULL;
    const struct outbox_chan *c = outbox_chan_find(ob, j->chan);
    return c && c->type == CW_CHAN_EMAIL && c->smtp.enabled ? &c->smtp : NULL;
}

size_t outbox_hook_number(const struct outbox *ob, const char *url)
{
    for (size_t i = 0; url && i < ob->n_hooks; i++)
        if (strcmp(ob->hooks[i], url) == 0) return i + 1;
    return 0;
}

/* scheme://host[:port] of url, credentials masked: never its path or query (they may hold a token). */
static void url_origin(const char *url, char *out, size_t len)
{
    char masked[CW_URL_MAX + 1];
    cw_mask_url(url ? url : "", masked, sizeof masked);
    const char *host = strstr(masked, "://");
    size_t keep = host ? (size_t)(host + 3 - masked) + strcspn(host + 3, "/?#") : strcspn(masked, "/?#");
    snprintf(out, len, "%.*s", (int)keep, masked);
}

void outbox_describe(const struct outbox *ob, const struct outbox_job *j, char *out, size_t len)
{
    char origin[CW_URL_MAX + 1];
    if (j->chan) {
        const struct outbox_chan *c = outbox_chan_find(ob, j->chan);
        const char *type = c ? config_channel_type_name(c->type) : "removed";
        if (j->channel == OUTBOX_MAIL)
            snprintf(origin, sizeof origin, "%s", c && c->smtp.url ? c->smtp.url : "no smtp");
        else url_origin(j->target, origin, sizeof origin);
        snprintf(out, len, "channel %s (%s, %s) %s %016" PRIx64, j->chan, type ? type : "?", origin,
                 j->channel == OUTBOX_MAIL ? "mail" : "message", j->key);
        return;
    }
    if (j->channel == OUTBOX_MAIL) {
        snprintf(out, len, "mail %016" PRIx64 " via %s", j->key, ob->smtp.url ? ob->smtp.url : "(no smtp)");
        return;
    }
    char number[32] = "(removed)";
    url_origin(j->target, origin, sizeof origin);
    size_t k = outbox_hook_number(ob, j->target);
    if (k) snprintf(number, sizeof number, "%zu", k);
    snprintf(out, len, "webhook %016" PRIx64 " to webhook %s %s/...", j->key, number, origin);
}

/* Why a job can no longer go out as it is, or NULL. */
static const char *stale_reason(const struct outbox *ob, const struct outbox_job *j)
{
    if (!j->chan) {
        if (j->channel == OUTBOX_WEBHOOK && !outbox_hook_number(ob, j->target)) return "webhook removed";
        return NULL;
    }
    const struct outbox_chan *c = outbox_chan_find(ob, j->chan);
    if (!c) return "channel removed";
    if ((c->type == CW_CHAN_EMAIL) != (j->channel == OUTBOX_MAIL)) return "channel type changed";
    if (j->channel == OUTBOX_WEBHOOK && c->dest != j->dest) return "channel destination changed";
    return NULL;
}

void outbox_drop_stale(struct outbox *ob)
{
    size_t dropped = 0;
    for (size_t i = 0; i < ob->n;) {
        struct outbox_job *j = ob->jobs[i];
        const char *why = j->xfer ? NULL : stale_reason(ob, j);
        if (!why) {
            i++;
            continue;
        }
        dropped++;
        char where[700];
        outbox_describe(ob, j, where, sizeof where);
        log_warn("%s dropped after %" PRIu32 " failed attempt(s): %s in the configuration", where, j->attempts, why);
        outbox_finish_job(ob, j, &(struct outbox_report){ .outcome = OUTBOX_FAILED, .error = why });
    }
    if (dropped)
        log_warn("%zu queued message(s) dropped: their channel was removed or changed in the configuration", dropped);
}

/* ---------------------------------------------------------------- one message, synchronously (--test-alert) */

struct send_now_result {
    bool finished;
    bool delivered;
    char err[1024];
};

static void send_now_done(void *ctx, const struct outbox_job *job, const struct outbox_report *r)
{
    (void)job;
    struct send_now_result *res = ctx;
    res->finished = true;
    res->delivered = r->outcome == OUTBOX_DELIVERED && !r->error;
    if (!res->delivered) snprintf(res->err, sizeof res->err, "%s", r->error ? r->error : "failed");
}

/* Runs ob (its one job queued) until that job's first attempt ends or timeout_ms passed; frees ob. */
static int send_wait(struct outbox *ob, struct send_now_result *r, long timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = cw_mono_us() + (int64_t)timeout_ms * 1000;
    while (!r->finished) {
        int64_t now = cw_mono_us();
        if (now >= deadline) {
            snprintf(r->err, sizeof r->err, "no answer within %ld ms", timeout_ms);
            break;
        }
        outbox_run(ob, now);
        if (r->finished) break;
        long t = outbox_timeout_ms(ob, now);
        if (t < 0 || t > 200) t = 200;
        int nfds = 0;
        curl_multi_poll(ob->multi, NULL, 0, (int)t, &nfds);
    }
    outbox_free(ob);
    if (r->finished && r->delivered) return 0;
    snprintf(err, errlen, "%s", r->err);
    return -1;
}

static char *copy_of(const char *p, size_t len)
{
    char *copy = cw_xmalloc(len + 1);
    memcpy(copy, p, len);
    copy[len] = '\0';
    return copy;
}

int outbox_send_now(const struct cw_config *cfg, uint8_t channel, const char *target, const char *payload,
                    size_t payload_len, long timeout_ms, char *err, size_t errlen)
{
    struct send_now_result r = { 0 };
    struct outbox *ob = outbox_new(cfg, send_now_done, &r);
    char *copy = copy_of(payload, payload_len);
    if (!outbox_add(ob, channel, target, 0, copy, payload_len, NULL, 0, 0)) { /* cannot be full: it is new */
        free(copy);
        outbox_free(ob);
        snprintf(err, errlen, "cannot queue");
        return -1;
    }
    return send_wait(ob, &r, timeout_ms, err, errlen);
}

int outbox_send_chan_now(const struct cw_config *cfg, const char *chan, const char *payload, size_t payload_len,
                         struct outbox_request *req, long timeout_ms, char *err, size_t errlen)
{
    struct send_now_result r = { 0 };
    struct outbox *ob = outbox_new(cfg, send_now_done, &r);
    const struct outbox_chan *c = outbox_chan_find(ob, chan);
    struct outbox_job *j = NULL;
    if (c && req) j = outbox_add_http(ob, chan, c->dest, 0, req, NULL, 0);
    else if (c) {
        char *copy = copy_of(payload, payload_len);
        j = outbox_add_mail(ob, chan, 0, copy, payload_len, NULL, 0);
        if (!j) free(copy);
    }
    if (!j) {
        if (req) outbox_request_free(req);
        outbox_free(ob);
        snprintf(err, errlen, c ? "cannot queue" : "no such channel");
        return -1;
    }
    return send_wait(ob, &r, timeout_ms, err, errlen);
}
