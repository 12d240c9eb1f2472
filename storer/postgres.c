/* storer/postgres.c — placeholder until the postgres backend lands (issue 5): refuses to open, so a config that
 * selects it fails clearly instead of silently storing nothing. */
#include "storer/backend.h"

#include <stdio.h>

static struct store_db *ph_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    (void)cfg;
    *rc = STORE_FATAL;
    snprintf(err, errlen, "the postgres backend is not built into this release");
    return NULL;
}

const struct store_backend store_backend_postgres = { .name = "postgres", .open = ph_open };
