/* alerter/testalert.h — `clockwerk-alerter --test-alert [SNAPSHOT]` (docs/alerts.md): one test message on every
 * channel ("channel ops-mail (email): test mail to 2 recipient(s) via smtp://host:25: OK"), sent synchronously
 * with the configuration's settings, each outcome printed on stdout (the `email` group and alerts.webhooks
 * are the channels "email", "webhook-1", ...). Run by `clockwerk -c FILE --test-alert` on a snapshot of its own, or by hand; not a child of the
 * supervisor, so not on the skeleton (common/proc/proc.h). */
#ifndef CW_ALERTER_TESTALERT_H
#define CW_ALERTER_TESTALERT_H

/* Reads the snapshot (exit 2 when it cannot) and sends. Returns the exit code: 0 when everything configured
 * was delivered, 1 when something failed or nothing is configured. */
int testalert_run(const char *snapshot);

#endif
