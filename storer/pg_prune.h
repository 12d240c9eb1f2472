/* storer/pg_prune.h — the PostgreSQL backend's pruning primitive (storer/prune.h), on its connection. Used by
 * storer/postgres.c only (its store_backend.prune). */
#ifndef CW_STORER_PG_PRUNE_H
#define CW_STORER_PG_PRUNE_H

#include <postgresql/libpq-fe.h>
#include <stddef.h>

#include "storer/prune.h"

/* One request of storer/prune.h on conn (where names the database in err). STORE_OK, STORE_RETRY or
 * STORE_FATAL. */
int pg_prune(PGconn *conn, const char *where, const struct prune_req *req, struct prune_res *res, char *err,
             size_t errlen);

#endif
