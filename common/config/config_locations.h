/* common/config/config_locations.h — private to the loader: the keys of issue 16 (docs/config.md "Locations"):
 * the top-level `locations` (the probe hosts a central host admits), the rules of a probe host's file (bus.
 * central_address: nothing but supervisor and bus), supervisor.workers = 0, alerts.quorum, and each endpoint's
 * `locations` and `quorum` resolved (own -> its group's -> default) into the fields of config.h.
 *
 * DESIGN
 * Names are resolved to the canonical strings of the configuration (cfg->location, cfg->locations[i].name): an
 * endpoint's list points at them, and every endpoint that inherits the default shares one array (100,000
 * endpoints cost no copy). Runs after the bus section (the rules on addresses and keys need it) and before the
 * alerting pass, which resolves each endpoint's group and calls cfgp_endpoint_locations. */
#ifndef CW_CONFIG_LOCATIONS_H
#define CW_CONFIG_LOCATIONS_H

#include "common/config/config_reader.h"

#define CW_LOCATION_DEFAULT "local" /* supervisor.location when not set */
#define CW_LOCATION_SILENT_MIN 3.0  /* alerts.location_silent_after: seconds */
#define CW_LOCATION_SILENT_MAX 3600.0
#define CW_LOCATION_SILENT_DEFAULT 10.0

/* A quorum (alerts.quorum, groups[].quorum, an endpoint's): an integer >= 1, "majority" or "all", into *out
 * (CW_QUORUM_*); false after reporting. */
bool cfgp_quorum(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, int *out);
/* A list of location names (or one name), each a known location (p->all_locations), into canonical pointers;
 * duplicates dropped. false after reporting. */
bool cfgp_location_list(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s, char ***out, size_t *n);
/* After the bus section: the top-level `locations` list (NULL: none) of a central host, or the rules of a probe
 * host's file (root: the file's top level); supervisor.workers = 0 only beside `locations`; p->all_locations. */
void cfgp_locations(struct cfg_parser *p, const config_setting_t *list, const config_setting_t *root);
/* groups[].locations and groups[].quorum into gs; false when s is neither (nothing reported). */
bool cfgp_group_location_key(struct cfg_parser *p, struct cfg_where w, const config_setting_t *s,
                             struct cw_group_settings *gs);
/* Endpoint ep's locations and quorum (its keys in its group g, monitor.endpoints[idx]), resolved through its group's settings (gs, NULL:
 * none), then the defaults; push endpoints are checked on this host only. */
void cfgp_endpoint_locations(struct cfg_parser *p, const config_setting_t *g, long idx, struct cw_endpoint *ep,
                             const struct cw_group_settings *gs);

#endif
