/* common/config/config_alerts.h — where alerts go: the `alerts` section (webhooks, reminders, recovery and
 * grouping thresholds) and the `email` section (the SMTP server, sender, recipients, TLS and password). */
#ifndef CW_CONFIG_ALERTS_H
#define CW_CONFIG_ALERTS_H

#include "common/config/config_reader.h"

/* Read the `alerts` / `email` group g (NULL: absent, all defaults) into p->cfg. cfgp_alerts runs before
 * the monitor section: an endpoint's recovery_threshold defaults to alerts.recovery_threshold. */
void cfgp_alerts(struct cfg_parser *p, const config_setting_t *g);
void cfgp_email(struct cfg_parser *p, const config_setting_t *g);

#endif
