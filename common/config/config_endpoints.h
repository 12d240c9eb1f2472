/* common/config/config_endpoints.h — the `monitor` section of the config file: its defaults and the list of
 * endpoints, each checked key by key, with duplicate URLs refused (docs/config.md). */
#ifndef CW_CONFIG_ENDPOINTS_H
#define CW_CONFIG_ENDPOINTS_H

#include "common/config/config_reader.h"

/* Reads the `monitor` group g (NULL: absent, all defaults) into p->cfg. Runs after the alerts section: an
 * endpoint's recovery_threshold defaults to alerts.recovery_threshold. */
void cfgp_monitor(struct cfg_parser *p, const config_setting_t *g);

#endif
