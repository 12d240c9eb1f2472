/* common/config/config_bus.h — the `bus` section of the config file: the four bus addresses (defaults under
 * supervisor.run_dir), their checks (distinct, usable, CURVE when reachable from other hosts) and the
 * CURVE key file and public keys; bus.config_address and bus.central_address (issue 16), and a probe host's rules
 * on the bus keys. With config_locations.c (the locations' keys), the config file that asks the bus
 * (common/bus/bus.h, common/bus/bus_keys.h) what an address or a key may be. */
#ifndef CW_CONFIG_BUS_H
#define CW_CONFIG_BUS_H

#include "common/config/config_reader.h"

/* Reads the `bus` group g (NULL: absent, all defaults) into p->cfg. Runs after the supervisor section:
 * the default addresses derive from run_dir. */
void cfgp_bus(struct cfg_parser *p, const config_setting_t *g);

#endif
