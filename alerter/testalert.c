/* alerter/testalert.c — --test-alert: one test message on every channel, each outcome on its own line (see
 * testalert.h). PagerDuty and Opsgenie get a test event that is resolved (closed) right after, so no incident is
 * left open. */
#include "alerter/testalert.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerter/channel.h"
#include "alerter/mail.h"
#include "alerter/outbox.h"
#include "alerter/webhook.h"
#include "common/base/clock.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "common/config/config.h"
#include "common/proc/proc.h"

#define MAIL_TIMEOUT_MS 70000
#define WEBHOOK_TIMEOUT_MS 40000

/* Prints OK or FAILED for one synchronous send; returns 1 when it failed. */
static int report(int rc, const char *err, const char *ok_note)
{
    if (rc == 0) printf("OK%s\n", ok_note ? ok_note : "");
    else printf("FAILED: %s\n", err);
    fflush(stdout);
    return rc == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- channels */

static int test_email_channel(const struct cw_config *cfg, const struct cw_channel *c)
{
    struct cw_buf b = { 0 };
    char host[600], err[1024];
    struct mail_params mp = {
        .from = c->email_from, .to = c->email_to, .n_to = c->n_email_to, .date_us = cw_wall_us(),
        .hostname = mail_local_host(), .time_zone = cfg->alert_time_zone
    };
    mail_build_test(&b, &mp, cw_boot_id());
    bool v6 = c->smtp_host && strchr(c->smtp_host, ':');
    snprintf(host, sizeof host, "%s://%s%s%s:%d", c->smtp_tls == CW_SMTP_TLS ? "smtps" : "smtp", v6 ? "[" : "",
             c->smtp_host ? c->smtp_host : "", v6 ? "]" : "", c->smtp_port);
    printf("test mail to %zu recipient(s) via %s: ", c->n_email_to, host);
    fflush(stdout);
    int rc = outbox_send_chan_now(cfg, c->name, (const char *)b.data, b.len, NULL, MAIL_TIMEOUT_MS, err, sizeof err);
    cw_buf_free(&b);
    return report(rc, err, NULL);
}

/* The alert a test message is made of: no kind (a test), severity info, an incident id of its own so that
 * PagerDuty/Opsgenie get a key no real incident has. */
static struct alert_rec *test_alert_rec(const char *hostname)
{
    int64_t now = cw_wall_us();
    struct alert_rec *a = alert_new(CW_ALERT_DOWN, "", "clockwerk test", "", now, now, 0, 0, 0, now);
    char when[32], text[256];
    a->kind = 0;
    a->id = a->incident_id = cw_boot_id();
    a->severity = CW_SEV_INFO;
    snprintf(text, sizeof text, "test alert sent by `clockwerk --test-alert` at %s%s%s",
             cw_format_iso8601(now, when, sizeof when), hostname ? " from " : "", hostname ? hostname : "");
    free(a->message);
    a->message = cw_xstrdup(text);
    return a;
}

static int send_request(const struct cw_config *cfg, const struct cw_channel *c, struct alert_rec *a,
                        const struct chan_ctx *ctx, char *err, size_t errlen)
{
    struct outbox_request req;
    if (channel_build_request(c, &a, 1, ctx, &req) != 0) {
        snprintf(err, errlen, "no message format for this channel type");
        return -1;
    }
    if (c->type == CW_CHAN_WEBHOOK && !c->body_template) { /* the test body of docs/alerts.md */
        struct cw_buf b = { 0 };
        webhook_build_test(&b, ctx->now_wall_us);
        free(req.body);
        req.body = cw_xstrdup((const char *)b.data);
        req.body_len = b.len;
        cw_buf_free(&b);
    }
    return outbox_send_chan_now(cfg, c->name, NULL, 0, &req, WEBHOOK_TIMEOUT_MS, err, errlen);
}

static int test_http_channel(const struct cw_config *cfg, const struct cw_channel *c, const char *hostname)
{
    struct chan_ctx ctx = { .hostname = hostname, .time_zone = cfg->alert_time_zone, .now_wall_us = cw_wall_us() };
    struct alert_rec *a = test_alert_rec(hostname);
    struct outbox_request probe;
    char origin[CW_URL_MAX + 1] = "?", err[1024];
    if (channel_build_request(c, &a, 1, &ctx, &probe) == 0) {
        outbox_url_origin(probe.url, origin, sizeof origin);
        outbox_request_free(&probe);
    }
    printf("test %s to %s/...: ", c->type == CW_CHAN_WEBHOOK ? "webhook call" : "message", origin);
    fflush(stdout);
    int rc = send_request(cfg, c, a, &ctx, err, sizeof err);
    const char *note = NULL;
    if (rc == 0 && channel_one_per_alert(c->type)) { /* leave nothing open */
        a->kind = CW_ALERT_UP;
        rc = send_request(cfg, c, a, &ctx, err, sizeof err);
        if (rc != 0) {
            char first[1100];
            snprintf(first, sizeof first, "triggered, but resolving it failed: %s", err);
            snprintf(err, sizeof err, "%.1000s", first);
        }
        note = c->type == CW_CHAN_PAGERDUTY ? " (triggered and resolved)" : " (created and closed)";
    }
    alert_free(a);
    return report(rc, err, note);
}

static int test_alert(const struct cw_config *cfg)
{
    int failures = 0, tried = 0;
    for (size_t i = 0; i < cfg->n_channels; i++) {
        const struct cw_channel *c = &cfg->channels[i];
        const char *type = config_channel_type_name(c->type);
        printf("channel %s (%s): ", c->name, type ? type : "?");
        failures += c->type == CW_CHAN_EMAIL ? test_email_channel(cfg, c)
                                             : test_http_channel(cfg, c, mail_local_host());
        tried++;
    }
    if (!tried) printf("nothing to test: no alert channel is configured\n");
    fflush(stdout);
    return (failures || !tried) ? 1 : 0;
}

int testalert_run(const char *snapshot)
{
    struct cw_config *cfg = proc_read_snapshot(snapshot, "alerter", 0, 0); /* exits 2 when it cannot */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fatal(1, "cannot initialise libcurl");
    int rc = test_alert(cfg);
    config_free(cfg);
    curl_global_cleanup();
    return rc;
}
