/* storer/mysql_prune.h — the MySQL/MariaDB backend's pruning primitive (storer/prune.h), on its connection.
 * Used by storer/mysql.c only (its store_backend.prune). */
#ifndef CW_STORER_MYSQL_PRUNE_H
#define CW_STORER_MYSQL_PRUNE_H

#include <stddef.h>

#include "storer/prune.h"

struct store_db;

/* One request of storer/prune.h on the backend's connection. STORE_OK, STORE_RETRY or STORE_FATAL. */
int my_prune(struct store_db *db, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen);

#endif
