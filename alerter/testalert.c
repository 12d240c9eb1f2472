/* alerter/testalert.c — --test-alert: one test mail and one test call per webhook (see testalert.h). */
#include "alerter/testalert.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "alerter/mail.h"
#include "alerter/outbox.h"
#include "alerter/webhook.h"
#include "common/base/clock.h"
#include "common/config/config.h"
#include "common/base/log.h"
#include "common/base/util.h"
#include "common/proc/proc.h"

#define MAIL_TIMEOUT_MS 70000
#define WEBHOOK_TIMEOUT_MS 40000

/* Prints OK or FAILED for one synchronous send; returns 1 when it failed. */
static int send_and_report(const struct cw_config *cfg, uint8_t channel, const char *target, const struct cw_buf *b,
                           long timeout_ms)
{
    char err[1024];
    fflush(stdout);
    if (outbox_send_now(cfg, channel, target, (const char *)b->data, b->len, timeout_ms, err, sizeof err) == 0) {
        printf("OK\n");
        return 0;
    }
    printf("FAILED: %s\n", err);
    return 1;
}

static int test_mail(const struct cw_config *cfg, struct cw_buf *b)
{
    struct mail_params mp = {
        .from = cfg->email_from, .to = cfg->email_to, .n_to = cfg->n_email_to, .date_us = cw_wall_us()
    };
    mail_build_test(b, &mp, cw_boot_id());
    printf("test mail to %zu recipient(s) via %s://%s:%d: ", cfg->n_email_to,
           cfg->smtp_tls == CW_SMTP_TLS ? "smtps" : "smtp", cfg->smtp_host, cfg->smtp_port);
    return send_and_report(cfg, OUTBOX_MAIL, NULL, b, MAIL_TIMEOUT_MS);
}

/* The webhook's URL is shown masked, and only up to its host: its path may be a secret. */
static int test_webhook(const struct cw_config *cfg, const char *url, struct cw_buf *b)
{
    char masked[CW_URL_MAX + 1];
    cw_mask_url(url, masked, sizeof masked);
    const char *host = strstr(masked, "://");
    int keep = host ? (int)(host + 3 - masked + (long)strcspn(host + 3, "/?#")) : (int)strlen(masked);
    webhook_build_test(b, cw_wall_us());
    printf("test webhook call to %.*s/...: ", keep, masked);
    return send_and_report(cfg, OUTBOX_WEBHOOK, url, b, WEBHOOK_TIMEOUT_MS);
}

static int test_alert(const struct cw_config *cfg)
{
    int failures = 0, tried = 0;
    struct cw_buf b = { 0 };
    if (cfg->email_enabled) {
        tried++;
        failures += test_mail(cfg, &b);
    }
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        tried++;
        failures += test_webhook(cfg, cfg->webhooks[i].url, &b);
    }
    cw_buf_free(&b);
    if (!tried) printf("nothing to test: neither email nor webhooks are configured\n");
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
