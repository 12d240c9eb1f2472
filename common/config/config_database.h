/* common/config/config_database.h — the `database` section of the config file: the driver, the database's
 * name (an SQLite file's path resolved against the config's directory), the server and TLS settings, the
 * password (config_secrets.h), and the defaults that depend on the driver (docs/config.md). */
#ifndef CW_CONFIG_DATABASE_H
#define CW_CONFIG_DATABASE_H

#include "common/config/config_reader.h"

/* Reads the `database` group g (NULL: absent, all defaults) into p->cfg. */
void cfgp_database(struct cfg_parser *p, const config_setting_t *g);

#endif
