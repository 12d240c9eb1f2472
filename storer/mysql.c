/* storer/mysql.c — placeholder until the mysql backend lands (issue 5): refuses to open, so a config that
 * selects it fails clearly instead of silently storing nothing. */
#include "storer/backend.h"

#include <stdio.h>

static struct store_db *ph_open(const struct cw_config *cfg, int *rc, char *err, size_t errlen)
{
    (void)cfg;
    *rc = STORE_FATAL;
    snprintf(err, errlen, "the mysql backend is not built into this release");
    return NULL;
}

const struct store_backend store_backend_mysql = { .name = "mysql", .open = ph_open };
