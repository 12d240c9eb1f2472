/* alerter/webhook.h — the JSON body of webhook calls (json-c), Slack-compatible: a "text" field that a
 * Slack incoming webhook shows as is, plus structured fields for other receivers (docs/alerts.md).
 *
 * One alert:  {"text": "...", "kind": "down", "alert_id": "16 hex", "url": masked, "name": "...",
 *              "since": ISO-8601, "at": ISO-8601, "raised_at": ISO-8601, "message": "...", "status": 500,
 *              "error": "..." or null, "count": 3, "duration_s": 0.0, "latency_ms": 12.5, "incident_id": "16 hex"
 *              or null, "severity": "critical", "detail": "", "children": [{"name", "url", "state"}, ...],
 *              "hostname": "..."} (the numbers with at most 3 decimals; count and duration_s of each kind in
 *              docs/alerts.md; hostname only when known, once, at the top level)
 * A summary:  {"text": "[clockwerk] TITLE\n...", "kind": "summary", "alert_id": "16 hex", "count": N, "alerts": [ one alert's
 *              fields without "text", ... ]}
 * The test call of --test-alert: {"text": "...", "kind": "test"}.
 * A summary's "text" lists at most WEBHOOK_TEXT_LINES alerts ("... and N more"): chat services cap message
 * length; "alerts" always holds them all. */
#ifndef CW_ALERTER_WEBHOOK_H
#define CW_ALERTER_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "alerter/alert.h"
#include "common/base/util.h"

#define WEBHOOK_TEXT_LINES 50

/* Builds the body about alerts[0..n) into out (reset first, NUL-terminated, the NUL not counted in len). */
void webhook_build(struct cw_buf *out, struct alert_rec *const *alerts, size_t n);
/* The same with the monitoring host's name in "hostname" (NULL: left out). */
void webhook_build_host(struct cw_buf *out, struct alert_rec *const *alerts, size_t n, const char *hostname);
void webhook_build_test(struct cw_buf *out, int64_t now_us);

#endif
