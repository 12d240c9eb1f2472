/* common/config/config_supervisor.h — the `supervisor` section of the config file: the number of workers, the
 * run directory, the log level and the user the children run as. */
#ifndef CW_CONFIG_SUPERVISOR_H
#define CW_CONFIG_SUPERVISOR_H

#include "common/config/config_reader.h"

/* Reads the `supervisor` group g (NULL: absent, all defaults) into p->cfg; sets run_dir always (default
 * "<dir>/run") and p->run_dir_at when the file sets it. */
void cfgp_supervisor(struct cfg_parser *p, const config_setting_t *g);

#endif
