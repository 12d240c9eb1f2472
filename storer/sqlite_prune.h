/* storer/sqlite_prune.h — the SQLite backend's pruning primitive (storer/prune.h), on its connection. Used by
 * storer/sqlite.c only (its store_backend.prune). */
#ifndef CW_STORER_SQLITE_PRUNE_H
#define CW_STORER_SQLITE_PRUNE_H

#include <sqlite3.h>
#include <stddef.h>

#include "storer/prune.h"

/* One request of storer/prune.h on db (path names it in err). STORE_OK, STORE_RETRY or STORE_FATAL. */
int sq_prune(sqlite3 *db, const char *path, const struct prune_req *req, struct prune_res *res, char *err,
             size_t errlen);

#endif
