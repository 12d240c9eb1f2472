/* storer/dbconn.h — the storer's connection to its database through the backend table (storer/backend.h):
 * open, migrate and sync the endpoints in one step; while the database is away, reconnect with backoff
 * (0.5 s doubling to 10 s). What to do with the batches meanwhile is the caller's.
 *
 * An outage ends with a write, not with an open: a database that opens but refuses writes (a full disk, a
 * lock held elsewhere) stays "away". So the backoff keeps growing across reopen cycles and is reset only by a
 * write that succeeds (dbconn_write_ok), and the log says "database unavailable" once when an outage starts
 * (again only when its reason changes, rate-limited) and "database is back" once when a write succeeds. */
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
    bool down_logged;     /* in an outage (logged): from a failure until a write succeeds */
    uint64_t down_reason; /* cw_hash64 of the reason last logged in this outage */
    int64_t reconnect_at; /* monotonic ns: the next attempt while away */
    int64_t backoff;      /* ns */
    struct ratelimit rl;  /* "database warnings" */
};

void dbconn_init(struct dbconn *c, const struct store_backend *be);
/* Closes the handle, if any. */
void dbconn_close(struct dbconn *c);

/* Whether the database is away and the backoff has passed. */
static inline bool dbconn_due(const struct dbconn *c, int64_t now) { return !c->db && now >= c->reconnect_at; }

/* Opens the database, migrates the schema and syncs the endpoints of cfg. STORE_OK (c->db set; logged the
 * first time: "storing to"; the backoff is kept until a write succeeds); STORE_RETRY (logged when it starts
 * an outage, the next attempt scheduled with backoff); STORE_FATAL with err set (a configuration problem:
 * the caller exits). */
int dbconn_open(struct dbconn *c, const struct cw_config *cfg, int64_t now, char *err, size_t errlen);

/* A write succeeded: the backoff starts again from its minimum, and an outage ends ("database is back",
 * naming the rows still held and whether the spool is being replayed). */
void dbconn_write_ok(struct dbconn *c, size_t held_rows, bool spool_pending);

/* The database went away (err: why): logs when this starts an outage (or its reason changed, rate-limited),
 * closes the handle and schedules a reconnect after the backoff, which doubles. */
void dbconn_lost(struct dbconn *c, const char *err, int64_t now);

#endif
