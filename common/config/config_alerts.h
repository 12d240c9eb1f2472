/* common/config/config_alerts.h — where alerts go: the `alerts` section (webhooks, reminders, recovery and
 * grouping thresholds) and the `email` section (the SMTP server, sender, recipients, TLS and password). */
#ifndef CW_CONFIG_ALERTS_H
#define CW_CONFIG_ALERTS_H

#include "common/config/config_reader.h"

/* Read the `alerts` / `email` group g (NULL: absent, all defaults) into p->cfg. cfgp_alerts runs before
 * the monitor section: an endpoint's recovery_threshold defaults to alerts.recovery_threshold. */
void cfgp_alerts(struct cfg_parser *p, const config_setting_t *g);
void cfgp_email(struct cfg_parser *p, const config_setting_t *g);

/* Where the keys of an email group were set (the `email` group or an email channel). */
struct email_at {
    const config_setting_t *password, *password_file, *to;
    bool has_port;
};
/* One key of an email group into ch (messages name it by w); false when s is not an email key. */
bool cfgp_email_key(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, struct cw_channel *ch,
                    struct email_at *at);
/* After every key of the email group g (label names it in messages: "email", "alerts.channels[2]"): the default
 * port, the required keys, and the password from the file, its *_file or the environment variable env. */
void cfgp_email_finish(struct cfg_parser *p, const config_setting_t *g, const char *label, struct cw_channel *ch,
                       const struct email_at *at, const char *env);

#endif
