/* storer/backend.h — the table of functions every database backend implements (storer/sqlite.c,
 * storer/postgres.c, storer/mysql.c), and the small helpers they share (storer/backend.c). The storer's
 * main loop talks to the database only through this.
 *
 * Contract for every backend:
 *  - Schema (docs/schema.md): tables schema_version(version), endpoints(id, url UNIQUE, name, type),
 *    checks(id, endpoint_id, checked_at, status_code, latency_ms, ok, error, dns_ms, connect_ms, tls_ms,
 *    ttfb_ms, worker, boot_id, seq, tls_expires_at, details, maintenance, location) with UNIQUE (worker, boot_id,
 *    seq), and alerts(id, alert_id UNIQUE, endpoint_id, raised_at, kind, message, email_state, webhook_state, muted,
 *    incident_id, deliveries).
 *    Same table and column names in every database. checked_at/raised_at are UTC with milliseconds;
 *    latency_ms and the phases are double-precision milliseconds (NULL when the phase was not reached,
 *    i.e. the wire value is -1); error is NULL when ok.
 *  - Roll-ups (schema 3; per location: 6): checks_hourly, checks_daily (keyed by endpoint_id, period_start,
 *    location) and rollup_state(last_check_id) hold exactly the raw rows
 *    with id <= last_check_id; migrate builds them for existing rows, write_batch folds newer rows into them
 *    inside its transaction when due, close folds what is pending (storer/rollup.h). With database.raw not "all"
 *    (storer/rawkeep.h) write_batch inserts only the checks whose raw flag is set, folds every check whose fold
 *    flag is set (rollup_fold_batch) and moves the watermark over the raw rows it wrote, in the same transaction.
 *  - write_batch writes the whole batch in ONE transaction with bound parameters only. It is idempotent:
 *    a check whose (worker, boot_id, seq) is already stored is skipped; an alert whose alert_id is stored
 *    has its delivery states updated. An URL not yet in endpoints is inserted there (name NULL, type the
 *    result's kind; 'http' for an alert's). details is the result's figures as sent, NULL when none.
 *  - Values (docs/schema.md has the full table): boot_id, seq and alert_id are stored as the signed 64-bit
 *    integer with the same bit pattern ((int64_t)v), never as hex text; checked_at/raised_at are truncated
 *    (not rounded) to the millisecond; error is NULL when ok; on an alert conflict the delivery states only
 *    move forward ('sent' and 'failed' are final), so replaying an older copy never undoes a newer state.
 *  - The storer's reaction (storer/main.c): STORE_FATAL from open, migrate or sync_endpoints exits 2 (the
 *    supervisor does not restart: a configuration problem); STORE_FATAL from write_batch exits 1 after
 *    spooling what is held; STORE_RETRY anywhere closes the handle and reopens with backoff (0.5 s .. 10 s).
 *  - Return values: STORE_OK; STORE_RETRY when the database is unreachable or the connection broke (the
 *    storer keeps the batch, closes the handle and reopens it with backoff); STORE_FATAL for errors that
 *    retrying cannot fix (the storer logs and exits 1). err gets one line that names host/port/database
 *    and the server's own message — never the password. */
#ifndef CW_STORER_BACKEND_H
#define CW_STORER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "storer/urlindex.h"
#include "common/config/config.h"
#include "common/wire/protocol.h"

enum { STORE_OK = 0, STORE_RETRY = -1, STORE_FATAL = -2 };

/* 2: checks.tls_expires_at; 3: roll-ups (docs/schema.md, storer/rollup.h); 4: endpoints.type, checks.details;
 * 5: checks.maintenance, alerts.muted, alerts.incident_id, alerts.deliveries; 6: checks.location, roll-ups per location */
#define STORE_SCHEMA_VERSION 6

/* The SET list of the alerts upsert, the same in every backend (docs/schema.md "alerts"): a column's new value is
 * FRESH_BEGIN col FRESH_END (SQLite `excluded.col`, PostgreSQL `EXCLUDED.col`, MySQL `VALUES(col)`), its stored one
 * STORED col (`alerts.col`, MySQL `col`). An alert is recorded when it is raised (not routed, not muted yet) and
 * again at each change once decided; a replayed older copy never undoes a newer state:
 *  - the aggregate states only move forward: 'sent', 'failed' and 'muted' are final;
 *  - the per-channel list is taken when it is not empty and the stored one is empty or has at least as many
 *    pending channels (a channel's state only moves from pending to a final one);
 *  - the mute reason and the incident id: the first one that says something stays.
 * Each assignment reads only its own column's stored value (MySQL applies them in order). */
/* clang-format off */
#define STORE_ALERT_PENDING(col) "(length(" col ") - length(replace(" col ", '=pending', '')))"
#define STORE_ALERT_FORWARD(F, FE, S, col) \
    col " = CASE WHEN " S col " IN ('sent', 'failed', 'muted') THEN " S col " ELSE " F col FE " END, "
#define STORE_ALERT_DELIVERIES(F, FE, S) \
    "deliveries = CASE WHEN " F "deliveries" FE " <> '' AND (" S "deliveries = '' OR " \
    STORE_ALERT_PENDING(F "deliveries" FE) " <= " STORE_ALERT_PENDING(S "deliveries") ") " \
    "THEN " F "deliveries" FE " ELSE " S "deliveries END, "
#define STORE_ALERT_UPSERT_SET(FRESH_BEGIN, FRESH_END, STORED) \
    STORE_ALERT_FORWARD(FRESH_BEGIN, FRESH_END, STORED, "email_state") \
    STORE_ALERT_FORWARD(FRESH_BEGIN, FRESH_END, STORED, "webhook_state") \
    STORE_ALERT_DELIVERIES(FRESH_BEGIN, FRESH_END, STORED) \
    "muted = CASE WHEN " STORED "muted = 'none' THEN " FRESH_BEGIN "muted" FRESH_END " ELSE " STORED "muted END, " \
    "incident_id = coalesce(" STORED "incident_id, " FRESH_BEGIN "incident_id" FRESH_END ")"
/* clang-format on */

/* A batch owns copies of everything it holds (the bus payloads are released after decoding). */
struct store_check {
    struct cw_result r; /* r.url and r.error point into the batch's own string storage */
    bool maintenance;   /* checks.maintenance: a maintenance window covered the endpoint at r.checked_at_us */
    bool raw;           /* database.raw (storer/rawkeep.h): written as a raw row (always, with "all") */
    bool fold;          /* "failures"/"none": folded into the roll-ups by this batch (not a check folded before) */
};
struct store_alert {
    struct cw_alert a; /* strings point into the batch's own string storage */
};
struct store_batch {
    struct store_check *checks;
    size_t n_checks, cap_checks;
    struct store_alert *alerts;
    size_t n_alerts, cap_alerts;
    bool raw_marked; /* rawkeep_mark has decided the raw flags (once per batch: the decisions move state on) */
    char *strings;   /* arena for the strings above */
    size_t strings_len, strings_cap;
};

struct store_db;  /* a backend's connection */
struct prune_req; /* storer/prune.h */
struct prune_res;

struct store_backend {
    const char *name; /* "sqlite", "postgresql", "mysql" */
    /* Connects (or opens the file). NULL with err set; *rc says STORE_RETRY or STORE_FATAL. cfg outlives the
     * connection or its next bind. */
    struct store_db *(*open)(const struct cw_config *cfg, int *rc, char *err, size_t errlen);
    /* Creates the schema on first start, migrates an older schema_version, refuses a newer one (FATAL). */
    int (*migrate)(struct store_db *db, char *err, size_t errlen);
    /* Upserts endpoints(url, name) for the configured endpoints, in one transaction. */
    int (*sync_endpoints)(struct store_db *db, const struct cw_endpoint *eps, size_t n, char *err, size_t errlen);
    int (*write_batch)(struct store_db *db, const struct store_batch *batch, char *err, size_t errlen);
    void (*close)(struct store_db *db);
    /* Retention (storer/prune.h, docs/schema.md "Retention"): runs one pruning request between batches, each
     * statement its own short transaction; never deletes a raw row above rollup_state.last_check_id nor the
     * newest row of checks (PRUNE_OP_CAP says where the caller may go). Returns like write_batch. */
    int (*prune)(struct store_db *db, const struct prune_req *req, struct prune_res *res, char *err, size_t errlen);
    /* A reload: what the connection keeps of the configuration given to open (or to the previous bind) now points
     * into cfg, which outlives db or the next bind; the previous one is still alive during the call. NULL: the
     * backend keeps nothing of it (postgresql). */
    void (*bind)(struct store_db *db, const struct cw_config *cfg);
};

extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_postgres;
extern const struct store_backend store_backend_mysql;

/* endpoints.type of a check type or a result's kind: "http", "tcp", "tls", "dns", "icmp", "push" ("http" for a
 * value out of range, which no decoded result has). */
const char *store_type_name(unsigned kind);

/* database.raw (storer/rawkeep.h): view gets b's checks whose raw flag is set (shallow copies, valid while b is)
 * and b's alerts (shared). view->checks is the view's own buffer, reused:
 * free it with store_batch_view_free, never store_batch_free. */
void store_batch_raw_view(const struct store_batch *b, struct store_batch *view);
void store_batch_view_free(struct store_batch *view);

/* The backend for a driver. */
const struct store_backend *store_backend_for(enum cw_db_driver driver);

/* ---- helpers for the backends */

/* Copies a server's message to out on one line: runs of blanks and newlines become one space, none at the ends. */
void store_one_line(const char *msg, char *out, size_t outlen);

/* Copies s into out (cap bytes with the NUL) as valid UTF-8, a stray byte as '?' (the databases would reject
 * it, and with it the whole batch); text that does not fit is cut between characters. Returns the length. */
size_t store_clean_text(const char *s, char *out, size_t cap);
/* A fresh store_clean_text copy of all of s (caller frees); its length in *len unless len is NULL. */
char *store_clean_text_dup(const char *s, size_t *len);

/* UTC wall-clock microseconds truncated (not rounded) to the millisecond: *tm and the milliseconds in *ms.
 * false when gmtime_r cannot represent the time. */
bool store_utc_ms(int64_t us, struct tm *tm, int *ms);

/* url -> endpoints.id for the backends that look ids up themselves (sqlite, mysql). Issue 18 (500,000
 * endpoints): bound to the configuration (store_ep_cache_bind), the ids of its endpoints are one int64 each beside
 * an open-addressing index of uint32 whose keys are the configuration's own URLs (storer/urlindex.h: 16 to 24 B an
 * endpoint, no copy of a URL); only a URL the configuration does not have (a result of an endpoint removed since,
 * an endpoint row of the database) gets an owned copy in a small uthash table beside. Binding again (a reload)
 * carries every id over to the new configuration's indexes by URL, so the old one may be freed after the call.
 * A zeroed struct is an empty cache (unbound: every URL goes to the table beside). clear forgets the ids and keeps
 * the binding; free forgets everything. */
struct store_ep_entry;
struct store_ep_cache {
    struct url_index idx;          /* the bound configuration's endpoints by URL */
    int64_t *ids;                  /* idx.n entries: endpoints.id, STORE_EP_NONE when not known */
    struct store_ep_entry *others; /* uthash head: URLs idx does not have, owned copies */
    size_t n_others;               /* entries in others */
    size_t n;                      /* ids known (both kinds) */
};
#define STORE_EP_NONE INT64_MIN
bool store_ep_cache_get(const struct store_ep_cache *c, const char *url, int64_t *id);
void store_ep_cache_put(struct store_ep_cache *c, const char *url, int64_t id);
/* Binds c to eps[0..n) (which must outlive c or the next bind), carrying the ids known over by URL; the array
 * bound before must still be alive during the call. */
void store_ep_cache_bind(struct store_ep_cache *c, const struct cw_endpoint *eps, size_t n);
void store_ep_cache_clear(struct store_ep_cache *c);
void store_ep_cache_free(struct store_ep_cache *c);

#endif
