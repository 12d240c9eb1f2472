/* common/proc/bus_config.h — the process's bus made from its configuration: bus_new (common/bus/bus.h) plus the
 * CURVE keys that bus.curve_key_file, bus.curve_server_key and bus.curve_allowed_keys name. It sits above
 * both the bus and the configuration, so neither needs the other. */
#ifndef CW_BUS_CONFIG_H
#define CW_BUS_CONFIG_H

#include <stddef.h>

#include "common/bus/bus.h"
#include "common/config/config.h"

/* The process's bus, with CURVE on its tcp:// sockets when cfg names a key file (bus.curve_key_file): the
 * servers (storer, alerter, relay, the supervisor's config server) admit the clients in bus.curve_allowed_keys
 * and this installation's own key everywhere, the probe hosts of `locations` (issue 16) only where data comes in
 * (the storer's and alerter's ROUTERs, the config server, the relay's XSUB; never the tap: bus_auth.h); the
 * clients authenticate the server by bus.curve_server_key (default: the own public key). NULL with a reason. */
struct bus *bus_new_for(const struct cw_config *cfg, char *err, size_t errlen);

#endif
