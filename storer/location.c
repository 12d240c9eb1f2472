/* storer/location.c — the key check of a batch's locations (storer/location.h). */
#include "storer/location.h"

#include <string.h>

const char *store_location_refused(const struct cw_config *cfg, const char *peer_key, const struct cw_result *results,
                                   size_t n, const char **bad)
{
    if (!cfg || !peer_key || !peer_key[0]) return NULL;
    const struct cw_location *entry = NULL;
    for (size_t i = 0; i < cfg->n_locations && !entry; i++)
        if (cfg->locations[i].key && cfg->locations[i].name && !strcmp(cfg->locations[i].key, peer_key))
            entry = &cfg->locations[i];
    if (!entry) return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *loc = results[i].location ? results[i].location : "";
        if (strcmp(loc, entry->name) != 0) {
            *bad = loc;
            return entry->name;
        }
    }
    return NULL;
}
