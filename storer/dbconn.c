/* storer/dbconn.c — the storer's database connection and its backoff (see dbconn.h). */
#include "storer/dbconn.h"

#include <stdio.h>

#include "common/config/config.h"
#include "common/base/log.h"
#include "common/base/util.h"

void dbconn_init(struct dbconn *c, const struct store_backend *be)
{
    *c = (struct dbconn){ .be = be, .backoff = DBCONN_BACKOFF_MIN_NS, .rl = { .what = "database warnings" } };
}

void dbconn_close(struct dbconn *c)
{
    if (c->db) c->be->close(c->db);
    c->db = NULL;
}

void dbconn_lost(struct dbconn *c, const char *err, int64_t now)
{
    uint64_t reason = cw_hash64(err);
    if (!c->down_logged || (reason != c->down_reason && ratelimit_allow(&c->rl, now)))
        log_warn("database unavailable, holding results and retrying: %s", err);
    else log_debug("database still unavailable (next attempt in %.1f s): %s", (double)c->backoff / 1e9, err);
    c->down_logged = true;
    c->down_reason = reason;
    dbconn_close(c);
    c->reconnect_at = now + c->backoff;
    c->backoff = c->backoff * 2 > DBCONN_BACKOFF_MAX_NS ? DBCONN_BACKOFF_MAX_NS : c->backoff * 2;
}

/* Open, migrate, sync: the handle, or NULL with *rc and err saying why. */
static struct store_db *open_ready(const struct store_backend *be, const struct cw_config *cfg, int *rc, char *err,
                                   size_t errlen)
{
    *rc = STORE_RETRY;
    struct store_db *db = be->open(cfg, rc, err, errlen);
    if (!db) {
        if (*rc == STORE_OK) *rc = STORE_RETRY; /* a backend that returns NULL must say why; treat it as transient */
        return NULL;
    }
    *rc = be->migrate(db, err, errlen);
    if (*rc == STORE_OK) *rc = be->sync_endpoints(db, cfg->endpoints, cfg->n_endpoints, err, errlen);
    if (*rc != STORE_OK) {
        be->close(db);
        return NULL;
    }
    return db;
}

int dbconn_open(struct dbconn *c, const struct cw_config *cfg, int64_t now, char *err, size_t errlen)
{
    err[0] = '\0';
    int rc;
    struct store_db *db = open_ready(c->be, cfg, &rc, err, errlen);
    if (rc == STORE_FATAL) {
        if (!err[0]) snprintf(err, errlen, "unusable (no reason given)");
        return STORE_FATAL;
    }
    if (!db) {
        dbconn_lost(c, err[0] ? err : "cannot connect", now);
        return STORE_RETRY;
    }
    c->db = db;
    if (!c->was_up) log_info("storing to %s", c->be->name);
    c->was_up = true;
    return STORE_OK;
}

void dbconn_write_ok(struct dbconn *c, size_t held_rows, bool spool_pending)
{
    c->backoff = DBCONN_BACKOFF_MIN_NS;
    if (!c->down_logged) return;
    log_info("database is back (%s): a write succeeded, writing %zu held results%s", c->be->name, held_rows,
             spool_pending ? " and replaying the spool" : "");
    c->down_logged = false;
}
