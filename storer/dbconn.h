/* storer/dbconn.h — the storer's connection to its database through the backend table (storer/backend.h):
 * open, migrate and sync the endpoints in one step; while the database is away, reconnect with backoff
 * (0.5 s doubling to 10 s); say so in the log once per outage (then at most a few lines per 10 s), and
 * once when it is back. What to do with the batches meanwhile is the caller's. */
#ifndef CW_STORER_DBCONN_H
#define CW_STORER_DBCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/base/ratelimit.h"
#include "storer/backend.h"

#define DBCONN_BACKOFF_MIN_NS 500000000LL
#define DBCONN_BACKOFF_MAX_NS 10000000000LL

struct dbconn {
    const struct store_backend *be;
    struct store_db *db;  /* NULL while the database is away */
    bool was_up;          /* connected once since start */
    bool down_logged;     /* this outage was logged */
    int64_t reconnect_at; /* monotonic ns: the next attempt while away */
    int64_t backoff;      /* ns */
    struct ratelimit rl;  /* "database warnings" */
};

void dbconn_init(struct dbconn *c, const struct store_backend *be);
/* Closes the handle, if any. */
void dbconn_close(struct dbconn *c);

/* Whether the database is away and the backoff has passed. */
static inline bool dbconn_due(const struct dbconn *c, int64_t now) { return !c->db && now >= c->reconnect_at; }

/* Opens the database, migrates the schema and syncs the endpoints of cfg. STORE_OK (c->db set; logged: the
 * first time "storing to", after an outage "database is back", naming the held rows and whether the spool
 * is replayed); STORE_RETRY (logged, the next attempt scheduled with backoff); STORE_FATAL with err set
 * (a configuration problem: the caller exits). */
int dbconn_open(struct dbconn *c, const struct cw_config *cfg, int64_t now, size_t held_rows, bool spool_pending,
                char *err, size_t errlen);

/* The database went away (err: why): logs (rate-limited), closes the handle and schedules a reconnect. */
void dbconn_lost(struct dbconn *c, const char *err, int64_t now);

#endif
